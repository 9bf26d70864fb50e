/*
 * test_containers.c - hash tables with LRU order, id maps, latency histograms.
 */
#include "hist.h"
#include "idmap.h"
#include "spread.h"
#include "suites.h"
#include "table.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

struct item {
    struct tnode node;
    int key;
};

static void item_key(const struct tnode *n, const void **k, size_t *len)
{
    *k = &container_of(n, struct item, node)->key;
    *len = sizeof(int);
}

START_TEST(table_insert_find_remove)
{
    struct table t;
    struct item items[1000];
    table_init(&t, 1000, item_key);
    for (int i = 0; i < 1000; i++) {
        items[i].key = i * 7;
        table_insert(&t, &items[i].node);
    }
    ck_assert_uint_eq(t.count, 1000);
    ck_assert(table_full(&t));
    for (int i = 0; i < 1000; i++) {
        int k = i * 7;
        ck_assert_ptr_eq(table_find(&t, &k, sizeof(k)), &items[i].node);
    }
    int missing = 3;
    ck_assert_ptr_null(table_find(&t, &missing, sizeof(missing)));
    for (int i = 0; i < 1000; i += 2)
        table_remove(&t, &items[i].node);
    ck_assert_uint_eq(t.count, 500);
    int k = 14;
    ck_assert_ptr_null(table_find(&t, &k, sizeof(k)));
    k = 7;
    ck_assert_ptr_eq(table_find(&t, &k, sizeof(k)), &items[1].node);
    table_free(&t);
}
END_TEST

START_TEST(table_recency_order)
{
    struct table t;
    struct item items[3] = { { .key = 1 }, { .key = 2 }, { .key = 3 } };
    table_init(&t, 10, item_key);
    for (int i = 0; i < 3; i++)
        table_insert(&t, &items[i].node);
    ck_assert_ptr_eq(table_oldest(&t), &items[0].node);
    table_touch(&t, &items[0].node);
    ck_assert_ptr_eq(table_oldest(&t), &items[1].node);
    ck_assert_ptr_eq(table_next_newer(&t, &items[1].node), &items[2].node);
    ck_assert_ptr_eq(table_next_newer(&t, &items[2].node), &items[0].node);
    ck_assert_ptr_null(table_next_newer(&t, &items[0].node));
    table_free(&t);
}
END_TEST

START_TEST(idmap_basics)
{
    struct idmap m = { 0 };
    int vals[5000];
    ck_assert_ptr_null(idmap_get(&m, 1));
    for (uint32_t i = 0; i < 5000; i++)
        ck_assert_int_eq(idmap_put(&m, i * 3 + 1, &vals[i]), 0);
    ck_assert_uint_eq(m.count, 5000);
    for (uint32_t i = 0; i < 5000; i++)
        ck_assert_ptr_eq(idmap_get(&m, i * 3 + 1), &vals[i]);
    for (uint32_t i = 0; i < 5000; i += 2)
        ck_assert_ptr_eq(idmap_del(&m, i * 3 + 1), &vals[i]);
    ck_assert_uint_eq(m.count, 2500);
    ck_assert_ptr_null(idmap_get(&m, 1));
    ck_assert_ptr_eq(idmap_get(&m, 4), &vals[1]);
    /* replace keeps one entry */
    ck_assert_int_eq(idmap_put(&m, 4, &vals[0]), 0);
    ck_assert_ptr_eq(idmap_get(&m, 4), &vals[0]);
    ck_assert_uint_eq(m.count, 2500);
    /* churn through deletes and inserts: tombstones must not fill the map */
    for (uint32_t r = 0; r < 100000; r++) {
        idmap_put(&m, 1000000 + r, &vals[0]);
        idmap_del(&m, 1000000 + r);
    }
    ck_assert_uint_eq(m.count, 2500);
    ck_assert_uint_le(m.size, 16384);
    idmap_free(&m);
}
END_TEST

START_TEST(hist_buckets_and_labels)
{
    ck_assert_int_eq(hist_bucket(0), 0);
    ck_assert_int_eq(hist_bucket(1), 0);
    ck_assert_int_eq(hist_bucket(2), 1);
    ck_assert_int_eq(hist_bucket(3), 1);
    ck_assert_int_eq(hist_bucket(4), 2);
    ck_assert_int_eq(hist_bucket(511), 8);
    ck_assert_int_eq(hist_bucket(512), 9);
    ck_assert_int_eq(hist_bucket(UINT64_MAX), HIST_BUCKETS - 1);
    char b[48];
    hist_label(0, b, sizeof(b));
    ck_assert_str_eq(b, "0-1");
    hist_label(1, b, sizeof(b));
    ck_assert_str_eq(b, "2-3");
    hist_label(8, b, sizeof(b));
    ck_assert_str_eq(b, "256-511");
    hist_label(HIST_BUCKETS - 1, b, sizeof(b));
    ck_assert_str_eq(b, "2147483648-inf");
}
END_TEST

START_TEST(latency_stats)
{
    struct latency l = { 0 };
    int first;
    ck_assert_ptr_null(l.bins);
    ck_assert_int_eq(latency_add(&l, 300, &first), 8);
    ck_assert(first);
    ck_assert_int_eq(latency_add(&l, 400, &first), 8);
    ck_assert(!first);
    latency_add(&l, 5, &first);
    ck_assert_uint_eq(l.count, 3);
    ck_assert_uint_eq(l.sum_us, 705);
    ck_assert_uint_eq(l.max_us, 400);
    ck_assert_uint_eq(l.last_us, 5);
    ck_assert_uint_eq(latency_bucket(&l, 8), 2);
    ck_assert_uint_eq(latency_bucket(&l, 2), 1);
    latency_free(&l);
}
END_TEST

START_TEST(spread_exact_then_sampled)
{
    struct spread s = { 0 };
    double v;
    ck_assert(!spread_stat(&s, SPREAD_MEDIAN, &v));
    ck_assert(!spread_stat(&s, SPREAD_MIN, &v));
    static const uint64_t us[] = { 400, 100, 300, 200, 1000 };
    for (size_t i = 0; i < 5; i++)
        spread_add(&s, us[i]);
    ck_assert(spread_stat(&s, SPREAD_MIN, &v));
    ck_assert_double_eq(v, 100);
    ck_assert(spread_stat(&s, SPREAD_Q1, &v));
    ck_assert_double_eq(v, 200);
    ck_assert(spread_stat(&s, SPREAD_MEDIAN, &v));
    ck_assert_double_eq(v, 300);
    ck_assert(spread_stat(&s, SPREAD_Q3, &v));
    ck_assert_double_eq(v, 400);
    /* sample standard deviation of 100..400 and 1000: sqrt(500000 / 4) */
    ck_assert(spread_stat(&s, SPREAD_STDDEV, &v));
    ck_assert_double_eq_tol(v, 353.5533905932738, 1e-9);
    /* interpolated between ranks */
    spread_add(&s, 500);
    ck_assert(spread_stat(&s, SPREAD_MEDIAN, &v));
    ck_assert_double_eq(v, 350);
    spread_free(&s);

    /* past the sample size: memory stays put, quartiles stay close */
    for (uint64_t i = 0; i < 100000; i++)
        spread_add(&s, i % 1000);
    ck_assert_uint_eq(s.nsample, SPREAD_SAMPLES);
    ck_assert_uint_eq(s.count, 100000);
    ck_assert(spread_stat(&s, SPREAD_MEDIAN, &v));
    ck_assert_double_le(fabs(v - 500), 60);
    ck_assert(spread_stat(&s, SPREAD_Q1, &v));
    ck_assert_double_le(fabs(v - 250), 60);
    ck_assert(spread_stat(&s, SPREAD_STDDEV, &v));
    ck_assert_double_eq_tol(v, 288.68, 0.1);
    ck_assert(spread_stat(&s, SPREAD_MIN, &v));
    ck_assert_double_eq(v, 0);
    spread_free(&s);
}
END_TEST

Suite *containers_suite(void)
{
    Suite *s = suite_create("containers");
    TCase *t = tcase_create("core");
    tcase_add_test(t, table_insert_find_remove);
    tcase_add_test(t, table_recency_order);
    tcase_add_test(t, idmap_basics);
    tcase_add_test(t, hist_buckets_and_labels);
    tcase_add_test(t, latency_stats);
    tcase_add_test(t, spread_exact_then_sampled);
    suite_add_tcase(s, t);
    return s;
}

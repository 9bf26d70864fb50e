/*
 * test_table.c - edge cases of the building blocks: the bounded hash
 * tables with their recency list (table.c), the id maps (idmap.c), the log2
 * latency histograms (hist.c) and the bounds-checked readers of wire.h.
 */
#include "framequeue.h"
#include "hist.h"
#include "idmap.h"
#include "suites.h"
#include "table.h"
#include "wire.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct named {
    struct tnode node;
    size_t len;
    char key[32];
};

static void named_key(const struct tnode *n, const void **k, size_t *len)
{
    const struct named *o = container_of(n, struct named, node);
    *k = o->key;
    *len = o->len;
}

static void named_set(struct named *o, const char *key)
{
    memset(o, 0, sizeof(*o));
    o->len = strlen(key);
    memcpy(o->key, key, o->len);
}

START_TEST(table_keys_differ_in_length_only)
{
    struct table t;
    struct named a, b, c;
    table_init(&t, 10, named_key);
    ck_assert_ptr_null(table_find(&t, "a", 1));     /* no buckets yet */
    named_set(&a, "ab");
    named_set(&b, "abc");
    named_set(&c, "");
    table_insert(&t, &a.node);
    table_insert(&t, &b.node);
    table_insert(&t, &c.node);
    ck_assert_ptr_eq(table_find(&t, "ab", 2), &a.node);
    ck_assert_ptr_eq(table_find(&t, "abc", 3), &b.node);
    ck_assert_ptr_eq(table_find(&t, "", 0), &c.node);
    ck_assert_ptr_null(table_find(&t, "a", 1));
    ck_assert_ptr_null(table_find(&t, "abcd", 4));
    ck_assert_uint_ne(table_hash("ab", 2), table_hash("abc", 3));
    ck_assert_uint_eq(table_hash("abc", 3), table_hash("abc", 3));
    table_remove(&t, &b.node);
    ck_assert_ptr_null(table_find(&t, "abc", 3));
    ck_assert_ptr_eq(table_find(&t, "ab", 2), &a.node);
    ck_assert_uint_eq(t.count, 2);
    table_free(&t);
    ck_assert_uint_eq(t.count, 0);
    ck_assert_ptr_null(table_oldest(&t));
    ck_assert_ptr_null(table_find(&t, "ab", 2));
}
END_TEST

/* The recency order survives the bucket array doubling many times */
START_TEST(table_growth_keeps_recency)
{
    enum { N = 5000 };
    struct table t;
    struct named *o = calloc(N, sizeof(*o));
    char k[32];
    table_init(&t, N, named_key);
    for (int i = 0; i < N; i++) {
        snprintf(k, sizeof(k), "PV:%05d", i);
        named_set(&o[i], k);
        table_insert(&t, &o[i].node);
        ck_assert_int_eq(table_full(&t), i == N - 1);
    }
    ck_assert_uint_ge(t.nbuckets, N);
    ck_assert_uint_eq(t.nbuckets & (t.nbuckets - 1), 0);    /* a power of two */
    /* touch every even one: the odd ones are now the oldest, in order */
    for (int i = 0; i < N; i += 2)
        table_touch(&t, &o[i].node);
    struct tnode *n = table_oldest(&t);
    for (int i = 1; i < N; i += 2, n = table_next_newer(&t, n))
        ck_assert_ptr_eq(n, &o[i].node);
    for (int i = 0; i < N; i += 2, n = table_next_newer(&t, n))
        ck_assert_ptr_eq(n, &o[i].node);
    ck_assert_ptr_null(n);
    /* touching the newest changes nothing */
    table_touch(&t, &o[N - 2].node);
    ck_assert_ptr_null(table_next_newer(&t, &o[N - 2].node));
    for (int i = 0; i < N; i++) {
        snprintf(k, sizeof(k), "PV:%05d", i);
        ck_assert_ptr_eq(table_find(&t, k, strlen(k)), &o[i].node);
    }
    /* remove from the middle, the ends, then everything */
    table_remove(&t, &o[N / 2].node);
    table_remove(&t, table_oldest(&t));
    ck_assert_ptr_eq(table_oldest(&t), &o[3].node);
    ck_assert_uint_eq(t.count, N - 2);
    ck_assert(!table_full(&t));
    while ((n = table_oldest(&t)))
        table_remove(&t, n);
    ck_assert_uint_eq(t.count, 0);
    snprintf(k, sizeof(k), "PV:%05d", 7);
    ck_assert_ptr_null(table_find(&t, k, strlen(k)));
    /* the index can be used again */
    table_insert(&t, &o[7].node);
    ck_assert_ptr_eq(table_find(&t, k, strlen(k)), &o[7].node);
    ck_assert_ptr_eq(table_oldest(&t), &o[7].node);
    table_free(&t);
    free(o);
}
END_TEST

START_TEST(idmap_extreme_ids)
{
    struct idmap m;
    memset(&m, 0, sizeof(m));
    int a, b, c;
    ck_assert_ptr_null(idmap_del(&m, 0));
    ck_assert_int_eq(idmap_put(&m, 0, &a), 0);
    ck_assert_int_eq(idmap_put(&m, 0xffffffffu, &b), 0);
    ck_assert_int_eq(idmap_put(&m, 0x80000000u, &c), 0);
    ck_assert_ptr_eq(idmap_get(&m, 0), &a);
    ck_assert_ptr_eq(idmap_get(&m, 0xffffffffu), &b);
    ck_assert_ptr_eq(idmap_get(&m, 0x80000000u), &c);
    ck_assert_ptr_null(idmap_get(&m, 1));
    ck_assert_ptr_null(idmap_del(&m, 12345));
    ck_assert_uint_eq(m.count, 3);
    ck_assert_ptr_eq(idmap_del(&m, 0), &a);
    ck_assert_ptr_null(idmap_del(&m, 0));
    ck_assert_ptr_null(idmap_get(&m, 0));
    ck_assert_uint_eq(m.count, 2);
    ck_assert_uint_eq(m.tomb, 1);
    /* a deleted slot is used again */
    ck_assert_int_eq(idmap_put(&m, 0, &c), 0);
    ck_assert_ptr_eq(idmap_get(&m, 0), &c);
    ck_assert_uint_eq(m.count, 3);
    /* iteration sees every live id once */
    int seen = 0;
    for (size_t i = 0; i < m.size; i++)
        if (m.slots[i].used == 1)
            seen++;
    ck_assert_int_eq(seen, 3);
    idmap_free(&m);
    ck_assert_uint_eq(m.size, 0);
    ck_assert_ptr_null(idmap_get(&m, 0xffffffffu));
}
END_TEST

/* Ids that share low bits (a client counting up by 0x10000) stay findable */
START_TEST(idmap_clustered_ids)
{
    struct idmap m;
    memset(&m, 0, sizeof(m));
    static int v[3000];
    for (uint32_t i = 0; i < 3000; i++)
        ck_assert_int_eq(idmap_put(&m, i << 16, &v[i]), 0);
    for (uint32_t i = 0; i < 3000; i++)
        ck_assert_ptr_eq(idmap_get(&m, i << 16), &v[i]);
    ck_assert_uint_le(m.count * 4, m.size * 3);
    for (uint32_t i = 0; i < 3000; i += 3)
        idmap_del(&m, i << 16);
    for (uint32_t i = 0; i < 3000; i++)
        ck_assert_ptr_eq(idmap_get(&m, i << 16), i % 3 ? &v[i] : NULL);
    idmap_free(&m);
}
END_TEST

START_TEST(hist_every_bucket_matches_its_label)
{
    char label[48];
    for (int b = 1; b < HIST_BUCKETS - 1; b++) {
        unsigned long long lo, hi;
        hist_label(b, label, sizeof(label));
        ck_assert_int_eq(sscanf(label, "%llu-%llu", &lo, &hi), 2);
        ck_assert_uint_eq(lo, 1ULL << b);
        ck_assert_uint_eq(hi, (2ULL << b) - 1);
        ck_assert_int_eq(hist_bucket(lo), b);
        ck_assert_int_eq(hist_bucket(hi), b);
        ck_assert_int_eq(hist_bucket(lo - 1), b - 1);
    }
    hist_label(-1, label, sizeof(label));
    ck_assert_str_eq(label, "0-1");
    hist_label(HIST_BUCKETS - 1, label, sizeof(label));
    ck_assert_str_eq(label, "2147483648-inf");
    ck_assert_int_eq(hist_bucket(1ULL << 31), HIST_BUCKETS - 1);
    ck_assert_int_eq(hist_bucket(1ULL << 40), HIST_BUCKETS - 1);
    /* a short buffer is cut, never overrun */
    char small[6];
    memset(small, 'x', sizeof(small));
    hist_label(20, small, 4);
    ck_assert_str_eq(small, "104");
    ck_assert_int_eq(small[5], 'x');
}
END_TEST

START_TEST(latency_first_sample_per_bucket)
{
    struct latency l;
    memset(&l, 0, sizeof(l));
    int first = -1, b;
    b = latency_add(&l, 0, &first);
    ck_assert_int_eq(b, 0);
    ck_assert_int_eq(first, 1);
    b = latency_add(&l, 1, &first);
    ck_assert_int_eq(b, 0);
    ck_assert_int_eq(first, 0);
    b = latency_add(&l, UINT64_MAX / 2, &first);
    ck_assert_int_eq(b, HIST_BUCKETS - 1);
    ck_assert_int_eq(first, 1);
    ck_assert_uint_eq(l.count, 3);
    ck_assert_uint_eq(l.max_us, UINT64_MAX / 2);
    ck_assert_uint_eq(l.last_us, UINT64_MAX / 2);
    ck_assert_uint_eq(latency_bucket(&l, 0), 2);
    ck_assert_uint_eq(latency_bucket(&l, HIST_BUCKETS - 1), 1);
    latency_free(&l);
    ck_assert_ptr_null(l.bins);
    latency_free(&l);       /* twice is harmless */
    ck_assert_uint_eq(l.count, 3);
}
END_TEST

START_TEST(wire_reads_both_orders)
{
    static const uint8_t d[] = { 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a,
                                 0x0b, 0x0c, 0x0d, 0x0e, 0x0f };
    struct wire_rd be = wire_init(d, sizeof(d), true), le = wire_init(d, sizeof(d), false);
    ck_assert_uint_eq(wire_u8(&be), 0x01);
    ck_assert_uint_eq(wire_u16(&be), 0x0203);
    ck_assert_uint_eq(wire_u32(&be), 0x04050607u);
    ck_assert_uint_eq(wire_u64(&be), 0x08090a0b0c0d0e0fULL);
    ck_assert_uint_eq(wire_left(&be), 0);
    ck_assert(!be.err);
    ck_assert_uint_eq(wire_u8(&le), 0x01);
    ck_assert_uint_eq(wire_u16(&le), 0x0302);
    ck_assert_uint_eq(wire_u32(&le), 0x07060504u);
    ck_assert_uint_eq(wire_u64(&le), 0x0f0e0d0c0b0a0908ULL);
    ck_assert(!le.err);
    /* unaligned reads */
    struct wire_rd be1 = wire_init(d + 1, 2, true), be3 = wire_init(d + 3, 4, true);
    struct wire_rd le1 = wire_init(d + 1, 8, false);
    ck_assert_uint_eq(wire_u16(&be1), 0x0203);
    ck_assert_uint_eq(wire_u32(&be3), 0x04050607u);
    ck_assert_uint_eq(wire_u64(&le1), 0x0908070605040302ULL);
}
END_TEST

START_TEST(wire_past_the_end_is_sticky)
{
    static const uint8_t d[3] = { 0xaa, 0xbb, 0xcc };
    struct wire_rd r = wire_init(d, sizeof(d), true);
    ck_assert_uint_eq(wire_u16(&r), 0xaabb);
    ck_assert_uint_eq(wire_u32(&r), 0);     /* only one byte left */
    ck_assert(r.err);
    ck_assert_uint_eq(wire_left(&r), 0);
    ck_assert_uint_eq(r.off, 2);            /* nothing consumed */
    ck_assert_uint_eq(wire_u8(&r), 0);      /* the error sticks */
    ck_assert_ptr_null(wire_take(&r, 0));
    struct wire_rd s = wire_init(d, sizeof(d), false);
    wire_skip(&s, 3);
    ck_assert(!s.err);
    ck_assert_ptr_nonnull(wire_take(&s, 0));
    ck_assert_uint_eq(wire_u64(&s), 0);
    ck_assert(s.err);
    /* a length near SIZE_MAX cannot wrap the check */
    struct wire_rd t = wire_init(d, sizeof(d), true);
    wire_u8(&t);
    ck_assert_ptr_null(wire_take(&t, (size_t)-1));
    ck_assert(t.err);
    struct wire_rd z = wire_init(NULL, 0, true);
    ck_assert_uint_eq(wire_u8(&z), 0);
    ck_assert(z.err);
}
END_TEST

START_TEST(wire_sub_readers_and_strings)
{
    static const uint8_t d[] = { 0x01, 0x02, 'a', 'b', 0, 'c', 0x03 };
    struct wire_rd r = wire_init(d, sizeof(d), false);
    struct wire_rd s = wire_sub(&r, 2);         /* its own end, the parent's byte order */
    ck_assert_uint_eq(r.off, 2);
    ck_assert_uint_eq(wire_u16(&s), 0x0201);
    ck_assert_uint_eq(wire_u8(&s), 0);
    ck_assert(s.err && !r.err);
    size_t n;
    const uint8_t *str = wire_cstring(&r, &n);  /* stops before the NUL */
    ck_assert_uint_eq(n, 2);
    ck_assert(str == d + 2);
    ck_assert_uint_eq(wire_u8(&r), 0);
    str = wire_cstring(&r, &n);                 /* no NUL: cut at the end */
    ck_assert_uint_eq(n, 2);
    ck_assert(str == d + 5);
    ck_assert_uint_eq(wire_left(&r), 0);
    str = wire_cstring(&r, &n);
    ck_assert_uint_eq(n, 0);
    ck_assert(!r.err);
    struct wire_rd past = wire_sub(&r, 1);      /* more than is left */
    ck_assert(past.err && r.err);
    ck_assert_uint_eq(wire_left(&past), 0);
    str = wire_cstring(&r, &n);
    ck_assert_ptr_null(str);
    ck_assert_uint_eq(n, 0);
    /* a claimed block reads in the order asked for, whatever the parent's */
    struct wire_rd q = wire_init(d, sizeof(d), false), f;
    ck_assert(wire_claim(&q, 2, true, &f));
    ck_assert_uint_eq(wire_u16(&f), 0x0102);
    ck_assert_uint_eq(wire_left(&f), 0);
    ck_assert_uint_eq(q.off, 2);
    ck_assert(!wire_claim(&q, 6, true, &f));    /* five left */
    ck_assert(q.err);
}
END_TEST

/* ---------------------------------------------------------------- framequeue */

static void fill(unsigned char *b, uint32_t len, uint32_t seq)
{
    for (uint32_t i = 0; i < len; i++)
        b[i] = (unsigned char)(seq * 31 + i);
}

static bool frame_ok(const struct fq_rec *r, uint32_t seq, uint32_t len)
{
    unsigned char want[512];
    fill(want, len, seq);
    return r->caplen == len && r->wirelen == len + 1 && r->ts_us == seq && r->linktype == 1
           && memcmp(fq_data(r), want, len) == 0;
}

START_TEST(framequeue_order_wrap_and_full)
{
    struct framequeue q;
    unsigned char b[512];
    ck_assert_int_eq(fq_init(&q, 4096), 0);
    uint32_t pushed = 0, popped = 0;
    /* sizes that leave every kind of remainder at the end of the buffer */
    for (int round = 0; round < 2000; round++) {
        for (int k = 0; k < 3; k++) {
            uint32_t len = (pushed * 37) % 300;
            fill(b, len, pushed);
            if (!fq_push(&q, 1, pushed, b, len, len + 1))
                break;
            pushed++;
        }
        for (int k = 0; k < 2; k++) {
            const struct fq_rec *r = fq_peek(&q);
            if (!r)
                break;
            ck_assert(frame_ok(r, popped, (popped * 37) % 300));
            fq_pop(&q, r);
            popped++;
        }
    }
    ck_assert_uint_gt(atomic_load(&q.refused), 0);      /* it filled up */
    ck_assert_uint_lt(fq_room(&q), 4096);
    const struct fq_rec *r;
    while ((r = fq_peek(&q))) {
        ck_assert(frame_ok(r, popped, (popped * 37) % 300));
        fq_pop(&q, r);
        popped++;
    }
    ck_assert_uint_eq(popped, pushed);
    ck_assert_uint_gt(pushed, 2000);
    ck_assert_uint_eq(fq_room(&q), 4096);
    /* a frame larger than the whole queue is refused, not split */
    unsigned char big[5000] = { 0 };
    ck_assert(!fq_push(&q, 1, 0, big, sizeof(big), sizeof(big)));
    fq_free(&q);
}
END_TEST

struct fq_producer {
    struct framequeue *q;
    uint32_t n;
};

static void *fq_produce(void *arg)
{
    struct fq_producer *p = arg;
    unsigned char b[512];
    for (uint32_t seq = 0; seq < p->n;) {
        uint32_t len = (seq * 13) % 200;
        fill(b, len, seq);
        if (fq_push(p->q, 1, seq, b, len, len + 1))
            seq++;
    }
    return NULL;
}

START_TEST(framequeue_two_threads)
{
    struct framequeue q;
    ck_assert_int_eq(fq_init(&q, 8192), 0);
    struct fq_producer p = { &q, 20000 };
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, fq_produce, &p), 0);
    uint32_t seq = 0;
    bool ok = true;
    while (seq < p.n) {
        const struct fq_rec *r = fq_peek(&q);
        if (!r)
            continue;
        ok &= frame_ok(r, seq, (seq * 13) % 200);
        fq_pop(&q, r);
        seq++;
    }
    pthread_join(t, NULL);
    ck_assert(ok);
    ck_assert_ptr_null(fq_peek(&q));
    fq_free(&q);
}
END_TEST

Suite *table_suite(void)
{
    Suite *s = suite_create("table");
    TCase *t = tcase_create("table");
    tcase_add_test(t, table_keys_differ_in_length_only);
    tcase_add_test(t, table_growth_keeps_recency);
    suite_add_tcase(s, t);
    t = tcase_create("idmap");
    tcase_add_test(t, idmap_extreme_ids);
    tcase_add_test(t, idmap_clustered_ids);
    suite_add_tcase(s, t);
    t = tcase_create("hist");
    tcase_add_test(t, hist_every_bucket_matches_its_label);
    tcase_add_test(t, latency_first_sample_per_bucket);
    suite_add_tcase(s, t);
    t = tcase_create("framequeue");
    tcase_add_test(t, framequeue_order_wrap_and_full);
    tcase_add_test(t, framequeue_two_threads);
    suite_add_tcase(s, t);
    t = tcase_create("wire");
    tcase_add_test(t, wire_reads_both_orders);
    tcase_add_test(t, wire_past_the_end_is_sticky);
    tcase_add_test(t, wire_sub_readers_and_strings);
    suite_add_tcase(s, t);
    return s;
}

/*
 * test_cull.c - which instance names the agent forgets (pmda/cull.c): names
 * only ever searched for go, names that were real or came from the cache
 * file stay, and the highest id waits for a higher one.
 */
#include "cull.h"
#include "model.h"
#include "suites.h"

#include <stdlib.h>

static struct pv *new_pv(void)
{
    struct pv *p = calloc(1, sizeof(*p) + 16);
    ck_assert_ptr_nonnull(p);
    return p;
}

START_TEST(cull_what_was_only_searched)
{
    struct cull c;
    struct pv *searched = new_pv(), *real = new_pv();
    cull_init(&c);
    real->connects = 1;
    searched->searches = 3;
    ck_assert(cull_only_searched(OBJ_PV, searched));
    ck_assert(!cull_only_searched(OBJ_PV, real));
    /* ids 0-4 were in the cache file: 5 is this run's first new one */
    ck_assert_int_eq(cull_added(&c, 2, true), -1);
    ck_assert_int_eq(cull_added(&c, 5, false), -1);
    ck_assert_int_eq(cull_added(&c, 6, false), -1);
    ck_assert_int_eq(cull_added(&c, 7, false), -1);
    ck_assert(!cull_removed(&c, 2, OBJ_PV, searched));     /* from the file: kept */
    ck_assert(cull_removed(&c, 5, OBJ_PV, searched));
    ck_assert(!cull_removed(&c, 6, OBJ_PV, real));
    /* once real, always kept: back again, only searched this time */
    ck_assert_int_eq(cull_added(&c, 6, true), -1);
    ck_assert(!cull_removed(&c, 6, OBJ_PV, searched));
    ck_assert(!cull_removed(&c, -1, OBJ_PV, searched));    /* never had an id */
    cull_free(&c);
    free(searched);
    free(real);
}
END_TEST

START_TEST(cull_highest_waits)
{
    struct cull c;
    struct pv *searched = new_pv(), *real = new_pv();
    real->channels = 1;
    cull_init(&c);
    cull_added(&c, 0, false);
    cull_added(&c, 1, false);
    ck_assert(!cull_removed(&c, 1, OBJ_PV, searched));     /* the highest: put off */
    ck_assert(cull_removed(&c, 0, OBJ_PV, searched));
    ck_assert_int_eq(cull_added(&c, 1, true), -1);         /* back before its cull */
    ck_assert(!cull_removed(&c, 1, OBJ_PV, real));         /* real this time: kept */
    ck_assert_int_eq(cull_added(&c, 2, false), -1);        /* so nothing is due */
    ck_assert(!cull_removed(&c, 2, OBJ_PV, searched));     /* the highest again */
    ck_assert_int_eq(cull_added(&c, 3, false), 2);         /* a higher id: 2 is due */
    ck_assert_int_eq(cull_added(&c, 4, false), -1);        /* and only once */
    cull_free(&c);
    free(searched);
    free(real);
}
END_TEST

START_TEST(cull_clients)
{
    struct client *cl = calloc(1, sizeof(*cl));
    ck_assert_ptr_nonnull(cl);
    cl->searches = 10;
    ck_assert(cull_only_searched(OBJ_CLIENT, cl));
    cl->bytes_in = 16;
    ck_assert(!cull_only_searched(OBJ_CLIENT, cl));
    ck_assert(!cull_only_searched(OBJ_SERVER, cl));        /* servers are never culled */
    free(cl);
}
END_TEST

START_TEST(cull_many_kept)
{
    struct cull c;
    struct pv *real = new_pv(), *searched = new_pv();
    real->bytes_out = 1;
    cull_init(&c);
    for (int i = 0; i < 1000; i++)
        cull_added(&c, i, false);
    for (int i = 998; i >= 0; i -= 2)                      /* out of order */
        ck_assert(!cull_removed(&c, i, OBJ_PV, real));
    for (int i = 0; i < 998; i++)
        ck_assert(cull_removed(&c, i, OBJ_PV, searched) == (i % 2 == 1));
    cull_free(&c);
    free(real);
    free(searched);
}
END_TEST

Suite *cull_suite(void)
{
    Suite *s = suite_create("cull");
    TCase *tc = tcase_create("cull");
    tcase_add_test(tc, cull_what_was_only_searched);
    tcase_add_test(tc, cull_highest_waits);
    tcase_add_test(tc, cull_clients);
    tcase_add_test(tc, cull_many_kept);
    suite_add_tcase(s, tc);
    return s;
}

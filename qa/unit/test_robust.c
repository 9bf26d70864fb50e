/*
 * test_robust.c - hostile input and bounded memory: malformed messages,
 * random and mutated frames, table caps, eviction and idle expiry.
 */
#include "frames.h"
#include "suites.h"

#include <pcap/dlt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SRV IP(127, 0, 0, 1)
#define CLI IP(127, 0, 0, 2)
#define T0 1700000000000000ULL

static struct buf b;

START_TEST(truncated_datagrams_counted)
{
    struct engine *e = engine_new();
    b.len = 0;
    ca_msg_str(&b, 6, 5, 13, 1, 1, "A:NAME");
    for (size_t cut = 1; cut < b.len; cut++)
        udp_send(e, CLI, 40000, SRV, 5064, b.data, cut, T0);
    ck_assert_uint_ge(e->model.health.decode_errors, 1);
    ck_assert_uint_eq(e->model.ps[PROTO_CA].search_requests, 0);
    /* an empty name is refused, not stored */
    b.len = 0;
    ca_msg(&b, 6, 8, 5, 13, 2, 2, NULL, 0);
    udp_send(e, CLI, 40000, SRV, 5064, b.data, b.len, T0);
    ck_assert_uint_eq(e->model.pvs[PROTO_CA].count, 0);
    engine_delete(e);
}
END_TEST

START_TEST(huge_postsize_on_a_circuit)
{
    struct engine *e = engine_new();
    struct conn c;
    conn_open(&c, e, CLI, 41000, SRV, 5064, T0);
    b.len = 0;
    ca_msg(&b, 1, 0, 0, 0, 0, 0, NULL, 0);
    b.data[2] = 0xff; b.data[3] = 0xff;     /* extended header claiming 4 GiB */
    memset(b.data + 6, 0, 2);
    uint8_t ext[8] = { 0xff, 0xff, 0xff, 0xf0, 0, 0, 0, 1 };
    memcpy(b.data + 16, ext, 8);
    conn_send(&c, 1, b.data, 24);
    ck_assert_uint_ge(e->model.health.stream_gaps, 1);
    /* the circuit recovers at the next segment that starts with a message */
    b.len = 0;
    ca_msg(&b, 23, 0, 0, 0, 0, 0, NULL, 0);
    conn_send(&c, 1, b.data, b.len);
    ck_assert_uint_le(e->model.health.buffers.used, 1 << 20);
    engine_delete(e);
}
END_TEST

START_TEST(random_frames_never_crash)
{
    static uint8_t f[2048];
    static const int lts[] = { DLT_EN10MB, DLT_LINUX_SLL, DLT_LINUX_SLL2, DLT_NULL, DLT_LOOP, DLT_RAW };
    struct engine_config cfg;
    engine_default_config(&cfg);
    cfg.lim.max_pvs = 20;
    cfg.lim.max_servers = 4;
    cfg.lim.max_clients = 4;
    cfg.lim.max_searches = 10;
    cfg.max_flows = 4;
    struct engine *e = calloc(1, sizeof(*e));
    engine_init(e, &cfg, NULL);
    srand(12345);
    uint64_t ts = T0;
    for (int i = 0; i < 20000; i++) {
        size_t n;
        int lt = lts[rand() % 6];
        /* half the frames are valid CA to the right ports with random messages */
        uint8_t msgbuf[600];
        size_t mlen = (size_t)(rand() % 600);
        for (size_t k = 0; k < mlen; k++)
            msgbuf[k] = (uint8_t)rand();
        if (mlen >= 2 && rand() % 2) {
            msgbuf[0] = 0;
            msgbuf[1] = (uint8_t)(rand() % 30);    /* mostly known commands */
        }
        if (rand() % 2)
            n = frame_udp(f, lt, IP(127, 0, 0, (uint8_t)(rand() % 4)), (uint16_t)(rand() % 2 ? 5064 : 40000),
                          IP(127, 0, 0, (uint8_t)(rand() % 4)), (uint16_t)(rand() % 2 ? 5064 : 5065), msgbuf, mlen);
        else
            n = frame_tcp(f, lt, IP(127, 0, 0, (uint8_t)(rand() % 4)), (uint16_t)(40000 + rand() % 3),
                          SRV, 5064, (uint32_t)rand(), (uint32_t)rand(), (uint8_t)rand(), msgbuf, mlen);
        /* and some are mangled at random places, or cut short */
        for (int k = rand() % 4; k > 0; k--)
            f[rand() % n] = (uint8_t)rand();
        size_t cap = rand() % 8 == 0 ? (size_t)rand() % (n + 1) : n;
        ts += (uint64_t)(rand() % 100000);
        engine_frame(e, lt, ts, f, (uint32_t)cap, (uint32_t)n);
    }
    ck_assert_uint_eq(e->model.health.packets, 20000);
    ck_assert_uint_gt(e->model.health.decode_errors, 0);
    ck_assert_uint_le(e->model.pvs[PROTO_CA].count, 20);
    ck_assert_uint_le(e->model.servers[PROTO_CA].count, 4);
    ck_assert_uint_le(e->flows.count, 4);
    engine_finish(e);
    engine_free(e);
    free(e);
}
END_TEST

START_TEST(pv_name_flood_bounded)
{
    struct engine_config cfg;
    engine_default_config(&cfg);
    cfg.lim.max_pvs = 100;
    cfg.lim.max_searches = 50;
    struct engine *e = calloc(1, sizeof(*e));
    engine_init(e, &cfg, NULL);
    char name[64];
    for (int i = 0; i < 5000; i++) {
        b.len = 0;
        snprintf(name, sizeof(name), "FLOOD:%06d", i);
        ca_msg_str(&b, 6, 5, 13, (uint32_t)i, (uint32_t)i, name);
        udp_send(e, CLI, 40000, SRV, 5064, b.data, b.len, T0 + (uint64_t)i);
    }
    ck_assert_uint_eq(e->model.ps[PROTO_CA].search_requests, 5000);
    ck_assert_uint_le(e->model.pvs[PROTO_CA].count, 100);
    ck_assert_uint_le(e->model.searches.count, 50);
    ck_assert_uint_gt(e->model.health.evicted[OBJ_PV], 0);
    ck_assert_uint_gt(e->model.health.searches_evicted, 0);
    /* evicted searches count as unanswered: none is lost from the totals */
    engine_finish(e);
    ck_assert_uint_eq(e->model.ps[PROTO_CA].search_unanswered, 5000);
    engine_free(e);
    free(e);
}
END_TEST

START_TEST(idle_objects_expire)
{
    struct engine_config cfg;
    engine_default_config(&cfg);
    cfg.lim.idle_timeout_us = 60 * 1000000ULL;
    /* a pending search holds its PV: let it end before the idle timeout */
    cfg.lim.search_timeout_us[PROTO_CA] = 5 * 1000000ULL;
    struct engine *e = calloc(1, sizeof(*e));
    engine_init(e, &cfg, NULL);
    b.len = 0;
    ca_msg_str(&b, 6, 5, 13, 1, 1, "IDLE:PV");
    udp_send(e, CLI, 40000, SRV, 5064, b.data, b.len, T0);
    engine_tick(e, T0 + 10 * 1000000ULL);
    ck_assert_uint_eq(e->model.pvs[PROTO_CA].count, 1);
    engine_tick(e, T0 + 120 * 1000000ULL);
    ck_assert_uint_eq(e->model.pvs[PROTO_CA].count, 0);
    ck_assert_uint_eq(e->model.health.expired[OBJ_PV], 1);
    engine_free(e);
    free(e);
}
END_TEST

START_TEST(pv_in_use_is_not_evicted)
{
    struct engine_config cfg;
    engine_default_config(&cfg);
    cfg.lim.max_pvs = 2;
    struct engine *e = calloc(1, sizeof(*e));
    engine_init(e, &cfg, NULL);
    struct conn c;
    conn_open(&c, e, CLI, 41000, SRV, 5064, T0);
    b.len = 0;
    ca_msg_str(&b, 18, 0, 0, 1, 13, "KEEP:A");
    ca_msg_str(&b, 18, 0, 0, 2, 13, "KEEP:B");
    conn_send(&c, 0, b.data, b.len);
    b.len = 0;
    ca_msg_str(&b, 6, 5, 13, 9, 9, "NEW:C");
    udp_send(e, CLI, 40000, SRV, 5064, b.data, b.len, T0 + 10);
    ck_assert_ptr_nonnull(model_pv(&e->model, PROTO_CA, "KEEP:A", 6, false));
    ck_assert_ptr_nonnull(model_pv(&e->model, PROTO_CA, "KEEP:B", 6, false));
    ck_assert_ptr_null(model_pv(&e->model, PROTO_CA, "NEW:C", 5, false));
    ck_assert_uint_eq(e->model.health.untracked[OBJ_PV], 1);
    engine_free(e);
    free(e);
}
END_TEST

Suite *robust_suite(void)
{
    Suite *s = suite_create("robust");
    TCase *t = tcase_create("hostile");
    tcase_set_timeout(t, 60);
    tcase_add_test(t, truncated_datagrams_counted);
    tcase_add_test(t, huge_postsize_on_a_circuit);
    tcase_add_test(t, random_frames_never_crash);
    tcase_add_test(t, pv_name_flood_bounded);
    tcase_add_test(t, idle_objects_expire);
    tcase_add_test(t, pv_in_use_is_not_evicted);
    suite_add_tcase(s, t);
    return s;
}

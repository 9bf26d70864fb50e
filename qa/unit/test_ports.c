/*
 * test_ports.c - EPICS traffic on any port: datagrams and circuit starts
 * recognised by content (recognise.c), circuits followed on learned and
 * configured ports, address-less beacons, port lists.
 */
#include "frames.h"
#include "recognise.h"
#include "suites.h"

#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>

#define SRV IP(10, 0, 0, 1)
#define SRV2 IP(10, 0, 0, 3)
#define CLI IP(10, 0, 0, 2)
#define T0 1700000000000000ULL
#define SEC 1000000ULL

enum { VERSION = 0, SEARCH = 6, RSRV_IS_UP = 13, NOT_FOUND = 14, REPEATER_CONFIRM = 17,
       CREATE_CHAN = 18, CLIENT_NAME = 20, HOST_NAME = 21, ECHO = 23, REPEATER_REGISTER = 24 };

static struct buf b;

/* A PVA message header (8 bytes) and payload */
static void pva_msg(struct buf *o, uint8_t flags, uint8_t cmd, const void *p, uint32_t n)
{
    uint8_t *h = o->data + o->len;
    h[0] = 0xca;
    h[1] = 2;
    h[2] = flags;
    h[3] = cmd;
    for (int i = 0; i < 4; i++)
        h[4 + i] = (uint8_t)(flags & 0x80 ? n >> (24 - 8 * i) : n >> (8 * i));
    memcpy(h + 8, p, n);
    o->len += 8 + n;
}

static void client_search(struct buf *o, uint32_t cid, const char *name)
{
    o->len = 0;
    ca_msg(o, VERSION, 0, 0, 13, 0, 0, NULL, 0);
    ca_msg_str(o, SEARCH, 10, 13, cid, cid, name);
}

static void server_reply(struct buf *o, uint32_t cid, uint16_t tcp_port)
{
    uint8_t minor[8] = { 0, 13 };
    o->len = 0;
    ca_msg(o, VERSION, 0, 0, 13, 0, 0, NULL, 0);
    ca_msg(o, SEARCH, 8, tcp_port, 0, 0xffffffffu, cid, minor, 8);
}

START_TEST(ca_datagrams)
{
    unsigned holds;
    client_search(&b, 1, "A:PV");
    ck_assert_int_eq(recognise_datagram(b.data, b.len, b.len, &holds), PROTO_CA);
    ck_assert_uint_eq(holds, HOLDS_SEARCH);
    /* cut by the snapshot length: still CA */
    ck_assert_int_eq(recognise_datagram(b.data, b.len - 3, b.len, &holds), PROTO_CA);
    /* lengths that do not add up to the datagram's */
    ck_assert_int_eq(recognise_datagram(b.data, b.len - 3, b.len - 3, &holds), -1);
    b.data[b.len] = 0;
    ck_assert_int_eq(recognise_datagram(b.data, b.len + 1, b.len + 1, &holds), -1);
    server_reply(&b, 1, 5070);
    ck_assert_int_eq(recognise_datagram(b.data, b.len, b.len, &holds), PROTO_CA);
    ck_assert_uint_eq(holds, HOLDS_REPLY);
    b.len = 0;
    ca_msg(&b, RSRV_IS_UP, 0, 13, 5070, 7, 0, NULL, 0);
    ck_assert_int_eq(recognise_datagram(b.data, b.len, b.len, &holds), PROTO_CA);
    ck_assert_uint_eq(holds, HOLDS_BEACON);
    ca_msg(&b, NOT_FOUND, 0, 10, 13, 1, 1, NULL, 0);
    ca_msg(&b, REPEATER_REGISTER, 0, 0, 0, 0, CLI, NULL, 0);
    ca_msg(&b, REPEATER_CONFIRM, 0, 0, 0, 0, CLI, NULL, 0);
    ck_assert_int_eq(recognise_datagram(b.data, b.len, b.len, &holds), PROTO_CA);
    ck_assert_uint_eq(holds, HOLDS_BEACON | HOLDS_REPLY | HOLDS_REGISTER | HOLDS_CONFIRM);
    /* only VERSION, a command never sent by UDP, a payload not padded, a
     * beacon with a payload, an extended header: none is CA */
    const struct { uint16_t cmd, size; } bad[] = {
        { VERSION, 0 }, { CREATE_CHAN, 8 }, { SEARCH, 5 }, { RSRV_IS_UP, 8 }, { SEARCH, 0xffff },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint8_t pl[64] = { 'X' };
        b.len = 0;
        ca_msg(&b, bad[i].cmd, 0, 10, 13, 1, 1, NULL, 0);
        b.data[2] = (uint8_t)(bad[i].size >> 8);
        b.data[3] = (uint8_t)bad[i].size;
        size_t n = bad[i].size == 0xffff ? 24 : 16 + bad[i].size;
        memcpy(b.data + 16, pl, n - 16);
        ck_assert_int_eq(recognise_datagram(b.data, n, n, &holds), -1);
    }
    ck_assert_int_eq(recognise_datagram((const uint8_t *)"hello", 5, 5, &holds), -1);
}
END_TEST

START_TEST(pva_datagrams)
{
    unsigned holds;
    uint8_t body[40] = { 0 };
    for (int be = 0; be < 2; be++) {
        uint8_t order = be ? 0x80 : 0;
        b.len = 0;
        pva_msg(&b, order, 3, body, 30);
        ck_assert_int_eq(recognise_datagram(b.data, b.len, b.len, &holds), PROTO_PVA);
        ck_assert_uint_eq(holds, HOLDS_SEARCH);
        b.len = 0;
        pva_msg(&b, order | 0x40, 22, body, 16);   /* ORIGIN_TAG, then the search */
        pva_msg(&b, order, 3, body, 30);
        ck_assert_int_eq(recognise_datagram(b.data, b.len, b.len, &holds), PROTO_PVA);
        b.len = 0;
        pva_msg(&b, order | 0x40, 4, body, 40);
        pva_msg(&b, order | 0x40, 0, body, 36);
        ck_assert_int_eq(recognise_datagram(b.data, b.len, b.len, &holds), PROTO_PVA);
        ck_assert_uint_eq(holds, HOLDS_REPLY | HOLDS_BEACON);
        /* a size past the datagram's end */
        ck_assert_int_eq(recognise_datagram(b.data, b.len - 1, b.len - 1, &holds), -1);
    }
    /* control and segmented messages, and TCP-only commands, are not sent by UDP */
    const uint8_t bad[][2] = { { 0x01, 3 }, { 0x10, 3 }, { 0x40, 7 }, { 0x40, 2 } };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        b.len = 0;
        pva_msg(&b, bad[i][0], bad[i][1], body, 8);
        ck_assert_int_eq(recognise_datagram(b.data, b.len, b.len, &holds), -1);
    }
    b.len = 0;
    pva_msg(&b, 0, 3, body, 8);
    b.data[1] = 0;                                  /* version 0 */
    ck_assert_int_eq(recognise_datagram(b.data, b.len, b.len, &holds), -1);
}
END_TEST

START_TEST(circuit_starts)
{
    int side;
    b.len = 0;
    ca_msg(&b, VERSION, 0, 0, 13, 0, 0, NULL, 0);
    ck_assert_int_eq(recognise_circuit_start(b.data, b.len, &side), PROTO_CA);
    ck_assert_int_eq(side, -1);                     /* both sides open with VERSION */
    ca_msg_str(&b, CLIENT_NAME, 0, 0, 0, 0, "user");
    ck_assert_int_eq(recognise_circuit_start(b.data, b.len, &side), PROTO_CA);
    ck_assert_int_eq(side, 0);
    b.len = 0;
    ca_msg(&b, ECHO, 0, 0, 0, 0, 0, NULL, 0);
    ck_assert_int_eq(recognise_circuit_start(b.data, b.len, &side), -1);
    /* a second parameter, a priority above 99, no minor version: no circuit start */
    const uint32_t odd[][3] = { { 0, 13, 7 }, { 100, 13, 0 }, { 0, 0, 0 }, { 0, 300, 0 } };
    for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
        b.len = 0;
        ca_msg(&b, VERSION, 0, (uint16_t)odd[i][0], odd[i][1], 0, odd[i][2], NULL, 0);
        ck_assert_int_eq(recognise_circuit_start(b.data, b.len, &side), -1);
    }

    uint8_t validation[10] = { 0 };
    b.len = 0;
    pva_msg(&b, 0x41, 2, NULL, 0);
    pva_msg(&b, 0x40, 1, validation, sizeof(validation));
    ck_assert_int_eq(recognise_circuit_start(b.data, b.len, &side), PROTO_PVA);
    ck_assert_int_eq(side, 1);
    ck_assert_int_eq(recognise_circuit_start(b.data, 8, &side), PROTO_PVA);
    b.len = 0;
    pva_msg(&b, 0x41, 2, NULL, 0);
    pva_msg(&b, 0x40, 7, validation, sizeof(validation));
    ck_assert_int_eq(recognise_circuit_start(b.data, b.len, &side), -1);
    b.len = 0;
    pva_msg(&b, 0x01, 2, NULL, 0);                  /* from a client */
    ck_assert_int_eq(recognise_circuit_start(b.data, b.len, &side), -1);
}
END_TEST

/* A search and its reply on other ports teach the engine the TCP port */
START_TEST(learned_from_a_reply)
{
    struct engine *e = engine_new();
    client_search(&b, 3, "MOVED:PV");
    udp_send(e, CLI, 40000, SRV, 6000, b.data, b.len, T0);
    server_reply(&b, 3, 6001);
    udp_send(e, SRV, 6000, CLI, 40000, b.data, b.len, T0 + 100);
    ck_assert_uint_eq(e->model.ps[PROTO_CA].search_requests, 1);
    ck_assert_uint_eq(e->model.ps[PROTO_CA].search_replies, 1);
    struct conn c;
    conn_open(&c, e, CLI, 41000, SRV, 6001, T0 + 200);
    b.len = 0;
    ca_msg_str(&b, CREATE_CHAN, 0, 0, 3, 13, "MOVED:PV");
    conn_send(&c, 0, b.data, b.len);
    struct server *s = model_server(&e->model, PROTO_CA, netaddr_v4(SRV), 6001, false);
    ck_assert_ptr_nonnull(s);
    ck_assert_uint_eq(s->circuits_total, 1);
    ck_assert_uint_eq(s->bytes_in, b.len);
    char text[128];
    engine_ports(e, PROTO_CA, text, sizeof(text));
    ck_assert_str_eq(text, "tcp 5064 6001 udp 5064 5065 6000");
    engine_delete(e);
}
END_TEST

/* One round to every server of an address list is one transaction, though
 * the first server answers before the round reaches the next ones */
START_TEST(address_list_round)
{
    struct engine *e = engine_new();
    const uint16_t ports[3] = { 5070, 5064, 5080 };
    client_search(&b, 4, "A:PV");
    udp_send(e, CLI, 40000, SRV, ports[0], b.data, b.len, T0);
    server_reply(&b, 4, 5070);
    udp_send(e, SRV, 5070, CLI, 40000, b.data, b.len, T0 + 100);
    client_search(&b, 4, "A:PV");
    for (int i = 1; i < 3; i++)
        udp_send(e, CLI, 40000, SRV, ports[i], b.data, b.len, T0 + 200 * (uint64_t)i);
    engine_finish(e);
    ck_assert_uint_eq(e->model.ps[PROTO_CA].search_requests, 3);
    ck_assert_uint_eq(e->model.ps[PROTO_CA].search_unanswered, 0);
    engine_delete(e);

    /* the same name and id searched again a second later: a new search */
    e = engine_new();
    client_search(&b, 4, "A:PV");
    udp_send(e, CLI, 40000, SRV, 5070, b.data, b.len, T0);
    server_reply(&b, 4, 5070);
    udp_send(e, SRV, 5070, CLI, 40000, b.data, b.len, T0 + 100);
    client_search(&b, 4, "A:PV");
    udp_send(e, CLI, 40000, SRV, 5070, b.data, b.len, T0 + SEC);
    engine_finish(e);
    ck_assert_uint_eq(e->model.ps[PROTO_CA].search_unanswered, 1);
    engine_delete(e);
}
END_TEST

/* Searches over a circuit to a name server on a port nothing announced */
START_TEST(name_server_circuit)
{
    struct engine *e = engine_new();
    struct conn c;
    conn_open(&c, e, CLI, 42000, SRV, 7000, T0);
    b.len = 0;
    ca_msg(&b, VERSION, 0, 0, 13, 0, 0, NULL, 0);
    conn_send(&c, 1, b.data, b.len);                /* the server speaks first */
    ca_msg_str(&b, HOST_NAME, 0, 0, 0, 0, "host");
    ca_msg_str(&b, CLIENT_NAME, 0, 0, 0, 0, "user");
    conn_send(&c, 0, b.data, b.len);
    b.len = 0;
    ca_msg_str(&b, SEARCH, 5, 13, 9, 9, "NS:PV");
    conn_send(&c, 0, b.data, b.len);
    ck_assert_uint_eq(e->model.ps[PROTO_CA].search_requests, 1);
    struct server *s = model_server(&e->model, PROTO_CA, netaddr_v4(SRV), 7000, false);
    ck_assert_ptr_nonnull(s);
    ck_assert_uint_eq(s->circuits_total, 1);
    ck_assert_uint_eq(s->bytes_out, 16);
    ck_assert_uint_ge(e->model.servers_learned, 1);

    /* joined mid-stream, a lone VERSION says nothing of the sides */
    struct conn d = { .e = e, .caddr = CLI, .cport = 42001, .saddr = SRV2, .sport = 7001,
                      .cseq = 100, .sseq = 900, .ts = T0 + SEC, .linktype = DLT_EN10MB };
    b.len = 0;
    ca_msg(&b, VERSION, 0, 0, 13, 0, 0, NULL, 0);
    conn_send(&d, 1, b.data, b.len);
    ck_assert_ptr_null(model_server(&e->model, PROTO_CA, netaddr_v4(SRV2), 7001, false));
    engine_delete(e);
}
END_TEST

START_TEST(pva_circuit_start)
{
    struct engine *e = engine_new();
    struct conn d = { .e = e, .caddr = CLI, .cport = 43000, .saddr = SRV, .sport = 8095,
                      .cseq = 100, .sseq = 900, .ts = T0, .linktype = DLT_EN10MB };
    uint8_t validation[10] = { 0 };
    b.len = 0;
    pva_msg(&b, 0x41, 2, NULL, 0);
    pva_msg(&b, 0x40, 1, validation, sizeof(validation));
    conn_send(&d, 1, b.data, b.len);
    struct server *s = model_server(&e->model, PROTO_PVA, netaddr_v4(SRV), 8095, false);
    ck_assert_ptr_nonnull(s);
    ck_assert_uint_eq(s->circuits_total, 1);
    engine_delete(e);
}
END_TEST

/* --ca-ports: a circuit joined mid-stream on a port given by hand */
START_TEST(ports_by_hand)
{
    struct engine_config cfg;
    engine_default_config(&cfg);
    ck_assert_int_eq(port_list_parse(&cfg.ports[PROTO_CA], "5999, 6001,5999"), 0);
    ck_assert_uint_eq(cfg.ports[PROTO_CA].n, 2);
    ck_assert_int_eq(port_list_parse(&cfg.ports[PROTO_CA], "5999,x"), -1);
    ck_assert_int_eq(port_list_parse(&cfg.ports[PROTO_CA], "70000"), -1);
    ck_assert_int_eq(port_list_parse(&cfg.ports[PROTO_CA], "0"), -1);
    for (int by_hand = 0; by_hand < 2; by_hand++) {
        struct engine *e = calloc(1, sizeof(*e));
        struct engine_config c2;
        engine_default_config(&c2);
        engine_init(e, by_hand ? &cfg : &c2, NULL);
        struct conn d = { .e = e, .caddr = CLI, .cport = 44000, .saddr = SRV, .sport = 5999,
                          .cseq = 100, .sseq = 900, .ts = T0, .linktype = DLT_EN10MB };
        b.len = 0;
        ca_msg(&b, ECHO, 0, 0, 0, 0, 0, NULL, 0);
        conn_send(&d, 0, b.data, b.len);
        conn_send(&d, 1, b.data, b.len);
        struct server *s = model_server(&e->model, PROTO_CA, netaddr_v4(SRV), 5999, false);
        if (by_hand) {
            ck_assert_ptr_nonnull(s);
            ck_assert_uint_eq(s->bytes_out, 16);
            char text[128];
            engine_ports(e, PROTO_CA, text, sizeof(text));
            ck_assert_str_eq(text, "tcp 5064 5999 6001 udp 5064 5065 5999 6001");
        } else {
            ck_assert_ptr_null(s);
            ck_assert_uint_eq(e->model.health.not_epics, 2);
        }
        engine_free(e);
        free(e);
    }
}
END_TEST

static void hint_key(const struct tnode *n, const void **k, size_t *len)
{
    const struct endpoint_hint *h = container_of(n, struct endpoint_hint, node);
    *k = &h->key;
    *len = sizeof(h->key);
}

START_TEST(beacons_without_address)
{
    struct model mo;
    struct model_limits lim;
    struct table hints;
    struct endpoint_hint h[2] = { { .key = { netaddr_v4(SRV2), 6064, PROTO_CA } },
                                  { .key = { netaddr_v4(SRV), 6070, PROTO_CA } } };
    model_default_limits(&lim);
    model_init(&mo, &lim, NULL);
    /* nothing known: the source's */
    model_beacon_from(&mo, PROTO_CA, netaddr_v4(SRV), 5070, 1, T0);
    ck_assert_ptr_nonnull(model_server(&mo, PROTO_CA, netaddr_v4(SRV), 5070, false));
    /* the one server known on that port, though another address sent it */
    model_server(&mo, PROTO_CA, netaddr_v4(SRV2), 5080, true);
    model_beacon_from(&mo, PROTO_CA, netaddr_v4(SRV), 5080, 1, T0);
    ck_assert_ptr_null(model_server(&mo, PROTO_CA, netaddr_v4(SRV), 5080, false));
    ck_assert_uint_eq(model_server(&mo, PROTO_CA, netaddr_v4(SRV2), 5080, false)->beacons, 1);
    /* two known on that port: no guess, the source's */
    model_server(&mo, PROTO_CA, netaddr_v4(IP(10, 0, 0, 9)), 5080, true);
    model_beacon_from(&mo, PROTO_CA, netaddr_v4(SRV), 5080, 2, T0 + SEC);
    ck_assert_uint_eq(model_server(&mo, PROTO_CA, netaddr_v4(SRV), 5080, false)->beacons, 1);
    ck_assert_uint_eq(model_server(&mo, PROTO_CA, netaddr_v4(SRV2), 5080, false)->beacons, 1);
    model_free(&mo);

    /* servers known ahead (a file's first pass) count as known */
    model_init(&mo, &lim, NULL);
    table_init(&hints, 16, hint_key);
    table_insert(&hints, &h[0].node);
    table_insert(&hints, &h[1].node);
    mo.hints = &hints;
    model_beacon_from(&mo, PROTO_CA, netaddr_v4(SRV), 6064, 1, T0);
    ck_assert_ptr_null(model_server(&mo, PROTO_CA, netaddr_v4(SRV), 6064, false));
    ck_assert_uint_eq(model_server(&mo, PROTO_CA, netaddr_v4(SRV2), 6064, false)->beacons, 1);
    model_server(&mo, PROTO_CA, netaddr_v4(SRV2), 6070, true);
    model_beacon_from(&mo, PROTO_CA, netaddr_v4(SRV), 6070, 1, T0);     /* the source is known ahead */
    ck_assert_uint_eq(model_server(&mo, PROTO_CA, netaddr_v4(SRV), 6070, false)->beacons, 1);
    ck_assert_uint_eq(model_server(&mo, PROTO_CA, netaddr_v4(SRV2), 6070, false)->beacons, 0);
    mo.hints = NULL;
    table_free(&hints);
    model_free(&mo);

    model_init(&mo, &lim, NULL);
    /* a first pass creates no server from such a beacon */
    mo.beacons_learn_nothing = true;
    model_beacon_from(&mo, PROTO_CA, netaddr_v4(SRV), 6064, 1, T0);
    ck_assert_uint_eq(mo.servers[PROTO_CA].count, 0);
    ck_assert_uint_eq(mo.ps[PROTO_CA].beacons, 1);
    model_free(&mo);
}
END_TEST

START_TEST(repeater_copies)
{
    struct engine *e = engine_new();
    /* a client searched from 40000: beacons passed on to it are copies,
     * whichever port the repeater sends them from */
    client_search(&b, 1, "X:PV");
    udp_send(e, CLI, 40000, SRV, 5070, b.data, b.len, T0);
    b.len = 0;
    ca_msg(&b, RSRV_IS_UP, 0, 13, 5070, 1, 0, NULL, 0);
    udp_send(e, SRV, 50000, SRV, 5071, b.data, b.len, T0 + SEC);
    udp_send(e, CLI, 47000, CLI, 40000, b.data, b.len, T0 + SEC + 10);
    udp_send(e, CLI, 5065, CLI, 40001, b.data, b.len, T0 + SEC + 20);
    ck_assert_uint_eq(e->model.ps[PROTO_CA].beacons, 1);
    ck_assert_uint_eq(model_server(&e->model, PROTO_CA, netaddr_v4(SRV), 5070, false)->beacons, 1);
    /* a client known by its confirmation from the repeater */
    b.len = 0;
    ca_msg(&b, REPEATER_CONFIRM, 0, 0, 0, 0, CLI, NULL, 0);
    udp_send(e, CLI, 5071, CLI, 40002, b.data, b.len, T0 + 2 * SEC);
    b.len = 0;
    ca_msg(&b, RSRV_IS_UP, 0, 13, 5070, 2, 0, NULL, 0);
    udp_send(e, CLI, 5071, CLI, 40002, b.data, b.len, T0 + 3 * SEC);
    ck_assert_uint_eq(e->model.ps[PROTO_CA].beacons, 1);
    engine_delete(e);
}
END_TEST

START_TEST(port_lists)
{
    struct port_list l = { 0 };
    char text[16];
    port_list_format(&l, text, sizeof(text));
    ck_assert_str_eq(text, "");
    ck_assert(port_list_add(&l, 6000));
    ck_assert(port_list_add(&l, 80));
    ck_assert(!port_list_add(&l, 80));
    ck_assert(!port_list_add(&l, 0));
    port_list_format(&l, text, sizeof(text));
    ck_assert_str_eq(text, "80 6000");
    port_list_format(&l, text, 5);                  /* cut, still terminated */
    ck_assert_uint_le(strlen(text), 4);
    for (uint16_t p = 1; p <= PORT_LIST_MAX; p++)
        port_list_add(&l, (uint16_t)(10000 + p));
    ck_assert_uint_eq(l.n, PORT_LIST_MAX);
    ck_assert(!port_list_add(&l, 9));
}
END_TEST

Suite *ports_suite(void)
{
    Suite *s = suite_create("ports");
    TCase *t = tcase_create("recognise");
    tcase_add_test(t, ca_datagrams);
    tcase_add_test(t, pva_datagrams);
    tcase_add_test(t, circuit_starts);
    suite_add_tcase(s, t);
    t = tcase_create("engine");
    tcase_add_test(t, learned_from_a_reply);
    tcase_add_test(t, address_list_round);
    tcase_add_test(t, name_server_circuit);
    tcase_add_test(t, pva_circuit_start);
    tcase_add_test(t, ports_by_hand);
    tcase_add_test(t, beacons_without_address);
    tcase_add_test(t, repeater_copies);
    tcase_add_test(t, port_lists);
    suite_add_tcase(s, t);
    return s;
}

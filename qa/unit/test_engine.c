/*
 * test_engine.c - frames through engine_frame(): link-layer dispatch,
 * skipped and malformed input at every layer, the TCP connection table,
 * stream gaps as the agent counts them, expiry, table caps, the capture
 * filter, the environment, capture files, the exporter hooks, and fuzzing
 * with thousands of random and mutated frames.
 */
#include "netbuild.h"
#include "suites.h"
#include "capture.h"

#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SRV IP(10, 0, 0, 1)
#define CLI IP(10, 0, 0, 2)
#define CLI2 IP(10, 0, 0, 3)
#define T0 1700000000000000ULL
#define SEC 1000000ULL

static struct buf m;

static const struct nb_link ETH = { DLT_EN10MB, 0, false, 0 };

/* VERSION and one SEARCH for name, as a client's datagram to the server port */
static void search(struct engine *e, const struct nb_link *l, uint32_t cli, uint16_t cport,
                   uint32_t cid, const char *name, uint64_t ts)
{
    m.len = 0;
    ca_msg(&m, CA_CMD_VERSION, 0, 0, CA_MINOR_VERSION, 0, 0, NULL, 0);
    ca_msg_str(&m, CA_CMD_SEARCH, CA_DONT_REPLY, CA_MINOR_VERSION, cid, cid, name);
    nb_send_udp(e, l, ts, cli, cport, SRV, 5064, m.data, m.len);
}

static void search_reply(struct engine *e, uint32_t cli, uint16_t cport, uint32_t cid,
                         uint16_t port, uint64_t ts)
{
    uint8_t minor[2] = { 0, CA_MINOR_VERSION };
    m.len = 0;
    ca_msg(&m, CA_CMD_VERSION, 0, 0, CA_MINOR_VERSION, 0, 0, NULL, 0);
    ca_msg(&m, CA_CMD_SEARCH, 8, port, 0, 0xffffffffu, cid, minor, 2);
    nb_send_udp(e, NULL, ts, SRV, 5064, cli, cport, m.data, m.len);
}

/* CREATE_CHAN request, ACCESS_RIGHTS and the reply: an open channel */
static void open_channel(struct nb_conn *c, const char *name, uint32_t cid, uint32_t sid)
{
    m.len = 0;
    ca_msg_str(&m, CA_CMD_CREATE_CHAN, 0, 0, cid, CA_MINOR_VERSION, name);
    nb_conn_send(c, 0, m.data, m.len);
    m.len = 0;
    ca_msg(&m, CA_CMD_ACCESS_RIGHTS, 0, 0, 0, cid, 3, NULL, 0);
    ca_msg(&m, CA_CMD_CREATE_CHAN, 0, CA_DBR_DOUBLE, 1, cid, sid, NULL, 0);
    nb_conn_send(c, 1, m.data, m.len);
}

static void subscribe(struct nb_conn *c, uint32_t sid, uint32_t subid)
{
    uint8_t mask[16] = { 0 };
    mask[13] = 5;                       /* DBE_VALUE | DBE_ALARM */
    m.len = 0;
    ca_msg(&m, CA_CMD_EVENT_ADD, 16, CA_DBR_DOUBLE, 1, sid, subid, mask, 16);
    nb_conn_send(c, 0, m.data, m.len);
}

/* A 24-byte monitor update of subscription subid */
static size_t update(uint8_t *out, uint32_t subid, uint8_t tag)
{
    struct buf *u = malloc(sizeof(*u));
    uint8_t val[8] = { 0x40, tag };
    u->len = 0;
    ca_msg(u, CA_CMD_EVENT_ADD, 8, CA_DBR_DOUBLE, 1, CA_ECA_NORMAL, subid, val, 8);
    memcpy(out, u->data, u->len);
    size_t n = u->len;
    free(u);
    return n;
}

/* An engine with a handshaken circuit and channel "NAME" (cid 1, sid 100)
 * subscribed as subscription 7 */
struct circuit_fixture {
    struct engine *e;
    struct nb_conn c;
    struct pv *pv;
    struct server *srv;
};

static void circuit_fixture(struct circuit_fixture *f, const struct engine_config *cfg,
                            const char *name)
{
    f->e = nb_engine(cfg, NULL);
    nb_conn_init(&f->c, f->e, CLI, 40001, SRV, 5064, T0);
    nb_conn_handshake(&f->c);
    open_channel(&f->c, name, 1, 100);
    subscribe(&f->c, 100, 7);
    f->pv = nb_pv(f->e, PROTO_CA, name);
    f->srv = nb_server(f->e, PROTO_CA, SRV, 5064);
    ck_assert_ptr_nonnull(f->pv);
    ck_assert_ptr_nonnull(f->srv);
    ck_assert_uint_eq(f->pv->channels, 1);
    ck_assert_uint_eq(f->pv->monitors, 1);
}

/* ------------------------------------------------------------------ link */

static const struct nb_link links[] = {
    { DLT_EN10MB, 0, false, 0 },
    { DLT_EN10MB, 1, false, 0 },
    { DLT_EN10MB, 2, false, 0 },
    { DLT_LINUX_SLL, 0, false, 0 },
    { DLT_LINUX_SLL2, 0, false, 0 },
    { DLT_NULL, 0, false, 0 },
    { DLT_NULL, 0, true, 0 },
    { DLT_LOOP, 0, false, 0 },
    { DLT_RAW, 0, false, 0 },
    { DLT_IPV4, 0, false, 0 },
};
#define NLINKS ((int)(sizeof(links) / sizeof(links[0])))

START_TEST(link_types_reach_the_decoder)
{
    const struct nb_link *l = &links[_i];
    struct engine *e = nb_engine(NULL, NULL);
    search(e, l, CLI, 40000, 1, "LINK:PV", T0);
    ck_assert_uint_eq(e->model.ps[PROTO_CA].search_requests, 1);
    ck_assert_ptr_nonnull(nb_pv(e, PROTO_CA, "LINK:PV"));

    /* and a circuit over the same link */
    struct nb_conn c;
    nb_conn_init(&c, e, CLI, 40001, SRV, 5064, T0 + 1000);
    c.link = *l;
    nb_conn_handshake(&c);
    open_channel(&c, "LINK:PV", 1, 55);
    ck_assert_uint_eq(nb_pv(e, PROTO_CA, "LINK:PV")->connects, 1);
    ck_assert_uint_eq(e->model.health.skipped, 0);
    ck_assert_uint_eq(e->model.health.decode_errors, 0);
    ck_assert_uint_eq(e->model.health.packets, 6);
    nb_engine_free(e);
}
END_TEST

START_TEST(other_ethertypes_and_protocols_skipped)
{
    struct engine *e = nb_engine(NULL, NULL);
    uint8_t f[256];
    static const struct nb_link arp = { DLT_EN10MB, 0, false, 0x0806 };
    size_t n = nb_udp(f, &arp, CLI, 1, SRV, 5064, "12345678", 8);
    nb_feed(e, DLT_EN10MB, T0, f, n, n);
    /* ICMP inside IPv4 */
    n = nb_udp(f, &ETH, CLI, 1, SRV, 5064, "12345678", 8);
    f[14 + 9] = 1;
    nb_feed(e, DLT_EN10MB, T0, f, n, n);
    /* IPv4 ethertype but another IP version inside */
    n = nb_udp(f, &ETH, CLI, 1, SRV, 5064, "12345678", 8);
    f[14] = 0x55;
    nb_feed(e, DLT_EN10MB, T0, f, n, n);
    /* a link type the engine does not know */
    nb_feed(e, DLT_IEEE802_11, T0, f, n, n);
    ck_assert_uint_eq(e->model.health.skipped, 4);
    ck_assert_uint_eq(e->model.health.decode_errors, 0);
    ck_assert_int_eq(packet_linktype_supported(DLT_IEEE802_11), 0);
    ck_assert_int_eq(packet_linktype_supported(DLT_LINUX_SLL2), 1);
    ck_assert_int_eq(packet_linktype_supported(DLT_IPV4), 1);
    nb_engine_free(e);
}
END_TEST

START_TEST(ip_fragments_skipped)
{
    struct engine *e = nb_engine(NULL, NULL);
    uint8_t f[256];
    m.len = 0;
    ca_msg_str(&m, CA_CMD_SEARCH, CA_DONT_REPLY, CA_MINOR_VERSION, 1, 1, "FRAG:PV");
    /* first fragment: more-fragments set */
    size_t n = nb_udp(f, &ETH, CLI, 40000, SRV, 5064, m.data, m.len);
    f[14 + 6] = 0x20;
    nb_feed(e, DLT_EN10MB, T0, f, n, n);
    /* a later fragment: offset 185 (1480 bytes) */
    n = nb_udp(f, &ETH, CLI, 40000, SRV, 5064, m.data, m.len);
    f[14 + 6] = 0x00;
    f[14 + 7] = 185;
    nb_feed(e, DLT_EN10MB, T0, f, n, n);
    ck_assert_uint_eq(e->model.health.skipped, 2);
    ck_assert_uint_eq(e->model.ps[PROTO_CA].search_requests, 0);
    /* don't-fragment alone is an ordinary datagram */
    n = nb_udp(f, &ETH, CLI, 40000, SRV, 5064, m.data, m.len);
    f[14 + 6] = 0x40;
    nb_feed(e, DLT_EN10MB, T0, f, n, n);
    ck_assert_uint_eq(e->model.ps[PROTO_CA].search_requests, 1);
    nb_engine_free(e);
}
END_TEST

START_TEST(ip_options_and_ethernet_padding)
{
    struct engine *e = nb_engine(NULL, NULL);
    uint8_t f[256], g[256];
    m.len = 0;
    ca_msg_str(&m, CA_CMD_SEARCH, CA_DONT_REPLY, CA_MINOR_VERSION, 1, 1, "OPT");   /* 24 bytes */
    size_t n = nb_udp(f, &ETH, CLI, 40000, SRV, 5064, m.data, m.len);
    /* the same packet with 4 bytes of IP options (a NOP list) */
    memcpy(g, f, 14 + 20);
    memset(g + 34, 1, 4);
    memcpy(g + 38, f + 34, n - 34);
    g[14] = 0x46;
    g[14 + 2] = 0;
    g[14 + 3] = (uint8_t)(n - 14 + 4);
    nb_feed(e, DLT_EN10MB, T0, g, n + 4, n + 4);
    ck_assert_uint_eq(e->model.ps[PROTO_CA].search_requests, 1);
    ck_assert_ptr_nonnull(nb_pv(e, PROTO_CA, "OPT"));

    /* a short frame padded to 60 bytes: the padding is no CA message */
    m.len = 0;
    ca_msg(&m, CA_CMD_VERSION, 0, 0, CA_MINOR_VERSION, 0, 0, NULL, 0);   /* 16 bytes */
    n = nb_udp(f, &ETH, CLI, 40000, SRV, 5064, m.data, m.len);
    ck_assert_uint_lt(n, 60);
    memset(f + n, 0xee, 60 - n);
    nb_feed(e, DLT_EN10MB, T0, f, 60, 60);
    ck_assert_uint_eq(e->model.health.decode_errors, 0);
    ck_assert_uint_eq(e->model.ps[PROTO_CA].messages, 2);
    nb_engine_free(e);
}
END_TEST

/* Every cut inside the link, IP or TCP header is malformed, never a crash */
START_TEST(truncated_headers_at_every_layer)
{
    const struct nb_link *l = &links[_i];
    struct engine *e = nb_engine(NULL, NULL);
    uint8_t f[256];
    size_t n = nb_tcp(f, l, CLI, 40000, SRV, 5064, 1000, 0, TCP_SYN, NULL, 0);
    for (size_t k = 0; k < n; k++)
        nb_feed(e, l->dlt, T0, f, k, k);
    ck_assert_uint_eq(e->model.health.decode_errors, n);
    ck_assert_uint_eq(e->model.health.circuits, 0);
    /* a snap length that cuts the headers is just as malformed */
    nb_feed(e, l->dlt, T0, f, n - 1, n);
    ck_assert_uint_eq(e->model.health.decode_errors, n + 1);
    /* the whole frame opens a circuit */
    nb_feed(e, l->dlt, T0, f, n, n);
    ck_assert_uint_eq(e->model.health.circuits, 1);
    ck_assert_uint_eq(e->model.health.decode_errors, n + 1);
    nb_engine_free(e);
}
END_TEST

START_TEST(bad_header_fields)
{
    struct engine *e = nb_engine(NULL, NULL);
    uint8_t f[256];
    size_t n;
    const size_t ip = 14, l4 = 34;
    uint64_t errors = 0;

    n = nb_udp(f, &ETH, CLI, 40000, SRV, 5064, "12345678", 8);
    f[ip] = 0x44;                       /* IHL of 16 bytes */
    nb_feed(e, DLT_EN10MB, T0, f, n, n);
    ck_assert_uint_eq(e->model.health.decode_errors, ++errors);

    n = nb_udp(f, &ETH, CLI, 40000, SRV, 5064, "12345678", 8);
    f[ip + 2] = 0; f[ip + 3] = 12;      /* total length shorter than the header */
    nb_feed(e, DLT_EN10MB, T0, f, n, n);
    ck_assert_uint_eq(e->model.health.decode_errors, ++errors);

    n = nb_udp(f, &ETH, CLI, 40000, SRV, 5064, "12345678", 8);
    f[ip] = 0x4f;                       /* 60-byte IP header in a 36-byte packet */
    nb_feed(e, DLT_EN10MB, T0, f, n, n);
    ck_assert_uint_eq(e->model.health.decode_errors, ++errors);

    n = nb_udp(f, &ETH, CLI, 40000, SRV, 5064, "12345678", 8);
    f[l4 + 4] = 0; f[l4 + 5] = 4;       /* UDP length below its header */
    nb_feed(e, DLT_EN10MB, T0, f, n, n);
    ck_assert_uint_eq(e->model.health.decode_errors, ++errors);

    n = nb_udp(f, &ETH, CLI, 40000, SRV, 5064, "12345678", 8);
    f[l4 + 4] = 0xff; f[l4 + 5] = 0xff; /* UDP length beyond the IP packet */
    nb_feed(e, DLT_EN10MB, T0, f, n, n);
    ck_assert_uint_eq(e->model.health.decode_errors, ++errors);

    n = nb_tcp(f, &ETH, CLI, 40000, SRV, 5064, 1, 0, TCP_SYN, "abcd", 4);
    f[l4 + 12] = 0x40;                  /* data offset of 16 bytes */
    nb_feed(e, DLT_EN10MB, T0, f, n, n);
    ck_assert_uint_eq(e->model.health.decode_errors, ++errors);

    n = nb_tcp(f, &ETH, CLI, 40000, SRV, 5064, 1, 0, TCP_SYN, "abcd", 4);
    f[l4 + 12] = 0xf0;                  /* 60-byte TCP header in a 24-byte segment */
    nb_feed(e, DLT_EN10MB, T0, f, n, n);
    ck_assert_uint_eq(e->model.health.decode_errors, ++errors);

    ck_assert_uint_eq(e->model.health.circuits, 0);
    ck_assert_uint_eq(e->model.ps[PROTO_CA].messages, 0);
    nb_engine_free(e);
}
END_TEST

/* Segmentation offload: the IP total length is 0, the wire length tells */
START_TEST(offloaded_zero_ip_length)
{
    struct engine *e = nb_engine(NULL, NULL);
    uint8_t f[256];
    m.len = 0;
    ca_msg_str(&m, CA_CMD_SEARCH, CA_DONT_REPLY, CA_MINOR_VERSION, 1, 1, "TSO:PV");
    size_t n = nb_udp(f, &ETH, CLI, 40000, SRV, 5064, m.data, m.len);
    f[14 + 2] = 0;
    f[14 + 3] = 0;
    nb_feed(e, DLT_EN10MB, T0, f, n, n);
    ck_assert_uint_eq(e->model.health.decode_errors, 0);
    ck_assert_uint_eq(e->model.ps[PROTO_CA].search_requests, 1);
    struct packet p;
    ck_assert_int_eq(packet_parse(DLT_EN10MB, f, (uint32_t)n, (uint32_t)n, &p), PACKET_OK);
    ck_assert_uint_eq(p.len, m.len);
    nb_engine_free(e);
}
END_TEST

START_TEST(snaplen_cut_datagram)
{
    struct engine *e = nb_engine(NULL, NULL);
    uint8_t f[256];
    m.len = 0;
    ca_msg_str(&m, CA_CMD_SEARCH, CA_DONT_REPLY, CA_MINOR_VERSION, 1, 1, "FIRST");
    ca_msg_str(&m, CA_CMD_SEARCH, CA_DONT_REPLY, CA_MINOR_VERSION, 2, 2, "SECOND:IS:CUT");
    size_t n = nb_udp(f, &ETH, CLI, 40000, SRV, 5064, m.data, m.len);
    nb_feed(e, DLT_EN10MB, T0, f, n - 8, n);
    /* the whole first message was captured, the cut one is not an error */
    ck_assert_uint_eq(e->model.ps[PROTO_CA].search_requests, 1);
    ck_assert_uint_eq(e->model.health.truncated, 1);
    ck_assert_uint_eq(e->model.health.decode_errors, 0);
    nb_engine_free(e);
}
END_TEST

/* ----------------------------------------------------------------- flows */

START_TEST(non_epics_traffic_counted_and_ignored)
{
    struct engine *e = nb_engine(NULL, NULL);
    struct nb_conn c;
    nb_conn_init(&c, e, CLI, 40000, SRV, 80, T0);
    nb_conn_handshake(&c);
    nb_conn_send(&c, 0, "GET / HTTP/1.0\r\n\r\n", 18);
    nb_send_udp(e, NULL, T0, CLI, 40000, SRV, 53, "dnsquery", 8);
    ck_assert_uint_eq(e->model.health.circuits, 0);
    ck_assert_uint_eq(e->flows.count, 0);
    /* SYN, SYN-ACK, the request and the datagram; the bare ACK is not looked at */
    ck_assert_uint_eq(e->model.health.not_epics, 4);
    ck_assert_uint_eq(e->model.health.decode_errors, 0);
    nb_engine_free(e);
}
END_TEST

START_TEST(fin_and_rst_close_circuits)
{
    struct engine *e = nb_engine(NULL, NULL);
    struct nb_conn c, d;
    nb_conn_init(&c, e, CLI, 40000, SRV, 5064, T0);
    nb_conn_handshake(&c);
    open_channel(&c, "CLOSE:PV", 1, 1);
    struct server *s = nb_server(e, PROTO_CA, SRV, 5064);
    ck_assert_uint_eq(s->circuits, 1);
    ck_assert_uint_eq(s->channels, 1);
    nb_conn_fin(&c, 0);
    ck_assert_uint_eq(e->flows.count, 1);       /* half closed */
    nb_conn_fin(&c, 1);
    ck_assert_uint_eq(e->flows.count, 0);
    ck_assert_uint_eq(e->model.health.circuits, 0);
    ck_assert_uint_eq(s->circuits, 0);
    ck_assert_uint_eq(s->channels, 0);
    ck_assert_uint_eq(nb_pv(e, PROTO_CA, "CLOSE:PV")->channels, 0);
    ck_assert_uint_eq(s->circuits_total, 1);
    /* the last ACK after both FINs opens nothing */
    nb_conn_segment(&c, 0, c.seq[0], c.seq[1], TCP_ACK, NULL, 0);
    ck_assert_uint_eq(e->flows.count, 0);

    nb_conn_init(&d, e, CLI, 40001, SRV, 5064, T0 + 1000);
    nb_conn_handshake(&d);
    ck_assert_uint_eq(e->model.health.circuits, 1);
    nb_conn_segment(&d, 1, d.seq[1], d.seq[0], TCP_RST | TCP_ACK, NULL, 0);
    ck_assert_uint_eq(e->model.health.circuits, 0);
    ck_assert_uint_eq(s->circuits_total, 2);
    nb_engine_free(e);
}
END_TEST

START_TEST(flow_table_cap_evicts_the_oldest)
{
    struct engine_config cfg;
    engine_default_config(&cfg);
    cfg.max_flows = 2;
    struct engine *e = nb_engine(&cfg, NULL);
    struct nb_conn c[3];
    for (int i = 0; i < 3; i++) {
        nb_conn_init(&c[i], e, CLI, (uint16_t)(40000 + i), SRV, 5064, T0 + (uint64_t)i * 1000);
        nb_conn_handshake(&c[i]);
    }
    ck_assert_uint_eq(e->flows.count, 2);
    ck_assert_uint_eq(e->model.health.flows_evicted, 1);
    ck_assert_uint_eq(e->model.health.circuits, 2);
    ck_assert_uint_eq(nb_server(e, PROTO_CA, SRV, 5064)->circuits_total, 3);
    nb_engine_free(e);
}
END_TEST

START_TEST(idle_flows_are_closed)
{
    struct engine_config cfg;
    engine_default_config(&cfg);
    cfg.flow_idle_us = 10 * SEC;
    struct engine *e = nb_engine(&cfg, NULL);
    struct nb_conn c;
    nb_conn_init(&c, e, CLI, 40000, SRV, 5064, T0);
    nb_conn_handshake(&c);
    engine_tick(e, T0 + 5 * SEC);
    ck_assert_uint_eq(e->flows.count, 1);
    engine_tick(e, T0 + 11 * SEC);
    ck_assert_uint_eq(e->flows.count, 0);
    ck_assert_uint_eq(e->model.health.circuits, 0);
    nb_engine_free(e);
}
END_TEST

/* A port is followed once a search reply has announced it, not before */
START_TEST(learned_port_is_followed)
{
    struct engine *e = nb_engine(NULL, NULL);
    struct nb_conn c, d;
    nb_conn_init(&c, e, CLI, 40000, SRV, 5999, T0);
    nb_conn_handshake(&c);
    ck_assert_uint_eq(e->model.health.circuits, 0);
    ck_assert_uint_eq(e->model.health.not_epics, 2);
    search(e, NULL, CLI, 40001, 1, "PORT:5999", T0 + SEC);
    search_reply(e, CLI, 40001, 1, 5999, T0 + SEC + 100);
    ck_assert_ptr_nonnull(nb_server(e, PROTO_CA, SRV, 5999));
    nb_conn_init(&d, e, CLI, 40002, SRV, 5999, T0 + 2 * SEC);
    nb_conn_handshake(&d);
    open_channel(&d, "PORT:5999", 1, 9);
    ck_assert_uint_eq(e->model.health.circuits, 1);
    ck_assert_uint_eq(nb_server(e, PROTO_CA, SRV, 5999)->connects, 1);
    ck_assert_str_eq(nb_pv(e, PROTO_CA, "PORT:5999")->server_name, "10.0.0.1:5999");
    /* the connection seen before the reply is picked up by its next data */
    m.len = 0;
    ca_msg(&m, CA_CMD_ECHO, 0, 0, 0, 0, 0, NULL, 0);
    nb_conn_send(&c, 0, m.data, m.len);
    ck_assert_uint_eq(e->model.health.circuits, 2);
    nb_engine_free(e);
}
END_TEST

/* The first packet seen comes from the server: the flow is still keyed by
 * the server's side */
START_TEST(first_packet_from_the_server)
{
    struct engine *e = nb_engine(NULL, NULL);
    struct nb_conn c;
    nb_conn_init(&c, e, CLI, 40000, SRV, 5064, T0);
    uint8_t u[64];
    size_t n = update(u, 9, 1);
    nb_conn_send(&c, 1, u, n);
    ck_assert_uint_eq(e->flows.count, 1);
    ck_assert_ptr_nonnull(nb_client(e, PROTO_CA, CLI));
    ck_assert_ptr_null(nb_client(e, PROTO_CA, SRV));
    struct server *s = nb_server(e, PROTO_CA, SRV, 5064);
    ck_assert_uint_eq(s->bytes_out, n);
    ck_assert_uint_eq(s->monitor_updates, 1);
    /* the client's next message goes the other way */
    m.len = 0;
    ca_msg(&m, CA_CMD_ECHO, 0, 0, 0, 0, 0, NULL, 0);
    nb_conn_send(&c, 0, m.data, m.len);
    ck_assert_uint_eq(s->bytes_in, 16);
    nb_engine_free(e);
}
END_TEST

/* ------------------------------------------------------------------ gaps */

START_TEST(lost_segment_detected_by_peer_ack)
{
    struct circuit_fixture f;
    circuit_fixture(&f, NULL, "GAP:PV");
    uint8_t u[4][64], seg1[64], seg3[128];
    for (int i = 0; i < 4; i++)
        update(u[i], 7, (uint8_t)i);
    /* U1 and the first half of U2; the second half is lost; then U3 U4 */
    memcpy(seg1, u[0], 24);
    memcpy(seg1 + 24, u[1], 12);
    memcpy(seg3, u[2], 24);
    memcpy(seg3 + 24, u[3], 24);
    uint64_t out0 = f.srv->bytes_out;
    nb_conn_send(&f.c, 1, seg1, 36);
    nb_conn_lose(&f.c, 1, 12);
    nb_conn_send(&f.c, 1, seg3, 48);
    ck_assert_uint_eq(f.pv->monitor_updates, 1);
    ck_assert_uint_eq(f.e->model.health.stream_gaps, 0);
    /* the client acknowledges the bytes the capture missed */
    m.len = 0;
    ca_msg(&m, CA_CMD_ECHO, 0, 0, 0, 0, 0, NULL, 0);
    nb_conn_send(&f.c, 0, m.data, m.len);
    ck_assert_uint_eq(f.e->model.health.stream_gaps, 1);
    /* U2 lost bytes: not counted; U3 and U4 are */
    ck_assert_uint_eq(f.pv->monitor_updates, 3);
    ck_assert_uint_eq(f.srv->monitor_updates, 3);
    ck_assert_uint_eq(f.srv->bytes_out - out0, 36 + 48);
    ck_assert_uint_eq(f.e->model.ps[PROTO_CA].unmatched_replies, 0);
    /* and the circuit goes on */
    nb_conn_send(&f.c, 1, u[0], 24);
    ck_assert_uint_eq(f.pv->monitor_updates, 4);
    nb_engine_free(f.e);
}
END_TEST

START_TEST(lost_segment_found_at_end_of_file)
{
    struct circuit_fixture f;
    circuit_fixture(&f, NULL, "GAP:EOF");
    uint8_t u[64];
    update(u, 7, 1);
    nb_conn_send(&f.c, 1, u, 24);
    nb_conn_lose(&f.c, 1, 24);
    nb_conn_send(&f.c, 1, u, 24);
    nb_conn_send(&f.c, 1, u, 24);
    ck_assert_uint_eq(f.pv->monitor_updates, 1);
    engine_finish(f.e);
    ck_assert_uint_eq(f.e->model.health.stream_gaps, 1);
    ck_assert_uint_eq(f.pv->monitor_updates, 3);
    ck_assert(f.e->model.eof);
    nb_engine_free(f.e);
}
END_TEST

START_TEST(lost_tail_detected_by_peer_ack)
{
    struct circuit_fixture f;
    circuit_fixture(&f, NULL, "GAP:TAIL");
    uint8_t u[64];
    update(u, 7, 1);
    nb_conn_send(&f.c, 1, u, 24);
    nb_conn_lose(&f.c, 1, 24);          /* a whole message, nothing queued after it */
    m.len = 0;
    ca_msg(&m, CA_CMD_ECHO, 0, 0, 0, 0, 0, NULL, 0);
    nb_conn_send(&f.c, 0, m.data, m.len);
    ck_assert_uint_eq(f.e->model.health.stream_gaps, 1);
    nb_conn_send(&f.c, 1, u, 24);
    ck_assert_uint_eq(f.pv->monitor_updates, 2);
    /* a FIN takes one sequence number: acknowledging it is no loss */
    nb_conn_fin(&f.c, 1);
    nb_conn_send(&f.c, 0, m.data, m.len);
    ck_assert_uint_eq(f.e->model.health.stream_gaps, 1);
    nb_engine_free(f.e);
}
END_TEST

START_TEST(retransmitted_and_overlapping_segments_once)
{
    struct circuit_fixture f;
    circuit_fixture(&f, NULL, "RETX:PV");
    uint8_t u[4 * 24];
    for (int i = 0; i < 4; i++)
        update(u + i * 24, 7, (uint8_t)i);
    uint32_t s0 = f.c.seq[1], ack = f.c.seq[0];
    uint64_t out0 = f.srv->bytes_out;
    nb_conn_segment(&f.c, 1, s0, ack, TCP_ACK, u, 48);              /* U1 U2 */
    nb_conn_segment(&f.c, 1, s0, ack, TCP_ACK, u, 48);              /* again */
    nb_conn_segment(&f.c, 1, s0 + 24, ack, TCP_ACK, u + 24, 48);    /* U2 U3 */
    nb_conn_segment(&f.c, 1, s0 + 10, ack, TCP_ACK, u + 10, 86);    /* through U4 */
    nb_conn_segment(&f.c, 1, s0, ack, TCP_ACK, u, 96);              /* all of it */
    ck_assert_uint_eq(f.pv->monitor_updates, 4);
    ck_assert_uint_eq(f.srv->bytes_out - out0, 96);
    ck_assert_uint_eq(f.e->model.health.stream_gaps, 0);
    ck_assert_uint_eq(f.e->model.health.decode_errors, 0);
    nb_engine_free(f.e);
}
END_TEST

START_TEST(out_of_order_segments)
{
    struct circuit_fixture f;
    circuit_fixture(&f, NULL, "OOO:PV");
    uint8_t u[3 * 24];
    for (int i = 0; i < 3; i++)
        update(u + i * 24, 7, (uint8_t)i);
    uint32_t s0 = f.c.seq[1], ack = f.c.seq[0];
    nb_conn_segment(&f.c, 1, s0 + 48, ack, TCP_ACK, u + 48, 24);
    nb_conn_segment(&f.c, 1, s0 + 30, ack, TCP_ACK, u + 30, 18);
    ck_assert_uint_eq(f.pv->monitor_updates, 0);
    nb_conn_segment(&f.c, 1, s0, ack, TCP_ACK, u, 30);
    ck_assert_uint_eq(f.pv->monitor_updates, 3);
    ck_assert_uint_eq(f.e->model.health.stream_gaps, 0);
    nb_engine_free(f.e);
}
END_TEST

START_TEST(messages_split_byte_by_byte)
{
    struct engine *e = nb_engine(NULL, NULL);
    struct nb_conn c;
    nb_conn_init(&c, e, CLI, 40000, SRV, 5064, T0);
    nb_conn_handshake(&c);
    m.len = 0;
    ca_msg(&m, CA_CMD_VERSION, 0, 0, CA_MINOR_VERSION, 0, 0, NULL, 0);
    ca_msg_str(&m, CA_CMD_CREATE_CHAN, 0, 0, 4, CA_MINOR_VERSION, "BYTE:BY:BYTE");
    nb_conn_send_split(&c, 0, m.data, m.len, 1);
    m.len = 0;
    ca_msg(&m, CA_CMD_ACCESS_RIGHTS, 0, 0, 0, 4, 3, NULL, 0);
    ca_msg(&m, CA_CMD_CREATE_CHAN, 0, CA_DBR_DOUBLE, 1, 4, 44, NULL, 0);
    nb_conn_send_split(&c, 1, m.data, m.len, 1);
    struct pv *p = nb_pv(e, PROTO_CA, "BYTE:BY:BYTE");
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(p->connects, 1);
    ck_assert_uint_eq(p->bytes_in, 16 + 16);
    ck_assert_uint_eq(p->bytes_out, 32);
    /* an extended-header reply, one byte per segment */
    static struct buf big;
    m.len = 0;
    ca_msg(&m, CA_CMD_READ_NOTIFY, 0, CA_DBR_DOUBLE, 30000, 44, 3, NULL, 0);
    nb_conn_send(&c, 0, m.data, m.len);
    big.len = 0;
    ca_msg(&big, CA_CMD_READ_NOTIFY, 30000 * 8, CA_DBR_DOUBLE, 30000, CA_ECA_NORMAL, 3, NULL, 0);
    nb_conn_send_split(&c, 1, big.data, 40, 1);
    nb_conn_send_split(&c, 1, big.data + 40, big.len - 40, 1460);
    ck_assert_uint_eq(p->reads, 1);
    ck_assert_uint_eq(p->bytes_out, 32 + 24 + 240000);
    ck_assert_uint_eq(e->model.ps[PROTO_CA].unmatched_replies, 0);
    ck_assert_uint_eq(e->model.health.stream_gaps, 0);
    ck_assert_uint_eq(e->model.health.decode_errors, 0);
    nb_engine_free(e);
}
END_TEST

START_TEST(many_messages_per_segment)
{
    struct circuit_fixture f;
    circuit_fixture(&f, NULL, "MANY:PV");
    static uint8_t u[200 * 24];
    for (int i = 0; i < 200; i++)
        update(u + i * 24, 7, (uint8_t)i);
    nb_conn_send(&f.c, 1, u, sizeof(u));
    ck_assert_uint_eq(f.pv->monitor_updates, 200);
    /* and in segments that cut messages anywhere */
    nb_conn_send_split(&f.c, 1, u, sizeof(u), 7);
    nb_conn_send_split(&f.c, 1, u, sizeof(u), 1000);
    ck_assert_uint_eq(f.pv->monitor_updates, 600);
    ck_assert_uint_eq(f.srv->monitor_updates, 600);
    ck_assert_uint_eq(f.e->model.health.stream_gaps, 0);
    nb_engine_free(f.e);
}
END_TEST

START_TEST(snaplen_cut_segment_is_a_gap)
{
    struct circuit_fixture f;
    circuit_fixture(&f, NULL, "SNAP:PV");
    uint8_t u[3 * 24], fr[256];
    for (int i = 0; i < 3; i++)
        update(u + i * 24, 7, (uint8_t)i);
    size_t n = nb_tcp(fr, &ETH, SRV, 5064, CLI, 40001, f.c.seq[1], f.c.seq[0], TCP_ACK, u, 48);
    nb_feed(f.e, DLT_EN10MB, f.c.ts + 100, fr, n - 10, n);  /* U2 cut */
    f.c.seq[1] += 48;
    ck_assert_uint_eq(f.e->model.health.truncated, 1);
    ck_assert_uint_eq(f.e->model.health.stream_gaps, 1);
    ck_assert_uint_eq(f.pv->monitor_updates, 1);
    nb_conn_send(&f.c, 1, u + 48, 24);
    ck_assert_uint_eq(f.pv->monitor_updates, 2);
    nb_engine_free(f.e);
}
END_TEST

START_TEST(queue_cap_declares_a_gap)
{
    struct engine_config cfg;
    engine_default_config(&cfg);
    cfg.stream.queue_max = 100;
    struct circuit_fixture f;
    circuit_fixture(&f, &cfg, "QCAP:PV");
    uint8_t u[24 * 4];
    for (int i = 0; i < 4; i++)
        update(u + i * 24, 7, (uint8_t)i);
    nb_conn_lose(&f.c, 1, 24);
    for (int i = 0; i < 6; i++)
        nb_conn_segment(&f.c, 1, f.c.seq[1] + (uint32_t)i * 24, 0, 0, u, 24);
    ck_assert_uint_eq(f.e->model.health.stream_gaps, 1);
    ck_assert_uint_eq(f.pv->monitor_updates, 6);
    engine_tick(f.e, T0 + 2 * SEC);
    ck_assert_uint_le(f.e->model.health.buffers.used, 100 + cfg.stream.keep_max);
    nb_engine_free(f.e);
}
END_TEST

/* ---------------------------------------------------------------- expiry */

START_TEST(search_timeout_is_unanswered)
{
    struct engine *e = nb_engine(NULL, NULL);
    search(e, NULL, CLI, 40000, 1, "NOBODY", T0);
    search(e, NULL, CLI, 40000, 2, "SOMEBODY", T0);
    search_reply(e, CLI, 40000, 2, 5064, T0 + 300);
    engine_tick(e, T0 + (SEARCH_TIMEOUT_CA_S - 1) * SEC);
    ck_assert_uint_eq(e->model.ps[PROTO_CA].search_unanswered, 0);
    engine_tick(e, T0 + SEARCH_TIMEOUT_CA_S * SEC);
    ck_assert_uint_eq(e->model.ps[PROTO_CA].search_unanswered, 1);
    ck_assert_uint_eq(nb_pv(e, PROTO_CA, "NOBODY")->search_unanswered, 1);
    ck_assert_uint_eq(nb_pv(e, PROTO_CA, "SOMEBODY")->search_unanswered, 0);
    ck_assert_uint_eq(e->model.searches.count, 0);
    /* the search latency histogram got the answered one */
    ck_assert_uint_eq(e->model.ps[PROTO_CA].search.count, 1);
    ck_assert_uint_eq(e->model.ps[PROTO_CA].search.last_us, 300);
    nb_engine_free(e);
}
END_TEST

/* a connection storm: answered searches leave the table once a create can
 * no longer follow, so they neither fill it nor count as evictions */
START_TEST(answered_search_ends_after_the_create_timeout)
{
    struct engine_config cfg;
    engine_default_config(&cfg);
    cfg.lim.max_searches = 12;     /* a create timeout (10 s) of searches, 1 s apart */
    struct engine *e = nb_engine(&cfg, NULL);
    char name[16];
    for (uint32_t i = 0; i < 30; i++) {
        uint64_t t = T0 + i * SEC;
        snprintf(name, sizeof(name), "STORM:%u", i);
        search(e, NULL, CLI, 40000, i, name, t);
        search_reply(e, CLI, 40000, i, 5064, t + 300);
        engine_tick(e, t + 400);
    }
    ck_assert_uint_eq(e->model.health.searches_evicted, 0);
    ck_assert_uint_le(e->model.searches.count, 11);
    search(e, NULL, CLI, 40000, 99, "STILL:WAITING", T0 + 31 * SEC);
    engine_tick(e, T0 + 60 * SEC);
    /* only the unanswered one is left, and it is not yet late */
    ck_assert_uint_eq(e->model.searches.count, 1);
    ck_assert_uint_eq(e->model.ps[PROTO_CA].search_unanswered, 0);
    ck_assert_uint_eq(e->model.ps[PROTO_CA].search.count, 30);
    nb_engine_free(e);
}
END_TEST

START_TEST(create_timeout_is_connect_unanswered)
{
    struct engine *e = nb_engine(NULL, NULL);
    struct nb_conn c;
    nb_conn_init(&c, e, CLI, 40000, SRV, 5064, T0);
    nb_conn_handshake(&c);
    m.len = 0;
    ca_msg_str(&m, CA_CMD_CREATE_CHAN, 0, 0, 1, CA_MINOR_VERSION, "NO:REPLY");
    ca_msg_str(&m, CA_CMD_CREATE_CHAN, 0, 0, 2, CA_MINOR_VERSION, "REPLIED");
    nb_conn_send(&c, 0, m.data, m.len);
    m.len = 0;
    ca_msg(&m, CA_CMD_CREATE_CHAN, 0, CA_DBR_DOUBLE, 1, 2, 20, NULL, 0);
    nb_conn_send(&c, 1, m.data, m.len);
    /* time passes with traffic: the engine ticks by itself */
    search(e, NULL, CLI2, 40000, 1, "OTHER", T0 + 9 * SEC);
    ck_assert_uint_eq(nb_server(e, PROTO_CA, SRV, 5064)->connect_unanswered, 0);
    search(e, NULL, CLI2, 40000, 2, "OTHER2", T0 + 11 * SEC);
    ck_assert_uint_eq(nb_server(e, PROTO_CA, SRV, 5064)->connect_unanswered, 1);
    ck_assert_uint_eq(nb_server(e, PROTO_CA, SRV, 5064)->connects, 1);
    nb_engine_free(e);
}
END_TEST

START_TEST(engine_finish_counts_what_is_pending)
{
    struct engine *e = nb_engine(NULL, NULL);
    struct nb_conn c;
    search(e, NULL, CLI, 40000, 1, "PENDING:SEARCH", T0);
    nb_conn_init(&c, e, CLI, 40001, SRV, 5064, T0);
    nb_conn_handshake(&c);
    m.len = 0;
    ca_msg_str(&m, CA_CMD_CREATE_CHAN, 0, 0, 1, CA_MINOR_VERSION, "PENDING:CREATE");
    nb_conn_send(&c, 0, m.data, m.len);
    ck_assert(!e->model.eof);
    engine_finish(e);
    ck_assert(e->model.eof);
    ck_assert_uint_eq(e->model.ps[PROTO_CA].search_unanswered, 1);
    ck_assert_uint_eq(nb_pv(e, PROTO_CA, "PENDING:SEARCH")->search_unanswered, 1);
    ck_assert_uint_eq(nb_server(e, PROTO_CA, SRV, 5064)->connect_unanswered, 1);
    /* finishing twice counts nothing twice */
    engine_finish(e);
    ck_assert_uint_eq(e->model.ps[PROTO_CA].search_unanswered, 1);
    ck_assert_uint_eq(nb_server(e, PROTO_CA, SRV, 5064)->connect_unanswered, 1);
    nb_engine_free(e);
}
END_TEST

struct hook_log {
    int added[OBJ_KINDS], removed[OBJ_KINDS];
    int buckets, logs, connected, connected_known;
    uint64_t last_latency;
};

static void h_added(void *a, int kind, int proto, void *obj, const char *name)
{
    (void)proto; (void)obj; (void)name;
    ((struct hook_log *)a)->added[kind]++;
}

static void h_removed(void *a, int kind, int proto, void *obj, const char *name)
{
    (void)proto; (void)obj; (void)name;
    ((struct hook_log *)a)->removed[kind]++;
}

static void h_bucket(void *a, int kind, int proto, void *obj, int bucket)
{
    (void)kind; (void)proto; (void)obj; (void)bucket;
    ((struct hook_log *)a)->buckets++;
}

static void h_log(void *a, const char *what)
{
    (void)what;
    ((struct hook_log *)a)->logs++;
}

static void h_connected(void *a, int proto, const struct pv *pv, const struct server *s,
                        uint64_t ts, uint64_t us, bool known)
{
    (void)proto; (void)pv; (void)s; (void)ts;
    struct hook_log *h = a;
    h->connected++;
    if (known) {
        h->connected_known++;
        h->last_latency = us;
    }
}

START_TEST(idle_objects_expire_and_hooks_see_it)
{
    struct hook_log h;
    memset(&h, 0, sizeof(h));
    struct model_hooks hooks = { .added = h_added, .removed = h_removed, .bucket = h_bucket,
                                 .log = h_log, .arg = &h, .connected = h_connected };
    struct engine_config cfg;
    engine_default_config(&cfg);
    cfg.lim.idle_timeout_us = 60 * SEC;
    cfg.lim.search_timeout_us[PROTO_CA] = 5 * SEC;      /* a pending search holds its PV */
    struct engine *e = nb_engine(&cfg, &hooks);
    struct nb_conn c, d;
    search(e, NULL, CLI, 40000, 1, "IDLE:PV", T0);
    search_reply(e, CLI, 40000, 1, 5064, T0 + 200);
    nb_conn_init(&c, e, CLI, 40001, SRV, 5064, T0 + 1000);
    nb_conn_handshake(&c);
    open_channel(&c, "IDLE:PV", 1, 10);
    ck_assert_int_eq(h.connected, 1);
    ck_assert_int_eq(h.connected_known, 1);
    ck_assert_uint_eq(h.last_latency, c.ts - T0);
    ck_assert_int_eq(h.added[OBJ_PV], 1);
    ck_assert_int_eq(h.added[OBJ_SERVER], 1);
    ck_assert_int_eq(h.added[OBJ_CLIENT], 1);
    ck_assert_int_ge(h.buckets, 3);     /* search, PV and server connect latencies */

    /* a second circuit from another client stays open */
    nb_conn_init(&d, e, CLI2, 40002, SRV, 5064, T0 + 2000);
    nb_conn_handshake(&d);
    nb_conn_fin(&c, 0);
    nb_conn_fin(&c, 1);
    engine_tick(e, T0 + 30 * SEC);
    ck_assert_int_eq(h.removed[OBJ_PV], 0);
    engine_tick(e, T0 + 120 * SEC);
    ck_assert_int_eq(h.removed[OBJ_PV], 1);
    ck_assert_int_eq(h.removed[OBJ_CLIENT], 1);
    ck_assert_int_eq(h.removed[OBJ_SERVER], 0);     /* the open circuit holds it */
    ck_assert_ptr_null(nb_pv(e, PROTO_CA, "IDLE:PV"));
    ck_assert_ptr_null(nb_client(e, PROTO_CA, CLI));
    ck_assert_ptr_nonnull(nb_client(e, PROTO_CA, CLI2));
    ck_assert_uint_eq(e->model.health.expired[OBJ_PV], 1);
    ck_assert_uint_eq(e->model.health.expired[OBJ_CLIENT], 1);

    /* bad input is counted every time, logged once per kind */
    m.len = 0;
    ca_msg_str(&m, CA_CMD_SEARCH, CA_DONT_REPLY, CA_MINOR_VERSION, 1, 1, "");
    for (int i = 0; i < 3; i++)
        nb_send_udp(e, NULL, T0 + 120 * SEC, CLI, 40000, SRV, 5064, m.data, m.len);
    ck_assert_uint_eq(e->model.health.decode_errors, 3);
    ck_assert_int_eq(h.logs, 1);
    nb_engine_free(e);
    ck_assert_int_eq(h.removed[OBJ_SERVER], 1);
    ck_assert_int_eq(h.removed[OBJ_CLIENT], 2);
}
END_TEST

START_TEST(table_caps_evict_and_untrack)
{
    struct engine_config cfg;
    engine_default_config(&cfg);
    cfg.lim.max_pvs = 3;
    cfg.lim.max_servers = 2;
    cfg.lim.max_clients = 1;
    struct engine *e = nb_engine(&cfg, NULL);
    char name[32];
    for (int i = 0; i < 5; i++) {
        snprintf(name, sizeof(name), "CAP:%d", i);
        search(e, NULL, CLI, 40000, (uint32_t)i, name, T0 + (uint64_t)i);
    }
    /* searches hold their PV: the table is full of PVs in use */
    ck_assert_uint_eq(e->model.pvs[PROTO_CA].count, 3);
    ck_assert_uint_eq(e->model.health.untracked[OBJ_PV], 2);
    ck_assert_uint_eq(e->model.ps[PROTO_CA].search_requests, 5);
    engine_finish(e);
    ck_assert_uint_eq(e->model.ps[PROTO_CA].search_unanswered, 5);
    /* with the searches over, new names evict the least recently used */
    search(e, NULL, CLI, 40000, 10, "CAP:NEW", T0 + SEC);
    ck_assert_uint_eq(e->model.health.evicted[OBJ_PV], 1);
    ck_assert_ptr_null(nb_pv(e, PROTO_CA, "CAP:0"));
    ck_assert_ptr_nonnull(nb_pv(e, PROTO_CA, "CAP:NEW"));

    /* beacons of three servers into a table of two */
    for (int i = 0; i < 3; i++) {
        m.len = 0;
        ca_msg(&m, CA_CMD_RSRV_IS_UP, 0, CA_MINOR_VERSION, 5064, 0, IP(10, 1, 0, i + 1), NULL, 0);
        nb_send_udp(e, NULL, T0 + SEC, IP(10, 1, 0, i + 1), 50000, IP(10, 1, 0, 255), 5065,
                    m.data, m.len);
    }
    ck_assert_uint_eq(e->model.servers[PROTO_CA].count, 2);
    ck_assert_uint_eq(e->model.health.evicted[OBJ_SERVER], 1);
    ck_assert_uint_eq(e->model.ps[PROTO_CA].beacons, 3);

    /* two clients' circuits into a table of one: the second is not tracked,
     * its circuit still counts for the server */
    struct nb_conn c, d;
    nb_conn_init(&c, e, CLI, 40001, IP(10, 1, 0, 3), 5064, T0 + 2 * SEC);
    nb_conn_handshake(&c);
    nb_conn_init(&d, e, CLI2, 40001, IP(10, 1, 0, 3), 5064, T0 + 2 * SEC);
    nb_conn_handshake(&d);
    ck_assert_uint_eq(e->model.clients[PROTO_CA].count, 1);
    ck_assert_uint_eq(e->model.health.untracked[OBJ_CLIENT], 1);
    ck_assert_uint_eq(e->model.health.circuits, 2);
    ck_assert_uint_eq(nb_server(e, PROTO_CA, IP(10, 1, 0, 3), 5064)->circuits, 2);
    nb_engine_free(e);
}
END_TEST

START_TEST(per_circuit_caps)
{
    struct engine_config cfg;
    engine_default_config(&cfg);
    cfg.lim.max_channels_per_circuit = 2;
    cfg.lim.max_requests_per_circuit = 3;
    struct engine *e = nb_engine(&cfg, NULL);
    struct nb_conn c;
    nb_conn_init(&c, e, CLI, 40000, SRV, 5064, T0);
    nb_conn_handshake(&c);
    m.len = 0;
    for (uint32_t i = 1; i <= 4; i++)
        ca_msg_str(&m, CA_CMD_CREATE_CHAN, 0, 0, i, CA_MINOR_VERSION, "PER:CIRCUIT");
    nb_conn_send(&c, 0, m.data, m.len);
    ck_assert_uint_eq(e->model.health.channels_untracked, 2);
    m.len = 0;
    for (uint32_t i = 1; i <= 5; i++)
        ca_msg(&m, CA_CMD_READ_NOTIFY, 0, CA_DBR_DOUBLE, 1, 1, i, NULL, 0);
    nb_conn_send(&c, 0, m.data, m.len);
    ck_assert_uint_eq(e->model.health.requests_untracked, 2);
    ck_assert_uint_eq(nb_pv(e, PROTO_CA, "<unknown>@10.0.0.1:5064")->reads, 5);
    nb_engine_free(e);
}
END_TEST

/* A circuit with more subscriptions than the old request cap: every update
 * still reaches its PV, and the counts of followed objects return to 0 */
START_TEST(many_subscriptions_on_one_circuit)
{
    enum { N = 12000 };
    struct engine *e = nb_engine(NULL, NULL);
    struct nb_conn c;
    char name[32];
    nb_conn_init(&c, e, CLI, 40000, SRV, 5064, T0);
    nb_conn_handshake(&c);
    for (uint32_t i = 1; i <= N; i++) {
        snprintf(name, sizeof(name), "MANY:%u", i);
        open_channel(&c, name, i, 100000 + i);
        subscribe(&c, 100000 + i, i);
    }
    ck_assert_uint_eq(e->model.health.channels, N);
    ck_assert_uint_eq(e->model.health.requests, N);
    uint8_t u[64];
    size_t n = update(u, N, 1);
    nb_conn_send(&c, 1, u, n);
    ck_assert_uint_eq(nb_pv(e, PROTO_CA, "MANY:12000")->monitor_updates, 1);
    ck_assert_uint_eq(nb_pv(e, PROTO_CA, "MANY:12000")->monitors, 1);
    ck_assert_uint_eq(e->model.health.requests_untracked, 0);
    ck_assert_uint_eq(e->model.health.channels_untracked, 0);
    nb_conn_fin(&c, 0);
    nb_conn_fin(&c, 1);
    ck_assert_uint_eq(e->model.health.channels, 0);
    ck_assert_uint_eq(e->model.health.requests, 0);
    nb_engine_free(e);
}
END_TEST

/* The caps over all circuits hold whatever the circuits hold */
START_TEST(global_caps)
{
    struct engine_config cfg;
    engine_default_config(&cfg);
    cfg.lim.max_channels = 3;
    cfg.lim.max_requests = 2;
    struct engine *e = nb_engine(&cfg, NULL);
    struct nb_conn c, d;
    nb_conn_init(&c, e, CLI, 40000, SRV, 5064, T0);
    nb_conn_handshake(&c);
    nb_conn_init(&d, e, CLI2, 40001, SRV, 5064, T0);
    nb_conn_handshake(&d);
    open_channel(&c, "GLOBAL:1", 1, 11);
    open_channel(&c, "GLOBAL:2", 2, 12);
    open_channel(&d, "GLOBAL:3", 3, 13);
    open_channel(&d, "GLOBAL:4", 4, 14);
    ck_assert_uint_eq(e->model.health.channels, 3);
    /* the request and then its reply found no room */
    ck_assert_uint_eq(e->model.health.channels_untracked, 2);
    subscribe(&c, 11, 1);
    subscribe(&c, 12, 2);
    subscribe(&d, 13, 3);
    ck_assert_uint_eq(e->model.health.requests, 2);
    ck_assert_uint_eq(e->model.health.requests_untracked, 1);
    /* closing one circuit makes room on the other */
    nb_conn_fin(&c, 0);
    nb_conn_fin(&c, 1);
    ck_assert_uint_eq(e->model.health.channels, 1);
    ck_assert_uint_eq(e->model.health.requests, 0);
    subscribe(&d, 13, 3);
    ck_assert_uint_eq(e->model.health.requests, 1);
    ck_assert_uint_eq(nb_pv(e, PROTO_CA, "GLOBAL:3")->monitors, 1);
    nb_engine_free(e);
}
END_TEST

/* Out-of-order data on many circuits: the buffers together never pass the
 * budget, what does not fit is refused and counted, and it all comes back */
START_TEST(buffer_budget_over_all_circuits)
{
    enum { CIRCUITS = 8, BUDGET = 8 * 1024 };
    struct engine_config cfg;
    engine_default_config(&cfg);
    cfg.lim.max_buffer_bytes = BUDGET;
    struct engine *e = nb_engine(&cfg, NULL);
    struct nb_conn c[CIRCUITS];
    uint8_t junk[1000];
    memset(junk, 0x11, sizeof(junk));
    for (int i = 0; i < CIRCUITS; i++) {
        nb_conn_init(&c[i], e, CLI, (uint16_t)(41000 + i), SRV, 5064, T0);
        nb_conn_handshake(&c[i]);
        /* segments beyond a hole: held until the hole is filled or given up */
        for (uint32_t k = 1; k <= 4; k++)
            nb_conn_segment(&c[i], 1, c[i].seq[1] + 100 + k * 1000, c[i].seq[0], TCP_ACK, junk,
                            sizeof(junk));
        ck_assert_uint_le(e->model.health.buffers.used, BUDGET);
    }
    ck_assert_uint_gt(e->model.health.buffers.refused, 0);
    ck_assert_uint_gt(e->model.health.buffers.used, BUDGET - 1000);
    for (int i = 0; i < CIRCUITS; i++) {
        nb_conn_fin(&c[i], 0);
        nb_conn_fin(&c[i], 1);
    }
    ck_assert_uint_eq(e->flows.count, 0);
    ck_assert_uint_eq(e->model.health.buffers.used, 0);
    nb_engine_free(e);
}
END_TEST

/* A client reuses its address and port before the close of its previous
 * connection was captured: a new circuit, no false gap */
START_TEST(port_reuse_starts_a_new_circuit)
{
    struct engine *e = nb_engine(NULL, NULL);
    struct nb_conn c, d;
    nb_conn_init(&c, e, CLI, 40000, SRV, 5064, T0);
    nb_conn_handshake(&c);
    /* a retransmitted SYN (before any data) is the same connection */
    nb_conn_segment(&c, 0, c.seq[0] - 1, 0, TCP_SYN, NULL, 0);
    open_channel(&c, "REUSE:OLD", 1, 11);
    ck_assert_uint_eq(e->model.health.circuits, 1);
    ck_assert_uint_eq(nb_server(e, PROTO_CA, SRV, 5064)->circuits_total, 1);
    nb_conn_init(&d, e, CLI, 40000, SRV, 5064, T0 + SEC);
    d.seq[0] = 0x70000000u;
    d.seq[1] = 0x30000000u;
    nb_conn_handshake(&d);
    open_channel(&d, "REUSE:NEW", 1, 12);
    ck_assert_uint_eq(e->model.health.circuits, 1);
    ck_assert_uint_eq(e->model.health.stream_gaps, 0);
    ck_assert_uint_eq(nb_pv(e, PROTO_CA, "REUSE:OLD")->channels, 0);
    ck_assert_uint_eq(nb_pv(e, PROTO_CA, "REUSE:NEW")->channels, 1);
    ck_assert_uint_eq(nb_server(e, PROTO_CA, SRV, 5064)->circuits_total, 2);
    nb_engine_free(e);
}
END_TEST

/* ------------------------------------------------------------------- api */

/* Does filter f, compiled by libpcap, keep this frame? (a BPF read past the
 * end of the packet rejects it, whatever alternatives follow) */
static bool filter_keeps_frame(const char *f, const uint8_t *frame, size_t n)
{
    pcap_t *dead = pcap_open_dead(DLT_EN10MB, 65535);
    struct bpf_program prog;
    ck_assert_int_eq(pcap_compile(dead, &prog, f, 1, PCAP_NETMASK_UNKNOWN), 0);
    struct pcap_pkthdr h = { .caplen = (bpf_u_int32)n, .len = (bpf_u_int32)n };
    bool keep = pcap_offline_filter(&prog, &h, frame) != 0;
    pcap_freecode(&prog);
    pcap_close(dead);
    return keep;
}

/* ... a segment without payload to port dport */
static bool filter_keeps(const char *f, uint16_t dport, uint8_t flags)
{
    uint8_t frame[128];
    return filter_keeps_frame(f, frame, nb_tcp(frame, &ETH, CLI, 40000, SRV, dport, 1, 1, flags, NULL, 0));
}

/* Segments without payload either way (ACKs, RSTs: TCP health) and a
 * datagram too short for the content terms still meet the port terms */
START_TEST(capture_filter_short_packets)
{
    struct engine *e = nb_engine(NULL, NULL);
    char f[8192];
    ck_assert_int_eq(engine_filter(e, f, sizeof(f), false), 0);
    uint8_t frame[128], one = 0;
    const uint16_t ports[] = { 5064, 5075 };
    const uint8_t flags[] = { TCP_ACK, TCP_RST };
    for (int i = 0; i < 2; i++)
        for (int k = 0; k < 2; k++) {
            ck_assert(filter_keeps(f, ports[i], flags[k]));
            size_t n = nb_tcp(frame, &ETH, SRV, ports[i], CLI, 40000, 1, 1, flags[k], NULL, 0);
            ck_assert_msg(filter_keeps_frame(f, frame, n), "from port %u flags %#x", ports[i], flags[k]);
        }
    ck_assert(filter_keeps_frame(f, frame, nb_udp(frame, &ETH, CLI, 40000, SRV, 5064, &one, 1)));
    nb_engine_free(e);
}
END_TEST

/* The filter names a set of ports: the same servers give the same text
 * whatever order they were last seen in, so the kernel's filter is not
 * swapped for nothing when a server on a port already named is learned */
START_TEST(capture_filter_same_ports_same_text)
{
    struct engine *e = nb_engine(NULL, NULL);
    char f1[8192], f2[8192];
    const uint16_t learned[] = { 7000, 6000, 7000 };
    for (int i = 0; i < 3; i++) {
        m.len = 0;
        ca_msg(&m, CA_CMD_RSRV_IS_UP, 0, CA_MINOR_VERSION, learned[i], 0, 0, NULL, 0);
        nb_send_udp(e, NULL, T0 + (uint64_t)i, SRV, 50000, IP(10, 0, 0, 255), 5065, m.data, m.len);
        if (i == 1)
            ck_assert_int_eq(engine_filter(e, f1, sizeof(f1), false), 0);
    }
    /* a server at another address on a port the filter names already */
    m.len = 0;
    ca_msg(&m, CA_CMD_RSRV_IS_UP, 0, CA_MINOR_VERSION, 6000, 0, IP(10, 0, 0, 9), NULL, 0);
    nb_send_udp(e, NULL, T0 + 3, IP(10, 0, 0, 9), 50000, IP(10, 0, 0, 255), 5065, m.data, m.len);
    ck_assert_uint_eq(e->model.servers_learned, 3);
    ck_assert_int_eq(engine_filter(e, f2, sizeof(f2), false), 0);
    ck_assert_str_eq(f1, f2);
    ck_assert_ptr_nonnull(strstr(f2, " or tcp port 6000 or tcp port 7000 or "));
    nb_engine_free(e);
}
END_TEST

START_TEST(capture_filter)
{
    struct engine *e = nb_engine(NULL, NULL);
    char f[8192];
    ck_assert_int_eq(engine_filter(e, f, sizeof(f), false), 0);
    /* EPICS payloads on any port, then the default ports */
    ck_assert_ptr_nonnull(strstr(f, "udp[8:2] = 6"));
    ck_assert_ptr_nonnull(strstr(f, "(udp[8] = 0xca and"));
    ck_assert_ptr_nonnull(strstr(f, "(tcp[tcpflags] & tcp-syn) != 0"));
    ck_assert_ptr_nonnull(strstr(f, "udp port 5064 or udp port 5065 or udp port 5076 or tcp port 5064 "
                                    "or tcp port 5075 or "));
    ck_assert(filter_keeps(f, 5064, TCP_ACK) && filter_keeps(f, 5075, TCP_FIN | TCP_ACK));
    ck_assert(!filter_keeps(f, 80, TCP_ACK));
    ck_assert_uint_eq(e->model.servers_learned, 0);
    /* a beacon announces a server on another port */
    m.len = 0;
    ca_msg(&m, CA_CMD_RSRV_IS_UP, 0, CA_MINOR_VERSION, 5999, 0, 0, NULL, 0);
    nb_send_udp(e, NULL, T0, SRV, 50000, IP(10, 0, 0, 255), 5065, m.data, m.len);
    ck_assert_uint_eq(e->model.servers_learned, 1);
    ck_assert_int_eq(engine_filter(e, f, sizeof(f), false), 0);
    ck_assert_ptr_nonnull(strstr(f, " or tcp port 5999"));
    ck_assert_int_eq(engine_filter(e, f, sizeof(f), true), 0);
    ck_assert_ptr_nonnull(strstr(f, ") or (vlan and ("));
    ck_assert(filter_keeps(f, 5064, TCP_ACK));
    ck_assert_int_eq(f[0], '(');
    ck_assert_int_eq(engine_filter(e, f, 20, false), -1);

    /* hundreds of learned ports: all TCP instead of a filter too long */
    for (int i = 0; i < 300; i++) {
        m.len = 0;
        ca_msg(&m, CA_CMD_RSRV_IS_UP, 0, CA_MINOR_VERSION, (uint32_t)(20000 + i), 0, 0, NULL, 0);
        nb_send_udp(e, NULL, T0, SRV, 50000, IP(10, 0, 0, 255), 5065, m.data, m.len);
    }
    ck_assert_int_eq(engine_filter(e, f, sizeof(f), false), 0);
    ck_assert_ptr_nonnull(strstr(f, "udp port 5064 or udp port 5065 or udp port 5076 or tcp or "));
    ck_assert_ptr_null(strstr(f, "tcp port"));
    ck_assert(filter_keeps(f, 80, TCP_ACK));
    nb_engine_free(e);
}
END_TEST

START_TEST(ports_from_the_environment)
{
    struct engine_config cfg;
    engine_default_config(&cfg);
    setenv("EPICS_CA_SERVER_PORT", "6064", 1);
    setenv("EPICS_CA_REPEATER_PORT", "6065", 1);
    setenv("EPICS_PVA_SERVER_PORT", "6075", 1);
    setenv("EPICS_PVA_BROADCAST_PORT", "6076", 1);
    engine_config_from_env(&cfg);
    ck_assert_uint_eq(cfg.ca.server_port, 6064);
    ck_assert_uint_eq(cfg.ca.repeater_port, 6065);
    ck_assert_uint_eq(cfg.pva.server_port, 6075);
    ck_assert_uint_eq(cfg.pva.broadcast_port, 6076);
    /* values that are no port change nothing */
    const char *bad[] = { "abc", "0", "70000", "", "64x", "-1" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        setenv("EPICS_CA_SERVER_PORT", bad[i], 1);
        engine_config_from_env(&cfg);
        ck_assert_uint_eq(cfg.ca.server_port, 6064);
    }
    unsetenv("EPICS_CA_SERVER_PORT");
    unsetenv("EPICS_CA_REPEATER_PORT");
    unsetenv("EPICS_PVA_SERVER_PORT");
    unsetenv("EPICS_PVA_BROADCAST_PORT");

    /* an engine on those ports follows them, not the defaults */
    struct engine *e = nb_engine(&cfg, NULL);
    m.len = 0;
    ca_msg_str(&m, CA_CMD_SEARCH, CA_DONT_REPLY, CA_MINOR_VERSION, 1, 1, "ENV:PV");
    nb_send_udp(e, NULL, T0, CLI, 40000, SRV, 6064, m.data, m.len);
    ck_assert_uint_eq(e->model.ps[PROTO_CA].search_requests, 1);
    /* what is not EPICS is given to the decoder on its port only */
    nb_send_udp(e, NULL, T0, CLI, 40000, SRV, 6064, "junk", 4);
    ck_assert_uint_eq(e->model.health.decode_errors, 1);
    nb_send_udp(e, NULL, T0, CLI, 40000, SRV, 5064, "junk", 4);
    ck_assert_uint_eq(e->model.health.decode_errors, 1);
    ck_assert_uint_eq(e->model.health.not_epics, 1);
    nb_engine_free(e);
}
END_TEST

static void dump_frame(pcap_dumper_t *d, uint64_t ts, const uint8_t *f, size_t n)
{
    struct pcap_pkthdr h;
    h.ts.tv_sec = (time_t)(ts / SEC);
    h.ts.tv_usec = (suseconds_t)(ts % SEC);
    h.caplen = h.len = (bpf_u_int32)n;
    pcap_dump((u_char *)d, &h, f);
}

static int temp_file(char *path, size_t size)
{
    const char *dir = getenv("TMPDIR");
    snprintf(path, size, "%s/epics-unit-XXXXXX", dir && *dir ? dir : P_tmpdir);
    return mkstemp(path);
}

START_TEST(capture_files)
{
    char path[512], err[512];
    int fd = temp_file(path, sizeof(path));
    ck_assert_int_ge(fd, 0);
    close(fd);
    pcap_t *dead = pcap_open_dead(DLT_LINUX_SLL2, 65535);
    pcap_dumper_t *d = pcap_dump_open(dead, path);
    ck_assert_ptr_nonnull(d);
    static const struct nb_link sll2 = { DLT_LINUX_SLL2, 0, false, 0 };
    uint8_t f[512];
    for (uint32_t i = 0; i < 10; i++) {
        m.len = 0;
        ca_msg_str(&m, CA_CMD_SEARCH, CA_DONT_REPLY, CA_MINOR_VERSION, i, i, "FILE:PV");
        size_t n = nb_udp(f, &sll2, CLI, 40000, SRV, 5064, m.data, m.len);
        dump_frame(d, T0 + i * 1000, f, n);
    }
    pcap_dump_close(d);
    pcap_close(dead);

    struct engine *e = nb_engine(NULL, NULL);
    struct capture cap;
    memset(&cap, 0, sizeof(cap));
    ck_assert_int_eq(capture_open_file(&cap, path, err, sizeof(err)), 0);
    ck_assert(cap.file);
    ck_assert_int_eq(cap.src[0].linktype, DLT_LINUX_SLL2);
    ck_assert_int_eq(cap.src[0].fd, -1);
    ck_assert_int_eq(capture_set_filter(&cap, e, err, sizeof(err)), 0);
    int total = 0, n;
    while ((n = capture_dispatch(&cap, 0, e, 4)) > 0)
        total += n;
    ck_assert_int_eq(n, 0);
    ck_assert(cap.eof);
    ck_assert_int_eq(total, 10);
    struct capture_losses lost = capture_stats(&cap);
    engine_losses(e, &lost);
    ck_assert_uint_eq(e->model.health.drops, 0);
    capture_close(&cap);
    ck_assert_uint_eq(e->model.ps[PROTO_CA].search_requests, 10);
    ck_assert_uint_eq(nb_pv(e, PROTO_CA, "FILE:PV")->searches, 10);
    ck_assert_uint_eq(e->model.now_us, T0 + 9000);
    nb_engine_free(e);

    /* a link type the engine cannot read is refused with a message */
    dead = pcap_open_dead(DLT_IEEE802_11, 65535);
    d = pcap_dump_open(dead, path);
    pcap_dump_close(d);
    pcap_close(dead);
    memset(&cap, 0, sizeof(cap));
    err[0] = '\0';
    ck_assert_int_eq(capture_open_file(&cap, path, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "unsupported link type"));
    ck_assert_int_eq(cap.nsrc, 0);
    unlink(path);
    err[0] = '\0';
    ck_assert_int_eq(capture_open_file(&cap, path, err, sizeof(err)), -1);
    ck_assert_int_ne(err[0], '\0');
}
END_TEST

/* ----------------------------------------------------------------- model */

START_TEST(beacon_rules)
{
    struct model mo;
    struct model_limits lim;
    model_default_limits(&lim);
    model_init(&mo, &lim, NULL);
    uint64_t t = T0;
    for (uint32_t s = 100; s < 105; s++, t += 15 * SEC)
        model_beacon(&mo, PROTO_CA, netaddr_v4(SRV), 5064, s, t);
    struct server *sv = model_server(&mo, PROTO_CA, netaddr_v4(SRV), 5064, false);
    ck_assert_uint_eq(sv->beacons, 5);
    ck_assert_uint_eq(sv->restarts, 0);
    ck_assert_uint_eq(sv->beacon_anomalies, 0);
    /* a copy by another route: counted, nothing else */
    model_beacon(&mo, PROTO_CA, netaddr_v4(SRV), 5064, 104, t - 15 * SEC + 10);
    ck_assert_uint_eq(sv->restarts, 0);
    /* a slightly older copy arriving late is no restart either */
    model_beacon(&mo, PROTO_CA, netaddr_v4(SRV), 5064, 102, t - 15 * SEC + 20);
    ck_assert_uint_eq(sv->restarts, 0);
    /* the sequence starts again: a new server process */
    model_beacon(&mo, PROTO_CA, netaddr_v4(SRV), 5064, 0, t);
    ck_assert_uint_eq(sv->restarts, 1);
    ck_assert_uint_eq(sv->beacon_anomalies, 1);
    model_beacon(&mo, PROTO_CA, netaddr_v4(SRV), 5064, 1, t + SEC / 50);
    model_beacon(&mo, PROTO_CA, netaddr_v4(SRV), 5064, 2, t + SEC / 25);
    /* a period far longer than usual is an anomaly, not a restart */
    model_beacon(&mo, PROTO_CA, netaddr_v4(SRV), 5064, 3, t + 60 * SEC);
    ck_assert_uint_eq(sv->restarts, 1);
    ck_assert_uint_eq(sv->beacon_anomalies, 2);
    ck_assert_uint_eq(mo.ps[PROTO_CA].beacons, 11);
    model_free(&mo);
}
END_TEST

START_TEST(search_id_reuse_ends_the_transaction)
{
    struct model mo;
    struct model_limits lim;
    model_default_limits(&lim);
    model_init(&mo, &lim, NULL);
    model_search_request(&mo, PROTO_CA, netaddr_v4(CLI), 40000, 5, "FIRST", 5, T0);
    model_search_request(&mo, PROTO_CA, netaddr_v4(CLI), 40000, 5, "FIRST", 5, T0 + 10);
    ck_assert_uint_eq(mo.searches.count, 1);
    model_search_request(&mo, PROTO_CA, netaddr_v4(CLI), 40000, 5, "SECOND", 6, T0 + 20);
    ck_assert_uint_eq(mo.searches.count, 1);
    ck_assert_uint_eq(mo.ps[PROTO_CA].search_unanswered, 1);
    struct pv *p = model_search_reply(&mo, PROTO_CA, netaddr_v4(CLI), 40000, 5, netaddr_v4(SRV), 5064, T0 + 30);
    ck_assert_ptr_nonnull(p);
    ck_assert_str_eq(p->name, "SECOND");
    ck_assert_ptr_null(model_search_reply(&mo, PROTO_CA, netaddr_v4(CLI), 40001, 5, netaddr_v4(SRV), 5064, T0 + 30));
    ck_assert_uint_eq(mo.ps[PROTO_CA].search_late_replies, 1);
    /* duplicate replies from one server count it once */
    model_search_reply(&mo, PROTO_CA, netaddr_v4(CLI), 40000, 5, netaddr_v4(SRV), 5064, T0 + 40);
    ck_assert_uint_eq(p->nservers, 1);
    model_finish(&mo);
    ck_assert_uint_eq(mo.ps[PROTO_CA].search_unanswered, 1);
    ck_assert_uint_eq(p->refs, 0);
    model_free(&mo);
}
END_TEST

/* The put ring's reader: records in order; those overwritten before they
 * were read are counted as lost, once */
START_TEST(put_ring_reader_counts_losses)
{
    struct model mo;
    struct model_limits lim;
    model_default_limits(&lim);
    model_init(&mo, &lim, NULL);
    uint64_t seen = 0;
    ck_assert_ptr_null(model_put_next(&mo, &seen));
    struct put_record r = { .proto = PROTO_CA };
    for (uint64_t i = 0; i < PUT_RING + 5; i++) {
        r.ts_us = i;
        model_put_record(&mo, NULL, &r);
    }
    struct put_record *p = model_put_next(&mo, &seen);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(p->ts_us, 5);
    ck_assert_uint_eq(mo.health.put_records_lost, 5);
    unsigned n = 1;
    while ((p = model_put_next(&mo, &seen)))
        ck_assert_uint_eq(p->ts_us, 5 + n++);
    ck_assert_uint_eq(n, PUT_RING);
    ck_assert_uint_eq(seen, PUT_RING + 5);
    ck_assert_uint_eq(mo.health.put_records_lost, 5);
    model_free(&mo);
}
END_TEST

START_TEST(unknown_pv_placeholder)
{
    struct model mo;
    struct model_limits lim;
    model_default_limits(&lim);
    model_init(&mo, &lim, NULL);
    struct server *s = model_server(&mo, PROTO_CA, netaddr_v4(IP(192, 168, 1, 20)), 5064, true);
    struct pv *p = model_unknown_pv(&mo, s);
    ck_assert_str_eq(p->name, "<unknown>@192.168.1.20:5064");
    ck_assert_str_eq(p->server_name, "192.168.1.20:5064");
    ck_assert_ptr_eq(model_unknown_pv(&mo, s), p);
    ck_assert_ptr_null(model_unknown_pv(&mo, NULL));
    struct client *c = model_client(&mo, PROTO_CA, netaddr_v4(IP(192, 168, 1, 21)), true);
    ck_assert_str_eq(c->name, "192.168.1.21");
    model_free(&mo);
}
END_TEST

/* ------------------------------------------------------------------ fuzz */

START_TEST(fuzz_random_frames)
{
    static const int dlts[] = { DLT_EN10MB, DLT_LINUX_SLL, DLT_LINUX_SLL2, DLT_NULL, DLT_LOOP,
                                DLT_RAW, DLT_IPV4 };
    struct engine_config cfg;
    engine_default_config(&cfg);
    cfg.lim.max_pvs = 64;
    cfg.max_flows = 16;
    struct engine *e = nb_engine(&cfg, NULL);
    uint64_t seed = 0x1234567887654321ULL;
    uint8_t f[1600];
    const int N = 4000;
    for (int i = 0; i < N; i++) {
        size_t n = nb_rand(&seed) % sizeof(f);
        for (size_t k = 0; k < n; k++)
            f[k] = (uint8_t)nb_rand(&seed);
        int dlt = dlts[nb_rand(&seed) % 7];
        /* give most frames a plausible link and IP header so that more
         * of them reach the transport and CA layers */
        if (nb_rand(&seed) % 4 != 0 && n > 80) {
            struct nb_link l = { dlt, (int)(nb_rand(&seed) % 3), nb_rand(&seed) % 2 != 0, 0 };
            size_t h = nb_link_header(f, &l);
            bool udp = nb_rand(&seed) % 2;
            size_t ip = n - h;
            f[h] = 0x45;
            f[h + 2] = (uint8_t)(ip >> 8);
            f[h + 3] = (uint8_t)ip;
            f[h + 6] = 0;
            f[h + 7] = 0;
            f[h + 9] = udp ? 17 : 6;
            uint16_t port = nb_rand(&seed) % 2 ? 5064 : 5065;
            f[h + 22] = (uint8_t)(port >> 8);
            f[h + 23] = (uint8_t)port;
            if (udp) {
                f[h + 24] = (uint8_t)((ip - 20) >> 8);
                f[h + 25] = (uint8_t)(ip - 20);
            } else {
                f[h + 32] = 0x50;
                f[h + 33] |= TCP_SYN;
            }
            /* a CA header of a known command with a small size */
            size_t pl = h + 20 + (udp ? 8 : 20);
            f[pl] = 0;
            f[pl + 1] = (uint8_t)(nb_rand(&seed) % 28);
            f[pl + 2] = 0;
            f[pl + 3] = (uint8_t)(8 * (nb_rand(&seed) % 4));
        }
        size_t cap = nb_rand(&seed) % 8 == 0 ? nb_rand(&seed) % (n + 1) : n;
        nb_feed(e, dlt, T0 + (uint64_t)i * 1000, f, cap, n);
    }
    ck_assert_uint_eq(e->model.health.packets, N);
    ck_assert_uint_gt(e->model.health.decode_errors, 0);
    ck_assert_uint_gt(e->model.ps[PROTO_CA].messages, 0);   /* some got that far */
    ck_assert_uint_le(e->flows.count, 16);
    ck_assert_uint_le(e->model.pvs[PROTO_CA].count, 64);
    engine_finish(e);
    nb_engine_free(e);
}
END_TEST

/* A real exchange, then thousands of copies of its frames with bytes
 * flipped, fields shifted and lengths cut */
START_TEST(fuzz_mutated_ca_frames)
{
    struct engine *e = nb_engine(NULL, NULL);
    static uint8_t frames[16][600];
    size_t lens[16];
    int nf = 0;
    uint8_t u[64];

    m.len = 0;
    ca_msg(&m, CA_CMD_VERSION, 0, 0, CA_MINOR_VERSION, 0, 0, NULL, 0);
    ca_msg_str(&m, CA_CMD_SEARCH, CA_DO_REPLY, CA_MINOR_VERSION, 1, 1, "FUZZ:PV");
    ca_msg_str(&m, CA_CMD_SEARCH, CA_DO_REPLY, CA_MINOR_VERSION, 2, 2, "FUZZ:PV2");
    lens[nf] = nb_udp(frames[nf], &ETH, CLI, 40000, SRV, 5064, m.data, m.len); nf++;
    m.len = 0;
    uint8_t minor[2] = { 0, CA_MINOR_VERSION };
    ca_msg(&m, CA_CMD_SEARCH, 8, 5064, 0, 0xffffffffu, 1, minor, 2);
    ca_msg(&m, CA_CMD_NOT_FOUND, 0, CA_DO_REPLY, CA_MINOR_VERSION, 2, 2, NULL, 0);
    lens[nf] = nb_udp(frames[nf], &ETH, SRV, 5064, CLI, 40000, m.data, m.len); nf++;
    m.len = 0;
    ca_msg(&m, CA_CMD_RSRV_IS_UP, 0, CA_MINOR_VERSION, 5064, 3, 0, NULL, 0);
    lens[nf] = nb_udp(frames[nf], &ETH, SRV, 50000, IP(10, 0, 0, 255), 5065, m.data, m.len); nf++;
    uint32_t cs = 1000, ss = 9000;
    lens[nf] = nb_tcp(frames[nf], &ETH, CLI, 40001, SRV, 5064, cs++, 0, TCP_SYN, NULL, 0); nf++;
    lens[nf] = nb_tcp(frames[nf], &ETH, SRV, 5064, CLI, 40001, ss++, cs, TCP_SYN | TCP_ACK, NULL, 0); nf++;
    m.len = 0;
    ca_msg(&m, CA_CMD_VERSION, 0, 0, CA_MINOR_VERSION, 0, 0, NULL, 0);
    ca_msg_str(&m, CA_CMD_HOST_NAME, 0, 0, 0, 0, "host");
    ca_msg_str(&m, CA_CMD_CLIENT_NAME, 0, 0, 0, 0, "user");
    ca_msg_str(&m, CA_CMD_CREATE_CHAN, 0, 0, 1, CA_MINOR_VERSION, "FUZZ:PV");
    lens[nf] = nb_tcp(frames[nf], &ETH, CLI, 40001, SRV, 5064, cs, ss, TCP_ACK, m.data, m.len); nf++;
    cs += (uint32_t)m.len;
    m.len = 0;
    ca_msg(&m, CA_CMD_ACCESS_RIGHTS, 0, 0, 0, 1, 3, NULL, 0);
    ca_msg(&m, CA_CMD_CREATE_CHAN, 0, CA_DBR_DOUBLE, 1, 1, 77, NULL, 0);
    lens[nf] = nb_tcp(frames[nf], &ETH, SRV, 5064, CLI, 40001, ss, cs, TCP_ACK, m.data, m.len); nf++;
    ss += (uint32_t)m.len;
    m.len = 0;
    uint8_t mask[16] = { 0 }, dbl[8] = { 0x3f, 0xf0 };
    ca_msg(&m, CA_CMD_EVENT_ADD, 16, CA_DBR_DOUBLE, 1, 77, 5, mask, 16);
    ca_msg(&m, CA_CMD_READ_NOTIFY, 0, CA_DBR_DOUBLE, 1, 77, 6, NULL, 0);
    ca_msg(&m, CA_CMD_WRITE_NOTIFY, 8, CA_DBR_DOUBLE, 1, 77, 7, dbl, 8);
    ca_msg(&m, CA_CMD_WRITE, 8, CA_DBR_DOUBLE, 1, 77, 8, dbl, 8);
    lens[nf] = nb_tcp(frames[nf], &ETH, CLI, 40001, SRV, 5064, cs, ss, TCP_ACK, m.data, m.len); nf++;
    cs += (uint32_t)m.len;
    m.len = 0;
    size_t un = update(u, 5, 1);
    memcpy(m.data, u, un);
    m.len = un;
    ca_msg(&m, CA_CMD_READ_NOTIFY, 8, CA_DBR_DOUBLE, 1, CA_ECA_NORMAL, 6, dbl, 8);
    ca_msg(&m, CA_CMD_WRITE_NOTIFY, 0, CA_DBR_DOUBLE, 1, CA_ECA_NORMAL, 7, NULL, 0);
    static struct buf errreq;
    errreq.len = 0;
    ca_msg(&errreq, CA_CMD_EVENT_ADD, 16, CA_DBR_DOUBLE, 1, 77, 5, mask, 16);
    ca_msg(&m, CA_CMD_ERROR, 32, 0, 0, 1, 48, errreq.data, 32);
    ca_msg(&m, CA_CMD_SERVER_DISCONN, 0, 0, 0, 1, 0, NULL, 0);
    lens[nf] = nb_tcp(frames[nf], &ETH, SRV, 5064, CLI, 40001, ss, cs, TCP_ACK, m.data, m.len); nf++;
    ss += (uint32_t)m.len;
    lens[nf] = nb_tcp(frames[nf], &ETH, CLI, 40001, SRV, 5064, cs, ss, TCP_FIN | TCP_ACK, NULL, 0); nf++;
    lens[nf] = nb_tcp(frames[nf], &ETH, SRV, 5064, CLI, 40001, ss, cs + 1, TCP_FIN | TCP_ACK, NULL, 0); nf++;

    /* the unmutated exchange decodes cleanly */
    for (int i = 0; i < nf; i++)
        nb_feed(e, DLT_EN10MB, T0 + (uint64_t)i, frames[i], lens[i], lens[i]);
    ck_assert_uint_eq(e->model.health.decode_errors, 0);
    ck_assert_uint_eq(nb_pv(e, PROTO_CA, "FUZZ:PV")->connects, 1);
    ck_assert_uint_eq(nb_pv(e, PROTO_CA, "FUZZ:PV")->monitor_updates, 1);
    ck_assert_uint_eq(e->model.health.circuits, 0);

    uint64_t seed = 42;
    uint8_t g[600];
    const int rounds = 600;
    for (int r = 0; r < rounds; r++) {
        /* shift the client port so that every round is a new circuit */
        for (int i = 0; i < nf; i++) {
            memcpy(g, frames[i], lens[i]);
            size_t n = lens[i];
            if (g[23] == 6 && r % 2) {
                uint16_t port = (uint16_t)(41000 + r);
                int cside = g[34] == (40001 >> 8) && g[35] == (40001 & 0xff);
                g[cside ? 34 : 36] = (uint8_t)(port >> 8);
                g[cside ? 35 : 37] = (uint8_t)port;
            }
            int flips = (int)(nb_rand(&seed) % 6);
            for (int k = 0; k < flips; k++) {
                size_t at = 14 + nb_rand(&seed) % (n - 14);
                if (nb_rand(&seed) % 3 == 0)
                    g[at] ^= (uint8_t)(1u << (nb_rand(&seed) % 8));
                else
                    g[at] = (uint8_t)nb_rand(&seed);
            }
            size_t cap = nb_rand(&seed) % 10 == 0 ? nb_rand(&seed) % (n + 1) : n;
            nb_feed(e, DLT_EN10MB, T0 + SEC + (uint64_t)r * 5000 + (uint64_t)i, g, cap, n);
        }
    }
    ck_assert_uint_eq(e->model.health.packets, (uint64_t)nf * (rounds + 1));
    ck_assert_uint_gt(e->model.health.decode_errors, 0);
    ck_assert_uint_gt(e->model.ps[PROTO_CA].messages, (uint64_t)rounds);
    engine_finish(e);
    nb_engine_free(e);
}
END_TEST

/* Random CA headers on an established circuit, both directions */
START_TEST(fuzz_ca_messages_on_a_circuit)
{
    struct engine_config cfg;
    engine_default_config(&cfg);
    cfg.stream.keep_max = 4096;
    cfg.stream.queue_max = 64 * 1024;
    struct circuit_fixture f;
    circuit_fixture(&f, &cfg, "FUZZ:CIRCUIT");
    uint64_t seed = 7;
    static uint8_t seg[4096];
    /* commands each side sends (caProto.h), and now and then anything */
    static const uint16_t sent_by[2][16] = {
        { 0, 1, 2, 3, 4, 6, 8, 9, 10, 12, 15, 18, 19, 20, 21, 23 },
        { 0, 1, 3, 6, 11, 12, 14, 15, 18, 19, 22, 23, 26, 27, 1, 1 },
    };
    for (int i = 0; i < 3000; i++) {
        int dir = (int)(nb_rand(&seed) % 2);
        size_t n = 0, want = 16 + nb_rand(&seed) % 1500;
        while (n + 24 <= want) {
            uint16_t cmd = nb_rand(&seed) % 50 == 0 ? (uint16_t)(nb_rand(&seed) % 40)
                                                    : sent_by[dir][nb_rand(&seed) % 16];
            uint32_t post = nb_rand(&seed) % 4 == 0 ? nb_rand(&seed) % 200 : 8 * (nb_rand(&seed) % 5);
            bool ext = nb_rand(&seed) % 20 == 0;
            seg[n] = 0; seg[n + 1] = (uint8_t)cmd;
            if (ext) {
                seg[n + 2] = 0xff; seg[n + 3] = 0xff; seg[n + 6] = 0; seg[n + 7] = 0;
                for (int k = 8; k < 24; k++)
                    seg[n + k] = (uint8_t)nb_rand(&seed);
                seg[n + 16] = 0; seg[n + 17] = 0; seg[n + 18] = 0; seg[n + 19] = (uint8_t)post;
                n += 24;
            } else {
                seg[n + 2] = 0; seg[n + 3] = (uint8_t)post;
                seg[n + 4] = 0; seg[n + 5] = (uint8_t)(nb_rand(&seed) % 8);
                seg[n + 6] = 0; seg[n + 7] = (uint8_t)(nb_rand(&seed) % 3);
                for (int k = 8; k < 16; k++)
                    seg[n + k] = (uint8_t)(nb_rand(&seed) % 4 ? nb_rand(&seed) % 8 : nb_rand(&seed));
                n += 16;
            }
            for (uint32_t k = 0; k < post && n < sizeof(seg); k++)
                seg[n++] = (uint8_t)(nb_rand(&seed) % 3 ? 'A' + nb_rand(&seed) % 26 : nb_rand(&seed));
        }
        if (nb_rand(&seed) % 50 == 0)
            nb_conn_lose(&f.c, dir, nb_rand(&seed) % 100);
        nb_conn_send(&f.c, dir, seg, n);
    }
    ck_assert_uint_gt(f.e->model.ps[PROTO_CA].messages, 3000);
    engine_tick(f.e, f.c.ts);
    ck_assert_uint_le(f.e->model.health.buffers.used, 2 * (64 * 1024 + 4096));
    engine_finish(f.e);
    nb_engine_free(f.e);
}
END_TEST

Suite *engine_suite(void)
{
    Suite *s = suite_create("engine");
    TCase *t = tcase_create("link");
    tcase_add_loop_test(t, link_types_reach_the_decoder, 0, NLINKS);
    tcase_add_test(t, other_ethertypes_and_protocols_skipped);
    tcase_add_test(t, ip_fragments_skipped);
    tcase_add_test(t, ip_options_and_ethernet_padding);
    tcase_add_loop_test(t, truncated_headers_at_every_layer, 0, NLINKS);
    tcase_add_test(t, bad_header_fields);
    tcase_add_test(t, offloaded_zero_ip_length);
    tcase_add_test(t, snaplen_cut_datagram);
    suite_add_tcase(s, t);

    t = tcase_create("flows");
    tcase_add_test(t, non_epics_traffic_counted_and_ignored);
    tcase_add_test(t, fin_and_rst_close_circuits);
    tcase_add_test(t, flow_table_cap_evicts_the_oldest);
    tcase_add_test(t, idle_flows_are_closed);
    tcase_add_test(t, learned_port_is_followed);
    tcase_add_test(t, first_packet_from_the_server);
    suite_add_tcase(s, t);

    t = tcase_create("gaps");
    tcase_add_test(t, lost_segment_detected_by_peer_ack);
    tcase_add_test(t, lost_segment_found_at_end_of_file);
    tcase_add_test(t, lost_tail_detected_by_peer_ack);
    tcase_add_test(t, retransmitted_and_overlapping_segments_once);
    tcase_add_test(t, out_of_order_segments);
    tcase_add_test(t, messages_split_byte_by_byte);
    tcase_add_test(t, many_messages_per_segment);
    tcase_add_test(t, snaplen_cut_segment_is_a_gap);
    tcase_add_test(t, queue_cap_declares_a_gap);
    suite_add_tcase(s, t);

    t = tcase_create("expiry");
    tcase_add_test(t, search_timeout_is_unanswered);
    tcase_add_test(t, answered_search_ends_after_the_create_timeout);
    tcase_add_test(t, create_timeout_is_connect_unanswered);
    tcase_add_test(t, engine_finish_counts_what_is_pending);
    tcase_add_test(t, idle_objects_expire_and_hooks_see_it);
    tcase_add_test(t, table_caps_evict_and_untrack);
    tcase_add_test(t, per_circuit_caps);
    tcase_add_test(t, many_subscriptions_on_one_circuit);
    tcase_add_test(t, global_caps);
    tcase_add_test(t, buffer_budget_over_all_circuits);
    tcase_add_test(t, port_reuse_starts_a_new_circuit);
    suite_add_tcase(s, t);

    t = tcase_create("api");
    tcase_add_test(t, capture_filter);
    tcase_add_test(t, capture_filter_same_ports_same_text);
    tcase_add_test(t, capture_filter_short_packets);
    tcase_add_test(t, ports_from_the_environment);
    tcase_add_test(t, capture_files);
    tcase_add_test(t, beacon_rules);
    tcase_add_test(t, search_id_reuse_ends_the_transaction);
    tcase_add_test(t, unknown_pv_placeholder);
    tcase_add_test(t, put_ring_reader_counts_losses);
    suite_add_tcase(s, t);

    t = tcase_create("fuzz");
    tcase_set_timeout(t, 300);
    tcase_add_test(t, fuzz_random_frames);
    tcase_add_test(t, fuzz_mutated_ca_frames);
    tcase_add_test(t, fuzz_ca_messages_on_a_circuit);
    suite_add_tcase(s, t);
    return s;
}

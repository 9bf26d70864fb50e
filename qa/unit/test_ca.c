/*
 * test_ca.c - the Channel Access decoder, message by message, through the
 * engine exactly as captured frames reach it.
 */
#include "frames.h"
#include "suites.h"

#include <pcap/dlt.h>
#include <string.h>

enum { VERSION = 0, EVENT_ADD = 1, EVENT_CANCEL = 2, WRITE = 4, SEARCH = 6, ERROR = 11,
       CLEAR_CHANNEL = 12, RSRV_IS_UP = 13, NOT_FOUND = 14, READ_NOTIFY = 15, CREATE_CHAN = 18,
       WRITE_NOTIFY = 19, CLIENT_NAME = 20, HOST_NAME = 21, ACCESS_RIGHTS = 22, ECHO = 23,
       REPEATER_REGISTER = 24, CREATE_CH_FAIL = 26, SERVER_DISCONN = 27 };

#define SRV IP(127, 0, 0, 1)
#define CLI IP(127, 0, 0, 2)
#define T0 1700000000000000ULL

static struct engine *e;
static struct buf b;

static void setup(void) { e = engine_new(); b.len = 0; }
static void teardown(void) { engine_delete(e); }

static struct server *server(int proto, uint16_t port)
{
    return model_server(&e->model, proto, netaddr_v4(SRV), port, false);
}

static struct pv *pv(const char *name)
{
    return model_pv(&e->model, PROTO_CA, name, strlen(name), false);
}

static void search(uint16_t cport, uint32_t cid, const char *name, uint64_t ts)
{
    b.len = 0;
    ca_msg(&b, VERSION, 0, 0, 13, 0, 0, NULL, 0);
    ca_msg_str(&b, SEARCH, 5, 13, cid, cid, name);
    udp_send(e, CLI, cport, SRV, 5064, b.data, b.len, ts);
}

static void search_reply(uint16_t cport, uint32_t cid, uint16_t tcp_port, uint64_t ts)
{
    uint8_t minor[8] = { 0, 13 };
    b.len = 0;
    ca_msg(&b, VERSION, 0, 0, 13, 0, 0, NULL, 0);
    ca_msg(&b, SEARCH, 8, tcp_port, 0, 0xffffffffu, cid, minor, 2);
    udp_send(e, SRV, 5064, CLI, cport, b.data, b.len, ts);
}

START_TEST(search_many_names_per_datagram)
{
    b.len = 0;
    ca_msg(&b, VERSION, 0, 0, 13, 0, 0, NULL, 0);
    ca_msg_str(&b, SEARCH, 5, 13, 1, 1, "A:ONE");
    ca_msg_str(&b, SEARCH, 5, 13, 2, 2, "A:TWO");
    ca_msg_str(&b, SEARCH, 5, 13, 3, 3, "A:THREE:WITH:A:LONGER:NAME");
    udp_send(e, CLI, 40000, SRV, 5064, b.data, b.len, T0);
    ck_assert_uint_eq(e->model.ps[PROTO_CA].search_requests, 3);
    ck_assert_ptr_nonnull(pv("A:THREE:WITH:A:LONGER:NAME"));
    search_reply(40000, 2, 5064, T0 + 250);
    ck_assert_uint_eq(e->model.ps[PROTO_CA].search_replies, 1);
    ck_assert_uint_eq(e->model.ps[PROTO_CA].search.count, 1);
    ck_assert_uint_eq(e->model.ps[PROTO_CA].search.sum_us, 250);
    ck_assert_uint_eq(pv("A:TWO")->nservers, 1);
    ck_assert_ptr_nonnull(server(PROTO_CA, 5064));
    engine_finish(e);
    ck_assert_uint_eq(e->model.ps[PROTO_CA].search_unanswered, 2);
    ck_assert_uint_eq(pv("A:ONE")->search_unanswered, 1);
    ck_assert_uint_eq(pv("A:TWO")->search_unanswered, 0);
}
END_TEST

START_TEST(search_retries_are_one_transaction)
{
    for (int i = 0; i < 5; i++)
        search(40001, 9, "NOPE", T0 + (uint64_t)i * 100000);
    ck_assert_uint_eq(e->model.ps[PROTO_CA].search_requests, 5);
    ck_assert_uint_eq(pv("NOPE")->searches, 5);
    /* the timeout runs from the last retry */
    engine_tick(e, T0 + 400000 + SEARCH_TIMEOUT_CA_S * 1000000ULL - 1);
    ck_assert_uint_eq(e->model.ps[PROTO_CA].search_unanswered, 0);
    engine_tick(e, T0 + 400000 + SEARCH_TIMEOUT_CA_S * 1000000ULL);
    ck_assert_uint_eq(e->model.ps[PROTO_CA].search_unanswered, 1);
    ck_assert_uint_eq(pv("NOPE")->search_unanswered, 1);
    /* the client behind them */
    struct client *c = model_client(&e->model, PROTO_CA, netaddr_v4(CLI), false);
    ck_assert_ptr_nonnull(c);
    ck_assert_uint_eq(c->searches, 5);
    ck_assert_uint_eq(c->search_unanswered, 1);
}
END_TEST

/* An EPICS base CA client: the search period doubles from about 30 ms up to
 * EPICS_CA_MAX_SEARCH_PERIOD (300 s); a reply after a 300 s pause still
 * ends the one transaction */
START_TEST(search_backoff_is_one_transaction)
{
    uint64_t t = T0, period = 30000, tick = T0;
    int n = 0;
    while (period < 300 * 1000000ULL) {
        search(40002, 11, "BACKOFF", t);
        n++;
        for (; tick < t + period; tick += 1000000)
            engine_tick(e, tick);
        t += period;
        period *= 2;
    }
    search(40002, 11, "BACKOFF", t);
    n++;
    engine_tick(e, t + 300 * 1000000ULL - 1);
    search(40002, 11, "BACKOFF", t + 300 * 1000000ULL);
    n++;
    search_reply(40002, 11, 5064, t + 300 * 1000000ULL + 100);
    ck_assert_uint_eq(e->model.ps[PROTO_CA].search_requests, (uint64_t)n);
    ck_assert_uint_eq(e->model.ps[PROTO_CA].search.count, 1);
    ck_assert_uint_eq(e->model.ps[PROTO_CA].search_late_replies, 0);
    engine_finish(e);
    ck_assert_uint_eq(e->model.ps[PROTO_CA].search_unanswered, 0);
}
END_TEST

START_TEST(search_late_reply_and_not_found)
{
    search_reply(40002, 77, 5064, T0);
    ck_assert_uint_eq(e->model.ps[PROTO_CA].search_late_replies, 1);
    b.len = 0;
    ca_msg(&b, NOT_FOUND, 0, 10, 13, 5, 5, NULL, 0);
    udp_send(e, SRV, 5064, CLI, 40002, b.data, b.len, T0);
    ck_assert_uint_eq(e->model.ps[PROTO_CA].search_not_found, 1);
}
END_TEST

START_TEST(duplicate_pv_two_servers)
{
    search(40003, 4, "DUP:PV", T0);
    search_reply(40003, 4, 5064, T0 + 10);
    uint8_t minor[8] = { 0, 13 };
    b.len = 0;
    ca_msg(&b, SEARCH, 8, 5064, 0, IP(127, 0, 0, 9), 4, minor, 2);
    udp_send(e, IP(127, 0, 0, 9), 5064, CLI, 40003, b.data, b.len, T0 + 20);
    ck_assert_uint_eq(pv("DUP:PV")->nservers, 2);
    ck_assert_uint_eq(e->model.ps[PROTO_CA].search_replies, 2);
    char list[128];
    model_pv_server_list(pv("DUP:PV"), list, sizeof(list));
    ck_assert_str_eq(list, "127.0.0.1:5064 127.0.0.9:5064");
    ck_assert_uint_eq(model_server(&e->model, PROTO_CA, netaddr_v4(SRV), 5064, false)->duplicate_pvs, 1);
    ck_assert_uint_eq(model_server(&e->model, PROTO_CA, netaddr_v4(IP(127, 0, 0, 9)), 5064, false)->duplicate_pvs, 1);
}
END_TEST

START_TEST(beacons_and_restart)
{
    uint32_t seqs[] = { 8, 9, 10, 0, 0, 1, 2 };
    for (int i = 0; i < 7; i++) {
        b.len = 0;
        ca_msg(&b, RSRV_IS_UP, 0, 13, 5064, seqs[i], 0, NULL, 0);
        udp_send(e, SRV, (uint16_t)(50000 + i), SRV, 5065, b.data, b.len, T0 + (uint64_t)i * 15000000);
    }
    /* the repeater's copy to a client (from the port beacons go to) is not counted again */
    udp_send(e, SRV, 5065, CLI, 40004, b.data, b.len, T0 + 200000000);
    struct server *s = server(PROTO_CA, 5064);
    ck_assert_ptr_nonnull(s);
    ck_assert_uint_eq(s->beacons, 7);
    ck_assert_uint_eq(s->restarts, 1);
    /* an address in the beacon names the server */
    b.len = 0;
    ca_msg(&b, RSRV_IS_UP, 0, 13, 6000, 1, IP(10, 0, 0, 1), NULL, 0);
    udp_send(e, SRV, 50000, SRV, 5065, b.data, b.len, T0);
    ck_assert_ptr_nonnull(model_server(&e->model, PROTO_CA, netaddr_v4(IP(10, 0, 0, 1)), 6000, false));
}
END_TEST

/* A whole channel life on one circuit: every message and the byte counts */
START_TEST(channel_life)
{
    struct conn c;
    search(40010, 1, "TEST:AI", T0);
    search_reply(40010, 1, 5064, T0 + 100);
    conn_open(&c, e, CLI, 41000, SRV, 5064, T0 + 1000);

    b.len = 0;
    ca_msg(&b, VERSION, 0, 0, 13, 0, 0, NULL, 0);
    ca_msg_str(&b, CLIENT_NAME, 0, 0, 0, 0, "operator");
    ca_msg_str(&b, HOST_NAME, 0, 0, 0, 0, "console1");
    conn_send(&c, 0, b.data, b.len);
    b.len = 0;
    ca_msg(&b, VERSION, 0, 0, 13, 0, 0, NULL, 0);
    conn_send(&c, 1, b.data, b.len);

    b.len = 0;
    ca_msg_str(&b, CREATE_CHAN, 0, 0, 1, 13, "TEST:AI");      /* 16 + 8 */
    conn_send(&c, 0, b.data, b.len);
    b.len = 0;
    ca_msg(&b, ACCESS_RIGHTS, 0, 0, 0, 1, 3, NULL, 0);
    ca_msg(&b, CREATE_CHAN, 0, 6, 1, 1, 42, NULL, 0);         /* sid 42 */
    conn_send(&c, 1, b.data, b.len);

    struct pv *p = pv("TEST:AI");
    struct server *s = server(PROTO_CA, 5064);
    ck_assert_uint_eq(p->connects, 1);
    ck_assert_uint_eq(p->channels, 1);
    ck_assert_uint_eq(s->channels, 1);
    ck_assert_uint_eq(s->connects, 1);
    ck_assert_uint_eq(p->connect.count, 1);
    /* connect latency runs from the first search to the create response */
    ck_assert_uint_eq(p->connect.last_us, c.ts - T0);
    ck_assert_str_eq(p->server_name, "127.0.0.1:5064");

    uint8_t dbl[8] = { 0x40, 0x09, 0x21, 0xfb, 0x54, 0x44, 0x2d, 0x18 };   /* pi */
    b.len = 0;
    ca_msg(&b, READ_NOTIFY, 0, 20, 1, 42, 7, NULL, 0);
    ca_msg(&b, WRITE, 8, 6, 1, 42, 8, dbl, 8);
    ca_msg(&b, WRITE_NOTIFY, 8, 6, 1, 42, 9, dbl, 8);
    ca_msg(&b, EVENT_ADD, 16, 20, 1, 42, 100, NULL, 0);
    conn_send(&c, 0, b.data, b.len);
    b.len = 0;
    ca_msg(&b, READ_NOTIFY, 24, 20, 1, 1, 7, NULL, 0);
    ca_msg(&b, WRITE_NOTIFY, 0, 6, 1, 1, 9, NULL, 0);
    for (int i = 0; i < 3; i++)
        ca_msg(&b, EVENT_ADD, 24, 20, 1, 1, 100, NULL, 0);
    conn_send(&c, 1, b.data, b.len);
    ck_assert_uint_eq(p->reads, 1);
    ck_assert_uint_eq(p->writes, 2);
    ck_assert_uint_eq(p->monitors, 1);
    ck_assert_uint_eq(p->monitor_updates, 3);
    ck_assert_uint_eq(s->monitor_updates, 3);

    /* the put audit: WRITE at once, WRITE_NOTIFY with its status */
    ck_assert_uint_eq(e->model.puts_next, 2);
    ck_assert_str_eq(e->model.puts[0].pv, "TEST:AI");
    ck_assert_str_eq(e->model.puts[0].value, "3.1415926535897931");
    ck_assert_str_eq(e->model.puts[0].type, "double");
    ck_assert(!e->model.puts[0].has_status);
    ck_assert_str_eq(e->model.puts[0].client, "127.0.0.2:41000");
    ck_assert_str_eq(e->model.puts[0].server, "127.0.0.1:5064");
    ck_assert(e->model.puts[1].has_status);
    ck_assert_int_eq(e->model.puts[1].status, 1);
    ck_assert_str_eq(e->model.puts[1].status_text, "ok");
    ck_assert_str_eq(e->model.puts[1].user, "operator@console1");
    /* the PV keeps its latest put */
    ck_assert_ptr_nonnull(p->last_put);
    ck_assert_str_eq(p->last_put->value, "3.1415926535897931");
    ck_assert(p->last_put->has_status);
    ck_assert_uint_eq(p->last_put->ts_us, e->model.puts[1].ts_us);

    b.len = 0;
    ca_msg(&b, EVENT_CANCEL, 0, 20, 1, 42, 100, NULL, 0);
    ca_msg(&b, ECHO, 0, 0, 0, 0, 0, NULL, 0);
    conn_send(&c, 0, b.data, b.len);
    b.len = 0;
    ca_msg(&b, EVENT_ADD, 0, 20, 0, 1, 100, NULL, 0);       /* confirms the cancel */
    ca_msg(&b, ECHO, 0, 0, 0, 0, 0, NULL, 0);
    conn_send(&c, 1, b.data, b.len);
    ck_assert_uint_eq(p->monitor_updates, 3);
    ck_assert_uint_eq(p->monitors, 0);

    b.len = 0;
    ca_msg(&b, CLEAR_CHANNEL, 0, 0, 0, 42, 1, NULL, 0);
    conn_send(&c, 0, b.data, b.len);
    conn_send(&c, 1, b.data, b.len);
    ck_assert_uint_eq(p->channels, 0);
    ck_assert_uint_eq(s->channels, 0);

    /* bytes of the PV's messages: create 24, read 16, write 24, notify 24,
     * event add 32, cancel 16, clear 16 in; access 16, create 16, read 40,
     * notify 16, 3 updates 120, cancel confirm 16, clear 16 out */
    ck_assert_uint_eq(p->bytes_in, 24 + 16 + 24 + 24 + 32 + 16 + 16);
    ck_assert_uint_eq(p->bytes_out, 16 + 16 + 40 + 16 + 120 + 16 + 16);
    /* the server counts every byte of the circuit: VERSION, CLIENT_NAME,
     * HOST_NAME and ECHO belong to no PV */
    ck_assert_uint_eq(s->bytes_in, p->bytes_in + 16 + 32 + 32 + 16);
    ck_assert_uint_eq(s->bytes_out, p->bytes_out + 16 + 16);

    struct client *cl = model_client(&e->model, PROTO_CA, netaddr_v4(CLI), false);
    ck_assert_str_eq(cl->user, "operator");
    ck_assert_str_eq(cl->host, "console1");
    ck_assert_uint_eq(cl->bytes_in, s->bytes_in);
    conn_close(&c);
    ck_assert_uint_eq(s->circuits, 0);
    ck_assert_uint_eq(e->model.health.circuits, 0);
}
END_TEST

START_TEST(create_fail_disconnect_and_errors)
{
    struct conn c;
    conn_open(&c, e, CLI, 41001, SRV, 5064, T0);
    b.len = 0;
    ca_msg_str(&b, CREATE_CHAN, 0, 0, 1, 13, "GOOD");
    ca_msg_str(&b, CREATE_CHAN, 0, 0, 2, 13, "REFUSED");
    conn_send(&c, 0, b.data, b.len);
    b.len = 0;
    ca_msg(&b, CREATE_CHAN, 0, 6, 1, 1, 50, NULL, 0);
    ca_msg(&b, CREATE_CH_FAIL, 0, 0, 0, 2, 0, NULL, 0);
    conn_send(&c, 1, b.data, b.len);
    struct server *s = server(PROTO_CA, 5064);
    ck_assert_uint_eq(s->connects, 1);
    ck_assert_uint_eq(s->connect_fails, 1);
    ck_assert_uint_eq(pv("REFUSED")->connect_fails, 1);

    /* an ERROR reply to a read names the failed request */
    b.len = 0;
    ca_msg(&b, READ_NOTIFY, 0, 20, 1, 50, 7, NULL, 0);
    conn_send(&c, 0, b.data, b.len);
    struct buf req = { .len = 0 };
    ca_msg(&req, READ_NOTIFY, 0, 20, 1, 50, 7, NULL, 0);
    memcpy(req.data + req.len, "no read access", 15);
    b.len = 0;
    ca_msg(&b, ERROR, 32, 0, 0, 1, 48, req.data, 32);
    conn_send(&c, 1, b.data, b.len);
    ck_assert_uint_eq(s->errors, 1);
    ck_assert_uint_eq(pv("GOOD")->bytes_out, 16 + 16 + 32);     /* create reply, ERROR */

    b.len = 0;
    ca_msg(&b, SERVER_DISCONN, 0, 0, 0, 1, 0, NULL, 0);
    conn_send(&c, 1, b.data, b.len);
    ck_assert_uint_eq(pv("GOOD")->channels, 0);
    ck_assert_uint_eq(s->channels, 0);
}
END_TEST

START_TEST(create_unanswered)
{
    struct conn c;
    conn_open(&c, e, CLI, 41002, SRV, 5064, T0);
    b.len = 0;
    ca_msg_str(&b, CREATE_CHAN, 0, 0, 1, 13, "SLOW");
    conn_send(&c, 0, b.data, b.len);
    engine_tick(e, T0 + 5000000);
    ck_assert_uint_eq(server(PROTO_CA, 5064)->connect_unanswered, 0);
    engine_tick(e, T0 + 11000000);
    ck_assert_uint_eq(server(PROTO_CA, 5064)->connect_unanswered, 1);
}
END_TEST

START_TEST(extended_header_large_array)
{
    struct conn c;
    static struct buf big;
    conn_open(&c, e, CLI, 41003, SRV, 5064, T0);
    b.len = 0;
    ca_msg_str(&b, CREATE_CHAN, 0, 0, 1, 13, "WF");
    conn_send(&c, 0, b.data, b.len);
    b.len = 0;
    ca_msg(&b, CREATE_CHAN, 0, 6, 100000, 1, 60, NULL, 0);
    conn_send(&c, 1, b.data, b.len);
    b.len = 0;
    ca_msg(&b, READ_NOTIFY, 0, 6, 100000, 60, 1, NULL, 0);   /* count > 0xffff: extended */
    conn_send(&c, 0, b.data, b.len);
    ck_assert_uint_eq(b.len, 24);
    big.len = 0;
    ca_msg(&big, READ_NOTIFY, 65536, 6, 8192, 1, 1, NULL, 0);  /* postsize > 0xfffe */
    for (size_t off = 0; off < big.len; off += 1460)
        conn_send(&c, 1, big.data + off, big.len - off < 1460 ? big.len - off : 1460);
    struct pv *p = pv("WF");
    ck_assert_uint_eq(p->reads, 1);
    ck_assert_uint_eq(p->bytes_in, 16 + 8 + 24);
    /* both the create reply (count 100000) and the read reply use 24-byte headers */
    ck_assert_uint_eq(p->bytes_out, 24 + 24 + 65536);
    ck_assert_uint_eq(e->model.health.stream_gaps, 0);
}
END_TEST

START_TEST(join_mid_stream_unknown_pv)
{
    /* no SYN, no create: updates of a subscription made before we looked */
    struct conn c;
    memset(&c, 0, sizeof(c));
    c.e = e;
    c.caddr = CLI; c.cport = 41004; c.saddr = SRV; c.sport = 5064;
    c.cseq = 777; c.sseq = 888; c.ts = T0; c.linktype = DLT_LINUX_SLL;
    b.len = 0;
    for (int i = 0; i < 4; i++)
        ca_msg(&b, EVENT_ADD, 24, 20, 1, 1, 5, NULL, 0);
    conn_send(&c, 1, b.data, b.len);
    struct server *s = server(PROTO_CA, 5064);
    ck_assert_ptr_nonnull(s);
    ck_assert_uint_eq(s->monitor_updates, 4);
    struct pv *u = pv("<unknown>@127.0.0.1:5064");
    ck_assert_ptr_nonnull(u);
    ck_assert_uint_eq(u->monitor_updates, 4);
    ck_assert_uint_eq(u->bytes_out, 4 * 40);
    ck_assert_str_eq(u->server_name, "127.0.0.1:5064");
}
END_TEST

START_TEST(learned_server_port)
{
    struct conn c;
    search(40020, 3, "ODD:PORT", T0);
    search_reply(40020, 3, 5999, T0 + 10);
    ck_assert_ptr_nonnull(server(PROTO_CA, 5999));
    conn_open(&c, e, CLI, 41005, SRV, 5999, T0 + 100);
    b.len = 0;
    ca_msg_str(&b, CREATE_CHAN, 0, 0, 3, 13, "ODD:PORT");
    conn_send(&c, 0, b.data, b.len);
    b.len = 0;
    ca_msg(&b, CREATE_CHAN, 0, 6, 1, 3, 1, NULL, 0);
    conn_send(&c, 1, b.data, b.len);
    ck_assert_uint_eq(server(PROTO_CA, 5999)->connects, 1);
    ck_assert_str_eq(pv("ODD:PORT")->server_name, "127.0.0.1:5999");
    /* the capture filter now includes the port */
    char f[4096];
    ck_assert_int_eq(engine_filter(e, f, sizeof(f), false), 0);
    ck_assert_ptr_nonnull(strstr(f, "tcp port 5999"));
}
END_TEST

START_TEST(other_traffic_ignored)
{
    struct conn c;
    conn_open(&c, e, CLI, 41006, SRV, 8080, T0);
    conn_send(&c, 0, "GET / HTTP/1.0\r\n\r\n", 18);
    ck_assert_uint_eq(e->model.health.circuits, 0);
    ck_assert_uint_ge(e->model.health.not_epics, 1);
    b.len = 0;
    ca_msg(&b, REPEATER_REGISTER, 0, 0, 0, 0, CLI, NULL, 0);
    udp_send(e, CLI, 40030, CLI, 5065, b.data, b.len, T0);
    ck_assert_uint_eq(e->model.health.decode_errors, 0);
}
END_TEST

START_TEST(put_values_of_every_type)
{
    struct conn c;
    conn_open(&c, e, CLI, 41007, SRV, 5064, T0);
    b.len = 0;
    ca_msg_str(&b, CREATE_CHAN, 0, 0, 1, 13, "P");
    conn_send(&c, 0, b.data, b.len);
    b.len = 0;
    ca_msg(&b, CREATE_CHAN, 0, 6, 1, 1, 1, NULL, 0);
    conn_send(&c, 1, b.data, b.len);
    uint8_t str[40] = "hello";
    uint8_t shorts[8] = { 0xff, 0xfe, 0x00, 0x05 };
    uint8_t flt[8] = { 0x3f, 0xc0, 0, 0 };      /* 1.5 */
    uint8_t enm[8] = { 0x00, 0x02 };
    uint8_t chars[8] = { 65, 66, 67, 68, 69, 70 };
    uint8_t lng[8] = { 0xff, 0xff, 0xff, 0xff };
    b.len = 0;
    ca_msg(&b, WRITE, 40, 0, 1, 1, 1, str, 40);
    ca_msg(&b, WRITE, 8, 1, 2, 1, 2, shorts, 8);
    ca_msg(&b, WRITE, 8, 2, 1, 1, 3, flt, 8);
    ca_msg(&b, WRITE, 8, 3, 1, 1, 4, enm, 8);
    ca_msg(&b, WRITE, 8, 4, 6, 1, 5, chars, 8);
    ca_msg(&b, WRITE, 8, 5, 1, 1, 6, lng, 8);
    conn_send(&c, 0, b.data, b.len);
    ck_assert_uint_eq(e->model.puts_next, 6);
    ck_assert_str_eq(e->model.puts[0].value, "hello");
    ck_assert_str_eq(e->model.puts[0].type, "string");
    ck_assert_str_eq(e->model.puts[1].value, "-2,5");
    ck_assert_str_eq(e->model.puts[2].value, "1.5");
    ck_assert_str_eq(e->model.puts[3].value, "2");
    ck_assert_str_eq(e->model.puts[4].value, "65,66,67,68,...");
    ck_assert_str_eq(e->model.puts[5].value, "-1");
    ck_assert_uint_eq(e->model.put_count[PROTO_CA], 6);
    /* caput sends a lone string with only the bytes it needs */
    b.len = 0;
    ca_msg_str(&b, WRITE, 0, 1, 1, 7, "1.5");
    ca_msg(&b, WRITE, 0, 0, 1, 1, 8, NULL, 0);      /* nothing at all */
    conn_send(&c, 0, b.data, b.len);
    ck_assert_str_eq(e->model.puts[6].value, "1.5");
    ck_assert_str_eq(e->model.puts[6].type, "string");
    ck_assert_str_eq(e->model.puts[7].value, "...");
}
END_TEST

START_TEST(tcp_search_reply_address_zero)
{
    /* a name server answers over TCP; 0 in the address field means itself */
    struct conn c;
    conn_open(&c, e, CLI, 41008, SRV, 5064, T0);
    b.len = 0;
    ca_msg_str(&b, SEARCH, 10, 13, 5, 5, "VIA:TCP");
    conn_send(&c, 0, b.data, b.len);
    uint8_t minor[8] = { 0, 13 };
    b.len = 0;
    ca_msg(&b, SEARCH, 8, 6001, 0, 0, 5, minor, 2);
    conn_send(&c, 1, b.data, b.len);
    ck_assert_ptr_nonnull(server(PROTO_CA, 6001));
    ck_assert_ptr_null(model_server(&e->model, PROTO_CA, netaddr_v4(0), 6001, false));
    ck_assert_uint_eq(pv("VIA:TCP")->nservers, 1);
}
END_TEST

Suite *ca_suite(void)
{
    Suite *s = suite_create("ca");
    TCase *t = tcase_create("decoder");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, search_many_names_per_datagram);
    tcase_add_test(t, search_retries_are_one_transaction);
    tcase_add_test(t, search_backoff_is_one_transaction);
    tcase_add_test(t, search_late_reply_and_not_found);
    tcase_add_test(t, duplicate_pv_two_servers);
    tcase_add_test(t, beacons_and_restart);
    tcase_add_test(t, channel_life);
    tcase_add_test(t, create_fail_disconnect_and_errors);
    tcase_add_test(t, create_unanswered);
    tcase_add_test(t, extended_header_large_array);
    tcase_add_test(t, join_mid_stream_unknown_pv);
    tcase_add_test(t, learned_server_port);
    tcase_add_test(t, other_traffic_ignored);
    tcase_add_test(t, put_values_of_every_type);
    tcase_add_test(t, tcp_search_reply_address_zero);
    suite_add_tcase(s, t);
    return s;
}

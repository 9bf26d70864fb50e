/*
 * test_pva.c - the pvAccess decoder (src/pva.c) and pvData (src/pvdata.c).
 *
 * Messages are built here byte by byte in either byte order, following the
 * layouts at the top of pva.c and pvdata.h (pvxs src/pvaproto.h,
 * dataencode.cpp), and fed to an engine through real TCP and UDP frames.
 * Every message type, both byte orders, segmentation, the type cache, and
 * truncated, malformed and hostile input (counted, never a crash).
 */
#include "netbuild.h"
#include "pvdata.h"
#include "suites.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLIENT IP(10, 0, 0, 1)
#define SERVER IP(10, 0, 0, 2)
#define OTHER IP(10, 0, 0, 9)
#define T0 1700000000000000ULL
#define SEC 1000000ULL

enum {
    BEACON = 0, VALIDATION = 1, ECHO = 2, SEARCH = 3, SEARCH_RESPONSE = 4, CREATE_CHANNEL = 7,
    DESTROY_CHANNEL = 8, VALIDATED = 9, GET = 10, PUT = 11, PUT_GET = 12, MONITOR = 13,
    ARRAY = 14, DESTROY_REQUEST = 15, PROCESS = 16, GET_FIELD = 17, MESSAGE = 18, RPC = 20,
    CANCEL_REQUEST = 21, ORIGIN_TAG = 22,
};
#define FROM_SERVER 0x40
#define SEG_FIRST 0x10
#define SEG_MIDDLE 0x30
#define SEG_LAST 0x20

/* ---- message builder ---- */

struct pm {
    uint8_t d[1 << 16];
    size_t len;
    bool be;
};

static void u8(struct pm *b, uint8_t v) { b->d[b->len++] = v; }

static void uN(struct pm *b, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        b->d[b->len + (size_t)i] = (uint8_t)(v >> (8 * (b->be ? n - 1 - i : i)));
    b->len += (size_t)n;
}

static void u16(struct pm *b, uint16_t v) { uN(b, v, 2); }
static void u32(struct pm *b, uint32_t v) { uN(b, v, 4); }

static void f64(struct pm *b, double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof(u));
    uN(b, u, 8);
}

static void size_(struct pm *b, uint32_t n)
{
    if (n < 254) {
        u8(b, (uint8_t)n);
    } else {
        u8(b, 254);
        u32(b, n);
    }
}

static void str(struct pm *b, const char *s)
{
    size_(b, (uint32_t)strlen(s));
    memcpy(b->d + b->len, s, strlen(s));
    b->len += strlen(s);
}

static void addr(struct pm *b, uint32_t ip)
{
    memset(b->d + b->len, 0, 16);
    if (ip) {
        b->d[b->len + 10] = b->d[b->len + 11] = 0xff;
        b->d[b->len + 12] = (uint8_t)(ip >> 24);
        b->d[b->len + 13] = (uint8_t)(ip >> 16);
        b->d[b->len + 14] = (uint8_t)(ip >> 8);
        b->d[b->len + 15] = (uint8_t)ip;
    }
    b->len += 16;
}

static size_t begin(struct pm *b, uint8_t flags, uint8_t cmd)
{
    size_t at = b->len;
    u8(b, 0xca);
    u8(b, 2);
    u8(b, (uint8_t)(flags | (b->be ? 0x80 : 0)));
    u8(b, cmd);
    u32(b, 0);
    return at;
}

/* Patches the payload size; returns the message's length */
static size_t end(struct pm *b, size_t at)
{
    size_t save = b->len;
    b->len = at + 4;
    u32(b, (uint32_t)(save - at - 8));
    b->len = save;
    return save - at;
}

static void ctrl(struct pm *b, uint8_t flags, uint8_t cmd, uint32_t v)
{
    u8(b, 0xca);
    u8(b, 2);
    u8(b, (uint8_t)(flags | 0x01 | (b->be ? 0x80 : 0)));
    u8(b, cmd);
    u32(b, v);
}

/* ---- pvData types ---- */

static void t_alarm_time(struct pm *b)
{
    str(b, "alarm");
    u8(b, 0x80); str(b, "alarm_t"); size_(b, 3);
    str(b, "severity"); u8(b, 0x22);
    str(b, "status"); u8(b, 0x22);
    str(b, "message"); u8(b, 0x60);
    str(b, "timeStamp");
    u8(b, 0x80); str(b, "time_t"); size_(b, 3);
    str(b, "secondsPastEpoch"); u8(b, 0x23);
    str(b, "nanoseconds"); u8(b, 0x22);
    str(b, "userTag"); u8(b, 0x22);
}

/* NTScalar(Array): 0 root, 1 value, 2 alarm (3-5), 6 timeStamp (7-9) */
static void t_ntscalar(struct pm *b, uint8_t code)
{
    u8(b, 0x80); str(b, "epics:nt/NTScalar:1.0"); size_(b, 3);
    str(b, "value"); u8(b, code);
    t_alarm_time(b);
}

/* NTEnum: 0 root, 1 value, 2 value.index, 3 value.choices, 4 alarm, 8 timeStamp */
static void t_ntenum(struct pm *b)
{
    u8(b, 0x80); str(b, "epics:nt/NTEnum:1.0"); size_(b, 3);
    str(b, "value");
    u8(b, 0x80); str(b, "enum_t"); size_(b, 2);
    str(b, "index"); u8(b, 0x22);
    str(b, "choices"); u8(b, 0x68);
    t_alarm_time(b);
}

/* An empty pvRequest (type and its empty value) */
static void pvrequest(struct pm *b)
{
    u8(b, 0x80); str(b, ""); size_(b, 1);
    str(b, "field"); u8(b, 0x80); str(b, ""); size_(b, 0);
}

/* ---- a circuit under test ---- */

struct sess {
    struct engine *e;
    struct nb_conn c;
    struct pm b;
};

static struct sess *sess_new(bool be)
{
    struct sess *s = calloc(1, sizeof(*s));
    s->e = nb_engine(NULL, NULL);
    s->b.be = be;
    nb_conn_init(&s->c, s->e, CLIENT, 40000, SERVER, 5075, T0);
    nb_conn_handshake(&s->c);
    return s;
}

static void sess_free(struct sess *s)
{
    nb_engine_free(s->e);
    free(s);
}

/* Sends what was built, as one segment; returns its length */
static size_t tx(struct sess *s, int dir)
{
    size_t n = s->b.len;
    nb_conn_send(&s->c, dir, s->b.d, n);
    s->b.len = 0;
    return n;
}

static struct model *M(struct sess *s) { return &s->e->model; }
static struct pv *PV(struct sess *s, const char *name) { return nb_pv(s->e, 1, name); }
static struct server *SRV(struct sess *s) { return nb_server(s->e, 1, SERVER, 5075); }

/* Server and client validation; the client authenticates as alice@ws1 */
static void validate(struct sess *s)
{
    ctrl(&s->b, FROM_SERVER, 2, 0);
    size_t at = begin(&s->b, FROM_SERVER, VALIDATION);
    u32(&s->b, 0x10000); u16(&s->b, 0x7fff);
    size_(&s->b, 2); str(&s->b, "anonymous"); str(&s->b, "ca");
    end(&s->b, at);
    tx(s, 1);
    at = begin(&s->b, 0, VALIDATION);
    u32(&s->b, 0x10000); u16(&s->b, 0x7fff); u16(&s->b, 0);
    str(&s->b, "ca");
    u8(&s->b, 0x80); str(&s->b, ""); size_(&s->b, 2);
    str(&s->b, "user"); u8(&s->b, 0x60);
    str(&s->b, "host"); u8(&s->b, 0x60);
    str(&s->b, "alice"); str(&s->b, "ws1");
    end(&s->b, at);
    tx(s, 0);
    at = begin(&s->b, FROM_SERVER, VALIDATED);
    u8(&s->b, 0xff);
    end(&s->b, at);
    tx(s, 1);
}

/* CREATE_CHANNEL both ways; adds the message lengths to in[0] and in[1] */
static void create(struct sess *s, uint32_t cid, const char *name, uint32_t sid, uint64_t *in)
{
    size_t at = begin(&s->b, 0, CREATE_CHANNEL);
    u16(&s->b, 1); u32(&s->b, cid); str(&s->b, name);
    in[0] += end(&s->b, at);
    tx(s, 0);
    at = begin(&s->b, FROM_SERVER, CREATE_CHANNEL);
    u32(&s->b, cid); u32(&s->b, sid); u8(&s->b, 0xff);
    in[1] += end(&s->b, at);
    tx(s, 1);
}

/* An operation's INIT both ways, the reply carrying type `type` (NULL: none) */
static void op_init(struct sess *s, uint8_t cmd, uint32_t sid, uint32_t ioid,
                    void (*type)(struct pm *, uint8_t), uint8_t code, uint64_t *in)
{
    size_t at = begin(&s->b, 0, cmd);
    u32(&s->b, sid); u32(&s->b, ioid); u8(&s->b, 0x08);
    pvrequest(&s->b);
    in[0] += end(&s->b, at);
    tx(s, 0);
    at = begin(&s->b, FROM_SERVER, cmd);
    u32(&s->b, ioid); u8(&s->b, 0x08); u8(&s->b, 0xff);
    if (type)
        type(&s->b, code);
    in[1] += end(&s->b, at);
    tx(s, 1);
}

static void t_enum_any(struct pm *b, uint8_t code) { (void)code; t_ntenum(b); }

/* A request naming only sid and ioid (DESTROY_REQUEST, CANCEL_REQUEST) */
static size_t sid_ioid(struct sess *s, uint8_t cmd, uint32_t sid, uint32_t ioid)
{
    size_t at = begin(&s->b, 0, cmd);
    u32(&s->b, sid); u32(&s->b, ioid);
    size_t n = end(&s->b, at);
    tx(s, 0);
    return n;
}

/* A reply with only ioid, subcmd and an ok status */
static size_t reply_ok(struct sess *s, uint8_t cmd, uint32_t ioid, uint8_t sub)
{
    size_t at = begin(&s->b, FROM_SERVER, cmd);
    u32(&s->b, ioid); u8(&s->b, sub); u8(&s->b, 0xff);
    size_t n = end(&s->b, at);
    tx(s, 1);
    return n;
}

static const struct put_record *last_put(struct sess *s)
{
    struct model *m = M(s);
    ck_assert_uint_gt(m->puts_next, 0);
    return &m->puts[(m->puts_next - 1) % PUT_RING];
}

/* ---- UDP: searches, replies, beacons ---- */

static size_t search_msg(struct pm *b, uint32_t reply_addr, uint16_t reply_port, int n,
                         const uint32_t *cids, const char **names)
{
    size_t at = begin(b, 0, SEARCH);
    u32(b, 77); u8(b, 0x81); u8(b, 0); u16(b, 0);
    addr(b, reply_addr); u16(b, reply_port);
    size_(b, 1); str(b, "tcp");
    u16(b, (uint16_t)n);
    for (int i = 0; i < n; i++) {
        u32(b, cids[i]);
        str(b, names[i]);
    }
    return end(b, at);
}

static size_t response_msg(struct pm *b, const char *guid, uint32_t saddr, uint16_t port,
                           uint8_t found, int n, const uint32_t *cids)
{
    size_t at = begin(b, FROM_SERVER, SEARCH_RESPONSE);
    memcpy(b->d + b->len, guid, 12);
    b->len += 12;
    u32(b, 77);
    addr(b, saddr); u16(b, port);
    str(b, "tcp");
    u8(b, found);
    u16(b, (uint16_t)n);
    for (int i = 0; i < n; i++)
        u32(b, cids[i]);
    return end(b, at);
}

static size_t beacon_msg(struct pm *b, const char *guid, uint8_t seq, uint32_t saddr, uint16_t port)
{
    size_t at = begin(b, FROM_SERVER, BEACON);
    memcpy(b->d + b->len, guid, 12);
    b->len += 12;
    u8(b, 0); u8(b, seq); u16(b, 0);
    addr(b, saddr); u16(b, port);
    str(b, "tcp");
    u8(b, 0xff);        /* no server status */
    return end(b, at);
}

static void udp(struct engine *e, uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport,
                struct pm *b, uint64_t ts)
{
    nb_send_udp(e, NULL, ts, src, sport, dst, dport, b->d, b->len);
    b->len = 0;
}

START_TEST(search_and_reply)
{
    struct engine *e = nb_engine(NULL, NULL);
    struct pm b = { .be = _i };
    uint32_t cids[2] = { 1, 2 };
    const char *names[2] = { "A:1", "A:2" };
    search_msg(&b, 0, 40001, 2, cids, names);
    udp(e, CLIENT, 40001, IP(10, 0, 0, 255), 5076, &b, T0);
    ck_assert_uint_eq(e->model.ps[1].search_requests, 2);
    ck_assert_uint_eq(nb_pv(e, 1, "A:1")->searches, 1);
    response_msg(&b, "GUIDGUIDGUID", 0, 5075, 1, 2, cids);
    udp(e, SERVER, 5076, CLIENT, 40001, &b, T0 + 500);
    ck_assert_uint_eq(e->model.ps[1].search_replies, 2);
    ck_assert_uint_eq(e->model.ps[1].search_late_replies, 0);
    ck_assert_ptr_nonnull(nb_server(e, 1, SERVER, 5075));      /* address 0: the sender */
    ck_assert_uint_eq(nb_pv(e, 1, "A:2")->nservers, 1);
    engine_finish(e);
    ck_assert_uint_eq(e->model.ps[1].search_unanswered, 0);
    ck_assert_uint_eq(e->model.health.decode_errors, 0);
    nb_engine_free(e);
}
END_TEST

/* A pvxs client searching while its server is down: the n-th retry of a
 * channel comes n seconds after the previous one, at most 30 s apart; the
 * answer to the last retry ends one transaction, whatever the outage's length */
START_TEST(search_retried_across_an_outage)
{
    struct engine *e = nb_engine(NULL, NULL);
    struct pm b = { .be = _i };
    uint32_t cid = 7, cid2 = 8;
    const char *name = "OUTAGE", *name2 = "GONE";
    uint64_t t = T0, tick = T0;
    for (uint64_t gap = 1; gap <= 30; gap++) {
        search_msg(&b, 0, 40004, 1, &cid, &name);
        udp(e, CLIENT, 40004, IP(10, 0, 0, 255), 5076, &b, t);
        for (; tick < t + gap * SEC; tick += SEC)
            engine_tick(e, tick);
        t += gap * SEC;
    }
    ck_assert_uint_eq(e->model.ps[1].search_unanswered, 0);
    search_msg(&b, 0, 40004, 1, &cid, &name);
    udp(e, CLIENT, 40004, IP(10, 0, 0, 255), 5076, &b, t);
    response_msg(&b, "GUIDGUIDGUID", 0, 5075, 1, 1, &cid);
    udp(e, SERVER, 5076, CLIENT, 40004, &b, t + 500);
    ck_assert_uint_eq(e->model.ps[1].search_requests, 31);
    ck_assert_uint_eq(e->model.ps[1].search.count, 1);
    ck_assert_uint_eq(e->model.ps[1].search.last_us, t + 500 - T0);
    ck_assert_uint_eq(e->model.ps[1].search_late_replies, 0);
    /* a pause longer than any retry period ends the transaction */
    search_msg(&b, 0, 40004, 1, &cid2, &name2);
    udp(e, CLIENT, 40004, IP(10, 0, 0, 255), 5076, &b, t + SEC);
    engine_tick(e, t + SEC + (SEARCH_TIMEOUT_PVA_S - 1) * SEC);
    ck_assert_uint_eq(e->model.ps[1].search_unanswered, 0);
    engine_tick(e, t + SEC + SEARCH_TIMEOUT_PVA_S * SEC);
    ck_assert_uint_eq(e->model.ps[1].search_unanswered, 1);
    engine_finish(e);
    ck_assert_uint_eq(e->model.ps[1].search_unanswered, 1);
    ck_assert_uint_eq(nb_pv(e, 1, "OUTAGE")->search_unanswered, 0);
    nb_engine_free(e);
}
END_TEST

START_TEST(search_reply_address_field)
{
    /* the request asks for replies at another address and port */
    struct engine *e = nb_engine(NULL, NULL);
    struct pm b = { .be = _i };
    uint32_t cid = 9;
    const char *name = "B:1";
    search_msg(&b, OTHER, 41000, 1, &cid, &name);
    udp(e, CLIENT, 40002, IP(10, 0, 0, 255), 5076, &b, T0);
    response_msg(&b, "GUIDGUIDGUID", IP(10, 0, 0, 3), 5099, 1, 1, &cid);
    udp(e, SERVER, 5076, CLIENT, 40002, &b, T0 + 100);         /* not where it was asked */
    ck_assert_uint_eq(e->model.ps[1].search_late_replies, 1);
    response_msg(&b, "GUIDGUIDGUID", IP(10, 0, 0, 3), 5099, 1, 1, &cid);
    udp(e, SERVER, 5076, OTHER, 41000, &b, T0 + 200);
    ck_assert_uint_eq(e->model.ps[1].search_late_replies, 1);
    /* the server is the address in the reply, with its port */
    ck_assert_ptr_nonnull(nb_server(e, 1, IP(10, 0, 0, 3), 5099));
    engine_finish(e);
    ck_assert_uint_eq(e->model.ps[1].search_unanswered, 0);
    nb_engine_free(e);
}
END_TEST

START_TEST(search_not_found_and_unanswered)
{
    struct engine *e = nb_engine(NULL, NULL);
    struct pm b = { .be = _i };
    uint32_t cid = 5;
    const char *name = "NOPE";
    for (int k = 0; k < 3; k++) {       /* retries: one transaction */
        search_msg(&b, 0, 40003, 1, &cid, &name);
        udp(e, CLIENT, 40003, IP(10, 0, 0, 255), 5076, &b, T0 + (uint64_t)k * 100000);
    }
    response_msg(&b, "GUIDGUIDGUID", 0, 5075, 0, 1, &cid);
    udp(e, SERVER, 5076, CLIENT, 40003, &b, T0 + 400000);
    ck_assert_uint_eq(e->model.ps[1].search_not_found, 1);
    engine_finish(e);
    ck_assert_uint_eq(e->model.ps[1].search_requests, 3);
    ck_assert_uint_eq(e->model.ps[1].search_unanswered, 1);
    ck_assert_uint_eq(nb_pv(e, 1, "NOPE")->search_unanswered, 1);
    nb_engine_free(e);
}
END_TEST

START_TEST(origin_tag_copy_not_counted)
{
    struct engine *e = nb_engine(NULL, NULL);
    struct pm b = { .be = _i };
    uint32_t cids[2] = { 1, 2 };
    const char *names[2] = { "C:1", "C:2" };
    search_msg(&b, 0, 40004, 2, cids, names);
    udp(e, CLIENT, 40004, SERVER, 5076, &b, T0);
    /* the server passes it on, tagged (here to a unicast address: the tag alone says it) */
    size_t at = begin(&b, 0, ORIGIN_TAG);
    addr(&b, SERVER);
    end(&b, at);
    search_msg(&b, CLIENT, 40004, 2, cids, names);
    udp(e, SERVER, 5076, IP(127, 0, 0, 1), 5076, &b, T0 + 10);
    ck_assert_uint_eq(e->model.ps[1].search_requests, 2);
    ck_assert_uint_eq(nb_pv(e, 1, "C:1")->searches, 1);
    /* an untagged copy from the server's port to the group is not counted either */
    search_msg(&b, CLIENT, 40004, 2, cids, names);
    udp(e, SERVER, 5076, IP(224, 0, 0, 128), 5076, &b, T0 + 20);
    ck_assert_uint_eq(e->model.ps[1].search_requests, 2);
    ck_assert_uint_eq(e->model.health.decode_errors, 0);
    nb_engine_free(e);
}
END_TEST

START_TEST(beacons_and_guid_restarts)
{
    struct engine *e = nb_engine(NULL, NULL);
    struct pm b = { .be = _i };
    uint8_t seq = 250;
    for (int k = 0; k < 10; k++, seq++) {       /* the 8-bit sequence wraps: no restart */
        beacon_msg(&b, "AAAAAAAAAAAA", seq, 0, 5075);
        udp(e, SERVER, 43210, IP(10, 0, 0, 255), 5076, &b, T0 + (uint64_t)k * 15000000);
    }
    struct server *s = nb_server(e, 1, SERVER, 5075);
    ck_assert_ptr_nonnull(s);
    ck_assert_uint_eq(s->beacons, 10);
    ck_assert_uint_eq(s->restarts, 0);
    /* a new process at the same address and port */
    beacon_msg(&b, "BBBBBBBBBBBB", 0, 0, 5075);
    udp(e, SERVER, 43999, IP(10, 0, 0, 255), 5076, &b, T0 + 200000000);
    ck_assert_uint_eq(s->restarts, 1);
    ck_assert_uint_eq(s->beacons, 11);
    /* search replies carry the GUID too */
    uint32_t cid = 1;
    response_msg(&b, "CCCCCCCCCCCC", 0, 5075, 1, 1, &cid);
    udp(e, SERVER, 5076, CLIENT, 40005, &b, T0 + 300000000);
    ck_assert_uint_eq(s->restarts, 2);
    /* the address field names the server when set */
    beacon_msg(&b, "DDDDDDDDDDDD", 1, IP(10, 0, 0, 7), 5080);
    udp(e, SERVER, 43210, IP(10, 0, 0, 255), 5076, &b, T0 + 300000001);
    ck_assert_ptr_nonnull(nb_server(e, 1, IP(10, 0, 0, 7), 5080));
    ck_assert_uint_eq(e->model.ps[1].beacons, 12);
    ck_assert_uint_eq(e->model.health.decode_errors, 0);
    nb_engine_free(e);
}
END_TEST

START_TEST(datagram_truncated_everywhere)
{
    struct engine *e = nb_engine(NULL, NULL);
    struct pm b = { .be = _i };
    uint32_t cids[2] = { 1, 2 };
    const char *names[2] = { "D:1", "D:2" };
    size_t kinds[3];
    uint8_t whole[3][256];
    kinds[0] = search_msg(&b, 0, 40006, 2, cids, names);
    memcpy(whole[0], b.d, b.len);
    b.len = 0;
    kinds[1] = response_msg(&b, "GUIDGUIDGUID", 0, 5075, 1, 2, cids);
    memcpy(whole[1], b.d, b.len);
    b.len = 0;
    kinds[2] = beacon_msg(&b, "GUIDGUIDGUID", 1, 0, 5075);
    memcpy(whole[2], b.d, b.len);
    b.len = 0;
    for (int k = 0; k < 3; k++) {
        for (size_t cut = 1; cut < kinds[k]; cut++) {
            /* the header still claims the whole payload */
            uint64_t before = e->model.health.decode_errors;
            nb_send_udp(e, NULL, T0, k == 0 ? CLIENT : SERVER, k == 0 ? 40006 : 5076,
                        k == 0 ? SERVER : CLIENT, k == 0 ? 5076 : 40006, whole[k], cut);
            ck_assert_uint_gt(e->model.health.decode_errors, before);
            /* or a header that matches the cut: the contents run out */
            if (cut >= 8) {
                uint8_t t[256];
                memcpy(t, whole[k], cut);
                uint32_t n = (uint32_t)(cut - 8);
                for (int i = 0; i < 4; i++)
                    t[4 + i] = (uint8_t)(n >> (8 * (b.be ? 3 - i : i)));
                nb_send_udp(e, NULL, T0, k == 0 ? CLIENT : SERVER, k == 0 ? 40006 : 5076,
                            k == 0 ? SERVER : CLIENT, k == 0 ? 5076 : 40006, t, cut);
            }
        }
    }
    nb_engine_free(e);
}
END_TEST

/* ---- TCP ---- */

START_TEST(circuit_get)
{
    struct sess *s = sess_new(_i);
    uint64_t in[2] = { 0, 0 };
    validate(s);
    create(s, 0x100, "TEST:AI", 7, in);
    struct pv *pv = PV(s, "TEST:AI");
    ck_assert_ptr_nonnull(pv);
    ck_assert_uint_eq(pv->connects, 1);
    ck_assert_uint_eq(pv->channels, 1);
    ck_assert_str_eq(pv->server_name, "10.0.0.2:5075");
    op_init(s, GET, 7, 33, t_ntscalar, 0x43, in);
    ck_assert_uint_eq(pv->gets, 0);     /* INIT is not a get */
    size_t at = begin(&s->b, 0, GET);
    u32(&s->b, 7); u32(&s->b, 33); u8(&s->b, 0x00);
    in[0] += end(&s->b, at);
    tx(s, 0);
    at = begin(&s->b, FROM_SERVER, GET);
    u32(&s->b, 33); u8(&s->b, 0x00); u8(&s->b, 0xff);
    size_(&s->b, 1); u8(&s->b, 0x02); f64(&s->b, 3.25);        /* bit 1: value */
    in[1] += end(&s->b, at);
    tx(s, 1);
    ck_assert_uint_eq(pv->gets, 1);
    ck_assert_uint_eq(SRV(s)->gets, 1);
    in[0] += sid_ioid(s, DESTROY_REQUEST, 7, 33);
    ck_assert_uint_eq(M(s)->circuits->requests.count, 0);
    /* ECHO and MESSAGE belong to no channel */
    at = begin(&s->b, 0, ECHO);
    end(&s->b, at);
    tx(s, 0);
    at = begin(&s->b, FROM_SERVER, MESSAGE);
    u32(&s->b, 33); u8(&s->b, 1); str(&s->b, "note");
    end(&s->b, at);
    tx(s, 1);
    /* the client closes the channel; the server confirms */
    at = begin(&s->b, 0, DESTROY_CHANNEL);
    u32(&s->b, 7); u32(&s->b, 0x100);
    in[0] += end(&s->b, at);
    tx(s, 0);
    at = begin(&s->b, FROM_SERVER, DESTROY_CHANNEL);
    u32(&s->b, 7); u32(&s->b, 0x100);
    in[1] += end(&s->b, at);
    tx(s, 1);
    ck_assert_uint_eq(pv->channels, 0);
    ck_assert_uint_eq(pv->bytes_in, in[0]);
    ck_assert_uint_eq(pv->bytes_out, in[1]);
    struct client *cl = nb_client(s->e, 1, CLIENT);
    ck_assert_str_eq(cl->user, "alice");
    ck_assert_str_eq(cl->host, "ws1");
    /* the circuit counts everything, validation and control included */
    ck_assert_uint_eq(SRV(s)->bytes_in, s->c.seq[0] - 0x10000001u);
    ck_assert_uint_eq(SRV(s)->bytes_out, s->c.seq[1] - 0xfffff001u);
    ck_assert_uint_eq(M(s)->health.decode_errors, 0);
    sess_free(s);
}
END_TEST

/* A PUT of value bits: `value` writes what follows the bitset */
static void put_exec(struct sess *s, uint32_t sid, uint32_t ioid, uint8_t bits,
                     void (*value)(struct pm *), uint64_t *in)
{
    size_t at = begin(&s->b, 0, PUT);
    u32(&s->b, sid); u32(&s->b, ioid); u8(&s->b, 0x00);
    size_(&s->b, 1); u8(&s->b, bits);
    value(&s->b);
    in[0] += end(&s->b, at);
    tx(s, 0);
}

static void v_double(struct pm *b) { f64(b, 2.5); }
static void v_string(struct pm *b) { str(b, "hi there"); }
static void v_index(struct pm *b) { u32(b, 3); }
static void v_array(struct pm *b)
{
    size_(b, 6);
    for (int i = 1; i <= 6; i++)
        f64(b, i);
}
static void v_enum_whole(struct pm *b)
{
    u32(b, 1);
    size_(b, 2); str(b, "Off"); str(b, "On");
}

START_TEST(put_audit_and_counts)
{
    struct sess *s = sess_new(_i);
    uint64_t in[2] = { 0, 0 };
    validate(s);
    create(s, 1, "P:D", 11, in);
    op_init(s, PUT, 11, 1, t_ntscalar, 0x43, in);
    /* the read-back (get) is not a put */
    size_t at = begin(&s->b, 0, PUT);
    u32(&s->b, 11); u32(&s->b, 1); u8(&s->b, 0x40);
    in[0] += end(&s->b, at);
    tx(s, 0);
    at = begin(&s->b, FROM_SERVER, PUT);
    u32(&s->b, 1); u8(&s->b, 0x40); u8(&s->b, 0xff);
    size_(&s->b, 1); u8(&s->b, 0x02); f64(&s->b, 1.0);
    in[1] += end(&s->b, at);
    tx(s, 1);
    struct pv *pv = PV(s, "P:D");
    ck_assert_uint_eq(pv->puts, 0);
    put_exec(s, 11, 1, 0x02, v_double, in);
    ck_assert_uint_eq(pv->puts, 1);
    ck_assert_uint_eq(SRV(s)->puts, 1);
    ck_assert_uint_eq(M(s)->put_count[1], 0);       /* waits for its status */
    in[1] += reply_ok(s, PUT, 1, 0x00);
    const struct put_record *r = last_put(s);
    ck_assert_str_eq(r->pv, "P:D");
    ck_assert_str_eq(r->value, "2.5");
    ck_assert_str_eq(r->type, "double");
    ck_assert(r->has_status);
    ck_assert_int_eq(r->status, 0);
    ck_assert_str_eq(r->status_text, "ok");
    ck_assert_str_eq(r->client, "10.0.0.1:40000");
    ck_assert_str_eq(r->server, "10.0.0.2:5075");
    in[0] += sid_ioid(s, DESTROY_REQUEST, 11, 1);
    ck_assert_uint_eq(pv->bytes_in, in[0]);
    ck_assert_uint_eq(pv->bytes_out, in[1]);

    /* a string, and a refused put (error status) */
    create(s, 2, "P:S", 12, in);
    op_init(s, PUT, 12, 2, t_ntscalar, 0x60, in);
    put_exec(s, 12, 2, 0x02, v_string, in);
    at = begin(&s->b, FROM_SERVER, PUT);
    u32(&s->b, 2); u8(&s->b, 0x00); u8(&s->b, 2); str(&s->b, "denied"); str(&s->b, "");
    end(&s->b, at);
    tx(s, 1);
    r = last_put(s);
    ck_assert_str_eq(r->value, "hi there");
    ck_assert_str_eq(r->type, "string");
    ck_assert_int_eq(r->status, 2);
    ck_assert_str_eq(r->status_text, "error: denied");
    ck_assert_uint_eq(SRV(s)->errors, 1);

    /* an enum by its index, then the whole enum */
    create(s, 3, "P:E", 13, in);
    op_init(s, PUT, 13, 3, t_enum_any, 0, in);
    put_exec(s, 13, 3, 0x04, v_index, in);           /* bit 2: value.index */
    reply_ok(s, PUT, 3, 0x00);
    r = last_put(s);
    ck_assert_str_eq(r->pv, "P:E");
    ck_assert_str_eq(r->value, "value.index=3");
    ck_assert_str_eq(r->type, "enum");
    put_exec(s, 13, 3, 0x02, v_enum_whole, in);      /* bit 1: the enum_t */
    reply_ok(s, PUT, 3, 0x00);
    ck_assert_str_eq(last_put(s)->value, "value.index=1");

    /* an array: its first elements */
    create(s, 4, "P:A", 14, in);
    op_init(s, PUT, 14, 4, t_ntscalar, 0x4b, in);
    put_exec(s, 14, 4, 0x02, v_array, in);
    /* the client gives up before the reply: recorded without a status */
    sid_ioid(s, DESTROY_REQUEST, 14, 4);
    r = last_put(s);
    ck_assert_str_eq(r->value, "1,2,3,4,...");
    ck_assert_str_eq(r->type, "double[]");
    ck_assert(!r->has_status);
    ck_assert_uint_eq(M(s)->put_count[1], 5);
    ck_assert_uint_eq(M(s)->health.decode_errors, 0);
    sess_free(s);
}
END_TEST

START_TEST(monitor_updates)
{
    struct sess *s = sess_new(_i);
    uint64_t in[2] = { 0, 0 };
    validate(s);
    create(s, 1, "M:1", 21, in);
    op_init(s, MONITOR, 21, 5, t_ntscalar, 0x43, in);
    struct pv *pv = PV(s, "M:1");
    ck_assert_uint_eq(pv->monitors, 1);
    ck_assert_uint_eq(pv->monitor_updates, 0);      /* the INIT reply is not an update */
    size_t at = begin(&s->b, 0, MONITOR);
    u32(&s->b, 21); u32(&s->b, 5); u8(&s->b, 0x44);  /* start */
    in[0] += end(&s->b, at);
    tx(s, 0);
    for (int k = 0; k < 5; k++) {
        at = begin(&s->b, FROM_SERVER, MONITOR);
        u32(&s->b, 5); u8(&s->b, 0x00);
        size_(&s->b, 1); u8(&s->b, 0x02); f64(&s->b, k);
        size_(&s->b, 0);                            /* overrun */
        in[1] += end(&s->b, at);
        tx(s, 1);
    }
    at = begin(&s->b, 0, MONITOR);
    u32(&s->b, 21); u32(&s->b, 5); u8(&s->b, 0x80); u32(&s->b, 4);    /* pipeline ack */
    in[0] += end(&s->b, at);
    tx(s, 0);
    /* an update whose overrun bitset says values were lost in between */
    at = begin(&s->b, FROM_SERVER, MONITOR);
    u32(&s->b, 5); u8(&s->b, 0x00);
    size_(&s->b, 1); u8(&s->b, 0x02); f64(&s->b, 9);
    size_(&s->b, 1); u8(&s->b, 0x02);               /* overrun: value */
    in[1] += end(&s->b, at);
    tx(s, 1);
    ck_assert_uint_eq(pv->monitor_overruns, 1);
    ck_assert_uint_eq(SRV(s)->monitor_overruns, 1);
    ck_assert_uint_eq(SRV(s)->monitor_acks, 1);
    in[1] += reply_ok(s, MONITOR, 5, 0x10);         /* the final message */
    ck_assert_uint_eq(pv->monitor_updates, 6);
    ck_assert_uint_eq(pv->monitor_overruns, 1);
    ck_assert_uint_eq(SRV(s)->monitor_updates, 6);
    ck_assert_uint_eq(pv->monitors, 0);
    ck_assert_uint_eq(pv->bytes_in, in[0]);
    ck_assert_uint_eq(pv->bytes_out, in[1]);

    /* a second subscription ends with DESTROY_REQUEST */
    op_init(s, MONITOR, 21, 6, t_ntscalar, 0x43, in);
    ck_assert_uint_eq(pv->monitors, 1);
    sid_ioid(s, DESTROY_REQUEST, 21, 6);
    ck_assert_uint_eq(pv->monitors, 0);
    ck_assert_uint_eq(SRV(s)->monitors, 0);

    /* updates of a subscription made before the capture: the server's */
    at = begin(&s->b, FROM_SERVER, MONITOR);
    u32(&s->b, 999); u8(&s->b, 0x00);
    size_(&s->b, 1); u8(&s->b, 0x02); f64(&s->b, 1);
    size_(&s->b, 0);
    end(&s->b, at);
    tx(s, 1);
    ck_assert_uint_eq(SRV(s)->monitor_updates, 7);
    ck_assert_uint_eq(PV(s, "<unknown>@10.0.0.2:5075")->monitor_updates, 1);
    ck_assert_uint_eq(M(s)->health.decode_errors, 0);
    sess_free(s);
}
END_TEST

/* The next segment's frame carries capture time t */
static void at(struct sess *s, uint64_t t)
{
    s->c.ts = t - 100;      /* nb_conn_segment advances 100 us first */
}

/* An execution request (subcommand sub) with nothing after it */
static void exec_req(struct sess *s, uint8_t cmd, uint32_t sid, uint32_t ioid, uint8_t sub)
{
    size_t at_ = begin(&s->b, 0, cmd);
    u32(&s->b, sid); u32(&s->b, ioid); u8(&s->b, sub);
    if (cmd == RPC)
        pvrequest(&s->b);       /* the argument: a structure and its value */
    end(&s->b, at_);
    tx(s, 0);
}

/* A validated circuit with one channel (cid 1) of PV name */
static struct sess *one_channel(bool be, const char *name, uint32_t sid, uint64_t *in)
{
    struct sess *s = sess_new(be);
    validate(s);
    create(s, 1, name, sid, in);
    return s;
}

START_TEST(exchange_latencies)
{
    uint64_t in[2] = { 0, 0 };
    const uint64_t T1 = T0 + 1000000;
    struct sess *s = one_channel(_i, "L:1", 7, in);
    struct pv *pv = PV(s, "L:1");
    op_init(s, GET, 7, 33, t_ntscalar, 0x43, in);
    ck_assert_ptr_null(pv->timing);                 /* INIT is no sample */
    at(s, T1);
    exec_req(s, GET, 7, 33, 0x00);
    at(s, T1 + 250);
    size_t at_ = begin(&s->b, FROM_SERVER, GET);
    u32(&s->b, 33); u8(&s->b, 0x00); u8(&s->b, 0xff);
    size_(&s->b, 1); u8(&s->b, 0x02); f64(&s->b, 3.25);
    end(&s->b, at_);
    tx(s, 1);
    reply_ok(s, GET, 33, 0x00);                     /* a response nothing asked for */
    ck_assert_uint_eq(SRV(s)->op_latency[LAT_GET].count, 1);
    ck_assert_uint_eq(SRV(s)->op_latency[LAT_GET].sum_us, 250);
    ck_assert_ptr_nonnull(pv->timing);
    ck_assert_uint_eq(pv->timing->op_latency[LAT_GET].count, 1);

    /* PUT: the read-back GET is no put; a refused put counts */
    op_init(s, PUT, 7, 34, t_ntscalar, 0x43, in);
    at(s, T1 + 1000);
    exec_req(s, PUT, 7, 34, 0x40);
    at(s, T1 + 1050);
    reply_ok(s, PUT, 34, 0x40);
    ck_assert_uint_eq(SRV(s)->op_latency[LAT_PUT].count, 0);
    at(s, T1 + 2000);
    put_exec(s, 7, 34, 0x02, v_double, in);
    at(s, T1 + 2400);
    reply_ok(s, PUT, 34, 0x00);
    at(s, T1 + 3000);
    put_exec(s, 7, 34, 0x02, v_double, in);
    at(s, T1 + 3900);
    at_ = begin(&s->b, FROM_SERVER, PUT);
    u32(&s->b, 34); u8(&s->b, 0x00); u8(&s->b, 2); str(&s->b, "denied"); str(&s->b, "");
    end(&s->b, at_);
    tx(s, 1);
    ck_assert_uint_eq(SRV(s)->op_latency[LAT_PUT].count, 2);
    ck_assert_uint_eq(SRV(s)->op_latency[LAT_PUT].sum_us, 400 + 900);
    ck_assert_uint_eq(pv->timing->op_latency[LAT_PUT].max_us, 900);

    /* RPC */
    op_init(s, RPC, 7, 35, NULL, 0, in);
    at(s, T1 + 5000);
    exec_req(s, RPC, 7, 35, 0x00);
    at(s, T1 + 6500);
    at_ = begin(&s->b, FROM_SERVER, RPC);
    u32(&s->b, 35); u8(&s->b, 0x00); u8(&s->b, 0xff);
    pvrequest(&s->b);
    end(&s->b, at_);
    tx(s, 1);
    ck_assert_uint_eq(SRV(s)->op_latency[LAT_RPC].count, 1);
    ck_assert_uint_eq(SRV(s)->op_latency[LAT_RPC].sum_us, 1500);
    ck_assert_uint_eq(pv->timing->op_latency[LAT_RPC].count, 1);
    ck_assert_uint_eq(SRV(s)->op_latency[LAT_GET].count, 1);

    /* ECHO: application and control messages share one queue */
    at(s, T1 + 10000);
    at_ = begin(&s->b, 0, ECHO);
    end(&s->b, at_);
    tx(s, 0);
    at(s, T1 + 10010);
    ctrl(&s->b, 0, 3, 0);                           /* ECHO_REQUEST */
    tx(s, 0);
    at(s, T1 + 10100);
    at_ = begin(&s->b, FROM_SERVER, ECHO);
    end(&s->b, at_);
    tx(s, 1);
    at(s, T1 + 10300);
    ctrl(&s->b, FROM_SERVER, 4, 0);                 /* ECHO_RESPONSE */
    at_ = begin(&s->b, FROM_SERVER, ECHO);          /* nothing pending: ignored */
    end(&s->b, at_);
    tx(s, 1);
    ck_assert_uint_eq(SRV(s)->echo.count, 2);
    ck_assert_uint_eq(SRV(s)->echo.sum_us, 100 + 290);
    ck_assert_uint_eq(SRV(s)->echo.max_us, 290);
    ck_assert_uint_eq(M(s)->health.decode_errors, 0);
    sess_free(s);
}
END_TEST

/* A MONITOR update of an NTScalar double: changed bits (bytes given), then
 * the fields they select (whole value, value, timeStamp, or its seconds and
 * nanoseconds), stamped stamp_us, and an empty overrun bitset */
static void age_update(struct sess *s, uint32_t ioid, uint32_t bits, uint64_t stamp_us)
{
    size_t at_ = begin(&s->b, FROM_SERVER, MONITOR);
    u32(&s->b, ioid); u8(&s->b, 0x00);
    size_(&s->b, 2); u8(&s->b, (uint8_t)bits); u8(&s->b, (uint8_t)(bits >> 8));
    uint64_t sec = stamp_us / 1000000, nsec = (stamp_us % 1000000) * 1000 + 999;
    if (bits & 1) {                                 /* the whole structure */
        f64(&s->b, 1.5);
        u32(&s->b, 0); u32(&s->b, 0); str(&s->b, "NO_ALARM");
        uN(&s->b, sec, 8); u32(&s->b, (uint32_t)nsec); u32(&s->b, 0);
    } else {
        if (bits & 0x02)
            f64(&s->b, 1.5);
        if (bits & 0x40) {
            uN(&s->b, sec, 8); u32(&s->b, (uint32_t)nsec); u32(&s->b, 0);
        } else {
            if (bits & 0x80)
                uN(&s->b, sec, 8);
            if (bits & 0x100)
                u32(&s->b, (uint32_t)nsec);
        }
    }
    size_(&s->b, 0);
    end(&s->b, at_);
    tx(s, 1);
}

START_TEST(update_ages)
{
    uint64_t in[2] = { 0, 0 };
    const uint64_t T1 = T0 + 1000000;
    struct sess *s = one_channel(_i, "A:1", 21, in);
    struct pv *pv = PV(s, "A:1");
    op_init(s, MONITOR, 21, 5, t_ntscalar, 0x43, in);
    at(s, T1);
    age_update(s, 5, 0x01, T1 - 60000000);          /* the first: the value at INIT */
    ck_assert_uint_eq(pv->update_age.count, 0);
    at(s, T1 + 100000);
    age_update(s, 5, 0x42, T1 + 100000 - 1500);     /* value and timeStamp */
    at(s, T1 + 200000);
    age_update(s, 5, 0x01, T1 + 200000 - 2000);     /* the whole structure */
    at(s, T1 + 300000);
    age_update(s, 5, 0x180, T1 + 300000 - 3000);    /* seconds and nanoseconds by their own bits */
    at(s, T1 + 400000);
    age_update(s, 5, 0x02, T1);                     /* no stamp among the changes */
    age_update(s, 5, 0x80, T1);                     /* seconds without nanoseconds */
    at(s, T1 + 500000);
    age_update(s, 5, 0x40, T1 + 500000 + 10);       /* the server's clock ahead */
    ck_assert_uint_eq(SRV(s)->update_age.count, 3);
    ck_assert_uint_eq(SRV(s)->update_age.sum_us, 1500 + 2000 + 3000);
    ck_assert_uint_eq(SRV(s)->update_age.max_us, 3000);
    ck_assert_uint_eq(SRV(s)->update_age_negative, 1);
    ck_assert_uint_eq(latency_bucket(&SRV(s)->update_age, hist_bucket(1500)), 2);
    ck_assert_uint_eq(pv->update_age.count, 3);
    ck_assert_uint_eq(pv->update_age.sum_us, 6500);
    ck_assert_uint_eq(pv->monitor_updates, 7);
    reply_ok(s, MONITOR, 5, 0x10);                  /* the final message is no update */
    ck_assert_uint_eq(SRV(s)->update_age.count, 3);

    /* a new subscription: its first update is left out again */
    op_init(s, MONITOR, 21, 6, t_ntscalar, 0x43, in);
    at(s, T1 + 600000);
    age_update(s, 6, 0x42, T1 + 600000 - 100);
    ck_assert_uint_eq(SRV(s)->update_age.count, 3);
    at(s, T1 + 700000);
    age_update(s, 6, 0x42, T1 + 700000 - 100);
    ck_assert_uint_eq(SRV(s)->update_age.count, 4);
    ck_assert_uint_eq(M(s)->health.decode_errors, 0);
    sess_free(s);
}
END_TEST

START_TEST(type_cache)
{
    struct sess *s = sess_new(_i);
    uint64_t in[2] = { 0, 0 };
    validate(s);
    create(s, 1, "K:1", 31, in);
    create(s, 2, "K:2", 32, in);
    /* the client defines its key 7 (a pvRequest), the server its own key 7 */
    size_t at = begin(&s->b, 0, PUT);
    u32(&s->b, 31); u32(&s->b, 1); u8(&s->b, 0x08);
    u8(&s->b, 0xfd); u16(&s->b, 7); pvrequest(&s->b);
    end(&s->b, at);
    tx(s, 0);
    at = begin(&s->b, FROM_SERVER, PUT);
    u32(&s->b, 1); u8(&s->b, 0x08); u8(&s->b, 0xff);
    u8(&s->b, 0xfd); u16(&s->b, 7); t_ntscalar(&s->b, 0x43);
    end(&s->b, at);
    tx(s, 1);
    /* the second operation refers to both caches by key only */
    at = begin(&s->b, 0, PUT);
    u32(&s->b, 32); u32(&s->b, 2); u8(&s->b, 0x08);
    u8(&s->b, 0xfe); u16(&s->b, 7);
    end(&s->b, at);
    tx(s, 0);
    at = begin(&s->b, FROM_SERVER, PUT);
    u32(&s->b, 2); u8(&s->b, 0x08); u8(&s->b, 0xff);
    u8(&s->b, 0xfe); u16(&s->b, 7);
    end(&s->b, at);
    tx(s, 1);
    put_exec(s, 32, 2, 0x02, v_double, in);
    reply_ok(s, PUT, 2, 0x00);
    ck_assert_str_eq(last_put(s)->pv, "K:2");
    ck_assert_str_eq(last_put(s)->value, "2.5");
    ck_assert_uint_eq(M(s)->health.decode_errors, 0);
    /* a key never defined is refused and counted */
    at = begin(&s->b, FROM_SERVER, GET_FIELD);
    u32(&s->b, 3); u8(&s->b, 0xff); u8(&s->b, 0xfe); u16(&s->b, 8);
    end(&s->b, at);
    tx(s, 1);
    ck_assert_uint_eq(M(s)->health.decode_errors, 1);
    sess_free(s);
}
END_TEST

/* Everything a type cache holds is charged to the byte budget: each type's
 * header and nodes as malloc keeps them, and the id map's slots; a small
 * budget refuses the rest (counted), and it all comes back at the end */
START_TEST(type_cache_charged_in_full)
{
    struct sess *s = sess_new(_i);
    validate(s);
    struct mem_budget *b = &M(s)->health.buffers;
    size_t base = b->used;
    for (uint16_t key = 0; key < 200; key++) {
        size_t at = begin(&s->b, FROM_SERVER, GET_FIELD);
        u32(&s->b, key); u8(&s->b, 0xff); u8(&s->b, 0xfd); u16(&s->b, key); u8(&s->b, 0x43);
        end(&s->b, at);
        tx(s, 1);
    }
    ck_assert_uint_eq(M(s)->health.decode_errors, 0);
    /* 200 one-node types: header and node rounded up to malloc's granules,
     * its header, and at least 256 slots of the map */
    size_t per_type = ((sizeof(struct pvd_type) + sizeof(struct pvd_node) + 15) & ~(size_t)15) + 16;
    ck_assert_uint_ge(b->used - base, 200 * per_type + 256 * sizeof(struct idmap_slot));
    ck_assert_uint_le(b->used - base, 200 * per_type + 1024 * sizeof(struct idmap_slot));
    /* a budget nearly spent refuses new types, and says so */
    b->max = b->used + per_type / 2;
    uint64_t refused = b->refused;
    size_t at = begin(&s->b, FROM_SERVER, GET_FIELD);
    u32(&s->b, 999); u8(&s->b, 0xff); u8(&s->b, 0xfd); u16(&s->b, 999); u8(&s->b, 0x43);
    end(&s->b, at);
    tx(s, 1);
    ck_assert_uint_gt(b->refused, refused);
    ck_assert_uint_le(b->used, b->max);
    sess_free(s);           /* checks that the budget is back to 0 */
}
END_TEST

START_TEST(segmented_messages)
{
    struct sess *s = sess_new(_i);
    uint64_t in[2] = { 0, 0 };
    validate(s);
    create(s, 1, "S:1", 41, in);
    op_init(s, PUT, 41, 1, t_ntscalar, 0x43, in);
    /* one PUT in three segments: 9 + 2 + 8 payload bytes */
    uint64_t seg = 0;
    size_t at = begin(&s->b, SEG_FIRST, PUT);
    u32(&s->b, 41); u32(&s->b, 1); u8(&s->b, 0x00);
    seg += end(&s->b, at);
    at = begin(&s->b, SEG_MIDDLE, PUT);
    size_(&s->b, 1); u8(&s->b, 0x02);
    seg += end(&s->b, at);
    ctrl(&s->b, 0, 0, 0);               /* a marker between segments changes nothing */
    at = begin(&s->b, SEG_LAST, PUT);
    f64(&s->b, -7.5);
    seg += end(&s->b, at);
    in[0] += seg;
    /* and split across TCP segments at every few bytes */
    size_t n = s->b.len;
    nb_conn_send_split(&s->c, 0, s->b.d, n, 5);
    s->b.len = 0;
    reply_ok(s, PUT, 1, 0x00);
    ck_assert_str_eq(last_put(s)->value, "-7.5");
    struct pv *pv = PV(s, "S:1");
    ck_assert_uint_eq(pv->puts, 1);
    ck_assert_uint_eq(pv->bytes_in, in[0]);
    ck_assert_uint_eq(M(s)->health.decode_errors, 0);
    /* a segment without its first one, and a first one never finished */
    at = begin(&s->b, SEG_LAST, PUT);
    f64(&s->b, 1);
    end(&s->b, at);
    tx(s, 0);
    ck_assert_uint_eq(M(s)->health.decode_errors, 1);
    at = begin(&s->b, SEG_FIRST, PUT);
    u32(&s->b, 41); u32(&s->b, 1); u8(&s->b, 0x00);
    end(&s->b, at);
    tx(s, 0);
    put_exec(s, 41, 1, 0x02, v_double, in);
    ck_assert_uint_eq(M(s)->health.decode_errors, 2);
    ck_assert_uint_eq(pv->puts, 2);     /* the whole message after it still counts */
    sess_free(s);
}
END_TEST

START_TEST(large_segmented_message_kept_in_part)
{
    /* more than the decoder keeps: the value at the front still shows */
    struct sess *s = sess_new(_i);
    uint64_t in[2] = { 0, 0 };
    validate(s);
    create(s, 1, "W:1", 51, in);
    op_init(s, PUT, 51, 1, t_ntscalar, 0x4b, in);
    const uint32_t count = 20000;       /* 160 kB of doubles in 40 kB segments */
    struct pm *big = malloc(sizeof(*big));
    uint64_t total = 0;
    big->be = _i;
    big->len = 0;
    size_t at = begin(big, SEG_FIRST, PUT);
    u32(big, 51); u32(big, 1); u8(big, 0x00);
    size_(big, 1); u8(big, 0x02); size_(big, count);
    total += end(big, at);
    nb_conn_send(&s->c, 0, big->d, big->len);
    for (uint32_t done = 0, k = 0; done < count; k++) {
        uint32_t n = count - done < 5000 ? count - done : 5000;
        big->len = 0;
        at = begin(big, done + n == count ? SEG_LAST : SEG_MIDDLE, PUT);
        for (uint32_t i = 0; i < n; i++)
            f64(big, done + i + 0.5);
        total += end(big, at);
        nb_conn_send_split(&s->c, 0, big->d, big->len, 1400);
        done += n;
    }
    free(big);
    reply_ok(s, PUT, 1, 0x00);
    ck_assert_str_eq(last_put(s)->value, "0.5,1.5,2.5,3.5,...");
    ck_assert_uint_eq(PV(s, "W:1")->bytes_in, in[0] + total);
    ck_assert_uint_eq(M(s)->health.decode_errors, 0);
    sess_free(s);
}
END_TEST

START_TEST(other_operations)
{
    struct sess *s = sess_new(_i);
    uint64_t in[2] = { 0, 0 };
    validate(s);
    create(s, 1, "O:1", 61, in);
    struct pv *pv = PV(s, "O:1");

    /* RPC: arguments and result are type and value */
    op_init(s, RPC, 61, 1, NULL, 0, in);
    size_t at = begin(&s->b, 0, RPC);
    u32(&s->b, 61); u32(&s->b, 1); u8(&s->b, 0x00);
    u8(&s->b, 0x80); str(&s->b, ""); size_(&s->b, 1); str(&s->b, "a"); u8(&s->b, 0x82);
    u8(&s->b, 0x22); u32(&s->b, 5);                 /* any: an int */
    in[0] += end(&s->b, at);
    tx(s, 0);
    at = begin(&s->b, FROM_SERVER, RPC);
    u32(&s->b, 1); u8(&s->b, 0x10); u8(&s->b, 0xff);
    t_ntscalar(&s->b, 0x60); str(&s->b, "done");
    u32(&s->b, 0); u32(&s->b, 0); str(&s->b, ""); uN(&s->b, 0, 8); u32(&s->b, 0); u32(&s->b, 0);
    in[1] += end(&s->b, at);
    tx(s, 1);
    ck_assert_uint_eq(pv->rpcs, 1);
    ck_assert_uint_eq(M(s)->circuits->requests.count, 0);     /* 0x10: last request */

    /* GET_FIELD */
    at = begin(&s->b, 0, GET_FIELD);
    u32(&s->b, 61); u32(&s->b, 2); str(&s->b, "");
    in[0] += end(&s->b, at);
    tx(s, 0);
    at = begin(&s->b, FROM_SERVER, GET_FIELD);
    u32(&s->b, 2); u8(&s->b, 0xff); t_ntscalar(&s->b, 0x43);
    in[1] += end(&s->b, at);
    tx(s, 1);

    /* PROCESS */
    op_init(s, PROCESS, 61, 3, NULL, 0, in);
    at = begin(&s->b, 0, PROCESS);
    u32(&s->b, 61); u32(&s->b, 3); u8(&s->b, 0x00);
    in[0] += end(&s->b, at);
    tx(s, 0);
    in[1] += reply_ok(s, PROCESS, 3, 0x00);
    in[0] += sid_ioid(s, CANCEL_REQUEST, 61, 3);
    in[0] += sid_ioid(s, DESTROY_REQUEST, 61, 3);

    /* PUT_GET: two types at INIT; the put side is written */
    at = begin(&s->b, 0, PUT_GET);
    u32(&s->b, 61); u32(&s->b, 4); u8(&s->b, 0x08); pvrequest(&s->b);
    in[0] += end(&s->b, at);
    tx(s, 0);
    at = begin(&s->b, FROM_SERVER, PUT_GET);
    u32(&s->b, 4); u8(&s->b, 0x08); u8(&s->b, 0xff);
    t_ntscalar(&s->b, 0x22); t_ntscalar(&s->b, 0x43);
    in[1] += end(&s->b, at);
    tx(s, 1);
    at = begin(&s->b, 0, PUT_GET);
    u32(&s->b, 61); u32(&s->b, 4); u8(&s->b, 0x00);
    size_(&s->b, 1); u8(&s->b, 0x02); u32(&s->b, (uint32_t)-12);
    in[0] += end(&s->b, at);
    tx(s, 0);
    at = begin(&s->b, FROM_SERVER, PUT_GET);
    u32(&s->b, 4); u8(&s->b, 0x00); u8(&s->b, 0xff);
    size_(&s->b, 1); u8(&s->b, 0x02); f64(&s->b, -12);
    in[1] += end(&s->b, at);
    tx(s, 1);
    ck_assert_uint_eq(pv->puts, 1);
    ck_assert_str_eq(last_put(s)->value, "-12");
    ck_assert_str_eq(last_put(s)->type, "int");
    /* get-put (0x80) and get-get (0x40) read, they write nothing */
    for (uint8_t sub = 0x40; sub; sub = (uint8_t)(sub << 1)) {
        at = begin(&s->b, 0, PUT_GET);
        u32(&s->b, 61); u32(&s->b, 4); u8(&s->b, sub);
        in[0] += end(&s->b, at);
        tx(s, 0);
        at = begin(&s->b, FROM_SERVER, PUT_GET);
        u32(&s->b, 4); u8(&s->b, sub); u8(&s->b, 0xff);
        size_(&s->b, 1); u8(&s->b, 0x02);
        if (sub == 0x80)
            u32(&s->b, 1);
        else
            f64(&s->b, 1);
        in[1] += end(&s->b, at);
        tx(s, 1);
    }
    ck_assert_uint_eq(pv->puts, 1);
    ck_assert_uint_eq(M(s)->put_count[1], 1);

    /* ARRAY: a put of elements is audited, not counted as a PUT */
    at = begin(&s->b, 0, ARRAY);
    u32(&s->b, 61); u32(&s->b, 5); u8(&s->b, 0x08); pvrequest(&s->b);
    in[0] += end(&s->b, at);
    tx(s, 0);
    at = begin(&s->b, FROM_SERVER, ARRAY);
    u32(&s->b, 5); u8(&s->b, 0x08); u8(&s->b, 0xff); u8(&s->b, 0x4b);
    in[1] += end(&s->b, at);
    tx(s, 1);
    at = begin(&s->b, 0, ARRAY);
    u32(&s->b, 61); u32(&s->b, 5); u8(&s->b, 0x00);
    size_(&s->b, 0); size_(&s->b, 1); size_(&s->b, 2); f64(&s->b, 7); f64(&s->b, 8);
    in[0] += end(&s->b, at);
    tx(s, 0);
    in[1] += reply_ok(s, ARRAY, 5, 0x00);
    ck_assert_str_eq(last_put(s)->value, "7,8");
    ck_assert_uint_eq(pv->puts, 1);
    at = begin(&s->b, 0, ARRAY);                    /* get length */
    u32(&s->b, 61); u32(&s->b, 5); u8(&s->b, 0x04);
    in[0] += end(&s->b, at);
    tx(s, 0);
    at = begin(&s->b, FROM_SERVER, ARRAY);
    u32(&s->b, 5); u8(&s->b, 0x04); u8(&s->b, 0xff); size_(&s->b, 2);
    in[1] += end(&s->b, at);
    tx(s, 1);

    ck_assert_uint_eq(pv->bytes_in, in[0]);
    ck_assert_uint_eq(pv->bytes_out, in[1]);
    ck_assert_uint_eq(M(s)->health.decode_errors, 0);
    sess_free(s);
}
END_TEST

START_TEST(create_failed)
{
    struct sess *s = sess_new(_i);
    validate(s);
    size_t at = begin(&s->b, 0, CREATE_CHANNEL);
    u16(&s->b, 1); u32(&s->b, 9); str(&s->b, "F:1");
    end(&s->b, at);
    tx(s, 0);
    at = begin(&s->b, FROM_SERVER, CREATE_CHANNEL);
    u32(&s->b, 9); u32(&s->b, 0xffffffff); u8(&s->b, 3); str(&s->b, "Refused"); str(&s->b, "");
    end(&s->b, at);
    tx(s, 1);
    struct pv *pv = PV(s, "F:1");
    ck_assert_uint_eq(pv->connects, 0);
    ck_assert_uint_eq(pv->connect_fails, 1);
    ck_assert_uint_eq(SRV(s)->connect_fails, 1);
    ck_assert_uint_eq(pv->channels, 0);
    sess_free(s);
}
END_TEST

/* A cid listed twice in one CREATE_CHANNEL, then again over an open channel
 * with a monitor: each replaced channel takes its requests with it, and
 * nothing refers to it after (valgrind sees any such read) */
START_TEST(create_channel_cid_reused)
{
    struct sess *s = sess_new(_i);
    uint64_t in[2] = { 0, 0 };
    validate(s);
    size_t at = begin(&s->b, 0, CREATE_CHANNEL);
    u16(&s->b, 2); u32(&s->b, 5); str(&s->b, "D:1"); u32(&s->b, 5); str(&s->b, "D:2");
    size_t n = end(&s->b, at);
    tx(s, 0);
    ck_assert_uint_eq(M(s)->health.channels, 1);
    ck_assert_uint_eq(PV(s, "D:2")->bytes_in, n);       /* the first entry's channel was replaced */
    ck_assert_uint_eq(PV(s, "D:1")->bytes_in, 0);
    create(s, 6, "D:3", 60, in);
    op_init(s, MONITOR, 60, 600, t_ntscalar, 0x06, in);
    ck_assert_uint_eq(PV(s, "D:3")->monitors, 1);
    ck_assert_uint_eq(M(s)->health.requests, 1);
    create(s, 6, "D:4", 61, in);
    ck_assert_uint_eq(M(s)->health.requests, 0);
    ck_assert_uint_eq(PV(s, "D:3")->monitors, 0);
    ck_assert_uint_eq(PV(s, "D:3")->channels, 0);
    ck_assert_uint_eq(SRV(s)->monitors, 0);
    /* the old ioid answered: no request matches it */
    reply_ok(s, MONITOR, 600, 0x10);
    ck_assert_uint_eq(M(s)->health.channels, 2);
    sess_free(s);
}
END_TEST

START_TEST(hostile_types_refused)
{
    struct sess *s = sess_new(_i);
    uint64_t in[2] = { 0, 0 };
    validate(s);
    create(s, 1, "H:1", 71, in);
    uint64_t errs = M(s)->health.decode_errors;
    /* too deep */
    size_t at = begin(&s->b, FROM_SERVER, GET_FIELD);
    u32(&s->b, 1); u8(&s->b, 0xff);
    for (int k = 0; k < 40; k++) {
        u8(&s->b, 0x80); str(&s->b, ""); size_(&s->b, 1); str(&s->b, "x");
    }
    u8(&s->b, 0x43);
    end(&s->b, at);
    tx(s, 1);
    ck_assert_uint_eq(M(s)->health.decode_errors, ++errs);
    /* a fixed-size type code, an unknown one, a field count far beyond the bytes */
    static const uint8_t bad[][3] = { { 0x18, 0, 0 }, { 0x7f, 0, 0 }, { 0x80, 0, 0xfd } };
    for (int k = 0; k < 3; k++) {
        at = begin(&s->b, FROM_SERVER, GET_FIELD);
        u32(&s->b, 1); u8(&s->b, 0xff);
        for (int i = 0; i < 3; i++)
            u8(&s->b, bad[k][i]);
        end(&s->b, at);
        tx(s, 1);
        ck_assert_uint_eq(M(s)->health.decode_errors, ++errs);
    }
    /* too many fields in one type */
    at = begin(&s->b, FROM_SERVER, GET_FIELD);
    u32(&s->b, 1); u8(&s->b, 0xff);
    u8(&s->b, 0x80); str(&s->b, ""); size_(&s->b, 5000);
    for (int k = 0; k < 5000; k++) {
        u8(&s->b, 0); u8(&s->b, 0x43);         /* unnamed doubles */
    }
    end(&s->b, at);
    tx(s, 1);
    ck_assert_uint_eq(M(s)->health.decode_errors, ++errs);
    /* a union selector beyond its members, in an RPC argument */
    at = begin(&s->b, 0, RPC);
    u32(&s->b, 71); u32(&s->b, 2); u8(&s->b, 0x00);
    u8(&s->b, 0x80); str(&s->b, ""); size_(&s->b, 1);
    str(&s->b, "u"); u8(&s->b, 0x81); str(&s->b, ""); size_(&s->b, 1);
    str(&s->b, "a"); u8(&s->b, 0x43);
    u8(&s->b, 3);
    end(&s->b, at);
    tx(s, 0);
    ck_assert_uint_eq(M(s)->health.decode_errors, ++errs);
    /* an array count far beyond the bytes */
    at = begin(&s->b, 0, RPC);
    u32(&s->b, 71); u32(&s->b, 2); u8(&s->b, 0x00);
    u8(&s->b, 0x4b); size_(&s->b, 0x40000000); f64(&s->b, 1);
    end(&s->b, at);
    tx(s, 0);
    ck_assert_uint_eq(M(s)->health.decode_errors, ++errs);
    /* the circuit still works */
    op_init(s, GET, 71, 3, t_ntscalar, 0x43, in);
    at = begin(&s->b, 0, GET);
    u32(&s->b, 71); u32(&s->b, 3); u8(&s->b, 0x00);
    end(&s->b, at);
    tx(s, 0);
    ck_assert_uint_eq(PV(s, "H:1")->gets, 1);
    ck_assert_uint_eq(M(s)->health.decode_errors, errs);
    sess_free(s);
}
END_TEST

START_TEST(bitset_words_both_orders)
{
    /* 70 fields: bit 66 sits in the trailing bytes after one 64-bit word */
    struct pm *b = calloc(1, sizeof(*b));
    b->be = _i;
    u8(b, 0x80); str(b, ""); size_(b, 70);
    for (int k = 0; k < 70; k++) {
        char name[8];
        snprintf(name, sizeof(name), "f%d", k + 1);
        str(b, name);
        u8(b, 0x22);
    }
    size_t tlen = b->len;
    size_(b, 9);
    uN(b, 1ULL << 3, 8);            /* bit 3: f3 */
    u8(b, 1 << 2);                  /* bit 66: f66 */
    u32(b, 33); u32(b, 666);
    struct pvd_cache cache = { 0 };
    struct wire_rd r = wire_init(b->d, b->len, b->be);
    struct pvd_ctx d;
    pvd_init(&d, &r, &cache);
    struct pvd_type *t;
    ck_assert_int_eq(pvd_type(&d, &t), 0);
    ck_assert_uint_eq(r.off, tlen);
    ck_assert_uint_eq(t->n, 71);
    struct pvd_pick pk[2] = { { .node = pvd_find(t, "f3") }, { .node = pvd_find(t, "f66") } };
    ck_assert_int_eq(pk[1].node, 66);
    ck_assert_int_eq(pvd_value_valid(&d, t, pk, 2), 0);
    ck_assert_uint_eq(r.off, r.len);
    ck_assert_str_eq(pk[0].value, "33");
    ck_assert_str_eq(pk[1].value, "666");
    ck_assert_int_eq(pvd_find(t, "nope"), -1);
    ck_assert_int_eq(pvd_find(t, "f3.x"), -1);
    pvd_unref(t);
    pvd_cache_free(&cache);
    free(b);
}
END_TEST

START_TEST(truncated_messages_everywhere)
{
    /* every cut of a session's messages, the header claiming only what is left */
    struct pm *b = calloc(1, sizeof(*b));
    b->be = _i;
    size_t at = begin(b, 0, CREATE_CHANNEL);
    u16(b, 1); u32(b, 1); str(b, "T:1");
    end(b, at);
    at = begin(b, 0, PUT);
    u32(b, 5); u32(b, 1); u8(b, 0x08); pvrequest(b);
    end(b, at);
    at = begin(b, 0, PUT);
    u32(b, 5); u32(b, 1); u8(b, 0x00); size_(b, 1); u8(b, 0x02); f64(b, 1);
    end(b, at);
    at = begin(b, 0, VALIDATION);
    u32(b, 1); u16(b, 1); u16(b, 0); str(b, "ca");
    u8(b, 0x80); str(b, ""); size_(b, 1); str(b, "user"); u8(b, 0x60); str(b, "bob");
    end(b, at);
    size_t cmsgs = b->len;
    at = begin(b, FROM_SERVER, CREATE_CHANNEL);
    u32(b, 1); u32(b, 5); u8(b, 0xff);
    end(b, at);
    at = begin(b, FROM_SERVER, PUT);
    u32(b, 1); u8(b, 0x08); u8(b, 0xff); t_ntscalar(b, 0x43);
    end(b, at);
    at = begin(b, FROM_SERVER, SEARCH_RESPONSE);
    memcpy(b->d + b->len, "GUIDGUIDGUID", 12);
    b->len += 12;
    u32(b, 1); addr(b, 0); u16(b, 5075); str(b, "tcp"); u8(b, 1); u16(b, 1); u32(b, 1);
    end(b, at);
    size_t all = b->len;
    for (size_t off = 0; off < all;) {
        uint32_t size = 0;
        for (int i = 0; i < 4; i++)
            size |= (uint32_t)b->d[off + 4 + (size_t)i] << (8 * (b->be ? 3 - i : i));
        size_t mlen = 8 + size;
        for (size_t cut = 0; cut < size; cut++) {
            struct sess *s = sess_new(_i);
            uint8_t m[512];
            memcpy(m, b->d + off, 8 + cut);
            for (int i = 0; i < 4; i++)
                m[4 + i] = (uint8_t)(cut >> (8 * (b->be ? 3 - i : i)));
            nb_conn_send(&s->c, off < cmsgs ? 0 : 1, m, 8 + cut);
            ck_assert_uint_le(M(s)->health.decode_errors, 1);
            sess_free(s);
        }
        off += mlen;
    }
    free(b);
}
END_TEST

START_TEST(random_mutations)
{
    /* a whole session, bytes changed at random: counted or ignored, never a crash */
    uint64_t seed = 0x9e3779b97f4a7c15ULL + (uint64_t)_i;
    struct pm *b = calloc(1, sizeof(*b));
    for (int round = 0; round < 60; round++) {
        b->be = round & 1;
        b->len = 0;
        size_t at = begin(b, 0, CREATE_CHANNEL);
        u16(b, 1); u32(b, 1); str(b, "R:1");
        end(b, at);
        at = begin(b, 0, MONITOR);
        u32(b, 5); u32(b, 1); u8(b, 0x08); u8(b, 0xfd); u16(b, 1); pvrequest(b);
        end(b, at);
        at = begin(b, 0, RPC);
        u32(b, 5); u32(b, 2); u8(b, 0x00);
        u8(b, 0x80); str(b, ""); size_(b, 3);
        str(b, "u"); u8(b, 0x81); str(b, ""); size_(b, 2);
        str(b, "a"); u8(b, 0x43); str(b, "s"); u8(b, 0x88); t_ntscalar(b, 0x22);
        str(b, "y"); u8(b, 0x8a);
        str(b, "z"); u8(b, 0x89); u8(b, 0x81); str(b, ""); size_(b, 1); str(b, "q"); u8(b, 0x60);
        u8(b, 1); uN(b, 0, 8);
        size_(b, 2); u8(b, 1); u8(b, 0xfd); u16(b, 3); u8(b, 0x22); u32(b, 1); u8(b, 0);
        size_(b, 1); u8(b, 1); u8(b, 0); str(b, "w");
        end(b, at);
        size_t cmsgs = b->len;
        at = begin(b, FROM_SERVER, CREATE_CHANNEL);
        u32(b, 1); u32(b, 5); u8(b, 0xff);
        end(b, at);
        at = begin(b, FROM_SERVER, MONITOR);
        u32(b, 1); u8(b, 0x08); u8(b, 0xff); u8(b, 0xfd); u16(b, 2); t_ntenum(b);
        end(b, at);
        for (int k = 0; k < 3; k++) {
            at = begin(b, FROM_SERVER, MONITOR);
            u32(b, 1); u8(b, 0); size_(b, 1); u8(b, 0x0e); u32(b, 2); size_(b, 1); str(b, "x");
            size_(b, 0);
            end(b, at);
        }
        int flips = 1 + (int)(nb_rand(&seed) % 6);
        for (int k = 0; k < flips; k++) {
            uint32_t pos = nb_rand(&seed) % (uint32_t)b->len;
            uint32_t how = nb_rand(&seed) % 4;
            b->d[pos] = how == 0 ? 0xff : how == 1 ? 0xfe : how == 2 ? 0xfd
                                                   : (uint8_t)nb_rand(&seed);
        }
        struct sess *s = sess_new(b->be);
        nb_conn_send_split(&s->c, 0, b->d, cmsgs, 1 + nb_rand(&seed) % 50);
        nb_conn_send_split(&s->c, 1, b->d + cmsgs, b->len - cmsgs, 1 + nb_rand(&seed) % 50);
        engine_finish(s->e);
        sess_free(s);
    }
    free(b);
}
END_TEST

START_TEST(command_names)
{
    static const char *names[] = {
        "BEACON", "CONNECTION_VALIDATION", "ECHO", "SEARCH", "SEARCH_RESPONSE", "AUTHNZ",
        "ACL_CHANGE", "CREATE_CHANNEL", "DESTROY_CHANNEL", "CONNECTION_VALIDATED", "GET", "PUT",
        "PUT_GET", "MONITOR", "ARRAY", "DESTROY_REQUEST", "PROCESS", "GET_FIELD", "MESSAGE",
        "MULTIPLE_DATA", "RPC", "CANCEL_REQUEST", "ORIGIN_TAG",
    };
    for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        ck_assert_str_eq(pva_command_name(i), names[i]);
    ck_assert_str_eq(pva_command_name(23), "?");
    ck_assert_str_eq(pva_command_name(0xff), "?");
}
END_TEST

Suite *pva_suite(void)
{
    Suite *s = suite_create("pva");
    TCase *u = tcase_create("udp");
    tcase_add_loop_test(u, search_and_reply, 0, 2);
    tcase_add_loop_test(u, search_reply_address_field, 0, 2);
    tcase_add_loop_test(u, search_not_found_and_unanswered, 0, 2);
    tcase_add_loop_test(u, search_retried_across_an_outage, 0, 2);
    tcase_add_loop_test(u, origin_tag_copy_not_counted, 0, 2);
    tcase_add_loop_test(u, beacons_and_guid_restarts, 0, 2);
    tcase_add_loop_test(u, datagram_truncated_everywhere, 0, 2);
    suite_add_tcase(s, u);
    TCase *t = tcase_create("tcp");
    tcase_set_timeout(t, 60);
    tcase_add_loop_test(t, circuit_get, 0, 2);
    tcase_add_loop_test(t, put_audit_and_counts, 0, 2);
    tcase_add_loop_test(t, monitor_updates, 0, 2);
    tcase_add_loop_test(t, exchange_latencies, 0, 2);
    tcase_add_loop_test(t, update_ages, 0, 2);
    tcase_add_loop_test(t, type_cache, 0, 2);
    tcase_add_loop_test(t, type_cache_charged_in_full, 0, 2);
    tcase_add_loop_test(t, segmented_messages, 0, 2);
    tcase_add_loop_test(t, large_segmented_message_kept_in_part, 0, 2);
    tcase_add_loop_test(t, other_operations, 0, 2);
    tcase_add_loop_test(t, create_failed, 0, 2);
    suite_add_tcase(s, t);
    TCase *n = tcase_create("names");
    tcase_add_test(n, command_names);
    suite_add_tcase(s, n);
    TCase *h = tcase_create("hostile");
    tcase_set_timeout(h, 120);
    tcase_add_loop_test(h, create_channel_cid_reused, 0, 2);
    tcase_add_loop_test(h, hostile_types_refused, 0, 2);
    tcase_add_loop_test(h, bitset_words_both_orders, 0, 2);
    tcase_add_loop_test(h, truncated_messages_everywhere, 0, 2);
    tcase_add_loop_test(h, random_mutations, 0, 4);
    suite_add_tcase(s, h);
    return s;
}

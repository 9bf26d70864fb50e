/*
 * test_ca_commands.c - the Channel Access decoder command by command, with
 * the field values epics-base rsrv and the CA client library really use
 * (caProto.h; rsrv camessage.c): what each message counts, which channel it
 * is charged to, the put audit, and malformed datagrams and circuits.
 */
#include "netbuild.h"
#include "suites.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SRV IP(10, 0, 0, 1)
#define CLI IP(10, 0, 0, 2)
#define T0 1700000000000000ULL
#define SEC 1000000ULL
#define PLACEHOLDER "<unknown>@10.0.0.1:5064"

static struct engine *e;
static struct nb_conn c;
static struct buf m;
static struct pv *pv;               /* "CA:PV": cid 1, sid 100 */
static struct server *srv;

static void to_server(void)
{
    nb_conn_send(&c, 0, m.data, m.len);
    m.len = 0;
}

static void to_client(void)
{
    nb_conn_send(&c, 1, m.data, m.len);
    m.len = 0;
}

static void hdr(uint16_t cmd, uint32_t post, uint16_t dtype, uint32_t count, uint32_t p1, uint32_t p2,
                const void *pl, size_t plen)
{
    ca_msg(&m, cmd, post, dtype, count, p1, p2, pl, plen);
}

static void setup(void)
{
    e = nb_engine(NULL, NULL);
    nb_conn_init(&c, e, CLI, 40001, SRV, 5064, T0);
    nb_conn_handshake(&c);
    m.len = 0;
    hdr(CA_CMD_VERSION, 0, 0, CA_MINOR_VERSION, 0, 0, NULL, 0);
    ca_msg_str(&m, CA_CMD_CREATE_CHAN, 0, 0, 1, CA_MINOR_VERSION, "CA:PV");
    to_server();
    hdr(CA_CMD_VERSION, 0, 0, CA_MINOR_VERSION, 0, 0, NULL, 0);
    hdr(CA_CMD_ACCESS_RIGHTS, 0, 0, 0, 1, 3, NULL, 0);
    hdr(CA_CMD_CREATE_CHAN, 0, CA_DBR_DOUBLE, 1, 1, 100, NULL, 0);
    to_client();
    pv = nb_pv(e, PROTO_CA, "CA:PV");
    srv = nb_server(e, PROTO_CA, SRV, 5064);
    ck_assert_ptr_nonnull(pv);
    ck_assert_ptr_nonnull(srv);
    ck_assert_uint_eq(pv->connects, 1);
}

static void teardown(void)
{
    nb_engine_free(e);
}

static struct circuit *circ(void)
{
    return e->model.circuits;
}

static void subscribe(uint32_t subid)
{
    uint8_t mask[16] = { 0 };
    mask[13] = 1;
    hdr(CA_CMD_EVENT_ADD, 16, CA_DBR_DOUBLE, 1, 100, subid, mask, 16);
    to_server();
}

static void be_double(uint8_t *p, double d)
{
    uint64_t u;
    memcpy(&u, &d, 8);
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(u >> (56 - 8 * i));
}

static void update(uint32_t subid, uint32_t status)
{
    uint8_t v[8];
    be_double(v, 2.5);
    hdr(CA_CMD_EVENT_ADD, 8, CA_DBR_DOUBLE, 1, status, subid, v, 8);
}

/* ------------------------------------------------------------- commands */

START_TEST(command_names)
{
    static const char *names[] = {
        "VERSION", "EVENT_ADD", "EVENT_CANCEL", "READ", "WRITE", "SNAPSHOT", "SEARCH", "BUILD",
        "EVENTS_OFF", "EVENTS_ON", "READ_SYNC", "ERROR", "CLEAR_CHANNEL", "RSRV_IS_UP",
        "NOT_FOUND", "READ_NOTIFY", "READ_BUILD", "REPEATER_CONFIRM", "CREATE_CHAN",
        "WRITE_NOTIFY", "CLIENT_NAME", "HOST_NAME", "ACCESS_RIGHTS", "ECHO",
        "REPEATER_REGISTER", "SIGNAL", "CREATE_CH_FAIL", "SERVER_DISCONN",
    };
    for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        ck_assert_str_eq(ca_command_name(i), names[i]);
    ck_assert_str_eq(ca_command_name(28), "?");
    ck_assert_str_eq(ca_command_name(0xffff), "?");
}
END_TEST

START_TEST(version_echo_and_flow_control)
{
    uint64_t msgs = e->model.ps[PROTO_CA].messages;
    uint64_t in = srv->bytes_in, out = srv->bytes_out, pin = pv->bytes_in, pout = pv->bytes_out;
    hdr(CA_CMD_VERSION, 0, 0, CA_MINOR_VERSION, 0, 0, NULL, 0);
    hdr(CA_CMD_ECHO, 0, 0, 0, 0, 0, NULL, 0);
    hdr(CA_CMD_EVENTS_OFF, 0, 0, 0, 0, 0, NULL, 0);
    hdr(CA_CMD_EVENTS_ON, 0, 0, 0, 0, 0, NULL, 0);
    hdr(CA_CMD_READ_SYNC, 0, 0, 0, 0, 0, NULL, 0);
    to_server();
    /* rsrv answers VERSION, ECHO and READ_SYNC with the same command */
    hdr(CA_CMD_VERSION, 0, 0, CA_MINOR_VERSION, 0, 0, NULL, 0);
    hdr(CA_CMD_ECHO, 0, 0, 0, 0, 0, NULL, 0);
    hdr(CA_CMD_READ_SYNC, 0, 0, 0, 0, 0, NULL, 0);
    to_client();
    ck_assert_uint_eq(e->model.ps[PROTO_CA].messages - msgs, 8);
    ck_assert_uint_eq(srv->bytes_in - in, 80);
    ck_assert_uint_eq(srv->bytes_out - out, 48);
    ck_assert_uint_eq(pv->bytes_in, pin);
    ck_assert_uint_eq(pv->bytes_out, pout);
    ck_assert_uint_eq(e->model.health.decode_errors, 0);
    ck_assert_uint_eq(e->model.health.stream_gaps, 0);
    /* a server never sends EVENTS_OFF: the framing is lost */
    hdr(CA_CMD_EVENTS_OFF, 0, 0, 0, 0, 0, NULL, 0);
    to_client();
    ck_assert_uint_eq(e->model.health.stream_gaps, 1);
    hdr(CA_CMD_ECHO, 0, 0, 0, 0, 0, NULL, 0);
    to_client();
    ck_assert_uint_eq(e->model.ps[PROTO_CA].messages - msgs, 9);
}
END_TEST

START_TEST(search_over_tcp)
{
    ca_msg_str(&m, CA_CMD_SEARCH, CA_DO_REPLY, CA_MINOR_VERSION, 7, 7, "TCP:SEARCH");
    ca_msg_str(&m, CA_CMD_SEARCH, CA_DO_REPLY, CA_MINOR_VERSION, 8, 8, "TCP:MISSING");
    to_server();
    ck_assert_uint_eq(e->model.ps[PROTO_CA].search_requests, 2);
    ck_assert_uint_eq(nb_pv(e, PROTO_CA, "TCP:SEARCH")->searches, 1);
    /* rsrv's TCP reply: no payload, port in the data type, ~0 for "this server" */
    hdr(CA_CMD_SEARCH, 0, 5064, 0, 0xffffffffu, 7, NULL, 0);
    hdr(CA_CMD_NOT_FOUND, 0, CA_DO_REPLY, CA_MINOR_VERSION, 8, 8, NULL, 0);
    to_client();
    ck_assert_uint_eq(e->model.ps[PROTO_CA].search_replies, 1);
    ck_assert_uint_eq(e->model.ps[PROTO_CA].search_not_found, 1);
    struct pv *p = nb_pv(e, PROTO_CA, "TCP:SEARCH");
    ck_assert_uint_eq(p->nservers, 1);
    ck_assert_uint_eq(netaddr_v4_value(&model_pv_server(p, 0)->addr), SRV);
    ck_assert_uint_eq(model_pv_server(p, 0)->port, 5064);
    engine_finish(e);
    ck_assert_uint_eq(e->model.ps[PROTO_CA].search_unanswered, 1);
    ck_assert_uint_eq(nb_pv(e, PROTO_CA, "TCP:MISSING")->search_unanswered, 1);
}
END_TEST

START_TEST(read_notify_and_read)
{
    uint64_t pin = pv->bytes_in, pout = pv->bytes_out;
    uint8_t v[8];
    be_double(v, 1.25);
    hdr(CA_CMD_READ_NOTIFY, 0, CA_DBR_DOUBLE, 1, 100, 1, NULL, 0);
    hdr(CA_CMD_READ_NOTIFY, 0, CA_DBR_DOUBLE, 1, 100, 2, NULL, 0);
    hdr(CA_CMD_READ, 0, CA_DBR_DOUBLE, 1, 100, 3, NULL, 0);
    to_server();
    ck_assert_uint_eq(pv->reads, 3);
    ck_assert_uint_eq(srv->reads, 3);
    ck_assert_uint_eq(circ()->requests.count, 3);
    hdr(CA_CMD_READ_NOTIFY, 8, CA_DBR_DOUBLE, 1, CA_ECA_NORMAL, 1, v, 8);
    hdr(CA_CMD_READ_NOTIFY, 8, CA_DBR_DOUBLE, 1, 0x1b0, 2, v, 8);       /* ECA_GETFAIL */
    hdr(CA_CMD_READ, 8, CA_DBR_DOUBLE, 1, CA_ECA_NORMAL, 3, v, 8);
    hdr(CA_CMD_READ_NOTIFY, 8, CA_DBR_DOUBLE, 1, CA_ECA_NORMAL, 99, v, 8);  /* nobody asked */
    to_client();
    ck_assert_uint_eq(circ()->requests.count, 0);
    ck_assert_uint_eq(srv->errors, 1);
    ck_assert_uint_eq(e->model.ps[PROTO_CA].unmatched_replies, 1);
    ck_assert_uint_eq(pv->bytes_in - pin, 48);
    ck_assert_uint_eq(pv->bytes_out - pout, 72);
    ck_assert_uint_eq(nb_pv(e, PROTO_CA, PLACEHOLDER)->bytes_out, 24);
    ck_assert_uint_eq(nb_pv(e, PROTO_CA, PLACEHOLDER)->reads, 0);
}
END_TEST

/* The next segment's frame carries capture time t */
static void at(uint64_t t)
{
    c.ts = t - 100;         /* nb_conn_segment advances 100 us first */
}

static const struct latency *pv_op(enum op_latency op)
{
    ck_assert_ptr_nonnull(pv->timing);
    return &pv->timing->op_latency[op];
}

START_TEST(read_and_write_latency)
{
    uint8_t v[8];
    be_double(v, 1.25);
    ck_assert_ptr_null(pv->timing);             /* nothing until a sample */
    at(T0 + SEC);
    hdr(CA_CMD_READ_NOTIFY, 0, CA_DBR_DOUBLE, 1, 100, 1, NULL, 0);
    hdr(CA_CMD_READ_NOTIFY, 0, CA_DBR_DOUBLE, 1, 100, 2, NULL, 0);
    hdr(CA_CMD_READ_NOTIFY, 0, CA_DBR_DOUBLE, 1, 100, 3, NULL, 0);
    hdr(CA_CMD_READ, 0, CA_DBR_DOUBLE, 1, 100, 4, NULL, 0);
    to_server();
    at(T0 + SEC + 300);
    hdr(CA_CMD_READ_NOTIFY, 8, CA_DBR_DOUBLE, 1, CA_ECA_NORMAL, 1, v, 8);
    to_client();
    at(T0 + SEC + 1000);
    hdr(CA_CMD_READ_NOTIFY, 8, CA_DBR_DOUBLE, 1, 0x1b0, 2, v, 8);       /* an error status counts */
    hdr(CA_CMD_READ, 8, CA_DBR_DOUBLE, 1, CA_ECA_NORMAL, 4, v, 8);      /* obsolete READ: no sample */
    hdr(CA_CMD_READ_NOTIFY, 8, CA_DBR_DOUBLE, 1, CA_ECA_NORMAL, 99, v, 8);  /* nobody asked */
    to_client();
    /* a CA_PROTO_ERROR is no reply: the request ends without a sample */
    uint8_t req[16];
    struct buf q = { .len = 0 };
    ca_msg(&q, CA_CMD_READ_NOTIFY, 0, CA_DBR_DOUBLE, 1, 100, 3, NULL, 0);
    memcpy(req, q.data, 16);
    at(T0 + 2 * SEC);
    hdr(CA_CMD_ERROR, 16, 0, 0, 0, 0x1b0, req, 16);
    to_client();
    ck_assert_uint_eq(circ()->requests.count, 0);
    ck_assert_uint_eq(srv->op_latency[LAT_READ].count, 2);
    ck_assert_uint_eq(srv->op_latency[LAT_READ].sum_us, 300 + 1000);
    ck_assert_uint_eq(srv->op_latency[LAT_READ].max_us, 1000);
    ck_assert_uint_eq(pv_op(LAT_READ)->count, 2);
    ck_assert_uint_eq(pv_op(LAT_READ)->sum_us, 1300);
    ck_assert_uint_eq(latency_bucket(&srv->op_latency[LAT_READ], hist_bucket(300)), 1);
    ck_assert_uint_eq(latency_bucket(&srv->op_latency[LAT_READ], hist_bucket(1000)), 1);

    /* WRITE_NOTIFY to its reply; a plain WRITE has none */
    at(T0 + 3 * SEC);
    hdr(CA_CMD_WRITE, 8, CA_DBR_DOUBLE, 1, 100, 5, v, 8);
    hdr(CA_CMD_WRITE_NOTIFY, 8, CA_DBR_DOUBLE, 1, 100, 6, v, 8);
    to_server();
    at(T0 + 3 * SEC + 700);
    hdr(CA_CMD_READ_NOTIFY, 8, CA_DBR_DOUBLE, 1, CA_ECA_NORMAL, 6, v, 8);  /* another command: no sample */
    to_client();
    hdr(CA_CMD_WRITE_NOTIFY, 8, CA_DBR_DOUBLE, 1, 100, 7, v, 8);
    to_server();
    at(T0 + 4 * SEC + 5);
    hdr(CA_CMD_WRITE_NOTIFY, 0, CA_DBR_DOUBLE, 1, CA_ECA_PUTFAIL, 7, NULL, 0);
    to_client();
    ck_assert_uint_eq(srv->op_latency[LAT_WRITE].count, 1);
    ck_assert_uint_eq(srv->op_latency[LAT_WRITE].sum_us, SEC + 5 - 700 - 100);
    ck_assert_uint_eq(pv_op(LAT_WRITE)->count, 1);
    ck_assert_uint_eq(srv->op_latency[LAT_READ].count, 2);
    /* the server's histograms share bucket instances: each bucket once */
    uint32_t mask = model_bucket_mask(OBJ_SERVER, srv);
    ck_assert(mask & (1u << hist_bucket(300)));
    ck_assert(mask & (1u << hist_bucket(1000)));
    ck_assert(mask & (1u << hist_bucket(SEC - 795)));
    ck_assert_int_eq(model_bucket_users(OBJ_SERVER, srv, hist_bucket(300)), 1);
}
END_TEST

START_TEST(echo_latency_first_in_first_out)
{
    at(T0 + SEC - 1000);
    hdr(CA_CMD_ECHO, 0, 0, 0, 0, 0, NULL, 0);           /* a server ECHO first: no answer */
    to_client();
    ck_assert_uint_eq(srv->echo.count, 0);
    at(T0 + SEC);
    hdr(CA_CMD_ECHO, 0, 0, 0, 0, 0, NULL, 0);
    to_server();
    at(T0 + SEC + 40);
    hdr(CA_CMD_ECHO, 0, 0, 0, 0, 0, NULL, 0);
    to_server();
    at(T0 + SEC + 500);
    hdr(CA_CMD_ECHO, 0, 0, 0, 0, 0, NULL, 0);
    hdr(CA_CMD_ECHO, 0, 0, 0, 0, 0, NULL, 0);
    hdr(CA_CMD_ECHO, 0, 0, 0, 0, 0, NULL, 0);           /* nothing left pending */
    to_client();
    ck_assert_uint_eq(srv->echo.count, 2);
    ck_assert_uint_eq(srv->echo.sum_us, 500 + 460);
    ck_assert_uint_eq(srv->echo.max_us, 500);
    ck_assert_ptr_null(pv->timing);                     /* ECHO belongs to no PV */
    /* more pending than kept: the oldest are forgotten */
    for (uint64_t k = 0; k < ECHO_PENDING + 2; k++) {
        at(T0 + 2 * SEC + k * 10);
        hdr(CA_CMD_ECHO, 0, 0, 0, 0, 0, NULL, 0);
        to_server();
    }
    at(T0 + 3 * SEC);
    hdr(CA_CMD_ECHO, 0, 0, 0, 0, 0, NULL, 0);
    to_client();
    ck_assert_uint_eq(srv->echo.count, 3);
    ck_assert_uint_eq(srv->echo.last_us, SEC - 20);
}
END_TEST

/* A DBR_TIME_DOUBLE value: status, severity, stamp (EPICS epoch), pad, value */
static void time_update(uint32_t subid, uint16_t dtype, uint64_t stamp_us)
{
    uint8_t v[24] = { 0 };
    uint32_t sec = (uint32_t)(stamp_us / SEC - 631152000ULL);
    uint32_t nsec = (uint32_t)(stamp_us % SEC) * 1000 + 999;    /* truncated to microseconds */
    for (int i = 0; i < 4; i++) {
        v[4 + i] = (uint8_t)(sec >> (24 - 8 * i));
        v[8 + i] = (uint8_t)(nsec >> (24 - 8 * i));
    }
    be_double(v + 16, 7.5);
    hdr(CA_CMD_EVENT_ADD, 24, dtype, 1, CA_ECA_NORMAL, subid, v, 24);
}

START_TEST(update_age_of_time_types)
{
    enum { DBR_TIME_DOUBLE = 20, DBR_TIME_STRING = 14 };
    uint8_t mask[16] = { 0 };
    mask[13] = 1;
    at(T0 + SEC);
    hdr(CA_CMD_EVENT_ADD, 16, DBR_TIME_DOUBLE, 1, 100, 5, mask, 16);
    hdr(CA_CMD_EVENT_ADD, 16, CA_DBR_DOUBLE, 1, 100, 6, mask, 16);
    to_server();
    time_update(5, DBR_TIME_DOUBLE, T0 - 60 * SEC);     /* the old value at subscribing */
    to_client();
    ck_assert_uint_eq(srv->update_age.count, 0);
    at(T0 + 2 * SEC);
    time_update(5, DBR_TIME_DOUBLE, T0 + 2 * SEC - 1234);
    time_update(6, CA_DBR_DOUBLE, T0);                  /* no stamp in a plain DBR_DOUBLE */
    time_update(6, CA_DBR_DOUBLE, T0);
    to_client();
    at(T0 + 3 * SEC);
    time_update(5, DBR_TIME_DOUBLE, T0 + 3 * SEC + 10); /* the server's clock ahead */
    time_update(5, DBR_TIME_STRING, T0 + 3 * SEC - 5000);
    to_client();
    ck_assert_uint_eq(srv->update_age.count, 2);
    ck_assert_uint_eq(srv->update_age.sum_us, 1234 + 5000);
    ck_assert_uint_eq(srv->update_age.max_us, 5000);
    ck_assert_uint_eq(srv->update_age_negative, 1);
    ck_assert_uint_eq(latency_bucket(&srv->update_age, hist_bucket(1234)), 1);
    ck_assert_ptr_null(pv->timing);                     /* no request latency */
    ck_assert_uint_eq(pv->update_age.count, 2);
    ck_assert_uint_eq(pv->update_age.sum_us, 6234);
    ck_assert_uint_eq(pv->monitor_updates, 6);

    /* a subscription made before the capture: its first update counts too */
    at(T0 + 4 * SEC);
    time_update(77, DBR_TIME_DOUBLE, T0 + 4 * SEC - 50);
    /* too short to hold the stamp: no sample */
    uint8_t shortv[8] = { 0 };
    hdr(CA_CMD_EVENT_ADD, 8, DBR_TIME_DOUBLE, 1, CA_ECA_NORMAL, 77, shortv, 8);
    to_client();
    ck_assert_uint_eq(srv->update_age.count, 3);
    struct pv *unknown = nb_pv(e, PROTO_CA, PLACEHOLDER);
    ck_assert_uint_eq(unknown->update_age.sum_us, 50);
    ck_assert_uint_eq(e->model.health.decode_errors, 0);
}
END_TEST

/* caput sends a scalar the way comQueSend does: strings as strlen + 1
 * bytes padded to 8, numbers in one 8-byte block */
START_TEST(write_notify_audit_each_type)
{
    struct {
        uint16_t type;
        uint8_t v[16];
        uint32_t len;
        const char *value, *name;
    } w[] = {
        { CA_DBR_STRING, "hello epics", 16, "hello epics", "string" },
        { CA_DBR_SHORT, { 0xff, 0xfe }, 8, "-2", "short" },
        { CA_DBR_FLOAT, { 0x3f, 0xc0 }, 8, "1.5", "float" },
        { CA_DBR_ENUM, { 0x00, 0x03 }, 8, "3", "enum" },
        { CA_DBR_CHAR, { 'A' }, 8, "65", "ubyte" },
        { CA_DBR_LONG, { 0xff, 0xfe, 0x79, 0x60 }, 8, "-100000", "int" },
        { CA_DBR_DOUBLE, { 0 }, 8, "3.25", "double" },
    };
    const int n = (int)(sizeof(w) / sizeof(w[0]));
    be_double(w[6].v, 3.25);
    for (int i = 0; i < n; i++)
        hdr(CA_CMD_WRITE_NOTIFY, w[i].len, w[i].type, 1, 100, (uint32_t)(10 + i), w[i].v, w[i].len);
    to_server();
    ck_assert_uint_eq(pv->writes, (uint64_t)n);
    ck_assert_uint_eq(srv->writes, (uint64_t)n);
    ck_assert_uint_eq(e->model.puts_next, 0);       /* each waits for its status */
    for (int i = 0; i < n; i++)
        hdr(CA_CMD_WRITE_NOTIFY, 0, w[i].type, 1, w[i].type == CA_DBR_LONG ? CA_ECA_PUTFAIL : CA_ECA_NORMAL,
            (uint32_t)(10 + i), NULL, 0);
    to_client();
    ck_assert_uint_eq(e->model.puts_next, (uint64_t)n);
    ck_assert_uint_eq(e->model.put_count[PROTO_CA], (uint64_t)n);
    for (int i = 0; i < n; i++) {
        const struct put_record *r = &e->model.puts[i];
        ck_assert_str_eq(r->value, w[i].value);
        ck_assert_str_eq(r->type, w[i].name);
        ck_assert_str_eq(r->pv, "CA:PV");
        ck_assert_str_eq(r->client, "10.0.0.2:40001");
        ck_assert_str_eq(r->server, "10.0.0.1:5064");
        ck_assert(r->has_status);
        ck_assert_int_eq(r->status, w[i].type == CA_DBR_LONG ? CA_ECA_PUTFAIL : CA_ECA_NORMAL);
        ck_assert_str_eq(r->status_text, w[i].type == CA_DBR_LONG ? "ECA_PUTFAIL: write failed" : "ok");
        ck_assert_uint_eq(r->proto, PROTO_CA);
        ck_assert_uint_ge(r->ts_us, T0);
    }
    ck_assert_uint_eq(srv->errors, 1);
    ck_assert_uint_eq(circ()->requests.count, 0);
}
END_TEST

START_TEST(write_string_as_clients_send_it)
{
    uint8_t two[80] = "first";
    memcpy(two + 40, "second", 7);
    uint8_t forty[40];
    memset(forty, 'x', sizeof(forty));
    ca_msg_str(&m, CA_CMD_WRITE, CA_DBR_STRING, 1, 100, 1, "hello epics");
    hdr(CA_CMD_WRITE, 80, CA_DBR_STRING, 2, 100, 2, two, 80);
    hdr(CA_CMD_WRITE, 40, CA_DBR_STRING, 1, 100, 3, forty, 40);     /* no terminator */
    to_server();
    ck_assert_uint_eq(e->model.puts_next, 3);
    ck_assert_str_eq(e->model.puts[0].value, "hello epics");
    ck_assert_str_eq(e->model.puts[0].type, "string");
    ck_assert(!e->model.puts[0].has_status);
    ck_assert_str_eq(e->model.puts[1].value, "first,second");
    ck_assert_uint_eq(strlen(e->model.puts[2].value), 40);
    ck_assert_int_eq(e->model.puts[2].value[39], 'x');
    ck_assert_uint_eq(pv->writes, 3);
}
END_TEST

START_TEST(put_values_arrays_and_limits)
{
    uint8_t d[80], longs[16] = { 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3 };
    for (int i = 0; i < 10; i++)
        be_double(d + 8 * i, i);
    uint8_t strs[160];
    memset(strs, 'x', sizeof(strs));
    for (int i = 0; i < 4; i++)
        strs[40 * i + 39] = '\0';
    hdr(CA_CMD_WRITE, 80, CA_DBR_DOUBLE, 10, 100, 1, d, 80);
    hdr(CA_CMD_WRITE, 16, CA_DBR_LONG, 3, 100, 2, longs, 12);
    hdr(CA_CMD_WRITE, 16, CA_DBR_DOUBLE, 4, 100, 3, d + 8, 16);     /* fewer bytes than elements */
    hdr(CA_CMD_WRITE, 24, 20, 1, 100, 4, d, 24);                    /* DBR_TIME_STRING */
    hdr(CA_CMD_WRITE, 160, CA_DBR_STRING, 4, 100, 5, strs, 160);
    hdr(CA_CMD_WRITE, 8, CA_DBR_CHAR, 6, 100, 6, "ABCDEF", 6);
    to_server();
    ck_assert_uint_eq(e->model.puts_next, 6);
    ck_assert_str_eq(e->model.puts[0].value, "0,1,2,3,...");
    ck_assert_str_eq(e->model.puts[1].value, "1,2,3");
    ck_assert_str_eq(e->model.puts[1].type, "int[]");
    ck_assert_str_eq(e->model.puts[2].value, "1,2,...");
    ck_assert_str_eq(e->model.puts[3].value, "");
    ck_assert_str_eq(e->model.puts[3].type, "DBR_20");
    ck_assert_uint_lt(strlen(e->model.puts[4].value), PUT_VALUE_MAX);
    ck_assert_int_eq(strncmp(e->model.puts[4].value, "xxxxxxxxxx", 10), 0);
    ck_assert_str_eq(e->model.puts[5].value, "65,66,67,68,...");
    /* the audit ring keeps the latest PUT_RING records */
    uint8_t v[8];
    for (int i = 0; i < PUT_RING + 100; i++) {
        be_double(v, i);
        hdr(CA_CMD_WRITE, 8, CA_DBR_DOUBLE, 1, 100, 7, v, 8);
    }
    to_server();
    ck_assert_uint_eq(e->model.puts_next, 6 + PUT_RING + 100);
    ck_assert_uint_eq(e->model.put_count[PROTO_CA], 6 + PUT_RING + 100);
    char want[32];
    snprintf(want, sizeof(want), "%d", PUT_RING + 99);
    ck_assert_str_eq(e->model.puts[(e->model.puts_next - 1) % PUT_RING].value, want);
}
END_TEST

START_TEST(subscription_life)
{
    uint64_t pin = pv->bytes_in;
    subscribe(7);
    subscribe(8);
    ck_assert_uint_eq(pv->monitors, 2);
    ck_assert_uint_eq(srv->monitors, 2);
    update(7, CA_ECA_NORMAL);
    update(7, CA_ECA_NORMAL);
    update(8, CA_ECA_NORMAL);
    update(8, 0x3a);                    /* no read access: zeroed data, an error status */
    to_client();
    ck_assert_uint_eq(pv->monitor_updates, 4);
    ck_assert_uint_eq(srv->monitor_updates, 4);
    ck_assert_uint_eq(srv->errors, 1);

    hdr(CA_CMD_EVENT_CANCEL, 0, CA_DBR_DOUBLE, 1, 100, 7, NULL, 0);
    to_server();
    ck_assert_uint_eq(pv->monitors, 1);
    /* rsrv confirms with an empty EVENT_ADD carrying the request's fields */
    hdr(CA_CMD_EVENT_ADD, 0, CA_DBR_DOUBLE, 1, 100, 7, NULL, 0);
    to_client();
    ck_assert_uint_eq(pv->monitor_updates, 4);
    ck_assert_uint_eq(circ()->subs.count, 1);

    /* the id of a live subscription used again */
    subscribe(8);
    ck_assert_uint_eq(pv->monitors, 1);
    ck_assert_uint_eq(srv->monitors, 1);
    /* cancelling what does not exist changes nothing, the bytes are the channel's */
    hdr(CA_CMD_EVENT_CANCEL, 0, CA_DBR_DOUBLE, 1, 100, 55, NULL, 0);
    to_server();
    ck_assert_uint_eq(pv->monitors, 1);
    ck_assert_uint_eq(pv->bytes_in - pin, 32 * 3 + 16 * 2);
    /* an update for the cancelled id belongs to no known channel */
    update(7, CA_ECA_NORMAL);
    to_client();
    ck_assert_uint_eq(pv->monitor_updates, 4);
    ck_assert_uint_eq(srv->monitor_updates, 5);
    ck_assert_uint_eq(nb_pv(e, PROTO_CA, PLACEHOLDER)->monitor_updates, 1);
}
END_TEST

/* An empty EVENT_ADD from the server only ever confirms a cancel, even
 * when the capture missed the cancel (or the subscription) */
START_TEST(cancel_confirm_without_the_cancel)
{
    subscribe(7);
    update(7, CA_ECA_NORMAL);
    to_client();
    ck_assert_uint_eq(pv->monitor_updates, 1);
    hdr(CA_CMD_EVENT_ADD, 0, CA_DBR_DOUBLE, 1, 100, 7, NULL, 0);
    hdr(CA_CMD_EVENT_ADD, 0, CA_DBR_DOUBLE, 1, 100, 66, NULL, 0);
    to_client();
    ck_assert_uint_eq(pv->monitor_updates, 1);
    ck_assert_uint_eq(srv->monitor_updates, 1);
    ck_assert_uint_eq(pv->monitors, 0);
    ck_assert_uint_eq(circ()->subs.count, 0);
}
END_TEST

/* Updates the server sent before it saw the cancel still carry data */
START_TEST(update_in_flight_during_cancel)
{
    subscribe(7);
    hdr(CA_CMD_EVENT_CANCEL, 0, CA_DBR_DOUBLE, 1, 100, 7, NULL, 0);
    to_server();
    ck_assert_uint_eq(pv->monitors, 0);
    update(7, CA_ECA_NORMAL);
    hdr(CA_CMD_EVENT_ADD, 0, CA_DBR_DOUBLE, 1, 100, 7, NULL, 0);
    to_client();
    ck_assert_uint_eq(pv->monitor_updates, 1);
    ck_assert_uint_eq(srv->monitor_updates, 1);
    ck_assert_uint_eq(pv->monitors, 0);
    ck_assert_uint_eq(circ()->subs.count, 0);
    ck_assert_ptr_null(nb_pv(e, PROTO_CA, PLACEHOLDER));
}
END_TEST

START_TEST(clear_channel_forgets_its_requests)
{
    uint64_t pin = pv->bytes_in, pout = pv->bytes_out;
    subscribe(7);
    hdr(CA_CMD_READ_NOTIFY, 0, CA_DBR_DOUBLE, 1, 100, 5, NULL, 0);
    hdr(CA_CMD_CLEAR_CHANNEL, 0, 0, 0, 100, 1, NULL, 0);
    to_server();
    ck_assert_uint_eq(pv->channels, 1);         /* until the server confirms */
    hdr(CA_CMD_CLEAR_CHANNEL, 0, 0, 0, 100, 1, NULL, 0);
    to_client();
    ck_assert_uint_eq(pv->channels, 0);
    ck_assert_uint_eq(pv->monitors, 0);
    ck_assert_uint_eq(srv->channels, 0);
    ck_assert_uint_eq(srv->monitors, 0);
    ck_assert_uint_eq(circ()->requests.count, 0);
    ck_assert_uint_eq(circ()->subs.count, 0);
    ck_assert_uint_eq(circ()->nchannels, 0);
    ck_assert_uint_eq(pv->bytes_in - pin, 32 + 16 + 16);
    ck_assert_uint_eq(pv->bytes_out - pout, 16);
    ck_assert_uint_eq(pv->refs, 0);
    /* a late reply to the forgotten read */
    hdr(CA_CMD_READ_NOTIFY, 8, CA_DBR_DOUBLE, 1, CA_ECA_NORMAL, 5, "\0\0\0\0\0\0\0\0", 8);
    to_client();
    ck_assert_uint_eq(e->model.ps[PROTO_CA].unmatched_replies, 1);
}
END_TEST

START_TEST(channel_id_reused)
{
    ca_msg_str(&m, CA_CMD_CREATE_CHAN, 0, 0, 1, CA_MINOR_VERSION, "OTHER:PV");
    to_server();
    ck_assert_uint_eq(pv->channels, 0);
    ck_assert_uint_eq(srv->channels, 0);
    hdr(CA_CMD_CREATE_CHAN, 0, CA_DBR_DOUBLE, 1, 1, 101, NULL, 0);
    to_client();
    struct pv *o = nb_pv(e, PROTO_CA, "OTHER:PV");
    ck_assert_uint_eq(o->connects, 1);
    ck_assert_uint_eq(o->channels, 1);
    ck_assert_uint_eq(srv->channels, 1);
    ck_assert_uint_eq(srv->connects, 2);
    /* a duplicate reply is not a second connect */
    hdr(CA_CMD_CREATE_CHAN, 0, CA_DBR_DOUBLE, 1, 1, 101, NULL, 0);
    to_client();
    ck_assert_uint_eq(o->connects, 1);
    ck_assert_uint_eq(srv->connects, 2);
}
END_TEST

/* A CREATE_CHAN reusing the cid of an open channel with a pending
 * READ_NOTIFY and a subscription: the old channel takes them with it, the
 * ioid used again is a new request, and the old reply matches nothing */
START_TEST(channel_id_reused_with_requests_pending)
{
    subscribe(7);
    hdr(CA_CMD_READ_NOTIFY, 0, CA_DBR_DOUBLE, 1, 100, 5, NULL, 0);
    to_server();
    ck_assert_uint_eq(pv->monitors, 1);
    ck_assert_uint_eq(e->model.health.requests, 2);
    ca_msg_str(&m, CA_CMD_CREATE_CHAN, 0, 0, 1, CA_MINOR_VERSION, "OTHER:PV");
    to_server();
    ck_assert_uint_eq(e->model.health.requests, 0);
    ck_assert_uint_eq(circ()->requests.count, 0);
    ck_assert_uint_eq(circ()->subs.count, 0);
    ck_assert_uint_eq(pv->monitors, 0);
    ck_assert_uint_eq(srv->monitors, 0);
    ck_assert_uint_eq(pv->channels, 0);
    ck_assert_uint_eq(pv->refs, 0);
    hdr(CA_CMD_READ_NOTIFY, 8, CA_DBR_DOUBLE, 1, CA_ECA_NORMAL, 5, "\0\0\0\0\0\0\0\0", 8);
    to_client();
    ck_assert_uint_eq(e->model.ps[PROTO_CA].unmatched_replies, 1);
    hdr(CA_CMD_READ_NOTIFY, 0, CA_DBR_DOUBLE, 1, 100, 5, NULL, 0);
    to_server();
    hdr(CA_CMD_READ_NOTIFY, 8, CA_DBR_DOUBLE, 1, CA_ECA_NORMAL, 5, "\0\0\0\0\0\0\0\0", 8);
    to_client();
    ck_assert_uint_eq(e->model.health.requests, 0);
    /* a failed create of a channel with requests takes them too */
    ca_msg_str(&m, CA_CMD_CREATE_CHAN, 0, 0, 2, CA_MINOR_VERSION, "FAILS:PV");
    to_server();
    hdr(CA_CMD_CLEAR_CHANNEL, 0, 0, 0, 200, 2, NULL, 0);
    to_server();
    hdr(CA_CMD_CREATE_CH_FAIL, 0, 0, 0, 2, 0, NULL, 0);
    to_client();
    ck_assert_uint_eq(circ()->nchannels, 1);
}
END_TEST

START_TEST(create_failures)
{
    ca_msg_str(&m, CA_CMD_CREATE_CHAN, 0, 0, 2, CA_MINOR_VERSION, "REFUSED:PV");
    ca_msg_str(&m, CA_CMD_CREATE_CHAN, 0, 0, 3, CA_MINOR_VERSION, "DENIED:PV");
    to_server();
    struct buf *req = calloc(1, sizeof(*req));
    ca_msg_str(req, CA_CMD_CREATE_CHAN, 0, 0, 3, CA_MINOR_VERSION, "DENIED:PV");
    memcpy(req->data + req->len, "no such record", 15);
    hdr(CA_CMD_CREATE_CH_FAIL, 0, 0, 0, 2, 0, NULL, 0);
    hdr(CA_CMD_ERROR, (uint32_t)(req->len + 16), 0, 0, 3, 0x8a, req->data, req->len + 15);
    to_client();
    free(req);
    ck_assert_uint_eq(srv->connect_fails, 2);
    ck_assert_uint_eq(nb_pv(e, PROTO_CA, "REFUSED:PV")->connect_fails, 1);
    ck_assert_uint_eq(nb_pv(e, PROTO_CA, "DENIED:PV")->connect_fails, 1);
    ck_assert_uint_eq(nb_pv(e, PROTO_CA, "DENIED:PV")->bytes_out, 16 + 48);
    ck_assert_uint_eq(nb_pv(e, PROTO_CA, "REFUSED:PV")->bytes_out, 16);
    ck_assert_uint_eq(circ()->nchannels, 1);
    ck_assert_uint_eq(srv->errors, 1);
    /* failed creates are answered, not pending */
    engine_finish(e);
    ck_assert_uint_eq(srv->connect_unanswered, 0);
}
END_TEST

START_TEST(errors_name_the_failed_request)
{
    struct buf *req = calloc(1, sizeof(*req));
    uint64_t pout = pv->bytes_out;
    subscribe(9);
    hdr(CA_CMD_READ_NOTIFY, 0, CA_DBR_DOUBLE, 100000, 100, 4, NULL, 0);
    to_server();
    ck_assert_uint_eq(pv->monitors, 1);
    ck_assert_uint_eq(circ()->requests.count, 1);

    /* the subscription was refused */
    uint8_t mask[16] = { 0 };
    ca_msg(req, CA_CMD_EVENT_ADD, 16, CA_DBR_DOUBLE, 1, 100, 9, mask, 16);
    hdr(CA_CMD_ERROR, 32 + 8, 0, 0, 1, 0x2a, req->data, 32);
    /* a WRITE that failed (a WRITE has no reply of its own) */
    req->len = 0;
    ca_msg(req, CA_CMD_WRITE, 8, CA_DBR_DOUBLE, 1, 100, 1, mask, 8);
    hdr(CA_CMD_ERROR, 24 + 8, 0, 0, 1, 0xa0, req->data, 24);
    /* the read with a 24-byte header copied back */
    req->len = 0;
    ca_msg(req, CA_CMD_READ_NOTIFY, 0, CA_DBR_DOUBLE, 100000, 100, 4, NULL, 0);
    hdr(CA_CMD_ERROR, 24 + 8, 0, 0, 1, 0xa0, req->data, 24);
    /* too short to hold a header */
    hdr(CA_CMD_ERROR, 8, 0, 0, 0xffffffffu, 0xa0, "short", 6);
    to_client();
    free(req);
    ck_assert_uint_eq(srv->errors, 4);
    ck_assert_uint_eq(pv->monitors, 0);
    ck_assert_uint_eq(srv->monitors, 0);
    ck_assert_uint_eq(circ()->subs.count, 0);
    ck_assert_uint_eq(circ()->requests.count, 0);
    ck_assert_uint_eq(pv->bytes_out - pout, 56 + 48 + 48);
    ck_assert_uint_eq(e->model.health.decode_errors, 0);
}
END_TEST

START_TEST(server_disconnect)
{
    subscribe(7);
    hdr(CA_CMD_SERVER_DISCONN, 0, 0, 0, 1, 0, NULL, 0);
    to_client();
    ck_assert_uint_eq(pv->channels, 0);
    ck_assert_uint_eq(pv->monitors, 0);
    ck_assert_uint_eq(srv->channels, 0);
    ck_assert_uint_eq(srv->monitors, 0);
    ck_assert_uint_eq(circ()->subs.count, 0);
    ck_assert_uint_eq(nb_client(e, PROTO_CA, CLI)->channels, 0);
    /* the name can be connected again on the same circuit */
    ca_msg_str(&m, CA_CMD_CREATE_CHAN, 0, 0, 1, CA_MINOR_VERSION, "CA:PV");
    to_server();
    hdr(CA_CMD_CREATE_CHAN, 0, CA_DBR_DOUBLE, 1, 1, 100, NULL, 0);
    to_client();
    ck_assert_uint_eq(pv->connects, 2);
    ck_assert_uint_eq(pv->channels, 1);
}
END_TEST

START_TEST(circuit_end_releases_everything)
{
    subscribe(7);
    hdr(CA_CMD_READ_NOTIFY, 0, CA_DBR_DOUBLE, 1, 100, 3, NULL, 0);
    to_server();
    ck_assert_uint_gt(pv->refs, 0);
    nb_conn_fin(&c, 0);
    nb_conn_fin(&c, 1);
    ck_assert_uint_eq(e->model.health.circuits, 0);
    ck_assert_uint_eq(pv->channels, 0);
    ck_assert_uint_eq(pv->monitors, 0);
    ck_assert_uint_eq(pv->refs, 0);
    ck_assert_uint_eq(srv->channels, 0);
    ck_assert_uint_eq(srv->monitors, 0);
    ck_assert_uint_eq(srv->circuits, 0);
    ck_assert_uint_eq(nb_client(e, PROTO_CA, CLI)->circuits, 0);
}
END_TEST

START_TEST(client_and_host_names)
{
    char host[100];
    memset(host, 'h', sizeof(host) - 1);
    host[sizeof(host) - 1] = '\0';
    ca_msg_str(&m, CA_CMD_CLIENT_NAME, 0, 0, 0, 0, "op\x01\x7f" "er");
    ca_msg_str(&m, CA_CMD_HOST_NAME, 0, 0, 0, 0, host);
    to_server();
    struct client *cl = nb_client(e, PROTO_CA, CLI);
    ck_assert_str_eq(cl->user, "op??er");
    ck_assert_uint_eq(strlen(cl->host), CLIENT_STR_MAX - 1);
    ck_assert_str_eq(cl->name, "10.0.0.2");
    /* a name that fills its payload without a terminator */
    hdr(CA_CMD_HOST_NAME, 8, 0, 0, 0, 0, "ABCDEFGH", 8);
    to_server();
    ck_assert_str_eq(cl->host, "ABCDEFGH");
    ck_assert_uint_eq(e->model.health.decode_errors, 0);
}
END_TEST

START_TEST(connect_latency_starts_at_the_first_search)
{
    m.len = 0;
    ca_msg_str(&m, CA_CMD_SEARCH, CA_DONT_REPLY, CA_MINOR_VERSION, 5, 5, "LAT:PV");
    nb_send_udp(e, NULL, T0 + SEC, CLI, 40000, SRV, 5064, m.data, m.len);
    nb_send_udp(e, NULL, T0 + 2 * SEC, CLI, 40000, SRV, 5064, m.data, m.len);
    m.len = 0;
    c.ts = T0 + 3 * SEC;
    ca_msg_str(&m, CA_CMD_CREATE_CHAN, 0, 0, 5, CA_MINOR_VERSION, "LAT:PV");
    ca_msg_str(&m, CA_CMD_CREATE_CHAN, 0, 0, 6, CA_MINOR_VERSION, "NOSEARCH:PV");
    to_server();
    c.ts = T0 + 3 * SEC + 400;
    hdr(CA_CMD_CREATE_CHAN, 0, CA_DBR_DOUBLE, 1, 5, 105, NULL, 0);
    hdr(CA_CMD_CREATE_CHAN, 0, CA_DBR_DOUBLE, 1, 6, 106, NULL, 0);
    to_client();
    struct pv *p = nb_pv(e, PROTO_CA, "LAT:PV"), *q = nb_pv(e, PROTO_CA, "NOSEARCH:PV");
    ck_assert_uint_eq(p->connect.count, 1);
    ck_assert_uint_eq(p->connect.last_us, 2 * SEC + 500);
    ck_assert_uint_eq(q->connect.last_us, 400);
    ck_assert_uint_eq(srv->connect.count, 3);
    ck_assert_uint_eq(srv->connect.max_us, 2 * SEC + 500);
    ck_assert_uint_eq(latency_bucket(&p->connect, hist_bucket(2 * SEC + 500)), 1);
}
END_TEST

START_TEST(extended_headers)
{
    static struct buf big;
    uint64_t pin = pv->bytes_in, pout = pv->bytes_out;
    big.len = 0;
    uint8_t *vals = calloc(20000, 8);
    for (int i = 0; i < 20000; i++)
        be_double(vals + 8 * i, i);
    ca_msg(&big, CA_CMD_WRITE, 160000, CA_DBR_DOUBLE, 20000, 100, 1, vals, 160000);
    free(vals);
    ck_assert_uint_eq(big.len, 24 + 160000);
    nb_conn_send_split(&c, 0, big.data, big.len, 1460);
    ck_assert_uint_eq(pv->writes, 1);
    ck_assert_uint_eq(e->model.puts_next, 1);
    ck_assert_str_eq(e->model.puts[0].value, "0,1,2,3,...");
    ck_assert_uint_eq(pv->bytes_in - pin, 24 + 160000);
    /* postsize 0xffff with a count is no extended header: 65535 bytes follow */
    hdr(CA_CMD_READ_NOTIFY, 0, CA_DBR_CHAR, 65535, 100, 2, NULL, 0);
    to_server();
    big.len = 0;
    ca_msg(&big, CA_CMD_READ_NOTIFY, 0, CA_DBR_CHAR, 65535, CA_ECA_NORMAL, 2, NULL, 0);
    big.data[2] = 0xff;
    big.data[3] = 0xff;
    memset(big.data + 16, 'z', 65535);
    big.len = 16 + 65535;
    ca_msg(&big, CA_CMD_ECHO, 0, 0, 0, 0, 0, NULL, 0);
    nb_conn_send_split(&c, 1, big.data, big.len, 1460);
    ck_assert_uint_eq(e->model.ps[PROTO_CA].unmatched_replies, 0);
    ck_assert_uint_eq(circ()->requests.count, 0);
    ck_assert_uint_eq(pv->bytes_out - pout, 16 + 65535);
    ck_assert_uint_eq(e->model.health.stream_gaps, 0);
}
END_TEST

START_TEST(empty_channel_name_on_a_circuit)
{
    hdr(CA_CMD_CREATE_CHAN, 8, 0, 0, 9, CA_MINOR_VERSION, NULL, 0);
    to_server();
    ck_assert_uint_eq(e->model.health.decode_errors, 1);
    ck_assert_uint_eq(circ()->nchannels, 1);
    /* a huge size announced by the client: the framing is lost, not memory */
    static const uint8_t ext[24] = { 0, 1, 0xff, 0xff, 0, 6, 0, 0, 0, 0, 0, 100, 0, 0, 0, 7,
                                     0xff, 0xff, 0xff, 0xf8, 0, 0, 0, 1 };
    nb_conn_send(&c, 0, ext, sizeof(ext));
    ck_assert_uint_eq(e->model.health.stream_gaps, 1);
    engine_tick(e, c.ts);
    ck_assert_uint_lt(e->model.health.buffers.used, 64 * 1024);
    hdr(CA_CMD_READ_NOTIFY, 0, CA_DBR_DOUBLE, 1, 100, 1, NULL, 0);
    to_server();
    ck_assert_uint_eq(pv->reads, 1);
}
END_TEST

/* ------------------------------------------------------------ mid-stream */

START_TEST(joined_mid_stream)
{
    struct engine *j = nb_engine(NULL, NULL);
    struct nb_conn k;
    nb_conn_init(&k, j, CLI, 40009, SRV, 5064, T0);
    m.len = 0;
    /* created before the capture: only the server's reply is seen */
    hdr(CA_CMD_CREATE_CHAN, 0, CA_DBR_DOUBLE, 1, 3, 30, NULL, 0);
    nb_conn_send(&k, 1, m.data, m.len);
    struct pv *u = nb_pv(j, PROTO_CA, PLACEHOLDER);
    struct server *s = nb_server(j, PROTO_CA, SRV, 5064);
    ck_assert_ptr_nonnull(u);
    ck_assert_uint_eq(u->connects, 1);
    ck_assert_uint_eq(u->channels, 1);
    ck_assert_uint_eq(s->connects, 1);
    ck_assert_uint_eq(u->connect.count, 0);     /* no request, no latency */
    m.len = 0;
    hdr(CA_CMD_READ_NOTIFY, 0, CA_DBR_DOUBLE, 1, 30, 1, NULL, 0);
    hdr(CA_CMD_READ_NOTIFY, 0, CA_DBR_DOUBLE, 1, 31, 2, NULL, 0);
    hdr(CA_CMD_WRITE, 8, CA_DBR_DOUBLE, 1, 31, 3, "\x3f\xf0\0\0\0\0\0\0", 8);
    nb_conn_send(&k, 0, m.data, m.len);
    ck_assert_uint_eq(u->reads, 2);
    ck_assert_uint_eq(u->writes, 1);
    ck_assert_str_eq(j->model.puts[0].pv, PLACEHOLDER);
    ck_assert_str_eq(j->model.puts[0].value, "1");
    ck_assert_uint_eq(s->reads, 2);
    ck_assert_uint_eq(j->model.health.stream_gaps, 0);
    nb_engine_free(j);
}
END_TEST

/* ---------------------------------------------------------------- UDP */

START_TEST(beacons_and_the_repeater)
{
    const uint32_t bcast = IP(10, 0, 0, 255);
    for (uint32_t i = 0; i < 4; i++) {
        m.len = 0;
        hdr(CA_CMD_RSRV_IS_UP, 0, CA_MINOR_VERSION, 5064, i, 0, NULL, 0);
        nb_send_udp(e, NULL, T0 + i * 15 * SEC, SRV, 43000, bcast, 5065, m.data, m.len);
        /* the repeater forwards each one to its registered clients */
        nb_send_udp(e, NULL, T0 + i * 15 * SEC + 50, CLI, 5065, CLI, 40005, m.data, m.len);
    }
    ck_assert_uint_eq(srv->beacons, 4);
    ck_assert_uint_eq(e->model.ps[PROTO_CA].beacons, 4);
    /* registration with the repeater and its confirmation */
    m.len = 0;
    hdr(CA_CMD_REPEATER_REGISTER, 0, 0, 0, 0, CLI, NULL, 0);
    nb_send_udp(e, NULL, T0 + 61 * SEC, CLI, 40005, CLI, 5065, m.data, m.len);
    m.len = 0;
    hdr(CA_CMD_REPEATER_CONFIRM, 0, 0, 0, 0, CLI, NULL, 0);
    nb_send_udp(e, NULL, T0 + 61 * SEC, CLI, 5065, CLI, 40005, m.data, m.len);
    ck_assert_uint_eq(e->model.health.decode_errors, 0);
    ck_assert_uint_eq(e->model.ps[PROTO_CA].beacons, 4);
    /* a beacon to another port is a beacon (EPICS_CAS_BEACON_PORT) */
    m.len = 0;
    hdr(CA_CMD_RSRV_IS_UP, 0, CA_MINOR_VERSION, 5064, 4, 0, NULL, 0);
    nb_send_udp(e, NULL, T0 + 62 * SEC, SRV, 43000, bcast, 5071, m.data, m.len);
    ck_assert_uint_eq(srv->beacons, 5);
    /* and a repeater's copy from that port is not counted again */
    nb_send_udp(e, NULL, T0 + 62 * SEC + 50, CLI, 5071, CLI, 40005, m.data, m.len);
    ck_assert_uint_eq(srv->beacons, 5);
    /* the IOC restarts: its beacons count from 0 again */
    for (uint32_t i = 0; i < 3; i++) {
        m.len = 0;
        hdr(CA_CMD_RSRV_IS_UP, 0, CA_MINOR_VERSION, 5064, i, SRV, NULL, 0);
        nb_send_udp(e, NULL, T0 + 90 * SEC + i * SEC / 50, SRV, 43001, bcast, 5065, m.data, m.len);
    }
    ck_assert_uint_eq(srv->beacons, 8);
    ck_assert_uint_eq(srv->restarts, 1);
}
END_TEST

START_TEST(malformed_datagrams)
{
    uint64_t errs = 0;
    /* shorter than a header */
    nb_send_udp(e, NULL, T0, CLI, 40000, SRV, 5064, "\0\x06\0\x08\0\x05\0\x0d", 8);
    ck_assert_uint_eq(e->model.health.decode_errors, ++errs);
    /* a message longer than the datagram */
    m.len = 0;
    uint8_t h[16] = { 0, 6, 0, 64, 0, 5, 0, 13, 0, 0, 0, 1, 0, 0, 0, 1 };
    uint8_t d[24];
    memcpy(d, h, 16);
    memcpy(d + 16, "ABCDEFGH", 8);
    nb_send_udp(e, NULL, T0, CLI, 40000, SRV, 5064, d, 24);
    ck_assert_uint_eq(e->model.health.decode_errors, ++errs);
    /* an unknown command, then a good search in the same datagram */
    hdr(99, 0, 0, 0, 0, 0, NULL, 0);
    ca_msg_str(&m, CA_CMD_SEARCH, CA_DONT_REPLY, CA_MINOR_VERSION, 1, 1, "AFTER:UNKNOWN");
    nb_send_udp(e, NULL, T0, CLI, 40000, SRV, 5064, m.data, m.len);
    ck_assert_uint_eq(e->model.health.decode_errors, ++errs);
    ck_assert_uint_eq(e->model.ps[PROTO_CA].search_requests, 1);
    /* an extended header announcing 4 GiB */
    static const uint8_t ext[32] = { 0, 6, 0xff, 0xff, 0, 5, 0, 0, 0, 0, 0, 2, 0, 0, 0, 2,
                                     0xff, 0xff, 0xff, 0xf0, 0, 0, 0, 13 };
    nb_send_udp(e, NULL, T0, CLI, 40000, SRV, 5064, ext, sizeof(ext));
    ck_assert_uint_eq(e->model.health.decode_errors, ++errs);
    /* an empty name */
    m.len = 0;
    ca_msg_str(&m, CA_CMD_SEARCH, CA_DONT_REPLY, CA_MINOR_VERSION, 3, 3, "");
    nb_send_udp(e, NULL, T0, CLI, 40000, SRV, 5064, m.data, m.len);
    ck_assert_uint_eq(e->model.health.decode_errors, ++errs);
    /* a header and 4 stray bytes */
    m.len = 0;
    hdr(CA_CMD_VERSION, 0, 0, CA_MINOR_VERSION, 0, 0, NULL, 0);
    memcpy(m.data + m.len, "\0\0\0\0", 4);
    nb_send_udp(e, NULL, T0, CLI, 40000, SRV, 5064, m.data, m.len + 4);
    ck_assert_uint_eq(e->model.health.decode_errors, ++errs);
    /* a name without a terminator fills its payload; an empty datagram is nothing */
    nb_send_udp(e, NULL, T0, CLI, 40000, SRV, 5064, d, 16);
    d[3] = 8;
    nb_send_udp(e, NULL, T0, CLI, 40000, SRV, 5064, d, 24);
    nb_send_udp(e, NULL, T0, CLI, 40000, SRV, 5064, "", 0);
    ck_assert_uint_eq(e->model.health.decode_errors, errs + 1);
    ck_assert_ptr_nonnull(nb_pv(e, PROTO_CA, "ABCDEFGH"));
    ck_assert_uint_eq(e->model.ps[PROTO_CA].search_requests, 2);
}
END_TEST

START_TEST(many_messages_per_datagram)
{
    char name[32];
    m.len = 0;
    hdr(CA_CMD_VERSION, 0, 0, CA_MINOR_VERSION, 0, 0, NULL, 0);
    for (uint32_t i = 0; i < 100; i++) {
        snprintf(name, sizeof(name), "DGRAM:%03u", i);
        ca_msg_str(&m, CA_CMD_SEARCH, CA_DONT_REPLY, CA_MINOR_VERSION, 1000 + i, 1000 + i, name);
    }
    nb_send_udp(e, NULL, T0, CLI, 40000, SRV, 5064, m.data, m.len);
    ck_assert_uint_eq(e->model.ps[PROTO_CA].search_requests, 100);
    m.len = 0;
    uint8_t minor[2] = { 0, CA_MINOR_VERSION };
    hdr(CA_CMD_VERSION, 0, 0, CA_MINOR_VERSION, 0, 0, NULL, 0);
    for (uint32_t i = 0; i < 100; i += 2)
        hdr(CA_CMD_SEARCH, 8, 5064, 0, 0xffffffffu, 1000 + i, minor, 2);
    /* an address in the reply names another server; 0 means the sender */
    hdr(CA_CMD_SEARCH, 8, 6000, 0, IP(10, 9, 9, 9), 1001, minor, 2);
    hdr(CA_CMD_SEARCH, 8, 6001, 0, 0, 1003, minor, 2);
    nb_send_udp(e, NULL, T0 + 100, SRV, 5064, CLI, 40000, m.data, m.len);
    ck_assert_uint_eq(e->model.ps[PROTO_CA].search_replies, 52);
    ck_assert_ptr_nonnull(nb_server(e, PROTO_CA, IP(10, 9, 9, 9), 6000));
    ck_assert_ptr_nonnull(nb_server(e, PROTO_CA, SRV, 6001));
    ck_assert_uint_eq(netaddr_v4_value(&model_pv_server(nb_pv(e, PROTO_CA, "DGRAM:001"), 0)->addr),
                      IP(10, 9, 9, 9));
    engine_finish(e);
    ck_assert_uint_eq(e->model.ps[PROTO_CA].search_unanswered, 48);
    ck_assert_uint_eq(e->model.ps[PROTO_CA].search.count, 52);
}
END_TEST

Suite *ca_commands_suite(void)
{
    Suite *s = suite_create("ca_commands");
    TCase *t = tcase_create("circuit");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, command_names);
    tcase_add_test(t, version_echo_and_flow_control);
    tcase_add_test(t, search_over_tcp);
    tcase_add_test(t, read_notify_and_read);
    tcase_add_test(t, read_and_write_latency);
    tcase_add_test(t, echo_latency_first_in_first_out);
    tcase_add_test(t, update_age_of_time_types);
    tcase_add_test(t, write_notify_audit_each_type);
    tcase_add_test(t, write_string_as_clients_send_it);
    tcase_add_test(t, put_values_arrays_and_limits);
    tcase_add_test(t, subscription_life);
    tcase_add_test(t, cancel_confirm_without_the_cancel);
    tcase_add_test(t, update_in_flight_during_cancel);
    tcase_add_test(t, clear_channel_forgets_its_requests);
    tcase_add_test(t, channel_id_reused);
    tcase_add_test(t, channel_id_reused_with_requests_pending);
    tcase_add_test(t, create_failures);
    tcase_add_test(t, errors_name_the_failed_request);
    tcase_add_test(t, server_disconnect);
    tcase_add_test(t, circuit_end_releases_everything);
    tcase_add_test(t, client_and_host_names);
    tcase_add_test(t, connect_latency_starts_at_the_first_search);
    tcase_add_test(t, extended_headers);
    tcase_add_test(t, empty_channel_name_on_a_circuit);
    tcase_add_test(t, joined_mid_stream);
    tcase_add_test(t, beacons_and_the_repeater);
    tcase_add_test(t, malformed_datagrams);
    tcase_add_test(t, many_messages_per_datagram);
    suite_add_tcase(s, t);
    return s;
}

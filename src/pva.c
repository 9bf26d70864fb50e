/*
 * pva.c - pvAccess decoder: UDP searches, replies and beacons; TCP circuits.
 *
 * Header (pvxs src/pvaproto.h; pvAccessCPP src/remote/pv/remote.h), 8 bytes:
 *   0 uint8  magic 0xCA
 *   1 uint8  version (never 0)
 *   2 uint8  flags: 0x01 control, 0x30 segment (0x10 first, 0x30 middle,
 *                   0x20 last), 0x40 sent by the server, 0x80 big-endian
 *   3 uint8  command
 *   4 uint32 payload size in the byte order of the flags; for control
 *            messages (0 set marker, 1 ack marker, 2 set byte order) a value,
 *            and no payload follows
 * Every message says its own byte order, so each direction of a circuit is
 * read in whatever order its sender chose. Segments of one message are
 * joined before decoding (up to PVA_SEG_KEEP bytes; the rest is counted).
 *
 * Payloads (pvxs src/udp_collector.cpp, client.cpp, conn.cpp, serverconn.cpp,
 * serverchan.cpp, serverget.cpp, servermon.cpp, clientconn.cpp, clientget.cpp;
 * pvAccessCPP src/server/responseHandlers.cpp), "addr" is 16 bytes of IPv6
 * (IPv4 as ::ffff:a.b.c.d, all zero "any"), strings and types see pvdata.h:
 *   SEARCH            uint32 seq, uint8 flags, 3 reserved, addr+uint16 port to
 *                     reply to (any: the sender), Size n + n protocol strings,
 *                     uint16 n + n x (uint32 cid, string name)
 *   SEARCH_RESPONSE   12-byte GUID, uint32 seq, addr+uint16 port of the server
 *                     (any: the sender), string protocol, uint8 found,
 *                     uint16 n + n x uint32 cid
 *   BEACON            12-byte GUID, uint8 flags, uint8 seq, uint16 change count,
 *                     addr+uint16 port, string protocol, status type+value
 *   ORIGIN_TAG        addr: a server forwarded the datagram's rest (a copy)
 *   CONNECTION_VALIDATION  s->c uint32 buffer, uint16 registry, Size n + n
 *                     auth methods; c->s uint32, uint16, uint16 QoS, string
 *                     method, type+value (method "ca": user and host)
 *   CONNECTION_VALIDATED   status
 *   CREATE_CHANNEL    c->s uint16 n + n x (uint32 cid, string name);
 *                     s->c uint32 cid, uint32 sid, status
 *   DESTROY_CHANNEL   uint32 sid, uint32 cid (both ways)
 *   GET PUT PUT_GET MONITOR ARRAY PROCESS RPC
 *                     c->s uint32 sid, uint32 ioid, uint8 subcmd, then
 *                       INIT (0x08): pvRequest type+value (MONITOR 0x80: + uint32)
 *                       PUT: bitset+value; PUT_GET: bitset+value of its put
 *                       side; RPC: type+value; ARRAY put: Size offset, Size
 *                       stride, array; MONITOR 0x80: uint32 acks
 *                     s->c uint32 ioid, uint8 subcmd, then
 *                       MONITOR update (not INIT, not 0x10): bitset+value, bitset
 *                       otherwise status, then INIT: type (PUT_GET two, RPC
 *                       and PROCESS none); GET, PUT 0x40, PUT_GET: bitset+value;
 *                       RPC: type+value; ARRAY 0x40: array, 0x04: Size
 *                     subcmd bits: 0x08 init, 0x10 destroy, 0x40 get, 0x80
 *                     get-put / acks, 0x04 process / monitor start-stop
 *   DESTROY_REQUEST CANCEL_REQUEST  c->s uint32 sid, uint32 ioid
 *   GET_FIELD         c->s uint32 sid, uint32 ioid, string; s->c ioid, status, type
 *   MESSAGE           uint32 ioid, uint8 level, string
 *   ECHO              opaque
 */
#include "pva.h"
#include "pvdata.h"
#include "wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PVA_MAX_PAYLOAD (1ULL << 31)
#define PVA_SEG_KEEP (64 * 1024)        /* bytes of a segmented message kept for decoding */
#define PVA_GUID_LEN 12

#define PVA_MAX_COMMAND 31      /* beyond the known ones, kept for newer peers */
#define PVA_CTRL_MAX 7

static const char *const pva_command_names[PVA_COMMANDS] = {
    [PVA_CMD_BEACON] = "BEACON",
    [PVA_CMD_CONNECTION_VALIDATION] = "CONNECTION_VALIDATION",
    [PVA_CMD_ECHO] = "ECHO",
    [PVA_CMD_SEARCH] = "SEARCH",
    [PVA_CMD_SEARCH_RESPONSE] = "SEARCH_RESPONSE",
    [PVA_CMD_AUTHNZ] = "AUTHNZ",
    [PVA_CMD_ACL_CHANGE] = "ACL_CHANGE",
    [PVA_CMD_CREATE_CHANNEL] = "CREATE_CHANNEL",
    [PVA_CMD_DESTROY_CHANNEL] = "DESTROY_CHANNEL",
    [PVA_CMD_CONNECTION_VALIDATED] = "CONNECTION_VALIDATED",
    [PVA_CMD_GET] = "GET",
    [PVA_CMD_PUT] = "PUT",
    [PVA_CMD_PUT_GET] = "PUT_GET",
    [PVA_CMD_MONITOR] = "MONITOR",
    [PVA_CMD_ARRAY] = "ARRAY",
    [PVA_CMD_DESTROY_REQUEST] = "DESTROY_REQUEST",
    [PVA_CMD_PROCESS] = "PROCESS",
    [PVA_CMD_GET_FIELD] = "GET_FIELD",
    [PVA_CMD_MESSAGE] = "MESSAGE",
    [PVA_CMD_MULTIPLE_DATA] = "MULTIPLE_DATA",
    [PVA_CMD_RPC] = "RPC",
    [PVA_CMD_CANCEL_REQUEST] = "CANCEL_REQUEST",
    [PVA_CMD_ORIGIN_TAG] = "ORIGIN_TAG",
};

/* subcommand bits of GET, PUT, PUT_GET, MONITOR, ARRAY, PROCESS, RPC */
enum {
    PVA_SUBCMD_PROCESS = 0x04, PVA_SUBCMD_INIT = 0x08, PVA_SUBCMD_DESTROY = 0x10,
    PVA_SUBCMD_GET = 0x40, PVA_SUBCMD_GET_PUT = 0x80,
};

enum { PVA_STATUS_OK = 0, PVA_STATUS_WARNING = 1, PVA_STATUS_ERROR = 2, PVA_STATUS_FATAL = 3 };

const char *pva_command_name(unsigned cmd)
{
    return cmd < PVA_COMMANDS ? pva_command_names[cmd] : "?";
}

/* ---- per-circuit state ---- */

/* One direction of a circuit */
struct pva_half {
    struct pvd_cache cache;     /* types its sender defined (0xfd) */
    bool seg_active;            /* a segmented message is being joined */
    bool seg_cut;               /* some of it was not kept */
    uint8_t seg_cmd, seg_flags;
    uint8_t *seg_buf;
    size_t seg_have;
    uint64_t seg_total;         /* payload bytes of all its segments */
    uint64_t seg_wire;          /* header and payload bytes of all its segments */
    struct mem_budget *budget;  /* the agent's, shared with reassembly */
};

struct pva_state {
    struct pva_half half[2];
};

static void seg_reset(struct pva_half *h)
{
    budget_give(h->budget, h->seg_have);
    free(h->seg_buf);
    h->seg_buf = NULL;
    h->seg_have = 0;
    h->seg_total = h->seg_wire = 0;
    h->seg_active = h->seg_cut = false;
}

static void state_free(void *p)
{
    struct pva_state *st = p;
    for (int d = 0; d < 2; d++) {
        seg_reset(&st->half[d]);
        pvd_cache_free(&st->half[d].cache);
    }
    free(st);
}

static struct pva_state *state_of(struct circuit *c)
{
    if (!c->pstate) {
        struct pva_state *st = calloc(1, sizeof(struct pva_state));
        if (!st)
            return NULL;
        for (int d = 0; d < 2; d++)
            st->half[d].budget = st->half[d].cache.budget = &c->model->health.buffers;
        c->pstate = st;
        c->pstate_free = state_free;
    }
    return c->pstate;
}

/* What a request (keyed by ioid in the circuit's map) remembers */
struct pva_op {
    struct pvd_type *type;      /* from the INIT reply; PUT_GET: its put side */
    struct pvd_type *type2;     /* PUT_GET: its get side */
    bool monitoring;            /* MONITOR accepted, not yet ended */
    bool put_pending;           /* a put waits for its status */
    struct pvd_pick put;
    struct mem_budget *budget;  /* charged for the types it keeps */
    size_t charged;
    bool updated;               /* MONITOR: an update came since INIT */
    struct pvd_stamp stamp;     /* MONITOR: where its values' time stamp lies */
    uint8_t exec;               /* an execution awaiting its response: LAT_* + 1, 0 none */
    uint64_t exec_us;           /* when it was sent */
};

/* The op keeps t and t2 (either may be NULL) if the budget has room for
 * them; otherwise they are dropped and the op's values go undecoded */
static void op_keep_types(struct pva_op *op, struct mem_budget *budget, struct pvd_type *t,
                          struct pvd_type *t2)
{
    pvd_unref(op->type);
    pvd_unref(op->type2);
    op->type = op->type2 = NULL;
    budget_give(op->budget, op->charged);
    op->charged = 0;
    op->budget = budget;
    size_t need = (t ? t->bytes : 0) + (t2 ? t2->bytes : 0);
    if (need && !budget_take(budget, need)) {
        pvd_unref(t);
        pvd_unref(t2);
        return;
    }
    op->charged = need;
    op->type = t;
    op->type2 = t2;
}

static void op_free(void *p)
{
    struct pva_op *op = p;
    if (!op)
        return;
    budget_give(op->budget, op->charged);
    pvd_unref(op->type);
    pvd_unref(op->type2);
    free(op);
}

static struct pva_op *op_of(struct request *r)
{
    if (!r)
        return NULL;
    if (!r->data) {
        r->data = calloc(1, sizeof(struct pva_op));
        r->data_free = op_free;
    }
    return r->data;
}

/* Forgets a request, ending the subscription it stood for */
static void drop_request(struct circuit *c, struct request *req)
{
    struct pva_op *op = req->data;
    if (op && op->monitoring)
        model_monitor_add(c, req->channel, -1);
    model_request_del(c, &c->requests, req);
}

/* A message, joined from its segments when it had some */
struct pva_msg {
    struct model *m;
    struct circuit *c;
    int dir;                    /* 0 client to server, 1 server to client */
    uint8_t cmd;
    const uint8_t *p;           /* payload */
    size_t have;                /* payload bytes present */
    uint64_t total;             /* payload bytes on the wire */
    uint64_t wire;              /* header and payload bytes, all segments */
    uint64_t ts;
};

/* The 8-byte header */
struct pva_hdr {
    uint8_t magic, version, flags, cmd;
    uint32_t size;              /* payload bytes, or a control message's value */
};

/* The header at the reader, which then reads in the byte order the header
 * names: 1 when decoded, 0 when cut short */
static WIRE_HOT_INLINE int pva_header(struct wire_rd *r, struct pva_hdr *h)
{
    struct wire_rd f;
    if (!wire_claim(r, PVA_HEADER_LEN, false, &f))
        return 0;
    h->magic = wire_u8(&f);
    h->version = wire_u8(&f);
    h->flags = wire_u8(&f);
    h->cmd = wire_u8(&f);
    f.big_endian = r->big_endian = (h->flags & PVA_FLAG_BIG_ENDIAN) != 0;
    h->size = wire_u32(&f);
    return 1;
}

/* ---- helpers ---- */

/* The 16-byte address field (IPv6, or IPv4 mapped); "any" (:: or
 * ::ffff:0.0.0.0, which means the sender's address) comes back unset */
static struct netaddr read_addr(struct wire_rd *r)
{
    static const struct netaddr unset;
    const uint8_t *a = wire_take(r, 16);
    if (!a)
        return unset;
    struct netaddr addr = netaddr_v6(a);
    return netaddr_is_any(&addr) ? unset : addr;
}

/* The address a message names, or the sender's when it names none */
static struct netaddr addr_or(struct netaddr addr, struct netaddr sender)
{
    return netaddr_is_unset(&addr) ? sender : addr;
}

static void count_op(struct circuit *c, struct channel *ch, int cmd)
{
    if (cmd == PVA_CMD_GET)
        model_count_op(c, ch, OP_GET);
    else if (cmd == PVA_CMD_PUT || cmd == PVA_CMD_PUT_GET)
        model_count_op(c, ch, OP_PUT);
    else if (cmd == PVA_CMD_RPC)
        model_count_op(c, ch, OP_RPC);
}

/* status < 0: the put's status never came; message: the server's text */
static void put_audit(struct model *m, struct circuit *c, struct channel *ch,
                      const struct pvd_pick *pk, int status, const char *message, uint64_t ts)
{
    struct put_record r;
    model_put_start(&r, c, ch, status < 0 ? 0 : status, status >= 0, ts);
    if (status > 0)
        model_status_text(r.status_text, sizeof(r.status_text), PROTO_PVA, status, message);
    if (pk && pk->found) {
        snprintf(r.value, sizeof(r.value), "%s", pk->value);
        snprintf(r.type, sizeof(r.type), "%s", pk->type);
    }
    model_put_record(m, ch ? ch->pv : NULL, &r);
}

/* The field a put audit shows: value, or value.index of an enum */
static void put_pick(struct pvd_pick *pk, const struct pvd_type *t)
{
    memset(pk, 0, sizeof(*pk));
    pk->node = pvd_find(t, "value");
    if (pk->node >= 0 && t->node[pk->node].code == PVD_STRUCT)
        pk->node = pvd_find(t, "value.index");
}

/* An enum's write names the field it set, as clients spell it: value.index=1 */
static void finish_pick(struct pvd_pick *pk, const struct pvd_type *t)
{
    long v = pvd_find(t, "value");
    if (pk->found && v >= 0 && t->node[v].code == PVD_STRUCT) {
        char index[sizeof(pk->value)];
        snprintf(index, sizeof(index), "%s", pk->value);
        snprintf(pk->value, sizeof(pk->value), "value.index=%.60s", index);
        snprintf(pk->type, sizeof(pk->type), "enum");
    }
}

/* ---- searches, replies, beacons (UDP, and TCP to name servers) ---- */

static void search_request(struct model *m, struct pvd_ctx *d, struct netaddr src, uint16_t sport,
                           bool tcp, uint64_t ts)
{
    struct wire_rd *r = d->r;
    wire_skip(r, 4 + 1 + 3);            /* sequence, flags, reserved */
    struct netaddr addr = read_addr(r);
    uint16_t port = wire_u16(r);
    uint32_t nproto;
    if (!pvd_size(d, &nproto))
        return;
    for (uint32_t i = 0; i < nproto && !r->err; i++) {
        const uint8_t *s;
        size_t len;
        pvd_string(d, &s, &len);
    }
    uint16_t n = wire_u16(r);
    /* replies go where the request says, the sender when it says "any";
     * over TCP they come back on the circuit */
    struct netaddr caddr = tcp ? src : addr_or(addr, src);
    uint16_t cport = tcp || !port ? sport : port;
    for (uint32_t i = 0; i < n && !r->err; i++) {
        uint32_t cid = wire_u32(r);
        const uint8_t *s;
        size_t len;
        if (!pvd_string(d, &s, &len))
            break;
        if (len == 0) {
            model_bad_input(m, "PVA search for an empty name");
            continue;
        }
        model_search_request(m, PROTO_PVA, caddr, cport, cid, (const char *)s, len, ts);
    }
}

static void search_response(struct model *m, struct pvd_ctx *d, struct netaddr caddr, uint16_t cport,
                            struct netaddr src, uint16_t def_port, uint64_t ts)
{
    struct wire_rd *r = d->r;
    const uint8_t *guid = wire_take(r, PVA_GUID_LEN);
    wire_skip(r, 4);                    /* sequence */
    struct netaddr addr = read_addr(r);
    uint16_t port = wire_u16(r);
    const uint8_t *s;
    size_t len;
    pvd_string(d, &s, &len);            /* protocol, "tcp" */
    uint8_t found = wire_u8(r);
    uint16_t n = wire_u16(r);
    if (r->err)
        return;
    struct netaddr saddr = addr_or(addr, src);
    uint16_t sport = port ? port : def_port;
    if (!sport) {
        model_bad_input(m, "PVA search reply or beacon without a server port");
        return;
    }
    model_server_guid(m, PROTO_PVA, saddr, sport, guid);
    for (uint32_t i = 0; i < n; i++) {
        uint32_t cid = wire_u32(r);
        if (r->err)
            break;
        if (found)
            model_search_reply(m, PROTO_PVA, caddr, cport, cid, saddr, sport, ts);
        else
            model_search_not_found(m, PROTO_PVA, caddr, cport, cid, ts);
    }
}

static void beacon(struct model *m, struct pvd_ctx *d, struct netaddr src, uint64_t ts)
{
    struct wire_rd *r = d->r;
    const uint8_t *guid = wire_take(r, PVA_GUID_LEN);
    wire_skip(r, 1);                    /* flags */
    uint8_t seq = wire_u8(r);
    wire_skip(r, 2);                    /* change count */
    struct netaddr addr = read_addr(r);
    uint16_t port = wire_u16(r);
    const uint8_t *s;
    size_t len;
    pvd_string(d, &s, &len);            /* protocol; the server status that follows is not used */
    if (r->err)
        return;
    if (!port) {
        model_bad_input(m, "PVA search reply or beacon without a server port");
        return;
    }
    model_beacon_guid(m, PROTO_PVA, addr_or(addr, src), port, guid, seq, ts);
}

void pva_datagram(struct model *m, const struct packet *pkt, bool from_search_port)
{
    struct wire_rd dg = wire_init(pkt->payload, pkt->caplen, false);
    bool first = true;

    while (wire_left(&dg) > 0) {
        struct pva_hdr h;
        if (!pva_header(&dg, &h) || h.magic != PVA_MAGIC || h.version == 0) {
            model_bad_input(m, "PVA datagram without a pvAccess header");
            return;
        }
        if (h.flags & (PVA_FLAG_CONTROL | PVA_SEG_MASK)) {
            model_bad_input(m, "PVA control or segmented message in a datagram");
            return;
        }
        if (h.size > wire_left(&dg)) {
            if (pkt->caplen == pkt->len)
                model_bad_input(m, "PVA datagram message longer than the datagram");
            return;
        }
        m->ps[PROTO_PVA].messages++;
        struct wire_rd r = wire_sub(&dg, h.size);
        struct pvd_ctx d;
        pvd_init(&d, &r, NULL);
        switch (h.cmd) {
        case PVA_CMD_ORIGIN_TAG:
            /* a server passed on the search after it: counted when first seen */
            if (first)
                return;
            break;
        case PVA_CMD_SEARCH:
            /* a copy forwarded to the local multicast group without a tag */
            if (from_search_port && netaddr_is_multicast(&pkt->daddr))
                return;
            search_request(m, &d, pkt->saddr, pkt->sport, false, pkt->ts_us);
            break;
        case PVA_CMD_SEARCH_RESPONSE:
            search_response(m, &d, pkt->daddr, pkt->dport, pkt->saddr, 0, pkt->ts_us);
            break;
        case PVA_CMD_BEACON:
            beacon(m, &d, pkt->saddr, pkt->ts_us);
            break;
        default:
            break;
        }
        if (r.err)
            model_bad_input(m, d.why ? d.why : "PVA message shorter than its contents");
        first = false;
    }
}

/* ---- TCP: client to server ---- */

static void validation_from_client(struct pva_msg *x, struct pvd_ctx *d)
{
    const uint8_t *s;
    size_t len;
    struct pvd_type *t = NULL;
    wire_skip(d->r, 4 + 2 + 2);         /* buffer size, registry size, QoS */
    if (wire_left(d->r) == 0)
        return;                         /* older clients stop here */
    pvd_string(d, &s, &len);            /* auth method: "ca", "anonymous", ... */
    if (wire_left(d->r) == 0 || pvd_type(d, &t) < 0)
        return;
    struct pvd_pick pk[2];
    memset(pk, 0, sizeof(pk));
    pk[0].node = pvd_find(t, "user");
    pk[1].node = pvd_find(t, "host");
    if (pvd_value(d, t, pk, 2) == 0 && (pk[0].found || pk[1].found))
        model_client_strings(x->c, pk[1].found ? pk[1].value : NULL, strlen(pk[1].value),
                             pk[0].found ? pk[0].value : NULL, strlen(pk[0].value));
    pvd_unref(t);
}

/* An execution (not INIT) of a GET, a PUT carrying a value or an RPC: its
 * response gives the latency */
static void exec_sent(struct pva_op *op, enum op_latency kind, uint64_t ts)
{
    if (op) {
        op->exec = (uint8_t)(kind + 1);
        op->exec_us = ts;
    }
}

static void exec_answered(struct pva_msg *x, struct channel *ch, struct pva_op *op,
                          enum op_latency kind)
{
    if (op && op->exec == kind + 1) {
        op->exec = 0;
        model_op_latency(x->m, x->c, ch, kind, op->exec_us, x->ts);
    }
}

/* GET, PUT, PUT_GET, MONITOR, ARRAY, PROCESS, RPC from the client */
static void op_request(struct pva_msg *x, struct pvd_ctx *d)
{
    struct model *m = x->m;
    struct circuit *c = x->c;
    struct wire_rd *r = d->r;
    uint32_t sid = wire_u32(r), ioid = wire_u32(r);
    uint8_t sub = wire_u8(r);
    if (r->err)
        return;
    struct channel *ch = model_channel_by_sid_or_unknown(m, c, sid);
    struct request *req = idmap_get(&c->requests, ioid);

    if (sub & PVA_SUBCMD_INIT) {
        pvd_type_value(d, NULL, 0, NULL);               /* pvRequest */
        if (req)
            drop_request(c, req);                       /* the id was reused */
        req = model_request_add(m, c, &c->requests, ioid, ch, x->cmd, x->ts);
        op_of(req);
        model_channel_bytes(c, ch, 0, x->wire);
        return;
    }
    if (!req || req->kind != x->cmd) {
        /* its INIT was before the capture: follow it from here */
        if (req)
            drop_request(c, req);
        req = model_request_add(m, c, &c->requests, ioid, ch, x->cmd, x->ts);
    } else {
        ch = req->channel;
    }
    struct pva_op *op = op_of(req);
    model_channel_bytes(c, ch, 0, x->wire);

    switch (x->cmd) {
    case PVA_CMD_GET:
        count_op(c, ch, x->cmd);
        exec_sent(op, LAT_GET, x->ts);
        break;
    case PVA_CMD_PUT:
    case PVA_CMD_PUT_GET: {
        if (sub & (x->cmd == PVA_CMD_PUT ? PVA_SUBCMD_GET : PVA_SUBCMD_GET | PVA_SUBCMD_GET_PUT))
            break;              /* reads back, writes nothing */
        count_op(c, ch, x->cmd);
        if (x->cmd == PVA_CMD_PUT)
            exec_sent(op, LAT_PUT, x->ts);
        struct pvd_pick pk;
        memset(&pk, 0, sizeof(pk));
        pk.node = -1;
        if (op && op->type) {
            put_pick(&pk, op->type);
            pvd_value_valid(d, op->type, &pk, 1);
            finish_pick(&pk, op->type);
        }
        if (op) {               /* recorded with the status of the reply */
            op->put = pk;
            op->put_pending = true;
        } else {
            put_audit(m, c, ch, &pk, -1, NULL, x->ts);
        }
        break;
    }
    case PVA_CMD_RPC:
        count_op(c, ch, x->cmd);
        exec_sent(op, LAT_RPC, x->ts);
        pvd_type_value(d, NULL, 0, NULL);
        break;
    case PVA_CMD_ARRAY:
        if (sub & (PVA_SUBCMD_GET | PVA_SUBCMD_GET_PUT | PVA_SUBCMD_PROCESS))
            break;              /* get, set length, get length */
        if (op && op->type) {
            uint32_t offset, stride;
            struct pvd_pick pk;
            memset(&pk, 0, sizeof(pk));
            pk.node = 0;
            if (pvd_size(d, &offset) && pvd_size(d, &stride))
                pvd_value(d, op->type, &pk, 1);
            op->put = pk;
            op->put_pending = true;
        }
        break;
    case PVA_CMD_MONITOR:
        if (sub & PVA_SUBCMD_GET_PUT) {
            wire_skip(r, 4);    /* pipeline acknowledgement: updates the client freed */
            if (c->server && !r->err)
                c->server->monitor_acks++;
        }
        if ((sub & PVA_SUBCMD_DESTROY) && req)
            drop_request(c, req);
        break;
    default:                    /* PROCESS */
        break;
    }
}

/* DESTROY_REQUEST, CANCEL_REQUEST */
static void op_end(struct pva_msg *x, struct pvd_ctx *d)
{
    struct circuit *c = x->c;
    uint32_t sid = wire_u32(d->r), ioid = wire_u32(d->r);
    if (d->r->err)
        return;
    struct request *req = idmap_get(&c->requests, ioid);
    struct channel *ch = req ? req->channel : model_channel_by_sid_or_unknown(x->m, c, sid);
    model_channel_bytes(c, ch, 0, x->wire);
    if (!req || x->cmd != PVA_CMD_DESTROY_REQUEST)
        return;
    struct pva_op *op = req->data;
    if (op && op->put_pending)
        put_audit(x->m, c, ch, &op->put, -1, NULL, x->ts);  /* its status never came */
    drop_request(c, req);
}

static void client_message(struct pva_msg *x, struct pvd_ctx *d)
{
    struct model *m = x->m;
    struct circuit *c = x->c;
    struct wire_rd *r = d->r;
    struct channel *ch = NULL;

    switch (x->cmd) {
    case PVA_CMD_CONNECTION_VALIDATION:
        validation_from_client(x, d);
        return;
    case PVA_CMD_SEARCH:
        search_request(m, d, c->client_addr, c->client_port, true, x->ts);
        return;
    case PVA_CMD_CREATE_CHANNEL: {
        uint16_t n = wire_u16(r);
        uint32_t first_cid = 0;
        bool created = false;
        for (uint32_t i = 0; i < n && !r->err; i++) {
            uint32_t cid = wire_u32(r);
            const uint8_t *s;
            size_t len;
            if (!pvd_string(d, &s, &len))
                break;
            if (len == 0) {
                model_bad_input(m, "PVA CREATE_CHANNEL without a channel name");
                continue;
            }
            if (model_create_request(m, c, cid, (const char *)s, len, x->ts) && !created) {
                first_cid = cid;
                created = true;
            }
        }
        /* the message counts for its first channel, looked up again: a
         * later entry with the same cid replaced it */
        if (created)
            ch = model_channel_by_cid(c, first_cid);
        break;
    }
    case PVA_CMD_DESTROY_CHANNEL: {
        uint32_t sid = wire_u32(r), cid = wire_u32(r);
        if (r->err)
            return;
        ch = model_channel_by_cid(c, cid);
        if (!ch || !ch->sid_known || ch->sid != sid)
            ch = model_channel_by_sid_or_unknown(m, c, sid);
        break;
    }
    case PVA_CMD_GET:
    case PVA_CMD_PUT:
    case PVA_CMD_PUT_GET:
    case PVA_CMD_MONITOR:
    case PVA_CMD_ARRAY:
    case PVA_CMD_PROCESS:
    case PVA_CMD_RPC:
        op_request(x, d);
        return;
    case PVA_CMD_DESTROY_REQUEST:
    case PVA_CMD_CANCEL_REQUEST:
        op_end(x, d);
        return;
    case PVA_CMD_GET_FIELD: {
        uint32_t sid = wire_u32(r), ioid = wire_u32(r);
        if (r->err)
            return;
        ch = model_channel_by_sid_or_unknown(m, c, sid);
        model_request_add(m, c, &c->requests, ioid, ch, x->cmd, x->ts);
        const uint8_t *s;
        size_t len;
        pvd_string(d, &s, &len);        /* sub-field */
        break;
    }
    case PVA_CMD_ECHO:
        model_echo_request(c, x->ts);
        return;
    default:                    /* AUTHNZ, MESSAGE, newer commands */
        return;
    }
    model_channel_bytes(c, ch, 0, x->wire);
}

/* ---- TCP: server to client ---- */

/* The age of an update whose changed fields hold the value's time stamp */
static void stamp_age(struct pva_msg *x, struct channel *ch, const struct pvd_stamp *st)
{
    const int64_t limit = (int64_t)1 << 40;     /* seconds: beyond, the stamp is nonsense */
    if (st->sec > limit || st->sec < -limit)
        return;
    model_update_age(x->m, x->c, ch, st->sec * 1000000 + st->nsec / 1000, x->ts);
}

/* Replies to GET, PUT, PUT_GET, MONITOR, ARRAY, PROCESS, RPC */
static void op_reply(struct pva_msg *x, struct pvd_ctx *d)
{
    struct model *m = x->m;
    struct circuit *c = x->c;
    struct wire_rd *r = d->r;
    uint32_t ioid = wire_u32(r);
    uint8_t sub = wire_u8(r);
    if (r->err)
        return;
    struct request *req = idmap_get(&c->requests, ioid);
    if (req && req->kind != x->cmd)
        req = NULL;             /* another operation: the ids got mixed up */
    struct channel *ch = req ? req->channel : model_unknown_channel(m, c);
    struct pva_op *op = op_of(req);
    bool done = false;

    if (x->cmd == PVA_CMD_MONITOR && !(sub & (PVA_SUBCMD_INIT | PVA_SUBCMD_DESTROY))) {
        /* an update: values only matter when they can define types */
        model_monitor_update(c, ch);
        model_channel_bytes(c, ch, 1, x->wire);
        bool first = op && !op->updated;       /* the value at INIT, its stamp old */
        if (op)
            op->updated = true;
        if (!op || !op->type || x->have < x->total)
            return;             /* the overrun bitset is out of reach */
        /* Values that may define types are decoded like any other message.
         * Others are walked only for the time stamp and the overrun bitset at
         * the end, on a copy of the reader: a value this decoder cannot walk
         * leaves both unknown, it is not bad input. */
        struct wire_rd scratch = *r;
        struct pvd_ctx sd = *d;
        sd.r = &scratch;
        struct pvd_ctx *vd = op->type->has_any ? d : &sd;
        struct pvd_stamp *st = op->stamp.type == op->type && !first ? &op->stamp : NULL;
        if (st)
            st->found[0] = st->found[1] = false;
        vd->stamp = st;
        int rc = pvd_value_valid(vd, op->type, NULL, 0);
        vd->stamp = NULL;
        if (rc == 0 && st && st->found[0] && st->found[1])
            stamp_age(x, ch, st);
        if (rc == 0 && pvd_bitset_any(vd))
            model_monitor_overrun(c, ch);
        return;
    }
    if (!req)
        m->ps[PROTO_PVA].unmatched_replies++;
    model_channel_bytes(c, ch, 1, x->wire);
    char message[48];
    int status = pvd_status_msg(d, message, sizeof(message));
    if (r->err)
        return;
    if (status >= PVA_STATUS_ERROR && c->server)
        c->server->errors++;

    if (sub & PVA_SUBCMD_INIT) {
        if (status >= PVA_STATUS_ERROR) {
            done = true;
        } else if (x->cmd != PVA_CMD_RPC && x->cmd != PVA_CMD_PROCESS) {
            struct pvd_type *t = NULL, *t2 = NULL;
            pvd_type(d, &t);
            if (x->cmd == PVA_CMD_PUT_GET)
                pvd_type(d, &t2);
            if (op) {
                op_keep_types(op, &m->health.buffers, t, t2);
                op->updated = false;
                if (x->cmd == PVA_CMD_MONITOR)
                    pvd_stamp_find(&op->stamp, op->type);
            } else {
                pvd_unref(t);
                pvd_unref(t2);
            }
            if (x->cmd == PVA_CMD_MONITOR && op && !op->monitoring) {
                op->monitoring = true;
                model_monitor_add(c, ch, 1);
            }
        }
    } else {
        const struct pvd_type *data = NULL;     /* the value that follows, if any */
        bool put_done = false;
        switch (x->cmd) {
        case PVA_CMD_GET:
            exec_answered(x, ch, op, LAT_GET);
            data = op ? op->type : NULL;
            break;
        case PVA_CMD_PUT:
            if (sub & PVA_SUBCMD_GET) {
                data = op ? op->type : NULL;
            } else {
                exec_answered(x, ch, op, LAT_PUT);
                put_done = true;
            }
            break;
        case PVA_CMD_PUT_GET:
            data = op ? ((sub & PVA_SUBCMD_GET_PUT) ? op->type : op->type2) : NULL;
            put_done = !(sub & (PVA_SUBCMD_GET | PVA_SUBCMD_GET_PUT));
            break;
        case PVA_CMD_ARRAY:
            put_done = !(sub & (PVA_SUBCMD_GET | PVA_SUBCMD_GET_PUT | PVA_SUBCMD_PROCESS));
            if ((sub & PVA_SUBCMD_GET) && status < PVA_STATUS_ERROR && op && op->type
                && op->type->has_any)
                pvd_value(d, op->type, NULL, 0);
            break;
        case PVA_CMD_RPC:
            exec_answered(x, ch, op, LAT_RPC);
            if (status < PVA_STATUS_ERROR)
                pvd_type_value(d, NULL, 0, NULL);
            break;
        case PVA_CMD_MONITOR:       /* the last message of a subscription */
            done = true;
            break;
        default:
            break;
        }
        if (data && data->has_any && status < PVA_STATUS_ERROR)
            pvd_value_valid(d, data, NULL, 0);
        if (put_done && op && op->put_pending) {
            op->put_pending = false;
            put_audit(m, c, ch, &op->put, status, message, x->ts);
        }
        if (sub & PVA_SUBCMD_DESTROY)
            done = true;
    }
    if (done && req)
        drop_request(c, req);
}

static void server_message(struct pva_msg *x, struct pvd_ctx *d)
{
    struct model *m = x->m;
    struct circuit *c = x->c;
    struct wire_rd *r = d->r;
    struct channel *ch = NULL;

    switch (x->cmd) {
    case PVA_CMD_SEARCH_RESPONSE:
        search_response(m, d, c->client_addr, c->client_port,
                        c->server ? c->server->key.addr : (struct netaddr){ { 0 } },
                        c->server ? c->server->key.port : 0,
                        x->ts);
        return;
    case PVA_CMD_CREATE_CHANNEL: {
        uint32_t cid = wire_u32(r), sid = wire_u32(r);
        int status = pvd_status(d);
        if (r->err)
            return;
        if (status >= PVA_STATUS_ERROR) {
            ch = model_channel_by_cid(c, cid);
            model_channel_bytes(c, ch, 1, x->wire);
            model_create_failed(m, c, cid, x->ts);
            return;
        }
        ch = model_create_reply(m, c, cid, sid, x->ts);
        break;
    }
    case PVA_CMD_DESTROY_CHANNEL: {
        uint32_t sid = wire_u32(r), cid = wire_u32(r);
        if (r->err)
            return;
        ch = model_channel_by_cid(c, cid);
        if (!ch || !ch->sid_known || ch->sid != sid)
            ch = model_channel_by_sid_or_unknown(m, c, sid);
        model_channel_bytes(c, ch, 1, x->wire);
        model_channel_close(m, c, ch);
        return;
    }
    case PVA_CMD_GET:
    case PVA_CMD_PUT:
    case PVA_CMD_PUT_GET:
    case PVA_CMD_MONITOR:
    case PVA_CMD_ARRAY:
    case PVA_CMD_PROCESS:
    case PVA_CMD_RPC:
        op_reply(x, d);
        return;
    case PVA_CMD_GET_FIELD: {
        uint32_t ioid = wire_u32(r);
        if (r->err)
            return;
        struct request *req = idmap_get(&c->requests, ioid);
        if (req && req->kind != PVA_CMD_GET_FIELD)
            req = NULL;
        ch = req ? req->channel : model_unknown_channel(m, c);
        model_channel_bytes(c, ch, 1, x->wire);
        int status = pvd_status(d);
        if (!r->err && status < PVA_STATUS_ERROR) {
            struct pvd_type *t;
            if (pvd_type(d, &t) == 0)
                pvd_unref(t);
        }
        if (req)
            model_request_del(c, &c->requests, req);
        return;
    }
    case PVA_CMD_ECHO:
        model_echo_reply(m, c, x->ts);
        return;
    default:        /* CONNECTION_VALIDATION, CONNECTION_VALIDATED, MESSAGE, ... */
        return;
    }
    model_channel_bytes(c, ch, 1, x->wire);
}

/* ---- TCP framing ---- */

static void decode(struct pva_msg *x, struct pva_state *st, bool be)
{
    struct wire_rd r = wire_init(x->p, x->have, be);
    struct pvd_ctx d;
    pvd_init(&d, &r, st ? &st->half[x->dir].cache : NULL);
    if (x->dir == 0)
        client_message(x, &d);
    else
        server_message(x, &d);
    if (!r.err)
        return;
    if (d.why)
        model_bad_input(x->m, d.why);
    else if (x->have == x->total)
        model_bad_input(x->m, "PVA message shorter than its contents");
    /* else: the part that was not kept, nothing wrong */
}

static long long pva_msg_len(void *ctx, int dir, const uint8_t *p, size_t have)
{
    (void)ctx;
    struct wire_rd r = wire_init(p, have, false);
    struct pva_hdr h;
    uint8_t head[PVA_HEADER_LEN] = { 0 };
    if (have < PVA_HEADER_LEN) {
        /* cut short: the fields present tell already, the others read as 0 */
        const uint8_t *b = wire_take(&r, have);
        if (b && have)
            memcpy(head, b, have);
        r = wire_init(head, sizeof(head), false);
    }
    if (!pva_header(&r, &h))
        return 0;               /* not reached: eight bytes are there */
    if (have >= 1 && h.magic != PVA_MAGIC)
        return -1;
    if (have < 4)
        return 0;
    /* plausible: a version, the sender's side, a known command */
    if (h.version == 0 || !(h.flags & PVA_FLAG_SERVER) != (dir == 0))
        return -1;
    if (h.flags & PVA_FLAG_CONTROL)
        return h.cmd <= PVA_CTRL_MAX ? PVA_HEADER_LEN : -1;
    if (h.cmd > PVA_MAX_COMMAND)
        return -1;
    if (have < PVA_HEADER_LEN)
        return 0;
    if (h.size > PVA_MAX_PAYLOAD)
        return -1;
    return PVA_HEADER_LEN + (long long)h.size;
}

/* Adds a segment's payload to the message being joined */
static void seg_add(struct pva_half *h, const uint8_t *p, size_t have, uint64_t total)
{
    h->seg_total += total;
    if (h->seg_cut)
        return;
    size_t keep = have;
    if (keep > PVA_SEG_KEEP - h->seg_have)
        keep = PVA_SEG_KEEP - h->seg_have;
    if (keep) {
        uint8_t *b = NULL;
        if (budget_take(h->budget, keep)) {
            b = realloc(h->seg_buf, h->seg_have + keep);
            if (!b)
                budget_give(h->budget, keep);
        }
        if (!b) {
            h->seg_cut = true;
            return;
        }
        h->seg_buf = b;
        memcpy(h->seg_buf + h->seg_have, p, keep);
        h->seg_have += keep;
    }
    if (keep < have || have < total)
        h->seg_cut = true;      /* what follows a missing piece is useless */
}

static void pva_message(void *ctx, int dir, const uint8_t *p, size_t have, uint64_t total,
                        uint64_t ts)
{
    struct circuit *c = ctx;
    struct model *m = c->model;
    m->ps[PROTO_PVA].messages++;
    struct wire_rd r = wire_init(p, have, false);
    struct pva_hdr hd;
    if (!pva_header(&r, &hd)) {
        model_bad_input(m, "PVA message shorter than its header");
        return;
    }
    uint8_t flags = hd.flags;
    bool be = flags & PVA_FLAG_BIG_ENDIAN;
    struct pva_state *st = state_of(c);
    struct pva_half *h = st ? &st->half[dir] : NULL;

    if (flags & PVA_FLAG_CONTROL) {
        if (hd.cmd == PVA_CTRL_ECHO_REQUEST && dir == 0)
            model_echo_request(c, ts);
        else if (hd.cmd == PVA_CTRL_ECHO_RESPONSE && dir == 1)
            model_echo_reply(m, c, ts);
        return;                 /* markers and byte order: nothing to count */
    }
    size_t plen = have - PVA_HEADER_LEN;
    struct pva_msg x = { m, c, dir, hd.cmd, wire_take(&r, plen), plen, total - PVA_HEADER_LEN,
                         total, ts };
    uint8_t seg = flags & PVA_SEG_MASK;
    if (seg == 0) {
        if (h && h->seg_active) {
            model_bad_input(m, "PVA segmented message left unfinished");
            seg_reset(h);
        }
        decode(&x, st, be);
        return;
    }
    if (!h)
        return;
    if (seg == PVA_SEG_FIRST) {
        if (h->seg_active) {
            model_bad_input(m, "PVA segmented message left unfinished");
            seg_reset(h);
        }
        h->seg_active = true;
        h->seg_cmd = x.cmd;
        h->seg_flags = flags;
    } else if (!h->seg_active || h->seg_cmd != x.cmd) {
        model_bad_input(m, "PVA segment without its first segment");
        seg_reset(h);
        return;
    }
    seg_add(h, x.p, x.have, x.total);
    h->seg_wire += total;
    if (seg != PVA_SEG_LAST)
        return;
    struct pva_msg joined = { m, c, dir, h->seg_cmd, h->seg_buf ? h->seg_buf : x.p, h->seg_have,
                              h->seg_total, h->seg_wire, ts };
    decode(&joined, st, (h->seg_flags & PVA_FLAG_BIG_ENDIAN) != 0);
    seg_reset(h);
}

static void pva_gap(void *ctx, int dir)
{
    struct circuit *c = ctx;
    model_stream_gap(c, dir);
    struct pva_state *st = c->pstate;
    if (st)
        seg_reset(&st->half[dir]);      /* a segmented message lost a piece */
}

const struct stream_ops pva_stream_ops = {
    .msg_len = pva_msg_len,
    .message = pva_message,
    .gap = pva_gap,
    .bytes = model_stream_bytes,
};

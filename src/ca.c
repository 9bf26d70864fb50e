/*
 * ca.c - Channel Access decoder.
 *
 * Wire layout (epics-base modules/ca/src/client/caProto.h), all big-endian:
 *
 *   0  uint16 cmmd      command
 *   2  uint16 postsize  payload bytes (0xffff: extended header follows)
 *   4  uint16 dataType
 *   6  uint16 count     (0 with postsize 0xffff: extended header follows)
 *   8  uint32 cid       "parameter 1"
 *  12  uint32 available "parameter 2"
 *  [16 uint32 postsize, 20 uint32 count]   extended header (CA 4.9 and later)
 *
 * How servers fill the fields follows epics-base rsrv (camessage.c,
 * caserverio.c, online_notify.c); per command, p1/p2 below are cid/available.
 * UDP datagrams carry several messages; TCP circuits a stream of them.
 */
#include "ca.h"
#include "wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Which commands each side of a circuit sends: bit 0 client, bit 1 server */
#define C 1
#define S 2
static const struct { const char *name; unsigned char tcp_senders; } ca_commands[CA_COMMANDS] = {
    [CA_VERSION] = { "VERSION", C | S },
    [CA_EVENT_ADD] = { "EVENT_ADD", C | S },
    [CA_EVENT_CANCEL] = { "EVENT_CANCEL", C },
    [CA_READ] = { "READ", C | S },
    [CA_WRITE] = { "WRITE", C },
    [CA_SNAPSHOT] = { "SNAPSHOT", 0 },
    [CA_SEARCH] = { "SEARCH", C | S },
    [CA_BUILD] = { "BUILD", 0 },
    [CA_EVENTS_OFF] = { "EVENTS_OFF", C },
    [CA_EVENTS_ON] = { "EVENTS_ON", C },
    [CA_READ_SYNC] = { "READ_SYNC", C | S },    /* rsrv read_sync_reply echoes it */
    [CA_ERROR] = { "ERROR", S },
    [CA_CLEAR_CHANNEL] = { "CLEAR_CHANNEL", C | S },
    [CA_RSRV_IS_UP] = { "RSRV_IS_UP", 0 },
    [CA_NOT_FOUND] = { "NOT_FOUND", S },
    [CA_READ_NOTIFY] = { "READ_NOTIFY", C | S },
    [CA_READ_BUILD] = { "READ_BUILD", 0 },
    [CA_REPEATER_CONFIRM] = { "REPEATER_CONFIRM", 0 },
    [CA_CREATE_CHAN] = { "CREATE_CHAN", C | S },
    [CA_WRITE_NOTIFY] = { "WRITE_NOTIFY", C | S },
    [CA_CLIENT_NAME] = { "CLIENT_NAME", C },
    [CA_HOST_NAME] = { "HOST_NAME", C },
    [CA_ACCESS_RIGHTS] = { "ACCESS_RIGHTS", S },
    [CA_ECHO] = { "ECHO", C | S },
    [CA_REPEATER_REGISTER] = { "REPEATER_REGISTER", 0 },
    [CA_SIGNAL] = { "SIGNAL", 0 },
    [CA_CREATE_CH_FAIL] = { "CREATE_CH_FAIL", S },
    [CA_SERVER_DISCONN] = { "SERVER_DISCONN", S },
};
#undef C
#undef S

#define ECA_NORMAL 1
#define CA_MAX_PAYLOAD (1ULL << 31)     /* far above any EPICS_CA_MAX_ARRAY_BYTES */

/* request kinds kept in the circuit's maps */
enum { CA_REQ_READ = 1, CA_REQ_WRITE_NOTIFY, CA_REQ_SUBSCRIPTION, CA_REQ_READ_OBSOLETE };

/* DBR_TIME_STRING to DBR_TIME_DOUBLE: status, severity, then the stamp
 * (uint32 secPastEpoch, uint32 nsec since 1990) at payload offset 4 */
#define DBR_TIME_FIRST 14
#define DBR_TIME_LAST 20
#define EPICS_EPOCH_POSIX 631152000LL

const char *ca_command_name(unsigned cmd)
{
    return cmd < CA_COMMANDS ? ca_commands[cmd].name : "?";
}

struct ca_hdr {
    uint16_t cmd, dtype;
    uint32_t postsize, count, p1, p2;
    uint32_t hlen;
};

/* The header at the reader: 1 when decoded, 0 when more bytes are needed */
static WIRE_HOT_INLINE int ca_header(struct wire_rd *r, struct ca_hdr *h)
{
    struct wire_rd f;
    if (!wire_claim(r, CA_HEADER_LEN, true, &f))
        return 0;
    h->cmd = wire_u16(&f);
    h->postsize = wire_u16(&f);
    h->dtype = wire_u16(&f);
    h->count = wire_u16(&f);
    h->p1 = wire_u32(&f);
    h->p2 = wire_u32(&f);
    h->hlen = CA_HEADER_LEN;
    if (h->postsize == 0xffff && h->count == 0) {
        if (!wire_claim(r, 8, true, &f))
            return 0;
        h->postsize = wire_u32(&f);
        h->count = wire_u32(&f);
        h->hlen = CA_HEADER_LEN + 8;
    }
    return 1;
}

/* A message of a circuit: its header decoded once, its payload behind a reader */
struct ca_msg {
    struct model *m;
    struct circuit *c;
    struct ca_hdr h;
    struct wire_rd pl;          /* the payload bytes present */
    uint64_t total;             /* header and payload bytes on the wire */
    uint64_t ts;
};

/* ---- subscriptions ----
 * A subscription is a request in the circuit's subs map, keyed by its
 * subscription id, so that the model frees it with its channel; what CA
 * knows of it is kept in the request's state and flags. */
enum { CA_SUB_ACTIVE = 0, CA_SUB_CANCELLED };
#define CA_SUB_UPDATED 0x01     /* request flag: the subscription's first value came */

static struct request *ca_sub_find(struct circuit *c, uint32_t subid)
{
    return idmap_get(&c->subs, subid);
}

/* The subscription no longer counts as a monitor of its channel */
static void ca_sub_stop(struct circuit *c, struct request *r)
{
    if (r->state == CA_SUB_ACTIVE) {
        r->state = CA_SUB_CANCELLED;
        model_monitor_add(c, r->channel, -1);
    }
}

/* ---- values for the put audit ---- */

static void format_value(char *out, size_t size, char *type, size_t tsize, uint16_t dtype,
                         uint32_t count, struct wire_rd v)
{
    /* type names of pvData, as the pvAccess audit gives them: DBR_CHAR is
     * an unsigned byte, DBR_LONG 32 bits */
    static const char *names[7] = { "string", "short", "float", "enum", "ubyte", "int", "double" };
    static const size_t sizes[7] = { 40, 2, 4, 2, 1, 4, 8 };
    out[0] = '\0';
    if (dtype > 6) {
        snprintf(type, tsize, "DBR_%u", dtype);
        return;
    }
    snprintf(type, tsize, "%s%s", names[dtype], count > 1 ? "[]" : "");
    size_t shown = 0, used = 0;
    for (uint32_t i = 0; i < count && i < 4; i++) {
        /* a lone string is sent with only the bytes it needs, padded to 8 */
        size_t avail = wire_left(&v);
        if (avail < (dtype == 0 ? 1 : sizes[dtype]))
            break;
        char one[64];
        switch (dtype) {
        case 0: {
            const uint8_t *s = wire_take(&v, avail < 40 ? avail : 40);
            size_t n = 0;
            while (n < 40 && n < avail && s[n])
                n++;
            size_t j = 0;
            for (size_t k = 0; k < n && j + 1 < sizeof(one); k++)
                one[j++] = (s[k] >= 0x20 && s[k] < 0x7f) ? (char)s[k] : '?';
            one[j] = '\0';
            break;
        }
        case 1: snprintf(one, sizeof(one), "%d", (int16_t)wire_u16(&v)); break;
        case 2: {
            uint32_t u = wire_u32(&v);
            float f;
            memcpy(&f, &u, sizeof(f));
            snprintf(one, sizeof(one), "%.9g", (double)f);
            break;
        }
        case 3: snprintf(one, sizeof(one), "%u", wire_u16(&v)); break;
        case 4: snprintf(one, sizeof(one), "%u", wire_u8(&v)); break;
        case 5: snprintf(one, sizeof(one), "%d", (int32_t)wire_u32(&v)); break;
        default: {
            uint64_t u = wire_u64(&v);
            double d;
            memcpy(&d, &u, sizeof(d));
            snprintf(one, sizeof(one), "%.17g", d);
            break;
        }
        }
        int n = snprintf(out + used, size - used, "%s%s", shown ? "," : "", one);
        if (n < 0 || (size_t)n >= size - used)
            break;
        used += (size_t)n;
        shown++;
    }
    if (count > shown && used + 4 < size)
        snprintf(out + used, size - used, "%s...", shown ? "," : "");
}

static void put_audit(struct model *m, struct circuit *c, struct channel *ch, const struct ca_hdr *h,
                      struct wire_rd payload, int32_t status, bool has_status, uint64_t ts)
{
    struct put_record r;
    model_put_start(&r, c, ch, status, has_status, ts);
    format_value(r.value, sizeof(r.value), r.type, sizeof(r.type), h->dtype, h->count, payload);
    model_put_record(m, ch ? ch->pv : NULL, &r);
}

/* A WRITE_NOTIFY waits for its status: keep what the audit record needs */
struct pending_write {
    struct ca_hdr h;
    size_t have;
    uint8_t payload[40 * 4];
};

/* ---- TCP ---- */

static long long ca_msg_len(void *ctx, int dir, const uint8_t *p, size_t have)
{
    (void)ctx;
    struct ca_hdr h;
    struct wire_rd r = wire_init(p, have, true), peek = r, f;
    if (!wire_claim(&peek, 2, true, &f))
        return 0;
    unsigned cmd = wire_u16(&f);
    if (cmd >= CA_COMMANDS || !(ca_commands[cmd].tcp_senders & (dir == 0 ? 1 : 2)))
        return -1;
    if (!ca_header(&r, &h))
        return 0;
    if (h.postsize > CA_MAX_PAYLOAD)
        return -1;
    return (long long)h.hlen + h.postsize;
}

/* The server address of a search reply: the field holds IPv4 only; ~0 or 0
 * mean the sender's address (the only way a reply over IPv6 names it) */
static struct netaddr reply_addr(uint32_t field, struct netaddr sender)
{
    return field == 0xffffffffu || field == 0 ? sender : netaddr_v4(field);
}

static void client_message(struct ca_msg *x, struct model *m, struct circuit *c,
                           const struct ca_hdr *h)
{
    struct channel *ch = NULL;
    struct request *r;
    const uint8_t *s;
    size_t n;

    switch (h->cmd) {
    case CA_CREATE_CHAN: {
        s = wire_cstring(&x->pl, &n);
        if (n == 0) {
            model_bad_input(m, "CA CREATE_CHAN without a channel name");
            return;
        }
        ch = model_create_request(m, c, h->p1, (const char *)s, n, x->ts);
        break;
    }
    case CA_READ_NOTIFY:
    case CA_READ:
        ch = model_channel_by_sid_or_unknown(m, c, h->p1);
        model_count_op(c, ch, OP_READ);
        model_request_add(m, c, &c->requests, h->p2, ch,
                          h->cmd == CA_READ_NOTIFY ? CA_REQ_READ : CA_REQ_READ_OBSOLETE, x->ts);
        break;
    case CA_WRITE:
    case CA_WRITE_NOTIFY:
        ch = model_channel_by_sid_or_unknown(m, c, h->p1);
        model_count_op(c, ch, OP_WRITE);
        if (h->cmd == CA_WRITE) {
            put_audit(m, c, ch, h, x->pl, 0, false, x->ts);
        } else if ((r = model_request_add(m, c, &c->requests, h->p2, ch, CA_REQ_WRITE_NOTIFY,
                                          x->ts))) {
            struct pending_write *w = calloc(1, sizeof(*w));
            if (w) {
                size_t keep = wire_left(&x->pl);
                if (keep > sizeof(w->payload))
                    keep = sizeof(w->payload);
                const uint8_t *b = wire_take(&x->pl, keep);
                w->h = *h;
                w->have = b ? keep : 0;
                if (w->have)
                    memcpy(w->payload, b, w->have);
                r->data = w;
            }
        }
        break;
    case CA_EVENT_ADD:
        ch = model_channel_by_sid_or_unknown(m, c, h->p1);
        if ((r = ca_sub_find(c, h->p2)))
            ca_sub_stop(c, r);          /* the id was reused */
        if ((r = model_request_add(m, c, &c->subs, h->p2, ch, CA_REQ_SUBSCRIPTION, x->ts)))
            model_monitor_add(c, ch, 1);
        break;
    case CA_EVENT_CANCEL:
        if ((r = ca_sub_find(c, h->p2)) && r->state == CA_SUB_ACTIVE) {
            ca_sub_stop(c, r);
            ch = r->channel;
        } else {
            ch = model_channel_by_sid_or_unknown(m, c, h->p1);
        }
        break;
    case CA_CLEAR_CHANNEL:
        ch = model_channel_by_cid(c, h->p2);
        if (!ch)
            ch = model_channel_by_sid_or_unknown(m, c, h->p1);
        break;
    case CA_CLIENT_NAME:
        s = wire_cstring(&x->pl, &n);
        model_client_strings(c, NULL, 0, (const char *)s, n);
        break;
    case CA_HOST_NAME:
        s = wire_cstring(&x->pl, &n);
        model_client_strings(c, (const char *)s, n, NULL, 0);
        break;
    case CA_ECHO:
        model_echo_request(c, x->ts);
        break;
    case CA_SEARCH:         /* searches over TCP (name servers) */
        s = wire_cstring(&x->pl, &n);
        if (n)
            model_search_request(m, PROTO_CA, c->client_addr, c->client_port, h->p1,
                                 (const char *)s, n, x->ts);
        break;
    default:                /* VERSION, EVENTS_OFF/ON, READ_SYNC */
        break;
    }
    model_channel_bytes(c, ch, 0, x->total);
}

/* The age of a subscription update whose type carries a time stamp. The
 * first value after a subscription request seen in the capture is left
 * out: it is the value the record had, with its old stamp. */
static void update_age(struct ca_msg *x, struct channel *ch, struct request *r)
{
    const struct ca_hdr *h = &x->h;
    bool first = r && !(r->flags & CA_SUB_UPDATED);
    if (r)
        r->flags |= CA_SUB_UPDATED;
    if (first || h->dtype < DBR_TIME_FIRST || h->dtype > DBR_TIME_LAST)
        return;
    struct wire_rd v;             /* the payload is not read after this */
    if (!wire_claim(&x->pl, 12, true, &v))
        return;
    wire_skip(&v, 4);                   /* status, severity */
    uint32_t sec = wire_u32(&v), nsec = wire_u32(&v);
    int64_t posix = (int64_t)sec + EPICS_EPOCH_POSIX;
    model_update_age(x->m, x->c, ch, posix * 1000000 + nsec / 1000, x->ts);
}

/* What ends a request, a subscription or a channel on the server's word,
 * whether in a reply or in an ERROR naming the request: the message counts
 * for the channel, then the state goes */

static void request_done(struct ca_msg *x, struct request *r)
{
    model_channel_bytes(x->c, r->channel, 1, x->total);
    model_request_del(x->c, &x->c->requests, r);
}

static void subscription_done(struct ca_msg *x, struct request *r)
{
    ca_sub_stop(x->c, r);
    model_channel_bytes(x->c, r->channel, 1, x->total);
    model_request_del(x->c, &x->c->subs, r);
}

static void create_failed(struct ca_msg *x, uint32_t cid)
{
    model_channel_bytes(x->c, model_channel_by_cid(x->c, cid), 1, x->total);
    model_create_failed(x->m, x->c, cid, x->ts);
}

static void channel_closed(struct ca_msg *x, struct channel *ch)
{
    model_channel_bytes(x->c, ch, 1, x->total);
    model_channel_close(x->m, x->c, ch);
}

/* An ERROR carries the header of the request it refuses; true when that
 * ended something (the message is counted), else *ch is its channel if known */
static bool error_ends(struct ca_msg *x, struct channel **ch)
{
    struct ca_hdr req;
    struct wire_rd r = x->pl;
    struct request *q;
    if (!ca_header(&r, &req))
        return false;
    switch (req.cmd) {
    case CA_READ_NOTIFY:
    case CA_WRITE_NOTIFY:
    case CA_READ:
        if (!(q = idmap_get(&x->c->requests, req.p2)))
            return false;
        request_done(x, q);
        return true;
    case CA_EVENT_ADD:
        if (!(q = ca_sub_find(x->c, req.p2)))
            return false;
        subscription_done(x, q);
        return true;
    case CA_CREATE_CHAN:
        create_failed(x, req.p1);
        return true;
    case CA_WRITE:
        *ch = model_channel_by_sid_or_unknown(x->m, x->c, req.p1);
        return false;
    default:
        return false;
    }
}

static void server_message(struct ca_msg *x, struct model *m, struct circuit *c,
                           const struct ca_hdr *h)
{
    struct channel *ch = NULL;
    struct request *r;

    switch (h->cmd) {
    case CA_CREATE_CHAN:
        ch = model_create_reply(m, c, h->p1, h->p2, x->ts);
        break;
    case CA_ACCESS_RIGHTS:
        ch = model_channel_by_cid(c, h->p1);
        break;
    case CA_CREATE_CH_FAIL:
        create_failed(x, h->p1);
        return;
    case CA_SERVER_DISCONN:
        channel_closed(x, model_channel_by_cid(c, h->p1));
        return;
    case CA_CLEAR_CHANNEL:
        ch = model_channel_by_cid(c, h->p2);
        if (!ch)
            ch = model_channel_by_sid_or_unknown(m, c, h->p1);
        channel_closed(x, ch);
        return;
    case CA_READ_NOTIFY:
    case CA_READ:
    case CA_WRITE_NOTIFY:
        r = idmap_get(&c->requests, h->p2);
        if (!r) {
            m->ps[PROTO_CA].unmatched_replies++;
            ch = model_unknown_channel(m, c);
            break;
        }
        ch = r->channel;
        if (h->p1 != ECA_NORMAL && c->server)
            c->server->errors++;
        /* a reply with an error status answers its request all the same */
        if (h->cmd == CA_READ_NOTIFY && r->kind == CA_REQ_READ)
            model_op_latency(m, c, ch, LAT_READ, r->sent_us, x->ts);
        else if (h->cmd == CA_WRITE_NOTIFY && r->kind == CA_REQ_WRITE_NOTIFY)
            model_op_latency(m, c, ch, LAT_WRITE, r->sent_us, x->ts);
        if (r->kind == CA_REQ_WRITE_NOTIFY && r->data) {
            struct pending_write *w = r->data;
            put_audit(m, c, ch, &w->h, wire_init(w->payload, w->have, true), (int32_t)h->p1,
                      true, x->ts);
        }
        request_done(x, r);
        return;
    case CA_EVENT_ADD:
        r = ca_sub_find(c, h->p2);
        if (h->postsize == 0) {
            /* the empty reply confirming EVENT_CANCEL: rsrv sends no other
             * (event_cancel_reply copies the request's type and count), and
             * it confirms a cancel the capture may have missed */
            if (!r) {
                ch = model_unknown_channel(m, c);
                break;
            }
            subscription_done(x, r);
            return;
        }
        ch = r ? r->channel : model_unknown_channel(m, c);
        if (h->p1 != ECA_NORMAL && c->server)
            c->server->errors++;
        model_monitor_update(c, ch);
        update_age(x, ch, r);
        break;
    case CA_ERROR:
        if (c->server)
            c->server->errors++;
        if (error_ends(x, &ch))
            return;
        break;
    case CA_SEARCH:
        model_search_reply(m, PROTO_CA, c->client_addr, c->client_port, h->p2,
                           reply_addr(h->p1, c->server ? c->server->key.addr : (struct netaddr){ { 0 } }),
                           h->dtype, x->ts);
        break;
    case CA_NOT_FOUND:
        model_search_not_found(m, PROTO_CA, c->client_addr, c->client_port, h->p1, x->ts);
        break;
    case CA_ECHO:
        model_echo_reply(m, c, x->ts);
        break;
    default:                /* VERSION */
        break;
    }
    model_channel_bytes(c, ch, 1, x->total);
}

static void ca_message(void *ctx, int dir, const uint8_t *p, size_t have, uint64_t total,
                       uint64_t ts)
{
    struct circuit *c = ctx;
    struct model *m = c->model;
    struct wire_rd r = wire_init(p, have, true);
    struct ca_msg x;
    if (!ca_header(&r, &x.h)) {
        model_bad_input(m, "CA message shorter than its header");
        return;
    }
    m->ps[PROTO_CA].messages++;
    x.m = m;
    x.c = c;
    size_t plen = wire_left(&r);
    x.pl = wire_init(wire_take(&r, plen), plen, true);
    x.total = total;
    x.ts = ts;
    if (dir == 0)
        client_message(&x, m, c, &x.h);
    else
        server_message(&x, m, c, &x.h);
}

const struct stream_ops ca_stream_ops = {
    .msg_len = ca_msg_len,
    .message = ca_message,
    .gap = model_stream_gap,
    .bytes = model_stream_bytes,
};

/* ---- UDP ---- */

void ca_datagram(struct model *m, const struct packet *pkt, bool repeater_copy)
{
    struct wire_rd r = wire_init(pkt->payload, pkt->caplen, true);

    while (wire_left(&r) > 0) {
        struct ca_hdr h;
        if (!ca_header(&r, &h)) {
            model_bad_input(m, "CA datagram with a truncated header");
            return;
        }
        if (h.postsize > wire_left(&r)) {
            if (pkt->caplen == pkt->len)
                model_bad_input(m, "CA datagram message longer than the datagram");
            return;
        }
        struct wire_rd pl = wire_sub(&r, h.postsize);
        m->ps[PROTO_CA].messages++;

        switch (h.cmd) {
        case CA_SEARCH: {
            /* requests say whether to reply; replies carry the server's TCP port there */
            if (h.dtype == CA_DOREPLY || h.dtype == CA_DONTREPLY) {
                size_t n;
                const uint8_t *name = wire_cstring(&pl, &n);
                if (n == 0) {
                    model_bad_input(m, "CA search without a channel name");
                    break;
                }
                model_search_request(m, PROTO_CA, pkt->saddr, pkt->sport, h.p1,
                                     (const char *)name, n, pkt->ts_us);
            } else {
                model_search_reply(m, PROTO_CA, pkt->daddr, pkt->dport, h.p2,
                                   reply_addr(h.p1, pkt->saddr), h.dtype, pkt->ts_us);
            }
            break;
        }
        case CA_NOT_FOUND:
            model_search_not_found(m, PROTO_CA, pkt->daddr, pkt->dport, h.p1, pkt->ts_us);
            break;
        case CA_RSRV_IS_UP:
            /* the repeater's copies to clients are not counted; a beacon
             * without an address is its sender's (model_beacon_from) */
            if (!repeater_copy && h.p2)
                model_beacon(m, PROTO_CA, netaddr_v4(h.p2), (uint16_t)h.count, h.p1, pkt->ts_us);
            else if (!repeater_copy)
                model_beacon_from(m, PROTO_CA, pkt->saddr, (uint16_t)h.count, h.p1, pkt->ts_us);
            break;
        case CA_VERSION:
        case CA_REPEATER_REGISTER:
        case CA_REPEATER_CONFIRM:
            break;
        default:
            if (h.cmd >= CA_COMMANDS)
                model_bad_input(m, "CA datagram with an unknown command");
            break;
        }
    }
}

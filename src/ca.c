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

enum {
    CA_VERSION = 0, CA_EVENT_ADD = 1, CA_EVENT_CANCEL = 2, CA_READ = 3, CA_WRITE = 4,
    CA_SNAPSHOT = 5, CA_SEARCH = 6, CA_BUILD = 7, CA_EVENTS_OFF = 8, CA_EVENTS_ON = 9,
    CA_READ_SYNC = 10, CA_ERROR = 11, CA_CLEAR_CHANNEL = 12, CA_RSRV_IS_UP = 13,
    CA_NOT_FOUND = 14, CA_READ_NOTIFY = 15, CA_READ_BUILD = 16, CA_REPEATER_CONFIRM = 17,
    CA_CREATE_CHAN = 18, CA_WRITE_NOTIFY = 19, CA_CLIENT_NAME = 20, CA_HOST_NAME = 21,
    CA_ACCESS_RIGHTS = 22, CA_ECHO = 23, CA_REPEATER_REGISTER = 24, CA_SIGNAL = 25,
    CA_CREATE_CH_FAIL = 26, CA_SERVER_DISCONN = 27, CA_COMMANDS
};

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

#define CA_DOREPLY 10
#define CA_DONTREPLY 5
#define ECA_NORMAL 1
#define CA_MAX_PAYLOAD (1ULL << 31)     /* far above any EPICS_CA_MAX_ARRAY_BYTES */

/* request kinds kept in the circuit's maps */
enum { REQ_READ = 1, REQ_WRITE_NOTIFY, REQ_SUBSCRIPTION, REQ_READ_OBSOLETE };
enum { SUB_ACTIVE = 0, SUB_CANCELLED };
#define SUB_UPDATED 0x01        /* request flag: the subscription's first value came */

/* DBR_TIME_STRING to DBR_TIME_DOUBLE: status, severity, then the stamp
 * (uint32 secPastEpoch, uint32 nsec since 1990) at payload offset 4 */
#define DBR_TIME_FIRST 14
#define DBR_TIME_LAST 20
#define DBR_TIME_STAMP_END 12
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

/* 1: header decoded, 0: more bytes needed */
static int ca_header(const uint8_t *p, size_t have, struct ca_hdr *h)
{
    if (have < 16)
        return 0;
    h->cmd = wire_be16(p);
    h->postsize = wire_be16(p + 2);
    h->dtype = wire_be16(p + 4);
    h->count = wire_be16(p + 6);
    h->p1 = wire_be32(p + 8);
    h->p2 = wire_be32(p + 12);
    h->hlen = 16;
    if (h->postsize == 0xffff && h->count == 0) {
        if (have < 24)
            return 0;
        h->postsize = wire_be32(p + 16);
        h->count = wire_be32(p + 20);
        h->hlen = 24;
    }
    return 1;
}

/* ---- values for the put audit ---- */

static void format_value(char *out, size_t size, char *type, size_t tsize, uint16_t dtype,
                         uint32_t count, const uint8_t *p, size_t len)
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
        const uint8_t *v = p + i * sizes[dtype];
        /* a lone string is sent with only the bytes it needs, padded to 8 */
        size_t avail = i * sizes[dtype] < len ? len - i * sizes[dtype] : 0;
        if (avail < (dtype == 0 ? 1 : sizes[dtype]))
            break;
        char one[64];
        switch (dtype) {
        case 0: {
            size_t n = 0;
            while (n < 40 && n < avail && v[n])
                n++;
            size_t j = 0;
            for (size_t k = 0; k < n && j + 1 < sizeof(one); k++)
                one[j++] = (v[k] >= 0x20 && v[k] < 0x7f) ? (char)v[k] : '?';
            one[j] = '\0';
            break;
        }
        case 1: snprintf(one, sizeof(one), "%d", (int16_t)wire_be16(v)); break;
        case 2: {
            uint32_t u = wire_be32(v);
            float f;
            memcpy(&f, &u, sizeof(f));
            snprintf(one, sizeof(one), "%.9g", (double)f);
            break;
        }
        case 3: snprintf(one, sizeof(one), "%u", wire_be16(v)); break;
        case 4: snprintf(one, sizeof(one), "%u", v[0]); break;
        case 5: snprintf(one, sizeof(one), "%d", (int32_t)wire_be32(v)); break;
        default: {
            uint64_t u = wire_get64(v, true);
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
                      const uint8_t *payload, size_t have, int32_t status, bool has_status,
                      uint64_t ts)
{
    struct put_record r;
    model_put_start(&r, c, ch, status, has_status, ts);
    format_value(r.value, sizeof(r.value), r.type, sizeof(r.type), h->dtype, h->count, payload,
                 have);
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
    if (have < 2)
        return 0;
    unsigned cmd = wire_be16(p);
    if (cmd >= CA_COMMANDS || !(ca_commands[cmd].tcp_senders & (dir == 0 ? 1 : 2)))
        return -1;
    if (!ca_header(p, have, &h))
        return 0;
    if (h.postsize > CA_MAX_PAYLOAD)
        return -1;
    return (long long)h.hlen + h.postsize;
}

static size_t strnlen_(const uint8_t *p, size_t max)
{
    size_t n = 0;
    while (n < max && p[n])
        n++;
    return n;
}

/* The server address of a search reply: the field holds IPv4 only; ~0 or 0
 * mean the sender's address (the only way a reply over IPv6 names it) */
static struct netaddr reply_addr(uint32_t field, struct netaddr sender)
{
    return field == 0xffffffffu || field == 0 ? sender : netaddr_v4(field);
}

static struct request *sub_of(struct circuit *c, uint32_t subid)
{
    return idmap_get(&c->subs, subid);
}

static void client_message(struct model *m, struct circuit *c, const struct ca_hdr *h,
                           const uint8_t *pl, size_t plen, uint64_t total, uint64_t ts)
{
    struct channel *ch = NULL;
    struct request *r;

    switch (h->cmd) {
    case CA_CREATE_CHAN: {
        size_t n = strnlen_(pl, plen);
        if (n == 0) {
            model_bad_input(m, "CA CREATE_CHAN without a channel name");
            return;
        }
        ch = model_create_request(m, c, h->p1, (const char *)pl, n, ts);
        break;
    }
    case CA_READ_NOTIFY:
    case CA_READ:
        ch = model_channel_by_sid_or_unknown(m, c, h->p1);
        model_count_op(c, ch, OP_READ);
        model_request_add(m, c, &c->requests, h->p2, ch,
                          h->cmd == CA_READ_NOTIFY ? REQ_READ : REQ_READ_OBSOLETE, ts);
        break;
    case CA_WRITE:
    case CA_WRITE_NOTIFY:
        ch = model_channel_by_sid_or_unknown(m, c, h->p1);
        model_count_op(c, ch, OP_WRITE);
        if (h->cmd == CA_WRITE) {
            put_audit(m, c, ch, h, pl, plen, 0, false, ts);
        } else if ((r = model_request_add(m, c, &c->requests, h->p2, ch, REQ_WRITE_NOTIFY, ts))) {
            struct pending_write *w = calloc(1, sizeof(*w));
            if (w) {
                w->h = *h;
                w->have = plen < sizeof(w->payload) ? plen : sizeof(w->payload);
                memcpy(w->payload, pl, w->have);
                r->data = w;
            }
        }
        break;
    case CA_EVENT_ADD:
        ch = model_channel_by_sid_or_unknown(m, c, h->p1);
        if ((r = sub_of(c, h->p2)) && r->state == SUB_ACTIVE)
            model_monitor_add(c, r->channel, -1);       /* the id was reused */
        if ((r = model_request_add(m, c, &c->subs, h->p2, ch, REQ_SUBSCRIPTION, ts)))
            model_monitor_add(c, ch, 1);
        break;
    case CA_EVENT_CANCEL:
        if ((r = sub_of(c, h->p2)) && r->state == SUB_ACTIVE) {
            r->state = SUB_CANCELLED;
            model_monitor_add(c, r->channel, -1);
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
        model_client_strings(c, NULL, 0, (const char *)pl, strnlen_(pl, plen));
        break;
    case CA_HOST_NAME:
        model_client_strings(c, (const char *)pl, strnlen_(pl, plen), NULL, 0);
        break;
    case CA_ECHO:
        model_echo_request(c, ts);
        break;
    case CA_SEARCH:         /* searches over TCP (name servers) */
        if (strnlen_(pl, plen))
            model_search_request(m, PROTO_CA, c->client_addr, c->client_port, h->p1,
                                 (const char *)pl, strnlen_(pl, plen), ts);
        break;
    default:                /* VERSION, EVENTS_OFF/ON, READ_SYNC */
        break;
    }
    model_channel_bytes(c, ch, 0, total);
}

/* The age of a subscription update whose type carries a time stamp. The
 * first value after a subscription request seen in the capture is left
 * out: it is the value the record had, with its old stamp. */
static void update_age(struct model *m, struct circuit *c, struct channel *ch, struct request *r,
                       const struct ca_hdr *h, const uint8_t *pl, size_t plen, uint64_t ts)
{
    bool first = r && !(r->flags & SUB_UPDATED);
    if (r)
        r->flags |= SUB_UPDATED;
    if (first || h->dtype < DBR_TIME_FIRST || h->dtype > DBR_TIME_LAST || plen < DBR_TIME_STAMP_END)
        return;
    int64_t sec = (int64_t)wire_be32(pl + 4) + EPICS_EPOCH_POSIX;
    model_update_age(m, c, ch, sec * 1000000 + wire_be32(pl + 8) / 1000, ts);
}

static void server_message(struct model *m, struct circuit *c, const struct ca_hdr *h,
                           const uint8_t *pl, size_t plen, uint64_t total, uint64_t ts)
{
    struct channel *ch = NULL;
    struct request *r;

    switch (h->cmd) {
    case CA_CREATE_CHAN:
        ch = model_create_reply(m, c, h->p1, h->p2, ts);
        break;
    case CA_ACCESS_RIGHTS:
        ch = model_channel_by_cid(c, h->p1);
        break;
    case CA_CREATE_CH_FAIL:
        ch = model_channel_by_cid(c, h->p1);
        model_channel_bytes(c, ch, 1, total);
        model_create_failed(m, c, h->p1, ts);
        return;
    case CA_SERVER_DISCONN:
        ch = model_channel_by_cid(c, h->p1);
        model_channel_bytes(c, ch, 1, total);
        model_channel_close(m, c, ch);
        return;
    case CA_CLEAR_CHANNEL:
        ch = model_channel_by_cid(c, h->p2);
        if (!ch)
            ch = model_channel_by_sid_or_unknown(m, c, h->p1);
        model_channel_bytes(c, ch, 1, total);
        model_channel_close(m, c, ch);
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
        if (h->cmd == CA_READ_NOTIFY && r->kind == REQ_READ)
            model_op_latency(m, c, ch, LAT_READ, r->sent_us, ts);
        else if (h->cmd == CA_WRITE_NOTIFY && r->kind == REQ_WRITE_NOTIFY)
            model_op_latency(m, c, ch, LAT_WRITE, r->sent_us, ts);
        if (r->kind == REQ_WRITE_NOTIFY && r->data) {
            struct pending_write *w = r->data;
            put_audit(m, c, ch, &w->h, w->payload, w->have, (int32_t)h->p1, true, ts);
        }
        model_channel_bytes(c, ch, 1, total);
        model_request_del(c, &c->requests, r);
        return;
    case CA_EVENT_ADD:
        r = sub_of(c, h->p2);
        if (h->postsize == 0) {
            /* the empty reply confirming EVENT_CANCEL: rsrv sends no other
             * (event_cancel_reply copies the request's type and count), and
             * it confirms a cancel the capture may have missed */
            if (!r) {
                ch = model_unknown_channel(m, c);
                break;
            }
            ch = r->channel;
            if (r->state == SUB_ACTIVE)
                model_monitor_add(c, ch, -1);
            model_channel_bytes(c, ch, 1, total);
            model_request_del(c, &c->subs, r);
            return;
        }
        ch = r ? r->channel : model_unknown_channel(m, c);
        if (h->p1 != ECA_NORMAL && c->server)
            c->server->errors++;
        model_monitor_update(c, ch);
        update_age(m, c, ch, r, h, pl, plen, ts);
        break;
    case CA_ERROR: {
        if (c->server)
            c->server->errors++;
        struct ca_hdr req;
        if (!ca_header(pl, plen, &req))
            break;
        if (req.cmd == CA_READ_NOTIFY || req.cmd == CA_WRITE_NOTIFY || req.cmd == CA_READ) {
            if ((r = idmap_get(&c->requests, req.p2))) {
                ch = r->channel;
                model_channel_bytes(c, ch, 1, total);
                model_request_del(c, &c->requests, r);
                return;
            }
        } else if (req.cmd == CA_EVENT_ADD) {
            if ((r = sub_of(c, req.p2))) {
                ch = r->channel;
                if (r->state == SUB_ACTIVE)
                    model_monitor_add(c, ch, -1);
                model_channel_bytes(c, ch, 1, total);
                model_request_del(c, &c->subs, r);
                return;
            }
        } else if (req.cmd == CA_CREATE_CHAN) {
            ch = model_channel_by_cid(c, req.p1);
            model_channel_bytes(c, ch, 1, total);
            model_create_failed(m, c, req.p1, ts);
            return;
        } else if (req.cmd == CA_WRITE) {
            ch = model_channel_by_sid_or_unknown(m, c, req.p1);
        }
        break;
    }
    case CA_SEARCH:
        model_search_reply(m, PROTO_CA, c->client_addr, c->client_port, h->p2,
                           reply_addr(h->p1, c->server ? c->server->key.addr : (struct netaddr){ { 0 } }),
                           h->dtype, ts);
        break;
    case CA_NOT_FOUND:
        model_search_not_found(m, PROTO_CA, c->client_addr, c->client_port, h->p1, ts);
        break;
    case CA_ECHO:
        model_echo_reply(m, c, ts);
        break;
    default:                /* VERSION */
        break;
    }
    model_channel_bytes(c, ch, 1, total);
}

static void ca_message(void *ctx, int dir, const uint8_t *p, size_t have, uint64_t total,
                       uint64_t ts)
{
    struct circuit *c = ctx;
    struct model *m = c->model;
    struct ca_hdr h;
    if (!ca_header(p, have, &h)) {
        model_bad_input(m, "CA message shorter than its header");
        return;
    }
    m->ps[PROTO_CA].messages++;
    const uint8_t *pl = p + h.hlen;
    size_t plen = have - h.hlen;
    if (dir == 0)
        client_message(m, c, &h, pl, plen, total, ts);
    else
        server_message(m, c, &h, pl, plen, total, ts);
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
    const uint8_t *p = pkt->payload;
    size_t len = pkt->caplen;

    while (len > 0) {
        struct ca_hdr h;
        if (!ca_header(p, len, &h)) {
            model_bad_input(m, "CA datagram with a truncated header");
            return;
        }
        if (h.postsize > len - h.hlen) {
            if (pkt->caplen == pkt->len)
                model_bad_input(m, "CA datagram message longer than the datagram");
            return;
        }
        const uint8_t *pl = p + h.hlen;
        size_t plen = h.postsize;
        m->ps[PROTO_CA].messages++;

        switch (h.cmd) {
        case CA_SEARCH: {
            /* requests say whether to reply; replies carry the server's TCP port there */
            if (h.dtype == CA_DOREPLY || h.dtype == CA_DONTREPLY) {
                size_t n = strnlen_(pl, plen);
                if (n == 0) {
                    model_bad_input(m, "CA search without a channel name");
                    break;
                }
                model_search_request(m, PROTO_CA, pkt->saddr, pkt->sport, h.p1,
                                     (const char *)pl, n, pkt->ts_us);
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
        p += h.hlen + h.postsize;
        len -= h.hlen + h.postsize;
    }
}

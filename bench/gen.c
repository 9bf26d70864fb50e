/*
 * gen.c - synthetic Channel Access traffic for the benchmark (see gen.h).
 *
 * CA header (epics-base caProto.h), big-endian, 16 bytes:
 *   cmmd(2) postsize(2) dataType(2) count(2) cid/p1(4) available/p2(4)
 * Fields as real software fills them (checked against captures of
 * softIoc/caget/camonitor/caput):
 *   UDP VERSION        dataType 1 (sequence valid), count 13, p1 sequence
 *   SEARCH request     postsize name padded to 8, dataType 5 (DONTREPLY),
 *                      count 13, p1 = p2 = cid
 *   SEARCH reply       postsize 8 (minor version), dataType server TCP
 *                      port, p1 0xffffffff (use the sender's address), p2 cid
 *   RSRV_IS_UP         dataType 13, count server TCP port, p1 sequence,
 *                      p2 address (0: the sender's)
 *   TCP VERSION        count 13 (both directions)
 *   CREATE_CHAN        request: name, p1 cid, p2 13; reply: dataType 6
 *                      (DBR_DOUBLE), count 1, p1 cid, p2 sid
 *   ACCESS_RIGHTS      p1 cid, p2 3 (read and write)
 *   EVENT_ADD          request: postsize 16 (low, high, to, mask), dataType
 *                      20, p1 sid, p2 subscription id; update: postsize 24
 *                      (struct dbr_time_double), count 1, p1 ECA_NORMAL, p2
 *                      subscription id
 *   READ_NOTIFY        request: dataType 20, count 1, p1 sid, p2 ioid;
 *                      reply: postsize 24, p1 ECA_NORMAL, p2 ioid
 *   WRITE              postsize 8, dataType 6, count 1, p1 sid, p2 cid
 * struct dbr_time_double (db_access.h): status(2) severity(2)
 * secPastEpoch(4, since 1990) nsec(4) RISC_pad(4) value(8).
 */
#include "gen.h"
#include "frames.h"

#include <pcap/dlt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CA_PORT 5064
#define CA_REPEATER 5065
#define MSS 1460
#define SEARCH_MAX 1024                 /* MAX_UDP_SEND of the CA client library */
#define BROADCAST IP(127, 255, 255, 255)
#define START_US GEN_START_US
#define CONNECT_STEP_US 20
#define CLIENT_START_US 6000000ULL      /* clients start one after another */
#define ROUND_US 1000000ULL
#define BEACON_US 15000000ULL
#define EPICS_EPOCH 631152000ULL        /* 1990-01-01 in Unix seconds */
#define TCP_PSH_ 0x08
#define DBR_TIME_DOUBLE 20
#define DBE_VALUE_ALARM 5

struct bytes {
    uint8_t *p;
    size_t len, off, cap;       /* off: bytes already sent */
};

struct half {
    uint32_t seq;               /* next sequence number to send */
    int unacked;                /* data segments the peer has not acknowledged */
    struct bytes out;           /* queued by the application, not yet sent */
};

struct circ {
    int client, server;
    uint32_t caddr, saddr;
    uint16_t cport;
    struct half h[2];           /* 0: client to server, 1: server to client */
    uint32_t *sid, *subid;      /* per channel (the server's PVs in order) */
};

struct server_state {
    uint32_t addr;
    uint16_t beacon_port;
    uint32_t beacon_seq;
    uint64_t next_beacon;
    uint32_t next_sid;
    int first, n;               /* the PVs it hosts */
};

struct client_state {
    uint32_t addr;
    uint16_t search_port, next_port;
    uint32_t ioid, search_seq;
    char user[16], host[16];
};

struct gen {
    struct gen_params p;
    gen_sink sink;
    void *arg;
    uint64_t rng;
    uint64_t ts, step;          /* time of the next frame, microseconds between frames */
    uint64_t next_beacon;       /* earliest of the servers' */
    uint16_t ip_id;
    double value;
    struct server_state *srv;
    struct client_state *cli;
    struct circ *circ;          /* client-major: circ[client * servers + server] */
    struct bytes dgram;
    struct gen_counts n;
    uint8_t frame[2048];
};

static const char *const signals[] = {
    "Current-RB", "Current-SP", "Voltage-RB", "Temp-I", "Sts", "Fault-Sts", "X-I", "Y-I",
};
#define NSIGNALS (sizeof(signals) / sizeof(signals[0]))

/* ---- encoding ---- */

static uint64_t rnd(struct gen *g)
{
    /* splitmix64 */
    uint64_t z = (g->rng += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint8_t *bytes_room(struct bytes *b, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n)
            cap *= 2;
        uint8_t *p = realloc(b->p, cap);
        if (!p) {
            fprintf(stderr, "epics-bench: out of memory\n");
            exit(1);
        }
        b->p = p;
        b->cap = cap;
    }
    uint8_t *at = b->p + b->len;
    b->len += n;
    return at;
}

/* Appends one CA message (frames.c); payload may be shorter than postsize (zero padding) */
static void msg(struct gen *g, struct bytes *b, uint16_t cmd, uint16_t postsize, uint16_t dtype,
                uint16_t count, uint32_t p1, uint32_t p2, const void *payload, size_t plen)
{
    ca_encode(bytes_room(b, ca_size(postsize, count)), cmd, postsize, dtype, count, p1, p2, payload,
              plen);
    g->n.messages++;
}

static void msg_str(struct gen *g, struct bytes *b, uint16_t cmd, uint16_t dtype, uint16_t count,
                    uint32_t p1, uint32_t p2, const char *s)
{
    msg(g, b, cmd, (uint16_t)ca_str_size(s), dtype, count, p1, p2, s, strlen(s) + 1);
}

static int server_of(const struct gen *g, int pv)
{
    return (int)((uint64_t)pv * (uint64_t)g->p.servers / (uint64_t)g->p.pvs);
}

static int pv_name(const struct gen *g, int pv, char *buf, size_t size)
{
    int s = server_of(g, pv);
    int j = pv - g->srv[s].first;
    return snprintf(buf, size, "S%03d:DEV%04d:%s", s + 1, j / (int)NSIGNALS, signals[j % (int)NSIGNALS]);
}

/* struct dbr_time_double, big-endian */
static void time_double(struct gen *g, uint8_t out[24])
{
    uint64_t bits;
    g->value += 0.125;
    if (g->value > 1000)
        g->value = -1000;
    memcpy(&bits, &g->value, sizeof(bits));
    memset(out, 0, 24);
    put_be32(out + 4, (uint32_t)(g->ts / 1000000 - EPICS_EPOCH));
    put_be32(out + 8, (uint32_t)(g->ts % 1000000) * 1000);
    put_be64(out + 16, bits);
}

/* ---- frames ---- */

static void put_frame(struct gen *g, uint64_t ts, uint8_t *f, size_t len)
{
    frame_as_sent(f, g->ip_id++);
    g->sink(g->arg, ts, f, (uint32_t)len);
    g->n.packets++;
    g->n.bytes += len;
}

/* Beacons fall due as time passes: send those due before the next frame */
static void beacons_due(struct gen *g)
{
    uint8_t f[128], m[16];
    while (g->next_beacon <= g->ts) {
        uint64_t next = UINT64_MAX;
        struct server_state *due = NULL;
        for (int s = 0; s < g->p.servers; s++)
            if (g->srv[s].next_beacon < next) {
                next = g->srv[s].next_beacon;
                due = &g->srv[s];
            }
        if (next > g->ts) {
            g->next_beacon = next;
            return;
        }
        ca_encode(m, CA_CMD_RSRV_IS_UP, 0, CA_MINOR_VERSION, CA_PORT, due->beacon_seq++, 0, NULL, 0);
        size_t len = frame_udp(f, DLT_EN10MB, due->addr, due->beacon_port, BROADCAST, CA_REPEATER, m, 16);
        put_frame(g, due->next_beacon, f, len);
        due->next_beacon += BEACON_US;
        g->n.beacons++;
        g->n.messages++;
    }
}

static void emit(struct gen *g, size_t len)
{
    beacons_due(g);
    put_frame(g, g->ts, g->frame, len);
    g->ts += g->step;
}

static void udp_out(struct gen *g, uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport,
                    const struct bytes *b)
{
    emit(g, frame_udp(g->frame, DLT_EN10MB, src, sport, dst, dport, b->p, b->len));
}

static void tcp_out(struct gen *g, struct circ *c, int dir, uint8_t flags, const uint8_t *data,
                    size_t len)
{
    struct half *me = &c->h[dir], *peer = &c->h[!dir];
    uint32_t ack = (flags & TCP_ACK) ? peer->seq : 0;
    size_t n = dir == 0
        ? frame_tcp(g->frame, DLT_EN10MB, c->caddr, c->cport, c->saddr, CA_PORT, me->seq, ack, flags, data, len)
        : frame_tcp(g->frame, DLT_EN10MB, c->saddr, CA_PORT, c->caddr, c->cport, me->seq, ack, flags, data, len);
    me->seq += (uint32_t)len + ((flags & (TCP_SYN | TCP_FIN)) ? 1 : 0);
    if (flags & TCP_ACK)
        peer->unacked = 0;
    if (len) {
        me->unacked++;
        *(dir == 0 ? &g->n.bytes_in : &g->n.bytes_out) += len;
    }
    emit(g, n);
}

/* One segment of what a direction has queued (the receiver acknowledges
 * every second one); false when nothing is queued */
static bool segment(struct gen *g, struct circ *c, int dir)
{
    struct bytes *b = &c->h[dir].out;
    size_t left = b->len - b->off;
    if (left == 0)
        return false;
    size_t n = left < MSS ? left : MSS;
    tcp_out(g, c, dir, (uint8_t)(TCP_ACK | (n == left ? TCP_PSH_ : 0)), b->p + b->off, n);
    b->off += n;
    if (b->off == b->len)
        b->off = b->len = 0;
    if (c->h[dir].unacked >= 2)
        tcp_out(g, c, !dir, TCP_ACK, NULL, 0);
    return true;
}

/* Send everything queued; ack_tail: the receiver has no answer to carry its
 * acknowledgement, so it sends one of its own (the delayed ACK) */
static void flush(struct gen *g, struct circ *c, int dir, bool ack_tail)
{
    while (segment(g, c, dir))
        ;
    if (ack_tail && c->h[dir].unacked)
        tcp_out(g, c, !dir, TCP_ACK, NULL, 0);
}

/* ---- phases ---- */

struct gen *gen_new(const struct gen_params *p, gen_sink sink, void *arg, char *err,
                    unsigned long errlen)
{
    if (p->servers < 1 || p->servers > 254 || p->clients < 1 || p->clients > 254) {
        snprintf(err, errlen, "servers and clients: 1 to 254");
        return NULL;
    }
    if (p->pvs < p->servers || p->pvs > 10000000) {
        snprintf(err, errlen, "pvs: at least one per server, at most 10000000");
        return NULL;
    }
    struct gen *g = calloc(1, sizeof(*g));
    if (!g) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    g->p = *p;
    g->sink = sink;
    g->arg = arg;
    g->rng = p->seed;
    g->ts = START_US;
    g->step = CONNECT_STEP_US;
    g->srv = calloc((size_t)p->servers, sizeof(*g->srv));
    g->cli = calloc((size_t)p->clients, sizeof(*g->cli));
    g->circ = calloc((size_t)p->servers * (size_t)p->clients, sizeof(*g->circ));
    if (!g->srv || !g->cli || !g->circ) {
        gen_free(g);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    g->next_beacon = UINT64_MAX;
    for (int s = 0; s < p->servers; s++) {
        struct server_state *sv = &g->srv[s];
        sv->addr = IP(127, 0, 1, 1 + s);
        sv->beacon_port = (uint16_t)(32768 + rnd(g) % 28000);
        sv->beacon_seq = (uint32_t)(rnd(g) % 100000);         /* up for a while */
        sv->next_beacon = START_US + 1000 + (uint64_t)s * BEACON_US / (uint64_t)p->servers;
        sv->next_sid = 1;
        sv->first = (int)(((uint64_t)s * (uint64_t)p->pvs + (uint64_t)p->servers - 1) / (uint64_t)p->servers);
        if (sv->next_beacon < g->next_beacon)
            g->next_beacon = sv->next_beacon;
    }
    for (int s = 0; s < p->servers; s++)
        g->srv[s].n = (s + 1 < p->servers ? g->srv[s + 1].first : p->pvs) - g->srv[s].first;
    for (int k = 0; k < p->clients; k++) {
        struct client_state *cl = &g->cli[k];
        cl->addr = IP(127, 0, 2, 1 + k);
        cl->search_port = (uint16_t)(32768 + rnd(g) % 28000);
        cl->next_port = (uint16_t)(32768 + rnd(g) % 28000);
        cl->ioid = (uint32_t)rnd(g) % 1000;
        snprintf(cl->user, sizeof(cl->user), "op%02d", k % 100);
        snprintf(cl->host, sizeof(cl->host), "opi%03d", k + 1);
    }
    g->n.pvs = (uint64_t)p->pvs;
    g->n.servers = (uint64_t)p->servers;
    g->n.clients = (uint64_t)p->clients;
    return g;
}

/* A client's searches for every PV, and the servers' replies */
static void search(struct gen *g, int k)
{
    struct client_state *cl = &g->cli[k];
    struct bytes *d = &g->dgram;
    char name[64];
    int pv = 0;
    while (pv < g->p.pvs) {
        int lo = pv;
        uint32_t seq = ++cl->search_seq;
        d->len = 0;
        msg(g, d, CA_CMD_VERSION, 0, 1, CA_MINOR_VERSION, seq, 0, NULL, 0);
        for (; pv < g->p.pvs; pv++) {
            pv_name(g, pv, name, sizeof(name));
            if (d->len + ca_size(ca_str_size(name), CA_MINOR_VERSION) > SEARCH_MAX)
                break;
            msg_str(g, d, CA_CMD_SEARCH, CA_DONT_REPLY, CA_MINOR_VERSION, (uint32_t)pv + 1,
                    (uint32_t)pv + 1, name);
            g->n.search_requests++;
        }
        udp_out(g, cl->addr, cl->search_port, BROADCAST, CA_PORT, d);
        /* every server hears the broadcast; those with the names answer */
        for (int s = server_of(g, lo); s <= server_of(g, pv - 1); s++) {
            struct server_state *sv = &g->srv[s];
            uint8_t minor[2] = { 0, CA_MINOR_VERSION };
            d->len = 0;
            msg(g, d, CA_CMD_VERSION, 0, 1, CA_MINOR_VERSION, seq, 0, NULL, 0);
            for (int i = lo > sv->first ? lo : sv->first; i < pv && i < sv->first + sv->n; i++) {
                msg(g, d, CA_CMD_SEARCH, 8, CA_PORT, 0, 0xffffffffu, (uint32_t)i + 1, minor, 2);
                g->n.search_replies++;
            }
            udp_out(g, sv->addr, CA_PORT, cl->addr, cl->search_port, d);
        }
    }
}

/* A circuit from handshake to the first value of every subscription */
static void circuit(struct gen *g, struct circ *c)
{
    struct client_state *cl = &g->cli[c->client];
    struct server_state *sv = &g->srv[c->server];
    char name[64];
    uint8_t mask[16] = { 0 }, value[24];
    put_be16(mask + 12, DBE_VALUE_ALARM);

    c->h[0].seq = (uint32_t)rnd(g);
    c->h[1].seq = (uint32_t)rnd(g);
    tcp_out(g, c, 0, TCP_SYN, NULL, 0);
    tcp_out(g, c, 1, TCP_SYN | TCP_ACK, NULL, 0);
    tcp_out(g, c, 0, TCP_ACK, NULL, 0);
    g->n.circuits++;

    struct bytes *out = &c->h[0].out;
    msg(g, out, CA_CMD_VERSION, 0, 0, CA_MINOR_VERSION, 0, 0, NULL, 0);
    msg_str(g, out, CA_CMD_CLIENT_NAME, 0, 0, 0, 0, cl->user);
    msg_str(g, out, CA_CMD_HOST_NAME, 0, 0, 0, 0, cl->host);
    for (int j = 0; j < sv->n; j++) {
        pv_name(g, sv->first + j, name, sizeof(name));
        msg_str(g, out, CA_CMD_CREATE_CHAN, 0, 0, (uint32_t)(sv->first + j) + 1, CA_MINOR_VERSION, name);
    }
    flush(g, c, 0, false);

    out = &c->h[1].out;
    msg(g, out, CA_CMD_VERSION, 0, 0, CA_MINOR_VERSION, 0, 0, NULL, 0);
    for (int j = 0; j < sv->n; j++) {
        uint32_t cid = (uint32_t)(sv->first + j) + 1;
        c->sid[j] = sv->next_sid++;
        msg(g, out, CA_CMD_ACCESS_RIGHTS, 0, 0, 0, cid, 3, NULL, 0);
        msg(g, out, CA_CMD_CREATE_CHAN, 0, CA_DBR_DOUBLE, 1, cid, c->sid[j], NULL, 0);
        g->n.connects++;
    }
    flush(g, c, 1, false);

    out = &c->h[0].out;
    for (int j = 0; j < sv->n; j++) {
        c->subid[j] = ++cl->ioid;
        msg(g, out, CA_CMD_EVENT_ADD, 16, DBR_TIME_DOUBLE, 0, c->sid[j], c->subid[j], mask, sizeof(mask));
        g->n.subscriptions++;
    }
    flush(g, c, 0, false);

    out = &c->h[1].out;
    for (int j = 0; j < sv->n; j++) {
        time_double(g, value);
        msg(g, out, CA_CMD_EVENT_ADD, 24, DBR_TIME_DOUBLE, 1, CA_ECA_NORMAL, c->subid[j], value, 24);
        g->n.monitor_updates++;
    }
    flush(g, c, 1, true);
}

void gen_connect(struct gen *g)
{
    g->step = CONNECT_STEP_US;
    for (int k = 0; k < g->p.clients; k++) {
        if (g->ts < START_US + (uint64_t)k * CLIENT_START_US)
            g->ts = START_US + (uint64_t)k * CLIENT_START_US;
        search(g, k);
        for (int s = 0; s < g->p.servers; s++) {
            struct circ *c = &g->circ[k * g->p.servers + s];
            c->client = k;
            c->server = s;
            c->caddr = g->cli[k].addr;
            c->saddr = g->srv[s].addr;
            c->cport = g->cli[k].next_port++;
            c->sid = calloc((size_t)g->srv[s].n, sizeof(*c->sid));
            c->subid = calloc((size_t)g->srv[s].n, sizeof(*c->subid));
            if (!c->sid || !c->subid) {
                fprintf(stderr, "epics-bench: out of memory\n");
                exit(1);
            }
            circuit(g, c);
        }
    }
}

/* One second: requests, their answers, then an update per subscription
 * (while the budget lasts), the circuits' segments interleaved */
static void steady_round(struct gen *g, uint64_t *budget)
{
    int ncirc = g->p.clients * g->p.servers;
    uint64_t start = g->ts, segs = 0;
    uint8_t value[24];

    for (int ci = 0; ci < ncirc; ci++) {
        struct circ *c = &g->circ[ci];
        struct client_state *cl = &g->cli[c->client];
        int n = g->srv[c->server].n, first = g->srv[c->server].first;
        int reads = (n + 99) / 100, writes = (n + 999) / 1000;
        struct bytes *req = &c->h[0].out, *ans = &c->h[1].out;
        for (int r = 0; r < reads; r++) {
            int j = (int)(rnd(g) % (uint64_t)n);
            uint32_t ioid = ++cl->ioid;
            msg(g, req, CA_CMD_READ_NOTIFY, 0, DBR_TIME_DOUBLE, 1, c->sid[j], ioid, NULL, 0);
            time_double(g, value);
            msg(g, ans, CA_CMD_READ_NOTIFY, 24, DBR_TIME_DOUBLE, 1, CA_ECA_NORMAL, ioid, value, 24);
            g->n.reads++;
        }
        for (int w = 0; w < writes; w++) {
            int j = (int)(rnd(g) % (uint64_t)n);
            time_double(g, value);
            msg(g, req, CA_CMD_WRITE, 8, CA_DBR_DOUBLE, 1, c->sid[j], (uint32_t)(first + j) + 1,
                value + 16, 8);
            /* the new value goes to the subscription */
            msg(g, ans, CA_CMD_EVENT_ADD, 24, DBR_TIME_DOUBLE, 1, CA_ECA_NORMAL, c->subid[j], value, 24);
            g->n.writes++;
            g->n.monitor_updates++;
        }
        for (int j = 0; j < n && *budget > 0; j++, (*budget)--) {
            time_double(g, value);
            msg(g, ans, CA_CMD_EVENT_ADD, 24, DBR_TIME_DOUBLE, 1, CA_ECA_NORMAL, c->subid[j], value, 24);
            g->n.monitor_updates++;
        }
        segs += 1 + (ans->len + MSS - 1) / MSS;
    }
    /* spread the round's frames (segments and about one ACK in two) over a second */
    g->step = ROUND_US / (segs + segs / 2 + (uint64_t)ncirc + 1);
    if (g->step == 0)
        g->step = 1;
    for (int ci = 0; ci < ncirc; ci++)
        flush(g, &g->circ[ci], 0, false);
    bool more = true;
    while (more) {
        more = false;
        for (int ci = 0; ci < ncirc; ci++)
            more |= segment(g, &g->circ[ci], 1);
    }
    for (int ci = 0; ci < ncirc; ci++)
        if (g->circ[ci].h[1].unacked)
            tcp_out(g, &g->circ[ci], 0, TCP_ACK, NULL, 0);
    if (g->ts < start + ROUND_US)
        g->ts = start + ROUND_US;
}

void gen_steady(struct gen *g)
{
    uint64_t budget = g->p.updates;
    while (budget > 0)
        steady_round(g, &budget);
}

void gen_close(struct gen *g)
{
    g->step = CONNECT_STEP_US;
    for (int ci = 0; ci < g->p.clients * g->p.servers; ci++) {
        struct circ *c = &g->circ[ci];
        tcp_out(g, c, 0, TCP_FIN | TCP_ACK, NULL, 0);
        tcp_out(g, c, 1, TCP_FIN | TCP_ACK, NULL, 0);
        tcp_out(g, c, 0, TCP_ACK, NULL, 0);
    }
}

const struct gen_counts *gen_counts(const struct gen *g)
{
    return &g->n;
}

uint64_t gen_now(const struct gen *g)
{
    return g->ts;
}

void gen_free(struct gen *g)
{
    if (!g)
        return;
    if (g->circ)
        for (int ci = 0; ci < g->p.clients * g->p.servers; ci++) {
            free(g->circ[ci].sid);
            free(g->circ[ci].subid);
            free(g->circ[ci].h[0].out.p);
            free(g->circ[ci].h[1].out.p);
        }
    free(g->circ);
    free(g->srv);
    free(g->cli);
    free(g->dgram.p);
    free(g);
}

/*
 * engine.c - classification, TCP connection table, expiry (see engine.h).
 *
 * A TCP connection is followed when one end is a known server of either
 * protocol: the default server port, or an address and port learned from a
 * search reply or beacon. The side that is the server decides the
 * direction: 0 is client to server, 1 server to client.
 */
#include "engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IPPROTO_TCP_ 6
#define IPPROTO_UDP_ 17

struct flow_key {
    uint32_t caddr, saddr;
    uint16_t cport, sport;
};

struct flow {
    struct tnode node;
    struct flow_key key;
    int proto;
    const struct stream_ops *ops;
    struct circuit *circuit;
    struct stream half[2];
    uint64_t last_us;
};

static void flow_key_fn(const struct tnode *n, const void **k, size_t *len)
{
    const struct flow *f = container_of(n, struct flow, node);
    *k = &f->key;
    *len = sizeof(f->key);
}

void engine_default_config(struct engine_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->ca.server_port = CA_SERVER_PORT;
    cfg->ca.repeater_port = CA_REPEATER_PORT;
    cfg->pva.server_port = PVA_SERVER_PORT;
    cfg->pva.broadcast_port = PVA_BROADCAST_PORT;
    model_default_limits(&cfg->lim);
    cfg->stream.queue_max = 256 * 1024;
    cfg->stream.keep_max = 16 * 1024;
    cfg->max_flows = 20000;
    cfg->flow_idle_us = 600 * 1000000ULL;
}

static void port_from_env(const char *name, uint16_t *port)
{
    const char *v = getenv(name);
    char *end;
    if (!v || !*v)
        return;
    long p = strtol(v, &end, 10);
    if (*end == '\0' && p > 0 && p < 65536)
        *port = (uint16_t)p;
}

void engine_config_from_env(struct engine_config *cfg)
{
    port_from_env("EPICS_CA_SERVER_PORT", &cfg->ca.server_port);
    port_from_env("EPICS_CA_REPEATER_PORT", &cfg->ca.repeater_port);
    port_from_env("EPICS_PVA_SERVER_PORT", &cfg->pva.server_port);
    port_from_env("EPICS_PVA_BROADCAST_PORT", &cfg->pva.broadcast_port);
}

/* Servers learned at run time may change the capture filter */
static void on_added(void *arg, int kind, int proto, void *obj, const char *name)
{
    struct engine *e = arg;
    if (kind == OBJ_SERVER)
        e->servers_changed = true;
    if (e->user_hooks.added)
        e->user_hooks.added(e->user_hooks.arg, kind, proto, obj, name);
}

static void on_removed(void *arg, int kind, int proto, void *obj, const char *name)
{
    struct engine *e = arg;
    if (e->user_hooks.removed)
        e->user_hooks.removed(e->user_hooks.arg, kind, proto, obj, name);
}

static void on_bucket(void *arg, int kind, int proto, void *obj, int bucket)
{
    struct engine *e = arg;
    if (e->user_hooks.bucket)
        e->user_hooks.bucket(e->user_hooks.arg, kind, proto, obj, bucket);
}

static void on_log(void *arg, const char *what)
{
    struct engine *e = arg;
    if (e->user_hooks.log)
        e->user_hooks.log(e->user_hooks.arg, what);
}

static void on_connected(void *arg, int proto, const struct pv *pv, const struct server *s,
                         uint64_t ts, uint64_t us, bool known)
{
    struct engine *e = arg;
    if (e->user_hooks.connected)
        e->user_hooks.connected(e->user_hooks.arg, proto, pv, s, ts, us, known);
}

static void on_unanswered(void *arg, int proto, const struct pv *pv, uint32_t client,
                          const struct server *s)
{
    struct engine *e = arg;
    if (e->user_hooks.unanswered)
        e->user_hooks.unanswered(e->user_hooks.arg, proto, pv, client, s);
}

void engine_init(struct engine *e, const struct engine_config *cfg, const struct model_hooks *hooks)
{
    memset(e, 0, sizeof(*e));
    e->cfg = *cfg;
    if (hooks)
        e->user_hooks = *hooks;
    struct model_hooks h = { on_added, on_removed, on_bucket, on_log, e, on_connected, on_unanswered };
    model_init(&e->model, &cfg->lim, &h);
    table_init(&e->flows, cfg->max_flows, flow_key_fn);
}

static struct stream_ctx flow_ctx(struct engine *e, struct flow *f, int dir)
{
    struct stream_ctx c = { f->ops, f->circuit, dir, &e->cfg.stream, &e->model.health.buffers };
    return c;
}

static void flow_close(struct engine *e, struct flow *f, uint64_t ts)
{
    for (int d = 0; d < 2; d++) {
        struct stream_ctx c = flow_ctx(e, f, d);
        stream_flush(&f->half[d], &c, ts);
        stream_free(&f->half[d], &c);
    }
    model_circuit_close(&e->model, f->circuit, ts);
    table_remove(&e->flows, &f->node);
    free(f);
}

void engine_free(struct engine *e)
{
    struct tnode *n;
    while ((n = table_oldest(&e->flows)))
        flow_close(e, container_of(n, struct flow, node), e->model.now_us);
    table_free(&e->flows);
    model_free(&e->model);
}

/* Which protocol's server listens at addr:port, or -1 */
static int server_proto(struct engine *e, uint32_t addr, uint16_t port)
{
    if (port == e->cfg.ca.server_port || model_known_server(&e->model, PROTO_CA, addr, port))
        return PROTO_CA;
    if (port == e->cfg.pva.server_port || model_known_server(&e->model, PROTO_PVA, addr, port))
        return PROTO_PVA;
    return -1;
}

static struct flow *flow_new(struct engine *e, int proto, const struct flow_key *key, uint64_t ts)
{
    if (table_full(&e->flows)) {
        struct tnode *old = table_oldest(&e->flows);
        flow_close(e, container_of(old, struct flow, node), ts);
        e->model.health.flows_evicted++;
    }
    struct flow *f = calloc(1, sizeof(*f));
    if (!f) {
        e->model.health.flows_untracked++;
        return NULL;
    }
    f->key = *key;
    f->proto = proto;
    f->ops = proto == PROTO_CA ? &ca_stream_ops : &pva_stream_ops;
    f->circuit = model_circuit_open(&e->model, proto, key->caddr, key->cport, key->saddr,
                                    key->sport, ts);
    if (!f->circuit) {
        free(f);
        e->model.health.flows_untracked++;
        return NULL;
    }
    table_insert(&e->flows, &f->node);
    return f;
}

static void tcp_packet(struct engine *e, const struct packet *pkt)
{
    struct flow_key key = { pkt->saddr, pkt->daddr, pkt->sport, pkt->dport };
    struct flow_key rkey = { pkt->daddr, pkt->saddr, pkt->dport, pkt->sport };
    struct tnode *n = table_find(&e->flows, &key, sizeof(key));
    int dir = 0;
    if (!n && (n = table_find(&e->flows, &rkey, sizeof(rkey))))
        dir = 1;
    struct flow *f = n ? container_of(n, struct flow, node) : NULL;

    /* A client SYN with a new sequence number on a flow we follow: the client
     * reused its address and port, the old connection ended without its close
     * being captured. A retransmitted SYN carries the same number. */
    if (f && dir == 0 && (pkt->tcp_flags & (TCP_SYN | TCP_ACK | TCP_RST)) == TCP_SYN
        && f->half[0].started && f->half[0].next_seq != pkt->seq + 1) {
        flow_close(e, f, pkt->ts_us);
        f = NULL;
    }
    if (!f) {
        bool syn_only = (pkt->tcp_flags & (TCP_SYN | TCP_ACK)) == TCP_SYN;
        if (pkt->tcp_flags & TCP_RST || (!(pkt->tcp_flags & TCP_SYN) && pkt->len == 0))
            return;             /* the tail of a connection we do not follow */
        int to = server_proto(e, pkt->daddr, pkt->dport);
        int from = server_proto(e, pkt->saddr, pkt->sport);
        if (to >= 0 && (from < 0 || syn_only)) {
            f = flow_new(e, to, &key, pkt->ts_us);
            dir = 0;
        } else if (from >= 0) {
            f = flow_new(e, from, &rkey, pkt->ts_us);
            dir = 1;
        } else {
            e->model.health.not_epics++;
            return;
        }
        if (!f)
            return;
    }
    f->last_us = pkt->ts_us;
    table_touch(&e->flows, &f->node);

    struct stream_ctx c = flow_ctx(e, f, dir);
    bool syn = pkt->tcp_flags & TCP_SYN, fin = pkt->tcp_flags & TCP_FIN;
    stream_segment(&f->half[dir], &c, pkt->seq, syn, fin, pkt->payload, pkt->caplen, pkt->ts_us);
    if (pkt->caplen < pkt->len) {
        e->model.health.truncated++;
        stream_lost(&f->half[dir], &c, pkt->seq + (syn ? 1 : 0) + pkt->len, pkt->len - pkt->caplen);
    }
    if (pkt->tcp_flags & TCP_ACK) {
        struct stream_ctx oc = flow_ctx(e, f, !dir);
        stream_acked(&f->half[!dir], &oc, pkt->ack, pkt->ts_us);
    }
    if ((pkt->tcp_flags & TCP_RST) || (f->half[0].closed && f->half[1].closed))
        flow_close(e, f, pkt->ts_us);
}

static void udp_packet(struct engine *e, const struct packet *pkt)
{
    const struct ca_config *ca = &e->cfg.ca;
    const struct pva_config *pva = &e->cfg.pva;
    if (pkt->sport == ca->server_port || pkt->dport == ca->server_port
        || pkt->dport == ca->repeater_port)
        ca_datagram(&e->model, ca, pkt);
    else if (pkt->sport == pva->broadcast_port || pkt->dport == pva->broadcast_port)
        pva_datagram(&e->model, pva, pkt);
    else
        e->model.health.not_epics++;
}

void engine_frame(struct engine *e, int linktype, uint64_t ts_us, const uint8_t *frame,
                  uint32_t caplen, uint32_t wirelen)
{
    struct packet pkt;
    struct model_health *h = &e->model.health;
    h->packets++;
    h->bytes += wirelen;
    if (ts_us > e->model.now_us)
        e->model.now_us = ts_us;
    if (ts_us >= e->last_tick_us + 1000000)
        engine_tick(e, ts_us);

    switch (packet_parse(linktype, frame, caplen, wirelen, &pkt)) {
    case PACKET_OK:
        break;
    case PACKET_SKIP:
        h->skipped++;
        return;
    default:
        model_bad_input(&e->model, "malformed link, IP or transport header");
        return;
    }
    pkt.ts_us = ts_us;
    if (pkt.proto == IPPROTO_TCP_)
        tcp_packet(e, &pkt);
    else if (pkt.proto == IPPROTO_UDP_)
        udp_packet(e, &pkt);
    else
        h->skipped++;
}

void engine_tick(struct engine *e, uint64_t now_us)
{
    e->last_tick_us = now_us;
    model_tick(&e->model, now_us);
    struct tnode *n;
    int budget = 1024;
    while ((n = table_oldest(&e->flows)) && budget-- > 0) {
        struct flow *f = container_of(n, struct flow, node);
        if (f->last_us + e->cfg.flow_idle_us > now_us)
            break;
        flow_close(e, f, now_us);
    }
}

void engine_finish(struct engine *e)
{
    for (struct tnode *n = table_oldest(&e->flows); n; n = table_next_newer(&e->flows, n)) {
        struct flow *f = container_of(n, struct flow, node);
        for (int d = 0; d < 2; d++) {
            struct stream_ctx c = flow_ctx(e, f, d);
            stream_flush(&f->half[d], &c, e->model.now_us);
        }
    }
    model_finish(&e->model);
}

int engine_filter(struct engine *e, char *buf, size_t size, bool vlan)
{
    const struct engine_config *c = &e->cfg;
    char ports[2048];
    int n = snprintf(ports, sizeof(ports),
                     "udp port %u or udp port %u or udp port %u or tcp port %u or tcp port %u",
                     c->ca.server_port, c->ca.repeater_port, c->pva.broadcast_port,
                     c->ca.server_port, c->pva.server_port);
    /* learned server ports; past a few hundred the filter would be too long */
    uint16_t seen[256];
    int nseen = 0;
    bool all_tcp = false;
    for (int p = 0; p < PROTO_COUNT && !all_tcp; p++) {
        for (struct tnode *t = table_oldest(&e->model.servers[p]); t; t = table_next_newer(&e->model.servers[p], t)) {
            uint16_t port = container_of(t, struct server, node)->key.port;
            bool dup = port == c->ca.server_port || port == c->pva.server_port;
            for (int i = 0; i < nseen && !dup; i++)
                dup = seen[i] == port;
            if (dup)
                continue;
            if (nseen == (int)(sizeof(seen) / sizeof(seen[0]))) {
                all_tcp = true;
                break;
            }
            seen[nseen++] = port;
            int k = snprintf(ports + n, sizeof(ports) - (size_t)n, " or tcp port %u", port);
            if (k < 0 || (size_t)k >= sizeof(ports) - (size_t)n) {
                all_tcp = true;
                break;
            }
            n += k;
        }
    }
    if (all_tcp)
        n = snprintf(ports, sizeof(ports), "udp port %u or udp port %u or udp port %u or tcp",
                     c->ca.server_port, c->ca.repeater_port, c->pva.broadcast_port);
    e->servers_changed = false;
    int k = vlan ? snprintf(buf, size, "(%s) or (vlan and (%s))", ports, ports)
                 : snprintf(buf, size, "%s", ports);
    return (k < 0 || (size_t)k >= size) ? -1 : 0;
}

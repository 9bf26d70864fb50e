/*
 * engine.c - classification, TCP connection table, expiry (see engine.h).
 *
 * A TCP connection is followed when one end is a known server of either
 * protocol: the default server port, a port given by hand, an address and
 * port learned from a search reply or beacon (or from a first pass over a
 * capture file), or a circuit recognised by its first bytes (recognise.h).
 * The side that is the server decides the direction: 0 is client to server,
 * 1 server to client. UDP datagrams are recognised by their content on any
 * port; what fails to parse on a configured port still goes to its decoder,
 * which counts it as bad input.
 */
#include "engine.h"
#include "recognise.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IPPROTO_TCP_ 6
#define IPPROTO_UDP_ 17

struct flow_key {
    struct netaddr caddr, saddr;
    uint16_t cport, sport;
};

struct flow {
    struct tnode node;
    struct flow_key key;
    const struct stream_ops *ops;
    struct circuit *circuit;    /* the flow's own: closed with it (flow_close) */
    struct stream half[2];
    struct tcp_track track;
    uint64_t last_us;
};

static void ports_text(struct engine *e);

static void flow_key_fn(const struct tnode *n, const void **k, size_t *len)
{
    const struct flow *f = container_of(n, struct flow, node);
    *k = &f->key;
    *len = sizeof(f->key);
}

static void hint_key_fn(const struct tnode *n, const void **k, size_t *len)
{
    const struct endpoint_hint *h = container_of(n, struct endpoint_hint, node);
    *k = &h->key;
    *len = sizeof(h->key);
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

void engine_init(struct engine *e, const struct engine_config *cfg, const struct model_hooks *hooks)
{
    memset(e, 0, sizeof(*e));
    e->cfg = *cfg;
    model_init(&e->model, &cfg->lim, hooks);
    table_init(&e->flows, cfg->max_flows, flow_key_fn);
    table_init(&e->hints, cfg->lim.max_servers, hint_key_fn);
    e->model.hints = &e->hints;
    port_list_add(&e->udp_ports[PROTO_CA], cfg->ca.server_port);
    port_list_add(&e->udp_ports[PROTO_CA], cfg->ca.repeater_port);
    port_list_add(&e->udp_ports[PROTO_PVA], cfg->pva.broadcast_port);
    for (int p = 0; p < PROTO_COUNT; p++)
        for (unsigned i = 0; i < cfg->ports[p].n; i++)
            port_list_add(&e->udp_ports[p], cfg->ports[p].port[i]);
    ports_text(e);
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
    while ((n = table_oldest(&e->hints))) {
        table_remove(&e->hints, n);
        free(container_of(n, struct endpoint_hint, node));
    }
    table_free(&e->hints);
    model_free(&e->model);
}

/* Which protocol's server listens at addr:port, or -1 */
static int server_proto(struct engine *e, struct netaddr addr, uint16_t port)
{
    for (int p = 0; p < PROTO_COUNT; p++) {
        uint16_t def = p == PROTO_CA ? e->cfg.ca.server_port : e->cfg.pva.server_port;
        if (port == def || port_list_has(&e->cfg.ports[p], port)
            || model_known_server(&e->model, p, addr, port)
            || model_hinted_server(&e->model, p, addr, port))
            return p;
    }
    return -1;
}

/* The handshake of a connection between unknown ports: remember who opened it */
static void remember_syn(struct engine *e, const struct packet *pkt)
{
    bool from_client = !(pkt->tcp_flags & TCP_ACK);
    unsigned i = e->nsyn++ % ENGINE_SYNS;
    e->syns[i].caddr = from_client ? pkt->saddr : pkt->daddr;
    e->syns[i].cport = from_client ? pkt->sport : pkt->dport;
    e->syns[i].saddr = from_client ? pkt->daddr : pkt->saddr;
    e->syns[i].sport = from_client ? pkt->dport : pkt->sport;
}

/* 0 when the sender of pkt opened its connection, 1 when it accepted it,
 * -1 when the handshake was not seen */
static int syn_side(struct engine *e, const struct packet *pkt)
{
    for (unsigned i = 0; i < ENGINE_SYNS; i++) {
        if (netaddr_eq(&e->syns[i].caddr, &pkt->saddr) && e->syns[i].cport == pkt->sport
            && netaddr_eq(&e->syns[i].saddr, &pkt->daddr) && e->syns[i].sport == pkt->dport)
            return 0;
        if (netaddr_eq(&e->syns[i].caddr, &pkt->daddr) && e->syns[i].cport == pkt->dport
            && netaddr_eq(&e->syns[i].saddr, &pkt->saddr) && e->syns[i].sport == pkt->sport)
            return 1;
    }
    return -1;
}

/* A connection between unknown ports: learn its server when its first
 * bytes open a CA or PVA circuit. Returns the protocol, or -1. */
static int recognise_circuit(struct engine *e, const struct packet *pkt, int *to, int *from)
{
    if (pkt->tcp_flags & TCP_SYN) {
        remember_syn(e, pkt);
        return -1;
    }
    int side;
    int proto = recognise_circuit_start(pkt->payload, pkt->caplen, &side);
    if (proto < 0)
        return -1;
    int handshake = syn_side(e, pkt);
    if (handshake >= 0)
        side = handshake;
    if (side < 0)
        return -1;
    if (side == 0) {
        model_server(&e->model, proto, pkt->daddr, pkt->dport, true);
        *to = proto;
    } else {
        model_server(&e->model, proto, pkt->saddr, pkt->sport, true);
        *from = proto;
    }
    return proto;
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

/* A packet of EPICS traffic cut by the snap length: counted here only, for
 * circuits and datagrams alike */
static bool counted_truncated(struct engine *e, const struct packet *pkt)
{
    if (pkt->caplen >= pkt->len)
        return false;
    e->model.health.truncated++;
    return true;
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
        if (to < 0 && from < 0 && recognise_circuit(e, pkt, &to, &from) < 0) {
            e->model.health.not_epics++;
            return;
        }
        if (e->learn_only)
            return;
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

    struct tcp_seg seg = { dir, pkt->tcp_flags, pkt->seq, pkt->ack, pkt->len, pkt->window, pkt->ts_us };
    tcp_health_segment(&f->track, f->circuit->server ? &f->circuit->server->tcp : NULL, &seg);

    struct stream_ctx c = flow_ctx(e, f, dir);
    bool syn = pkt->tcp_flags & TCP_SYN, fin = pkt->tcp_flags & TCP_FIN;
    stream_segment(&f->half[dir], &c, pkt->seq, syn, fin, pkt->payload, pkt->caplen, pkt->ts_us);
    if (counted_truncated(e, pkt))
        stream_lost(&f->half[dir], &c, pkt->seq + (syn ? 1 : 0) + pkt->len, pkt->len - pkt->caplen);
    if (pkt->tcp_flags & TCP_ACK) {
        struct stream_ctx oc = flow_ctx(e, f, !dir);
        stream_acked(&f->half[!dir], &oc, pkt->ack, pkt->ts_us);
    }
    if ((pkt->tcp_flags & TCP_RST) || (f->half[0].closed && f->half[1].closed))
        flow_close(e, f, pkt->ts_us);
}

/* The protocol of a datagram that is not recognised by its content but
 * uses a configured port (the decoder counts what is wrong with it), or -1 */
static int configured_udp(struct engine *e, const struct packet *pkt)
{
    const struct ca_config *ca = &e->cfg.ca;
    const struct pva_config *pva = &e->cfg.pva;
    if (pkt->sport == ca->server_port || pkt->dport == ca->server_port
        || pkt->dport == ca->repeater_port || port_list_has(&e->cfg.ports[PROTO_CA], pkt->dport))
        return PROTO_CA;
    if (pkt->sport == pva->broadcast_port || pkt->dport == pva->broadcast_port
        || port_list_has(&e->cfg.ports[PROTO_PVA], pkt->dport))
        return PROTO_PVA;
    return -1;
}

/* A slot holds the hash of the endpoint it remembers (0: none) */
static uint64_t *ca_client_slot(struct engine *e, uint64_t endpoint)
{
    return &e->ca_clients[endpoint % ENGINE_CA_CLIENTS];
}

static uint64_t ca_endpoint(const struct netaddr *addr, uint16_t port)
{
    return netaddr_hash(addr, port) | 1;
}

/* A repeater passes beacons on to the clients registered with it, from its
 * own port or another: a copy goes to a client's port, an original comes
 * from elsewhere than the repeater port */
static bool ca_beacon_copy(struct engine *e, const struct packet *pkt)
{
    uint64_t key = ca_endpoint(&pkt->daddr, pkt->dport);
    return pkt->sport == e->cfg.ca.repeater_port || *ca_client_slot(e, key) == key;
}

static void udp_packet(struct engine *e, const struct packet *pkt)
{
    unsigned holds;
    int proto = recognise_datagram(pkt->payload, pkt->caplen, pkt->len, &holds);
    if (proto < 0 && (proto = configured_udp(e, pkt)) < 0) {
        e->model.health.not_epics++;
        return;
    }
    counted_truncated(e, pkt);
    struct port_list *udp = &e->udp_ports[proto];
    if (proto == PROTO_CA) {
        if (holds & (HOLDS_SEARCH | HOLDS_REGISTER)) {
            uint64_t key = ca_endpoint(&pkt->saddr, pkt->sport);
            *ca_client_slot(e, key) = key;
        }
        if (holds & HOLDS_CONFIRM) {
            uint64_t key = ca_endpoint(&pkt->daddr, pkt->dport);
            *ca_client_slot(e, key) = key;
        }
        bool copy = (holds & HOLDS_BEACON) && ca_beacon_copy(e, pkt);
        if (((holds & HOLDS_BEACON) && !copy) || (holds & HOLDS_SEARCH))
            port_list_add(udp, pkt->dport);
        ca_datagram(&e->model, pkt, copy);
    } else {
        if (holds & (HOLDS_SEARCH | HOLDS_BEACON))
            port_list_add(udp, pkt->dport);
        /* a server passes searches on from the port they were sent to */
        pva_datagram(&e->model, pkt, port_list_has(udp, pkt->sport));
    }
    if (holds & HOLDS_REPLY)
        port_list_add(udp, pkt->sport);
}

/* The model's clock: the latest capture time seen, or the time a tick
 * brings when later. Written here only; decoders and the model read it. */
static void clock_advance(struct engine *e, uint64_t ts_us)
{
    if (ts_us > e->model.now_us)
        e->model.now_us = ts_us;
}

void engine_frame(struct engine *e, int linktype, uint64_t ts_us, const uint8_t *frame,
                  uint32_t caplen, uint32_t wirelen)
{
    struct packet pkt;
    struct model_health *h = &e->model.health;
    h->packets++;
    h->bytes += wirelen;
    clock_advance(e, ts_us);
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

void engine_losses(struct engine *e, const struct capture_losses *lost)
{
    e->model.health.drops += lost->drops;
    e->model.health.if_drops += lost->if_drops;
}

static void ports_text(struct engine *e)
{
    for (int p = 0; p < PROTO_COUNT; p++)
        engine_ports(e, p, e->model.ports_text[p], sizeof(e->model.ports_text[p]));
}

void engine_tick(struct engine *e, uint64_t now_us)
{
    e->last_tick_us = now_us;
    clock_advance(e, now_us);
    ports_text(e);
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
    ports_text(e);
}

/* Ports of known servers, configured ones first; false when they did not fit */
static bool tcp_ports(struct engine *e, int proto, struct port_list *l)
{
    port_list_add(l, proto == PROTO_CA ? e->cfg.ca.server_port : e->cfg.pva.server_port);
    for (unsigned i = 0; i < e->cfg.ports[proto].n; i++)
        port_list_add(l, e->cfg.ports[proto].port[i]);
    struct table *t[2] = { &e->model.servers[proto], &e->hints };
    for (int k = 0; k < 2; k++) {
        for (struct tnode *n = table_oldest(t[k]); n; n = table_next_newer(t[k], n)) {
            const struct endpoint_key *key = k == 0 ? &container_of(n, struct server, node)->key
                                                    : &container_of(n, struct endpoint_hint, node)->key;
            if (key->proto != proto || port_list_has(l, key->port))
                continue;
            if (!port_list_add(l, key->port))
                return false;
        }
    }
    return true;
}

void engine_ports(struct engine *e, int proto, char *buf, size_t size)
{
    struct port_list tcp = { 0 };
    char t[PORT_LIST_MAX * 6 + 1], u[PORT_LIST_MAX * 6 + 1];
    bool all = tcp_ports(e, proto, &tcp);
    port_list_format(&tcp, t, sizeof(t));
    port_list_format(&e->udp_ports[proto], u, sizeof(u));
    snprintf(buf, size, "tcp %s%s udp %s", t, all ? "" : " ...", u);
}

/* Payload bytes of EPICS on any port (see recognise.c): CA VERSION,
 * SEARCH, RSRV_IS_UP, NOT_FOUND and repeater datagrams; PVA beacons,
 * searches, responses, origin tags; TCP handshakes, and segments that start
 * with a CA command (below 28) or the PVA magic byte. The last keep the
 * circuits of a server just learned: the client connects as soon as the
 * reply arrives, before a filter naming the new port could be installed.
 * A load past the end of a packet ends a BPF program with "reject", whatever
 * the terms after it say: every payload load is guarded by a length test, so
 * that a pure ACK or a short datagram still meets the port terms.
 * The same tests twice: libpcap indexes udp[] and tcp[] over IPv4 only, so
 * IPv6 reads the transport at ip6[40] (no extension headers; those frames
 * pass whole, below). Arguments: 1 UDP, 2 its length, 3 how its bytes are
 * indexed, 4 and 5 payload offsets; 6 SYN test, 7 TCP payload length, 8 TCP
 * payload indexing, 9 TCP. */
static const char content_terms[] =
    "(%1$s and %2$s >= 12 and (%3$s%4$d:4] = 0 or %3$s%4$d:2] = 6 or %3$s%4$d:2] = 13"
    " or %3$s%4$d:2] = 14 or %3$s%4$d:2] = 17 or %3$s%4$d:2] = 24"
    " or (%3$s%4$d] = 0xca and (%3$s%5$d] < 5 or %3$s%5$d] = 22))))"
    " or (%9$s and (%6$s or (%7$s >= 2 and (%8$s:2] < 28 or %8$s] = 0xca))))";

/* IPv6 frames whose first next header is an extension header (hop-by-hop,
 * routing, fragment, authentication, destination options): rare, and their
 * transport cannot be found by fixed offsets, so user space sorts them */
static const char ip6_extension_headers[] =
    "(ip6 and (ip6[6] = 0 or ip6[6] = 43 or ip6[6] = 44 or ip6[6] = 51 or ip6[6] = 60))";

/* The content terms of both families; the length written, or -1 */
static int content_filter(char *buf, size_t size)
{
    char v4[sizeof(content_terms) + 512], v6[sizeof(content_terms) + 512];
    snprintf(v4, sizeof(v4), content_terms, "udp", "udp[4:2]", "udp[", 8, 11,
             "(tcp[tcpflags] & tcp-syn) != 0",
             "(ip[2:2] - ((ip[0] & 0xf) << 2) - ((tcp[12] & 0xf0) >> 2))",
             "tcp[((tcp[12] & 0xf0) >> 2)", "tcp");
    snprintf(v6, sizeof(v6), content_terms, "ip6 and ip6[6] = 17", "ip6[44:2]", "ip6[", 48, 51,
             "(ip6[53] & 2) != 0", "(ip6[4:2] - ((ip6[52] & 0xf0) >> 2))",
             "ip6[40 + ((ip6[52] & 0xf0) >> 2)", "ip6 and ip6[6] = 6");
    int n = snprintf(buf, size, "%s or %s or %s", v4, v6, ip6_extension_headers);
    return n < 0 || (size_t)n >= size ? -1 : n;
}

int engine_filter(struct engine *e, char *buf, size_t size, bool vlan)
{
    const struct engine_config *c = &e->cfg;
    char ports[4096];
    /* the default and server ports, where decoders count what is malformed,
     * then datagrams and segments by content. Ports first: a BPF load past
     * the end of a packet rejects it outright, whatever alternatives follow,
     * and the content tests read the payload of segments that have none
     * (bare ACKs, FINs, RSTs), which must still reach a followed circuit */
    int n = snprintf(ports, sizeof(ports), "udp port %u or udp port %u or udp port %u",
                     c->ca.server_port, c->ca.repeater_port, c->pva.broadcast_port);
    /* server ports; past what a port list holds the filter takes all TCP */
    struct port_list tcp = { 0 };
    bool all_tcp = false;
    for (int p = 0; p < PROTO_COUNT && !all_tcp; p++)
        all_tcp = !tcp_ports(e, p, &tcp);
    /* in ascending order: the same ports always give the same text, which
     * capture.c compares before it swaps the kernel's filter (the servers'
     * table, walked above, changes order with every lookup) */
    port_list_sort(&tcp);
    if (all_tcp)
        n += snprintf(ports + n, sizeof(ports) - (size_t)n, " or tcp");
    for (unsigned i = 0; i < tcp.n && !all_tcp && n < (int)sizeof(ports); i++)
        n += snprintf(ports + n, sizeof(ports) - (size_t)n, " or tcp port %u", tcp.port[i]);
    if (n < (int)sizeof(ports) - 4) {
        n += snprintf(ports + n, sizeof(ports) - (size_t)n, " or ");
        int k = content_filter(ports + n, sizeof(ports) - (size_t)n);
        n = k < 0 ? (int)sizeof(ports) : n + k;
    }
    if (n < 0 || (size_t)n >= sizeof(ports))
        return -1;
    int k = vlan ? snprintf(buf, size, "(%s) or (vlan and (%s))", ports, ports)
                 : snprintf(buf, size, "%s", ports);
    return (k < 0 || (size_t)k >= size) ? -1 : 0;
}

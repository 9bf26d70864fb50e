/*
 * netbuild.c - link-layer headers, exact-size frames and controllable TCP
 * connections for the unit tests (see netbuild.h).
 */
#include "netbuild.h"

#include <check.h>

#include <pcap/dlt.h>
#include <stdlib.h>
#include <string.h>

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }

size_t nb_link_header(uint8_t *out, const struct nb_link *l)
{
    uint16_t type = l->ethertype ? l->ethertype : 0x0800;
    size_t off;

    switch (l->dlt) {
    case DLT_EN10MB:
        for (int i = 0; i < 12; i++)
            out[i] = (uint8_t)(0x02 + i);
        off = 12;
        for (int t = 0; t < l->vlans; t++) {
            /* the outer tag of a double-tagged frame is 802.1ad */
            put16(out + off, l->vlans > 1 && t == 0 ? 0x88a8 : 0x8100);
            put16(out + off + 2, (uint16_t)(100 + t));
            off += 4;
        }
        put16(out + off, type);
        return off + 2;
    case DLT_LINUX_SLL:
        memset(out, 0, 16);
        put16(out + 2, 772);            /* ARPHRD_LOOPBACK */
        put16(out + 4, 6);
        put16(out + 14, type);
        return 16;
    case DLT_LINUX_SLL2:
        memset(out, 0, 20);
        put16(out, type);
        out[7] = 1;                     /* interface index 1 */
        put16(out + 8, 1);              /* ARPHRD_ETHER */
        out[11] = 6;
        return 20;
    case DLT_NULL: {
        uint32_t fam = type == 0x0800 ? 2 : 30;    /* AF_INET; AF_INET6 of BSD */
        if (l->swapped) {
            out[0] = 0; out[1] = 0; out[2] = 0; out[3] = (uint8_t)fam;
        } else {
            out[0] = (uint8_t)fam; out[1] = 0; out[2] = 0; out[3] = 0;
        }
        return 4;
    }
    case DLT_LOOP:
        out[0] = 0; out[1] = 0; out[2] = 0;
        out[3] = type == 0x0800 ? 2 : 30;
        return 4;
    default:                            /* DLT_RAW, DLT_IPV4 */
        return 0;
    }
}

size_t nb_udp(uint8_t *out, const struct nb_link *l, uint32_t src, uint16_t sport, uint32_t dst,
              uint16_t dport, const void *payload, size_t len)
{
    size_t h = nb_link_header(out, l);
    return h + frame_udp(out + h, DLT_RAW, src, sport, dst, dport, payload, len);
}

size_t nb_tcp(uint8_t *out, const struct nb_link *l, uint32_t src, uint16_t sport, uint32_t dst,
              uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags, const void *payload,
              size_t len)
{
    size_t h = nb_link_header(out, l);
    return h + frame_tcp(out + h, DLT_RAW, src, sport, dst, dport, seq, ack, flags, payload, len);
}

void nb_feed(struct engine *e, int dlt, uint64_t ts, const uint8_t *f, size_t caplen, size_t n)
{
    uint8_t *copy = malloc(caplen ? caplen : 1);
    if (caplen)
        memcpy(copy, f, caplen);
    engine_frame(e, dlt, ts, copy, (uint32_t)caplen, (uint32_t)n);
    free(copy);
}

void nb_send_udp(struct engine *e, const struct nb_link *l, uint64_t ts, uint32_t src,
                 uint16_t sport, uint32_t dst, uint16_t dport, const void *p, size_t n)
{
    static const struct nb_link eth = { DLT_EN10MB, 0, false, 0 };
    uint8_t *f = malloc(n + 128);
    if (!l)
        l = &eth;
    size_t len = nb_udp(f, l, src, sport, dst, dport, p, n);
    nb_feed(e, l->dlt, ts, f, len, len);
    free(f);
}

struct engine *nb_engine(const struct engine_config *cfg, const struct model_hooks *hooks)
{
    struct engine_config def;
    struct engine *e = calloc(1, sizeof(*e));
    if (!cfg) {
        engine_default_config(&def);
        cfg = &def;
    }
    engine_init(e, cfg, hooks);
    return e;
}

void nb_engine_free(struct engine *e)
{
    engine_free(e);
    /* every buffer charged to the budget was given back */
    ck_assert_uint_eq(e->model.health.buffers.used, 0);
    free(e);
}

struct pv *nb_pv(struct engine *e, int proto, const char *name)
{
    struct tnode *n = table_find(&e->model.pvs[proto], name, strlen(name));
    return n ? container_of(n, struct pv, node) : NULL;
}

struct server *nb_server(struct engine *e, int proto, uint32_t addr, uint16_t port)
{
    struct endpoint_key k = { netaddr_v4(addr), port, (uint16_t)proto };
    struct tnode *n = table_find(&e->model.servers[proto], &k, sizeof(k));
    return n ? container_of(n, struct server, node) : NULL;
}

struct client *nb_client(struct engine *e, int proto, uint32_t addr)
{
    struct endpoint_key k = { netaddr_v4(addr), 0, (uint16_t)proto };
    struct tnode *n = table_find(&e->model.clients[proto], &k, sizeof(k));
    return n ? container_of(n, struct client, node) : NULL;
}

void nb_conn_init(struct nb_conn *c, struct engine *e, uint32_t caddr, uint16_t cport,
                  uint32_t saddr, uint16_t sport, uint64_t ts)
{
    memset(c, 0, sizeof(*c));
    c->e = e;
    c->link.dlt = DLT_EN10MB;
    c->caddr = caddr;
    c->cport = cport;
    c->saddr = saddr;
    c->sport = sport;
    c->seq[0] = 0x10000000u;
    c->seq[1] = 0xfffff000u;            /* the server's numbers wrap soon */
    c->ts = ts;
}

void nb_conn_segment(struct nb_conn *c, int dir, uint32_t seq, uint32_t ack, uint8_t flags,
                     const void *p, size_t n)
{
    uint8_t *f = malloc(n + 128);
    size_t len = dir == 0
        ? nb_tcp(f, &c->link, c->caddr, c->cport, c->saddr, c->sport, seq, ack, flags, p, n)
        : nb_tcp(f, &c->link, c->saddr, c->sport, c->caddr, c->cport, seq, ack, flags, p, n);
    c->ts += 100;
    nb_feed(c->e, c->link.dlt, c->ts, f, len, len);
    free(f);
}

void nb_conn_handshake(struct nb_conn *c)
{
    nb_conn_segment(c, 0, c->seq[0], 0, TCP_SYN, NULL, 0);
    c->seq[0]++;
    nb_conn_segment(c, 1, c->seq[1], c->seq[0], TCP_SYN | TCP_ACK, NULL, 0);
    c->seq[1]++;
    nb_conn_segment(c, 0, c->seq[0], c->seq[1], TCP_ACK, NULL, 0);
}

void nb_conn_send(struct nb_conn *c, int dir, const void *p, size_t n)
{
    nb_conn_segment(c, dir, c->seq[dir], c->seq[!dir], TCP_ACK, p, n);
    c->seq[dir] += (uint32_t)n;
}

void nb_conn_send_split(struct nb_conn *c, int dir, const void *p, size_t n, size_t chunk)
{
    const uint8_t *b = p;
    for (size_t off = 0; off < n; off += chunk)
        nb_conn_send(c, dir, b + off, n - off < chunk ? n - off : chunk);
}

void nb_conn_lose(struct nb_conn *c, int dir, size_t n)
{
    c->seq[dir] += (uint32_t)n;
}

void nb_conn_fin(struct nb_conn *c, int dir)
{
    nb_conn_segment(c, dir, c->seq[dir], c->seq[!dir], TCP_FIN | TCP_ACK, NULL, 0);
    c->seq[dir]++;
}

uint32_t nb_rand(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return (uint32_t)((x * 2685821657736338717ULL) >> 32);
}

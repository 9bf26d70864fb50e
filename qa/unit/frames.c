/*
 * frames.c - frames and Channel Access messages built in memory, and TCP
 * connections fed to an engine (see frames.h for the layouts and why the
 * unit tests, fuzz targets and benchmark share this one file).
 */
#include "frames.h"

#include <pcap/dlt.h>
#include <stdlib.h>
#include <string.h>

void put_be16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
void put_be32(uint8_t *p, uint32_t v) { put_be16(p, (uint16_t)(v >> 16)); put_be16(p + 2, (uint16_t)v); }
void put_be64(uint8_t *p, uint64_t v) { put_be32(p, (uint32_t)(v >> 32)); put_be32(p + 4, (uint32_t)v); }

/* ---- Channel Access messages ---- */

static bool ca_extended(uint32_t postsize, uint32_t count)
{
    return postsize >= 0xffff || count > 0xffff;
}

size_t ca_size(uint32_t postsize, uint32_t count)
{
    return (ca_extended(postsize, count) ? 24 : 16) + (size_t)postsize;
}

size_t ca_encode(uint8_t *p, uint16_t cmd, uint32_t postsize, uint16_t dtype, uint32_t count,
                 uint32_t p1, uint32_t p2, const void *payload, size_t plen)
{
    bool ext = ca_extended(postsize, count);
    put_be16(p, cmd);
    put_be16(p + 2, ext ? 0xffff : (uint16_t)postsize);
    put_be16(p + 4, dtype);
    put_be16(p + 6, ext ? 0 : (uint16_t)count);
    put_be32(p + 8, p1);
    put_be32(p + 12, p2);
    size_t h = 16;
    if (ext) {
        put_be32(p + 16, postsize);
        put_be32(p + 20, count);
        h = 24;
    }
    memset(p + h, 0, postsize);
    if (payload)
        memcpy(p + h, payload, plen < postsize ? plen : postsize);
    return h + postsize;
}

void ca_msg(struct buf *b, uint16_t cmd, uint32_t postsize, uint16_t dtype, uint32_t count,
            uint32_t p1, uint32_t p2, const void *payload, size_t plen)
{
    b->len += ca_encode(b->data + b->len, cmd, postsize, dtype, count, p1, p2, payload, plen);
}

uint32_t ca_str_size(const char *s)
{
    return (uint32_t)((strlen(s) + 1 + 7) & ~(size_t)7);
}

void ca_msg_str(struct buf *b, uint16_t cmd, uint16_t dtype, uint32_t count, uint32_t p1,
                uint32_t p2, const char *s)
{
    ca_msg(b, cmd, ca_str_size(s), dtype, count, p1, p2, s, strlen(s) + 1);
}

/* ---- frames ---- */

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
            put_be16(out + off, l->vlans > 1 && t == 0 ? 0x88a8 : 0x8100);
            put_be16(out + off + 2, (uint16_t)(100 + t));
            off += 4;
        }
        put_be16(out + off, type);
        return off + 2;
    case DLT_LINUX_SLL:
        memset(out, 0, 16);
        put_be16(out + 2, 772);         /* ARPHRD_LOOPBACK */
        put_be16(out + 4, 6);
        put_be16(out + 14, type);
        return 16;
    case DLT_LINUX_SLL2:
        memset(out, 0, 20);
        put_be16(out, type);
        out[7] = 1;                     /* interface index 1 */
        put_be16(out + 8, 1);           /* ARPHRD_ETHER */
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

static size_t ip_header(uint8_t *p, uint8_t proto, uint32_t src, uint32_t dst, size_t l4len)
{
    memset(p, 0, 20);
    p[0] = 0x45;
    put_be16(p + 2, (uint16_t)(20 + l4len));
    p[6] = 0x40;        /* DF */
    p[8] = 64;
    p[9] = proto;
    put_be32(p + 12, src);
    put_be32(p + 16, dst);
    return 20;
}

size_t nb_udp(uint8_t *out, const struct nb_link *l, uint32_t src, uint16_t sport, uint32_t dst,
              uint16_t dport, const void *payload, size_t len)
{
    size_t off = nb_link_header(out, l);
    off += ip_header(out + off, 17, src, dst, 8 + len);
    put_be16(out + off, sport);
    put_be16(out + off + 2, dport);
    put_be16(out + off + 4, (uint16_t)(8 + len));
    put_be16(out + off + 6, 0);
    memcpy(out + off + 8, payload, len);
    return off + 8 + len;
}

size_t nb_tcp(uint8_t *out, const struct nb_link *l, uint32_t src, uint16_t sport, uint32_t dst,
              uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags, const void *payload,
              size_t len)
{
    size_t off = nb_link_header(out, l);
    off += ip_header(out + off, 6, src, dst, 20 + len);
    uint8_t *t = out + off;
    memset(t, 0, 20);
    put_be16(t, sport);
    put_be16(t + 2, dport);
    put_be32(t + 4, seq);
    put_be32(t + 8, ack);
    t[12] = 5 << 4;
    t[13] = flags;
    put_be16(t + 14, 65535);
    if (len)
        memcpy(t + 20, payload, len);
    return off + 20 + len;
}

size_t frame_udp(uint8_t *out, int linktype, uint32_t src, uint16_t sport, uint32_t dst,
                 uint16_t dport, const void *payload, size_t len)
{
    struct nb_link l = { linktype, 0, false, 0 };
    return nb_udp(out, &l, src, sport, dst, dport, payload, len);
}

size_t frame_tcp(uint8_t *out, int linktype, uint32_t src, uint16_t sport, uint32_t dst,
                 uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags, const void *payload,
                 size_t len)
{
    struct nb_link l = { linktype, 0, false, 0 };
    return nb_tcp(out, &l, src, sport, dst, dport, seq, ack, flags, payload, len);
}

/* ---- what a real stack adds ---- */

static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t n)
{
    for (; n > 1; n -= 2, p += 2)
        sum += (uint32_t)p[0] << 8 | p[1];
    if (n)
        sum += (uint32_t)p[0] << 8;
    return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

static void mac_of(uint8_t *mac, const uint8_t *ip)
{
    static const uint8_t bcast[4] = { 127, 255, 255, 255 };
    if (memcmp(ip, bcast, 4) == 0) {
        memset(mac, 0xff, 6);
        return;
    }
    mac[0] = 0x02;              /* locally administered */
    mac[1] = 0x00;
    memcpy(mac + 2, ip, 4);
}

void frame_as_sent(uint8_t *f, uint16_t ip_id)
{
    uint8_t *ip = f + 14;
    size_t total = (size_t)ip[2] << 8 | ip[3];
    uint8_t *l4 = ip + 20;
    size_t l4len = total - 20;
    mac_of(f, ip + 16);
    mac_of(f + 6, ip + 12);
    put_be16(ip + 4, ip_id);
    put_be16(ip + 10, 0);
    put_be16(ip + 10, csum_fold(csum_add(0, ip, 20)));
    uint8_t pseudo[12];
    memcpy(pseudo, ip + 12, 8);
    pseudo[8] = 0;
    pseudo[9] = ip[9];
    put_be16(pseudo + 10, (uint16_t)l4len);
    size_t at = ip[9] == 6 ? 16 : 6;
    put_be16(l4 + at, 0);
    uint16_t sum = csum_fold(csum_add(csum_add(0, pseudo, 12), l4, l4len));
    /* a UDP checksum that comes out zero is sent as all ones (RFC 768) */
    put_be16(l4 + at, ip[9] == 17 && sum == 0 ? 0xffff : sum);
}

/* ---- feeding an engine ---- */

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

void udp_send(struct engine *e, uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport,
              const void *payload, size_t len, uint64_t ts)
{
    nb_send_udp(e, NULL, ts, src, sport, dst, dport, payload, len);
}

/* One TCP segment over link l, fed whole */
static void tcp_feed(struct engine *e, const struct nb_link *l, uint64_t ts, uint32_t src,
                     uint16_t sport, uint32_t dst, uint16_t dport, uint32_t seq, uint32_t ack,
                     uint8_t flags, const void *p, size_t n)
{
    uint8_t *f = malloc(n + 128);
    size_t len = nb_tcp(f, l, src, sport, dst, dport, seq, ack, flags, p, n);
    nb_feed(e, l->dlt, ts, f, len, len);
    free(f);
}

/* ---- struct conn: fixed initial sequence numbers, any link type ---- */

static void conn_segment(struct conn *c, int from_server, uint32_t seq, uint32_t ack, uint8_t flags,
                         const void *data, size_t len)
{
    struct nb_link l = { c->linktype, 0, false, 0 };
    if (from_server)
        tcp_feed(c->e, &l, c->ts, c->saddr, c->sport, c->caddr, c->cport, seq, ack, flags, data, len);
    else
        tcp_feed(c->e, &l, c->ts, c->caddr, c->cport, c->saddr, c->sport, seq, ack, flags, data, len);
}

void conn_open(struct conn *c, struct engine *e, uint32_t caddr, uint16_t cport, uint32_t saddr,
               uint16_t sport, uint64_t ts)
{
    memset(c, 0, sizeof(*c));
    c->e = e;
    c->caddr = caddr;
    c->cport = cport;
    c->saddr = saddr;
    c->sport = sport;
    c->cseq = 1000;
    c->sseq = 5000;
    c->ts = ts;
    c->linktype = DLT_EN10MB;
    conn_segment(c, 0, c->cseq, 0, TCP_SYN, NULL, 0);
    c->cseq++;
    conn_segment(c, 1, c->sseq, c->cseq, TCP_SYN | TCP_ACK, NULL, 0);
    c->sseq++;
    conn_segment(c, 0, c->cseq, c->sseq, TCP_ACK, NULL, 0);
}

void conn_send(struct conn *c, int from_server, const void *data, size_t len)
{
    c->ts += 100;
    if (from_server)
        conn_segment(c, 1, c->sseq, c->cseq, TCP_ACK, data, len);
    else
        conn_segment(c, 0, c->cseq, c->sseq, TCP_ACK, data, len);
    *(from_server ? &c->sseq : &c->cseq) += (uint32_t)len;
}

void conn_close(struct conn *c)
{
    c->ts += 100;
    conn_segment(c, 0, c->cseq, c->sseq, TCP_FIN | TCP_ACK, NULL, 0);
    c->cseq++;
    conn_segment(c, 1, c->sseq, c->cseq, TCP_FIN | TCP_ACK, NULL, 0);
    c->sseq++;
}

/* ---- struct nb_conn: sequence numbers under the test's control ---- */

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
    c->ts += 100;
    if (dir == 0)
        tcp_feed(c->e, &c->link, c->ts, c->caddr, c->cport, c->saddr, c->sport, seq, ack, flags, p, n);
    else
        tcp_feed(c->e, &c->link, c->ts, c->saddr, c->sport, c->caddr, c->cport, seq, ack, flags, p, n);
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

/* ---- engines ---- */

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

struct engine *engine_new(void)
{
    return nb_engine(NULL, NULL);
}

void engine_delete(struct engine *e)
{
    engine_free(e);
    free(e);
}

/*
 * frames.c - frame builders for the unit tests (see frames.h).
 */
#include "frames.h"

#include <pcap/dlt.h>
#include <stdlib.h>
#include <string.h>

static void be16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

void ca_msg(struct buf *b, uint16_t cmd, uint32_t postsize, uint16_t dtype, uint32_t count,
            uint32_t p1, uint32_t p2, const void *payload, size_t plen)
{
    uint8_t *p = b->data + b->len;
    bool ext = postsize >= 0xffff || count > 0xffff;
    be16(p, cmd);
    be16(p + 2, ext ? 0xffff : (uint16_t)postsize);
    be16(p + 4, dtype);
    be16(p + 6, ext ? 0 : (uint16_t)count);
    be32(p + 8, p1);
    be32(p + 12, p2);
    size_t h = 16;
    if (ext) {
        be32(p + 16, postsize);
        be32(p + 20, count);
        h = 24;
    }
    memset(p + h, 0, postsize);
    if (payload)
        memcpy(p + h, payload, plen < postsize ? plen : postsize);
    b->len += h + postsize;
}

void ca_msg_str(struct buf *b, uint16_t cmd, uint16_t dtype, uint32_t count, uint32_t p1,
                uint32_t p2, const char *s)
{
    size_t n = strlen(s) + 1;
    ca_msg(b, cmd, (uint32_t)((n + 7) & ~(size_t)7), dtype, count, p1, p2, s, n);
}

static size_t link_header(uint8_t *out, int linktype)
{
    switch (linktype) {
    case DLT_EN10MB:
        memset(out, 0, 12);
        be16(out + 12, 0x0800);
        return 14;
    case DLT_LINUX_SLL:
        memset(out, 0, 16);
        be16(out + 14, 0x0800);
        return 16;
    case DLT_LINUX_SLL2:
        memset(out, 0, 20);
        be16(out, 0x0800);
        return 20;
    case DLT_NULL:
        out[0] = 2; out[1] = out[2] = out[3] = 0;   /* little-endian writer */
        return 4;
    case DLT_LOOP:
        be32(out, 2);
        return 4;
    default:
        return 0;       /* DLT_RAW */
    }
}

static size_t ip_header(uint8_t *p, uint8_t proto, uint32_t src, uint32_t dst, size_t l4len)
{
    memset(p, 0, 20);
    p[0] = 0x45;
    be16(p + 2, (uint16_t)(20 + l4len));
    p[6] = 0x40;        /* DF */
    p[8] = 64;
    p[9] = proto;
    be32(p + 12, src);
    be32(p + 16, dst);
    return 20;
}

size_t frame_udp(uint8_t *out, int linktype, uint32_t src, uint16_t sport, uint32_t dst,
                 uint16_t dport, const void *payload, size_t len)
{
    size_t off = link_header(out, linktype);
    off += ip_header(out + off, 17, src, dst, 8 + len);
    be16(out + off, sport);
    be16(out + off + 2, dport);
    be16(out + off + 4, (uint16_t)(8 + len));
    be16(out + off + 6, 0);
    memcpy(out + off + 8, payload, len);
    return off + 8 + len;
}

size_t frame_tcp(uint8_t *out, int linktype, uint32_t src, uint16_t sport, uint32_t dst,
                 uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags, const void *payload,
                 size_t len)
{
    size_t off = link_header(out, linktype);
    off += ip_header(out + off, 6, src, dst, 20 + len);
    uint8_t *t = out + off;
    memset(t, 0, 20);
    be16(t, sport);
    be16(t + 2, dport);
    be32(t + 4, seq);
    be32(t + 8, ack);
    t[12] = 5 << 4;
    t[13] = flags;
    be16(t + 14, 65535);
    if (len)
        memcpy(t + 20, payload, len);
    return off + 20 + len;
}

static uint8_t scratch[80000];

static void feed(struct engine *e, int linktype, uint64_t ts, size_t n)
{
    engine_frame(e, linktype, ts, scratch, (uint32_t)n, (uint32_t)n);
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
    feed(e, c->linktype, c->ts, frame_tcp(scratch, c->linktype, caddr, cport, saddr, sport, c->cseq, 0,
                                          TCP_SYN, NULL, 0));
    c->cseq++;
    feed(e, c->linktype, c->ts, frame_tcp(scratch, c->linktype, saddr, sport, caddr, cport, c->sseq,
                                          c->cseq, TCP_SYN | TCP_ACK, NULL, 0));
    c->sseq++;
    feed(e, c->linktype, c->ts, frame_tcp(scratch, c->linktype, caddr, cport, saddr, sport, c->cseq,
                                          c->sseq, TCP_ACK, NULL, 0));
}

void conn_send(struct conn *c, int from_server, const void *data, size_t len)
{
    c->ts += 100;
    size_t n = from_server
        ? frame_tcp(scratch, c->linktype, c->saddr, c->sport, c->caddr, c->cport, c->sseq, c->cseq,
                    TCP_ACK, data, len)
        : frame_tcp(scratch, c->linktype, c->caddr, c->cport, c->saddr, c->sport, c->cseq, c->sseq,
                    TCP_ACK, data, len);
    *(from_server ? &c->sseq : &c->cseq) += (uint32_t)len;
    feed(c->e, c->linktype, c->ts, n);
}

void conn_close(struct conn *c)
{
    c->ts += 100;
    feed(c->e, c->linktype, c->ts, frame_tcp(scratch, c->linktype, c->caddr, c->cport, c->saddr,
                                             c->sport, c->cseq, c->sseq, TCP_FIN | TCP_ACK, NULL, 0));
    c->cseq++;
    feed(c->e, c->linktype, c->ts, frame_tcp(scratch, c->linktype, c->saddr, c->sport, c->caddr,
                                             c->cport, c->sseq, c->cseq, TCP_FIN | TCP_ACK, NULL, 0));
    c->sseq++;
}

void udp_send(struct engine *e, uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport,
              const void *payload, size_t len, uint64_t ts)
{
    feed(e, DLT_EN10MB, ts, frame_udp(scratch, DLT_EN10MB, src, sport, dst, dport, payload, len));
}

struct engine *engine_new(void)
{
    struct engine_config cfg;
    struct engine *e = calloc(1, sizeof(*e));
    engine_default_config(&cfg);
    engine_init(e, &cfg, NULL);
    return e;
}

void engine_delete(struct engine *e)
{
    engine_free(e);
    free(e);
}

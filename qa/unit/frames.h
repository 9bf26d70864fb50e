/*
 * frames.h - frames and Channel Access messages built in memory for the unit
 * tests, fed to engine_frame() exactly as a capture would.
 *
 * Link layers: DLT_EN10MB (14-byte Ethernet header), DLT_LINUX_SLL (16
 * bytes, protocol at 14), DLT_LINUX_SLL2 (20 bytes, protocol at 0), DLT_NULL
 * (4-byte family, little-endian writer), DLT_LOOP (4-byte family,
 * big-endian), DLT_RAW (the IP header). IPv4 (RFC 791), UDP (RFC 768),
 * TCP (RFC 793). Channel Access header: epics-base caProto.h.
 */
#ifndef EPICS_TEST_FRAMES_H
#define EPICS_TEST_FRAMES_H

#include "engine.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (uint32_t)(d))

struct buf {
    uint8_t data[1 << 18];
    size_t len;
};

/* Appends a CA message: 24-byte header when postsize >= 0xffff or count > 0xffff */
void ca_msg(struct buf *b, uint16_t cmd, uint32_t postsize, uint16_t dtype, uint32_t count,
            uint32_t p1, uint32_t p2, const void *payload, size_t plen);
/* A message whose payload is a NUL-terminated string padded to 8 bytes */
void ca_msg_str(struct buf *b, uint16_t cmd, uint16_t dtype, uint32_t count, uint32_t p1,
                uint32_t p2, const char *s);

/* Build a frame into out; return its length */
size_t frame_udp(uint8_t *out, int linktype, uint32_t src, uint16_t sport, uint32_t dst,
                 uint16_t dport, const void *payload, size_t len);
size_t frame_tcp(uint8_t *out, int linktype, uint32_t src, uint16_t sport, uint32_t dst,
                 uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags, const void *payload,
                 size_t len);

/* A TCP connection followed from its handshake */
struct conn {
    struct engine *e;
    uint32_t caddr, saddr;
    uint16_t cport, sport;
    uint32_t cseq, sseq;
    uint64_t ts;
    int linktype;
};

void conn_open(struct conn *c, struct engine *e, uint32_t caddr, uint16_t cport, uint32_t saddr,
               uint16_t sport, uint64_t ts);
void conn_send(struct conn *c, int from_server, const void *data, size_t len);
void conn_close(struct conn *c);
void udp_send(struct engine *e, uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport,
              const void *payload, size_t len, uint64_t ts);

struct engine *engine_new(void);
void engine_delete(struct engine *e);

#endif

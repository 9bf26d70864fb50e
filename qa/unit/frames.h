/*
 * frames.h - the one builder of frames and Channel Access messages in
 * memory: the unit tests feed them to engine_frame() exactly as a capture
 * would, the fuzz targets build their seeds with them, and the benchmark
 * writes its synthetic capture with them (bench/gen.c).
 *
 * It lives beside the unit tests, its first and largest user; bench/ and
 * fuzz/ compile this same file (see GNUmakefile) instead of keeping their
 * own, so a frame laid out here is laid out the same way everywhere. It
 * needs the engine (to feed frames) but not the check library: what needs
 * check stays in netbuild.c.
 *
 * Link layers (struct nb_link; frame_udp/frame_tcp take a bare DLT):
 *   DLT_EN10MB      dst(6) src(6) then per tag 0x8100 or 0x88a8 and TCI(2),
 *                   then the ethertype (802.3, 802.1Q, 802.1ad)
 *   DLT_LINUX_SLL   pkttype(2) hatype(2) halen(2) addr(8) protocol(2)
 *   DLT_LINUX_SLL2  protocol(2) reserved(2) ifindex(4) hatype(2) pkttype(1)
 *                   halen(1) addr(8)
 *   DLT_NULL        address family in the writer's byte order (either)
 *   DLT_LOOP        address family, big-endian
 *   DLT_RAW, DLT_IPV4  no link header
 * IPv4 (RFC 791), UDP (RFC 768), TCP (RFC 793); the Internet checksum
 * (RFC 1071) only where frame_as_sent() fills it in. Channel Access header:
 * epics-base caProto.h. Frames handed to the engine are copied into a heap
 * block of exactly the captured length, so that valgrind reports any read
 * past it.
 */
#ifndef EPICS_TEST_FRAMES_H
#define EPICS_TEST_FRAMES_H

#include "engine.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (uint32_t)(d))

/* Channel Access commands (caProto.h) and the values tests put in them */
enum {
    CA_CMD_VERSION = 0, CA_CMD_EVENT_ADD = 1, CA_CMD_EVENT_CANCEL = 2, CA_CMD_READ = 3,
    CA_CMD_WRITE = 4, CA_CMD_SNAPSHOT = 5, CA_CMD_SEARCH = 6, CA_CMD_EVENTS_OFF = 8,
    CA_CMD_EVENTS_ON = 9, CA_CMD_READ_SYNC = 10, CA_CMD_ERROR = 11, CA_CMD_CLEAR_CHANNEL = 12,
    CA_CMD_RSRV_IS_UP = 13, CA_CMD_NOT_FOUND = 14, CA_CMD_READ_NOTIFY = 15,
    CA_CMD_REPEATER_CONFIRM = 17, CA_CMD_CREATE_CHAN = 18, CA_CMD_WRITE_NOTIFY = 19,
    CA_CMD_CLIENT_NAME = 20, CA_CMD_HOST_NAME = 21, CA_CMD_ACCESS_RIGHTS = 22, CA_CMD_ECHO = 23,
    CA_CMD_REPEATER_REGISTER = 24, CA_CMD_CREATE_CH_FAIL = 26, CA_CMD_SERVER_DISCONN = 27,
};
enum { CA_DBR_STRING = 0, CA_DBR_SHORT, CA_DBR_FLOAT, CA_DBR_ENUM, CA_DBR_CHAR, CA_DBR_LONG,
       CA_DBR_DOUBLE };
#define CA_MINOR_VERSION 13
#define CA_DO_REPLY 10
#define CA_DONT_REPLY 5
#define CA_ECA_NORMAL 1
#define CA_ECA_PUTFAIL 160

/* Big-endian stores */
void put_be16(uint8_t *p, uint16_t v);
void put_be32(uint8_t *p, uint32_t v);
void put_be64(uint8_t *p, uint64_t v);

struct buf {
    uint8_t data[1 << 18];
    size_t len;
};

/* The size of a CA message: 24-byte header when postsize >= 0xffff or count > 0xffff */
size_t ca_size(uint32_t postsize, uint32_t count);
/* Writes one CA message of ca_size() bytes at out; the payload is cut or
 * zero-padded to postsize */
size_t ca_encode(uint8_t *out, uint16_t cmd, uint32_t postsize, uint16_t dtype, uint32_t count,
                 uint32_t p1, uint32_t p2, const void *payload, size_t plen);
/* Appends a CA message */
void ca_msg(struct buf *b, uint16_t cmd, uint32_t postsize, uint16_t dtype, uint32_t count,
            uint32_t p1, uint32_t p2, const void *payload, size_t plen);
/* The postsize of a NUL-terminated string padded to 8 bytes */
uint32_t ca_str_size(const char *s);
/* A message whose payload is a NUL-terminated string padded to 8 bytes */
void ca_msg_str(struct buf *b, uint16_t cmd, uint16_t dtype, uint32_t count, uint32_t p1,
                uint32_t p2, const char *s);

struct nb_link {
    int dlt;
    int vlans;                  /* DLT_EN10MB: tags before the ethertype */
    bool swapped;               /* DLT_NULL: family in big-endian order */
    uint16_t ethertype;         /* 0 for IPv4; 0x86dd, 0x0806 for others */
};

/* The link header for l in front of an IP packet; returns its length */
size_t nb_link_header(uint8_t *out, const struct nb_link *l);
/* Build a frame into out; return its length. The IP id and the checksums
 * are left zero (the engine does not check them). */
size_t nb_udp(uint8_t *out, const struct nb_link *l, uint32_t src, uint16_t sport, uint32_t dst,
              uint16_t dport, const void *payload, size_t len);
size_t nb_tcp(uint8_t *out, const struct nb_link *l, uint32_t src, uint16_t sport, uint32_t dst,
              uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags, const void *payload,
              size_t len);
/* The same with the default header of a link type */
size_t frame_udp(uint8_t *out, int linktype, uint32_t src, uint16_t sport, uint32_t dst,
                 uint16_t dport, const void *payload, size_t len);
size_t frame_tcp(uint8_t *out, int linktype, uint32_t src, uint16_t sport, uint32_t dst,
                 uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags, const void *payload,
                 size_t len);
/* A DLT_EN10MB frame of frame_udp/frame_tcp as a real stack sends it:
 * MAC addresses derived from the IP addresses (all ones for
 * 127.255.255.255), the given IP id, IP and UDP or TCP checksums */
void frame_as_sent(uint8_t *frame, uint16_t ip_id);

/* engine_frame() on an exact-size heap copy of the first caplen of n bytes */
void nb_feed(struct engine *e, int dlt, uint64_t ts, const uint8_t *f, size_t caplen, size_t n);
/* A UDP datagram over link l (NULL: Ethernet), fed whole */
void nb_send_udp(struct engine *e, const struct nb_link *l, uint64_t ts, uint32_t src,
                 uint16_t sport, uint32_t dst, uint16_t dport, const void *p, size_t n);
void udp_send(struct engine *e, uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport,
              const void *payload, size_t len, uint64_t ts);

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

/* A TCP connection with the sequence numbers under the test's control:
 * seq[0] is the next byte from the client, seq[1] from the server. */
struct nb_conn {
    struct engine *e;
    struct nb_link link;
    uint32_t caddr, saddr;
    uint16_t cport, sport;
    uint32_t seq[2];
    uint64_t ts;                /* advanced 100 us per segment */
};

void nb_conn_init(struct nb_conn *c, struct engine *e, uint32_t caddr, uint16_t cport,
                  uint32_t saddr, uint16_t sport, uint64_t ts);
void nb_conn_handshake(struct nb_conn *c);
/* A segment of direction dir at its next sequence number, acknowledging
 * everything the peer sent; the sequence number advances */
void nb_conn_send(struct nb_conn *c, int dir, const void *p, size_t n);
/* The same bytes in segments of at most chunk bytes */
void nb_conn_send_split(struct nb_conn *c, int dir, const void *p, size_t n, size_t chunk);
/* A segment with explicit sequence, acknowledgement and flags; nothing advances */
void nb_conn_segment(struct nb_conn *c, int dir, uint32_t seq, uint32_t ack, uint8_t flags,
                     const void *p, size_t n);
/* n bytes of direction dir sent but not captured */
void nb_conn_lose(struct nb_conn *c, int dir, size_t n);
void nb_conn_fin(struct nb_conn *c, int dir);

/* An engine with the given configuration (NULL: the default), on the heap */
struct engine *nb_engine(const struct engine_config *cfg, const struct model_hooks *hooks);
struct engine *engine_new(void);
void engine_delete(struct engine *e);

#endif

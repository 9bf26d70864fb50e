/*
 * stream.h - one direction of a TCP connection: reassembly and message framing.
 *
 * Segments go in as captured (out of order, retransmitted, overlapping);
 * whole protocol messages come out, in order, through struct stream_ops.
 * Shared by the Channel Access and pvAccess decoders: the protocol only says
 * how long a message is (msg_len) and what to do with it (message).
 *
 * Rules:
 *  - bytes already delivered are never delivered again (retransmissions);
 *  - a segment beyond the next expected byte waits in a bounded queue;
 *  - a hole is declared lost ("gap") when the peer acknowledges bytes we never
 *    saw, when the queue passes its byte cap, or when the stream is flushed;
 *  - after a gap, or when joining a connection mid-stream, delivery resumes at
 *    the first segment that starts with a plausible message ("resync");
 *  - a message is kept up to keep_max bytes; the rest of a larger message is
 *    counted but not stored, and the message is delivered once its last byte
 *    has arrived. A message that lost bytes in a gap is dropped, never
 *    delivered.
 *  - a message's time is that of the frame that carried its last byte, also
 *    when it waited in the queue behind a hole filled later.
 */
#ifndef EPICS_STREAM_H
#define EPICS_STREAM_H

#include "budget.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct stream_ops {
    /* Total length of the message starting at p given its first `have` bytes:
     * > 0 the length, 0 more bytes needed, < 0 these bytes start no message. */
    long long (*msg_len)(void *ctx, int dir, const uint8_t *p, size_t have);
    /* A complete message: the first `have` bytes of its `total` bytes */
    void (*message)(void *ctx, int dir, const uint8_t *p, size_t have, uint64_t total,
                    uint64_t ts_us);
    /* Bytes of a direction were lost: the partial message is dropped */
    void (*gap)(void *ctx, int dir);
    /* New in-order payload bytes (for byte counters), before framing */
    void (*bytes)(void *ctx, int dir, size_t len);
};

struct stream_seg;

struct stream {
    bool started;               /* next_seq is valid */
    bool resync;                /* looking for a message boundary */
    bool closed;                /* FIN or RST seen */
    uint32_t next_seq;
    struct stream_seg *queue;   /* out-of-order segments, sorted by seq */
    size_t queued;              /* bytes in queue */
    uint8_t *buf;               /* start of the current message */
    size_t have, bufsize;
    uint64_t total;             /* length of the current message, 0 unknown */
    uint64_t seen;              /* bytes of the current message consumed */
};

struct stream_limits {
    size_t queue_max;           /* out-of-order bytes held per direction */
    size_t keep_max;            /* bytes of one message kept for decoding */
};

struct stream_ctx {
    const struct stream_ops *ops;
    void *ctx;
    int dir;
    const struct stream_limits *lim;
    struct mem_budget *budget;  /* shared by all streams; NULL: none */
};

/* A segment of this direction; syn/fin as in its TCP flags */
void stream_segment(struct stream *s, const struct stream_ctx *c, uint32_t seq, bool syn,
                    bool fin, const uint8_t *data, size_t len, uint64_t ts_us);
/* Bytes [seq_end - n, seq_end) were on the wire but not captured (snap length) */
void stream_lost(struct stream *s, const struct stream_ctx *c, uint32_t seq_end, uint32_t n);
/* The other direction acknowledged everything before `ack` */
void stream_acked(struct stream *s, const struct stream_ctx *c, uint32_t ack, uint64_t ts_us);
/* Deliver what is queued, declaring holes lost (connection end, end of file) */
void stream_flush(struct stream *s, const struct stream_ctx *c, uint64_t ts_us);
void stream_free(struct stream *s, const struct stream_ctx *c);

#endif

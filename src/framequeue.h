/*
 * framequeue.h - a queue of captured frames between one producer thread and
 * one consumer thread, without locks.
 *
 * The capture reader thread (capture.c) copies each frame libpcap hands it
 * into the queue; the main thread takes them out and decodes them. One
 * contiguous byte buffer holds records: a header (struct fq_rec) followed
 * by the frame's captured bytes, padded to 8 bytes. A record never wraps:
 * when it does not fit before the end of the buffer the producer leaves the
 * rest of the buffer as a skip (a header with linktype -1, or nothing when
 * not even a header fits) and starts again at the front. head and tail
 * only grow; head - tail is the bytes in use. The producer publishes a
 * record by a release store of head after writing it, the consumer frees it
 * by a release store of tail after reading it.
 */
#ifndef EPICS_FRAMEQUEUE_H
#define EPICS_FRAMEQUEUE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fq_rec {
    uint32_t size;              /* of the record, header included, a multiple of 8 */
    int32_t linktype;           /* -1: skip to the next record */
    uint64_t ts_us;
    uint32_t caplen, wirelen;
};

struct framequeue {
    unsigned char *buf;
    size_t size;                /* a multiple of 8 */
    _Atomic uint64_t head;      /* written by the producer only */
    _Atomic uint64_t tail;      /* written by the consumer only */
    _Atomic uint64_t refused;   /* frames that did not fit */
};

/* 0, or -1 when the buffer cannot be allocated */
int fq_init(struct framequeue *q, size_t bytes);
void fq_free(struct framequeue *q);
/* Producer: copy one frame in; false (and counted in refused) when full */
bool fq_push(struct framequeue *q, int linktype, uint64_t ts_us, const unsigned char *data,
             uint32_t caplen, uint32_t wirelen);
/* Bytes free (the producer's view; may grow meanwhile) */
static inline size_t fq_room(struct framequeue *q)
{
    uint64_t used = atomic_load_explicit(&q->head, memory_order_relaxed)
                    - atomic_load_explicit(&q->tail, memory_order_acquire);
    return q->size - (size_t)used;
}
/* Consumer: the oldest frame, or NULL when empty; its data follows the
 * header. Valid until fq_pop. */
const struct fq_rec *fq_peek(struct framequeue *q);
void fq_pop(struct framequeue *q, const struct fq_rec *r);

static inline const unsigned char *fq_data(const struct fq_rec *r)
{
    return (const unsigned char *)(r + 1);
}

#endif

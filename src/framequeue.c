/*
 * framequeue.c - single-producer, single-consumer frame queue (see framequeue.h).
 */
#include "framequeue.h"

#include <stdlib.h>
#include <string.h>

#define ALIGN8(n) (((n) + 7u) & ~(size_t)7u)

int fq_init(struct framequeue *q, size_t bytes)
{
    memset(q, 0, sizeof(*q));
    q->size = ALIGN8(bytes);
    q->buf = malloc(q->size);
    if (!q->buf)
        return -1;
    atomic_init(&q->head, 0);
    atomic_init(&q->tail, 0);
    atomic_init(&q->refused, 0);
    return 0;
}

void fq_free(struct framequeue *q)
{
    free(q->buf);
    q->buf = NULL;
    q->size = 0;
}

bool fq_push(struct framequeue *q, int linktype, uint64_t ts_us, const unsigned char *data,
             uint32_t caplen, uint32_t wirelen)
{
    size_t need = ALIGN8(sizeof(struct fq_rec) + (size_t)caplen);
    uint64_t head = atomic_load_explicit(&q->head, memory_order_relaxed);
    uint64_t tail = atomic_load_explicit(&q->tail, memory_order_acquire);
    size_t off = (size_t)(head % q->size), to_end = q->size - off;
    size_t skip = to_end < need ? to_end : 0;
    if (need > q->size || q->size - (size_t)(head - tail) < skip + need) {
        atomic_fetch_add_explicit(&q->refused, 1, memory_order_relaxed);
        return false;
    }
    if (skip) {
        if (skip >= sizeof(struct fq_rec)) {
            struct fq_rec *s = (struct fq_rec *)(q->buf + off);
            s->size = (uint32_t)skip;
            s->linktype = -1;
        }
        off = 0;
    }
    struct fq_rec *r = (struct fq_rec *)(q->buf + off);
    r->size = (uint32_t)need;
    r->linktype = linktype;
    r->ts_us = ts_us;
    r->caplen = caplen;
    r->wirelen = wirelen;
    memcpy(r + 1, data, caplen);
    atomic_store_explicit(&q->head, head + skip + need, memory_order_release);
    return true;
}

const struct fq_rec *fq_peek(struct framequeue *q)
{
    for (;;) {
        uint64_t tail = atomic_load_explicit(&q->tail, memory_order_relaxed);
        uint64_t head = atomic_load_explicit(&q->head, memory_order_acquire);
        if (tail == head)
            return NULL;
        size_t off = (size_t)(tail % q->size), to_end = q->size - off;
        const struct fq_rec *r = (const struct fq_rec *)(q->buf + off);
        if (to_end < sizeof(struct fq_rec) || r->linktype < 0) {
            /* the producer skipped the end of the buffer */
            atomic_store_explicit(&q->tail, tail + to_end, memory_order_release);
            continue;
        }
        return r;
    }
}

void fq_pop(struct framequeue *q, const struct fq_rec *r)
{
    uint64_t tail = atomic_load_explicit(&q->tail, memory_order_relaxed);
    atomic_store_explicit(&q->tail, tail + r->size, memory_order_release);
}

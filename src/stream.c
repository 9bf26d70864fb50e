/*
 * stream.c - TCP reassembly and message framing for one direction (see stream.h).
 * Sequence numbers compare modulo 2^32 (RFC 793 section 3.3).
 */
#include "stream.h"

#include <stdlib.h>
#include <string.h>

struct stream_seg {
    struct stream_seg *next;
    uint64_t ts;                /* of the frame that carried it: its messages keep it */
    uint32_t seq;
    uint32_t len;
    uint8_t data[];
};

static inline int32_t seq_diff(uint32_t a, uint32_t b) { return (int32_t)(a - b); }

static void drop_message(struct stream *s)
{
    s->have = 0;
    s->total = 0;
    s->seen = 0;
}

static void declare_gap(struct stream *s, const struct stream_ctx *c)
{
    if (s->have || s->seen || !s->resync)
        c->ops->gap(c->ctx, c->dir);
    drop_message(s);
    s->resync = true;
}

static int keep(struct stream *s, const struct stream_ctx *c, const uint8_t *p, size_t n)
{
    size_t room = c->lim->keep_max - s->have;
    if (n > room)
        n = room;
    if (n == 0)
        return 0;
    if (s->have + n > s->bufsize) {
        size_t want = s->bufsize ? s->bufsize : 64;
        while (want < s->have + n)
            want *= 2;
        if (want > c->lim->keep_max)
            want = c->lim->keep_max;
        if (!budget_take(c->budget, want - s->bufsize))
            return -1;
        uint8_t *b = realloc(s->buf, want);
        if (!b) {
            budget_give(c->budget, want - s->bufsize);
            return -1;
        }
        s->buf = b;
        s->bufsize = want;
    }
    memcpy(s->buf + s->have, p, n);
    s->have += n;
    return 0;
}

/* True if data (a segment start) begins a chain of plausible messages */
static bool plausible_start(const struct stream_ctx *c, const uint8_t *p, size_t len)
{
    size_t off = 0;
    int checked = 0;
    while (off < len && checked < 8) {
        long long n = c->ops->msg_len(c->ctx, c->dir, p + off, len - off);
        if (n < 0)
            return false;
        if (n == 0)
            return checked > 0 || len - off >= 1;
        off += (size_t)n;
        checked++;
    }
    return true;
}

static void finish_message(struct stream *s, const struct stream_ctx *c, uint64_t ts)
{
    c->ops->message(c->ctx, c->dir, s->buf, s->have, s->total, ts);
    drop_message(s);
    if (s->bufsize > 4096) {
        budget_give(c->budget, s->bufsize);
        free(s->buf);
        s->buf = NULL;
        s->bufsize = 0;
    }
}

/* Frame in-order bytes: p is one segment's new data */
static void frame(struct stream *s, const struct stream_ctx *c, const uint8_t *p, size_t len,
                  uint64_t ts)
{
    if (len)
        c->ops->bytes(c->ctx, c->dir, len);
    if (s->resync) {
        if (!plausible_start(c, p, len))
            return;
        s->resync = false;
        drop_message(s);
    }
    while (len > 0) {
        if (s->total == 0 && s->have == 0) {
            /* at a message boundary: decode in place when the message is whole */
            long long n = c->ops->msg_len(c->ctx, c->dir, p, len);
            if (n < 0) {
                declare_gap(s, c);      /* lost framing: look for a boundary */
                return;
            }
            if (n > 0 && (uint64_t)n <= len) {
                size_t have = (size_t)n < c->lim->keep_max ? (size_t)n : c->lim->keep_max;
                c->ops->message(c->ctx, c->dir, p, have, (uint64_t)n, ts);
                p += n;
                len -= (size_t)n;
                continue;
            }
            s->total = (uint64_t)n;     /* 0 while the header is incomplete */
            if (keep(s, c, p, len) < 0) {
                declare_gap(s, c);
                return;
            }
            s->seen = len;
            return;
        }
        if (s->total == 0) {
            /* header split across segments: add a little at a time */
            size_t step = len < 64 ? len : 64;
            if (s->have + step > c->lim->keep_max || keep(s, c, p, step) < 0) {
                declare_gap(s, c);
                return;
            }
            long long n = c->ops->msg_len(c->ctx, c->dir, s->buf, s->have);
            if (n < 0) {
                declare_gap(s, c);
                return;
            }
            size_t used = step;
            if (n > 0) {
                s->total = (uint64_t)n;
                if ((uint64_t)s->have > s->total) {
                    used -= (size_t)((uint64_t)s->have - s->total);
                    s->have = (size_t)s->total;
                }
            }
            s->seen = s->have;
            p += used;
            len -= used;
        } else {
            uint64_t want = s->total - s->seen;
            size_t n = want < len ? (size_t)want : len;
            if (s->have < c->lim->keep_max && keep(s, c, p, n) < 0) {
                declare_gap(s, c);
                return;
            }
            s->seen += n;
            p += n;
            len -= n;
        }
        if (s->total && s->seen == s->total)
            finish_message(s, c, ts);
    }
}

static void deliver_queue(struct stream *s, const struct stream_ctx *c)
{
    while (s->queue) {
        struct stream_seg *g = s->queue;
        int32_t d = seq_diff(g->seq, s->next_seq);
        if (d > 0)
            return;
        s->queue = g->next;
        s->queued -= g->len;
        budget_give(c->budget, g->len);
        int32_t end = seq_diff(g->seq + g->len, s->next_seq);
        if (end > 0) {
            size_t skip = (size_t)(g->len - (uint32_t)end);
            s->next_seq += (uint32_t)end;
            frame(s, c, g->data + skip, (size_t)end, g->ts);
        }
        free(g);
    }
}

/* Skip the hole before the first queued segment */
static void skip_hole(struct stream *s, const struct stream_ctx *c)
{
    if (!s->queue)
        return;
    declare_gap(s, c);
    s->next_seq = s->queue->seq;
    deliver_queue(s, c);
}

static void enqueue(struct stream *s, const struct stream_ctx *c, uint32_t seq,
                    const uint8_t *data, size_t len, uint64_t ts)
{
    struct stream_seg **pp = &s->queue;
    while (*pp && seq_diff((*pp)->seq, seq) < 0)
        pp = &(*pp)->next;
    if (*pp && (*pp)->seq == seq && (*pp)->len >= len)
        return;                 /* duplicate of a queued segment */
    /* no room (memory or budget): this segment is lost like one not captured */
    struct stream_seg *g = NULL;
    if (budget_take(c->budget, len)) {
        g = malloc(sizeof(*g) + len);
        if (!g)
            budget_give(c->budget, len);
    }
    if (!g) {
        skip_hole(s, c);
        return;
    }
    g->ts = ts;
    g->seq = seq;
    g->len = (uint32_t)len;
    memcpy(g->data, data, len);
    g->next = *pp;
    *pp = g;
    s->queued += len;
    while (s->queued > c->lim->queue_max && s->queue)
        skip_hole(s, c);
}

void stream_segment(struct stream *s, const struct stream_ctx *c, uint32_t seq, bool syn,
                    bool fin, const uint8_t *data, size_t len, uint64_t ts)
{
    if (!s->started) {
        s->started = true;
        s->next_seq = syn ? seq + 1 : seq;
        s->resync = !syn;       /* joined mid-stream: find a boundary */
    }
    if (syn)
        seq++;
    if (len > 0) {
        int32_t d = seq_diff(seq, s->next_seq);
        if (d > 0) {
            enqueue(s, c, seq, data, len, ts);
        } else if ((int64_t)len + d > 0) {
            size_t skip = (size_t)(-d);
            s->next_seq += (uint32_t)(len - skip);
            frame(s, c, data + skip, len - skip, ts);
            deliver_queue(s, c);
        }
    }
    if (fin)
        s->closed = true;
}

void stream_lost(struct stream *s, const struct stream_ctx *c, uint32_t seq_end, uint32_t n)
{
    if (!s->started || n == 0)
        return;
    /* only a loss right at the delivery point is known to be a hole now; a
     * later one shows up as a hole when the following segment arrives */
    if (seq_diff(s->next_seq, seq_end - n) >= 0 && seq_diff(seq_end, s->next_seq) > 0) {
        declare_gap(s, c);
        s->next_seq = seq_end;
    }
}

void stream_acked(struct stream *s, const struct stream_ctx *c, uint32_t ack, uint64_t ts)
{
    (void)ts;                   /* queued messages keep their own segments' times */
    if (!s->started)
        return;
    if (!s->queue) {
        /* lost at the tail: acknowledged beyond what we saw (the FIN takes one) */
        if (seq_diff(ack, s->next_seq) > 1 && !s->closed) {
            declare_gap(s, c);
            s->next_seq = ack;
        }
        return;
    }
    /* the receiver has bytes we never captured */
    while (s->queue && seq_diff(ack, s->next_seq) > 0 && seq_diff(s->queue->seq, s->next_seq) > 0
           && seq_diff(ack, s->queue->seq) >= 0)
        skip_hole(s, c);
}

void stream_flush(struct stream *s, const struct stream_ctx *c, uint64_t ts)
{
    (void)ts;
    while (s->queue)
        skip_hole(s, c);
}

void stream_free(struct stream *s, const struct stream_ctx *c)
{
    while (s->queue) {
        struct stream_seg *g = s->queue;
        s->queue = g->next;
        budget_give(c->budget, g->len);
        free(g);
    }
    budget_give(c->budget, s->bufsize);
    free(s->buf);
    memset(s, 0, sizeof(*s));
}

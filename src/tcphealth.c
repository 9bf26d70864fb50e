/*
 * tcphealth.c - handshake time, retransmissions, zero windows and resets of
 * TCP circuits (see tcphealth.h). Sequence numbers compare modulo 2^32.
 */
#include "tcphealth.h"

#include "packet.h"

static inline int32_t seq_diff(uint32_t a, uint32_t b) { return (int32_t)(a - b); }

/* The handshake completes with the client's ACK of the server's SYN */
static void handshake(struct tcp_track *t, struct tcp_health *h, const struct tcp_seg *s)
{
    uint8_t f = s->flags & (TCP_SYN | TCP_ACK | TCP_RST);
    if (s->dir == 0 && f == TCP_SYN) {
        if (!t->syn_us)
            t->syn_us = s->ts_us ? s->ts_us : 1;
    } else if (s->dir == 1 && f == (TCP_SYN | TCP_ACK)) {
        t->synack_seen = true;
        t->server_isn = s->seq;
    } else if (s->dir == 0 && f == TCP_ACK && t->syn_us && t->synack_seen
               && s->ack == t->server_isn + 1) {
        t->handshake_done = true;
        uint64_t us = s->ts_us > t->syn_us ? s->ts_us - t->syn_us : 0;
        if (h) {
            h->handshake_count++;
            h->handshake_sum_us += us;
            if (us > h->handshake_max_us)
                h->handshake_max_us = us;
        }
    }
}

void tcp_health_segment(struct tcp_track *t, struct tcp_health *h, const struct tcp_seg *s)
{
    int d = s->dir;
    bool syn = s->flags & TCP_SYN, fin = s->flags & TCP_FIN, rst = s->flags & TCP_RST;

    if (!t->handshake_done)
        handshake(t, h, s);

    /* the end of what this segment reaches: SYN and FIN take a number each */
    uint32_t start = s->seq + (syn ? 1u : 0u);
    uint32_t end = start + s->len + (fin ? 1u : 0u);
    if (!syn && !fin && !rst && t->high_known[d] && h) {
        bool old = s->len ? seq_diff(end, t->high[d]) <= 0 : seq_diff(start, t->high[d]) < 0;
        if (old)
            h->retransmits++;
    }
    /* an RST's number says nothing of what was sent */
    if (!rst && (!t->high_known[d] || seq_diff(end, t->high[d]) > 0)) {
        t->high[d] = end;
        t->high_known[d] = true;
    }
    if (!h)
        return;
    if (rst)
        h->resets++;
    else if (!syn && s->window == 0)
        h->zero_windows[d]++;
}

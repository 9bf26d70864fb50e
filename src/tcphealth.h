/*
 * tcphealth.h - the health of a TCP circuit as seen on the wire: handshake
 * time, retransmissions, zero windows and resets, counted per server.
 *
 * Definitions (../shared/captures/README.md, "TCP health"):
 *  - handshake: from the client's first SYN of a circuit to the client's ACK
 *    that completes the three-way handshake (the ACK of the server's SYN);
 *    circuits whose SYN was not captured add nothing;
 *  - retransmit: a segment of either direction whose sequence range lies
 *    wholly below the highest sequence number already reached from that side
 *    (SYN and FIN included, bytes cut by the snapshot length included): resent
 *    payload, a resent segment filling a hole, keep-alive and zero-window
 *    probes of 0 or 1 byte just below it. Segments with SYN, FIN or RST and
 *    pure ACKs at that number are not counted;
 *  - zero window: a segment that is neither SYN nor RST advertising a receive
 *    window of 0, counted for the side that sent it;
 *  - reset: a segment with RST, either direction.
 *
 * This looks only at TCP headers; stream.c does the reassembly of payload.
 */
#ifndef EPICS_TCPHEALTH_H
#define EPICS_TCPHEALTH_H

#include <stdbool.h>
#include <stdint.h>

/* Counters kept per server (all circuits, both directions) */
struct tcp_health {
    uint64_t handshake_count, handshake_sum_us, handshake_max_us;
    uint64_t retransmits, resets;
    uint64_t zero_windows[2];   /* [0] sent by clients, [1] by the server */
};

/* What one circuit remembers between segments */
struct tcp_track {
    uint32_t high[2];           /* highest sequence number reached, per side */
    bool high_known[2];
    bool handshake_done;
    bool synack_seen;
    uint32_t server_isn;        /* sequence number of the server's SYN */
    uint64_t syn_us;            /* time of the client's first SYN, 0 none */
};

/* The TCP header fields of one segment; dir 0 is client to server */
struct tcp_seg {
    int dir;
    uint8_t flags;              /* TCP_* bits as on the wire (packet.h) */
    uint32_t seq, ack;
    uint32_t len;               /* payload bytes on the wire, captured or not */
    uint16_t window;
    uint64_t ts_us;
};

/* Account one segment of a circuit; h may be NULL (server not tracked) */
void tcp_health_segment(struct tcp_track *t, struct tcp_health *h, const struct tcp_seg *s);

#endif

/*
 * gen.h - a synthetic Channel Access network, packet by packet.
 *
 * Servers (IOCs) at 127.0.1.x each host a contiguous share of the PVs;
 * clients at 127.0.2.x each connect to every PV. What goes on the wire,
 * in order:
 *
 *   connect   per client, one starting every 6 s: UDP searches to
 *             127.255.255.255:5064 (VERSION and as many SEARCH messages as
 *             fit a 1024-byte datagram), one reply datagram per server
 *             hosting some of the names; then one
 *             TCP circuit per server: handshake, VERSION, CLIENT_NAME,
 *             HOST_NAME, CREATE_CHAN for each channel; the server's VERSION,
 *             ACCESS_RIGHTS and CREATE_CHAN replies; EVENT_ADD
 *             (DBR_TIME_DOUBLE) for each channel and the first value of each
 *   steady    rounds of one second: each circuit's client sends a few
 *             READ_NOTIFY and WRITE requests, its server answers them, posts
 *             the value each WRITE changed, then one update per subscription
 *             until the requested number of updates is reached; servers'
 *             messages are packed into segments of up to 1460 bytes (split
 *             anywhere, as TCP does), the circuits' segments interleaved,
 *             the clients acknowledging every second segment
 *   close     FIN from each client, FIN from each server, final ACK
 *
 * Beacons (RSRV_IS_UP to 127.255.255.255:5065) every 15 s from each server
 * throughout. TCP sequence numbers, acknowledgements, IP and TCP checksums
 * are those a real stack would send; everything is derived from a fixed seed.
 *
 * Message layouts: epics-base modules/ca/src/client/caProto.h, db_access.h
 * (struct dbr_time_double); what rsrv sends: modules/database/src/ioc/rsrv.
 */
#ifndef EPICS_BENCH_GEN_H
#define EPICS_BENCH_GEN_H

#include <stdint.h>

struct gen_params {
    int servers;                /* 1..254 */
    int clients;                /* 1..254 */
    int pvs;                    /* distinct PVs, shared out among the servers */
    uint64_t updates;           /* periodic monitor updates in the steady phase */
    uint64_t seed;
};

/* What was written, as the engine should count it */
struct gen_counts {
    uint64_t packets, bytes;
    uint64_t pvs, servers, clients, circuits;
    uint64_t search_requests, search_replies;
    uint64_t connects;              /* CREATE_CHAN replies */
    uint64_t subscriptions;
    uint64_t monitor_updates;       /* EVENT_ADD messages with data, server to client */
    uint64_t reads, writes;         /* READ_NOTIFY, WRITE */
    uint64_t beacons;
    uint64_t messages;              /* every CA message, UDP and TCP */
    uint64_t bytes_in, bytes_out;   /* TCP payload, client to server and back */
};

#define GEN_START_US 1700000000000000ULL    /* capture time of the first frame */

/* Receives each frame (DLT_EN10MB) in time order */
typedef void (*gen_sink)(void *arg, uint64_t ts_us, const uint8_t *frame, uint32_t len);

struct gen;

/* NULL with a message in err for parameters out of range */
struct gen *gen_new(const struct gen_params *p, gen_sink sink, void *arg, char *err,
                    unsigned long errlen);
void gen_connect(struct gen *g);
void gen_steady(struct gen *g);
void gen_close(struct gen *g);
const struct gen_counts *gen_counts(const struct gen *g);
uint64_t gen_now(const struct gen *g);      /* capture time of the latest frame */
void gen_free(struct gen *g);

#endif

/*
 * model.h - what the agent knows: servers, PVs, clients, circuits, channels,
 * pending searches and requests, and the counters kept for each.
 *
 * Decoders (ca.c, pva.c) report what they saw through the model_* calls and
 * the counters below; exporters (the PMDA, the importer) read the counters
 * and learn about new and removed objects through struct model_hooks.
 * Nothing here knows about packets or about PCP.
 *
 * Every table is bounded (struct model_limits). Servers, PVs and clients that
 * nothing refers to and that were idle for idle_timeout are expired; when a
 * table is full the least recently used unreferenced entry is evicted. What
 * could not be tracked is counted, never allocated.
 */
#ifndef EPICS_MODEL_H
#define EPICS_MODEL_H

#include "budget.h"
#include "hist.h"
#include "idmap.h"
#include "netaddr.h"
#include "object.h"
#include "spread.h"
#include "table.h"
#include "tcphealth.h"

#include <stdbool.h>
#include <stdint.h>

enum proto { PROTO_CA = 0, PROTO_PVA = 1, PROTO_COUNT };

#define ADDR_NAME_MAX NETADDR_TEXT_MAX   /* "[IPv6]:65535" */
#define CLIENT_STR_MAX 64
#define PUT_VALUE_MAX 80
#define PUT_NAME_MAX 128
#define UNKNOWN_PV_PREFIX "<unknown>@"
#define MODEL_PORTS_TEXT 512

/* Request latencies, one per kind of exchange: CA uses read and write, PVA
 * get, put and rpc (the slots are shared, a PV or server has one protocol) */
enum op_latency { LAT_READ = 0, LAT_WRITE = 1, LAT_GET = 0, LAT_PUT = 1, LAT_RPC = 2, LAT_OPS = 3 };

struct endpoint_key {
    struct netaddr addr;        /* IPv4 mapped, or IPv6 */
    uint16_t port;
    uint16_t proto;
};

struct server {
    OBJECT_HEADER;              /* refs: its open circuits */
    struct endpoint_key key;
    char name[ADDR_NAME_MAX];
    /* gauges */
    uint64_t circuits, channels, monitors;
    uint64_t duplicate_pvs;     /* PVs it answered that another server answered too */
    /* counters */
    uint64_t circuits_total, connects, connect_fails, connect_unanswered;
    uint64_t monitor_updates, reads, writes, gets, puts, rpcs, errors;
    uint64_t bytes_in, bytes_out, beacons, restarts, beacon_anomalies;
    uint64_t monitor_overruns, monitor_acks;    /* pvAccess */
    struct latency connect;
    struct spread connect_spread;
    /* exchanges and updates (timing.c); listed only for servers with circuits */
    struct latency op_latency[LAT_OPS], echo, update_age;
    uint64_t update_age_negative;
    struct tcp_health tcp;      /* of all its circuits */
    /* beacon tracking */
    bool beacon_seen;
    uint32_t beacon_seq;
    uint64_t beacon_us;
    double beacon_period;       /* seconds, < 0 until two beacons */
    uint8_t guid[12];           /* pvAccess server GUID */
};

#define PV_SERVERS_TRACKED 8

struct pv {
    OBJECT_HEADER;              /* refs: its channels and searches */
    struct endpoint_key server; /* of its latest channel; addr unset none */
    char server_name[ADDR_NAME_MAX];
    uint32_t nservers;          /* distinct servers that answered searches */
    struct endpoint_key server_first;   /* the first of them (model_pv_server) */
    struct endpoint_key *servers_more;  /* the next ones, allocated at the second */
    /* gauges */
    uint64_t channels, monitors;
    /* counters */
    uint64_t searches, search_unanswered, connects, connect_fails;
    uint64_t monitor_updates, reads, writes, gets, puts, rpcs, bytes_in, bytes_out;
    uint64_t monitor_overruns;  /* pvAccess */
    struct sample_stats update_age;     /* beside the counters every update touches */
    struct latency connect;
    struct put_record *last_put;        /* NULL until the PV is written */
    struct pv_timing *timing;           /* NULL until a latency or age sample */
    size_t namelen;
    char name[];
};

/* A PV's request latencies: most PVs never see one */
struct pv_timing {
    struct latency op_latency[LAT_OPS];
};

struct client {
    OBJECT_HEADER;              /* refs: its open circuits */
    struct endpoint_key key;    /* port 0: one instance per host */
    char name[ADDR_NAME_MAX];
    uint64_t circuits, channels;
    uint64_t bytes_in, bytes_out;
    uint64_t searches, search_unanswered;       /* the names it searched for */
    char host[CLIENT_STR_MAX];
    char user[CLIENT_STR_MAX];
};

/* A search transaction: a client's search for one name (retries included) */
struct search {
    struct tnode by_addr;       /* (client addr, client port, cid) */
    struct tnode by_cid;        /* (client addr, cid): found again at create */
    struct { struct netaddr addr; uint16_t port; uint16_t proto; uint32_t cid; } key;
    struct { struct netaddr addr; uint16_t proto; uint16_t pad; uint32_t cid; } ckey;
    struct pv *pv;
    uint64_t first_us, last_us;
    uint64_t answered_us;       /* first reply, 0 none */
    struct search *ans_prev, *ans_next; /* model.answered, by reply time */
    uint32_t requests;
    bool answered;
};

struct channel {
    struct circuit *circuit;
    struct pv *pv;              /* NULL: not tracked (table full) */
    uint32_t cid, sid;
    bool open;                  /* create reply seen */
    bool cid_known, sid_known;
    uint64_t request_us;        /* create request, 0 unseen */
    uint64_t search_us;         /* first search of the name, 0 unknown */
    uint32_t monitors;
    struct request *requests;   /* requests and subscriptions naming it */
    bool stand_in;              /* stands for channels whose creation was not seen */
    struct channel *pend_prev, *pend_next;  /* waiting for the create reply */
};

/* A pending request (CA READ_NOTIFY, WRITE_NOTIFY; PVA operations).
 * A request naming a channel is on that channel's list, so a channel that
 * is closed, replaced or fails takes its requests with it: no request ever
 * points to a freed channel. */
struct request {
    struct channel *channel;    /* may be NULL for unknown channels */
    struct request *ch_prev, *ch_next;  /* the channel's requests */
    struct idmap *map;          /* the circuit's map that holds it */
    uint32_t id;
    uint8_t kind;               /* protocol specific */
    uint8_t state;              /* protocol specific */
    uint16_t flags;
    uint64_t sent_us;
    void *data;                 /* protocol specific, freed with the request */
    void (*data_free)(void *);  /* frees data when set (default: free()) */
};

#define ECHO_PENDING 8

/* Times of client ECHOs not yet answered, oldest first */
struct echo_fifo {
    uint64_t sent_us[ECHO_PENDING];
    uint8_t head, n;
};

struct circuit {
    struct model *model;
    uint16_t proto;
    struct server *server;
    struct client *client;
    struct netaddr client_addr;
    uint16_t client_port;
    struct idmap by_cid, by_sid;        /* channels */
    struct idmap requests;              /* ioid -> struct request */
    struct idmap subs;                  /* CA subscription id -> struct request */
    size_t nchannels;
    void *pstate;                       /* decoder state */
    void (*pstate_free)(void *);
    struct channel *unknown;            /* stands for channels whose creation was not seen */
    struct circuit *prev, *next;        /* all open circuits */
    char host[CLIENT_STR_MAX];          /* what the client announced on this circuit */
    char user[CLIENT_STR_MAX];
    struct echo_fifo echo;              /* client ECHOs awaiting the server's */
};

struct put_record {
    uint64_t ts_us;
    uint16_t proto;
    int32_t status;             /* protocol status, when has_status */
    bool has_status;
    char status_text[64];       /* "ok", or the error the server gave */
    char pv[PUT_NAME_MAX];
    char value[PUT_VALUE_MAX];
    char type[16];
    char client[ADDR_NAME_MAX];
    char server[ADDR_NAME_MAX];
    char user[2 * CLIENT_STR_MAX];      /* user@host the client announced */
};

#define PUT_RING 1024

struct proto_stats {
    uint64_t search_requests, search_replies, search_not_found, search_unanswered;
    uint64_t search_late_replies;       /* replies matching no search */
    uint64_t beacons, messages, unmatched_replies;
    struct latency search;
};

struct model_limits {
    size_t max_servers, max_pvs, max_clients, max_searches;
    size_t max_channels_per_circuit, max_requests_per_circuit;
    size_t max_channels, max_requests;  /* over all circuits */
    size_t max_buffer_bytes;            /* reassembly and decoder buffers, all circuits */
    uint64_t search_timeout_us[PROTO_COUNT];    /* unanswered this long after the last retry */
    uint64_t request_timeout_us;        /* create and other requests */
    uint64_t idle_timeout_us;           /* unreferenced objects expire */
};

/*
 * Search timeouts that follow the clients' own retry schedules, so that a
 * search retried across an outage stays one transaction (the contract counts
 * a search as unanswered only if no reply came by the end). The timeout runs
 * from the latest retry of a (client, cid), so it must be longer than the
 * longest pause a client makes between two retries:
 * - CA (EPICS base searchTimer/udpiiu): the period doubles from about 30 ms
 *   after each try, up to EPICS_CA_MAX_SEARCH_PERIOD, 300 s by default (at
 *   least 60 s): 330 s covers it with 10 % to spare.
 * - pvAccess (pvxs client): a ring of 30 one-second buckets, the n-th retry
 *   of a channel n buckets after the previous one, at most 30 (one more when
 *   the next bucket is crowded): 35 s.
 * A reply after the timeout is counted in search_late_replies: the sign that
 * a site's clients pause longer (a larger EPICS_CA_MAX_SEARCH_PERIOD).
 */
#define SEARCH_TIMEOUT_CA_S 330
#define SEARCH_TIMEOUT_PVA_S 35

struct model_hooks {
    void (*added)(void *arg, int kind, int proto, void *obj, const char *name);
    void (*removed)(void *arg, int kind, int proto, void *obj, const char *name);
    /* a latency bucket of an object (NULL: the protocol's search histogram)
     * received its first sample */
    void (*bucket)(void *arg, int kind, int proto, void *obj, int bucket);
    /* bad input of a new kind: logged once per kind */
    void (*log)(void *arg, const char *what);
    void *arg;
    /* a channel connected: for per-channel reports (latency_us valid when known) */
    void (*connected)(void *arg, int proto, const struct pv *pv, const struct server *s,
                      uint64_t ts_us, uint64_t latency_us, bool known);
    /* a search (s NULL) or a create request (to server s) that no reply
     * answered, from client_addr: for per-name reports (pv may be NULL) */
    void (*unanswered)(void *arg, int proto, const struct pv *pv, struct netaddr client_addr,
                       const struct server *s);
};

/* What epics.capture.* and epics.agent.* report: one record, so the metric
 * table reads one place, and one writer for each field, named here */
struct model_health {
    /* engine.c, per frame (capture.c returns its kernel counts to it, and
     * the reader thread's queue refusals, through engine_losses) */
    uint64_t packets, bytes, drops, if_drops, truncated, skipped, not_epics;
    uint64_t flows_evicted, flows_untracked;
    /* the model's pieces, as bad input, gaps and caps are met */
    uint64_t decode_errors;                                     /* model.c */
    uint64_t stream_gaps;                                       /* circuits.c */
    uint64_t evicted[OBJ_KINDS], expired[OBJ_KINDS], untracked[OBJ_KINDS];    /* objects.c */
    uint64_t searches_evicted;                                  /* searches.c */
    uint64_t requests_untracked, channels_untracked;            /* circuits.c */
    uint64_t put_records_lost;                                  /* puts.c */
    uint64_t circuits;          /* open now (circuits.c) */
    uint64_t channels, requests;        /* tracked now, over all circuits (circuits.c) */
    /* bytes held for reassembly and decoding: charged by stream.c and the
     * pvAccess type caches, its size set once by model.c */
    struct mem_budget buffers;
};

struct model {
    struct model_limits lim;
    struct model_hooks hooks;
    struct table servers[PROTO_COUNT], pvs[PROTO_COUNT], clients[PROTO_COUNT];
    struct table searches, search_cids;
    struct proto_stats ps[PROTO_COUNT];
    struct model_health health;
    struct put_record puts[PUT_RING];
    uint64_t puts_next;         /* sequence of the next record */
    uint64_t put_count[PROTO_COUNT];
    struct circuit *circuits;   /* open ones, listed (their flows own them) */
    struct channel pending;     /* sentinel of the create requests awaiting replies */
    struct search answered;     /* sentinel of the answered searches, oldest reply first */
    uint64_t now_us;            /* latest capture time seen (the engine sets it) */
    uint64_t servers_learned;   /* servers created so far: compared, it tells that the
                                 * capture filter may have to follow a new port */
    bool eof;                   /* -r: the whole file was read */
    const char *logged[32];     /* kinds of bad input already logged */
    struct table *hints;        /* server endpoints known ahead (struct endpoint_hint), or NULL */
    bool beacons_learn_nothing; /* a first pass: an address-less beacon creates no server */
    char ports_text[PROTO_COUNT][MODEL_PORTS_TEXT]; /* ports followed, kept by the engine */
};

/* A server endpoint known before its traffic (a first pass over a file) */
struct endpoint_hint {
    struct tnode node;
    struct endpoint_key key;
};

void model_default_limits(struct model_limits *lim);
void model_init(struct model *m, const struct model_limits *lim, const struct model_hooks *hooks);
void model_free(struct model *m);

struct server *model_server(struct model *m, int proto, struct netaddr addr, uint16_t port, bool create);
struct pv *model_pv(struct model *m, int proto, const char *name, size_t len, bool create);
struct client *model_client(struct model *m, int proto, struct netaddr addr, bool create);
/* The table of servers, PVs or clients (kind OBJ_*) of a protocol */
struct table *model_table(struct model *m, int kind, int proto);
struct pv *model_unknown_pv(struct model *m, struct server *s);
/* The i-th distinct server that answered searches for pv (i < nservers and
 * below PV_SERVERS_TRACKED) */
const struct endpoint_key *model_pv_server(const struct pv *pv, uint32_t i);

/* Searches */
void model_search_request(struct model *m, int proto, struct netaddr caddr, uint16_t cport,
                          uint32_t cid, const char *name, size_t len, uint64_t ts);
/* returns the PV searched for, or NULL when no request matches */
struct pv *model_search_reply(struct model *m, int proto, struct netaddr caddr, uint16_t cport,
                              uint32_t cid, struct netaddr saddr, uint16_t sport, uint64_t ts);
void model_search_not_found(struct model *m, int proto, struct netaddr caddr, uint16_t cport,
                            uint32_t cid, uint64_t ts);

/* Beacons: seq counts up per server; a reset means the server restarted */
void model_beacon(struct model *m, int proto, struct netaddr saddr, uint16_t sport, uint32_t seq,
                  uint64_t ts);
/* A beacon that names no address: the server at its source address and
 * sport; when none is known there but exactly one known server listens on
 * sport (a host whose IOCs bind other local addresses), that server. Known
 * means in the model or among its hints: a beacon never creates a server
 * on a guess. */
void model_beacon_from(struct model *m, int proto, struct netaddr src, uint16_t sport, uint32_t seq,
                       uint64_t ts);

/* Circuits and channels. The caller owns the circuit that model_circuit_open
 * returns and closes it before model_free, which frees no circuit. */
struct circuit *model_circuit_open(struct model *m, int proto, struct netaddr caddr, uint16_t cport,
                                   struct netaddr saddr, uint16_t sport, uint64_t ts);
void model_circuit_close(struct model *m, struct circuit *c, uint64_t ts);
struct channel *model_create_request(struct model *m, struct circuit *c, uint32_t cid,
                                     const char *name, size_t len, uint64_t ts);
/* The create reply: finds the channel by cid (creating a stand-in if the
 * request was not seen), records the sid and the connect latency. */
struct channel *model_create_reply(struct model *m, struct circuit *c, uint32_t cid, uint32_t sid,
                                   uint64_t ts);
void model_create_failed(struct model *m, struct circuit *c, uint32_t cid, uint64_t ts);
void model_channel_close(struct model *m, struct circuit *c, struct channel *ch);
/* The channel of a server's id, or the circuit's unknown channel (never
 * NULL unless out of memory): what a request names is counted somewhere */
struct channel *model_channel_by_sid_or_unknown(struct model *m, struct circuit *c, uint32_t sid);
/* The channel of a client's id, NULL when there is none */
struct channel *model_channel_by_cid(struct circuit *c, uint32_t cid);
/* The channel for messages that name no known channel of the circuit */
struct channel *model_unknown_channel(struct model *m, struct circuit *c);

/* Requests keyed by id in one of the circuit's maps */
struct request *model_request_add(struct model *m, struct circuit *c, struct idmap *map,
                                  uint32_t id, struct channel *ch, uint8_t kind, uint64_t ts);
void model_request_del(struct circuit *c, struct idmap *map, struct request *r);

/* Byte and message accounting for a channel (either may be NULL) */
void model_channel_bytes(struct circuit *c, struct channel *ch, int dir, uint64_t n);
void model_circuit_bytes(struct model *m, struct circuit *c, int dir, uint64_t n);
void model_monitor_update(struct circuit *c, struct channel *ch);
/* A pvAccess update whose overrun bitset says values were lost in between */
void model_monitor_overrun(struct circuit *c, struct channel *ch);
void model_monitor_add(struct circuit *c, struct channel *ch, int delta);

/* Operations counted for a channel's PV and its server */
enum model_op { OP_READ, OP_WRITE, OP_GET, OP_PUT, OP_RPC };
void model_count_op(struct circuit *c, struct channel *ch, enum model_op op);

/* stream_ops callbacks shared by the decoders (the context is the circuit) */
void model_stream_bytes(void *circuit, int dir, size_t len);
void model_stream_gap(void *circuit, int dir);

/* A put audit record with what every protocol knows filled in: time,
 * protocol, PV, client, server and (when the server returned one) status */
void model_put_start(struct put_record *r, const struct circuit *c, const struct channel *ch,
                     int32_t status, bool has_status, uint64_t ts);

/* Hostile or broken input: counted always, logged once per kind */
void model_bad_input(struct model *m, const char *what);

/* Keeps the record in the ring and as the PV's latest put (pv may be NULL) */
void model_put_record(struct model *m, struct pv *pv, const struct put_record *r);
/* The next record for a reader that has read up to sequence *seen, or NULL
 * when it has read them all; what the ring overwrote before it was read is
 * counted in health.put_records_lost */
struct put_record *model_put_next(struct model *m, uint64_t *seen);
/* A put status as text: "ok", or the error (status.c); message is the
 * server's own text when the protocol carries one (pvAccess) */
void model_status_text(char *buf, size_t size, int proto, int32_t status, const char *message);
/* "IP:PORT IP:PORT ...": the servers that answered searches for the PV
 * (at most PV_SERVERS_TRACKED, then "+N more") */
void model_pv_server_list(const struct pv *pv, char *buf, size_t size);
void model_client_strings(struct circuit *c, const char *host, size_t hlen, const char *user,
                          size_t ulen);

/* Time passes: expire searches, requests, idle objects */
void model_tick(struct model *m, uint64_t now_us);
/* End of a capture file: everything still pending is unanswered */
void model_finish(struct model *m);

bool model_known_server(struct model *m, int proto, struct netaddr addr, uint16_t port);
/* A server endpoint among the hints (known ahead, not yet in the model) */
bool model_hinted_server(struct model *m, int proto, struct netaddr addr, uint16_t port);

/* A bucket of one of an object's histograms received its first sample: the
 * bucket hook fires when no other histogram of the object had that bucket */
void model_bucket_filled(struct model *m, int kind, int proto, void *obj, int bucket);

/* A latency sample of an object (kind OBJ_*; obj NULL: the protocol's search
 * histogram). Inline: update ages take one for every monitor update. */
static inline void model_add_latency(struct model *m, int kind, int proto, void *obj,
                                     struct latency *l, uint64_t us)
{
    int first;
    int b = latency_add(l, us, &first);
    if (b >= 0 && first)
        model_bucket_filled(m, kind, proto, obj, b);
}

/* ---- latencies of exchanges and ages of updates (timing.c) ---- */

/* A reply to a request sent at sent_us, of the channel's PV and the circuit's server */
void model_op_latency(struct model *m, struct circuit *c, struct channel *ch, enum op_latency op,
                      uint64_t sent_us, uint64_t ts);
/* ECHO from the client; the server's ECHO answers the oldest pending one */
void model_echo_request(struct circuit *c, uint64_t ts);
void model_echo_reply(struct model *m, struct circuit *c, uint64_t ts);
/* An update stamped stamp_us (microseconds since 1970) seen at ts */
void model_update_age(struct model *m, struct circuit *c, struct channel *ch, int64_t stamp_us,
                      uint64_t ts);
/* How many of an object's histograms have samples in a bucket; a mask of
 * the buckets with samples in any of them */
int model_bucket_users(int kind, const void *obj, int bucket);
uint32_t model_bucket_mask(int kind, const void *obj);
void model_server_timing_free(struct server *s);
void model_pv_timing_free(struct pv *pv);

/* ---- servers identified by a GUID (pvAccess) ---- */

#define SERVER_GUID_LEN 12

/* The GUID a server announced (beacon or search reply): another GUID at the
 * same address and port is another server process, counted in restarts.
 * Returns the server (NULL when not tracked). */
struct server *model_server_guid(struct model *m, int proto, struct netaddr saddr, uint16_t sport,
                                 const uint8_t guid[SERVER_GUID_LEN]);
/* A beacon of a server known by GUID: counts it, tracks its period; the
 * sequence only tells duplicates apart (it wraps, so it says nothing of restarts) */
void model_beacon_guid(struct model *m, int proto, struct netaddr saddr, uint16_t sport,
                       const uint8_t guid[SERVER_GUID_LEN], uint32_t seq, uint64_t ts);

#endif

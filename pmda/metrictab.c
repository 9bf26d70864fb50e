/*
 * metrictab.c - the epics.* metric table (see metrics.h).
 *
 * Rows are designated initializers; the fields a group of rows shares come
 * from a small macro named after the group (SERVER_U64, PV_FIELD...).
 * Clusters are named in metrics.h (enum epics_cluster). Item numbers are
 * stable: archives depend on them.
 *
 * Naming of latency metrics: NAME.count, NAME.sum (microseconds), NAME.max,
 * NAME.histogram. Histogram instances are log2 buckets of microseconds
 * named "lo-hi" as in pmdabpf ("0-1", "2-3", "4-7", ..., "2147483648-inf");
 * per-server and per-PV histograms prefix the object: "127.0.0.1:5064::256-511",
 * "TEST:AI1::1024-2047", and list only buckets that ever received a sample.
 */
#include "metrics.h"

#include <pcp/pmda.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

pmUnits metric_units(const struct epics_metric *mt)
{
    static const pmUnits units[] = {
        [U_NONE] = PMDA_PMUNITS(0, 0, 0, 0, 0, 0),
        [U_COUNT] = PMDA_PMUNITS(0, 0, 1, 0, 0, PM_COUNT_ONE),
        [U_BYTES] = PMDA_PMUNITS(1, 0, 0, PM_SPACE_BYTE, 0, 0),
        [U_USEC] = PMDA_PMUNITS(0, 1, 0, 0, PM_TIME_USEC, 0),
        [U_SEC] = PMDA_PMUNITS(0, 1, 0, 0, PM_TIME_SEC, 0),
    };
    return units[mt->units];
}

#define CTR PM_SEM_COUNTER
#define INST PM_SEM_INSTANT
#define DISC PM_SEM_DISCRETE

/*
 * Fields that the rows of a group share, named in each row beside its own.
 * PR is the protocol's token, CA or PVA: it picks the protocol's cluster,
 * instance domain and PROTO_ number.
 */
#define HEALTH_U64(field) \
    .type = PM_TYPE_U64, .indom = INDOM_NONE, .proto = -1, .src = SRC_HEALTH, .kind = VAL_U64, \
    .offset = offsetof(struct model_health, field)
/* protocol-wide counters */
#define PROTO_U64(PR, field) \
    .cluster = CLUSTER_##PR, .type = PM_TYPE_U64, .indom = INDOM_NONE, .proto = PROTO_##PR, \
    .src = SRC_PROTO, .kind = VAL_U64, .offset = offsetof(struct proto_stats, field)
#define SERVER_U64(PR, field) \
    .cluster = CLUSTER_##PR##_SERVER, .type = PM_TYPE_U64, .indom = INDOM_##PR##_SERVER, \
    .proto = PROTO_##PR, .src = SRC_SERVER, .kind = VAL_U64, .offset = offsetof(struct server, field)
#define PV_FIELD(PR, field) \
    .cluster = CLUSTER_##PR##_PV, .indom = INDOM_##PR##_PV, .proto = PROTO_##PR, .src = SRC_PV, \
    .offset = offsetof(struct pv, field)
#define CLIENT_FIELD(PR, field) \
    .cluster = CLUSTER_##PR##_CLIENT, .indom = INDOM_##PR##_CLIENT, .proto = PROTO_##PR, \
    .src = SRC_CLIENT, .offset = offsetof(struct client, field)
/* a statistic of a server's connect latency spread (spread.h) */
#define CONNECT_SPREAD(PR, statistic) \
    .cluster = CLUSTER_##PR##_SERVER, .type = PM_TYPE_DOUBLE, .sem = INST, .units = U_USEC, \
    .indom = INDOM_##PR##_SERVER, .proto = PROTO_##PR, .src = SRC_SERVER, .kind = VAL_SPREAD, \
    .offset = offsetof(struct server, connect_spread), .stat = statistic
/* a field of the latest put of a PV */
#define LAST_PUT(PR, field) \
    .cluster = CLUSTER_##PR##_PV, .sem = INST, .indom = INDOM_##PR##_PV, .proto = PROTO_##PR, \
    .src = SRC_PV_PUT, .offset = offsetof(struct put_record, field)
/* TCP health of a server's circuits (tcphealth.h) */
#define SERVER_TCP_U64(PR, field) \
    .cluster = CLUSTER_##PR##_SERVER_TCP, .type = PM_TYPE_U64, .indom = INDOM_##PR##_SERVER, \
    .proto = PROTO_##PR, .src = SRC_SERVER_TCP, .kind = VAL_U64, \
    .offset = offsetof(struct server, tcp.field)
/* a parameter of the put audit event records (no value of its own) */
#define PUT_PARAM(PR, field) \
    .cluster = CLUSTER_##PR##_PUT, .type = PM_TYPE_STRING, .sem = INST, .units = U_NONE, \
    .indom = INDOM_NONE, .proto = PROTO_##PR, .src = SRC_PUTS, .kind = VAL_PARAM, \
    .offset = offsetof(struct put_record, field)
/* request latencies and update ages per server (that had a TCP circuit) and
 * per PV (that had a sample); their instance domains differ by metric */
#define SERVER_TIMING(PR, field) \
    .cluster = CLUSTER_##PR##_SERVER_TIMING, .proto = PROTO_##PR, .src = SRC_SERVER_TCP, \
    .offset = offsetof(struct server, field)
#define PV_TIMING(PR, field) \
    .cluster = CLUSTER_##PR##_PV_TIMING, .proto = PROTO_##PR, .src = SRC_PV_TIMING, \
    .offset = offsetof(struct pv_timing, field)
/* a PV's update ages, kept in the PV itself */
#define PV_STATS(PR, field) \
    .cluster = CLUSTER_##PR##_PV_TIMING, .proto = PROTO_##PR, .src = SRC_PV, \
    .offset = offsetof(struct pv, field)

/* Rows NAME.count, NAME.sum and NAME.max (items it to it + 2) of the samples
 * kept in a struct latency (vk VAL_LATENCY) or a struct sample_stats
 * (VAL_STATS) at field, located by WHERE (one of the group macros above),
 * with instances in ind */
#define SAMPLES(vk, NAME, WHERE, PR, field, ind, it, WHAT, DEF) \
    { .name = NAME ".count", WHERE(PR, field), .indom = ind, .item = (it), .type = PM_TYPE_U64, \
      .sem = CTR, .units = U_COUNT, .kind = vk, .stat = LSTAT_COUNT, .oneline = WHAT " samples", \
      .help = DEF }, \
    { .name = NAME ".sum", WHERE(PR, field), .indom = ind, .item = (it) + 1, .type = PM_TYPE_U64, \
      .sem = CTR, .units = U_USEC, .kind = vk, .stat = LSTAT_SUM, .oneline = "sum of " WHAT " samples", \
      .help = "Sum in microseconds of the samples. " DEF }, \
    { .name = NAME ".max", WHERE(PR, field), .indom = ind, .item = (it) + 2, .type = PM_TYPE_U64, \
      .sem = INST, .units = U_USEC, .kind = vk, .stat = LSTAT_MAX, .oneline = "largest " WHAT " sample", \
      .help = "The largest sample in microseconds. " DEF }
/* ... of a struct latency, and its histogram NAME.histogram (item it + 3,
 * instances in hind named "INSTNAME::lo-hi") */
#define TIMED_HIST(NAME, WHERE, PR, field, ind, hind, it, WHAT, DEF, INSTNAME) \
    SAMPLES(VAL_LATENCY, NAME, WHERE, PR, field, ind, it, WHAT, DEF), \
    { .name = NAME ".histogram", WHERE(PR, field), .indom = hind, .item = (it) + 3, .type = PM_TYPE_U64, \
      .sem = CTR, .units = U_COUNT, .kind = VAL_HIST, .oneline = WHAT " histogram", \
      .help = "Samples by size in log2 microsecond buckets; instances are named \"" INSTNAME "::lo-hi\"\n" \
              "and only buckets with samples have values. " DEF }

/* per server and per PV: request latencies and update ages */
#define SRV_TIMED(P, PR, nm, it, field, WHAT, DEF) \
    TIMED_HIST("epics." P ".server." nm, SERVER_TIMING, PR, field, INDOM_##PR##_SERVER, \
               INDOM_##PR##_SERVER_HIST, it, WHAT, \
               DEF "\nServers that had a TCP circuit have values (0 before a sample).", "SERVER")
#define PV_TIMED(P, PR, nm, it, field, WHAT, DEF) \
    TIMED_HIST("epics." P ".pv." nm, PV_TIMING, PR, field, INDOM_##PR##_PV, INDOM_##PR##_PV_HIST, \
               it, WHAT, DEF "\nPVs without a sample have no value.", "PV")

#define AGE_DEF(STAMPED) \
    "Age of subscription updates when they pass: capture time of the frame minus\n" \
    "the update's time stamp. " STAMPED " The first update after a\n" \
    "subscription request seen in the capture is left out (it carries the stamp of\n" \
    "an old value); negative ages (the server's clock ahead) are counted in\n" \
    "epics.*.server.update_age_negative only."
#define CA_AGE_DEF AGE_DEF("Updates of DBR_TIME_* types (14 to 20) only.")
#define PVA_AGE_DEF AGE_DEF("MONITOR updates (not INIT, not the\n" \
    "final message) whose changed fields include a top-level timeStamp\n" \
    "(secondsPastEpoch and nanoseconds).")

/* the per-server and per-PV age and negative age rows of a protocol */
#define AGE_ROWS(P, PR, NAME, DEF, sit, pit) \
    SRV_TIMED(P, PR, "update_age", sit, update_age, NAME " update age", DEF), \
    { .name = "epics." P ".server.update_age_negative", SERVER_TIMING(PR, update_age_negative), \
      .indom = INDOM_##PR##_SERVER, .item = (sit) + 4, .type = PM_TYPE_U64, .sem = CTR, \
      .units = U_COUNT, .kind = VAL_U64, .oneline = NAME " updates stamped in the future", \
      .help = "Updates whose time stamp is later than the capture time of their frame: the\n" \
              "server's clock is ahead of the capturing host's (or the stamp is wrong).\n" \
              "Counted here and in no update_age metric." }, \
    SAMPLES(VAL_STATS, "epics." P ".pv.update_age", PV_STATS, PR, update_age, INDOM_##PR##_PV, pit, \
            NAME " update age of the PV", DEF "\nPVs without a sample have no value.")

#define ECHO_DEF \
    "ECHO from the client to the server's next ECHO on the circuit, paired first in,\n" \
    "first out (the server's round trip as the client's keep-alive sees it)."
#define PROTOCOL_ROWS(P, PR, NAME) \
    { .name = "epics." P ".search.requests", PROTO_U64(PR, search_requests), .item = 0, .sem = CTR, \
      .units = U_COUNT, .oneline = NAME " search requests, one per name", \
      .help = "Search request messages for a name, retries included (each retry is counted).\n" \
              "Channel Access: one SEARCH message per name. pvAccess: one per name in a\n" \
              "SEARCH, copies forwarded by servers with an ORIGIN_TAG not counted again." }, \
    { .name = "epics." P ".search.replies", PROTO_U64(PR, search_replies), .item = 1, .sem = CTR, \
      .units = U_COUNT, .oneline = NAME " search replies", \
      .help = "Search replies from servers that found the name (every server's reply)." }, \
    { .name = "epics." P ".search.not_found", PROTO_U64(PR, search_not_found), .item = 2, .sem = CTR, \
      .units = U_COUNT, .oneline = NAME " negative search replies", \
      .help = "Replies saying a name is not served (sent only when the client asked for them)." }, \
    { .name = "epics." P ".search.unanswered", PROTO_U64(PR, search_unanswered), .item = 3, .sem = CTR, \
      .units = U_COUNT, .oneline = NAME " search transactions that no reply answered", \
      .help = "Search transactions, keyed by client address and channel id (retries of one\n" \
              "id are one transaction), that no reply answered within the search timeout\n" \
              "of their latest retry (agent option --search-timeout; by default 330 s for CA\n" \
              "and 35 s for PVA, longer than the clients' retry periods), or by the end of\n" \
              "a capture file.\n" \
              "A high rate is a search storm: clients looking for names no server has." }, \
    { .name = "epics." P ".search.late_replies", PROTO_U64(PR, search_late_replies), .item = 4, \
      .sem = CTR, .units = U_COUNT, .oneline = NAME " search replies that matched no pending search", \
      .help = "Replies for a search the agent did not see or had already expired. Replies\n" \
              "after the search timeout mean clients pause longer between retries than\n" \
              "--search-timeout allows (for CA, a large EPICS_CA_MAX_SEARCH_PERIOD)." }, \
    { .name = "epics." P ".search.latency.count", PROTO_U64(PR, search.count), .item = 5, .sem = CTR, \
      .units = U_COUNT, .oneline = NAME " answered searches", \
      .help = "Search transactions answered by a reply." }, \
    { .name = "epics." P ".search.latency.sum", PROTO_U64(PR, search.sum_us), .item = 6, .sem = CTR, \
      .units = U_USEC, .oneline = NAME " total search latency", \
      .help = "Sum over answered searches of the time from the first request to the first reply." }, \
    { .name = "epics." P ".search.latency.max", PROTO_U64(PR, search.max_us), .item = 7, .sem = INST, \
      .units = U_USEC, .oneline = NAME " longest search latency", \
      .help = "The longest time from first search request to reply." }, \
    { .name = "epics." P ".search.latency.histogram", .cluster = CLUSTER_##PR, .item = 8, \
      .type = PM_TYPE_U64, .sem = CTR, .units = U_COUNT, .indom = INDOM_##PR##_SEARCH_HIST, \
      .proto = PROTO_##PR, .src = SRC_PROTO, .kind = VAL_HIST, \
      .offset = offsetof(struct proto_stats, search), .oneline = NAME " search latency histogram", \
      .help = "Answered searches by latency (first request to first reply), in log2\n" \
              "microsecond buckets named \"lo-hi\"." }, \
    { .name = "epics." P ".messages", PROTO_U64(PR, messages), .item = 9, .sem = CTR, .units = U_COUNT, \
      .oneline = NAME " messages decoded", \
      .help = "Protocol messages decoded, UDP and TCP, both directions." }, \
    { .name = "epics." P ".unmatched_replies", PROTO_U64(PR, unmatched_replies), .item = 10, \
      .sem = CTR, .units = U_COUNT, .oneline = NAME " replies that matched no request", \
      .help = "Replies whose request id the agent did not know (request not seen, or\n" \
              "dropped because a table was full)." }, \
    { .name = "epics." P ".beacons", PROTO_U64(PR, beacons), .item = 11, .sem = CTR, .units = U_COUNT, \
      .oneline = NAME " beacons", \
      .help = "Server beacons seen (all servers)." }, \
    { .name = "epics." P ".tracked.servers", .cluster = CLUSTER_##PR, .item = 12, .type = PM_TYPE_U64, \
      .sem = INST, .units = U_COUNT, .indom = INDOM_NONE, .proto = PROTO_##PR, .src = SRC_TABLE_SIZE, \
      .kind = VAL_U64, .offset = offsetof(struct model, servers[PROTO_##PR]), \
      .oneline = NAME " servers tracked", \
      .help = "Servers in the agent's table now." }, \
    { .name = "epics." P ".tracked.pvs", .cluster = CLUSTER_##PR, .item = 13, .type = PM_TYPE_U64, \
      .sem = INST, .units = U_COUNT, .indom = INDOM_NONE, .proto = PROTO_##PR, .src = SRC_TABLE_SIZE, \
      .kind = VAL_U64, .offset = offsetof(struct model, pvs[PROTO_##PR]), .oneline = NAME " PVs tracked", \
      .help = "PVs in the agent's table now." }, \
    { .name = "epics." P ".tracked.clients", .cluster = CLUSTER_##PR, .item = 14, .type = PM_TYPE_U64, \
      .sem = INST, .units = U_COUNT, .indom = INDOM_NONE, .proto = PROTO_##PR, .src = SRC_TABLE_SIZE, \
      .kind = VAL_U64, .offset = offsetof(struct model, clients[PROTO_##PR]), \
      .oneline = NAME " clients tracked", \
      .help = "Client hosts in the agent's table now." }, \
    \
    { .name = "epics." P ".server.circuits", SERVER_U64(PR, circuits), .item = 0, .sem = INST, \
      .units = U_COUNT, .oneline = NAME " open circuits of the server", \
      .help = "TCP circuits to the server open now." }, \
    { .name = "epics." P ".server.channels", SERVER_U64(PR, channels), .item = 1, .sem = INST, \
      .units = U_COUNT, .oneline = NAME " open channels of the server", \
      .help = "Channels (successful create-channel exchanges) open now on the server's circuits." }, \
    { .name = "epics." P ".server.monitors", SERVER_U64(PR, monitors), .item = 2, .sem = INST, \
      .units = U_COUNT, .oneline = NAME " active subscriptions of the server", \
      .help = "Subscriptions (monitors) active now on the server's circuits." }, \
    { .name = "epics." P ".server.connects", SERVER_U64(PR, connects), .item = 3, .sem = CTR, \
      .units = U_COUNT, .oneline = NAME " channel connects", \
      .help = "Create-channel responses sent by the server." }, \
    { .name = "epics." P ".server.connect_fails", SERVER_U64(PR, connect_fails), .item = 4, .sem = CTR, \
      .units = U_COUNT, .oneline = NAME " failed channel creations", \
      .help = "Create-channel requests the server refused." }, \
    { .name = "epics." P ".server.connect_unanswered", SERVER_U64(PR, connect_unanswered), .item = 5, \
      .sem = CTR, .units = U_COUNT, .oneline = NAME " create-channel requests never answered", \
      .help = "Create-channel requests to the server with no response within the request\n" \
              "timeout (agent option --request-timeout, default 10 s) or by the end of a\n" \
              "capture file." }, \
    { .name = "epics." P ".server.monitor_updates", SERVER_U64(PR, monitor_updates), .item = 6, \
      .sem = CTR, .units = U_COUNT, .oneline = NAME " monitor updates sent", \
      .help = "Subscription updates sent by the server, including those of subscriptions\n" \
              "created before the agent started watching." }, \
    { .name = "epics." P ".server.errors", SERVER_U64(PR, errors), .item = 7, .sem = CTR, \
      .units = U_COUNT, .oneline = NAME " error replies", \
      .help = "Replies with an error status and error messages sent by the server." }, \
    { .name = "epics." P ".server.bytes_in", SERVER_U64(PR, bytes_in), .item = 8, .sem = CTR, \
      .units = U_BYTES, .oneline = NAME " bytes received by the server", \
      .help = "All TCP payload bytes from clients to the server on its circuits (\"in\" is\n" \
              "always towards the server, for servers, PVs and clients alike)." }, \
    { .name = "epics." P ".server.bytes_out", SERVER_U64(PR, bytes_out), .item = 9, .sem = CTR, \
      .units = U_BYTES, .oneline = NAME " bytes sent by the server", \
      .help = "All TCP payload bytes from the server to its clients on its circuits." }, \
    { .name = "epics." P ".server.beacons", SERVER_U64(PR, beacons), .item = 10, .sem = CTR, \
      .units = U_COUNT, .oneline = NAME " beacons sent by the server", \
      .help = "Beacons sent by the server (copies forwarded by a repeater are not counted)." }, \
    { .name = "epics." P ".server.restarts", SERVER_U64(PR, restarts), .item = 11, .sem = CTR, \
      .units = U_COUNT, .oneline = NAME " server restarts", \
      .help = "Restarts seen in the server's beacons: for Channel Access the beacon sequence\n" \
              "started again; for pvAccess the server's GUID changed." }, \
    { .name = "epics." P ".server.beacon_anomalies", SERVER_U64(PR, beacon_anomalies), .item = 12, \
      .sem = CTR, .units = U_COUNT, .oneline = NAME " beacon anomalies", \
      .help = "Beacon anomalies as EPICS clients detect them: a restart, or a beacon\n" \
              "period that changed by more than a quarter (a network segment coming back,\n" \
              "the fast beacons of a starting server)." }, \
    { .name = "epics." P ".server.connect_latency.count", SERVER_U64(PR, connect.count), .item = 13, \
      .sem = CTR, .units = U_COUNT, .oneline = NAME " channel connects with a known start", \
      .help = "Connects whose search or create request was seen." }, \
    { .name = "epics." P ".server.connect_latency.sum", SERVER_U64(PR, connect.sum_us), .item = 14, \
      .sem = CTR, .units = U_USEC, .oneline = NAME " total connect latency", \
      .help = "Sum of connect latencies: from the client's first search for the name (or\n" \
              "from the create request when no search was seen) to the create response." }, \
    { .name = "epics." P ".server.connect_latency.max", SERVER_U64(PR, connect.max_us), .item = 15, \
      .sem = INST, .units = U_USEC, .oneline = NAME " longest connect latency", \
      .help = "The longest connect latency seen for the server." }, \
    { .name = "epics." P ".server.connect_latency.histogram", .cluster = CLUSTER_##PR##_SERVER, \
      .item = 16, .type = PM_TYPE_U64, .sem = CTR, .units = U_COUNT, .indom = INDOM_##PR##_SERVER_HIST, \
      .proto = PROTO_##PR, .src = SRC_SERVER, .kind = VAL_HIST, \
      .offset = offsetof(struct server, connect), \
      .oneline = NAME " connect latency histogram per server", \
      .help = "Connects by latency in log2 microsecond buckets; instances are named\n" \
              "\"SERVER::lo-hi\", for example \"127.0.0.1:5064::256-511\"." }, \
    { .name = "epics." P ".server.circuits_opened", SERVER_U64(PR, circuits_total), .item = 17, \
      .sem = CTR, .units = U_COUNT, .oneline = NAME " circuits opened", \
      .help = "TCP circuits to the server that the agent started following." }, \
    { .name = "epics." P ".server.connect_latency.min", CONNECT_SPREAD(PR, SPREAD_MIN), .item = 30, \
      .oneline = NAME " shortest connect latency", \
      .help = "The shortest connect latency seen for the server." }, \
    { .name = "epics." P ".server.connect_latency.stddev", CONNECT_SPREAD(PR, SPREAD_STDDEV), \
      .item = 31, .oneline = NAME " standard deviation of connect latency", \
      .help = "Sample standard deviation of the server's connect latencies since the agent\n" \
              "started (0 after a single connect)." }, \
    { .name = "epics." P ".server.connect_latency.q1", CONNECT_SPREAD(PR, SPREAD_Q1), .item = 32, \
      .oneline = NAME " first quartile of connect latency", \
      .help = "25th percentile of the server's connect latencies, interpolated between\n" \
              "ranks. Exact up to 1024 connects per server; beyond that it is taken from a\n" \
              "uniform sample of 1024 of them." }, \
    { .name = "epics." P ".server.connect_latency.median", CONNECT_SPREAD(PR, SPREAD_MEDIAN), \
      .item = 33, .oneline = NAME " median connect latency", \
      .help = "Median of the server's connect latencies (exact up to 1024 connects, then\n" \
              "from a uniform sample of 1024)." }, \
    { .name = "epics." P ".server.connect_latency.q3", CONNECT_SPREAD(PR, SPREAD_Q3), .item = 34, \
      .oneline = NAME " third quartile of connect latency", \
      .help = "75th percentile of the server's connect latencies (exact up to 1024\n" \
              "connects, then from a uniform sample of 1024)." }, \
    { .name = "epics." P ".server.duplicate_pvs", SERVER_U64(PR, duplicate_pvs), .item = 61, \
      .sem = INST, .units = U_COUNT, \
      .oneline = NAME " PV names the server answered that another server answered too", \
      .help = "PVs tracked now whose searches this server and at least one other server\n" \
              "answered (see epics." P ".pv.servers and epics." P ".pv.server_list)." }, \
    { .name = "epics." P ".server.connect_latency.mean", CONNECT_SPREAD(PR, SPREAD_MEAN), .item = 60, \
      .oneline = NAME " mean connect latency", \
      .help = "Mean of the server's connect latencies since the agent started\n" \
              "(connect_latency.sum / connect_latency.count); no value before the first\n" \
              "connect." }, \
    \
    { .name = "epics." P ".server.tcp.handshake_latency.count", SERVER_TCP_U64(PR, handshake_count), \
      .item = 0, .sem = CTR, .units = U_COUNT, \
      .oneline = NAME " TCP handshakes completed with the server", \
      .help = "Circuits to the server whose three-way handshake was seen from the client's\n" \
              "first SYN to its ACK of the server's SYN (circuits joined later add nothing)." }, \
    { .name = "epics." P ".server.tcp.handshake_latency.sum", SERVER_TCP_U64(PR, handshake_sum_us), \
      .item = 1, .sem = CTR, .units = U_USEC, .oneline = NAME " total TCP handshake time", \
      .help = "Sum over the server's circuits of the time from the client's first SYN\n" \
              "(retransmitted SYNs included in the wait) to the client's ACK that completes\n" \
              "the three-way handshake." }, \
    { .name = "epics." P ".server.tcp.handshake_latency.max", SERVER_TCP_U64(PR, handshake_max_us), \
      .item = 2, .sem = INST, .units = U_USEC, .oneline = NAME " longest TCP handshake", \
      .help = "The longest TCP handshake (first SYN to completing ACK) of the server's circuits." }, \
    { .name = "epics." P ".server.tcp.retransmits", SERVER_TCP_U64(PR, retransmits), .item = 3, \
      .sem = CTR, .units = U_COUNT, \
      .oneline = NAME " TCP segments retransmitted on the server's circuits", \
      .help = "Segments of either direction that bring nothing new: their sequence range\n" \
              "lies wholly below the highest sequence number already reached from that side\n" \
              "(FIN included, bytes cut by the snapshot length included). Resent payload, a\n" \
              "resent segment filling a hole left by a segment lost before the capture\n" \
              "point, keep-alive and zero-window probes. Segments with SYN, FIN or RST and\n" \
              "pure ACKs do not count. A rising rate means loss on the path or an\n" \
              "overloaded host." }, \
    { .name = "epics." P ".server.tcp.client_zero_windows", SERVER_TCP_U64(PR, zero_windows[0]), \
      .item = 4, .sem = CTR, .units = U_COUNT, .oneline = NAME " zero windows advertised by clients", \
      .help = "Segments from clients on the server's circuits (not SYN, not RST) with a\n" \
              "receive window of 0: a client not reading its socket fast enough, so the\n" \
              "server must stop sending." }, \
    { .name = "epics." P ".server.tcp.server_zero_windows", SERVER_TCP_U64(PR, zero_windows[1]), \
      .item = 5, .sem = CTR, .units = U_COUNT, .oneline = NAME " zero windows advertised by the server", \
      .help = "Segments from the server (not SYN, not RST) with a receive window of 0: the\n" \
              "server not reading requests fast enough." }, \
    { .name = "epics." P ".server.tcp.resets", SERVER_TCP_U64(PR, resets), .item = 6, .sem = CTR, \
      .units = U_COUNT, .oneline = NAME " TCP resets on the server's circuits", \
      .help = "Segments with RST on the server's circuits, either direction." }, \
    \
    { .name = "epics." P ".pv.server", PV_FIELD(PR, server_name), .item = 0, .type = PM_TYPE_STRING, \
      .sem = DISC, .units = U_NONE, .kind = VAL_STRING, .oneline = NAME " server of the PV", \
      .help = "IP:PORT of the TCP listener of the server of the PV's latest channel." }, \
    { .name = "epics." P ".pv.servers", PV_FIELD(PR, nservers), .item = 1, .type = PM_TYPE_U32, \
      .sem = INST, .units = U_COUNT, .kind = VAL_U32, \
      .oneline = NAME " distinct servers that answered searches for the PV", \
      .help = "More than one is a duplicate PV: two servers claim the same name (see\n" \
              "epics." P ".pv.server_list for which)." }, \
    { .name = "epics." P ".pv.server_list", PV_FIELD(PR, server_first), .item = 60, .type = PM_TYPE_STRING, \
      .sem = DISC, .units = U_NONE, .kind = VAL_SERVER_LIST, \
      .oneline = NAME " servers that answered searches for the PV", \
      .help = "IP:PORT of every distinct server whose search reply answered the name,\n" \
              "separated by spaces, in the order first seen (the first 8, then \"+N more\").\n" \
              "Two or more is a duplicate PV; no value while no reply was seen." }, \
    { .name = "epics." P ".pv.searches", PV_FIELD(PR, searches), .item = 2, .type = PM_TYPE_U64, \
      .sem = CTR, .units = U_COUNT, .kind = VAL_U64, .oneline = NAME " search requests for the PV", \
      .help = "Search requests for the name, retries included." }, \
    { .name = "epics." P ".pv.search_unanswered", PV_FIELD(PR, search_unanswered), .item = 3, \
      .type = PM_TYPE_U64, .sem = CTR, .units = U_COUNT, .kind = VAL_U64, \
      .oneline = NAME " unanswered search transactions for the PV", \
      .help = "Search transactions for the name that no reply answered (see\n" \
              "epics." P ".search.unanswered)." }, \
    { .name = "epics." P ".pv.connects", PV_FIELD(PR, connects), .item = 4, .type = PM_TYPE_U64, \
      .sem = CTR, .units = U_COUNT, .kind = VAL_U64, .oneline = NAME " connects of the PV", \
      .help = "Create-channel responses for the PV, over all its channels." }, \
    { .name = "epics." P ".pv.connect_fails", PV_FIELD(PR, connect_fails), .item = 5, \
      .type = PM_TYPE_U64, .sem = CTR, .units = U_COUNT, .kind = VAL_U64, \
      .oneline = NAME " failed creations of the PV", \
      .help = "Create-channel requests for the PV that were refused." }, \
    { .name = "epics." P ".pv.channels", PV_FIELD(PR, channels), .item = 6, .type = PM_TYPE_U64, \
      .sem = INST, .units = U_COUNT, .kind = VAL_U64, .oneline = NAME " open channels of the PV", \
      .help = "Channels of the PV open now (all clients)." }, \
    { .name = "epics." P ".pv.monitors", PV_FIELD(PR, monitors), .item = 7, .type = PM_TYPE_U64, \
      .sem = INST, .units = U_COUNT, .kind = VAL_U64, .oneline = NAME " active subscriptions of the PV", \
      .help = "Subscriptions to the PV active now." }, \
    { .name = "epics." P ".pv.monitor_updates", PV_FIELD(PR, monitor_updates), .item = 8, \
      .type = PM_TYPE_U64, .sem = CTR, .units = U_COUNT, .kind = VAL_U64, \
      .oneline = NAME " monitor updates of the PV", \
      .help = "Subscription updates carrying data for the PV." }, \
    { .name = "epics." P ".pv.bytes_in", PV_FIELD(PR, bytes_in), .item = 9, .type = PM_TYPE_U64, \
      .sem = CTR, .units = U_BYTES, .kind = VAL_U64, .oneline = NAME " bytes of the PV to servers", \
      .help = "Header and payload bytes of the PV's messages from clients to servers." }, \
    { .name = "epics." P ".pv.bytes_out", PV_FIELD(PR, bytes_out), .item = 10, .type = PM_TYPE_U64, \
      .sem = CTR, .units = U_BYTES, .kind = VAL_U64, .oneline = NAME " bytes of the PV to clients", \
      .help = "Header and payload bytes of the PV's messages from servers to clients." }, \
    { .name = "epics." P ".pv.connect_latency.count", PV_FIELD(PR, connect.count), .item = 11, \
      .type = PM_TYPE_U64, .sem = CTR, .units = U_COUNT, .kind = VAL_U64, \
      .oneline = NAME " connects of the PV with a known start", \
      .help = "Connects whose search or create request was seen." }, \
    { .name = "epics." P ".pv.connect_latency.sum", PV_FIELD(PR, connect.sum_us), .item = 12, \
      .type = PM_TYPE_U64, .sem = CTR, .units = U_USEC, .kind = VAL_U64, \
      .oneline = NAME " total connect latency of the PV", \
      .help = "Sum of the PV's connect latencies (first search, or create request, to create response)." }, \
    { .name = "epics." P ".pv.connect_latency.max", PV_FIELD(PR, connect.max_us), .item = 13, \
      .type = PM_TYPE_U64, .sem = INST, .units = U_USEC, .kind = VAL_U64, \
      .oneline = NAME " longest connect latency of the PV", \
      .help = "The PV's longest connect latency." }, \
    { .name = "epics." P ".pv.connect_latency.last", PV_FIELD(PR, connect.last_us), .item = 14, \
      .type = PM_TYPE_U64, .sem = INST, .units = U_USEC, .kind = VAL_U64, \
      .oneline = NAME " latest connect latency of the PV", \
      .help = "The PV's most recent connect latency." }, \
    { .name = "epics." P ".pv.connect_latency.histogram", .cluster = CLUSTER_##PR##_PV, .item = 15, \
      .type = PM_TYPE_U64, .sem = CTR, .units = U_COUNT, .indom = INDOM_##PR##_PV_HIST, \
      .proto = PROTO_##PR, .src = SRC_PV, .kind = VAL_HIST, .offset = offsetof(struct pv, connect), \
      .oneline = NAME " connect latency histogram per PV", \
      .help = "The PV's connects by latency in log2 microsecond buckets; instances are named\n" \
              "\"PV::lo-hi\" and only buckets that received a sample exist." }, \
    { .name = "epics." P ".pv.last_put.time", LAST_PUT(PR, ts_us), .item = 30, .type = PM_TYPE_DOUBLE, \
      .units = U_SEC, .kind = VAL_TIME, \
      .oneline = NAME " time of the PV's latest put, seconds since the epoch", \
      .help = "When the latest write of the PV was seen: seconds since 1970-01-01 00:00 UTC\n" \
              "(the Unix epoch), with microseconds as the fraction; units \"sec\". Convert\n" \
              "with date -d @VALUE, or pandas.to_datetime(VALUE, unit=\"s\"). No value until\n" \
              "the PV is written." }, \
    { .name = "epics." P ".pv.last_put.value", LAST_PUT(PR, value), .item = 31, .type = PM_TYPE_STRING, \
      .units = U_NONE, .kind = VAL_STRING, .oneline = NAME " value of the PV's latest put", \
      .help = "The value written by the latest put, as text (arrays show their first\n" \
              "elements), as in the put audit records." }, \
    { .name = "epics." P ".pv.last_put.client", LAST_PUT(PR, client), .item = 32, \
      .type = PM_TYPE_STRING, .units = U_NONE, .kind = VAL_STRING, \
      .oneline = NAME " client of the PV's latest put", \
      .help = "IP:port of the client circuit that wrote last." }, \
    { .name = "epics." P ".pv.last_put.user", LAST_PUT(PR, user), .item = 33, .type = PM_TYPE_STRING, \
      .units = U_NONE, .kind = VAL_STRING, .oneline = NAME " user of the PV's latest put", \
      .help = "user@host the writing client announced on its circuit (Channel Access\n" \
              "CLIENT_NAME and HOST_NAME, pvAccess \"ca\" authentication); no value when it\n" \
              "announced neither." }, \
    { .name = "epics." P ".pv.last_put.status", LAST_PUT(PR, status_text), .item = 61, \
      .type = PM_TYPE_STRING, .units = U_NONE, .kind = VAL_STRING, \
      .oneline = NAME " status of the PV's latest put", \
      .help = "\"ok\", or the error the server returned for the latest put (as\n" \
              "epics." P ".put.status); no value when the protocol returned none (a Channel\n" \
              "Access WRITE without notify). Item 34 was the former numeric status." }, \
    \
    { .name = "epics." P ".client.circuits", CLIENT_FIELD(PR, circuits), .item = 0, \
      .type = PM_TYPE_U64, .sem = INST, .units = U_COUNT, .kind = VAL_U64, \
      .oneline = NAME " open circuits of the client", \
      .help = "TCP circuits from the client host open now." }, \
    { .name = "epics." P ".client.channels", CLIENT_FIELD(PR, channels), .item = 1, \
      .type = PM_TYPE_U64, .sem = INST, .units = U_COUNT, .kind = VAL_U64, \
      .oneline = NAME " open channels of the client", \
      .help = "Channels the client host has open now." }, \
    { .name = "epics." P ".client.bytes_sent", CLIENT_FIELD(PR, bytes_in), .item = 2, \
      .type = PM_TYPE_U64, .sem = CTR, .units = U_BYTES, .kind = VAL_U64, \
      .oneline = NAME " bytes sent by the client", \
      .help = "TCP payload bytes from the client host to servers (the servers' bytes_in)." }, \
    { .name = "epics." P ".client.bytes_received", CLIENT_FIELD(PR, bytes_out), .item = 3, \
      .type = PM_TYPE_U64, .sem = CTR, .units = U_BYTES, .kind = VAL_U64, \
      .oneline = NAME " bytes received by the client", \
      .help = "TCP payload bytes from servers to the client host (the servers' bytes_out)." }, \
    { .name = "epics." P ".client.searches", CLIENT_FIELD(PR, searches), .item = 60, \
      .type = PM_TYPE_U64, .sem = CTR, .units = U_COUNT, .kind = VAL_U64, \
      .oneline = NAME " search requests sent by the client", \
      .help = "Search requests for a name from the client host, retries included." }, \
    { .name = "epics." P ".client.search_unanswered", CLIENT_FIELD(PR, search_unanswered), .item = 61, \
      .type = PM_TYPE_U64, .sem = CTR, .units = U_COUNT, .kind = VAL_U64, \
      .oneline = NAME " unanswered search transactions of the client", \
      .help = "The client host's search transactions that no reply answered (see\n" \
              "epics." P ".search.unanswered): the clients behind a search storm." }, \
    { .name = "epics." P ".client.host", CLIENT_FIELD(PR, host), .item = 4, .type = PM_TYPE_STRING, \
      .sem = DISC, .units = U_NONE, .kind = VAL_STRING, .oneline = NAME " host name the client gave", \
      .help = "The host name the client announced (Channel Access HOST_NAME, pvAccess\n" \
              "\"ca\" authentication)." }, \
    { .name = "epics." P ".client.user", CLIENT_FIELD(PR, user), .item = 5, .type = PM_TYPE_STRING, \
      .sem = DISC, .units = U_NONE, .kind = VAL_STRING, .oneline = NAME " user name the client gave", \
      .help = "The user name the client announced (Channel Access CLIENT_NAME, pvAccess\n" \
              "\"ca\" authentication)." }, \
    \
    { .name = "epics." P ".put.events", .cluster = CLUSTER_##PR##_PUT, .item = 0, \
      .type = PM_TYPE_EVENT, .sem = INST, .units = U_NONE, .indom = INDOM_NONE, .proto = PROTO_##PR, \
      .src = SRC_PUTS, .kind = VAL_EVENT, .offset = 0, .oneline = NAME " put audit event records", \
      .help = "One event record per write: time, PV, value, value type, client and server\n" \
              "addresses and, when the server reported it, the status. Values are decoded\n" \
              "for scalar, string and enum types and the first elements of arrays." }, \
    { .name = "epics." P ".put.pv", PUT_PARAM(PR, pv), .item = 1, .oneline = NAME " put audit: PV name", \
      .help = "Event parameter: the PV written." }, \
    { .name = "epics." P ".put.value", PUT_PARAM(PR, value), .item = 2, \
      .oneline = NAME " put audit: value written", \
      .help = "Event parameter: the value written, as text; arrays show their first elements." }, \
    { .name = "epics." P ".put.type", PUT_PARAM(PR, type), .item = 3, \
      .oneline = NAME " put audit: value type", \
      .help = "Event parameter: the type of the value written, in pvData's names for both\n" \
              "protocols: string, short, float, double, int (32 bits), long (64 bits),\n" \
              "ubyte, enum..., with [] for arrays (Channel Access DBR_CHAR is ubyte,\n" \
              "DBR_LONG is int)." }, \
    { .name = "epics." P ".put.client", PUT_PARAM(PR, client), .item = 4, \
      .oneline = NAME " put audit: client IP:port", \
      .help = "Event parameter: the client address of the circuit that wrote." }, \
    { .name = "epics." P ".put.server", PUT_PARAM(PR, server), .item = 5, \
      .oneline = NAME " put audit: server IP:port", \
      .help = "Event parameter: the server written to." }, \
    { .name = "epics." P ".put.status", PUT_PARAM(PR, status_text), .item = 60, \
      .oneline = NAME " put audit: status", \
      .help = "Event parameter: \"ok\", or the error the server returned, for both protocols\n" \
              "(Channel Access WRITE_NOTIFY: the ECA code's name and meaning, such as\n" \
              "\"ECA_PUTFAIL: write failed\"; pvAccess: \"warning\", \"error\" or \"fatal\" and\n" \
              "the server's message). Absent when the protocol returns no status (a Channel\n" \
              "Access WRITE). Item 6 was the former numeric status." }, \
    { .name = "epics." P ".put.count", .cluster = CLUSTER_##PR##_PUT, .item = 7, .type = PM_TYPE_U64, \
      .sem = CTR, .units = U_COUNT, .indom = INDOM_NONE, .proto = PROTO_##PR, .src = SRC_PUTS, \
      .kind = VAL_U64, .offset = 0, .oneline = NAME " put audit records", \
      .help = "Put audit records produced." }, \
    { .name = "epics." P ".put.user", PUT_PARAM(PR, user), .item = 8, \
      .oneline = NAME " put audit: user@host", \
      .help = "Event parameter: user@host the writing client announced on its circuit, when\n" \
              "it announced them." }

const struct epics_metric epics_metrics[] = {
    { .name = "epics.capture.packets", HEALTH_U64(packets), .cluster = CLUSTER_CAPTURE, .item = 0,
      .sem = CTR, .units = U_COUNT, .oneline = "packets captured",
      .help = "Frames the agent received from libpcap (after the kernel filter)." },
    { .name = "epics.capture.bytes", HEALTH_U64(bytes), .cluster = CLUSTER_CAPTURE, .item = 1,
      .sem = CTR, .units = U_BYTES, .oneline = "bytes captured",
      .help = "Wire length of the frames received." },
    { .name = "epics.capture.drops", HEALTH_U64(drops), .cluster = CLUSTER_CAPTURE, .item = 2,
      .sem = CTR, .units = U_COUNT, .oneline = "packets dropped by the kernel",
      .help = "Packets the kernel dropped because the agent's capture buffer was full\n"
              "(pcap_stats ps_drop, all interfaces)." },
    { .name = "epics.capture.if_drops", HEALTH_U64(if_drops), .cluster = CLUSTER_CAPTURE, .item = 3,
      .sem = CTR, .units = U_COUNT, .oneline = "packets dropped by the interfaces",
      .help = "Packets dropped by the network interfaces or their drivers (pcap_stats ps_ifdrop)." },
    { .name = "epics.capture.decode_errors", HEALTH_U64(decode_errors), .cluster = CLUSTER_CAPTURE,
      .item = 4, .sem = CTR, .units = U_COUNT, .oneline = "malformed input",
      .help = "Malformed or hostile input: broken headers, lengths that do not fit, lost\n"
              "framing. Each kind is also logged once." },
    { .name = "epics.capture.stream_gaps", HEALTH_U64(stream_gaps), .cluster = CLUSTER_CAPTURE,
      .item = 5, .sem = CTR, .units = U_COUNT, .oneline = "TCP stream gaps",
      .help = "Places where a TCP direction lost bytes (segments missing from the capture).\n"
              "A message that lost any of its bytes is not counted; the messages after the\n"
              "gap are." },
    { .name = "epics.capture.truncated", HEALTH_U64(truncated), .cluster = CLUSTER_CAPTURE, .item = 6,
      .sem = CTR, .units = U_COUNT, .oneline = "packets cut by the snap length",
      .help = "Packets whose payload was not captured whole." },
    { .name = "epics.capture.skipped", HEALTH_U64(skipped), .cluster = CLUSTER_CAPTURE, .item = 7,
      .sem = CTR, .units = U_COUNT, .oneline = "packets skipped",
      .help = "Frames that are not IPv4 TCP or UDP (IPv6, ARP, fragments)." },
    { .name = "epics.capture.not_epics", HEALTH_U64(not_epics), .cluster = CLUSTER_CAPTURE, .item = 8,
      .sem = CTR, .units = U_COUNT, .oneline = "packets of other traffic",
      .help = "IPv4 packets that belong to no EPICS port or followed circuit." },
    { .name = "epics.capture.eof", .cluster = CLUSTER_CAPTURE, .item = 9, .type = PM_TYPE_U32,
      .sem = INST, .units = U_NONE, .indom = INDOM_NONE, .proto = -1, .src = SRC_MODEL,
      .kind = VAL_BOOL, .offset = offsetof(struct model, eof), .oneline = "capture file fully read",
      .help = "1 once a capture file given with -r has been read to its end and pending\n"
              "requests were counted as unanswered; 0 before, and always 0 when capturing live." },

    { .name = "epics.agent.circuits", HEALTH_U64(circuits), .cluster = CLUSTER_AGENT, .item = 0,
      .sem = INST, .units = U_COUNT, .oneline = "TCP circuits followed",
      .help = "TCP connections the agent follows now, both protocols." },
    { .name = "epics.agent.memory", HEALTH_U64(buffers.used), .cluster = CLUSTER_AGENT, .item = 1,
      .sem = INST, .units = U_BYTES, .oneline = "bytes held for reassembly and decoding",
      .help = "Bytes held in TCP reassembly queues, partial messages, pvAccess segmented\n"
              "messages and pvAccess type caches, over all circuits (capped by\n"
              "--max-buffer-mb)." },
    { .name = "epics.agent.evicted.servers", HEALTH_U64(evicted[OBJ_SERVER]), .cluster = CLUSTER_AGENT,
      .item = 2, .sem = CTR, .units = U_COUNT, .oneline = "servers evicted",
      .help = "Servers dropped from a full table to make room (least recently used first)." },
    { .name = "epics.agent.evicted.pvs", HEALTH_U64(evicted[OBJ_PV]), .cluster = CLUSTER_AGENT,
      .item = 3, .sem = CTR, .units = U_COUNT, .oneline = "PVs evicted",
      .help = "PVs dropped from a full table to make room (least recently used first)." },
    { .name = "epics.agent.evicted.clients", HEALTH_U64(evicted[OBJ_CLIENT]), .cluster = CLUSTER_AGENT,
      .item = 4, .sem = CTR, .units = U_COUNT, .oneline = "clients evicted",
      .help = "Clients dropped from a full table to make room (least recently used first)." },
    { .name = "epics.agent.evicted.searches", HEALTH_U64(searches_evicted), .cluster = CLUSTER_AGENT,
      .item = 5, .sem = CTR, .units = U_COUNT, .oneline = "pending searches evicted",
      .help = "Pending search transactions dropped from a full table (counted unanswered)." },
    { .name = "epics.agent.evicted.flows", HEALTH_U64(flows_evicted), .cluster = CLUSTER_AGENT,
      .item = 6, .sem = CTR, .units = U_COUNT, .oneline = "TCP circuits evicted",
      .help = "TCP connections dropped from a full table (least recently active first)." },
    { .name = "epics.agent.expired.servers", HEALTH_U64(expired[OBJ_SERVER]), .cluster = CLUSTER_AGENT,
      .item = 7, .sem = CTR, .units = U_COUNT, .oneline = "idle servers expired",
      .help = "Servers forgotten after the idle timeout (--idle-timeout, default 3600 s)." },
    { .name = "epics.agent.expired.pvs", HEALTH_U64(expired[OBJ_PV]), .cluster = CLUSTER_AGENT,
      .item = 8, .sem = CTR, .units = U_COUNT, .oneline = "idle PVs expired",
      .help = "PVs forgotten after the idle timeout." },
    { .name = "epics.agent.expired.clients", HEALTH_U64(expired[OBJ_CLIENT]), .cluster = CLUSTER_AGENT,
      .item = 9, .sem = CTR, .units = U_COUNT, .oneline = "idle clients expired",
      .help = "Clients forgotten after the idle timeout." },
    { .name = "epics.agent.untracked.servers", HEALTH_U64(untracked[OBJ_SERVER]),
      .cluster = CLUSTER_AGENT, .item = 10, .sem = CTR, .units = U_COUNT,
      .oneline = "servers not tracked",
      .help = "Servers not tracked because the table was full of servers in use." },
    { .name = "epics.agent.untracked.pvs", HEALTH_U64(untracked[OBJ_PV]), .cluster = CLUSTER_AGENT,
      .item = 11, .sem = CTR, .units = U_COUNT, .oneline = "PVs not tracked",
      .help = "PVs not tracked because the table was full of PVs in use." },
    { .name = "epics.agent.untracked.clients", HEALTH_U64(untracked[OBJ_CLIENT]),
      .cluster = CLUSTER_AGENT, .item = 12, .sem = CTR, .units = U_COUNT,
      .oneline = "clients not tracked",
      .help = "Clients not tracked because the table was full of clients in use." },
    { .name = "epics.agent.untracked.channels", HEALTH_U64(channels_untracked),
      .cluster = CLUSTER_AGENT, .item = 13, .sem = CTR, .units = U_COUNT,
      .oneline = "channels not tracked",
      .help = "Channels not tracked because their circuit or the agent reached its channel cap." },
    { .name = "epics.agent.untracked.requests", HEALTH_U64(requests_untracked),
      .cluster = CLUSTER_AGENT, .item = 14, .sem = CTR, .units = U_COUNT,
      .oneline = "requests not tracked",
      .help = "Pending requests or subscriptions not tracked because their circuit or the\n"
              "agent reached its request cap." },
    { .name = "epics.agent.untracked.flows", HEALTH_U64(flows_untracked), .cluster = CLUSTER_AGENT,
      .item = 15, .sem = CTR, .units = U_COUNT, .oneline = "TCP circuits not tracked",
      .help = "TCP connections that could not be followed (no memory)." },
    { .name = "epics.agent.memory_refused", HEALTH_U64(buffers.refused), .cluster = CLUSTER_AGENT,
      .item = 18, .sem = CTR, .units = U_COUNT, .oneline = "buffer growths refused",
      .help = "Times a buffer could not grow because all buffers together reached\n"
              "--max-buffer-mb: the segment or message is lost (a stream gap) or not decoded." },
    { .name = "epics.agent.channels", HEALTH_U64(channels), .cluster = CLUSTER_AGENT, .item = 16,
      .sem = INST, .units = U_COUNT, .oneline = "channels followed",
      .help = "Channels the agent follows now on all circuits, both protocols\n"
              "(capped by --max-channels and 100000 per circuit)." },
    { .name = "epics.agent.requests", HEALTH_U64(requests), .cluster = CLUSTER_AGENT, .item = 17,
      .sem = INST, .units = U_COUNT, .oneline = "requests followed",
      .help = "Pending requests and subscriptions the agent follows now on all circuits,\n"
              "both protocols (capped by --max-requests and 100000 per circuit)." },

    { .name = "epics.agent.ports.ca", .cluster = CLUSTER_AGENT, .item = 50, .type = PM_TYPE_STRING,
      .sem = DISC, .units = U_NONE, .indom = INDOM_NONE, .proto = PROTO_CA, .src = SRC_MODEL,
      .kind = VAL_STRING, .offset = offsetof(struct model, ports_text[PROTO_CA]),
      .oneline = "ports CA traffic is followed on",
      .help = "\"tcp P P... udp P P...\": the TCP ports of known CA servers (the default\n"
              "5064 or EPICS_CA_SERVER_PORT, --ca-ports, and ports learned from search\n"
              "replies, beacons and circuits recognised by their first bytes), then the UDP\n"
              "ports that carried CA searches, replies and beacons (datagrams are\n"
              "recognised by their content on any port). At most 64 of each; \"...\" when\n"
              "more TCP ports are followed (the capture filter then takes all TCP)." },
    { .name = "epics.agent.ports.pva", .cluster = CLUSTER_AGENT, .item = 51, .type = PM_TYPE_STRING,
      .sem = DISC, .units = U_NONE, .indom = INDOM_NONE, .proto = PROTO_PVA, .src = SRC_MODEL,
      .kind = VAL_STRING, .offset = offsetof(struct model, ports_text[PROTO_PVA]),
      .oneline = "ports pvAccess traffic is followed on",
      .help = "The same as epics.agent.ports.ca for pvAccess: TCP server ports (5075 or\n"
              "EPICS_PVA_SERVER_PORT, --pva-ports, learned ones), then the UDP ports of\n"
              "searches, responses and beacons." },

    PROTOCOL_ROWS("ca", CA, "CA"),
    { .name = "epics.ca.pv.reads", PV_FIELD(CA, reads), .item = 20, .type = PM_TYPE_U64, .sem = CTR,
      .units = U_COUNT, .kind = VAL_U64, .oneline = "CA reads of the PV",
      .help = "READ_NOTIFY (and obsolete READ) requests for the PV." },
    { .name = "epics.ca.pv.writes", PV_FIELD(CA, writes), .item = 21, .type = PM_TYPE_U64, .sem = CTR,
      .units = U_COUNT, .kind = VAL_U64, .oneline = "CA writes of the PV",
      .help = "WRITE and WRITE_NOTIFY requests for the PV." },
    { .name = "epics.ca.server.reads", SERVER_U64(CA, reads), .item = 20, .sem = CTR, .units = U_COUNT,
      .oneline = "CA reads served",
      .help = "READ_NOTIFY (and obsolete READ) requests to the server." },
    { .name = "epics.ca.server.writes", SERVER_U64(CA, writes), .item = 21, .sem = CTR,
      .units = U_COUNT, .oneline = "CA writes served",
      .help = "WRITE and WRITE_NOTIFY requests to the server." },

    SRV_TIMED("ca", CA, "read_latency", 0, op_latency[LAT_READ], "CA read latency",
              "READ_NOTIFY request to its reply (same ioid on the circuit; a reply with an\n"
              "error status counts, a CA_PROTO_ERROR does not)."),
    SRV_TIMED("ca", CA, "write_latency", 4, op_latency[LAT_WRITE], "CA write latency",
              "WRITE_NOTIFY request to its reply: the put's completion, processing of\n"
              "asynchronous records included. A plain WRITE has no reply."),
    SRV_TIMED("ca", CA, "echo_latency", 8, echo, "CA echo latency", ECHO_DEF),
    PV_TIMED("ca", CA, "read_latency", 0, op_latency[LAT_READ], "CA read latency of the PV",
             "READ_NOTIFY request to its reply (see epics.ca.server.read_latency)."),
    PV_TIMED("ca", CA, "write_latency", 4, op_latency[LAT_WRITE], "CA write latency of the PV",
             "WRITE_NOTIFY request to its reply (see epics.ca.server.write_latency)."),
    AGE_ROWS("ca", CA, "CA", CA_AGE_DEF, 12, 8),

    PROTOCOL_ROWS("pva", PVA, "PVA"),
    { .name = "epics.pva.pv.gets", PV_FIELD(PVA, gets), .item = 20, .type = PM_TYPE_U64, .sem = CTR,
      .units = U_COUNT, .kind = VAL_U64, .oneline = "PVA gets of the PV",
      .help = "GET executions for the PV (not the INIT exchange)." },
    { .name = "epics.pva.pv.puts", PV_FIELD(PVA, puts), .item = 21, .type = PM_TYPE_U64, .sem = CTR,
      .units = U_COUNT, .kind = VAL_U64, .oneline = "PVA puts of the PV",
      .help = "PUT executions carrying a new value for the PV (not INIT, not the read-back GET)." },
    { .name = "epics.pva.pv.rpcs", PV_FIELD(PVA, rpcs), .item = 22, .type = PM_TYPE_U64, .sem = CTR,
      .units = U_COUNT, .kind = VAL_U64, .oneline = "PVA RPC calls of the PV",
      .help = "RPC executions on the PV." },
    { .name = "epics.pva.server.gets", SERVER_U64(PVA, gets), .item = 20, .sem = CTR, .units = U_COUNT,
      .oneline = "PVA gets served",
      .help = "GET executions on the server." },
    { .name = "epics.pva.server.puts", SERVER_U64(PVA, puts), .item = 21, .sem = CTR, .units = U_COUNT,
      .oneline = "PVA puts served",
      .help = "PUT executions on the server." },
    { .name = "epics.pva.server.rpcs", SERVER_U64(PVA, rpcs), .item = 22, .sem = CTR, .units = U_COUNT,
      .oneline = "PVA RPC calls served",
      .help = "RPC executions on the server." },
    { .name = "epics.pva.pv.monitor_overruns", PV_FIELD(PVA, monitor_overruns), .item = 23,
      .type = PM_TYPE_U64, .sem = CTR, .units = U_COUNT, .kind = VAL_U64,
      .oneline = "PVA monitor updates of the PV that report lost values",
      .help = "MONITOR updates whose overrun bitset is not empty: the server's queue for the\n"
              "subscription was full and values changed more than once between two updates\n"
              "the client received (intermediate values were lost). Updates too large for the\n"
              "agent to read to their end are not examined." },
    { .name = "epics.pva.server.monitor_overruns", SERVER_U64(PVA, monitor_overruns), .item = 23,
      .sem = CTR, .units = U_COUNT, .oneline = "PVA monitor updates with lost values",
      .help = "MONITOR updates from the server whose overrun bitset is not empty (see\n"
              "epics.pva.pv.monitor_overruns)." },
    { .name = "epics.pva.server.monitor_acks", SERVER_U64(PVA, monitor_acks), .item = 24, .sem = CTR,
      .units = U_COUNT, .oneline = "PVA monitor pipeline acknowledgements",
      .help = "MONITOR acknowledgements from clients of pipelined subscriptions (flow\n"
              "control: each one lets the server send more updates). A pipelined\n"
              "subscription whose acknowledgements stop while updates continue to be due\n"
              "is a client that cannot keep up." },

    SRV_TIMED("pva", PVA, "get_latency", 0, op_latency[LAT_GET], "PVA get latency",
              "GET request (not INIT) to the response with the same request id."),
    SRV_TIMED("pva", PVA, "put_latency", 4, op_latency[LAT_PUT], "PVA put latency",
              "PUT request carrying a value (not INIT, not the read-back GET) to its\n"
              "response."),
    SRV_TIMED("pva", PVA, "rpc_latency", 8, op_latency[LAT_RPC], "PVA RPC latency",
              "RPC request (not INIT) to its response."),
    SRV_TIMED("pva", PVA, "echo_latency", 12, echo, "PVA echo latency",
              ECHO_DEF "\nControl and application ECHO messages share one queue."),
    PV_TIMED("pva", PVA, "get_latency", 0, op_latency[LAT_GET], "PVA get latency of the PV",
             "GET request (not INIT) to its response (see epics.pva.server.get_latency)."),
    PV_TIMED("pva", PVA, "put_latency", 4, op_latency[LAT_PUT], "PVA put latency of the PV",
             "PUT request carrying a value to its response (see epics.pva.server.put_latency)."),
    PV_TIMED("pva", PVA, "rpc_latency", 8, op_latency[LAT_RPC], "PVA RPC latency of the PV",
             "RPC request (not INIT) to its response."),
    AGE_ROWS("pva", PVA, "PVA", PVA_AGE_DEF, 16, 12),
};

const size_t epics_nmetrics = sizeof(epics_metrics) / sizeof(epics_metrics[0]);

static const struct { int kind, proto, hist; } indom_map[INDOM_COUNT] = {
    [INDOM_CA_SERVER] = { OBJ_SERVER, PROTO_CA, 0 },
    [INDOM_CA_PV] = { OBJ_PV, PROTO_CA, 0 },
    [INDOM_CA_CLIENT] = { OBJ_CLIENT, PROTO_CA, 0 },
    [INDOM_PVA_SERVER] = { OBJ_SERVER, PROTO_PVA, 0 },
    [INDOM_PVA_PV] = { OBJ_PV, PROTO_PVA, 0 },
    [INDOM_PVA_CLIENT] = { OBJ_CLIENT, PROTO_PVA, 0 },
    [INDOM_CA_SERVER_HIST] = { OBJ_SERVER, PROTO_CA, 1 },
    [INDOM_CA_PV_HIST] = { OBJ_PV, PROTO_CA, 1 },
    [INDOM_PVA_SERVER_HIST] = { OBJ_SERVER, PROTO_PVA, 1 },
    [INDOM_PVA_PV_HIST] = { OBJ_PV, PROTO_PVA, 1 },
    [INDOM_CA_SEARCH_HIST] = { -1, PROTO_CA, 1 },
    [INDOM_PVA_SEARCH_HIST] = { -1, PROTO_PVA, 1 },
};

int indom_object_kind(int indom, int *proto, int *hist)
{
    *proto = indom_map[indom].proto;
    *hist = indom_map[indom].hist;
    return indom_map[indom].kind;
}

int indom_of(int kind, int proto, int hist)
{
    for (int i = 0; i < INDOM_COUNT; i++)
        if (indom_map[i].kind == kind && indom_map[i].proto == proto && indom_map[i].hist == hist)
            return i;
    return INDOM_NONE;
}

void hist_instance_name(char *buf, size_t size, const char *obj_name, int bucket)
{
    char label[48];
    hist_label(bucket, label, sizeof(label));
    if (obj_name)
        snprintf(buf, size, "%s::%s", obj_name, label);
    else
        snprintf(buf, size, "%s", label);
}

int metric_value(const struct epics_metric *mt, struct model *m, void *obj, int bucket,
                 pmAtomValue *atom)
{
    const char *base;
    switch (mt->src) {
    case SRC_HEALTH: base = (const char *)&m->health; break;
    case SRC_MODEL: base = (const char *)m; break;
    case SRC_PROTO: base = (const char *)&m->ps[mt->proto]; break;
    case SRC_TABLE_SIZE:
        atom->ull = ((const struct table *)((const char *)m + mt->offset))->count;
        return 1;
    case SRC_PUTS:
        if (mt->kind != VAL_U64)
            return 0;           /* records come from the event queue */
        atom->ull = m->put_count[mt->proto];
        return 1;
    case SRC_SERVER_TCP:
        if (!obj)
            return PM_ERR_INST;
        if (!((const struct server *)obj)->circuits_total)
            return 0;           /* seen in beacons or searches only */
        base = obj;
        break;
    case SRC_PV_TIMING:
        if (!obj)
            return PM_ERR_INST;
        if (!((const struct pv *)obj)->timing)
            return 0;           /* no sample yet */
        base = (const char *)((const struct pv *)obj)->timing;
        break;
    case SRC_PV_PUT:
        if (!obj)
            return PM_ERR_INST;
        if (!((const struct pv *)obj)->last_put)
            return 0;           /* never written */
        base = (const char *)((const struct pv *)obj)->last_put;
        break;
    default:
        if (!obj)
            return PM_ERR_INST;
        base = obj;
        break;
    }
    const char *p = base + mt->offset;
    switch (mt->kind) {
    case VAL_U64: memcpy(&atom->ull, p, sizeof(uint64_t)); return 1;
    case VAL_U32: memcpy(&atom->ul, p, sizeof(uint32_t)); return 1;
    case VAL_BOOL: atom->ul = *(const bool *)p ? 1 : 0; return 1;
    case VAL_STRING:
        if (!*p)
            return 0;
        atom->cp = (char *)p;
        return 1;
    case VAL_SPREAD: {
        /* quartiles are sorted on demand and cached in the spread */
        struct spread *sp = (struct spread *)(uintptr_t)p;
        return spread_stat(sp, (enum spread_stat)mt->stat, &atom->d) ? 1 : 0;
    }
    case VAL_TIME: {
        uint64_t us;
        memcpy(&us, p, sizeof(us));
        atom->d = (double)us / 1e6;
        return 1;
    }
    case VAL_SERVER_LIST: {
        /* formatted at each fetch; one buffer serves the caller's copy */
        static char list[PV_SERVERS_TRACKED * (ADDR_NAME_MAX + 1) + 24];
        const struct pv *pv = obj;
        if (!pv->nservers)
            return 0;
        model_pv_server_list(pv, list, sizeof(list));
        atom->cp = list;
        return 1;
    }
    case VAL_HIST: {
        const struct latency *l = (const struct latency *)p;
        if (bucket < 0 || bucket >= HIST_BUCKETS)
            return PM_ERR_INST;
        /* an object's histograms share its bucket instances: each has values
         * only where it has samples */
        atom->ull = latency_bucket(l, bucket);
        return atom->ull ? 1 : 0;
    }
    case VAL_LATENCY: {
        const struct latency *l = (const struct latency *)p;
        if (mt->src == SRC_PV_TIMING && !l->count)
            return 0;
        atom->ull = mt->stat == LSTAT_COUNT ? l->count : mt->stat == LSTAT_SUM ? l->sum_us : l->max_us;
        return 1;
    }
    case VAL_STATS: {
        const struct sample_stats *st = (const struct sample_stats *)p;
        if (!st->count)
            return 0;
        atom->ull = mt->stat == LSTAT_COUNT ? st->count : mt->stat == LSTAT_SUM ? st->sum_us : st->max_us;
        return 1;
    }
    default:
        return 0;
    }
}

/* ---- generated files ---- */

static bool starts_with_node(const char *name, const char *node, size_t nlen)
{
    return strncmp(name, node, nlen) == 0 && name[nlen] == '.';
}

/* Print the children of node (length nlen) in table order, then recurse */
static void write_node(FILE *f, const char *node, size_t nlen)
{
    char seen[64][64];
    int nseen = 0;
    fprintf(f, "%.*s {\n", (int)nlen, node);
    for (size_t i = 0; i < epics_nmetrics; i++) {
        const struct epics_metric *mt = &epics_metrics[i];
        if (!starts_with_node(mt->name, node, nlen))
            continue;
        const char *rest = mt->name + nlen + 1;
        const char *dot = strchr(rest, '.');
        if (!dot) {
            fprintf(f, "    %-24s EPICS:%u:%u\n", rest, mt->cluster, mt->item);
            continue;
        }
        size_t clen = (size_t)(dot - rest);
        bool dup = false;
        for (int k = 0; k < nseen && !dup; k++)
            dup = strlen(seen[k]) == clen && strncmp(seen[k], rest, clen) == 0;
        if (dup || nseen == 64 || clen >= 64)
            continue;
        memcpy(seen[nseen], rest, clen);
        seen[nseen][clen] = '\0';
        nseen++;
        fprintf(f, "    %s\n", seen[nseen - 1]);
    }
    fprintf(f, "}\n\n");
    for (int k = 0; k < nseen; k++) {
        char child[512];
        snprintf(child, sizeof(child), "%.*s.%.63s", (int)(nlen < 256 ? nlen : 256), node, seen[k]);
        write_node(f, child, strlen(child));
    }
}

void metrics_write_pmns(FILE *f)
{
    fprintf(f, "/*\n * Metrics of the EPICS agent (pmdaepics). Generated by\n"
               " * \"pmdaepics --pmns\" from pmda/metrictab.c: edit the table, not this file.\n */\n\n");
    write_node(f, "epics", 5);
}

/* the histograms of one object (connect, request and echo latencies, update
 * age) share its bucket instances */
#define HIST_INDOM_HELP(OBJ) \
    "Instances \"" OBJ "::lo-hi\": log2 microsecond buckets in which any of the\n" \
    "object's histograms received a sample; each histogram metric has values\n" \
    "only for its own buckets with samples."

static const char *indom_help[INDOM_COUNT][2] = {
    [INDOM_CA_SERVER] = { "Channel Access servers", "One instance per CA server, named by its TCP listener \"IP:PORT\"." },
    [INDOM_CA_PV] = { "Channel Access PVs", "One instance per PV name seen in CA searches or channel creations.\n"
                      "Channels whose creation was not seen are counted under \"<unknown>@SERVER\"." },
    [INDOM_CA_CLIENT] = { "Channel Access client hosts", "One instance per client IP address." },
    [INDOM_PVA_SERVER] = { "pvAccess servers", "One instance per PVA server, named by its TCP listener \"IP:PORT\"." },
    [INDOM_PVA_PV] = { "pvAccess PVs", "One instance per PV name seen in PVA searches or channel creations.\n"
                       "Channels whose creation was not seen are counted under \"<unknown>@SERVER\"." },
    [INDOM_PVA_CLIENT] = { "pvAccess client hosts", "One instance per client IP address." },
    [INDOM_CA_SERVER_HIST] = { "CA latency buckets per server", HIST_INDOM_HELP("SERVER") },
    [INDOM_CA_PV_HIST] = { "CA latency buckets per PV", HIST_INDOM_HELP("PV") },
    [INDOM_PVA_SERVER_HIST] = { "PVA latency buckets per server", HIST_INDOM_HELP("SERVER") },
    [INDOM_PVA_PV_HIST] = { "PVA latency buckets per PV", HIST_INDOM_HELP("PV") },
    [INDOM_CA_SEARCH_HIST] = { "CA search latency buckets", "Instances \"lo-hi\": log2 microsecond buckets." },
    [INDOM_PVA_SEARCH_HIST] = { "PVA search latency buckets", "Instances \"lo-hi\": log2 microsecond buckets." },
};

void metrics_write_help(FILE *f)
{
    fprintf(f, "#\n# Help text of the EPICS agent (pmdaepics). Generated by\n"
               "# \"pmdaepics --help-text\" from pmda/metrictab.c: edit the table, not this file.\n#\n\n");
    for (int i = 0; i < INDOM_COUNT; i++)
        fprintf(f, "@ EPICS.%d %s\n%s\n\n", i, indom_help[i][0], indom_help[i][1]);
    for (size_t i = 0; i < epics_nmetrics; i++)
        fprintf(f, "@ %s %s\n%s\n\n", epics_metrics[i].name, epics_metrics[i].oneline,
                epics_metrics[i].help);
}

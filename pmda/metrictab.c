/*
 * metrictab.c - the epics.* metric table (see metrics.h).
 *
 * Cluster numbers: 0 capture health, 1 agent health; Channel Access uses
 * 10-17 and pvAccess 20-27 (+0 protocol-wide, +1 servers, +2 PVs,
 * +3 clients, +4 put audit, +5 request latencies and update ages per
 * server, +6 the same per PV, +7 servers' TCP health). Item numbers are
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

#define ROW(nm, cl, it, ty, se, un, ind, pr, sr, ki, off, one, hlp) \
    { nm, cl, it, ty, se, un, ind, pr, sr, ki, off, one, hlp, 0 }

/* capture and agent health */
#define HEALTH(nm, cl, it, se, field, one, hlp) \
    ROW("epics." nm, cl, it, PM_TYPE_U64, se, U_COUNT, INDOM_NONE, -1, SRC_HEALTH, VAL_U64, \
        offsetof(struct model_health, field), one, hlp)

/* protocol-wide counters */
#define PSTAT(P, pr, cl, nm, it, field, one, hlp) \
    ROW("epics." P "." nm, cl, it, PM_TYPE_U64, CTR, U_COUNT, INDOM_NONE, pr, SRC_PROTO, VAL_U64, \
        offsetof(struct proto_stats, field), one, hlp)

#define OBJ(P, pr, cl, kind, st, src, ind, nm, it, ty, se, un, vk, field, one, hlp) \
    ROW("epics." P "." kind "." nm, cl, it, ty, se, un, ind, pr, src, vk, \
        offsetof(st, field), one, hlp)

#define SRV(P, pr, nm, it, se, un, field, one, hlp) \
    OBJ(P, pr, 10 * (pr + 1) + 1, "server", struct server, SRC_SERVER, \
        pr == PROTO_CA ? INDOM_CA_SERVER : INDOM_PVA_SERVER, nm, it, PM_TYPE_U64, se, un, VAL_U64, \
        field, one, hlp)
#define PV(P, pr, nm, it, ty, se, un, vk, field, one, hlp) \
    OBJ(P, pr, 10 * (pr + 1) + 2, "pv", struct pv, SRC_PV, \
        pr == PROTO_CA ? INDOM_CA_PV : INDOM_PVA_PV, nm, it, ty, se, un, vk, field, one, hlp)
#define CLI(P, pr, nm, it, ty, se, un, vk, field, one, hlp) \
    OBJ(P, pr, 10 * (pr + 1) + 3, "client", struct client, SRC_CLIENT, \
        pr == PROTO_CA ? INDOM_CA_CLIENT : INDOM_PVA_CLIENT, nm, it, ty, se, un, vk, field, one, hlp)

/* a statistic of a server's connect latency spread (spread.h) */
#define SPREAD(P, pr, nm, it, stat, one, hlp) \
    { "epics." P ".server.connect_latency." nm, 10 * (pr + 1) + 1, it, PM_TYPE_DOUBLE, INST, U_USEC, \
      pr == PROTO_CA ? INDOM_CA_SERVER : INDOM_PVA_SERVER, pr, SRC_SERVER, VAL_SPREAD, \
      offsetof(struct server, connect_spread), one, hlp, stat }

/* a field of the latest put of a PV */
#define LASTPUT(P, pr, nm, it, ty, un, vk, field, one, hlp) \
    ROW("epics." P ".pv.last_put." nm, 10 * (pr + 1) + 2, it, ty, INST, un, \
        pr == PROTO_CA ? INDOM_CA_PV : INDOM_PVA_PV, pr, SRC_PV_PUT, vk, \
        offsetof(struct put_record, field), one, hlp)

/* count, sum and max of samples kept in a struct latency (vk VAL_LATENCY)
 * or a struct sample_stats (VAL_STATS) */
#define SAMPLES(vk, P, pr, cl, kind, src, st, ind, nm, it, field, WHAT, DEF) \
    { "epics." P "." kind "." nm ".count", cl, it, PM_TYPE_U64, CTR, U_COUNT, ind, pr, src, \
      vk, offsetof(st, field), WHAT " samples", DEF, LSTAT_COUNT }, \
    { "epics." P "." kind "." nm ".sum", cl, (it) + 1, PM_TYPE_U64, CTR, U_USEC, ind, pr, src, \
      vk, offsetof(st, field), "sum of " WHAT " samples", \
      "Sum in microseconds of the samples. " DEF, LSTAT_SUM }, \
    { "epics." P "." kind "." nm ".max", cl, (it) + 2, PM_TYPE_U64, INST, U_USEC, ind, pr, src, \
      vk, offsetof(st, field), "largest " WHAT " sample", \
      "The largest sample in microseconds. " DEF, LSTAT_MAX }
#define TIMED(...) SAMPLES(VAL_LATENCY, __VA_ARGS__)
#define STATS(...) SAMPLES(VAL_STATS, __VA_ARGS__)
/* ... and its histogram (one more item) */
#define TIMED_HIST(P, pr, cl, kind, src, st, ind, hind, nm, it, field, WHAT, DEF, INSTNAME) \
    TIMED(P, pr, cl, kind, src, st, ind, nm, it, field, WHAT, DEF), \
    { "epics." P "." kind "." nm ".histogram", cl, (it) + 3, PM_TYPE_U64, CTR, U_COUNT, hind, pr, \
      src, VAL_HIST, offsetof(st, field), WHAT " histogram", \
      "Samples by size in log2 microsecond buckets; instances are named \"" INSTNAME "::lo-hi\"\n" \
      "and only buckets with samples have values. " DEF, 0 }

/* per server (cluster +5) and per PV (cluster +6): latencies and update ages */
#define SRV_TIMED(P, pr, nm, it, field, WHAT, DEF) \
    TIMED_HIST(P, pr, 10 * (pr + 1) + 5, "server", SRC_SERVER_TCP, struct server, \
               pr == PROTO_CA ? INDOM_CA_SERVER : INDOM_PVA_SERVER, \
               pr == PROTO_CA ? INDOM_CA_SERVER_HIST : INDOM_PVA_SERVER_HIST, nm, it, field, WHAT, \
               DEF "\nServers that had a TCP circuit have values (0 before a sample).", "SERVER")
#define PV_TIMED(P, pr, nm, it, field, WHAT, DEF) \
    TIMED_HIST(P, pr, 10 * (pr + 1) + 6, "pv", SRC_PV_TIMING, struct pv_timing, \
               pr == PROTO_CA ? INDOM_CA_PV : INDOM_PVA_PV, \
               pr == PROTO_CA ? INDOM_CA_PV_HIST : INDOM_PVA_PV_HIST, nm, it, field, WHAT, \
               DEF "\nPVs without a sample have no value.", "PV")

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
#define AGE_ROWS(P, pr, NAME, DEF, sit, pit) \
    SRV_TIMED(P, pr, "update_age", sit, update_age, NAME " update age", DEF), \
    ROW("epics." P ".server.update_age_negative", 10 * (pr + 1) + 5, (sit) + 4, PM_TYPE_U64, CTR, \
        U_COUNT, pr == PROTO_CA ? INDOM_CA_SERVER : INDOM_PVA_SERVER, pr, SRC_SERVER_TCP, VAL_U64, \
        offsetof(struct server, update_age_negative), NAME " updates stamped in the future", \
        "Updates whose time stamp is later than the capture time of their frame: the\n" \
        "server's clock is ahead of the capturing host's (or the stamp is wrong).\n" \
        "Counted here and in no update_age metric."), \
    STATS(P, pr, 10 * (pr + 1) + 6, "pv", SRC_PV, struct pv, \
          pr == PROTO_CA ? INDOM_CA_PV : INDOM_PVA_PV, "update_age", pit, update_age, \
          NAME " update age of the PV", DEF "\nPVs without a sample have no value.")

#define ECHO_DEF \
    "ECHO from the client to the server's next ECHO on the circuit, paired first in,\n" \
    "first out (the server's round trip as the client's keep-alive sees it)."
/* TCP health of a server's circuits (tcphealth.h) */
#define TCPH(P, pr, nm, it, se, un, field, one, hlp) \
    OBJ(P, pr, 10 * (pr + 1) + 7, "server.tcp", struct server, SRC_SERVER_TCP, \
        pr == PROTO_CA ? INDOM_CA_SERVER : INDOM_PVA_SERVER, nm, it, PM_TYPE_U64, se, un, VAL_U64, \
        tcp.field, one, hlp)

#define LAT(st, f, sub) (offsetof(st, f) + offsetof(struct latency, sub))

#define PROTOCOL_ROWS(P, pr, NAME) \
    PSTAT(P, pr, 10 * (pr + 1), "search.requests", 0, search_requests, \
          NAME " search requests, one per name", \
          "Search request messages for a name, retries included (each retry is counted).\n" \
          "Channel Access: one SEARCH message per name. pvAccess: one per name in a\n" \
          "SEARCH, copies forwarded by servers with an ORIGIN_TAG not counted again."), \
    PSTAT(P, pr, 10 * (pr + 1), "search.replies", 1, search_replies, \
          NAME " search replies", \
          "Search replies from servers that found the name (every server's reply)."), \
    PSTAT(P, pr, 10 * (pr + 1), "search.not_found", 2, search_not_found, \
          NAME " negative search replies", \
          "Replies saying a name is not served (sent only when the client asked for them)."), \
    PSTAT(P, pr, 10 * (pr + 1), "search.unanswered", 3, search_unanswered, \
          NAME " search transactions that no reply answered", \
          "Search transactions, keyed by client address and channel id (retries of one\n" \
          "id are one transaction), that no reply answered within the search timeout\n" \
          "of their latest retry (agent option --search-timeout; by default 330 s for CA\n" \
          "and 35 s for PVA, longer than the clients' retry periods), or by the end of\n" \
          "a capture file.\n" \
          "A high rate is a search storm: clients looking for names no server has."), \
    PSTAT(P, pr, 10 * (pr + 1), "search.late_replies", 4, search_late_replies, \
          NAME " search replies that matched no pending search", \
          "Replies for a search the agent did not see or had already expired. Replies\n" \
          "after the search timeout mean clients pause longer between retries than\n" \
          "--search-timeout allows (for CA, a large EPICS_CA_MAX_SEARCH_PERIOD)."), \
    ROW("epics." P ".search.latency.count", 10 * (pr + 1), 5, PM_TYPE_U64, CTR, U_COUNT, INDOM_NONE, \
        pr, SRC_PROTO, VAL_U64, LAT(struct proto_stats, search, count), \
        NAME " answered searches", "Search transactions answered by a reply."), \
    ROW("epics." P ".search.latency.sum", 10 * (pr + 1), 6, PM_TYPE_U64, CTR, U_USEC, INDOM_NONE, \
        pr, SRC_PROTO, VAL_U64, LAT(struct proto_stats, search, sum_us), \
        NAME " total search latency", \
        "Sum over answered searches of the time from the first request to the first reply."), \
    ROW("epics." P ".search.latency.max", 10 * (pr + 1), 7, PM_TYPE_U64, INST, U_USEC, INDOM_NONE, \
        pr, SRC_PROTO, VAL_U64, LAT(struct proto_stats, search, max_us), \
        NAME " longest search latency", "The longest time from first search request to reply."), \
    ROW("epics." P ".search.latency.histogram", 10 * (pr + 1), 8, PM_TYPE_U64, CTR, U_COUNT, \
        pr == PROTO_CA ? INDOM_CA_SEARCH_HIST : INDOM_PVA_SEARCH_HIST, pr, SRC_PROTO, VAL_HIST, \
        offsetof(struct proto_stats, search), NAME " search latency histogram", \
        "Answered searches by latency (first request to first reply), in log2\n" \
        "microsecond buckets named \"lo-hi\"."), \
    PSTAT(P, pr, 10 * (pr + 1), "messages", 9, messages, NAME " messages decoded", \
          "Protocol messages decoded, UDP and TCP, both directions."), \
    PSTAT(P, pr, 10 * (pr + 1), "unmatched_replies", 10, unmatched_replies, \
          NAME " replies that matched no request", \
          "Replies whose request id the agent did not know (request not seen, or\n" \
          "dropped because a table was full)."), \
    PSTAT(P, pr, 10 * (pr + 1), "beacons", 11, beacons, NAME " beacons", \
          "Server beacons seen (all servers)."), \
    ROW("epics." P ".tracked.servers", 10 * (pr + 1), 12, PM_TYPE_U64, INST, U_COUNT, INDOM_NONE, \
        pr, SRC_TABLE_SIZE, VAL_U64, offsetof(struct model, servers[pr]), \
        NAME " servers tracked", "Servers in the agent's table now."), \
    ROW("epics." P ".tracked.pvs", 10 * (pr + 1), 13, PM_TYPE_U64, INST, U_COUNT, INDOM_NONE, \
        pr, SRC_TABLE_SIZE, VAL_U64, offsetof(struct model, pvs[pr]), \
        NAME " PVs tracked", "PVs in the agent's table now."), \
    ROW("epics." P ".tracked.clients", 10 * (pr + 1), 14, PM_TYPE_U64, INST, U_COUNT, INDOM_NONE, \
        pr, SRC_TABLE_SIZE, VAL_U64, offsetof(struct model, clients[pr]), \
        NAME " clients tracked", "Client hosts in the agent's table now."), \
    \
    SRV(P, pr, "circuits", 0, INST, U_COUNT, circuits, NAME " open circuits of the server", \
        "TCP circuits to the server open now."), \
    SRV(P, pr, "channels", 1, INST, U_COUNT, channels, NAME " open channels of the server", \
        "Channels (successful create-channel exchanges) open now on the server's circuits."), \
    SRV(P, pr, "monitors", 2, INST, U_COUNT, monitors, NAME " active subscriptions of the server", \
        "Subscriptions (monitors) active now on the server's circuits."), \
    SRV(P, pr, "connects", 3, CTR, U_COUNT, connects, NAME " channel connects", \
        "Create-channel responses sent by the server."), \
    SRV(P, pr, "connect_fails", 4, CTR, U_COUNT, connect_fails, NAME " failed channel creations", \
        "Create-channel requests the server refused."), \
    SRV(P, pr, "connect_unanswered", 5, CTR, U_COUNT, connect_unanswered, \
        NAME " create-channel requests never answered", \
        "Create-channel requests to the server with no response within the request\n" \
        "timeout (agent option --request-timeout, default 10 s) or by the end of a\n" \
        "capture file."), \
    SRV(P, pr, "monitor_updates", 6, CTR, U_COUNT, monitor_updates, NAME " monitor updates sent", \
        "Subscription updates sent by the server, including those of subscriptions\n" \
        "created before the agent started watching."), \
    SRV(P, pr, "errors", 7, CTR, U_COUNT, errors, NAME " error replies", \
        "Replies with an error status and error messages sent by the server."), \
    SRV(P, pr, "bytes_in", 8, CTR, U_BYTES, bytes_in, NAME " bytes received by the server", \
        "All TCP payload bytes from clients to the server on its circuits (\"in\" is\n" \
        "always towards the server, for servers, PVs and clients alike)."), \
    SRV(P, pr, "bytes_out", 9, CTR, U_BYTES, bytes_out, NAME " bytes sent by the server", \
        "All TCP payload bytes from the server to its clients on its circuits."), \
    SRV(P, pr, "beacons", 10, CTR, U_COUNT, beacons, NAME " beacons sent by the server", \
        "Beacons sent by the server (copies forwarded by a repeater are not counted)."), \
    SRV(P, pr, "restarts", 11, CTR, U_COUNT, restarts, NAME " server restarts", \
        "Restarts seen in the server's beacons: for Channel Access the beacon sequence\n" \
        "started again; for pvAccess the server's GUID changed."), \
    SRV(P, pr, "beacon_anomalies", 12, CTR, U_COUNT, beacon_anomalies, NAME " beacon anomalies", \
        "Beacon anomalies as EPICS clients detect them: a restart, or a beacon\n" \
        "period that changed by more than a quarter (a network segment coming back,\n" \
        "the fast beacons of a starting server)."), \
    SRV(P, pr, "connect_latency.count", 13, CTR, U_COUNT, connect.count, \
        NAME " channel connects with a known start", \
        "Connects whose search or create request was seen."), \
    SRV(P, pr, "connect_latency.sum", 14, CTR, U_USEC, connect.sum_us, NAME " total connect latency", \
        "Sum of connect latencies: from the client's first search for the name (or\n" \
        "from the create request when no search was seen) to the create response."), \
    SRV(P, pr, "connect_latency.max", 15, INST, U_USEC, connect.max_us, NAME " longest connect latency", \
        "The longest connect latency seen for the server."), \
    OBJ(P, pr, 10 * (pr + 1) + 1, "server", struct server, SRC_SERVER, \
        pr == PROTO_CA ? INDOM_CA_SERVER_HIST : INDOM_PVA_SERVER_HIST, "connect_latency.histogram", 16, \
        PM_TYPE_U64, CTR, U_COUNT, VAL_HIST, connect, NAME " connect latency histogram per server", \
        "Connects by latency in log2 microsecond buckets; instances are named\n" \
        "\"SERVER::lo-hi\", for example \"127.0.0.1:5064::256-511\"."), \
    SRV(P, pr, "circuits_opened", 17, CTR, U_COUNT, circuits_total, NAME " circuits opened", \
        "TCP circuits to the server that the agent started following."), \
    SPREAD(P, pr, "min", 30, SPREAD_MIN, NAME " shortest connect latency", \
           "The shortest connect latency seen for the server."), \
    SPREAD(P, pr, "stddev", 31, SPREAD_STDDEV, NAME " standard deviation of connect latency", \
           "Sample standard deviation of the server's connect latencies since the agent\n" \
           "started (0 after a single connect)."), \
    SPREAD(P, pr, "q1", 32, SPREAD_Q1, NAME " first quartile of connect latency", \
           "25th percentile of the server's connect latencies, interpolated between\n" \
           "ranks. Exact up to 1024 connects per server; beyond that it is taken from a\n" \
           "uniform sample of 1024 of them."), \
    SPREAD(P, pr, "median", 33, SPREAD_MEDIAN, NAME " median connect latency", \
           "Median of the server's connect latencies (exact up to 1024 connects, then\n" \
           "from a uniform sample of 1024)."), \
    SPREAD(P, pr, "q3", 34, SPREAD_Q3, NAME " third quartile of connect latency", \
           "75th percentile of the server's connect latencies (exact up to 1024\n" \
           "connects, then from a uniform sample of 1024)."), \
    SRV(P, pr, "duplicate_pvs", 61, INST, U_COUNT, duplicate_pvs, \
        NAME " PV names the server answered that another server answered too", \
        "PVs tracked now whose searches this server and at least one other server\n" \
        "answered (see epics." P ".pv.servers and epics." P ".pv.server_list)."), \
    SPREAD(P, pr, "mean", 60, SPREAD_MEAN, NAME " mean connect latency", \
           "Mean of the server's connect latencies since the agent started\n" \
           "(connect_latency.sum / connect_latency.count); no value before the first\n" \
           "connect."), \
    \
    TCPH(P, pr, "handshake_latency.count", 0, CTR, U_COUNT, handshake_count, \
         NAME " TCP handshakes completed with the server", \
         "Circuits to the server whose three-way handshake was seen from the client's\n" \
         "first SYN to its ACK of the server's SYN (circuits joined later add nothing)."), \
    TCPH(P, pr, "handshake_latency.sum", 1, CTR, U_USEC, handshake_sum_us, \
         NAME " total TCP handshake time", \
         "Sum over the server's circuits of the time from the client's first SYN\n" \
         "(retransmitted SYNs included in the wait) to the client's ACK that completes\n" \
         "the three-way handshake."), \
    TCPH(P, pr, "handshake_latency.max", 2, INST, U_USEC, handshake_max_us, \
         NAME " longest TCP handshake", \
         "The longest TCP handshake (first SYN to completing ACK) of the server's circuits."), \
    TCPH(P, pr, "retransmits", 3, CTR, U_COUNT, retransmits, \
         NAME " TCP segments retransmitted on the server's circuits", \
         "Segments of either direction that bring nothing new: their sequence range\n" \
         "lies wholly below the highest sequence number already reached from that side\n" \
         "(FIN included, bytes cut by the snapshot length included). Resent payload, a\n" \
         "resent segment filling a hole left by a segment lost before the capture\n" \
         "point, keep-alive and zero-window probes. Segments with SYN, FIN or RST and\n" \
         "pure ACKs do not count. A rising rate means loss on the path or an\n" \
         "overloaded host."), \
    TCPH(P, pr, "client_zero_windows", 4, CTR, U_COUNT, zero_windows[0], \
         NAME " zero windows advertised by clients", \
         "Segments from clients on the server's circuits (not SYN, not RST) with a\n" \
         "receive window of 0: a client not reading its socket fast enough, so the\n" \
         "server must stop sending."), \
    TCPH(P, pr, "server_zero_windows", 5, CTR, U_COUNT, zero_windows[1], \
         NAME " zero windows advertised by the server", \
         "Segments from the server (not SYN, not RST) with a receive window of 0: the\n" \
         "server not reading requests fast enough."), \
    TCPH(P, pr, "resets", 6, CTR, U_COUNT, resets, NAME " TCP resets on the server's circuits", \
         "Segments with RST on the server's circuits, either direction."), \
    \
    PV(P, pr, "server", 0, PM_TYPE_STRING, DISC, U_NONE, VAL_STRING, server_name, \
       NAME " server of the PV", "IP:PORT of the TCP listener of the server of the PV's latest channel."), \
    PV(P, pr, "servers", 1, PM_TYPE_U32, INST, U_COUNT, VAL_U32, nservers, \
       NAME " distinct servers that answered searches for the PV", \
       "More than one is a duplicate PV: two servers claim the same name (see\n" \
       "epics." P ".pv.server_list for which)."), \
    PV(P, pr, "server_list", 60, PM_TYPE_STRING, DISC, U_NONE, VAL_SERVER_LIST, server_first, \
       NAME " servers that answered searches for the PV", \
       "IP:PORT of every distinct server whose search reply answered the name,\n" \
       "separated by spaces, in the order first seen (the first 8, then \"+N more\").\n" \
       "Two or more is a duplicate PV; no value while no reply was seen."), \
    PV(P, pr, "searches", 2, PM_TYPE_U64, CTR, U_COUNT, VAL_U64, searches, NAME " search requests for the PV", \
       "Search requests for the name, retries included."), \
    PV(P, pr, "search_unanswered", 3, PM_TYPE_U64, CTR, U_COUNT, VAL_U64, search_unanswered, \
       NAME " unanswered search transactions for the PV", \
       "Search transactions for the name that no reply answered (see\n" \
       "epics." P ".search.unanswered)."), \
    PV(P, pr, "connects", 4, PM_TYPE_U64, CTR, U_COUNT, VAL_U64, connects, NAME " connects of the PV", \
       "Create-channel responses for the PV, over all its channels."), \
    PV(P, pr, "connect_fails", 5, PM_TYPE_U64, CTR, U_COUNT, VAL_U64, connect_fails, \
       NAME " failed creations of the PV", "Create-channel requests for the PV that were refused."), \
    PV(P, pr, "channels", 6, PM_TYPE_U64, INST, U_COUNT, VAL_U64, channels, NAME " open channels of the PV", \
       "Channels of the PV open now (all clients)."), \
    PV(P, pr, "monitors", 7, PM_TYPE_U64, INST, U_COUNT, VAL_U64, monitors, \
       NAME " active subscriptions of the PV", "Subscriptions to the PV active now."), \
    PV(P, pr, "monitor_updates", 8, PM_TYPE_U64, CTR, U_COUNT, VAL_U64, monitor_updates, \
       NAME " monitor updates of the PV", "Subscription updates carrying data for the PV."), \
    PV(P, pr, "bytes_in", 9, PM_TYPE_U64, CTR, U_BYTES, VAL_U64, bytes_in, NAME " bytes of the PV to servers", \
       "Header and payload bytes of the PV's messages from clients to servers."), \
    PV(P, pr, "bytes_out", 10, PM_TYPE_U64, CTR, U_BYTES, VAL_U64, bytes_out, \
       NAME " bytes of the PV to clients", \
       "Header and payload bytes of the PV's messages from servers to clients."), \
    PV(P, pr, "connect_latency.count", 11, PM_TYPE_U64, CTR, U_COUNT, VAL_U64, connect.count, \
       NAME " connects of the PV with a known start", "Connects whose search or create request was seen."), \
    PV(P, pr, "connect_latency.sum", 12, PM_TYPE_U64, CTR, U_USEC, VAL_U64, connect.sum_us, \
       NAME " total connect latency of the PV", \
       "Sum of the PV's connect latencies (first search, or create request, to create response)."), \
    PV(P, pr, "connect_latency.max", 13, PM_TYPE_U64, INST, U_USEC, VAL_U64, connect.max_us, \
       NAME " longest connect latency of the PV", "The PV's longest connect latency."), \
    PV(P, pr, "connect_latency.last", 14, PM_TYPE_U64, INST, U_USEC, VAL_U64, connect.last_us, \
       NAME " latest connect latency of the PV", "The PV's most recent connect latency."), \
    OBJ(P, pr, 10 * (pr + 1) + 2, "pv", struct pv, SRC_PV, \
        pr == PROTO_CA ? INDOM_CA_PV_HIST : INDOM_PVA_PV_HIST, "connect_latency.histogram", 15, \
        PM_TYPE_U64, CTR, U_COUNT, VAL_HIST, connect, NAME " connect latency histogram per PV", \
        "The PV's connects by latency in log2 microsecond buckets; instances are named\n" \
        "\"PV::lo-hi\" and only buckets that received a sample exist."), \
    LASTPUT(P, pr, "time", 30, PM_TYPE_DOUBLE, U_SEC, VAL_TIME, ts_us, \
            NAME " time of the PV's latest put, seconds since the epoch", \
            "When the latest write of the PV was seen: seconds since 1970-01-01 00:00 UTC\n" \
            "(the Unix epoch), with microseconds as the fraction; units \"sec\". Convert\n" \
            "with date -d @VALUE, or pandas.to_datetime(VALUE, unit=\"s\"). No value until\n" \
            "the PV is written."), \
    LASTPUT(P, pr, "value", 31, PM_TYPE_STRING, U_NONE, VAL_STRING, value, NAME " value of the PV's latest put", \
            "The value written by the latest put, as text (arrays show their first\n" \
            "elements), as in the put audit records."), \
    LASTPUT(P, pr, "client", 32, PM_TYPE_STRING, U_NONE, VAL_STRING, client, \
            NAME " client of the PV's latest put", "IP:port of the client circuit that wrote last."), \
    LASTPUT(P, pr, "user", 33, PM_TYPE_STRING, U_NONE, VAL_STRING, user, \
            NAME " user of the PV's latest put", \
            "user@host the writing client announced on its circuit (Channel Access\n" \
            "CLIENT_NAME and HOST_NAME, pvAccess \"ca\" authentication); no value when it\n" \
            "announced neither."), \
    LASTPUT(P, pr, "status", 61, PM_TYPE_STRING, U_NONE, VAL_STRING, status_text, \
            NAME " status of the PV's latest put", \
            "\"ok\", or the error the server returned for the latest put (as\n" \
            "epics." P ".put.status); no value when the protocol returned none (a Channel\n" \
            "Access WRITE without notify). Item 34 was the former numeric status."), \
    \
    CLI(P, pr, "circuits", 0, PM_TYPE_U64, INST, U_COUNT, VAL_U64, circuits, NAME " open circuits of the client", \
        "TCP circuits from the client host open now."), \
    CLI(P, pr, "channels", 1, PM_TYPE_U64, INST, U_COUNT, VAL_U64, channels, NAME " open channels of the client", \
        "Channels the client host has open now."), \
    CLI(P, pr, "bytes_sent", 2, PM_TYPE_U64, CTR, U_BYTES, VAL_U64, bytes_in, NAME " bytes sent by the client", \
        "TCP payload bytes from the client host to servers (the servers' bytes_in)."), \
    CLI(P, pr, "bytes_received", 3, PM_TYPE_U64, CTR, U_BYTES, VAL_U64, bytes_out, \
        NAME " bytes received by the client", \
        "TCP payload bytes from servers to the client host (the servers' bytes_out)."), \
    CLI(P, pr, "searches", 60, PM_TYPE_U64, CTR, U_COUNT, VAL_U64, searches, \
        NAME " search requests sent by the client", \
        "Search requests for a name from the client host, retries included."), \
    CLI(P, pr, "search_unanswered", 61, PM_TYPE_U64, CTR, U_COUNT, VAL_U64, search_unanswered, \
        NAME " unanswered search transactions of the client", \
        "The client host's search transactions that no reply answered (see\n" \
        "epics." P ".search.unanswered): the clients behind a search storm."), \
    CLI(P, pr, "host", 4, PM_TYPE_STRING, DISC, U_NONE, VAL_STRING, host, NAME " host name the client gave", \
        "The host name the client announced (Channel Access HOST_NAME, pvAccess\n" \
        "\"ca\" authentication)."), \
    CLI(P, pr, "user", 5, PM_TYPE_STRING, DISC, U_NONE, VAL_STRING, user, NAME " user name the client gave", \
        "The user name the client announced (Channel Access CLIENT_NAME, pvAccess\n" \
        "\"ca\" authentication)."), \
    \
    ROW("epics." P ".put.events", 10 * (pr + 1) + 4, 0, PM_TYPE_EVENT, INST, U_NONE, INDOM_NONE, pr, \
        SRC_PUTS, VAL_EVENT, 0, NAME " put audit event records", \
        "One event record per write: time, PV, value, value type, client and server\n" \
        "addresses and, when the server reported it, the status. Values are decoded\n" \
        "for scalar, string and enum types and the first elements of arrays."), \
    ROW("epics." P ".put.pv", 10 * (pr + 1) + 4, 1, PM_TYPE_STRING, INST, U_NONE, INDOM_NONE, pr, \
        SRC_PUTS, VAL_PARAM, offsetof(struct put_record, pv), NAME " put audit: PV name", \
        "Event parameter: the PV written."), \
    ROW("epics." P ".put.value", 10 * (pr + 1) + 4, 2, PM_TYPE_STRING, INST, U_NONE, INDOM_NONE, pr, \
        SRC_PUTS, VAL_PARAM, offsetof(struct put_record, value), NAME " put audit: value written", \
        "Event parameter: the value written, as text; arrays show their first elements."), \
    ROW("epics." P ".put.type", 10 * (pr + 1) + 4, 3, PM_TYPE_STRING, INST, U_NONE, INDOM_NONE, pr, \
        SRC_PUTS, VAL_PARAM, offsetof(struct put_record, type), NAME " put audit: value type", \
        "Event parameter: the type of the value written, in pvData's names for both\n" \
        "protocols: string, short, float, double, int (32 bits), long (64 bits),\n" \
        "ubyte, enum..., with [] for arrays (Channel Access DBR_CHAR is ubyte,\n" \
        "DBR_LONG is int)."), \
    ROW("epics." P ".put.client", 10 * (pr + 1) + 4, 4, PM_TYPE_STRING, INST, U_NONE, INDOM_NONE, pr, \
        SRC_PUTS, VAL_PARAM, offsetof(struct put_record, client), NAME " put audit: client IP:port", \
        "Event parameter: the client address of the circuit that wrote."), \
    ROW("epics." P ".put.server", 10 * (pr + 1) + 4, 5, PM_TYPE_STRING, INST, U_NONE, INDOM_NONE, pr, \
        SRC_PUTS, VAL_PARAM, offsetof(struct put_record, server), NAME " put audit: server IP:port", \
        "Event parameter: the server written to."), \
    ROW("epics." P ".put.status", 10 * (pr + 1) + 4, 60, PM_TYPE_STRING, INST, U_NONE, INDOM_NONE, pr, \
        SRC_PUTS, VAL_PARAM, offsetof(struct put_record, status_text), NAME " put audit: status", \
        "Event parameter: \"ok\", or the error the server returned, for both protocols\n" \
        "(Channel Access WRITE_NOTIFY: the ECA code's name and meaning, such as\n" \
        "\"ECA_PUTFAIL: write failed\"; pvAccess: \"warning\", \"error\" or \"fatal\" and\n" \
        "the server's message). Absent when the protocol returns no status (a Channel\n" \
        "Access WRITE). Item 6 was the former numeric status."), \
    ROW("epics." P ".put.count", 10 * (pr + 1) + 4, 7, PM_TYPE_U64, CTR, U_COUNT, INDOM_NONE, pr, \
        SRC_PUTS, VAL_U64, 0, NAME " put audit records", "Put audit records produced."), \
    ROW("epics." P ".put.user", 10 * (pr + 1) + 4, 8, PM_TYPE_STRING, INST, U_NONE, INDOM_NONE, pr, \
        SRC_PUTS, VAL_PARAM, offsetof(struct put_record, user), NAME " put audit: user@host", \
        "Event parameter: user@host the writing client announced on its circuit, when\n" \
        "it announced them.")

const struct epics_metric epics_metrics[] = {
    HEALTH("capture.packets", 0, 0, CTR, packets, "packets captured",
           "Frames the agent received from libpcap (after the kernel filter)."),
    ROW("epics.capture.bytes", 0, 1, PM_TYPE_U64, CTR, U_BYTES, INDOM_NONE, -1, SRC_HEALTH, VAL_U64,
        offsetof(struct model_health, bytes), "bytes captured", "Wire length of the frames received."),
    HEALTH("capture.drops", 0, 2, CTR, drops, "packets dropped by the kernel",
           "Packets the kernel dropped because the agent's capture buffer was full\n"
           "(pcap_stats ps_drop, all interfaces)."),
    HEALTH("capture.if_drops", 0, 3, CTR, if_drops, "packets dropped by the interfaces",
           "Packets dropped by the network interfaces or their drivers (pcap_stats ps_ifdrop)."),
    HEALTH("capture.decode_errors", 0, 4, CTR, decode_errors, "malformed input",
           "Malformed or hostile input: broken headers, lengths that do not fit, lost\n"
           "framing. Each kind is also logged once."),
    HEALTH("capture.stream_gaps", 0, 5, CTR, stream_gaps, "TCP stream gaps",
           "Places where a TCP direction lost bytes (segments missing from the capture).\n"
           "A message that lost any of its bytes is not counted; the messages after the\n"
           "gap are."),
    HEALTH("capture.truncated", 0, 6, CTR, truncated, "packets cut by the snap length",
           "Packets whose payload was not captured whole."),
    HEALTH("capture.skipped", 0, 7, CTR, skipped, "packets skipped",
           "Frames that are not IPv4 TCP or UDP (IPv6, ARP, fragments)."),
    HEALTH("capture.not_epics", 0, 8, CTR, not_epics, "packets of other traffic",
           "IPv4 packets that belong to no EPICS port or followed circuit."),
    ROW("epics.capture.eof", 0, 9, PM_TYPE_U32, INST, U_NONE, INDOM_NONE, -1, SRC_MODEL, VAL_BOOL,
        offsetof(struct model, eof), "capture file fully read",
        "1 once a capture file given with -r has been read to its end and pending\n"
        "requests were counted as unanswered; 0 before, and always 0 when capturing live."),

    HEALTH("agent.circuits", 1, 0, INST, circuits, "TCP circuits followed",
           "TCP connections the agent follows now, both protocols."),
    ROW("epics.agent.memory", 1, 1, PM_TYPE_U64, INST, U_BYTES, INDOM_NONE, -1, SRC_HEALTH, VAL_U64,
        offsetof(struct model_health, buffers.used), "bytes held for reassembly and decoding",
           "Bytes held in TCP reassembly queues, partial messages, pvAccess segmented\n"
           "messages and pvAccess type caches, over all circuits (capped by\n"
           "--max-buffer-mb)."),
    HEALTH("agent.evicted.servers", 1, 2, CTR, evicted[OBJ_SERVER], "servers evicted",
           "Servers dropped from a full table to make room (least recently used first)."),
    HEALTH("agent.evicted.pvs", 1, 3, CTR, evicted[OBJ_PV], "PVs evicted",
           "PVs dropped from a full table to make room (least recently used first)."),
    HEALTH("agent.evicted.clients", 1, 4, CTR, evicted[OBJ_CLIENT], "clients evicted",
           "Clients dropped from a full table to make room (least recently used first)."),
    HEALTH("agent.evicted.searches", 1, 5, CTR, searches_evicted, "pending searches evicted",
           "Pending search transactions dropped from a full table (counted unanswered)."),
    HEALTH("agent.evicted.flows", 1, 6, CTR, flows_evicted, "TCP circuits evicted",
           "TCP connections dropped from a full table (least recently active first)."),
    HEALTH("agent.expired.servers", 1, 7, CTR, expired[OBJ_SERVER], "idle servers expired",
           "Servers forgotten after the idle timeout (--idle-timeout, default 3600 s)."),
    HEALTH("agent.expired.pvs", 1, 8, CTR, expired[OBJ_PV], "idle PVs expired",
           "PVs forgotten after the idle timeout."),
    HEALTH("agent.expired.clients", 1, 9, CTR, expired[OBJ_CLIENT], "idle clients expired",
           "Clients forgotten after the idle timeout."),
    HEALTH("agent.untracked.servers", 1, 10, CTR, untracked[OBJ_SERVER], "servers not tracked",
           "Servers not tracked because the table was full of servers in use."),
    HEALTH("agent.untracked.pvs", 1, 11, CTR, untracked[OBJ_PV], "PVs not tracked",
           "PVs not tracked because the table was full of PVs in use."),
    HEALTH("agent.untracked.clients", 1, 12, CTR, untracked[OBJ_CLIENT], "clients not tracked",
           "Clients not tracked because the table was full of clients in use."),
    HEALTH("agent.untracked.channels", 1, 13, CTR, channels_untracked, "channels not tracked",
           "Channels not tracked because their circuit or the agent reached its channel cap."),
    HEALTH("agent.untracked.requests", 1, 14, CTR, requests_untracked, "requests not tracked",
           "Pending requests or subscriptions not tracked because their circuit or the\n"
           "agent reached its request cap."),
    HEALTH("agent.untracked.flows", 1, 15, CTR, flows_untracked, "TCP circuits not tracked",
           "TCP connections that could not be followed (no memory)."),
    HEALTH("agent.memory_refused", 1, 18, CTR, buffers.refused, "buffer growths refused",
           "Times a buffer could not grow because all buffers together reached\n"
           "--max-buffer-mb: the segment or message is lost (a stream gap) or not decoded."),
    HEALTH("agent.channels", 1, 16, INST, channels, "channels followed",
           "Channels the agent follows now on all circuits, both protocols\n"
           "(capped by --max-channels and 100000 per circuit)."),
    HEALTH("agent.requests", 1, 17, INST, requests, "requests followed",
           "Pending requests and subscriptions the agent follows now on all circuits,\n"
           "both protocols (capped by --max-requests and 100000 per circuit)."),

    ROW("epics.agent.ports.ca", 1, 50, PM_TYPE_STRING, DISC, U_NONE, INDOM_NONE, PROTO_CA, SRC_MODEL,
        VAL_STRING, offsetof(struct model, ports_text[PROTO_CA]), "ports CA traffic is followed on",
        "\"tcp P P... udp P P...\": the TCP ports of known CA servers (the default\n"
        "5064 or EPICS_CA_SERVER_PORT, --ca-ports, and ports learned from search\n"
        "replies, beacons and circuits recognised by their first bytes), then the UDP\n"
        "ports that carried CA searches, replies and beacons (datagrams are\n"
        "recognised by their content on any port). At most 64 of each; \"...\" when\n"
        "more TCP ports are followed (the capture filter then takes all TCP)."),
    ROW("epics.agent.ports.pva", 1, 51, PM_TYPE_STRING, DISC, U_NONE, INDOM_NONE, PROTO_PVA, SRC_MODEL,
        VAL_STRING, offsetof(struct model, ports_text[PROTO_PVA]), "ports pvAccess traffic is followed on",
        "The same as epics.agent.ports.ca for pvAccess: TCP server ports (5075 or\n"
        "EPICS_PVA_SERVER_PORT, --pva-ports, learned ones), then the UDP ports of\n"
        "searches, responses and beacons."),

    PROTOCOL_ROWS("ca", PROTO_CA, "CA"),
    PV("ca", PROTO_CA, "reads", 20, PM_TYPE_U64, CTR, U_COUNT, VAL_U64, reads, "CA reads of the PV",
       "READ_NOTIFY (and obsolete READ) requests for the PV."),
    PV("ca", PROTO_CA, "writes", 21, PM_TYPE_U64, CTR, U_COUNT, VAL_U64, writes, "CA writes of the PV",
       "WRITE and WRITE_NOTIFY requests for the PV."),
    SRV("ca", PROTO_CA, "reads", 20, CTR, U_COUNT, reads, "CA reads served",
        "READ_NOTIFY (and obsolete READ) requests to the server."),
    SRV("ca", PROTO_CA, "writes", 21, CTR, U_COUNT, writes, "CA writes served",
        "WRITE and WRITE_NOTIFY requests to the server."),

    SRV_TIMED("ca", PROTO_CA, "read_latency", 0, op_latency[LAT_READ], "CA read latency",
              "READ_NOTIFY request to its reply (same ioid on the circuit; a reply with an\n"
              "error status counts, a CA_PROTO_ERROR does not)."),
    SRV_TIMED("ca", PROTO_CA, "write_latency", 4, op_latency[LAT_WRITE], "CA write latency",
              "WRITE_NOTIFY request to its reply: the put's completion, processing of\n"
              "asynchronous records included. A plain WRITE has no reply."),
    SRV_TIMED("ca", PROTO_CA, "echo_latency", 8, echo, "CA echo latency", ECHO_DEF),
    PV_TIMED("ca", PROTO_CA, "read_latency", 0, op_latency[LAT_READ], "CA read latency of the PV",
             "READ_NOTIFY request to its reply (see epics.ca.server.read_latency)."),
    PV_TIMED("ca", PROTO_CA, "write_latency", 4, op_latency[LAT_WRITE], "CA write latency of the PV",
             "WRITE_NOTIFY request to its reply (see epics.ca.server.write_latency)."),
    AGE_ROWS("ca", PROTO_CA, "CA", CA_AGE_DEF, 12, 8),

    PROTOCOL_ROWS("pva", PROTO_PVA, "PVA"),
    PV("pva", PROTO_PVA, "gets", 20, PM_TYPE_U64, CTR, U_COUNT, VAL_U64, gets, "PVA gets of the PV",
       "GET executions for the PV (not the INIT exchange)."),
    PV("pva", PROTO_PVA, "puts", 21, PM_TYPE_U64, CTR, U_COUNT, VAL_U64, puts, "PVA puts of the PV",
       "PUT executions carrying a new value for the PV (not INIT, not the read-back GET)."),
    PV("pva", PROTO_PVA, "rpcs", 22, PM_TYPE_U64, CTR, U_COUNT, VAL_U64, rpcs, "PVA RPC calls of the PV",
       "RPC executions on the PV."),
    SRV("pva", PROTO_PVA, "gets", 20, CTR, U_COUNT, gets, "PVA gets served", "GET executions on the server."),
    SRV("pva", PROTO_PVA, "puts", 21, CTR, U_COUNT, puts, "PVA puts served", "PUT executions on the server."),
    SRV("pva", PROTO_PVA, "rpcs", 22, CTR, U_COUNT, rpcs, "PVA RPC calls served", "RPC executions on the server."),
    PV("pva", PROTO_PVA, "monitor_overruns", 23, PM_TYPE_U64, CTR, U_COUNT, VAL_U64, monitor_overruns,
       "PVA monitor updates of the PV that report lost values",
       "MONITOR updates whose overrun bitset is not empty: the server's queue for the\n"
       "subscription was full and values changed more than once between two updates\n"
       "the client received (intermediate values were lost). Updates too large for the\n"
       "agent to read to their end are not examined."),
    SRV("pva", PROTO_PVA, "monitor_overruns", 23, CTR, U_COUNT, monitor_overruns,
        "PVA monitor updates with lost values",
        "MONITOR updates from the server whose overrun bitset is not empty (see\n"
        "epics.pva.pv.monitor_overruns)."),
    SRV("pva", PROTO_PVA, "monitor_acks", 24, CTR, U_COUNT, monitor_acks,
        "PVA monitor pipeline acknowledgements",
        "MONITOR acknowledgements from clients of pipelined subscriptions (flow\n"
        "control: each one lets the server send more updates). A pipelined\n"
        "subscription whose acknowledgements stop while updates continue to be due\n"
        "is a client that cannot keep up."),

    SRV_TIMED("pva", PROTO_PVA, "get_latency", 0, op_latency[LAT_GET], "PVA get latency",
              "GET request (not INIT) to the response with the same request id."),
    SRV_TIMED("pva", PROTO_PVA, "put_latency", 4, op_latency[LAT_PUT], "PVA put latency",
              "PUT request carrying a value (not INIT, not the read-back GET) to its\n"
              "response."),
    SRV_TIMED("pva", PROTO_PVA, "rpc_latency", 8, op_latency[LAT_RPC], "PVA RPC latency",
              "RPC request (not INIT) to its response."),
    SRV_TIMED("pva", PROTO_PVA, "echo_latency", 12, echo, "PVA echo latency",
              ECHO_DEF "\nControl and application ECHO messages share one queue."),
    PV_TIMED("pva", PROTO_PVA, "get_latency", 0, op_latency[LAT_GET], "PVA get latency of the PV",
             "GET request (not INIT) to its response (see epics.pva.server.get_latency)."),
    PV_TIMED("pva", PROTO_PVA, "put_latency", 4, op_latency[LAT_PUT], "PVA put latency of the PV",
             "PUT request carrying a value to its response (see epics.pva.server.put_latency)."),
    PV_TIMED("pva", PROTO_PVA, "rpc_latency", 8, op_latency[LAT_RPC], "PVA RPC latency of the PV",
             "RPC request (not INIT) to its response."),
    AGE_ROWS("pva", PROTO_PVA, "PVA", PVA_AGE_DEF, 16, 12),
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

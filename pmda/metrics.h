/*
 * metrics.h - the epics.* metric table: one row per metric, shared by the
 * agent (pmdaepics) and the importer (epics2pcp).
 *
 * Each row says where its value lives in the model (which object kind and
 * at what offset), so one generic routine, metric_value(), serves every
 * metric. The pmns and help files are generated from this table
 * (pmdaepics --pmns, pmdaepics --help-text) and checked against it in QA.
 */
#ifndef EPICS_METRICS_H
#define EPICS_METRICS_H

#include "model.h"

#include <pcp/pmapi.h>

/* Instance domains (serial numbers are part of the archive format: keep) */
enum epics_indom {
    INDOM_CA_SERVER = 0, INDOM_CA_PV, INDOM_CA_CLIENT,
    INDOM_PVA_SERVER, INDOM_PVA_PV, INDOM_PVA_CLIENT,
    INDOM_CA_SERVER_HIST, INDOM_CA_PV_HIST, INDOM_PVA_SERVER_HIST, INDOM_PVA_PV_HIST,
    INDOM_CA_SEARCH_HIST, INDOM_PVA_SEARCH_HIST,
    INDOM_COUNT,
    INDOM_NONE = -1
};

/* PMID clusters (part of the archive format: keep). Channel Access and
 * pvAccess have a block of ten each, laid out alike */
enum epics_cluster {
    CLUSTER_CAPTURE = 0,                /* capture health */
    CLUSTER_AGENT = 1,                  /* the agent's own health */
    CLUSTER_CA = 10,                    /* protocol-wide: searches, messages, tables */
    CLUSTER_CA_SERVER = 11,
    CLUSTER_CA_PV = 12,
    CLUSTER_CA_CLIENT = 13,
    CLUSTER_CA_PUT = 14,                /* put audit event records */
    CLUSTER_CA_SERVER_TIMING = 15,      /* request latencies and update ages per server */
    CLUSTER_CA_PV_TIMING = 16,          /* the same per PV */
    CLUSTER_CA_SERVER_TCP = 17,         /* TCP health of the servers' circuits */
    CLUSTER_PVA = 20,
    CLUSTER_PVA_SERVER = 21,
    CLUSTER_PVA_PV = 22,
    CLUSTER_PVA_CLIENT = 23,
    CLUSTER_PVA_PUT = 24,
    CLUSTER_PVA_SERVER_TIMING = 25,
    CLUSTER_PVA_PV_TIMING = 26,
    CLUSTER_PVA_SERVER_TCP = 27,
};

/* Where a value comes from */
enum metric_source {
    SRC_HEALTH,         /* struct model_health */
    SRC_MODEL,          /* struct model (eof) */
    SRC_PROTO,          /* struct proto_stats of the row's protocol */
    SRC_TABLE_SIZE,     /* count of a model table */
    SRC_SERVER, SRC_PV, SRC_CLIENT,
    SRC_PUTS,           /* put audit: event records and their parameters */
    SRC_PV_PUT,         /* the struct put_record of a PV's latest put */
    SRC_SERVER_TCP,     /* a server that had a TCP circuit (others have no value) */
    SRC_PV_TIMING,      /* the struct pv_timing of a PV (none until a sample) */
};

enum value_kind {
    VAL_U64,            /* uint64_t at offset */
    VAL_STRING,         /* char[] at offset */
    VAL_HIST,           /* struct latency at offset: its bucket of the instance */
    VAL_U32,            /* uint32_t at offset */
    VAL_BOOL,           /* bool at offset */
    VAL_EVENT,          /* the put audit event records */
    VAL_PARAM,          /* an event record parameter (no value of its own) */
    VAL_SPREAD,         /* struct spread at offset: its statistic `stat` as a double */
    VAL_TIME,           /* uint64_t microseconds since the epoch at offset, as seconds */
    VAL_PUT_STATUS,     /* int32_t status of a struct put_record, when it has one */
    VAL_LATENCY,        /* struct latency at offset: its member `stat` (enum latency_stat);
                         * per PV no value before its first sample */
    VAL_STATS,          /* struct sample_stats at offset: the same, no value before a sample */
    VAL_SERVER_LIST,    /* the servers of a struct pv, as text */
};

enum latency_stat { LSTAT_COUNT, LSTAT_SUM, LSTAT_MAX };

enum metric_units { U_NONE, U_COUNT, U_BYTES, U_USEC, U_SEC };

struct epics_metric {
    const char *name;           /* full name, e.g. "epics.ca.server.connects" */
    unsigned cluster, item;     /* enum epics_cluster; the item within it */
    int type;                   /* PM_TYPE_* */
    int sem;                    /* PM_SEM_* */
    enum metric_units units;
    int indom;                  /* enum epics_indom or INDOM_NONE */
    int proto;                  /* PROTO_CA, PROTO_PVA, -1 for neither */
    enum metric_source src;
    enum value_kind kind;
    size_t offset;
    const char *oneline;
    const char *help;
    int stat;                   /* VAL_SPREAD: enum spread_stat; VAL_LATENCY: enum latency_stat */
};

extern const struct epics_metric epics_metrics[];
extern const size_t epics_nmetrics;

pmUnits metric_units(const struct epics_metric *mt);

/* Object kind (OBJ_*) behind an instance domain; hist says the domain
 * holds latency buckets of such objects (or of the search histogram when
 * the kind is -1) */
int indom_object_kind(int indom, int *proto, int *hist);
/* The indom of a protocol's objects of a kind, and of their histograms */
int indom_of(int kind, int proto, int hist);

/* The value of a metric for an object (NULL for metrics without
 * instances) and, for histograms, a bucket. Returns 1 with *atom set, 0 if
 * there is no value, < 0 on error. Strings point into the model. */
int metric_value(const struct epics_metric *mt, struct model *m, void *obj, int bucket,
                 pmAtomValue *atom);

/* Histogram instance names: "OBJECT::lo-hi", or "lo-hi" for the search
 * histogram (obj_name NULL) */
void hist_instance_name(char *buf, size_t size, const char *obj_name, int bucket);

/* Write the pmns or help file for this table to f; domain for the help */
void metrics_write_pmns(FILE *f);
void metrics_write_help(FILE *f);

#endif

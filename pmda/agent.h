/*
 * agent.h - the PMDA side of pmdaepics: metric and instance tables for
 * libpcp_pmda, fetch, put audit event queues, persistent instance ids.
 */
#ifndef EPICS_AGENT_H
#define EPICS_AGENT_H

#include "cull.h"
#include "engine.h"
#include "metrics.h"

#include <pcp/pmapi.h>
#include <pcp/pmda.h>

/* The pmdaCache private pointer of a histogram instance */
struct hist_ref {
    void *obj;                      /* NULL for the search histogram */
    int bucket;
};

struct agent {
    pmdaInterface dispatch;
    struct engine engine;
    pmdaMetric *metrics;
    pmdaIndom indoms[INDOM_COUNT];
    int queues[PROTO_COUNT];        /* put audit event queues */
    uint64_t puts_seen;             /* model put records already queued */
    int domain;
    time_t last_save;               /* of the instance caches */
    struct cull cull[INDOM_COUNT];  /* names forgotten, names kept */
    bool culled;                    /* since the last save */
};

/* After pmdaDaemon/pmdaOpenLog: build the tables, pmdaInit, load the
 * instance caches; the engine must be initialised with agent_hooks() */
int agent_init(struct agent *a);
struct model_hooks agent_hooks(struct agent *a);
/* Move new put records into the event queues; save changed instance caches
 * (at most every 10 s) */
void agent_sync(struct agent *a);

#endif

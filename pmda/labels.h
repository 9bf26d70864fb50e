/*
 * labels.h - PCP labels of the epics.* metrics, for pmseries and grafana-pcp
 * to filter and group on (see labels.c for the names and values).
 *
 * The labels are produced as (name, JSON value) pairs from the metric table
 * and the model, so the agent (pmdaAddLabels) and the importer (pmiPutLabel)
 * export the same ones.
 */
#ifndef EPICS_LABELS_H
#define EPICS_LABELS_H

#include "metrics.h"

#include <stddef.h>

/* Called once per label; value is JSON (a quoted string or a number).
 * Returns < 0 to stop. */
typedef int (*label_emit)(void *arg, const char *name, const char *value);

/* The protocol of a metric cluster ("ca", "pva"), NULL when the cluster is
 * not about one protocol (capture and agent health) */
const char *labels_cluster_protocol(unsigned cluster);

/* Labels of one instance of an indom: obj is the model object (NULL for
 * the search histogram), bucket the histogram bucket or -1. Returns the
 * number of labels emitted or the emitter's error. */
int labels_instance(int indom, const void *obj, int bucket, label_emit emit, void *arg);

/* s as a JSON string (quotes included), escaped; truncated to fit size */
void labels_json_string(char *buf, size_t size, const char *s);

struct agent;
/* Register the agent's label callbacks; interfaces names the capture
 * ("eth0,eth1", "any") or is NULL when reading a file */
void labels_agent_init(struct agent *a, const char *interfaces);

#endif

/*
 * sample.h - one archive sample built as a pmResult and written with
 * pmiPutResult.
 *
 * libpcp_import's pmiPutValue looks the metric and the instance up by name
 * on every call, which makes a sample cost the square of its instances. Here
 * values are appended by instance id, metric after metric, so a sample costs
 * what it holds; the time is a full 64-bit timeval (no 2038 limit).
 */
#ifndef EPICS_IMPORTER_SAMPLE_H
#define EPICS_IMPORTER_SAMPLE_H

#include <pcp/pmapi.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sample_chunk;

struct sample {
    pmValueSet **vsets;         /* of the sample so far */
    int nvsets, capvsets;
    pmValue *vals;              /* of the metric being filled */
    int nvals, capvals;
    pmID pmid;
    int type;
    bool open;                  /* a metric is being filled */
    struct sample_chunk *chunks;        /* value blocks of the sample */
    bool nomem;
    /* metrics without values go in too (numval 0), so the archive describes
     * every metric: set for the last sample only, since a record of empty
     * metrics reads as a sample of nothing to pmrep */
    bool describe_all;
};

/* Values of metric pmid (a PM_TYPE_*) follow */
void sample_metric(struct sample *s, pmID pmid, int type);
void sample_value(struct sample *s, int inst, const pmAtomValue *v);
/* Writes the sample at ts_us (pmiPutResult's status) and empties it */
int sample_write(struct sample *s, uint64_t ts_us);
void sample_free(struct sample *s);

#endif

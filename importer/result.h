/*
 * result.h - one archive sample built as a pmResult and written with
 * pmiPutResult: values go in by instance id, so a sample of 100 000 PVs
 * costs no lookup by instance name (pmiPutValue searches the instance
 * domain by name for every value, quadratic in its size).
 */
#ifndef EPICS_RESULT_H
#define EPICS_RESULT_H

#include <pcp/pmapi.h>
#include <stddef.h>
#include <stdint.h>

struct sample {
    struct sample_set { pmID pmid; int type; size_t first, n; } *sets;
    size_t nsets, setcap;
    pmValue *vals;
    size_t nvals, valcap;
    int failed;                 /* out of memory: the sample is dropped */
};

/* Start a value set for pmid, of type (PM_TYPE_U64, U32, 32, DOUBLE,
 * STRING); values added next belong to it */
void sample_metric(struct sample *s, pmID pmid, int type);
/* One value of the current set: inst (PM_IN_NULL without instances) */
void sample_value(struct sample *s, int inst, const pmAtomValue *v);
/* Write the sample at ts (pmiPutResult) and empty it; < 0 on error */
int sample_write(struct sample *s, uint64_t ts_us);
void sample_free(struct sample *s);

#endif

/*
 * hist.h - latency statistics: count, sum, max, last and a log2 histogram.
 *
 * Bucket 0 holds 0-1 microseconds, bucket k (k >= 1) holds 2^k to 2^(k+1)-1,
 * the last bucket everything above. Only buckets that received a sample are
 * stored (most PVs see one or two), as a small array sorted by bucket, so
 * objects that never see a latency cost only the counters; a mask of the
 * buckets present finds a bucket's place in one step.
 */
#ifndef EPICS_HIST_H
#define EPICS_HIST_H

#include <stdint.h>

#define HIST_BUCKETS 32

struct hist_bin {
    uint64_t count;
    uint32_t bucket;
};

struct latency {
    uint64_t count, sum_us, max_us, last_us;
    struct hist_bin *bins;      /* nbins entries, NULL until the first sample */
    uint32_t nbins;
    uint32_t mask;              /* bit b: bucket b is in bins */
};

/* Returns the bucket index the sample went into, -1 if it could not be kept.
 * *first is set when that bucket was empty before. */
int latency_add(struct latency *l, uint64_t us, int *first);
/* count, sum, max and last only: statistics kept without a histogram
 * (inline: it runs for every monitor update) */
static inline void latency_count(struct latency *l, uint64_t us)
{
    l->count++;
    l->sum_us += us;
    l->last_us = us;
    if (us > l->max_us)
        l->max_us = us;
}
/* Samples in a bucket */
uint64_t latency_bucket(const struct latency *l, int bucket);
/* Bit b set: bucket b holds samples */
uint32_t latency_mask(const struct latency *l);
void latency_free(struct latency *l);
int hist_bucket(uint64_t us);
/* "lo-hi" label of a bucket, as pmdabpf names them */
void hist_label(int bucket, char *buf, unsigned long size);

#endif

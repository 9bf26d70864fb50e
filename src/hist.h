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

/* count, sum, max and last only: the statistics of latency_add() without its histogram */
static inline void latency_count(struct latency *l, uint64_t us)
{
    l->count++;
    l->sum_us += us;
    l->last_us = us;
    if (us > l->max_us)
        l->max_us = us;
}

/* Samples kept as count, sum and largest only: small enough to sit in an
 * object that every sample touches anyway */
struct sample_stats {
    uint64_t count, sum_us, max_us;
};

static inline void stats_add(struct sample_stats *s, uint64_t us)
{
    s->count++;
    s->sum_us += us;
    if (us > s->max_us)
        s->max_us = us;
}

static inline int hist_bucket(uint64_t us)
{
    if (us <= 1)
        return 0;
    int b = 63 - __builtin_clzll(us);       /* floor(log2(us)) */
    return b < HIST_BUCKETS - 1 ? b : HIST_BUCKETS - 1;
}

/* Index in l->bins of bucket b: the buckets below it that hold samples
 * (bits counted without a library call: no -mpopcnt in a portable build) */
static inline uint32_t hist_bin_index(const struct latency *l, uint32_t b)
{
    uint32_t x = l->mask & ((1u << b) - 1);
    x = x - ((x >> 1) & 0x55555555u);
    x = (x & 0x33333333u) + ((x >> 2) & 0x33333333u);
    x = (x + (x >> 4)) & 0x0f0f0f0fu;
    return (x * 0x01010101u) >> 24;
}

/* The first sample of bucket b; -1 when it cannot be kept */
int latency_add_bucket(struct latency *l, uint32_t b, int *first);

/* Returns the bucket index the sample went into, -1 if it could not be kept.
 * *first is set when that bucket was empty before. Inline: it runs for
 * every monitor update (update ages). */
static inline int latency_add(struct latency *l, uint64_t us, int *first)
{
    latency_count(l, us);
    *first = 0;
    uint32_t b = (uint32_t)hist_bucket(us);
    if (!(l->mask & (1u << b)))
        return latency_add_bucket(l, b, first);
    l->bins[hist_bin_index(l, b)].count++;
    return (int)b;
}

/* Samples in a bucket */
uint64_t latency_bucket(const struct latency *l, int bucket);
/* Bit b set: bucket b holds samples */
uint32_t latency_mask(const struct latency *l);
void latency_free(struct latency *l);
/* "lo-hi" label of a bucket, as pmdabpf names them */
void hist_label(int bucket, char *buf, unsigned long size);

#endif

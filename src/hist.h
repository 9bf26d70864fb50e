/*
 * hist.h - latency statistics: count, sum, max, last and a log2 histogram.
 *
 * Bucket 0 holds 0-1 microseconds, bucket k (k >= 1) holds 2^k to 2^(k+1)-1,
 * the last bucket everything above. The bucket array is allocated on the
 * first sample, so objects that never see a latency cost only the counters.
 */
#ifndef EPICS_HIST_H
#define EPICS_HIST_H

#include <stdint.h>

#define HIST_BUCKETS 32

struct latency {
    uint64_t count, sum_us, max_us, last_us;
    uint64_t *bucket;           /* HIST_BUCKETS counters, NULL until used */
};

/* Returns the bucket index the sample went into, -1 if it could not be kept.
 * *first is set when that bucket was empty before. */
int latency_add(struct latency *l, uint64_t us, int *first);
void latency_free(struct latency *l);
int hist_bucket(uint64_t us);
/* "lo-hi" label of a bucket, as pmdabpf names them */
void hist_label(int bucket, char *buf, unsigned long size);

#endif

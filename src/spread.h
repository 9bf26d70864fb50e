/*
 * spread.h - how a latency is spread: minimum, standard deviation and
 * quartiles, for the connection-time view of a server.
 *
 * The standard deviation is exact (Welford's running variance). Quartiles
 * come from a uniform sample of at most SPREAD_SAMPLES latencies (reservoir
 * sampling with a fixed seed, so a capture gives the same figures every
 * time): exact while a server has seen no more connects than that, an
 * estimate after. The sample is allocated at the first latency, so servers
 * without connects cost only the counters.
 */
#ifndef EPICS_SPREAD_H
#define EPICS_SPREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SPREAD_SAMPLES 1024

enum spread_stat { SPREAD_MIN, SPREAD_STDDEV, SPREAD_Q1, SPREAD_MEDIAN, SPREAD_Q3, SPREAD_MEAN };

struct spread {
    uint64_t count, min_us;
    double mean, m2;            /* Welford: running mean, sum of squared deviations */
    uint32_t *sample;           /* microseconds, saturated at UINT32_MAX */
    uint32_t nsample;
    uint64_t rng;
    bool sorted_valid;          /* quartiles below match the sample */
    double quartile[3];
};

void spread_add(struct spread *s, uint64_t us);
/* Returns false when there is no value yet (no latency seen) */
bool spread_stat(struct spread *s, enum spread_stat which, double *out);
void spread_free(struct spread *s);

/* Sorts latencies in ascending order, for quantile_sorted */
void sort_u32(uint32_t *v, size_t n);
/* The q-quantile (0..1) of n sorted values, interpolated between the two
 * nearest ranks (as numpy and R's default type 7) */
double quantile_sorted(const uint32_t *v, size_t n, double q);

#endif

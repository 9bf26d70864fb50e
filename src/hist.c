/*
 * hist.c - log2 latency histograms in microseconds, stored sparsely (see hist.h).
 */
#include "hist.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int hist_bucket(uint64_t us)
{
    if (us <= 1)
        return 0;
    int b = 63 - __builtin_clzll(us);       /* floor(log2(us)) */
    return b < HIST_BUCKETS - 1 ? b : HIST_BUCKETS - 1;
}

/* Bits set in x, without a library call (no -mpopcnt in the portable build) */
static inline uint32_t popcount32(uint32_t x)
{
    x = x - ((x >> 1) & 0x55555555u);
    x = (x & 0x33333333u) + ((x >> 2) & 0x33333333u);
    x = (x + (x >> 4)) & 0x0f0f0f0fu;
    return (x * 0x01010101u) >> 24;
}

/* Index in bins of bucket b: the buckets below it that hold samples */
static uint32_t bin_index(const struct latency *l, uint32_t b)
{
    return popcount32(l->mask & ((1u << b) - 1));
}

int latency_add(struct latency *l, uint64_t us, int *first)
{
    latency_count(l, us);
    *first = 0;
    uint32_t b = (uint32_t)hist_bucket(us), i = bin_index(l, b);
    if (!(l->mask & (1u << b))) {
        struct hist_bin *bins = realloc(l->bins, (l->nbins + 1) * sizeof(*bins));
        if (!bins)
            return -1;
        memmove(bins + i + 1, bins + i, (l->nbins - i) * sizeof(*bins));
        bins[i].bucket = b;
        bins[i].count = 0;
        l->bins = bins;
        l->nbins++;
        l->mask |= 1u << b;
        *first = 1;
    }
    l->bins[i].count++;
    return (int)b;
}

uint64_t latency_bucket(const struct latency *l, int bucket)
{
    if (bucket < 0 || bucket >= HIST_BUCKETS || !(l->mask & (1u << bucket)))
        return 0;
    return l->bins[bin_index(l, (uint32_t)bucket)].count;
}

uint32_t latency_mask(const struct latency *l)
{
    return l->mask;
}

void latency_free(struct latency *l)
{
    free(l->bins);
    l->bins = NULL;
    l->nbins = 0;
    l->mask = 0;
}

void hist_label(int b, char *buf, unsigned long size)
{
    if (b <= 0)
        snprintf(buf, size, "0-1");
    else if (b == HIST_BUCKETS - 1)
        snprintf(buf, size, "%llu-inf", 1ULL << b);
    else
        snprintf(buf, size, "%llu-%llu", 1ULL << b, (2ULL << b) - 1);
}

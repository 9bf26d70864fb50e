/*
 * hist.c - log2 latency histograms in microseconds, stored sparsely (see hist.h).
 */
#include "hist.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int hist_bucket(uint64_t us)
{
    int b = 0;
    while (us > 1 && b < HIST_BUCKETS - 1) {
        us >>= 1;
        b++;
    }
    return b;
}

void latency_count(struct latency *l, uint64_t us)
{
    l->count++;
    l->sum_us += us;
    l->last_us = us;
    if (us > l->max_us)
        l->max_us = us;
}

int latency_add(struct latency *l, uint64_t us, int *first)
{
    latency_count(l, us);
    *first = 0;
    uint32_t b = (uint32_t)hist_bucket(us), i = 0;
    while (i < l->nbins && l->bins[i].bucket < b)
        i++;
    if (i == l->nbins || l->bins[i].bucket != b) {
        struct hist_bin *bins = realloc(l->bins, (l->nbins + 1) * sizeof(*bins));
        if (!bins)
            return -1;
        memmove(bins + i + 1, bins + i, (l->nbins - i) * sizeof(*bins));
        bins[i].bucket = b;
        bins[i].count = 0;
        l->bins = bins;
        l->nbins++;
        *first = 1;
    }
    l->bins[i].count++;
    return (int)b;
}

uint64_t latency_bucket(const struct latency *l, int bucket)
{
    for (uint32_t i = 0; i < l->nbins; i++)
        if (l->bins[i].bucket == (uint32_t)bucket)
            return l->bins[i].count;
    return 0;
}

uint32_t latency_mask(const struct latency *l)
{
    uint32_t mask = 0;
    for (uint32_t i = 0; i < l->nbins; i++)
        mask |= 1u << l->bins[i].bucket;
    return mask;
}

void latency_free(struct latency *l)
{
    free(l->bins);
    l->bins = NULL;
    l->nbins = 0;
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

/*
 * hist.c - log2 latency histograms in microseconds, stored sparsely (see hist.h).
 */
#include "hist.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int latency_add_bucket(struct latency *l, uint32_t b, int *first)
{
    uint32_t i = hist_bin_index(l, b);
    struct hist_bin *bins = realloc(l->bins, (l->nbins + 1) * sizeof(*bins));
    if (!bins)
        return -1;
    memmove(bins + i + 1, bins + i, (l->nbins - i) * sizeof(*bins));
    bins[i].bucket = b;
    bins[i].count = 1;
    l->bins = bins;
    l->nbins++;
    l->mask |= 1u << b;
    *first = 1;
    return (int)b;
}

uint64_t latency_bucket(const struct latency *l, int bucket)
{
    if (bucket < 0 || bucket >= HIST_BUCKETS || !(l->mask & (1u << bucket)))
        return 0;
    return l->bins[hist_bin_index(l, (uint32_t)bucket)].count;
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

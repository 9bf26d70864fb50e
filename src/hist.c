/*
 * hist.c - log2 latency histograms in microseconds (see hist.h).
 */
#include "hist.h"

#include <stdio.h>
#include <stdlib.h>

int hist_bucket(uint64_t us)
{
    int b = 0;
    while (us > 1 && b < HIST_BUCKETS - 1) {
        us >>= 1;
        b++;
    }
    return b;
}

int latency_add(struct latency *l, uint64_t us, int *first)
{
    l->count++;
    l->sum_us += us;
    l->last_us = us;
    if (us > l->max_us)
        l->max_us = us;
    *first = 0;
    if (!l->bucket && !(l->bucket = calloc(HIST_BUCKETS, sizeof(uint64_t))))
        return -1;
    int b = hist_bucket(us);
    *first = l->bucket[b] == 0;
    l->bucket[b]++;
    return b;
}

void latency_free(struct latency *l)
{
    free(l->bucket);
    l->bucket = NULL;
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

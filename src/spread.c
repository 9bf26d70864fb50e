/*
 * spread.c - minimum, standard deviation and quartiles of latencies (see spread.h).
 */
#include "spread.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static uint64_t next_random(uint64_t *state)
{
    /* splitmix64: cheap, and enough to pick reservoir slots */
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void spread_add(struct spread *s, uint64_t us)
{
    s->count++;
    if (s->count == 1 || us < s->min_us)
        s->min_us = us;
    double x = (double)us, d = x - s->mean;
    s->mean += d / (double)s->count;
    s->m2 += d * (x - s->mean);

    uint32_t v = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
    if (!s->sample) {
        s->sample = malloc(SPREAD_SAMPLES * sizeof(*s->sample));
        if (!s->sample)
            return;
    }
    if (s->nsample < SPREAD_SAMPLES) {
        s->sample[s->nsample++] = v;
        s->sorted_valid = false;
        return;
    }
    /* reservoir: the count-th latency replaces a random slot with
     * probability SPREAD_SAMPLES / count */
    uint64_t j = next_random(&s->rng) % s->count;
    if (j < SPREAD_SAMPLES) {
        s->sample[j] = v;
        s->sorted_valid = false;
    }
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

void sort_u32(uint32_t *v, size_t n)
{
    qsort(v, n, sizeof(*v), cmp_u32);
}

double quantile_sorted(const uint32_t *v, size_t n, double q)
{
    if (n == 0)
        return 0;
    double pos = q * (double)(n - 1);
    size_t i = (size_t)pos;
    double frac = pos - (double)i;
    return i + 1 < n ? (double)v[i] * (1 - frac) + (double)v[i + 1] * frac : (double)v[i];
}

static void update_quartiles(struct spread *s)
{
    uint32_t tmp[SPREAD_SAMPLES];
    memcpy(tmp, s->sample, s->nsample * sizeof(*tmp));
    sort_u32(tmp, s->nsample);
    for (int k = 0; k < 3; k++)
        s->quartile[k] = quantile_sorted(tmp, s->nsample, 0.25 * (k + 1));
    s->sorted_valid = true;
}

bool spread_stat(struct spread *s, enum spread_stat which, double *out)
{
    switch (which) {
    case SPREAD_MIN:
        *out = (double)s->min_us;
        return s->count > 0;
    case SPREAD_STDDEV:
        /* sample standard deviation, as the importer's report */
        *out = s->count > 1 ? sqrt(s->m2 / (double)(s->count - 1)) : 0;   /* one latency: 0 */
        return s->count > 0;
    case SPREAD_MEAN:
        *out = s->mean;
        return s->count > 0;
    default:
        if (!s->nsample)
            return false;
        if (!s->sorted_valid)
            update_quartiles(s);
        *out = s->quartile[which - SPREAD_Q1];
        return true;
    }
}

void spread_free(struct spread *s)
{
    free(s->sample);
    memset(s, 0, sizeof(*s));
}

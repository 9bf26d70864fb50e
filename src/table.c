/*
 * table.c - chained hash tables with a recency list (see table.h).
 * Keys hashed eight bytes at a time; the bucket array doubles when the load
 * passes 1.
 */
#include "table.h"

#include <stdlib.h>
#include <string.h>

/* Most keys are addresses and ports (20 to 40 bytes since IPv6), hashed
 * for every packet: a multiply per word rather than per byte, then
 * MurmurHash3's finaliser so that the low bits (the bucket) depend on all */
uint64_t table_hash(const void *key, size_t len)
{
    const uint8_t *p = key;
    uint64_t h = 1469598103934665603ULL ^ len;
    for (;;) {
        uint64_t w = 0;
        size_t n = len < 8 ? len : 8;
        if (n == 0)
            break;
        memcpy(&w, p, n);
        h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
        h ^= h >> 32;
        p += n;
        len -= n;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    return h ^ (h >> 33);
}

void table_init(struct table *t, size_t cap, table_key_fn key)
{
    memset(t, 0, sizeof(*t));
    t->cap = cap;
    t->key = key;
    t->lru.older = t->lru.newer = &t->lru;
}

void table_free(struct table *t)
{
    free(t->buckets);
    t->buckets = NULL;
    t->nbuckets = t->count = 0;
    t->lru.older = t->lru.newer = &t->lru;
}

static int same_key(struct table *t, const struct tnode *n, const void *key, size_t len)
{
    const void *k;
    size_t klen;
    t->key(n, &k, &klen);
    return klen == len && memcmp(k, key, len) == 0;
}

struct tnode *table_find(struct table *t, const void *key, size_t len)
{
    if (t->nbuckets == 0)
        return NULL;
    uint64_t h = table_hash(key, len);
    for (struct tnode *n = t->buckets[h & (t->nbuckets - 1)]; n; n = n->hnext)
        if (n->hash == h && same_key(t, n, key, len))
            return n;
    return NULL;
}

static int grow(struct table *t)
{
    size_t nb = t->nbuckets ? t->nbuckets * 2 : 16;
    struct tnode **b = calloc(nb, sizeof(*b));
    if (!b)
        return -1;
    for (size_t i = 0; i < t->nbuckets; i++) {
        struct tnode *n = t->buckets[i], *next;
        for (; n; n = next) {
            next = n->hnext;
            n->hnext = b[n->hash & (nb - 1)];
            b[n->hash & (nb - 1)] = n;
        }
    }
    free(t->buckets);
    t->buckets = b;
    t->nbuckets = nb;
    return 0;
}

static void lru_unlink(struct tnode *n)
{
    n->older->newer = n->newer;
    n->newer->older = n->older;
}

static void lru_append(struct table *t, struct tnode *n)
{
    n->older = t->lru.older;
    n->newer = &t->lru;
    t->lru.older->newer = n;
    t->lru.older = n;
}

void table_insert(struct table *t, struct tnode *n)
{
    const void *k;
    size_t len;
    if (t->count >= t->nbuckets && grow(t) < 0 && t->nbuckets == 0)
        abort();                /* no memory for even the first bucket array */
    t->key(n, &k, &len);
    n->hash = table_hash(k, len);
    size_t i = n->hash & (t->nbuckets - 1);
    n->hnext = t->buckets[i];
    t->buckets[i] = n;
    lru_append(t, n);
    t->count++;
}

void table_remove(struct table *t, struct tnode *n)
{
    struct tnode **pp = &t->buckets[n->hash & (t->nbuckets - 1)];
    while (*pp && *pp != n)
        pp = &(*pp)->hnext;
    if (*pp) {
        *pp = n->hnext;
        lru_unlink(n);
        t->count--;
    }
    n->hnext = n->older = n->newer = NULL;
}

void table_touch(struct table *t, struct tnode *n)
{
    if (n->newer != &t->lru) {
        lru_unlink(n);
        lru_append(t, n);
    }
}

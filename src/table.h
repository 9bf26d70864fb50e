/*
 * table.h - bounded hash tables with least-recently-used order.
 *
 * Objects embed a struct tnode (one per table they are in); the table finds
 * an object's key through the key function it was created with. Besides the
 * hash chains, every table keeps its nodes on a recency list so that callers
 * can expire idle entries and evict the oldest one when the cap is reached.
 * The table never allocates objects and never frees them: ownership stays
 * with the caller (the model's pieces: objects.c, searches.c).
 */
#ifndef EPICS_TABLE_H
#define EPICS_TABLE_H

#include <stddef.h>
#include <stdint.h>

struct tnode {
    struct tnode *hnext;            /* hash chain */
    struct tnode *older, *newer;    /* recency list */
    uint64_t hash;
};

/* Sets key and len to the key bytes of the object holding node */
typedef void (*table_key_fn)(const struct tnode *node, const void **key, size_t *len);

struct table {
    struct tnode **buckets;
    size_t nbuckets;
    size_t count;
    size_t cap;                     /* callers check table_full() before insert */
    struct tnode lru;               /* sentinel: lru.newer is the oldest node */
    table_key_fn key;
};

#define container_of(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))

uint64_t table_hash(const void *key, size_t len);
void table_init(struct table *t, size_t cap, table_key_fn key);
void table_free(struct table *t);   /* frees the index only */
struct tnode *table_find(struct table *t, const void *key, size_t len);
void table_insert(struct table *t, struct tnode *n);  /* n must not be present */
void table_remove(struct table *t, struct tnode *n);
void table_touch(struct table *t, struct tnode *n);   /* mark most recently used */
static inline struct tnode *table_oldest(struct table *t)
{
    return t->lru.newer == &t->lru ? NULL : t->lru.newer;
}
static inline struct tnode *table_next_newer(struct table *t, struct tnode *n)
{
    return n->newer == &t->lru ? NULL : n->newer;
}
static inline int table_full(const struct table *t) { return t->count >= t->cap; }

#endif

/*
 * idmap.h - small open-addressing maps from a 32-bit protocol id to a pointer.
 *
 * One per circuit and kind of id (Channel Access cid, sid, ioid, subscription
 * id; pvAccess cid, sid, ioid). Circuits usually carry a handful of ids, so
 * maps start empty and grow by doubling. The caller bounds their size.
 */
#ifndef EPICS_IDMAP_H
#define EPICS_IDMAP_H

#include <stddef.h>
#include <stdint.h>

struct idmap_slot {
    uint32_t id;
    uint32_t used;              /* 0 empty, 1 used, 2 deleted */
    void *val;
};

struct idmap {
    struct idmap_slot *slots;
    size_t size, count, tomb;
};

void *idmap_get(const struct idmap *m, uint32_t id);
int idmap_put(struct idmap *m, uint32_t id, void *val);   /* replaces; -1 on no memory */
void *idmap_del(struct idmap *m, uint32_t id);            /* returns the old value */
void idmap_free(struct idmap *m);
/* Slots the map will have after putting an id it does not hold (memory
 * accounting: the map grows by rehashing) */
size_t idmap_size_after_put(const struct idmap *m);
/* Iteration: for (size_t i = 0; i < m->size; i++) if (m->slots[i].used == 1) ... */

#endif

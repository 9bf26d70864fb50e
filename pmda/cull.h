/*
 * cull.h - which instance names the agent forgets: those of PVs and clients
 * that never got past a search (a search storm's names), so the saved
 * instance caches do not grow with every name ever searched for.
 *
 * Instances keep their ids across restarts (archives rely on them); that
 * stays true for every name that was ever real (a channel, a create
 * request, bytes on a circuit) and for every name the cache held when the
 * agent started. A name that was only searched for is culled when the
 * model forgets its object: after --idle-timeout without traffic, or when
 * a full table evicts it. If it comes back it gets a new id.
 */
#ifndef EPICS_CULL_H
#define EPICS_CULL_H

#include <stdbool.h>
#include <stddef.h>

/* One instance domain's record */
struct cull {
    int first_new;              /* the first id given out by this run, -1 before */
    int highest;                /* the highest id given out by this run, -1 before */
    int pending;                /* to cull once a higher id exists, -1 none */
    int *kept;                  /* ids >= first_new whose object was real, ascending */
    size_t nkept, cap;
};

void cull_init(struct cull *c);
/* An object got instance id inst; known: its name was in the cache before.
 * Returns the id of a name to cull now if the cache still holds it
 * inactive (its cull was put off, see cull_removed), or -1 */
int cull_added(struct cull *c, int inst, bool known);
/* The model forgot the object of kind (OBJ_*) with instance id inst: true
 * when its name is to be culled; otherwise a real object's id is kept.
 * The highest id is never culled at once: pmdaCache hands out the next id
 * after its last entry, and PMDA_CACHE_REORG frees culled entries without
 * moving that pointer; so it waits until a higher id exists. */
bool cull_removed(struct cull *c, int inst, int kind, const void *obj);
/* Whether a PV or client (kind OBJ_PV, OBJ_CLIENT) never got past a search */
bool cull_only_searched(int kind, const void *obj);
void cull_free(struct cull *c);

#endif

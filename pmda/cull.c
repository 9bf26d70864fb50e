/*
 * cull.c - which instance names the agent forgets (see cull.h).
 *
 * Ids are handed out in ascending order (pmdaCache appends), so the ids
 * below this run's first new one are the names the cache file held at
 * start: kept. Above it, the ids of objects that were real when the model
 * forgot them are listed; a name that comes back later keeps its id and
 * its place in that list, whatever it does this time.
 */
#include "cull.h"
#include "model.h"

#include <stdlib.h>

void cull_init(struct cull *c)
{
    c->first_new = c->highest = c->pending = -1;
    c->kept = NULL;
    c->nkept = c->cap = 0;
}

int cull_added(struct cull *c, int inst, bool known)
{
    int due = -1;
    if (!known && inst >= 0 && c->first_new < 0)
        c->first_new = inst;
    if (inst == c->pending)
        c->pending = -1;        /* back before its cull: its removal decides again */
    if (inst > c->highest) {
        c->highest = inst;
        due = c->pending;
        c->pending = -1;
    }
    return due;
}

/* The position of inst in the kept list, or where it would go */
static size_t kept_find(const struct cull *c, int inst)
{
    size_t lo = 0, hi = c->nkept;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c->kept[mid] < inst)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static void kept_add(struct cull *c, int inst)
{
    size_t at = kept_find(c, inst);
    if (at < c->nkept && c->kept[at] == inst)
        return;
    if (c->nkept == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 64;
        int *k = realloc(c->kept, cap * sizeof(*k));
        if (!k)
            return;             /* not remembered: it may be culled later, never misread */
        c->kept = k;
        c->cap = cap;
    }
    for (size_t i = c->nkept; i > at; i--)
        c->kept[i] = c->kept[i - 1];
    c->kept[at] = inst;
    c->nkept++;
}

bool cull_only_searched(int kind, const void *obj)
{
    if (kind == OBJ_PV) {
        const struct pv *p = obj;
        return p->connects == 0 && p->connect_fails == 0 && p->channels == 0
               && p->monitor_updates == 0 && p->bytes_in == 0 && p->bytes_out == 0 && !p->last_put;
    }
    if (kind == OBJ_CLIENT) {
        const struct client *cl = obj;
        return cl->circuits == 0 && cl->channels == 0 && cl->bytes_in == 0 && cl->bytes_out == 0;
    }
    return false;
}

bool cull_removed(struct cull *c, int inst, int kind, const void *obj)
{
    if (inst < 0 || c->first_new < 0 || inst < c->first_new)
        return false;           /* in the cache file at start */
    if (!cull_only_searched(kind, obj)) {
        kept_add(c, inst);
        return false;
    }
    size_t at = kept_find(c, inst);
    if (at < c->nkept && c->kept[at] == inst)
        return false;
    if (inst == c->highest) {
        c->pending = inst;
        return false;
    }
    return true;
}

void cull_free(struct cull *c)
{
    free(c->kept);
    cull_init(c);
}

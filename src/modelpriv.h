/*
 * modelpriv.h - what the pieces of the model share among themselves, not
 * with decoders or exporters (they use model.h).
 *
 * model.c      limits, init, the clock (tick, finish), free, bad input
 * objects.c    servers, PVs, clients: one find-or-create, eviction, expiry
 * searches.c   search transactions, beacons, servers known by GUID
 * circuits.c   circuits, channels, requests, their accounting, stream callbacks
 * puts.c       the put audit ring and the PV's server list as text
 * timing.c     latencies of exchanges and ages of updates
 */
#ifndef EPICS_MODELPRIV_H
#define EPICS_MODELPRIV_H

#include "model.h"

#include <string.h>

/* objects.c */
void objects_init(struct model *m);
/* Idle unreferenced objects expire (bounded work per call) */
void objects_expire(struct model *m, uint64_t now);
void objects_free(struct model *m);
/* The PV's servers that are still known count one duplicate PV more or
 * less (from: the first of its servers to count) */
void pv_duplicate_count(struct model *m, const struct pv *p, uint32_t from, int delta);

/* searches.c */
void searches_init(struct model *m);
/* Searches past their timeout end, unanswered ones counted */
void searches_expire(struct model *m, uint64_t now);
/* Every search ends now (a file's end, the model's) */
void searches_end_all(struct model *m);
void searches_free(struct model *m);
/* When the client host caddr first searched for pv under cid, if its latest
 * search with that cid was for pv and not after ts; 0 otherwise. Inline:
 * every create request asks. */
static inline uint64_t search_first_us(struct model *m, int proto, struct netaddr caddr,
                                       uint32_t cid, const struct pv *pv, uint64_t ts)
{
    struct search key;
    memset(&key.ckey, 0, sizeof(key.ckey));
    key.ckey.addr = caddr;
    key.ckey.proto = (uint16_t)proto;
    key.ckey.cid = cid;
    struct tnode *n = table_find(&m->search_cids, &key.ckey, sizeof(key.ckey));
    if (!n)
        return 0;
    struct search *s = container_of(n, struct search, by_cid);
    return s->pv == pv && s->first_us <= ts ? s->first_us : 0;
}

/* circuits.c */
void creates_init(struct model *m);
/* Create requests past the request timeout are unanswered */
void creates_expire(struct model *m, uint64_t now);
void creates_end_all(struct model *m);

#endif

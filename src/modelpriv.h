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

/* objects.c */
void objects_init(struct model *m);
/* Idle unreferenced objects expire (bounded work per call) */
void objects_expire(struct model *m, uint64_t now);
void objects_free(struct model *m);
/* A server answered searches for pv: kept in its list, duplicates counted */
void pv_add_server(struct model *m, struct pv *pv, struct netaddr saddr, uint16_t sport, int proto);

/* searches.c */
void searches_init(struct model *m);
/* Searches past their timeout end, unanswered ones counted */
void searches_expire(struct model *m, uint64_t now);
/* Every search ends now (a file's end, the model's) */
void searches_end_all(struct model *m);
void searches_free(struct model *m);
/* When the client host caddr first searched for pv under cid, if its latest
 * search with that cid was for pv and not after ts; 0 otherwise */
uint64_t search_first_us(struct model *m, int proto, struct netaddr caddr, uint32_t cid,
                         const struct pv *pv, uint64_t ts);

/* circuits.c */
void creates_init(struct model *m);
/* Create requests past the request timeout are unanswered */
void creates_expire(struct model *m, uint64_t now);
void creates_end_all(struct model *m);

#endif

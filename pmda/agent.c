/*
 * agent.c - the PMDA side of pmdaepics (see agent.h).
 *
 * Instances are kept in pmdaCache with PMDA_CACHE_SAVE semantics, so an
 * instance keeps its id across restarts of the agent and archives stay
 * consistent; only the names of PVs and clients that never got past a
 * search are culled when the model forgets them (cull.h). The model tells
 * us when objects appear and disappear (struct model_hooks); the cache's
 * private pointer is the model object, or for histogram instances a struct
 * hist_ref naming object and bucket.
 */
#include "agent.h"

#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

static struct agent *the_agent;     /* libpcp_pmda callbacks carry no argument */

static pmInDom pm_indom(struct agent *a, int indom)
{
    return a->indoms[indom].it_indom;
}

/* pmdaCache's file reads a name that starts with '[' as the hex key of a
 * keyed instance, so an IPv6 server "[2001:db8::1]:5075" (and its histogram
 * buckets) would come back from the next start as "5075" with a bogus key.
 * Stored with itself as its key, such a name is written behind its key and
 * read back whole; its instance id is then derived from the key (PCP's
 * pmdaCacheStoreKey, which also makes the instance domain reuse the ids of
 * culled instances). Other names are stored as always. */
static int cache_add(pmInDom indom, const char *name, void *priv)
{
    if (name[0] == '[')
        return pmdaCacheStoreKey(indom, PMDA_CACHE_ADD, name, (int)strlen(name), name, priv);
    return pmdaCacheStore(indom, PMDA_CACHE_ADD, name, priv);
}

/* ---- model hooks ---- */

static void on_added(void *arg, int kind, int proto, void *obj, const char *name)
{
    struct agent *a = arg;
    int indom = indom_of(kind, proto, 0);
    bool known = pmdaCacheLookupName(pm_indom(a, indom), name, NULL, NULL) >= 0;
    int inst = cache_add(pm_indom(a, indom), name, obj);
    if (inst < 0)
        pmNotifyErr(LOG_ERR, "instance %s: %s", name, pmErrStr(inst));
    int due = cull_added(&a->cull[indom], inst, known);
    char *due_name;
    if (due >= 0 && pmdaCacheLookup(pm_indom(a, indom), due, &due_name, NULL)
                        == PMDA_CACHE_INACTIVE) {
        pmdaCacheStore(pm_indom(a, indom), PMDA_CACHE_CULL, due_name, NULL);
        a->culled = true;
    }
    ((struct object *)obj)->ext_id = inst;
}

static void hide_hist(struct agent *a, int kind, int proto, void *obj, const char *name)
{
    int indom = indom_of(kind, proto, 1);
    if (indom == INDOM_NONE)
        return;
    uint32_t mask = model_bucket_mask(kind, obj);      /* of all the object's histograms */
    for (int b = 0; mask && b < HIST_BUCKETS; b++) {
        char iname[PUT_NAME_MAX + 64];
        void *priv = NULL;
        if (!(mask & (1u << b)))
            continue;
        hist_instance_name(iname, sizeof(iname), name, b);
        int inst = pmdaCacheLookupName(pm_indom(a, indom), iname, NULL, &priv);
        if (inst >= 0) {
            pmdaCacheStore(pm_indom(a, indom), PMDA_CACHE_HIDE, iname, NULL);
            free(priv);
        }
    }
}

static void on_removed(void *arg, int kind, int proto, void *obj, const char *name)
{
    struct agent *a = arg;
    int indom = indom_of(kind, proto, 0);
    struct object *o = obj;
    hide_hist(a, kind, proto, obj, name);
    if (cull_removed(&a->cull[indom], o->ext_id, kind, obj)) {
        pmdaCacheStore(pm_indom(a, indom), PMDA_CACHE_CULL, name, NULL);
        a->culled = true;
    } else {
        pmdaCacheStore(pm_indom(a, indom), PMDA_CACHE_HIDE, name, NULL);
    }
    o->ext_id = -1;
}

static void on_bucket(void *arg, int kind, int proto, void *obj, int bucket)
{
    struct agent *a = arg;
    /* the search histogram is reported with obj NULL and kind OBJ_PV */
    int hkind = obj ? kind : -1;
    int indom = indom_of(hkind, proto, 1);
    const char *oname = NULL;
    if (indom == INDOM_NONE)
        return;
    if (obj)
        oname = object_name(obj);
    char iname[PUT_NAME_MAX + 64];
    hist_instance_name(iname, sizeof(iname), oname, bucket);
    struct hist_ref *h = malloc(sizeof(*h));
    if (!h)
        return;
    h->obj = obj;
    h->bucket = bucket;
    void *old = NULL;
    if (pmdaCacheLookupName(pm_indom(a, indom), iname, NULL, &old) == PMDA_CACHE_ACTIVE)
        free(old);
    if (cache_add(pm_indom(a, indom), iname, h) < 0)
        free(h);
}

static void on_log(void *arg, const char *what)
{
    (void)arg;
    pmNotifyErr(LOG_WARNING, "bad input (logged once, counted in epics.capture.decode_errors): %s",
                what);
}

struct model_hooks agent_hooks(struct agent *a)
{
    struct model_hooks h = { .added = on_added, .removed = on_removed, .bucket = on_bucket,
                             .log = on_log, .arg = a };
    return h;
}

/* ---- put audit events ---- */

static pmID param_pmid(struct agent *a, int proto, size_t offset)
{
    for (size_t i = 0; i < epics_nmetrics; i++) {
        const struct epics_metric *mt = &epics_metrics[i];
        if (mt->kind == VAL_PARAM && mt->proto == proto && mt->offset == offset)
            return pmID_build((unsigned)a->domain, mt->cluster, mt->item);
    }
    return PM_ID_NULL;
}

static int add_string(struct agent *a, int ea, int proto, size_t off, const char *s)
{
    pmAtomValue v;
    v.cp = (char *)s;
    return s[0] ? pmdaEventAddParam(ea, param_pmid(a, proto, off), PM_TYPE_STRING, &v) : 0;
}

static int put_decoder(int ea, void *buffer, size_t size, struct timeval *tv, void *data)
{
    struct agent *a = data;
    const struct put_record *r = buffer;
    int sts;
    if (size != sizeof(*r))
        return PM_ERR_TYPE;
    if ((sts = pmdaEventAddRecord(ea, tv, PM_EVENT_FLAG_POINT)) < 0)
        return sts;
    if ((sts = add_string(a, ea, r->proto, offsetof(struct put_record, pv), r->pv)) < 0
        || (sts = add_string(a, ea, r->proto, offsetof(struct put_record, value), r->value)) < 0
        || (sts = add_string(a, ea, r->proto, offsetof(struct put_record, type), r->type)) < 0
        || (sts = add_string(a, ea, r->proto, offsetof(struct put_record, client), r->client)) < 0
        || (sts = add_string(a, ea, r->proto, offsetof(struct put_record, server), r->server)) < 0
        || (sts = add_string(a, ea, r->proto, offsetof(struct put_record, user), r->user)) < 0
        || (sts = add_string(a, ea, r->proto, offsetof(struct put_record, status_text),
                             r->status_text)) < 0)
        return sts;
    return 1;
}

void agent_sync(struct agent *a)
{
    struct put_record *r;
    while ((r = model_put_next(&a->engine.model, &a->puts_seen))) {
        struct timeval tv = { (time_t)(r->ts_us / 1000000), (suseconds_t)(r->ts_us % 1000000) };
        if (a->queues[r->proto] >= 0)
            pmdaEventQueueAppend(a->queues[r->proto], r, sizeof(*r), &tv);
    }
    /* a save rewrites a whole cache file: at most every few seconds */
    time_t now = time(NULL);
    if (now - a->last_save >= 10) {
        a->last_save = now;
        for (int i = 0; i < INDOM_COUNT; i++) {
            if (a->culled)      /* frees the culled entries */
                pmdaCacheOp(pm_indom(a, i), PMDA_CACHE_REORG);
            pmdaCacheOp(pm_indom(a, i), PMDA_CACHE_SAVE);
        }
        a->culled = false;
    }
}

/* ---- PMDA callbacks ---- */

static int fetch_value(pmdaMetric *md, unsigned int inst, pmAtomValue *atom)
{
    struct agent *a = the_agent;
    const struct epics_metric *mt = md->m_user;
    void *obj = NULL;
    int bucket = -1;

    if (mt->kind == VAL_EVENT) {
        int q = a->queues[mt->proto], ctx = pmdaGetContext();
        if (q < 0)
            return PMDA_FETCH_NOVALUES;
        pmdaEventSetAccess(ctx, q, 1);
        return pmdaEventQueueRecords(q, atom, ctx, put_decoder, a);
    }
    if (mt->kind == VAL_PARAM)
        return PMDA_FETCH_NOVALUES;     /* only inside event records */
    if (mt->indom != INDOM_NONE) {
        void *priv = NULL;
        if (pmdaCacheLookup(pm_indom(a, mt->indom), inst, NULL, &priv) != PMDA_CACHE_ACTIVE || !priv)
            return PM_ERR_INST;
        if (mt->kind == VAL_HIST) {
            struct hist_ref *h = priv;
            obj = h->obj;
            bucket = h->bucket;
        } else {
            obj = priv;
        }
    } else if (inst != PM_IN_NULL) {
        return PM_ERR_INST;
    }
    int sts = metric_value(mt, &a->engine.model, obj, bucket, atom);
    return sts == 1 ? PMDA_FETCH_STATIC : sts == 0 ? PMDA_FETCH_NOVALUES : sts;
}

static int epics_fetch(int numpmid, pmID *pmids, pmResult **resp, pmdaExt *pmda)
{
    pmdaEventNewClient(pmda->e_context);
    agent_sync(the_agent);
    return pmdaFetch(numpmid, pmids, resp, pmda);
}

static void epics_end_context(int ctx)
{
    pmdaEventEndClient(ctx);
}

int agent_init(struct agent *a)
{
    the_agent = a;
    a->domain = a->dispatch.domain;
    a->metrics = calloc(epics_nmetrics, sizeof(pmdaMetric));
    if (!a->metrics)
        return -ENOMEM;
    for (int i = 0; i < INDOM_COUNT; i++) {
        a->indoms[i].it_indom = pmInDom_build((unsigned)a->domain, (unsigned)i);
        a->indoms[i].it_numinst = 0;
        a->indoms[i].it_set = NULL;
        cull_init(&a->cull[i]);
    }
    for (size_t i = 0; i < epics_nmetrics; i++) {
        const struct epics_metric *mt = &epics_metrics[i];
        pmdaMetric *md = &a->metrics[i];
        md->m_user = (void *)mt;
        md->m_desc.pmid = pmID_build((unsigned)a->domain, mt->cluster, mt->item);
        md->m_desc.type = mt->type;
        md->m_desc.indom = mt->indom == INDOM_NONE ? PM_INDOM_NULL : pm_indom(a, mt->indom);
        md->m_desc.sem = mt->sem;
        md->m_desc.units = metric_units(mt);
    }
    for (int p = 0; p < PROTO_COUNT; p++) {
        a->queues[p] = pmdaEventNewQueue(p == PROTO_CA ? "epics.ca.put" : "epics.pva.put",
                                         1024 * 1024);
        if (a->queues[p] < 0)
            pmNotifyErr(LOG_ERR, "put audit queue: %s", pmErrStr(a->queues[p]));
    }
    a->dispatch.version.any.fetch = epics_fetch;
    pmdaSetFetchCallBack(&a->dispatch, fetch_value);
    pmdaSetEndContextCallBack(&a->dispatch, epics_end_context);
    pmdaSetFlags(&a->dispatch, PMDA_EXT_FLAG_HASHED);
    pmdaInit(&a->dispatch, a->indoms, INDOM_COUNT, a->metrics, (int)epics_nmetrics);
    if (a->dispatch.status != 0)
        return a->dispatch.status;
    for (int i = 0; i < INDOM_COUNT; i++)
        pmdaCacheOp(pm_indom(a, i), PMDA_CACHE_LOAD);
    return 0;
}

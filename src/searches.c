/*
 * searches.c - name searches and the servers they and beacons reveal.
 *
 * A search transaction is a client's search for one name under one id,
 * retries included; it is kept (in m->searches, and by client host and id
 * in m->search_cids for the create that follows) until it times out or, once
 * answered, until the create timeout after its reply, and then counted as
 * answered or not. The model owns the searches; each holds a reference on
 * its PV. Beacons count per server and tell restarts by their sequence or,
 * for pvAccess, by the server's GUID.
 */
#include "modelpriv.h"

#include <stdlib.h>
#include <string.h>

static void search_key(const struct tnode *n, const void **k, size_t *len)
{
    const struct search *s = container_of(n, struct search, by_addr);
    *k = &s->key;
    *len = sizeof(s->key);
}

static void search_cid_key(const struct tnode *n, const void **k, size_t *len)
{
    const struct search *s = container_of(n, struct search, by_cid);
    *k = &s->ckey;
    *len = sizeof(s->ckey);
}

void searches_init(struct model *m)
{
    table_init(&m->searches, m->lim.max_searches, search_key);
    table_init(&m->search_cids, m->lim.max_searches, search_cid_key);
    m->answered.ans_prev = m->answered.ans_next = &m->answered;
}

/* ---- searches ---- */

static void search_end(struct model *m, struct search *s)
{
    if (!s->answered) {
        m->ps[s->key.proto].search_unanswered++;
        if (s->pv)
            s->pv->search_unanswered++;
        struct client *c = model_client(m, s->key.proto, s->key.addr, false);
        if (c)
            c->search_unanswered++;
        if (m->hooks.unanswered)
            m->hooks.unanswered(m->hooks.arg, s->key.proto, s->pv, s->key.addr, NULL);
    }
    if (s->ans_next) {
        s->ans_prev->ans_next = s->ans_next;
        s->ans_next->ans_prev = s->ans_prev;
    }
    if (s->pv)
        s->pv->refs--;
    table_remove(&m->searches, &s->by_addr);
    table_remove(&m->search_cids, &s->by_cid);
    free(s);
}

static struct search *search_find(struct model *m, int proto, struct netaddr caddr, uint16_t cport,
                                  uint32_t cid)
{
    struct search key;
    memset(&key.key, 0, sizeof(key.key));
    key.key.addr = caddr;
    key.key.port = cport;
    key.key.proto = (uint16_t)proto;
    key.key.cid = cid;
    struct tnode *n = table_find(&m->searches, &key.key, sizeof(key.key));
    return n ? container_of(n, struct search, by_addr) : NULL;
}

/* A client sends one round of searches to every address of its list at
 * once; its retries come tens of milliseconds apart at the soonest */
#define SEARCH_ROUND_US 10000

void model_search_request(struct model *m, int proto, struct netaddr caddr, uint16_t cport,
                          uint32_t cid, const char *name, size_t len, uint64_t ts)
{
    struct proto_stats *ps = &m->ps[proto];
    struct pv *pv = model_pv(m, proto, name, len, true);
    ps->search_requests++;
    if (pv)
        pv->searches++;
    struct client *cl = model_client(m, proto, caddr, true);
    if (cl)
        cl->searches++;

    struct search *s = search_find(m, proto, caddr, cport, cid);
    /* a retry of the same transaction; after an answer, the same round
     * still going out to the next servers of an address list */
    if (s && s->pv == pv && (!s->answered || ts - s->last_us < SEARCH_ROUND_US)) {
        s->requests++;
        s->last_us = ts;
        table_touch(&m->searches, &s->by_addr);
        return;
    }
    if (s)
        search_end(m, s);       /* the client reused the id */
    if (table_full(&m->searches)) {
        struct tnode *old = table_oldest(&m->searches);
        search_end(m, container_of(old, struct search, by_addr));
        m->health.searches_evicted++;
    }
    s = calloc(1, sizeof(*s));
    if (!s)
        return;
    s->key.addr = caddr;
    s->key.port = cport;
    s->key.proto = (uint16_t)proto;
    s->key.cid = cid;
    s->ckey.addr = caddr;
    s->ckey.proto = (uint16_t)proto;
    s->ckey.cid = cid;
    s->pv = pv;
    if (pv)
        pv->refs++;
    s->first_us = s->last_us = ts;
    s->requests = 1;
    table_insert(&m->searches, &s->by_addr);
    /* the latest search of (client host, cid) is the one a create will match */
    struct tnode *prev = table_find(&m->search_cids, &s->ckey, sizeof(s->ckey));
    if (prev)
        table_remove(&m->search_cids, prev);
    table_insert(&m->search_cids, &s->by_cid);
}
/* Most PVs have one server: the others take memory only when they come */
static void pv_add_server(struct model *m, struct pv *pv, struct netaddr saddr, uint16_t sport, int proto)
{
    struct endpoint_key k = { saddr, sport, (uint16_t)proto };
    for (uint32_t i = 0; i < pv->nservers && i < PV_SERVERS_TRACKED; i++)
        if (memcmp(model_pv_server(pv, i), &k, sizeof(k)) == 0)
            return;
    if (pv->nservers == 1 && !pv->servers_more
        && !(pv->servers_more = calloc(PV_SERVERS_TRACKED - 1, sizeof(k))))
        return;                 /* not counted as another server: nothing to compare with later */
    if (pv->nservers == 0)
        pv->server_first = k;
    else if (pv->nservers < PV_SERVERS_TRACKED)
        pv->servers_more[pv->nservers - 1] = k;
    pv->nservers++;
    /* the second server makes both duplicates; each later one itself */
    if (pv->nservers >= 2)
        pv_duplicate_count(m, pv, pv->nservers == 2 ? 0 : pv->nservers - 1, 1);
}

struct pv *model_search_reply(struct model *m, int proto, struct netaddr caddr, uint16_t cport,
                              uint32_t cid, struct netaddr saddr, uint16_t sport, uint64_t ts)
{
    struct proto_stats *ps = &m->ps[proto];
    ps->search_replies++;
    model_server(m, proto, saddr, sport, true);         /* learns the port */
    struct search *s = search_find(m, proto, caddr, cport, cid);
    if (!s) {
        ps->search_late_replies++;
        return NULL;
    }
    if (!s->answered) {
        s->answered = true;
        s->answered_us = ts;
        s->ans_prev = m->answered.ans_prev;
        s->ans_next = &m->answered;
        m->answered.ans_prev->ans_next = s;
        m->answered.ans_prev = s;
        model_add_latency(m, OBJ_PV, proto, NULL, &ps->search, ts > s->first_us ? ts - s->first_us : 0);
    }
    if (s->pv)
        pv_add_server(m, s->pv, saddr, sport, proto);
    return s->pv;
}

void model_search_not_found(struct model *m, int proto, struct netaddr caddr, uint16_t cport,
                            uint32_t cid, uint64_t ts)
{
    (void)caddr; (void)cport; (void)cid; (void)ts;
    m->ps[proto].search_not_found++;
}

/* ---- beacons ---- */

/* Count a beacon of s; true for a server's first beacon (nothing to compare) */
static bool beacon_counted_first(struct model *m, int proto, struct server *s, uint32_t seq,
                                 uint64_t ts)
{
    m->ps[proto].beacons++;
    if (!s)
        return true;
    s->beacons++;
    if (s->beacon_seen)
        return false;
    s->beacon_seen = true;
    s->beacon_seq = seq;
    s->beacon_us = ts;
    return true;
}

/* A beacon after the last one: track the period as EPICS clients' beacon
 * anomaly rule does (a change by more than a quarter is an anomaly) */
static void beacon_next(struct server *s, uint32_t seq, uint64_t ts)
{
    double period = (double)(ts - s->beacon_us) / 1e6;
    if (s->beacon_period > 0
        && (period >= s->beacon_period * 1.25 || period <= s->beacon_period * 0.8)) {
        s->beacon_anomalies++;
        s->beacon_period = period;
    } else {
        s->beacon_period = s->beacon_period > 0 ? (s->beacon_period * 3 + period) / 4 : period;
    }
    s->beacon_seq = seq;
    s->beacon_us = ts;
}

void model_beacon(struct model *m, int proto, struct netaddr saddr, uint16_t sport, uint32_t seq,
                  uint64_t ts)
{
    struct server *s = model_server(m, proto, saddr, sport, true);
    if (beacon_counted_first(m, proto, s, seq, ts))
        return;
    double period = (double)(ts - s->beacon_us) / 1e6;
    if (seq < s->beacon_seq && s->beacon_seq - seq < 4 && period < 0.1)
        return;         /* a late copy by another route: no new period, nothing to learn */
    if (seq == s->beacon_seq)
        return;         /* a duplicate (redundant route, or a restarted server's second beacon) */
    if (seq < s->beacon_seq) {
        /* the sequence started again: a new server process, not a late copy */
        s->restarts++;
        s->beacon_anomalies++;
        s->beacon_period = -1;
        s->beacon_seq = seq;
        s->beacon_us = ts;
        return;
    }
    beacon_next(s, seq, ts);
}

bool model_hinted_server(struct model *m, int proto, struct netaddr addr, uint16_t port)
{
    struct endpoint_key key = { addr, port, (uint16_t)proto };
    return m->hints && m->hints->count && table_find(m->hints, &key, sizeof(key));
}

/* The one server known on port (tables: the model's, its hints), or false */
static bool only_server_on(struct model *m, int proto, uint16_t port, struct netaddr *addr)
{
    struct table *t[2] = { &m->servers[proto], m->hints };
    int found = 0;
    for (int k = 0; k < 2 && t[k]; k++) {
        for (struct tnode *n = table_oldest(t[k]); n; n = table_next_newer(t[k], n)) {
            const struct endpoint_key *key = k == 0 ? &container_of(n, struct server, node)->key
                                                    : &container_of(n, struct endpoint_hint, node)->key;
            if (key->port != port || key->proto != proto || (found && netaddr_eq(&key->addr, addr)))
                continue;
            if (found++)
                return false;
            *addr = key->addr;
        }
    }
    return found == 1;
}

void model_beacon_from(struct model *m, int proto, struct netaddr src, uint16_t sport, uint32_t seq,
                       uint64_t ts)
{
    struct netaddr addr = src;
    if (!model_known_server(m, proto, src, sport) && !model_hinted_server(m, proto, src, sport)
        && !only_server_on(m, proto, sport, &addr)) {
        if (m->beacons_learn_nothing) {
            m->ps[proto].beacons++;
            return;
        }
        addr = src;
    }
    model_beacon(m, proto, addr, sport, seq, ts);
}

/* ---- servers identified by a GUID (pvAccess) ---- */

struct server *model_server_guid(struct model *m, int proto, struct netaddr saddr, uint16_t sport,
                                 const uint8_t guid[SERVER_GUID_LEN])
{
    static const uint8_t none[SERVER_GUID_LEN];
    struct server *s = model_server(m, proto, saddr, sport, true);
    if (!s || memcmp(guid, none, SERVER_GUID_LEN) == 0)
        return s;
    if (memcmp(s->guid, none, SERVER_GUID_LEN) != 0 && memcmp(s->guid, guid, SERVER_GUID_LEN) != 0) {
        /* a new process answers at the same address and port */
        s->restarts++;
        s->beacon_anomalies++;
        s->beacon_seen = false;
        s->beacon_period = -1;
    }
    memcpy(s->guid, guid, SERVER_GUID_LEN);
    return s;
}

void model_beacon_guid(struct model *m, int proto, struct netaddr saddr, uint16_t sport,
                       const uint8_t guid[SERVER_GUID_LEN], uint32_t seq, uint64_t ts)
{
    struct server *s = model_server_guid(m, proto, saddr, sport, guid);
    if (beacon_counted_first(m, proto, s, seq, ts))
        return;
    if (seq == s->beacon_seq)
        return;                 /* the same beacon sent to another address */
    beacon_next(s, seq, ts);
}

/* ---- the clock ---- */

void searches_expire(struct model *m, uint64_t now)
{
    /* oldest retry first; past the shorter timeout only the protocol with
     * the longer one can still be waiting, and those are stepped over */
    uint64_t shortest = m->lim.search_timeout_us[0];
    for (int p = 1; p < PROTO_COUNT; p++)
        if (m->lim.search_timeout_us[p] < shortest)
            shortest = m->lim.search_timeout_us[p];
    struct tnode *n = table_oldest(&m->searches);
    while (n) {
        struct search *s = container_of(n, struct search, by_addr);
        struct tnode *next = table_next_newer(&m->searches, n);
        if (s->last_us + shortest > now)
            break;
        if (s->last_us + m->lim.search_timeout_us[s->key.proto] <= now)
            search_end(m, s);
        n = next;
    }
    /* an answered search is kept only for the client's create to find (the
     * search-to-connect time): the create timeout after the reply, so that a
     * connection storm does not fill the table with finished searches */
    while (m->answered.ans_next != &m->answered) {
        struct search *s = m->answered.ans_next;
        if (s->answered_us + m->lim.request_timeout_us > now)
            break;
        search_end(m, s);
    }
}

void searches_end_all(struct model *m)
{
    struct tnode *n;
    while ((n = table_oldest(&m->searches)))
        search_end(m, container_of(n, struct search, by_addr));
}

void searches_free(struct model *m)
{
    searches_end_all(m);
    table_free(&m->searches);
    table_free(&m->search_cids);
}

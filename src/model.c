/*
 * model.c - the state tables behind every metric (see model.h).
 *
 * Ownership: the model owns servers, PVs, clients and searches (in bounded
 * tables), channels (in their circuit's maps) and requests. A circuit
 * belongs to the flow that carries it (engine.c): model_circuit_open hands
 * it over, and model_circuit_close, called when the flow ends, is the one
 * place that frees it. What keeps an object from being expired is counted:
 * a server or client is held by its open `circuits`, a PV by its channels
 * and searches (`refs`).
 */
#include "model.h"
#include "packet.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- table keys ---- */

static void server_key(const struct tnode *n, const void **k, size_t *len)
{
    const struct server *s = container_of(n, struct server, node);
    *k = &s->key;
    *len = sizeof(s->key);
}

static void client_key(const struct tnode *n, const void **k, size_t *len)
{
    const struct client *c = container_of(n, struct client, node);
    *k = &c->key;
    *len = sizeof(c->key);
}

static void pv_key(const struct tnode *n, const void **k, size_t *len)
{
    const struct pv *p = container_of(n, struct pv, node);
    *k = p->name;
    *len = p->namelen;
}

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

void model_default_limits(struct model_limits *lim)
{
    lim->max_servers = 10000;
    lim->max_pvs = 500000;
    lim->max_clients = 10000;
    lim->max_searches = 100000;
    /* subscriptions are requests too and live as long as their channel,
     * so a circuit may hold as many requests as channels */
    lim->max_channels_per_circuit = 100000;
    lim->max_requests_per_circuit = 100000;
    lim->max_channels = 1000000;
    lim->max_requests = 1000000;
    lim->max_buffer_bytes = 256 * 1024 * 1024;
    lim->search_timeout_us[PROTO_CA] = SEARCH_TIMEOUT_CA_S * 1000000ULL;
    lim->search_timeout_us[PROTO_PVA] = SEARCH_TIMEOUT_PVA_S * 1000000ULL;
    lim->request_timeout_us = 10 * 1000000ULL;
    lim->idle_timeout_us = 3600 * 1000000ULL;
}

void model_init(struct model *m, const struct model_limits *lim, const struct model_hooks *hooks)
{
    memset(m, 0, sizeof(*m));
    m->lim = *lim;
    m->health.buffers.max = lim->max_buffer_bytes;
    if (hooks)
        m->hooks = *hooks;
    for (int p = 0; p < PROTO_COUNT; p++) {
        table_init(&m->servers[p], lim->max_servers, server_key);
        table_init(&m->pvs[p], lim->max_pvs, pv_key);
        table_init(&m->clients[p], lim->max_clients, client_key);
    }
    table_init(&m->searches, lim->max_searches, search_key);
    table_init(&m->search_cids, lim->max_searches, search_cid_key);
    m->pending.pend_prev = m->pending.pend_next = &m->pending;
    m->answered.ans_prev = m->answered.ans_next = &m->answered;
}

/* ---- hooks ---- */

static void hook_added(struct model *m, int kind, int proto, void *obj, const char *name)
{
    if (m->hooks.added)
        m->hooks.added(m->hooks.arg, kind, proto, obj, name);
}

static void hook_removed(struct model *m, int kind, int proto, void *obj, const char *name)
{
    if (m->hooks.removed)
        m->hooks.removed(m->hooks.arg, kind, proto, obj, name);
}

/* ---- servers, PVs, clients ---- */

static void free_server(struct model *m, struct server *s)
{
    hook_removed(m, OBJ_SERVER, s->key.proto, s, s->name);
    latency_free(&s->connect);
    model_server_timing_free(s);
    spread_free(&s->connect_spread);
    free(s);
}

/* The PV's servers that are still known count one duplicate PV more or less */
static void pv_duplicate_count(struct model *m, const struct pv *p, uint32_t from, int delta)
{
    for (uint32_t i = from; i < p->nservers && i < PV_SERVERS_TRACKED; i++) {
        const struct endpoint_key *k = model_pv_server(p, i);
        struct server *s = model_server(m, k->proto, k->addr, k->port, false);
        if (s && (delta > 0 || s->duplicate_pvs > 0))
            s->duplicate_pvs += (uint64_t)(int64_t)delta;
    }
}

static void free_pv(struct model *m, struct pv *p)
{
    if (p->nservers >= 2)
        pv_duplicate_count(m, p, 0, -1);
    hook_removed(m, OBJ_PV, p->proto, p, p->name);
    latency_free(&p->connect);
    model_pv_timing_free(p);
    free(p->last_put);
    free(p->servers_more);
    free(p);
}

static void free_client(struct model *m, struct client *c)
{
    hook_removed(m, OBJ_CLIENT, c->key.proto, c, c->name);
    free(c);
}

static uint64_t refs_of(int kind, struct tnode *n)
{
    switch (kind) {
    case OBJ_SERVER: return container_of(n, struct server, node)->circuits;
    case OBJ_PV: return container_of(n, struct pv, node)->refs;
    default: return container_of(n, struct client, node)->circuits;
    }
}

static void free_obj(struct model *m, int kind, struct tnode *n)
{
    switch (kind) {
    case OBJ_SERVER: free_server(m, container_of(n, struct server, node)); break;
    case OBJ_PV: free_pv(m, container_of(n, struct pv, node)); break;
    default: free_client(m, container_of(n, struct client, node)); break;
    }
}

/* Evict the least recently used unreferenced entry of a full table */
static bool make_room(struct model *m, struct table *t, int kind)
{
    int tries = 0;
    for (struct tnode *n = table_oldest(t); n && tries < 256; n = table_next_newer(t, n), tries++) {
        if (refs_of(kind, n) == 0) {
            table_remove(t, n);
            free_obj(m, kind, n);
            m->health.evicted[kind]++;
            return true;
        }
    }
    m->health.untracked[kind]++;
    return false;
}

struct server *model_server(struct model *m, int proto, struct netaddr addr, uint16_t port, bool create)
{
    struct endpoint_key key = { addr, port, (uint16_t)proto };
    struct tnode *n = table_find(&m->servers[proto], &key, sizeof(key));
    if (n) {
        struct server *s = container_of(n, struct server, node);
        s->last_us = m->now_us;
        table_touch(&m->servers[proto], n);
        return s;
    }
    if (!create || (table_full(&m->servers[proto]) && !make_room(m, &m->servers[proto], OBJ_SERVER)))
        return NULL;
    struct server *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->key = key;
    s->ext_id = -1;
    s->last_us = m->now_us;
    s->beacon_period = -1;
    netaddr_format(s->name, sizeof(s->name), &addr, port);
    table_insert(&m->servers[proto], &s->node);
    m->servers_learned++;
    hook_added(m, OBJ_SERVER, proto, s, s->name);
    return s;
}

bool model_known_server(struct model *m, int proto, struct netaddr addr, uint16_t port)
{
    struct endpoint_key key = { addr, port, (uint16_t)proto };
    return table_find(&m->servers[proto], &key, sizeof(key)) != NULL;
}

struct pv *model_pv(struct model *m, int proto, const char *name, size_t len, bool create)
{
    struct tnode *n = table_find(&m->pvs[proto], name, len);
    if (n) {
        struct pv *p = container_of(n, struct pv, node);
        p->last_us = m->now_us;
        table_touch(&m->pvs[proto], n);
        return p;
    }
    if (!create || (table_full(&m->pvs[proto]) && !make_room(m, &m->pvs[proto], OBJ_PV)))
        return NULL;
    struct pv *p = calloc(1, sizeof(*p) + len + 1);
    if (!p)
        return NULL;
    p->proto = (uint16_t)proto;
    p->ext_id = -1;
    p->last_us = m->now_us;
    p->namelen = len;
    memcpy(p->name, name, len);
    p->name[len] = '\0';
    table_insert(&m->pvs[proto], &p->node);
    hook_added(m, OBJ_PV, proto, p, p->name);
    return p;
}

struct pv *model_unknown_pv(struct model *m, struct server *s)
{
    char name[sizeof(UNKNOWN_PV_PREFIX) + ADDR_NAME_MAX];
    if (!s)
        return NULL;
    int len = snprintf(name, sizeof(name), "%s%s", UNKNOWN_PV_PREFIX, s->name);
    struct pv *p = model_pv(m, s->key.proto, name, (size_t)len, true);
    if (p && netaddr_is_unset(&p->server.addr)) {
        p->server = s->key;
        memcpy(p->server_name, s->name, sizeof(p->server_name));
    }
    return p;
}

struct client *model_client(struct model *m, int proto, struct netaddr addr, bool create)
{
    struct endpoint_key key = { addr, 0, (uint16_t)proto };
    struct tnode *n = table_find(&m->clients[proto], &key, sizeof(key));
    if (n) {
        struct client *c = container_of(n, struct client, node);
        c->last_us = m->now_us;
        table_touch(&m->clients[proto], n);
        return c;
    }
    if (!create || (table_full(&m->clients[proto]) && !make_room(m, &m->clients[proto], OBJ_CLIENT)))
        return NULL;
    struct client *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->key = key;
    c->ext_id = -1;
    c->last_us = m->now_us;
    netaddr_format_host(c->name, sizeof(c->name), &addr);
    table_insert(&m->clients[proto], &c->node);
    hook_added(m, OBJ_CLIENT, proto, c, c->name);
    return c;
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

const struct endpoint_key *model_pv_server(const struct pv *pv, uint32_t i)
{
    return i == 0 ? &pv->server_first : &pv->servers_more[i - 1];
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

/* ---- circuits and channels ---- */

struct circuit *model_circuit_open(struct model *m, int proto, struct netaddr caddr, uint16_t cport,
                                   struct netaddr saddr, uint16_t sport, uint64_t ts)
{
    (void)ts;
    struct circuit *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->model = m;
    c->proto = (uint16_t)proto;
    c->client_addr = caddr;
    c->client_port = cport;
    c->server = model_server(m, proto, saddr, sport, true);
    c->client = model_client(m, proto, caddr, true);
    if (c->server) {
        c->server->circuits++;
        c->server->circuits_total++;
    }
    if (c->client) {
        c->client->circuits++;
    }
    c->next = m->circuits;
    if (m->circuits)
        m->circuits->prev = c;
    m->circuits = c;
    m->health.circuits++;
    return c;
}

static void pending_unlink(struct channel *ch)
{
    if (ch->pend_next) {
        ch->pend_prev->pend_next = ch->pend_next;
        ch->pend_next->pend_prev = ch->pend_prev;
        ch->pend_prev = ch->pend_next = NULL;
    }
}

static void channel_free(struct model *m, struct circuit *c, struct channel *ch)
{
    pending_unlink(ch);
    if (ch->open && !ch->stand_in) {
        if (ch->pv && ch->pv->channels)
            ch->pv->channels--;
        if (c->server && c->server->channels)
            c->server->channels--;
        if (c->client && c->client->channels)
            c->client->channels--;
    }
    if (ch->monitors)
        model_monitor_add(c, ch, -(int)ch->monitors);
    if (!ch->stand_in)
        m->health.channels--;
    if (ch->pv) {
        ch->pv->refs--;
        ch->pv->last_us = m->now_us;
    }
    free(ch);
}

static void request_free(struct model *m, struct request *r)
{
    m->health.requests--;
    if (r->data_free)
        r->data_free(r->data);
    else
        free(r->data);
    free(r);
}

static void free_requests(struct model *m, struct idmap *map)
{
    for (size_t i = 0; i < map->size; i++)
        if (map->slots[i].used == 1)
            request_free(m, map->slots[i].val);
    idmap_free(map);
}

void model_circuit_close(struct model *m, struct circuit *c, uint64_t ts)
{
    (void)ts;
    free_requests(m, &c->requests);
    free_requests(m, &c->subs);
    /* every channel is in by_cid or, when only its sid is known, in by_sid */
    for (size_t i = 0; i < c->by_sid.size; i++) {
        struct channel *ch = c->by_sid.slots[i].val;
        if (c->by_sid.slots[i].used == 1 && !(ch->cid_known && idmap_get(&c->by_cid, ch->cid) == ch))
            channel_free(m, c, ch);
    }
    for (size_t i = 0; i < c->by_cid.size; i++)
        if (c->by_cid.slots[i].used == 1)
            channel_free(m, c, c->by_cid.slots[i].val);
    idmap_free(&c->by_cid);
    idmap_free(&c->by_sid);
    if (c->unknown)
        channel_free(m, c, c->unknown);
    if (c->pstate_free)
        c->pstate_free(c->pstate);
    if (c->server) {
        c->server->circuits--;
        c->server->last_us = m->now_us;
    }
    if (c->client) {
        c->client->circuits--;
        c->client->last_us = m->now_us;
    }
    if (c->prev)
        c->prev->next = c->next;
    else
        m->circuits = c->next;
    if (c->next)
        c->next->prev = c->prev;
    m->health.circuits--;
    free(c);
}

static struct channel *channel_new(struct model *m, struct circuit *c, struct pv *pv)
{
    if (c->nchannels >= m->lim.max_channels_per_circuit ||
        m->health.channels >= m->lim.max_channels) {
        m->health.channels_untracked++;
        return NULL;
    }
    struct channel *ch = calloc(1, sizeof(*ch));
    if (!ch)
        return NULL;
    m->health.channels++;
    ch->circuit = c;
    ch->pv = pv;
    if (pv)
        pv->refs++;
    c->nchannels++;
    return ch;
}

static void channel_unmap(struct circuit *c, struct channel *ch)
{
    if (ch->cid_known && idmap_get(&c->by_cid, ch->cid) == ch)
        idmap_del(&c->by_cid, ch->cid);
    if (ch->sid_known && idmap_get(&c->by_sid, ch->sid) == ch)
        idmap_del(&c->by_sid, ch->sid);
    c->nchannels--;
}

/* A channel closed, replaced by a new one with its id, or whose creation
 * failed: everything that names it goes with it (requests, subscriptions,
 * maps, the pending-create queue) before it is freed */
static void channel_remove(struct model *m, struct circuit *c, struct channel *ch)
{
    while (ch->requests)
        model_request_del(c, ch->requests->map, ch->requests);
    channel_unmap(c, ch);
    channel_free(m, c, ch);
}

struct channel *model_create_request(struct model *m, struct circuit *c, uint32_t cid,
                                     const char *name, size_t len, uint64_t ts)
{
    struct pv *pv = model_pv(m, c->proto, name, len, true);
    struct channel *old = idmap_get(&c->by_cid, cid);
    if (old) {
        /* the id was reused: the old channel is gone */
        channel_remove(m, c, old);
    }
    struct channel *ch = channel_new(m, c, pv);
    if (!ch)
        return NULL;
    ch->cid = cid;
    ch->cid_known = true;
    ch->request_us = ts;
    if (idmap_put(&c->by_cid, cid, ch) < 0) {
        c->nchannels--;
        channel_free(m, c, ch);
        return NULL;
    }
    struct search key;
    memset(&key.ckey, 0, sizeof(key.ckey));
    key.ckey.addr = c->client_addr;
    key.ckey.proto = c->proto;
    key.ckey.cid = cid;
    struct tnode *n = table_find(&m->search_cids, &key.ckey, sizeof(key.ckey));
    if (n) {
        struct search *s = container_of(n, struct search, by_cid);
        if (s->pv == pv && s->first_us <= ts)
            ch->search_us = s->first_us;
    }
    /* queue for the unanswered-create timeout */
    ch->pend_prev = m->pending.pend_prev;
    ch->pend_next = &m->pending;
    m->pending.pend_prev->pend_next = ch;
    m->pending.pend_prev = ch;
    return ch;
}

struct channel *model_create_reply(struct model *m, struct circuit *c, uint32_t cid, uint32_t sid,
                                   uint64_t ts)
{
    struct channel *ch = idmap_get(&c->by_cid, cid);
    if (!ch) {
        /* joined after the request: the name is unknown */
        ch = channel_new(m, c, c->server ? model_unknown_pv(m, c->server) : NULL);
        if (!ch)
            return NULL;
        ch->cid = cid;
        ch->cid_known = true;
        if (idmap_put(&c->by_cid, cid, ch) < 0) {
            c->nchannels--;
            channel_free(m, c, ch);
            return NULL;
        }
    }
    if (ch->open)
        return ch;              /* a duplicate reply */
    pending_unlink(ch);
    ch->open = true;
    ch->sid = sid;
    ch->sid_known = true;
    idmap_put(&c->by_sid, sid, ch);
    struct pv *pv = ch->pv;
    if (pv) {
        pv->connects++;
        pv->channels++;
        if (c->server) {
            pv->server = c->server->key;
            memcpy(pv->server_name, c->server->name, sizeof(pv->server_name));
        }
    }
    if (c->server) {
        c->server->connects++;
        c->server->channels++;
    }
    if (c->client)
        c->client->channels++;
    uint64_t us = 0;
    if (ch->request_us) {
        uint64_t start = ch->search_us ? ch->search_us : ch->request_us;
        us = ts > start ? ts - start : 0;
        if (pv)
            model_add_latency(m, OBJ_PV, c->proto, pv, &pv->connect, us);
        if (c->server) {
            model_add_latency(m, OBJ_SERVER, c->proto, c->server, &c->server->connect, us);
            spread_add(&c->server->connect_spread, us);
        }
    }
    if (m->hooks.connected)
        m->hooks.connected(m->hooks.arg, c->proto, pv, c->server, ts, us, ch->request_us != 0);
    return ch;
}

void model_create_failed(struct model *m, struct circuit *c, uint32_t cid, uint64_t ts)
{
    (void)ts;
    struct channel *ch = idmap_get(&c->by_cid, cid);
    if (c->server)
        c->server->connect_fails++;
    if (ch && ch->pv)
        ch->pv->connect_fails++;
    if (ch && !ch->open)
        channel_remove(m, c, ch);
}

void model_channel_close(struct model *m, struct circuit *c, struct channel *ch)
{
    if (!ch || ch->stand_in)
        return;
    channel_remove(m, c, ch);
}

struct channel *model_channel_by_cid(struct circuit *c, uint32_t cid)
{
    return idmap_get(&c->by_cid, cid);
}

struct channel *model_unknown_channel(struct model *m, struct circuit *c)
{
    if (!c->unknown) {
        c->unknown = calloc(1, sizeof(*c->unknown));
        if (!c->unknown)
            return NULL;
        c->unknown->circuit = c;
        c->unknown->stand_in = true;
        c->unknown->open = true;
        c->unknown->pv = c->server ? model_unknown_pv(m, c->server) : NULL;
        if (c->unknown->pv)
            c->unknown->pv->refs++;
    }
    return c->unknown;
}

struct channel *model_channel_by_sid_or_unknown(struct model *m, struct circuit *c, uint32_t sid)
{
    struct channel *ch = idmap_get(&c->by_sid, sid);
    return ch ? ch : model_unknown_channel(m, c);
}

struct request *model_request_add(struct model *m, struct circuit *c, struct idmap *map,
                                  uint32_t id, struct channel *ch, uint8_t kind, uint64_t ts)
{
    struct request *old = idmap_get(map, id);
    if (old)
        model_request_del(c, map, old);
    if (map->count >= m->lim.max_requests_per_circuit ||
        m->health.requests >= m->lim.max_requests) {
        m->health.requests_untracked++;
        return NULL;
    }
    struct request *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    m->health.requests++;
    r->id = id;
    r->kind = kind;
    r->sent_us = ts;
    r->map = map;
    if (idmap_put(map, id, r) < 0) {
        m->health.requests--;
        free(r);
        return NULL;
    }
    if (ch) {
        r->channel = ch;
        r->ch_next = ch->requests;
        if (ch->requests)
            ch->requests->ch_prev = r;
        ch->requests = r;
    }
    return r;
}

void model_request_del(struct circuit *c, struct idmap *map, struct request *r)
{
    if (idmap_get(map, r->id) == r)
        idmap_del(map, r->id);
    if (r->channel) {
        if (r->ch_prev)
            r->ch_prev->ch_next = r->ch_next;
        else
            r->channel->requests = r->ch_next;
        if (r->ch_next)
            r->ch_next->ch_prev = r->ch_prev;
    }
    request_free(c->model, r);
}

/* ---- accounting ---- */

void model_circuit_bytes(struct model *m, struct circuit *c, int dir, uint64_t n)
{
    (void)m;
    if (c->server)
        *(dir == 0 ? &c->server->bytes_in : &c->server->bytes_out) += n;
    if (c->client)
        *(dir == 0 ? &c->client->bytes_in : &c->client->bytes_out) += n;
}

void model_channel_bytes(struct circuit *c, struct channel *ch, int dir, uint64_t n)
{
    (void)c;
    if (ch && ch->pv)
        *(dir == 0 ? &ch->pv->bytes_in : &ch->pv->bytes_out) += n;
}

void model_monitor_update(struct circuit *c, struct channel *ch)
{
    if (c->server)
        c->server->monitor_updates++;
    if (ch && ch->pv)
        ch->pv->monitor_updates++;
}

void model_monitor_overrun(struct circuit *c, struct channel *ch)
{
    if (c->server)
        c->server->monitor_overruns++;
    if (ch && ch->pv)
        ch->pv->monitor_overruns++;
}

void model_monitor_add(struct circuit *c, struct channel *ch, int delta)
{
    if (!ch)
        return;
    if (delta < 0 && (uint32_t)-delta > ch->monitors)
        delta = -(int)ch->monitors;
    ch->monitors += (uint32_t)delta;
    if (ch->pv)
        ch->pv->monitors += (uint64_t)(int64_t)delta;
    if (c->server)
        c->server->monitors += (uint64_t)(int64_t)delta;
}

void model_bad_input(struct model *m, const char *what)
{
    m->health.decode_errors++;
    for (size_t i = 0; i < sizeof(m->logged) / sizeof(m->logged[0]); i++) {
        if (m->logged[i] == what)
            return;
        if (!m->logged[i]) {
            m->logged[i] = what;
            if (m->hooks.log)
                m->hooks.log(m->hooks.arg, what);
            return;
        }
    }
}

void model_count_op(struct circuit *c, struct channel *ch, enum model_op op)
{
    struct pv *pv = ch ? ch->pv : NULL;
    struct server *s = c->server;
    uint64_t *pc = NULL, *sc = NULL;
    switch (op) {
    case OP_READ: pc = pv ? &pv->reads : NULL; sc = s ? &s->reads : NULL; break;
    case OP_WRITE: pc = pv ? &pv->writes : NULL; sc = s ? &s->writes : NULL; break;
    case OP_GET: pc = pv ? &pv->gets : NULL; sc = s ? &s->gets : NULL; break;
    case OP_PUT: pc = pv ? &pv->puts : NULL; sc = s ? &s->puts : NULL; break;
    case OP_RPC: pc = pv ? &pv->rpcs : NULL; sc = s ? &s->rpcs : NULL; break;
    }
    if (pc)
        (*pc)++;
    if (sc)
        (*sc)++;
}

void model_stream_bytes(void *circuit, int dir, size_t len)
{
    struct circuit *c = circuit;
    model_circuit_bytes(c->model, c, dir, len);
}

void model_stream_gap(void *circuit, int dir)
{
    (void)dir;
    struct circuit *c = circuit;
    c->model->health.stream_gaps++;
}

void model_put_start(struct put_record *r, const struct circuit *c, const struct channel *ch,
                     int32_t status, bool has_status, uint64_t ts)
{
    memset(r, 0, sizeof(*r));
    r->ts_us = ts;
    r->proto = c->proto;
    r->status = status;
    r->has_status = has_status;
    snprintf(r->pv, sizeof(r->pv), "%s", ch && ch->pv ? ch->pv->name : "");
    netaddr_format(r->client, sizeof(r->client), &c->client_addr, c->client_port);
    snprintf(r->server, sizeof(r->server), "%s", c->server ? c->server->name : "");
    if (c->user[0] || c->host[0])
        snprintf(r->user, sizeof(r->user), "%s@%s", c->user, c->host);
    if (has_status)
        model_status_text(r->status_text, sizeof(r->status_text), c->proto, status, NULL);
}

void model_put_record(struct model *m, struct pv *pv, const struct put_record *r)
{
    m->puts[m->puts_next % PUT_RING] = *r;
    m->puts_next++;
    m->put_count[r->proto]++;
    if (pv && !pv->last_put)
        pv->last_put = malloc(sizeof(*pv->last_put));
    if (pv && pv->last_put)
        *pv->last_put = *r;
}

struct put_record *model_put_next(struct model *m, uint64_t *seen)
{
    if (m->puts_next - *seen > PUT_RING) {
        m->health.put_records_lost += m->puts_next - *seen - PUT_RING;
        *seen = m->puts_next - PUT_RING;
    }
    if (*seen == m->puts_next)
        return NULL;
    return &m->puts[(*seen)++ % PUT_RING];
}

void model_pv_server_list(const struct pv *pv, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (uint32_t i = 0; i < pv->nservers && i < PV_SERVERS_TRACKED && used < size; i++) {
        char one[ADDR_NAME_MAX];
        const struct endpoint_key *k = model_pv_server(pv, i);
        netaddr_format(one, sizeof(one), &k->addr, k->port);
        int n = snprintf(buf + used, size - used, "%s%s", i ? " " : "", one);
        if (n < 0)
            break;
        used += (size_t)n;
    }
    if (pv->nservers > PV_SERVERS_TRACKED && used < size)
        snprintf(buf + used, size - used, " +%u more", pv->nservers - PV_SERVERS_TRACKED);
}

static void copy_printable(char *dst, size_t size, const char *src, size_t len)
{
    size_t j = 0;
    for (size_t i = 0; i < len && src[i] && j + 1 < size; i++)
        dst[j++] = (src[i] >= 0x20 && src[i] < 0x7f) ? src[i] : '?';
    dst[j] = '\0';
}

void model_client_strings(struct circuit *c, const char *host, size_t hlen, const char *user,
                          size_t ulen)
{
    if (host)
        copy_printable(c->host, sizeof(c->host), host, hlen);
    if (user)
        copy_printable(c->user, sizeof(c->user), user, ulen);
    if (!c->client)
        return;
    if (host)
        snprintf(c->client->host, sizeof(c->client->host), "%s", c->host);
    if (user)
        snprintf(c->client->user, sizeof(c->client->user), "%s", c->user);
}

/* ---- time ---- */

static void expire_idle(struct model *m, struct table *t, int kind, uint64_t now)
{
    int budget = 1024;      /* bounded work per tick; the rest waits for the next */
    struct tnode *n;
    while ((n = table_oldest(t)) && budget-- > 0) {
        uint64_t last;
        switch (kind) {
        case OBJ_SERVER: last = container_of(n, struct server, node)->last_us; break;
        case OBJ_PV: last = container_of(n, struct pv, node)->last_us; break;
        default: last = container_of(n, struct client, node)->last_us; break;
        }
        if (last + m->lim.idle_timeout_us > now)
            break;
        if (refs_of(kind, n)) {
            table_touch(t, n);  /* in use: look again after a full round */
            continue;
        }
        table_remove(t, n);
        free_obj(m, kind, n);
        m->health.expired[kind]++;
    }
}

static void create_unanswered(struct channel *ch)
{
    struct circuit *c = ch->circuit;
    pending_unlink(ch);
    if (c->server)
        c->server->connect_unanswered++;
    struct model *m = c->model;
    if (m->hooks.unanswered)
        m->hooks.unanswered(m->hooks.arg, c->proto, ch->pv, c->client_addr, c->server);
}

void model_tick(struct model *m, uint64_t now)
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
    while (m->pending.pend_next != &m->pending) {
        struct channel *ch = m->pending.pend_next;
        if (ch->request_us + m->lim.request_timeout_us > now)
            break;
        create_unanswered(ch);
    }
    for (int p = 0; p < PROTO_COUNT; p++) {
        expire_idle(m, &m->servers[p], OBJ_SERVER, now);
        expire_idle(m, &m->pvs[p], OBJ_PV, now);
        expire_idle(m, &m->clients[p], OBJ_CLIENT, now);
    }
}

void model_finish(struct model *m)
{
    struct tnode *n;
    while ((n = table_oldest(&m->searches)))
        search_end(m, container_of(n, struct search, by_addr));
    while (m->pending.pend_next != &m->pending)
        create_unanswered(m->pending.pend_next);
    m->eof = true;
}

void model_free(struct model *m)
{
    struct tnode *n;
    while ((n = table_oldest(&m->searches)))
        search_end(m, container_of(n, struct search, by_addr));
    for (int p = 0; p < PROTO_COUNT; p++) {
        struct table *ts[3] = { &m->servers[p], &m->pvs[p], &m->clients[p] };
        for (int k = 0; k < 3; k++) {
            while ((n = table_oldest(ts[k]))) {
                table_remove(ts[k], n);
                free_obj(m, k, n);
            }
            table_free(ts[k]);
        }
        latency_free(&m->ps[p].search);
    }
    table_free(&m->searches);
    table_free(&m->search_cids);
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

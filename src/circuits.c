/*
 * circuits.c - TCP circuits, the channels and requests on them, and what
 * they count for their server, client and PVs.
 *
 * A circuit belongs to the flow that carries it (engine.c):
 * model_circuit_open hands it over, and model_circuit_close, called when
 * the flow ends, is the one place that frees it, with its channels (in the
 * circuit's id maps) and requests. An open circuit holds a reference on its
 * server and client, a channel one on its PV. Channels whose create request
 * awaits its reply are queued in m->pending, oldest first, for the create
 * timeout.
 */
#include "modelpriv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
        c->server->refs++;
    }
    if (c->client) {
        c->client->circuits++;
        c->client->refs++;
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
        c->server->refs--;
        c->server->last_us = m->now_us;
    }
    if (c->client) {
        c->client->circuits--;
        c->client->refs--;
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

/* A channel or request, zeroed, when there is room for one more on the
 * circuit (here of max_here) and over all circuits (*all of max_all, which
 * counts it); what finds no room is counted in untracked */
static void *tracked_alloc(size_t size, size_t here, size_t max_here, uint64_t *all, size_t max_all,
                           uint64_t *untracked)
{
    if (here >= max_here || *all >= max_all) {
        (*untracked)++;
        return NULL;
    }
    void *p = calloc(1, size);
    if (p)
        (*all)++;
    return p;
}

/* A channel of pv known by its client's id, in the circuit's map */
static struct channel *channel_new(struct model *m, struct circuit *c, struct pv *pv, uint32_t cid)
{
    struct channel *ch = tracked_alloc(sizeof(*ch), c->nchannels, m->lim.max_channels_per_circuit,
                                       &m->health.channels, m->lim.max_channels,
                                       &m->health.channels_untracked);
    if (!ch)
        return NULL;
    c->nchannels++;
    ch->circuit = c;
    ch->pv = pv;
    if (pv)
        pv->refs++;
    ch->cid = cid;
    ch->cid_known = true;
    if (idmap_put(&c->by_cid, cid, ch) < 0) {
        c->nchannels--;
        channel_free(m, c, ch);
        return NULL;
    }
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
    struct channel *ch = channel_new(m, c, pv, cid);
    if (!ch)
        return NULL;
    ch->request_us = ts;
    ch->search_us = search_first_us(m, c->proto, c->client_addr, cid, pv, ts);
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
        ch = channel_new(m, c, c->server ? model_unknown_pv(m, c->server) : NULL, cid);
        if (!ch)
            return NULL;
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
    struct request *r = tracked_alloc(sizeof(*r), map->count, m->lim.max_requests_per_circuit,
                                      &m->health.requests, m->lim.max_requests,
                                      &m->health.requests_untracked);
    if (!r)
        return NULL;
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

/* ---- create requests awaiting replies ---- */

void creates_init(struct model *m)
{
    m->pending.pend_prev = m->pending.pend_next = &m->pending;
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

void creates_expire(struct model *m, uint64_t now)
{
    while (m->pending.pend_next != &m->pending) {
        struct channel *ch = m->pending.pend_next;
        if (ch->request_us + m->lim.request_timeout_us > now)
            break;
        create_unanswered(ch);
    }
}

void creates_end_all(struct model *m)
{
    while (m->pending.pend_next != &m->pending)
        create_unanswered(m->pending.pend_next);
}

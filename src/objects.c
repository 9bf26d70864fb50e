/*
 * objects.c - servers, PVs and clients in the model's bounded tables.
 *
 * One find-or-create serves every kind: look the key up; else make room by
 * evicting the least recently used unreferenced object of that table
 * (counted), allocate, let the kind fill in its own fields, insert, and
 * tell the exporter (hooks.added). What differs per kind is a row of
 * `kinds`: its size, its table, its key and how it is set up and released.
 * The model owns these objects; a server or client is held by its open
 * circuits and a PV by its channels and searches (the header's refs), and
 * only what nothing holds is evicted or, idle for idle_timeout, expired.
 */
#include "modelpriv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- per kind ---- */

static void endpoint_key_of(const struct tnode *n, const void **k, size_t *len)
{
    /* servers and clients both have their endpoint right after the header */
    const struct server *s = container_of(n, struct server, node);
    *k = &s->key;
    *len = sizeof(s->key);
}

static void pv_key(const struct tnode *n, const void **k, size_t *len)
{
    const struct pv *p = container_of(n, struct pv, node);
    *k = p->name;
    *len = p->namelen;
}

static void server_init(struct model *m, struct object *o, const void *key, size_t len)
{
    struct server *s = (struct server *)o;
    (void)len;
    s->key = *(const struct endpoint_key *)key;
    s->beacon_period = -1;
    netaddr_format(s->name, sizeof(s->name), &s->key.addr, s->key.port);
    m->servers_learned++;
}

static void pv_init(struct model *m, struct object *o, const void *key, size_t len)
{
    struct pv *p = (struct pv *)o;
    (void)m;
    p->namelen = len;
    memcpy(p->name, key, len);
    p->name[len] = '\0';
}

static void client_init(struct model *m, struct object *o, const void *key, size_t len)
{
    struct client *c = (struct client *)o;
    (void)m; (void)len;
    c->key = *(const struct endpoint_key *)key;
    netaddr_format_host(c->name, sizeof(c->name), &c->key.addr);
}

static void server_release(struct model *m, struct object *o)
{
    struct server *s = (struct server *)o;
    (void)m;
    latency_free(&s->connect);
    model_server_timing_free(s);
    spread_free(&s->connect_spread);
}

static void pv_release(struct model *m, struct object *o)
{
    struct pv *p = (struct pv *)o;
    if (p->nservers >= 2)
        pv_duplicate_count(m, p, 0, -1);
    latency_free(&p->connect);
    model_pv_timing_free(p);
    free(p->last_put);
    free(p->servers_more);
}

static const struct kind {
    size_t size;                /* without the name when the key is the name */
    size_t tables;              /* offset of its tables (one per protocol) in struct model */
    size_t name_off;
    bool key_is_name;           /* the name follows the object */
    table_key_fn key;
    void (*init)(struct model *m, struct object *o, const void *key, size_t len);
    void (*release)(struct model *m, struct object *o);     /* what the object holds, or NULL */
} kinds[OBJ_KINDS] = {
    [OBJ_SERVER] = { sizeof(struct server), offsetof(struct model, servers),
                     offsetof(struct server, name), false, endpoint_key_of, server_init, server_release },
    [OBJ_PV] = { sizeof(struct pv), offsetof(struct model, pvs),
                 offsetof(struct pv, name), true, pv_key, pv_init, pv_release },
    [OBJ_CLIENT] = { sizeof(struct client), offsetof(struct model, clients),
                     offsetof(struct client, name), false, endpoint_key_of, client_init, NULL },
};

/* endpoint_key_of reads a client's key where a server's is */
_Static_assert(offsetof(struct server, key) == offsetof(struct client, key), "endpoint key offsets");

struct table *model_table(struct model *m, int kind, int proto)
{
    return (struct table *)((char *)m + kinds[kind].tables) + proto;
}

void objects_init(struct model *m)
{
    const size_t cap[OBJ_KINDS] = { m->lim.max_servers, m->lim.max_pvs, m->lim.max_clients };
    for (int k = 0; k < OBJ_KINDS; k++)
        for (int p = 0; p < PROTO_COUNT; p++)
            table_init(model_table(m, k, p), cap[k], kinds[k].key);
}

/* ---- the life of an object ---- */

static void object_free(struct model *m, struct object *o)
{
    if (m->hooks.removed)
        m->hooks.removed(m->hooks.arg, o->kind, o->proto, o, object_name(o));
    if (kinds[o->kind].release)
        kinds[o->kind].release(m, o);
    free(o);
}

/* Evict the least recently used unreferenced entry of a full table */
static bool make_room(struct model *m, struct table *t, int kind)
{
    int tries = 0;
    for (struct tnode *n = table_oldest(t); n && tries < 256; n = table_next_newer(t, n), tries++) {
        if (object_of(n)->refs == 0) {
            table_remove(t, n);
            object_free(m, object_of(n));
            m->health.evicted[kind]++;
            return true;
        }
    }
    m->health.untracked[kind]++;
    return false;
}

/* The object of kind and protocol with that key, marked used; when there is
 * none and create is set, a new one (NULL when the table is full of
 * referenced objects or memory is short). Inlined into each kind's entry
 * point, where kind is a constant and its row of `kinds` folds away: a
 * lookup costs what it did when each kind had its own copy. */
static inline __attribute__((always_inline))
struct object *object_get(struct model *m, int kind, int proto, const void *key, size_t len, bool create)
{
    const struct kind *k = &kinds[kind];
    struct table *t = model_table(m, kind, proto);
    struct tnode *n = table_find(t, key, len);
    if (n) {
        struct object *o = object_of(n);
        o->last_us = m->now_us;
        table_touch(t, n);
        return o;
    }
    if (!create || (table_full(t) && !make_room(m, t, kind)))
        return NULL;
    struct object *o = calloc(1, k->size + (k->key_is_name ? len + 1 : 0));
    if (!o)
        return NULL;
    o->kind = (uint8_t)kind;
    o->proto = (uint16_t)proto;
    o->ext_id = -1;
    o->name_off = (uint16_t)k->name_off;
    o->last_us = m->now_us;
    k->init(m, o, key, len);
    table_insert(t, &o->node);
    if (m->hooks.added)
        m->hooks.added(m->hooks.arg, kind, proto, o, object_name(o));
    return o;
}

void objects_expire(struct model *m, uint64_t now)
{
    for (int p = 0; p < PROTO_COUNT; p++) {
        for (int kind = 0; kind < OBJ_KINDS; kind++) {
            struct table *t = model_table(m, kind, p);
            int budget = 1024;      /* bounded work per tick; the rest waits for the next */
            struct tnode *n;
            while ((n = table_oldest(t)) && budget-- > 0) {
                struct object *o = object_of(n);
                if (o->last_us + m->lim.idle_timeout_us > now)
                    break;
                if (o->refs) {
                    table_touch(t, n);  /* in use: look again after a full round */
                    continue;
                }
                table_remove(t, n);
                object_free(m, o);
                m->health.expired[kind]++;
            }
        }
    }
}

void objects_free(struct model *m)
{
    for (int p = 0; p < PROTO_COUNT; p++) {
        for (int kind = 0; kind < OBJ_KINDS; kind++) {
            struct table *t = model_table(m, kind, p);
            struct tnode *n;
            while ((n = table_oldest(t))) {
                table_remove(t, n);
                object_free(m, object_of(n));
            }
            table_free(t);
        }
    }
}

/* ---- each kind ---- */

struct server *model_server(struct model *m, int proto, struct netaddr addr, uint16_t port, bool create)
{
    struct endpoint_key key = { addr, port, (uint16_t)proto };
    return (struct server *)object_get(m, OBJ_SERVER, proto, &key, sizeof(key), create);
}

bool model_known_server(struct model *m, int proto, struct netaddr addr, uint16_t port)
{
    struct endpoint_key key = { addr, port, (uint16_t)proto };
    return table_find(&m->servers[proto], &key, sizeof(key)) != NULL;
}

struct pv *model_pv(struct model *m, int proto, const char *name, size_t len, bool create)
{
    return (struct pv *)object_get(m, OBJ_PV, proto, name, len, create);
}

struct client *model_client(struct model *m, int proto, struct netaddr addr, bool create)
{
    struct endpoint_key key = { addr, 0, (uint16_t)proto };
    return (struct client *)object_get(m, OBJ_CLIENT, proto, &key, sizeof(key), create);
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

/* ---- the servers of a PV ---- */

const struct endpoint_key *model_pv_server(const struct pv *pv, uint32_t i)
{
    return i == 0 ? &pv->server_first : &pv->servers_more[i - 1];
}

/* The PV's servers that are still known count one duplicate PV more or less */
void pv_duplicate_count(struct model *m, const struct pv *p, uint32_t from, int delta)
{
    for (uint32_t i = from; i < p->nservers && i < PV_SERVERS_TRACKED; i++) {
        const struct endpoint_key *k = model_pv_server(p, i);
        struct server *s = model_server(m, k->proto, k->addr, k->port, false);
        if (s && (delta > 0 || s->duplicate_pvs > 0))
            s->duplicate_pvs += (uint64_t)(int64_t)delta;
    }
}

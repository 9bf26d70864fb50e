/*
 * netbuild.c - unit-test helpers that need the check library or look into
 * the model (see netbuild.h); the frames themselves come from frames.c.
 */
#include "netbuild.h"

#include <check.h>

#include <stdlib.h>
#include <string.h>

void nb_engine_free(struct engine *e)
{
    engine_free(e);
    /* every buffer charged to the budget was given back */
    ck_assert_uint_eq(e->model.health.buffers.used, 0);
    free(e);
}

struct pv *nb_pv(struct engine *e, int proto, const char *name)
{
    struct tnode *n = table_find(&e->model.pvs[proto], name, strlen(name));
    return n ? container_of(n, struct pv, node) : NULL;
}

struct server *nb_server(struct engine *e, int proto, uint32_t addr, uint16_t port)
{
    struct endpoint_key k = { netaddr_v4(addr), port, (uint16_t)proto };
    struct tnode *n = table_find(&e->model.servers[proto], &k, sizeof(k));
    return n ? container_of(n, struct server, node) : NULL;
}

struct client *nb_client(struct engine *e, int proto, uint32_t addr)
{
    struct endpoint_key k = { netaddr_v4(addr), 0, (uint16_t)proto };
    struct tnode *n = table_find(&e->model.clients[proto], &k, sizeof(k));
    return n ? container_of(n, struct client, node) : NULL;
}

uint32_t nb_rand(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return (uint32_t)((x * 2685821657736338717ULL) >> 32);
}

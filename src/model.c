/*
 * model.c - the model as a whole: its limits, its start and end, and the
 * clock that expires what waited too long (see model.h).
 *
 * The model is in pieces of one job each (modelpriv.h lists them), each
 * owning what it keeps: objects.c the servers, PVs and clients, searches.c
 * the search transactions, puts.c the put ring. circuits.c owns no circuit
 * (each belongs to the flow that carries it, engine.c) but frees it, with
 * its channels and requests, when the flow closes it. model_tick lets each
 * piece expire its share in turn.
 */
#include "modelpriv.h"

#include <string.h>

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
    objects_init(m);
    searches_init(m);
    creates_init(m);
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

void model_tick(struct model *m, uint64_t now)
{
    searches_expire(m, now);
    creates_expire(m, now);
    objects_expire(m, now);
}

void model_finish(struct model *m)
{
    searches_end_all(m);
    creates_end_all(m);
    m->eof = true;
}

void model_free(struct model *m)
{
    searches_free(m);
    objects_free(m);
    for (int p = 0; p < PROTO_COUNT; p++)
        latency_free(&m->ps[p].search);
}

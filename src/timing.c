/*
 * timing.c - how long exchanges take and how old updates are when they pass.
 *
 * The decoders pair what they see (a request with its reply, a client ECHO
 * with the server's next ECHO, an update with the time stamp it carries) and
 * report samples here; the samples go to the circuit's server and to the
 * PV of the request's channel. Per server they are kept inline (servers are
 * few). A PV's request latencies are in a struct pv_timing allocated at its
 * first sample, so the many PVs that never see one cost a pointer; its
 * update ages are three counters beside those every update touches (no
 * histogram: a record of their own would cost a cache miss per update,
 * measured at a third more decoding time). Histograms are sparse
 * (hist.h) and the histograms of one object share its bucket instances
 * (model_bucket_users).
 *
 * Definitions (../shared/captures/README.md): a sample is t(reply) -
 * t(request) in whole microseconds, t being the capture time of the frame
 * holding a message's last byte; an update's age is its frame time minus
 * its stamp, and an age below 0 (the server's clock ahead) is counted apart.
 */
#include "model.h"

#include <stdlib.h>

static struct pv_timing *pv_timing(struct pv *pv)
{
    if (!pv->timing)
        pv->timing = calloc(1, sizeof(*pv->timing));
    return pv->timing;
}

void model_op_latency(struct model *m, struct circuit *c, struct channel *ch, enum op_latency op,
                      uint64_t sent_us, uint64_t ts)
{
    uint64_t us = ts > sent_us ? ts - sent_us : 0;
    struct pv_timing *t;
    if (c->server)
        model_add_latency(m, OBJ_SERVER, c->proto, c->server, &c->server->op_latency[op], us);
    if (ch && ch->pv && (t = pv_timing(ch->pv)))
        model_add_latency(m, OBJ_PV, c->proto, ch->pv, &t->op_latency[op], us);
}

void model_echo_request(struct circuit *c, uint64_t ts)
{
    struct echo_fifo *f = &c->echo;
    if (f->n == ECHO_PENDING) {         /* unanswered for long: forget the oldest */
        f->head = (uint8_t)((f->head + 1) % ECHO_PENDING);
        f->n--;
    }
    f->sent_us[(f->head + f->n) % ECHO_PENDING] = ts;
    f->n++;
}

void model_echo_reply(struct model *m, struct circuit *c, uint64_t ts)
{
    struct echo_fifo *f = &c->echo;
    if (!f->n)
        return;                         /* nothing pending: not an answer */
    uint64_t sent = f->sent_us[f->head];
    f->head = (uint8_t)((f->head + 1) % ECHO_PENDING);
    f->n--;
    if (c->server)
        model_add_latency(m, OBJ_SERVER, c->proto, c->server, &c->server->echo,
                          ts > sent ? ts - sent : 0);
}

void model_update_age(struct model *m, struct circuit *c, struct channel *ch, int64_t stamp_us,
                      uint64_t ts)
{
    if ((int64_t)ts < stamp_us) {
        if (c->server)
            c->server->update_age_negative++;
        return;
    }
    uint64_t age = (uint64_t)((int64_t)ts - stamp_us);
    if (c->server)
        model_add_latency(m, OBJ_SERVER, c->proto, c->server, &c->server->update_age, age);
    if (ch && ch->pv)
        stats_add(&ch->pv->update_age, age);
}

void model_bucket_filled(struct model *m, int kind, int proto, void *obj, int bucket)
{
    /* an object's histograms share its bucket instances */
    if (m->hooks.bucket && (!obj || model_bucket_users(kind, obj, bucket) == 1))
        m->hooks.bucket(m->hooks.arg, kind, proto, obj, bucket);
}

/* The histograms of an object, n of them at most */
static int histograms(int kind, const void *obj, const struct latency **out)
{
    int n = 0;
    if (kind == OBJ_SERVER) {
        const struct server *s = obj;
        out[n++] = &s->connect;
        for (int i = 0; i < LAT_OPS; i++)
            out[n++] = &s->op_latency[i];
        out[n++] = &s->echo;
        out[n++] = &s->update_age;
    } else if (kind == OBJ_PV) {
        const struct pv *pv = obj;
        out[n++] = &pv->connect;
        for (int i = 0; pv->timing && i < LAT_OPS; i++)
            out[n++] = &pv->timing->op_latency[i];
    }
    return n;
}

#define MAX_HISTOGRAMS (LAT_OPS + 3)

int model_bucket_users(int kind, const void *obj, int bucket)
{
    const struct latency *h[MAX_HISTOGRAMS];
    int n = histograms(kind, obj, h), users = 0;
    for (int i = 0; i < n; i++)
        users += latency_bucket(h[i], bucket) != 0;
    return users;
}

uint32_t model_bucket_mask(int kind, const void *obj)
{
    const struct latency *h[MAX_HISTOGRAMS];
    int n = histograms(kind, obj, h);
    uint32_t mask = 0;
    for (int i = 0; i < n; i++)
        mask |= latency_mask(h[i]);
    return mask;
}

void model_server_timing_free(struct server *s)
{
    for (int i = 0; i < LAT_OPS; i++)
        latency_free(&s->op_latency[i]);
    latency_free(&s->echo);
    latency_free(&s->update_age);
}

void model_pv_timing_free(struct pv *pv)
{
    if (!pv->timing)
        return;
    for (int i = 0; i < LAT_OPS; i++)
        latency_free(&pv->timing->op_latency[i]);
    free(pv->timing);
    pv->timing = NULL;
}

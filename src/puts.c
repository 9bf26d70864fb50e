/*
 * puts.c - the put audit trail: records of writes in a ring that readers
 * follow by sequence number, each PV's latest put, and the list of servers
 * a PV was found on, as text.
 *
 * The ring belongs to the model (m->puts, PUT_RING records, overwritten
 * oldest first: a reader that fell behind counts what it lost); a PV owns
 * its latest record, allocated at its first put.
 */
#include "modelpriv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

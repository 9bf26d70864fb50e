/*
 * labels.c - PCP labels of the epics.* metrics (see labels.h).
 *
 * Following PCP's conventions (pmLookupLabels(3)): lower-case names, JSON
 * values, each label at the narrowest level it describes.
 *   domain     interfaces   the capture interfaces of this sniffer ("eth0,eth1")
 *   cluster    protocol     "ca" or "pva" for every protocol metric
 *   instances  servers:     server "IP:PORT" ("[IPv6]:PORT"), address "IP", port N
 *              PVs:         server "IP:PORT" of the server of its latest channel
 *              clients:     address "IP"
 *              histograms:  bucket_lo, bucket_hi (microseconds, hi absent for the
 *                           last bucket), plus the server (and pv) of the object
 * So `epics.ca.pv.monitor_updates{server=="10.0.0.5:5064"}` is every PV of one
 * IOC, whatever sniffer saw it. pmcd adds hostname, agent and the other
 * context labels itself.
 */
#include "labels.h"
#include "agent.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *labels_cluster_protocol(unsigned cluster)
{
    /* the table knows each cluster's protocol: no second list to keep */
    for (size_t i = 0; i < epics_nmetrics; i++)
        if (epics_metrics[i].cluster == cluster)
            return epics_metrics[i].proto == PROTO_CA ? "ca"
                 : epics_metrics[i].proto == PROTO_PVA ? "pva" : NULL;
    return NULL;
}

void labels_json_string(char *buf, size_t size, const char *s)
{
    size_t n = 0;
    if (size < 3) {
        if (size)
            buf[0] = '\0';
        return;
    }
    buf[n++] = '"';
    for (; *s && n + 8 < size; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            buf[n++] = '\\';
            buf[n++] = (char)c;
        } else if (c < 0x20 || c >= 0x7f) {
            n += (size_t)snprintf(buf + n, size - n, "\\u%04x", c);
        } else {
            buf[n++] = (char)c;
        }
    }
    buf[n++] = '"';
    buf[n] = '\0';
}

static int emit_string(label_emit emit, void *arg, const char *name, const char *s)
{
    char json[2 * PUT_NAME_MAX + 16];
    labels_json_string(json, sizeof(json), s);
    return emit(arg, name, json);
}

static int emit_number(label_emit emit, void *arg, const char *name, unsigned long long v)
{
    char num[24];
    snprintf(num, sizeof(num), "%llu", v);
    return emit(arg, name, num);
}

/* A server's address ("10.0.0.5", "2001:db8::5", no brackets) and port labels */
static int emit_endpoint(label_emit emit, void *arg, const struct endpoint_key *key)
{
    char addr[ADDR_NAME_MAX];
    int sts;
    netaddr_format_host(addr, sizeof(addr), &key->addr);
    if ((sts = emit_string(emit, arg, "address", addr)) < 0)
        return sts;
    return emit_number(emit, arg, "port", key->port);
}

#define EMIT(call) do { int s_ = (call); if (s_ < 0) return s_; n++; } while (0)

int labels_instance(int indom, const void *obj, int bucket, label_emit emit, void *arg)
{
    int proto, hist, n = 0;
    int kind = indom_object_kind(indom, &proto, &hist);
    const struct server *s = kind == OBJ_SERVER ? obj : NULL;
    const struct pv *pv = kind == OBJ_PV ? obj : NULL;
    const struct client *c = kind == OBJ_CLIENT ? obj : NULL;

    if (hist && bucket >= 0 && bucket < HIST_BUCKETS) {
        EMIT(emit_number(emit, arg, "bucket_lo", bucket == 0 ? 0 : 1ULL << bucket));
        if (bucket < HIST_BUCKETS - 1)
            EMIT(emit_number(emit, arg, "bucket_hi", bucket == 0 ? 1 : (2ULL << bucket) - 1));
    }
    if (s) {
        EMIT(emit_string(emit, arg, "server", s->name));
        if (!hist) {
            int sts = emit_endpoint(emit, arg, &s->key);
            if (sts < 0)
                return sts;
            n += 2;
        }
    } else if (pv) {
        if (hist)
            EMIT(emit_string(emit, arg, "pv", pv->name));
        if (!netaddr_is_unset(&pv->server.addr) && pv->server_name[0])
            EMIT(emit_string(emit, arg, "server", pv->server_name));
    } else if (c) {
        EMIT(emit_string(emit, arg, "address", c->name));
    }
    return n;
}

/* ---- the agent's callbacks ---- */

static char label_interfaces[256];     /* JSON string, empty for a file */

/* Collects one instance's labels into a JSON object for pmdaAddLabels */
struct json_object {
    char buf[PM_MAXLABELJSONLEN];
    size_t len;
};

static int add_to_object(void *arg, const char *name, const char *value)
{
    struct json_object *o = arg;
    int w = snprintf(o->buf + o->len, sizeof(o->buf) - o->len, "%s\"%s\":%s",
                     o->len > 1 ? "," : "", name, value);
    if (w < 0 || (size_t)w >= sizeof(o->buf) - o->len - 1)
        return -E2BIG;
    o->len += (size_t)w;
    return 0;
}

static int instance_labels(pmInDom indom, unsigned int inst, pmLabelSet **lp)
{
    int serial = (int)pmInDom_serial(indom), proto, hist;
    void *priv = NULL;
    const void *obj;
    int bucket = -1;
    struct json_object o = { "{", 1 };

    if (serial < 0 || serial >= INDOM_COUNT
        || pmdaCacheLookup(indom, inst, NULL, &priv) != PMDA_CACHE_ACTIVE || !priv)
        return 0;
    indom_object_kind(serial, &proto, &hist);
    if (hist) {
        const struct hist_ref *h = priv;
        obj = h->obj;
        bucket = h->bucket;
    } else {
        obj = priv;
    }
    int n = labels_instance(serial, obj, bucket, add_to_object, &o);
    if (n <= 0)
        return n;
    snprintf(o.buf + o.len, sizeof(o.buf) - o.len, "}");
    int sts = pmdaAddLabels(lp, "%s", o.buf);
    return sts < 0 ? sts : n;
}

static int epics_label(int ident, int type, pmLabelSet **lpp, pmdaExt *pmda)
{
    const char *proto;
    switch (type) {
    case PM_LABEL_DOMAIN:
        if (label_interfaces[0])
            pmdaAddLabels(lpp, "{\"interfaces\":%s}", label_interfaces);
        break;
    case PM_LABEL_CLUSTER:
        if ((proto = labels_cluster_protocol(pmID_cluster((pmID)ident))) != NULL)
            pmdaAddLabels(lpp, "{\"protocol\":\"%s\"}", proto);
        break;
    default:
        break;
    }
    return pmdaLabel(ident, type, lpp, pmda);
}

void labels_agent_init(struct agent *a, const char *interfaces)
{
    label_interfaces[0] = '\0';
    if (interfaces)
        labels_json_string(label_interfaces, sizeof(label_interfaces), interfaces);
    a->dispatch.version.seven.label = epics_label;
    pmdaSetLabelCallBack(&a->dispatch, instance_labels);
}

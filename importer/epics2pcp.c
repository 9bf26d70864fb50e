/*
 * epics2pcp - turn a capture file of EPICS traffic into a PCP archive.
 *
 * The capture is decoded by the same engine as the agent's, and every
 * epics.* metric of the agent's table is written with libpcp_import, each
 * at the interval of the pmlogconf group that logs it (groups.c), so the
 * archive is shaped like pmlogger's with the shipped configuration; -t
 * writes every metric at one interval instead. Times are the capture's.
 * The last sample is taken at the end of the capture, after
 * requests still pending were counted as unanswered, so it holds the same
 * values the agent reports at the end of the file.
 *
 * With -R, a connection-time report is printed as well: one row per channel
 * (PV, server, time, connect latency), then per server the count, mean,
 * standard deviation, minimum, quartiles and maximum of the connect
 * latencies, then create requests never answered, per server.
 */
#include "capture.h"
#include "domain.h"
#include "groups.h"
#include "labels.h"
#include "result.h"
#include "metrics.h"

#include <getopt.h>
#include <math.h>
#include <pcp/import.h>
#include <pcp/pmapi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct connect_row {
    int proto;
    char pv[PUT_NAME_MAX];
    char server[ADDR_NAME_MAX];
    uint64_t ts_us, latency_us;
};

struct importer {
    struct engine engine;
    int next_inst[INDOM_COUNT];
    int domain;
    bool report;
    uint64_t *interval_us;      /* per metric row: 0 not logged; NULL: all at every sample */
    uint64_t *next_due_us;
    struct sample sample;       /* being written */
    struct connect_row *rows;
    size_t nrows, rowcap;
    int errors;
};

static struct importer imp;

/* ---- instances ---- */

static int *ext_id_of(int kind, void *obj)
{
    switch (kind) {
    case OBJ_SERVER: return &((struct server *)obj)->ext_id;
    case OBJ_PV: return &((struct pv *)obj)->ext_id;
    default: return &((struct client *)obj)->ext_id;
    }
}

static const char *name_of(int kind, void *obj)
{
    switch (kind) {
    case OBJ_SERVER: return ((struct server *)obj)->name;
    case OBJ_PV: return ((struct pv *)obj)->name;
    default: return ((struct client *)obj)->name;
    }
}

static void check(int sts, const char *what)
{
    if (sts < 0 && imp.errors++ < 10)
        fprintf(stderr, "epics2pcp: %s: %s\n", what, pmiErrStr(sts));
}

static bool archived(const struct epics_metric *mt)
{
    return mt->kind != VAL_EVENT && mt->kind != VAL_PARAM;
}

/* ---- labels (labels.h) ----
 * The context's hostname is the sniffer that took the capture and every
 * protocol metric has its protocol, as the agent's. Instance labels are not
 * written: libpcp_import (PCP 6.0) writes one label record per instance
 * and readers keep only the newest record of an indom, so all but one
 * instance would lose theirs. */

static void label_metrics(void)
{
    for (size_t i = 0; i < epics_nmetrics; i++) {
        const struct epics_metric *mt = &epics_metrics[i];
        const char *proto = labels_cluster_protocol(mt->cluster);
        if (proto && archived(mt))
            check(pmiPutLabel(PM_LABEL_ITEM, pmID_build((unsigned)imp.domain, mt->cluster, mt->item), 0,
                              "protocol", proto), "protocol label");
    }
}

static void on_added(void *arg, int kind, int proto, void *obj, const char *name)
{
    (void)arg;
    int indom = indom_of(kind, proto, 0);
    int inst = imp.next_inst[indom]++;
    *ext_id_of(kind, obj) = inst;
    check(pmiAddInstance(pmInDom_build((unsigned)imp.domain, (unsigned)indom), name, inst), name);
}

static void on_removed(void *arg, int kind, int proto, void *obj, const char *name)
{
    (void)arg; (void)kind; (void)proto; (void)obj; (void)name;
    /* an expired object simply has no more values in later samples */
}

/* Histogram instance ids: the object's id times the bucket count plus the bucket */
static void on_bucket(void *arg, int kind, int proto, void *obj, int bucket)
{
    (void)arg;
    int hkind = obj ? kind : -1;
    int indom = indom_of(hkind, proto, 1);
    char name[PUT_NAME_MAX + 64];
    if (indom == INDOM_NONE)
        return;
    int base = obj ? *ext_id_of(kind, obj) : 0;
    hist_instance_name(name, sizeof(name), obj ? name_of(kind, obj) : NULL, bucket);
    check(pmiAddInstance(pmInDom_build((unsigned)imp.domain, (unsigned)indom), name,
                         base * HIST_BUCKETS + bucket), name);
}

static void on_log(void *arg, const char *what)
{
    (void)arg;
    fprintf(stderr, "epics2pcp: bad input (counted in epics.capture.decode_errors): %s\n", what);
}

static void on_connected(void *arg, int proto, const struct pv *pv, const struct server *s,
                         uint64_t ts, uint64_t us, bool known)
{
    (void)arg;
    if (!imp.report || !known)
        return;
    if (imp.nrows == imp.rowcap) {
        size_t cap = imp.rowcap ? imp.rowcap * 2 : 1024;
        struct connect_row *r = realloc(imp.rows, cap * sizeof(*r));
        if (!r)
            return;
        imp.rows = r;
        imp.rowcap = cap;
    }
    struct connect_row *r = &imp.rows[imp.nrows++];
    r->proto = proto;
    snprintf(r->pv, sizeof(r->pv), "%s", pv ? pv->name : "?");
    snprintf(r->server, sizeof(r->server), "%s", s ? s->name : "?");
    r->ts_us = ts;
    r->latency_us = us;
}

/* ---- metrics ---- */

static void add_metrics(void)
{
    for (size_t i = 0; i < epics_nmetrics; i++) {
        const struct epics_metric *mt = &epics_metrics[i];
        if (!archived(mt))
            continue;
        pmID pmid = pmID_build((unsigned)imp.domain, mt->cluster, mt->item);
        pmInDom indom = mt->indom == INDOM_NONE ? PM_INDOM_NULL
                                                : pmInDom_build((unsigned)imp.domain, (unsigned)mt->indom);
        check(pmiAddMetric(mt->name, pmid, mt->type, indom, mt->sem, metric_units(mt)), mt->name);
        check(pmiPutText(PM_TEXT_PMID, PM_TEXT_ONELINE, pmid, mt->oneline), mt->name);
        check(pmiPutText(PM_TEXT_PMID, PM_TEXT_HELP, pmid, mt->help), mt->name);
    }
}

/* A value of mt for instance inst into the sample being built */
static void put_value(const struct epics_metric *mt, int inst, void *obj, int bucket)
{
    pmAtomValue atom;
    if (metric_value(mt, &imp.engine.model, obj, bucket, &atom) == 1)
        sample_value(&imp.sample, inst, &atom);
}

static struct table *table_of(struct model *m, int kind, int proto)
{
    switch (kind) {
    case OBJ_SERVER: return &m->servers[proto];
    case OBJ_PV: return &m->pvs[proto];
    default: return &m->clients[proto];
    }
}

static void *obj_of(int kind, struct tnode *n)
{
    switch (kind) {
    case OBJ_SERVER: return container_of(n, struct server, node);
    case OBJ_PV: return container_of(n, struct pv, node);
    default: return container_of(n, struct client, node);
    }
}

/* Histogram instance ids as on_bucket() made them */
static void put_hist(const struct epics_metric *mt, void *obj, int base, const struct latency *l)
{
    for (int b = 0; l->nbins && b < HIST_BUCKETS; b++)
        if (latency_bucket(l, b))
            put_value(mt, base * HIST_BUCKETS + b, obj, b);
}

/* With pmlogconf groups, a metric is written when its group's interval has
 * passed since it was last written, as pmlogger schedules it, and in the
 * last sample (final) at the end of the capture; metrics of no group never,
 * as pmlogger would not log them. */
static bool due(size_t i, uint64_t ts_us, bool final)
{
    if (!imp.interval_us)
        return true;
    if (!imp.interval_us[i])
        return false;
    if (final)
        return true;
    if (ts_us < imp.next_due_us[i])
        return false;
    imp.next_due_us[i] = ts_us + imp.interval_us[i];
    return true;
}

static void write_sample(uint64_t ts_us, bool final)
{
    struct model *m = &imp.engine.model;
    for (size_t i = 0; i < epics_nmetrics; i++) {
        const struct epics_metric *mt = &epics_metrics[i];
        if (!archived(mt) || !due(i, ts_us, final))
            continue;
        sample_metric(&imp.sample, pmID_build((unsigned)imp.domain, mt->cluster, mt->item), mt->type);
        if (mt->indom == INDOM_NONE) {
            put_value(mt, PM_IN_NULL, NULL, -1);
            continue;
        }
        int proto, hist;
        int kind = indom_object_kind(mt->indom, &proto, &hist);
        if (kind < 0) {         /* the protocol's search histogram */
            put_hist(mt, NULL, 0, &m->ps[proto].search);
            continue;
        }
        struct table *t = table_of(m, kind, proto);
        for (struct tnode *n = table_oldest(t); n; n = table_next_newer(t, n)) {
            void *obj = obj_of(kind, n);
            int inst = *ext_id_of(kind, obj);
            if (hist)
                put_hist(mt, obj, inst,
                         kind == OBJ_SERVER ? &((struct server *)obj)->connect : &((struct pv *)obj)->connect);
            else
                put_value(mt, inst, obj, -1);
        }
    }
    check(sample_write(&imp.sample, ts_us), "write");
    /* text and labels not yet written go out with the sample's time */
    int sts = pmiWrite((int)(ts_us / 1000000), (int)(ts_us % 1000000));
    if (sts != PMI_ERR_NODATA)
        check(sts, "write");
}

/* ---- report ---- */

static void print_report(FILE *f)
{
    static const char *pn[PROTO_COUNT] = { "ca", "pva" };
    fprintf(f, "# Connection times (ms): one row per channel\n");
    fprintf(f, "%-4s %-40s %-22s %-26s %12s\n", "prot", "pv", "server", "time", "connect_ms");
    for (size_t i = 0; i < imp.nrows; i++) {
        const struct connect_row *r = &imp.rows[i];
        time_t sec = (time_t)(r->ts_us / 1000000);
        struct tm tm;
        char when[32];
        gmtime_r(&sec, &tm);
        strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
        fprintf(f, "%-4s %-40s %-22s %s.%06uZ %12.3f\n", pn[r->proto], r->pv, r->server, when,
                (unsigned)(r->ts_us % 1000000), (double)r->latency_us / 1000.0);
    }
    fprintf(f, "\n# Connect time per server (ms)\n");
    fprintf(f, "%-4s %-22s %7s %10s %10s %10s %10s %10s %10s %10s\n", "prot", "server", "count",
            "mean", "std", "min", "q1", "median", "q3", "max");
    uint32_t *v = malloc((imp.nrows ? imp.nrows : 1) * sizeof(*v));
    if (!v)
        return;
    for (int p = 0; p < PROTO_COUNT; p++) {
        struct table *t = &imp.engine.model.servers[p];
        for (struct tnode *n = table_oldest(t); n; n = table_next_newer(t, n)) {
            struct server *s = container_of(n, struct server, node);
            size_t k = 0;
            for (size_t i = 0; i < imp.nrows; i++)
                if (imp.rows[i].proto == p && strcmp(imp.rows[i].server, s->name) == 0)
                    v[k++] = imp.rows[i].latency_us > UINT32_MAX ? UINT32_MAX
                                                                 : (uint32_t)imp.rows[i].latency_us;
            if (k == 0)
                continue;
            sort_u32(v, k);
            double sum = 0, sq = 0;
            for (size_t i = 0; i < k; i++)
                sum += (double)v[i];
            double mean = sum / (double)k;
            for (size_t i = 0; i < k; i++)
                sq += ((double)v[i] - mean) * ((double)v[i] - mean);
            double sd = k > 1 ? sqrt(sq / (double)(k - 1)) : 0;
            fprintf(f, "%-4s %-22s %7zu %10.3f %10.3f %10.3f %10.3f %10.3f %10.3f %10.3f\n", pn[p],
                    s->name, k, mean / 1e3, sd / 1e3, (double)v[0] / 1e3, quantile_sorted(v, k, 0.25) / 1e3,
                    quantile_sorted(v, k, 0.5) / 1e3, quantile_sorted(v, k, 0.75) / 1e3, (double)v[k - 1] / 1e3);
        }
    }
    free(v);
    fprintf(f, "\n# Create requests never answered, per server\n");
    fprintf(f, "%-4s %-22s %10s\n", "prot", "server", "unanswered");
    for (int p = 0; p < PROTO_COUNT; p++) {
        struct table *t = &imp.engine.model.servers[p];
        for (struct tnode *n = table_oldest(t); n; n = table_next_newer(t, n)) {
            struct server *s = container_of(n, struct server, node);
            if (s->connect_unanswered)
                fprintf(f, "%-4s %-22s %10llu\n", pn[p], s->name,
                        (unsigned long long)s->connect_unanswered);
        }
    }
}

/* ---- schedule ---- */

/* Per-metric intervals from the groups in dir (or the installed ones);
 * *step becomes the shortest. Without dir and installed groups: every
 * metric every second, as before the groups existed. */
static int schedule_from_groups(const char *dir, double *step)
{
    char def[4096], err[4200];
    const char *d = dir;
    if (!d) {
        snprintf(def, sizeof(def), "%s/config/pmlogconf/epics", pmGetConfig("PCP_VAR_DIR"));
        d = def;
    }
    imp.interval_us = calloc(epics_nmetrics, sizeof(uint64_t));
    imp.next_due_us = calloc(epics_nmetrics, sizeof(uint64_t));
    if (!imp.interval_us || !imp.next_due_us)
        return -1;
    if (groups_read(d, imp.interval_us, err, sizeof(err)) < 0) {
        sample_free(&imp.sample);
    free(imp.interval_us);
        free(imp.next_due_us);
        imp.interval_us = imp.next_due_us = NULL;
        if (dir) {
            fprintf(stderr, "epics2pcp: %s\n", err);
            return -1;
        }
        *step = 1.0;
        return 0;
    }
    uint64_t shortest = 0;
    for (size_t i = 0; i < epics_nmetrics; i++)
        if (imp.interval_us[i] && (!shortest || imp.interval_us[i] < shortest))
            shortest = imp.interval_us[i];
    *step = shortest ? (double)shortest / 1e6 : 1.0;
    return 0;
}

/* ---- main ---- */

static void usage(void)
{
    fprintf(stderr,
            "Usage: epics2pcp [options] capture.pcap ARCHIVE\n\n"
            "Options:\n"
            "  -t SECONDS          every metric every SECONDS of capture time, instead of\n"
            "                      each at its pmlogconf group's interval\n"
            "  -g DIR              pmlogconf groups giving the intervals (default\n"
            "                      $PCP_VAR_DIR/config/pmlogconf/epics; without them, -t 1)\n"
            "  -H HOSTNAME         host name recorded in the archive (default: this host)\n"
            "  -R                  print the connection-time report on standard output\n"
            "  --search-timeout S  searches unanswered after S seconds (default 5)\n"
            "  --request-timeout S create requests unanswered after S seconds (default 10)\n");
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "search-timeout", required_argument, NULL, 'S' },
        { "request-timeout", required_argument, NULL, 'Q' },
        { "help", no_argument, NULL, '?' },
        { NULL, 0, NULL, 0 },
    };
    double interval = 0;
    const char *host = NULL, *groupdir = NULL;
    struct engine_config cfg;
    int c;

    pmSetProgname(argv[0]);
    engine_default_config(&cfg);
    engine_config_from_env(&cfg);
    imp.domain = EPICS;
    while ((c = getopt_long(argc, argv, "t:g:H:R?", longopts, NULL)) != -1) {
        switch (c) {
        case 't': interval = atof(optarg); if (!(interval > 0)) interval = -1; break;
        case 'g': groupdir = optarg; break;
        case 'H': host = optarg; break;
        case 'R': imp.report = true; break;
        case 'S': cfg.lim.search_timeout_us = (uint64_t)(atof(optarg) * 1e6); break;
        case 'Q': cfg.lim.request_timeout_us = (uint64_t)(atof(optarg) * 1e6); break;
        default: usage(); return c == '?' && optopt == 0 ? 0 : 1;
        }
    }
    if (argc - optind != 2 || interval < 0 || cfg.lim.search_timeout_us == 0
        || cfg.lim.request_timeout_us == 0) {
        usage();
        return 1;
    }
    const char *pcapfile = argv[optind], *archive = argv[optind + 1];
    if (interval == 0 && schedule_from_groups(groupdir, &interval) < 0)
        return 1;

    struct capture cap;
    char err[512];
    memset(&cap, 0, sizeof(cap));
    if (capture_open_file(&cap, pcapfile, err, sizeof(err)) < 0) {
        fprintf(stderr, "epics2pcp: %s\n", err);
        return 1;
    }
    int ctx = pmiStart(archive, 0);
    if (ctx < 0) {
        fprintf(stderr, "epics2pcp: %s: %s\n", archive, pmiErrStr(ctx));
        return 1;
    }
    char hostname[256];
    if (!host) {
        if (gethostname(hostname, sizeof(hostname)) < 0)
            snprintf(hostname, sizeof(hostname), "localhost");
        hostname[sizeof(hostname) - 1] = '\0';
        host = hostname;
    }
    check(pmiSetHostname(host), "hostname");
    check(pmiSetTimezone("UTC"), "timezone");
    /* the sniffer that took the capture, not this host, as pmlogger would */
    check(pmiPutLabel(PM_LABEL_CONTEXT, 0, 0, "hostname", host), "hostname label");
    add_metrics();
    label_metrics();

    struct model_hooks hooks = { on_added, on_removed, on_bucket, on_log, NULL, on_connected };
    engine_init(&imp.engine, &cfg, &hooks);

    /* Each sample holds exactly the packets before its time: look at a
     * packet's time before handing it to the engine */
    uint64_t step = (uint64_t)(interval * 1e6), next = 0, last_written = 0;
    struct model *m = &imp.engine.model;
    struct pcap_pkthdr *h;
    const u_char *data;
    int r;
    while ((r = pcap_next_ex(cap.src[0].pcap, &h, &data)) == 1) {
        uint64_t ts = (uint64_t)h->ts.tv_sec * 1000000ULL + (uint64_t)h->ts.tv_usec;
        if (next == 0)
            next = (ts / step + 1) * step;
        if (ts >= next) {
            engine_tick(&imp.engine, next);
            write_sample(next, false);
            last_written = next;
            /* across a quiet stretch, one more sample just before this packet */
            uint64_t last_boundary = ts / step * step;
            if (last_boundary > next) {
                engine_tick(&imp.engine, last_boundary);
                write_sample(last_boundary, false);
                last_written = last_boundary;
            }
            next = last_boundary + step;
        }
        engine_frame(&imp.engine, cap.src[0].linktype, ts, data, h->caplen, h->len);
    }
    if (r == PCAP_ERROR)
        fprintf(stderr, "epics2pcp: %s: %s\n", pcapfile, pcap_geterr(cap.src[0].pcap));
    engine_finish(&imp.engine);
    uint64_t end = m->now_us > last_written ? m->now_us : last_written + 1;
    write_sample(end, true);
    check(pmiEnd(), "end");
    if (imp.report)
        print_report(stdout);
    engine_free(&imp.engine);
    capture_close(&cap);
    free(imp.rows);
    sample_free(&imp.sample);
    free(imp.interval_us);
    free(imp.next_due_us);
    return imp.errors ? 1 : 0;
}

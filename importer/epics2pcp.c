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
 * With -R, a connection-time report is printed as well: per server the
 * count, mean, standard deviation, minimum, quartiles and maximum of the
 * connect latencies; then the searches and the create requests no reply
 * answered, by PV name and client (and server, for creates); then one row
 * per channel (PV, server, time, connect latency).
 *
 * An existing archive is not overwritten unless -f is given.
 */
#include "capture.h"
#include "domain.h"
#include "groups.h"
#include "idmap.h"
#include "labels.h"
#include "metrics.h"
#include "sample.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdint.h>
#include <pcp/import.h>
#include <pcp/pmapi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct connect_row {
    int proto;
    char pv[PUT_NAME_MAX];
    char server[ADDR_NAME_MAX];
    uint64_t ts_us, latency_us;
};

/* A search (server "") or create request no reply answered */
struct unanswered_row {
    int proto;
    char pv[PUT_NAME_MAX];
    char client[ADDR_NAME_MAX];
    char server[ADDR_NAME_MAX];
};

struct importer {
    struct engine engine;
    int next_inst[INDOM_COUNT];
    int domain;
    bool report;
    uint64_t *interval_us;      /* per metric row: 0 not logged; NULL: all at every sample */
    uint64_t *next_due_us;
    struct connect_row *rows;
    size_t nrows, rowcap;
    struct unanswered_row *lost;
    size_t nlost, lostcap;
    int errors;
    /* libpcp_import checks every new instance against all the others: an
     * instance domain is capped, and what did not fit is counted */
    int max_instances;
    uint64_t refused[INDOM_COUNT];
    /* histogram instances added: (object id * buckets + bucket) -> id + 1 */
    struct idmap hist_ids[INDOM_COUNT];
    struct sample sample;       /* being written */
    const char *pcapfile;       /* named in messages */
};

static struct importer imp;

/* ---- instances ---- */

static void check(int sts, const char *what)
{
    if (sts < 0 && imp.errors++ < 10)
        fprintf(stderr, "epics2pcp: %s: %s\n", what, pmiErrStr(sts));
}

/* A new instance of indom, unless the domain is full (then counted) */
static bool instance_room(int indom)
{
    if (imp.next_inst[indom] < imp.max_instances)
        return true;
    imp.refused[indom]++;
    return false;
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
    if (!instance_room(indom))
        return;                 /* ext_id stays -1: not archived */
    int inst = imp.next_inst[indom]++;
    ((struct object *)obj)->ext_id = inst;
    check(pmiAddInstance(pmInDom_build((unsigned)imp.domain, (unsigned)indom), name, inst), name);
}

static void on_removed(void *arg, int kind, int proto, void *obj, const char *name)
{
    (void)arg; (void)kind; (void)proto; (void)obj; (void)name;
    /* an expired object simply has no more values in later samples */
}

/* The key of an object's bucket among the histogram instances */
static uint32_t hist_key(int base, int bucket)
{
    return (uint32_t)base * HIST_BUCKETS + (uint32_t)bucket;
}

/* Histogram instance ids are handed out in the order buckets fill, like
 * every other id here: libpcp_import writes an instance domain whose ids
 * were added out of order with its names shuffled against its ids */
static void on_bucket(void *arg, int kind, int proto, void *obj, int bucket)
{
    (void)arg;
    int hkind = obj ? kind : -1;
    int indom = indom_of(hkind, proto, 1);
    char name[PUT_NAME_MAX + 64];
    if (indom == INDOM_NONE)
        return;
    int base = obj ? ((struct object *)obj)->ext_id : 0;
    if (base < 0 || !instance_room(indom))
        return;
    int inst = imp.next_inst[indom];
    if (idmap_put(&imp.hist_ids[indom], hist_key(base, bucket), (void *)(uintptr_t)(inst + 1)) < 0) {
        imp.refused[indom]++;
        return;
    }
    imp.next_inst[indom]++;
    hist_instance_name(name, sizeof(name), obj ? object_name(obj) : NULL, bucket);
    check(pmiAddInstance(pmInDom_build((unsigned)imp.domain, (unsigned)indom), name, inst), name);
}

/* The instance id of an object's bucket, -1 when it was not archived */
static int hist_inst(int indom, int base, int bucket)
{
    return (int)(uintptr_t)idmap_get(&imp.hist_ids[indom], hist_key(base, bucket)) - 1;
}

static void on_log(void *arg, const char *what)
{
    (void)arg;
    fprintf(stderr, "epics2pcp: %s: bad input (counted in epics.capture.decode_errors): %s\n",
            imp.pcapfile, what);
}

/* The next free row of a growing array of *n rows of size bytes, or NULL */
static void *next_row(void **rows, size_t *n, size_t *cap, size_t size)
{
    if (*n == *cap) {
        size_t more = *cap ? *cap * 2 : 256;
        void *r = realloc(*rows, more * size);
        if (!r)
            return NULL;
        *rows = r;
        *cap = more;
    }
    return (char *)*rows + size * (*n)++;
}

static void on_connected(void *arg, int proto, const struct pv *pv, const struct server *s,
                         uint64_t ts, uint64_t us, bool known)
{
    (void)arg;
    if (!imp.report || !known)
        return;
    struct connect_row *r = next_row((void **)&imp.rows, &imp.nrows, &imp.rowcap, sizeof(*r));
    if (!r)
        return;
    r->proto = proto;
    snprintf(r->pv, sizeof(r->pv), "%s", pv ? pv->name : "?");
    snprintf(r->server, sizeof(r->server), "%s", s ? s->name : "?");
    r->ts_us = ts;
    r->latency_us = us;
}

static void on_unanswered(void *arg, int proto, const struct pv *pv, struct netaddr client,
                          const struct server *s)
{
    (void)arg;
    if (!imp.report)
        return;
    struct unanswered_row *r = next_row((void **)&imp.lost, &imp.nlost, &imp.lostcap, sizeof(*r));
    if (!r)
        return;
    r->proto = proto;
    snprintf(r->pv, sizeof(r->pv), "%s", pv ? pv->name : "?");
    netaddr_format_host(r->client, sizeof(r->client), &client);
    snprintf(r->server, sizeof(r->server), "%s", s ? s->name : "");
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

/* The buckets of a histogram metric; mask: the instances there are (an
 * object's histograms share them), of which the metric fills its own */
static void put_hist(const struct epics_metric *mt, void *obj, int base, uint32_t mask)
{
    for (int b = 0; mask && b < HIST_BUCKETS; b++) {
        int inst = (mask & (1u << b)) ? hist_inst(mt->indom, base, b) : -1;
        if (inst >= 0)
            put_value(mt, inst, obj, b);
    }
}

/* With pmlogconf groups, a metric is written when its group's interval has
 * passed since it was last written, as pmlogger schedules it; metrics of no
 * group not at all, as pmlogger would not log them. The samples at the
 * first packet and at the end (all) hold every metric and leave the
 * schedule alone: the archive starts from nothing and ends with every value
 * of the capture. */
static bool due(size_t i, uint64_t ts_us, bool all)
{
    if (!imp.interval_us || all)
        return true;
    if (!imp.interval_us[i])
        return false;
    if (ts_us < imp.next_due_us[i])
        return false;
    imp.next_due_us[i] = ts_us + imp.interval_us[i];
    return true;
}

/* One sample of every metric due (all: of every metric); false (said once)
 * when the archive cannot be written */
static bool write_sample(const char *archive, uint64_t ts_us, bool all)
{
    struct model *m = &imp.engine.model;
    for (size_t i = 0; i < epics_nmetrics; i++) {
        const struct epics_metric *mt = &epics_metrics[i];
        if (!archived(mt) || !due(i, ts_us, all))
            continue;
        sample_metric(&imp.sample, pmID_build((unsigned)imp.domain, mt->cluster, mt->item), mt->type);
        if (mt->indom == INDOM_NONE) {
            put_value(mt, PM_IN_NULL, NULL, -1);
            continue;
        }
        int proto, hist;
        int kind = indom_object_kind(mt->indom, &proto, &hist);
        if (kind < 0) {         /* the protocol's search histogram */
            put_hist(mt, NULL, 0, latency_mask(&m->ps[proto].search));
            continue;
        }
        struct table *t = model_table(m, kind, proto);
        for (struct tnode *n = table_oldest(t); n; n = table_next_newer(t, n)) {
            struct object *obj = object_of(n);
            int id = obj->ext_id;
            if (id < 0)
                continue;       /* not archived: its domain was full */
            if (hist)
                put_hist(mt, obj, id, model_bucket_mask(kind, obj));
            else
                put_value(mt, id, obj, -1);
        }
    }
    int sts = sample_write(&imp.sample, ts_us);
    if (sts < 0) {
        fprintf(stderr, "epics2pcp: %s: cannot write the archive: %s\n", archive, pmiErrStr(sts));
        return false;
    }
    /* text and labels not yet written go out with the sample's time (this
     * call takes 32-bit seconds: after 2038 they are not written) */
    if (ts_us / 1000000 <= INT32_MAX) {
        sts = pmiWrite((int)(ts_us / 1000000), (int)(ts_us % 1000000));
        if (sts != PMI_ERR_NODATA)
            check(sts, "write");
    }
    return true;
}

/* ---- report ---- */

static const char *proto_names[PROTO_COUNT] = { "ca", "pva" };

static int lost_cmp(const void *a, const void *b)
{
    const struct unanswered_row *x = a, *y = b;
    int d;
    if (x->proto != y->proto)
        return x->proto - y->proto;
    if ((d = strcmp(x->pv, y->pv)) != 0)
        return d;
    if ((d = strcmp(x->client, y->client)) != 0)
        return d;
    return strcmp(x->server, y->server);
}

/* Searches (creates: false) or create requests no reply answered, counted
 * by protocol, PV, client and server */
static void print_unanswered(FILE *f, bool creates)
{
    if (creates) {
        fprintf(f, "\n# Create requests never answered, by PV and client\n");
        fprintf(f, "%-4s %-40s %-15s %-22s %10s\n", "prot", "pv", "client", "server", "unanswered");
    } else {
        fprintf(f, "\n# Searches never answered (names no server answered), by PV and client\n");
        fprintf(f, "%-4s %-40s %-15s %10s\n", "prot", "pv", "client", "unanswered");
    }
    for (size_t i = 0; i < imp.nlost;) {
        const struct unanswered_row *r = &imp.lost[i];
        size_t n = 1;
        while (i + n < imp.nlost && lost_cmp(r, &imp.lost[i + n]) == 0)
            n++;
        if (creates && r->server[0])
            fprintf(f, "%-4s %-40s %-15s %-22s %10zu\n", proto_names[r->proto], r->pv, r->client,
                    r->server, n);
        else if (!creates && !r->server[0])
            fprintf(f, "%-4s %-40s %-15s %10zu\n", proto_names[r->proto], r->pv, r->client, n);
        i += n;
    }
}

static void print_channels(FILE *f)
{
    fprintf(f, "\n# Connection times (ms): one row per channel\n");
    fprintf(f, "%-4s %-40s %-22s %-26s %12s\n", "prot", "pv", "server", "time", "connect_ms");
    for (size_t i = 0; i < imp.nrows; i++) {
        const struct connect_row *r = &imp.rows[i];
        time_t sec = (time_t)(r->ts_us / 1000000);
        struct tm tm;
        char when[32];
        gmtime_r(&sec, &tm);
        strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
        fprintf(f, "%-4s %-40s %-22s %s.%06uZ %12.3f\n", proto_names[r->proto], r->pv, r->server,
                when, (unsigned)(r->ts_us % 1000000), (double)r->latency_us / 1000.0);
    }
}

/* The per-server summary first, then what went unanswered, then the detail */
static void print_report(FILE *f)
{
    static const char **pn = proto_names;
    fprintf(f, "# Connect time per server (ms)\n");
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
    if (imp.nlost)
        qsort(imp.lost, imp.nlost, sizeof(*imp.lost), lost_cmp);
    print_unanswered(f, false);
    print_unanswered(f, true);
    print_channels(f);
}

/* ---- the destination ---- */

/* An archive ARCHIVE exists when any of its files does: refuse it, or with
 * force remove them (the metadata, the index and every volume) */
static int prepare_destination(const char *archive, bool force)
{
    char path[MAXPATHLEN];
    static const char *fixed[] = { "meta", "index" };
    int found = 0;
    for (int vol = -2; vol < 1000; vol++) {
        if (vol < 0)
            pmsprintf(path, sizeof(path), "%s.%s", archive, fixed[vol + 2]);
        else
            pmsprintf(path, sizeof(path), "%s.%d", archive, vol);
        if (access(path, F_OK) != 0) {
            if (vol >= 0)
                break;          /* volumes are numbered without holes */
            continue;
        }
        found++;
        if (!force) {
            fprintf(stderr, "epics2pcp: %s: the archive exists (%s); -f overwrites it\n", archive,
                    path);
            return -1;
        }
        if (unlink(path) < 0) {
            fprintf(stderr, "epics2pcp: %s: %s\n", path, strerror(errno));
            return -1;
        }
    }
    return found;
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

#define DEFAULT_MAX_INSTANCES 50000

static void usage(void)
{
    fprintf(stderr,
            "Usage: epics2pcp [options] capture.pcap ARCHIVE\n\n"
            "Options:\n"
            "  -t SECONDS          every metric every SECONDS of capture time (1e-6 to 1e8), instead of\n"
            "                      each at its pmlogconf group's interval\n"
            "  -g DIR              pmlogconf groups giving the intervals (default\n"
            "                      $PCP_VAR_DIR/config/pmlogconf/epics; without them, -t 1)\n"
            "  -H HOSTNAME         host name recorded in the archive (default: this host)\n"
            "  -R                  print the connection-time report on standard output\n"
            "  -f                  overwrite ARCHIVE if it exists\n"
            "  --search-timeout S  a search unanswered S seconds after its last retry\n"
            "                      (default: only at the end of the capture)\n"
            "  --request-timeout S create requests unanswered after S seconds (default 10)\n"
            "  --max-instances N   instances archived per instance domain (default %d)\n"
            "  --max-buffer-mb N   reassembly and decoder buffers, all circuits (default 256)\n"
            "  --ca-ports P,P      more CA server ports to follow (others are learned)\n"
            "  --pva-ports P,P     likewise for pvAccess\n",
            DEFAULT_MAX_INSTANCES);
}

/* A number of seconds in [lo, hi], or -1 */
static double seconds_arg(const char *s, double lo, double hi)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v) || v < lo || v > hi)
        return -1;
    return v;
}

/* The archive must be creatable before anything is decoded: its folder
 * writable, none of its files there already, or (force) those removed */
static bool archive_creatable(const char *archive, bool force)
{
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s", archive);
    char *slash = strrchr(dir, '/');
    if (!slash)
        snprintf(dir, sizeof(dir), ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    if (access(dir, W_OK | X_OK) < 0) {
        fprintf(stderr, "epics2pcp: %s: cannot create the archive: %s: %s\n", archive, dir, strerror(errno));
        return false;
    }
    return prepare_destination(archive, force) >= 0;
}

static void report_refused(const char *pcapfile)
{
    static const char *const what[INDOM_COUNT] = {
        "CA server", "CA PV", "CA client", "PVA server", "PVA PV", "PVA client",
        "CA server histogram", "CA PV histogram", "PVA server histogram", "PVA PV histogram",
        "CA search histogram", "PVA search histogram",
    };
    for (int i = 0; i < INDOM_COUNT; i++)
        if (imp.refused[i])
            fprintf(stderr, "epics2pcp: %s: %llu %s instances beyond --max-instances %d not archived"
                    " (still counted in the totals)\n", pcapfile, (unsigned long long)imp.refused[i],
                    what[i], imp.max_instances);
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "search-timeout", required_argument, NULL, 'S' },
        { "request-timeout", required_argument, NULL, 'Q' },
        { "max-instances", required_argument, NULL, 'I' },
        { "max-buffer-mb", required_argument, NULL, 'B' },
        { "ca-ports", required_argument, NULL, 'C' },
        { "pva-ports", required_argument, NULL, 'P' },
        { "help", no_argument, NULL, '?' },
        { NULL, 0, NULL, 0 },
    };
    double interval = 0, search_s = 0, request_s = 10, buffer_mb = 256;
    bool force = false;
    const char *host = NULL, *groupdir = NULL;
    struct engine_config cfg;
    int c;

    pmSetProgname(argv[0]);
    engine_default_config(&cfg);
    /* the contract: a search is unanswered if no reply came by the end of
     * the capture, however long its client paused between retries */
    for (int p = 0; p < PROTO_COUNT; p++)
        cfg.lim.search_timeout_us[p] = UINT64_C(1) << 62;
    engine_config_from_env(&cfg);
    imp.domain = EPICS;
    imp.max_instances = DEFAULT_MAX_INSTANCES;
    while ((c = getopt_long(argc, argv, "t:g:H:Rf?", longopts, NULL)) != -1) {
        switch (c) {
        case 't': interval = seconds_arg(optarg, 1e-6, 1e8); break;
        case 'g': groupdir = optarg; break;
        case 'H': host = optarg; break;
        case 'R': imp.report = true; break;
        case 'f': force = true; break;
        case 'S': search_s = seconds_arg(optarg, 1e-6, 1e8); break;
        case 'Q': request_s = seconds_arg(optarg, 1e-6, 1e8); break;
        case 'I': imp.max_instances = (int)seconds_arg(optarg, 1, 10000000); break;
        case 'B': buffer_mb = seconds_arg(optarg, 1, 1 << 20); break;
        case 'C':
        case 'P':
            if (port_list_parse(&cfg.ports[c == 'C' ? PROTO_CA : PROTO_PVA], optarg) < 0) {
                fprintf(stderr, "epics2pcp: bad port list \"%s\"\n", optarg);
                return 1;
            }
            break;
        default: usage(); return c == '?' && optopt == 0 ? 0 : 1;
        }
    }
    bool bad = interval < 0 || search_s < 0 || request_s < 0 || imp.max_instances < 1 || buffer_mb < 0;
    if (argc - optind != 2 || bad) {
        if (bad)
            fprintf(stderr, "epics2pcp: a time or count is out of range or not a number\n");
        usage();
        return 1;
    }
    if (search_s > 0)   /* by default a search is unanswered only at the end */
        for (int p = 0; p < PROTO_COUNT; p++)
            cfg.lim.search_timeout_us[p] = (uint64_t)(search_s * 1e6);
    cfg.lim.request_timeout_us = (uint64_t)(request_s * 1e6);
    cfg.lim.max_buffer_bytes = (size_t)buffer_mb << 20;
    const char *pcapfile = argv[optind], *archive = argv[optind + 1];
    imp.pcapfile = pcapfile;
    if (interval == 0 && schedule_from_groups(groupdir, &interval) < 0)
        return 1;

    struct capture cap;
    char err[4608];
    memset(&cap, 0, sizeof(cap));
    if (capture_open_file(&cap, pcapfile, err, sizeof(err)) < 0) {
        fprintf(stderr, "epics2pcp: %s\n", err);
        return 1;
    }
    if (!archive_creatable(archive, force)) {
        capture_close(&cap);
        return 1;
    }
    int ctx = pmiStart(archive, 0);
    if (ctx < 0) {
        fprintf(stderr, "epics2pcp: %s: %s\n", archive, pmiErrStr(ctx));
        capture_close(&cap);
        return 1;
    }
    /* version 3 archives hold 64-bit seconds: captures after 2038 keep their times */
    check(pmiSetVersion(PM_LOG_VERS03), "archive version 3");
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

    struct model_hooks hooks = { .added = on_added, .removed = on_removed, .bucket = on_bucket,
                                 .log = on_log, .connected = on_connected,
                                 .unanswered = on_unanswered };
    engine_init(&imp.engine, &cfg, &hooks);
    /* servers whose ports the file reveals late are followed from its start */
    if (engine_prescan_file(&imp.engine, pcapfile, err, sizeof(err)) < 0) {
        fprintf(stderr, "epics2pcp: %s\n", err);
        return 1;
    }

    /* Each sample holds exactly the packets before its time: look at a
     * packet's time before handing it to the engine */
    uint64_t step = (uint64_t)(interval * 1e6), next = 0, last_written = 0, packets = 0;
    if (step == 0)
        step = 1;
    struct model *m = &imp.engine.model;
    struct pcap_pkthdr *h;
    const u_char *data;
    int r;
    bool ok = true;
    while (ok && (r = pcap_next_ex(cap.src[0].pcap, &h, &data)) == 1) {
        uint64_t ts = capture_ts_us(h);
        packets++;
        if (next == 0) {
            /* a sample of nothing at the first packet: the archive starts
             * from zero, so the first interval's counts are its own */
            ok = write_sample(archive, ts, true);
            last_written = ts;
            next = (ts / step + 1) * step;
        }
        if (ts >= next) {
            engine_tick(&imp.engine, next);
            ok = write_sample(archive, next, false);
            last_written = next;
            /* across a quiet stretch, one more sample just before this packet */
            uint64_t last_boundary = ts / step * step;
            if (ok && last_boundary > next) {
                engine_tick(&imp.engine, last_boundary);
                ok = write_sample(archive, last_boundary, false);
                last_written = last_boundary;
            }
            next = last_boundary + step;
        }
        engine_frame(&imp.engine, cap.src[0].linktype, ts, data, h->caplen, h->len);
    }
    int status = ok ? 0 : 1;
    if (ok && r == PCAP_ERROR) {
        fprintf(stderr, "epics2pcp: %s: read error after %llu packets: %s\n", pcapfile,
                (unsigned long long)packets, pcap_geterr(cap.src[0].pcap));
        status = 1;
    }
    engine_finish(&imp.engine);
    if (ok) {
        uint64_t end = m->now_us > last_written ? m->now_us : last_written + 1;
        imp.sample.describe_all = true;
        if (!write_sample(archive, end, true))
            status = 1;
    }
    check(pmiEnd(), "end");
    report_refused(pcapfile);
    if (imp.report)
        print_report(stdout);
    engine_free(&imp.engine);
    capture_close(&cap);
    sample_free(&imp.sample);
    for (int i = 0; i < INDOM_COUNT; i++)
        idmap_free(&imp.hist_ids[i]);
    free(imp.rows);
    free(imp.interval_us);
    free(imp.next_due_us);
    free(imp.lost);
    return status || imp.errors ? 1 : 0;
}

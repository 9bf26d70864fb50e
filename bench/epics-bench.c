/*
 * epics-bench - what decoding costs next to only reading the packets, and
 * how much memory a tracked PV takes. It reports numbers; it is not a test.
 *
 *   epics-bench gen OUT.pcap [--servers S] [--clients C] [--pvs N] [--updates U] [--seed X]
 *       write a synthetic Channel Access capture (see gen.h) and, beside it,
 *       OUT.expect: what the engine must count when it decodes the file
 *   epics-bench run FILE.pcap [--repeat R] [--min-time SECONDS] [--brief]
 *       best wall time of R passes (more until the decoding passes took
 *       SECONDS in all) of a plain libpcap loop over the file, and of the same
 *       loop feeding every frame to engine_frame(); the ratio of the two.
 *       When FILE.expect exists, the decoded counts must match it (exit 1)
 *   epics-bench mem [--pvs K] [--servers S]
 *       heap bytes per tracked PV after one client searched, created and
 *       subscribed K PVs, and again once its circuits closed
 *
 * Times are CLOCK_MONOTONIC; opening the file and creating the engine are
 * outside the timed loop. Heap is mallinfo2() uordblks + hblkhd (glibc
 * serves large blocks, such as hash table arrays, with mmap).
 */
#include "engine.h"
#include "gen.h"

#include <getopt.h>
#include <malloc.h>
#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

/* ---- counts: what the generator wrote, what the engine decoded ---- */

#define MAX_COUNTS 48

struct count {
    const char *key;
    uint64_t v;
};

struct counts {
    struct count c[MAX_COUNTS];
    int n;
};

static void add(struct counts *cs, const char *key, uint64_t v)
{
    if (cs->n < MAX_COUNTS)
        cs->c[cs->n++] = (struct count){ key, v };
}

static const struct count *find(const struct counts *cs, const char *key)
{
    for (int i = 0; i < cs->n; i++)
        if (strcmp(cs->c[i].key, key) == 0)
            return &cs->c[i];
    return NULL;
}

/* What the engine should report for a generated capture; closed: the
 * circuits were closed at its end */
static void expected(const struct gen_counts *g, bool closed, struct counts *cs)
{
    cs->n = 0;
    add(cs, "packets", g->packets);
    add(cs, "bytes", g->bytes);
    add(cs, "pvs", g->pvs);
    add(cs, "servers", g->servers);
    add(cs, "clients", g->clients);
    add(cs, "circuits", g->circuits);
    add(cs, "circuits_open", closed ? 0 : g->circuits);
    add(cs, "search_requests", g->search_requests);
    add(cs, "search_replies", g->search_replies);
    add(cs, "search_unanswered", 0);
    add(cs, "connects", g->connects);
    add(cs, "monitor_updates", g->monitor_updates);
    add(cs, "pv_monitor_updates", g->monitor_updates);
    add(cs, "reads", g->reads);
    add(cs, "writes", g->writes);
    add(cs, "put_records", g->writes);
    add(cs, "beacons", g->beacons);
    add(cs, "messages", g->messages);
    add(cs, "bytes_in", g->bytes_in);
    add(cs, "bytes_out", g->bytes_out);
    add(cs, "decode_errors", 0);
    add(cs, "stream_gaps", 0);
    add(cs, "unmatched_replies", 0);
    add(cs, "connect_unanswered", 0);
    add(cs, "connect_fails", 0);
    add(cs, "server_errors", 0);
    add(cs, "restarts", 0);
    add(cs, "beacon_anomalies", 0);
    add(cs, "not_epics", 0);
    add(cs, "skipped", 0);
    add(cs, "truncated", 0);
    add(cs, "evicted", 0);
    add(cs, "expired", 0);
    add(cs, "untracked", 0);
    add(cs, "searches_evicted", 0);
    add(cs, "flows_evicted", 0);
    add(cs, "flows_untracked", 0);
    add(cs, "requests_untracked", 0);
    add(cs, "channels_untracked", 0);
}

static void observed(struct engine *e, struct counts *cs)
{
    struct model *m = &e->model;
    struct model_health *h = &m->health;
    struct proto_stats *ps = &m->ps[PROTO_CA];
    struct table *st = &m->servers[PROTO_CA], *pt = &m->pvs[PROTO_CA];
    uint64_t circuits = 0, connects = 0, updates = 0, reads = 0, writes = 0, beacons = 0;
    uint64_t bin = 0, bout = 0, unanswered = 0, fails = 0, errors = 0, restarts = 0, anomalies = 0;
    uint64_t pv_updates = 0, evicted = 0, expired = 0, untracked = 0;

    for (struct tnode *n = table_oldest(st); n; n = table_next_newer(st, n)) {
        struct server *s = container_of(n, struct server, node);
        circuits += s->circuits_total;
        connects += s->connects;
        updates += s->monitor_updates;
        reads += s->reads;
        writes += s->writes;
        beacons += s->beacons;
        bin += s->bytes_in;
        bout += s->bytes_out;
        unanswered += s->connect_unanswered;
        fails += s->connect_fails;
        errors += s->errors;
        restarts += s->restarts;
        anomalies += s->beacon_anomalies;
    }
    for (struct tnode *n = table_oldest(pt); n; n = table_next_newer(pt, n))
        pv_updates += container_of(n, struct pv, node)->monitor_updates;
    for (int k = 0; k < OBJ_KINDS; k++) {
        evicted += h->evicted[k];
        expired += h->expired[k];
        untracked += h->untracked[k];
    }

    cs->n = 0;
    add(cs, "packets", h->packets);
    add(cs, "bytes", h->bytes);
    add(cs, "pvs", pt->count);
    add(cs, "servers", st->count);
    add(cs, "clients", m->clients[PROTO_CA].count);
    add(cs, "circuits", circuits);
    add(cs, "circuits_open", h->circuits);
    add(cs, "search_requests", ps->search_requests);
    add(cs, "search_replies", ps->search_replies);
    add(cs, "search_unanswered", ps->search_unanswered);
    add(cs, "connects", connects);
    add(cs, "monitor_updates", updates);
    add(cs, "pv_monitor_updates", pv_updates);
    add(cs, "reads", reads);
    add(cs, "writes", writes);
    add(cs, "put_records", m->put_count[PROTO_CA]);
    add(cs, "beacons", beacons);
    add(cs, "messages", ps->messages);
    add(cs, "bytes_in", bin);
    add(cs, "bytes_out", bout);
    add(cs, "decode_errors", h->decode_errors);
    add(cs, "stream_gaps", h->stream_gaps);
    add(cs, "unmatched_replies", ps->unmatched_replies);
    add(cs, "connect_unanswered", unanswered);
    add(cs, "connect_fails", fails);
    add(cs, "server_errors", errors);
    add(cs, "restarts", restarts);
    add(cs, "beacon_anomalies", anomalies);
    add(cs, "not_epics", h->not_epics);
    add(cs, "skipped", h->skipped);
    add(cs, "truncated", h->truncated);
    add(cs, "evicted", evicted);
    add(cs, "expired", expired);
    add(cs, "untracked", untracked);
    add(cs, "searches_evicted", h->searches_evicted);
    add(cs, "flows_evicted", h->flows_evicted);
    add(cs, "flows_untracked", h->flows_untracked);
    add(cs, "requests_untracked", h->requests_untracked);
    add(cs, "channels_untracked", h->channels_untracked);
}

/* Every expected count must be decoded exactly; returns the mismatches */
static int compare(const struct counts *want, const struct counts *got, const char *what, bool print)
{
    int bad = 0;
    for (int i = 0; i < want->n; i++) {
        const struct count *g = find(got, want->c[i].key);
        if (!g) {
            if (print)
                fprintf(stderr, "MISMATCH %s: unknown count %s\n", what, want->c[i].key);
            bad++;
        } else if (g->v != want->c[i].v) {
            if (print)
                fprintf(stderr, "MISMATCH %s: %s written %llu, decoded %llu\n", what, want->c[i].key,
                        (unsigned long long)want->c[i].v, (unsigned long long)g->v);
            bad++;
        }
    }
    return bad;
}

static void print_decoded(const struct counts *cs)
{
    static const char *const shown[] = {
        "pvs", "connects", "monitor_updates", "reads", "writes", "beacons", "decode_errors", "stream_gaps",
    };
    printf("  decoded (CA):");
    for (size_t i = 0; i < sizeof(shown) / sizeof(shown[0]); i++) {
        const struct count *c = find(cs, shown[i]);
        printf("%s %s %llu", i ? "," : "", shown[i], c ? (unsigned long long)c->v : 0ULL);
    }
    printf("\n");
}

static void expect_path(const char *pcap, char *buf, size_t size)
{
    size_t n = strlen(pcap);
    if (n > 5 && strcmp(pcap + n - 5, ".pcap") == 0)
        n -= 5;
    snprintf(buf, size, "%.*s.expect", (int)n, pcap);
}

/* ---- gen ---- */

static void dump_sink(void *arg, uint64_t ts, const uint8_t *frame, uint32_t len)
{
    struct pcap_pkthdr h;
    h.ts.tv_sec = (time_t)(ts / 1000000);
    h.ts.tv_usec = (suseconds_t)(ts % 1000000);
    h.caplen = h.len = len;
    pcap_dump(arg, &h, frame);
}

static int parse_gen_params(int argc, char **argv, struct gen_params *p, bool mem)
{
    static const struct option opts[] = {
        { "servers", required_argument, NULL, 's' },
        { "clients", required_argument, NULL, 'c' },
        { "pvs", required_argument, NULL, 'n' },
        { "updates", required_argument, NULL, 'u' },
        { "seed", required_argument, NULL, 'x' },
        { NULL, 0, NULL, 0 },
    };
    int o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 's': p->servers = atoi(optarg); break;
        case 'c': p->clients = mem ? 1 : atoi(optarg); break;
        case 'n': p->pvs = atoi(optarg); break;
        case 'u': p->updates = mem ? 0 : strtoull(optarg, NULL, 10); break;
        case 'x': p->seed = strtoull(optarg, NULL, 0); break;
        default: return -1;
        }
    }
    return 0;
}

static int cmd_gen(int argc, char **argv)
{
    struct gen_params p = { .servers = 20, .clients = 4, .pvs = 20000, .updates = 2000000, .seed = 1 };
    if (parse_gen_params(argc, argv, &p, false) < 0 || optind != argc - 1) {
        fprintf(stderr, "usage: epics-bench gen OUT.pcap [--servers S] [--clients C] [--pvs N] "
                        "[--updates U] [--seed X]\n(defaults 20, 4, 20000, 2000000, 1)\n");
        return 2;
    }
    const char *out = argv[optind];
    char err[256], exp[4096];
    pcap_t *dead = pcap_open_dead(DLT_EN10MB, 65535);
    pcap_dumper_t *d = pcap_dump_open(dead, out);
    if (!d) {
        fprintf(stderr, "epics-bench: %s\n", pcap_geterr(dead));
        return 1;
    }
    struct gen *g = gen_new(&p, dump_sink, d, err, sizeof(err));
    if (!g) {
        fprintf(stderr, "epics-bench: %s\n", err);
        return 2;
    }
    gen_connect(g);
    gen_steady(g);
    gen_close(g);
    pcap_dump_close(d);
    pcap_close(dead);

    const struct gen_counts *n = gen_counts(g);
    struct counts want;
    expected(n, true, &want);
    expect_path(out, exp, sizeof(exp));
    FILE *f = fopen(exp, "w");
    if (!f) {
        perror(exp);
        return 1;
    }
    fprintf(f, "# counts the engine must report for %s\n", strrchr(out, '/') ? strrchr(out, '/') + 1 : out);
    for (int i = 0; i < want.n; i++)
        fprintf(f, "%s %llu\n", want.c[i].key, (unsigned long long)want.c[i].v);
    if (fclose(f) != 0) {
        perror(exp);
        return 1;
    }
    printf("wrote %s: %llu packets, %.1f MB, %.1f s of traffic; %d servers, %d clients, %llu PVs, "
           "%llu connects, %llu monitor updates, %llu reads, %llu writes, %llu beacons\n",
           out, (unsigned long long)n->packets, (double)n->bytes / 1e6,
           (double)(gen_now(g) - GEN_START_US) / 1e6, p.servers, p.clients,
           (unsigned long long)n->pvs, (unsigned long long)n->connects,
           (unsigned long long)n->monitor_updates, (unsigned long long)n->reads,
           (unsigned long long)n->writes, (unsigned long long)n->beacons);
    gen_free(g);
    return 0;
}

/* ---- run ---- */

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static volatile uint64_t sink_;     /* keeps the read loop's work observable */

/* One pass over the file (feeding e when not NULL); returns the loop's time */
static double pass(const char *file, struct engine *e, uint64_t *packets, uint64_t *bytes)
{
    char err[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_open_offline(file, err);
    if (!p) {
        fprintf(stderr, "epics-bench: %s\n", err);
        exit(1);
    }
    int lt = pcap_datalink(p);
    struct pcap_pkthdr *h;
    const u_char *d;
    uint64_t n = 0, sum = 0, touch = 0;
    int sts;
    double t0 = now();
    if (e) {
        while ((sts = pcap_next_ex(p, &h, &d)) == 1) {
            n++;
            sum += h->caplen;
            engine_frame(e, lt, (uint64_t)h->ts.tv_sec * 1000000ULL + (uint64_t)h->ts.tv_usec, d,
                         h->caplen, h->len);
        }
    } else {
        while ((sts = pcap_next_ex(p, &h, &d)) == 1) {
            n++;
            sum += h->caplen;
            touch += h->caplen ? d[0] : 0;
        }
    }
    double t = now() - t0;
    if (sts == PCAP_ERROR) {
        fprintf(stderr, "epics-bench: %s: %s\n", file, pcap_geterr(p));
        exit(1);
    }
    pcap_close(p);
    sink_ += touch;
    *packets = n;
    *bytes = sum;
    return t;
}

/* Reads "key value" lines; returns -1 when the file is absent, -2 when it is bad */
static int read_expect(const char *path, struct counts *cs, char keys[][32])
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char line[256], key[32];
    unsigned long long v;
    cs->n = 0;
    while (fgets(line, sizeof(line), f)) {
        if (line[0] == '#' || line[0] == '\n')
            continue;
        if (sscanf(line, "%31s %llu", key, &v) != 2 || cs->n >= MAX_COUNTS) {
            fclose(f);
            fprintf(stderr, "epics-bench: %s: bad line: %s", path, line);
            return -2;
        }
        snprintf(keys[cs->n], 32, "%s", key);
        add(cs, keys[cs->n], v);
    }
    fclose(f);
    return 0;
}

static int cmd_run(int argc, char **argv)
{
    static const struct option opts[] = {
        { "repeat", required_argument, NULL, 'r' },
        { "min-time", required_argument, NULL, 't' },
        { "brief", no_argument, NULL, 'b' },
        { NULL, 0, NULL, 0 },
    };
    int repeat = 5, o;
    double min_time = 0;
    bool brief = false;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 'r': repeat = atoi(optarg); break;
        case 't': min_time = atof(optarg); break;
        case 'b': brief = true; break;
        default: repeat = -1; break;
        }
    }
    if (repeat < 1 || optind != argc - 1) {
        fprintf(stderr, "usage: epics-bench run FILE.pcap [--repeat R] [--min-time SECONDS] [--brief]\n"
                        "(defaults 5, 0)\n");
        return 2;
    }
    const char *file = argv[optind];
    char exp[4096], keys[MAX_COUNTS][32];
    struct counts want, got;
    expect_path(file, exp, sizeof(exp));
    int have_expect = read_expect(exp, &want, keys);
    if (have_expect == -2)
        return 1;

    struct engine_config cfg;
    engine_default_config(&cfg);
    struct engine *e = calloc(1, sizeof(*e));
    double best_read = 1e30, best_decode = 1e30, spent = 0;
    uint64_t packets = 0, bytes = 0, p2 = 0, b2 = 0, messages = 0;
    int bad = 0, passes = 0;
    for (int r = 0; r < repeat || (spent < min_time && r < 1000000); r++, passes++) {
        double t = pass(file, NULL, &packets, &bytes);
        if (t < best_read)
            best_read = t;
        engine_init(e, &cfg, NULL);
        t = pass(file, e, &p2, &b2);
        spent += t;
        if (t < best_decode)
            best_decode = t;
        if (r == 0) {
            engine_finish(e);
            observed(e, &got);
            messages = e->model.ps[PROTO_CA].messages + e->model.ps[PROTO_PVA].messages;
        }
        engine_free(e);
    }
    free(e);
    double mb = (double)bytes / 1e6;
    if (have_expect == 0)
        bad = compare(&want, &got, file, false);
    if (brief) {
        const char *base = strrchr(file, '/') ? strrchr(file, '/') + 1 : file;
        int blen = (int)strlen(base);
        if (blen > 5 && strcmp(base + blen - 5, ".pcap") == 0)
            blen -= 5;
        printf("%-16.*s %8llu packets  read %9.0f packets/s  decode %9.0f packets/s %7.1f MB/s  ratio %5.2f%s\n",
               blen, base, (unsigned long long)packets, (double)packets / best_read,
               (double)packets / best_decode, mb / best_decode, best_decode / best_read,
               bad ? "  COUNTS DO NOT MATCH" : "");
    } else {
        printf("%s: %llu packets, %.1f MB, best of %d passes\n", file, (unsigned long long)packets,
               mb, passes);
        printf("  read only       %9.4f s %11.0f packets/s %8.1f MB/s\n", best_read,
               (double)packets / best_read, mb / best_read);
        printf("  read + decode   %9.4f s %11.0f packets/s %8.1f MB/s\n", best_decode,
               (double)packets / best_decode, mb / best_decode);
        printf("  ratio decode/read %.2f\n", best_decode / best_read);
        printf("  %llu CA and PVA messages, %.1f million decoded per second\n",
               (unsigned long long)messages, (double)messages / best_decode / 1e6);
        print_decoded(&got);
        if (have_expect == 0 && !bad)
            printf("  all %d counts match %s\n", want.n, exp);
        else if (have_expect != 0)
            printf("  (no %s: counts not checked)\n", exp);
    }
    if (bad) {
        fflush(stdout);
        compare(&want, &got, file, true);
        fprintf(stderr, "epics-bench: %s: %d counts differ from what the generator wrote\n", file, bad);
        return 1;
    }
    return 0;
}

/* ---- mem ---- */

/* Frames generated before measuring, so that the generator's own memory
 * stays out of the figures */
struct frames {
    uint8_t *data;
    size_t len, cap;
};

struct frame_rec {
    uint64_t ts;
    uint32_t len;
};

static void mem_sink(void *arg, uint64_t ts, const uint8_t *frame, uint32_t len)
{
    struct frames *f = arg;
    size_t need = sizeof(struct frame_rec) + ((len + 7u) & ~7u);
    if (f->len + need > f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 1 << 20;
        while (cap < f->len + need)
            cap *= 2;
        uint8_t *d = realloc(f->data, cap);
        if (!d) {
            fprintf(stderr, "epics-bench: out of memory\n");
            exit(1);
        }
        f->data = d;
        f->cap = cap;
    }
    struct frame_rec r = { ts, len };
    memcpy(f->data + f->len, &r, sizeof(r));
    memcpy(f->data + f->len + sizeof(r), frame, len);
    f->len += need;
}

static void feed(struct engine *e, const struct frames *f, size_t from, size_t to)
{
    while (from < to) {
        struct frame_rec r;
        memcpy(&r, f->data + from, sizeof(r));
        engine_frame(e, DLT_EN10MB, r.ts, f->data + from + sizeof(r), r.len, r.len);
        from += sizeof(r) + ((r.len + 7u) & ~7u);
    }
}

static size_t heap(void)
{
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

static long max_rss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static int cmd_mem(int argc, char **argv)
{
    struct gen_params p = { .servers = 20, .clients = 1, .pvs = 100000, .updates = 0, .seed = 1 };
    if (parse_gen_params(argc, argv, &p, true) < 0 || optind != argc) {
        fprintf(stderr, "usage: epics-bench mem [--pvs K] [--servers S]   (defaults 100000, 20)\n");
        return 2;
    }
    char err[256];
    struct frames fr = { 0 };
    struct gen *g = gen_new(&p, mem_sink, &fr, err, sizeof(err));
    if (!g) {
        fprintf(stderr, "epics-bench: %s\n", err);
        return 2;
    }
    gen_connect(g);
    size_t opened = fr.len;
    uint64_t t_open = gen_now(g);
    gen_close(g);
    struct counts want, got;
    expected(gen_counts(g), true, &want);
    gen_free(g);

    struct engine_config cfg;
    engine_default_config(&cfg);
    struct engine *e = calloc(1, sizeof(*e));
    engine_init(e, &cfg, NULL);
    long rss0 = max_rss_kb();
    size_t h0 = heap();
    feed(e, &fr, 0, opened);
    /* once the search timeout has passed, only PVs, channels and subscriptions remain */
    engine_tick(e, t_open + cfg.lim.search_timeout_us[PROTO_CA] + 1000000);
    size_t h1 = heap();
    size_t pvs = e->model.pvs[PROTO_CA].count;
    size_t channels = 0;
    for (struct tnode *n = table_oldest(&e->model.servers[PROTO_CA]); n;
         n = table_next_newer(&e->model.servers[PROTO_CA], n))
        channels += container_of(n, struct server, node)->channels;
    long rss1 = max_rss_kb();
    feed(e, &fr, opened, fr.len);
    size_t h2 = heap();
    engine_finish(e);
    observed(e, &got);
    int bad = compare(&want, &got, "mem", false);
    size_t kept = e->model.pvs[PROTO_CA].count;

    printf("memory: %zu PVs tracked, %zu channels with a subscription each, %d circuits\n", pvs,
           channels, p.servers);
    printf("  channels open:   %8.1f MiB heap, %5.0f bytes per PV\n", (double)(h1 - h0) / 1048576.0,
           (double)(h1 - h0) / (double)(pvs ? pvs : 1));
    printf("  circuits closed: %8.1f MiB heap, %5.0f bytes per PV (%zu PV records kept)\n",
           (double)(h2 - h0) / 1048576.0, (double)(h2 - h0) / (double)(kept ? kept : 1), kept);
    printf("  max RSS %.1f MiB (%.1f MiB before the engine saw a packet: the generated frames); "
           "growth %.0f bytes per PV\n", (double)rss1 / 1024.0, (double)rss0 / 1024.0,
           (double)(rss1 - rss0) * 1024.0 / (double)(pvs ? pvs : 1));
    printf("  sizeof: pv %zu + name, channel %zu, request %zu, search %zu, idmap slot %zu\n",
           sizeof(struct pv), sizeof(struct channel), sizeof(struct request), sizeof(struct search),
           sizeof(struct idmap_slot));
    engine_free(e);
    free(e);
    free(fr.data);
    if (bad) {
        fflush(stdout);
        compare(&want, &got, "mem", true);
        fprintf(stderr, "epics-bench: mem: %d counts differ from what the generator wrote\n", bad);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "gen") == 0)
        return cmd_gen(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "run") == 0)
        return cmd_run(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "mem") == 0)
        return cmd_mem(argc - 1, argv + 1);
    fprintf(stderr, "usage: epics-bench gen OUT.pcap [--servers S] [--clients C] [--pvs N] [--updates U] [--seed X]\n"
                    "       epics-bench run FILE.pcap [--repeat R] [--min-time SECONDS] [--brief]\n"
                    "       epics-bench mem [--pvs K] [--servers S]\n");
    return 2;
}

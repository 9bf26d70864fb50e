/*
 * main.c - pmdaepics: options, capture set-up, privileges, the event loop.
 *
 * One thread serves pmcd and decodes: select() waits on the pmcd pipe and
 * on the capture queue; frames are taken in bounded batches so a request
 * from pmcd never waits behind a storm. A second thread (capture.c) only
 * moves frames from the kernel's rings into that queue (--queue-mb), so
 * that they are read even while a fetch of every instance of a large agent
 * keeps this thread busy for a second; the engine and the model are touched
 * by this thread alone.
 */
#include "agent.h"
#include "capture.h"
#include "domain.h"
#include "labels.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/time.h>

#define BATCH 512               /* packets per capture handle per turn */
#define FILE_BATCH 4096

static struct agent agent;
static struct capture cap;

#define STR(x) #x
#define XSTR(x) STR(x)

/* The agent's options; -d, -l, -h, -U and -D are PCP's own, parsed by
 * pmdaGetOptions. Options without a letter are told apart by name. */
static pmLongOptions longopts[] = {
    PMDA_OPTIONS_HEADER("Options"),
    PMDAOPT_DOMAIN,
    PMDAOPT_LOGFILE,
    PMDAOPT_HELPTEXT,
    PMDAOPT_USERNAME,
    PMDAOPT_DEBUG,
    { "", 1, 'i', "IFACE", "capture on IFACE (repeatable; default any)" },
    { "", 1, 'r', "FILE", "read a capture file instead of capturing live" },
    { "search-timeout", 1, 0, "S", "a search is unanswered S seconds after its last retry" },
    PMDA_OPTIONS_TEXT("                        (default: CA " XSTR(SEARCH_TIMEOUT_CA_S) ", PVA "
                      XSTR(SEARCH_TIMEOUT_PVA_S) ", past the clients' retry periods)"),
    { "request-timeout", 1, 0, "S", "create requests unanswered after S seconds (10)" },
    { "idle-timeout", 1, 0, "S", "forget idle servers, PVs, clients after S seconds (3600)" },
    { "max-pvs", 1, 0, "N", "PVs tracked at most (500000)" },
    { "max-servers", 1, 0, "N", "servers tracked at most (10000)" },
    { "max-clients", 1, 0, "N", "clients tracked at most (10000)" },
    { "max-flows", 1, 0, "N", "UDP and TCP flows tracked at most (20000)" },
    { "max-searches", 1, 0, "N", "pending searches at most (100000)" },
    { "max-channels", 1, 0, "N", "channels over all circuits (1000000)" },
    { "max-requests", 1, 0, "N", "pending requests, subscriptions included, over all" },
    PMDA_OPTIONS_TEXT("                        circuits (1000000)"),
    { "max-buffer-mb", 1, 0, "N", "reassembly and decoder buffers, all circuits (256)" },
    { "buffer-mb", 1, 0, "N", "kernel capture buffer per interface (64)" },
    { "queue-mb", 1, 0, "N", "frames read from the kernel, not yet decoded (128)" },
    { "ca-ports", 1, 0, "P,P", "more CA server ports to follow (besides 5064 and the" },
    { "pva-ports", 1, 0, "P,P", "ports learned from the traffic); likewise PVA" },
    { "check", 0, 0, NULL, "open the captures with these options, report and exit" },
    PMDA_OPTIONS_TEXT("                        (0: they work; 1: the error on standard error)"),
    { "pmns", 0, 0, NULL, "print the PMNS of the agent and exit" },
    { "help-text", 0, 0, NULL, "print the help text of the agent and exit" },
    PMOPT_HELP,
    PMDA_OPTIONS_END
};

/* The letters pmdaGetOptions hands back rather than takes: -i is an
 * interface here, not pmcd's port; '?' is --help or an unknown option */
static int ask_options(int opt, pmdaOptions *opts)
{
    (void)opts;
    return opt == 'i' || opt == '?';
}

static pmdaOptions opts = {
    .short_options = "d:D:h:l:U:i:r:?",
    .long_options = longopts,
    .override = ask_options,
};

static uint64_t now_us(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (uint64_t)tv.tv_sec * 1000000ULL + (uint64_t)tv.tv_usec;
}

static int parse_count(const char *s, unsigned long long *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || end == s || v == 0)
        return -1;
    *out = v;
    return 0;
}

/* Open every capture (a file, or live interfaces with the kernel filter) */
static int open_captures(const char *file, const char **ifaces, int nifaces, int buffer_mb,
                         struct engine *e, char *err, size_t errlen)
{
    if (file)
        return capture_open_file(&cap, file, err, errlen) < 0 ? -1
                                                              : engine_prescan_file(e, file, err, errlen);
    for (int i = 0; i < nifaces; i++)
        if (capture_open_live(&cap, ifaces[i], buffer_mb, err, errlen) < 0)
            return -1;
    return capture_set_filter(&cap, e, err, errlen);
}

/* What the options ask for, besides pmdaGetOptions' own */
struct settings {
    struct engine_config cfg;
    const char *ifaces[CAPTURE_MAX_IFACES];
    int nifaces;
    const char *file;           /* -r */
    int buffer_mb, queue_mb;
    bool check;
};

/* A count (a positive integer) for the option of that name: 0, or -1 when
 * the name takes no count or the count is out of its range */
static int set_count(struct settings *st, const char *name, unsigned long long v)
{
    struct model_limits *lim = &st->cfg.lim;
    const struct { const char *name; size_t *cap; } caps[] = {     /* entries */
        { "max-pvs", &lim->max_pvs },           { "max-servers", &lim->max_servers },
        { "max-clients", &lim->max_clients },   { "max-flows", &st->cfg.max_flows },
        { "max-searches", &lim->max_searches }, { "max-channels", &lim->max_channels },
        { "max-requests", &lim->max_requests },
    };
    const struct { const char *name; uint64_t *us; } timeouts[] = {  /* seconds */
        { "request-timeout", &lim->request_timeout_us },
        { "idle-timeout", &lim->idle_timeout_us },
    };
    for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++)
        if (!strcmp(name, caps[i].name)) {
            *caps[i].cap = v;
            return 0;
        }
    for (size_t i = 0; i < sizeof(timeouts) / sizeof(timeouts[0]); i++)
        if (!strcmp(name, timeouts[i].name)) {
            *timeouts[i].us = v * 1000000ULL;
            return 0;
        }
    if (!strcmp(name, "search-timeout"))        /* one for both protocols */
        for (int p = 0; p < PROTO_COUNT; p++)
            lim->search_timeout_us[p] = v * 1000000ULL;
    else if (!strcmp(name, "max-buffer-mb") && v <= SIZE_MAX / (1024 * 1024))
        lim->max_buffer_bytes = v * 1024 * 1024;
    else if (!strcmp(name, "buffer-mb") && v <= 4096)
        st->buffer_mb = (int)v;
    else if (!strcmp(name, "queue-mb") && v <= 65536)
        st->queue_mb = (int)v;
    else
        return -1;
    return 0;
}

/* An option without a letter: 0 to go on, 1 when it did its job and the
 * agent exits (--pmns, --help-text), -1 after an error message */
static int long_option(struct settings *st, const char *name, const char *arg)
{
    unsigned long long v;
    if (!strcmp(name, "pmns")) {
        metrics_write_pmns(stdout);
        return 1;
    }
    if (!strcmp(name, "help-text")) {
        metrics_write_help(stdout);
        return 1;
    }
    if (!strcmp(name, "check")) {
        st->check = true;
        return 0;
    }
    if (!strcmp(name, "ca-ports") || !strcmp(name, "pva-ports")) {
        if (port_list_parse(&st->cfg.ports[name[0] == 'c' ? PROTO_CA : PROTO_PVA], arg) < 0) {
            fprintf(stderr, "%s: bad port list \"%s\"\n", pmGetProgname(), arg);
            return -1;
        }
        return 0;
    }
    if (parse_count(arg, &v) < 0 || set_count(st, name, v) < 0) {
        fprintf(stderr, "%s: bad value \"%s\" for --%s\n", pmGetProgname(), arg, name);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    static struct settings st = { .buffer_mb = 64, .queue_mb = 128 };
    const char **ifaces = st.ifaces, *user;
    int c, sts;
    static char logfile[] = "epics.log", helppath[MAXPATHLEN];
    char err[512];

    pmSetProgname(argv[0]);
    engine_default_config(&st.cfg);
    engine_config_from_env(&st.cfg);
    /* no log or help file yet: pmdaDaemon would copy them, and -l and -h
     * replace its copies without freeing them */
    pmdaDaemon(&agent.dispatch, PMDA_INTERFACE_7, pmGetProgname(), EPICS, NULL, NULL);

    while ((c = pmdaGetOptions(argc, argv, &opts, &agent.dispatch)) != EOF) {
        switch (c) {
        case 'i':
            if (st.nifaces == CAPTURE_MAX_IFACES) {
                fprintf(stderr, "%s: at most %d interfaces\n", pmGetProgname(), CAPTURE_MAX_IFACES);
                return 1;
            }
            st.ifaces[st.nifaces++] = opts.optarg;
            break;
        case 'r': st.file = opts.optarg; break;
        case 0:
            sts = long_option(&st, longopts[opts.index].long_opt, opts.optarg);
            if (sts != 0)
                return sts < 0 ? 1 : 0;
            break;
        case '?':               /* -? and --help, or an option not known */
            if (!strcmp(argv[opts.optind - 1], "-?") || !strcmp(argv[opts.optind - 1], "--help")) {
                pmdaUsageMessage(&opts);
                return 0;
            }
            opts.errors++;
            break;
        default:
            opts.errors++;
        }
    }
    if (opts.errors || opts.optind != argc) {
        pmdaUsageMessage(&opts);
        return 1;
    }
    pmdaExt *ext = agent.dispatch.version.any.ext;
    if (!ext->e_logfile)
        ext->e_logfile = logfile;
    if (!ext->e_helptext) {
        pmsprintf(helppath, sizeof(helppath), "%s%c" "epics" "%c" "help",
                  pmGetConfig("PCP_PMDAS_DIR"), pmPathSeparator(), pmPathSeparator());
        ext->e_helptext = helppath;
    }
    const char *file = st.file;
    int nifaces = st.nifaces;
    if (nifaces == 0)
        ifaces[nifaces++] = "any";
    if (st.check) {             /* what Install asks before it changes pmcd */
        engine_init(&agent.engine, &st.cfg, NULL);
        int sts = open_captures(file, ifaces, nifaces, st.buffer_mb, &agent.engine, err, sizeof(err));
        if (sts < 0)
            fprintf(stderr, "%s: %s\n", pmGetProgname(), err);
        capture_close(&cap);
        engine_free(&agent.engine);
        return sts < 0 ? 1 : 0;
    }

    pmdaOpenLog(&agent.dispatch);

    struct model_hooks hooks = agent_hooks(&agent);
    engine_init(&agent.engine, &st.cfg, &hooks);
    if (agent_init(&agent) < 0) {
        pmNotifyErr(LOG_ERR, "cannot initialise the agent");
        return 1;
    }
    char ifnames[256] = "any";
    for (int i = 0, len = 0; i < nifaces && len < (int)sizeof(ifnames); i++)
        len += snprintf(ifnames + len, sizeof(ifnames) - (size_t)len, "%s%s", i ? "," : "", ifaces[i]);
    labels_agent_init(&agent, file ? NULL : ifnames);

    /* open every capture while still privileged */
    if (open_captures(file, ifaces, nifaces, st.buffer_mb, &agent.engine, err, sizeof(err)) < 0) {
        pmNotifyErr(LOG_ERR, "%s", err);
        return 1;
    }
    user = opts.username ? opts.username : pmGetOptionalConfig("PCP_USER");
    if (user && pmSetProcessIdentity(user) < 0)
        pmNotifyErr(LOG_WARNING, "could not run as user %s", user);
    pmNotifyErr(LOG_INFO, "capturing from %s%s", file ? "file " : "",
                file ? file : (nifaces == 1 ? ifaces[0] : "several interfaces"));

    if (!file && capture_reader_start(&cap, (size_t)st.queue_mb * 1024 * 1024, err, sizeof(err)) < 0) {
        pmNotifyErr(LOG_ERR, "%s", err);
        return 1;
    }

    pmdaConnect(&agent.dispatch);
    if (agent.dispatch.status < 0)
        return 1;

    int pmcd_fd = __pmdaInFd(&agent.dispatch);
    uint64_t last_tick = now_us();
    uint64_t filter_servers = agent.engine.model.servers_learned;     /* as the filter knew them */
    bool more = false;          /* a full batch was taken last turn */
    int reported_error = 0;
    for (;;) {
        fd_set rfds;
        int maxfd = pmcd_fd;
        FD_ZERO(&rfds);
        FD_SET(pmcd_fd, &rfds);
        if (cap.reader) {
            FD_SET(capture_reader_fd(&cap), &rfds);
            if (capture_reader_fd(&cap) > maxfd)
                maxfd = capture_reader_fd(&cap);
        }
        struct timeval tv = { 0, (more || (cap.file && !cap.eof)) ? 0 : 200000 };
        int n = select(maxfd + 1, &rfds, NULL, NULL, &tv);
        if (n < 0 && errno != EINTR) {
            pmNotifyErr(LOG_ERR, "select: %s", strerror(errno));
            break;
        }
        if (n > 0 && FD_ISSET(pmcd_fd, &rfds) && __pmdaMainPDU(&agent.dispatch) < 0)
            break;              /* pmcd closed the pipe */
        if (cap.file && !cap.eof) {
            if (capture_dispatch(&cap, 0, &agent.engine, FILE_BATCH) < 0) {
                pmNotifyErr(LOG_ERR, "%s: read error after %llu packets: %s", file,
                            (unsigned long long)agent.engine.model.health.packets,
                            pcap_geterr(cap.src[0].pcap));
                cap.eof = true;
            }
            if (cap.eof) {
                engine_finish(&agent.engine);
                agent.last_save = 0;    /* the instance caches as the file left them */
                agent_sync(&agent);
                pmNotifyErr(LOG_INFO, "end of capture file: %llu packets",
                            (unsigned long long)agent.engine.model.health.packets);
            }
        }
        if (cap.reader && (more || (n > 0 && FD_ISSET(capture_reader_fd(&cap), &rfds))))
            more = capture_reader_drain(&cap, &agent.engine, BATCH) == BATCH;
        int bad = cap.reader ? atomic_load(&cap.reader_error) : 0;
        if (bad && bad != reported_error) {
            reported_error = bad;
            pmNotifyErr(LOG_ERR, "%s: capture failed", cap.src[bad - 1].name);
        }
        if (!cap.file && agent.engine.model.servers_learned != filter_servers) {
            filter_servers = agent.engine.model.servers_learned;
            int sts = capture_set_filter(&cap, &agent.engine, err, sizeof(err));
            if (sts != 0)
                pmNotifyErr(sts < 0 ? LOG_ERR : LOG_WARNING, "%s", err);
        }
        uint64_t now = now_us();
        if (now >= last_tick + 1000000) {
            last_tick = now;
            if (!cap.file) {
                engine_tick(&agent.engine, now);
                struct capture_losses lost = capture_stats(&cap);
                engine_losses(&agent.engine, &lost);
            }
            agent_sync(&agent);
        }
    }
    capture_close(&cap);
    return 0;
}

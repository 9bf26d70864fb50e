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
#include <getopt.h>
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

static void usage(const char *prog)
{
    fprintf(stderr,
            "Usage: %s [options]\n\n"
            "Options:\n"
            "  -d DOMAIN          PMDA domain number (default %d)\n"
            "  -l LOGFILE         log file (default epics.log)\n"
            "  -h HELPFILE        help text (default $PCP_PMDAS_DIR/epics/help)\n"
            "  -U USER            run as USER after opening the capture (default: PCP user)\n"
            "  -i IFACE           capture on IFACE (repeatable; default any)\n"
            "  -r FILE            read a capture file instead of capturing live\n"
            "  --search-timeout S   a search unanswered S seconds after its last retry\n"
            "                       (default: CA %d, PVA %d, past the clients' retry periods)\n"
            "  --request-timeout S  create requests unanswered after S seconds (default 10)\n"
            "  --idle-timeout S     forget idle servers, PVs, clients after S seconds (3600)\n"
            "  --max-pvs N, --max-servers N, --max-clients N, --max-flows N,\n"
            "  --max-searches N     table caps (500000, 10000, 10000, 20000, 100000)\n"
            "  --max-channels N, --max-requests N\n"
            "                       channels and pending requests (subscriptions\n"
            "                       included) over all circuits (1000000 each)\n"
            "  --max-buffer-mb N    reassembly and decoder buffers, all circuits (256)\n"
            "  --buffer-mb N        kernel capture buffer per interface (default 64)\n"
            "  --queue-mb N         frames read from the kernel, not yet decoded (128)\n"
            "  --ca-ports P,P       more CA server ports to follow (besides 5064 and the\n"
            "  --pva-ports P,P      ports learned from the traffic); likewise PVA\n"
            "  --check              open the captures with these options, report and exit\n"
            "                       (0: they work; 1: the error on standard error)\n"
            "  --pmns               print the PMNS of the agent and exit\n"
            "  --help-text          print the help text of the agent and exit\n",
            prog, EPICS, SEARCH_TIMEOUT_CA_S, SEARCH_TIMEOUT_PVA_S);
}

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

int main(int argc, char **argv)
{
    enum { OPT_SEARCH = 256, OPT_REQUEST, OPT_IDLE, OPT_PVS, OPT_SERVERS, OPT_CLIENTS, OPT_FLOWS,
           OPT_CHANNELS, OPT_REQUESTS, OPT_MEMORY, OPT_SEARCHES, OPT_BUFFER, OPT_QUEUE, OPT_PMNS,
           OPT_HELPTEXT, OPT_CA_PORTS, OPT_PVA_PORTS, OPT_CHECK };
    static const struct option longopts[] = {
        { "search-timeout", required_argument, NULL, OPT_SEARCH },
        { "request-timeout", required_argument, NULL, OPT_REQUEST },
        { "idle-timeout", required_argument, NULL, OPT_IDLE },
        { "max-pvs", required_argument, NULL, OPT_PVS },
        { "max-servers", required_argument, NULL, OPT_SERVERS },
        { "max-clients", required_argument, NULL, OPT_CLIENTS },
        { "max-flows", required_argument, NULL, OPT_FLOWS },
        { "max-channels", required_argument, NULL, OPT_CHANNELS },
        { "max-requests", required_argument, NULL, OPT_REQUESTS },
        { "max-searches", required_argument, NULL, OPT_SEARCHES },
        { "max-buffer-mb", required_argument, NULL, OPT_MEMORY },
        { "buffer-mb", required_argument, NULL, OPT_BUFFER },
        { "ca-ports", required_argument, NULL, OPT_CA_PORTS },
        { "pva-ports", required_argument, NULL, OPT_PVA_PORTS },
        { "queue-mb", required_argument, NULL, OPT_QUEUE },
        { "pmns", no_argument, NULL, OPT_PMNS },
        { "check", no_argument, NULL, OPT_CHECK },
        { "help-text", no_argument, NULL, OPT_HELPTEXT },
        { "help", no_argument, NULL, '?' },
        { NULL, 0, NULL, 0 },
    };
    const char *ifaces[CAPTURE_MAX_IFACES];
    int nifaces = 0, domain = EPICS, buffer_mb = 64, queue_mb = 128, c, check = 0;
    const char *logfile = "epics.log", *file = NULL, *user = NULL, *helpfile = NULL;
    struct engine_config cfg;
    char helppath[MAXPATHLEN], err[512];
    unsigned long long v;

    pmSetProgname(argv[0]);
    engine_default_config(&cfg);
    engine_config_from_env(&cfg);

    while ((c = getopt_long(argc, argv, "d:D:h:l:U:i:r:?", longopts, NULL)) != -1) {
        switch (c) {
        case 'd': domain = atoi(optarg); break;
        case 'D': pmSetDebug(optarg); break;
        case 'l': logfile = optarg; break;
        case 'h': helpfile = optarg; break;
        case 'U': user = optarg; break;
        case 'i':
            if (nifaces == CAPTURE_MAX_IFACES) {
                fprintf(stderr, "%s: at most %d interfaces\n", pmGetProgname(), CAPTURE_MAX_IFACES);
                return 1;
            }
            ifaces[nifaces++] = optarg;
            break;
        case 'r': file = optarg; break;
        case OPT_CA_PORTS:
        case OPT_PVA_PORTS:
            if (port_list_parse(&cfg.ports[c == OPT_CA_PORTS ? PROTO_CA : PROTO_PVA], optarg) < 0) {
                fprintf(stderr, "%s: bad port list \"%s\"\n", pmGetProgname(), optarg);
                return 1;
            }
            break;
        case OPT_PMNS: metrics_write_pmns(stdout); return 0;
        case OPT_HELPTEXT: metrics_write_help(stdout); return 0;
        case OPT_CHECK: check = 1; break;
        case OPT_BUFFER:
            if (parse_count(optarg, &v) < 0 || v > 4096)
                goto bad;
            buffer_mb = (int)v;
            break;
        case OPT_QUEUE:
            if (parse_count(optarg, &v) < 0 || v > 65536)
                goto bad;
            queue_mb = (int)v;
            break;
        default:
            if (c >= OPT_SEARCH && c <= OPT_SEARCHES) {
                if (parse_count(optarg, &v) < 0)
                    goto bad;
                switch (c) {
                case OPT_SEARCH:
                    for (int p = 0; p < PROTO_COUNT; p++)
                        cfg.lim.search_timeout_us[p] = v * 1000000ULL;
                    break;
                case OPT_REQUEST: cfg.lim.request_timeout_us = v * 1000000ULL; break;
                case OPT_IDLE: cfg.lim.idle_timeout_us = v * 1000000ULL; break;
                case OPT_PVS: cfg.lim.max_pvs = v; break;
                case OPT_SERVERS: cfg.lim.max_servers = v; break;
                case OPT_CLIENTS: cfg.lim.max_clients = v; break;
                case OPT_FLOWS: cfg.max_flows = v; break;
                case OPT_CHANNELS: cfg.lim.max_channels = v; break;
                case OPT_REQUESTS: cfg.lim.max_requests = v; break;
                case OPT_SEARCHES: cfg.lim.max_searches = v; break;
                case OPT_MEMORY:
                    if (v > SIZE_MAX / (1024 * 1024))
                        goto bad;
                    cfg.lim.max_buffer_bytes = v * 1024 * 1024;
                    break;
                }
                break;
            }
            usage(pmGetProgname());
            return c == '?' && optopt == 0 ? 0 : 1;
        }
    }
    if (optind != argc) {
        usage(pmGetProgname());
        return 1;
    }
    if (nifaces == 0)
        ifaces[nifaces++] = "any";
    if (check) {                /* what Install asks before it changes pmcd */
        engine_init(&agent.engine, &cfg, NULL);
        int sts = open_captures(file, ifaces, nifaces, buffer_mb, &agent.engine, err, sizeof(err));
        if (sts < 0)
            fprintf(stderr, "%s: %s\n", pmGetProgname(), err);
        capture_close(&cap);
        engine_free(&agent.engine);
        return sts < 0 ? 1 : 0;
    }

    if (helpfile)
        pmsprintf(helppath, sizeof(helppath), "%s", helpfile);
    else
        pmsprintf(helppath, sizeof(helppath), "%s%c" "epics" "%c" "help",
                  pmGetConfig("PCP_PMDAS_DIR"), pmPathSeparator(), pmPathSeparator());
    pmdaDaemon(&agent.dispatch, PMDA_INTERFACE_7, (char *)pmGetProgname(), domain,
               (char *)logfile, helppath);
    pmdaOpenLog(&agent.dispatch);

    struct model_hooks hooks = agent_hooks(&agent);
    engine_init(&agent.engine, &cfg, &hooks);
    if (agent_init(&agent) < 0) {
        pmNotifyErr(LOG_ERR, "cannot initialise the agent");
        return 1;
    }
    char ifnames[256] = "any";
    for (int i = 0, len = 0; i < nifaces && len < (int)sizeof(ifnames); i++)
        len += snprintf(ifnames + len, sizeof(ifnames) - (size_t)len, "%s%s", i ? "," : "", ifaces[i]);
    labels_agent_init(&agent, file ? NULL : ifnames);

    /* open every capture while still privileged */
    if (open_captures(file, ifaces, nifaces, buffer_mb, &agent.engine, err, sizeof(err)) < 0) {
        pmNotifyErr(LOG_ERR, "%s", err);
        return 1;
    }
    if (!user)
        user = pmGetOptionalConfig("PCP_USER");
    if (user && pmSetProcessIdentity(user) < 0)
        pmNotifyErr(LOG_WARNING, "could not run as user %s", user);
    pmNotifyErr(LOG_INFO, "capturing from %s%s", file ? "file " : "",
                file ? file : (nifaces == 1 ? ifaces[0] : "several interfaces"));

    if (!file && capture_reader_start(&cap, (size_t)queue_mb * 1024 * 1024, err, sizeof(err)) < 0) {
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

bad:
    fprintf(stderr, "%s: bad value \"%s\" for --%s\n", pmGetProgname(), optarg,
            longopts[c - OPT_SEARCH].name);
    return 1;
}

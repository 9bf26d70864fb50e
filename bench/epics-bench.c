/*
 * epics-bench - how much decoding and accounting cost next to only reading
 * the packets, and how much memory a tracked PV takes.
 *
 *   epics-bench gen OUT.pcap [servers clients pvs_per_client rounds]
 *       write a synthetic Channel Access capture: searches and replies,
 *       circuits with CREATE_CHAN, subscriptions, then rounds of monitor
 *       updates packed into full segments as an IOC sends them, with ACKs
 *   epics-bench run FILE.pcap [repeats]
 *       best-of-N wall time of a plain libpcap loop over the file and of the
 *       same loop feeding every frame to the engine; prints the ratio
 *   epics-bench mem PVS
 *       heap bytes per tracked PV, with channels open and after they close
 *
 * Addresses in generated captures are loopback ones; nothing is sent.
 */
#include "engine.h"
#include "frames.h"

#include <malloc.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint8_t frame[80000];
static struct buf msg;

/* ---- gen ---- */

struct writer {
    pcap_dumper_t *d;
    uint64_t ts;
    uint64_t packets;
};

static void put(struct writer *w, size_t len)
{
    struct pcap_pkthdr h;
    w->ts += 37;    /* microseconds between packets */
    h.ts.tv_sec = (time_t)(w->ts / 1000000);
    h.ts.tv_usec = (suseconds_t)(w->ts % 1000000);
    h.caplen = h.len = (bpf_u_int32)len;
    pcap_dump((u_char *)w->d, &h, frame);
    w->packets++;
}

struct circ {
    uint32_t caddr, saddr;
    uint16_t cport, sport;
    uint32_t cseq, sseq;
};

static void tcp(struct writer *w, struct circ *c, int from_server, uint8_t flags, const void *data,
                size_t len)
{
    size_t n = from_server
        ? frame_tcp(frame, DLT_EN10MB, c->saddr, c->sport, c->caddr, c->cport, c->sseq, c->cseq, flags, data, len)
        : frame_tcp(frame, DLT_EN10MB, c->caddr, c->cport, c->saddr, c->sport, c->cseq, c->sseq, flags, data, len);
    put(w, n);
    *(from_server ? &c->sseq : &c->cseq) += (uint32_t)len + ((flags & (TCP_SYN | TCP_FIN)) ? 1 : 0);
}

static int gen(const char *out, int servers, int clients, int pvs, int rounds)
{
    pcap_t *p = pcap_open_dead(DLT_EN10MB, 262144);
    struct writer w = { pcap_dump_open(p, out), 1700000000000000ULL, 0 };
    if (!w.d) {
        fprintf(stderr, "%s: %s\n", out, pcap_geterr(p));
        return 1;
    }
    int ncirc = servers * clients;
    struct circ *cs = calloc((size_t)ncirc, sizeof(*cs));
    char name[64];
    uint64_t updates = 0;
    for (int s = 0; s < servers; s++) {
        for (int k = 0; k < clients; k++) {
            struct circ *c = &cs[s * clients + k];
            c->caddr = IP(127, 0, 2, 1 + k);
            c->saddr = IP(127, 0, 1, 1 + s);
            c->cport = (uint16_t)(40000 + s);
            c->sport = 5064;
            c->cseq = 1000;
            c->sseq = 9000;
            /* searches, several names per datagram, and the replies */
            for (int i = 0; i < pvs; i += 8) {
                msg.len = 0;
                ca_msg(&msg, 0, 0, 0, 13, 0, 0, NULL, 0);
                for (int j = i; j < i + 8 && j < pvs; j++) {
                    snprintf(name, sizeof(name), "IOC%02d:SUB%03d:PV%05d", s, k, j);
                    ca_msg_str(&msg, 6, 5, 13, (uint32_t)j + 1, (uint32_t)j + 1, name);
                }
                put(&w, frame_udp(frame, DLT_EN10MB, c->caddr, 50000, c->saddr, 5064, msg.data, msg.len));
                msg.len = 0;
                uint8_t minor[8] = { 0, 13 };
                for (int j = i; j < i + 8 && j < pvs; j++)
                    ca_msg(&msg, 6, 8, 5064, 0, 0xffffffffu, (uint32_t)j + 1, minor, 2);
                put(&w, frame_udp(frame, DLT_EN10MB, c->saddr, 5064, c->caddr, 50000, msg.data, msg.len));
            }
            tcp(&w, c, 0, TCP_SYN, NULL, 0);
            tcp(&w, c, 1, TCP_SYN | TCP_ACK, NULL, 0);
            tcp(&w, c, 0, TCP_ACK, NULL, 0);
            for (int i = 0; i < pvs; i++) {
                msg.len = 0;
                snprintf(name, sizeof(name), "IOC%02d:SUB%03d:PV%05d", s, k, i);
                ca_msg_str(&msg, 18, 0, 0, (uint32_t)i + 1, 13, name);
                tcp(&w, c, 0, TCP_ACK, msg.data, msg.len);
                msg.len = 0;
                ca_msg(&msg, 22, 0, 0, 0, (uint32_t)i + 1, 3, NULL, 0);
                ca_msg(&msg, 18, 0, 6, 1, (uint32_t)i + 1, (uint32_t)i + 100000, NULL, 0);
                tcp(&w, c, 1, TCP_ACK, msg.data, msg.len);
                msg.len = 0;        /* subscribe once connected, as clients do */
                ca_msg(&msg, 1, 16, 20, 1, (uint32_t)i + 100000, (uint32_t)i + 1, NULL, 0);
                tcp(&w, c, 0, TCP_ACK, msg.data, msg.len);
                msg.len = 0;
                ca_msg(&msg, 1, 24, 20, 1, 1, (uint32_t)i + 1, NULL, 0);
                tcp(&w, c, 1, TCP_ACK, msg.data, msg.len);
                updates++;
            }
        }
    }
    /* monitor updates: DBR_TIME_DOUBLE, 16 + 24 bytes, 36 per 1440-byte segment */
    uint8_t value[24];
    memset(value, 0x42, sizeof(value));
    for (int r = 0; r < rounds; r++) {
        for (int ci = 0; ci < ncirc; ci++) {
            struct circ *c = &cs[ci];
            msg.len = 0;
            for (int i = 0; i < pvs; i++) {
                ca_msg(&msg, 1, 24, 20, 1, 1, (uint32_t)i + 1, value, 24);
                updates++;
                if (msg.len + 40 > 1440 || i == pvs - 1) {
                    tcp(&w, c, 1, TCP_ACK, msg.data, msg.len);
                    msg.len = 0;
                }
            }
            tcp(&w, c, 0, TCP_ACK, NULL, 0);        /* the client acknowledges */
        }
    }
    pcap_dump_close(w.d);
    pcap_close(p);
    free(cs);
    printf("wrote %s: %llu packets, %d servers, %d PVs, %llu monitor updates\n", out,
           (unsigned long long)w.packets, servers, servers * clients * pvs, (unsigned long long)updates);
    return 0;
}

/* ---- run ---- */

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double pass(const char *file, struct engine *e, uint64_t *packets, uint64_t *bytes)
{
    char err[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_open_offline(file, err);
    if (!p) {
        fprintf(stderr, "%s\n", err);
        exit(1);
    }
    int lt = pcap_datalink(p);
    struct pcap_pkthdr *h;
    const u_char *d;
    uint64_t n = 0, sum = 0;
    double t0 = now();
    while (pcap_next_ex(p, &h, &d) == 1) {
        n++;
        sum += h->caplen + d[h->caplen - 1];      /* touch the packet */
        if (e)
            engine_frame(e, lt, (uint64_t)h->ts.tv_sec * 1000000ULL + (uint64_t)h->ts.tv_usec, d,
                         h->caplen, h->len);
    }
    double t = now() - t0;
    pcap_close(p);
    *packets = n;
    *bytes = sum;
    return t;
}

static int run(const char *file, int repeats)
{
    double best_read = 1e9, best_decode = 1e9;
    uint64_t packets = 0, bytes = 0;
    struct engine_config cfg;
    engine_default_config(&cfg);
    struct engine *e = calloc(1, sizeof(*e));
    for (int r = 0; r < repeats; r++) {
        double t = pass(file, NULL, &packets, &bytes);
        if (t < best_read)
            best_read = t;
        engine_init(e, &cfg, NULL);
        t = pass(file, e, &packets, &bytes);
        if (t < best_decode)
            best_decode = t;
        if (r == repeats - 1) {
            struct model *m = &e->model;
            uint64_t updates = 0, connects = 0;
            for (struct tnode *n = table_oldest(&m->servers[PROTO_CA]); n; n = table_next_newer(&m->servers[PROTO_CA], n)) {
                updates += container_of(n, struct server, node)->monitor_updates;
                connects += container_of(n, struct server, node)->connects;
            }
            printf("decoded: %llu PVs, %llu connects, %llu monitor updates, %llu decode errors, %llu stream gaps\n",
                   (unsigned long long)m->pvs[PROTO_CA].count, (unsigned long long)connects,
                   (unsigned long long)updates, (unsigned long long)m->health.decode_errors,
                   (unsigned long long)m->health.stream_gaps);
        }
        engine_free(e);
    }
    free(e);
    printf("%s: %llu packets, best of %d\n", file, (unsigned long long)packets, repeats);
    printf("  read only      %8.4f s  %10.0f packets/s\n", best_read, (double)packets / best_read);
    printf("  read + decode  %8.4f s  %10.0f packets/s\n", best_decode, (double)packets / best_decode);
    printf("  ratio decode/read: %.2f\n", best_decode / best_read);
    return 0;
}

/* ---- mem ---- */

static int mem(int npvs)
{
    struct engine_config cfg;
    engine_default_config(&cfg);
    cfg.lim.max_pvs = (size_t)npvs + 10;
    cfg.lim.max_channels_per_circuit = (size_t)npvs + 10;
    cfg.lim.max_searches = (size_t)npvs + 10;
    struct engine *e = calloc(1, sizeof(*e));
    engine_init(e, &cfg, NULL);
    size_t before = mallinfo2().uordblks;
    struct conn c;
    char name[64];
    conn_open(&c, e, IP(127, 0, 2, 1), 40000, IP(127, 0, 1, 1), 5064, 1700000000000000ULL);
    for (int i = 0; i < npvs; i++) {
        snprintf(name, sizeof(name), "IOC:SYSTEM:DEVICE%06d:SIGNAL", i);
        msg.len = 0;
        ca_msg_str(&msg, 18, 0, 0, (uint32_t)i + 1, 13, name);
        conn_send(&c, 0, msg.data, msg.len);
        msg.len = 0;
        ca_msg(&msg, 18, 0, 6, 1, (uint32_t)i + 1, (uint32_t)i + 100000, NULL, 0);
        conn_send(&c, 1, msg.data, msg.len);
        msg.len = 0;
        ca_msg(&msg, 1, 16, 20, 1, (uint32_t)i + 100000, (uint32_t)i + 1, NULL, 0);
        conn_send(&c, 0, msg.data, msg.len);
        msg.len = 0;
        ca_msg(&msg, 1, 24, 20, 1, 1, (uint32_t)i + 1, NULL, 0);
        conn_send(&c, 1, msg.data, msg.len);
    }
    size_t open = mallinfo2().uordblks;
    size_t tracked = e->model.pvs[PROTO_CA].count;
    conn_close(&c);
    size_t closed = mallinfo2().uordblks;
    printf("%zu PVs tracked (name %zu bytes)\n", tracked, strlen(name));
    printf("  with a channel and a subscription open: %.0f bytes per PV\n",
           (double)(open - before) / (double)tracked);
    printf("  after the circuit closed (PV records kept): %.0f bytes per PV\n",
           (double)(closed - before) / (double)tracked);
    engine_free(e);
    free(e);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "gen") == 0)
        return gen(argv[2], argc > 3 ? atoi(argv[3]) : 20, argc > 4 ? atoi(argv[4]) : 4,
                   argc > 5 ? atoi(argv[5]) : 250, argc > 6 ? atoi(argv[6]) : 40);
    if (argc >= 3 && strcmp(argv[1], "run") == 0)
        return run(argv[2], argc > 3 ? atoi(argv[3]) : 5);
    if (argc >= 3 && strcmp(argv[1], "mem") == 0)
        return mem(atoi(argv[2]));
    fprintf(stderr, "usage: epics-bench gen OUT.pcap [servers clients pvs rounds] | run FILE [repeats] | mem PVS\n");
    return 2;
}

/*
 * capture.c - libpcap sources (see capture.h).
 *
 * Live handles do not use immediate mode. On Linux, libpcap gives an
 * immediate-mode handle a TPACKET_V2 ring of fixed-size frames, each as
 * large as the snapshot length needs (256 KiB here), so a 64 MiB buffer
 * holds about a thousand packets whatever their size, and a burst of small
 * frames overruns it. Without immediate mode libpcap uses TPACKET_V3, whose
 * blocks are filled with packets packed one after another, so the same
 * buffer holds as many packets as their bytes allow; a block is handed over
 * when full or after the read timeout (CAPTURE_TIMEOUT_MS), which bounds
 * how late a quiet link's packets are counted. bench/live measures it.
 */
#include "capture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int add_source(struct capture *cap, pcap_t *p, const char *name, char *err, size_t errlen)
{
    int lt = pcap_datalink(p);
    if (!packet_linktype_supported(lt)) {
        snprintf(err, errlen, "%s: unsupported link type %s", name,
                 pcap_datalink_val_to_name(lt) ? pcap_datalink_val_to_name(lt) : "?");
        pcap_close(p);
        return -1;
    }
    struct capture_src *s = &cap->src[cap->nsrc++];
    memset(s, 0, sizeof(*s));
    s->pcap = p;
    s->linktype = lt;
    s->fd = cap->file ? -1 : pcap_get_selectable_fd(p);
    snprintf(s->name, sizeof(s->name), "%s", name);
    return 0;
}

int capture_open_live(struct capture *cap, const char *iface, int buffer_mb, char *err, size_t errlen)
{
    char ebuf[PCAP_ERRBUF_SIZE] = "";
    if (cap->nsrc >= CAPTURE_MAX_IFACES) {
        snprintf(err, errlen, "too many interfaces (at most %d)", CAPTURE_MAX_IFACES);
        return -1;
    }
    pcap_t *p = pcap_create(iface, ebuf);
    if (!p) {
        snprintf(err, errlen, "%s: %s", iface, ebuf);
        return -1;
    }
    pcap_set_snaplen(p, 262144);
    pcap_set_promisc(p, 0);
    pcap_set_immediate_mode(p, 0);
    pcap_set_timeout(p, CAPTURE_TIMEOUT_MS);
    pcap_set_buffer_size(p, (buffer_mb > 0 ? buffer_mb : 32) * 1024 * 1024);
    int sts = pcap_activate(p);
    if (sts < 0) {
        snprintf(err, errlen, "%s: %s", iface, pcap_geterr(p));
        pcap_close(p);
        return -1;
    }
    if (pcap_setnonblock(p, 1, ebuf) < 0) {
        snprintf(err, errlen, "%s: %s", iface, ebuf);
        pcap_close(p);
        return -1;
    }
    return add_source(cap, p, iface, err, errlen);
}

int capture_open_file(struct capture *cap, const char *path, char *err, size_t errlen)
{
    char ebuf[PCAP_ERRBUF_SIZE] = "";
    pcap_t *p = pcap_open_offline(path, ebuf);
    if (!p) {
        snprintf(err, errlen, "%s", ebuf);
        return -1;
    }
    cap->file = true;
    return add_source(cap, p, path, err, errlen);
}

int capture_set_filter(struct capture *cap, struct engine *e, char *err, size_t errlen)
{
    for (int i = 0; i < cap->nsrc; i++) {
        struct capture_src *s = &cap->src[i];
        char expr[4096];
        struct bpf_program prog;
        if (cap->file)
            continue;           /* files are classified in user space only */
        if (engine_filter(e, expr, sizeof(expr), s->linktype == DLT_EN10MB) < 0) {
            snprintf(err, errlen, "filter too long");
            return -1;
        }
        /* a learned server on a port already in the filter changes nothing:
         * leave the kernel's filter alone rather than swap it mid-burst */
        if (s->filter && strcmp(s->filter, expr) == 0)
            continue;
        if (pcap_compile(s->pcap, &prog, expr, 1, PCAP_NETMASK_UNKNOWN) < 0
            || pcap_setfilter(s->pcap, &prog) < 0) {
            snprintf(err, errlen, "%s: filter \"%s\": %s", s->name, expr, pcap_geterr(s->pcap));
            return -1;
        }
        pcap_freecode(&prog);
        free(s->filter);
        s->filter = strdup(expr);
    }
    return 0;
}

struct dispatch_arg {
    struct engine *e;
    int linktype;
};

static void on_packet(u_char *user, const struct pcap_pkthdr *h, const u_char *bytes)
{
    struct dispatch_arg *a = (struct dispatch_arg *)user;
    uint64_t ts = (uint64_t)h->ts.tv_sec * 1000000ULL + (uint64_t)h->ts.tv_usec;
    engine_frame(a->e, a->linktype, ts, bytes, h->caplen, h->len);
}

int capture_dispatch(struct capture *cap, int i, struct engine *e, int max)
{
    struct capture_src *s = &cap->src[i];
    struct dispatch_arg a = { e, s->linktype };
    int n = pcap_dispatch(s->pcap, max, on_packet, (u_char *)&a);
    if (cap->file && n == 0)
        cap->eof = true;
    if (n == PCAP_ERROR)
        return -1;
    return n < 0 ? 0 : n;
}

void capture_stats(struct capture *cap, struct engine *e)
{
    for (int i = 0; i < cap->nsrc && !cap->file; i++) {
        struct capture_src *s = &cap->src[i];
        struct pcap_stat st;
        if (pcap_stats(s->pcap, &st) < 0)
            continue;
        /* the kernel's counters wrap at 32 bits: add the differences */
        e->model.health.drops += (uint32_t)(st.ps_drop - s->last_drop);
        e->model.health.if_drops += (uint32_t)(st.ps_ifdrop - s->last_ifdrop);
        s->last_drop = st.ps_drop;
        s->last_ifdrop = st.ps_ifdrop;
        s->last_recv = st.ps_recv;
    }
}

void capture_close(struct capture *cap)
{
    for (int i = 0; i < cap->nsrc; i++) {
        pcap_close(cap->src[i].pcap);
        free(cap->src[i].filter);
    }
    cap->nsrc = 0;
}

/*
 * capture.c - libpcap sources (see capture.h).
 *
 * Live handles do not use immediate mode. On Linux, libpcap gives an
 * immediate-mode handle a TPACKET_V2 ring of fixed-size frames, each as
 * large as the largest packet the interface carries (64 KiB on loopback),
 * so a 64 MiB buffer holds about a thousand packets whatever their size,
 * and a burst of small frames overruns it. Without immediate mode libpcap uses TPACKET_V3, whose
 * blocks are filled with packets packed one after another, so the same
 * buffer holds as many packets as their bytes allow; a block is handed over
 * when full or after the read timeout (CAPTURE_TIMEOUT_MS), which bounds
 * how late a quiet link's packets are counted. bench/live measures it.
 *
 * The reader thread copies frames out of the ring into the queue and stops
 * taking them while the queue is nearly full, so that the kernel's buffer
 * still holds what comes next; a frame is lost only when both are full.
 */
#include "capture.h"
#include "kernelfilter.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define READER_BATCH 1024               /* frames per handle per turn */
/* below this, leave frames in the ring; more than the largest frame, so a
 * frame taken out of the ring always fits */
#define READER_LOW_ROOM (1024 * 1024)

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
    pcap_set_buffer_size(p, (buffer_mb > 0 ? buffer_mb : 64) * 1024 * 1024);
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
        /* libpcap names the file in some of its messages, not in others */
        if (strncmp(ebuf, path, strlen(path)) == 0)
            snprintf(err, errlen, "%s", ebuf);
        else
            snprintf(err, errlen, "%s: %s", path, ebuf);
        return -1;
    }
    cap->file = true;
    return add_source(cap, p, path, err, errlen);
}

static void lock(struct capture *cap)
{
    if (cap->reader)
        pthread_mutex_lock(&cap->lock);
}

static void unlock(struct capture *cap)
{
    if (cap->reader)
        pthread_mutex_unlock(&cap->lock);
}

static int set_filters(struct capture *cap, struct engine *e, char *err, size_t errlen);

int capture_set_filter(struct capture *cap, struct engine *e, char *err, size_t errlen)
{
    lock(cap);
    int sts = set_filters(cap, e, err, errlen);
    unlock(cap);
    return sts;
}

static int set_filters(struct capture *cap, struct engine *e, char *err, size_t errlen)
{
    int sts = 0;
    for (int i = 0; i < cap->nsrc; i++) {
        struct capture_src *s = &cap->src[i];
        char expr[9000];
        struct bpf_program prog;
        if (cap->file)
            continue;           /* files are classified in user space only */
        if (engine_filter(e, expr, sizeof(expr), s->linktype == DLT_EN10MB) < 0) {
            snprintf(err, errlen, "filter too long");
            return -1;
        }
        /* a learned server on a port already in the filter changes nothing:
         * leave the kernel's filter alone */
        if (s->filter && strcmp(s->filter, expr) == 0)
            continue;
        /* a change while capturing: in one step (kernelfilter.c), unless
         * libpcap may be filtering in user space with the filter it has */
        char why[256];
        if (s->filter && !s->userland_filter
            && kernelfilter_replace(s->pcap, s->linktype, expr, why, sizeof(why)) == 0) {
            free(s->filter);
            s->filter = strdup(expr);
            continue;
        }
        if (s->filter && !s->userland_filter) {
            snprintf(err, errlen, "%s: %s; the filter is changed through libpcap from now on",
                     s->name, why);
            s->userland_filter = true;
            sts = 1;
        }
        if (pcap_compile(s->pcap, &prog, expr, 1, PCAP_NETMASK_UNKNOWN) < 0
            || pcap_setfilter(s->pcap, &prog) < 0) {
            snprintf(err, errlen, "%s: filter \"%s\": %s", s->name, expr, pcap_geterr(s->pcap));
            return -1;
        }
        pcap_freecode(&prog);
        free(s->filter);
        s->filter = strdup(expr);
    }
    return sts;
}

struct dispatch_arg {
    struct engine *e;
    int linktype;
};

static void on_packet(u_char *user, const struct pcap_pkthdr *h, const u_char *bytes)
{
    struct dispatch_arg *a = (struct dispatch_arg *)user;
    engine_frame(a->e, a->linktype, capture_ts_us(h), bytes, h->caplen, h->len);
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

struct reader_arg {
    struct capture *cap;
    pcap_t *pcap;
    int linktype;
};

static void on_queue(u_char *user, const struct pcap_pkthdr *h, const u_char *bytes)
{
    struct reader_arg *a = (struct reader_arg *)user;
    fq_push(&a->cap->queue, a->linktype, capture_ts_us(h), bytes, h->caplen, h->len);
    if (fq_room(&a->cap->queue) < READER_LOW_ROOM)
        pcap_breakloop(a->pcap);        /* the rest of the batch waits in the ring */
}

static void *reader_main(void *arg)
{
    struct capture *cap = arg;
    struct pollfd pfd[CAPTURE_MAX_IFACES];
    for (int i = 0; i < cap->nsrc; i++) {
        pfd[i].fd = cap->src[i].fd;
        pfd[i].events = POLLIN;
    }
    bool more = false;
    while (!atomic_load(&cap->stop)) {
        if (fq_room(&cap->queue) < READER_LOW_ROOM) {
            usleep(1000);       /* the main thread is behind: the ring holds on */
            continue;
        }
        /* a full batch may have left frames in a block libpcap holds, which
         * poll() does not report */
        if (!more && poll(pfd, (nfds_t)cap->nsrc, 100) < 0 && errno != EINTR)
            break;
        more = false;
        uint64_t before = atomic_load_explicit(&cap->queue.head, memory_order_relaxed);
        for (int i = 0; i < cap->nsrc; i++) {
            struct reader_arg a = { cap, cap->src[i].pcap, cap->src[i].linktype };
            pthread_mutex_lock(&cap->lock);
            int n = pcap_dispatch(cap->src[i].pcap, READER_BATCH, on_queue, (u_char *)&a);
            pthread_mutex_unlock(&cap->lock);
            if (n == PCAP_ERROR) {
                atomic_store(&cap->reader_error, i + 1);
                usleep(100000);
            }
            more |= n >= READER_BATCH;
        }
        if (atomic_load_explicit(&cap->queue.head, memory_order_relaxed) != before) {
            uint64_t one = 1;
            ssize_t w = write(cap->wake_fd, &one, sizeof(one));
            (void)w;            /* the counter saturating still wakes the reader */
        }
    }
    return NULL;
}

int capture_reader_start(struct capture *cap, size_t queue_bytes, char *err, size_t errlen)
{
    if (cap->file || cap->reader)
        return 0;
    if (fq_init(&cap->queue, queue_bytes) < 0) {
        snprintf(err, errlen, "cannot allocate a %zu byte capture queue", queue_bytes);
        return -1;
    }
    cap->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (cap->wake_fd < 0) {
        snprintf(err, errlen, "eventfd: %s", strerror(errno));
        fq_free(&cap->queue);
        return -1;
    }
    atomic_init(&cap->stop, false);
    atomic_init(&cap->reader_error, 0);
    pthread_mutex_init(&cap->lock, NULL);
    cap->reader = true;
    int sts = pthread_create(&cap->thread, NULL, reader_main, cap);
    if (sts != 0) {
        snprintf(err, errlen, "capture thread: %s", strerror(sts));
        cap->reader = false;
        pthread_mutex_destroy(&cap->lock);
        close(cap->wake_fd);
        cap->wake_fd = -1;
        fq_free(&cap->queue);
        return -1;
    }
    return 0;
}

int capture_reader_drain(struct capture *cap, struct engine *e, int max)
{
    uint64_t count;
    ssize_t r = read(cap->wake_fd, &count, sizeof(count));   /* re-arm first */
    (void)r;
    int n = 0;
    const struct fq_rec *rec;
    while (n < max && (rec = fq_peek(&cap->queue))) {
        engine_frame(e, rec->linktype, rec->ts_us, fq_data(rec), rec->caplen, rec->wirelen);
        fq_pop(&cap->queue, rec);
        n++;
    }
    return n;
}

struct capture_losses capture_stats(struct capture *cap)
{
    struct capture_losses lost = { 0, 0 };
    if (cap->reader) {
        uint64_t refused = atomic_load(&cap->queue.refused);
        lost.drops += refused - cap->last_refused;
        cap->last_refused = refused;
    }
    for (int i = 0; i < cap->nsrc && !cap->file; i++) {
        struct capture_src *s = &cap->src[i];
        struct pcap_stat st;
        lock(cap);
        int sts = pcap_stats(s->pcap, &st);
        unlock(cap);
        if (sts < 0)
            continue;
        /* the kernel's counters wrap at 32 bits: add the differences */
        lost.drops += (uint32_t)(st.ps_drop - s->last_drop);
        lost.if_drops += (uint32_t)(st.ps_ifdrop - s->last_ifdrop);
        s->last_drop = st.ps_drop;
        s->last_ifdrop = st.ps_ifdrop;
    }
    return lost;
}

void capture_close(struct capture *cap)
{
    if (cap->reader) {
        atomic_store(&cap->stop, true);
        pthread_join(cap->thread, NULL);
        cap->reader = false;
        pthread_mutex_destroy(&cap->lock);
        close(cap->wake_fd);
        cap->wake_fd = -1;
        fq_free(&cap->queue);
    }
    for (int i = 0; i < cap->nsrc; i++) {
        pcap_close(cap->src[i].pcap);
        free(cap->src[i].filter);
    }
    cap->nsrc = 0;
}

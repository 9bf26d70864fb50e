/*
 * capture.h - packet sources: live interfaces or a capture file, through libpcap.
 *
 * Live handles are opened (as root) before the agent drops privileges and are
 * non-blocking. A reader thread (capture_reader_start) then empties the
 * kernel's rings into a queue in user space as fast as they fill, so they
 * are read even while the main thread answers a fetch of every instance of
 * a large agent; the main thread takes the frames from that queue
 * (capture_reader_drain), a bounded batch at a time, and is the only one
 * that decodes, so the engine and the model stay single-threaded. The
 * reader thread touches nothing but the pcap handles (under cap->lock,
 * which the main thread also takes to change filters and read counters)
 * and the queue. Capture files are read by capture_dispatch, without it.
 */
#ifndef EPICS_CAPTURE_H
#define EPICS_CAPTURE_H

#include "engine.h"
#include "framequeue.h"

#include <pcap/pcap.h>
#include <pthread.h>

#define CAPTURE_MAX_IFACES 16
#define CAPTURE_TIMEOUT_MS 50   /* a ring block is handed over after this at most */

struct capture_src {
    pcap_t *pcap;
    int linktype;
    int fd;                     /* selectable descriptor, -1 for files */
    char name[64];
    uint64_t last_drop, last_ifdrop;
    char *filter;               /* the expression installed, to skip needless changes */
    bool userland_filter;       /* changes go through pcap_setfilter (kernelfilter.c failed) */
};

struct capture {
    struct capture_src src[CAPTURE_MAX_IFACES];
    int nsrc;
    bool file;                  /* reading a capture file */
    bool eof;
    int buffer_mb;              /* kernel buffer per live handle */
    /* the reader thread */
    bool reader;                /* started */
    pthread_t thread;
    pthread_mutex_t lock;       /* the pcap handles, while the reader runs */
    _Atomic bool stop;
    _Atomic int reader_error;   /* a pcap error in the reader: the source + 1 */
    struct framequeue queue;
    int wake_fd;                /* an eventfd: frames were queued */
    uint64_t last_refused;      /* queue refusals already counted as drops */
};

/* Each returns 0, or -1 with a message in err */
int capture_open_live(struct capture *cap, const char *iface, int buffer_mb, char *err, size_t errlen);
int capture_open_file(struct capture *cap, const char *path, char *err, size_t errlen);
/* Install the engine's filter on every live handle: 0, -1 with a message
 * in err, or 1 with a warning in err (a change not made in one step) */
int capture_set_filter(struct capture *cap, struct engine *e, char *err, size_t errlen);
/* Feed at most max packets of source i to the engine; returns the count,
 * -1 on error; sets cap->eof at the end of a file. A count of max means
 * more may be waiting in a block libpcap holds already, which select() does
 * not report: call again without waiting. */
int capture_dispatch(struct capture *cap, int i, struct engine *e, int max);
/* Start the reader thread with a queue of queue_bytes (live handles only) */
int capture_reader_start(struct capture *cap, size_t queue_bytes, char *err, size_t errlen);
/* Descriptor readable when frames were queued; read by capture_reader_drain */
static inline int capture_reader_fd(const struct capture *cap)
{
    return cap->wake_fd;
}
/* Feed at most max queued frames to the engine; returns the count. A count
 * of max means more may be queued: call again without waiting. */
int capture_reader_drain(struct capture *cap, struct engine *e, int max);
/* Frames lost since the last call: the kernel's drop counts and the frames
 * the queue refused (for engine_losses) */
struct capture_losses capture_stats(struct capture *cap);
void capture_close(struct capture *cap);

/* A packet's time in microseconds. pcap files keep unsigned 32-bit seconds
 * (good until 2106), which libpcap hands over sign-extended: a time after
 * 2038-01-19 arrives negative */
static inline uint64_t capture_ts_us(const struct pcap_pkthdr *h)
{
    uint64_t sec = h->ts.tv_sec < 0 ? (uint64_t)(uint32_t)h->ts.tv_sec : (uint64_t)h->ts.tv_sec;
    return sec * 1000000ULL + (uint64_t)h->ts.tv_usec;
}

#endif

/*
 * capture.h - packet sources: live interfaces or a capture file, through libpcap.
 *
 * Live handles are opened (as root) before the agent drops privileges and are
 * non-blocking: the caller polls their descriptors and calls capture_dispatch()
 * when one is readable, a bounded batch at a time, so that serving requests
 * never waits long behind a packet storm.
 */
#ifndef EPICS_CAPTURE_H
#define EPICS_CAPTURE_H

#include "engine.h"

#include <pcap/pcap.h>

#define CAPTURE_MAX_IFACES 16
#define CAPTURE_TIMEOUT_MS 50   /* a ring block is handed over after this at most */

struct capture_src {
    pcap_t *pcap;
    int linktype;
    int fd;                     /* selectable descriptor, -1 for files */
    char name[64];
    uint64_t last_recv, last_drop, last_ifdrop;
    char *filter;               /* the expression installed, to skip needless changes */
};

struct capture {
    struct capture_src src[CAPTURE_MAX_IFACES];
    int nsrc;
    bool file;                  /* reading a capture file */
    bool eof;
    int buffer_mb;              /* kernel buffer per live handle */
};

/* Each returns 0, or -1 with a message in err */
int capture_open_live(struct capture *cap, const char *iface, int buffer_mb, char *err, size_t errlen);
int capture_open_file(struct capture *cap, const char *path, char *err, size_t errlen);
/* Install the engine's filter on every live handle */
int capture_set_filter(struct capture *cap, struct engine *e, char *err, size_t errlen);
/* Feed at most max packets of source i to the engine; returns the count,
 * -1 on error; sets cap->eof at the end of a file. A count of max means
 * more may be waiting in a block libpcap holds already, which select() does
 * not report: call again without waiting. */
int capture_dispatch(struct capture *cap, int i, struct engine *e, int max);
/* Add kernel receive and drop counts to the engine's health */
void capture_stats(struct capture *cap, struct engine *e);
void capture_close(struct capture *cap);

#endif

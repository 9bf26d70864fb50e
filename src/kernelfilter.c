/*
 * kernelfilter.c - replace a live handle's kernel filter in one step.
 *
 * pcap_setfilter() on Linux first attaches a filter that rejects everything,
 * drains the socket, and only then attaches the new filter: every packet
 * that arrives in between is lost, and counted nowhere. That is right when
 * a capture starts (no packet of the old filter slips through), but when a
 * server is learned in the middle of a burst it loses that burst's frames.
 * The kernel's SO_ATTACH_FILTER replaces a socket's filter atomically, and
 * the new filter only ever passes more than the old one, so attaching it
 * directly loses nothing; frames already in the ring were taken by the old
 * filter and stay.
 *
 * The program must address the packet as the socket sees it. libpcap's
 * cooked sockets (the "any" device, link types LINUX_SLL and LINUX_SLL2)
 * see it from the network header, the view of link type RAW; libpcap
 * rewrites its own programs' offsets for them (fix_program in pcap-linux.c).
 * Other sockets see the whole frame, as the handle's link type describes.
 */
#include "kernelfilter.h"

#include <errno.h>
#include <linux/filter.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#define KERNELFILTER_SNAPLEN 262144

int kernelfilter_replace(pcap_t *p, int linktype, const char *expr, char *err, size_t errlen)
{
    int view = linktype == DLT_LINUX_SLL || linktype == DLT_LINUX_SLL2 ? DLT_RAW : linktype;
    pcap_t *dead = pcap_open_dead(view, KERNELFILTER_SNAPLEN);
    if (!dead) {
        snprintf(err, errlen, "no memory for a filter");
        return -1;
    }
    struct bpf_program prog;
    if (pcap_compile(dead, &prog, expr, 1, PCAP_NETMASK_UNKNOWN) < 0) {
        snprintf(err, errlen, "filter \"%s\": %s", expr, pcap_geterr(dead));
        pcap_close(dead);
        return -1;
    }
    pcap_close(dead);
    struct sock_fprog kernel = {
        .len = (unsigned short)prog.bf_len,
        .filter = (struct sock_filter *)prog.bf_insns,
    };
    int sts = 0;
    if (prog.bf_len > BPF_MAXINSNS
        || setsockopt(pcap_fileno(p), SOL_SOCKET, SO_ATTACH_FILTER, &kernel, sizeof(kernel)) < 0) {
        snprintf(err, errlen, "kernel filter of %u instructions: %s", prog.bf_len,
                 prog.bf_len > BPF_MAXINSNS ? "too long" : strerror(errno));
        sts = -1;
    }
    pcap_freecode(&prog);
    return sts;
}

/*
 * kernelfilter.h - replace a live handle's kernel filter in one step.
 */
#ifndef EPICS_KERNELFILTER_H
#define EPICS_KERNELFILTER_H

#include <pcap/pcap.h>
#include <stddef.h>

/* Compile expr for what the socket of the live handle p (link type
 * linktype) hands its filter, and attach it in place of the filter there.
 * Returns 0, or -1 with a message in err (the old filter is still there). */
int kernelfilter_replace(pcap_t *p, int linktype, const char *expr, char *err, size_t errlen);

#endif

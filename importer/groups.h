/*
 * groups.h - what pmlogger would log, and how often, with the shipped
 * pmlogconf groups: epics2pcp samples each metric at its group's interval.
 */
#ifndef EPICS_GROUPS_H
#define EPICS_GROUPS_H

#include <stddef.h>
#include <stdint.h>

/* Read every group file in dir (pmlogconf-setup 2.0: "delta" and "probe"
 * lines, then one metric or subtree per line starting with a tab). Groups
 * whose probe says "available" (offered, off by default) are left out.
 * Fills interval_us[i] for row i of epics_metrics: the shortest interval of
 * a group naming the metric or a subtree above it, 0 when no group does.
 * Returns the number of groups read, or -1 with a message in err. */
int groups_read(const char *dir, uint64_t *interval_us, char *err, size_t errlen);

#endif

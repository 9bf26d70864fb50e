/*
 * groups.c - per-metric logging intervals from pmlogconf group files (see
 * groups.h), so an imported archive is shaped like one pmlogger records
 * with the shipped configuration.
 */
#include "groups.h"
#include "metrics.h"

#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "10 sec", "30 seconds", "1 minute", "2 min", "1 hour" */
static uint64_t parse_delta(const char *s)
{
    char *end;
    double v = strtod(s, &end);
    while (*end == ' ' || *end == '\t')
        end++;
    if (!(v > 0))
        return 0;
    if (strncmp(end, "min", 3) == 0)
        v *= 60;
    else if (strncmp(end, "hour", 4) == 0)
        v *= 3600;
    else if (strncmp(end, "msec", 4) == 0 || strncmp(end, "milli", 5) == 0)
        v /= 1000;
    return (uint64_t)(v * 1e6);
}

/* name is the metric or a subtree above it */
static bool names_metric(const char *name, size_t len, const char *metric)
{
    return strncmp(metric, name, len) == 0 && (metric[len] == '\0' || metric[len] == '.');
}

static void read_group(FILE *f, uint64_t *interval_us)
{
    char line[512];
    uint64_t delta = 0;
    bool off = false;
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, "delta", 5) == 0)
            delta = parse_delta(line + 5);
        else if (strncmp(line, "probe", 5) == 0)
            off = strstr(line, "? available") != NULL;
        if (line[0] != '\t' || off || !delta)
            continue;
        size_t len = strcspn(line + 1, " \t\r\n");
        for (size_t i = 0; i < epics_nmetrics; i++)
            if (names_metric(line + 1, len, epics_metrics[i].name)
                && (!interval_us[i] || delta < interval_us[i]))
                interval_us[i] = delta;
    }
}

int groups_read(const char *dir, uint64_t *interval_us, char *err, size_t errlen)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    if (!d) {
        snprintf(err, errlen, "%s: cannot read the pmlogconf groups", dir);
        return -1;
    }
    memset(interval_us, 0, epics_nmetrics * sizeof(*interval_us));
    while ((e = readdir(d)) != NULL) {
        char path[4096];
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        read_group(f, interval_us);
        fclose(f);
        n++;
    }
    closedir(d);
    if (n == 0)
        snprintf(err, errlen, "%s: no pmlogconf group files", dir);
    return n ? n : -1;
}

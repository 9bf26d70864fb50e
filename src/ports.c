/*
 * ports.c - small sets of port numbers (see ports.h). A linear scan: a site
 * has a handful of server ports, and the sets are capped.
 */
#include "ports.h"

#include <stdio.h>
#include <stdlib.h>

bool port_list_has(const struct port_list *l, uint16_t port)
{
    for (unsigned i = 0; i < l->n; i++)
        if (l->port[i] == port)
            return true;
    return false;
}

bool port_list_add(struct port_list *l, uint16_t port)
{
    if (port == 0 || l->n >= PORT_LIST_MAX || port_list_has(l, port))
        return false;
    l->port[l->n++] = port;
    return true;
}

int port_list_parse(struct port_list *l, const char *text)
{
    const char *s = text;
    while (*s) {
        if (*s == ',' || *s == ' ') {
            s++;
            continue;
        }
        char *end;
        long p = strtol(s, &end, 10);
        if (end == s || p <= 0 || p > 65535 || (*end && *end != ',' && *end != ' '))
            return -1;
        port_list_add(l, (uint16_t)p);
        s = end;
    }
    return 0;
}

static int cmp_port(const void *a, const void *b)
{
    return (int)*(const uint16_t *)a - (int)*(const uint16_t *)b;
}

void port_list_sort(struct port_list *l)
{
    qsort(l->port, l->n, sizeof(l->port[0]), cmp_port);
}

void port_list_format(const struct port_list *l, char *buf, size_t size)
{
    struct port_list sorted = *l;
    size_t used = 0;
    port_list_sort(&sorted);
    if (size)
        buf[0] = '\0';
    for (unsigned i = 0; i < l->n && used < size; i++) {
        int k = snprintf(buf + used, size - used, "%s%u", i ? " " : "", sorted.port[i]);
        if (k < 0)
            break;
        used += (size_t)k;
    }
}

/*
 * ports.h - small sets of port numbers: the ports EPICS traffic is followed
 * on, whether configured (defaults, environment, --ca-ports/--pva-ports) or
 * learned from the traffic itself.
 */
#ifndef EPICS_PORTS_H
#define EPICS_PORTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PORT_LIST_MAX 64

struct port_list {
    unsigned n;
    uint16_t port[PORT_LIST_MAX];
};

bool port_list_has(const struct port_list *l, uint16_t port);
/* Adds port; false when it was there already or the list is full */
bool port_list_add(struct port_list *l, uint16_t port);
/* Adds "5070,5080" (commas or spaces); -1 on a malformed or zero port */
int port_list_parse(struct port_list *l, const char *text);
/* Ascending order */
void port_list_sort(struct port_list *l);
/* "5064 5070" in ascending order; "" when empty */
void port_list_format(const struct port_list *l, char *buf, size_t size);

#endif

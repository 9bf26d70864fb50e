/*
 * netaddr.c - addresses as text (see netaddr.h).
 */
#include "netaddr.h"

#include <arpa/inet.h>
#include <stdio.h>

void netaddr_format_host(char *buf, size_t size, const struct netaddr *a)
{
    if (netaddr_is_v4(a)) {
        snprintf(buf, size, "%u.%u.%u.%u", a->b[12], a->b[13], a->b[14], a->b[15]);
        return;
    }
    char text[INET6_ADDRSTRLEN];
    if (!inet_ntop(AF_INET6, a->b, text, sizeof(text)))
        text[0] = '\0';
    snprintf(buf, size, "%s", text);
}

void netaddr_format(char *buf, size_t size, const struct netaddr *a, uint16_t port)
{
    char host[INET6_ADDRSTRLEN];
    netaddr_format_host(host, sizeof(host), a);
    snprintf(buf, size, netaddr_is_v4(a) ? "%s:%u" : "[%s]:%u", host, port);
}

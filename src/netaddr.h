/*
 * netaddr.h - one address type for IPv4 and IPv6 endpoints.
 *
 * An address is the 16 bytes of an IPv6 address in network byte order; an
 * IPv4 address a.b.c.d is kept IPv4-mapped, ::ffff:a.b.c.d (RFC 4291
 * 2.5.5.2), as pvAccess carries it on the wire, so both families share one
 * code path and one key layout. Text: IPv4 "a.b.c.d:port" (as before IPv6
 * existed here), IPv6 "[2001:db8::1]:port" in RFC 5952 form (inet_ntop).
 */
#ifndef EPICS_NETADDR_H
#define EPICS_NETADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct netaddr {
    uint8_t b[16];
};

/* "[" + 45 characters of IPv6 text + "]:65535" and the NUL */
#define NETADDR_TEXT_MAX 54

static inline struct netaddr netaddr_v4(uint32_t host_order)
{
    struct netaddr a = { { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff,
                           (uint8_t)(host_order >> 24), (uint8_t)(host_order >> 16),
                           (uint8_t)(host_order >> 8), (uint8_t)host_order } };
    return a;
}

static inline struct netaddr netaddr_v6(const uint8_t bytes[16])
{
    struct netaddr a;
    memcpy(a.b, bytes, 16);
    return a;
}

static inline bool netaddr_is_v4(const struct netaddr *a)
{
    static const uint8_t prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
    return memcmp(a->b, prefix, 12) == 0;
}

/* The IPv4 address (host byte order) of a mapped address */
static inline uint32_t netaddr_v4_value(const struct netaddr *a)
{
    return (uint32_t)a->b[12] << 24 | (uint32_t)a->b[13] << 16 | (uint32_t)a->b[14] << 8 | a->b[15];
}

static inline bool netaddr_eq(const struct netaddr *a, const struct netaddr *b)
{
    return memcmp(a->b, b->b, 16) == 0;
}

/* Never set (all zero, as calloc leaves it) */
static inline bool netaddr_is_unset(const struct netaddr *a)
{
    static const uint8_t zero[16];
    return memcmp(a->b, zero, 16) == 0;
}

/* "Any" on the wire, which EPICS reads as "the sender's address": ::, or
 * 0.0.0.0 mapped */
static inline bool netaddr_is_any(const struct netaddr *a)
{
    return netaddr_is_unset(a) || (netaddr_is_v4(a) && netaddr_v4_value(a) == 0);
}

static inline bool netaddr_is_multicast(const struct netaddr *a)
{
    return netaddr_is_v4(a) ? (a->b[12] >> 4) == 0xe : a->b[0] == 0xff;
}

/* A cheap 64-bit mix of the address and a port (direct-mapped caches) */
static inline uint64_t netaddr_hash(const struct netaddr *a, uint16_t port)
{
    uint64_t hi, lo;
    memcpy(&hi, a->b, 8);
    memcpy(&lo, a->b + 8, 8);
    /* MurmurHash3's 64-bit finaliser: every input bit reaches every output bit */
    uint64_t h = hi * 0x9e3779b97f4a7c15ULL ^ lo ^ port;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    return h ^ (h >> 33);
}

/* "a.b.c.d:port" or "[v6]:port" into buf (NETADDR_TEXT_MAX bytes suffice) */
void netaddr_format(char *buf, size_t size, const struct netaddr *a, uint16_t port);
/* The address alone: "a.b.c.d" or "2001:db8::1" */
void netaddr_format_host(char *buf, size_t size, const struct netaddr *a);

#endif

/*
 * wire.h - bounds-checked reads of packet memory.
 *
 * Every byte that came off the wire is read through a struct wire_rd cursor.
 * A read past the end never touches memory: it returns 0 and sets the
 * sticky `err` flag, so a decoder reads a whole message and checks the flag
 * once at the end (the style of tcpdump's GET_BE_U_2 family).
 * Works on unaligned data, in either byte order.
 */
#ifndef EPICS_WIRE_H
#define EPICS_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct wire_rd {
    const uint8_t *p;
    size_t len;
    size_t off;
    bool err;
    bool big_endian;            /* byte order for wire_u16/u32/u64 */
};

static inline struct wire_rd wire_init(const void *p, size_t len, bool big_endian)
{
    struct wire_rd r = { (const uint8_t *)p, len, 0, false, big_endian };
    return r;
}

static inline size_t wire_left(const struct wire_rd *r)
{
    return r->err ? 0 : r->len - r->off;
}

/* Claim n bytes: returns a pointer to them, or NULL (and err) if absent. */
static inline const uint8_t *wire_take(struct wire_rd *r, size_t n)
{
    if (r->err || n > r->len - r->off) {
        r->err = true;
        return NULL;
    }
    const uint8_t *p = r->p + r->off;
    r->off += n;
    return p;
}

static inline void wire_skip(struct wire_rd *r, size_t n) { (void)wire_take(r, n); }

static inline uint8_t wire_u8(struct wire_rd *r)
{
    const uint8_t *p = wire_take(r, 1);
    return p ? p[0] : 0;
}

static inline uint16_t wire_get16(const uint8_t *p, bool be)
{
    return be ? (uint16_t)(p[0] << 8 | p[1]) : (uint16_t)(p[1] << 8 | p[0]);
}

static inline uint32_t wire_get32(const uint8_t *p, bool be)
{
    return be ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]
              : (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static inline uint64_t wire_get64(const uint8_t *p, bool be)
{
    uint64_t hi = wire_get32(p + (be ? 0 : 4), be), lo = wire_get32(p + (be ? 4 : 0), be);
    return hi << 32 | lo;
}

static inline uint16_t wire_u16(struct wire_rd *r)
{
    const uint8_t *p = wire_take(r, 2);
    return p ? wire_get16(p, r->big_endian) : 0;
}

static inline uint32_t wire_u32(struct wire_rd *r)
{
    const uint8_t *p = wire_take(r, 4);
    return p ? wire_get32(p, r->big_endian) : 0;
}

static inline uint64_t wire_u64(struct wire_rd *r)
{
    const uint8_t *p = wire_take(r, 8);
    return p ? wire_get64(p, r->big_endian) : 0;
}

/* Big-endian helpers for fixed network-order headers (IP, TCP, CA). */
static inline uint16_t wire_be16(const uint8_t *p) { return wire_get16(p, true); }
static inline uint32_t wire_be32(const uint8_t *p) { return wire_get32(p, true); }

#endif

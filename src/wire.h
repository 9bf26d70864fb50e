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

/* Unchecked loads, private to the reader: only the cursor functions below,
 * which have claimed the bytes, may call them */
static inline uint16_t wire_unchecked_get16_(const uint8_t *p, bool be)
{
    return be ? (uint16_t)(p[0] << 8 | p[1]) : (uint16_t)(p[1] << 8 | p[0]);
}

static inline uint32_t wire_unchecked_get32_(const uint8_t *p, bool be)
{
    return be ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]
              : (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static inline uint64_t wire_unchecked_get64_(const uint8_t *p, bool be)
{
    uint64_t hi = wire_unchecked_get32_(p + (be ? 0 : 4), be);
    uint64_t lo = wire_unchecked_get32_(p + (be ? 4 : 0), be);
    return hi << 32 | lo;
}

static inline uint16_t wire_u16(struct wire_rd *r)
{
    const uint8_t *p = wire_take(r, 2);
    return p ? wire_unchecked_get16_(p, r->big_endian) : 0;
}

static inline uint32_t wire_u32(struct wire_rd *r)
{
    const uint8_t *p = wire_take(r, 4);
    return p ? wire_unchecked_get32_(p, r->big_endian) : 0;
}

static inline uint64_t wire_u64(struct wire_rd *r)
{
    const uint8_t *p = wire_take(r, 8);
    return p ? wire_unchecked_get64_(p, r->big_endian) : 0;
}

/* The next n bytes as a reader of their own (same byte order), claimed
 * from r; an empty reader with err set when fewer are left */
static inline struct wire_rd wire_sub(struct wire_rd *r, size_t n)
{
    const uint8_t *p = wire_take(r, n);
    struct wire_rd s = wire_init(p, p ? n : 0, r->big_endian);
    s.err = !p;
    return s;
}

/* For the decoders of fixed headers, run for every message: inlined, the
 * caller's reader stays in registers (make bench measures the difference) */
#define WIRE_HOT_INLINE inline __attribute__((always_inline))

/* Claims n bytes as a reader of their own, in the given byte order: false,
 * and err set in r, when fewer are left. With constant arguments the reads
 * of a fixed layout from it are checked at no cost: the compiler folds the
 * checks away. */
static inline bool wire_claim(struct wire_rd *r, size_t n, bool big_endian, struct wire_rd *out)
{
    const uint8_t *p = wire_take(r, n);
    if (!p)
        return false;
    *out = wire_init(p, n, big_endian);
    return true;
}

/* A NUL-terminated string, cut at the end of the data: its bytes (without
 * the NUL, which is left unread) and their number */
static inline const uint8_t *wire_cstring(struct wire_rd *r, size_t *n)
{
    size_t left = wire_left(r);
    const uint8_t *p = left ? r->p + r->off : NULL;
    const uint8_t *nul = left ? memchr(p, 0, left) : NULL;
    *n = nul ? (size_t)(nul - p) : left;
    return wire_take(r, *n);
}

#endif

/*
 * pvdata.h - pvData type descriptions and values, as pvAccess carries them.
 *
 * Wire layout (pvxs src/dataencode.cpp, src/pvaproto.h, src/bitmask.cpp;
 * pvDataCPP serialize*.cpp), in the byte order of the message:
 *
 *   Size      1 byte n < 254, or 254 then uint32 n; 255 is "null" (strings)
 *   string    Size then that many bytes
 *   type      1 byte code, then for
 *               0x80 struct  : string id, Size nfields, nfields x (string name, type)
 *               0x81 union   : string id, Size nmembers, nmembers x (string name, type)
 *               0x88 struct[]: the element type (a struct)
 *               0x89 union[] : the element type (a union)
 *               0xfd         : uint16 key, type  (define key in the sender's cache)
 *               0xfe         : uint16 key        (a type defined before)
 *               0xff         : no type
 *             other codes are leaves: bool 0x00, int8..uint64 0x20-0x27,
 *             float 0x42, double 0x43, string 0x60, any 0x82; | 0x08 for arrays
 *   value     leaves as fixed-size numbers, strings, or Size count + elements;
 *             a struct is its leaves in order; a union a Size selector (255
 *             none) then the member; any a type then its value; struct[],
 *             union[] and any[] elements are each preceded by a 0/1 byte
 *   bitset    Size nbytes, then uint64 words in message order, then the
 *             remaining bytes least significant first; bit i selects field i
 *             of the type numbered depth first (0 is the whole structure)
 *
 * A type is kept flattened as pvxs does: a structure is followed by its
 * fields, so field numbers are bit numbers; union members and array element
 * types hang off their node as separate types. Types are reference counted,
 * so the per-connection caches and pending requests can share them.
 * Depth, node counts and the work done per message are bounded.
 */
#ifndef EPICS_PVDATA_H
#define EPICS_PVDATA_H

#include "budget.h"
#include "idmap.h"
#include "wire.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum pvd_code {
    PVD_BOOL = 0x00, PVD_INT8 = 0x20, PVD_UINT64 = 0x27, PVD_FLOAT = 0x42, PVD_DOUBLE = 0x43,
    PVD_STRING = 0x60, PVD_ARRAY = 0x08,
    PVD_STRUCT = 0x80, PVD_UNION = 0x81, PVD_ANY = 0x82,
    PVD_STRUCT_ARRAY = 0x88, PVD_UNION_ARRAY = 0x89, PVD_ANY_ARRAY = 0x8a,
    PVD_CACHE_DEFINE = 0xfd, PVD_CACHE_FETCH = 0xfe, PVD_NULL = 0xff,
};

#define PVD_NAME_MAX 24         /* field names are kept to this (for lookups) */
#define PVD_MAX_DEPTH 20        /* nesting, as pvxs allows */
#define PVD_MAX_NODES 4096      /* fields of one type description */
#define PVD_CACHE_NODES 16384   /* fields held by one direction's cache */
#define PVD_BUDGET (1u << 20)   /* fields visited while decoding one message */

struct pvd_type;

struct pvd_node {
    uint8_t code;
    char name[PVD_NAME_MAX];    /* NUL-terminated, truncated */
    uint32_t size;              /* nodes of this subtree, itself included */
    uint32_t nmembers;          /* struct: fields; union: members */
    uint32_t fixed;             /* bytes of its value + 1 when that never varies
                                 * (fixed-size scalars only), 0 when it does */
    struct pvd_type *sub;       /* union: its members; struct[]/union[]: element type */
};

struct pvd_type {
    uint32_t refs;
    uint32_t n;
    uint32_t total;             /* nodes, member types counted each time they appear */
    bool has_any;               /* values may carry type descriptions (any, any[]) */
    size_t bytes;               /* memory it holds, member types too (an upper bound) */
    struct pvd_node node[];
};

/* Types a peer defined with 0xfd, for its later 0xfe references */
struct pvd_cache {
    struct idmap map;           /* key -> struct pvd_type */
    size_t nodes;
    size_t charged;             /* bytes taken from the budget: types and map slots */
    struct mem_budget *budget;  /* charged for all it holds; NULL: none */
};

/* Where a value's top-level time stamp lies (timeStamp.secondsPastEpoch,
 * a 64-bit integer, and timeStamp.nanoseconds, a 32-bit one), and what a
 * walk of a value found there. A walk notes the fields as it passes them,
 * fixed-size structures included, without formatting anything. */
struct pvd_stamp {
    const struct pvd_type *type;        /* NULL: the type has no time stamp */
    long node[2];                       /* seconds, nanoseconds */
    bool found[2];
    int64_t sec;
    uint32_t nsec;
};

/* One decoding pass over a message */
struct pvd_ctx {
    struct wire_rd *r;
    struct pvd_cache *cache;    /* may be NULL: cache forms are then errors */
    uint32_t budget;
    const char *why;            /* the first reason the input was refused */
    struct pvd_stamp *stamp;    /* NULL, or where to note a time stamp met */
};

/* A leaf of the top-level type to format while reading a value */
struct pvd_pick {
    long node;                  /* index in the type; < 0 picks nothing */
    bool found;
    char value[80];
    char type[16];
};

void pvd_init(struct pvd_ctx *d, struct wire_rd *r, struct pvd_cache *cache);
/* Marks the input refused (sticky): reads stop, d->why says why */
void pvd_fail(struct pvd_ctx *d, const char *why);

bool pvd_size(struct pvd_ctx *d, uint32_t *n);
/* A string: *s points into the message (not NUL-terminated); false on error */
bool pvd_string(struct pvd_ctx *d, const uint8_t **s, size_t *len);
/* A status: 0 ok, 1 warning, 2 error, 3 fatal (the 0xff short form is ok) */
int pvd_status(struct pvd_ctx *d);
/* The same, with the status message copied (printable, cut to size) */
int pvd_status_msg(struct pvd_ctx *d, char *msg, size_t size);
/* Reads a bitset: true when any bit is set */
bool pvd_bitset_any(struct pvd_ctx *d);

/* A type description; *out is NULL for "no type". 0 or -1 (see d->why, d->r->err) */
int pvd_type(struct pvd_ctx *d, struct pvd_type **out);
void pvd_ref(struct pvd_type *t);
void pvd_unref(struct pvd_type *t);

/* Index of a field by dotted name ("value", "value.index"), -1 when absent */
long pvd_find(const struct pvd_type *t, const char *path);

/* A whole value of type t (NULL: nothing to read) */
int pvd_value(struct pvd_ctx *d, const struct pvd_type *t, struct pvd_pick *picks, size_t npicks);
/* A bitset then the fields it selects */
int pvd_value_valid(struct pvd_ctx *d, const struct pvd_type *t, struct pvd_pick *picks,
                    size_t npicks);
/* A type description followed by a whole value of that type */
int pvd_type_value(struct pvd_ctx *d, struct pvd_pick *picks, size_t npicks,
                   struct pvd_type **keep);

/* Finds the time stamp fields of t; false (st->type NULL) when it has none */
bool pvd_stamp_find(struct pvd_stamp *st, const struct pvd_type *t);

void pvd_cache_free(struct pvd_cache *c);

/* pvData name of a type code ("double", "int[]", "structure") */
const char *pvd_code_name(uint8_t code);

#endif

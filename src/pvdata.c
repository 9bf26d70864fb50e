/*
 * pvdata.c - pvData type descriptions, values and the type cache (see pvdata.h).
 *
 * Everything is read through the wire.h cursor; a refusal (bad code, too
 * deep, too large, unknown cache key) sets the cursor's sticky error too, so
 * callers check one flag per message and read d->why for the reason.
 */
#include "pvdata.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void pvd_init(struct pvd_ctx *d, struct wire_rd *r, struct pvd_cache *cache)
{
    d->r = r;
    d->cache = cache;
    d->budget = PVD_BUDGET;
    d->why = NULL;
    d->stamp = NULL;
}

void pvd_fail(struct pvd_ctx *d, const char *why)
{
    if (!d->why)
        d->why = why;
    d->r->err = true;
}

static bool spend(struct pvd_ctx *d, uint32_t n)
{
    if (d->budget < n) {
        pvd_fail(d, "PVA value too complex to decode");
        return false;
    }
    d->budget -= n;
    return true;
}

/* ---- primitives ---- */

/* Size; *null for the 255 form (only strings and selectors allow it) */
static bool read_size(struct pvd_ctx *d, uint32_t *n, bool *null)
{
    uint8_t b = wire_u8(d->r);
    *n = 0;
    *null = false;
    if (d->r->err)
        return false;
    if (b < 254)
        *n = b;
    else if (b == 254)
        *n = wire_u32(d->r);
    else
        *null = true;
    return !d->r->err;
}

bool pvd_size(struct pvd_ctx *d, uint32_t *n)
{
    bool null;
    if (!read_size(d, n, &null))
        return false;
    if (null) {
        pvd_fail(d, "PVA size field with the null form");
        return false;
    }
    return true;
}

bool pvd_string(struct pvd_ctx *d, const uint8_t **s, size_t *len)
{
    uint32_t n;
    bool null;
    *s = NULL;
    *len = 0;
    if (!read_size(d, &n, &null))
        return false;
    if (null)
        return true;            /* pvAccessJava's null string: empty */
    *s = wire_take(d->r, n);
    if (!*s)
        return false;
    *len = n;
    return true;
}

int pvd_status(struct pvd_ctx *d)
{
    return pvd_status_msg(d, NULL, 0);
}

int pvd_status_msg(struct pvd_ctx *d, char *msg, size_t size)
{
    const uint8_t *s;
    size_t n;
    if (msg && size)
        msg[0] = '\0';
    uint8_t code = wire_u8(d->r);
    if (d->r->err || code == 0xff)
        return 0;
    pvd_string(d, &s, &n);      /* message */
    if (msg && size && s && !d->r->err) {
        size_t j = 0;           /* printable characters only */
        for (size_t i = 0; i < n && j + 1 < size; i++)
            msg[j++] = (s[i] >= 0x20 && s[i] < 0x7f) ? (char)s[i] : '?';
        msg[j] = '\0';
    }
    pvd_string(d, &s, &n);      /* stack trace */
    return code;
}

bool pvd_bitset_any(struct pvd_ctx *d)
{
    uint32_t n;
    const uint8_t *b = pvd_size(d, &n) ? wire_take(d->r, n) : NULL;
    for (uint32_t i = 0; b && i < n; i++)
        if (b[i])
            return true;
    return false;
}

/* ---- types ---- */

void pvd_ref(struct pvd_type *t)
{
    if (t)
        t->refs++;
}

void pvd_unref(struct pvd_type *t)
{
    if (!t || --t->refs > 0)
        return;
    for (uint32_t i = 0; i < t->n; i++)
        pvd_unref(t->node[i].sub);
    free(t);
}

static bool leaf_code(uint8_t code)
{
    uint8_t s = code & (uint8_t)~PVD_ARRAY;
    return s == PVD_BOOL || (s >= PVD_INT8 && s <= PVD_UINT64) || s == PVD_FLOAT
           || s == PVD_DOUBLE || s == PVD_STRING || code == PVD_ANY || code == PVD_ANY_ARRAY;
}

/* Nodes being collected for one type */
struct nbuf {
    struct pvd_node *v;
    uint32_t n, cap;
};

static void nbuf_release(struct nbuf *b)
{
    for (uint32_t i = 0; i < b->n; i++)
        pvd_unref(b->v[i].sub);
    free(b->v);
    memset(b, 0, sizeof(*b));
}

static bool nbuf_grow(struct pvd_ctx *d, struct nbuf *b, uint32_t more)
{
    if (more > PVD_MAX_NODES - b->n) {
        pvd_fail(d, "PVA type description too large");
        return false;
    }
    if (!spend(d, more))
        return false;
    if (b->n + more > b->cap) {
        uint32_t cap = b->cap ? b->cap * 2 : 16;
        while (cap < b->n + more)
            cap *= 2;
        struct pvd_node *v = realloc(b->v, (size_t)cap * sizeof(*v));
        if (!v) {
            pvd_fail(d, "PVA type description: out of memory");
            return false;
        }
        b->v = v;
        b->cap = cap;
    }
    return true;
}

/* What malloc takes for a block of n bytes: its header, 16-byte granules */
static size_t heap_bytes(size_t n)
{
    return ((n + 15) & ~(size_t)15) + 16;
}

/* Node count and bytes of a new type, from those its member types keep:
 * one pass over its own nodes (the members' figures are already known) */
static void type_sizes(struct pvd_type *t)
{
    uint64_t total = t->n;
    size_t bytes = heap_bytes(sizeof(*t) + (size_t)t->n * sizeof(t->node[0]));
    for (uint32_t i = 0; i < t->n; i++) {
        const struct pvd_type *sub = t->node[i].sub;
        if (!sub)
            continue;
        total += sub->total;
        bytes = sub->bytes > SIZE_MAX - bytes ? SIZE_MAX : bytes + sub->bytes;
    }
    t->total = total > UINT32_MAX ? UINT32_MAX : (uint32_t)total;
    t->bytes = bytes;
}

static size_t scalar_size(uint8_t code);

/* Which subtrees hold only fixed-size scalars, and their value's bytes:
 * such values are stepped over in one go when nothing in them is wanted.
 * Children come after their structure, so a backward pass sees them first. */
static void set_fixed_sizes(struct pvd_type *t)
{
    for (uint32_t i = t->n; i-- > 0;) {
        struct pvd_node *n = &t->node[i];
        n->fixed = 0;
        if (n->code == PVD_STRUCT) {
            uint64_t bytes = 0;
            bool fixed = true;
            for (uint32_t j = i + 1; j < i + n->size && j < t->n && fixed; j += t->node[j].size) {
                fixed = t->node[j].fixed != 0 && t->node[j].size > 0;
                bytes += fixed ? t->node[j].fixed - 1 : 0;
            }
            if (fixed && bytes < UINT32_MAX - 1)
                n->fixed = (uint32_t)bytes + 1;
        } else if (n->code < PVD_STRUCT && !(n->code & PVD_ARRAY) && scalar_size(n->code)) {
            n->fixed = (uint32_t)scalar_size(n->code) + 1;
        }
    }
}

/* The collected nodes become a type (they move: b is emptied) */
static struct pvd_type *nbuf_type(struct pvd_ctx *d, struct nbuf *b)
{
    struct pvd_type *t = malloc(sizeof(*t) + (size_t)b->n * sizeof(t->node[0]));
    if (!t) {
        pvd_fail(d, "PVA type description: out of memory");
        nbuf_release(b);
        return NULL;
    }
    t->refs = 1;
    t->n = b->n;
    t->has_any = false;
    if (b->n)
        memcpy(t->node, b->v, (size_t)b->n * sizeof(t->node[0]));
    free(b->v);
    memset(b, 0, sizeof(*b));
    for (uint32_t i = 0; i < t->n; i++) {
        const struct pvd_node *n = &t->node[i];
        if (n->code == PVD_ANY || n->code == PVD_ANY_ARRAY || (n->sub && n->sub->has_any))
            t->has_any = true;
    }
    set_fixed_sizes(t);
    type_sizes(t);
    /* shared member types count every time: a bound on what one type can hold */
    if (t->total > PVD_MAX_NODES) {
        pvd_fail(d, "PVA type description too large");
        pvd_unref(t);
        return NULL;
    }
    return t;
}

/* Appends a copy of a whole type's nodes (a cached type used as a field) */
static int append_type(struct pvd_ctx *d, struct nbuf *b, const struct pvd_type *t)
{
    if (!nbuf_grow(d, b, t->n))
        return -1;
    memcpy(b->v + b->n, t->node, (size_t)t->n * sizeof(t->node[0]));
    for (uint32_t i = 0; i < t->n; i++)
        pvd_ref(b->v[b->n + i].sub);
    b->n += t->n;
    return 1;
}

static void set_name(struct pvd_node *n, const uint8_t *s, size_t len)
{
    if (len >= PVD_NAME_MAX)
        len = PVD_NAME_MAX - 1;
    if (len)
        memcpy(n->name, s, len);
    n->name[len] = '\0';
}

static struct pvd_type *cache_get(struct pvd_ctx *d, uint16_t key)
{
    struct pvd_type *t = d->cache ? idmap_get(&d->cache->map, key) : NULL;
    if (!t)
        pvd_fail(d, d->cache ? "PVA reference to a type the capture did not define"
                             : "PVA cached type outside a connection");
    return t;
}

static void cache_put(struct pvd_ctx *d, uint16_t key, struct pvd_type *t)
{
    struct pvd_cache *c = d->cache;
    if (!c) {
        pvd_fail(d, "PVA cached type outside a connection");
        return;
    }
    struct pvd_type *old = idmap_del(&c->map, key);
    if (old) {
        c->nodes -= old->total;
        c->charged -= old->bytes;
        budget_give(c->budget, old->bytes);
        pvd_unref(old);
    }
    /* the map's slots, which grow by doubling: charged before they are taken */
    size_t slots_before = c->map.size * sizeof(c->map.slots[0]);
    size_t slots_after = idmap_size_after_put(&c->map) * sizeof(c->map.slots[0]);
    size_t need = t->bytes + (slots_after - slots_before);
    /* not kept when full: later references to it are refused */
    if (c->nodes + t->total > PVD_CACHE_NODES || !budget_take(c->budget, need))
        return;
    if (idmap_put(&c->map, key, t) < 0) {
        budget_give(c->budget, need);
        return;
    }
    pvd_ref(t);
    c->nodes += t->total;
    /* settle with what the map really holds */
    size_t slots_now = c->map.size * sizeof(c->map.slots[0]);
    if (slots_now > slots_after)
        budget_force(c->budget, slots_now - slots_after);
    else
        budget_give(c->budget, slots_after - slots_now);
    c->charged += t->bytes + (slots_now - slots_before);
}

/* Reads one type description into b: 1 appended, 0 "no type", -1 refused */
static int read_desc(struct pvd_ctx *d, struct nbuf *b, unsigned depth)
{
    if (depth > PVD_MAX_DEPTH) {
        pvd_fail(d, "PVA type or value nested too deep");
        return -1;
    }
    uint8_t code = wire_u8(d->r);
    if (d->r->err)
        return -1;
    if (code == PVD_NULL)
        return 0;
    if (code == PVD_CACHE_DEFINE) {
        uint16_t key = wire_u16(d->r);
        struct nbuf t = { 0 };
        int rc = read_desc(d, &t, depth + 1);
        if (rc <= 0) {
            nbuf_release(&t);
            if (rc == 0)
                pvd_fail(d, "PVA type description with a missing type");
            return -1;
        }
        struct pvd_type *ty = nbuf_type(d, &t);
        if (!ty)
            return -1;
        cache_put(d, key, ty);
        rc = append_type(d, b, ty);
        pvd_unref(ty);
        return rc;
    }
    if (code == PVD_CACHE_FETCH) {
        uint16_t key = wire_u16(d->r);
        if (d->r->err)
            return -1;
        struct pvd_type *t = cache_get(d, key);
        return t ? append_type(d, b, t) : -1;
    }
    bool compound = code == PVD_STRUCT || code == PVD_UNION || code == PVD_STRUCT_ARRAY
                    || code == PVD_UNION_ARRAY;
    if (!compound && !leaf_code(code)) {
        pvd_fail(d, "PVA unknown or fixed-size type code");
        return -1;
    }
    uint32_t at = b->n;
    if (!nbuf_grow(d, b, 1))
        return -1;
    memset(&b->v[at], 0, sizeof(b->v[at]));
    b->v[at].code = code;
    b->v[at].size = 1;
    b->n++;

    if (code == PVD_STRUCT || code == PVD_UNION) {
        const uint8_t *s;
        size_t len;
        uint32_t nf;
        pvd_string(d, &s, &len);        /* type id, e.g. "epics:nt/NTScalar:1.0" */
        if (!pvd_size(d, &nf))
            return -1;
        struct nbuf mb = { 0 };
        struct nbuf *into = code == PVD_STRUCT ? b : &mb;
        for (uint32_t i = 0; i < nf; i++) {
            if (!pvd_string(d, &s, &len)) {
                nbuf_release(&mb);
                return -1;
            }
            uint32_t child = into->n;
            int rc = read_desc(d, into, depth + 1);
            if (rc <= 0) {
                if (rc == 0)
                    pvd_fail(d, "PVA type description with a missing type");
                nbuf_release(&mb);
                return -1;
            }
            set_name(&into->v[child], s, len);
        }
        b->v[at].nmembers = nf;
        if (code == PVD_STRUCT) {
            b->v[at].size = b->n - at;
        } else {
            struct pvd_type *sub = nbuf_type(d, &mb);
            if (!sub)
                return -1;
            b->v[at].sub = sub;
        }
    } else if (code == PVD_STRUCT_ARRAY || code == PVD_UNION_ARRAY) {
        struct nbuf eb = { 0 };
        int rc = read_desc(d, &eb, depth + 1);
        if (rc <= 0 || eb.v[0].code != (code & (uint8_t)~PVD_ARRAY)) {
            if (rc >= 0)
                pvd_fail(d, "PVA array of structures or unions with a wrong element type");
            nbuf_release(&eb);
            return -1;
        }
        struct pvd_type *sub = nbuf_type(d, &eb);
        if (!sub)
            return -1;
        b->v[at].sub = sub;
    }
    return 1;
}

static int read_type(struct pvd_ctx *d, struct pvd_type **out, unsigned depth)
{
    *out = NULL;
    /* a reference to a cached type is shared, not copied */
    struct wire_rd peek = *d->r;
    if (wire_left(d->r) >= 3 && wire_u8(&peek) == PVD_CACHE_FETCH) {
        wire_skip(d->r, 1);
        struct pvd_type *t = cache_get(d, wire_u16(d->r));
        if (!t)
            return -1;
        pvd_ref(t);
        *out = t;
        return 0;
    }
    struct nbuf b = { 0 };
    int rc = read_desc(d, &b, depth);
    if (rc < 0) {
        nbuf_release(&b);
        return -1;
    }
    if (rc == 0)
        return 0;
    *out = nbuf_type(d, &b);
    return *out ? 0 : -1;
}

int pvd_type(struct pvd_ctx *d, struct pvd_type **out)
{
    return read_type(d, out, 0);
}

long pvd_find(const struct pvd_type *t, const char *path)
{
    if (!t || t->n == 0 || t->node[0].code != PVD_STRUCT)
        return -1;
    uint32_t i = 0;
    while (*path) {
        size_t len = strcspn(path, ".");
        if (t->node[i].code != PVD_STRUCT)
            return -1;
        uint32_t j = i + 1, end = i + t->node[i].size;
        bool found = false;
        while (j < end) {
            if (strlen(t->node[j].name) == len && memcmp(t->node[j].name, path, len) == 0) {
                found = true;
                break;
            }
            j += t->node[j].size;
        }
        if (!found)
            return -1;
        i = j;
        path += len;
        if (*path == '.')
            path++;
    }
    return (long)i;
}

const char *pvd_code_name(uint8_t code)
{
    static const char *ints[8] = { "byte", "short", "int", "long", "ubyte", "ushort", "uint", "ulong" };
    static const char *int_arrays[8] = { "byte[]", "short[]", "int[]", "long[]",
                                         "ubyte[]", "ushort[]", "uint[]", "ulong[]" };
    if (code >= PVD_INT8 && code <= PVD_UINT64)
        return ints[code - PVD_INT8];
    if (code >= (PVD_INT8 | PVD_ARRAY) && code <= (PVD_UINT64 | PVD_ARRAY))
        return int_arrays[code - (PVD_INT8 | PVD_ARRAY)];
    switch (code) {
    case PVD_BOOL: return "boolean";
    case PVD_BOOL | PVD_ARRAY: return "boolean[]";
    case PVD_FLOAT: return "float";
    case PVD_FLOAT | PVD_ARRAY: return "float[]";
    case PVD_DOUBLE: return "double";
    case PVD_DOUBLE | PVD_ARRAY: return "double[]";
    case PVD_STRING: return "string";
    case PVD_STRING | PVD_ARRAY: return "string[]";
    case PVD_STRUCT: return "structure";
    case PVD_UNION: return "union";
    case PVD_ANY: return "any";
    case PVD_STRUCT_ARRAY: return "structure[]";
    case PVD_UNION_ARRAY: return "union[]";
    case PVD_ANY_ARRAY: return "any[]";
    default: return "?";
    }
}

/* ---- values ---- */

/* bytes of a fixed-size scalar, 0 for the others */
static size_t scalar_size(uint8_t code)
{
    switch (code & (uint8_t)~PVD_ARRAY) {
    case PVD_BOOL: return 1;
    case PVD_INT8: case PVD_INT8 + 4: return 1;
    case PVD_INT8 + 1: case PVD_INT8 + 5: return 2;
    case PVD_INT8 + 2: case PVD_INT8 + 6: case PVD_FLOAT: return 4;
    case PVD_INT8 + 3: case PVD_INT8 + 7: case PVD_DOUBLE: return 8;
    default: return 0;
    }
}

/* The scalar at the reader (scalar_size(code) bytes), which moves past it */
static void format_scalar(char *out, size_t size, uint8_t code, struct wire_rd *r)
{
    uint8_t s = code & (uint8_t)~PVD_ARRAY;
    switch (s) {
    case PVD_BOOL: snprintf(out, size, "%s", wire_u8(r) ? "true" : "false"); break;
    case PVD_INT8: snprintf(out, size, "%d", (int8_t)wire_u8(r)); break;
    case PVD_INT8 + 1: snprintf(out, size, "%d", (int16_t)wire_u16(r)); break;
    case PVD_INT8 + 2: snprintf(out, size, "%ld", (long)(int32_t)wire_u32(r)); break;
    case PVD_INT8 + 3: snprintf(out, size, "%lld", (long long)(int64_t)wire_u64(r)); break;
    case PVD_INT8 + 4: snprintf(out, size, "%u", wire_u8(r)); break;
    case PVD_INT8 + 5: snprintf(out, size, "%u", wire_u16(r)); break;
    case PVD_INT8 + 6: snprintf(out, size, "%lu", (unsigned long)wire_u32(r)); break;
    case PVD_INT8 + 7: snprintf(out, size, "%llu", (unsigned long long)wire_u64(r)); break;
    case PVD_FLOAT: {
        uint32_t u = wire_u32(r);
        float f;
        memcpy(&f, &u, sizeof(f));
        snprintf(out, size, "%.9g", (double)f);
        break;
    }
    case PVD_DOUBLE: {
        uint64_t u = wire_u64(r);
        double v;
        memcpy(&v, &u, sizeof(v));
        snprintf(out, size, "%.17g", v);
        break;
    }
    default: snprintf(out, size, "?"); break;
    }
}

static void format_string(char *out, size_t size, const uint8_t *s, size_t len)
{
    size_t j = 0;
    for (size_t i = 0; i < len && j + 1 < size; i++)
        out[j++] = (s[i] >= 0x20 && s[i] < 0x7f) ? (char)s[i] : '?';
    out[j] = '\0';
}

#define PICK_ELEMENTS 4         /* array elements shown in the put audit */

/* Adds one element to an array's text: "a,b,c,d,..." */
static void pick_append(struct pvd_pick *pk, const char *one, uint32_t index, uint32_t count)
{
    size_t used = strlen(pk->value);
    if (index >= PICK_ELEMENTS) {
        if (index == PICK_ELEMENTS && used + 4 < sizeof(pk->value))
            snprintf(pk->value + used, sizeof(pk->value) - used, ",...");
        return;
    }
    (void)count;
    snprintf(pk->value + used, sizeof(pk->value) - used, "%s%s", index ? "," : "", one);
}

struct picks {
    struct pvd_pick *p;
    size_t n;
};

static struct pvd_pick *pick_of(const struct picks *pk, uint32_t node)
{
    for (size_t i = 0; pk && i < pk->n; i++)
        if (pk->p[i].node == (long)node)
            return &pk->p[i];
    return NULL;
}

static void read_node(struct pvd_ctx *d, const struct pvd_type *t, uint32_t i,
                      const struct picks *pk, unsigned depth);

bool pvd_stamp_find(struct pvd_stamp *st, const struct pvd_type *t)
{
    memset(st, 0, sizeof(*st));
    long sec = pvd_find(t, "timeStamp.secondsPastEpoch");
    long nsec = pvd_find(t, "timeStamp.nanoseconds");
    /* signed or unsigned: 0x23 int64, 0x27 uint64; 0x22 int32, 0x26 uint32 */
    if (sec < 0 || nsec < 0 || (t->node[sec].code & ~4) != PVD_INT8 + 3
        || (t->node[nsec].code & ~4) != PVD_INT8 + 2)
        return false;
    st->type = t;
    st->node[0] = sec;
    st->node[1] = nsec;
    return true;
}

/* True when nodes [i, i + n) of t hold a stamp field the walk looks for:
 * checked for every field read, so kept to a few compares */
static inline bool stamp_within(const struct pvd_ctx *d, const struct pvd_type *t, uint32_t i,
                                uint32_t n)
{
    const struct pvd_stamp *st = d->stamp;
    return st && t == st->type
        && ((uint32_t)st->node[0] - i < n || (uint32_t)st->node[1] - i < n);
}

/* Node i of the stamp's type is next in the message (a leaf, or a fixed-size
 * node about to be skipped whole): note the stamp fields it holds */
static void stamp_note(struct pvd_ctx *d, const struct pvd_type *t, uint32_t i)
{
    struct pvd_stamp *st = d->stamp;
    struct wire_rd *r = d->r;
    for (int k = 0; k < 2; k++) {
        uint32_t want = (uint32_t)st->node[k];
        if (want < i || want >= i + t->node[i].size || t->node[want].fixed == 0)
            continue;
        size_t off = 0;             /* the leaves before it are fixed-size too */
        for (uint32_t j = i; j < want; j++)
            if (t->node[j].code != PVD_STRUCT)
                off += t->node[j].fixed - 1;
        size_t len = t->node[want].fixed - 1;         /* 8, then 4 (pvd_stamp_find) */
        struct wire_rd rest = *r, f;
        wire_skip(&rest, off);
        if (!wire_claim(&rest, len, r->big_endian, &f))
            continue;
        if (k == 0)
            st->sec = (int64_t)wire_u64(&f);
        else
            st->nsec = wire_u32(&f);
        st->found[k] = true;
    }
}

static void read_leaf(struct pvd_ctx *d, const struct pvd_type *t, uint32_t i,
                      const struct picks *pk, unsigned depth)
{
    const struct pvd_node *n = &t->node[i];
    struct pvd_pick *pick = pick_of(pk, i);
    struct wire_rd *r = d->r;
    uint32_t count = 0;
    bool null;

    if (stamp_within(d, t, i, 1))
        stamp_note(d, t, i);
    if (pick) {
        pick->found = true;
        pick->value[0] = '\0';
        snprintf(pick->type, sizeof(pick->type), "%s", pvd_code_name(n->code));
    }
    if (n->code < PVD_STRUCT && !(n->code & PVD_ARRAY)) {
        if (n->code == PVD_STRING) {
            const uint8_t *s;
            size_t len;
            if (pvd_string(d, &s, &len) && pick)
                format_string(pick->value, sizeof(pick->value), s, len);
        } else {
            struct wire_rd v = wire_sub(r, scalar_size(n->code));
            if (!v.err && pick)
                format_scalar(pick->value, sizeof(pick->value), n->code, &v);
        }
        return;
    }
    if (n->code < PVD_STRUCT) {
        if (!pvd_size(d, &count))
            return;
        size_t esz = scalar_size(n->code);
        if (esz == 0) {             /* string[] */
            for (uint32_t k = 0; k < count && !r->err; k++) {
                const uint8_t *s;
                size_t len;
                char one[64];
                if (!spend(d, 1) || !pvd_string(d, &s, &len))
                    return;
                if (pick) {
                    format_string(one, sizeof(one), s, len);
                    pick_append(pick, one, k, count);
                }
            }
            return;
        }
        if (pick) {
            struct wire_rd v = *r;
            for (uint32_t k = 0; k < count && k <= PICK_ELEMENTS; k++) {
                char one[64];
                if (wire_left(&v) < esz)
                    break;              /* the rest was not captured */
                format_scalar(one, sizeof(one), n->code, &v);
                pick_append(pick, one, k, count);
            }
        }
        uint64_t bytes = (uint64_t)count * esz;
        if (bytes > wire_left(r))
            r->err = true;
        else
            wire_skip(r, (size_t)bytes);
        return;
    }
    switch (n->code) {
    case PVD_UNION: {
        if (!read_size(d, &count, &null) || null)
            return;
        if (!n->sub || count >= n->nmembers || count >= n->sub->n) {
            pvd_fail(d, "PVA union selector out of range");
            return;
        }
        uint32_t root = 0;
        for (uint32_t k = 0; k < count && root < n->sub->n; k++)
            root += n->sub->node[root].size;
        if (root >= n->sub->n) {
            pvd_fail(d, "PVA union selector out of range");
            return;
        }
        read_node(d, n->sub, root, NULL, depth + 1);
        return;
    }
    case PVD_ANY: {
        struct pvd_type *x;
        if (read_type(d, &x, depth + 1) == 0 && x)
            read_node(d, x, 0, NULL, depth + 1);
        pvd_unref(x);
        return;
    }
    case PVD_STRUCT_ARRAY:
    case PVD_UNION_ARRAY:
    case PVD_ANY_ARRAY:
        if (!pvd_size(d, &count))
            return;
        for (uint32_t k = 0; k < count && !r->err; k++) {
            if (!spend(d, 1) || wire_u8(r) == 0)
                continue;
            if (n->code == PVD_ANY_ARRAY) {
                struct pvd_type *x;
                if (read_type(d, &x, depth + 1) == 0 && x)
                    read_node(d, x, 0, NULL, depth + 1);
                pvd_unref(x);
            } else if (n->sub && n->sub->n) {
                read_node(d, n->sub, 0, NULL, depth + 1);
            }
        }
        return;
    default:
        pvd_fail(d, "PVA unknown or fixed-size type code");
        return;
    }
}

static void read_node(struct pvd_ctx *d, const struct pvd_type *t, uint32_t i,
                      const struct picks *pk, unsigned depth)
{
    if (d->r->err)
        return;
    if (depth > PVD_MAX_DEPTH) {
        pvd_fail(d, "PVA type or value nested too deep");
        return;
    }
    const struct pvd_node *n = &t->node[i];
    if (!spend(d, n->size))     /* empty structures cost work, not bytes */
        return;
    if (n->fixed && (!pk || pk->n == 0)) {
        if (stamp_within(d, t, i, n->size))
            stamp_note(d, t, i);
        wire_skip(d->r, n->fixed - 1);
        return;
    }
    if (n->code != PVD_STRUCT) {
        read_leaf(d, t, i, pk, depth);
        return;
    }
    /* a structure is its leaves, depth first (nested structures add nothing) */
    for (uint32_t j = i + 1; j < i + n->size && !d->r->err; j++)
        if (t->node[j].code != PVD_STRUCT)
            read_leaf(d, t, j, pk, depth);
}

int pvd_value(struct pvd_ctx *d, const struct pvd_type *t, struct pvd_pick *picks, size_t npicks)
{
    struct picks pk = { picks, npicks };
    if (t && t->n)
        read_node(d, t, 0, &pk, 0);
    return d->r->err ? -1 : 0;
}

/* The byte of a bitset holding bit k: whole 64-bit words are in the
 * message's byte order, the bytes after the last whole word in order */
static uint32_t bit_byte(uint32_t nbytes, bool be, uint32_t k)
{
    if (be && k / 64 < nbytes / 8)
        return (k / 64) * 8 + 7 - (k % 64) / 8;
    return k / 8;
}

int pvd_value_valid(struct pvd_ctx *d, const struct pvd_type *t, struct pvd_pick *picks,
                    size_t npicks)
{
    struct picks pk = { picks, npicks };
    uint32_t nbytes;
    if (!pvd_size(d, &nbytes))
        return -1;
    const uint8_t *bits = wire_take(d->r, nbytes);
    if (!bits || !t)
        return d->r->err ? -1 : 0;
    bool be = d->r->big_endian;
    /* bits past the bitset are clear */
    uint64_t limit = (uint64_t)nbytes * 8 < t->n ? (uint64_t)nbytes * 8 : t->n;
    uint32_t i = 0;
    while (i < limit && !d->r->err) {
        /* the eight bits of a byte are consecutive fields: go to the next set one */
        unsigned rest = bits[bit_byte(nbytes, be, i)] >> (i % 8);
        if (!rest) {
            i = (i | 7) + 1;
            continue;
        }
        i += (uint32_t)__builtin_ctz(rest);
        if (i >= limit)
            break;
        read_node(d, t, i, &pk, 0);
        i += t->node[i].size;   /* a selected structure includes its fields */
    }
    return d->r->err ? -1 : 0;
}

int pvd_type_value(struct pvd_ctx *d, struct pvd_pick *picks, size_t npicks,
                   struct pvd_type **keep)
{
    struct pvd_type *t;
    if (keep)
        *keep = NULL;
    if (pvd_type(d, &t) < 0)
        return -1;
    int rc = pvd_value(d, t, picks, npicks);
    if (keep && rc == 0)
        *keep = t;
    else
        pvd_unref(t);
    return rc;
}

void pvd_cache_free(struct pvd_cache *c)
{
    for (size_t i = 0; i < c->map.size; i++)
        if (c->map.slots[i].used == 1)
            pvd_unref(c->map.slots[i].val);
    idmap_free(&c->map);
    budget_give(c->budget, c->charged);
    c->charged = 0;
    c->nodes = 0;
}

/*
 * sample.c - one archive sample as a pmResult (see sample.h).
 *
 * 32-bit values are kept in the pmValue itself (PM_VAL_INSITU); 64-bit,
 * double and string values in pmValueBlocks carved from chunks that live
 * until the sample is written.
 */
#include "sample.h"

#include <errno.h>
#include <pcp/import.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK_BYTES (1 << 20)

struct sample_chunk {
    struct sample_chunk *next;
    size_t used, size;
    char mem[];
};

static void *chunk_alloc(struct sample *s, size_t n)
{
    n = (n + 7) & ~(size_t)7;
    struct sample_chunk *c = s->chunks;
    if (!c || c->used + n > c->size) {
        size_t size = n > CHUNK_BYTES ? n : CHUNK_BYTES;
        c = malloc(sizeof(*c) + size);
        if (!c)
            return NULL;
        c->next = s->chunks;
        c->used = 0;
        c->size = size;
        s->chunks = c;
    }
    void *p = c->mem + c->used;
    c->used += n;
    return p;
}

static bool grow(void **arr, int *cap, int need, size_t elem)
{
    if (need <= *cap)
        return true;
    int n = *cap ? *cap : 64;
    while (n < need)
        n *= 2;
    void *p = realloc(*arr, (size_t)n * elem);
    if (!p)
        return false;
    *arr = p;
    *cap = n;
    return true;
}

/* The metric being filled becomes a pmValueSet of the sample */
static void close_metric(struct sample *s)
{
    if (!s->open)
        return;
    s->open = false;
    if (s->nvals == 0 && !s->describe_all)
        return;
    pmValueSet *vs = malloc(sizeof(*vs) + (size_t)(s->nvals ? s->nvals - 1 : 0) * sizeof(pmValue));
    if (!vs || !grow((void **)&s->vsets, &s->capvsets, s->nvsets + 1, sizeof(*s->vsets))) {
        free(vs);
        s->nomem = true;
        return;
    }
    vs->pmid = s->pmid;
    vs->numval = s->nvals;
    vs->valfmt = (s->type == PM_TYPE_32 || s->type == PM_TYPE_U32) ? PM_VAL_INSITU : PM_VAL_DPTR;
    memcpy(vs->vlist, s->vals, (size_t)s->nvals * sizeof(pmValue));
    s->vsets[s->nvsets++] = vs;
}

void sample_metric(struct sample *s, pmID pmid, int type)
{
    close_metric(s);
    s->pmid = pmid;
    s->type = type;
    s->nvals = 0;
    s->open = true;
}

static pmValueBlock *block(struct sample *s, int type, const void *data, size_t len)
{
    pmValueBlock *vb = chunk_alloc(s, PM_VAL_HDR_SIZE + len);
    if (!vb)
        return NULL;
    vb->vlen = (unsigned int)(PM_VAL_HDR_SIZE + len);
    vb->vtype = (unsigned int)type;
    memcpy(vb->vbuf, data, len);
    return vb;
}

void sample_value(struct sample *s, int inst, const pmAtomValue *v)
{
    if (!s->open || !grow((void **)&s->vals, &s->capvals, s->nvals + 1, sizeof(*s->vals))) {
        s->nomem = true;
        return;
    }
    pmValue *pv = &s->vals[s->nvals];
    pv->inst = inst;
    switch (s->type) {
    case PM_TYPE_32: pv->value.lval = v->l; break;
    case PM_TYPE_U32: pv->value.lval = (int)v->ul; break;
    case PM_TYPE_64: case PM_TYPE_U64: pv->value.pval = block(s, s->type, &v->ull, 8); break;
    case PM_TYPE_DOUBLE: pv->value.pval = block(s, s->type, &v->d, 8); break;
    case PM_TYPE_STRING: pv->value.pval = block(s, s->type, v->cp, strlen(v->cp) + 1); break;
    default: return;
    }
    if (s->type != PM_TYPE_32 && s->type != PM_TYPE_U32 && !pv->value.pval) {
        s->nomem = true;
        return;
    }
    s->nvals++;
}

static void empty(struct sample *s)
{
    for (int i = 0; i < s->nvsets; i++)
        free(s->vsets[i]);
    s->nvsets = 0;
    s->nvals = 0;
    s->open = false;
    while (s->chunks) {
        struct sample_chunk *c = s->chunks;
        s->chunks = c->next;
        free(c);
    }
}

int sample_write(struct sample *s, uint64_t ts_us)
{
    close_metric(s);
    int sts = -ENOMEM;
    pmResult *r = s->nomem ? NULL
                           : malloc(sizeof(*r) + (size_t)(s->nvsets ? s->nvsets - 1 : 0) * sizeof(pmValueSet *));
    if (r) {
        r->timestamp.tv_sec = (time_t)(ts_us / 1000000);
        r->timestamp.tv_usec = (suseconds_t)(ts_us % 1000000);
        r->numpmid = s->nvsets;
        if (s->nvsets)
            memcpy(r->vset, s->vsets, (size_t)s->nvsets * sizeof(pmValueSet *));
        sts = pmiPutResult(r);
        free(r);
    }
    s->nomem = false;
    empty(s);
    return sts;
}

void sample_free(struct sample *s)
{
    empty(s);
    free(s->vsets);
    free(s->vals);
    memset(s, 0, sizeof(*s));
}

/*
 * result.c - an archive sample as a pmResult (see result.h).
 */
#include "result.h"

#include <errno.h>
#include <pcp/import.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static int grow(void **p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap * 2 : 256;
    while (n < need)
        n *= 2;
    void *q = realloc(*p, n * size);
    if (!q)
        return -1;
    *p = q;
    *cap = n;
    return 0;
}

/* Values that do not fit 32 bits go in a value block */
static bool in_block(int type)
{
    return type == PM_TYPE_U64 || type == PM_TYPE_DOUBLE || type == PM_TYPE_STRING;
}

static pmValueBlock *block(int type, const void *data, size_t len)
{
    size_t size = PM_VAL_HDR_SIZE + len;
    pmValueBlock *b = malloc(size < sizeof(*b) ? sizeof(*b) : size);
    if (!b)
        return NULL;
    b->vtype = (unsigned)type;
    b->vlen = (unsigned)size;
    memcpy(b->vbuf, data, len);
    return b;
}

void sample_metric(struct sample *s, pmID pmid, int type)
{
    if (grow((void **)&s->sets, &s->setcap, s->nsets + 1, sizeof(*s->sets)) < 0) {
        s->failed = 1;
        return;
    }
    s->sets[s->nsets++] = (struct sample_set){ pmid, type, s->nvals, 0 };
}

void sample_value(struct sample *s, int inst, const pmAtomValue *v)
{
    pmValue pv;
    if (!s->nsets || s->failed || grow((void **)&s->vals, &s->valcap, s->nvals + 1, sizeof(*s->vals)) < 0) {
        s->failed = 1;
        return;
    }
    int type = s->sets[s->nsets - 1].type;
    pv.inst = inst;
    switch (type) {
    case PM_TYPE_U32: pv.value.lval = (int)v->ul; break;
    case PM_TYPE_32: pv.value.lval = v->l; break;
    case PM_TYPE_U64: pv.value.pval = block(type, &v->ull, sizeof(v->ull)); break;
    case PM_TYPE_DOUBLE: pv.value.pval = block(type, &v->d, sizeof(v->d)); break;
    case PM_TYPE_STRING: pv.value.pval = block(type, v->cp, strlen(v->cp) + 1); break;
    default: return;
    }
    if (in_block(type) && !pv.value.pval) {
        s->failed = 1;
        return;
    }
    s->vals[s->nvals++] = pv;
    s->sets[s->nsets - 1].n++;
}

int sample_write(struct sample *s, uint64_t ts_us)
{
    int sts = s->failed ? -ENOMEM : 0;
    pmResult *r = NULL;
    if (sts == 0) {
        r = calloc(1, sizeof(*r) + (s->nsets + 1) * sizeof(pmValueSet *));
        if (!r)
            sts = -ENOMEM;
    }
    for (size_t i = 0; r && sts == 0 && i < s->nsets; i++) {
        const struct sample_set *set = &s->sets[i];
        if (!set->n)
            continue;
        pmValueSet *vs = malloc(sizeof(*vs) + set->n * sizeof(pmValue));
        if (!vs) {
            sts = -ENOMEM;
            break;
        }
        vs->pmid = set->pmid;
        vs->numval = (int)set->n;
        vs->valfmt = in_block(set->type) ? PM_VAL_DPTR : PM_VAL_INSITU;
        memcpy(vs->vlist, &s->vals[set->first], set->n * sizeof(pmValue));
        r->vset[r->numpmid++] = vs;
    }
    if (r) {
        r->timestamp.tv_sec = (time_t)(ts_us / 1000000);
        r->timestamp.tv_usec = (suseconds_t)(ts_us % 1000000);
        if (sts == 0 && r->numpmid > 0)
            sts = pmiPutResult(r);
        for (int i = 0; i < r->numpmid; i++)
            free(r->vset[i]);
        free(r);
    }
    /* the value blocks belong to the sample, whatever happened */
    for (size_t i = 0; i < s->nsets; i++)
        if (in_block(s->sets[i].type))
            for (size_t k = 0; k < s->sets[i].n; k++)
                free(s->vals[s->sets[i].first + k].value.pval);
    s->nsets = s->nvals = 0;
    s->failed = 0;
    return sts;
}

void sample_free(struct sample *s)
{
    free(s->sets);
    free(s->vals);
    memset(s, 0, sizeof(*s));
}

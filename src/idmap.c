/*
 * idmap.c - open-addressing id maps with linear probing (see idmap.h).
 */
#include "idmap.h"

#include <stdlib.h>

static size_t slot_of(uint32_t id, size_t size)
{
    return (size_t)((id * 2654435761u) ^ (id >> 16)) & (size - 1);
}

void *idmap_get(const struct idmap *m, uint32_t id)
{
    if (!m->size)
        return NULL;
    for (size_t i = slot_of(id, m->size), n = 0; n < m->size; i = (i + 1) & (m->size - 1), n++) {
        const struct idmap_slot *s = &m->slots[i];
        if (s->used == 0)
            return NULL;
        if (s->used == 1 && s->id == id)
            return s->val;
    }
    return NULL;
}

static int rehash(struct idmap *m, size_t size)
{
    struct idmap_slot *old = m->slots;
    size_t oldsize = m->size;
    struct idmap_slot *s = calloc(size, sizeof(*s));
    if (!s)
        return -1;
    m->slots = s;
    m->size = size;
    m->count = m->tomb = 0;
    for (size_t i = 0; i < oldsize; i++)
        if (old[i].used == 1)
            idmap_put(m, old[i].id, old[i].val);
    free(old);
    return 0;
}

size_t idmap_size_after_put(const struct idmap *m)
{
    if ((m->count + m->tomb + 1) * 4 <= m->size * 3)
        return m->size;
    size_t size = m->size ? m->size : 8;
    while ((m->count + 1) * 2 > size)
        size *= 2;
    return size;
}

int idmap_put(struct idmap *m, uint32_t id, void *val)
{
    /* full of entries and tombstones: rehash, growing when needed */
    if ((m->count + m->tomb + 1) * 4 > m->size * 3 && rehash(m, idmap_size_after_put(m)) < 0)
        return -1;
    size_t tomb = (size_t)-1;
    for (size_t i = slot_of(id, m->size);; i = (i + 1) & (m->size - 1)) {
        struct idmap_slot *s = &m->slots[i];
        if (s->used == 1 && s->id == id) {
            s->val = val;
            return 0;
        }
        if (s->used == 2 && tomb == (size_t)-1)
            tomb = i;
        if (s->used == 0) {
            if (tomb != (size_t)-1) {
                s = &m->slots[tomb];
                m->tomb--;
            }
            s->id = id;
            s->used = 1;
            s->val = val;
            m->count++;
            return 0;
        }
    }
}

void *idmap_del(struct idmap *m, uint32_t id)
{
    if (!m->size)
        return NULL;
    for (size_t i = slot_of(id, m->size), n = 0; n < m->size; i = (i + 1) & (m->size - 1), n++) {
        struct idmap_slot *s = &m->slots[i];
        if (s->used == 0)
            return NULL;
        if (s->used == 1 && s->id == id) {
            void *v = s->val;
            s->used = 2;
            s->val = NULL;
            m->count--;
            m->tomb++;
            return v;
        }
    }
    return NULL;
}

void idmap_free(struct idmap *m)
{
    free(m->slots);
    m->slots = NULL;
    m->size = m->count = m->tomb = 0;
}

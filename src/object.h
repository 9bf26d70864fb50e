/*
 * object.h - what servers, PVs and clients have in common: the header that
 * puts them in the model's bounded tables.
 *
 * Each of struct server, struct pv and struct client starts with
 * OBJECT_HEADER: the table node, the kind and protocol, what keeps the
 * object from being evicted or expired (refs), when it was last used, the
 * exporter's instance id and where its name is. objects.c finds, creates,
 * evicts and expires every kind through this header alone; exporters reach
 * the id and the name without asking which kind an object is.
 *
 * The header is an anonymous union of a struct object (`s->obj`, to pass
 * the header on) and the same fields unnamed (`s->node`, `pv->refs`), so
 * that code written for one kind keeps reading its fields by their names.
 * Both are the same fields at offset 0: a pointer to a server, PV or client
 * is a pointer to its struct object.
 */
#ifndef EPICS_OBJECT_H
#define EPICS_OBJECT_H

#include "table.h"

#include <stdint.h>

enum obj_kind { OBJ_SERVER = 0, OBJ_PV, OBJ_CLIENT, OBJ_KINDS };

/* 56 bytes with the node: what a PV had before the header, no more */
#define OBJECT_FIELDS \
    struct tnode node;          /* in the model's table of its kind and protocol */ \
    uint8_t kind;               /* enum obj_kind */ \
    uint16_t proto; \
    int ext_id;                 /* the exporter's instance id, -1 none */ \
    uint32_t refs;              /* circuits (server, client), channels and searches (PV) */ \
    uint16_t name_off;          /* of the name, from the start of the object */ \
    uint64_t last_us;

struct object {
    OBJECT_FIELDS
};

#define OBJECT_HEADER union { struct object obj; struct { OBJECT_FIELDS }; }

static inline const char *object_name(const void *obj)
{
    const struct object *o = obj;
    return (const char *)o + o->name_off;
}

static inline struct object *object_of(struct tnode *n)
{
    return container_of(n, struct object, node);
}

#endif

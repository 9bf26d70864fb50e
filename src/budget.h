/*
 * budget.h - one byte budget for every buffer that traffic can make grow:
 * TCP reassembly queues, partial messages, pvAccess segmented messages and
 * type caches, over all circuits. Per-circuit caps alone would still let
 * thousands of hostile circuits take gigabytes; with the budget spent,
 * growth is refused (a stream gap, a message not decoded) and counted.
 */
#ifndef EPICS_BUDGET_H
#define EPICS_BUDGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mem_budget {
    size_t used, max;           /* max 0: no limit */
    uint64_t refused;           /* growths refused */
};

/* Takes n bytes; false (and counted) when they do not fit. NULL: no budget */
static inline bool budget_take(struct mem_budget *b, size_t n)
{
    if (!b)
        return true;
    if (b->max && (n > b->max || b->used > b->max - n)) {
        b->refused++;
        return false;
    }
    b->used += n;
    return true;
}

/* Takes n bytes already spent (they cannot be refused): later takes see them */
static inline void budget_force(struct mem_budget *b, size_t n)
{
    if (b)
        b->used += n;
}

static inline void budget_give(struct mem_budget *b, size_t n)
{
    if (b)
        b->used = n < b->used ? b->used - n : 0;
}

#endif

/*
 * netbuild.h - unit-test helpers around the frame builder of frames.h:
 * freeing an engine with a check that it gave back every buffer, lookups
 * that change nothing, and pseudo-random numbers. Frames, link layers and
 * TCP connections are built in frames.c; what is here needs the check
 * library or looks into the model, which the benchmark does not.
 */
#ifndef EPICS_TEST_NETBUILD_H
#define EPICS_TEST_NETBUILD_H

#include "frames.h"

#include <stdint.h>

/* Frees an engine of nb_engine(), asserting every buffer charged to the
 * budget was given back */
void nb_engine_free(struct engine *e);

/* Lookups that change nothing (no recency update, nothing created) */
struct pv *nb_pv(struct engine *e, int proto, const char *name);
struct server *nb_server(struct engine *e, int proto, uint32_t addr, uint16_t port);
struct client *nb_client(struct engine *e, int proto, uint32_t addr);

/* Deterministic pseudo-random numbers (xorshift64*) for the fuzz tests */
uint32_t nb_rand(uint64_t *state);

#endif

/*
 * fuzz_common.h - what the libFuzzer targets share: an engine with small
 * tables (so that eviction and refusal paths run too), and frames handed to
 * it in heap blocks of exactly their captured length, so that AddressSanitizer
 * sees any read past the end.
 */
#ifndef EPICS_FUZZ_COMMON_H
#define EPICS_FUZZ_COMMON_H

#include "engine.h"

#include <stddef.h>
#include <stdint.h>

#define FUZZ_T0 1700000000000000ULL

struct engine *fuzz_engine(void);
void fuzz_engine_end(struct engine *e);
/* engine_frame() on an exact-size heap copy of n bytes */
void fuzz_feed(struct engine *e, int dlt, uint64_t ts, const uint8_t *frame, size_t n);

/* Reads the input: a record header of hlen bytes followed by a big-endian
 * u16 length at offset hlen - 2; returns the body or NULL at the end */
const uint8_t *fuzz_record(const uint8_t **p, size_t *left, uint8_t *hdr, size_t hlen, size_t *len);

#endif

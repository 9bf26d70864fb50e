/*
 * fuzz_common.c - engine and frame feeding for the fuzz targets (see fuzz_common.h).
 */
#include "fuzz_common.h"

#include <stdlib.h>
#include <string.h>

struct engine *fuzz_engine(void)
{
    struct engine_config cfg;
    engine_default_config(&cfg);
    cfg.lim.max_pvs = 64;
    cfg.lim.max_servers = 8;
    cfg.lim.max_clients = 8;
    cfg.lim.max_searches = 32;
    cfg.lim.max_channels_per_circuit = 64;
    cfg.lim.max_requests_per_circuit = 64;
    cfg.lim.max_channels = 256;
    cfg.lim.max_requests = 256;
    cfg.lim.max_buffer_bytes = 4 << 20;
    cfg.max_flows = 16;
    struct engine *e = calloc(1, sizeof(*e));
    if (e)
        engine_init(e, &cfg, NULL);
    return e;
}

void fuzz_engine_end(struct engine *e)
{
    engine_finish(e);
    engine_free(e);
    free(e);
}

void fuzz_feed(struct engine *e, int dlt, uint64_t ts, const uint8_t *frame, size_t n)
{
    uint8_t *copy = malloc(n ? n : 1);
    if (!copy)
        return;
    if (n)
        memcpy(copy, frame, n);
    engine_frame(e, dlt, ts, copy, (uint32_t)n, (uint32_t)n);
    free(copy);
}

const uint8_t *fuzz_record(const uint8_t **p, size_t *left, uint8_t *hdr, size_t hlen, size_t *len)
{
    if (*left < hlen)
        return NULL;
    memcpy(hdr, *p, hlen);
    size_t n = (size_t)hdr[hlen - 2] << 8 | hdr[hlen - 1];
    *p += hlen;
    *left -= hlen;
    if (n > *left)
        n = *left;
    const uint8_t *body = *p;
    *p += n;
    *left -= n;
    *len = n;
    return body;
}

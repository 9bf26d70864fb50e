/*
 * pva.c - pvAccess decoder.
 *
 * Header (pvxs src/pvaproto.h), 8 bytes:
 *   0 uint8  magic 0xCA
 *   1 uint8  version
 *   2 uint8  flags: 0x01 control, 0x30 segmentation, 0x40 from server,
 *                   0x80 big-endian
 *   3 uint8  command
 *   4 uint32 payload size in the byte order of the flags (for control
 *            messages: a value, no payload follows)
 *
 * This file frames the TCP stream so that circuit byte counters, stream gaps
 * and resynchronisation work for pvAccess; decoding of the messages
 * themselves is still to come.
 */
#include "pva.h"
#include "wire.h"

#define PVA_MAGIC 0xca
#define PVA_FLAG_CONTROL 0x01
#define PVA_FLAG_BIG_ENDIAN 0x80
#define PVA_MAX_PAYLOAD (1ULL << 31)

static long long pva_msg_len(void *ctx, int dir, const uint8_t *p, size_t have)
{
    (void)ctx;
    (void)dir;
    if (have < 1)
        return 0;
    if (p[0] != PVA_MAGIC)
        return -1;
    if (have < 8)
        return 0;
    if (p[2] & PVA_FLAG_CONTROL)
        return 8;
    uint32_t size = wire_get32(p + 4, (p[2] & PVA_FLAG_BIG_ENDIAN) != 0);
    if (size > PVA_MAX_PAYLOAD)
        return -1;
    return 8 + (long long)size;
}

static void pva_message(void *ctx, int dir, const uint8_t *p, size_t have, uint64_t total,
                        uint64_t ts)
{
    (void)dir; (void)p; (void)have; (void)total;
    struct circuit *c = ctx;
    c->model->ps[PROTO_PVA].messages++;
    if (c->model->now_us < ts)
        c->model->now_us = ts;
}

static void pva_gap(void *ctx, int dir)
{
    (void)dir;
    struct circuit *c = ctx;
    c->model->health.stream_gaps++;
}

static void pva_bytes(void *ctx, int dir, size_t len)
{
    struct circuit *c = ctx;
    model_circuit_bytes(c->model, c, dir, len);
}

const struct stream_ops pva_stream_ops = {
    .msg_len = pva_msg_len,
    .message = pva_message,
    .gap = pva_gap,
    .bytes = pva_bytes,
};

void pva_datagram(struct model *m, const struct pva_config *cfg, const struct packet *pkt)
{
    (void)cfg;
    if (pkt->caplen < 8 || pkt->payload[0] != PVA_MAGIC) {
        model_bad_input(m, "PVA datagram without a pvAccess header");
        return;
    }
    m->ps[PROTO_PVA].messages++;
}

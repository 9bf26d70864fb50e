/*
 * recognise.c - EPICS traffic recognised by its content (see recognise.h).
 *
 * CA (epics-base caProto.h): 16-byte big-endian headers, command, payload
 * size, data type, count, two parameters; UDP payloads are padded to 8
 * bytes and never use the extended header. Commands on UDP: VERSION (0,
 * leads every client datagram and every reply), SEARCH (6: a request has
 * data type DOREPLY or DONTREPLY, a reply the server's TCP port),
 * RSRV_IS_UP (13, beacon), NOT_FOUND (14), REPEATER_CONFIRM (17),
 * REPEATER_REGISTER (24).
 *
 * PVA (pvxs pvaproto.h): 8-byte headers, magic 0xCA, version, flags (bit 0
 * control, bits 4-5 segmentation, bit 6 from the server, bit 7 big-endian),
 * command, 32-bit payload size in the flagged byte order. On UDP: BEACON 0,
 * SEARCH 3, SEARCH_RESPONSE 4, ORIGIN_TAG 22, never control or segmented.
 * A server opens a circuit with the control message SET_BYTE_ORDER (2) and
 * then CONNECTION_VALIDATION (1).
 */
#include "recognise.h"
#include "ca.h"
#include "model.h"
#include "pva.h"
#include "wire.h"

/* Messages must tile the datagram; when it was cut by the snapshot length
 * the last one may run past what was captured */
static bool tiles(size_t off, size_t caplen, size_t len)
{
    return caplen == len ? off == len : off >= caplen && off <= len;
}

static int ca_datagram_kind(const uint8_t *p, size_t caplen, size_t len, unsigned *holds)
{
    size_t off = 0;
    unsigned h = 0;
    while (off + CA_HEADER_LEN <= caplen) {
        struct wire_rd m = wire_init(p + off, caplen - off, true);
        uint16_t cmd = wire_u16(&m), size = wire_u16(&m), dtype = wire_u16(&m);
        if (size % 8 != 0)              /* also rules out the extended header */
            return -1;
        switch (cmd) {
        case CA_VERSION:
            if (size != 0)
                return -1;
            break;
        case CA_SEARCH:
            if (size == 0)
                return -1;
            h |= dtype == CA_DOREPLY || dtype == CA_DONTREPLY ? HOLDS_SEARCH : HOLDS_REPLY;
            break;
        case CA_NOT_FOUND:
            h |= HOLDS_REPLY;
            break;
        case CA_RSRV_IS_UP:
            if (size != 0)
                return -1;
            h |= HOLDS_BEACON;
            break;
        case CA_REPEATER_CONFIRM:
            h |= HOLDS_CONFIRM;
            break;
        case CA_REPEATER_REGISTER:
            h |= HOLDS_REGISTER;
            break;
        default:
            return -1;
        }
        off += CA_HEADER_LEN + size;
    }
    if (off < caplen || h == 0 || !tiles(off, caplen, len))
        return -1;                      /* a stray tail, or only VERSION messages */
    *holds = h;
    return PROTO_CA;
}

static int pva_datagram_kind(const uint8_t *p, size_t caplen, size_t len, unsigned *holds)
{
    size_t off = 0;
    unsigned h = 0;
    while (off + PVA_HEADER_LEN <= caplen) {
        struct wire_rd m = wire_init(p + off, caplen - off, false);
        uint8_t magic = wire_u8(&m), version = wire_u8(&m), flags = wire_u8(&m), cmd = wire_u8(&m);
        if (magic != PVA_MAGIC || version == 0 || (flags & (PVA_FLAG_CONTROL | PVA_SEG_MASK)))
            return -1;
        m.big_endian = flags & PVA_FLAG_BIG_ENDIAN;
        uint32_t size = wire_u32(&m);
        if (size > len)
            return -1;
        switch (cmd) {
        case PVA_CMD_SEARCH:
            h |= HOLDS_SEARCH;
            break;
        case PVA_CMD_SEARCH_RESPONSE:
            h |= HOLDS_REPLY;
            break;
        case PVA_CMD_BEACON:
            h |= HOLDS_BEACON;
            break;
        case PVA_CMD_ORIGIN_TAG:
            break;
        default:
            return -1;
        }
        off += PVA_HEADER_LEN + size;
    }
    if (off < caplen || h == 0 || !tiles(off, caplen, len))
        return -1;
    *holds = h;
    return PROTO_PVA;
}

int recognise_datagram(const uint8_t *p, size_t caplen, size_t len, unsigned *holds)
{
    struct wire_rd r = wire_init(p, caplen, false);
    *holds = 0;
    if (caplen >= PVA_HEADER_LEN && wire_u8(&r) == PVA_MAGIC)
        return pva_datagram_kind(p, caplen, len, holds);
    if (caplen >= CA_HEADER_LEN)
        return ca_datagram_kind(p, caplen, len, holds);
    return -1;
}

/* A CA VERSION message as circuits open: no payload, a priority (0-99,
 * 0 from servers), a minor version, no second parameter (the first is a
 * sequence number or 0) */
static bool ca_version(struct wire_rd m)
{
    uint16_t cmd = wire_u16(&m), size = wire_u16(&m), priority = wire_u16(&m), minor = wire_u16(&m);
    wire_skip(&m, 4);
    uint32_t p2 = wire_u32(&m);
    return !m.err && cmd == CA_VERSION && size == 0 && priority <= 99 && minor != 0 && minor < 100
           && p2 == 0;
}

static bool pva_header_is(struct wire_rd m, uint8_t flags_mask, uint8_t flags, uint8_t cmd)
{
    uint8_t magic = wire_u8(&m), version = wire_u8(&m), f = wire_u8(&m), c = wire_u8(&m);
    return !m.err && magic == PVA_MAGIC && version != 0 && (f & flags_mask) == flags && c == cmd;
}

int recognise_circuit_start(const uint8_t *p, size_t caplen, int *side)
{
    struct wire_rd r = wire_init(p, caplen, true), second = r;
    wire_skip(&second, PVA_HEADER_LEN);
    *side = -1;
    const uint8_t side_flags = PVA_FLAG_CONTROL | PVA_FLAG_SERVER;
    if (caplen >= PVA_HEADER_LEN
        && pva_header_is(r, side_flags, PVA_FLAG_CONTROL | PVA_FLAG_SERVER, PVA_CTRL_SET_BYTE_ORDER)) {
        if (caplen >= 2 * PVA_HEADER_LEN
            && !pva_header_is(second, side_flags, PVA_FLAG_SERVER, PVA_CMD_CONNECTION_VALIDATION))
            return -1;
        *side = 1;
        return PROTO_PVA;
    }
    if (caplen >= CA_HEADER_LEN && ca_version(r)) {
        if (caplen >= 2 * CA_HEADER_LEN) {
            wire_skip(&r, CA_HEADER_LEN);
            uint16_t next = wire_u16(&r);
            if (next == CA_CLIENT_NAME || next == CA_HOST_NAME)
                *side = 0;
        }
        return PROTO_CA;
    }
    return -1;
}

/*
 * fuzz_frames.c - libFuzzer target: whole frames of every link type the
 * engine reads (packet.c), through IPv4 or IPv6, UDP and TCP into both
 * decoders.
 *
 * Input: records [u8 link][u8 time step][u16 length, big-endian][bytes].
 * Bits 0-2 of link pick the link type: 0 Ethernet, 1 Linux cooked v1,
 * 2 Linux cooked v2, 3 NULL, 4 LOOP, 5 RAW, 6 Ethernet with one 802.1Q tag,
 * 7 Ethernet with 802.1ad and 802.1Q tags; the target writes that header in
 * front of the bytes (an IP packet; the link says IPv6 when its version
 * nibble does, IPv4 otherwise), or, with bit 3 set, hands the bytes over
 * as the whole frame. Bit 4 makes the captured length shorter than the
 * frame. The time step advances the clock by 0, 1 ms or 11 s (timeouts and
 * expiry run too). fuzz/seeds.py makes such inputs from capture files.
 */
#include "fuzz_common.h"
#include "netbuild.h"

#include <pcap/dlt.h>
#include <stdlib.h>
#include <string.h>

static const struct nb_link links[8] = {
    { DLT_EN10MB, 0, false, 0 }, { DLT_LINUX_SLL, 0, false, 0 }, { DLT_LINUX_SLL2, 0, false, 0 },
    { DLT_NULL, 0, false, 0 }, { DLT_LOOP, 0, false, 0 }, { DLT_RAW, 0, false, 0 },
    { DLT_EN10MB, 1, false, 0 }, { DLT_EN10MB, 2, false, 0 },
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t frame[65536 + 64];
    struct engine *e = fuzz_engine();
    uint64_t ts = FUZZ_T0;
    uint8_t hdr[4];
    size_t n;
    const uint8_t *body;
    while ((body = fuzz_record(&data, &size, hdr, sizeof(hdr), &n))) {
        struct nb_link link = links[hdr[0] & 7];
        if (n > 0 && body[0] >> 4 == 6)
            link.ethertype = 0x86dd;
        const struct nb_link *l = &link;
        static const uint64_t steps[4] = { 0, 1000, 11000000, 100 };
        ts += steps[hdr[1] & 3];
        size_t off = (hdr[0] & 8) ? 0 : nb_link_header(frame, l);
        memcpy(frame + off, body, n);
        size_t len = off + n;
        size_t caplen = (hdr[0] & 16) && len ? len - 1 - hdr[1] % len : len;
        uint8_t *copy = malloc(caplen ? caplen : 1);
        if (!copy)
            break;
        memcpy(copy, frame, caplen);
        engine_frame(e, l->dlt, ts, copy, (uint32_t)caplen, (uint32_t)len);
        free(copy);
        if (hdr[1] & 4)
            engine_tick(e, ts);
    }
    fuzz_engine_end(e);
    return 0;
}

/*
 * fuzz_circuit.c - libFuzzer target: the TCP payload of one Channel Access
 * or pvAccess circuit, both directions, after a real handshake, so that the
 * bytes reach stream.c's reassembly and framing and the decoder's circuit
 * messages (ca.c, pva.c, pvdata.c) rather than the packet checks.
 *
 * Input: [u8 protocol: bit 0 CA (0) or PVA (1)] then records
 * [u8 direction][u16 length, big-endian][bytes]. Bit 0 of direction: 0
 * client to server, 1 server to client; bit 1: the segment is sent twice (a
 * retransmission); bit 2: it is split in two segments; bit 3: its bytes are
 * lost (a gap). fuzz/seeds.py makes such inputs from capture files.
 */
#include "fuzz_common.h"
#include "netbuild.h"

#include <stdlib.h>
#include <string.h>

#define CLIENT IP(10, 0, 0, 1)
#define SERVER IP(10, 0, 0, 2)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    struct engine *e = fuzz_engine();
    struct nb_conn c;
    nb_conn_init(&c, e, CLIENT, 40000, SERVER, (data[0] & 1) ? 5075 : 5064, FUZZ_T0);
    nb_conn_handshake(&c);
    data++;
    size--;
    uint8_t hdr[3];
    size_t n;
    const uint8_t *body;
    while ((body = fuzz_record(&data, &size, hdr, sizeof(hdr), &n))) {
        int dir = hdr[0] & 1;
        if (hdr[0] & 8) {
            nb_conn_lose(&c, dir, n);
            continue;
        }
        if (hdr[0] & 2)
            nb_conn_segment(&c, dir, c.seq[dir], c.seq[!dir], TCP_ACK, body, n);
        if ((hdr[0] & 4) && n > 1)
            nb_conn_send_split(&c, dir, body, n, n / 2);
        else
            nb_conn_send(&c, dir, body, n);
    }
    nb_conn_fin(&c, 0);
    nb_conn_fin(&c, 1);
    fuzz_engine_end(e);
    return 0;
}

/*
 * test_tcphealth.c - the TCP health of a server's circuits through
 * engine_frame(): handshake time (SYN retransmitted, SYN not captured),
 * retransmissions against hole fills, overlaps, keep-alives, pure ACKs and
 * FIN, bytes cut by the snapshot length, zero windows of each side, resets.
 * The rules are those of src/tcphealth.h.
 */
#include "netbuild.h"
#include "suites.h"

#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>

#define SRV IP(10, 0, 0, 1)
#define CLI IP(10, 0, 0, 2)
#define T0 1700000000000000ULL

static struct buf m;

/* n ECHO messages (16 bytes each): payload the CA decoder accepts */
static const uint8_t *echoes(int n)
{
    m.len = 0;
    for (int i = 0; i < n; i++)
        ca_msg(&m, CA_CMD_ECHO, 0, 0, 0, 0, 0, NULL, 0);
    return m.data;
}

/* One segment at time ts with the given receive window; caplen bytes of the
 * payload captured (the rest cut as by a snapshot length) */
static void segment_at(struct nb_conn *c, int dir, uint64_t ts, uint32_t seq, uint32_t ack,
                       uint8_t flags, uint16_t window, const void *p, size_t n, size_t caplen)
{
    uint8_t *f = malloc(n + 128);
    size_t len = dir == 0
        ? nb_tcp(f, &c->link, c->caddr, c->cport, c->saddr, c->sport, seq, ack, flags, p, n)
        : nb_tcp(f, &c->link, c->saddr, c->sport, c->caddr, c->cport, seq, ack, flags, p, n);
    uint8_t *tcp = f + len - n - 20;
    tcp[14] = (uint8_t)(window >> 8);
    tcp[15] = (uint8_t)window;
    c->ts = ts;
    nb_feed(c->e, c->link.dlt, ts, f, len - (n - caplen), len);
    free(f);
}

/* A segment 100 us after the previous one, window 65535, all captured */
static void seg(struct nb_conn *c, int dir, uint32_t seq, uint8_t flags, const void *p, size_t n)
{
    segment_at(c, dir, c->ts + 100, seq, c->seq[!dir], flags, 65535, p, n, n);
}

struct fixture {
    struct engine *e;
    struct nb_conn c;
};

static const struct tcp_health *health(struct fixture *f, uint16_t port)
{
    struct server *s = nb_server(f->e, port == 5064 ? PROTO_CA : PROTO_PVA, SRV, port);
    ck_assert_ptr_nonnull(s);
    return &s->tcp;
}

/* A circuit after its handshake (SYN at T0, completed 300 us later) */
static const struct tcp_health *opened(struct fixture *f, uint16_t port)
{
    f->e = nb_engine(NULL, NULL);
    nb_conn_init(&f->c, f->e, CLI, 40001, SRV, port, T0);
    segment_at(&f->c, 0, T0, f->c.seq[0], 0, TCP_SYN, 65535, NULL, 0, 0);
    f->c.seq[0]++;
    segment_at(&f->c, 1, T0 + 120, f->c.seq[1], f->c.seq[0], TCP_SYN | TCP_ACK, 65535, NULL, 0, 0);
    f->c.seq[1]++;
    segment_at(&f->c, 0, T0 + 300, f->c.seq[0], f->c.seq[1], TCP_ACK, 65535, NULL, 0, 0);
    return health(f, port);
}

START_TEST(handshake_from_first_syn_to_completing_ack)
{
    struct fixture f;
    const struct tcp_health *h = opened(&f, 5064);
    ck_assert_uint_eq(h->handshake_count, 1);
    ck_assert_uint_eq(h->handshake_sum_us, 300);
    ck_assert_uint_eq(h->handshake_max_us, 300);
    /* later ACKs of the same circuit add nothing */
    nb_conn_send(&f.c, 0, echoes(1), 16);
    nb_conn_send(&f.c, 1, echoes(1), 16);
    nb_conn_send(&f.c, 0, NULL, 0);
    ck_assert_uint_eq(h->handshake_count, 1);
    ck_assert_uint_eq(h->retransmits, 0);
    ck_assert_uint_eq(h->resets, 0);
    ck_assert_uint_eq(h->zero_windows[0] + h->zero_windows[1], 0);
    /* a second circuit adds its own handshake */
    struct nb_conn c2;
    nb_conn_init(&c2, f.e, CLI, 40002, SRV, 5064, T0 + 5000);
    segment_at(&c2, 0, T0 + 5000, c2.seq[0], 0, TCP_SYN, 65535, NULL, 0, 0);
    segment_at(&c2, 1, T0 + 5040, c2.seq[1], c2.seq[0] + 1, TCP_SYN | TCP_ACK, 65535, NULL, 0, 0);
    segment_at(&c2, 0, T0 + 5050, c2.seq[0] + 1, c2.seq[1] + 1, TCP_ACK, 65535, NULL, 0, 0);
    ck_assert_uint_eq(h->handshake_count, 2);
    ck_assert_uint_eq(h->handshake_sum_us, 350);
    ck_assert_uint_eq(h->handshake_max_us, 300);
    nb_engine_free(f.e);
}
END_TEST

START_TEST(handshake_with_syn_retransmitted)
{
    struct engine *e = nb_engine(NULL, NULL);
    struct nb_conn c;
    nb_conn_init(&c, e, CLI, 40001, SRV, 5075, T0);
    uint32_t isn = c.seq[0], sisn = c.seq[1];
    segment_at(&c, 0, T0, isn, 0, TCP_SYN, 65535, NULL, 0, 0);
    segment_at(&c, 0, T0 + 1000000, isn, 0, TCP_SYN, 65535, NULL, 0, 0);   /* resent */
    segment_at(&c, 1, T0 + 1000050, sisn, isn + 1, TCP_SYN | TCP_ACK, 65535, NULL, 0, 0);
    /* the server's SYN-ACK resent too, and the client's ACK of each */
    segment_at(&c, 1, T0 + 1000060, sisn, isn + 1, TCP_SYN | TCP_ACK, 65535, NULL, 0, 0);
    segment_at(&c, 0, T0 + 1000080, isn + 1, sisn + 1, TCP_ACK, 65535, NULL, 0, 0);
    segment_at(&c, 0, T0 + 1000090, isn + 1, sisn + 1, TCP_ACK, 65535, NULL, 0, 0);
    struct server *s = nb_server(e, PROTO_PVA, SRV, 5075);
    ck_assert_ptr_nonnull(s);
    ck_assert_uint_eq(s->tcp.handshake_count, 1);
    ck_assert_uint_eq(s->tcp.handshake_sum_us, 1000080);
    ck_assert_uint_eq(s->tcp.handshake_max_us, 1000080);
    /* SYNs are not retransmissions, nor are pure ACKs at the highest number */
    ck_assert_uint_eq(s->tcp.retransmits, 0);
    ck_assert_uint_eq(e->model.health.circuits, 1);
    nb_engine_free(e);
}
END_TEST

START_TEST(circuit_whose_syn_was_not_captured)
{
    struct engine *e = nb_engine(NULL, NULL);
    struct nb_conn c;
    nb_conn_init(&c, e, CLI, 40001, SRV, 5064, T0);
    /* joined mid-stream: the server's SYN-ACK and the client's ACK, then data */
    segment_at(&c, 1, T0 + 100, c.seq[1], c.seq[0], TCP_SYN | TCP_ACK, 65535, NULL, 0, 0);
    c.seq[1]++;
    segment_at(&c, 0, T0 + 200, c.seq[0], c.seq[1], TCP_ACK, 65535, NULL, 0, 0);
    nb_conn_send(&c, 0, echoes(1), 16);
    /* the first segment seen from a side is never a retransmission */
    nb_conn_send(&c, 1, echoes(1), 16);
    struct server *s = nb_server(e, PROTO_CA, SRV, 5064);
    ck_assert_ptr_nonnull(s);
    ck_assert_uint_eq(s->tcp.handshake_count, 0);
    ck_assert_uint_eq(s->tcp.handshake_sum_us, 0);
    ck_assert_uint_eq(s->tcp.retransmits, 0);
    ck_assert_uint_eq(s->circuits, 1);
    nb_engine_free(e);
}
END_TEST

START_TEST(resent_payload_and_overlaps)
{
    struct fixture f;
    const struct tcp_health *h = opened(&f, 5064);
    struct server *s = nb_server(f.e, PROTO_CA, SRV, 5064);
    uint64_t in0 = s->bytes_in;
    uint32_t s0 = f.c.seq[0];
    const uint8_t *p = echoes(4);
    seg(&f.c, 0, s0, TCP_ACK, p, 32);           /* new */
    seg(&f.c, 0, s0, TCP_ACK, p, 32);           /* the same again */
    ck_assert_uint_eq(h->retransmits, 1);
    seg(&f.c, 0, s0 + 16, TCP_ACK, p + 16, 16); /* part of it again */
    ck_assert_uint_eq(h->retransmits, 2);
    seg(&f.c, 0, s0 + 16, TCP_ACK, p + 16, 32); /* overlaps, brings 16 new bytes */
    ck_assert_uint_eq(h->retransmits, 2);
    seg(&f.c, 0, s0, TCP_ACK, p, 64);           /* overlaps, brings the last 16 */
    ck_assert_uint_eq(h->retransmits, 2);
    /* each byte counted once */
    ck_assert_uint_eq(s->bytes_in - in0, 64);
    /* the other side's numbers are its own */
    f.c.seq[0] = s0 + 64;
    nb_conn_send(&f.c, 1, echoes(1), 16);
    ck_assert_uint_eq(h->retransmits, 2);
    seg(&f.c, 1, f.c.seq[1] - 16, TCP_ACK, echoes(1), 16);
    ck_assert_uint_eq(h->retransmits, 3);
    ck_assert_uint_eq(f.e->model.health.stream_gaps, 0);
    nb_engine_free(f.e);
}
END_TEST

START_TEST(hole_filled_by_a_resent_segment)
{
    struct fixture f;
    const struct tcp_health *h = opened(&f, 5064);
    struct server *s = nb_server(f.e, PROTO_CA, SRV, 5064);
    uint64_t out0 = s->bytes_out;
    uint32_t s0 = f.c.seq[1];
    const uint8_t *p = echoes(3);
    seg(&f.c, 1, s0, TCP_ACK, p, 16);
    /* the second segment was lost before the capture point; the third arrives */
    seg(&f.c, 1, s0 + 32, TCP_ACK, p + 32, 16);
    ck_assert_uint_eq(h->retransmits, 0);
    /* the sender resends the lost one: below the highest number reached */
    seg(&f.c, 1, s0 + 16, TCP_ACK, p + 16, 16);
    ck_assert_uint_eq(h->retransmits, 1);
    ck_assert_uint_eq(s->bytes_out - out0, 48);
    ck_assert_uint_eq(f.e->model.health.stream_gaps, 0);
    nb_engine_free(f.e);
}
END_TEST

START_TEST(keepalives_and_pure_acks)
{
    struct fixture f;
    const struct tcp_health *h = opened(&f, 5064);
    nb_conn_send(&f.c, 0, echoes(1), 16);
    uint32_t next = f.c.seq[0];
    seg(&f.c, 0, next, TCP_ACK, NULL, 0);               /* pure ACK at the number */
    seg(&f.c, 0, next, TCP_ACK, NULL, 0);               /* and again: still not */
    ck_assert_uint_eq(h->retransmits, 0);
    seg(&f.c, 0, next - 1, TCP_ACK, NULL, 0);           /* keep-alive, no byte */
    ck_assert_uint_eq(h->retransmits, 1);
    seg(&f.c, 0, next - 1, TCP_ACK, m.data + 15, 1);    /* keep-alive, one old byte */
    ck_assert_uint_eq(h->retransmits, 2);
    /* a zero-window probe: one new byte is new */
    seg(&f.c, 1, f.c.seq[1], TCP_ACK, echoes(1), 1);
    ck_assert_uint_eq(h->retransmits, 2);
    /* the same probe again is old */
    seg(&f.c, 1, f.c.seq[1], TCP_ACK, echoes(1), 1);
    ck_assert_uint_eq(h->retransmits, 3);
    nb_engine_free(f.e);
}
END_TEST

START_TEST(fin_syn_and_rst_are_not_retransmissions)
{
    struct fixture f;
    const struct tcp_health *h = opened(&f, 5064);
    nb_conn_send(&f.c, 1, echoes(1), 16);
    uint32_t fin = f.c.seq[1];
    seg(&f.c, 1, fin, TCP_FIN | TCP_ACK, NULL, 0);
    seg(&f.c, 1, fin, TCP_FIN | TCP_ACK, NULL, 0);      /* FIN resent */
    ck_assert_uint_eq(h->retransmits, 0);
    /* the FIN took a number: an ACK after it is at the highest number */
    seg(&f.c, 1, fin + 1, TCP_ACK, NULL, 0);
    ck_assert_uint_eq(h->retransmits, 0);
    /* but an ACK at the FIN's own number is below what was reached */
    seg(&f.c, 1, fin, TCP_ACK, NULL, 0);
    ck_assert_uint_eq(h->retransmits, 1);
    /* an RST at an old number is a reset, not a retransmission */
    seg(&f.c, 0, f.c.seq[0] - 1, TCP_RST | TCP_ACK, NULL, 0);
    ck_assert_uint_eq(h->retransmits, 1);
    ck_assert_uint_eq(h->resets, 1);
    nb_engine_free(f.e);
}
END_TEST

START_TEST(bytes_cut_by_snaplen_count_as_reached)
{
    struct fixture f;
    const struct tcp_health *h = opened(&f, 5064);
    uint32_t s0 = f.c.seq[1];
    const uint8_t *p = echoes(2);
    /* 32 bytes on the wire, 20 captured; then the whole segment again */
    segment_at(&f.c, 1, f.c.ts + 100, s0, f.c.seq[0], TCP_ACK, 65535, p, 32, 20);
    ck_assert_uint_eq(f.e->model.health.truncated, 1);
    segment_at(&f.c, 1, f.c.ts + 100, s0, f.c.seq[0], TCP_ACK, 65535, p, 32, 32);
    ck_assert_uint_eq(h->retransmits, 1);
    /* the end of the cut segment was reached: a segment after it is new */
    segment_at(&f.c, 1, f.c.ts + 100, s0 + 32, f.c.seq[0], TCP_ACK, 65535, p, 16, 16);
    ck_assert_uint_eq(h->retransmits, 1);
    nb_engine_free(f.e);
}
END_TEST

START_TEST(zero_windows_of_each_side)
{
    struct fixture f;
    const struct tcp_health *h = opened(&f, 5075);
    /* the client stops reading: two ACKs with a zero window */
    segment_at(&f.c, 0, f.c.ts + 100, f.c.seq[0], f.c.seq[1], TCP_ACK, 0, NULL, 0, 0);
    segment_at(&f.c, 0, f.c.ts + 100, f.c.seq[0], f.c.seq[1], TCP_ACK, 0, NULL, 0, 0);
    ck_assert_uint_eq(h->zero_windows[0], 2);
    ck_assert_uint_eq(h->zero_windows[1], 0);
    /* the server too, once, on a segment with data */
    segment_at(&f.c, 1, f.c.ts + 100, f.c.seq[1], f.c.seq[0], TCP_ACK, 0, echoes(1), 8, 8);
    ck_assert_uint_eq(h->zero_windows[1], 1);
    ck_assert_uint_eq(h->zero_windows[0], 2);
    /* a window that opens again is not counted */
    segment_at(&f.c, 0, f.c.ts + 100, f.c.seq[0], f.c.seq[1], TCP_ACK, 1, NULL, 0, 0);
    ck_assert_uint_eq(h->zero_windows[0], 2);
    /* neither is an RST with a zero window (nor a SYN, below) */
    segment_at(&f.c, 1, f.c.ts + 100, f.c.seq[1] + 8, 0, TCP_RST, 0, NULL, 0, 0);
    ck_assert_uint_eq(h->zero_windows[1], 1);
    ck_assert_uint_eq(h->resets, 1);
    struct nb_conn c2;
    nb_conn_init(&c2, f.e, CLI, 40002, SRV, 5075, f.c.ts + 1000);
    segment_at(&c2, 0, c2.ts, c2.seq[0], 0, TCP_SYN, 0, NULL, 0, 0);
    segment_at(&c2, 1, c2.ts + 10, c2.seq[1], c2.seq[0] + 1, TCP_SYN | TCP_ACK, 0, NULL, 0, 0);
    ck_assert_uint_eq(h->zero_windows[0], 2);
    ck_assert_uint_eq(h->zero_windows[1], 1);
    nb_engine_free(f.e);
}
END_TEST

START_TEST(resets_either_direction_close_the_circuit)
{
    struct fixture f;
    const struct tcp_health *h = opened(&f, 5064);
    struct server *s = nb_server(f.e, PROTO_CA, SRV, 5064);
    nb_conn_send(&f.c, 0, echoes(1), 16);
    seg(&f.c, 1, f.c.seq[1], TCP_RST | TCP_ACK, NULL, 0);
    ck_assert_uint_eq(h->resets, 1);
    ck_assert_uint_eq(s->circuits, 0);
    /* an RST for a circuit no longer followed counts nothing */
    seg(&f.c, 0, f.c.seq[0], TCP_RST, NULL, 0);
    ck_assert_uint_eq(h->resets, 1);
    /* a new circuit, reset by the client */
    struct nb_conn c2;
    nb_conn_init(&c2, f.e, CLI, 40002, SRV, 5064, f.c.ts + 1000);
    nb_conn_handshake(&c2);
    nb_conn_segment(&c2, 0, c2.seq[0], c2.seq[1], TCP_RST | TCP_ACK, NULL, 0);
    ck_assert_uint_eq(h->resets, 2);
    ck_assert_uint_eq(h->handshake_count, 2);
    ck_assert_uint_eq(h->retransmits, 0);
    nb_engine_free(f.e);
}
END_TEST

START_TEST(sequence_numbers_wrap)
{
    struct fixture f;
    const struct tcp_health *h = opened(&f, 5064);
    /* the server's numbers start just below 2^32 (nb_conn_init) */
    const uint8_t *p = echoes(300);
    for (int i = 0; i < 300; i++)
        nb_conn_send(&f.c, 1, p + 16 * i, 16);
    ck_assert_uint_lt(f.c.seq[1], 0x10000u);
    ck_assert_uint_eq(h->retransmits, 0);
    seg(&f.c, 1, f.c.seq[1] - 4800, TCP_ACK, p, 16);    /* from before the wrap */
    ck_assert_uint_eq(h->retransmits, 1);
    nb_engine_free(f.e);
}
END_TEST

Suite *tcphealth_suite(void)
{
    Suite *s = suite_create("tcphealth");
    TCase *t = tcase_create("rules");
    tcase_add_test(t, handshake_from_first_syn_to_completing_ack);
    tcase_add_test(t, handshake_with_syn_retransmitted);
    tcase_add_test(t, circuit_whose_syn_was_not_captured);
    tcase_add_test(t, resent_payload_and_overlaps);
    tcase_add_test(t, hole_filled_by_a_resent_segment);
    tcase_add_test(t, keepalives_and_pure_acks);
    tcase_add_test(t, fin_syn_and_rst_are_not_retransmissions);
    tcase_add_test(t, bytes_cut_by_snaplen_count_as_reached);
    tcase_add_test(t, zero_windows_of_each_side);
    tcase_add_test(t, resets_either_direction_close_the_circuit);
    tcase_add_test(t, sequence_numbers_wrap);
    suite_add_tcase(s, t);
    return s;
}

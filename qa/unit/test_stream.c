/*
 * test_stream.c - TCP reassembly and message framing, with a toy protocol:
 * a message is a 4-byte big-endian length (8 to 100000) then that many bytes
 * less 4; a first byte of 0xee can start no message.
 */
#include "stream.h"
#include "suites.h"

#include <string.h>

struct rec {
    int messages, gaps;
    size_t bytes;
    uint64_t totals[64];
    size_t haves[64];
    uint8_t first[64];
    uint64_t ts[64];
};

static long long toy_len(void *ctx, int dir, const uint8_t *p, size_t have)
{
    (void)ctx; (void)dir;
    if (have >= 1 && p[0] == 0xee)
        return -1;
    if (have < 4)
        return 0;
    uint32_t n = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    return (n < 8 || n > 100000) ? -1 : (long long)n;
}

static void toy_msg(void *ctx, int dir, const uint8_t *p, size_t have, uint64_t total, uint64_t ts)
{
    (void)dir;
    struct rec *r = ctx;
    if (r->messages < 64) {
        r->ts[r->messages] = ts;
        r->totals[r->messages] = total;
        r->haves[r->messages] = have;
        r->first[r->messages] = have > 4 ? p[4] : 0;
    }
    r->messages++;
}

static void toy_gap(void *ctx, int dir) { (void)dir; ((struct rec *)ctx)->gaps++; }
static void toy_bytes(void *ctx, int dir, size_t n) { (void)dir; ((struct rec *)ctx)->bytes += n; }

static const struct stream_ops toy_ops = { toy_len, toy_msg, toy_gap, toy_bytes };
static struct stream_limits lim = { 4096, 1024 };

/* msg(n, tag): an n-byte toy message whose 5th byte is tag */
static size_t msg(uint8_t *out, uint32_t n, uint8_t tag)
{
    memset(out, tag, n);
    out[0] = (uint8_t)(n >> 24); out[1] = (uint8_t)(n >> 16); out[2] = (uint8_t)(n >> 8); out[3] = (uint8_t)n;
    return n;
}

struct fixture {
    struct stream s;
    struct rec r;
    struct stream_ctx c;
};

static void setup_fixture(struct fixture *f, uint32_t isn)
{
    memset(f, 0, sizeof(*f));
    f->c.ops = &toy_ops;
    f->c.ctx = &f->r;
    f->c.dir = 0;
    f->c.lim = &lim;
    stream_segment(&f->s, &f->c, isn, true, false, NULL, 0, 0);   /* SYN */
}

START_TEST(many_messages_per_segment)
{
    struct fixture f;
    uint8_t d[256];
    setup_fixture(&f, 100);
    size_t n = msg(d, 8, 1);
    n += msg(d + n, 20, 2);
    n += msg(d + n, 12, 3);
    stream_segment(&f.s, &f.c, 101, false, false, d, n, 1);
    ck_assert_int_eq(f.r.messages, 3);
    ck_assert_uint_eq(f.r.totals[1], 20);
    ck_assert_uint_eq(f.r.first[2], 3);
    ck_assert_uint_eq(f.r.bytes, 40);
    ck_assert_int_eq(f.r.gaps, 0);
    stream_free(&f.s, &f.c);
}
END_TEST

START_TEST(split_byte_by_byte)
{
    struct fixture f;
    uint8_t d[256];
    setup_fixture(&f, 0xfffffff0u);     /* crosses the sequence wrap */
    size_t n = msg(d, 30, 7);
    n += msg(d + n, 9, 8);
    for (size_t i = 0; i < n; i++)
        stream_segment(&f.s, &f.c, 0xfffffff1u + (uint32_t)i, false, false, d + i, 1, 1);
    ck_assert_int_eq(f.r.messages, 2);
    ck_assert_uint_eq(f.r.haves[0], 30);
    ck_assert_uint_eq(f.r.first[0], 7);
    ck_assert_uint_eq(f.r.first[1], 8);
    stream_free(&f.s, &f.c);
}
END_TEST

START_TEST(retransmission_and_overlap_once)
{
    struct fixture f;
    uint8_t d[256];
    setup_fixture(&f, 0);
    size_t n = msg(d, 16, 1);
    n += msg(d + n, 16, 2);
    n += msg(d + n, 16, 3);
    stream_segment(&f.s, &f.c, 1, false, false, d, 20, 1);
    stream_segment(&f.s, &f.c, 1, false, false, d, 20, 1);           /* retransmitted */
    stream_segment(&f.s, &f.c, 11, false, false, d + 10, 30, 1);     /* overlaps 10 bytes */
    stream_segment(&f.s, &f.c, 1, false, false, d, n, 1);            /* all again */
    ck_assert_int_eq(f.r.messages, 3);
    ck_assert_uint_eq(f.r.bytes, n);
    ck_assert_int_eq(f.r.gaps, 0);
    stream_free(&f.s, &f.c);
}
END_TEST

START_TEST(out_of_order)
{
    struct fixture f;
    uint8_t d[256];
    setup_fixture(&f, 0);
    size_t n = msg(d, 16, 1);
    n += msg(d + n, 16, 2);
    stream_segment(&f.s, &f.c, 17, false, false, d + 16, 16, 1);
    ck_assert_int_eq(f.r.messages, 0);
    stream_segment(&f.s, &f.c, 1, false, false, d, 16, 1);
    ck_assert_int_eq(f.r.messages, 2);
    ck_assert_uint_eq(f.r.first[1], 2);
    ck_assert_int_eq(f.r.gaps, 0);
    stream_free(&f.s, &f.c);
}
END_TEST

/* A message behind a hole keeps the time of the frame that carried its last
 * byte, not the time the hole was filled */
START_TEST(queued_message_keeps_its_time)
{
    struct fixture f;
    uint8_t d[256];
    setup_fixture(&f, 0);
    size_t n = msg(d, 16, 1);
    n += msg(d + n, 16, 2);
    n += msg(d + n, 16, 3);
    stream_segment(&f.s, &f.c, 25, false, false, d + 24, 24, 500);     /* ends 2, holds 3 */
    stream_segment(&f.s, &f.c, 1, false, false, d, 24, 900);           /* 1, the start of 2 */
    ck_assert_int_eq(f.r.messages, 3);
    ck_assert_uint_eq(f.r.ts[0], 900);
    ck_assert_uint_eq(f.r.ts[1], 500);
    ck_assert_uint_eq(f.r.ts[2], 500);
    stream_free(&f.s, &f.c);
}
END_TEST

START_TEST(gap_detected_by_ack)
{
    struct fixture f;
    uint8_t d[256];
    setup_fixture(&f, 0);
    size_t n = msg(d, 16, 1);       /* seg 1: bytes 1..16 */
    n += msg(d + n, 24, 2);         /* message 2 in two segments: 17..28 lost, 29..40 seen */
    n += msg(d + n, 16, 3);         /* seg 4: 41..56 */
    stream_segment(&f.s, &f.c, 1, false, false, d, 16, 1);
    stream_segment(&f.s, &f.c, 29, false, false, d + 28, 12, 1);
    stream_segment(&f.s, &f.c, 41, false, false, d + 40, 16, 1);
    ck_assert_int_eq(f.r.messages, 1);
    stream_acked(&f.s, &f.c, 57, 2);    /* the receiver got what we missed */
    ck_assert_int_eq(f.r.gaps, 1);
    /* the message that lost bytes is not delivered; the one after is */
    ck_assert_int_eq(f.r.messages, 2);
    ck_assert_uint_eq(f.r.first[1], 3);
    stream_free(&f.s, &f.c);
}
END_TEST

START_TEST(gap_by_queue_cap)
{
    struct fixture f;
    uint8_t d[2048];
    setup_fixture(&f, 0);
    for (int i = 0; i < 6; i++) {
        msg(d, 1000, (uint8_t)(10 + i));
        /* leave a 1000-byte hole at the start */
        stream_segment(&f.s, &f.c, 1001 + (uint32_t)i * 1000, false, false, d, 1000, 1);
    }
    ck_assert_int_ge(f.r.gaps, 1);
    ck_assert_int_ge(f.r.messages, 1);
    ck_assert_uint_le(f.s.queued, lim.queue_max);
    stream_flush(&f.s, &f.c, 2);
    ck_assert_int_eq(f.r.messages, 6);
    stream_free(&f.s, &f.c);
}
END_TEST

START_TEST(join_mid_stream)
{
    struct fixture f;
    uint8_t d[256];
    memset(&f, 0, sizeof(f));
    f.c.ops = &toy_ops;
    f.c.ctx = &f.r;
    f.c.lim = &lim;
    /* first segment seen starts inside a message: 0xee bytes cannot start one */
    memset(d, 0xee, 10);
    stream_segment(&f.s, &f.c, 5000, false, false, d, 10, 1);
    ck_assert_int_eq(f.r.messages, 0);
    size_t n = msg(d, 12, 4);
    stream_segment(&f.s, &f.c, 5010, false, false, d, n, 1);
    ck_assert_int_eq(f.r.messages, 1);
    ck_assert_uint_eq(f.r.first[0], 4);
    ck_assert_int_eq(f.r.gaps, 0);      /* joining is not a loss */
    stream_free(&f.s, &f.c);
}
END_TEST

START_TEST(large_message_kept_in_part)
{
    struct fixture f;
    static uint8_t d[60000];
    setup_fixture(&f, 0);
    size_t n = msg(d, 50000, 9);
    n += msg(d + n, 8, 10);
    for (size_t off = 0; off < n; off += 1460) {
        size_t len = n - off < 1460 ? n - off : 1460;
        stream_segment(&f.s, &f.c, 1 + (uint32_t)off, false, false, d + off, len, 1);
    }
    ck_assert_int_eq(f.r.messages, 2);
    ck_assert_uint_eq(f.r.totals[0], 50000);
    ck_assert_uint_eq(f.r.haves[0], lim.keep_max);
    ck_assert_uint_eq(f.r.first[1], 10);
    stream_free(&f.s, &f.c);
}
END_TEST

START_TEST(garbage_loses_framing)
{
    struct fixture f;
    uint8_t d[64];
    setup_fixture(&f, 0);
    memset(d, 0xee, sizeof(d));
    stream_segment(&f.s, &f.c, 1, false, false, d, sizeof(d), 1);
    ck_assert_int_eq(f.r.gaps, 1);
    ck_assert_int_eq(f.r.messages, 0);
    size_t n = msg(d, 8, 5);    /* the next segment that starts with a message resumes */
    stream_segment(&f.s, &f.c, 65, false, false, d, n, 1);
    ck_assert_int_eq(f.r.messages, 1);
    stream_free(&f.s, &f.c);
}
END_TEST

START_TEST(snaplen_loss)
{
    struct fixture f;
    uint8_t d[64];
    setup_fixture(&f, 0);
    size_t n = msg(d, 32, 1);
    n += msg(d + n, 16, 2);
    /* a 48-byte segment of which only 20 bytes were captured */
    stream_segment(&f.s, &f.c, 1, false, false, d, 20, 1);
    stream_lost(&f.s, &f.c, 49, 28);
    ck_assert_int_eq(f.r.gaps, 1);
    ck_assert_int_eq(f.r.messages, 0);
    n = msg(d, 8, 3);
    stream_segment(&f.s, &f.c, 49, false, false, d, n, 1);
    ck_assert_int_eq(f.r.messages, 1);
    ck_assert_uint_eq(f.r.first[0], 3);
    stream_free(&f.s, &f.c);
}
END_TEST

Suite *stream_suite(void)
{
    Suite *s = suite_create("stream");
    TCase *t = tcase_create("reassembly");
    tcase_add_test(t, many_messages_per_segment);
    tcase_add_test(t, split_byte_by_byte);
    tcase_add_test(t, retransmission_and_overlap_once);
    tcase_add_test(t, out_of_order);
    tcase_add_test(t, queued_message_keeps_its_time);
    tcase_add_test(t, gap_detected_by_ack);
    tcase_add_test(t, gap_by_queue_cap);
    tcase_add_test(t, join_mid_stream);
    tcase_add_test(t, large_message_kept_in_part);
    tcase_add_test(t, garbage_loses_framing);
    tcase_add_test(t, snaplen_loss);
    suite_add_tcase(s, t);
    return s;
}

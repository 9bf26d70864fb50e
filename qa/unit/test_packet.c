/*
 * test_packet.c - link layers, IPv4, TCP and UDP framing.
 */
#include "frames.h"
#include "packet.h"
#include "suites.h"

#include <pcap/dlt.h>
#include <string.h>

static const int linktypes[] = { DLT_EN10MB, DLT_LINUX_SLL, DLT_LINUX_SLL2, DLT_NULL, DLT_LOOP, DLT_RAW };

START_TEST(udp_every_linktype)
{
    uint8_t f[256];
    int lt = linktypes[_i];
    size_t n = frame_udp(f, lt, IP(127, 0, 0, 1), 40000, IP(127, 0, 0, 2), 5064, "abcdefgh", 8);
    struct packet p;
    ck_assert_int_eq(packet_parse(lt, f, (uint32_t)n, (uint32_t)n, &p), PACKET_OK);
    ck_assert_uint_eq(p.proto, 17);
    ck_assert(netaddr_is_v4(&p.saddr) && netaddr_is_v4(&p.daddr));
    ck_assert_uint_eq(netaddr_v4_value(&p.saddr), IP(127, 0, 0, 1));
    ck_assert_uint_eq(netaddr_v4_value(&p.daddr), IP(127, 0, 0, 2));
    ck_assert_uint_eq(p.sport, 40000);
    ck_assert_uint_eq(p.dport, 5064);
    ck_assert_uint_eq(p.len, 8);
    ck_assert_uint_eq(p.caplen, 8);
    ck_assert_mem_eq(p.payload, "abcdefgh", 8);
}
END_TEST

START_TEST(tcp_fields)
{
    uint8_t f[256];
    size_t n = frame_tcp(f, DLT_EN10MB, IP(10, 1, 2, 3), 1234, IP(10, 4, 5, 6), 5064, 0xfffffff0u, 77,
                         TCP_SYN | TCP_ACK, "xyz", 3);
    struct packet p;
    ck_assert_int_eq(packet_parse(DLT_EN10MB, f, (uint32_t)n, (uint32_t)n, &p), PACKET_OK);
    ck_assert_uint_eq(p.proto, 6);
    ck_assert_uint_eq(p.seq, 0xfffffff0u);
    ck_assert_uint_eq(p.ack, 77);
    ck_assert_uint_eq(p.tcp_flags, TCP_SYN | TCP_ACK);
    ck_assert_uint_eq(p.len, 3);
}
END_TEST

START_TEST(vlan_tags)
{
    uint8_t f[256], g[260];
    size_t n = frame_udp(f, DLT_EN10MB, IP(1, 2, 3, 4), 1, IP(5, 6, 7, 8), 5064, "12345678", 8);
    for (int tags = 1; tags <= 2; tags++) {
        /* insert 802.1Q (and 802.1ad) tags after the MAC addresses */
        memcpy(g, f, 12);
        size_t off = 12;
        for (int t = 0; t < tags; t++) {
            g[off] = t == 0 && tags == 2 ? 0x88 : 0x81;
            g[off + 1] = t == 0 && tags == 2 ? 0xa8 : 0x00;
            g[off + 2] = 0;
            g[off + 3] = 42;
            off += 4;
        }
        memcpy(g + off, f + 12, n - 12);
        struct packet p;
        ck_assert_int_eq(packet_parse(DLT_EN10MB, g, (uint32_t)(n + off - 12), (uint32_t)(n + off - 12), &p),
                         PACKET_OK);
        ck_assert_uint_eq(p.dport, 5064);
        ck_assert_mem_eq(p.payload, "12345678", 8);
    }
}
END_TEST

START_TEST(null_big_endian_writer)
{
    uint8_t f[256];
    size_t n = frame_udp(f, DLT_LOOP, IP(1, 2, 3, 4), 1, IP(5, 6, 7, 8), 5064, "12345678", 8);
    struct packet p;
    /* DLT_NULL written by a big-endian host looks like DLT_LOOP */
    ck_assert_int_eq(packet_parse(DLT_NULL, f, (uint32_t)n, (uint32_t)n, &p), PACKET_OK);
}
END_TEST

START_TEST(non_ip_skipped)
{
    uint8_t f[128];
    memset(f, 0, sizeof(f));
    f[12] = 0x86; f[13] = 0xdd;     /* IPv6 by its EtherType, version 0 in the header */
    struct packet p;
    ck_assert_int_eq(packet_parse(DLT_EN10MB, f, sizeof(f), sizeof(f), &p), PACKET_SKIP);
    f[12] = 0x08; f[13] = 0x06;     /* ARP */
    ck_assert_int_eq(packet_parse(DLT_EN10MB, f, sizeof(f), sizeof(f), &p), PACKET_SKIP);
    f[0] = 0x50;    /* neither version 4 nor 6 on a raw link */
    ck_assert_int_eq(packet_parse(DLT_RAW, f, sizeof(f), sizeof(f), &p), PACKET_SKIP);
}
END_TEST

START_TEST(fragments_skipped)
{
    uint8_t f[256];
    size_t n = frame_udp(f, DLT_RAW, IP(1, 2, 3, 4), 1, IP(5, 6, 7, 8), 5064, "12345678", 8);
    struct packet p;
    f[6] = 0x20;        /* more fragments */
    ck_assert_int_eq(packet_parse(DLT_RAW, f, (uint32_t)n, (uint32_t)n, &p), PACKET_SKIP);
    f[6] = 0x00; f[7] = 0x10;   /* offset */
    ck_assert_int_eq(packet_parse(DLT_RAW, f, (uint32_t)n, (uint32_t)n, &p), PACKET_SKIP);
}
END_TEST

START_TEST(truncated_headers)
{
    uint8_t f[256];
    size_t n = frame_tcp(f, DLT_EN10MB, IP(1, 2, 3, 4), 1, IP(5, 6, 7, 8), 5064, 1, 1, TCP_ACK, "abc", 3);
    struct packet p;
    /* every cut inside the headers is malformed, never a read past the end */
    for (size_t cut = 0; cut < 14 + 20 + 20; cut++) {
        enum packet_status s = packet_parse(DLT_EN10MB, f, (uint32_t)cut, (uint32_t)n, &p);
        ck_assert_int_eq(s, PACKET_MALFORMED);
    }
    /* a cut in the payload: captured part reported, wire length kept */
    ck_assert_int_eq(packet_parse(DLT_EN10MB, f, (uint32_t)(n - 2), (uint32_t)n, &p), PACKET_OK);
    ck_assert_uint_eq(p.caplen, 1);
    ck_assert_uint_eq(p.len, 3);
}
END_TEST

START_TEST(bad_lengths)
{
    uint8_t f[256];
    size_t n = frame_udp(f, DLT_RAW, IP(1, 2, 3, 4), 1, IP(5, 6, 7, 8), 5064, "12345678", 8);
    struct packet p;
    f[0] = 0x44;        /* IHL 16 bytes */
    ck_assert_int_eq(packet_parse(DLT_RAW, f, (uint32_t)n, (uint32_t)n, &p), PACKET_MALFORMED);
    f[0] = 0x45;
    f[24] = 0xff; f[25] = 0xff;   /* UDP length beyond the datagram */
    ck_assert_int_eq(packet_parse(DLT_RAW, f, (uint32_t)n, (uint32_t)n, &p), PACKET_MALFORMED);
}
END_TEST

START_TEST(ethernet_padding_ignored)
{
    uint8_t f[256];
    size_t n = frame_udp(f, DLT_EN10MB, IP(1, 2, 3, 4), 1, IP(5, 6, 7, 8), 5064, "ab", 2);
    memset(f + n, 0xee, 20);    /* minimum frame padding */
    struct packet p;
    ck_assert_int_eq(packet_parse(DLT_EN10MB, f, (uint32_t)(n + 20), (uint32_t)(n + 20), &p), PACKET_OK);
    ck_assert_uint_eq(p.len, 2);
    ck_assert_uint_eq(p.caplen, 2);
}
END_TEST

START_TEST(address_format)
{
    char b[32];
    struct netaddr a = netaddr_v4(IP(192, 168, 1, 20));
    netaddr_format(b, sizeof(b), &a, 5064);
    ck_assert_str_eq(b, "192.168.1.20:5064");
    a = netaddr_v4(IP(255, 255, 255, 255));
    netaddr_format(b, sizeof(b), &a, 65535);
    ck_assert_str_eq(b, "255.255.255.255:65535");
}
END_TEST

Suite *packet_suite(void)
{
    Suite *s = suite_create("packet");
    TCase *t = tcase_create("framing");
    tcase_add_loop_test(t, udp_every_linktype, 0, sizeof(linktypes) / sizeof(linktypes[0]));
    tcase_add_test(t, tcp_fields);
    tcase_add_test(t, vlan_tags);
    tcase_add_test(t, null_big_endian_writer);
    tcase_add_test(t, non_ip_skipped);
    tcase_add_test(t, fragments_skipped);
    tcase_add_test(t, truncated_headers);
    tcase_add_test(t, bad_lengths);
    tcase_add_test(t, ethernet_padding_ignored);
    tcase_add_test(t, address_format);
    suite_add_tcase(s, t);
    return s;
}

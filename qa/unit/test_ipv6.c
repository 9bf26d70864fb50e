/*
 * test_ipv6.c - IPv6 framing (every link type, extension headers,
 * fragments, truncation at every header byte), addresses as text, CA and
 * PVA over IPv6 through the engine, and the capture filter on IPv6 frames.
 *
 * Frames are the IPv4 ones of frames.h turned into IPv6 by to_v6(): the
 * IPv4 header is replaced by a 40-byte IPv6 header (RFC 8200) whose
 * addresses are 2001:db8::a.b.c.d (the documentation prefix, RFC 3849, with
 * the IPv4 address in the last 32 bits), and the extension headers asked
 * for go between it and the transport. Checksums are not computed: the
 * agent does not verify them.
 */
#include "netbuild.h"
#include "suites.h"

#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SRV IP(10, 0, 0, 1)
#define CLI IP(10, 0, 0, 2)
#define T0 1700000000000000ULL

#define EXT_HOP 0
#define EXT_ROUTING 43
#define EXT_FRAGMENT 44
#define EXT_AUTH 51
#define EXT_DSTOPTS 60

struct v6opts {
    const uint8_t *ext;         /* extension header types, in order */
    size_t next;
    uint16_t frag;              /* the fragment header's offset and flags field */
};

static size_t put_v6addr(uint8_t *out, uint32_t v4)
{
    static const uint8_t prefix[12] = { 0x20, 0x01, 0x0d, 0xb8 };
    memcpy(out, prefix, 12);
    out[12] = (uint8_t)(v4 >> 24); out[13] = (uint8_t)(v4 >> 16);
    out[14] = (uint8_t)(v4 >> 8); out[15] = (uint8_t)v4;
    return 16;
}

static struct netaddr v6(uint32_t v4)
{
    uint8_t b[16];
    put_v6addr(b, v4);
    return netaddr_v6(b);
}

/* The IPv4 packet ip (as frame_udp/frame_tcp build it for DLT_RAW) as
 * IPv6 behind the link header of l; returns the frame's length */
static size_t to_v6(uint8_t *out, const struct nb_link *l, const uint8_t *ip, size_t n,
                    const struct v6opts *o)
{
    struct nb_link link = *l;
    link.ethertype = 0x86dd;
    size_t h = nb_link_header(out, &link);
    size_t ihl = (size_t)(ip[0] & 0x0f) * 4, l4 = n - ihl, ext = 0;
    uint8_t *v = out + h;
    uint32_t src = (uint32_t)ip[12] << 24 | (uint32_t)ip[13] << 16 | (uint32_t)ip[14] << 8 | ip[15];
    uint32_t dst = (uint32_t)ip[16] << 24 | (uint32_t)ip[17] << 16 | (uint32_t)ip[18] << 8 | ip[19];
    memset(v, 0, 40);
    v[0] = 0x60;
    v[7] = 64;
    put_v6addr(v + 8, src);
    put_v6addr(v + 24, dst);
    uint8_t *next = v + 6;
    for (size_t i = 0; o && i < o->next; i++) {
        uint8_t *x = v + 40 + ext;
        size_t len = o->ext[i] == EXT_AUTH ? 12 : o->ext[i] == EXT_FRAGMENT ? 8 : 16;
        memset(x, 0, len);
        *next = o->ext[i];
        next = x;
        if (o->ext[i] == EXT_AUTH)
            x[1] = 1;                   /* (1 + 2) * 4 bytes */
        else if (o->ext[i] == EXT_FRAGMENT) {
            x[2] = (uint8_t)(o->frag >> 8);
            x[3] = (uint8_t)o->frag;
        } else
            x[1] = 1;                   /* (1 + 1) * 8 bytes */
        ext += len;
    }
    *next = ip[9];
    memcpy(v + 40 + ext, ip + ihl, l4);
    v[4] = (uint8_t)((ext + l4) >> 8);
    v[5] = (uint8_t)(ext + l4);
    return h + 40 + ext + l4;
}

static size_t udp6(uint8_t *out, const struct nb_link *l, uint32_t src, uint16_t sport, uint32_t dst,
                   uint16_t dport, const void *p, size_t n, const struct v6opts *o)
{
    uint8_t ip[2048];
    return to_v6(out, l, ip, frame_udp(ip, DLT_RAW, src, sport, dst, dport, p, n), o);
}

static size_t tcp6(uint8_t *out, const struct nb_link *l, uint32_t src, uint16_t sport, uint32_t dst,
                   uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags, const void *p, size_t n)
{
    uint8_t ip[2048];
    return to_v6(out, l, ip, frame_tcp(ip, DLT_RAW, src, sport, dst, dport, seq, ack, flags, p, n), NULL);
}

static const struct nb_link links[] = {
    { DLT_EN10MB, 0, false, 0 }, { DLT_EN10MB, 1, false, 0 }, { DLT_EN10MB, 2, false, 0 },
    { DLT_LINUX_SLL, 0, false, 0 }, { DLT_LINUX_SLL2, 0, false, 0 }, { DLT_NULL, 0, false, 0 },
    { DLT_NULL, 0, true, 0 }, { DLT_LOOP, 0, false, 0 }, { DLT_RAW, 0, false, 0 },
};
static const struct nb_link ETH = { DLT_EN10MB, 0, false, 0 };

START_TEST(udp_every_linktype)
{
    const struct nb_link *l = &links[_i];
    uint8_t f[256];
    size_t n = udp6(f, l, CLI, 40000, SRV, 5076, "abcdefgh", 8, NULL);
    struct packet p;
    ck_assert_int_eq(packet_parse(l->dlt, f, (uint32_t)n, (uint32_t)n, &p), PACKET_OK);
    struct netaddr s = v6(CLI), d = v6(SRV);
    ck_assert(netaddr_eq(&p.saddr, &s) && netaddr_eq(&p.daddr, &d));
    ck_assert(!netaddr_is_v4(&p.saddr));
    ck_assert_uint_eq(p.proto, 17);
    ck_assert_uint_eq(p.sport, 40000);
    ck_assert_uint_eq(p.dport, 5076);
    ck_assert_uint_eq(p.len, 8);
    ck_assert_uint_eq(p.caplen, 8);
    ck_assert_mem_eq(p.payload, "abcdefgh", 8);
}
END_TEST

START_TEST(tcp_fields)
{
    uint8_t f[256];
    size_t n = tcp6(f, &ETH, CLI, 40001, SRV, 5075, 1000, 2000, TCP_ACK | TCP_FIN, "xyz", 3);
    memset(f + n, 0xee, 20);            /* Ethernet padding: not payload */
    struct packet p;
    ck_assert_int_eq(packet_parse(DLT_EN10MB, f, (uint32_t)(n + 20), (uint32_t)(n + 20), &p), PACKET_OK);
    ck_assert_uint_eq(p.proto, 6);
    ck_assert_uint_eq(p.seq, 1000);
    ck_assert_uint_eq(p.ack, 2000);
    ck_assert_uint_eq(p.tcp_flags, TCP_ACK | TCP_FIN);
    ck_assert_uint_eq(p.len, 3);
    ck_assert_mem_eq(p.payload, "xyz", 3);
}
END_TEST

/* Hop-by-hop, routing, destination options, authentication and an atomic
 * fragment header are stepped over to the transport */
START_TEST(extension_headers_walked)
{
    static const uint8_t chain[] = { EXT_HOP, EXT_ROUTING, EXT_DSTOPTS, EXT_AUTH, EXT_FRAGMENT, EXT_DSTOPTS };
    for (size_t k = 0; k <= sizeof(chain); k++) {
        struct v6opts o = { chain, k, 0 };
        uint8_t f[512];
        size_t n = udp6(f, &ETH, CLI, 40000, SRV, 5076, "abcdefgh", 8, &o);
        struct packet p;
        ck_assert_int_eq(packet_parse(DLT_EN10MB, f, (uint32_t)n, (uint32_t)n, &p), PACKET_OK);
        ck_assert_uint_eq(p.dport, 5076);
        ck_assert_uint_eq(p.len, 8);
        ck_assert_mem_eq(p.payload, "abcdefgh", 8);
    }
}
END_TEST

START_TEST(fragments_and_others_skipped)
{
    static const uint8_t frag[] = { EXT_HOP, EXT_FRAGMENT };
    uint8_t f[512];
    struct packet p;
    /* first fragment (more follow), a later one, a later last one */
    const uint16_t fields[] = { 0x0001, 0x0100, 0x0108 };
    for (int i = 0; i < 3; i++) {
        struct v6opts o = { frag, 2, fields[i] };
        size_t n = udp6(f, &ETH, CLI, 40000, SRV, 5076, "abcdefgh", 8, &o);
        ck_assert_int_eq(packet_parse(DLT_EN10MB, f, (uint32_t)n, (uint32_t)n, &p), PACKET_SKIP);
    }
    /* ICMPv6 (58) and "no next header" (59) */
    size_t n = udp6(f, &ETH, CLI, 40000, SRV, 5076, "abcdefgh", 8, NULL);
    f[14 + 6] = 58;
    ck_assert_int_eq(packet_parse(DLT_EN10MB, f, (uint32_t)n, (uint32_t)n, &p), PACKET_SKIP);
    f[14 + 6] = 59;
    ck_assert_int_eq(packet_parse(DLT_EN10MB, f, (uint32_t)n, (uint32_t)n, &p), PACKET_SKIP);
    /* a chain longer than any real packet's: hop-by-hop headers to the end */
    memset(f + 14 + 40, 0, 200);
    f[14 + 4] = 0; f[14 + 5] = 200;
    f[14 + 6] = EXT_HOP;
    ck_assert_int_eq(packet_parse(DLT_EN10MB, f, 14 + 240, 14 + 240, &p), PACKET_SKIP);
}
END_TEST

START_TEST(bad_lengths)
{
    static const uint8_t one[] = { EXT_DSTOPTS };
    struct v6opts o = { one, 1, 0 };
    uint8_t f[512];
    struct packet p;
    size_t n = udp6(f, &ETH, CLI, 40000, SRV, 5076, "abcdefgh", 8, &o);
    f[14 + 40 + 1] = 200;               /* the option header runs past the payload length */
    ck_assert_int_eq(packet_parse(DLT_EN10MB, f, (uint32_t)n, (uint32_t)n, &p), PACKET_MALFORMED);
    n = udp6(f, &ETH, CLI, 40000, SRV, 5076, "abcdefgh", 8, NULL);
    f[14 + 5] = 4;                      /* payload length shorter than the UDP header */
    ck_assert_int_eq(packet_parse(DLT_EN10MB, f, (uint32_t)n, (uint32_t)n, &p), PACKET_MALFORMED);
    f[14 + 5] = 0;                      /* zero (segmentation offload): the frame's length */
    ck_assert_int_eq(packet_parse(DLT_EN10MB, f, (uint32_t)n, (uint32_t)n, &p), PACKET_OK);
    ck_assert_uint_eq(p.len, 8);
}
END_TEST

/* Every cut inside the headers, extension headers included, is malformed
 * (valgrind sees any read past the exact-size copy); a cut in the payload
 * keeps the wire length */
START_TEST(truncated_at_every_byte)
{
    static const uint8_t chain[] = { EXT_HOP, EXT_FRAGMENT, EXT_DSTOPTS };
    struct v6opts o = { chain, 3, 0 };
    uint8_t f[512];
    size_t n = tcp6(f, &ETH, CLI, 40000, SRV, 5075, 1, 1, TCP_ACK, "abc", 3);
    size_t headers = n - 3;
    for (size_t cut = 0; cut < headers; cut++) {
        struct engine *e = nb_engine(NULL, NULL);
        nb_feed(e, DLT_EN10MB, T0, f, cut, n);
        ck_assert_uint_eq(e->model.health.decode_errors, 1);
        nb_engine_free(e);
    }
    struct packet p;
    ck_assert_int_eq(packet_parse(DLT_EN10MB, f, (uint32_t)(n - 2), (uint32_t)n, &p), PACKET_OK);
    ck_assert_uint_eq(p.caplen, 1);
    ck_assert_uint_eq(p.len, 3);

    n = udp6(f, &ETH, CLI, 40000, SRV, 5076, "abcdefgh", 8, &o);
    for (size_t cut = 0; cut < n - 8; cut++) {
        uint8_t *copy = malloc(cut ? cut : 1);
        memcpy(copy, f, cut);
        ck_assert_int_eq(packet_parse(DLT_EN10MB, copy, (uint32_t)cut, (uint32_t)n, &p), PACKET_MALFORMED);
        free(copy);
    }
}
END_TEST

START_TEST(address_text)
{
    char b[NETADDR_TEXT_MAX];
    struct netaddr a = v6(IP(0, 0, 0, 1));
    netaddr_format(b, sizeof(b), &a, 5075);
    ck_assert_str_eq(b, "[2001:db8::1]:5075");
    netaddr_format_host(b, sizeof(b), &a);
    ck_assert_str_eq(b, "2001:db8::1");
    /* RFC 5952: the longest run of zeros shortened, lower case */
    static const uint8_t two_runs[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1 };
    a = netaddr_v6(two_runs);
    netaddr_format(b, sizeof(b), &a, 1);
    ck_assert_str_eq(b, "[2001:db8::1:0:0:1]:1");
    /* the longest text fits */
    static const uint8_t full[16] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe };
    a = netaddr_v6(full);
    netaddr_format(b, sizeof(b), &a, 65535);
    ck_assert_str_eq(b, "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe]:65535");
    /* IPv4 as before, whatever the family it came in */
    a = netaddr_v4(IP(10, 0, 0, 1));
    netaddr_format(b, sizeof(b), &a, 5064);
    ck_assert_str_eq(b, "10.0.0.1:5064");
    ck_assert(netaddr_is_v4(&a) && !netaddr_is_any(&a) && !netaddr_is_multicast(&a));
    a = netaddr_v4(0);
    ck_assert(netaddr_is_any(&a) && !netaddr_is_unset(&a));
    a = netaddr_v4(IP(224, 0, 2, 3));
    ck_assert(netaddr_is_multicast(&a));
    static const uint8_t mc[16] = { 0xff, 0x02, [15] = 1 };
    a = netaddr_v6(mc);
    ck_assert(netaddr_is_multicast(&a));
    struct netaddr x = v6(1), y = v6(2);
    ck_assert(netaddr_hash(&x, 5064) != netaddr_hash(&y, 5064));
    ck_assert(netaddr_hash(&x, 5064) != netaddr_hash(&x, 5065));
}
END_TEST

/* ---- through the engine ---- */

static struct buf m;

static void feed_udp6(struct engine *e, const struct nb_link *l, uint32_t src, uint16_t sport,
                      uint32_t dst, uint16_t dport, uint64_t ts)
{
    uint8_t f[4096];
    size_t n = udp6(f, l, src, sport, dst, dport, m.data, m.len, NULL);
    nb_feed(e, l->dlt, ts, f, n, n);
}

static void ca_search6(struct engine *e, const struct nb_link *l, uint32_t cid, const char *name,
                       uint64_t ts)
{
    m.len = 0;
    ca_msg(&m, CA_CMD_VERSION, 0, 0, CA_MINOR_VERSION, 0, 0, NULL, 0);
    ca_msg_str(&m, CA_CMD_SEARCH, CA_DONT_REPLY, CA_MINOR_VERSION, cid, cid, name);
    feed_udp6(e, l, CLI, 40000, SRV, 5064, ts);
}

/* A CA reply over IPv6 can only name its server as "the sender" (~0) */
static void ca_reply6(struct engine *e, const struct nb_link *l, uint32_t cid, uint32_t field,
                      uint64_t ts)
{
    uint8_t minor[2] = { 0, CA_MINOR_VERSION };
    m.len = 0;
    ca_msg(&m, CA_CMD_VERSION, 0, 0, CA_MINOR_VERSION, 0, 0, NULL, 0);
    ca_msg(&m, CA_CMD_SEARCH, 8, 5064, 0, field, cid, minor, 2);
    feed_udp6(e, l, SRV, 5064, CLI, 40000, ts);
}

static struct server *server6(struct engine *e, int proto, uint32_t v4, uint16_t port)
{
    struct endpoint_key k = { v6(v4), port, (uint16_t)proto };
    struct tnode *n = table_find(&e->model.servers[proto], &k, sizeof(k));
    return n ? container_of(n, struct server, node) : NULL;
}

START_TEST(ca_search_every_link)
{
    const struct nb_link *l = &links[_i];
    struct engine *e = nb_engine(NULL, NULL);
    ca_search6(e, l, 7, "V6:PV", T0);
    ca_reply6(e, l, 7, 0xffffffffu, T0 + 1000);
    ck_assert_uint_eq(e->model.ps[PROTO_CA].search_requests, 1);
    ck_assert_uint_eq(e->model.ps[PROTO_CA].search_replies, 1);
    ck_assert_uint_eq(e->model.health.skipped, 0);
    ck_assert_uint_eq(e->model.health.decode_errors, 0);
    struct server *s = server6(e, PROTO_CA, SRV, 5064);
    ck_assert_ptr_nonnull(s);
    ck_assert_str_eq(s->name, "[2001:db8::a00:1]:5064");
    struct pv *pv = nb_pv(e, PROTO_CA, "V6:PV");
    ck_assert_uint_eq(pv->nservers, 1);
    char list[128];
    model_pv_server_list(pv, list, sizeof(list));
    ck_assert_str_eq(list, "[2001:db8::a00:1]:5064");
    /* clients by address alone, without brackets */
    struct endpoint_key ck = { v6(CLI), 0, PROTO_CA };
    struct tnode *cn = table_find(&e->model.clients[PROTO_CA], &ck, sizeof(ck));
    ck_assert_ptr_nonnull(cn);
    ck_assert_str_eq(container_of(cn, struct client, node)->name, "2001:db8::a00:2");
    nb_engine_free(e);
}
END_TEST

/* IPv4 and IPv6 of one host are two servers; an IPv4 address field in a
 * reply over IPv6 still names an IPv4 server */
START_TEST(families_kept_apart)
{
    struct engine *e = nb_engine(NULL, NULL);
    ca_search6(e, &ETH, 1, "A:PV", T0);
    ca_reply6(e, &ETH, 1, IP(192, 168, 0, 9), T0 + 100);
    ck_assert_ptr_nonnull(nb_server(e, PROTO_CA, IP(192, 168, 0, 9), 5064));
    ck_assert_ptr_null(server6(e, PROTO_CA, SRV, 5064));
    ca_search6(e, &ETH, 2, "B:PV", T0 + 300);
    ca_reply6(e, &ETH, 2, 0, T0 + 400);
    ck_assert_ptr_nonnull(server6(e, PROTO_CA, SRV, 5064));
    ck_assert_ptr_null(nb_server(e, PROTO_CA, SRV, 5064));
    nb_engine_free(e);
}
END_TEST

/* ---- pvAccess datagrams (pvxs src/pvaproto.h, udp_collector.cpp) ---- */

/* big-endian; 0x40 marks a server's message */
static void pva_header(uint8_t cmd, size_t at)
{
    uint32_t size = (uint32_t)(m.len - at - 8);
    m.data[at] = 0xca; m.data[at + 1] = 2; m.data[at + 2] = cmd == 3 ? 0x80 : 0xc0; m.data[at + 3] = cmd;
    m.data[at + 4] = (uint8_t)(size >> 24); m.data[at + 5] = (uint8_t)(size >> 16);
    m.data[at + 6] = (uint8_t)(size >> 8); m.data[at + 7] = (uint8_t)size;
}

static void put(const void *p, size_t n)
{
    memcpy(m.data + m.len, p, n);
    m.len += n;
}

static void put16(uint16_t v) { uint8_t b[2] = { (uint8_t)(v >> 8), (uint8_t)v }; put(b, 2); }
static void put32(uint32_t v) { put16((uint16_t)(v >> 16)); put16((uint16_t)v); }

/* addr: 16 bytes, or NULL for all zero ("the sender") */
static void pva_search6(uint32_t cid, const char *name, const uint8_t *addr, uint16_t port)
{
    static const uint8_t zero[16];
    m.len = 8;
    put32(1);                           /* sequence */
    put("\x81\0\0\0", 4);               /* flags: reply unicast; reserved */
    put(addr ? addr : zero, 16);
    put16(port);
    put("\x01\x03tcp", 5);
    put16(1);
    put32(cid);
    uint8_t len = (uint8_t)strlen(name);
    put(&len, 1);
    put(name, len);
    pva_header(3, 0);
}

static void pva_reply6(uint32_t cid, const uint8_t *addr, uint16_t port)
{
    static const uint8_t zero[16];
    m.len = 8;
    put("GUID-GUID-01", 12);
    put32(1);
    put(addr ? addr : zero, 16);
    put16(port);
    put("\x03tcp\x01", 5);              /* protocol, found */
    put16(1);
    put32(cid);
    pva_header(4, 0);
}

START_TEST(pva_addresses_on_the_wire)
{
    struct engine *e = nb_engine(NULL, NULL);
    uint8_t reply_to[16], server_at[16];
    put_v6addr(reply_to, IP(10, 0, 0, 7));
    put_v6addr(server_at, IP(10, 0, 0, 8));
    /* the client asks for replies at another address and port */
    pva_search6(11, "PVA:V6", reply_to, 41000);
    feed_udp6(e, &ETH, CLI, 40000, SRV, 5076, T0);
    /* the server names another address of itself */
    pva_reply6(11, server_at, 5075);
    feed_udp6(e, &ETH, SRV, 5076, IP(10, 0, 0, 7), 41000, T0 + 500);
    ck_assert_uint_eq(e->model.ps[PROTO_PVA].search_requests, 1);
    ck_assert_uint_eq(e->model.ps[PROTO_PVA].search_replies, 1);
    ck_assert_uint_eq(e->model.ps[PROTO_PVA].search_late_replies, 0);
    ck_assert_ptr_nonnull(server6(e, PROTO_PVA, IP(10, 0, 0, 8), 5075));
    ck_assert_str_eq(nb_pv(e, PROTO_PVA, "PVA:V6")->name, "PVA:V6");

    /* all zero: the sender's address, for both */
    pva_search6(12, "PVA:ANY", NULL, 0);
    feed_udp6(e, &ETH, CLI, 40001, SRV, 5076, T0 + 1000);
    pva_reply6(12, NULL, 5075);
    feed_udp6(e, &ETH, SRV, 5076, CLI, 40001, T0 + 1500);
    ck_assert_uint_eq(e->model.ps[PROTO_PVA].search_replies, 2);
    ck_assert_uint_eq(e->model.ps[PROTO_PVA].search_late_replies, 0);
    struct server *s = server6(e, PROTO_PVA, SRV, 5075);
    ck_assert_ptr_nonnull(s);
    ck_assert_str_eq(s->name, "[2001:db8::a00:1]:5075");
    engine_finish(e);
    ck_assert_uint_eq(e->model.ps[PROTO_PVA].search_unanswered, 0);
    ck_assert_uint_eq(e->model.health.decode_errors, 0);
    nb_engine_free(e);
}
END_TEST

/* A CA circuit over IPv6: handshake, a channel created, closed */
START_TEST(ca_circuit)
{
    struct engine *e = nb_engine(NULL, NULL);
    uint8_t f[1024];
    size_t n;
    uint32_t cs = 100, ss = 500;
#define SEND(src, sp, dst, dp, seq, ack, fl, p, len) \
    (n = tcp6(f, &ETH, src, sp, dst, dp, seq, ack, fl, p, len), nb_feed(e, DLT_EN10MB, T0, f, n, n))
    SEND(CLI, 40002, SRV, 5064, cs, 0, TCP_SYN, NULL, 0);
    SEND(SRV, 5064, CLI, 40002, ss, cs + 1, TCP_SYN | TCP_ACK, NULL, 0);
    cs++, ss++;
    m.len = 0;
    ca_msg_str(&m, CA_CMD_CREATE_CHAN, 0, 0, 1, CA_MINOR_VERSION, "CIRC:V6");
    SEND(CLI, 40002, SRV, 5064, cs, ss, TCP_ACK, m.data, m.len);
    cs += (uint32_t)m.len;
    m.len = 0;
    ca_msg(&m, CA_CMD_ACCESS_RIGHTS, 0, 0, 0, 1, 3, NULL, 0);
    ca_msg(&m, CA_CMD_CREATE_CHAN, 0, CA_DBR_DOUBLE, 1, 1, 77, NULL, 0);
    SEND(SRV, 5064, CLI, 40002, ss, cs, TCP_ACK, m.data, m.len);
#undef SEND
    struct server *s = server6(e, PROTO_CA, SRV, 5064);
    ck_assert_ptr_nonnull(s);
    ck_assert_uint_eq(s->connects, 1);
    ck_assert_uint_eq(s->circuits, 1);
    ck_assert_uint_eq(s->tcp.handshake_count, 1);
    ck_assert_uint_eq(nb_pv(e, PROTO_CA, "CIRC:V6")->connects, 1);
    ck_assert_uint_eq(e->model.health.decode_errors, 0);
    nb_engine_free(e);
}
END_TEST

/* ---- the capture filter ---- */

static bool keeps(const char *filter, int dlt, const uint8_t *frame, size_t n)
{
    pcap_t *dead = pcap_open_dead(dlt, 65535);
    struct bpf_program prog;
    ck_assert_int_eq(pcap_compile(dead, &prog, filter, 1, PCAP_NETMASK_UNKNOWN), 0);
    struct pcap_pkthdr h = { .caplen = (bpf_u_int32)n, .len = (bpf_u_int32)n };
    bool keep = pcap_offline_filter(&prog, &h, frame) != 0;
    pcap_freecode(&prog);
    pcap_close(dead);
    return keep;
}

START_TEST(capture_filter)
{
    struct engine *e = nb_engine(NULL, NULL);
    char filt[16384];
    uint8_t f[512], one = 0;
    size_t n;
    ck_assert_int_eq(engine_filter(e, filt, sizeof(filt), false), 0);
    /* ports, both ways, with and without payload */
    ck_assert(keeps(filt, DLT_EN10MB, f, tcp6(f, &ETH, CLI, 40000, SRV, 5064, 1, 1, TCP_ACK, NULL, 0)));
    ck_assert(keeps(filt, DLT_EN10MB, f, tcp6(f, &ETH, SRV, 5075, CLI, 40000, 1, 1, TCP_RST, NULL, 0)));
    ck_assert(keeps(filt, DLT_EN10MB, f, udp6(f, &ETH, CLI, 40000, SRV, 5076, &one, 1, NULL)));
    ck_assert(!keeps(filt, DLT_EN10MB, f, tcp6(f, &ETH, CLI, 40000, SRV, 80, 1, 1, TCP_ACK, NULL, 0)));
    ck_assert(!keeps(filt, DLT_EN10MB, f, udp6(f, &ETH, CLI, 40000, SRV, 53, "\x12\x34\0\0\0\0\0\0", 8, NULL)));
    /* content on any port: a CA search, a PVA search, a handshake, circuit data */
    m.len = 0;
    ca_msg(&m, CA_CMD_VERSION, 0, 0, CA_MINOR_VERSION, 0, 0, NULL, 0);
    ca_msg_str(&m, CA_CMD_SEARCH, CA_DONT_REPLY, CA_MINOR_VERSION, 1, 1, "ANY:PORT");
    ck_assert(keeps(filt, DLT_EN10MB, f, udp6(f, &ETH, CLI, 40000, SRV, 7064, m.data, m.len, NULL)));
    pva_search6(1, "ANY:PORT", NULL, 0);
    ck_assert(keeps(filt, DLT_EN10MB, f, udp6(f, &ETH, CLI, 40000, SRV, 7076, m.data, m.len, NULL)));
    ck_assert(keeps(filt, DLT_EN10MB, f, tcp6(f, &ETH, CLI, 40000, SRV, 7075, 1, 0, TCP_SYN, NULL, 0)));
    ck_assert(keeps(filt, DLT_EN10MB, f, tcp6(f, &ETH, SRV, 7075, CLI, 40000, 1, 1, TCP_ACK, "\xca\x02", 2)));
    ck_assert(!keeps(filt, DLT_EN10MB, f, tcp6(f, &ETH, SRV, 7075, CLI, 40000, 1, 1, TCP_ACK, "HTTP", 4)));
    /* extension headers: the transport is not at a fixed offset, all pass */
    static const uint8_t hop[] = { EXT_HOP };
    struct v6opts o = { hop, 1, 0 };
    ck_assert(keeps(filt, DLT_EN10MB, f, udp6(f, &ETH, CLI, 40000, SRV, 53, "\x12\x34\0\0\0\0\0\0", 8, &o)));
    /* the link types of live Linux interfaces, and tagged frames (libpcap
     * built for Linux reads DLT_NULL's family as Linux's AF_INET6, 10;
     * files, where BSD's values occur, are classified in user space only) */
    for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
        if (links[i].dlt == DLT_NULL || links[i].dlt == DLT_LOOP)
            continue;
        bool tagged = links[i].dlt == DLT_EN10MB && links[i].vlans > 0;
        ck_assert_int_eq(engine_filter(e, filt, sizeof(filt), tagged), 0);
        n = udp6(f, &links[i], CLI, 40000, SRV, 7064, m.data, m.len, NULL);
        if (links[i].vlans == 2)
            continue;           /* "vlan" matches one tag level */
        ck_assert_msg(keeps(filt, links[i].dlt, f, n), "link %zu", i);
        n = tcp6(f, &links[i], CLI, 40000, SRV, 5064, 1, 1, TCP_ACK, NULL, 0);
        ck_assert_msg(keeps(filt, links[i].dlt, f, n), "link %zu", i);
    }
    nb_engine_free(e);
}
END_TEST

Suite *ipv6_suite(void)
{
    Suite *s = suite_create("ipv6");
    TCase *t = tcase_create("packet");
    tcase_add_loop_test(t, udp_every_linktype, 0, sizeof(links) / sizeof(links[0]));
    tcase_add_test(t, tcp_fields);
    tcase_add_test(t, extension_headers_walked);
    tcase_add_test(t, fragments_and_others_skipped);
    tcase_add_test(t, bad_lengths);
    tcase_add_test(t, truncated_at_every_byte);
    tcase_add_test(t, address_text);
    suite_add_tcase(s, t);
    t = tcase_create("engine");
    tcase_add_loop_test(t, ca_search_every_link, 0, sizeof(links) / sizeof(links[0]));
    tcase_add_test(t, families_kept_apart);
    tcase_add_test(t, pva_addresses_on_the_wire);
    tcase_add_test(t, ca_circuit);
    tcase_add_test(t, capture_filter);
    suite_add_tcase(s, t);
    return s;
}

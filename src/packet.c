/*
 * packet.c - link layer, IPv4, IPv6, UDP and TCP framing.
 *
 * Link layers (values of pcap_datalink()):
 *   DLT_EN10MB     14-byte Ethernet header, any number of 802.1Q/802.1ad tags
 *   DLT_LINUX_SLL  16-byte cooked header, protocol at offset 14
 *   DLT_LINUX_SLL2 20-byte cooked header, protocol at offset 0
 *   DLT_NULL       4-byte address family in the capturing host's byte order
 *   DLT_LOOP       4-byte address family in network byte order
 *   DLT_RAW, DLT_IPV4  the IP header itself (its version nibble says which)
 * IPv4 (RFC 791): the payload is cut to the header's total length so that
 * Ethernet padding is not taken for data; fragments are skipped (EPICS
 * datagrams are far below any MTU).
 * IPv6 (RFC 8200): 40-byte header, then extension headers walked to the
 * transport: hop-by-hop (0), routing (43), destination options (60), each
 * (len + 1) * 8 bytes; authentication (51), (len + 2) * 4 bytes; fragment
 * (44), 8 bytes: a fragment other than an atomic one (offset 0, no more
 * fragments) is skipped as IPv4 fragments are. The payload is cut to the
 * payload length. Addresses are kept as struct netaddr (IPv4 mapped).
 * TCP (RFC 793) and UDP (RFC 768). Every byte is read through wire.h.
 */
#include "packet.h"
#include "wire.h"

#include <pcap/dlt.h>

#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_IPV6 0x86dd
#define ETHERTYPE_VLAN 0x8100
#define ETHERTYPE_QINQ 0x88a8
#define ETHERTYPE_QINQ_OLD 0x9100
#define IPPROTO_TCP_ 6
#define IPPROTO_UDP_ 17
#define IP6_HOPOPTS 0
#define IP6_ROUTING 43
#define IP6_FRAGMENT 44
#define IP6_AUTH 51
#define IP6_DSTOPTS 60
#define IP6_EXT_MAX 8           /* more extension headers than any real packet carries */

int packet_linktype_supported(int linktype)
{
    switch (linktype) {
    case DLT_EN10MB: case DLT_LINUX_SLL: case DLT_LINUX_SLL2:
    case DLT_NULL: case DLT_LOOP: case DLT_RAW: case DLT_IPV4:
#ifdef DLT_RAW_ALT
    case DLT_RAW_ALT:
#endif
        return 1;
    default:
        return 0;
    }
}

static int family_of_ethertype(uint16_t type)
{
    return type == ETHERTYPE_IPV4 ? 4 : type == ETHERTYPE_IPV6 ? 6 : 0;
}

/* BSD address families for IPv6 differ by system (pcap-linktype(7)):
 * Linux 10, NetBSD/OpenBSD 24, FreeBSD 28, macOS 30; AF_INET is 2 */
static int family_of_af(uint32_t af)
{
    if (af == 2)
        return 4;
    return af == 10 || af == 24 || af == 28 || af == 30 ? 6 : 0;
}

/* Steps r over the link header. Returns the IP version the link layer
 * announces (4, 6), 0 for anything else, -1 for truncated. */
static int link_layer(int linktype, struct wire_rd *r)
{
    uint16_t type;

    switch (linktype) {
    case DLT_EN10MB:
        wire_skip(r, 12);
        type = wire_u16(r);
        while (!r->err && (type == ETHERTYPE_VLAN || type == ETHERTYPE_QINQ || type == ETHERTYPE_QINQ_OLD)) {
            wire_skip(r, 2);
            type = wire_u16(r);
        }
        return r->err ? -1 : family_of_ethertype(type);
    case DLT_LINUX_SLL:
        wire_skip(r, 14);
        type = wire_u16(r);
        return r->err ? -1 : family_of_ethertype(type);
    case DLT_LINUX_SLL2:
        type = wire_u16(r);
        wire_skip(r, 18);
        return r->err ? -1 : family_of_ethertype(type);
    case DLT_NULL:
    case DLT_LOOP: {
        /* NULL uses the writer's byte order, LOOP network order */
        const uint8_t *p = wire_take(r, 4);
        if (!p)
            return -1;
        struct wire_rd be = wire_init(p, 4, true), le = wire_init(p, 4, false);
        int fam = family_of_af(wire_u32(&be));
        return fam || linktype == DLT_LOOP ? fam : family_of_af(wire_u32(&le));
    }
    case DLT_RAW:
    case DLT_IPV4:
#ifdef DLT_RAW_ALT
    case DLT_RAW_ALT:
#endif
    {
        struct wire_rd peek = *r;
        uint8_t v = wire_u8(&peek) >> 4;
        return peek.err ? -1 : v == 4 || v == 6 ? v : 0;
    }
    default:
        return 0;
    }
}

/* What the IP layer leaves for the transport */
struct l3 {
    uint8_t proto;
    struct wire_rd l4;          /* the captured transport bytes, within the IP length */
    uint32_t l4len;             /* transport bytes on the wire */
};

/* The IP length in force: a zero or short length left by segmentation
 * offload (TSO/GRO) gives way to the frame's */
static uint32_t ip_total(uint32_t total, uint32_t ipwire, uint32_t ipcap)
{
    if (total == 0)
        return ipwire;
    if (total > ipwire && ipwire >= ipcap)
        return ipwire;
    return total;
}

/* r just past the IP headers (hdr bytes), total the IP length: the transport */
static enum packet_status l3_rest(struct wire_rd *r, uint32_t hdr, uint32_t total, struct l3 *out)
{
    uint32_t cap = (uint32_t)wire_left(r);
    uint32_t l4cap = total - hdr;
    if (cap < l4cap)
        l4cap = cap;
    out->l4 = wire_init(wire_take(r, l4cap), l4cap, true);
    out->l4len = total - hdr;
    return PACKET_OK;
}

static enum packet_status ipv4(struct wire_rd *r, uint32_t ipwire, struct packet *pkt, struct l3 *out)
{
    uint32_t ipcap = (uint32_t)wire_left(r);
    uint8_t vihl = wire_u8(r);
    wire_skip(r, 1);
    uint32_t total = wire_u16(r);
    wire_skip(r, 2);
    uint16_t frag = wire_u16(r);
    wire_skip(r, 1);
    out->proto = wire_u8(r);
    wire_skip(r, 2);
    uint32_t s = wire_u32(r), d = wire_u32(r);
    if (r->err)
        return PACKET_MALFORMED;
    if ((vihl >> 4) != 4)
        return PACKET_SKIP;
    uint32_t ihl = (uint32_t)(vihl & 0x0f) * 4;
    total = ip_total(total, ipwire, ipcap);
    if (ihl < 20 || total < ihl || ipcap < ihl)
        return PACKET_MALFORMED;
    if ((frag & 0x3fff) != 0)
        return PACKET_SKIP;     /* fragment: MF set or offset non-zero */
    wire_skip(r, ihl - 20);     /* options */
    pkt->saddr = netaddr_v4(s);
    pkt->daddr = netaddr_v4(d);
    return l3_rest(r, ihl, total, out);
}

static enum packet_status ipv6(struct wire_rd *r, uint32_t ipwire, struct packet *pkt, struct l3 *out)
{
    uint32_t ipcap = (uint32_t)wire_left(r);
    uint8_t v = wire_u8(r);
    wire_skip(r, 3);
    uint32_t plen = wire_u16(r);
    uint8_t next = wire_u8(r);
    wire_skip(r, 1);
    const uint8_t *s = wire_take(r, 16), *d = wire_take(r, 16);
    if (r->err)
        return PACKET_MALFORMED;
    if ((v >> 4) != 6)
        return PACKET_SKIP;
    /* payload length 0: a jumbogram or segmentation offload, the frame's length */
    uint32_t total = ip_total(plen ? plen + 40 : 0, ipwire, ipcap);
    if (total < 40)
        return PACKET_MALFORMED;
    uint32_t hdr = 40;
    for (int i = 0; next != IPPROTO_TCP_ && next != IPPROTO_UDP_; i++) {
        uint32_t len;
        uint8_t this = next;
        if (i == IP6_EXT_MAX)
            return PACKET_SKIP;
        if (this != IP6_HOPOPTS && this != IP6_ROUTING && this != IP6_DSTOPTS
            && this != IP6_FRAGMENT && this != IP6_AUTH)
            return PACKET_SKIP;         /* ICMPv6, no next header, ... */
        struct wire_rd ext = *r;
        next = wire_u8(&ext);
        uint8_t elen = wire_u8(&ext);
        uint16_t frag = wire_u16(&ext);
        if (ext.err)
            return PACKET_MALFORMED;
        len = this == IP6_FRAGMENT ? 8 : this == IP6_AUTH ? ((uint32_t)elen + 2) * 4 : ((uint32_t)elen + 1) * 8;
        if (hdr + len > total)
            return PACKET_MALFORMED;
        wire_skip(r, len);
        if (r->err)
            return PACKET_MALFORMED;
        hdr += len;
        if (this == IP6_FRAGMENT && (frag & 0xfff9) != 0)
            return PACKET_SKIP;         /* offset non-zero or more fragments */
    }
    out->proto = next;
    pkt->saddr = netaddr_v6(s);
    pkt->daddr = netaddr_v6(d);
    return l3_rest(r, hdr, total, out);
}

static enum packet_status transport(struct l3 *l, struct packet *pkt)
{
    struct wire_rd *r = &l->l4;
    pkt->proto = l->proto;
    if (l->proto == IPPROTO_UDP_) {
        pkt->sport = wire_u16(r);
        pkt->dport = wire_u16(r);
        uint32_t ulen = wire_u16(r);
        wire_skip(r, 2);
        if (r->err || ulen < 8 || ulen > l->l4len)
            return PACKET_MALFORMED;
        pkt->tcp_flags = 0;
        pkt->seq = pkt->ack = 0;
        pkt->window = 0;
        pkt->len = ulen - 8;
        pkt->caplen = wire_left(r) < pkt->len ? (uint32_t)wire_left(r) : pkt->len;
        pkt->payload = wire_take(r, pkt->caplen);
        return PACKET_OK;
    }
    if (l->proto == IPPROTO_TCP_) {
        pkt->sport = wire_u16(r);
        pkt->dport = wire_u16(r);
        pkt->seq = wire_u32(r);
        pkt->ack = wire_u32(r);
        uint32_t doff = (uint32_t)(wire_u8(r) >> 4) * 4;
        pkt->tcp_flags = wire_u8(r);
        pkt->window = wire_u16(r);
        wire_skip(r, 4);
        if (r->err || doff < 20 || doff > l->l4len)
            return PACKET_MALFORMED;
        wire_skip(r, doff - 20);        /* options */
        if (r->err)
            return PACKET_MALFORMED;
        pkt->len = l->l4len - doff;
        pkt->caplen = (uint32_t)wire_left(r);
        pkt->payload = wire_take(r, pkt->caplen);
        return PACKET_OK;
    }
    return PACKET_SKIP;
}

enum packet_status packet_parse(int linktype, const uint8_t *frame, uint32_t caplen,
                                uint32_t wirelen, struct packet *pkt)
{
    struct wire_rd r = wire_init(frame, caplen, true);
    int version = link_layer(linktype, &r);
    if (version < 0)
        return PACKET_MALFORMED;
    if (version == 0)
        return PACKET_SKIP;

    uint32_t l3 = (uint32_t)r.off;
    uint32_t ipwire = wirelen > l3 ? wirelen - l3 : (uint32_t)wire_left(&r);
    struct l3 l;
    enum packet_status st = version == 4 ? ipv4(&r, ipwire, pkt, &l) : ipv6(&r, ipwire, pkt, &l);
    return st == PACKET_OK ? transport(&l, pkt) : st;
}

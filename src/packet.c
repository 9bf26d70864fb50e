/*
 * packet.c - link layer, IPv4, UDP and TCP framing.
 *
 * Link layers (values of pcap_datalink()):
 *   DLT_EN10MB     14-byte Ethernet header, any number of 802.1Q/802.1ad tags
 *   DLT_LINUX_SLL  16-byte cooked header, protocol at offset 14
 *   DLT_LINUX_SLL2 20-byte cooked header, protocol at offset 0
 *   DLT_NULL       4-byte address family in the capturing host's byte order
 *   DLT_LOOP       4-byte address family in network byte order
 *   DLT_RAW, DLT_IPV4  the IP header itself
 * IPv4 (RFC 791): the payload is cut to the header's total length so that
 * Ethernet padding is not taken for data; fragments are skipped (EPICS
 * datagrams are far below any MTU). TCP (RFC 793) and UDP (RFC 768).
 * IPv6 is skipped: Channel Access is IPv4 only.
 */
#include "packet.h"
#include "wire.h"

#include <pcap/dlt.h>
#include <stdio.h>

#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_VLAN 0x8100
#define ETHERTYPE_QINQ 0x88a8
#define ETHERTYPE_QINQ_OLD 0x9100
#define IPPROTO_TCP_ 6
#define IPPROTO_UDP_ 17

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

/* Returns the offset of the IPv4 header, -1 for not IPv4, -2 for truncated. */
static long link_offset(int linktype, const uint8_t *f, uint32_t caplen)
{
    uint32_t off;
    uint16_t type;

    switch (linktype) {
    case DLT_EN10MB:
        if (caplen < 14)
            return -2;
        type = wire_be16(f + 12);
        off = 14;
        while (type == ETHERTYPE_VLAN || type == ETHERTYPE_QINQ || type == ETHERTYPE_QINQ_OLD) {
            if (caplen < off + 4)
                return -2;
            type = wire_be16(f + off + 2);
            off += 4;
        }
        return type == ETHERTYPE_IPV4 ? (long)off : -1;
    case DLT_LINUX_SLL:
        if (caplen < 16)
            return -2;
        return wire_be16(f + 14) == ETHERTYPE_IPV4 ? 16 : -1;
    case DLT_LINUX_SLL2:
        if (caplen < 20)
            return -2;
        return wire_be16(f) == ETHERTYPE_IPV4 ? 20 : -1;
    case DLT_NULL:
    case DLT_LOOP: {
        if (caplen < 4)
            return -2;
        /* AF_INET is 2 everywhere; NULL uses the writer's byte order */
        uint32_t fam_be = wire_get32(f, true), fam_le = wire_get32(f, false);
        return (fam_be == 2 || (linktype == DLT_NULL && fam_le == 2)) ? 4 : -1;
    }
    case DLT_RAW:
    case DLT_IPV4:
        if (caplen < 1)
            return -2;
        return (f[0] >> 4) == 4 ? 0 : -1;
    default:
        return -1;
    }
}

enum packet_status packet_parse(int linktype, const uint8_t *frame, uint32_t caplen,
                                uint32_t wirelen, struct packet *pkt)
{
    long l3 = link_offset(linktype, frame, caplen);
    if (l3 == -1)
        return PACKET_SKIP;
    if (l3 < 0)
        return PACKET_MALFORMED;

    const uint8_t *ip = frame + l3;
    uint32_t ipcap = caplen - (uint32_t)l3;
    uint32_t ipwire = wirelen > (uint32_t)l3 ? wirelen - (uint32_t)l3 : ipcap;
    if (ipcap < 20)
        return PACKET_MALFORMED;
    if ((ip[0] >> 4) != 4)
        return PACKET_SKIP;
    uint32_t ihl = (uint32_t)(ip[0] & 0x0f) * 4;
    uint32_t total = wire_be16(ip + 2);
    if (total == 0)             /* segmentation offload leaves it zero */
        total = ipwire;
    if (ihl < 20 || total < ihl || ipcap < ihl)
        return PACKET_MALFORMED;
    if (total > ipwire && ipwire >= ipcap)
        total = ipwire;         /* TSO/GRO frames may carry 0 or a short length */
    uint16_t frag = wire_be16(ip + 6);
    if ((frag & 0x3fff) != 0)
        return PACKET_SKIP;     /* fragment: MF set or offset non-zero */

    pkt->proto = ip[9];
    pkt->saddr = wire_be32(ip + 12);
    pkt->daddr = wire_be32(ip + 16);

    const uint8_t *l4 = ip + ihl;
    uint32_t l4cap = (ipcap < total ? ipcap : total) - ihl;
    uint32_t l4len = total - ihl;

    if (pkt->proto == IPPROTO_UDP_) {
        if (l4cap < 8)
            return PACKET_MALFORMED;
        uint32_t ulen = wire_be16(l4 + 4);
        if (ulen < 8 || ulen > l4len)
            return PACKET_MALFORMED;
        pkt->sport = wire_be16(l4);
        pkt->dport = wire_be16(l4 + 2);
        pkt->tcp_flags = 0;
        pkt->seq = pkt->ack = 0;
        pkt->window = 0;
        pkt->payload = l4 + 8;
        pkt->len = ulen - 8;
        pkt->caplen = l4cap - 8 < pkt->len ? l4cap - 8 : pkt->len;
        return PACKET_OK;
    }
    if (pkt->proto == IPPROTO_TCP_) {
        if (l4cap < 20)
            return PACKET_MALFORMED;
        uint32_t doff = (uint32_t)(l4[12] >> 4) * 4;
        if (doff < 20 || doff > l4len || doff > l4cap)
            return PACKET_MALFORMED;
        pkt->sport = wire_be16(l4);
        pkt->dport = wire_be16(l4 + 2);
        pkt->seq = wire_be32(l4 + 4);
        pkt->ack = wire_be32(l4 + 8);
        pkt->tcp_flags = l4[13];
        pkt->window = wire_be16(l4 + 14);
        pkt->payload = l4 + doff;
        pkt->len = l4len - doff;
        pkt->caplen = l4cap - doff;
        return PACKET_OK;
    }
    return PACKET_SKIP;
}

void packet_format_addr(char *buf, unsigned long size, uint32_t a, uint16_t port)
{
    snprintf(buf, size, "%u.%u.%u.%u:%u", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff, port);
}

/*
 * packet.h - link layer, IPv4, IPv6, UDP and TCP framing of one captured frame.
 *
 * packet_parse() turns a frame of any supported link type into a struct
 * packet: addresses, ports, TCP sequence state and the transport payload.
 * It never reads past the captured length.
 */
#ifndef EPICS_PACKET_H
#define EPICS_PACKET_H

#include "netaddr.h"

#include <stdint.h>

/* TCP flag bits as on the wire */
#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_ACK 0x10

enum packet_status {
    PACKET_OK = 0,
    PACKET_SKIP,        /* well formed but not for us: ARP, ICMP, fragment */
    PACKET_MALFORMED,   /* truncated or inconsistent headers */
};

struct packet {
    uint64_t ts_us;             /* capture time, microseconds since the epoch */
    struct netaddr saddr, daddr;        /* IPv4 mapped, or IPv6 */
    uint16_t sport, dport;
    uint8_t proto;              /* IPPROTO_TCP or IPPROTO_UDP */
    uint8_t tcp_flags;
    uint32_t seq, ack;
    uint16_t window;            /* TCP receive window as sent (unscaled) */
    const uint8_t *payload;
    uint32_t caplen;            /* payload bytes present in the capture */
    uint32_t len;               /* payload bytes on the wire (>= caplen) */
};

/* linktype is a DLT_* value as returned by pcap_datalink() */
enum packet_status packet_parse(int linktype, const uint8_t *frame, uint32_t caplen,
                                uint32_t wirelen, struct packet *out);

/* True for the link types packet_parse() understands. */
int packet_linktype_supported(int linktype);

#endif

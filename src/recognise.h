/*
 * recognise.h - EPICS traffic recognised by its content, on any port.
 *
 * Sites move servers off the default ports, so the engine cannot rely on
 * port numbers. A UDP datagram is Channel Access when it parses completely
 * as a sequence of 16-byte CA headers of the commands seen on UDP, and
 * pvAccess when it parses completely as 8-byte PVA headers of searches,
 * search responses, beacons and origin tags; the lengths must add up to the
 * datagram's. A TCP circuit is recognised by its first bytes: a CA VERSION
 * message (sent by both sides; the handshake or the CLIENT_NAME/HOST_NAME
 * that follows a client's tells the side), or the pvAccess server's
 * SET_BYTE_ORDER control message followed by CONNECTION_VALIDATION.
 */
#ifndef EPICS_RECOGNISE_H
#define EPICS_RECOGNISE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What a recognised datagram holds (bits) */
#define HOLDS_SEARCH 0x1        /* search requests */
#define HOLDS_REPLY 0x2         /* search replies (or CA NOT_FOUND) */
#define HOLDS_BEACON 0x4
#define HOLDS_REGISTER 0x8      /* CA client's registration with a repeater */
#define HOLDS_CONFIRM 0x10      /* CA repeater's confirmation to a client */

/* The protocol (PROTO_CA, PROTO_PVA) of a UDP payload, or -1; *holds gets
 * the HOLDS_* bits. caplen bytes were captured of len on the wire. */
int recognise_datagram(const uint8_t *p, size_t caplen, size_t len, unsigned *holds);

/* The protocol of a TCP circuit whose first payload bytes are p, or -1.
 * side: 0 the sender is the client, 1 the server, -1 unknown (then the
 * caller must know the side from the handshake). */
int recognise_circuit_start(const uint8_t *p, size_t caplen, int *side);

#endif

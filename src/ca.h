/*
 * ca.h - Channel Access decoder: UDP datagrams and TCP circuit messages.
 */
#ifndef EPICS_CA_H
#define EPICS_CA_H

#include "model.h"
#include "packet.h"
#include "stream.h"

#define CA_SERVER_PORT 5064
#define CA_REPEATER_PORT 5065

struct ca_config {
    uint16_t server_port;       /* EPICS_CA_SERVER_PORT: UDP searches, default TCP */
    uint16_t repeater_port;     /* EPICS_CA_REPEATER_PORT: beacons */
};

/* One CA UDP datagram, on any port; repeater_copy: a CA repeater passed it
 * on to local clients (its beacons are counted when first sent) */
void ca_datagram(struct model *m, const struct packet *pkt, bool repeater_copy);

/* Messages of a TCP circuit; the stream context is the struct circuit */
extern const struct stream_ops ca_stream_ops;

/* Name of a CA command, "?" when unknown */
const char *ca_command_name(unsigned cmd);

#endif

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

/* Commands (epics-base caProto.h), each with a 16-byte header (layout in ca.c) */
#define CA_HEADER_LEN 16
enum ca_command {
    CA_VERSION = 0, CA_EVENT_ADD = 1, CA_EVENT_CANCEL = 2, CA_READ = 3, CA_WRITE = 4,
    CA_SNAPSHOT = 5, CA_SEARCH = 6, CA_BUILD = 7, CA_EVENTS_OFF = 8, CA_EVENTS_ON = 9,
    CA_READ_SYNC = 10, CA_ERROR = 11, CA_CLEAR_CHANNEL = 12, CA_RSRV_IS_UP = 13,
    CA_NOT_FOUND = 14, CA_READ_NOTIFY = 15, CA_READ_BUILD = 16, CA_REPEATER_CONFIRM = 17,
    CA_CREATE_CHAN = 18, CA_WRITE_NOTIFY = 19, CA_CLIENT_NAME = 20, CA_HOST_NAME = 21,
    CA_ACCESS_RIGHTS = 22, CA_ECHO = 23, CA_REPEATER_REGISTER = 24, CA_SIGNAL = 25,
    CA_CREATE_CH_FAIL = 26, CA_SERVER_DISCONN = 27, CA_COMMANDS
};

/* The data type field of a SEARCH request: whether to reply when not found */
#define CA_DOREPLY 10
#define CA_DONTREPLY 5

/* Name of a CA command, "?" when unknown */
const char *ca_command_name(unsigned cmd);

#endif

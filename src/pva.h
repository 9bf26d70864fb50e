/*
 * pva.h - pvAccess decoder: UDP datagrams and TCP circuit messages.
 *
 * Searches count one request per name (copies a server forwards with an
 * ORIGIN_TAG are not counted again) and are matched with their replies by
 * the reply address and port the request names. Beacons and search replies
 * carry the server's GUID: a new GUID at the same address and port is a
 * restart. On circuits: GET executions are gets, PUT (and PUT_GET) executions
 * that write are puts and go to the put audit, MONITOR messages from the
 * server other than the INIT reply and the final one are updates. Wire
 * layouts: pva.c and pvdata.h.
 */
#ifndef EPICS_PVA_H
#define EPICS_PVA_H

#include "model.h"
#include "packet.h"
#include "stream.h"

#define PVA_SERVER_PORT 5075
#define PVA_BROADCAST_PORT 5076

struct pva_config {
    uint16_t server_port;       /* EPICS_PVA_SERVER_PORT: default TCP */
    uint16_t broadcast_port;    /* EPICS_PVA_BROADCAST_PORT: searches and beacons */
};

/* One PVA UDP datagram, on any port; from_search_port: sent from a port
 * that receives searches (a server passing a search on) */
void pva_datagram(struct model *m, const struct packet *pkt, bool from_search_port);
extern const struct stream_ops pva_stream_ops;

/* Header fields (layout in pva.c) */
#define PVA_HEADER_LEN 8
#define PVA_MAGIC 0xca
#define PVA_FLAG_CONTROL 0x01
#define PVA_SEG_MASK 0x30
#define PVA_SEG_FIRST 0x10
#define PVA_SEG_LAST 0x20
#define PVA_FLAG_SERVER 0x40
#define PVA_FLAG_BIG_ENDIAN 0x80

/* Commands (pvxs src/pvaproto.h) */
enum pva_command {
    PVA_CMD_BEACON = 0, PVA_CMD_CONNECTION_VALIDATION = 1, PVA_CMD_ECHO = 2, PVA_CMD_SEARCH = 3,
    PVA_CMD_SEARCH_RESPONSE = 4, PVA_CMD_AUTHNZ = 5, PVA_CMD_ACL_CHANGE = 6,
    PVA_CMD_CREATE_CHANNEL = 7, PVA_CMD_DESTROY_CHANNEL = 8, PVA_CMD_CONNECTION_VALIDATED = 9,
    PVA_CMD_GET = 10, PVA_CMD_PUT = 11, PVA_CMD_PUT_GET = 12, PVA_CMD_MONITOR = 13,
    PVA_CMD_ARRAY = 14, PVA_CMD_DESTROY_REQUEST = 15, PVA_CMD_PROCESS = 16, PVA_CMD_GET_FIELD = 17,
    PVA_CMD_MESSAGE = 18, PVA_CMD_MULTIPLE_DATA = 19, PVA_CMD_RPC = 20,
    PVA_CMD_CANCEL_REQUEST = 21, PVA_CMD_ORIGIN_TAG = 22, PVA_COMMANDS
};

/* Control messages (PVA_FLAG_CONTROL): the command byte */
enum pva_control {
    PVA_CTRL_SET_MARKER = 0, PVA_CTRL_ACK_MARKER = 1, PVA_CTRL_SET_BYTE_ORDER = 2,
    PVA_CTRL_ECHO_REQUEST = 3, PVA_CTRL_ECHO_RESPONSE = 4,
};

/* Name of a PVA command, "?" when unknown */
const char *pva_command_name(unsigned cmd);

#endif

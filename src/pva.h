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

#endif

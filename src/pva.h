/*
 * pva.h - pvAccess decoder: UDP datagrams and TCP circuit messages.
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

void pva_datagram(struct model *m, const struct pva_config *cfg, const struct packet *pkt);
extern const struct stream_ops pva_stream_ops;

#endif

/*
 * engine.h - from captured frames to the model: classification of packets,
 * the table of TCP connections, and the clock that expires state.
 *
 * The engine is what the agent and the importer share: they feed it frames
 * (live or from a file) and read the model it keeps.
 */
#ifndef EPICS_ENGINE_H
#define EPICS_ENGINE_H

#include "ca.h"
#include "model.h"
#include "ports.h"
#include "pva.h"
#include "stream.h"
#include "table.h"

struct engine_config {
    struct ca_config ca;
    struct pva_config pva;
    struct model_limits lim;
    struct stream_limits stream;
    size_t max_flows;
    uint64_t flow_idle_us;
    /* server ports given by hand (--ca-ports, --pva-ports), besides the
     * default ports and those learned from the traffic */
    struct port_list ports[PROTO_COUNT];
};

/* TCP connections to unknown ports whose handshake was seen: which side
 * opened them, for recognising the circuit by its first bytes */
#define ENGINE_SYNS 64
/* CA client endpoints that sent searches or registered with a repeater: a
 * beacon sent to one is a repeater's copy (direct-mapped, collisions forget) */
#define ENGINE_CA_CLIENTS 4096

struct flow;

struct engine {
    struct engine_config cfg;
    struct model model;
    struct table flows;
    uint64_t last_tick_us;
    /* UDP ports that carried each protocol's searches, replies and beacons */
    struct port_list udp_ports[PROTO_COUNT];
    uint64_t ca_clients[ENGINE_CA_CLIENTS];
    struct table hints;         /* struct endpoint_hint, learned by a first pass */
    bool learn_only;            /* a first pass: learn servers, follow no circuit */
    struct { struct netaddr caddr, saddr; uint16_t cport, sport; } syns[ENGINE_SYNS];
    unsigned nsyn;
};

void engine_default_config(struct engine_config *cfg);
/* Reads EPICS_CA_SERVER_PORT, EPICS_CA_REPEATER_PORT, EPICS_PVA_SERVER_PORT,
 * EPICS_PVA_BROADCAST_PORT from the environment, as EPICS tools do */
void engine_config_from_env(struct engine_config *cfg);
void engine_init(struct engine *e, const struct engine_config *cfg, const struct model_hooks *hooks);
void engine_free(struct engine *e);

/* One captured frame of the given DLT_* link type */
void engine_frame(struct engine *e, int linktype, uint64_t ts_us, const uint8_t *frame,
                  uint32_t caplen, uint32_t wirelen);
/* Frames lost before they reached the engine, since the capture's last
 * report: dropped by the kernel (or refused by the capture queue), and by
 * the interface */
struct capture_losses {
    uint64_t drops, if_drops;
};
void engine_losses(struct engine *e, const struct capture_losses *lost);
/* Time passes (called at least once a second) */
void engine_tick(struct engine *e, uint64_t now_us);
/* End of a capture file: flush every stream, count what is still pending */
void engine_finish(struct engine *e);

/* A first pass over a capture file: the servers it learns (from searches,
 * beacons and circuit starts anywhere in the file) are followed from the
 * file's first packet on. 0, or -1 with a message in err. */
int engine_prescan_file(struct engine *e, const char *path, char *err, size_t errlen);

/* The ports a protocol's traffic is followed on, for people:
 * "tcp 5064 5070 udp 5064 5065 5070 5071" */
void engine_ports(struct engine *e, int proto, char *buf, size_t size);

/* A BPF filter for the EPICS traffic the engine wants, including learned
 * server ports; vlan: also match 802.1Q-tagged frames. It may change when
 * model.servers_learned does. */
int engine_filter(struct engine *e, char *buf, size_t size, bool vlan);

#endif

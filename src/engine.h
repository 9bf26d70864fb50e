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
};

struct flow;

struct engine {
    struct engine_config cfg;
    struct model model;
    struct table flows;
    uint64_t last_tick_us;
    bool servers_changed;       /* a server port was learned: the filter may change */
    struct model_hooks user_hooks;
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
/* Time passes (called at least once a second) */
void engine_tick(struct engine *e, uint64_t now_us);
/* End of a capture file: flush every stream, count what is still pending */
void engine_finish(struct engine *e);

/* A BPF filter for the EPICS traffic the engine wants, including learned
 * server ports; vlan: also match 802.1Q-tagged frames */
int engine_filter(struct engine *e, char *buf, size_t size, bool vlan);

#endif

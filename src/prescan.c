/*
 * prescan.c - a first pass over a capture file that learns where servers
 * listen (engine_prescan_file in engine.h).
 *
 * A circuit to a port that only a later search reply or beacon reveals
 * would otherwise be missed up to that point. The first pass runs a
 * separate engine that decodes datagrams and recognises circuit starts but
 * follows no circuit; every server it learns becomes a hint for the real
 * pass, which then follows that server's circuits from the first packet.
 * Hints create no server: only the real pass's traffic does.
 */
#include "capture.h"
#include "engine.h"

#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>

static void learned(void *arg, int kind, int proto, void *obj, const char *name)
{
    (void)proto;
    (void)name;
    struct engine *e = arg;
    if (kind != OBJ_SERVER || table_full(&e->hints))
        return;
    struct endpoint_key key = ((struct server *)obj)->key;
    if (table_find(&e->hints, &key, sizeof(key)))
        return;
    struct endpoint_hint *h = calloc(1, sizeof(*h));
    if (!h)
        return;
    h->key = key;
    table_insert(&e->hints, &h->node);
}

int engine_prescan_file(struct engine *e, const char *path, char *err, size_t errlen)
{
    char ebuf[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_open_offline(path, ebuf);
    if (!p) {
        snprintf(err, errlen, "%s", ebuf);
        return -1;
    }
    struct engine *scout = malloc(sizeof(*scout));
    if (!scout) {
        pcap_close(p);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    struct model_hooks hooks = { .added = learned, .arg = e };
    engine_init(scout, &e->cfg, &hooks);
    scout->learn_only = true;
    scout->model.beacons_learn_nothing = true;  /* its source may not be the server's address */
    int linktype = pcap_datalink(p);
    struct pcap_pkthdr *h;
    const u_char *data;
    while (pcap_next_ex(p, &h, &data) == 1)
        engine_frame(scout, linktype, capture_ts_us(h), data, h->caplen, h->len);
    /* a read error part-way is the main pass's to report, after it has
     * decoded what comes before it: the first pass learns what it can */
    engine_free(scout);
    free(scout);
    pcap_close(p);
    return 0;
}

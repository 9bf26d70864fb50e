/*
 * status.c - a server's put status in one vocabulary for both protocols:
 * "ok", or the error as text.
 *
 * Channel Access (WRITE_NOTIFY reply, field p1) returns an ECA code:
 * bit 0 success, bits 1-2 severity, bits 3-15 the message number
 * (epics-base modules/ca/src/client/caerr.h, DEFMSG). pvAccess returns a
 * status type (0 ok, 1 warning, 2 error, 3 fatal) with a message
 * (pvxs src/pvaproto.h, Status).
 */
#include "model.h"

#include <stdio.h>

/* The ECA messages a put can meet, by message number */
static const struct { unsigned num; const char *text; } eca_names[] = {
    { 6, "ECA_ALLOCMEM: server out of memory" },
    { 9, "ECA_TOLARGE: too large for the server" },
    { 10, "ECA_TIMEOUT: timed out" },
    { 14, "ECA_BADTYPE: invalid data type" },
    { 17, "ECA_INTERNAL: server internal failure" },
    { 20, "ECA_PUTFAIL: write failed" },
    { 22, "ECA_BADCOUNT: invalid element count" },
    { 23, "ECA_BADSTR: invalid string" },
    { 24, "ECA_DISCONN: circuit disconnected" },
    { 45, "ECA_PUTCBINPROG: put callback already in progress" },
    { 47, "ECA_NOWTACCESS: no write access" },
    { 50, "ECA_NOCONVERT: no conversion between these types" },
    { 54, "ECA_UNAVAILINSERV: not supported by the server" },
    { 0, NULL },
};

void model_status_text(char *buf, size_t size, int proto, int32_t status, const char *message)
{
    if (proto == PROTO_CA) {
        uint32_t code = (uint32_t)status;
        if (code & 1) {
            snprintf(buf, size, "ok");
            return;
        }
        unsigned num = (code & 0xfff8u) >> 3;
        for (int i = 0; eca_names[i].text; i++)
            if (eca_names[i].num == num) {
                snprintf(buf, size, "%s", eca_names[i].text);
                return;
            }
        snprintf(buf, size, "ECA error %u", num);
        return;
    }
    static const char *types[] = { "ok", "warning", "error", "fatal" };
    const char *t = status >= 0 && status <= 3 ? types[status] : "error";
    if (message && *message)
        snprintf(buf, size, "%s: %s", t, message);
    else
        snprintf(buf, size, "%s", t);
}

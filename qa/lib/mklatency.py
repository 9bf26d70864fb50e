#!/usr/bin/python3
"""Write a small PCP archive (libpcp_import) holding request latency
histograms as the agent exports them, for the plot tests.

usage: mklatency.py ARCHIVE

A first sample holding nothing yet (the start of the recording, as
epics2pcp writes it), then ten samples one second apart of epics.ca.server.read_latency.histogram and
epics.ca.server.write_latency.histogram for server 10.0.0.1:5064, instances
"SERVER::lo-hi" (cumulative counters): each second 4 reads land in 256-511
and 1 write in 1024-2047, except from the sixth second on, when the writes
land in 65536-131071 (a put completion that jumps). Prints the totals per
bucket as JSON, which the plot's grid must add up to.
"""
import json
import sys

from pcp import pmi
import cpmapi as c_api

DOMAIN = 510
SERVER = "10.0.0.1:5064"


def main():
    log = pmi.pmiLogImport(sys.argv[1])
    log.pmiSetHostname("mklatency")
    log.pmiSetTimezone("UTC")
    count = log.pmiUnits(0, 0, 1, 0, 0, c_api.PM_COUNT_ONE)
    indom = log.pmiInDom(DOMAIN, 6)
    buckets = {"read_latency": ["256-511"], "write_latency": ["1024-2047", "65536-131071"]}
    for item, stem in enumerate(buckets):
        log.pmiAddMetric(f"epics.ca.server.{stem}.histogram", log.pmiID(DOMAIN, 11, 90 + item),
                         c_api.PM_TYPE_U64, indom, c_api.PM_SEM_COUNTER, count)
    # the archive's sample times, which the plots take as the recording
    log.pmiAddMetric("epics.capture.packets", log.pmiID(DOMAIN, 0, 0), c_api.PM_TYPE_U64,
                     c_api.PM_INDOM_NULL, c_api.PM_SEM_COUNTER, count)
    inst = 0
    for stem, names in buckets.items():
        for b in names:
            log.pmiAddInstance(indom, f"{SERVER}::{b}", inst)
            inst += 1
    total = {f"{stem}::{b}": 0 for stem, names in buckets.items() for b in names}
    log.pmiPutValue("epics.capture.packets", "", "0")
    log.pmiWrite(1795344227, 0)
    for sec in range(10):
        log.pmiPutValue("epics.capture.packets", "", str(10 * (sec + 1)))
        total["read_latency::256-511"] += 4
        total["write_latency::1024-2047" if sec < 5 else "write_latency::65536-131071"] += 1
        for key, v in total.items():
            stem, b = key.split("::")
            if v or b == "1024-2047":       # buckets appear with their first sample
                log.pmiPutValue(f"epics.ca.server.{stem}.histogram", f"{SERVER}::{b}", str(v))
        log.pmiWrite(1795344228 + sec, 0)
    log.pmiEnd()
    print(json.dumps(total))


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""Write a small PCP archive with a few epics.* metrics (libpcp_import), to
test qa/compare.py --archive without the importer.

usage: mkarchive.py ARCHIVE EXPECTED.json

Three samples, one second apart: the first two hold wrong values (every
number off by 1000, other strings, an extra instance), the last one holds
exactly the values of EXPECTED.json, which is written too. compare.py must
accept EXPECTED.json against ARCHIVE (it reads the last sample only).
"""
import json
import sys

from pcp import pmi
import cpmapi as c_api

DOMAIN = 510


def main():
    archive, expected_path = sys.argv[1], sys.argv[2]
    log = pmi.pmiLogImport(archive)
    log.pmiSetHostname("selftest")
    log.pmiSetTimezone("UTC")
    count = log.pmiUnits(0, 0, 1, 0, 0, c_api.PM_COUNT_ONE)
    byte = log.pmiUnits(1, 0, 0, c_api.PM_SPACE_BYTE, 0, 0)
    none = log.pmiUnits(0, 0, 0, 0, 0, 0)
    usec = log.pmiUnits(0, 1, 0, 0, c_api.PM_TIME_USEC, 0)
    pv = log.pmiInDom(DOMAIN, 1)
    server = log.pmiInDom(DOMAIN, 2)
    buckets = log.pmiInDom(DOMAIN, 6)

    metrics = [  # name, pmid, type, indom, semantics, units
        ("epics.capture.eof", (0, 9), c_api.PM_TYPE_U32, c_api.PM_INDOM_NULL, c_api.PM_SEM_INSTANT, none),
        ("epics.ca.search.requests", (2, 0), c_api.PM_TYPE_U64, c_api.PM_INDOM_NULL, c_api.PM_SEM_COUNTER, count),
        ("epics.ca.pv.bytes_in", (12, 9), c_api.PM_TYPE_U64, pv, c_api.PM_SEM_COUNTER, byte),
        ("epics.ca.pv.server", (12, 1), c_api.PM_TYPE_STRING, pv, c_api.PM_SEM_DISCRETE, none),
        ("epics.ca.pv.writes", (12, 6), c_api.PM_TYPE_U64, pv, c_api.PM_SEM_COUNTER, count),
        ("epics.ca.server.bytes_out", (11, 10), c_api.PM_TYPE_U64, server, c_api.PM_SEM_COUNTER, byte),
        ("epics.ca.server.read_latency.count", (15, 0), c_api.PM_TYPE_U64, server, c_api.PM_SEM_COUNTER, count),
        ("epics.ca.server.read_latency.sum", (15, 1), c_api.PM_TYPE_U64, server, c_api.PM_SEM_COUNTER, usec),
        ("epics.ca.server.read_latency.histogram", (15, 3), c_api.PM_TYPE_U64, buckets,
         c_api.PM_SEM_COUNTER, count),
    ]
    for name, (cluster, item), typ, indom, sem, units in metrics:
        log.pmiAddMetric(name, log.pmiID(DOMAIN, cluster, item), typ, indom, sem, units)
    pvs = ["TEST:AO001", "TEST:STR001", "TEST:BIG"]
    for i, name in enumerate(pvs + ["TEST:GONE"]):
        log.pmiAddInstance(pv, name, i)
    log.pmiAddInstance(server, "127.0.0.1:5064", 0)
    log.pmiAddInstance(buckets, "127.0.0.1:5064::128-255", 7)
    log.pmiAddInstance(buckets, "127.0.0.1:5064::256-511", 8)

    final = {
        "epics.capture.eof": 1,
        "epics.ca.search.requests": 42,
        "epics.ca.pv.bytes_in": {"TEST:AO001": 168, "TEST:STR001": 176,
                                 "TEST:BIG": 18446744073709551615},
        "epics.ca.pv.server": {"TEST:AO001": "127.0.0.1:5064", "TEST:STR001": "127.0.0.1:5064"},
        "epics.ca.pv.writes": {"TEST:AO001": 1, "TEST:STR001": 0},
        "epics.ca.server.bytes_out": {"127.0.0.1:5064": 1234},
        "epics.ca.server.read_latency.count": {"127.0.0.1:5064": 3},
        "epics.ca.server.read_latency.sum": {"127.0.0.1:5064": 700},
        "epics.ca.server.read_latency.histogram": {"127.0.0.1:5064::128-255": 2,
                                                   "127.0.0.1:5064::256-511": 1},
    }
    t0 = 1795344228
    for step in range(3):
        last = step == 2
        for name, want in final.items():
            if isinstance(want, dict):
                insts = dict(want)
                if not last and name.startswith("epics.ca.pv."):
                    insts["TEST:GONE"] = 7      # an instance that goes away
                for inst, v in insts.items():
                    if not last and isinstance(v, int) and v < 2**63:
                        v += 1000
                    elif not last and isinstance(v, str):
                        v = "10.0.0.1:5064"
                    log.pmiPutValue(name, inst, str(v))
            else:
                log.pmiPutValue(name, "", str(want if last else want + 1000))
        log.pmiWrite(t0 + step, 0)
    log.pmiEnd()
    with open(expected_path, "w") as f:
        json.dump({"metrics": final}, f, indent=1)


if __name__ == "__main__":
    main()

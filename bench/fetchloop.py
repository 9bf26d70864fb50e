#!/usr/bin/python3
"""Fetch every per-PV metric of pmdaepics at a fixed period, as a client would.

    fetchloop.py PERIOD_MS

Looks up every metric under epics.ca.pv and epics.pva.pv once, then fetches
them all (every instance) every PERIOD_MS milliseconds from the local pmcd
until SIGTERM or SIGINT, and prints one line: fetches, then the fetch
latency in milliseconds as median, p95 and max.
"""
import signal
import sys
import time

from pcp import pmapi
import cpmapi as c_api

stop = False


def on_signal(_sig, _frame):
    global stop
    stop = True


def main():
    period = float(sys.argv[1]) / 1000.0
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    ctx = pmapi.pmContext(c_api.PM_CONTEXT_HOST, "local:")
    names = []
    for top in ("epics.ca.pv", "epics.pva.pv"):
        ctx.pmTraversePMNS(top, names.append)
    pmids = ctx.pmLookupName(names)
    lat = []
    nxt = time.monotonic()
    while not stop:
        t0 = time.monotonic()
        result = ctx.pmFetch(pmids)
        lat.append((time.monotonic() - t0) * 1000.0)
        ctx.pmFreeResult(result)
        nxt += period
        delay = nxt - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        else:
            nxt = time.monotonic()
    lat.sort()
    if not lat:
        print("0 - - -")
        return
    med = lat[len(lat) // 2]
    p95 = lat[min(len(lat) - 1, int(len(lat) * 0.95))]
    print(f"{len(lat)} {med:.1f} {p95:.1f} {lat[-1]:.1f}")


main()

#!/usr/bin/python3
"""What pmproxy's /series REST calls and pmseries answer about the hosts of
qa/100-facility, checked against each host's capture (NAME.expected.json).

Prints one "PASS what" or "FAIL what" line per check (details indented).
Series reach the key-value server through pmproxy's archive discovery, a
little after pmlogger wrote them: each check is retried for up to --wait
seconds before it fails.
"""
import argparse
import json
import re
import subprocess
import sys
import time
import urllib.parse

# metrics checked per host: in the 1 s (scaled 10 s) and 3 s (scaled 30 s) groups
CHECKED = ["epics.{p}.server.monitor_updates", "epics.{p}.server.bytes_out",
           "epics.{p}.server.connects", "epics.{p}.pv.monitor_updates", "epics.{p}.pv.bytes_out"]


def get(url, path, **params):
    # through curl: pmproxy 6.0.3 chunks large answers in a way Python's
    # http.client rejects
    q = urllib.parse.urlencode(params)
    out = subprocess.run(["curl", "-sS", "-m", "20", f"{url}{path}?{q}"], capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout)


def latest_by_instance(url, metric, host):
    """{instance name: latest value} of metric on host, from /series"""
    expr = f'{metric}{{hostname=="{host}"}}'
    series = get(url, "/series/query", expr=expr)
    if not series:
        return {}
    values = get(url, "/series/query", expr=expr + "[samples:1]")
    names = {}
    for s in series:
        for i in get(url, "/series/instances", series=s):
            names[i["instance"]] = i["name"]
    return {names.get(v.get("instance"), "?"): int(float(v["value"])) for v in values}


def report(ok, what, detail=""):
    print(("PASS " if ok else "FAIL ") + what)
    if not ok and detail:
        print("    " + str(detail).replace("\n", "\n    ")[:3000])
    sys.stdout.flush()


def retry(fn, wait):
    end = time.time() + wait
    while True:
        ok, detail = fn()
        if ok or time.time() > end:
            return ok, detail
        time.sleep(1)


def pmseries(port, expr):
    out = subprocess.run(["pmseries", "-p", str(port), expr], capture_output=True, text=True, timeout=60)
    return out.stdout + out.stderr


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--redis-port", required=True)
    ap.add_argument("--captures", required=True)
    ap.add_argument("--hosts", required=True, help="host=capture,...")
    ap.add_argument("--work", required=True)
    ap.add_argument("--wait", type=float, default=60)
    a = ap.parse_args()
    hosts = dict(h.split("=", 1) for h in a.hosts.split(","))
    expected = {h: json.load(open(f"{a.captures}/{c}.expected.json"))["metrics"] for h, c in hosts.items()}

    # 1. per host, /series: the exact final values of its capture
    for host, cap in hosts.items():
        proto = cap.split("_")[0]
        for pattern in CHECKED:
            metric = pattern.format(p=proto)
            want = expected[host].get(metric)
            if want is None:
                continue

            def attempt(metric=metric, host=host, want=want):
                try:
                    got = latest_by_instance(a.url, metric, host)
                except Exception as e:
                    return False, repr(e)
                # expected.json leaves out instances whose value is 0
                got = {k: v for k, v in got.items() if v or k in want}
                return got == want, f"got  {got}\nwant {want}"
            ok, detail = retry(attempt, a.wait)
            report(ok, f"/series {host} ({cap}): {metric}, {len(want)} instances", detail)

    # 2. pmseries over every sniffer: one IOC's monitor updates summed
    ioc = "127.0.0.1:5064"
    metric = "epics.ca.server.monitor_updates"
    want_hosts = sorted(h for h in hosts if ioc in expected[h].get(metric, {}))
    want_sum = sum(expected[h][metric][ioc] for h in want_hosts)

    def aggregate():
        out = pmseries(a.redis_port, metric + "[samples:1]")
        with open(f"{a.work}/pmseries-aggregate.txt", "w") as f:
            f.write(out)
        ids = re.findall(r"^([0-9a-f]{40})$", out, re.M)
        try:
            names = {}
            if ids:
                for i in get(a.url, "/series/instances", series=",".join(ids)):
                    names[i["instance"]] = i["name"]
        except Exception as e:
            return False, repr(e)
        vals = [int(float(m.group(1))) for m in re.finditer(r"^\s+\[[^\]]*\]\s+(\S+)\s+([0-9a-f]{40})", out, re.M)
                if names.get(m.group(2)) == ioc]
        # a sniffer that saw the IOC without updates (expected.json omits 0) has a 0
        return (len([v for v in vals if v]) == len(want_hosts) and sum(vals) == want_sum,
                f"values of {ioc}: {vals}, sum {sum(vals)} (want {want_sum} from {want_hosts})\n{out}")
    ok, detail = retry(aggregate, a.wait)
    report(ok, f"pmseries '{metric}' over every sniffer: {ioc} seen by {len(want_hosts)}, updates summed = {want_sum}",
           detail)

    # 4. pmseries finds each host's series by hostname, none of another's
    for host in hosts:
        out = pmseries(a.redis_port, f'epics.capture.packets{{hostname=="{host}"}}')
        ids = re.findall(r"^[0-9a-f]{40}$", out, re.M)
        report(len(ids) == 1, f"pmseries epics.capture.packets{{hostname==\"{host}\"}}: one series", out)

    # 5. the agent's own label (interfaces, at the domain level) in a query
    out = pmseries(a.redis_port, 'epics.capture.packets{interfaces=="mir0"}')
    ids = re.findall(r"^[0-9a-f]{40}$", out, re.M)
    report(len(ids) == len(hosts), f"pmseries epics.capture.packets{{interfaces==\"mir0\"}}: "
           f"{len(hosts)} series, one a sniffer", out)


main()

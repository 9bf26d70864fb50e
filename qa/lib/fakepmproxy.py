#!/usr/bin/python3
"""A stand-in for pmproxy's PMWEBAPI, serving scripted epics.* latency
metrics to the dashboard: the metric values it cannot get from the replayed
captures (request latencies that jump).

usage: fakepmproxy.py PORT

Serves on 127.0.0.1:PORT, with the Access-Control-Allow-Origin header as
pmproxy sends it: /pmapi/context, /pmapi/CTX/metric?prefix=P,
/pmapi/CTX/fetch?names=M,... and /pmapi/CTX/indom?name=M, in pmproxy's JSON
shapes. Each fetch is one second later than the one before. The script:
  10.0.0.1:5064 (CA)   2 WRITE_NOTIFY a second completing in 800 us, from
                       the 20th fetch on in 100 ms (a jump); echoes steady
  10.0.0.3:5064 (CA)   the same writes, steady at 800 us; echoes steady
  10.0.0.5:5075 (PVA)  puts steady at 3 ms; echoes at 150 us, from the 20th
                       fetch on at 50 ms (a jump)
Latency histograms are cumulative counters per bucket, instances
"SERVER::lo-hi" listed once they have a sample, as the agent exports them.
"""
import json
import math
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs, urlparse

T0 = 1795344228.0
JUMP_AT = 20
# (protocol, server, stem): (latency before, latency from JUMP_AT on, per second)
SCRIPT = {
    ("ca", "10.0.0.1:5064", "write_latency"): (800, 100000, 2),
    ("ca", "10.0.0.1:5064", "echo_latency"): (120, 120, 1),
    ("ca", "10.0.0.3:5064", "write_latency"): (800, 800, 2),
    ("ca", "10.0.0.3:5064", "echo_latency"): (120, 120, 1),
    ("pva", "10.0.0.5:5075", "put_latency"): (3000, 3000, 1),
    ("pva", "10.0.0.5:5075", "echo_latency"): (150, 50000, 1),
}


def bucket(us):
    e = 0 if us < 2 else int(math.log2(us))
    return f"{0 if e == 0 else 2 ** e}-{2 ** (e + 1) - 1}"


class State:
    def __init__(self):
        self.n = 0
        self.values = {}        # metric -> {instance name: value}
        self.ids = {}           # instance name -> id

    def step(self):
        self.n += 1
        v = self.values
        v["epics.capture.packets"] = {"": 100 * self.n}
        v["epics.capture.eof"] = {"": 0}
        for (p, server, stem), (before, after, rate) in SCRIPT.items():
            us = before if self.n < JUMP_AT else after
            v.setdefault(f"epics.{p}.server.connects", {})[server] = 5
            m = f"epics.{p}.server.{stem}"
            cnt = v.setdefault(m + ".count", {})
            cnt[server] = cnt.get(server, 0) + rate
            total = v.setdefault(m + ".sum", {})
            total[server] = total.get(server, 0) + rate * us
            hist = v.setdefault(m + ".histogram", {})
            inst = f"{server}::{bucket(us)}"
            hist[inst] = hist.get(inst, 0) + rate

    def iid(self, name):
        return self.ids.setdefault(name, len(self.ids))


STATE = State()
# every name the dashboard may ask for exists from the start
for (p, server, stem) in SCRIPT:
    for x in ("count", "sum", "histogram"):
        STATE.values.setdefault(f"epics.{p}.server.{stem}.{x}", {})
STATE.values.setdefault("epics.capture.packets", {"": 0})


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def reply(self, body, code=200):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        u = urlparse(self.path)
        q = {k: v[0] for k, v in parse_qs(u.query).items()}
        parts = u.path.strip("/").split("/")
        if parts == ["pmapi", "context"]:
            return self.reply({"context": 1})
        if len(parts) != 3 or parts[0] != "pmapi":
            return self.reply({"message": "unknown request", "success": False}, 400)
        what = parts[2]
        if what == "metric":
            prefix = q.get("prefix", "")
            return self.reply({"context": 1, "metrics": [
                {"name": m} for m in sorted(STATE.values) if m.startswith(prefix)]})
        if what == "fetch":
            STATE.step()
            out = []
            for name in q.get("names", "").split(","):
                if name not in STATE.values:
                    continue
                out.append({"name": name, "instances": [
                    {"instance": None if i == "" else STATE.iid(i), "value": v}
                    for i, v in STATE.values[name].items()]})
            return self.reply({"context": 1, "timestamp": T0 + STATE.n, "values": out})
        if what == "indom":
            insts = STATE.values.get(q.get("name", ""), {})
            return self.reply({"context": 1, "instances": [
                {"instance": STATE.iid(i), "name": i} for i in insts if i != ""]})
        return self.reply({"message": "unknown request", "success": False}, 400)


if __name__ == "__main__":
    HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()

#!/usr/bin/python3
"""Compare epics.* metric values with a capture's expected.json.

usage:
  compare.py EXPECTED.json... --pmcd [--host HOST]  the live pmcd (default local:)
  compare.py EXPECTED.json... --archive ARCHIVE     the last sample of an archive
  compare.py EXPECTED.json... --dbpmda-output FILE  output of the script below
  compare.py EXPECTED.json... --dbpmda-script --agent PATH --pcap FILE.pcap \\
             [--log LOG] [--help-file HELP] [--eof-timeout S] [--agent-args ARGS]
                                                    print a dbpmda script

Several files (a capture's expected.json and expected2.json) are checked
against one set of values, fetched once: each must match.

EXPECTED.json is {"metrics": {METRIC: VALUE or {INSTANCE: VALUE}}}. A scalar
VALUE is compared with a singular metric. Listed instances must exist and have
exactly those values; instances not listed are not checked; an empty {} checks
only that the metric exists. Numbers compare exactly (as numbers: 5 equals
5.0, never "5"); strings compare exactly.

Prints one line per problem, then with several files one line per file
("  FILE: N values of M metrics, K mismatches"), then one summary line, and
exits 0 when all values match, 1 on any mismatch or missing metric or instance, 2 when the
source cannot be read at all.

Problem lines (values are JSON, so strings are quoted):
  MISSING  metric=M                                   no such metric
  MISMATCH metric=M expected=V got=V                  singular metric
  MISMATCH metric=M instance="I" expected=V got=V     one instance
  got=none: no value for that instance (or none at all); got=error("...")
  when the agent answered the fetch with an error.

--replayed: the values come from a live replay of the capture, whose
packets carry the replay's times, not the capture's. Values that depend on
them (the sum, max and histogram of every *_latency and update_age metric)
cannot match; they are checked as far as the replay allows: a sum or max
must be there, and a histogram's samples, added over an object's buckets,
must number what the expected buckets hold. Every other value is compared
exactly. The summary says how many values were checked that way.

Needs the PCP Python bindings (python3-pcp) for --pmcd and --archive; run it
with /usr/bin/python3.
"""
import argparse
import json
import re
import sys

DOMAIN = 510
EOF_METRIC = "epics.capture.eof"


class NoValue:
    """A metric that exists but returned no value (or an error)."""

    def __init__(self, error=None):
        self.error = error

    def __repr__(self):
        return f"error({json.dumps(self.error)})" if self.error else "none"


def fmt(v):
    if isinstance(v, NoValue):
        return repr(v)
    if isinstance(v, dict):
        return f"<{len(v)} instances>"
    return json.dumps(v)


def load_expected(path):
    with open(path) as f:
        doc = json.load(f)
    if not isinstance(doc, dict) or not isinstance(doc.get("metrics"), dict):
        raise ValueError(f"{path}: no \"metrics\" object")
    return doc["metrics"]


# ---------------------------------------------------------------------------
# Values from PCP itself: a live pmcd or an archive (pcp.pmapi)

def from_pmapi(kind, source, names):
    """{metric: scalar | {instance name: value} | NoValue} for the names that
    exist; names that do not exist are left out."""
    from pcp import pmapi
    import cpmapi as c_api

    if kind == "archive":
        ctx = pmapi.pmContext(c_api.PM_CONTEXT_ARCHIVE, source)
    else:
        ctx = pmapi.pmContext(c_api.PM_CONTEXT_HOST, source)

    found = []
    for name in names:
        try:
            ctx.pmLookupName(name)
        except pmapi.pmErr:
            continue            # missing from the namespace
        found.append(name)
    if not found:
        return {}
    pmids = ctx.pmLookupName(found)
    descs = ctx.pmLookupDescs(pmids)

    def value_of(valfmt, vlist, desc):
        t = desc.type
        atom = ctx.pmExtractValue(valfmt, vlist, t, t)
        if t == c_api.PM_TYPE_STRING:
            v = atom.cp
            return v.decode(errors="replace") if isinstance(v, bytes) else v
        if t == c_api.PM_TYPE_32:
            return atom.l
        if t == c_api.PM_TYPE_U32:
            return atom.ul
        if t == c_api.PM_TYPE_64:
            return atom.ll
        if t == c_api.PM_TYPE_U64:
            return atom.ull
        if t == c_api.PM_TYPE_FLOAT:
            return atom.f
        if t == c_api.PM_TYPE_DOUBLE:
            return atom.d
        return f"<type {t}>"

    inames = {}

    def inst_name(desc, inst):
        key = (desc.indom, inst)
        if key not in inames:
            try:
                if kind == "archive":
                    inames[key] = ctx.pmNameInDomArchive(desc, inst)
                else:
                    inames[key] = ctx.pmNameInDom(desc, inst)
            except pmapi.pmErr:
                inames[key] = f"?{inst}"
        return inames[key]

    def extract(result):
        out = {}
        r = result.contents
        for i, name in enumerate(found):
            desc = descs[i]
            numval = r.get_numval(i)
            singular = desc.indom == c_api.PM_INDOM_NULL
            if numval < 0:
                out[name] = NoValue(pmapi.pmErr(numval).message())
                continue
            if numval == 0:
                out[name] = NoValue() if singular else {}
                continue
            valfmt = r.get_valfmt(i)
            if singular:
                out[name] = value_of(valfmt, r.get_vlist(i, 0), desc)
                continue
            vals = {}
            for j in range(numval):
                vlist = r.get_vlist(i, j)
                vals[inst_name(desc, r.get_inst(i, j))] = value_of(valfmt, vlist, desc)
            out[name] = vals
        return out

    values = None
    if kind == "archive":
        # walk forwards through every record: the last one is the sample taken
        # at the end of the capture
        while True:
            try:
                result = ctx.pmFetch(pmids)
            except pmapi.pmErr as e:
                if e.args[0] == c_api.PM_ERR_EOL:
                    break
                raise
            values = extract(result)
            ctx.pmFreeResult(result)
        if values is None:
            values = {name: NoValue("archive holds no sample") for name in found}
    else:
        result = ctx.pmFetch(pmids)
        values = extract(result)
        ctx.pmFreeResult(result)
    return values


# ---------------------------------------------------------------------------
# dbpmda: the script, and its output
#
# Output of dbpmda -e with "getdesc on" and "getiname on" (PCP 6.0.3), one
# fetch per metric:
#
#   fetch epics.ca.pv.server                       <- the command, echoed (-e)
#   PMID(s): 510.12.1
#   __pmResult dump from 0x55a3 timestamp: 0.000000000 00:00:00.000000000 numpmid: 1
#     510.12.1 (epics.ca.pv.server): numval: 2 valfmt: 1 vlist[]:
#       inst [0 or "TEST:AO001"] value "127.0.0.1:5064"
#       inst [1 or "TEST:AO002"] value "127.0.0.1:5064"
#   fetch epics.ca.search.requests
#   PMID(s): 510.2.0
#   __pmResult dump from ...
#     510.2.0 (epics.ca.search.requests): numval: 1 valfmt: 1 vlist[]:
#      value 42
#
# - The name in parentheses may list several names of one PMID, joined by
#   " or ".
# - Singular values: "   value V" (3 spaces); instances: "    inst [ID or
#   "NAME"] value V" (4 spaces), "[ID or ???]" when the agent gave no name.
# - With getdesc on, values are printed by type: integers in decimal (64-bit
#   ones in full), doubles in full precision ("123456789012.125", "0.1"),
#   strings in double quotes, unescaped. With getdesc off, 32-bit values are
#   printed three ways ("1 1.4012985e-45 0x1"): the first is the integer.
# - No value: "  ID (NAME): No values returned!"; an error for one metric:
#   "  ID (NAME): <error text>"; a failed fetch: "Error PDU: <error text>";
#   a name not in the namespace: "Error: Unknown metric name" after the echo.
# - dbpmda exits 0 in every case: its output is the only verdict.

def dbpmda_script(expected, agent, pcap, log, helpfile=None, eof_timeout=30,
                  agent_args="", domain=DOMAIN, eof_metric=EOF_METRIC):
    opts = f"-d {domain} -l {log}"
    if helpfile:
        opts += f" -h {helpfile}"
    if agent_args:
        opts += f" {agent_args}"
    if pcap:
        opts += f" -r {pcap}"
    lines = [
        f"# dbpmda -n ROOT -e: fetch every metric of an expected.json, once {eof_metric} is 1",
        f"open pipe {agent} {opts}",
        "getdesc on",
        "getiname on",
        # Poll until the agent has read the whole file. Run as it is, the
        # script always waits eof_timeout seconds; qa/lib/dbpmda.sh stops
        # polling as soon as the value is 1.
        f"# poll {eof_metric}: begin",
    ]
    for _ in range(max(1, int(eof_timeout))):
        lines += [f"fetch {eof_metric}", "wait 1"]
    lines += [f"fetch {eof_metric}", f"# poll {eof_metric}: end"]
    for name in sorted(expected):
        if name != eof_metric:
            lines.append(f"fetch {name}")
    lines.append("quit")
    return "\n".join(lines) + "\n"


RE_FETCH_CMD = re.compile(r"^fetch\s+(\S+)\s*$")
RE_HEADER = re.compile(r"^\s+\d+\.\d+\.\d+ \((.*)\): (.*)$")
RE_NUMVAL = re.compile(r"^numval: (-?\d+)\b")
RE_SINGLE = re.compile(r"^\s+value (.*)$")
RE_INST = re.compile(r'^\s+inst \[(\d+) or (?:"(.*?)"|\?\?\?)\] value (.*)$')


def parse_value(text):
    text = text.strip()
    if len(text) >= 2 and text.startswith('"') and text.endswith('"'):
        return text[1:-1]
    m = re.match(r"^(-?\d+) \S+ 0x[0-9a-fA-F]+$", text)   # getdesc off, 32 bits
    if m:
        return int(m.group(1))
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


def parse_dbpmda(path, eof_metric=EOF_METRIC):
    """(values, problems): values as from_pmapi; problems are lines about the
    run itself (agent not started, file not finished, ...)."""
    values = {}
    problems = []
    eof_values = []            # every value of epics.capture.eof, in order
    early = set()              # metrics fetched before eof was seen as 1
    current = None             # names of the metric whose values follow
    requested = None           # the last "fetch X" command
    started = False
    with open(path, errors="replace") as f:
        for raw in f:
            line = raw.rstrip("\n")
            if line.startswith("Start ") and " PMDA: " in line:
                started = True
                continue
            m = RE_FETCH_CMD.match(line)
            if m:
                requested = m.group(1)
                current = None
                continue
            if line.startswith("Error PDU:") and requested:
                values.setdefault(requested, NoValue(line[len("Error PDU:"):].strip()))
                continue
            m = RE_HEADER.match(line)
            if m:
                names = [n.strip() for n in m.group(1).split(" or ")]
                if requested and requested not in names and re.match(r"^\d+\.\d+\.\d+$", requested) is None:
                    names.append(requested)
                rest = m.group(2)
                n = RE_NUMVAL.match(rest)
                if n is None:
                    v = NoValue() if rest.startswith("No values returned") else NoValue(rest)
                    current = None
                elif int(n.group(1)) < 0:
                    v = NoValue(rest)
                    current = None
                else:
                    v = {}
                    current = names
                for name in names:
                    values[name] = v
                    if name != eof_metric and not (eof_values and eof_values[-1] == 1):
                        early.add(name)
                if eof_metric in names and not isinstance(v, dict):
                    eof_values.append(v)
                continue
            if current is None:
                continue
            m = RE_INST.match(line)
            if m:
                inst_id, iname, text = m.groups()
                key = iname if iname is not None else f"?{inst_id}"
                for name in current:
                    values[name][key] = parse_value(text)
                continue
            m = RE_SINGLE.match(line)
            if m:
                v = parse_value(m.group(1))
                for name in current:
                    values[name] = v
                if eof_metric in current:
                    eof_values.append(v)
                current = None
                continue
            current = None
    if not started:
        problems.append("dbpmda did not start the agent (no \"Start ... PMDA\" line)")
    if not eof_values:
        problems.append(f"{eof_metric} was never fetched")
    elif eof_values[-1] != 1:
        problems.append(f"{eof_metric} is {eof_values[-1]!r}: the agent had not finished the file")
    elif early:
        problems.append(f"fetched before {eof_metric} was 1: {', '.join(sorted(early))}")
    return values, problems


# ---------------------------------------------------------------------------

def same(want, have):
    if isinstance(have, NoValue):
        return False
    if isinstance(want, bool) or isinstance(have, bool):
        return want is have
    if isinstance(want, (int, float)) and isinstance(have, (int, float)):
        return want == have
    return type(want) is type(have) and want == have


# values that depend on the capture's timestamps (see --replayed)
TIMED = re.compile(r"(_latency|update_age)\.(sum|max|histogram)$")


def histogram_totals(values):
    """{object: samples over its buckets} of "OBJECT::lo-hi" instances"""
    totals = {}
    for inst, v in values.items():
        obj = inst.rpartition("::")[0]
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            totals[obj] = totals.get(obj, 0) + v
    return totals


def compare_replayed(metric, want, have, verbose):
    """A time-dependent metric of a replay; returns (checked, problems)"""
    if not want:
        return 0, 0
    if not isinstance(have, dict):
        print(f"MISMATCH metric={metric} expected=<{len(want)} instances> got={fmt(have)}")
        return len(want), len(want)
    bad = checked = 0
    if metric.endswith(".histogram"):
        wt, ht = histogram_totals(want), histogram_totals(have)
        for obj in sorted(wt):
            checked += 1
            if not same(wt[obj], ht.get(obj, NoValue())):
                print(f"MISMATCH metric={metric} object={json.dumps(obj)} "
                      f"expected={wt[obj]} samples got={fmt(ht.get(obj, NoValue()))} (replayed)")
                bad += 1
            elif verbose:
                print(f"ok       metric={metric} object={json.dumps(obj)} samples={wt[obj]} (replayed)")
        return checked, bad
    for inst in sorted(want):
        checked += 1
        h = have.get(inst, NoValue())
        if isinstance(h, (int, float)) and not isinstance(h, bool):
            if verbose:
                print(f"ok       metric={metric} instance={json.dumps(inst)} present={fmt(h)} (replayed)")
        else:
            print(f"MISMATCH metric={metric} instance={json.dumps(inst)} expected=a value got={fmt(h)} (replayed)")
            bad += 1
    return checked, bad


def compare(expected, got, verbose=False, replayed=False):
    """Print problem lines; return (values checked, problems, of them
    checked as time-dependent values of a replay)."""
    bad = checked = timed = 0
    for metric in sorted(expected):
        want = expected[metric]
        if metric not in got:
            print(f"MISSING  metric={metric}")
            bad += 1
            continue
        have = got[metric]
        if replayed and TIMED.search(metric) and isinstance(want, dict):
            c, b = compare_replayed(metric, want, have, verbose)
            checked += c
            timed += c
            bad += b
            continue
        if isinstance(want, dict):
            if not want:
                continue            # the metric exists: nothing else checked
            if not isinstance(have, dict):
                print(f"MISMATCH metric={metric} expected=<{len(want)} instances> got={fmt(have)}")
                bad += len(want)
                checked += len(want)
                continue
            for inst in sorted(want):
                checked += 1
                v = want[inst]
                h = have.get(inst, NoValue())
                if same(v, h):
                    if verbose:
                        print(f"ok       metric={metric} instance={json.dumps(inst)} value={fmt(h)}")
                else:
                    print(f"MISMATCH metric={metric} instance={json.dumps(inst)} expected={fmt(v)} got={fmt(h)}")
                    bad += 1
        else:
            checked += 1
            if isinstance(have, dict):
                print(f"MISMATCH metric={metric} expected={fmt(want)} got={fmt(have)}")
                bad += 1
            elif same(want, have):
                if verbose:
                    print(f"ok       metric={metric} value={fmt(have)}")
            else:
                print(f"MISMATCH metric={metric} expected={fmt(want)} got={fmt(have)}")
                bad += 1
    return checked, bad, timed


def jsonable(values):
    out = {}
    for k, v in values.items():
        if isinstance(v, dict):
            out[k] = {i: (repr(x) if isinstance(x, NoValue) else x) for i, x in v.items()}
        else:
            out[k] = repr(v) if isinstance(v, NoValue) else v
    return out


def main():
    ap = argparse.ArgumentParser(
        description="Compare epics.* values with a capture's expected.json.",
        epilog="See the top of this file for the output format.")
    ap.add_argument("expected", nargs="+", help="NAME.expected.json (and NAME.expected2.json)")
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--pmcd", action="store_true", help="fetch from a live pmcd")
    src.add_argument("--archive", metavar="ARCHIVE", help="last sample of this archive")
    src.add_argument("--dbpmda-output", metavar="FILE", help="parse dbpmda output")
    src.add_argument("--dbpmda-script", action="store_true", help="print a dbpmda script")
    ap.add_argument("--host", default="local:", help="pmcd to ask with --pmcd (default local:)")
    ap.add_argument("--agent", default="pmda/pmdaepics", help="agent binary (script)")
    ap.add_argument("--pcap", help="capture the agent reads with -r (script)")
    ap.add_argument("--log", default="epics.log", help="agent log file (script)")
    ap.add_argument("--help-file", help="agent help text, -h (script)")
    ap.add_argument("--agent-args", default="", help="more agent options (script)")
    ap.add_argument("--domain", type=int, default=DOMAIN, help="agent domain (script)")
    ap.add_argument("--eof-timeout", type=int, default=30,
                    help=f"seconds to poll {EOF_METRIC} (script, default 30)")
    ap.add_argument("--eof-metric", default=EOF_METRIC,
                    help="the metric that is 1 once the agent has read its file "
                         "(script and dbpmda output; for testing with other agents)")
    ap.add_argument("--dump", metavar="FILE", help="write the values found as JSON")
    ap.add_argument("--replayed", action="store_true",
                    help="values of a live replay: time-dependent values checked as far as it allows")
    ap.add_argument("-v", "--verbose", action="store_true", help="print matching values too")
    args = ap.parse_args()

    files = []                  # (path, metrics), each checked on its own
    expected = {}               # every metric of every file: fetched once
    for path in args.expected:
        try:
            metrics = load_expected(path)
        except (OSError, ValueError) as e:
            print(f"ERROR cannot read {path}: {e}")
            return 2
        files.append((path, metrics))
        expected.update(metrics)

    if args.dbpmda_script:
        sys.stdout.write(dbpmda_script(expected, args.agent, args.pcap, args.log,
                                       args.help_file, args.eof_timeout,
                                       args.agent_args, args.domain, args.eof_metric))
        return 0

    problems = []
    try:
        if args.dbpmda_output:
            got, problems = parse_dbpmda(args.dbpmda_output, args.eof_metric)
            source = f"dbpmda output {args.dbpmda_output}"
        elif args.pmcd:
            got = from_pmapi("host", args.host, list(expected))
            source = f"pmcd ({args.host})"
        else:
            got = from_pmapi("archive", args.archive, list(expected))
            source = f"archive {args.archive}"
    except Exception as e:          # no pmcd, unreadable archive, ...
        print(f"ERROR cannot read values: {e}")
        print("0 values checked, source unreadable")
        return 2

    if args.dump:
        with open(args.dump, "w") as f:
            json.dump(jsonable(got), f, indent=1, sort_keys=True)

    for p in problems:
        print(f"PROBLEM  {p}")
    checked = bad = timed = 0
    summaries = []
    for path, metrics in files:
        c, b, t = compare(metrics, got, args.verbose, args.replayed)
        note = f" ({t} of them time-dependent, checked as a replay allows)" if t else ""
        summaries.append(f"  {path}: {c} values of {len(metrics)} metrics{note}, {b} mismatches")
        checked += c
        bad += b
        timed += t
    if len(files) > 1:
        print("\n".join(summaries))
    bad += len(problems)
    note = f" ({timed} of them time-dependent, checked as a replay allows)" if timed else ""
    print(f"{checked} values of {sum(len(m) for _, m in files)} metrics checked against {source}"
          f"{note}: {bad} mismatches")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

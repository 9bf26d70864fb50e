#!/usr/bin/python3
"""Compare epics.* metric values with a capture's expected.json.

Sources:
  --pmcd                 the local pmcd (live agent)
  --archive PATH         the last sample of a PCP archive (epics2pcp, pmlogger)
  --dbpmda-output FILE   the output of the script printed by --dbpmda-script
  --dbpmda-script        print a dbpmda script that fetches every expected metric
                         (with --agent, --pcap, --log, --help-file)

expected.json is {"metrics": {METRIC: VALUE or {INSTANCE: VALUE}}}: listed
instances must have exactly those values; instances not listed are not
checked; the metric itself must exist. Prints one line per mismatch and a
summary; exits 1 on any mismatch.
"""
import argparse
import json
import re
import sys

DOMAIN = 510


def load_expected(path):
    with open(path) as f:
        return json.load(f)["metrics"]


def from_pmapi(ctx_type, source, names):
    from pcp import pmapi
    import cpmapi as c_api

    ctx = pmapi.pmContext(ctx_type, source)
    values = {}
    found = []
    for name in names:
        try:
            ctx.pmLookupName(name)
        except pmapi.pmErr:
            continue
        found.append(name)
    if not found:
        return values
    pmid_array = ctx.pmLookupName(found)
    pmids = list(zip(found, pmid_array))
    descs = ctx.pmLookupDescs(pmid_array)
    archive = ctx_type == c_api.PM_CONTEXT_ARCHIVE

    def extract(result):
        out = {}
        for i, (name, _) in enumerate(pmids):
            desc = descs[i]
            numval = result.contents.get_numval(i)
            if numval < 0:
                continue
            vals = {}
            for j in range(numval):
                atom = ctx.pmExtractValue(result.contents.get_valfmt(i),
                                          result.contents.get_vlist(i, j), desc.type, desc.type)
                if desc.type == c_api.PM_TYPE_STRING:
                    v = atom.cp
                    v = v.decode() if isinstance(v, bytes) else v
                elif desc.type in (c_api.PM_TYPE_U64, c_api.PM_TYPE_64):
                    v = atom.ull if desc.type == c_api.PM_TYPE_U64 else atom.ll
                elif desc.type in (c_api.PM_TYPE_U32, c_api.PM_TYPE_32):
                    v = atom.ul if desc.type == c_api.PM_TYPE_U32 else atom.l
                else:
                    v = atom.d
                inst = result.contents.get_inst(i, j)
                if desc.indom == c_api.PM_INDOM_NULL:
                    vals = v
                else:
                    iname = (ctx.pmNameInDomArchive(desc, inst) if archive
                             else ctx.pmNameInDom(desc, inst))
                    vals[iname] = v
            out[name] = vals
        return out

    if archive:
        while True:
            try:
                result = ctx.pmFetch(pmid_array)
            except pmapi.pmErr as e:
                if e.args[0] == c_api.PM_ERR_EOL:
                    break
                raise
            values = extract(result)   # the last sample wins
            ctx.pmFreeResult(result)
    else:
        result = ctx.pmFetch(pmid_array)
        values = extract(result)
        ctx.pmFreeResult(result)
    # metrics that exist but have no value in the sample
    for name, _ in pmids:
        values.setdefault(name, {})
    return values


def dbpmda_script(expected, agent, pcap, log, helpfile):
    lines = [f"open pipe {agent} -d {DOMAIN} -l {log} -h {helpfile} -r {pcap}",
             "wait 3",
             "fetch epics.capture.eof"]
    for name in sorted(expected):
        lines.append(f"desc {name}")
        lines.append(f"fetch {name}")
    for serial in range(12):
        lines.append(f"instance {DOMAIN}.{serial}")
    return "\n".join(lines) + "\n"


def parse_dbpmda(path):
    """Values from dbpmda output: desc (indom), fetch (values), instance (names)."""
    indom_of = {}
    names = {}          # indom serial -> {inst id: name}
    raw = {}            # metric -> scalar or {inst id: value}
    current_desc = None
    current_metric = None
    current_indom = None
    with open(path, errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            m = re.match(r"^desc (\S+)$", line)
            if m:
                current_desc = m.group(1)
                continue
            m = re.match(r"^\s+Data Type: .*InDom: (\S+)", line)
            if m and current_desc:
                indom_of[current_desc] = m.group(1)
                current_desc = None
                continue
            m = re.match(r"^\s+\d+\.\d+\.\d+ \((\S+)\): (.*)$", line)
            if m:
                current_metric = m.group(1)
                raw[current_metric] = {} if "numval" in m.group(2) else None
                if "No values" in m.group(2):
                    raw[current_metric] = {}
                continue
            m = re.match(r"^\s+inst \[(\d+) or [^\]]*\] value (.*)$", line)
            if m and current_metric:
                if not isinstance(raw.get(current_metric), dict):
                    raw[current_metric] = {}
                raw[current_metric][int(m.group(1))] = parse_value(m.group(2))
                continue
            m = re.match(r"^\s+value (.*)$", line)
            if m and current_metric:
                raw[current_metric] = parse_value(m.group(1))
                continue
            m = re.match(r"^pmInDom: (\d+)\.(\d+)$", line)
            if m:
                current_indom = f"{m.group(1)}.{m.group(2)}"
                names[current_indom] = {}
                continue
            m = re.match(r'^\[\s*\d+\] inst: (\d+) name: "(.*)"$', line)
            if m and current_indom:
                names[current_indom][int(m.group(1))] = m.group(2)
                continue
    values = {}
    for metric, v in raw.items():
        if isinstance(v, dict):
            indom = indom_of.get(metric)
            values[metric] = {names.get(indom, {}).get(i, f"?{i}"): x for i, x in v.items()}
        else:
            values[metric] = v
    return values


def parse_value(text):
    text = text.strip()
    m = re.match(r"^(-?\d+) \S+ 0x[0-9a-f]+$", text)   # 32-bit values: "1 1.4e-45 0x1"
    if m:
        return int(m.group(1))
    if text.startswith('"') and text.endswith('"'):
        return text[1:-1]
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text


def compare(expected, got):
    bad = 0
    checked = 0
    for metric, want in sorted(expected.items()):
        if metric not in got:
            print(f"MISSING metric {metric}")
            bad += 1
            continue
        have = got[metric]
        if isinstance(want, dict):
            if not isinstance(have, dict):
                print(f"MISMATCH {metric}: expected instances, got {have!r}")
                bad += 1
                continue
            for inst, v in sorted(want.items()):
                checked += 1
                if inst not in have:
                    print(f"MISMATCH {metric} [{inst}]: expected {v!r}, no value")
                    bad += 1
                elif have[inst] != v:
                    print(f"MISMATCH {metric} [{inst}]: expected {v!r}, got {have[inst]!r}")
                    bad += 1
        else:
            checked += 1
            if have != want:
                print(f"MISMATCH {metric}: expected {want!r}, got {have!r}")
                bad += 1
    print(f"{checked} values checked, {bad} mismatches")
    return bad


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("expected")
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--pmcd", action="store_true")
    src.add_argument("--archive")
    src.add_argument("--dbpmda-output")
    src.add_argument("--dbpmda-script", action="store_true")
    ap.add_argument("--agent", default="pmda/pmdaepics")
    ap.add_argument("--pcap")
    ap.add_argument("--log", default="epics.log")
    ap.add_argument("--help-file", default="help")
    args = ap.parse_args()

    expected = load_expected(args.expected)
    if args.dbpmda_script:
        sys.stdout.write(dbpmda_script(expected, args.agent, args.pcap, args.log, args.help_file))
        return 0
    if args.dbpmda_output:
        got = parse_dbpmda(args.dbpmda_output)
        if got.get("epics.capture.eof") != 1:
            print(f"MISMATCH epics.capture.eof: the agent had not finished the file "
                  f"({got.get('epics.capture.eof')!r})")
            return 1
    else:
        import cpmapi as c_api
        if args.pmcd:
            got = from_pmapi(c_api.PM_CONTEXT_HOST, "local:", list(expected))
        else:
            got = from_pmapi(c_api.PM_CONTEXT_ARCHIVE, args.archive, list(expected))
    return 1 if compare(expected, got) else 0


if __name__ == "__main__":
    sys.exit(main())

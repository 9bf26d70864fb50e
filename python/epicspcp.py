"""epics.* metrics of a PCP archive as pandas DataFrames.

    import epicspcp
    frames = epicspcp.load("archive")                  # {metric: DataFrame}
    upd = epicspcp.load("archive", "epics.ca.pv.monitor_updates", rate=True)
    tidy = epicspcp.load("archive", ["epics.ca.server"], wide=False)

load(archive, metrics=None, rate=False, wide=True)

    archive  a PCP archive (as written by pmlogger or epics2pcp)
    metrics  None (every metric under "epics"), one name or a list of names;
             a name may be a subtree ("epics.ca.server")
    rate     counters (counter semantics) become rates per second, computed
             from consecutive samples: (v[i] - v[i-1]) / (t[i] - t[i-1]),
             stamped with the later sample's time. The first sample has no
             rate and is dropped; an instance missing from either sample, or
             a counter that went backwards (an agent restart), gives NaN.
             Metrics with other semantics are returned unchanged.
    wide     True: one DataFrame per metric, indexed by a UTC DatetimeIndex
             named "time", one column per instance (named after the instance;
             a singular metric has one column named after the metric). A
             single metric name (a leaf, given as a string) returns that
             DataFrame itself, otherwise a dict {metric: DataFrame}.
             False: one long DataFrame with the columns time, metric,
             instance, value (instance is None for singular metrics).

Timestamps are the archive's own sample times (for epics2pcp archives, the
capture's time). Values are the archive's values: integers and doubles as
numbers, strings as Python strings. Event-record and aggregate metrics are
left out. Needs the PCP Python bindings (python3-pcp), so run it with the
system interpreter (/usr/bin/python3 on Debian).
"""
import ctypes
import math

import pandas as pd
from pcp import pmapi
import cpmapi as c_api

__all__ = ["load", "metric_names", "histogram_buckets"]

_SKIP_TYPES = (c_api.PM_TYPE_EVENT, c_api.PM_TYPE_HIGHRES_EVENT,
               c_api.PM_TYPE_AGGREGATE, c_api.PM_TYPE_AGGREGATE_STATIC,
               c_api.PM_TYPE_UNKNOWN, c_api.PM_TYPE_NOSUPPORT)


def _expand(ctx, names):
    """Leaf metric names under each of names (a leaf stays itself)."""
    out = []
    for name in names:
        leaves = []
        ctx.pmTraversePMNS(name, leaves.append)
        for leaf in leaves:
            if leaf not in out:
                out.append(leaf)
    return out


def metric_names(archive, prefix="epics"):
    """Leaf metric names of an archive under prefix."""
    ctx = pmapi.pmContext(c_api.PM_CONTEXT_ARCHIVE, archive)
    return sorted(_expand(ctx, [prefix]))


def _value(ctx, valfmt, vlist, mtype):
    atom = ctx.pmExtractValue(valfmt, vlist, mtype, mtype)
    if mtype == c_api.PM_TYPE_STRING:
        v = atom.cp
        return v.decode(errors="replace") if isinstance(v, bytes) else v
    return {c_api.PM_TYPE_32: lambda: atom.l, c_api.PM_TYPE_U32: lambda: atom.ul,
            c_api.PM_TYPE_64: lambda: atom.ll, c_api.PM_TYPE_U64: lambda: atom.ull,
            c_api.PM_TYPE_FLOAT: lambda: atom.f,
            c_api.PM_TYPE_DOUBLE: lambda: atom.d}[mtype]()


def _read(archive, metrics):
    """(rows, descs): rows are (time, metric, instance, value); descs maps
    each metric to its pmDesc."""
    ctx = pmapi.pmContext(c_api.PM_CONTEXT_ARCHIVE, archive)
    if metrics is None:
        metrics = ["epics"]
    elif isinstance(metrics, str):
        metrics = [metrics]
    names = _expand(ctx, list(metrics))
    if not names:
        raise ValueError(f"{archive}: no metric named {', '.join(metrics)}")
    pmids = ctx.pmLookupName(names)
    descs = ctx.pmLookupDescs(pmids)
    keep = [i for i, d in enumerate(descs) if d.type not in _SKIP_TYPES]
    names = [names[i] for i in keep]
    pmids = [pmids[i] for i in keep]
    descs = [descs[i] for i in keep]
    if not names:
        return [], {}
    pmids = (ctypes.c_uint * len(pmids))(*pmids)
    byid = {pmid: i for i, pmid in enumerate(pmids)}
    inames = {}

    def iname(desc, inst):
        key = (desc.indom, inst)
        if key not in inames:
            try:
                inames[key] = ctx.pmNameInDomArchive(desc, inst)
            except pmapi.pmErr:
                inames[key] = str(inst)
        return inames[key]

    rows = []
    while True:
        try:
            result = ctx.pmFetch(pmids)
        except pmapi.pmErr as e:
            if e.args[0] == c_api.PM_ERR_EOL:
                break
            raise
        r = result.contents
        ts = pd.Timestamp(r.timestamp.tv_sec * 1_000_000 + r.timestamp.tv_usec,
                          unit="us", tz="UTC")
        for k in range(r.numpmid):
            i = byid.get(r.get_pmid(k))
            if i is None:
                continue
            desc = descs[i]
            numval = r.get_numval(k)
            if numval <= 0:
                continue
            valfmt = r.get_valfmt(k)
            for j in range(numval):
                vlist = r.get_vlist(k, j)
                v = _value(ctx, valfmt, vlist, desc.type)
                inst = (None if desc.indom == c_api.PM_INDOM_NULL
                        else iname(desc, r.get_inst(k, j)))
                rows.append((ts, names[i], inst, v))
        ctx.pmFreeResult(result)
    return rows, dict(zip(names, descs))


def _wide(df, metric, numeric):
    """One metric's rows of the long table as a wide frame."""
    sub = df[df["metric"] == metric]
    col = sub["instance"].where(sub["instance"].notna(), metric)
    sub = sub.assign(column=col).drop_duplicates(["time", "column"], keep="last")
    wide = sub.pivot(index="time", columns="column", values="value")
    if numeric:
        wide = wide.apply(pd.to_numeric)
    wide.columns.name = None
    wide.index.name = "time"
    return wide.sort_index()


def _rate(wide):
    """Rates per second of a wide frame of counters (first sample dropped)."""
    vals = wide.astype("float64")
    dt = vals.index.to_series().diff().dt.total_seconds()
    delta = vals.diff()
    rates = delta.div(dt, axis=0)
    rates = rates.mask(delta < 0)       # counter reset: no rate
    return rates.iloc[1:]


def load(archive, metrics=None, rate=False, wide=True):
    """See the module's documentation."""
    rows, descs = _read(archive, metrics)
    df = pd.DataFrame(rows, columns=["time", "metric", "instance", "value"])
    counters = {m for m, d in descs.items()
                if d.sem == c_api.PM_SEM_COUNTER and d.type != c_api.PM_TYPE_STRING}
    names = list(descs)
    frames = {}
    if wide or rate:
        for m in names:
            if df.empty or not (df["metric"] == m).any():
                frames[m] = pd.DataFrame(index=pd.DatetimeIndex([], tz="UTC", name="time"))
                continue
            w = _wide(df, m, descs[m].type != c_api.PM_TYPE_STRING)
            if rate and m in counters:
                w = _rate(w)
            frames[m] = w
    if wide:
        if isinstance(metrics, str) and names == [metrics]:
            return frames[metrics]
        return frames
    if not rate:
        return df.reset_index(drop=True)
    parts = []
    for m in names:
        w = frames[m]
        if w.empty:
            continue
        singular = descs[m].indom == c_api.PM_INDOM_NULL
        long = w.reset_index().melt(id_vars="time", var_name="instance",
                                    value_name="value")
        long = long[long["value"].notna()]
        long.insert(1, "metric", m)
        if singular:
            long["instance"] = None
        parts.append(long)
    if not parts:
        return df.iloc[0:0]
    out = pd.concat(parts, ignore_index=True)
    return out.sort_values(["time", "metric"], kind="stable").reset_index(drop=True)


def histogram_buckets(columns):
    """Split histogram instance names "OWNER::lo-hi" (or "lo-hi"): a list of
    (owner, lo, hi, column) sorted by owner then lo; hi is math.inf for an
    open bucket ("lo-")."""
    out = []
    for col in columns:
        owner, _, bucket = str(col).rpartition("::")
        lo, _, hi = bucket.partition("-")
        try:
            lo_v = float(lo)
            hi_v = float(hi) if hi else math.inf
        except ValueError:
            continue
        out.append((owner, lo_v, hi_v, col))
    return sorted(out, key=lambda b: (b[0], b[1]))

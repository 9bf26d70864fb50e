#!/usr/bin/python3
"""Plots of an epics.* PCP archive, as PNG files.

usage: epics_plots.py [--top N] ARCHIVE OUTDIR

For each protocol (ca, pva) that has data in ARCHIVE, writes into OUTDIR:
  PROTO-pv-update-rate.png         monitor updates per second per PV over time
                                   (the N busiest PVs, default 10); PVs whose
                                   series are identical share one line, whose
                                   label names them all, so every line drawn
                                   is distinct
  PROTO-connect-latency-SERVER.png connect-latency heatmap of one server: time
                                   across, log2 microsecond buckets up, colour
                                   the connects that landed in each bucket
                                   during each sample interval (from
                                   epics.PROTO.server.connect_latency.histogram,
                                   instances "SERVER::lo-hi"); only intervals
                                   of the recording, not what was counted
                                   before it started
  PROTO-request-latency-SERVER.png request latency heatmaps of one server, one
                                   panel per kind with samples (CA read, write
                                   completion, echo; PVA get, put completion,
                                   rpc, echo), from the archive's
                                   epics.PROTO.server.KIND_latency.histogram
  PROTO-server-bytes.png           bytes per second per server, in (client to
                                   server) and out (server to client) in two
                                   panels, each with its own scale
and prints the names of the files written. Exits 1 when the archive holds no
epics data to plot. Run it with the system interpreter (/usr/bin/python3),
which has the PCP bindings; epicspcp.py must sit beside it.
"""
import argparse
import os
import re
import sys

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt      # noqa: E402
import matplotlib.dates as mdates    # noqa: E402
import numpy as np                   # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import epicspcp                      # noqa: E402


def _time_axis(ax):
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M:%S", tz="UTC"))
    ax.set_xlabel("time (UTC)")
    for label in ax.get_xticklabels():
        label.set_rotation(30)
        label.set_horizontalalignment("right")


def _safe(name):
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)


def _times(frame):
    """The index as naive UTC datetimes, which matplotlib plots directly."""
    return frame.index.tz_convert("UTC").tz_localize(None)


def busiest_series(rates, top):
    """The top busiest PVs (by mean rate) as distinct series: a list of
    (label, PV names, series), PVs with identical series grouped into one,
    busiest first."""
    busiest = rates.mean().sort_values(ascending=False).index[:top]
    groups = {}
    for pv in busiest:
        key = tuple(np.round(rates[pv].fillna(-1).to_numpy(), 6))
        groups.setdefault(key, []).append(pv)
    out = []
    for pvs in groups.values():
        label = pvs[0] if len(pvs) == 1 else f"{pvs[0]} and {len(pvs) - 1} more, identical"
        out.append((label, pvs, rates[pvs[0]]))
    return out


def plot_update_rate(frames, proto, outdir, top):
    rates = frames.get(f"epics.{proto}.pv.monitor_updates")
    if rates is None or rates.empty or rates.shape[1] == 0:
        return None
    series = busiest_series(rates, top)
    npv = sum(len(pvs) for _, pvs, _ in series)
    fig, ax = plt.subplots(figsize=(10, 5))
    for label, _, values in series:
        ax.plot(_times(rates), values, marker=".", label=label)
    ax.set_title(f"{proto.upper()} monitor updates per PV ({npv} busiest of "
                 f"{rates.shape[1]}, {len(series)} distinct series)")
    ax.set_ylabel("updates / s")
    ax.set_ylim(bottom=0)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small", ncol=2, loc="upper left", bbox_to_anchor=(1.01, 1))
    _time_axis(ax)
    path = os.path.join(outdir, f"{proto}-pv-update-rate.png")
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return path


def interval_counts(hist, timeline):
    """Connects per bucket in each interval of the recording: the difference
    between samples, over timeline (every sample time of the archive). The
    first sample holds what was counted before the recording began: it is
    the baseline, not an interval. A bucket that appears later (buckets
    exist once they have a sample) was 0 before."""
    full = hist.reindex(timeline.union(hist.index)).fillna(0)
    return full.diff().iloc[1:].clip(lower=0)


def latency_grid(counts, server):
    """The heatmap of one server from interval counts of a histogram metric
    (columns "SERVER::lo-hi"): (bucket labels, grid with one row per log2
    bucket between the lowest and highest seen, one column per sample).
    None when the server has no bucket."""
    mine = [b for b in epicspcp.histogram_buckets(counts.columns) if b[0] == server]
    if not mine:
        return None
    exps = [int(np.log2(b[1])) if b[1] >= 1 else 0 for b in mine]
    lo_exp, hi_exp = min(exps), max(exps)
    grid = np.zeros((hi_exp - lo_exp + 1, len(counts)))
    for b, e in zip(mine, exps):
        grid[e - lo_exp] += counts[b[3]].to_numpy()
    labels = [f"{0 if e == 0 else 2 ** e}-{2 ** (e + 1) - 1}" for e in range(lo_exp, hi_exp + 1)]
    return labels, grid


def _heatmap(ax, counts, timeline, labels, grid, what, unit_label):
    t = mdates.date2num(_times(counts).to_pydatetime())
    # each column covers the interval that ends at its sample, the first one
    # from the archive's first sample
    t0 = mdates.date2num(timeline.tz_convert("UTC").tz_localize(None)[0].to_pydatetime())
    edges = np.insert(t, 0, t0)
    mesh = ax.pcolormesh(edges, np.arange(len(labels) + 1), grid, cmap="viridis", shading="flat")
    ax.set_yticks(np.arange(len(labels)) + 0.5)
    ax.set_yticklabels(labels)
    ax.set_ylabel(f"{what} (µs)")
    ax.figure.colorbar(mesh, ax=ax, label=unit_label)
    ax.xaxis_date()
    _time_axis(ax)


def plot_latency_heatmaps(frames, proto, outdir):
    hist = frames.get(f"epics.{proto}.server.connect_latency.histogram")
    timeline = frames["epics.capture.packets"].index
    if hist is None or hist.empty or len(timeline) < 2:
        return []
    counts = interval_counts(hist, timeline)
    paths = []
    for server in sorted({b[0] for b in epicspcp.histogram_buckets(hist.columns)}):
        labels, grid = latency_grid(counts, server)
        fig, ax = plt.subplots(figsize=(10, 4 + 0.2 * len(labels)))
        _heatmap(ax, counts, timeline, labels, grid, "connect latency", "connects per interval")
        ax.set_title(f"{proto.upper()} connect latency, server {server}")
        path = os.path.join(outdir, f"{proto}-connect-latency-{_safe(server)}.png")
        fig.savefig(path, dpi=100, bbox_inches="tight")
        plt.close(fig)
        paths.append(path)
    return paths


# request latencies per protocol: (metric stem, what it measures)
REQUEST_LATENCIES = {
    "ca": [("read_latency", "read"), ("write_latency", "write completion"),
           ("echo_latency", "echo")],
    "pva": [("get_latency", "get"), ("put_latency", "put completion"),
            ("rpc_latency", "rpc"), ("echo_latency", "echo")],
}


def request_latency_metrics(proto):
    return [f"epics.{proto}.server.{stem}.histogram" for stem, _ in REQUEST_LATENCIES[proto]]


def plot_request_latency_heatmaps(frames, proto, outdir):
    """One figure per server: a heatmap over time for each request latency
    that has samples (epics.PROTO.server.KIND_latency.histogram)."""
    timeline = frames["epics.capture.packets"].index
    if len(timeline) < 2:
        return []
    kinds = []
    for stem, what in REQUEST_LATENCIES[proto]:
        hist = frames.get(f"epics.{proto}.server.{stem}.histogram")
        if hist is not None and not hist.empty and hist.shape[1]:
            kinds.append((what, interval_counts(hist, timeline)))
    servers = sorted({b[0] for _, c in kinds for b in epicspcp.histogram_buckets(c.columns)})
    paths = []
    for server in servers:
        panels = [(what, c, latency_grid(c, server)) for what, c in kinds]
        panels = [(what, c, g) for what, c, g in panels if g is not None]
        rows = sum(len(g[0]) for _, _, g in panels)
        fig, axes = plt.subplots(len(panels), 1, squeeze=False,
                                 figsize=(10, 2.5 * len(panels) + 0.2 * rows))
        for ax, (what, c, (labels, grid)) in zip(axes[:, 0], panels):
            _heatmap(ax, c, timeline, labels, grid, what, "requests per interval")
        axes[0, 0].set_title(f"{proto.upper()} request latency, server {server}")
        fig.tight_layout()
        path = os.path.join(outdir, f"{proto}-request-latency-{_safe(server)}.png")
        fig.savefig(path, dpi=100, bbox_inches="tight")
        plt.close(fig)
        paths.append(path)
    return paths


def plot_server_bytes(frames, proto, outdir):
    bin_ = frames.get(f"epics.{proto}.server.bytes_in")
    bout = frames.get(f"epics.{proto}.server.bytes_out")
    have = [f for f in (bin_, bout) if f is not None and not f.empty]
    if not have:
        return None
    # one panel per direction: bytes in are often a hundredth of bytes out
    fig, axes = plt.subplots(2, 1, figsize=(10, 7), sharex=True)
    for ax, frame, what in ((axes[0], bin_, "in: client to server"),
                            (axes[1], bout, "out: server to client")):
        ax.set_title(f"{proto.upper()} bytes per server, {what}")
        ax.set_ylabel("bytes / s")
        ax.grid(True, alpha=0.3)
        if frame is None or frame.empty:
            continue
        for server in frame.columns:
            ax.plot(_times(frame), frame[server], marker=".", label=server)
        ax.set_ylim(bottom=0)
        ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1))
    _time_axis(axes[1])
    path = os.path.join(outdir, f"{proto}-server-bytes.png")
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return path


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("archive")
    ap.add_argument("outdir")
    ap.add_argument("--top", type=int, default=10,
                    help="PVs in the update-rate plot (default 10)")
    args = ap.parse_args(argv)
    os.makedirs(args.outdir, exist_ok=True)
    written = []
    for proto in ("ca", "pva"):
        # only the metrics the archive has (an older agent, one protocol)
        try:
            have = set(epicspcp.metric_names(args.archive, f"epics.{proto}"))
        except Exception as e:      # no such subtree in the archive
            print(f"{proto}: {e}", file=sys.stderr)
            continue
        wanted = [m for m in (f"epics.{proto}.pv.monitor_updates",
                              f"epics.{proto}.server.bytes_in",
                              f"epics.{proto}.server.bytes_out") if m in have]
        hists = [m for m in [f"epics.{proto}.server.connect_latency.histogram",
                             *request_latency_metrics(proto)] if m in have]
        frames = {}
        try:
            if wanted:
                frames.update(epicspcp.load(args.archive, wanted, rate=True))
            # the archive's sample times: heatmaps cover the recording only
            frames.update(epicspcp.load(args.archive, hists + ["epics.capture.packets"]))
        except Exception as e:
            print(f"{proto}: {e}", file=sys.stderr)
            continue
        for path in (plot_update_rate(frames, proto, args.outdir, args.top),
                     *plot_latency_heatmaps(frames, proto, args.outdir),
                     *plot_request_latency_heatmaps(frames, proto, args.outdir),
                     plot_server_bytes(frames, proto, args.outdir)):
            if path:
                written.append(path)
                print(path)
    if not written:
        print(f"{args.archive}: no epics data to plot", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Plots from ipcbench result files: JSON in, PNG and SVG out.

    scripts/plot.py RESULTS.json [MORE.json ...] --out plots/

Several files are never pooled: each file's cells are plotted on their own, labelled with the
file's --label (else its host name, else its file name). The summaries a run appends
(run_type "aggregate") are left out: the plots take the repetitions.

Writes, for what the files contain:
  rtt.png             pingpong RTT per transport (smallest size), log scale, sorted: p50 bars,
                      p99 whiskers
  rtt_distribution.png  the RTT distribution per transport (percentile plot, HdrHistogram style)
  throughput.png      1 MiB throughput per transport, touch edges and full side by side
  rtt_vs_size.png     pingpong p50 RTT against payload size, log-log, one line per transport
Each in .svg too. The machine (from the file's context) is in every title.

Needs matplotlib (Debian: python3-matplotlib). When this interpreter lacks it, the script re-runs
itself with the system's Python (/usr/bin/python3) if that has it; otherwise it says what to
install. --help and --version work without it.

Installed (cmake --install, the .deb) as `ipcbench-plot`, run by /usr/bin/python3.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys


def _ensure_matplotlib():
    try:
        import matplotlib  # noqa: F401
        return
    except ImportError:
        pass
    for candidate in ("/usr/bin/python3", "/usr/local/bin/python3"):
        if os.path.realpath(candidate) == os.path.realpath(sys.executable):
            continue
        if not os.access(candidate, os.X_OK):
            continue
        probe = subprocess.run([candidate, "-c", "import matplotlib"], capture_output=True)
        if probe.returncode == 0:
            os.execv(candidate, [candidate] + sys.argv)
    sys.exit("plot.py: matplotlib not found for %s; install it: sudo apt-get install "
             "python3-matplotlib (Debian/Ubuntu) or pip install matplotlib" % sys.executable)


# The installed copy (ipcbench-plot) carries ipcbench's version here; the source tree's says so.
VERSION = None

matplotlib = plt = FuncFormatter = None


def _import_matplotlib():
    """Imports matplotlib (after the arguments are parsed, so that --help needs none of it)."""
    global matplotlib, plt, FuncFormatter
    _ensure_matplotlib()
    import matplotlib as mpl
    mpl.use("Agg")
    import matplotlib.pyplot as pyplot
    from matplotlib.ticker import FuncFormatter as formatter
    matplotlib, plt, FuncFormatter = mpl, pyplot, formatter


def load(paths):
    """The first file's context, and every file's repetitions, each tagged with its file's label
    (in "_run"; "" when there is one file)."""
    context, entries = None, []
    docs = []
    for path in paths:
        with open(path) as f:
            docs.append((path, json.load(f)))
    labels = [d.get("context", {}).get("label") or d.get("context", {}).get("host_name") or p
              for p, d in docs]
    if len(set(labels)) < len(labels):
        labels = ["%s (%s)" % (l, p) for l, (p, _) in zip(labels, docs)]
    for (path, doc), run in zip(docs, labels):
        if context is None:
            context = doc.get("context", {})
        for e in doc.get("benchmarks", []):
            if e.get("run_type") == "aggregate":
                continue
            entries.append(dict(e, _run=run if len(docs) > 1 else ""))
    return context or {}, entries


def machine_caption(ctx):
    parts = [ctx.get("cpu_model", "unknown CPU")]
    cpus = ctx.get("num_cpus")
    if cpus:
        parts.append("%s CPUs" % cpus)
    if ctx.get("hypervisor"):
        parts.append("VM (%s)" % ctx["hypervisor"])
    kernel = ctx.get("kernel")
    if kernel:
        parts.append(kernel.split(" ")[1] if " " in kernel else kernel)
    date = ctx.get("date", "")[:10]
    if date:
        parts.append(date)
    commit = ctx.get("git_commit")
    if commit:
        parts.append("ipcbench %s" % commit)
    return ", ".join(parts)


def group(entries):
    """Successful repetitions grouped by file and benchmark name, in first-seen order."""
    rows = {}
    for e in entries:
        if e.get("error_occurred"):
            continue
        rows.setdefault((e["_run"], e["name"]), []).append(e)
    return rows


def med(reps, key):
    values = [r[key] for r in reps if key in r]
    return statistics.median(values) if values else None


def label(e, show_wait):
    name = "%s (%s)" % (e["transport"], e["wait"]) if show_wait else e["transport"]
    return "%s: %s" % (e["_run"], name) if e["_run"] else name


def fmt_ns(ns, _pos=None):
    if ns >= 1e6:
        return "%.3g ms" % (ns / 1e6)
    if ns >= 1e3:
        return "%.3g us" % (ns / 1e3)
    return "%.3g ns" % ns


def size_text(n):
    for unit, shift in (("MiB", 20), ("KiB", 10)):
        if n >= (1 << shift) and n % (1 << shift) == 0:
            return "%d %s" % (n >> shift, unit)
    return "%d B" % n


def save(fig, out_dir, name, written):
    for ext in ("png", "svg"):
        path = os.path.join(out_dir, "%s.%s" % (name, ext))
        fig.savefig(path, dpi=130, bbox_inches="tight")
        written.append(path)
    plt.close(fig)


def pingpong_rows(rows, size):
    out = []
    for reps in rows.values():
        e = reps[0]
        if e["scenario"] == "pingpong" and e["payload_bytes"] == size:
            out.append(reps)
    return out


WAIT_ORDER = ("spin", "adaptive", "block")


def transport_colors(rows):
    """One colour per transport, the same in every plot and panel."""
    names = sorted({r[0]["transport"] for r in rows.values()})
    cmap = plt.get_cmap("tab20")
    return {name: cmap(i % 20) for i, name in enumerate(names)}


def waits_of(items):
    present = {w for w in items}
    return [w for w in WAIT_ORDER if w in present] + sorted(present - set(WAIT_ORDER))


def plot_rtt(rows, ctx, out_dir, written):
    sizes = sorted({r[0]["payload_bytes"] for r in rows.values() if r[0]["scenario"] == "pingpong"})
    if not sizes:
        return
    size = 64 if 64 in sizes else sizes[0]
    data = pingpong_rows(rows, size)
    show_wait = len({r[0]["wait"] for r in data}) > 1
    data.sort(key=lambda reps: med(reps, "p50_ns"))
    names = [label(r[0], show_wait) for r in data]
    p50 = [med(r, "p50_ns") for r in data]
    p99 = [med(r, "p99_ns") for r in data]
    fig, ax = plt.subplots(figsize=(9, 0.3 * len(data) + 1.8))
    y = range(len(data))
    ax.barh(y, p50, color="#4C72B0", label="p50")
    ax.errorbar(p99, y, xerr=[[p - q for p, q in zip(p99, p50)], [0] * len(p50)], fmt="|",
                color="black", capsize=0, elinewidth=1, markersize=8, label="p99 (whisker)")
    for yi, v, top in zip(y, p50, p99):
        ax.text(max(v, top) * 1.12, yi, "p50 %s" % fmt_ns(v), va="center", fontsize=7,
                color="#222")
    ax.set_yticks(list(y))
    ax.set_yticklabels(names, fontsize=8)
    ax.invert_yaxis()
    ax.set_xscale("log")
    left, right = ax.get_xlim()
    ax.set_xlim(left, right * 4)  # room for the labels
    ax.xaxis.set_major_formatter(FuncFormatter(fmt_ns))
    ax.set_xlabel("round-trip time (RTT), log scale")
    ax.set_title("pingpong RTT, %s messages, two processes (wait mode in brackets)\n%s"
                 % (size_text(size), machine_caption(ctx)), fontsize=10)
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(axis="x", which="both", alpha=0.3)
    save(fig, out_dir, "rtt", written)


def panels(n):
    fig, axes = plt.subplots(1, n, figsize=(6.5 * n, 5.5), sharey=True, squeeze=False)
    return fig, list(axes[0])


def plot_distribution(rows, ctx, out_dir, written):
    sizes = sorted({r[0]["payload_bytes"] for r in rows.values() if r[0]["scenario"] == "pingpong"})
    if not sizes:
        return
    size = 64 if 64 in sizes else sizes[0]
    data = [r for r in pingpong_rows(rows, size) if "latency_percentiles" in r[0]]
    if not data:
        return
    colors = transport_colors(rows)
    waits = waits_of(r[0]["wait"] for r in data)
    fig, axes = panels(len(waits))
    for ax, wait in zip(axes, waits):
        subset = sorted((r for r in data if r[0]["wait"] == wait), key=lambda r: med(r, "p50_ns"))
        for reps in subset:
            # The first repetition's distribution; the spread between repetitions is in the table.
            points = [(p, ns) for p, ns in reps[0]["latency_percentiles"] if p < 100]
            xs = [1.0 / (1.0 - p / 100.0) for p, _ in points]
            ax.plot(xs, [ns for _, ns in points], marker=".", markersize=3, linewidth=1.2,
                    color=colors[reps[0]["transport"]], label=label(reps[0], False))
        ax.set_xscale("log")
        ax.set_yscale("log")
        ticks = [2, 10, 100, 1000, 10000, 100000]
        ax.set_xticks(ticks)
        ax.set_xticklabels(["50%", "90%", "99%", "99.9%", "99.99%", "99.999%"])
        ax.minorticks_off()
        ax.yaxis.set_major_formatter(FuncFormatter(fmt_ns))
        ax.set_xlabel("percentile")
        ax.set_title("wait: %s" % wait, fontsize=10)
        ax.grid(which="both", alpha=0.3)
        ax.legend(fontsize=7, loc="upper left")
    axes[0].set_ylabel("round-trip time (RTT)")
    fig.suptitle("pingpong RTT distribution, %s messages (first repetition)\n%s"
                 % (size_text(size), machine_caption(ctx)), fontsize=10)
    save(fig, out_dir, "rtt_distribution", written)


def plot_throughput(rows, ctx, out_dir, written):
    size = 1 << 20
    data = {}
    for reps in rows.values():
        e = reps[0]
        if e["scenario"] != "throughput" or e["payload_bytes"] != size:
            continue
        name = "%s: %s" % (e["_run"], e["transport"]) if e["_run"] else e["transport"]
        data[(name, e["wait"], e["touch"])] = med(reps, "bytes_per_second") / 1e9
    if not data:
        return
    show_wait = len({k[1] for k in data}) > 1
    keys = sorted({(t, w) for t, w, _ in data},
                  key=lambda k: -data.get((k[0], k[1], "full"), data.get((k[0], k[1], "edges"), 0)))
    names = ["%s (%s)" % k if show_wait else k[0] for k in keys]
    fig, ax = plt.subplots(figsize=(9, 0.42 * len(keys) + 1.8))
    height = 0.4
    for offset, touch, color in ((-height / 2, "full", "#4C72B0"), (height / 2, "edges", "#DD8452")):
        values = [data.get((t, w, touch), 0) for t, w in keys]
        ys = [i + offset for i in range(len(keys))]
        ax.barh(ys, values, height, color=color, label="touch %s" % touch)
        for yv, v in zip(ys, values):
            if v:
                ax.text(v * 1.08, yv, ("%.0f" if v >= 100 else "%.3g") % v, va="center", fontsize=6.5)
    ax.set_yticks(range(len(keys)))
    ax.set_yticklabels(names, fontsize=8)
    ax.invert_yaxis()
    ax.set_xscale("log")
    left, right = ax.get_xlim()
    ax.set_xlim(left, right * 3)
    ax.set_xlabel("GB/s (10^9 bytes/s) end to end, log scale")
    ax.set_title("throughput, 1 MiB messages, sorted by touch full\n"
                 "full = every byte written and checked; edges = sequence number and last byte "
                 "only (zero-copy transports then move no payload at all)\n%s"
                 % machine_caption(ctx), fontsize=9)
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(axis="x", which="both", alpha=0.3)
    save(fig, out_dir, "throughput", written)


def plot_rtt_vs_size(rows, ctx, out_dir, written):
    lines = {}
    for reps in rows.values():
        e = reps[0]
        if e["scenario"] != "pingpong":
            continue
        name = "%s: %s" % (e["_run"], e["transport"]) if e["_run"] else e["transport"]
        lines.setdefault((name, e["wait"]), []).append((e["payload_bytes"], med(reps, "p50_ns")))
    lines = {k: sorted(v) for k, v in lines.items() if len(v) >= 2}
    if not lines:
        return
    colors = transport_colors(rows)
    waits = waits_of(k[1] for k in lines)
    sizes = sorted({p[0] for pts in lines.values() for p in pts})
    fig, axes = panels(len(waits))
    for ax, wait in zip(axes, waits):
        keys = sorted((k for k in lines if k[1] == wait), key=lambda k: lines[k][0][1])
        for key in keys:
            pts = lines[key]
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", markersize=3,
                    color=colors.get(key[0].split(": ")[-1]), label=key[0])
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xticks(sizes)
        ax.set_xticklabels([size_text(n) for n in sizes], rotation=45, ha="right", fontsize=8)
        ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
        ax.yaxis.set_major_formatter(FuncFormatter(fmt_ns))
        ax.set_xlabel("message size (each way)")
        ax.set_title("wait: %s" % wait, fontsize=10)
        ax.grid(which="both", alpha=0.3)
        ax.legend(fontsize=7, loc="upper left")
    axes[0].set_ylabel("p50 round-trip time (RTT)")
    fig.suptitle("pingpong p50 RTT against message size\n%s" % machine_caption(ctx), fontsize=10)
    save(fig, out_dir, "rtt_vs_size", written)


class _HelpFormatter(argparse.HelpFormatter):
    """argparse's help with "Usage:" capitalised, as help2man reads it (ipcbench-plot's man page
    is made from --help)."""

    def add_usage(self, usage, actions, groups, prefix=None):
        return super().add_usage(usage, actions, groups, "Usage: " if prefix is None else prefix)


def main():
    parser = argparse.ArgumentParser(
        formatter_class=_HelpFormatter,
        description="Plot ipcbench result files: PNG and SVG of the round-trip times, their "
        "distribution, the throughput and the RTT against message size, for what the files "
        "contain.",
        epilog="Needs matplotlib (Debian: python3-matplotlib). Several files are never pooled: "
        "each file's cells are plotted on their own, labelled with the file's --label.")
    parser.add_argument("files", nargs="+", metavar="FILE", help="result files (JSON) of ipcbench "
                        "run")
    parser.add_argument("--out", default="plots", metavar="DIR",
                        help="output directory (default plots/)")
    parser.add_argument("--version", action="version",
                        version="%(prog)s (ipcbench) " + (VERSION or "from the source tree"))
    args = parser.parse_args()
    _import_matplotlib()
    ctx, entries = load(args.files)
    os.makedirs(args.out, exist_ok=True)
    rows = group(entries)
    written = []
    plot_rtt(rows, ctx, args.out, written)
    plot_distribution(rows, ctx, args.out, written)
    plot_throughput(rows, ctx, args.out, written)
    plot_rtt_vs_size(rows, ctx, args.out, written)
    if not written:
        sys.exit("plot.py: nothing to plot in %s" % ", ".join(args.files))
    for path in written:
        print(path)


if __name__ == "__main__":
    main()

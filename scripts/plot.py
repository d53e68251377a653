#!/usr/bin/env python3
"""Plots from ipcbench result files: JSON in, PNG and SVG out.

    scripts/plot.py RESULTS.json [MORE.json ...] --out plots/

Writes, for what the files contain:
  rtt.png             pingpong RTT per transport (smallest size), log scale, sorted: p50 bars,
                      p99 whiskers
  rtt_distribution.png  the RTT distribution per transport (percentile plot, HdrHistogram style)
  throughput.png      1 MiB throughput per transport, touch edges and full side by side
  rtt_vs_size.png     pingpong p50 RTT against payload size, log-log, one line per transport
Each in .svg too. The machine (from the file's context) is in every title.

Needs matplotlib. When this interpreter lacks it, the script re-runs itself with the system's
Python (/usr/bin/python3) if that has it; otherwise it says what to install.
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


_ensure_matplotlib()

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402


def load(paths):
    context, entries = None, []
    for path in paths:
        with open(path) as f:
            doc = json.load(f)
        if context is None:
            context = doc.get("context", {})
        entries.extend(doc.get("benchmarks", []))
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
    """Successful repetitions grouped by benchmark name, in first-seen order."""
    rows = {}
    for e in entries:
        if e.get("error_occurred"):
            continue
        rows.setdefault(e["name"], []).append(e)
    return rows


def med(reps, key):
    values = [r[key] for r in reps if key in r]
    return statistics.median(values) if values else None


def label(e, show_wait):
    return "%s (%s)" % (e["transport"], e["wait"]) if show_wait else e["transport"]


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
    fig, ax = plt.subplots(figsize=(9, 0.45 * len(data) + 1.8))
    y = range(len(data))
    ax.barh(y, p50, color="#4C72B0", label="p50")
    ax.errorbar(p99, y, xerr=[[p - q for p, q in zip(p99, p50)], [0] * len(p50)], fmt="|",
                color="black", capsize=0, elinewidth=1, markersize=10, label="p99 (whisker)")
    for yi, v in zip(y, p50):
        ax.text(v * 1.08, yi, fmt_ns(v), va="center", fontsize=8, color="#222")
    ax.set_yticks(list(y))
    ax.set_yticklabels(names)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(FuncFormatter(fmt_ns))
    ax.set_xlabel("round-trip time (RTT), log scale")
    ax.set_title("pingpong RTT, %s messages, two processes\n%s" % (size_text(size),
                 machine_caption(ctx)), fontsize=10)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8)
    ax.grid(axis="x", which="both", alpha=0.3)
    save(fig, out_dir, "rtt", written)


def plot_distribution(rows, ctx, out_dir, written):
    sizes = sorted({r[0]["payload_bytes"] for r in rows.values() if r[0]["scenario"] == "pingpong"})
    if not sizes:
        return
    size = 64 if 64 in sizes else sizes[0]
    data = [r for r in pingpong_rows(rows, size) if "latency_percentiles" in r[0]]
    if not data:
        return
    show_wait = len({r[0]["wait"] for r in data}) > 1
    data.sort(key=lambda reps: med(reps, "p50_ns"))
    fig, ax = plt.subplots(figsize=(9, 5.5))
    for reps in data:
        # The first repetition's distribution (repetitions are plotted in the spread elsewhere).
        points = [(p, ns) for p, ns in reps[0]["latency_percentiles"] if p < 100]
        xs = [1.0 / (1.0 - p / 100.0) for p, _ in points]
        ax.plot(xs, [ns for _, ns in points], marker=".", linewidth=1.2,
                label=label(reps[0], show_wait))
    ax.set_xscale("log")
    ax.set_yscale("log")
    ticks = [2, 10, 100, 1000, 10000, 100000]
    ax.set_xticks(ticks)
    ax.set_xticklabels(["50%", "90%", "99%", "99.9%", "99.99%", "99.999%"])
    ax.minorticks_off()
    ax.yaxis.set_major_formatter(FuncFormatter(fmt_ns))
    ax.set_xlabel("percentile")
    ax.set_ylabel("round-trip time (RTT)")
    ax.set_title("pingpong RTT distribution, %s messages\n%s" % (size_text(size),
                 machine_caption(ctx)), fontsize=10)
    ax.grid(which="both", alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    save(fig, out_dir, "rtt_distribution", written)


def plot_throughput(rows, ctx, out_dir, written):
    size = 1 << 20
    data = {}
    for reps in rows.values():
        e = reps[0]
        if e["scenario"] != "throughput" or e["payload_bytes"] != size:
            continue
        data[(e["transport"], e["wait"], e["touch"])] = med(reps, "bytes_per_second") / 1e9
    if not data:
        return
    show_wait = len({k[1] for k in data}) > 1
    keys = sorted({(t, w) for t, w, _ in data},
                  key=lambda k: -max(data.get((k[0], k[1], t), 0) for t in ("edges", "full")))
    names = ["%s (%s)" % k if show_wait else k[0] for k in keys]
    fig, ax = plt.subplots(figsize=(max(7, 0.7 * len(keys) + 2), 5))
    width = 0.4
    for offset, touch, color in ((-width / 2, "edges", "#DD8452"), (width / 2, "full", "#4C72B0")):
        values = [data.get((t, w, touch), 0) for t, w in keys]
        bars = ax.bar([i + offset for i in range(len(keys))], values, width, color=color,
                      label="touch %s" % touch)
        for bar, v in zip(bars, values):
            if v:
                ax.text(bar.get_x() + bar.get_width() / 2, v, "%.1f" % v, ha="center",
                        va="bottom", fontsize=7)
    ax.set_xticks(range(len(keys)))
    ax.set_xticklabels(names, rotation=30, ha="right")
    ax.set_ylabel("GB/s (10^9 bytes/s), end to end")
    ax.set_title("throughput, 1 MiB messages: edges = first/last byte touched, full = every "
                 "byte\n%s" % machine_caption(ctx), fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    save(fig, out_dir, "throughput", written)


def plot_rtt_vs_size(rows, ctx, out_dir, written):
    lines = {}
    for reps in rows.values():
        e = reps[0]
        if e["scenario"] != "pingpong":
            continue
        lines.setdefault((e["transport"], e["wait"]), []).append((e["payload_bytes"],
                                                                 med(reps, "p50_ns")))
    lines = {k: sorted(v) for k, v in lines.items() if len(v) >= 2}
    if not lines:
        return
    show_wait = len({k[1] for k in lines}) > 1
    fig, ax = plt.subplots(figsize=(9, 5.5))
    for key in sorted(lines, key=lambda k: lines[k][0][1]):
        pts = lines[key]
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", markersize=3,
                label="%s (%s)" % key if show_wait else key[0])
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    sizes = sorted({p[0] for pts in lines.values() for p in pts})
    ax.set_xticks(sizes)
    ax.set_xticklabels([size_text(n) for n in sizes], rotation=30 if len(sizes) > 8 else 0)
    ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
    ax.yaxis.set_major_formatter(FuncFormatter(fmt_ns))
    ax.set_xlabel("message size (each way)")
    ax.set_ylabel("p50 round-trip time (RTT)")
    ax.set_title("pingpong p50 RTT against message size\n%s" % machine_caption(ctx), fontsize=10)
    ax.grid(which="both", alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    save(fig, out_dir, "rtt_vs_size", written)


def main():
    parser = argparse.ArgumentParser(description="Plot ipcbench results")
    parser.add_argument("files", nargs="+", help="result files (JSON)")
    parser.add_argument("--out", default="plots", help="output directory (default plots/)")
    args = parser.parse_args()
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

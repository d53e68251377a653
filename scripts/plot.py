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
  throughput_vs_size.png  throughput against message size: GB/s (top) and messages/s (bottom),
                      touch full solid, edges dashed, one colour per transport, a column per wait
  cpu_cost.png        both workers' CPU time per message against size (throughput scenario)
  fanout.png          per-consumer GB/s (the slowest consumer) and delivery p99 against the
                      number of consumers N, per transport; a column per message size
  reqresp.png         requests/s the server answers, the slowest client's RTT p99 and the
                      server's CPU per request against the number of clients N, per transport
  rate.png            one-way p50, p99 and p99.9 against offered rate, log-log (the hockey
                      stick), per transport; a max cell is drawn at the rate it achieved
  rate_at_10k.png     the same percentiles at one offered rate (10k/s, else the middle one)
  latency_over_time.png  pingpong's RTT p50, p99 and max per window of each cell's measured
                      phase (files that recorded them): jitter, periodic stalls, drift
  rate_over_time.png  the same for rate's one-way times at the rate of rate_at_10k.png
Each in .svg too. The machine (from the file's context) is in every title.

Needs matplotlib (Debian: python3-matplotlib). When this interpreter lacks it, the script re-runs
itself with the system's Python (/usr/bin/python3) if that has it; otherwise it says what to
install. --help and --version work without it.

Installed (cmake --install, the .deb) as `ipcbench-plot`, run by /usr/bin/python3.
"""

import argparse
import json
import math
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
    sys.exit("%s: matplotlib not found for %s; install it: sudo apt-get install "
             "python3-matplotlib (Debian/Ubuntu) or pip install matplotlib"
             % (os.path.basename(sys.argv[0]), sys.executable))


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


def transport_of(e):
    """The transport as the tables show it: with its driver settings (--set) and what the kernel
    granted for them, "pipe[buffer=1MiB]", "tcp[sndbuf=64KiB→128KiB]"; the name alone without."""
    return e.get("transport_label") or e["transport"]


def label(e, show_wait):
    name = "%s (%s)" % (transport_of(e), e["wait"]) if show_wait else transport_of(e)
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
    """One colour per transport (each of its configurations, --set, a colour of its own), the
    same in every plot and panel."""
    names = sorted({transport_of(r[0]) for r in rows.values()})
    cmap = plt.get_cmap("tab10" if len(names) <= 10 else "tab20")
    return {name: cmap(i % cmap.N) for i, name in enumerate(names)}


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
                    color=colors[transport_of(reps[0])], label=label(reps[0], False))
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
        name = series_name(e)
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
        lines.setdefault((series_name(e), e["wait"]), []).append(
            (e["payload_bytes"], med(reps, "p50_ns")))
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


def fmt_bytes(v, _pos=None):
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if v >= size:
            return "%g %s" % (round(v / size, 1), unit)
    return "%g B" % v


def plot_memory(rows, ctx, out_dir, written):
    """Memory against message size (files that recorded it): per transport, the shared memory its
    channels mapped and the workers' peak resident set, from the pingpong cells (else
    throughput's)."""
    for scenario in ("pingpong", "throughput"):
        lines = {}
        for reps in rows.values():
            e = reps[0]
            if e["scenario"] != scenario or "producer_peak_rss_bytes" not in e:
                continue
            key = series_name(e)
            shared = med(reps, "producer_shared_bytes") or 0
            rss = max(med(reps, "producer_peak_rss_bytes") or 0,
                      med(reps, "consumer_peak_rss_bytes") or 0)
            lines.setdefault(key, {})[e["payload_bytes"]] = (shared, rss)
        if lines:
            break
    lines = {k: sorted(v.items()) for k, v in lines.items()}
    if not lines:
        return
    colors = transport_colors(rows)
    sizes = sorted({p[0] for pts in lines.values() for p in pts})
    fig, axes = panels(2)
    for ax, (index, title) in zip(axes, ((0, "shared memory mapped by a worker's channels"),
                                         (1, "peak resident set of a worker (the larger)"))):
        for key, pts in sorted(lines.items(), key=lambda kv: -kv[1][-1][1][index]):
            xs = [p[0] for p in pts]
            # a transport that maps nothing shared (a kernel mechanism) has no point on a log axis
            ys = [p[1][index] if p[1][index] > 0 else float("nan") for p in pts]
            ax.plot(xs, ys, marker="o", markersize=3, color=colors.get(key.split(": ")[-1]),
                    label=key)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xticks(sizes)
        ax.set_xticklabels([size_text(n) for n in sizes], rotation=45, ha="right", fontsize=8)
        ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
        ax.yaxis.set_major_locator(matplotlib.ticker.LogLocator(base=16))
        ax.yaxis.set_minor_locator(matplotlib.ticker.LogLocator(base=2))
        ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.yaxis.set_major_formatter(FuncFormatter(fmt_bytes))
        ax.set_xlabel("message size")
        ax.set_title(title, fontsize=10)
        ax.grid(which="both", alpha=0.3)
    axes[0].legend(fontsize=7, loc="upper left")
    fig.suptitle("%s: memory against message size (kernel mechanisms map nothing shared: "
                 "their buffers are the kernel's)\n%s" % (scenario, machine_caption(ctx)),
                 fontsize=10)
    save(fig, out_dir, "memory", written)


def plot_latency_over_time(rows, ctx, out_dir, written, scenario="pingpong"):
    """Each cell's percentiles per window of its measured phase (files that recorded them):
    pingpong's RTT (latency_over_time), or rate's one-way time at one offered rate, 10k/s else
    the middle one (rate_over_time); the smallest size, each transport in its native wait mode,
    the first repetition; a panel each, the fastest first. Jitter and periodic stalls show as the
    p99 and max lines' spikes."""
    cells = []
    for reps in rows.values():
        e = reps[0]
        if e["scenario"] != scenario or not e.get("latency_over_time") or \
                not e.get("wait_is_native", True):
            continue
        cells.append(e)
    what = "RTT"
    if scenario == "rate":
        rates = sorted({e.get("offered_rate") or 0 for e in cells} - {0})
        if not rates:
            return
        rate = 10000 if 10000 in rates else rates[len(rates) // 2]
        cells = [e for e in cells if e.get("offered_rate") == rate]
        what = "one-way time at %s messages/s" % fmt_rate(rate, None)
    if not cells:
        return
    smallest = min(e["payload_bytes"] for e in cells)
    cells = sorted((e for e in cells if e["payload_bytes"] == smallest), key=lambda e: e["p50_ns"])
    columns = min(4, len(cells))
    lines = (len(cells) + columns - 1) // columns
    fig, grid = plt.subplots(lines, columns, figsize=(4.2 * columns, 2.8 * lines), squeeze=False)
    for ax, e in zip([a for row in grid for a in row], cells):
        t = e["latency_over_time"]
        ms = [w[0] / 1e6 for w in t["windows"]]
        for index, name, style in ((4, "max", ":"), (3, "p99", "-"), (2, "p50", "-")):
            ax.plot(ms, [w[index] for w in t["windows"]], linestyle=style, linewidth=1,
                    marker="o" if len(ms) < 8 else None, markersize=2, label=name)
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(FuncFormatter(fmt_ns))
        ax.set_title("%s (%s)" % (series_name(e), e["wait"]), fontsize=9)
        ax.tick_params(labelsize=7)
        ax.grid(which="both", alpha=0.3)
    for ax in [a for row in grid for a in row][len(cells):]:
        ax.set_visible(False)
    grid[0][0].legend(fontsize=7)
    for ax in grid[-1]:
        ax.set_xlabel("time into the measured phase (ms)", fontsize=8)
    fig.suptitle("%s %s per %g ms window over each cell's run, %s messages (first "
                 "repetition)\n%s" % (scenario, what,
                                      cells[0]["latency_over_time"]["window_ns"] / 1e6,
                                      size_text(smallest), machine_caption(ctx)), fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    save(fig, out_dir, "latency_over_time" if scenario == "pingpong" else "rate_over_time",
         written)


def series_name(e):
    """A transport's name (with its settings: transport_of), prefixed by its file's label when
    several files are plotted."""
    return "%s: %s" % (e["_run"], transport_of(e)) if e["_run"] else transport_of(e)


def color_of(colors, name):
    return colors.get(name.split(": ")[-1])


def size_axis(ax, sizes):
    ax.set_xscale("log", base=2)
    # Every size when they fit, else every other one.
    shown = sizes if len(sizes) <= 10 else sizes[::2]
    ax.set_xticks(shown)
    ax.set_xticklabels([size_text(n) for n in shown], rotation=45, ha="right", fontsize=8)
    ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())


def fmt_rate(v, _pos=None):
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if v >= scale:
            return "%.3g%s" % (v / scale, unit)
    return "%.3g" % v


def plain_log_labels(ax):
    """Numbers, not powers of ten, on a log y axis, minor ticks labelled when a decade is all
    there is."""
    fmt = FuncFormatter(lambda v, _pos=None: "%.3g" % v)
    ax.yaxis.set_major_formatter(fmt)
    low, high = ax.get_ylim()
    if high / max(low, 1e-300) < 100:
        ax.yaxis.set_minor_formatter(fmt)
        ax.tick_params(axis="y", which="minor", labelsize=7)


TOUCH_STYLE = {"full": "-", "edges": "--"}


def size_curves(rows, scenario, key):
    """(name, wait, touch) -> sorted [(payload_bytes, median of key)] for one scenario."""
    lines = {}
    for reps in rows.values():
        e = reps[0]
        if e["scenario"] != scenario:
            continue
        value = med(reps, key)
        if value is None:
            continue
        lines.setdefault((series_name(e), e["wait"], e["touch"]), []).append(
            (e["payload_bytes"], value))
    return {k: sorted(v) for k, v in lines.items() if len(v) >= 2}


def touch_legend(ax, touches):
    """The line styles' meaning, as a second legend beside the transports'."""
    from matplotlib.lines import Line2D
    first = ax.get_legend()
    handles = [Line2D([], [], color="gray", linestyle=TOUCH_STYLE.get(t, ":"), label="touch " + t)
               for t in touches]
    ax.legend(handles=handles, fontsize=7, loc="lower right")
    if first is not None:
        ax.add_artist(first)


def side_legend(fig, axes):
    """One legend for all the panels, beside them: a legend inside each panel, with a row per
    transport (28 of them), hides the lines."""
    labelled = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            labelled.setdefault(label, handle)
    if labelled:
        fig.legend(list(labelled.values()), list(labelled.keys()), loc="center left",
                   bbox_to_anchor=(1.0, 0.5), fontsize=8, frameon=False)


def draw_size_lines(ax, lines, wait, colors, touches, scale=1.0):
    """One wait mode's curves against size: a colour per transport, a line style per touch (the
    transport named once, on its first touch's line)."""
    keys = sorted((k for k in lines if k[1] == wait), key=lambda k: (k[0], k[2] != "full"))
    for key in keys:
        pts = lines[key]
        ax.plot([p[0] for p in pts], [p[1] * scale for p in pts], marker="o", markersize=2.5,
                linewidth=1.2, linestyle=TOUCH_STYLE.get(key[2], ":"),
                color=color_of(colors, key[0]), label=key[0] if key[2] == touches[0] else None)


def plot_throughput_vs_size(rows, ctx, out_dir, written):
    gbps = size_curves(rows, "throughput", "bytes_per_second")
    if not gbps:
        return
    mps = size_curves(rows, "throughput", "msgs_per_s")
    colors = transport_colors(rows)
    waits = waits_of(k[1] for k in gbps)
    touches = [t for t in ("full", "edges") if any(k[2] == t for k in gbps)]
    sizes = sorted({p[0] for pts in gbps.values() for p in pts})
    fig, grid = plt.subplots(2, len(waits), figsize=(6.5 * len(waits), 10), sharex=True,
                             sharey="row", squeeze=False)
    for col, wait in enumerate(waits):
        for row, (lines, scale, ylabel) in enumerate((
                (gbps, 1e-9, "GB/s (10^9 bytes/s) end to end"),
                (mps, 1.0, "messages/s end to end"))):
            ax = grid[row][col]
            draw_size_lines(ax, lines, wait, colors, touches, scale)
            size_axis(ax, sizes)
            ax.set_yscale("log")
            if row == 1:
                ax.yaxis.set_major_formatter(FuncFormatter(fmt_rate))
                ax.set_xlabel("message size")
            else:
                ax.set_title("wait: %s" % wait, fontsize=10)
            if col == 0:
                ax.set_ylabel(ylabel)
            ax.grid(which="both", alpha=0.3)
            if len(touches) > 1:
                touch_legend(ax, touches)
    side_legend(fig, grid[0])
    fig.suptitle("throughput against message size (median of repetitions); solid = touch full "
                 "(every byte written and checked), dashed = touch edges\n%s"
                 % machine_caption(ctx), fontsize=10)
    save(fig, out_dir, "throughput_vs_size", written)


def plot_cpu_cost(rows, ctx, out_dir, written):
    lines = size_curves(rows, "throughput", "cpu_time")
    if not lines:
        return
    colors = transport_colors(rows)
    waits = waits_of(k[1] for k in lines)
    touches = [t for t in ("full", "edges") if any(k[2] == t for k in lines)]
    sizes = sorted({p[0] for pts in lines.values() for p in pts})
    fig, axes = panels(len(waits))
    for ax, wait in zip(axes, waits):
        draw_size_lines(ax, lines, wait, colors, touches)
        size_axis(ax, sizes)
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(FuncFormatter(fmt_ns))
        ax.set_xlabel("message size")
        ax.set_title("wait: %s" % wait, fontsize=10)
        ax.grid(which="both", alpha=0.3)
        if len(touches) > 1:
            touch_legend(ax, touches)
    side_legend(fig, axes)
    axes[0].set_ylabel("CPU time per message, both workers")
    fig.suptitle("CPU cost of a message in the throughput scenario (producer + consumer CPU "
                 "time / messages; a spinning worker's waiting counts)\nsolid = touch full, "
                 "dashed = touch edges; %s" % machine_caption(ctx), fontsize=10)
    save(fig, out_dir, "cpu_cost", written)


def spaced_labels(ns):
    """Tick labels for the values ns on a log axis, blank where one would crowd the last one
    written (62 beside 64)."""
    labels, last = [], None
    for n in ns:
        crowded = last is not None and math.log2(n / last) < 0.3
        labels.append("" if crowded else str(n))
        if not crowded:
            last = n
    return labels


def n_column(grid, col, ns, title, ylabels, xlabel):
    """A column of three panels against N (fanout, reqresp): a rate on top, two times below, on
    log axes, N on a log-2 axis."""
    top, middle, bottom = grid[0][col], grid[1][col], grid[2][col]
    top.set_title(title, fontsize=10)
    top.set_yscale("log")
    plain_log_labels(top)
    for ax, label in zip((top, middle, bottom), ylabels):
        ax.set_ylabel(label)
        ax.grid(which="both", alpha=0.3)
    for ax in (middle, bottom):
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(FuncFormatter(fmt_ns))
    bottom.set_xlabel(xlabel)
    bottom.set_xscale("log", base=2)
    bottom.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
    bottom.set_xticks(ns)
    bottom.set_xticklabels(spaced_labels(ns))


def plot_fanout(rows, ctx, out_dir, written):
    lines = {}
    for reps in rows.values():
        e = reps[0]
        if e["scenario"] != "fanout":
            continue
        name = "%s (%s)" % (series_name(e), e.get("delivery", "?"))
        key = (e["payload_bytes"], name, e["wait"], e["touch"])
        lines.setdefault(key, []).append((int(e["subscribers"]),
                                          med(reps, "consumer_bytes_per_second_min"),
                                          med(reps, "p99_ns"),
                                          med(reps, "producer_cpu_per_msg_ns")))
    if not lines:
        return
    colors = transport_colors(rows)
    sizes = sorted({k[0] for k in lines})
    show_wait = len({k[2] for k in lines}) > 1
    show_touch = len({k[3] for k in lines}) > 1
    ns = sorted({p[0] for pts in lines.values() for p in pts})
    fig, grid = plt.subplots(3, len(sizes), figsize=(6.5 * len(sizes), 13.5), sharex=True,
                             squeeze=False)
    for col, size in enumerate(sizes):
        for key in sorted(k for k in lines if k[0] == size):
            pts = sorted(lines[key])
            text = key[1]
            if show_wait:
                text += " " + key[2]
            if show_touch:
                text += " touch " + key[3]
            color = color_of(colors, key[1].rsplit(" (", 1)[0])
            style = "-" if "native" in key[1] else "--"
            grid[0][col].plot([p[0] for p in pts], [p[1] / 1e9 for p in pts], marker="o",
                              markersize=3, linestyle=style, color=color, label=text)
            grid[1][col].plot([p[0] for p in pts], [p[2] for p in pts], marker="o",
                              markersize=3, linestyle=style, color=color, label=text)
            cpu = [(p[0], p[3]) for p in pts if p[3]]  # files before the figure lack it
            grid[2][col].plot([c[0] for c in cpu], [c[1] for c in cpu], marker="o",
                              markersize=3, linestyle=style, color=color, label=text)
        n_column(grid, col, ns, "%s messages" % size_text(size),
                 ("slowest consumer's GB/s (10^9 bytes/s)", "one-way delivery p99, all consumers",
                  "producer CPU per message (all N deliveries)"), "consumers (N)")
    side_legend(fig, grid[0])
    fig.suptitle("fanout: one producer, N consumers, every message checked by every consumer; "
                 "solid = native multicast, dashed = N copies over N channels\n"
                 "N + 1 processes share %s CPUs: beyond N = %s every rate also falls for want "
                 "of CPU\n%s" % (ctx.get("num_cpus", "?"),
                                 max(1, int(ctx.get("num_cpus", 2)) - 1), machine_caption(ctx)),
                 fontsize=9)
    save(fig, out_dir, "fanout", written)


def plot_reqresp(rows, ctx, out_dir, written):
    lines = {}
    for reps in rows.values():
        e = reps[0]
        if e["scenario"] != "reqresp":
            continue
        key = (e["payload_bytes"], series_name(e), e["wait"])
        lines.setdefault(key, []).append((int(e["clients"]), med(reps, "requests_per_s"),
                                          med(reps, "slowest_p99_ns"),
                                          med(reps, "server_cpu_per_request_ns")))
    if not lines:
        return
    colors = transport_colors(rows)
    sizes = sorted({k[0] for k in lines})
    ns = sorted({p[0] for pts in lines.values() for p in pts})
    fig, grid = plt.subplots(3, len(sizes), figsize=(6.5 * len(sizes), 13.5), sharex=True,
                             squeeze=False)
    for col, size in enumerate(sizes):
        for key in sorted(k for k in lines if k[0] == size):
            pts = sorted(lines[key])
            text = "%s %s" % (key[1], key[2])
            style = "-" if key[2] == "block" else ":"
            color = color_of(colors, key[1])
            for row, index in ((0, 1), (1, 2), (2, 3)):
                grid[row][col].plot([p[0] for p in pts], [p[index] for p in pts], marker="o",
                                    markersize=3, linestyle=style, color=color, label=text)
        n_column(grid, col, ns, "%s requests and responses" % size_text(size),
                 ("requests/s the server answers", "the slowest client's RTT p99",
                  "server CPU per request"), "clients (N)")
    side_legend(fig, grid[0])
    fig.suptitle("reqresp: N clients in closed loops, one server answering all from one thread "
                 "(beyond one client, block: one epoll, or zerocopy's own request-response)\n"
                 "N + 1 processes share %s CPUs\n%s"
                 % (ctx.get("num_cpus", "?"), machine_caption(ctx)), fontsize=9)
    save(fig, out_dir, "reqresp", written)


def rate_rows(rows):
    """(name, wait, size) -> sorted [(rate, p50, p99, p99.9, sustained)]; a max cell sits at
    its achieved rate."""
    lines = {}
    for reps in rows.values():
        e = reps[0]
        if e["scenario"] != "rate":
            continue
        offered = e.get("offered_rate") or 0
        rate = offered if offered > 0 else med(reps, "achieved_rate")
        lines.setdefault((series_name(e), e["wait"], e["payload_bytes"]), []).append(
            (rate, med(reps, "p50_ns"), med(reps, "p99_ns"), med(reps, "p999_ns"),
             all(r.get("sustained", True) for r in reps), offered == 0))
    return {k: sorted(v) for k, v in lines.items()}


def plot_rate(rows, ctx, out_dir, written):
    lines = rate_rows(rows)
    if not lines:
        return
    size = 64 if any(k[2] == 64 for k in lines) else min(k[2] for k in lines)
    lines = {k: v for k, v in lines.items() if k[2] == size}
    colors = transport_colors(rows)
    show_wait = len({k[1] for k in lines}) > 1
    fig, axes = panels(3)
    for ax, (col, title) in zip(axes, ((1, "p50"), (2, "p99"), (3, "p99.9"))):
        for key in sorted(lines):
            pts = [p for p in lines[key] if p[col] is not None]
            text = "%s (%s)" % (key[0], key[1]) if show_wait else key[0]
            color = color_of(colors, key[0])
            style = {"spin": "-", "block": "--"}.get(key[1], "-.")
            ax.plot([p[0] for p in pts], [p[col] for p in pts], linestyle=style, color=color,
                    linewidth=1.2, label=text)
            # Filled: sustained; hollow: the schedule was not kept. A square: the max cell.
            for p in pts:
                ax.plot([p[0]], [p[col]], marker="s" if p[5] else "o", markersize=4,
                        color=color, markerfacecolor=color if p[4] else "white")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.xaxis.set_major_formatter(FuncFormatter(fmt_rate))
        ax.yaxis.set_major_formatter(FuncFormatter(fmt_ns))
        ax.set_xlabel("offered rate, messages/s (max: the rate achieved)")
        ax.set_title(title, fontsize=10)
        ax.grid(which="both", alpha=0.3)
    axes[0].set_ylabel("one-way latency from the intended send time")
    side_legend(fig, axes[:1])
    fig.suptitle("rate: one-way latency against offered rate, %s messages (median of "
                 "repetitions); solid = spin, dashed = block; square = max (as fast as accepted); "
                 "hollow = rate not sustained\n%s" % (size_text(size), machine_caption(ctx)),
                 fontsize=9)
    save(fig, out_dir, "rate", written)
    plot_rate_bars(lines, size, ctx, out_dir, written)


def plot_rate_bars(lines, size, ctx, out_dir, written):
    rates = sorted({p[0] for pts in lines.values() for p in pts if not p[5]})
    if not rates:
        return
    rate = 10000 if 10000 in rates else rates[len(rates) // 2]
    data = []
    for key, pts in lines.items():
        for p in pts:
            if p[0] == rate and not p[5] and p[1] is not None:
                data.append((key, p))
    show_wait = len({k[1] for k, _ in data}) > 1
    data.sort(key=lambda d: d[1][2] if d[1][2] is not None else d[1][1])
    fig, ax = plt.subplots(figsize=(9, 0.34 * len(data) + 1.8))
    y = list(range(len(data)))
    ax.barh(y, [d[1][1] for d in data], color="#4C72B0", label="p50")
    ax.plot([d[1][2] for d in data], y, "|", color="black", markersize=10, label="p99")
    ax.plot([d[1][3] for d in data], y, "x", color="#C44E52", markersize=5, label="p99.9")
    for yi, (key, p) in zip(y, data):
        note = "" if p[4] else "  (not sustained)"
        ax.text(max(v for v in p[1:4] if v) * 1.15, yi, "p99 %s%s" % (fmt_ns(p[2]), note),
                va="center", fontsize=7)
    ax.set_yticks(y)
    ax.set_yticklabels(["%s (%s)" % (k[0], k[1]) if show_wait else k[0] for k, _ in data],
                       fontsize=8)
    ax.invert_yaxis()
    ax.set_xscale("log")
    left, right = ax.get_xlim()
    ax.set_xlim(left, right * 6)
    ax.xaxis.set_major_formatter(FuncFormatter(fmt_ns))
    ax.set_xlabel("one-way latency from the intended send time, log scale")
    ax.set_title("rate: %s messages/s offered, %s messages, sorted by p99\n%s"
                 % (fmt_rate(rate), size_text(size), machine_caption(ctx)), fontsize=10)
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(axis="x", which="both", alpha=0.3)
    save(fig, out_dir, "rate_at_%s" % fmt_rate(rate), written)


class _HelpFormatter(argparse.HelpFormatter):
    """argparse's help with "Usage:" capitalised, as help2man reads it (ipcbench-plot's man page
    is made from --help)."""

    def add_usage(self, usage, actions, groups, prefix=None):
        return super().add_usage(usage, actions, groups, "Usage: " if prefix is None else prefix)


def main():
    parser = argparse.ArgumentParser(
        formatter_class=_HelpFormatter,
        description="Plot ipcbench result files: PNG and SVG of what they contain: pingpong "
        "RTT per transport, its distribution and against message size; throughput per "
        "transport, against message size and its CPU cost; fanout against the number of "
        "consumers; rate's one-way latency against offered rate; memory against message size.",
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
    plot_throughput_vs_size(rows, ctx, args.out, written)
    plot_cpu_cost(rows, ctx, args.out, written)
    plot_fanout(rows, ctx, args.out, written)
    plot_reqresp(rows, ctx, args.out, written)
    plot_rate(rows, ctx, args.out, written)
    plot_memory(rows, ctx, args.out, written)
    plot_latency_over_time(rows, ctx, args.out, written)
    plot_latency_over_time(rows, ctx, args.out, written, "rate")
    if not written:
        sys.exit("%s: nothing to plot in %s"
                 % (os.path.basename(sys.argv[0]), ", ".join(args.files)))
    for path in written:
        print(path)


if __name__ == "__main__":
    main()

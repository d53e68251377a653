#!/usr/bin/env python3
"""How quickly the floor moves: runs build/bench/floor_drift (two processes exchanging a cache
line, the median round trip of every window) and says, for windows a given time apart, how often
their medians differ by more than 10% and 30%, and how long the floor stays put.

    bench/floor_drift.py [--build build] [--seconds 300] [--window-ms 10] [--pipe] [--raw FILE]

--pipe alternates the windows with blocking pipe round trips between the same two processes and
says how far the pipe's median follows the floor's. --raw keeps floor_drift's output. Standard
library only (any python3)."""
import argparse
import math
import pathlib
import statistics
import subprocess
import sys


def lag_table(series, window_s, lags):
    """For each lag in seconds: pairs compared, share differing > 10% and > 30%, median |ratio-1|."""
    t = [x[0] for x in series]
    v = [x[1] for x in series]
    rows = []
    for lag in lags:
        step = max(1, round(lag / window_s))
        if step >= len(v):
            continue
        diffs = [abs(v[i + step] / v[i] - 1) for i in range(len(v) - step) if v[i] > 0]
        if not diffs:
            continue
        rows.append((lag, len(diffs), sum(d > 0.10 for d in diffs) / len(diffs),
                     sum(d > 0.30 for d in diffs) / len(diffs), statistics.median(diffs)))
    return rows


def dwell_times(series, window_s, band=0.20):
    """Lengths (s) of stretches in which every window stays within `band` of the stretch's median."""
    out, start, values = [], 0, []
    for i, (_, v) in enumerate(series):
        values.append(v)
        m = statistics.median(values)
        if abs(v / m - 1) > band:
            out.append((i - start) * window_s)
            start, values = i, [v]
    out.append((len(series) - start) * window_s)
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--build", default="build")
    p.add_argument("--seconds", type=float, default=300)
    p.add_argument("--window-ms", type=int, default=10)
    p.add_argument("--cpus", default="")
    p.add_argument("--pipe", action="store_true")
    p.add_argument("--raw", default="")
    p.add_argument("--input", default="", help="summarise a raw file instead of measuring")
    a = p.parse_args()
    if a.input:
        text = pathlib.Path(a.input).read_text()
    else:
        exe = pathlib.Path(a.build) / "bench" / "floor_drift"
        if not exe.exists():
            sys.exit(f"missing {exe}: build first (cmake --build {a.build} --target floor_drift)")
        cmd = [str(exe), "--seconds", str(a.seconds), "--window-ms", str(a.window_ms)]
        if a.cpus:
            cmd += ["--cpus", a.cpus]
        if a.pipe:
            cmd.append("--pipe")
        text = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        if a.raw:
            pathlib.Path(a.raw).write_text(text)
    header = next((l for l in text.splitlines() if l.startswith("#")), "")
    window_ms = int(header.split("window_ms=")[1]) if "window_ms=" in header else a.window_ms
    line, pipe = [], []
    for l in text.splitlines():
        if l.startswith("#") or not l.strip():
            continue
        t, kind, p50, n = l.split()
        (line if kind == "line" else pipe).append((float(t), float(p50), int(n)))
    if not line:
        sys.exit("no windows")
    step_s = window_ms / 1000 * (2 if pipe else 1)
    values = sorted(v for _, v, _ in line)
    q = lambda f: values[min(len(values) - 1, int(f * len(values)))]
    print(header.lstrip("# "))
    print(f"{len(line)} windows of {window_ms} ms over {line[-1][0]:.0f} s; cache-line round trip "
          f"p50 per window: min {values[0]:.0f} ns, p10 {q(0.1):.0f}, median {q(0.5):.0f}, "
          f"p90 {q(0.9):.0f}, max {values[-1]:.0f}")
    near = values[0] * 1.5
    print(f"share of windows within 1.5x of the fastest ({near:.0f} ns): "
          f"{sum(v <= near for v in values) / len(values):.0%}")
    print()
    print("| windows apart by | pairs | differ > 10% | differ > 30% | median difference |")
    print("|---|---|---|---|---|")
    lags = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 60, 120]
    for lag, pairs, p10, p30, med in lag_table([(t, v) for t, v, _ in line], step_s, lags):
        print(f"| {lag:g} s | {pairs} | {p10:.1%} | {p30:.1%} | {med:.1%} |")
    d = sorted(dwell_times([(t, v) for t, v, _ in line], step_s))
    print()
    print(f"stretches within 20% of their median: {len(d)}; length median {statistics.median(d):.2f} s, "
          f"p10 {d[len(d) // 10]:.2f} s, p90 {d[(9 * len(d)) // 10]:.2f} s, longest {d[-1]:.1f} s")
    if pipe:
        pv = sorted(v for _, v, _ in pipe)
        print()
        print(f"pipe (blocking) round trip p50 per window: min {pv[0] / 1e3:.1f} us, median "
              f"{pv[len(pv) // 2] / 1e3:.1f} us, max {pv[-1] / 1e3:.1f} us")
        # Does the pipe follow the floor? Pair each pipe window with the line window before it.
        pairs = [(line[i][1], pipe[i][1]) for i in range(min(len(line), len(pipe)))]
        def ranks(xs):
            order = sorted(range(len(xs)), key=lambda i: xs[i])
            r = [0] * len(xs)
            for k, i in enumerate(order):
                r[i] = k
            return r
        rl, rp = ranks([x for x, _ in pairs]), ranks([y for _, y in pairs])
        n = len(pairs)
        rho = 1 - 6 * sum((x - y) ** 2 for x, y in zip(rl, rp)) / (n * (n * n - 1))
        slow = [y for x, y in pairs if x > near]
        fast = [y for x, y in pairs if x <= near]
        print(f"Spearman's rank correlation of the pipe's median with the floor's just before: "
              f"{rho:.2f} over {n} pairs")
        if slow and fast:
            print(f"pipe median when the floor is near ({len(fast)} windows): "
                  f"{statistics.median(fast) / 1e3:.1f} us; when far ({len(slow)}): "
                  f"{statistics.median(slow) / 1e3:.1f} us")
        print()
        print("pipe: | windows apart by | pairs | differ > 10% | differ > 30% | median difference |")
        for lag, pairs_n, p10, p30, med in lag_table([(t, v) for t, v, _ in pipe], step_s, lags):
            print(f"| {lag:g} s | {pairs_n} | {p10:.1%} | {p30:.1%} | {med:.1%} |")


if __name__ == "__main__":
    main()

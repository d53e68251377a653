#!/usr/bin/env bash
# Does the harness add anything measurable? Compares ipcbench's pingpong mean RTT with
# bench/minimal_pingpong (the same mechanism with nothing else) for pipe and unix-stream, in one
# run, pinned the same way, alternating the two so that a slow phase of the machine hits both.
#
#   bench/harness_overhead.sh [BUILD_DIR] [ROUNDS] [ITERATIONS]
#
# Prints each round and the median of each side with their ratio.
set -euo pipefail
build=${1:-build}
rounds=${2:-5}
iterations=${3:-50000}
ipcbench="$build/ipcbench"
minimal="$build/bench/minimal_pingpong"
for exe in "$ipcbench" "$minimal"; do
  [ -x "$exe" ] || { echo "missing $exe: build first (cmake --build $build)" >&2; exit 2; }
done
# The workers' CPUs: the last two this process may use, as ipcbench chooses by default.
cpus=$(/usr/bin/env python3 -c 'import os; c=sorted(os.sched_getaffinity(0)); print(f"{c[-2]},{c[-1]}")')
tmp=$(mktemp -d /tmp/harness-overhead.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

for mechanism in pipe unix-stream; do
  : > "$tmp/$mechanism.harness"
  : > "$tmp/$mechanism.minimal"
  for round in $(seq 1 "$rounds"); do
    "$ipcbench" run --transports "$mechanism" --scenarios pingpong --iterations "$iterations" \
      --budget 1000 --cpus "$cpus" --out "$tmp/run.json" > /dev/null 2>&1
    h=$(/usr/bin/env python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["benchmarks"][0]["mean_ns"])' "$tmp/run.json")
    m=$("$minimal" "$mechanism" --iterations "$iterations" --cpus "$cpus" | sed 's/.*mean_rtt_ns=//')
    echo "$h" >> "$tmp/$mechanism.harness"
    echo "$m" >> "$tmp/$mechanism.minimal"
    printf '%-12s round %d: ipcbench %8.0f ns   minimal %8.0f ns\n' "$mechanism" "$round" "$h" "$m"
  done
done
echo
/usr/bin/env python3 - "$tmp" <<'PY'
import statistics, sys, pathlib
tmp = pathlib.Path(sys.argv[1])
print(f"{'mechanism':<12} {'ipcbench mean RTT':>18} {'minimal mean RTT':>17} {'ratio':>7}")
for mech in ("pipe", "unix-stream"):
    h = statistics.median(float(x) for x in (tmp / f"{mech}.harness").read_text().split())
    m = statistics.median(float(x) for x in (tmp / f"{mech}.minimal").read_text().split())
    print(f"{mech:<12} {h/1000:>15.2f} us {m/1000:>14.2f} us {h/m:>7.3f}")
PY

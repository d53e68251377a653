#!/usr/bin/env bash
# How far apart do separate runs of the same cells land on this machine? `ipcbench compare` calls
# a change real only beyond its --noise band (default 10%): this measures the drift that band must
# cover. It makes RUNS separate runs of the same cells, one after the other (each with its own
# repetitions, interleaved as usual), then for every cell prints each run's median of its key
# figure (pingpong p50 RTT, throughput bytes/s) and the largest ratio between two runs; and, for
# every pair of runs, what `compare --noise 0` (the repetitions' intervals alone) would have
# called different.
#
#   bench/run_drift.sh [BUILD_DIR] [RUNS] [-- ipcbench run arguments]
#
# Default cells: shm, mmap-file, zerocopy and unix-stream, pingpong 64 B, 3 repetitions.
# Keep the machine otherwise quiet while it runs.
set -euo pipefail
build=build
runs=4
if [ $# -gt 0 ] && [ "$1" != "--" ]; then build=$1; shift; fi
if [ $# -gt 0 ] && [ "$1" != "--" ]; then runs=$1; shift; fi
case "$runs" in
  '' | *[!0-9]*) echo "run_drift: RUNS '$runs': a whole number from 2 to 100" >&2; exit 2 ;;
esac
if [ "$runs" -lt 2 ] || [ "$runs" -gt 100 ]; then
  echo "run_drift: RUNS '$runs': a whole number from 2 to 100" >&2
  exit 2
fi
if [ $# -gt 0 ]; then shift; fi  # the "--"
args=("$@")
if [ ${#args[@]} -eq 0 ]; then
  # shellcheck disable=SC2054 # the commas are one argument's list
  args=(--transports shm,mmap-file,zerocopy,unix-stream --scenarios pingpong --repetitions 3)
fi
ipcbench="$build/ipcbench"
[ -x "$ipcbench" ] || { echo "run_drift: missing $ipcbench: build first" >&2; exit 2; }
tmp=$(mktemp -d /tmp/run-drift.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

for i in $(seq 1 "$runs"); do
  echo "run $i of $runs ..." >&2
  "$ipcbench" run "${args[@]}" --out "$tmp/run$i.json" > "$tmp/run$i.log" 2>&1 ||
    { echo "run_drift: run $i failed:" >&2; tail -n 5 "$tmp/run$i.log" >&2; exit 1; }
done
pairs=0
different=0
for i in $(seq 1 "$runs"); do
  for j in $(seq $((i + 1)) "$runs"); do
    n=$("$ipcbench" compare --noise 0 "$tmp/run$i.json" "$tmp/run$j.json" |
      grep -cE '\| (faster|slower)' || true)
    cells=$("$ipcbench" compare --noise 0 "$tmp/run$i.json" "$tmp/run$j.json" |
      grep -cE '^\| [a-z]+/' || true)
    pairs=$((pairs + 1))
    different=$((different + n))
    echo "runs $i and $j: compare --noise 0 calls $n of $cells cells faster or slower"
  done
done
echo
/usr/bin/python3 - "$tmp" "$runs" <<'PY'
import json, statistics, sys
tmp, runs = sys.argv[1], int(sys.argv[2])
figures = {}  # cell -> [median of run 1, run 2, ...]
for i in range(1, runs + 1):
    per_cell = {}
    for b in json.load(open(f"{tmp}/run{i}.json"))["benchmarks"]:
        if b.get("run_type") == "aggregate" or b.get("error_occurred"):
            continue
        v = b.get("p50_ns") if b["scenario"] in ("pingpong", "rate") else (
            b.get("bytes_per_second") or b.get("msgs_per_s"))
        if v:
            per_cell.setdefault(b["name"], []).append(v)
    for name, values in per_cell.items():
        figures.setdefault(name, []).append(statistics.median(values))
print("| cell | median of each run | largest / smallest |")
print("| --- | --- | ---: |")
drifts = []
for name, medians in figures.items():
    if len(medians) < 2:
        continue
    drift = max(medians) / min(medians)
    drifts.append(drift)
    shown = ", ".join(f"{m:.4g}" for m in medians)
    print(f"| {name} | {shown} | {drift:.3f} |")
if drifts:
    print()
    print(f"Largest drift between two runs of one cell: {100 * (max(drifts) - 1):.1f}% "
          f"(median over cells {100 * (statistics.median(drifts) - 1):.1f}%). "
          "compare's --noise should be at least the largest.")
PY

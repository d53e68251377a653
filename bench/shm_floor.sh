#!/usr/bin/env bash
# How close is the shm transport to the physical floor of its design? Compares ipcbench's `shm`
# pingpong p50 RTT in spin mode with bench/minimal_pingpong shm-line (one cache line each way, two
# processes spinning, nothing else), in one run, pinned the same way, alternating the two so that
# a slow phase of the machine hits both.
#
#   bench/shm_floor.sh [BUILD_DIR] [ROUNDS] [ITERATIONS] [SIZE]
#
# SIZE is the shm message size (default 64, ipcbench's default; shm-line always moves 8 bytes).
# Prints each round and the median p50 of each side with their ratio (the target is <= 1.5).
set -euo pipefail
build=${1:-build}
rounds=${2:-5}
iterations=${3:-100000}
size=${4:-64}
ipcbench="$build/ipcbench"
minimal="$build/bench/minimal_pingpong"
for exe in "$ipcbench" "$minimal"; do
  [ -x "$exe" ] || { echo "missing $exe: build first (cmake --build $build)" >&2; exit 2; }
done
# The workers' CPUs: the last two this process may use, as ipcbench chooses by default.
cpus=$(/usr/bin/env python3 -c 'import os; c=sorted(os.sched_getaffinity(0)); print(f"{c[-2]},{c[-1]}")')
tmp=$(mktemp -d /tmp/shm-floor.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

: > "$tmp/shm"
: > "$tmp/floor"
for round in $(seq 1 "$rounds"); do
  "$ipcbench" run --transports shm --scenarios pingpong --wait spin --sizes "$size" \
    --iterations "$iterations" --budget 1000 --cpus "$cpus" --out "$tmp/run.json" > /dev/null 2>&1
  s=$(/usr/bin/env python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["benchmarks"][0]["p50_ns"])' "$tmp/run.json")
  f=$("$minimal" shm-line --iterations "$iterations" --cpus "$cpus" | sed 's/.*p50_rtt_ns=//')
  echo "$s" >> "$tmp/shm"
  echo "$f" >> "$tmp/floor"
  printf 'round %d: shm %s B p50 %6.0f ns   shm-line p50 %6.0f ns\n' "$round" "$size" "$s" "$f"
done
echo
/usr/bin/env python3 - "$tmp" "$size" <<'PY'
import statistics, sys, pathlib
tmp, size = pathlib.Path(sys.argv[1]), sys.argv[2]
s = statistics.median(float(x) for x in (tmp / "shm").read_text().split())
f = statistics.median(float(x) for x in (tmp / "floor").read_text().split())
print(f"{'':<24} {'p50 RTT (median of rounds)':>27}")
print(f"{'shm, spin, ' + size + ' B':<24} {s:>24.0f} ns")
print(f"{'shm-line (the floor)':<24} {f:>24.0f} ns")
print(f"{'ratio':<24} {s / f:>27.2f}")
PY

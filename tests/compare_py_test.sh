#!/usr/bin/env bash
# Google Benchmark's own compare.py (Debian: libbenchmark-tools) reads two ipcbench result files
# and compares them cell by cell, repetitions included; a failed cell is left out, not compared.
#   tests/compare_py_test.sh IPCBENCH
set -euo pipefail
ipcbench=$1
compare=/usr/share/benchmark/compare.py
[ -f "$compare" ] || { echo "missing $compare: install libbenchmark-tools" >&2; exit 1; }
python=
for candidate in python3 /usr/bin/python3; do
  if "$candidate" -c 'import scipy, numpy' 2> /dev/null; then python=$candidate; break; fi
done
[ -n "$python" ] || { echo "no python3 with scipy and numpy (compare.py needs them)" >&2; exit 1; }
tmp=$(mktemp -d /tmp/ipcbench-compare.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
for run in a b; do
  "$ipcbench" run --quick --transports unix-stream,pipe --scenarios pingpong --repetitions 2 \
    --out "$tmp/$run.json" > /dev/null 2>&1
done
compare() {
  "$python" "$compare" --no-color benchmarks "$tmp/a.json" "$tmp/b.json" 2> "$tmp/stderr" || {
    cat "$tmp/stderr" >&2
    echo "FAIL: compare.py exited with an error" >&2
    exit 1
  }
}
expect_rows() {
  for name in "$@"; do
    grep -q "^$name " <<< "$out" || { echo "FAIL: compare.py printed no row for $name" >&2; exit 1; }
  done
}

out=$(compare)
echo "$out"
expect_rows pingpong/unix-stream/64/block/full pingpong/pipe/64/block/full OVERALL_GEOMEAN
# Two repetitions each: compare.py's U test has them (it prints the p-value rows).
grep -q "_pvalue" <<< "$out" || { echo "FAIL: no U-test rows for repeated cells" >&2; exit 1; }

# A failed cell, written as ipcbench writes one, in one file: the comparison still runs.
"$python" - "$tmp/b.json" <<'PY'
import json, sys
path = sys.argv[1]
doc = json.load(open(path))
broken = dict(doc["benchmarks"][0])
broken.update(name="pingpong/broken/64/block/full", error_occurred=True, error_message="test",
              real_time=0, cpu_time=0)
doc["benchmarks"].append(broken)
json.dump(doc, open(path, "w"))
PY
out=$(compare)
expect_rows pingpong/unix-stream/64/block/full pingpong/pipe/64/block/full
if grep -q "pingpong/broken" <<< "$out"; then
  echo "FAIL: compare.py compared a cell that is in one file only" >&2
  exit 1
fi
echo "compare.py: OK"

#!/usr/bin/env bash
# scripts/plot.py draws every plot it documents from a run of every scenario, and two files side
# by side, and says so when a file has nothing it can plot. The run is the one the golden reports
# read (tests/golden/run.json: pipe, unix-stream, udp, shm, zerocopy, every scenario, 64 B and
# 4 KiB, three rounds, a failed cell): measuring one here took 25 s of CI for nothing plot.py needs.
#   tests/plot_test.sh RUN_JSON PLOT_PY
set -euo pipefail
run_json=$1
plot=$2
tmp=$(mktemp -d /tmp/ipcbench-plot.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
cp "$run_json" "$tmp/all.json"
fail() { echo "FAIL: $*" >&2; exit 1; }
/usr/bin/python3 "$plot" "$tmp/all.json" --out "$tmp/plots" > "$tmp/written" \
  || fail "plot.py failed on a run of every scenario"
cat "$tmp/written"
for name in rtt rtt_distribution rtt_vs_size throughput_vs_size cpu_cost fanout rate rate_at_10k; do
  for ext in png svg; do
    [ -s "$tmp/plots/$name.$ext" ] || fail "no $name.$ext"
    grep -qx "$tmp/plots/$name.$ext" "$tmp/written" || fail "$name.$ext not listed"
  done
done
# PNG files, not something named so.
grep -q "P   N   G" <<< "$(head -c 8 "$tmp/plots/rate.png" | od -An -c)" || fail "rate.png is not a PNG"
# reqresp's plot, from the stored reqresp run beside run.json.
/usr/bin/python3 "$plot" "$(dirname "$run_json")/reqresp.json" --out "$tmp/reqresp" > /dev/null \
  || fail "plot.py failed on a reqresp run"
[ -s "$tmp/reqresp/reqresp.png" ] || fail "plot.py did not draw reqresp.png"
# Two files are plotted side by side, each under its own label, never pooled (their fanout cells
# alone: drawing every plot again would tell nothing more, in 13 s).
/usr/bin/python3 -c '
import json, sys
doc = json.load(open(sys.argv[1]))
doc["benchmarks"] = [e for e in doc["benchmarks"] if e.get("scenario") == "fanout"]
json.dump(doc, open(sys.argv[2], "w"))' "$tmp/all.json" "$tmp/fan.json"
cp "$tmp/fan.json" "$tmp/again.json"
/usr/bin/python3 "$plot" "$tmp/fan.json" "$tmp/again.json" --out "$tmp/two" > /dev/null \
  || fail "plot.py failed on two files"
grep -q "fan.json" "$tmp/two/fanout.svg" || fail "the first file's label is missing from fanout.svg"
grep -q "again.json" "$tmp/two/fanout.svg" || fail "the second file's label is missing from fanout.svg"
# rate's one-way times over time (rate_over_time), drawn from the windows a rate cell records: the
# stored run has none, so its rate cells are given some (two windows each) and only they plotted.
/usr/bin/python3 -c '
import json, sys
doc = json.load(open(sys.argv[1]))
doc["benchmarks"] = [e for e in doc["benchmarks"] if e.get("scenario") == "rate"]
for e in doc["benchmarks"]:
    e["latency_over_time"] = {"window_ns": 10000000,
                              "windows": [[0, 10, 1000, 2000, 3000], [10000000, 10, 1100, 2500, 9000]]}
json.dump(doc, open(sys.argv[2], "w"))' "$tmp/all.json" "$tmp/rate.json"
/usr/bin/python3 "$plot" "$tmp/rate.json" --out "$tmp/rate" > "$tmp/rate-written" \
  || fail "plot.py failed on rate cells with windows"
[ -s "$tmp/rate/rate_over_time.png" ] || fail "plot.py did not draw rate_over_time.png"
grep -q "per 10 ms window" "$tmp/rate/rate_over_time.svg" || fail "rate_over_time.svg has no title"
# A file with nothing to plot is an error that says so.
echo '{"context": {}, "benchmarks": []}' > "$tmp/empty.json"
if /usr/bin/python3 "$plot" "$tmp/empty.json" --out "$tmp/none" 2> "$tmp/err"; then
  fail "an empty file plotted without complaint"
fi
grep -q "nothing to plot" "$tmp/err" || fail "no reason given for an empty file: $(cat "$tmp/err")"
echo "plot.py: every plot drawn"

#!/usr/bin/env bash
# scripts/plot.py draws every plot it documents from a real run of every scenario, and two files
# side by side, and says so when a file has nothing it can plot.
#   tests/plot_test.sh IPCBENCH PLOT_PY
set -euo pipefail
ipcbench=$1
plot=$2
tmp=$(mktemp -d /tmp/ipcbench-plot.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
"$ipcbench" run --quick --transports pipe,unix-stream --wait block --scenarios all \
  --sizes 64,4KiB --rates 1k,10k,max --duration 0.2 --subscribers 1,2 --iterations 200 \
  --out "$tmp/all.json" > "$tmp/run.log" 2>&1 || { cat "$tmp/run.log" >&2; exit 1; }
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
# Two files are plotted side by side, each under its own label, never pooled.
cp "$tmp/all.json" "$tmp/again.json"
/usr/bin/python3 "$plot" "$tmp/all.json" "$tmp/again.json" --out "$tmp/two" > /dev/null \
  || fail "plot.py failed on two files"
grep -q "all.json" "$tmp/two/fanout.svg" || fail "the first file's label is missing from fanout.svg"
grep -q "again.json" "$tmp/two/fanout.svg" || fail "the second file's label is missing from fanout.svg"
# A file with nothing to plot is an error that says so.
echo '{"context": {}, "benchmarks": []}' > "$tmp/empty.json"
if /usr/bin/python3 "$plot" "$tmp/empty.json" --out "$tmp/none" 2> "$tmp/err"; then
  fail "an empty file plotted without complaint"
fi
grep -q "nothing to plot" "$tmp/err" || fail "no reason given for an empty file: $(cat "$tmp/err")"
echo "plot.py: every plot drawn"

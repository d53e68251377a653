#!/usr/bin/env bash
# Regenerates the reference run from this machine, in one go: results/reference.json, README's
# results section, and plots/. Keep the machine quiet while it runs; it says how long it took.
#
#   scripts/reference.sh            the whole reference (under 30 minutes on 2 cores)
#   scripts/reference.sh --dry-run  each part's cells and estimated time; nothing run or written
#
# The reference is eight runs merged into one file (the first run's context; every command and
# the total time in context.runs and context.reference_seconds):
#   matrix      pingpong 64 B and throughput 1 MiB, every transport in every wait mode it offers,
#               6 rounds (0.2 s of measurement a cell and round: the default)
#   pingpong    sizes 8 B to 4 MiB in each transport's native wait mode, 1 round of 0.3 s
#   throughput  sizes 64 B to 64 MiB (x16 steps; 1 MiB comes from the matrix), touch full and
#               edges, native wait, 0.5 s of messages at most a cell, 1 round
#   fanout      N = 1, 2, 4 consumers, block, 64 B and 1 MiB, touch full, 1 s at most, 1 round
#   rate        1k, 10k, 100k messages/s and max, 64 B, native wait, 2 s a cell, 1 round
#   reqresp     N = 1, 4, 16 clients, block, 64 B, 0.5 s a cell, 1 round
#   loaded      64 B round trips idle and beside a 1 MiB stream, block, 1 s a cell, 1 round
#   overload    twice the consumer's pace, block, 64 B, 0.5 s a cell, zerocopy dropping and
#               blocking, 1 round
# The sweeps take one round each to stay inside the time: their points carry no interval; the
# matrix's cells do (six rounds: the order-statistic interval of the median).
set -euo pipefail
cd "$(dirname "$0")/.."
dry_run=
case "${1:-}" in
  "") ;;
  --dry-run) dry_run=1 ;;
  *) echo "reference: unknown argument '$1': the only one allowed is --dry-run" >&2; exit 2 ;;
esac
# The results name the commit the binary was built from: that commit must be the whole story.
if [ -z "$dry_run" ] && [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then
  echo "reference: the working tree has uncommitted changes; commit or stash them first, so that" \
    "the reference names the commit it was made with" >&2
  exit 2
fi
scripts/build.sh > /dev/null
build=${IPCBENCH_BUILD_DIR:-build}
ipcbench="$build/ipcbench"
tmp=$(mktemp -d /tmp/ipcbench-reference.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

parts=(matrix pingpong throughput fanout rate reqresp loaded overload)
declare -A args
args[matrix]="run --transports all --wait all --repetitions 6"
args[pingpong]="run --transports all --scenarios pingpong --sizes 8,512,4KiB,32KiB,256KiB,4MiB
  --budget 0.3 --repetitions 1"
args[throughput]="run --transports all --scenarios throughput
  --sizes 64,1KiB,16KiB,256KiB,4MiB,64MiB --touch all --budget 0.5 --repetitions 1"
args[fanout]="run --transports all --scenarios fanout --subscribers 1,2,4 --wait block
  --sizes 64,1MiB --touch full --budget 1 --repetitions 1"
args[rate]="run --transports all --scenarios rate --rates 1k,10k,100k,max --sizes 64
  --duration 2 --repetitions 1"
args[reqresp]="run --transports all --scenarios reqresp --clients 1,4,16 --wait block --budget 0.5
  --repetitions 1"
args[loaded]="run --transports all --scenarios loaded --wait block --budget 1 --repetitions 1"
args[overload]="run --transports all --scenarios overload --wait block --duration 0.5
  --set zerocopy.drop=0,1 --repetitions 1"

if [ -n "$dry_run" ]; then
  for part in "${parts[@]}"; do
    # shellcheck disable=SC2086 # the arguments are words
    echo "$part: $("$ipcbench" ${args[$part]} --dry-run 2>&1 | tail -n 1)"
  done
  exit 0
fi

start=$(date +%s)
commands=()
for part in "${parts[@]}"; do
  echo "reference: $part ..." >&2
  # shellcheck disable=SC2086
  "$ipcbench" ${args[$part]} --out "$tmp/$part.json" > "$tmp/$part.log" 2>&1 ||
    echo "reference: some $part cells failed (kept, with their reasons)" >&2
  commands+=("ipcbench $(echo ${args[$part]})")
done
seconds=$(($(date +%s) - start))

/usr/bin/python3 - results/reference.json "$seconds" "${commands[@]}" -- \
  "${parts[@]/#/$tmp/}" <<'PY'
import json, sys
argv = sys.argv[1:]
out, seconds = argv[0], int(argv[1])
split = argv.index("--")
commands, files = argv[2:split], [f + ".json" for f in argv[split + 1:]]
docs = [json.load(open(f)) for f in files]
doc = {"context": docs[0]["context"], "benchmarks": []}
for d in docs:
    doc["benchmarks"] += d["benchmarks"]
doc["context"]["runs"] = commands
doc["context"]["reference_seconds"] = seconds
# The layout ipcbench writes: the context on the first line, an entry of benchmarks a line.
def compact(v):
    return json.dumps(v, separators=(",", ":"), ensure_ascii=False)
with open(out, "w") as f:
    f.write('{"context":' + compact(doc["context"]) + ',\n"benchmarks":[\n')
    f.write(",\n".join(compact(e) for e in doc["benchmarks"]))
    f.write("\n]}\n")
PY
scripts/update_readme.py "$ipcbench"
/usr/bin/python3 scripts/plot.py results/reference.json --out plots/
# The HTML report's first screen, for README (where chromium is: install-deps.sh --tests).
if browser=$(command -v chromium); then
  "$ipcbench" report --format html results/reference.json > "$tmp/reference.html"
  "$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1280,1400 \
    --user-data-dir="$tmp/chromium" --screenshot="$PWD/plots/report.png" \
    "file://$tmp/reference.html" 2> /dev/null
fi
echo "reference: results/reference.json, README.md and plots/ regenerated in $((seconds / 60)) min" \
  "$((seconds % 60)) s"

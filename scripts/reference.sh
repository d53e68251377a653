#!/usr/bin/env bash
# Regenerates the reference run from this machine, in one go: results/reference.json, README's
# results section, and plots/. Takes about 15-20 minutes on 2 cores; keep the machine quiet.
#
#   scripts/reference.sh
#
# The reference is two runs merged into one file (the context of the first, both commands in
# "runs"): the default matrix in every wait mode each transport offers, 3 repetitions; and a
# pingpong size sweep (8 B to 4 MiB, every wait mode, 20,000 round trips or 2 s a cell).
set -euo pipefail
cd "$(dirname "$0")/.."
# The results name the commit the binary was built from: that commit must be the whole story.
if [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then
  echo "reference: the working tree has uncommitted changes; commit or stash them first, so that" \
    "the reference names the commit it was made with" >&2
  exit 2
fi
scripts/build.sh > /dev/null
build=${IPCBENCH_BUILD_DIR:-build}
ipcbench="$build/ipcbench"
tmp=$(mktemp -d /tmp/ipcbench-reference.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

matrix=(run --transports all --wait all --repetitions 3)
sweep=(run --transports all --scenarios pingpong --wait all --sizes 8,512,4KiB,32KiB,256KiB,2MiB,4MiB
  --iterations 20000 --budget 2)
"$ipcbench" "${matrix[@]}" --out "$tmp/matrix.json" > /dev/null ||
  echo "reference: some matrix cells failed (kept, with their reasons)" >&2
"$ipcbench" "${sweep[@]}" --out "$tmp/sweep.json" > /dev/null ||
  echo "reference: some sweep cells failed (kept, with their reasons)" >&2

python3 - "$tmp/matrix.json" "$tmp/sweep.json" results/reference.json \
  "ipcbench ${matrix[*]}" "ipcbench ${sweep[*]}" <<'PY'
import json, sys
matrix, sweep, out, cmd_matrix, cmd_sweep = sys.argv[1:6]
a, b = json.load(open(matrix)), json.load(open(sweep))
doc = {"context": a["context"], "benchmarks": a["benchmarks"] + b["benchmarks"]}
doc["context"]["runs"] = [cmd_matrix, cmd_sweep]
with open(out, "w") as f:
    json.dump(doc, f, indent=2)
    f.write("\n")
PY
scripts/update_readme.py "$ipcbench"
scripts/plot.py results/reference.json --out plots/
echo "reference: results/reference.json, README.md and plots/ regenerated"

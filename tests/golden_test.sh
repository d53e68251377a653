#!/usr/bin/env bash
# What `report` and `compare` print for two stored results files is exactly what they printed when
# the files were stored: a change to the harness that is not meant to change a figure, a column, a
# note or a field (a refactoring) must leave every byte of it. tests/golden/ holds the files and
# what each command printed; a change that is meant to alter the output regenerates them with
#   tests/golden_test.sh IPCBENCH --regenerate
# and the diff of tests/golden/*.out is then part of that change, for review.
#   run.json  a run of this build's schema (3): every scenario, rounds, a failed repetition, a
#             failed cell, driver settings, the floor rows, several CPU pairs
#   old.json  a part of the reference run of schema 2 (37a724b): what older files read as
#   disjoint.json  tcp's pingpong cells of that reference: no cell in common with run.json
#   reqresp.json  a reqresp run (unix-stream, zerocopy, sysv-mq; 1, 2 and 4 clients; three rounds)
#   overload.json  an overload run (zerocopy dropping and blocking, unix-stream; two rounds)
#   compact.json  run.json as this build writes a results file (no indentation, an entry a line,
#             the summaries after the repetitions): its report must be run.json's, byte for byte
# Usage: golden_test.sh IPCBENCH [--regenerate]
set -euo pipefail
exe=$(realpath "$1")
mode=${2:-check}
dir=$(cd "$(dirname "$0")/golden" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# name | arguments (the files named relative to tests/golden)
cases=(
  "report.md|report run.json"
  "report.csv|report --format csv run.json"
  "report.json|report --format json run.json"
  "report.bmf|report --format bmf run.json"
  "report.md|report compact.json"
  "report-baseline.md|report --baseline unix-stream run.json"
  "report-old.md|report old.json"
  "report-old.csv|report --format csv old.json"
  "report-old.json|report --format json old.json"
  "report-both.md|report old.json run.json"
  "report-both.csv|report --format csv old.json run.json"
  "compare.md|compare old.json run.json"
  "compare-self.md|compare run.json run.json"
  "compare-disjoint.md|compare run.json disjoint.json"
  "report-reqresp.md|report reqresp.json"
  "report-overload.md|report overload.json"
)
failures=0
for c in "${cases[@]}"; do
  name=${c%%|*}
  args=${c#*|}
  # shellcheck disable=SC2086 # the arguments are words
  (cd "$dir" && "$exe" $args) > "$work/$name" 2> "$work/$name.err" || {
    rc=$?
    # compare exits 0 or 1 (a regression); anything else is a failure of the command
    if [ "$rc" -ne 1 ]; then
      echo "FAIL: ipcbench $args exited $rc: $(cat "$work/$name.err")" >&2
      failures=$((failures + 1))
      continue
    fi
  }
  if [ "$mode" = --regenerate ]; then
    cp "$work/$name" "$dir/$name.out"
  elif ! diff -u "$dir/$name.out" "$work/$name" > "$work/$name.diff"; then
    echo "FAIL: ipcbench $args differs from tests/golden/$name.out:" >&2
    head -n 40 "$work/$name.diff" >&2
    failures=$((failures + 1))
  fi
done
[ "$mode" = --regenerate ] && echo "regenerated ${#cases[@]} outputs in $dir"
[ "$failures" -eq 0 ] || { echo "$failures of ${#cases[@]} outputs differ" >&2; exit 1; }
echo "all ${#cases[@]} outputs as stored"

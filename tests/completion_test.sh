#!/usr/bin/env bash
# The bash completion `ipcbench completion bash` prints: it is valid bash; it offers every
# transport of the registry (ipcbench list) and every scenario; it completes subcommands, flags,
# comma-separated lists and --option=value; every value it offers is one the binary accepts; and
# the copy the build installs is the binary's current output.
# Usage: completion_test.sh IPCBENCH [INSTALLED_COPY]
set -euo pipefail
exe=$1
installed=${2:-}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
script=$work/ipcbench.bash
"$exe" completion bash > "$script"
bash -n "$script"
failures=0
fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

# candidates WORD... : what _ipcbench offers for the command line WORD..., the last word being the
# one completed; one candidate a line.
candidates() {
  bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _ipcbench
           [ ${#COMPREPLY[@]} -eq 0 ] || printf "%s\n" "${COMPREPLY[@]}"' _ "$script" "$@"
}
expect() {  # expect "WANT..." WORD... : the candidates are exactly WANT (any order)
  local want=$1
  shift
  local got
  got=$(candidates "$@" | sort | tr '\n' ' ')
  want=$(tr ' ' '\n' <<< "$want" | { grep -v '^$' || true; } | sort | tr '\n' ' ')
  [ "$got" = "$want" ] || fail "completing '$*': got '$got', want '$want'"
}

transports=$("$exe" list | awk '/^[^ ]/ {print $1}' | tr '\n' ' ')
# A results file with every transport in it (one failed cell each: report reads it in
# milliseconds, where the reference's 17 MB, 5 MB without indentation, took a second a call).
results=$work/every-transport.json
{
  printf '{"context": {"ipcbench_version": "test", "json_schema_version": 3}, "benchmarks": ['
  sep=
  for t in $transports; do
    printf '%s{"name": "pingpong/%s/64/block/full", "scenario": "pingpong", "transport": "%s",' \
      "$sep" "$t" "$t"
    printf ' "payload_bytes": 64, "wait": "block", "touch": "full", "error_occurred": true,'
    printf ' "error_message": "not measured"}'
    sep=', '
  done
  printf ']}\n'
} > "$results"
scenarios="pingpong throughput rate fanout reqresp loaded overload"
[ -n "$transports" ] || fail "ipcbench list printed no transports"
for t in $transports; do
  grep -qw -- "$t" "$script" || fail "transport $t is not in the script"
done
for s in $scenarios; do
  grep -qw -- "$s" "$script" || fail "scenario $s is not in the script"
done

expect "list run report compare completion" ipcbench ""
expect "$transports all" ipcbench run --transports ""
expect "$scenarios all" ipcbench run --scenarios ""
expect "native spin block adaptive all" ipcbench run --wait ""
expect "edges full all" ipcbench run --touch ""
expect "markdown csv json bmf html" ipcbench report --format ""
expect "$transports" ipcbench report --baseline ""
expect "bash" ipcbench completion ""
# --set: every setting `ipcbench list` shows, as TRANSPORT.SETTING=
settings=$("$exe" list | sed -n 's/^ *--set \([^=]*=\).*/\1/p' | tr '\n' ' ')
expect "$settings" ipcbench run --set ""
expect "pipe.buffer=" ipcbench run --set pipe.b
expect "--quick" ipcbench run --qu
expect "--transports" ipcbench run --tr
expect "pingpong,throughput" ipcbench run --scenarios pingpong,th
expect "spin" ipcbench run --wait = sp
expect "shm,pipe" ipcbench run --quick --transports shm,pip
expect "" ipcbench run --iterations ""

# Every value offered is accepted (a usage error is exit 2).
accepts() {
  local status=0
  "$@" > /dev/null 2> "$work/err" || status=$?
  [ "$status" -ne 2 ] || fail "offered but refused: $* ($(head -1 "$work/err"))"
}
for option in --transports --scenarios --wait --touch; do
  for value in $(candidates ipcbench run "$option" ""); do
    accepts "$exe" run --dry-run "$option" "$value"
  done
done
for value in $(candidates ipcbench report --format ""); do
  accepts "$exe" report --format "$value" "$results"
done
for value in $(candidates ipcbench report --baseline ""); do
  if grep -q "\"transport\": \"$value\"" "$results"; then
    accepts "$exe" report --baseline "$value" "$results"
  fi
done
# Every flag offered for a subcommand is one it knows.
for command in run report compare list; do
  help=$("$exe" "$command" --help)
  for flag in $(candidates ipcbench "$command" -); do
    grep -q -- "$flag" <<< "$help" || fail "$command: offers $flag, --help lacks it"
  done
done

if [ -n "$installed" ]; then
  cmp -s "$script" "$installed" || fail "$installed differs from 'ipcbench completion bash'"
fi
[ "$failures" -eq 0 ] || exit 1
echo "completion: $(wc -l < "$script") lines; every transport ($(wc -w <<< "$transports")) and scenario offered"

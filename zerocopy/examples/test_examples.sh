#!/usr/bin/env bash
# Runs the two examples under a private prefix: a subscriber that stops after 3 samples, a
# publisher that stops after 5, then a publisher and a subscriber stopped by SIGTERM and SIGINT.
# Fails if they do not talk, do not stop, or leave anything in /dev/shm.
set -euo pipefail
publisher=$1
subscriber=$2
export ZEROCOPY_PREFIX="zcex-$$-"
fail() { echo "test_examples: $*" >&2; rm -f /dev/shm/"$ZEROCOPY_PREFIX"* ; exit 1; }
out=$(mktemp -d)
trap 'rm -rf "$out"; rm -f /dev/shm/"$ZEROCOPY_PREFIX"*' EXIT

timeout 20 "$subscriber" 3 >"$out/sub" &
sub=$!
timeout 20 "$publisher" 10 100 >"$out/pub" || fail "publisher failed: $(cat "$out/pub")"
wait "$sub" || fail "subscriber failed: $(cat "$out/sub")"
[[ $(grep -c '^received: ' "$out/sub") -eq 3 ]] || fail "subscriber output: $(cat "$out/sub")"
[[ $(grep -c "^sent: " "$out/pub") -eq 10 ]] || fail "publisher output: $(cat "$out/pub")"
compgen -G "/dev/shm/$ZEROCOPY_PREFIX*" >/dev/null && fail "left in /dev/shm: $(ls /dev/shm | grep "$ZEROCOPY_PREFIX")"

# Stopped by signals, mid-wait.
"$subscriber" >"$out/sub2" &
sub=$!
"$publisher" "" 50 >"$out/pub2" &
pub=$!
for _ in $(seq 100); do grep -q '^received: ' "$out/sub2" && break; sleep 0.05; done
grep -q '^received: ' "$out/sub2" || fail "no sample arrived: $(cat "$out/sub2" "$out/pub2")"
kill -TERM "$pub"
kill -INT "$sub"
wait "$pub" || fail "publisher did not stop cleanly on SIGTERM"
wait "$sub" || fail "subscriber did not stop cleanly on SIGINT"
compgen -G "/dev/shm/$ZEROCOPY_PREFIX*" >/dev/null && fail "left in /dev/shm after signals"
echo "examples ok"

#!/usr/bin/env bash
# scripts/reference.sh refuses a working tree with uncommitted changes (the results would name a
# commit that is not the whole story) and an unknown argument, before building or running
# anything.
#   tests/reference_script_test.sh SOURCE_DIR
set -euo pipefail
src=$1
tmp=$(mktemp -d /tmp/ipcbench-reftest.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
mkdir -p "$tmp/repo/scripts"
cp "$src/scripts/reference.sh" "$tmp/repo/scripts/"
# A build script that records being called: reference.sh must refuse before it.
printf '#!/bin/sh\ntouch "%s/built"\n' "$tmp" > "$tmp/repo/scripts/build.sh"
chmod +x "$tmp/repo/scripts/"*.sh
echo one > "$tmp/repo/tracked.txt"
git -C "$tmp/repo" init -q
git -C "$tmp/repo" add -A
git -C "$tmp/repo" -c user.name=t -c user.email=t@t commit -qm init
echo two >> "$tmp/repo/tracked.txt"
set +e
out=$("$tmp/repo/scripts/reference.sh" 2>&1)
code=$?
set -e
[ "$code" = 2 ] || fail "a dirty tree: exit $code, not 2: $out"
grep -q "uncommitted changes" <<< "$out" || fail "no reason given: $out"
[ ! -e "$tmp/built" ] || fail "it built before refusing"
set +e
out=$("$tmp/repo/scripts/reference.sh" --fast 2>&1)
code=$?
set -e
[ "$code" = 2 ] || fail "an unknown argument: exit $code, not 2: $out"
grep -q "'--fast'" <<< "$out" || fail "the unknown argument is not named: $out"
echo "reference.sh: refuses a dirty tree and an unknown argument"

#!/usr/bin/env bash
# `cmake --install` into a temporary prefix, then, from /, what was installed works on its own:
# ipcbench runs a quick matrix of two transports (its workers are the installed binary itself), its
# man pages render, the completion script is where bash-completion looks, ipcbench-plot plots the
# results (when /usr/bin/python3 has matplotlib), and an application builds against the installed
# zerocopy with find_package(zerocopy) and with pkg-config. Nothing may refer to the source tree.
# Usage: install_test.sh BUILD_DIR SOURCE_DIR CXX [MAN_PAGES (1: the build made them)]
set -euo pipefail
build=$(cd "$1" && pwd)
source_dir=$(cd "$2" && pwd)
cxx=$3
man_pages=${4:-1}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix
failures=0
fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

echo "== cmake --install $build --prefix $prefix"
cmake --install "$build" --prefix "$prefix" > "$work/install.log"
expected=(bin/ipcbench bin/ipcbench-plot bin/zerocopy share/bash-completion/completions/ipcbench
  share/doc/ipcbench/README.md share/doc/ipcbench/ARCHITECTURE.md share/doc/ipcbench/copyright
  include/zerocopy/zerocopy.hpp)
if [ "$man_pages" = 1 ]; then
  expected+=(share/man/man1/ipcbench.1.gz share/man/man1/ipcbench-run.1.gz
    share/man/man1/ipcbench-plot.1.gz share/man/man1/zerocopy.1.gz)
fi
for f in "${expected[@]}"; do
  [ -e "$prefix/$f" ] || fail "not installed: $f"
done
# lib/, or lib/<multiarch>/ on Debian
for f in libzerocopy.a cmake/zerocopy/zerocopyConfig.cmake pkgconfig/zerocopy.pc; do
  [ -n "$(find "$prefix/lib" -path "*/$f")" ] || fail "not installed: lib/.../$f"
done
pc_dir=$(dirname "$(find "$prefix/lib" -name zerocopy.pc | head -1)")
if grep -rlF "$source_dir" "$prefix" > "$work/refs"; then
  fail "installed files naming the source tree: $(tr '\n' ' ' < "$work/refs")"
fi
[ "$(head -1 "$prefix/bin/ipcbench-plot")" = "#!/usr/bin/python3" ] || fail "ipcbench-plot's #! line"

echo "== from /: ipcbench run --quick --transports pipe,shm"
(cd / && "$prefix/bin/ipcbench" run --quick --transports pipe,shm --out "$work/run.json") \
  > "$work/run.log" 2>&1 || { cat "$work/run.log"; fail "the installed ipcbench run"; }
grep -q '"name":"pingpong/shm/' "$work/run.json" || fail "no shm cell in the results"
grep -q pipe <<< "$(cd / && "$prefix/bin/ipcbench" report "$work/run.json")" || fail "ipcbench report"
grep -q "ipcbench-plot (ipcbench) [0-9]" <<< "$("$prefix/bin/ipcbench-plot" --version)" ||
  fail "ipcbench-plot --version"
if /usr/bin/python3 -c "import matplotlib" 2> /dev/null; then
  (cd / && "$prefix/bin/ipcbench-plot" "$work/run.json" --out "$work/plots") > /dev/null ||
    fail "ipcbench-plot"
  [ -s "$work/plots/rtt.png" ] || fail "ipcbench-plot wrote no rtt.png"
else
  echo "== /usr/bin/python3 has no matplotlib: ipcbench-plot's plotting is not tried"
fi

echo "== man pages"
[ "$man_pages" = 1 ] || echo "== the build made no man pages (no help2man): not checked"
shopt -s nullglob
for page in "$prefix"/share/man/man1/*.1.gz; do
  text=$(MANWIDTH=100 man -l "$page" 2> "$work/man.err") || fail "man -l $page"
  [ ! -s "$work/man.err" ] || fail "$page: $(cat "$work/man.err")"
  grep -q "SYNOPSIS\|DESCRIPTION" <<< "$text" || fail "$page: no SYNOPSIS or DESCRIPTION"
done
shopt -u nullglob
if [ "$man_pages" = 1 ]; then
  grep -q -- "--transports" <<< "$(MANWIDTH=100 man -l "$prefix/share/man/man1/ipcbench-run.1.gz")" ||
    fail "ipcbench-run.1 lacks --transports"
fi

echo "== the installed completion"
offered=$(bash -c 'source "$1"; COMP_WORDS=(ipcbench run --transports ""); COMP_CWORD=3
  _ipcbench; printf "%s\n" "${COMPREPLY[@]}"' _ "$prefix/share/bash-completion/completions/ipcbench")
grep -qx shm <<< "$offered" || fail "the installed completion does not offer shm"

echo "== an application against the installed zerocopy: find_package(zerocopy)"
cmake -S "$source_dir/zerocopy/tests/install_app" -B "$work/app" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_PREFIX_PATH="$prefix" > "$work/app.log"
cmake --build "$work/app" >> "$work/app.log" 2>&1 || { cat "$work/app.log"; fail "find_package"; }
"$work/app/app" > /dev/null || fail "the find_package application"
if command -v pkg-config > /dev/null; then
  echo "== pkg-config"
  flags=$(PKG_CONFIG_PATH=$pc_dir pkg-config --cflags --libs zerocopy)
  # shellcheck disable=SC2086
  "$cxx" -std=c++20 -o "$work/app-pc" "$source_dir/zerocopy/tests/install_app/main.cpp" $flags ||
    fail "pkg-config build"
  "$work/app-pc" > /dev/null || fail "the pkg-config application"
fi
[ "$failures" -eq 0 ] || exit 1
echo "install: ok"

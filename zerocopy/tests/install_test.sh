#!/bin/sh
# Installs zerocopy (configured on its own, as a package would be) into a temporary prefix, then
# builds and runs an application against the installed tree: with find_package(zerocopy) and
# with pkg-config (when pkg-config is there). Also runs the installed `zerocopy` tool.
# Usage: install_test.sh CXX ZEROCOPY_SOURCE_DIR [JOBS]
set -eu
cxx=$1
root=$2
jobs=${3:-2}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== configure, build and install zerocopy into $work/prefix"
cmake -S "$root" -B "$work/build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER="$cxx" \
  -DZEROCOPY_BUILD_TESTS=OFF -DZEROCOPY_BUILD_EXAMPLES=OFF > "$work/configure.log"
cmake --build "$work/build" -j "$jobs" > "$work/build.log" || { cat "$work/build.log"; exit 1; }
cmake --install "$work/build" --prefix "$work/prefix" > /dev/null

echo "== find_package(zerocopy)"
cmake -S "$root/tests/install_app" -B "$work/app" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_PREFIX_PATH="$work/prefix" > /dev/null
cmake --build "$work/app" > "$work/app.log" || { cat "$work/app.log"; exit 1; }
"$work/app/app"

echo "== find_package refuses another 0.x minor version"
# While 0.x a minor version may change the API (CHANGELOG.md): a request for another minor
# version must not find this one.
version=$(sed -n 's/^#define ZEROCOPY_VERSION_STRING "\(.*\)"/\1/p' \
  "$root/include/zerocopy/version.hpp")
minor=$(echo "$version" | cut -d. -f2)
for want in "0.$((minor - 1))" "0.$((minor + 1))"; do
  probe="$work/probe-$want"
  mkdir -p "$probe"
  printf 'cmake_minimum_required(VERSION 3.25)\nproject(probe LANGUAGES NONE)\nfind_package(zerocopy %s REQUIRED)\n' \
    "$want" > "$probe/CMakeLists.txt"
  if cmake -S "$probe" -B "$probe/build" -DCMAKE_PREFIX_PATH="$work/prefix" > "$probe.log" 2>&1; then
    echo "FAIL: find_package(zerocopy $want) accepted zerocopy $version"
    exit 1
  fi
  grep -q "compatible with requested version" "$probe.log" || { cat "$probe.log"; exit 1; }
  echo "find_package(zerocopy $want): refused ($version installed)"
done

if command -v pkg-config > /dev/null; then
  echo "== pkg-config"
  flags=$(PKG_CONFIG_PATH="$work/prefix/lib/pkgconfig:$work/prefix/lib64/pkgconfig" \
    pkg-config --cflags --libs zerocopy)
  echo "pkg-config --cflags --libs zerocopy: $flags"
  # shellcheck disable=SC2086
  "$cxx" -std=c++20 -o "$work/app-pc" "$root/tests/install_app/main.cpp" $flags
  "$work/app-pc"
else
  echo "== pkg-config not installed: that check is skipped"
fi

echo "== the installed tool"
"$work/prefix/bin/zerocopy" --help | head -1

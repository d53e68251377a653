#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite: the ctest suite (unit,
# conformance of every transport, end to end), then the zero-copy core's sanitizer builds and
# fuzz run. Exits non-zero if anything fails.
#
# The sanitizer builds compile beside the ctest suite at the lowest priority (nice 19): the suite
# waits on processes much of the time and leaves a core idle, which they take without slowing
# it. The fuzz run (FUZZ_SECONDS, 20 here: a time, not a count of inputs) follows them there, at
# the same priority; their other tests run after the suite, alone.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --tests
# Every build, the tests' own (the install tests, the sanitizer builds) included, compiles through
# ccache: on a machine that built these sources before, most of the compiling is a lookup.
if command -v ccache > /dev/null; then
  export CMAKE_CXX_COMPILER_LAUNCHER=ccache CMAKE_C_COMPILER_LAUNCHER=ccache
  # ... the precompiled headers' users too (scripts/build.sh).
  export CCACHE_SLOPPINESS=${CCACHE_SLOPPINESS:-pch_defines,time_macros}
fi
scripts/build.sh
build=${IPCBENCH_BUILD_DIR:-build}
sanitizers=()
if [ -x zerocopy/ci/sanitizers.sh ]; then
  sanitizers=(zerocopy/ci/sanitizers.sh)
  export FUZZ_SECONDS=${FUZZ_SECONDS:-20}
  san_log=$(mktemp /tmp/zerocopy-sanitizers.XXXXXX)
  trap 'rm -f "$san_log"' EXIT
  { nice -n 19 "${sanitizers[@]}" --build-only && nice -n 19 "${sanitizers[@]}" --fuzz-only; } \
    > "$san_log" 2>&1 &
  san_pid=$!
fi
status=0
(cd "$build" && ctest --output-on-failure -j 2) || status=$?
if [ ${#sanitizers[@]} -gt 0 ]; then
  if ! wait "$san_pid"; then
    cat "$san_log"
    echo "test.sh: the zero-copy sanitizer builds or their fuzz run failed" >&2
    exit 1
  fi
  grep -E '^== ' "$san_log" || true
  "${sanitizers[@]}" --unit-only || status=$?
fi
exit "$status"

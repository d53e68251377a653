#!/usr/bin/env bash
# Builds the zerocopy core standalone under sanitizers and runs its tests:
#   1. clang++-14, AddressSanitizer + UndefinedBehaviorSanitizer: every test, plus the libFuzzer
#      target (-fsanitize=fuzzer,address,undefined) run for FUZZ_SECONDS;
#   2. clang++-14, ThreadSanitizer: the tests that run several threads (they put publisher and
#      subscribers in threads of one process, where TSan sees both sides of each queue; the
#      library starts no thread of its own, and TSan sees nothing across processes).
# Exits non-zero on any failure. Takes a few minutes on 2 cores.
#
# Usage: zerocopy/ci/sanitizers.sh [--build-only | --test-only | --fuzz-only | --unit-only]
#        [BUILD_ROOT]
#        (default BUILD_ROOT: <repo>/build-zc-sanitizers; --build-only configures and builds both,
#        --test-only runs the tests of builds made before, --fuzz-only only the fuzz run of the
#        ASan build and --unit-only the rest: scripts/test.sh builds them and runs the fuzz beside
#        the main test suite, and runs the rest after it)
# Environment: JOBS (default 2), FUZZ_SECONDS (default 45), CXX_CLANG (default clang++-14).
set -euo pipefail

steps=all
case "${1:-}" in
  --build-only) steps=build; shift ;;
  --test-only) steps=test; shift ;;
  --fuzz-only) steps=fuzz; shift ;;
  --unit-only) steps=unit; shift ;;
esac
# Which of a build's tests the test step runs: all, the fuzz run alone, or all but it.
ctest_select=()
[ "$steps" = fuzz ] && ctest_select=(-R '^zerocopy_fuzz_run$')
[ "$steps" = unit ] && ctest_select=(-E '^zerocopy_fuzz_run$')
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
source_dir="$repo/zerocopy"
build_root=${1:-"$repo/build-zc-sanitizers"}
jobs=${JOBS:-2}
fuzz_seconds=${FUZZ_SECONDS:-45}
clang=${CXX_CLANG:-clang++-14}
# -O1 and line tables only, as the sanitizers' manuals advise: their reports still name file and
# line, and both builds compile in a fifth less CPU time than at RelWithDebInfo's -O2 -g (245 ->
# 193 CPU-seconds here), their tests in the same time.
sanitizer_opt="-O1 -gline-tables-only -DNDEBUG"

export ASAN_OPTIONS="abort_on_error=1:detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1"

step() { printf '\n== zerocopy sanitizers: %s\n' "$*"; }

build_and_test() {
  local name=$1 flags=$2
  shift 2
  local dir="$build_root/$name"
  if [ "$steps" = build ] || [ "$steps" = all ]; then
    step "$name: configure"
    cmake -S "$source_dir" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="$sanitizer_opt" \
      -DCMAKE_CXX_COMPILER="$clang" \
      -DCMAKE_CXX_FLAGS="$flags -fno-omit-frame-pointer" \
      -DCMAKE_EXE_LINKER_FLAGS="$flags" \
      -DZEROCOPY_BUILD_TESTS=ON -DZEROCOPY_WERROR=ON -DZEROCOPY_TEST_INSTALL=OFF \
      -DZEROCOPY_TEST_SNIPPETS=OFF -DZEROCOPY_BUILD_EXAMPLES=OFF "$@" >/dev/null
    step "$name: build"
    nice cmake --build "$dir" -j "$jobs"
  fi
  if [ "$steps" != build ]; then
    step "$name: test"
    ctest --test-dir "$dir" --output-on-failure -j "$jobs" --timeout 600 "${ctest_select[@]}"
  fi
}

command -v "$clang" >/dev/null || { echo "sanitizers.sh: $clang not found" >&2; exit 1; }
start=$SECONDS

build_and_test asan-ubsan "-fsanitize=address,undefined -fno-sanitize-recover=all" \
  -DZEROCOPY_BUILD_FUZZ=ON -DZEROCOPY_FUZZ_SECONDS="$fuzz_seconds"

# TSan's runtime in clang 14 cannot handle the high mmap randomisation of recent kernels
# ("unexpected memory mapping"): run its tests without address-space randomisation.
tsan_launcher=()
if [[ $(cat /proc/sys/vm/mmap_rnd_bits 2>/dev/null || echo 28) -gt 28 ]] && command -v setarch >/dev/null; then
  tsan_launcher=(setarch "$(uname -m)" -R)
fi
dir="$build_root/tsan"
if [ "$steps" = build ] || [ "$steps" = all ]; then
  step "tsan: configure"
  cmake -S "$source_dir" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="$sanitizer_opt" \
    -DCMAKE_CXX_COMPILER="$clang" \
    -DCMAKE_CXX_FLAGS="-fsanitize=thread -fno-omit-frame-pointer" \
    -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=thread" -DZEROCOPY_TESTS_THREADED_ONLY=ON \
    -DZEROCOPY_BUILD_TESTS=ON -DZEROCOPY_WERROR=ON -DZEROCOPY_TEST_INSTALL=OFF \
      -DZEROCOPY_TEST_SNIPPETS=OFF -DZEROCOPY_BUILD_EXAMPLES=OFF >/dev/null
  step "tsan: build"
  nice cmake --build "$dir" -j "$jobs"
fi
if [ "$steps" != build ] && [ "$steps" != fuzz ]; then
  step "tsan: test"
  "${tsan_launcher[@]}" ctest --test-dir "$dir" --output-on-failure -j "$jobs" --timeout 600
fi

step "$([ "$steps" = build ] && echo built || echo all passed) in $((SECONDS - start)) s"

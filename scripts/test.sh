#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite: the ctest suite (unit,
# conformance of every transport, end to end), then the zero-copy core's sanitizer builds and
# fuzz run. Exits non-zero if anything fails.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
build=${IPCBENCH_BUILD_DIR:-build}
(cd "$build" && ctest --output-on-failure -j 2)
if [ -x zerocopy/ci/sanitizers.sh ]; then
  zerocopy/ci/sanitizers.sh
fi

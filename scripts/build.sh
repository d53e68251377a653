#!/usr/bin/env bash
# Configures and builds ipcbench (Release) in build/ (or $IPCBENCH_BUILD_DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${IPCBENCH_BUILD_DIR:-build}
# Through ccache when it is installed (scripts/install-deps.sh installs it): a build dir
# configured for the first time takes it as its compiler launcher.
if command -v ccache > /dev/null && [ -z "${CMAKE_CXX_COMPILER_LAUNCHER:-}" ]; then
  export CMAKE_CXX_COMPILER_LAUNCHER=ccache CMAKE_C_COMPILER_LAUNCHER=ccache
fi
# The harness's sources compile with a precompiled header (CMakeLists.txt, IPCBENCH_PCH), which
# ccache caches only when told that it may (its manual, "Precompiled headers").
export CCACHE_SLOPPINESS=${CCACHE_SLOPPINESS:-pch_defines,time_macros}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release > /dev/null
cmake --build "$build" -j "$(nproc)"

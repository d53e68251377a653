#!/usr/bin/env bash
# Installs what is missing, builds, and runs the default comparison matrix: every transport,
# pingpong (64 B) and throughput (1 MiB, edges and full). The table goes to the console, the
# JSON to results/run-<date>-<time>.json. Extra arguments go to `ipcbench run`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
exec "${IPCBENCH_BUILD_DIR:-build}/ipcbench" run "$@"

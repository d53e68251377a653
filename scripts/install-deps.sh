#!/usr/bin/env bash
# Installs what ipcbench needs from the distribution's packages (Debian 12 or later: CMake 3.25
# and g++ 12 at least), with sudo when not root. Installs only what is missing; the peers'
# libraries (iceoryx, ZeroMQ) are optional: where the distribution lacks them, the build goes on
# without those transports and `ipcbench list` says what to install.
#   scripts/install-deps.sh [--tests]
# --tests (scripts/test.sh): also what only tests use: chromium, the browser the `html_report`
# test shows `report --format html` in (without it that test is skipped).
set -euo pipefail

required=(build-essential cmake pkg-config git libcli11-dev libfmt-dev nlohmann-json3-dev
  libboost-dev zlib1g-dev libbenchmark-dev libbenchmark-tools googletest libgtest-dev python3
  python3-matplotlib)
# Installing and packaging (packaging/, the `packaging` tests): help2man makes the man pages,
# dpkg-dev (dpkg-shlibdeps) and file let cpack compute the .deb's Depends, lintian checks the
# packages, bash-completion loads the completion script, man-db renders the pages.
required+=(help2man dpkg-dev file lintian bash-completion man-db)
# The `bmf` test validates `report --format bmf` against Bencher's published JSON schema.
required+=(python3-jsonschema)
# ccache: scripts/build.sh and scripts/test.sh compile through it when it is there, so that a
# second build of the same sources (another clone, the tests' own builds) reuses the first's.
required+=(ccache)
if [ "${1:-}" = --tests ]; then
  required+=(chromium)
elif [ $# -gt 0 ]; then
  echo "install-deps: unknown argument '$1'; allowed: --tests" >&2
  exit 2
fi
# clang and its runtime build the fuzz target; the rest are the libraries of the optional drivers,
# read from their declarations (the DEBIAN lines of transports/CMakeLists.txt), the one list.
here=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck disable=SC2207
drivers=($(sed -n 's/^ *DEBIAN //p' "$here/transports/CMakeLists.txt"))
optional=(clang libclang-rt-dev "${drivers[@]}")

missing() {
  local out=()
  for p in "$@"; do
    grep -q "install ok installed" <<< "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" || out+=("$p")
  done
  echo "${out[@]:-}"
}

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo > /dev/null || { echo "install-deps: not root and no sudo" >&2; exit 1; }
  sudo_cmd=(sudo)
fi
apt_install() {
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "$@"
}

need_required=$(missing "${required[@]}")
need_optional=$(missing "${optional[@]}")
if [ -z "$need_required" ] && [ -z "$need_optional" ]; then
  exit 0
fi
echo "install-deps: installing ${need_required} ${need_optional}" >&2
"${sudo_cmd[@]}" apt-get update -qq
if [ -n "$need_required" ]; then
  # shellcheck disable=SC2086
  apt_install $need_required
fi
for p in $need_optional; do
  apt_install "$p" > /dev/null 2>&1 || echo "install-deps: optional package $p not available; its transport is left out" >&2
done

#!/usr/bin/env bash
# Builds the Debian packages (cpack -G DEB, into a temporary directory), checks each one's control
# fields and contents with dpkg-deb, and runs lintian on it: an error or a warning fails the test
# (the overrides the packages carry, packaging/lintian/, say why each tag they silence cannot be
# fixed). Exit 77 (skipped) without dpkg-deb, dpkg-shlibdeps or lintian, or when the build made
# no man pages (no help2man): scripts/install-deps.sh installs them all.
# Usage: packaging_test.sh BUILD_DIR [MAN_PAGES (1: the build made them)]
set -euo pipefail
build=$(cd "$1" && pwd)
if [ "${2:-1}" != 1 ]; then
  echo "packaging: the build made no man pages (install help2man, reconfigure): skipped"
  exit 77
fi
for tool in dpkg-deb dpkg-shlibdeps lintian; do
  command -v "$tool" > /dev/null || { echo "packaging: $tool not installed: skipped"; exit 77; }
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

echo "== cpack -G DEB"
(cd "$build" && cpack -G DEB -B "$work" > "$work/cpack.log" 2>&1) || { cat "$work/cpack.log"; exit 1; }
ipcbench=$(ls "$work"/ipcbench_*.deb)
zerocopy=$(ls "$work"/libzerocopy-dev_*.deb)

field() { dpkg-deb -f "$1" "$2"; }
contents() { dpkg-deb -c "$1" | awk '{print $6}'; }

echo "== $(basename "$ipcbench"): control"
dpkg-deb --info "$ipcbench"
[ "$(field "$ipcbench" Package)" = ipcbench ] || fail "Package"
[ "$(field "$ipcbench" Section)" = utils ] || fail "Section"
depends=$(field "$ipcbench" Depends)
names() { tr ',' '\n' <<< "$1" | sed 's/^ *//; s/ .*//'; }  # the package names of a relation
for want in libc6 libstdc++6 python3; do
  grep -qxF "$want" <<< "$(names "$depends")" || fail "Depends lacks $want: $depends"
done
grep -q python3-matplotlib <<< "$(field "$ipcbench" Recommends)" || fail "Recommends lacks python3-matplotlib"
echo "== $(basename "$ipcbench"): contents"
contents "$ipcbench" > "$work/ipcbench.list"
cat "$work/ipcbench.list"
for f in ./usr/bin/ipcbench ./usr/bin/ipcbench-plot ./usr/share/man/man1/ipcbench.1.gz \
  ./usr/share/man/man1/ipcbench-run.1.gz ./usr/share/man/man1/ipcbench-report.1.gz \
  ./usr/share/man/man1/ipcbench-compare.1.gz ./usr/share/man/man1/ipcbench-list.1.gz \
  ./usr/share/man/man1/ipcbench-completion.1.gz ./usr/share/man/man1/ipcbench-plot.1.gz \
  ./usr/share/bash-completion/completions/ipcbench ./usr/share/doc/ipcbench/copyright \
  ./usr/share/doc/ipcbench/changelog.gz ./usr/share/doc/ipcbench/README.md; do
  grep -qxF "$f" "$work/ipcbench.list" || fail "ipcbench lacks $f"
done

echo "== $(basename "$zerocopy"): control and contents"
dpkg-deb --info "$zerocopy" | sed -n '/Package:/,$p'
[ "$(field "$zerocopy" Section)" = libdevel ] || fail "libzerocopy-dev Section"
contents "$zerocopy" > "$work/zerocopy.list"
for f in ./usr/bin/zerocopy ./usr/share/man/man1/zerocopy.1.gz ./usr/include/zerocopy/zerocopy.hpp \
  ./usr/share/doc/libzerocopy-dev/copyright; do
  grep -qxF "$f" "$work/zerocopy.list" || fail "libzerocopy-dev lacks $f"
done
grep -q '/libzerocopy\.a$' "$work/zerocopy.list" || fail "libzerocopy-dev lacks libzerocopy.a"
grep -q '/cmake/zerocopy/zerocopyConfig\.cmake$' "$work/zerocopy.list" || fail "no CMake package"
grep -q '/pkgconfig/zerocopy\.pc$' "$work/zerocopy.list" || fail "no pkg-config file"

echo "== nothing outside /usr, nothing in both packages"
grep -hv '^\./usr/\|^\./$' "$work/ipcbench.list" "$work/zerocopy.list" && fail "files outside /usr"
comm -12 <(grep -v '/$' "$work/ipcbench.list" | sort) <(grep -v '/$' "$work/zerocopy.list" | sort) |
  grep . && fail "files in both packages"

echo "== lintian"
lintian --fail-on error,warning --display-info "$ipcbench" "$zerocopy" || fail "lintian"
[ "$failures" -eq 0 ] || exit 1
echo "packaging: $(basename "$ipcbench") $(du -k "$ipcbench" | cut -f1) KiB," \
  "$(basename "$zerocopy") $(du -k "$zerocopy" | cut -f1) KiB; lintian clean"

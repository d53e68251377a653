#!/usr/bin/env bash
# The layering rules of ARCHITECTURE.md ("Layers"), on the sources: every #include points down.
# The build enforces the same (each layer's target sees only its own and lower layers' headers);
# this names each offending line, including in headers no target compiles on its own.
# Usage: layers_test.sh SOURCE_DIR
set -euo pipefail
cd "$1"
failures=0
# forbid LAYER_DIRS... -- FOLDER...: no file under the folders includes a header of the layers
forbid() {
  local folders=() includes=()
  while [ "$1" != -- ]; do includes+=("$1"); shift; done
  shift
  folders=("$@")
  for inc in "${includes[@]}"; do
    if hits=$(grep -rn --include='*.cpp' --include='*.hpp' --include='*.h' "#include \"$inc/" \
        "${folders[@]}"); then
      echo "FAIL: ${folders[*]} must not include $inc/ (a higher layer):" >&2
      echo "$hits" >&2
      failures=$((failures + 1))
    fi
  done
}
forbid harness -- scenarios transports base zerocopy
# The harness's rooms (ARCHITECTURE.md, "The harness's rooms"): cli -> run -> report -> results.
forbid harness/cli -- harness/run harness/report harness/results
forbid harness/run -- harness/report harness/results
forbid harness/report -- harness/results
forbid scenarios -- transports base zerocopy
forbid transports -- base zerocopy
forbid base -- zerocopy
[ "$failures" -eq 0 ] || exit 1
echo "every include points down"

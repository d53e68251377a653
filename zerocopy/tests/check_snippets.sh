#!/bin/sh
# Compiles the documentation's code: every ```cpp block of zerocopy/README.md and the example at
# the top of each public header (its first run of "//   " lines), as C++20 with warnings as
# errors (unused variables aside), against a prelude that declares the names they take for
# granted (node, publisher, subscriber, Pose, use(), ...). A block with "int main" is a whole
# program; any other is the body of a function. Then checks that the misuses the API refuses at
# compile time are refused with the message it promises.
# Usage: check_snippets.sh CXX ZEROCOPY_SOURCE_DIR
set -u
cxx=$1
root=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=0

cat > "$work/prelude.hpp" <<'PRELUDE'
#include <zerocopy/zerocopy.hpp>
#include <cstdint>
#include <cstdio>
#include <utility>
using namespace std::chrono_literals;
struct Pose { double x, y; };
template <class... A> void use(A&&...) {}
void publish_status();
void raise_alarm();
extern zerocopy::Node& node;
extern zerocopy::Publisher<std::uint64_t>& publisher;
extern std::uint64_t v;
extern zerocopy::Subscriber<Pose>& subscriber;
extern zerocopy::Subscriber<Pose>& pose_subscriber;
extern zerocopy::Listener& heartbeat_listener;
PRELUDE
# With GCC, the prelude (which includes the whole library) is parsed once, as a precompiled
# header every snippet picks up (13 snippets: 16 s -> 4 s here); without one, each parses it.
if "$cxx" --version 2>/dev/null | grep -q "Free Software Foundation"; then
  "$cxx" -std=c++20 -x c++-header -I "$root/include" "$work/prelude.hpp" \
    -o "$work/prelude.hpp.gch" 2> /dev/null || rm -f "$work/prelude.hpp.gch"
fi

# snippet NAME FILE: wraps FILE's code and compiles it.
compile() {
  name=$1
  code=$2
  out="$work/$name.cpp"
  echo '#include "prelude.hpp"' > "$out"
  if grep -q 'int main' "$code"; then
    cat "$code" >> "$out"
  else
    { echo '[[maybe_unused]] static void snippet() {'; cat "$code"; echo '}'; } >> "$out"
  fi
  if ! "$cxx" -std=c++20 -fsyntax-only -Wall -Wextra -Werror -Wno-unused-variable \
      -Wno-unused-but-set-variable -I "$root/include" -I "$work" "$out" 2> "$work/$name.log"; then
    echo "FAIL: $name does not compile:"
    cat "$out"
    cat "$work/$name.log"
    failed=1
  else
    echo "ok: $name"
  fi
}

# README blocks.
awk -v dir="$work" '
  /^```cpp/ { n += 1; file = dir "/readme_" n ".code"; inside = 1; next }
  /^```/ { inside = 0; next }
  inside { print > file }
' "$root/README.md"
count=0
for code in "$work"/readme_*.code; do
  [ -e "$code" ] || continue
  count=$((count + 1))
  compile "$(basename "$code" .code)" "$code"
done
if [ "$count" -lt 4 ]; then
  echo "FAIL: found only $count cpp blocks in README.md"
  failed=1
fi

# Header examples.
for header in "$root"/include/zerocopy/*.hpp; do
  name=header_$(basename "$header" .hpp)
  awk '/^\/\/   / { found = 1; print substr($0, 6); next } found { exit }' "$header" \
    > "$work/$name.code"
  [ -s "$work/$name.code" ] && compile "$name" "$work/$name.code"
done

# Misuses refused at compile time, with the promised message.
refuse() {
  name=$1
  message=$2
  body=$3
  printf '#include "prelude.hpp"\n[[maybe_unused]] static void misuse() {\n%s\n}\n' "$body" \
    > "$work/$name.cpp"
  if "$cxx" -std=c++20 -fsyntax-only -I "$root/include" -I "$work" "$work/$name.cpp" \
      2> "$work/$name.log"; then
    echo "FAIL: $name compiles"
    failed=1
  elif ! grep -qF "$message" "$work/$name.log"; then
    echo "FAIL: $name is refused without saying '$message':"
    cat "$work/$name.log"
    failed=1
  else
    echo "ok: $name refused"
  fi
}
refuse lvalue_send "use std::move(sample).send()" \
  'auto sample = publisher.loan().value(); (void)sample.send();'
refuse lvalue_write_payload "std::move(sample).write_payload(v)" \
  'auto sample = publisher.loan_uninit().value(); (void)sample.write_payload(1);'
refuse lvalue_assume_init "std::move(sample).assume_init()" \
  'auto sample = publisher.loan_uninit().value(); (void)sample.assume_init();'

exit $failed

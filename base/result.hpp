// Errors as values: what went wrong (a code every layer understands) and why (one line of text).
// Every call that can fail on the hot path returns Result<T>; nothing here throws.
#pragma once

#include <cerrno>
#include <cstdint>
#include <expected>
#include <string>
#include <string_view>

namespace ipcbench {

enum class Errc : std::uint8_t {
  peer_gone,          // the peer closed, exited or died
  message_too_large,  // larger than a transport or an endpoint can carry
  timeout,            // nothing arrived within the wait's timeout
  protocol,           // framing broken: lost, duplicated or reordered fragment, bad length
  corrupted,          // shared memory fails validation: tampered with, truncated, or not ours
  resource,           // could not create or open a socket, file or segment
  unsupported,        // a wait mode or option this transport does not offer
  unavailable,        // the library behind a transport is not installed
  system,             // any other operating-system error
};

// How a code reads in a reason ("peer gone", "corrupted shared memory", ...).
std::string_view to_string(Errc code);
// The code's own name ("peer_gone"), as the worker sends it to the conductor; and back.
std::string_view name_of(Errc code);
bool parse_errc(std::string_view name, Errc& code);

struct Error {
  Errc code;
  std::string reason;
};

// std::expected that may not be dropped: a call whose error nobody looks at does not compile
// (-Werror=unused-result). Where a caller really does not care, it says so: `(void)call();` with a
// comment why.
template <class T>
class [[nodiscard]] Result : public std::expected<T, Error> {
 public:
  using std::expected<T, Error>::expected;
  Result() = default;
  Result(std::expected<T, Error> e) : std::expected<T, Error>(std::move(e)) {}  // NOLINT
};

inline std::unexpected<Error> fail(Errc code, std::string reason) {
  return std::unexpected(Error{code, std::move(reason)});
}
// "what: strerror(err)" as an error value; errno by default.
std::unexpected<Error> fail_errno(Errc code, std::string_view what, int err = errno);

}  // namespace ipcbench

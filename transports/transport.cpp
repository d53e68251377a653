#include "transports/transport.hpp"

#include <cstring>

namespace ipcbench {

std::string_view to_string(WaitMode mode) {
  switch (mode) {
    case WaitMode::spin:
      return "spin";
    case WaitMode::block:
      return "block";
    case WaitMode::adaptive:
      return "adaptive";
  }
  return "?";
}

std::string_view to_string(Role role) {
  return role == Role::producer ? "producer" : "consumer";
}

std::optional<WaitMode> parse_wait_mode(std::string_view text) {
  for (auto mode : {WaitMode::spin, WaitMode::block, WaitMode::adaptive}) {
    if (text == to_string(mode)) return mode;
  }
  return std::nullopt;
}

std::string_view to_string(Errc code) {
  switch (code) {
    case Errc::peer_gone:
      return "peer gone";
    case Errc::message_too_large:
      return "message too large";
    case Errc::timeout:
      return "timeout";
    case Errc::protocol:
      return "protocol error";
    case Errc::corrupted:
      return "corrupted shared memory";
    case Errc::resource:
      return "resource error";
    case Errc::unsupported:
      return "unsupported";
    case Errc::unavailable:
      return "unavailable";
    case Errc::system:
      return "system error";
  }
  return "?";
}

std::unexpected<Error> fail_errno(Errc code, std::string_view what, int err) {
  std::string reason(what);
  reason += ": ";
  reason += std::strerror(err);
  return std::unexpected(Error{code, std::move(reason)});
}

}  // namespace ipcbench

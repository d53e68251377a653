#include "base/result.hpp"

#include <cstring>

namespace ipcbench {

namespace {

struct Names {
  Errc code;
  std::string_view name;
  std::string_view text;
};

constexpr Names kNames[] = {
    {Errc::peer_gone, "peer_gone", "peer gone"},
    {Errc::message_too_large, "message_too_large", "message too large"},
    {Errc::timeout, "timeout", "timeout"},
    {Errc::protocol, "protocol", "protocol error"},
    {Errc::corrupted, "corrupted", "corrupted shared memory"},
    {Errc::resource, "resource", "resource error"},
    {Errc::unsupported, "unsupported", "unsupported"},
    {Errc::unavailable, "unavailable", "unavailable"},
    {Errc::system, "system", "system error"},
};

}  // namespace

std::string_view to_string(Errc code) {
  for (const auto& n : kNames) {
    if (n.code == code) return n.text;
  }
  return "?";
}

std::string_view name_of(Errc code) {
  for (const auto& n : kNames) {
    if (n.code == code) return n.name;
  }
  return "?";
}

bool parse_errc(std::string_view name, Errc& code) {
  for (const auto& n : kNames) {
    if (n.name == name) {
      code = n.code;
      return true;
    }
  }
  return false;
}

std::unexpected<Error> fail_errno(Errc code, std::string_view what, int err) {
  std::string reason(what);
  reason += ": ";
  reason += std::strerror(err);
  return std::unexpected(Error{code, std::move(reason)});
}

}  // namespace ipcbench

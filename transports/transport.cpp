#include "transports/transport.hpp"

#include <string>

namespace ipcbench {

std::string_view to_string(Role role) {
  return role == Role::producer ? "producer" : "consumer";
}

std::optional<std::uint64_t> Endpoint::option(std::string_view name) const {
  for (const OptionValue& o : options) {
    if (o.name == name) return o.value;
  }
  return std::nullopt;
}

std::vector<OptionSpec> options_of(const TransportInfo& info) {
  return info.options ? info.options() : std::vector<OptionSpec>{};
}

Result<void> check_size(const Endpoint& endpoint, std::size_t bytes, std::string_view call) {
  if (bytes <= endpoint.max_message_bytes) return {};
  return fail(Errc::message_too_large, std::string(call) + " of " + std::to_string(bytes) +
                                           " bytes, the endpoint's maximum is " +
                                           std::to_string(endpoint.max_message_bytes));
}

}  // namespace ipcbench

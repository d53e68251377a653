#include "transports/transport.hpp"

#include <cstring>

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

Result<void> greet_server(Transport& client, std::uint32_t peer_index) {
  auto loaned = client.loan(sizeof peer_index);
  if (!loaned) return std::unexpected(loaned.error());
  std::memcpy(loaned->data(), &peer_index, sizeof peer_index);
  if (auto ok = client.send(sizeof peer_index); !ok) return ok;
  auto answer = client.receive();
  if (!answer) return std::unexpected(answer.error());
  const bool empty = answer->empty();
  client.release();
  if (!empty) return fail(Errc::protocol, "the server's answer to our greeting was not empty");
  return {};
}

Result<void> answer_every_client(Transport& server, std::uint32_t clients) {
  for (std::uint32_t peer = 0; peer < clients; ++peer) {
    if (auto ok = server.select_peer(peer); !ok) return ok;
    if (auto loaned = server.loan(0); !loaned) return std::unexpected(loaned.error());
    if (auto ok = server.send(0); !ok) return ok;
  }
  return {};
}

}  // namespace ipcbench

// unix-stream: a Unix domain stream socket bound to a path in the cell's private directory.
// The consumer listens, the producer connects; the path is unlinked once the peer is accepted.
#include "transports/driver_options.hpp"
#include "transports/socket_util.hpp"
#include "transports/stream_channel.hpp"

namespace ipcbench {
namespace {

class UnixStreamTransport final : public StreamTransport {
 public:
  using StreamTransport::StreamTransport;

  Result<std::string> listen() override {
    auto addr = unix_address(endpoint().dir + "/unix-stream.sock");
    if (!addr) return std::unexpected(addr.error());
    if (auto ok = listen_at(*addr); !ok) return std::unexpected(ok.error());
    m_path.own(addr->name);
    return m_path.path();
  }

  Result<void> connect(std::string_view peer_address) override {
    if (endpoint().role == Role::consumer) {
      auto ok = accept_peer();
      m_path.remove();  // connected (or not): the path is no longer needed
      return ok;
    }
    auto addr = unix_address(std::string(peer_address));
    if (!addr) return std::unexpected(addr.error());
    return connect_to(*addr);
  }

 private:
  OwnedPath m_path;
};

}  // namespace

extern const TransportInfo unix_stream_driver{
    .name = "unix-stream",
    .description = "Unix domain stream socket (path in a private temp dir); length-prefixed",
    .capabilities = stream_capabilities,
    .make = make_transport<UnixStreamTransport>,
    .options = [] {
      auto options = socket_buffer_options("net.core.wmem_default, the kernel's", false);
      options.push_back(poll_first_option());
      return options;
    }};

}  // namespace ipcbench

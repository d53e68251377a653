// unix-stream: a Unix domain stream socket bound to a path in the cell's private directory.
// The consumer listens, the producer connects; the path is unlinked once the peer is accepted.
#include <unistd.h>

#include "transports/socket_util.hpp"
#include "transports/stream_channel.hpp"

namespace ipcbench {
namespace {

class UnixStreamTransport final : public StreamTransport {
 public:
  using StreamTransport::StreamTransport;
  ~UnixStreamTransport() override { unlink_path(); }

  Result<std::string> listen() override {
    m_path = endpoint().dir + "/unix-stream.sock";
    auto addr = unix_address(m_path);
    if (!addr) return std::unexpected(addr.error());
    if (auto ok = listen_at(*addr); !ok) return std::unexpected(ok.error());
    m_bound = true;
    return m_path;
  }

  Result<void> connect(std::string_view peer_address) override {
    if (endpoint().role == Role::consumer) {
      auto ok = accept_peer();
      unlink_path();  // connected (or not): the path is no longer needed
      return ok;
    }
    auto addr = unix_address(std::string(peer_address));
    if (!addr) return std::unexpected(addr.error());
    return connect_to(*addr);
  }

 private:
  void unlink_path() {
    if (m_bound) ::unlink(m_path.c_str());
    m_bound = false;
  }

  std::string m_path;
  bool m_bound = false;
};

}  // namespace

extern const TransportInfo unix_stream_driver{
    .name = "unix-stream",
    .description = "Unix domain stream socket (path in a private temp dir); length-prefixed",
    .capabilities = stream_capabilities,
    .make = make_transport<UnixStreamTransport>};

}  // namespace ipcbench

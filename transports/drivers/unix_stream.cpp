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
    auto fd = make_socket(AF_UNIX, SOCK_STREAM);
    if (!fd) return std::unexpected(fd.error());
    m_listener = std::move(*fd);
    if (::bind(m_listener.get(), reinterpret_cast<sockaddr*>(&*addr), sizeof *addr) != 0) {
      return fail_errno(Errc::resource, "bind " + m_path);
    }
    m_bound = true;
    if (::listen(m_listener.get(), 1) != 0) return fail_errno(Errc::resource, "listen");
    return m_path;
  }

  Result<void> connect(std::string_view peer_address) override {
    if (endpoint().role == Role::consumer) {
      auto fd = accept_within(m_listener.get(), endpoint().timeout);
      if (!fd) return std::unexpected(fd.error());
      m_socket = std::move(*fd);
      m_listener = UniqueFd();
      unlink_path();
    } else {
      auto addr = unix_address(std::string(peer_address));
      if (!addr) return std::unexpected(addr.error());
      auto fd = make_socket(AF_UNIX, SOCK_STREAM);
      if (!fd) return std::unexpected(fd.error());
      m_socket = std::move(*fd);
      if (::connect(m_socket.get(), reinterpret_cast<sockaddr*>(&*addr), sizeof *addr) != 0) {
        return fail_errno(Errc::resource, "connect " + std::string(peer_address));
      }
    }
    return attach(m_socket.get(), m_socket.get(), FdIo::Kind::stream_socket);
  }

 private:
  void unlink_path() {
    if (m_bound) ::unlink(m_path.c_str());
    m_bound = false;
  }

  std::string m_path;
  bool m_bound = false;
  UniqueFd m_listener;
  UniqueFd m_socket;
};

Result<std::unique_ptr<Transport>> make(const Endpoint& endpoint) {
  return std::make_unique<UnixStreamTransport>(endpoint);
}

}  // namespace

const TransportInfo& unix_stream_driver() {
  static const TransportInfo info{
      .name = "unix-stream",
      .description = "Unix domain stream socket (path in a private temp dir); length-prefixed",
      .capabilities = stream_capabilities,
      .make = make};
  return info;
}

}  // namespace ipcbench

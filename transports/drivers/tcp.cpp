// tcp-nodelay and tcp: a loopback TCP connection, with TCP_NODELAY on (Nagle's algorithm off) or
// left as the kernel sets it (Nagle on), as the seeds' tcp_nodelay and tcp_yesdelay. The consumer
// listens on 127.0.0.1 on a port the kernel picks and gives it to the producer as its address.
#include <netinet/in.h>
#include <netinet/tcp.h>

#include "transports/socket_util.hpp"
#include "transports/stream_channel.hpp"

namespace ipcbench {
namespace {

class TcpTransport final : public StreamTransport {
 public:
  TcpTransport(const Endpoint& endpoint, bool nodelay)
      : StreamTransport(endpoint), m_nodelay(nodelay) {}

  Result<std::string> listen() override {
    auto fd = make_socket(AF_INET, SOCK_STREAM);
    if (!fd) return std::unexpected(fd.error());
    m_listener = std::move(*fd);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(m_listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      return fail_errno(Errc::resource, "bind 127.0.0.1");
    }
    if (::listen(m_listener.get(), 1) != 0) return fail_errno(Errc::resource, "listen");
    auto port = bound_port(m_listener.get());
    if (!port) return std::unexpected(port.error());
    return std::to_string(*port);
  }

  Result<void> connect(std::string_view peer_address) override {
    if (endpoint().role == Role::consumer) {
      auto fd = accept_within(m_listener.get(), endpoint().timeout);
      if (!fd) return std::unexpected(fd.error());
      m_socket = std::move(*fd);
      m_listener = UniqueFd();
    } else {
      auto port = parse_port(peer_address);
      if (!port) return std::unexpected(port.error());
      auto fd = make_socket(AF_INET, SOCK_STREAM);
      if (!fd) return std::unexpected(fd.error());
      m_socket = std::move(*fd);
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_port = htons(*port);
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      if (::connect(m_socket.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        return fail_errno(Errc::resource, "connect 127.0.0.1:" + std::string(peer_address));
      }
    }
    int one = 1;
    if (m_nodelay && ::setsockopt(m_socket.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one)) {
      return fail_errno(Errc::system, "setsockopt(TCP_NODELAY)");
    }
    return attach(m_socket.get(), m_socket.get(), FdIo::Kind::stream_socket);
  }

 private:
  bool m_nodelay;
  UniqueFd m_listener;
  UniqueFd m_socket;
};

Result<std::unique_ptr<Transport>> make_nodelay(const Endpoint& endpoint) {
  return std::make_unique<TcpTransport>(endpoint, true);
}

Result<std::unique_ptr<Transport>> make_nagle(const Endpoint& endpoint) {
  return std::make_unique<TcpTransport>(endpoint, false);
}

}  // namespace

const TransportInfo& tcp_nodelay_driver() {
  static const TransportInfo info{
      .name = "tcp-nodelay",
      .description = "TCP over loopback, TCP_NODELAY on (Nagle off); length-prefixed stream",
      .capabilities = stream_capabilities,
      .make = make_nodelay};
  return info;
}

const TransportInfo& tcp_driver() {
  static const TransportInfo info{
      .name = "tcp",
      .description = "TCP over loopback, Nagle's algorithm left on; length-prefixed stream",
      .capabilities = stream_capabilities,
      .make = make_nagle};
  return info;
}

}  // namespace ipcbench

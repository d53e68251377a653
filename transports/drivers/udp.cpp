// udp: UDP datagrams over loopback. A message larger than one datagram is split into fragments
// (65,000 bytes each with their header) and reassembled; a credit window keeps the sender from
// overrunning the receiver's socket buffer, and a lost, duplicated or reordered fragment is
// detected and reported (transports/datagram_channel.hpp). A vanished peer is noticed by the
// receive timeout, or at once when the kernel reports the port unreachable.
#include <netinet/in.h>

#include "transports/datagram_channel.hpp"
#include "transports/socket_util.hpp"

namespace ipcbench {
namespace {

constexpr std::size_t kMaxDatagram = 65000;  // under UDP's 65,507-byte limit over IPv4

class UdpTransport final : public DatagramTransport {
 public:
  explicit UdpTransport(const Endpoint& endpoint)
      : DatagramTransport(endpoint, kMaxDatagram, true) {}

  Result<std::string> listen() override {
    if (auto ok = bind_loopback(); !ok) return std::unexpected(ok.error());
    auto port = bound_port(m_socket.get());
    if (!port) return std::unexpected(port.error());
    return std::to_string(*port);
  }

  Result<void> connect(std::string_view peer_address) override {
    if (endpoint().role == Role::consumer) return handshake_consumer();
    auto port = parse_port(peer_address);
    if (!port) return std::unexpected(port.error());
    if (auto ok = bind_loopback(); !ok) return ok;
    sockaddr_in addr = loopback(*port);
    if (::connect(m_socket.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      return fail_errno(Errc::resource, "connect 127.0.0.1:" + std::string(peer_address));
    }
    return handshake_producer();
  }

 private:
  static sockaddr_in loopback(unsigned short port) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return addr;
  }

  Result<void> bind_loopback() {
    auto fd = make_socket(AF_INET, SOCK_DGRAM);
    if (!fd) return std::unexpected(fd.error());
    m_socket = std::move(*fd);
    sockaddr_in addr = loopback(0);
    if (::bind(m_socket.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      return fail_errno(Errc::resource, "bind 127.0.0.1");
    }
    return prepare(m_socket.get());
  }

  UniqueFd m_socket;
};

Capabilities capabilities() {
  return {.kernel_reliable = false, .native_wait = WaitMode::block};
}

Result<std::unique_ptr<Transport>> make(const Endpoint& endpoint) {
  return std::make_unique<UdpTransport>(endpoint);
}

}  // namespace

const TransportInfo& udp_driver() {
  static const TransportInfo info{
      .name = "udp",
      .description =
          "UDP over loopback; fragments of 65,000 B, credit window, loss detected "
          "and counted (no retransmission)",
      .capabilities = capabilities,
      .make = make};
  return info;
}

}  // namespace ipcbench

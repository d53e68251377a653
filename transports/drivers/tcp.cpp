// tcp-nodelay and tcp: a loopback TCP connection, with TCP_NODELAY on (Nagle's algorithm off) or
// left as the kernel sets it (Nagle on), as the seeds' tcp_nodelay and tcp_yesdelay. The consumer
// listens on 127.0.0.1 on a port the kernel picks and gives it to the producer as its address.
#include <netinet/in.h>
#include <netinet/tcp.h>

#include "transports/driver_options.hpp"
#include "transports/socket_util.hpp"
#include "transports/stream_channel.hpp"

namespace ipcbench {
namespace {

// Either buffer, once set, is no longer autotuned by the kernel (tcp(7)).
std::vector<OptionSpec> tcp_options() {
  return socket_buffer_options(
      "tcp_wmem's default, autotuned up to its maximum (a set buffer is not autotuned)", true,
      "tcp_rmem's default, autotuned up to its maximum (a set buffer is not autotuned)");
}

template <bool kNoDelay>
class TcpTransport final : public StreamTransport {
 public:
  using StreamTransport::StreamTransport;

  Result<std::string> listen() override {
    if (auto ok = listen_at(loopback_address(0)); !ok) return std::unexpected(ok.error());
    auto port = bound_port(listener_fd());
    if (!port) return std::unexpected(port.error());
    return std::to_string(*port);
  }

  Result<void> connect(std::string_view peer_address) override {
    if (endpoint().role == Role::consumer) {
      if (auto ok = accept_peer(); !ok) return ok;
    } else {
      auto port = parse_port(peer_address);
      if (!port) return std::unexpected(port.error());
      if (auto ok = connect_to(loopback_address(*port)); !ok) return ok;
    }
    int one = 1;
    if (kNoDelay && ::setsockopt(socket_fd(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one)) {
      return fail_errno(Errc::system, "setsockopt(TCP_NODELAY)");
    }
    return {};
  }
};

}  // namespace

extern const TransportInfo tcp_nodelay_driver{
    .name = "tcp-nodelay",
    .description = "TCP over loopback, TCP_NODELAY on (Nagle off); length-prefixed stream",
    .capabilities = stream_capabilities,
    .make = make_transport<TcpTransport<true>>,
    .options = tcp_options};

extern const TransportInfo tcp_driver{
    .name = "tcp",
    .description = "TCP over loopback, Nagle's algorithm left on; length-prefixed stream",
    .capabilities = stream_capabilities,
    .make = make_transport<TcpTransport<false>>,
    .options = tcp_options};

}  // namespace ipcbench

// udp: UDP datagrams over loopback. A message larger than one datagram is split into fragments
// (65,000 bytes each with their header) and reassembled; a credit window keeps the sender from
// overrunning the receiver's socket buffer, and a lost, duplicated or reordered fragment is
// detected and reported (transports/datagram_channel.hpp). A vanished peer is noticed by the
// receive timeout, or at once when the kernel reports the port unreachable.
//
// --set udp.credit=0 turns the credit window off: UDP as an application without flow control
// sees it, where a datagram that does not fit the consumer's socket buffer is dropped by the
// kernel. The consumer then counts each lost message and goes on (a message of several fragments
// that lost one is dropped whole), which is what the overload scenario measures; a scenario that
// needs every message fails at the first gap, saying so.
#include <netinet/in.h>

#include "transports/datagram_channel.hpp"
#include "transports/driver_options.hpp"
#include "transports/socket_util.hpp"

namespace ipcbench {
namespace {

constexpr std::size_t kMaxDatagram = 65000;  // under UDP's 65,507-byte limit over IPv4

// --set udp.credit: the credit window (1, the default) or none (0: the kernel may drop).
bool credit(const Endpoint& endpoint) {
  return endpoint.option("credit").value_or(1) != 0;
}

class UdpTransport final : public DatagramTransport {
 public:
  explicit UdpTransport(const Endpoint& endpoint)
      : DatagramTransport(endpoint, kMaxDatagram, credit(endpoint), !credit(endpoint)) {}

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
    if (auto ok = connect_socket(m_socket.get(), loopback_address(*port)); !ok) return ok;
    return handshake_producer();
  }

 private:
  Result<void> bind_loopback() {
    auto fd = bind_socket(SOCK_DGRAM, loopback_address(0));
    if (!fd) return std::unexpected(fd.error());
    m_socket = std::move(*fd);
    return prepare(m_socket.get());
  }

  UniqueFd m_socket;
};

std::vector<OptionSpec> udp_options() {
  auto options = socket_buffer_options("4MiB, forced past wmem_max where permitted", true,
                                       "4MiB, forced past rmem_max where permitted");
  // The kernel drops a datagram that does not fit the receive buffer, and a fragment of 65,000 B
  // takes more than 64 KiB of it (measured here: 32 KiB asked, 64 KiB granted, every fragment
  // lost). Twice that, granted, holds one with room to spare.
  options[1].min = 64 << 10;
  options[1].description += "; at least 64KiB, so that a 65,000-byte fragment fits";
  options.push_back(switch_option(
      "credit",
      "1: a credit window keeps the producer from overrunning the consumer's socket buffer; 0: "
      "no flow control, the kernel drops what does not fit and the consumer counts each lost "
      "message (the scenarios other than overload fail at the first)",
      true));
  return options;
}

}  // namespace

extern const TransportInfo udp_driver{
    .name = "udp",
    .description =
        "UDP over loopback; fragments of 65,000 B, credit window, loss detected "
        "and counted (no retransmission)",
    .capabilities =
        [] {
          return Capabilities{
              .kernel_reliable = false, .native_wait = WaitMode::block, .pollable = true};
        },
    .make = make_transport<UdpTransport>,
    .options = udp_options};

}  // namespace ipcbench

// unix-dgram: Unix domain datagram sockets, one bound path per side in the cell's private
// directory, each connected to the other (as the seeds found they must be). Messages larger than
// a datagram go as 64 KiB fragments with the same loss detection as udp
// (transports/datagram_channel.hpp); no credit window, because the kernel blocks a sender whose
// peer has not drained (its send buffer fills) instead of dropping. Each side unlinks its own
// path when it is destroyed.
#include "transports/datagram_channel.hpp"
#include "transports/driver_options.hpp"
#include "transports/socket_util.hpp"

namespace ipcbench {
namespace {

constexpr std::size_t kMaxDatagram = 64 * 1024;

class UnixDgramTransport final : public DatagramTransport {
 public:
  explicit UnixDgramTransport(const Endpoint& endpoint)
      : DatagramTransport(endpoint, kMaxDatagram, false) {}

  Result<std::string> listen() override {
    if (auto ok = bind_path("consumer"); !ok) return std::unexpected(ok.error());
    return m_path.path();
  }

  Result<void> connect(std::string_view peer_address) override {
    if (endpoint().role == Role::consumer) return handshake_consumer();
    if (auto ok = bind_path("producer"); !ok) return ok;
    auto addr = unix_address(std::string(peer_address));
    if (!addr) return std::unexpected(addr.error());
    if (auto ok = connect_socket(m_socket.get(), *addr); !ok) return ok;
    return handshake_producer();
  }

 private:
  Result<void> bind_path(std::string_view side) {
    auto addr = unix_address(endpoint().dir + "/unix-dgram-" + std::string(side) + ".sock");
    if (!addr) return std::unexpected(addr.error());
    auto fd = bind_socket(SOCK_DGRAM, *addr);
    if (!fd) return std::unexpected(fd.error());
    m_socket = std::move(*fd);
    m_path.own(addr->name);
    return prepare(m_socket.get());
  }

  OwnedPath m_path;
  UniqueFd m_socket;
};

}  // namespace

extern const TransportInfo unix_dgram_driver{
    .name = "unix-dgram",
    .description =
        "Unix domain datagram sockets, one path per side; fragments of 64 KiB, "
        "sender blocks when the peer lags; loss detected",
    .capabilities = [] { return Capabilities{.native_wait = WaitMode::block, .pollable = true}; },
    .make = make_transport<UnixDgramTransport>,
    .options =
        [] { return socket_buffer_options("4MiB, forced past wmem_max where permitted", false); }};

}  // namespace ipcbench

// unix-seqpacket: a connected SOCK_SEQPACKET Unix domain socket, its path in the cell's private
// directory: reliable, in order, and it keeps message boundaries, so one message is one send and
// one receive. A message longer than the socket takes at once (its send buffer less 32 bytes,
// which the kernel refuses with EMSGSIZE) goes as fragments with the datagram transports' header
// (transports/datagram_channel.hpp); no credit window and no hello, since the kernel blocks a
// sender whose peer lags and the connection itself says who the peer is. The consumer listens,
// the producer connects; the path is unlinked once the peer is accepted. A peer that leaves is
// the socket's end of file (or EPIPE on send): Errc::peer_gone.
#include "transports/datagram_channel.hpp"
#include "transports/socket_util.hpp"

namespace ipcbench {
namespace {

class UnixSeqpacketTransport final : public DatagramTransport {
 public:
  explicit UnixSeqpacketTransport(const Endpoint& endpoint)
      : DatagramTransport(endpoint, 0, false) {}  // 0: fragments as large as the socket takes

  Result<std::string> listen() override {
    auto addr = unix_address(endpoint().dir + "/unix-seqpacket.sock");
    if (!addr) return std::unexpected(addr.error());
    auto fd = bind_socket(SOCK_SEQPACKET, *addr);
    if (!fd) return std::unexpected(fd.error());
    m_listener = std::move(*fd);
    m_path.own(addr->name);
    return m_path.path();
  }

  Result<void> connect(std::string_view peer_address) override {
    if (endpoint().role == Role::consumer) {
      auto fd = accept_within(m_listener.get(), endpoint().timeout);
      m_path.remove();  // connected (or not): the path is no longer needed
      m_listener = UniqueFd();
      if (!fd) return std::unexpected(fd.error());
      m_socket = std::move(*fd);
    } else {
      auto addr = unix_address(std::string(peer_address));
      if (!addr) return std::unexpected(addr.error());
      auto fd = connected_socket(SOCK_SEQPACKET, *addr);
      if (!fd) return std::unexpected(fd.error());
      m_socket = std::move(*fd);
    }
    return prepare(m_socket.get(), FdIo::Kind::seqpacket_socket);
  }

 private:
  OwnedPath m_path;
  UniqueFd m_listener;
  UniqueFd m_socket;
};

}  // namespace

extern const TransportInfo unix_seqpacket_driver{
    .name = "unix-seqpacket",
    .description =
        "Unix domain SOCK_SEQPACKET socket (path in a private temp dir); one message per send, "
        "fragments only beyond the send buffer (4 MiB asked, wmem_max without CAP_NET_ADMIN)",
    .capabilities = [] { return Capabilities{.native_wait = WaitMode::block}; },
    .make = make_transport<UnixSeqpacketTransport>};

}  // namespace ipcbench

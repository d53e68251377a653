// unix-seqpacket: a connected SOCK_SEQPACKET Unix domain socket, its path in the cell's private
// directory: reliable, in order, and it keeps message boundaries, so one message is one send and
// one receive. A message longer than the socket takes at once (its send buffer less 32 bytes,
// which the kernel refuses with EMSGSIZE) goes as fragments with the datagram transports' header
// (transports/datagram_channel.hpp); no credit window and no hello, since the kernel blocks a
// sender whose peer lags and the connection itself says who the peer is. The consumer listens,
// the producer connects; the path is unlinked once the peer is accepted. A peer that leaves is
// the socket's end of file (or EPIPE on send): Errc::peer_gone.
#include "transports/datagram_channel.hpp"
#include "transports/driver_options.hpp"
#include "transports/socket_util.hpp"

namespace ipcbench {
namespace {

class UnixSeqpacketTransport final : public DatagramTransport {
 public:
  explicit UnixSeqpacketTransport(const Endpoint& endpoint)
      : DatagramTransport(endpoint, 0, false) {}  // 0: fragments as large as the socket takes

  Result<std::string> listen() override {
    return m_connection.listen(endpoint().dir + "/unix-seqpacket.sock");
  }

  Result<void> connect(std::string_view peer_address) override {
    auto ok = m_connection.connect(endpoint().role, peer_address, endpoint().timeout);
    if (!ok) return ok;
    return prepare(m_connection.fd(), FdIo::Kind::seqpacket_socket);
  }

 private:
  UnixConnection m_connection{SOCK_SEQPACKET};
};

}  // namespace

extern const TransportInfo unix_seqpacket_driver{
    .name = "unix-seqpacket",
    .description =
        "Unix domain SOCK_SEQPACKET socket (path in a private temp dir); one message per send, "
        "fragments only beyond the send buffer (4 MiB asked, wmem_max without CAP_NET_ADMIN) "
        "or 4 MiB (the largest datagram the kernel can allocate)",
    .capabilities = [] { return Capabilities{.native_wait = WaitMode::block, .pollable = true}; },
    .make = make_transport<UnixSeqpacketTransport>,
    .options =
        [] { return socket_buffer_options("4MiB, forced past wmem_max where permitted", false); }};

}  // namespace ipcbench

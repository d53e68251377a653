// Small helpers shared by the socket transports.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <chrono>
#include <string>

#include "transports/fd_io.hpp"
#include "transports/transport.hpp"

namespace ipcbench {

// A socket with SOCK_CLOEXEC, as an owned descriptor.
Result<UniqueFd> make_socket(int domain, int type);
// Waits up to `timeout` for a connection on a listening socket.
Result<UniqueFd> accept_within(int listen_fd, std::chrono::milliseconds timeout);
// An address of either family, as bind() and connect() take it, with a name for error messages.
struct SocketAddress {
  sockaddr_storage storage{};
  socklen_t size = 0;
  std::string name;  // "127.0.0.1:5000", "/tmp/.../unix-stream.sock"
  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
  int family() const { return storage.ss_family; }
};
// 127.0.0.1:`port` (0: any free port, when binding).
SocketAddress loopback_address(unsigned short port);
// A Unix socket address for `path` (which must fit in sun_path).
Result<SocketAddress> unix_address(const std::string& path);
// A socket of `type` bound to `address`, listening (a backlog of one) when it is a connection
// socket (SOCK_STREAM, SOCK_SEQPACKET). With `buffers`, that endpoint's socket buffer settings
// (transports/driver_options.hpp) are applied before it listens, so that an accepted socket
// inherits them.
Result<UniqueFd> bind_socket(int type, const SocketAddress& address,
                             const Endpoint* buffers = nullptr);
// Connects `fd` to `address`.
Result<void> connect_socket(int fd, const SocketAddress& address);
// A socket of `type` connected to `address`; with `buffers`, that endpoint's socket buffer
// settings applied before it connects.
Result<UniqueFd> connected_socket(int type, const SocketAddress& address,
                                  const Endpoint* buffers = nullptr);
// The path of a file this side made in the cell's directory (a bound Unix socket, a FIFO):
// removed once no longer needed (remove(), when the peer is connected) and at the latest when
// destroyed.
class OwnedPath {
 public:
  OwnedPath() = default;
  OwnedPath(const OwnedPath&) = delete;
  OwnedPath& operator=(const OwnedPath&) = delete;
  ~OwnedPath() { remove(); }
  // `path` was made by this side, which now owns the name.
  void own(std::string path) {
    remove();
    m_path = std::move(path);
    m_owned = true;
  }
  void remove();
  const std::string& path() const { return m_path; }

 private:
  std::string m_path;
  bool m_owned = false;
};

// A Unix connection socket (SOCK_SEQPACKET, SOCK_STREAM) set up the usual way: the consumer
// listens at a path in the cell's directory and accepts its one peer, and removes the path then;
// the producer connects to the path the consumer gave.
class UnixConnection {
 public:
  explicit UnixConnection(int type) : m_type(type) {}
  // Consumer: binds and listens at `path`; returns it (the address to give the producer).
  Result<std::string> listen(const std::string& path);
  // Consumer: accepts the producer within `timeout`. Producer: connects to `address`.
  Result<void> connect(Role role, std::string_view address, std::chrono::milliseconds timeout);
  int fd() const { return m_socket.get(); }

 private:
  int m_type;
  OwnedPath m_path;
  UniqueFd m_listener;
  UniqueFd m_socket;
};

// Parses a decimal TCP/UDP port.
Result<unsigned short> parse_port(std::string_view text);
// The port a bound IPv4 socket got.
Result<unsigned short> bound_port(int fd);

}  // namespace ipcbench

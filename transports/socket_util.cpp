#include "transports/socket_util.hpp"

#include <netinet/in.h>
#include <poll.h>
#include <unistd.h>

#include <charconv>
#include <cstring>

#include "base/poll.hpp"
#include "transports/driver_options.hpp"

namespace ipcbench {

Result<UniqueFd> make_socket(int domain, int type) {
  int fd = ::socket(domain, type | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail_errno(Errc::resource, "socket");
  return UniqueFd(fd);
}

Result<UniqueFd> accept_within(int listen_fd, std::chrono::milliseconds timeout) {
  if (auto ready = poll_one(listen_fd, POLLIN, timeout, "no peer connected within the timeout");
      !ready) {
    return std::unexpected(ready.error());
  }
  int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
  if (fd < 0) return fail_errno(Errc::resource, "accept");
  return UniqueFd(fd);
}

SocketAddress loopback_address(unsigned short port) {
  SocketAddress out;
  auto* addr = reinterpret_cast<sockaddr_in*>(&out.storage);
  addr->sin_family = AF_INET;
  addr->sin_port = htons(port);
  addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  out.size = sizeof(sockaddr_in);
  out.name = "127.0.0.1:" + std::to_string(port);
  return out;
}

Result<SocketAddress> unix_address(const std::string& path) {
  SocketAddress out;
  auto* addr = reinterpret_cast<sockaddr_un*>(&out.storage);
  addr->sun_family = AF_UNIX;
  if (path.size() >= sizeof addr->sun_path) {
    return fail(Errc::resource, "socket path too long (" + std::to_string(path.size()) +
                                    " bytes, at most " + std::to_string(sizeof addr->sun_path - 1) +
                                    "): " + path);
  }
  std::memcpy(addr->sun_path, path.c_str(), path.size() + 1);
  out.size = sizeof(sockaddr_un);
  out.name = path;
  return out;
}

Result<UniqueFd> bind_socket(int type, const SocketAddress& address, const Endpoint* buffers) {
  auto fd = make_socket(address.family(), type);
  if (!fd) return fd;
  if (::bind(fd->get(), address.get(), address.size) != 0) {
    return fail_errno(Errc::resource, "bind " + address.name);
  }
  if (buffers) {
    if (auto ok = apply_socket_buffers(fd->get(), *buffers); !ok) {
      return std::unexpected(ok.error());
    }
  }
  if ((type == SOCK_STREAM || type == SOCK_SEQPACKET) && ::listen(fd->get(), 1) != 0) {
    return fail_errno(Errc::resource, "listen " + address.name);
  }
  return fd;
}

Result<void> connect_socket(int fd, const SocketAddress& address) {
  if (::connect(fd, address.get(), address.size) != 0) {
    return fail_errno(Errc::resource, "connect " + address.name);
  }
  return {};
}

Result<UniqueFd> connected_socket(int type, const SocketAddress& address, const Endpoint* buffers) {
  auto fd = make_socket(address.family(), type);
  if (!fd) return fd;
  if (buffers) {
    if (auto ok = apply_socket_buffers(fd->get(), *buffers); !ok) {
      return std::unexpected(ok.error());
    }
  }
  if (auto ok = connect_socket(fd->get(), address); !ok) return std::unexpected(ok.error());
  return fd;
}

void OwnedPath::remove() {
  if (m_owned) ::unlink(m_path.c_str());  // ENOENT when already gone: fine
  m_owned = false;
}

Result<std::string> UnixConnection::listen(const std::string& path) {
  auto addr = unix_address(path);
  if (!addr) return std::unexpected(addr.error());
  auto fd = bind_socket(m_type, *addr);
  if (!fd) return std::unexpected(fd.error());
  m_listener = std::move(*fd);
  m_path.own(path);
  return path;
}

Result<void> UnixConnection::connect(Role role, std::string_view address,
                                     std::chrono::milliseconds timeout) {
  if (role == Role::consumer) {
    auto fd = accept_within(m_listener.get(), timeout);
    m_path.remove();  // connected (or not): the path is no longer needed
    m_listener = UniqueFd();
    if (!fd) return std::unexpected(fd.error());
    m_socket = std::move(*fd);
    return {};
  }
  auto addr = unix_address(std::string(address));
  if (!addr) return std::unexpected(addr.error());
  auto fd = connected_socket(m_type, *addr);
  if (!fd) return std::unexpected(fd.error());
  m_socket = std::move(*fd);
  return {};
}

Result<unsigned short> parse_port(std::string_view text) {
  unsigned port = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
  if (ec != std::errc{} || end != text.data() + text.size() || port == 0 || port > 65535) {
    return fail(Errc::protocol, "bad port '" + std::string(text) + "'");
  }
  return static_cast<unsigned short>(port);
}

Result<unsigned short> bound_port(int fd) {
  sockaddr_in addr{};
  socklen_t len = sizeof addr;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    return fail_errno(Errc::system, "getsockname");
  }
  return ntohs(addr.sin_port);
}

}  // namespace ipcbench

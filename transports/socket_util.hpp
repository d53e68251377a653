// Small helpers shared by the socket transports.
#pragma once

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
// A Unix socket address for `path` (which must fit in sun_path).
Result<sockaddr_un> unix_address(const std::string& path);
// Parses a decimal TCP/UDP port.
Result<unsigned short> parse_port(std::string_view text);
// The port a bound IPv4 socket got.
Result<unsigned short> bound_port(int fd);

}  // namespace ipcbench

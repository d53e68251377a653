// The settings several drivers share (`ipcbench run --set <transport>.<name>=<value>`): a pipe's
// capacity and a socket's buffers. Each driver names the ones it takes in its own registry row
// (TransportInfo::options); what each one is, its range, and how it is applied and read back are
// here, once.
#pragma once

#include <initializer_list>
#include <string>
#include <vector>

#include "transports/transport.hpp"

namespace ipcbench {

// `buffer`: the capacity of each of the channel's pipes (F_SETPIPE_SZ, which rounds up to a power
// of two pages), 4 KiB to /proc/sys/fs/pipe-max-size (a process with CAP_SYS_RESOURCE may go
// beyond; ipcbench does not). The kernel's default is 64 KiB (16 pages).
OptionSpec pipe_buffer_option();
// Sets the capacity of the pipe `write_fd` writes into (each side sets the one it writes into)
// when the endpoint was given `buffer`.
Result<void> apply_pipe_buffer(int write_fd, const Endpoint& endpoint);
// The producer's report of `buffer` (F_GETPIPE_SZ of the pipe it writes into), when it was given.
std::vector<OptionValue> granted_pipe_buffer(int write_fd, const Endpoint& endpoint);

// `sndbuf` and `rcvbuf`: a socket's send and receive buffers (SO_SNDBUF, SO_RCVBUF, set on each
// side's socket before it connects or listens). The plain options, as an application without
// privileges sets them (not the FORCE variants), so the kernel doubles what is asked (its
// bookkeeping) and caps it at net.core.wmem_max / rmem_max; the granted value says so. `rcvbuf`
// only where `with_rcvbuf`: a Unix socket ignores its receive buffer (unix(7)); its sender's
// buffer holds what is in flight. The default texts say what the transport does when they are not
// given.
std::vector<OptionSpec> socket_buffer_options(std::string sndbuf_default, bool with_rcvbuf,
                                              std::string rcvbuf_default = {});
// Sets the endpoint's `sndbuf` and `rcvbuf` on socket `fd`, those that were given.
Result<void> apply_socket_buffers(int fd, const Endpoint& endpoint);
// What the kernel granted (getsockopt): `sndbuf` on the producer's side, `rcvbuf` on the
// consumer's, those that were given.
std::vector<OptionValue> granted_socket_buffers(int fd, const Endpoint& endpoint);

// `pollfirst`: how a blocking wait on a socket sleeps. 0 (the default): in the call itself
// (recvmsg/sendmsg bounded by SO_RCVTIMEO/SO_SNDTIMEO), as a blocking read loop does. 1: in
// poll() for readiness, then a non-blocking call, as an event loop (poll, epoll) does. They
// differ on a Unix stream socket: a reader asleep in recvmsg is also woken when the peer frees
// what it sent (the socket's write-space wake-up); poll() filters that out
// (bench/unix_stream_wakeups.py).
inline constexpr const char* kPollFirst = "pollfirst";
OptionSpec poll_first_option();
// The producer's report of `pollfirst` when it was given: the value it waits by (nothing for
// the kernel to round).
std::vector<OptionValue> granted_poll_first(const Endpoint& endpoint);

// A setting that is on (1) or off (0), taken as given: `description` says what each does.
OptionSpec switch_option(std::string name, std::string description, bool on_by_default);
// The producer's report of the settings among `names` that were given, as given (nothing the
// kernel rounds: a switch, a mode). The consumer reports none, so that each is reported once.
std::vector<OptionValue> granted_as_given(const Endpoint& endpoint,
                                          std::initializer_list<const char*> names);

}  // namespace ipcbench

// Reading and writing file descriptors (sockets, pipes) under the endpoint's wait policy
// (base/wait.hpp): a try is a non-blocking call (MSG_DONTWAIT, O_NONBLOCK); blocking is the
// kernel's (SO_RCVTIMEO/SO_SNDTIMEO on sockets, poll on pipes, and poll on a socket whose endpoint
// was given `pollfirst`=1, driver_options.hpp). Every wait ends after
// Endpoint::timeout with Errc::timeout; a closed peer gives Errc::peer_gone.
#pragma once

#include <sys/uio.h>

#include <chrono>
#include <cstddef>
#include <span>

#include "base/peer_watch.hpp"
#include "base/unique_fd.hpp"
#include "transports/transport.hpp"

namespace ipcbench {

class FdIo {
 public:
  // seqpacket_socket: a connected SOCK_SEQPACKET socket, read and written as datagrams (message
  // boundaries kept); unlike a datagram socket, an empty read is the peer's end of file.
  // vmsplice_pipe: a pipe written with vmsplice(2), which puts the writer's pages in the pipe
  // instead of copying them: the writer must not touch them until the reader has read them.
  enum class Kind { stream_socket, datagram_socket, seqpacket_socket, pipe, vmsplice_pipe };

  // Configures rfd and wfd (the same descriptor for a socket) for the endpoint's wait mode.
  // Does not take ownership.
  Result<void> configure(int rfd, int wfd, Kind kind, const Endpoint& endpoint);
  // The descriptor it reads from (-1 before configure()): Transport::readable_fd().
  int read_fd() const { return m_rfd; }

  // Stream: some bytes (at least one), waiting per the wait mode.
  Result<std::size_t> read_some(std::span<std::byte> buffer);
  // Stream: every byte.
  Result<void> write_all(std::span<const std::byte> bytes);

  struct Datagram {
    std::size_t bytes;  // how many landed in the buffers
    bool truncated;     // the datagram was larger than the buffers
  };
  // Datagram: one datagram scattered into `iov`, waiting per the wait mode.
  Result<Datagram> read_datagram(std::span<const iovec> iov);
  // Datagram: one datagram if one is queued, else nothing; never waits.
  Result<std::optional<Datagram>> try_read_datagram(std::span<const iovec> iov);
  // Datagram: one datagram gathered from `iov`.
  Result<void> write_datagram(std::span<const iovec> iov);

  // A peer that a closed socket cannot announce (a datagram socket's): every wait looks at it now
  // and then (base/peer_watch.hpp) and ends with Errc::peer_gone when it has died; a blocking
  // socket call is then bounded by that interval instead of the whole timeout. Not owned.
  Result<void> watch_peer(PeerWatch* watch);

 private:
  enum class Io { done, again };
  Result<Io> read_once(std::span<const iovec> iov, bool dont_wait, std::size_t& got,
                       bool& truncated);
  Result<Io> write_once(std::span<const iovec> iov, bool dont_wait, std::size_t& put);
  template <class Attempt>
  Result<void> wait_for(Attempt&& attempt, short events);

  int m_rfd = -1;
  int m_wfd = -1;
  Kind m_kind = Kind::stream_socket;
  WaitPolicy m_policy;
  bool m_refused = false;     // a datagram socket learnt that the peer's port is closed
  bool m_poll_first = false;  // a socket's blocking wait: poll() then a try (`pollfirst`)
  PeerWatch* m_peer = nullptr;
};

}  // namespace ipcbench

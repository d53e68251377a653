#include "transports/fd_io.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <limits>

#include "base/wait.hpp"
#include "transports/driver_options.hpp"

namespace ipcbench {

namespace {

bool is_pipe(FdIo::Kind kind) {
  return kind == FdIo::Kind::pipe || kind == FdIo::Kind::vmsplice_pipe;
}

bool is_peer_gone(int err) {
  return err == EPIPE || err == ECONNRESET || err == ECONNREFUSED || err == ENOTCONN;
}

Result<void> set_nonblocking(int fd) {
  int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
    return fail_errno(Errc::system, "fcntl(O_NONBLOCK)");
  }
  return {};
}

}  // namespace

Result<void> FdIo::configure(int rfd, int wfd, Kind kind, const Endpoint& endpoint) {
  m_rfd = rfd;
  m_wfd = wfd;
  m_kind = kind;
  m_policy = endpoint.policy();
  m_poll_first = endpoint.option(kPollFirst).value_or(0) != 0;
  if (is_pipe(kind)) {
    // Pipes have no receive timeout: they stay non-blocking and sleep in poll().
    if (auto ok = set_nonblocking(rfd); !ok) return ok;
    return set_nonblocking(wfd);
  }
  timeval tv{};
  const std::int64_t timeout_us = m_policy.timeout_ns / 1000;
  tv.tv_sec = static_cast<time_t>(timeout_us / 1'000'000);
  tv.tv_usec = static_cast<suseconds_t>(timeout_us % 1'000'000);
  if (::setsockopt(rfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0 ||
      ::setsockopt(rfd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) != 0) {
    return fail_errno(Errc::system, "setsockopt(SO_RCVTIMEO/SO_SNDTIMEO)");
  }
  return {};
}

Result<FdIo::Io> FdIo::read_once(std::span<const iovec> iov, bool dont_wait, std::size_t& got,
                                 bool& truncated) {
  for (;;) {
    ssize_t n;
    if (is_pipe(m_kind)) {
      n = ::readv(m_rfd, iov.data(), static_cast<int>(iov.size()));
    } else {
      msghdr msg{};
      msg.msg_iov = const_cast<iovec*>(iov.data());
      msg.msg_iovlen = iov.size();
      n = ::recvmsg(m_rfd, &msg, dont_wait ? MSG_DONTWAIT : 0);
      truncated = (msg.msg_flags & MSG_TRUNC) != 0;
    }
    if (n > 0 || (n == 0 && m_kind == Kind::datagram_socket)) {
      got = static_cast<std::size_t>(n);
      return Io::done;
    }
    if (n == 0) return fail(Errc::peer_gone, "peer closed the channel");
    if (errno == EINTR) continue;
    if (m_refused && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return fail(Errc::peer_gone, "receive: the peer's socket is closed");
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) return Io::again;
    if (errno == ECONNREFUSED && m_kind == Kind::datagram_socket && !m_refused) {
      // Something we sent found the peer's port closed. The error is reported before what the
      // peer sent earlier, which is still queued: deliver that first, report the peer gone after.
      m_refused = true;
      dont_wait = true;
      continue;
    }
    if (is_peer_gone(errno)) return fail_errno(Errc::peer_gone, "receive");
    return fail_errno(Errc::system, "receive");
  }
}

Result<FdIo::Io> FdIo::write_once(std::span<const iovec> iov, bool dont_wait, std::size_t& put) {
  for (;;) {
    ssize_t n;
    if (m_kind == Kind::pipe) {
      n = ::writev(m_wfd, iov.data(), static_cast<int>(iov.size()));
    } else if (m_kind == Kind::vmsplice_pipe) {
      n = ::vmsplice(m_wfd, iov.data(), iov.size(), SPLICE_F_NONBLOCK);  // never blocks: poll does
    } else {
      msghdr msg{};
      msg.msg_iov = const_cast<iovec*>(iov.data());
      msg.msg_iovlen = iov.size();
      n = ::sendmsg(m_wfd, &msg, MSG_NOSIGNAL | (dont_wait ? MSG_DONTWAIT : 0));
    }
    if (n >= 0) {
      put = static_cast<std::size_t>(n);
      return Io::done;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) return Io::again;
    if (errno == EMSGSIZE) return fail_errno(Errc::message_too_large, "send");
    if (is_peer_gone(errno)) return fail_errno(Errc::peer_gone, "send");
    return fail_errno(Errc::system, "send");
  }
}

// One attempt after another per the endpoint's wait policy (base/wait.hpp). A try never blocks
// (MSG_DONTWAIT, O_NONBLOCK). Blocking is, for a pipe (and a socket given `pollfirst`), poll()
// then a try; for a socket, the call itself, which the kernel bounds with SO_RCVTIMEO/SO_SNDTIMEO:
// one system call per wait.
template <class Attempt>
Result<void> FdIo::wait_for(Attempt&& attempt, short events) {
  const bool poll_first = is_pipe(m_kind) || m_poll_first;  // poll, then a try
  auto done = [](Result<Io> io) -> Result<bool> {
    if (!io) return std::unexpected(io.error());
    return *io == Io::done;
  };
  auto block_once = [&](std::int64_t max_ns) -> Result<bool> {
    if (poll_first) {
      pollfd pfd{events == POLLIN ? m_rfd : m_wfd, events, 0};
      const int ms = static_cast<int>(
          std::min<std::int64_t>((max_ns + 999'999) / 1'000'000, std::numeric_limits<int>::max()));
      if (::poll(&pfd, 1, ms) < 0 && errno != EINTR) return fail_errno(Errc::system, "poll");
      // ready, hung up or timed out: the try says which
    }
    return done(attempt(poll_first));
  };
  const WaitTraits traits{
      .polls_per_clock_read = 1,  // every try is a system call
      .check_every_ns = m_peer ? kCheckEveryNs : std::numeric_limits<std::int64_t>::max() / 4,
      .waiting_for = events == POLLIN ? "a message" : "room to send",
      .try_before_block = poll_first};
  auto check = [&]() -> Result<void> { return m_peer ? m_peer->check() : no_check(); };
  return wait_until(
      m_policy, [&] { return done(attempt(true)); }, block_once, check, traits);
}

Result<void> FdIo::watch_peer(PeerWatch* watch) {
  m_peer = watch;
  if (is_pipe(m_kind) || !watch) return {};
  timeval tv{};
  tv.tv_usec = static_cast<suseconds_t>(kCheckEveryNs / 1000);
  if (::setsockopt(m_rfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0 ||
      ::setsockopt(m_rfd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) != 0) {
    return fail_errno(Errc::system, "setsockopt(SO_RCVTIMEO/SO_SNDTIMEO)");
  }
  return {};
}

Result<std::size_t> FdIo::read_some(std::span<std::byte> buffer) {
  iovec iov{buffer.data(), buffer.size()};
  std::size_t got = 0;
  bool truncated = false;
  auto ok = wait_for(
      [&](bool dont_wait) {
        return read_once({&iov, 1}, dont_wait, got, truncated);
      },
      POLLIN);
  if (!ok) return std::unexpected(ok.error());
  return got;
}

Result<void> FdIo::write_all(std::span<const std::byte> bytes) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    iovec iov{const_cast<std::byte*>(bytes.data()) + done, bytes.size() - done};
    std::size_t put = 0;
    auto ok = wait_for(
        [&](bool dont_wait) {
          return write_once({&iov, 1}, dont_wait, put);
        },
        POLLOUT);
    if (!ok) return ok;
    done += put;
  }
  return {};
}

Result<FdIo::Datagram> FdIo::read_datagram(std::span<const iovec> iov) {
  Datagram d{0, false};
  auto ok = wait_for(
      [&](bool dont_wait) { return read_once(iov, dont_wait, d.bytes, d.truncated); }, POLLIN);
  if (!ok) return std::unexpected(ok.error());
  return d;
}

Result<std::optional<FdIo::Datagram>> FdIo::try_read_datagram(std::span<const iovec> iov) {
  Datagram d{0, false};
  auto io = read_once(iov, true, d.bytes, d.truncated);
  if (!io) return std::unexpected(io.error());
  if (*io == Io::again) return std::nullopt;
  return d;
}

Result<void> FdIo::write_datagram(std::span<const iovec> iov) {
  std::size_t put = 0;
  return wait_for([&](bool dont_wait) { return write_once(iov, dont_wait, put); }, POLLOUT);
}

}  // namespace ipcbench

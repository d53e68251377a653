// Is the peer process still there? For libraries that have no notion of a peer (Boost's
// message_queue) or notice a dead one only by a timeout (ZeroMQ): the two sides exchange their
// ProcessId when they connect, and a side that is waiting looks at /proc/<pid>/stat now and then.
// A zombie counts as dead (it has exited; only its parent has not reaped it yet), and the start
// time taken at connect guards against the pid having been reused by another process.
#pragma once

#include <fcntl.h>
#include <sys/types.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>

#include "base/clock.hpp"
#include "base/result.hpp"

namespace ipcbench {

struct ProcessId {
  std::int64_t pid = 0;
  std::uint64_t start_ticks = 0;  // /proc/<pid>/stat field 22: when it started, in clock ticks
};

struct ProcessState {
  char state;  // R, S, D, Z, X, ...
  std::uint64_t start_ticks;
};

// Field 3 (the state) and field 22 (the start time) of /proc/<pid>/stat; nothing when the process
// does not exist.
inline std::optional<ProcessState> read_process_state(std::int64_t pid) {
  std::string path = "/proc/" + std::to_string(pid) + "/stat";
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  char buf[1024];
  ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0) return std::nullopt;
  buf[n] = '\0';
  // "pid (comm) S ppid ...": comm may hold spaces and parentheses, so parse from the last ')'.
  std::string_view text(buf, static_cast<std::size_t>(n));
  auto close = text.rfind(')');
  if (close == std::string_view::npos || close + 2 >= text.size()) return std::nullopt;
  ProcessState out{text[close + 2], 0};
  // Field 3 is the state; field 22 is 19 fields further on.
  std::size_t pos = close + 2;
  for (int field = 3; field < 22; ++field) {
    pos = text.find(' ', pos);
    if (pos == std::string_view::npos) return std::nullopt;
    ++pos;
  }
  out.start_ticks = std::strtoull(buf + pos, nullptr, 10);
  return out;
}

inline ProcessId this_process() {
  ProcessId id{::getpid(), 0};
  if (auto state = read_process_state(id.pid)) id.start_ticks = state->start_ticks;
  return id;
}

// True while `id` names a running (or stopped) process: not gone, not a zombie, not reused.
inline bool process_alive(const ProcessId& id) {
  auto state = read_process_state(id.pid);
  if (!state) return false;
  if (state->state == 'Z' || state->state == 'X' || state->state == 'x') return false;
  return id.start_ticks == 0 || state->start_ticks == id.start_ticks;
}

// Watches one peer while waiting. gone() is cheap to call in a spin loop: it reads the clock
// and looks at /proc only once per `interval`.
class PeerWatch {
 public:
  explicit PeerWatch(std::chrono::milliseconds interval = std::chrono::milliseconds(20))
      : m_interval_ns(std::chrono::nanoseconds(interval).count()) {}

  void watch(const ProcessId& peer) {
    m_peer = peer;
    m_watching = true;
    m_dead = false;
  }
  bool watching() const { return m_watching; }
  const ProcessId& peer() const { return m_peer; }

  // Looks now (after a wait timed out, say).
  bool gone_now() {
    if (!m_watching) return false;
    if (!m_dead) m_dead = !process_alive(m_peer);
    m_next_ns = monotonic_ns() + m_interval_ns;
    return m_dead;
  }
  // Looks now: Errc::peer_gone naming the pid when the peer has gone.
  Result<void> check() {
    if (!gone_now()) return {};
    return fail(Errc::peer_gone, "the peer (pid " + std::to_string(m_peer.pid) + ") has gone");
  }
  // Looks if `interval` has passed since the last look.
  bool gone() {
    if (m_dead) return true;
    if (!m_watching || monotonic_ns() < m_next_ns) return false;
    return gone_now();
  }

 private:
  ProcessId m_peer;
  std::int64_t m_interval_ns;
  std::int64_t m_next_ns = 0;
  bool m_watching = false;
  bool m_dead = false;
};

}  // namespace ipcbench

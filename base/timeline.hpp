// A latency's percentiles per window of time over a measured phase: what "latency over time"
// shows (jitter, periodic stalls, a drift). One Histogram for the window being filled; each closed
// window keeps its start, its count, p50, p99 and max. Closing a window costs a pass over the
// histogram's counters (a few microseconds), between two samples, not inside one.
//
// A leaf header, like histogram.hpp: scenarios/ record into it.
#pragma once

#include <cstdint>
#include <vector>

#include "base/histogram.hpp"

namespace ipcbench {

class LatencyTimeline {
 public:
  struct Window {
    std::uint64_t start_ns;  // from the start of the phase
    std::uint64_t count;
    std::uint64_t p50_ns, p99_ns, max_ns;
  };

  explicit LatencyTimeline(std::uint64_t window_ns) : m_window_ns(window_ns ? window_ns : 1) {}

  // A sample of `value_ns`, taken `at_ns` after the phase began (samples in time order).
  void record(std::uint64_t at_ns, std::uint64_t value_ns) {
    if (at_ns >= m_start + m_window_ns) {
      close();
      m_start = at_ns / m_window_ns * m_window_ns;
    }
    m_current.record(value_ns);
  }
  // Closes the window being filled: at the end of the phase.
  void finish() { close(); }

  std::uint64_t window_ns() const { return m_window_ns; }
  const std::vector<Window>& windows() const { return m_windows; }

 private:
  void close() {
    if (m_current.count() == 0) return;
    m_windows.push_back({m_start, m_current.count(), m_current.percentile(50),
                         m_current.percentile(99), m_current.max()});
    m_current = Histogram();
  }

  std::uint64_t m_window_ns;
  std::uint64_t m_start = 0;
  Histogram m_current;
  std::vector<Window> m_windows;
};

}  // namespace ipcbench

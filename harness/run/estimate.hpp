// How long a run will take (--dry-run, and the time left while it runs): each cell's set-up,
// warm-up and measured phase, learned from earlier results files where they have the transport,
// else from rough figures of this machine's kind. A cell measured for a time (the default) takes
// its budget unless its count ends it first, so what is left to learn is mostly set-up: starting
// two processes, and a middleware's discovery.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "harness/run/plan.hpp"

namespace ipcbench {

class TimeEstimate {
 public:
  // Learns from the newest (at most `newest`) results files among `files`; unreadable ones are
  // skipped.
  static TimeEstimate learn(std::vector<std::string> files, std::size_t newest = 8);
  // The ipcbench results files in `dir` (results/ by default: where a run writes).
  static std::vector<std::string> files_in(const std::string& dir);

  // One repetition of `cell`, in seconds.
  double seconds(const Cell& cell) const;
  // How many earlier results files it learned from.
  std::size_t files() const { return m_files; }

 private:
  // Per transport: seconds from its first spawn to its last reap beyond its round trips or
  // messages (set-up and tear-down).
  std::map<std::string, std::vector<double>> m_setup;
  // Per (transport, kind: a round trip or a message, bytes, wait): seconds per round trip or
  // message, learned from the scenarios that go from one producer to one consumer.
  std::map<std::tuple<std::string, TimeKind, std::size_t, std::string>, std::vector<double>>
      m_per_op;
  std::size_t m_files = 0;
};

}  // namespace ipcbench

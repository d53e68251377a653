// Child processes for the conductor: fork + exec with chosen descriptors at chosen numbers,
// pinned to one CPU, killed if the conductor dies; reaped with their resource usage.
#pragma once

#include <sys/resource.h>
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "transports/transport.hpp"

namespace ipcbench {

struct ChildSpec {
  std::vector<std::string> argv;                 // argv[0] is the program's path
  std::vector<std::pair<int, int>> descriptors;  // (descriptor here, number in the child)
  int cpu = -1;                                  // pin to this CPU; -1: leave as inherited
  std::string stderr_path;                       // the child's stderr goes here ("" = inherit)
};

struct ChildExit {
  int status = 0;  // as from wait4
  rusage usage{};
  std::string describe() const;  // "exited with 0", "killed by SIGKILL", ...
  bool success() const;
};

// Starts the child. Every other descriptor is closed in it (they are all O_CLOEXEC here).
Result<pid_t> spawn(const ChildSpec& spec);
// The child's exit if it has exited, without waiting.
std::optional<ChildExit> try_reap(pid_t pid);
// Waits up to `grace` for the child to exit, then kills it (SIGKILL) and reaps it.
ChildExit reap_or_kill(pid_t pid, std::chrono::milliseconds grace);

// Raises this process's soft limit of open descriptors (RLIMIT_NOFILE, inherited by the
// workers) to `needed` where the hard limit allows; otherwise one line saying what the limit is
// and what is needed.
std::optional<std::string> ensure_descriptors(std::uint64_t needed);

// The CPUs this process may run on (sched_getaffinity).
std::vector<int> allowed_cpus();

}  // namespace ipcbench

// What the conductor's processes may use: descriptors and CPUs. Starting and reaping a child is
// base/spawn.hpp's.
#pragma once

#include <sys/resource.h>
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/spawn.hpp"

namespace ipcbench {

// Raises this process's soft limit of open descriptors (RLIMIT_NOFILE, inherited by the
// workers) to `needed` where the hard limit allows; otherwise one line saying what the limit is
// and what is needed.
std::optional<std::string> ensure_descriptors(std::uint64_t needed);

// The CPUs this process may run on (sched_getaffinity).
std::vector<int> allowed_cpus();

// The bytes of this process's shared mappings (a 's' in /proc/self/maps: shared memory segments,
// memfds, SysV segments, files mapped MAP_SHARED), by their mapped size; 0 if maps is unreadable.
std::uint64_t shared_mapped_bytes();
// A process's resident memory now (VmRSS of /proc/<pid>/status), in bytes; none if unreadable.
std::optional<std::uint64_t> resident_bytes(int pid);

}  // namespace ipcbench

#include "harness/run/process.hpp"

#include <sched.h>
#include <sys/resource.h>

#include <fmt/format.h>

#include <fstream>
#include <limits>
#include <sstream>

namespace ipcbench {

std::optional<std::string> ensure_descriptors(std::uint64_t needed) {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return std::nullopt;  // nothing known: try
  if (limit.rlim_cur == RLIM_INFINITY || limit.rlim_cur >= needed) return std::nullopt;
  if (limit.rlim_max == RLIM_INFINITY || limit.rlim_max >= needed) {
    limit.rlim_cur = needed;  // the workers inherit it
    if (::setrlimit(RLIMIT_NOFILE, &limit) == 0) return std::nullopt;
  }
  return fmt::format(
      "ulimit -n: a process may open {} descriptors here (hard limit {}); this run needs {} (the "
      "workers' libraries, two control pipes per worker): raise the hard limit to {} or more",
      limit.rlim_cur, limit.rlim_max, needed, needed);
}

std::vector<int> allowed_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> cpus;
  if (::sched_getaffinity(0, sizeof set, &set) != 0) return cpus;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (CPU_ISSET(cpu, &set)) cpus.push_back(cpu);
  }
  return cpus;
}

std::uint64_t shared_mapped_bytes() {
  std::ifstream maps("/proc/self/maps");
  std::uint64_t total = 0;
  std::string line;
  while (std::getline(maps, line)) {
    // "start-end perms offset dev inode path": perms is "rw-s" for a shared mapping.
    std::istringstream in(line);
    std::string range, perms;
    if (!(in >> range >> perms) || perms.size() < 4 || perms[3] != 's') continue;
    const std::size_t dash = range.find('-');
    if (dash == std::string::npos) continue;
    const std::uint64_t start = std::stoull(range.substr(0, dash), nullptr, 16);
    const std::uint64_t end = std::stoull(range.substr(dash + 1), nullptr, 16);
    if (end > start) total += end - start;
  }
  return total;
}

std::optional<std::uint64_t> resident_bytes(int pid) {
  std::ifstream status(fmt::format("/proc/{}/status", pid));
  std::string key;
  while (status >> key) {
    if (key == "VmRSS:") {
      std::uint64_t kib = 0;
      if (status >> kib) return kib * 1024;
      return std::nullopt;
    }
    status.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
  }
  return std::nullopt;
}

}  // namespace ipcbench

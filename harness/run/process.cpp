#include "harness/run/process.hpp"

#include <sched.h>
#include <sys/resource.h>

#include <fmt/format.h>

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

}  // namespace ipcbench

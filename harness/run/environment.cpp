#include "harness/run/environment.hpp"

#include "harness/results/results.hpp"

#include <sys/utsname.h>
#include <unistd.h>

#if defined(__x86_64__)
#include <cpuid.h>
#endif

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "git_info.hpp"  // generated at build time: IPCBENCH_GIT_COMMIT
#include "harness/run/process.hpp"
#include "transports/transport.hpp"

#ifndef IPCBENCH_BUILD_TYPE
#define IPCBENCH_BUILD_TYPE "unknown"
#endif
#ifndef IPCBENCH_COMPILER
#define IPCBENCH_COMPILER "unknown"
#endif
#ifndef IPCBENCH_VERSION
#define IPCBENCH_VERSION "unknown"
#endif

namespace ipcbench {

namespace {

std::string read_first_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

std::string lowercase(std::string text) {
  for (auto& c : text)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

std::string hypervisor_vendor() {
#if defined(__x86_64__)
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 31))) return "";
  __cpuid(0x40000000, a, b, c, d);
  char vendor[13] = {};
  std::memcpy(vendor, &b, 4);
  std::memcpy(vendor + 4, &c, 4);
  std::memcpy(vendor + 8, &d, 4);
  std::string v(vendor);
  while (!v.empty() && v.back() == ' ')
    v.pop_back();
  if (v.rfind("KVMKVMKVM", 0) == 0) return "KVM";
  if (v == "Microsoft Hv") return "Hyper-V";
  if (v == "VMwareVMware") return "VMware";
  if (v == "XenVMMXenVMM") return "Xen";
  if (v.rfind("TCGTCGTCG", 0) == 0) return "QEMU (TCG)";
  return v.empty() ? "unknown hypervisor" : v;
#else
  return read_first_line("/sys/hypervisor/type");
#endif
}

// This process's cgroup (v2: the "0::" line of /proc/self/cgroup), "" without one.
std::string cgroup_path() {
  std::ifstream in("/proc/self/cgroup");
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with("0::")) return line.substr(3);
  }
  return "";
}

// Is this a container, and which? What its runtime leaves, else a cgroup that is not a systemd
// slice of the host.
std::string container_kind() {
  if (::access("/.dockerenv", F_OK) == 0) return "docker";
  if (::access("/run/.containerenv", F_OK) == 0) return "podman";
  if (const std::string kind = read_first_line("/run/systemd/container"); !kind.empty()) {
    return kind;
  }
  const std::string group = cgroup_path();
  for (const char* marker : {"docker", "containerd", "kubepods", "libpod", "lxc"}) {
    if (group.find(marker) != std::string::npos) return std::string("cgroup ") + group;
  }
  return "";
}

}  // namespace

Machine inspect_machine() {
  Machine m;
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  m.host_name = host;
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    auto value = [&] { return line.substr(line.find(':') + 2); };
    if (m.cpu_model.empty() && line.rfind("model name", 0) == 0) m.cpu_model = value();
    if (m.mhz == 0 && line.rfind("cpu MHz", 0) == 0) m.mhz = std::atof(value().c_str());
  }
  m.num_cpus = static_cast<int>(::sysconf(_SC_NPROCESSORS_ONLN));
  m.allowed = allowed_cpus();
  utsname u{};
  if (::uname(&u) == 0) m.kernel = std::string(u.sysname) + " " + u.release + " " + u.machine;
  m.hypervisor = hypervisor_vendor();
  m.governor = read_first_line("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor");
  double load[3];
  if (::getloadavg(load, 3) == 3) m.load_avg = {load[0], load[1], load[2]};
  m.build_type = IPCBENCH_BUILD_TYPE;
  m.compiler = IPCBENCH_COMPILER;
  m.git_commit = IPCBENCH_GIT_COMMIT;
  m.clock_source =
      read_first_line("/sys/devices/system/clocksource/clocksource0/current_clocksource");
  m.smt = read_first_line("/sys/devices/system/cpu/smt/control");
  m.isolated = read_first_line("/sys/devices/system/cpu/isolated");
  m.nohz_full = read_first_line("/sys/devices/system/cpu/nohz_full");
  if (m.nohz_full == "(null)") m.nohz_full.clear();
  if (const std::string b = read_first_line("/sys/devices/system/cpu/cpufreq/boost"); !b.empty()) {
    m.boost = b == "1" ? "on" : "off";
  } else if (const std::string nt =
                 read_first_line("/sys/devices/system/cpu/intel_pstate/no_turbo");
             !nt.empty()) {
    m.boost = nt == "1" ? "off" : "on";
  }
  m.container = container_kind();
  // cgroup v2: the CPU time the group may use per period, when it is limited.
  if (const std::string group = cgroup_path(); !group.empty()) {
    const std::string max = read_first_line("/sys/fs/cgroup" + group + "/cpu.max");
    if (!max.empty() && !max.starts_with("max")) m.cpu_quota = max;
  }
  m.lsm = read_first_line("/sys/kernel/security/lsm");
  return m;
}

CpuPlace cpu_place(int cpu) {
  CpuPlace p;
  p.cpu = cpu;
  const std::string base = "/sys/devices/system/cpu/cpu" + std::to_string(cpu);
  auto number = [](const std::string& path) {
    const std::string text = read_first_line(path);
    return text.empty() ? -1 : std::atoi(text.c_str());
  };
  p.core_id = number(base + "/topology/core_id");
  p.package = number(base + "/topology/physical_package_id");
  p.smt_siblings = read_first_line(base + "/topology/thread_siblings_list");
  for (int node = 0; node < 1024; ++node) {
    if (::access((base + "/node" + std::to_string(node)).c_str(), F_OK) == 0) {
      p.numa_node = node;
      break;
    }
  }
  for (int i = 0;; ++i) {
    const std::string index = base + "/cache/index" + std::to_string(i);
    if (::access(index.c_str(), F_OK) != 0) break;
    p.caches.push_back({number(index + "/level"), read_first_line(index + "/type"),
                        read_first_line(index + "/shared_cpu_list")});
  }
  return p;
}

namespace {

// Is `cpu` in a sysfs CPU list ("0-3,8,10-11")?
bool in_cpu_list(const std::string& list, int cpu) {
  std::size_t at = 0;
  while (at < list.size()) {
    const std::size_t comma = std::min(list.find(',', at), list.size());
    const std::string item = list.substr(at, comma - at);
    const std::size_t dash = item.find('-');
    const int lo = std::atoi(item.c_str());
    const int hi = dash == std::string::npos ? lo : std::atoi(item.c_str() + dash + 1);
    if (!item.empty() && lo <= cpu && cpu <= hi) return true;
    at = comma + 1;
  }
  return false;
}

nlohmann::json place_json(const CpuPlace& p) {
  nlohmann::json caches = nlohmann::json::array();
  for (const auto& c : p.caches)
    caches.push_back({{"level", c.level}, {"type", c.type}, {"shared_cpu_list", c.shared}});
  auto or_null = [](int v) { return v < 0 ? nlohmann::json(nullptr) : nlohmann::json(v); };
  return {{"cpu", p.cpu},
          {"core_id", or_null(p.core_id)},
          {"package", or_null(p.package)},
          {"numa_node", or_null(p.numa_node)},
          {"smt_siblings", p.smt_siblings},
          {"caches", caches}};
}

}  // namespace

nlohmann::json pair_topology(int cpu_producer, int cpu_consumer) {
  if (cpu_producer < 0 || cpu_consumer < 0) return nullptr;
  const CpuPlace a = cpu_place(cpu_producer), b = cpu_place(cpu_consumer);
  nlohmann::json shared = nlohmann::json::array();
  for (const auto& c : a.caches) {
    if (in_cpu_list(c.shared, cpu_consumer)) {
      shared.push_back(fmt::format("L{} {}", c.level, c.type));
    }
  }
  const bool same_core = !a.smt_siblings.empty() && in_cpu_list(a.smt_siblings, cpu_consumer);
  return {{"producer", place_json(a)},
          {"consumer", place_json(b)},
          {"same_physical_core", same_core},
          {"same_numa_node", a.numa_node >= 0 && a.numa_node == b.numa_node},
          {"shared_caches", shared}};
}

std::vector<std::string> stability_warnings(const Machine& m, int cpu_producer, int cpu_consumer) {
  std::vector<std::string> w;
  if (cpu_producer >= 0 && cpu_consumer >= 0) {
    const CpuPlace p = cpu_place(cpu_producer);
    if (!p.smt_siblings.empty() && in_cpu_list(p.smt_siblings, cpu_consumer)) {
      w.push_back(fmt::format(
          "CPUs {} and {} are SMT siblings of one physical core: the two workers share its "
          "execution units and caches, which is not what two processes on two cores see; pass "
          "--cpus with CPUs of two cores (see /sys/devices/system/cpu/cpu{}/topology)",
          cpu_producer, cpu_consumer, cpu_producer));
    }
  }
  const std::string build = lowercase(m.build_type);
  if (build != "release" && build != "relwithdebinfo") {
    w.push_back(
        fmt::format("{} build: optimisations are off or partial; rebuild with "
                    "cmake -DCMAKE_BUILD_TYPE=Release",
                    m.build_type.empty() ? "unknown" : m.build_type));
  }
  if (!m.governor.empty() && m.governor != "performance") {
    w.push_back(
        fmt::format("CPU frequency scaling: governor '{}' changes the clock under load; "
                    "set it with: sudo cpupower frequency-set -g performance",
                    m.governor));
  }
  if (!m.hypervisor.empty()) {
    w.push_back(
        fmt::format("running under a hypervisor ({}): wake-ups and timers pass through "
                    "it and other guests share the host; measure on bare metal for "
                    "numbers that transfer",
                    m.hypervisor));
  }
  if (cpu_producer < 0 || cpu_consumer < 0) {
    w.push_back("CPUs not pinned: the scheduler may move or stack the workers; pass --cpus A,B");
  }
  if (m.allowed.size() < 3) {
    w.push_back(
        fmt::format("only {} CPU(s) available: the two workers take {}, so the system "
                    "and the conductor share them, and {}; use a machine with 3 or more CPUs, "
                    "or keep it otherwise idle",
                    m.allowed.size(), m.allowed.size() < 2 ? "more than exist" : "both",
                    m.allowed.size() < 2 ? "both workers share one CPU (block only)"
                                         : "one pair of CPUs is all there is to measure"));
  }
  if (!m.clock_source.empty() && m.clock_source != "tsc") {
    w.push_back(fmt::format(
        "the kernel's clock source is {}, not tsc: a clock read costs more (see timer_overhead_ns) "
        "and the hypervisor may step it; ipcbench reads the TSC itself where it is invariant",
        m.clock_source));
  }
  if (m.boost == "on") {
    w.push_back(
        "frequency boost is on: a core's clock follows its load and temperature, so a figure "
        "depends on what ran before; turn it off (echo 0 > /sys/devices/system/cpu/cpufreq/boost, "
        "or intel_pstate/no_turbo = 1)");
  }
  if (!m.isolated.empty() && cpu_producer >= 0 && cpu_consumer >= 0 &&
      !(in_cpu_list(m.isolated, cpu_producer) && in_cpu_list(m.isolated, cpu_consumer))) {
    w.push_back(fmt::format(
        "isolated CPUs {} (isolcpus) exist but the workers run on {} and {}, which are not all "
        "among them: pass --cpus with isolated CPUs",
        m.isolated, cpu_producer, cpu_consumer));
  }
  if (!m.cpu_quota.empty()) {
    w.push_back(fmt::format(
        "this cgroup may use the CPU for {} us of every {} us (cpu.max): a worker that spins "
        "past its quota is stopped until the next period; run without the limit",
        m.cpu_quota.substr(0, m.cpu_quota.find(' ')),
        m.cpu_quota.substr(m.cpu_quota.find(' ') + 1)));
  }
  if (!m.container.empty()) {
    w.push_back(fmt::format(
        "running in a container ({}): its cgroup and seccomp filter sit on the kernel's paths; "
        "the results are the container's, not the host's",
        m.container));
  }
  if (!m.load_avg.empty() && m.load_avg[0] > 0.5 * static_cast<double>(m.allowed.size())) {
    w.push_back(
        fmt::format("the machine is busy (load average {:.2f}): other work competes "
                    "with the workers; stop it and run again",
                    m.load_avg[0]));
  }
  return w;
}

std::string version_text() {
  return fmt::format("ipcbench {} (commit {})", IPCBENCH_VERSION, IPCBENCH_GIT_COMMIT);
}

std::string iso_date_now() {
  std::time_t now = std::time(nullptr);
  std::tm local{};
  ::localtime_r(&now, &local);
  char buffer[64];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%S%z", &local);
  std::string s(buffer);
  if (s.size() <= 5) return s;
  return s.substr(0, s.size() - 2) + ":" + s.substr(s.size() - 2);  // +0000 -> +00:00
}

nlohmann::json make_context(const Machine& m, const Clock& clock, double timer_overhead_ns,
                            int cpu_producer, int cpu_consumer,
                            const std::vector<std::string>& warnings) {
  using nlohmann::json;
  auto or_null = [](const std::string& text) { return text.empty() ? json(nullptr) : json(text); };
  const std::string build = lowercase(m.build_type);
  char exe[4096] = {};
  ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n < 0) exe[0] = 0;
  return json{
      {"date", iso_date_now()},
      {"host_name", m.host_name},
      {"executable", std::string(exe)},
      {"num_cpus", m.num_cpus},
      {"mhz_per_cpu", static_cast<int>(m.mhz)},
      {"cpu_scaling_enabled", !m.governor.empty() && m.governor != "performance"},
      {"load_avg", m.load_avg},
      {"library_build_type", build == "debug" ? "debug" : "release"},
      {"json_schema_version", kJsonSchemaVersion},
      {"ipcbench_version", IPCBENCH_VERSION},
      {"cpu_model", m.cpu_model},
      {"kernel", m.kernel},
      {"hypervisor", m.hypervisor.empty() ? json(nullptr) : json(m.hypervisor)},
      {"governor", m.governor.empty() ? json(nullptr) : json(m.governor)},
      {"compiler", m.compiler},
      {"build_type", m.build_type},
      {"git_commit", m.git_commit},
      {"timer",
       {{"source", clock.source()},
        {"ns_per_tick", clock.ns_per_tick()},
        {"overhead_ns", timer_overhead_ns}}},
      {"timer_overhead_ns", timer_overhead_ns},
      {"cpus_allowed", m.allowed},
      {"cpus_used", {{"producer", cpu_producer}, {"consumer", cpu_consumer}}},
      {"pinned", cpu_producer >= 0 && cpu_consumer >= 0},
      {"cpu_topology", pair_topology(cpu_producer, cpu_consumer)},
      {"clock_source", or_null(m.clock_source)},
      {"smt", or_null(m.smt)},
      {"isolated_cpus", m.isolated},
      {"nohz_full_cpus", m.nohz_full},
      {"boost", or_null(m.boost)},
      {"container", or_null(m.container)},
      {"cgroup_cpu_max", or_null(m.cpu_quota)},
      {"lsm", or_null(m.lsm)},
      {"warnings", warnings},
  };
}

nlohmann::json describe_transports(const std::vector<std::string>& names) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& name : names) {
    const TransportInfo* info = find_transport(name);
    if (!info) continue;
    const Capabilities caps = info->capabilities();
    nlohmann::json waits = nlohmann::json::array();
    for (WaitMode mode : caps.waits)
      waits.push_back(std::string(to_string(mode)));
    out[name] = {{"description", std::string(info->description)},
                 {"waits", waits},
                 {"native_wait", std::string(to_string(caps.native_wait))},
                 {"max_message_bytes", caps.max_message_bytes},
                 {"zero_copy", caps.zero_copy}};
  }
  return out;
}

}  // namespace ipcbench

// The machine's context, recorded in every result file, and the warnings about what may make
// this run's numbers unstable, each with its fix (printed once before the first cell).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/clock.hpp"

namespace ipcbench {

struct Machine {
  std::string host_name;
  std::string cpu_model;
  int num_cpus = 0;          // online
  std::vector<int> allowed;  // this process's affinity
  std::string kernel;
  std::string hypervisor;  // "" on bare metal
  std::string governor;    // "" when the kernel exposes no cpufreq
  double mhz = 0;
  std::vector<double> load_avg;
  std::string build_type;
  std::string compiler;
  std::string git_commit;
  // What else can distort a figure (sysfs and procfs; "" where the kernel does not say).
  std::string clock_source;  // the kernel's clocksource: tsc, kvm-clock, hpet, ...
  std::string smt;           // SMT: "on", "off", "notsupported", ...
  std::string isolated;      // isolcpus: CPU list
  std::string nohz_full;     // nohz_full: CPU list
  std::string boost;         // frequency boost: "on", "off"
  std::string container;     // a container's kind ("docker", "podman", "cgroup <path>"), "" if none
  std::string cpu_quota;     // the cgroup's cpu.max when it limits ("50000 100000")
  std::string lsm;           // the active Linux security modules
};

Machine inspect_machine();

// Where one CPU sits, from sysfs: its core and package, its SMT siblings, its NUMA node, and the
// caches it has (level, type, the CPUs sharing each). Fields the kernel does not expose are
// empty or -1 (a virtual machine often shows no caches).
struct CpuPlace {
  int cpu = -1;
  int core_id = -1;
  int package = -1;
  int numa_node = -1;
  std::string smt_siblings;  // thread_siblings_list, e.g. "0,4"
  struct Cache {
    int level = 0;
    std::string type;    // Data, Instruction, Unified
    std::string shared;  // shared_cpu_list
  };
  std::vector<Cache> caches;
};
CpuPlace cpu_place(int cpu);

// The two workers' CPUs side by side: each one's place, whether they are SMT siblings of one
// physical core, and which cache levels they share. Null when the workers are not pinned.
nlohmann::json pair_topology(int cpu_producer, int cpu_consumer);

// One line per condition that makes results less stable, each "what: how to fix it"; two pinned
// CPUs that are SMT siblings of one core is one.
std::vector<std::string> stability_warnings(const Machine& m, int cpu_producer, int cpu_consumer);

// The results' `context` block (Google Benchmark's fields, extended).
nlohmann::json make_context(const Machine& m, const Clock& clock, double timer_overhead_ns,
                            int cpu_producer, int cpu_consumer,
                            const std::vector<std::string>& warnings);

// The results' `context.transports`: for each of `names`, what `list` says of it (its library's
// version, its settings and limits), the wait modes it offers, its native mode, its largest
// message, and whether it is zero-copy.
nlohmann::json describe_transports(const std::vector<std::string>& names);

// "ipcbench 0.1.0 (commit 1a2b3c4d5e6f)": the version and the commit the binary was built from.
std::string version_text();

// "YYYY-MM-DDTHH:MM:SS+ZZ:ZZ", local time.
std::string iso_date_now();

}  // namespace ipcbench

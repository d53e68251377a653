// The machine's context, recorded in every result file, and the warnings about what may make
// this run's numbers unstable, each with its fix (printed once before the first cell).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/clock.hpp"

namespace ipcbench {

inline constexpr int kJsonSchemaVersion = 1;

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
};

Machine inspect_machine();

// One line per condition that makes results less stable, each "what: how to fix it".
std::vector<std::string> stability_warnings(const Machine& m, int cpu_producer, int cpu_consumer);

// The results' `context` block (Google Benchmark's fields, extended).
nlohmann::json make_context(const Machine& m, const Clock& clock, double timer_overhead_ns,
                            int cpu_producer, int cpu_consumer,
                            const std::vector<std::string>& warnings);

// "YYYY-MM-DDTHH:MM:SS+ZZ:ZZ", local time.
std::string iso_date_now();

}  // namespace ipcbench

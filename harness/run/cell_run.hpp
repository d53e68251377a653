// What the workers of one cell reported, as the cell runner collected it, and the results file's
// entry made of it: the scenario's figures of every side's report (ScenarioInfo::outcome), the
// cell's settings with what the kernel granted, its CPUs and floor.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "harness/results/results.hpp"
#include "harness/run/plan.hpp"
#include "harness/run/worker_report.hpp"

namespace ipcbench {

// What the two workers of one cell reported, as the conductor collected it.
struct CellRun {
  bool ok = false;
  std::string error;                     // why the cell failed
  std::optional<WorkerReport> producer;  // the producer's "result" event, if it sent one
  std::optional<WorkerReport> consumer;  // the consumer's (fanout: the first consumer's)
  std::vector<std::optional<WorkerReport>> consumers;  // fanout: every consumer's
  double producer_process_cpu_ns = 0;                  // whole process, from wait4
  double consumer_process_cpu_ns = 0;
  double wall_s = 0;  // the cell from first spawn to last reap
  // Memory as the conductor sees it: each worker's peak resident set (wait4's ru_maxrss; the
  // consumers' largest) and the resident memory of the transport's daemon after the cell. What
  // the workers' channels mapped comes with their reports.
  CellResult::Memory memory;
  // What the kernel granted for the cell's driver settings, as the workers read it back (the
  // producer's report of a setting, else the consumer's); empty when set-up did not get so far.
  std::vector<OptionValue> granted;
};

// One cell's entry from what its workers reported.
CellResult make_result(const Cell& cell, const CellRun& run, int family_index, unsigned repetition,
                       unsigned repetitions);

}  // namespace ipcbench

// The results file: Google Benchmark's JSON schema, extended (README "Results JSON" documents
// every field). Measuring and rendering are separate: the conductor builds entries, report.cpp
// renders tables from a file's contents, so `run` and `report` print the same tables.
#pragma once

#include <expected>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/options.hpp"
#include "harness/worker_report.hpp"

namespace ipcbench {

// What the two workers of one cell reported, as the conductor collected it.
struct CellRun {
  bool ok = false;
  std::string error;                     // why the cell failed
  std::optional<WorkerReport> producer;  // the producer's "result" event, if it sent one
  std::optional<WorkerReport> consumer;
  double producer_process_cpu_ns = 0;  // whole process, from wait4
  double consumer_process_cpu_ns = 0;
  double wall_s = 0;  // the cell from first spawn to last reap
};

// One entry of `benchmarks`.
nlohmann::json make_entry(const Cell& cell, const CellRun& run, int family_index,
                          unsigned repetition, unsigned repetitions);

enum class TableFormat { markdown, csv };

struct ReportOptions {
  TableFormat format = TableFormat::markdown;
  std::string baseline = "shm";
};

// Reads an ipcbench results file and checks every field the tables use, so that a foreign or
// damaged file is an error naming the file, the entry and the field, never a crash or silence.
std::expected<nlohmann::json, std::string> load_results(const std::string& path);

// The comparison tables for a results document (or several merged): pingpong and throughput.
std::string render_tables(const nlohmann::json& doc, const ReportOptions& options);

}  // namespace ipcbench

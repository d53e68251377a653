// ipcbench: which way of moving bytes between two processes is fastest on this machine, by how
// much, and at what cost. Subcommands: list, run, report (and the hidden worker).
#include <unistd.h>

#include <fstream>
#include <iostream>

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "harness/conductor.hpp"
#include "harness/options.hpp"
#include "harness/process.hpp"
#include "harness/results.hpp"
#include "harness/worker.hpp"

namespace {

using namespace ipcbench;

constexpr int kUsageError = 2;

int usage_error(const std::string& message) {
  fmt::print(stderr, "ipcbench: {}\n", message);
  return kUsageError;
}

int list_transports() {
  std::size_t width = 0;
  for (const auto& info : transports())
    width = std::max(width, info.name.size());
  for (const auto& info : transports()) {
    Capabilities caps = info.capabilities();
    std::string waits;
    for (WaitMode mode : caps.waits) {
      if (!waits.empty()) waits += ",";
      waits += to_string(mode);
    }
    std::string line = fmt::format("{:<{}}  {}", info.name, width, info.description);
    if (!info.unavailable.empty()) {
      line += fmt::format(" [unavailable: {}]", info.unavailable);
    } else {
      line += fmt::format(" [{}; waits {}, native {}]", caps.zero_copy ? "zero-copy" : "copies",
                          waits, to_string(caps.native_wait));
    }
    fmt::print("{}\n", line);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ipcbench: measure inter-process communication on this machine"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Show every subcommand's options");

  app.add_subcommand("list", "List the transports: name, what it is, its limits");

  auto* run = app.add_subcommand("run", "Run the comparison matrix; print tables; write JSON");
  std::string transports_text = "all", scenarios_text = "all", sizes_text, touch_text,
              wait_text = "native", cpus_text, out;
  std::uint64_t iterations = 0, messages = 0, warmup = 0;
  unsigned repetitions = 1;
  double timeout_s = 60, budget_s = 10;
  long spin_us = 5;
  bool quick = false;
  run->add_option("--transports", transports_text, "Comma-separated transports, or all")
      ->capture_default_str();
  run->add_option("--scenarios", scenarios_text, "pingpong,throughput or all")
      ->capture_default_str();
  run->add_option("--sizes", sizes_text,
                  "Message sizes: list (64,1MiB) or range (8..4MiB doubles, 8..4MiB:8 times 8); "
                  "default 64 for pingpong, 1MiB for throughput");
  auto* iterations_opt =
      run->add_option("--iterations", iterations, "pingpong round trips measured (default 100000)");
  auto* messages_opt =
      run->add_option("--messages", messages, "throughput messages measured (default 1000)");
  auto* warmup_opt = run->add_option(
      "--warmup", warmup,
      "unmeasured round trips/messages first (default 1000 pingpong, 10 throughput)");
  run->add_option("--repetitions", repetitions, "Repeat each cell N times (interleaved)")
      ->capture_default_str();
  run->add_option("--touch", touch_text,
                  "edges|full|all: bytes written and checked (default full for pingpong, both "
                  "for throughput)");
  run->add_option("--wait", wait_text, "native|spin|block|adaptive|all (comma-separated)")
      ->capture_default_str();
  run->add_option("--spin-us", spin_us, "adaptive: spin this many microseconds, then block")
      ->capture_default_str();
  run->add_option("--cpus", cpus_text, "A,B: pin producer to A, consumer to B (default last two)");
  run->add_option("--timeout", timeout_s, "Seconds before a cell's workers are killed")
      ->capture_default_str();
  run->add_option("--budget", budget_s, "pingpong: seconds of round trips at most per cell")
      ->capture_default_str();
  run->add_flag("--quick", quick, "Fewer round trips and messages: a fast look, not a reference");
  run->add_option("--out", out, "Results file (default results/run-<date>-<time>.json)");

  auto* report = app.add_subcommand("report", "Print the comparison tables of result files");
  std::vector<std::string> report_files;
  std::string format_text = "markdown", baseline = "shm";
  report->add_option("files", report_files, "Result files (JSON)")->required();
  report->add_option("--format", format_text, "markdown|csv")->capture_default_str();
  report->add_option("--baseline", baseline, "Transport the pingpong ratio is to")
      ->capture_default_str();

  auto* worker = app.add_subcommand("worker", "");  // hidden: one side of one cell
  worker->group("");
  std::string spec;
  worker->add_option("--spec", spec)->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::string what = e.what();
    if (what.empty()) what = e.get_name();
    return usage_error(what + " (see ipcbench --help)");
  }

  if (app.got_subcommand(worker)) return worker_main(spec);
  if (app.got_subcommand("list")) return list_transports();

  if (app.got_subcommand(report)) {
    ReportOptions ro;
    if (format_text == "csv") {
      ro.format = TableFormat::csv;
    } else if (format_text != "markdown") {
      return usage_error("unknown --format '" + format_text + "'; known: markdown, csv");
    }
    ro.baseline = baseline;
    nlohmann::json merged = {{"benchmarks", nlohmann::json::array()}};
    for (const auto& file : report_files) {
      std::ifstream in(file);
      if (!in) return usage_error("cannot read " + file);
      try {
        auto doc = nlohmann::json::parse(in);
        if (!merged.contains("context") && doc.contains("context"))
          merged["context"] = doc["context"];
        for (auto& e : doc.at("benchmarks"))
          merged["benchmarks"].push_back(e);
      } catch (const std::exception& e) {
        return usage_error(file + " is not an ipcbench results file: " + e.what());
      }
    }
    fmt::print("{}", render_tables(merged, ro));
    return 0;
  }

  // run
  RunOptions o;
  auto transports_list = parse_transports(transports_text);
  if (!transports_list) return usage_error(transports_list.error());
  o.transports = *transports_list;
  auto scenarios_list = parse_scenarios(scenarios_text);
  if (!scenarios_list) return usage_error(scenarios_list.error());
  o.scenarios = *scenarios_list;
  if (!sizes_text.empty()) {
    auto sizes = parse_sizes(sizes_text);
    if (!sizes) return usage_error(sizes.error());
    o.sizes = *sizes;
  }
  if (!touch_text.empty()) {
    auto touches = parse_touches(touch_text);
    if (!touches) return usage_error(touches.error());
    o.touches = *touches;
  }
  auto waits = parse_waits(wait_text);
  if (!waits) return usage_error(waits.error());
  o.waits = *waits;
  if (iterations_opt->count()) {
    if (iterations == 0) return usage_error("--iterations 0: at least 1 round trip");
    o.iterations = iterations;
  }
  if (messages_opt->count()) {
    if (messages == 0) return usage_error("--messages 0: at least 1 message");
    o.messages = messages;
  }
  if (warmup_opt->count()) o.warmup = warmup;
  if (repetitions == 0) return usage_error("--repetitions 0: at least 1");
  o.repetitions = repetitions;
  if (!(timeout_s > 0) || timeout_s > 86400) {
    return usage_error(
        fmt::format("--timeout {}: seconds, more than 0 and at most 86400", timeout_s));
  }
  if (!(budget_s > 0))
    return usage_error(fmt::format("--budget {}: seconds, more than 0", budget_s));
  if (spin_us < 0 || spin_us > 1'000'000) {
    return usage_error(fmt::format("--spin-us {}: 0 to 1000000 microseconds", spin_us));
  }
  o.timeout = std::chrono::milliseconds(static_cast<long>(timeout_s * 1000));
  o.budget = std::chrono::milliseconds(static_cast<long>(budget_s * 1000));
  o.spin = std::chrono::microseconds(spin_us);
  o.quick = quick;
  o.out = out;
  if (!cpus_text.empty()) {
    auto cpus = parse_cpus(cpus_text);
    if (!cpus) return usage_error(cpus.error());
    o.cpu_producer = cpus->first;
    o.cpu_consumer = cpus->second;
  } else {
    auto allowed = allowed_cpus();
    if (allowed.size() >= 2) {
      o.cpu_producer = allowed[allowed.size() - 2];
      o.cpu_consumer = allowed[allowed.size() - 1];
    }
  }
  return run_matrix(o);
}

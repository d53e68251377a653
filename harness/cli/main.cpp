// ipcbench: which way of moving bytes between two processes is fastest on this machine, by how
// much, and at what cost. Subcommands: list, run, report, compare, completion (and the hidden
// worker).
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "harness/cli/completion.hpp"
#include "harness/cli/options.hpp"
#include "harness/report/compare.hpp"
#include "harness/report/reporter.hpp"
#include "harness/results/hdr_log.hpp"
#include "harness/results/results.hpp"
#include "harness/run/conductor.hpp"
#include "harness/run/environment.hpp"
#include "harness/run/process.hpp"
#include "harness/run/worker.hpp"
#include "scenarios/registry.hpp"

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
      // What a scenario's cells of several consumers refuse this transport (reqresp: one client
      // at most without a descriptor to wait on).
      std::string refused;
      for (Scenario s : scenarios()) {
        if (!s->refuse) continue;
        if (std::string why = s->refuse(caps, 2, WaitMode::block); !why.empty())
          refused += fmt::format("; {}: {}", s->name, why);
      }
      // A transport that answers many clients itself says so: its reqresp cells go through it.
      if (caps.fan_in) {
        refused += "; reqresp: its own request-response, one server for all clients";
        if (caps.max_clients != std::numeric_limits<std::size_t>::max()) {
          refused += fmt::format(" (at most {}: the library's limit)", caps.max_clients);
        }
      }
      line += fmt::format(" [{}; waits {}, native {}{}]", caps.zero_copy ? "zero-copy" : "copies",
                          waits, to_string(caps.native_wait), refused);
    }
    fmt::print("{}\n", line);
    // Its settings (--set), one line each: what, the range, the default.
    for (const OptionSpec& o : options_of(info)) {
      fmt::print("{:<{}}  --set {}.{}={}: {}; {} to {}{}; default: {}\n", "", width, info.name,
                 o.name, o.unit == OptionUnit::bytes ? "SIZE" : "N", o.description,
                 format_option(o.unit, o.min), format_option(o.unit, o.max),
                 o.max_source.empty() ? "" : " (" + o.max_source + ")", o.default_text);
    }
  }
  return 0;
}

// A subcommand: what it declares on the command line, and what it does with what was given. Each
// keeps what its options were given in members, so that main() is a table of subcommands.
class Command {
 public:
  virtual ~Command() = default;
  // Declares the subcommand and its options on `app`; returns the subcommand.
  virtual CLI::App* declare(CLI::App& app) = 0;
  // Runs it once the command line is parsed; the process's exit code.
  virtual int run() = 0;
};

class ListCommand final : public Command {
 public:
  CLI::App* declare(CLI::App& app) override {
    return app.add_subcommand(
        "list", "List the transports: name, what it is, its limits, its settings (--set)");
  }
  int run() override { return list_transports(); }
};

// `run`: what its options were given, as text (each is parsed, and its range checked, when the
// command runs: a bad value is one line naming it and what is allowed).
class RunCommand final : public Command {
 public:
  CLI::App* declare(CLI::App& app) override {
    CLI::App* run =
        app.add_subcommand("run", "Run the comparison matrix; print tables; write JSON");
    declare_what(run);
    declare_how(run);
    return run;
  }

  int run() override {
    RunOptions o;
    if (auto bad = parse_what(o)) return usage_error(*bad);
    if (auto bad = parse_how(o)) return usage_error(*bad);
    if (auto bad = parse_placement(o)) return usage_error(*bad);
    return run_matrix(o);
  }

 private:
  // What is measured: transports, scenarios, sizes, counts, rates, consumers.
  void declare_what(CLI::App* run) {
    for (Scenario s : default_scenarios())
      scenarios_text += (scenarios_text.empty() ? "" : ",") + std::string(s->name);
    run->add_option("--transports", transports_text, "Comma-separated transports, or all")
        ->capture_default_str();
    run->add_option("--scenarios", scenarios_text, scenario_names() + " (comma-separated) or all")
        ->capture_default_str();
    sizes_opt = run->add_option(
        "--sizes", sizes_text,
        "Message sizes, 8 B to 64 MiB: list (64,1MiB) or range (8..4MiB doubles, 8..4MiB:8 times "
        "8); default 64 for pingpong, 1MiB for throughput");
    iterations_opt =
        run->add_option("--iterations", iterations_text,
                        fmt::format("pingpong round trips measured, 1 to {} (default {})",
                                    kMaxCount, kDefaultIterations));
    messages_opt = run->add_option(
        "--messages", messages_text,
        fmt::format("throughput messages measured, 1 to {} (default {} at 1 MiB, "
                    "scaled to the same bytes a cell: {} to {}; --quick a tenth)",
                    kMaxCount, kDefaultMessages, kMinDefaultMessages, kMaxDefaultMessages));
    warmup_opt = run->add_option(
        "--warmup", warmup_text,
        fmt::format("unmeasured round trips/messages first, 0 to {} (default {} pingpong; "
                    "throughput {} at 1 MiB: twice through the queue's buffers, or a hundredth of "
                    "its messages if more)",
                    kMaxCount, kDefaultPingpongWarmup, default_throughput_warmup(1u << 20)));
    rates_opt = run->add_option(
        "--rates", rates_text,
        fmt::format("rate: offered rates, messages/s, 1 to {:.0f} (k = 1000, M = 10^6) or max "
                    "(default 1k,10k,100k,max)",
                    kMaxRate));
    duration_opt = run->add_option(
        "--duration", duration_text,
        fmt::format(
            "rate, overload: seconds measured per cell, {:g} to {:g} (default {:g}; --quick {:g})",
            kMinDurationS, kMaxDurationS, kDefaultRateSeconds, kQuickRateSeconds));
    subscribers_opt = run->add_option(
        "--subscribers", subscribers_text,
        fmt::format("fanout: consumers per cell, 1 to {} (default 1,2,4)", kMaxSubscribers));
    clients_opt = run->add_option(
        "--clients", clients_text,
        fmt::format("reqresp: clients per cell, 1 to {} (default 1,2,4,8,16)", kMaxSubscribers));
  }

  // How: rounds, precision, labels, settings, touch, wait, placement, time, output.
  void declare_how(CLI::App* run) {
    repetitions_opt = run->add_option(
        "--repetitions", repetitions_text,
        fmt::format("Repeat each cell N times (interleaved), 1 to {} (default {}; --quick 1)",
                    kMaxRepetitions, kDefaultRepetitions));
    precision_opt = run->add_option(
        "--precision", precision_text,
        "Add interleaved repetitions until each cell's 95% interval is within P of its median "
        "(e.g. 5%), up to --max-repetitions");
    max_repetitions_opt = run->add_option(
        "--max-repetitions", max_repetitions_text,
        fmt::format("With --precision: at most N repetitions of a cell, 2 to {} (default {})",
                    kMaxRepetitions, kDefaultMaxRepetitions));
    run->add_option("--label", label_texts,
                    "NAME: the label of this run's rows in `report` of several files (default the "
                    "host name); KEY=VALUE: recorded in the results' context (repeatable)");
    run->add_option("--set", set_texts,
                    "TRANSPORT.SETTING=VALUE[,VALUE...]: a driver setting (ipcbench list shows "
                    "each transport's, with its range); several values make separate cells "
                    "(repeatable)");
    touch_opt = run->add_option(
        "--touch", touch_text,
        "edges|full|all: bytes written and checked (default full for pingpong, both for "
        "throughput)");
    run->add_option("--wait", wait_text, "native|spin|block|adaptive|all (comma-separated)")
        ->capture_default_str();
    run->add_option(
           "--spin-us", spin_text,
           fmt::format("adaptive: spin this many microseconds, then block; 0 to {}", kMaxSpinUs))
        ->capture_default_str();
    run->add_option("--cpus", cpus_text,
                    "A,B: pin producer to A, consumer to B (default the last two); several pairs "
                    "A,B;C,D measure each; A,A puts both on one CPU (block only)");
    timeout_opt =
        run->add_option("--timeout", timeout_text,
                        fmt::format("Seconds before a cell's workers are killed, {:g} to {:g}",
                                    kMinTimeoutS, kMaxTimeoutS))
            ->capture_default_str();
    budget_opt = run->add_option(
        "--budget", budget_text,
        fmt::format("pingpong, throughput, fanout: seconds each cell measures per round, at most "
                    "(its count is an upper bound), {:g} to {:g} (default {:g}; --quick {:g}; "
                    "{:g} with --iterations or --messages)",
                    kMinBudgetS, kMaxBudgetS, kDefaultCellSeconds, kQuickCellSeconds,
                    kDefaultBudgetS));
    run->add_flag("--quick", quick, "Fewer round trips and messages: a fast look, not a reference");
    run->footer(footer());
    filter_opt = run->add_option(
        "--filter", filter,
        "Only the cells whose name (scenario/transport/bytes/wait/touch) matches this regular "
        "expression; -REGEX: all but those");
    run->add_flag("--dry-run", dry,
                  "List the cells a run would measure and an estimate of the time");
    hdr_opt = run->add_option(
        "--export-hdr", hdr_dir,
        "At the end, write each pingpong cell's round trips to DIR in HdrHistogram's interval log "
        "format (one .hlog a cell, an interval a repetition)");
    out_opt = run->add_option(
        "--out", out,
        "Results file (default results/run-<date>-<time>.json); - writes the JSON to standard "
        "output and the tables to standard error");
  }

  static std::string footer() {
    std::string names;
    for (const auto& info : transports())
      names += (names.empty() ? "" : ", ") + std::string(info.name);
    std::string scenario_list;
    for (Scenario s : scenarios()) {
      scenario_list +=
          fmt::format("{}{} ({})", scenario_list.empty() ? "" : ", ", s->name, s->description);
    }
    constexpr const char* kWords[] = {"none", "one",   "two",   "three", "four", "five",
                                      "six",  "seven", "eight", "nine",  "ten"};
    const std::size_t n = scenarios().size();
    return "Transports: " + names +
           " (ipcbench list says what each is, its limits and wait modes).\nScenarios: " +
           scenario_list + "; all = the " +
           (n < std::size(kWords) ? std::string(kWords[n]) : std::to_string(n)) +
           ".\n\nExamples:\n  ipcbench run "
           "--quick                         a look at "
           "every transport in a few seconds\n  ipcbench run --transports shm,unix-stream "
           "--sizes 64,1MiB --precision 5%\n                                               "
           "repetitions until each figure is known to +-5%\n  ipcbench run --transports pipe "
           "--scenarios throughput --set pipe.buffer=64KiB,1MiB\n                             "
           "                  a 64 KiB pipe (the kernel's default size) and a 1 MiB one\n";
  }

  // Parses `text` with `parse` into `into` when `opt` was given.
  template <class T, class Parse>
  static std::optional<Usage> parse_given(CLI::Option* opt, const std::string& text, Parse parse,
                                          T& into) {
    if (!opt->count()) return std::nullopt;
    auto value = parse(text);
    if (!value) return value.error();
    into = *value;
    return std::nullopt;
  }

  std::optional<Usage> parse_what(RunOptions& o) const {
    auto transports_list = parse_transports(transports_text);
    if (!transports_list) return transports_list.error();
    o.transports = *transports_list;
    auto settings = parse_settings(set_texts, o.transports);
    if (!settings) return settings.error();
    o.settings = *settings;
    auto scenarios_list = parse_scenarios(scenarios_text);
    if (!scenarios_list) return scenarios_list.error();
    o.scenarios = *scenarios_list;
    if (auto bad = parse_given(sizes_opt, sizes_text, parse_sizes, o.sizes)) return bad;
    if (auto bad = parse_given(touch_opt, touch_text, parse_touches, o.touches)) return bad;
    auto waits = parse_waits(wait_text);
    if (!waits) return waits.error();
    o.waits = *waits;
    auto count_from = [](const char* flag, std::uint64_t lo) {
      return [flag, lo](const std::string& text) { return parse_count(flag, text, lo, kMaxCount); };
    };
    if (auto bad = parse_given(iterations_opt, iterations_text, count_from("--iterations", 1),
                               o.iterations)) {
      return bad;
    }
    if (auto bad =
            parse_given(messages_opt, messages_text, count_from("--messages", 1), o.messages)) {
      return bad;
    }
    if (auto bad = parse_given(warmup_opt, warmup_text, count_from("--warmup", 0), o.warmup)) {
      return bad;
    }
    if (auto bad = parse_given(rates_opt, rates_text, parse_rates, o.rates)) return bad;
    if (auto bad = parse_given(
            subscribers_opt, subscribers_text,
            [](std::string_view text) { return parse_subscribers(text); }, o.subscribers)) {
      return bad;
    }
    auto parse_clients = [](std::string_view text) {
      return parse_subscribers(text, "--clients", "client");
    };
    if (auto bad = parse_given(clients_opt, clients_text, parse_clients, o.clients)) return bad;
    if (duration_opt->count()) {
      auto seconds = parse_seconds("--duration", duration_text, kMinDurationS, kMaxDurationS);
      if (!seconds) return seconds.error();
      o.duration = std::chrono::nanoseconds(std::llround(*seconds * 1e9));
    }
    return std::nullopt;
  }

  std::optional<Usage> parse_rounds(RunOptions& o) const {
    o.repetitions = quick ? 1 : kDefaultRepetitions;
    if (repetitions_opt->count()) {
      auto repetitions = parse_count("--repetitions", repetitions_text, 1, kMaxRepetitions);
      if (!repetitions) return repetitions.error();
      o.repetitions = static_cast<unsigned>(*repetitions);
    }
    if (precision_opt->count()) {
      auto precision = parse_fraction("--precision", precision_text, kMinPrecision, kMaxPrecision);
      if (!precision) return precision.error();
      o.precision = *precision;
      o.repetitions = std::max(o.repetitions, 2u);  // an interval needs two
    }
    if (max_repetitions_opt->count()) {
      if (!precision_opt->count()) {
        return "--max-repetitions " + max_repetitions_text + ": goes with --precision";
      }
      auto max = parse_count("--max-repetitions", max_repetitions_text, 2, kMaxRepetitions);
      if (!max) return max.error();
      o.max_repetitions = static_cast<unsigned>(*max);
    }
    if (o.precision && o.max_repetitions < o.repetitions) {
      return fmt::format("--max-repetitions {}: fewer than --repetitions {}", o.max_repetitions,
                         o.repetitions);
    }
    return std::nullopt;
  }

  std::optional<Usage> parse_how(RunOptions& o) const {
    if (auto bad = parse_rounds(o)) return bad;
    for (const auto& text : label_texts) {
      if (auto ok = parse_label(text, o); !ok) return ok.error();
    }
    auto timeout_s = parse_seconds("--timeout", timeout_text, kMinTimeoutS, kMaxTimeoutS);
    if (!timeout_s) return timeout_s.error();
    if (budget_opt->count()) {
      auto budget_s = parse_seconds("--budget", budget_text, kMinBudgetS, kMaxBudgetS);
      if (!budget_s) return budget_s.error();
      o.budget = std::chrono::milliseconds(std::llround(*budget_s * 1000));
    }
    auto spin_us = parse_count("--spin-us", spin_text, 0, kMaxSpinUs);
    if (!spin_us) return spin_us.error();
    o.timeout = std::chrono::milliseconds(std::llround(*timeout_s * 1000));
    o.spin = std::chrono::microseconds(*spin_us);
    o.quick = quick;
    auto fitted = fit_timeout(o, timeout_opt->count() > 0);
    if (!fitted) return fitted.error();
    if (*fitted) fmt::print(stderr, "note: {}\n", **fitted);
    if (filter_opt->count()) {
      if (auto bad = check_filter(filter)) return bad;
      o.filter = filter;
    }
    o.dry_run = dry;
    if (hdr_opt->count()) {
      if (hdr_dir.empty()) return "--export-hdr '': expected a directory";
      o.export_hdr = hdr_dir;
    }
    if (out_opt->count() && out.empty()) {
      return "--out '': expected a file path, or - for standard output";
    }
    o.out = out;
    return std::nullopt;
  }

  // The CPU pairs (the last two CPUs by default; the one CPU where there is one), and the wait
  // modes one CPU cannot run.
  std::optional<Usage> parse_placement(RunOptions& o) const {
    if (!cpus_text.empty()) {
      auto cpus = parse_cpus(cpus_text);
      if (!cpus) return cpus.error();
      o.cpu_pairs = *cpus;
    } else {
      auto allowed = allowed_cpus();
      if (allowed.size() >= 2) {
        o.cpu_pairs = {{allowed[allowed.size() - 2], allowed[allowed.size() - 1]}};
      } else if (allowed.size() == 1) {
        o.cpu_pairs = {{allowed[0], allowed[0]}};
      }
    }
    if (!o.cpu_pairs.empty()) {
      o.cpu_producer = o.cpu_pairs.front().first;
      o.cpu_consumer = o.cpu_pairs.front().second;
    }
    // A wait mode asked for by name cannot run where both workers share one CPU.
    for (auto [a, b] : o.cpu_pairs) {
      for (const WaitMode wait : {WaitMode::spin, WaitMode::adaptive}) {
        if (a == b && std::ranges::find(o.waits, WaitChoice::only(wait)) != o.waits.end()) {
          return fmt::format(
              "--wait {} with the CPU pair {},{}: both workers take turns on one CPU, and a {} "
              "wait spins through the other's turn; only block runs on one CPU",
              to_string(wait), a, b, to_string(wait));
        }
      }
    }
    return std::nullopt;
  }

  std::string scenarios_text,
      transports_text = "all", sizes_text, touch_text, rates_text, duration_text,
      wait_text = "native", cpus_text, out, iterations_text, messages_text, warmup_text,
      repetitions_text, timeout_text = fmt::format("{:g}", kDefaultTimeoutS), budget_text,
      spin_text = "5", precision_text, max_repetitions_text, subscribers_text, clients_text, filter,
      hdr_dir;
  std::vector<std::string> label_texts, set_texts;
  bool quick = false, dry = false;
  CLI::Option *sizes_opt = nullptr, *iterations_opt = nullptr, *messages_opt = nullptr,
              *warmup_opt = nullptr, *rates_opt = nullptr, *duration_opt = nullptr,
              *subscribers_opt = nullptr, *clients_opt = nullptr, *repetitions_opt = nullptr,
              *precision_opt = nullptr, *max_repetitions_opt = nullptr, *touch_opt = nullptr,
              *timeout_opt = nullptr, *budget_opt = nullptr, *filter_opt = nullptr,
              *hdr_opt = nullptr, *out_opt = nullptr;
};

// The files `report` reads: each path given, a directory replaced by the *.json files in it
// (not its subdirectories), in name order.
std::expected<std::vector<std::string>, Usage> expand_directories(
    const std::vector<std::string>& paths) {
  std::vector<std::string> out;
  for (const std::string& path : paths) {
    std::error_code ec;
    if (!std::filesystem::is_directory(path, ec)) {
      out.push_back(path);
      continue;
    }
    std::vector<std::string> found;
    for (const auto& entry : std::filesystem::directory_iterator(path, ec)) {
      if (entry.is_regular_file(ec) && entry.path().extension() == ".json") {
        found.push_back(entry.path().string());
      }
    }
    if (ec)
      return std::unexpected(
          fmt::format("'{}': cannot read the directory: {}", path, ec.message()));
    if (found.empty()) {
      return std::unexpected(fmt::format("'{}': a directory without results files (*.json)", path));
    }
    std::ranges::sort(found);
    out.insert(out.end(), found.begin(), found.end());
  }
  return out;
}

class ReportCommand final : public Command {
 public:
  CLI::App* declare(CLI::App& app) override {
    CLI::App* report = app.add_subcommand("report", "Print the comparison tables of result files");
    report
        ->add_option("files", files,
                     "Result files (JSON); a directory stands for its *.json files, in name order")
        ->required();
    report->add_option("--format", format_text, report_format_names("|"))->capture_default_str();
    hdr_opt = report->add_option(
        "--export-hdr", hdr_dir,
        "Also write each pingpong cell's round trips to DIR in HdrHistogram's interval log "
        "format");
    baseline_opt = report->add_option("--baseline", baseline, "Transport the pingpong ratio is to")
                       ->capture_default_str();
    return report;
  }

  int run() override {
    std::unique_ptr<Reporter> reporter = make_reporter(format_text, baseline);
    if (!reporter) {
      return usage_error("unknown --format '" + format_text +
                         "'; known: " + report_format_names(", "));
    }
    auto documents = load();
    if (!documents) return usage_error(documents.error());
    if (hdr_opt->count()) {
      if (hdr_dir.empty()) return usage_error("--export-hdr '': expected a directory");
      for (const auto& d : *documents) {
        const std::string prefix = documents->size() > 1 ? d.label + "_" : "";
        auto written = export_hdr(d.document, hdr_dir, prefix);
        if (!written) return usage_error(written.error());
      }
    }
    fmt::print("{}", reporter->render(*documents));
    return 0;
  }

 private:
  // Each file on its own, never pooled: its rows carry its label. The --baseline must be in one.
  std::expected<std::vector<LabelledDocument>, Usage> load() const {
    auto paths = expand_directories(files);
    if (!paths) return std::unexpected(paths.error());
    std::vector<LabelledDocument> documents;
    std::vector<std::string> present;
    for (const auto& file : *paths) {
      auto doc = load_results(file);
      if (!doc) return std::unexpected(doc.error());
      for (const auto& e : doc->benchmarks) {
        // A tuned configuration (--set) is named as its cells are: "pipe[buffer=1MiB]". The
        // floor is no transport: no ratio is to it.
        if (e.transport == kFloorTransport) continue;
        if (std::ranges::find(present, transport_key(e)) == present.end())
          present.push_back(transport_key(e));
      }
      documents.push_back({label_of(*doc, file), std::move(*doc)});
    }
    // Two files of one label (two runs on one host) are told apart by their file names.
    for (auto& d : documents) {
      // A copy: the loop below renames `d` itself first.
      const std::string label = d.label;
      if (std::ranges::count(documents, label, &LabelledDocument::label) > 1) {
        for (std::size_t i = 0; i < documents.size(); ++i) {
          if (documents[i].label == label) documents[i].label += " (" + (*paths)[i] + ")";
        }
      }
    }
    if (baseline_opt->count() && std::ranges::find(present, baseline) == present.end()) {
      std::string names;
      for (const auto& t : present)
        names += (names.empty() ? "" : ", ") + t;
      return std::unexpected(
          fmt::format("--baseline {}: not in these results; transports present: {}", baseline,
                      names.empty() ? "none" : names));
    }
    return documents;
  }

  std::vector<std::string> files;
  std::string format_text = "markdown", baseline = kDefaultBaseline, hdr_dir;
  CLI::Option *hdr_opt = nullptr, *baseline_opt = nullptr;
};

class CompareCommand final : public Command {
 public:
  CLI::App* declare(CLI::App& app) override {
    CLI::App* compare_cmd = app.add_subcommand(
        "compare", "Compare two result files cell by cell: faster, slower or not distinguishable");
    compare_cmd
        ->add_option("base", base_text,
                     "The results to compare against (JSON); several runs: A.json,B.json,...")
        ->required();
    compare_cmd
        ->add_option("new", new_text, "The new results (JSON); several runs: comma-separated")
        ->required();
    fail_above_opt = compare_cmd->add_option(
        "--fail-above", fail_above_text,
        "Exit 1 when a cell got significantly slower by more than this (e.g. 10%)");
    compare_cmd
        ->add_option("--noise", noise_text,
                     "The drift between separate runs a change must exceed to count, 0% to 100% "
                     "(bench/run_drift.sh measures it)")
        ->capture_default_str();
    return compare_cmd;
  }

  int run() override {
    CompareOptions co;
    if (fail_above_opt->count()) {
      auto fraction = parse_fraction("--fail-above", fail_above_text, 0, 100);
      if (!fraction) return usage_error(fraction.error());
      co.fail_above = *fraction;
    }
    auto noise = parse_fraction("--noise", noise_text, 0, 1);
    if (!noise) return usage_error(noise.error());
    co.noise = *noise;
    auto base = load_side(base_text);
    if (!base) return usage_error(base.error());
    auto next = load_side(new_text);
    if (!next) return usage_error(next.error());
    Comparison c = compare(*base, *next, co);
    fmt::print("{}", c.text);
    return c.regression ? 1 : 0;
  }

 private:
  // One side: a file, or several runs, comma-separated.
  static std::expected<std::vector<ResultsDocument>, std::string> load_side(
      const std::string& list) {
    std::vector<ResultsDocument> side;
    for (const auto& path : split(list, ',')) {
      if (path.empty()) {
        return std::unexpected(fmt::format(
            "compare: '{}': an empty file name; several runs are comma-separated files", list));
      }
      auto document = load_results(path);
      if (!document) return std::unexpected(document.error());
      side.push_back(std::move(*document));
    }
    return side;
  }

  std::string base_text, new_text, fail_above_text,
      noise_text = fmt::format("{:.0f}%", CompareOptions::kDefaultCompareNoise * 100);
  CLI::Option* fail_above_opt = nullptr;
};

class CompletionCommand final : public Command {
 public:
  CLI::App* declare(CLI::App& app) override {
    m_app = &app;
    CLI::App* completion = app.add_subcommand(
        "completion", "Print a shell completion script: source <(ipcbench completion bash)");
    completion->add_option("shell", shell, "The shell: bash")
        ->required()
        ->check(CLI::IsMember(kCompletionShells));
    return completion;
  }
  int run() override {
    fmt::print("{}", bash_completion(*m_app));
    return 0;
  }

 private:
  const CLI::App* m_app = nullptr;
  std::string shell;
};

// Hidden: one side of one cell, started by the conductor.
class WorkerCommand final : public Command {
 public:
  CLI::App* declare(CLI::App& app) override {
    CLI::App* worker = app.add_subcommand("worker", "");
    worker->group("");
    worker->add_option("--spec", spec)->required();
    return worker;
  }
  int run() override { return worker_main(spec); }

 private:
  std::string spec;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ipcbench: measure inter-process communication on this machine"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Show every subcommand's options");
  app.set_version_flag("--version", version_text(), "The version and the commit it was built from");

  // The subcommands, in the order --help lists them.
  ListCommand list;
  RunCommand run;
  ReportCommand report;
  CompareCommand compare;
  CompletionCommand completion;
  WorkerCommand worker;
  std::vector<std::pair<CLI::App*, Command*>> commands;
  for (Command* c :
       std::initializer_list<Command*>{&list, &run, &report, &compare, &completion, &worker}) {
    commands.emplace_back(c->declare(app), c);
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::string what = e.what();
    if (what.empty()) what = e.get_name();
    return usage_error(what + " (see ipcbench --help)");
  }
  for (auto [sub, command] : commands) {
    if (app.got_subcommand(sub)) return command->run();
  }
  return kUsageError;  // require_subcommand(1) holds this unreachable
}

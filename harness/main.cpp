// ipcbench: which way of moving bytes between two processes is fastest on this machine, by how
// much, and at what cost. Subcommands: list, run, report, compare, completion (and the hidden
// worker).
#include <unistd.h>

#include <cmath>
#include <fstream>
#include <iostream>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "harness/compare.hpp"
#include "harness/completion.hpp"
#include "harness/conductor.hpp"
#include "harness/environment.hpp"
#include "harness/hdr_log.hpp"
#include "harness/options.hpp"
#include "harness/process.hpp"
#include "harness/reporters.hpp"
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

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ipcbench: measure inter-process communication on this machine"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Show every subcommand's options");
  app.set_version_flag("--version", version_text(), "The version and the commit it was built from");

  app.add_subcommand("list",
                     "List the transports: name, what it is, its limits, its settings (--set)");

  auto* run = app.add_subcommand("run", "Run the comparison matrix; print tables; write JSON");
  std::string scenarios_text;
  for (Scenario s : default_scenarios())
    scenarios_text += (scenarios_text.empty() ? "" : ",") + std::string(s->name);
  std::string transports_text = "all", sizes_text, touch_text, rates_text, duration_text,
              wait_text = "native", cpus_text, out, iterations_text, messages_text, warmup_text,
              repetitions_text, timeout_text = fmt::format("{:g}", kDefaultTimeoutS), budget_text,
              spin_text = "5", precision_text, max_repetitions_text;
  std::vector<std::string> label_texts, set_texts;
  bool quick = false;
  run->add_option("--transports", transports_text, "Comma-separated transports, or all")
      ->capture_default_str();
  run->add_option("--scenarios", scenarios_text, scenario_names() + " (comma-separated) or all")
      ->capture_default_str();
  auto* sizes_opt = run->add_option(
      "--sizes", sizes_text,
      "Message sizes, 8 B to 64 MiB: list (64,1MiB) or range (8..4MiB doubles, 8..4MiB:8 times "
      "8); default 64 for pingpong, 1MiB for throughput");
  auto* iterations_opt =
      run->add_option("--iterations", iterations_text,
                      fmt::format("pingpong round trips measured, 1 to {} (default {})", kMaxCount,
                                  kDefaultIterations));
  auto* messages_opt = run->add_option(
      "--messages", messages_text,
      fmt::format("throughput messages measured, 1 to {} (default {} at 1 MiB, "
                  "scaled to the same bytes a cell: {} to {}; --quick a tenth)",
                  kMaxCount, kDefaultMessages, kMinDefaultMessages, kMaxDefaultMessages));
  auto* warmup_opt = run->add_option(
      "--warmup", warmup_text,
      fmt::format("unmeasured round trips/messages first, 0 to {} (default {} pingpong; "
                  "throughput {} at 1 MiB: twice through the queue's buffers, or a hundredth of "
                  "its messages if more)",
                  kMaxCount, kDefaultPingpongWarmup, default_throughput_warmup(1u << 20)));
  auto* rates_opt = run->add_option(
      "--rates", rates_text,
      fmt::format("rate: offered rates, messages/s, 1 to {:.0f} (k = 1000, M = 10^6) or max "
                  "(default 1k,10k,100k,max)",
                  kMaxRate));
  auto* duration_opt = run->add_option(
      "--duration", duration_text,
      fmt::format("rate: seconds measured per cell, {:g} to {:g} (default {:g}; --quick {:g})",
                  kMinDurationS, kMaxDurationS, kDefaultRateSeconds, kQuickRateSeconds));
  std::string subscribers_text;
  auto* subscribers_opt = run->add_option(
      "--subscribers", subscribers_text,
      fmt::format("fanout: consumers per cell, 1 to {} (default 1,2,4)", kMaxSubscribers));
  auto* repetitions_opt = run->add_option(
      "--repetitions", repetitions_text,
      fmt::format("Repeat each cell N times (interleaved), 1 to {} (default {}; --quick 1)",
                  kMaxRepetitions, kDefaultRepetitions));
  auto* precision_opt = run->add_option(
      "--precision", precision_text,
      "Add interleaved repetitions until each cell's 95% interval is within P of its median "
      "(e.g. 5%), up to --max-repetitions");
  auto* max_repetitions_opt = run->add_option(
      "--max-repetitions", max_repetitions_text,
      fmt::format("With --precision: at most N repetitions of a cell, 2 to {} (default {})",
                  kMaxRepetitions, kDefaultMaxRepetitions));
  run->add_option("--label", label_texts,
                  "NAME: the label of this run's rows in `report` of several files (default the "
                  "host name); KEY=VALUE: recorded in the results' context (repeatable)");
  run->add_option("--set", set_texts,
                  "TRANSPORT.SETTING=VALUE[,VALUE...]: a driver setting (ipcbench list shows each "
                  "transport's, with its range); several values make separate cells "
                  "(repeatable)");
  auto* touch_opt = run->add_option(
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
  auto* timeout_opt =
      run->add_option("--timeout", timeout_text,
                      fmt::format("Seconds before a cell's workers are killed, {:g} to {:g}",
                                  kMinTimeoutS, kMaxTimeoutS))
          ->capture_default_str();
  auto* budget_opt = run->add_option(
      "--budget", budget_text,
      fmt::format("pingpong, throughput, fanout: seconds each cell measures per round, at most "
                  "(its count is an upper bound), {:g} to {:g} (default {:g}; --quick {:g}; {:g} "
                  "with --iterations or --messages)",
                  kMinBudgetS, kMaxBudgetS, kDefaultCellSeconds, kQuickCellSeconds,
                  kDefaultBudgetS));
  run->add_flag("--quick", quick, "Fewer round trips and messages: a fast look, not a reference");
  std::string filter;
  bool dry = false;
  {
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
    run->footer("Transports: " + names +
                " (ipcbench list says what each is, its limits and wait modes).\nScenarios: " +
                scenario_list + "; all = the " +
                (n < std::size(kWords) ? std::string(kWords[n]) : std::to_string(n)) +
                ".\n\nExamples:\n  ipcbench run "
                "--quick                         a look at "
                "every transport in a few seconds\n  ipcbench run --transports shm,unix-stream "
                "--sizes 64,1MiB --precision 5%\n                                               "
                "repetitions until each figure is known to +-5%\n  ipcbench run --transports pipe "
                "--scenarios throughput --set pipe.buffer=64KiB,1MiB\n                             "
                "                  a 64 KiB pipe (the kernel's default size) and a 1 MiB one\n");
  }
  auto* filter_opt = run->add_option(
      "--filter", filter,
      "Only the cells whose name (scenario/transport/bytes/wait/touch) matches this regular "
      "expression; -REGEX: all but those");
  run->add_flag("--dry-run", dry, "List the cells a run would measure and an estimate of the time");
  std::string run_hdr_dir;
  auto* run_hdr_opt = run->add_option(
      "--export-hdr", run_hdr_dir,
      "At the end, write each pingpong cell's round trips to DIR in HdrHistogram's interval log "
      "format (one .hlog a cell, an interval a repetition)");
  auto* out_opt = run->add_option(
      "--out", out,
      "Results file (default results/run-<date>-<time>.json); - writes the JSON to standard "
      "output and the tables to standard error");

  auto* report = app.add_subcommand("report", "Print the comparison tables of result files");
  std::vector<std::string> report_files;
  std::string format_text = "markdown", baseline = kDefaultBaseline;
  report->add_option("files", report_files, "Result files (JSON)")->required();
  report->add_option("--format", format_text, "markdown|csv|json")->capture_default_str();
  std::string report_hdr_dir;
  auto* report_hdr_opt = report->add_option(
      "--export-hdr", report_hdr_dir,
      "Also write each pingpong cell's round trips to DIR in HdrHistogram's interval log format");
  auto* baseline_opt =
      report->add_option("--baseline", baseline, "Transport the pingpong ratio is to")
          ->capture_default_str();

  auto* compare_cmd = app.add_subcommand(
      "compare", "Compare two result files cell by cell: faster, slower or not distinguishable");
  std::string compare_base, compare_new, fail_above_text;
  compare_cmd
      ->add_option("base", compare_base,
                   "The results to compare against (JSON); several runs: A.json,B.json,...")
      ->required();
  compare_cmd
      ->add_option("new", compare_new, "The new results (JSON); several runs: comma-separated")
      ->required();
  auto* fail_above_opt = compare_cmd->add_option(
      "--fail-above", fail_above_text,
      "Exit 1 when a cell got significantly slower by more than this (e.g. 10%)");
  std::string noise_text = fmt::format("{:.0f}%", CompareOptions::kDefaultCompareNoise * 100);
  compare_cmd
      ->add_option("--noise", noise_text,
                   "The drift between separate runs a change must exceed to count, 0% to 100% "
                   "(bench/run_drift.sh measures it)")
      ->capture_default_str();

  auto* completion = app.add_subcommand(
      "completion", "Print a shell completion script: source <(ipcbench completion bash)");
  std::string shell;
  completion->add_option("shell", shell, "The shell: bash")
      ->required()
      ->check(CLI::IsMember(kCompletionShells));

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
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::string what = e.what();
    if (what.empty()) what = e.get_name();
    return usage_error(what + " (see ipcbench --help)");
  }

  if (app.got_subcommand(worker)) return worker_main(spec);
  if (app.got_subcommand("list")) return list_transports();
  if (app.got_subcommand(completion)) {
    fmt::print("{}", bash_completion(app));
    return 0;
  }

  if (app.got_subcommand(compare_cmd)) {
    CompareOptions co;
    if (fail_above_opt->count()) {
      auto fraction = parse_fraction("--fail-above", fail_above_text, 0, 100);
      if (!fraction) return usage_error(fraction.error());
      co.fail_above = *fraction;
    }
    auto noise = parse_fraction("--noise", noise_text, 0, 1);
    if (!noise) return usage_error(noise.error());
    co.noise = *noise;
    auto load_side =
        [](const std::string& list) -> std::expected<std::vector<ResultsDocument>, std::string> {
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
    };
    auto base = load_side(compare_base);
    if (!base) return usage_error(base.error());
    auto next = load_side(compare_new);
    if (!next) return usage_error(next.error());
    Comparison c = compare(*base, *next, co);
    fmt::print("{}", c.text);
    return c.regression ? 1 : 0;
  }

  if (app.got_subcommand(report)) {
    std::unique_ptr<Reporter> reporter;
    if (format_text == "markdown") {
      reporter = std::make_unique<MarkdownReporter>(baseline);
    } else if (format_text == "csv") {
      reporter = std::make_unique<CsvReporter>(baseline);
    } else if (format_text == "json") {
      reporter = std::make_unique<JsonReporter>(baseline);
    } else {
      return usage_error("unknown --format '" + format_text + "'; known: markdown, csv, json");
    }
    // Each file on its own, never pooled: its rows carry its label.
    std::vector<LabelledDocument> documents;
    std::vector<std::string> present;
    for (const auto& file : report_files) {
      auto doc = load_results(file);
      if (!doc) return usage_error(doc.error());
      for (const auto& e : doc->benchmarks) {
        // A tuned configuration (--set) is named as its cells are: "pipe[buffer=1MiB]".
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
          if (documents[i].label == label) documents[i].label += " (" + report_files[i] + ")";
        }
      }
    }
    if (baseline_opt->count() && std::ranges::find(present, baseline) == present.end()) {
      std::string names;
      for (const auto& t : present)
        names += (names.empty() ? "" : ", ") + t;
      return usage_error(fmt::format("--baseline {}: not in these results; transports present: {}",
                                     baseline, names.empty() ? "none" : names));
    }
    if (report_hdr_opt->count()) {
      if (report_hdr_dir.empty()) return usage_error("--export-hdr '': expected a directory");
      for (const auto& d : documents) {
        const std::string prefix = documents.size() > 1 ? d.label + "_" : "";
        auto written = export_hdr(d.document, report_hdr_dir, prefix);
        if (!written) return usage_error(written.error());
      }
    }
    fmt::print("{}", reporter->render(documents));
    return 0;
  }

  // run
  RunOptions o;
  auto transports_list = parse_transports(transports_text);
  if (!transports_list) return usage_error(transports_list.error());
  o.transports = *transports_list;
  auto settings = parse_settings(set_texts, o.transports);
  if (!settings) return usage_error(settings.error());
  o.settings = *settings;
  auto scenarios_list = parse_scenarios(scenarios_text);
  if (!scenarios_list) return usage_error(scenarios_list.error());
  o.scenarios = *scenarios_list;
  if (sizes_opt->count()) {
    auto sizes = parse_sizes(sizes_text);
    if (!sizes) return usage_error(sizes.error());
    o.sizes = *sizes;
  }
  if (touch_opt->count()) {
    auto touches = parse_touches(touch_text);
    if (!touches) return usage_error(touches.error());
    o.touches = *touches;
  }
  auto waits = parse_waits(wait_text);
  if (!waits) return usage_error(waits.error());
  o.waits = *waits;
  auto count = [&](CLI::Option* opt, const std::string& text, std::uint64_t lo,
                   std::optional<std::uint64_t>& into) -> std::optional<std::string> {
    if (!opt->count()) return std::nullopt;
    auto value = parse_count(opt->get_name(), text, lo, kMaxCount);
    if (!value) return value.error();
    into = *value;
    return std::nullopt;
  };
  if (auto bad = count(iterations_opt, iterations_text, 1, o.iterations)) return usage_error(*bad);
  if (auto bad = count(messages_opt, messages_text, 1, o.messages)) return usage_error(*bad);
  if (auto bad = count(warmup_opt, warmup_text, 0, o.warmup)) return usage_error(*bad);
  if (rates_opt->count()) {
    auto rates = parse_rates(rates_text);
    if (!rates) return usage_error(rates.error());
    o.rates = *rates;
  }
  if (subscribers_opt->count()) {
    auto subscribers = parse_subscribers(subscribers_text);
    if (!subscribers) return usage_error(subscribers.error());
    o.subscribers = *subscribers;
  }
  if (duration_opt->count()) {
    auto seconds = parse_seconds("--duration", duration_text, kMinDurationS, kMaxDurationS);
    if (!seconds) return usage_error(seconds.error());
    o.duration = std::chrono::nanoseconds(std::llround(*seconds * 1e9));
  }
  o.repetitions = quick ? 1 : kDefaultRepetitions;
  if (repetitions_opt->count()) {
    auto repetitions = parse_count("--repetitions", repetitions_text, 1, kMaxRepetitions);
    if (!repetitions) return usage_error(repetitions.error());
    o.repetitions = static_cast<unsigned>(*repetitions);
  }
  if (precision_opt->count()) {
    auto precision = parse_fraction("--precision", precision_text, kMinPrecision, kMaxPrecision);
    if (!precision) return usage_error(precision.error());
    o.precision = *precision;
    o.repetitions = std::max(o.repetitions, 2u);  // an interval needs two
  }
  if (max_repetitions_opt->count()) {
    if (!precision_opt->count()) {
      return usage_error("--max-repetitions " + max_repetitions_text + ": goes with --precision");
    }
    auto max = parse_count("--max-repetitions", max_repetitions_text, 2, kMaxRepetitions);
    if (!max) return usage_error(max.error());
    o.max_repetitions = static_cast<unsigned>(*max);
  }
  if (o.precision && o.max_repetitions < o.repetitions) {
    return usage_error(fmt::format("--max-repetitions {}: fewer than --repetitions {}",
                                   o.max_repetitions, o.repetitions));
  }
  for (const auto& text : label_texts) {
    if (auto ok = parse_label(text, o); !ok) return usage_error(ok.error());
  }
  auto timeout_s = parse_seconds("--timeout", timeout_text, kMinTimeoutS, kMaxTimeoutS);
  if (!timeout_s) return usage_error(timeout_s.error());
  if (budget_opt->count()) {
    auto budget_s = parse_seconds("--budget", budget_text, kMinBudgetS, kMaxBudgetS);
    if (!budget_s) return usage_error(budget_s.error());
    o.budget = std::chrono::milliseconds(std::llround(*budget_s * 1000));
  }
  auto spin_us = parse_count("--spin-us", spin_text, 0, kMaxSpinUs);
  if (!spin_us) return usage_error(spin_us.error());
  o.timeout = std::chrono::milliseconds(std::llround(*timeout_s * 1000));
  o.spin = std::chrono::microseconds(*spin_us);
  o.quick = quick;
  auto fitted = fit_timeout(o, timeout_opt->count() > 0);
  if (!fitted) return usage_error(fitted.error());
  if (*fitted) fmt::print(stderr, "note: {}\n", **fitted);
  if (filter_opt->count()) {
    if (auto bad = check_filter(filter)) return usage_error(*bad);
    o.filter = filter;
  }
  o.dry_run = dry;
  if (run_hdr_opt->count()) {
    if (run_hdr_dir.empty()) return usage_error("--export-hdr '': expected a directory");
    o.export_hdr = run_hdr_dir;
  }
  if (out_opt->count() && out.empty()) {
    return usage_error("--out '': expected a file path, or - for standard output");
  }
  o.out = out;
  if (!cpus_text.empty()) {
    auto cpus = parse_cpus(cpus_text);
    if (!cpus) return usage_error(cpus.error());
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
    for (const std::string wait : {"spin", "adaptive"}) {
      if (a == b && std::ranges::find(o.waits, wait) != o.waits.end()) {
        return usage_error(fmt::format(
            "--wait {} with the CPU pair {},{}: both workers take turns on one CPU, and a {} "
            "wait spins through the other's turn; only block runs on one CPU",
            wait, a, b, wait));
      }
    }
  }
  return run_matrix(o);
}

// What a run is: its options as the command line gave them (cli/options.hpp parses and checks
// them), and the matrix of cells they expand to, in run order.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "harness/results/results.hpp"
#include "scenarios/defaults.hpp"
#include "scenarios/registry.hpp"
#include "transports/transport.hpp"

namespace ipcbench {

// A usage error: one line naming the bad value and what is allowed.
using Usage = std::string;

// One driver setting a run was given (`--set <transport>.<name>=<value>[,<value>...]`), with every
// value asked for it: each value makes cells of its own.
struct Setting {
  std::string transport;
  OptionSpec spec;
  std::vector<std::uint64_t> values;
};

// One value of --wait: the transport's native mode, every mode it offers, or one mode by name.
struct WaitChoice {
  enum class Kind { native, all, mode };
  Kind kind = Kind::native;
  WaitMode mode = WaitMode::block;  // Kind::mode: which

  static WaitChoice native() { return {}; }
  static WaitChoice all() { return {Kind::all}; }
  static WaitChoice only(WaitMode mode) { return {Kind::mode, mode}; }
  bool operator==(const WaitChoice&) const = default;
};
// "native", "all", or the mode's name, as --wait takes it.
std::string_view to_string(WaitChoice choice);

// What `run` measures without --scenarios: the first two scenarios of the registry (pingpong and
// throughput).
std::vector<Scenario> default_scenarios();

struct RunOptions {
  std::vector<std::string> transports;  // registry names
  std::vector<Scenario> scenarios = default_scenarios();
  std::vector<std::size_t> sizes;           // empty: each scenario's default size
  std::optional<std::uint64_t> iterations;  // pingpong round trips
  std::optional<std::uint64_t> messages;    // throughput messages
  std::optional<std::uint64_t> warmup;
  std::vector<double> rates = {1000, 10000, 100000, 0};  // rate: messages/s; 0 = max
  std::vector<unsigned> subscribers = {1, 2, 4};         // fanout: consumers per cell
  std::vector<unsigned> clients = {1, 2, 4, 8, 16};      // reqresp: clients per cell
  std::optional<std::chrono::nanoseconds> duration;      // rate: the measured phase per cell
  unsigned repetitions = 3;
  // --precision: keep adding interleaved repetitions of the cells whose 95% interval is wider
  // than this fraction of their median, up to max_repetitions.
  std::optional<double> precision;
  unsigned max_repetitions = 10;
  std::string filter;      // --filter REGEX: run only the cells whose name matches; "-REGEX": not
  bool dry_run = false;    // --dry-run: list the cells and an estimate of the time, run nothing
  std::string export_hdr;  // --export-hdr DIR: the round trips in HdrHistogram's log format
  std::string label;       // --label NAME: the rows' label
  std::vector<std::pair<std::string, std::string>> labels;  // --label KEY=VALUE
  std::vector<Touch> touches;                               // empty: each scenario's default
  std::vector<WaitChoice> waits = {WaitChoice::native()};   // --wait
  // --set: per transport, in the order its driver declares them (parse_settings()).
  std::vector<Setting> settings;
  std::chrono::microseconds spin{5};
  // --cpus: the CPU pairs (producer, consumer), each a dimension of the cells; the first is the
  // run's (its context, the clock skew). Empty: not pinned.
  std::vector<std::pair<int, int>> cpu_pairs;
  int cpu_producer = -1;  // the first pair
  int cpu_consumer = -1;
  std::chrono::milliseconds timeout{60000};  // per cell
  // --budget: seconds of measurement per cell and round at most; unset: effective_budget().
  std::optional<std::chrono::milliseconds> budget;
  bool quick = false;
  std::string out;
};

// Cells are measured for a time, not a count: without --iterations or --messages, a cell
// measures for kDefaultCellSeconds per round (--quick: kQuickCellSeconds), its default count
// only an upper bound; with a count given, for at most kDefaultBudgetS. A default warm-up
// (--warmup not given) stops after kDefaultWarmupSeconds.
inline constexpr double kDefaultCellSeconds = 0.2, kQuickCellSeconds = 0.05;
inline constexpr double kDefaultWarmupSeconds = 0.1;
// What a cell needs beyond its measured phase: its workers started and connected, its warm-up
// (a default one stops after kDefaultWarmupSeconds), its end (a middleware's set-up takes a
// second or two here).
inline constexpr double kTimeoutMarginS = 5;
inline constexpr double kDefaultTimeoutS = 60, kDefaultBudgetS = 10;

// One measurement: transport x scenario x size x wait x touch.
struct Cell {
  std::string transport;
  Scenario scenario = scenarios().front();
  std::size_t bytes = 64;
  WaitMode wait = WaitMode::block;
  bool native = false;  // `wait` is the transport's native mode
  Touch touch = Touch::full;
  std::uint64_t warmup = 0;
  // The warm-up's time bound (0: none): a default warm-up stops after this, one given does not.
  std::chrono::nanoseconds warmup_budget{0};
  std::uint64_t count = 0;
  std::chrono::nanoseconds budget{0};
  // rate: the offered rate (0 = max) and how long the measured phase lasts.
  double rate = 0;
  std::chrono::nanoseconds duration{0};
  unsigned subscribers = 1;         // fanout: the consumers
  int cpu_producer = -1;            // the CPUs (a pair of --cpus) its workers are pinned to;
  int cpu_consumer = -1;            // -1: the run's
  bool pair_in_name = false;        // the run has several pairs: the name says which
  std::vector<CellOption> options;  // the driver settings (--set) this cell runs with
  // "<scenario>/<transport>/<bytes>/<wait>/<touch>", the benchmark's name in the results, and
  // what the scenario's variant adds (ScenarioInfo::name_suffix: a rate cell "/<messages per
  // second>" or "/max", a fanout cell "/n<consumers>"). With settings, the transport part is
  // transport_label(): "throughput/pipe[buffer=1MiB]/1048576/block/full".
  std::string name() const;
  // What its workers run the scenario with.
  ScenarioConfig config() const;
  // Its consumers: `subscribers` where the scenario fans out, else 1.
  unsigned consumers() const;
};

// What the run asks of the scenarios' cells (--quick, the counts, rates, consumers, duration).
ScenarioOptions scenario_options_of(const RunOptions& options);

// The cells in run order. `skipped` gets one line per requested combination a transport cannot
// run (a wait mode it does not offer).
std::vector<Cell> expand_cells(const RunOptions& options, std::vector<std::string>& skipped);

// The seconds of measurement per cell and round: --budget, else as kDefaultCellSeconds says.
std::chrono::milliseconds effective_budget(const RunOptions& options);

// A cell's timeout must hold its measured phase (--budget; rate's --duration and warm-up) and
// kTimeoutMarginS more. A --timeout that was given and cannot is a usage error; the default one
// grows to fit, keeping its margin over the budget (60 s for 10 s), and the note saying so is
// returned.
std::expected<std::optional<std::string>, Usage> fit_timeout(RunOptions& options,
                                                             bool timeout_given);

// Keeps the cells whose name the filter matches (anywhere in the name, as Google Benchmark's
// --benchmark_filter), or with "-REGEX" those it does not.
std::vector<Cell> filter_cells(std::vector<Cell> cells, const std::string& filter);

}  // namespace ipcbench

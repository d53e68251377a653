// What `ipcbench run` is asked to do, the parsing and checking of each value (so that a bad one
// is named with what is allowed), and the matrix of cells it expands to.
#pragma once

#include <chrono>
#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <vector>

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
  std::vector<std::string> waits = {"native"};  // native, spin, block, adaptive (or all)
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

// Defaults (README documents them).
inline constexpr const char* kDefaultBaseline = "shm";  // the transport ratios are to
// The floor's cells and rows (harness/floor.hpp) go by this name: not a transport.
inline constexpr const char* kFloorTransport = "floor";
inline constexpr double kMinDurationS = 0.1, kMaxDurationS = 3600;
inline constexpr double kMaxRate = 10'000'000;  // messages/s
inline constexpr unsigned kMaxSubscribers = 64;
inline constexpr std::size_t kMaxMessageBytes = 64u << 20;

// The ranges of the numeric options (README and --help say the same).
inline constexpr std::uint64_t kMaxCount = 1'000'000'000;  // --iterations, --messages, --warmup
inline constexpr unsigned kMaxRepetitions = 1000;
inline constexpr unsigned kDefaultRepetitions = 5;                 // --quick: 1
inline constexpr unsigned kDefaultMaxRepetitions = 10;             // with --precision
inline constexpr double kMinPrecision = 0.001, kMaxPrecision = 1;  // 0.1% to 100%
inline constexpr double kMinTimeoutS = 1, kMaxTimeoutS = 86400;
inline constexpr double kMinBudgetS = 0.01, kMaxBudgetS = 86400;
inline constexpr double kDefaultTimeoutS = 60, kDefaultBudgetS = 10;
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
inline constexpr std::uint64_t kMaxSpinUs = 1'000'000;

// A whole number for option `flag`, from `lo` to `hi`: decimal digits only (no sign, no unit).
std::expected<std::uint64_t, Usage> parse_count(std::string_view flag, std::string_view text,
                                                std::uint64_t lo, std::uint64_t hi);
// A fraction given as a percentage ("5%") or a plain fraction ("0.05"), from `lo` to `hi`.
std::expected<double, Usage> parse_fraction(std::string_view flag, std::string_view text, double lo,
                                            double hi);
// A number of seconds for option `flag`, from `lo` to `hi` (decimal, fractions allowed).
std::expected<double, Usage> parse_seconds(std::string_view flag, std::string_view text, double lo,
                                           double hi);

// "64", "4KiB", "1MiB", "1GiB" (binary), "1KB", "1MB" (decimal), "100B".
std::expected<std::size_t, Usage> parse_size(std::string_view text);
// A comma-separated list of sizes or ranges: "A..B" doubles from A to B, "A..B:F" multiplies
// by F. Each size is at least kMinMessageBytes and at most kMaxMessageBytes.
std::expected<std::vector<std::size_t>, Usage> parse_sizes(std::string_view text);
// Comma-separated registry names, or "all" (every transport available here).
std::expected<std::vector<std::string>, Usage> parse_transports(std::string_view text);
std::expected<std::vector<Scenario>, Usage> parse_scenarios(std::string_view text);
std::expected<std::vector<Touch>, Usage> parse_touches(std::string_view text);
// "1,2,4": fanout's consumer counts, 1 to kMaxSubscribers.
std::expected<std::vector<unsigned>, Usage> parse_subscribers(std::string_view text);
// "1k,10k,100k,max": messages per second (k = 1000, M = 1000000), 1 to kMaxRate, or max (0).
std::expected<std::vector<double>, Usage> parse_rates(std::string_view text);
std::expected<std::vector<std::string>, Usage> parse_waits(std::string_view text);
// "A,B;C,D": pairs of CPUs this process may run on (producer, consumer), each a dimension of the
// cells; "A,A" puts both workers on one CPU.
std::expected<std::vector<std::pair<int, int>>, Usage> parse_cpus(std::string_view text);
std::string format_size(std::size_t bytes);  // "64", "1MiB": as parse_size reads it

// Each `--set <transport>.<name>=<value>[,<value>...]` (repeatable; values of one setting given
// twice add up), checked against what the transport's driver declares (TransportInfo::options):
// an unknown transport or setting, a transport the run does not measure (`transports`), and a
// value that is not a number or out of its range are usage errors naming it and what is allowed.
// Sizes take the units of --sizes. The result is in the order each driver declares its settings.
std::expected<std::vector<Setting>, Usage> parse_settings(
    const std::vector<std::string>& texts, const std::vector<std::string>& transports);
// A setting's value as --set takes it and a cell's name writes it: "64KiB" (a size), "10".
std::string format_option(OptionUnit unit, std::uint64_t value);

// One setting of a cell: a value of one of the run's Settings.
struct CellOption {
  std::string name;
  OptionUnit unit = OptionUnit::bytes;
  std::uint64_t value = 0;
};
// The transport and the cell's settings as a cell's name and the tables write them:
// "pipe[buffer=1MiB]", "tcp[sndbuf=64KiB;rcvbuf=1MiB]" (the driver's order, ';' between); the
// transport alone when there are none.
std::string transport_label(std::string_view transport, const std::vector<CellOption>& options);
std::vector<std::string> split(std::string_view text, char sep);

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

// --label NAME or KEY=VALUE into `options`: NAME, KEY and VALUE are each 1 to kMaxLabelBytes
// printable characters without '|' (they end up in tables, which a newline or a '|' would break).
inline constexpr std::size_t kMaxLabelBytes = 100;
std::expected<void, Usage> parse_label(std::string_view text, RunOptions& options);

// The seconds of measurement per cell and round: --budget, else as kDefaultCellSeconds says.
std::chrono::milliseconds effective_budget(const RunOptions& options);

// A cell's timeout must hold its measured phase (--budget; rate's --duration and warm-up) and
// kTimeoutMarginS more. A --timeout that was given and cannot is a usage error; the default one
// grows to fit, keeping its margin over the budget (60 s for 10 s), and the note saying so is
// returned.
std::expected<std::optional<std::string>, Usage> fit_timeout(RunOptions& options,
                                                             bool timeout_given);

// Checks a --filter: a regular expression (ECMAScript), "-" in front to exclude.
std::optional<Usage> check_filter(std::string_view filter);
// Keeps the cells whose name the filter matches (anywhere in the name, as Google Benchmark's
// --benchmark_filter), or with "-REGEX" those it does not.
std::vector<Cell> filter_cells(std::vector<Cell> cells, const std::string& filter);

}  // namespace ipcbench

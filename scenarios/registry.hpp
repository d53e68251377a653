// The scenarios' registry, as transports/registry.hpp is the transports': each scenario is one
// file in scenarios/ that defines its row, a ScenarioInfo (what it is; how its cells expand; what
// its workers run and record; the figures it reports, with their units and which way is better;
// its tables, summaries and comparison, as data), and registry.cpp lists the rows in the order
// `all` runs them and the tables print. The harness reads all it needs of a scenario from its row
// and names none: adding a scenario is its file, its line in registry.cpp, and its plot if it
// wants one (ARCHITECTURE.md, "Where each change goes").
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "scenarios/figures.hpp"
#include "scenarios/scenario.hpp"

namespace ipcbench {

// --- how its cells expand -------------------------------------------------------------------

// What a run was asked that a scenario's cells take their counts and variants from (the
// harness's RunOptions, as a scenario reads them).
struct ScenarioOptions {
  bool quick = false;
  std::optional<std::uint64_t> iterations;  // --iterations: round trips
  std::optional<std::uint64_t> messages;    // --messages
  std::optional<std::uint64_t> warmup;      // --warmup
  std::vector<double> rates;                // --rates: messages/s, 0 = max
  std::vector<unsigned> subscribers;        // --subscribers
  std::vector<unsigned> clients;            // --clients
  std::chrono::nanoseconds duration{0};     // --duration (or its default): a schedule's length
};

// One cell of a scenario at one size in one wait mode, before transports, settings and CPU
// pairs multiply it: its config and its consumers. `refused`, when not empty, says why it cannot
// run (the harness lists it with the cell's name, and runs the others).
struct Variant {
  ScenarioConfig config;
  unsigned subscribers = 1;
  std::string refused;
};

// --- what its workers run --------------------------------------------------------------------

// A scenario's side, in a worker: the producer with its endpoints (one, or one per consumer when
// a fan-out goes over point-to-point channels), a consumer with its one. `consumers`: N.
using RunSide = Result<void> (*)(Role role, std::span<Transport* const> channels,
                                 unsigned consumers, const ScenarioConfig& config,
                                 const Clock& clock, Measurement& out);
// The RunSide of a scenario whose producer and consumer each hold one channel (rate, overload).
using OneChannelSide = Result<void> (*)(Transport& t, const ScenarioConfig& config,
                                        const Clock& clock, Measurement& out);
template <OneChannelSide Producer, OneChannelSide Consumer>
Result<void> one_channel_side(Role role, std::span<Transport* const> channels, unsigned,
                              const ScenarioConfig& config, const Clock& clock, Measurement& out) {
  Transport& t = *channels.front();
  return role == Role::producer ? Producer(t, config, clock, out) : Consumer(t, config, clock, out);
}

// Which sides record which histograms (Measurement::latency, ::from_sent).
struct Records {
  bool producer_latency = false;    // the producer times each round trip
  bool consumer_latency = false;    // each consumer records each message's one-way time
  bool consumer_from_sent = false;  // ... and, apart, from its actual send time
  bool producer_idle = false;       // the producer also times round trips with nothing beside
                                    // them (loaded), in Measurement::from_sent
};

// --- the floor ---------------------------------------------------------------------------------

// What a scenario's table measures its floor with (harness/run/floor.hpp): one cache line's round
// trip between the two CPUs, one copy of the message by the producer's core, or no floor row.
enum class FloorRow : std::uint8_t { none, line, copy };
// How a figure is set against the floor its cell's workers measured: a time over the line's round
// trip, over its one way (half of it), or the copy's rate over a rate (all: how many times the
// floor's cost).
enum class OverFloor : std::uint8_t { round_trip, one_way, copy };

// --- its tables, as data -----------------------------------------------------------------------

// How a column's number is written (each report format has its own way: harness/reporters).
enum class Format : std::uint8_t {
  ns,          // a time
  rate,        // per second
  gb,          // bytes/s as GB/s
  bytes_rate,  // bytes/s in the unit that suits it
  count,       // a count per iteration, two decimals
  whole,       // a whole number
  percent,     // a fraction as a whole percentage
  bytes,       // an amount of memory
};
// Where a column's figure comes from: one of the scenario's figures, or what every cell has.
enum class Source : std::uint8_t {
  figure,    // Column::figure
  cpu_time,  // both workers' CPU time per iteration
  lost,      // messages a datagram transport detected lost
  switches,  // both workers' context switches per iteration ("-" when not recorded)
  // Memory (CellResult::Memory; a column of them is shown only when a row of its table has it):
  peak_rss,    // the larger of the two workers' peak resident sets (fanout: of any consumer)
  shared,      // the larger of the two sides' mapped shared memory
  daemon_rss,  // the transport's daemon's resident memory
};
enum class Show : std::uint8_t {
  interval,     // the median over rounds with its 95% interval
  median,       // the median alone
  vs_baseline,  // a ratio: against the baseline transport's same figure, paired round by round
  over_floor,   // a ratio: against the floor the cell's own workers measured (Column::floor)
};
// What a column notes about a row, and the reporters explain under the tables.
enum class Mark : std::uint8_t {
  none,
  wide,           // the row's interval is wider than the target: flagged "(!)"
  thin,           // missing when a round measured too few samples for it (p99.9)
  not_sustained,  // "(not sustained)" when a round's `sustained` figure is 0
  skew,           // "(skew)" when the clocks' skew is as large as the figure
};
struct Column {
  std::string_view header = {};
  std::string_view unit = {};  // the unit a CSV header names; "" for none (a count, a ratio)
  Show show = Show::median;
  Format format = Format::ns;
  Source source = Source::figure;
  std::string_view figure = {};
  Mark mark = Mark::none;
  OverFloor floor = OverFloor::round_trip;
  // The figure a mark reads: not_sustained, a flag each round has; skew, a count of messages that
  // arrived "before" they were sent.
  std::string_view flag = {};
};
// The columns that say which cell a row is, before its figures.
enum class Key : std::uint8_t {
  transport,  // with its settings and what was granted for them
  wait,
  touch,
  size,
  offered,    // the offered rate (from the cell's name: a failed cell has no figures)
  consumers,  // N
  delivery,   // native (one publish reaches all) or N copies
};
struct Table {
  std::string_view heading = {};  // "### <scenario>, <size> messages: <heading>"
  std::span<const Key> keys = {};
  std::size_t text_keys = 0;  // the first keys are text (left-aligned); the rest numbers
  std::span<const Column> columns = {};
  std::string_view order_by = {};    // the figure a size's rows go by, the best first
  std::optional<Key> first_by = {};  // ... after this key, where the table groups by it
  // What the columns mean, after the tables; "{baseline}" stands for the baseline's name.
  std::string_view note = {};
};

// A figure of the JSON summary a cell gets (Google Benchmark's "aggregate" entry).
enum class Summarize : std::uint8_t {
  interval,  // its median and "<key>_ci95"
  median,    // its median
  all,       // a flag: true when every round's is
  first,     // a flag as its words, from the first good round
};
struct SummaryField {
  std::string_view figure = {};
  Summarize how = Summarize::median;
};
// A ratio to the floor in the summary: "<key>": the figure over the floor, with "<key>_ci95".
struct SummaryRatio {
  std::string_view key = {};
  std::string_view figure = {};
  OverFloor floor = OverFloor::round_trip;
};

// How `compare` writes a key figure.
enum class CompareFormat : std::uint8_t { time, gb_per_s, per_s };

// How `--dry-run` estimates a cell's time: per operation as a round trip or a message of its size
// (learned from earlier results of the same kind), or by the schedule's length.
enum class TimeKind : std::uint8_t { round_trips, messages, schedule };

// --- the row -----------------------------------------------------------------------------------

struct ScenarioInfo {
  std::string_view name = {};
  std::string_view description = {};  // one line: --help, README
  bool by_default = false;            // `run` measures it without --scenarios
  // How its cells expand.
  std::span<const std::size_t> default_sizes = {};
  std::span<const Touch> default_touches = {};
  // The cell's count and warm-up at a size, from what the run was asked.
  void (*defaults)(const ScenarioOptions& options, std::size_t bytes,
                   ScenarioConfig& config) = nullptr;
  // Its variants at a size and wait mode (rates, consumer counts); nullptr: the one cell. `cpus`:
  // the CPUs the run may use.
  std::vector<Variant> (*variants)(const ScenarioOptions& options, const Variant& base,
                                   WaitMode wait, std::size_t cpus) = nullptr;
  // What a variant adds to the cell's name ("/1000", "/n4"); nullptr: nothing.
  std::string (*name_suffix)(const Variant& variant) = nullptr;
  bool stamped = false;  // its messages carry two clock stamps: kStampedMinBytes or more
  bool stream = false;   // a stream: its budget may stop it early, and every consumer's count is
                         // checked against the producer's
  bool on_schedule = false;  // measured for a --duration on a schedule, not for --budget
  // An on_schedule scenario's longest measured phase with its warm-up, in seconds: what a cell's
  // timeout must hold.
  double (*longest_phase_s)(const ScenarioOptions& options) = nullptr;
  bool timed_warmup = true;  // a default warm-up stops after kDefaultWarmupSeconds
  bool fan_out = false;      // one producer, `subscribers` consumers
  // ... each of which talks to the producer alone (request-response): the producer gets one
  // point-to-point channel per consumer, whether or not the transport multicasts, unless the
  // transport serves many natively (Capabilities::fan_in).
  bool fan_in = false;
  // Why this scenario's cell of `consumers` in `wait` cannot run over a transport that can do
  // `caps`, or "" when it can; nullptr: every transport runs every cell.
  std::string (*refuse)(const Capabilities& caps, unsigned consumers, WaitMode wait) = nullptr;
  // A second channel between the same two workers carries a stream of messages this large beside
  // the first (loaded: a bulk stream under the round trips); 0: one channel.
  std::size_t load_bytes = 0;
  // What its workers run and record.
  RunSide run = nullptr;
  Records records = {};
  // The floor: the row its tables start with, and whether the cell's producer also times one copy
  // of its message (the copy floor its rates are set against).
  FloorRow floor_row = FloorRow::none;
  bool copy_floor = false;
  // Its figures, and how a cell's are made from what its workers reported.
  std::span<const FigureSpec> figures = {};
  CellOutcome (*outcome)(const CellInputs& inputs) = nullptr;
  // The figure that stands for a cell: what --precision and `compare` go by.
  std::string_view key_figure = {};
  // The figure ratios to the baseline transport are of ("" : none), and the summary's key for
  // that ratio.
  std::string_view baseline_figure = {};
  std::string_view baseline_key = {};
  // How its figures are shown.
  Table table = {};
  std::span<const SummaryField> summary = {};
  std::span<const SummaryRatio> summary_ratios = {};
  // `compare`: its section's heading, how it writes the key figure, where it sits among the
  // sections (lowest first), and the figure its "x floor" is of.
  std::string_view compare_heading = {};
  CompareFormat compare_format = CompareFormat::time;
  int compare_rank = 0;
  std::string_view compare_floor_figure = {};
  OverFloor compare_floor = OverFloor::round_trip;
  TimeKind time_kind = TimeKind::round_trips;

  const FigureSpec* figure(std::string_view key) const;
  // Does the producer of a cell of this scenario over a transport with `caps` hold one endpoint
  // serving every consumer (a multicast transport's fan-out), rather than one per consumer?
  // (For a fan-in scenario: a transport that answers many clients natively, Capabilities::fan_in.)
  bool one_endpoint_for_all(const Capabilities& caps) const {
    return fan_out && (fan_in ? caps.fan_in : caps.multicast);
  }
  // The channels between its producer and each consumer: 2 with a load beside, else 1.
  unsigned channels_per_pair() const { return load_bytes > 0 ? 2 : 1; }
  // The channels its producer holds in a cell of `consumers` over a transport with `caps`: two
  // where a load runs beside, one per consumer where a fan-out goes over point-to-point channels,
  // else one. Beyond one, channel k has a token and a directory of its own
  // (harness/run/worker.hpp).
  unsigned producer_channels(const Capabilities& caps, unsigned consumers) const {
    if (channels_per_pair() > 1) return channels_per_pair();
    return fan_out && !one_endpoint_for_all(caps) ? consumers : 1;
  }
  // Is `key`'s figure lower-is-better?
  bool lower_is_better(std::string_view key) const;
};

// Every scenario, in the order `all` runs them and the reporters print them.
std::span<const ScenarioInfo* const> scenarios();
// By name; nullptr when there is none.
const ScenarioInfo* find_scenario(std::string_view name);
// "pingpong, throughput, rate, fanout": the names, for messages and --help; `last` goes before
// the last one (", " or " or ").
std::string scenario_names(std::string_view last = ", ");

}  // namespace ipcbench

// The results file: Google Benchmark's JSON schema, extended (README "Results JSON" documents
// every field). Measuring and reporting are separate: the conductor makes a CellResult of each
// cell it runs, `report` reads CellResults from files, and the reporters (reporters.hpp) render
// either, so `run` and `report` print the same tables.
#pragma once

#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/histogram.hpp"
#include "base/timeline.hpp"
#include "scenarios/figures.hpp"
#include "scenarios/registry.hpp"
#include "transports/transport.hpp"

namespace ipcbench {

// The files' schema: 2 added context switches per worker, each repetition's latency histogram and
// a summary per cell; 3 the floor (cells of transport "floor", each cell's floor_* fields), rounds
// per table, each cell's CPU pair. report and compare read 1 to 3.
inline constexpr int kJsonSchemaVersion = 3;

// The transport the ratio columns and the summaries' ratios are to unless --baseline names
// another (README documents it).
inline constexpr const char* kDefaultBaseline = "shm";
// The floor's cells and rows (run/floor.hpp) go by this name: not a transport.
inline constexpr const char* kFloorTransport = "floor";

// The fields of an entry that hold its variant (CellResult::offered_rate, consumers).
inline constexpr const char* kOfferedRateField = "offered_rate";
inline constexpr const char* kConsumersField = "subscribers";

// "64", "1MiB": a size as --sizes reads it.
std::string format_size(std::size_t bytes);
// A setting's value as --set takes it and a cell's name writes it: "64KiB" (a size), "10".
std::string format_option(OptionUnit unit, std::uint64_t value);

// LatencyHistogram (base/histogram.hpp) as a results file and a worker's report write it.
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(LatencyHistogram, buckets, sum, min, max)

// A cell's latency per window of time (base/timeline.hpp; pingpong: its round trips by when they
// ended), as a results file and a worker's report write it: {"window_ns": W, "windows":
// [[start_ns, count, p50_ns, p99_ns, max_ns], ...]}.
struct LatencyOverTime {
  std::uint64_t window_ns = 0;
  std::vector<LatencyTimeline::Window> windows;
};
void to_json(nlohmann::json& j, const LatencyOverTime& t);
// Throws nlohmann::json::exception on a field of the wrong shape.
void from_json(const nlohmann::json& j, LatencyOverTime& t);

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

// A driver setting (--set) of a cell: what was asked, and what the kernel granted (it may round,
// double or clamp; nothing when the cell failed before its workers could read it back).
struct OptionRecord {
  std::string name;
  OptionUnit unit = OptionUnit::bytes;
  std::uint64_t asked = 0;
  std::optional<std::uint64_t> effective;
};

// One entry of `benchmarks`: one repetition of one cell.
struct CellResult {
  // The cell. `wait` and `touch` stay text: a file may name a mode this build does not know, and
  // the tables show it as written.
  std::string name;  // "<scenario>/<transport>/<bytes>/<wait>/<touch>", also the run_name
  Scenario scenario = scenarios().front();
  std::string transport;
  std::size_t payload_bytes = 0;
  std::string wait;
  bool wait_is_native = false;
  std::string touch;
  std::uint64_t warmup = 0;
  std::uint64_t requested = 0;  // round trips or messages asked for
  // The scenario's variant, where it has one (the name's suffix writes it too): the offered rate
  // of a scenario on a schedule (messages/s; 0: as fast as it can), the consumers of one that
  // fans out. Fields kOfferedRateField and kConsumersField of the entry.
  std::optional<double> offered_rate;
  std::optional<unsigned> consumers;
  // The driver settings (--set) the cell ran with, in the driver's order; empty: none, the
  // transport as it comes.
  std::vector<OptionRecord> options;
  // Google Benchmark's: the repetition, and per iteration (ns) the time and both workers' CPU.
  int family_index = 0;
  unsigned repetitions = 1;
  unsigned repetition_index = 0;
  double iterations = 0;
  double real_time = 0;
  double cpu_time = 0;
  // Both workers.
  double cell_seconds = 0;
  double producer_cpu_ns = 0;  // over the measured phase
  double consumer_cpu_ns = 0;
  double producer_process_cpu_ns = 0;  // the whole process
  double consumer_process_cpu_ns = 0;
  double delivered = 0;  // messages the consumer checked
  double lost = 0;       // messages a datagram transport detected lost
  // Each worker's context switches over its measured phase (voluntary: it slept waiting;
  // involuntary: the scheduler took its CPU); not in files of schema 1.
  struct Switches {
    double producer_voluntary = 0, producer_involuntary = 0;
    double consumer_voluntary = 0, consumer_involuntary = 0;
  };
  std::optional<Switches> switches;
  // The latency histogram the scenario keeps (pingpong: every round trip of this repetition, so
  // that repetitions and files merge exactly; rate: receive - intended send; fanout: every
  // consumer's one-way times), and rate's receive - actual send.
  std::optional<LatencyHistogram> latency_histogram;
  std::optional<LatencyHistogram> latency_histogram_sent;
  // The latency per window of time over the measured phase (pingpong), where it was recorded.
  std::optional<LatencyOverTime> latency_over_time;
  // The figures of the cell's scenario (its FigureSpecs, by key), set exactly when the cell
  // succeeded; and the latency spectrum, (percentile, ns) from 0 to 100, where it keeps one.
  Figures figures;
  std::vector<std::pair<double, double>> latency_percentiles;
  std::optional<std::string> error;  // why the cell failed
  // The CPUs its producer and consumer were pinned to (schema 3; -1: not pinned or not known).
  int cpu_producer = -1, cpu_consumer = -1;
  // The floor its own two workers measured just before the scenario (harness/run/floor.hpp; schema
  // 3): one cache line's round trip, p50 (ns), and one copy of its message by the producer's
  // core (bytes/s, throughput and fanout). What its "x floor" figures divide by.
  std::optional<double> floor_rtt_ns;
  std::optional<double> floor_copy_bytes_per_second;
  // What the cell's processes held (absent in older files, and for the floor): each worker's peak
  // resident set (the consumers' largest), the shared memory each side's channels mapped
  // (segments, queues, pools; a kernel mechanism's buffers are the kernel's and not counted), and
  // the transport's daemon's resident memory after the cell. Bytes.
  struct Memory {
    std::optional<double> producer_peak_rss, consumer_peak_rss;
    std::optional<double> producer_shared, consumer_shared;
    std::optional<double> daemon_rss;
  };
  Memory memory;

  bool ok() const { return !error; }
  // The figure `key` of a successful repetition (0 when it has none).
  double figure(std::string_view key) const { return figures[key]; }
};
// Writes the entry as the results file holds it.
void to_json(nlohmann::json& j, const CellResult& result);
// Takes each field that is there and of its type, and leaves the rest at its default:
// load_results() has refused a file whose fields the tables read are missing or mistyped.
void from_json(const nlohmann::json& j, CellResult& result);

// A results file: where it was measured, and what. A file also holds one summary per cell
// (Google Benchmark's run_type "aggregate", written by JsonReporter); they are derived from the
// repetitions, so reading a file skips them and the reporters compute them afresh.
struct ResultsDocument {
  nlohmann::json context;  // the machine and the build (environment.hpp's make_context)
  std::vector<CellResult> benchmarks;
};
void to_json(nlohmann::json& j, const ResultsDocument& document);
void from_json(const nlohmann::json& j, ResultsDocument& document);

// The cell's transport and the settings it asked for, as its name writes them (the name's second
// part): "pipe", "pipe[buffer=1MiB]". Rows of one key are one configuration of one transport.
std::string transport_key(const CellResult& result);
// ... as the tables show it: each setting the kernel granted differently is followed by what it
// granted, "tcp[sndbuf=64KiB→128KiB]".
std::string transport_label(const CellResult& result);

// A successful repetition's `figure` against the floor its own workers measured, as the two sides
// of a cost ratio (how many times the floor it costs): a time over the cache line's round trip
// (OverFloor::one_way: over half of it), or the copy's rate over a rate. Nothing when the
// repetition has no such floor. The tables pair these round by round; `compare` divides them.
std::optional<std::pair<double, double>> over_floor(const CellResult& e, std::string_view figure,
                                                    OverFloor how);

// Context switches per iteration, both workers (voluntary + involuntary); 0 when not recorded.
double switches_per_iteration(const CellResult& result);

// Reads an ipcbench results file and checks every field the tables use, so that a foreign or
// damaged file is an error naming the file, the entry and the field, never a crash or silence.
std::expected<ResultsDocument, std::string> load_results(const std::string& path);

}  // namespace ipcbench

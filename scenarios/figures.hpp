// What a scenario makes of a cell: its figures (declared by the scenario, FigureSpec), made from
// what each of the cell's workers measured (SideReport). The harness carries a SideReport from the
// worker's process to the conductor and keeps the figures in the results file, by their keys.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/histogram.hpp"
#include "scenarios/scenario.hpp"

namespace ipcbench {

enum class Better : std::uint8_t { lower, higher };

// How a figure is written in a results file.
enum class FigureForm : std::uint8_t {
  number,  // a number
  whole,   // a histogram's figure: a whole number of nanoseconds, written as one
  flag,    // true or false (kept as 1 or 0)
  words,   // a flag written as one of two words (FigureSpec::no, ::yes)
};

// One figure a scenario reports: its key is its field in the results file and its name
// everywhere else (tables, summaries, compare).
struct FigureSpec {
  std::string_view key;
  std::string_view label;  // what it is, for a person: "RTT p50"
  std::string_view unit;   // "ns", "1/s", "B/s", "" (a count, a flag, a fraction)
  Better better = Better::lower;
  FigureForm form = FigureForm::number;
  double fallback = 0;                 // its value where a file does not have it
  std::string_view no = {}, yes = {};  // FigureForm::words
};

// A cell's figures, by key, in the order its scenario declares them.
class Figures {
 public:
  // The figure's value; 0 when the cell has none of that key.
  double operator[](std::string_view key) const {
    for (const auto& [k, v] : m_values) {
      if (k == key) return v;
    }
    return 0;
  }
  bool has(std::string_view key) const {
    for (const auto& [k, v] : m_values) {
      if (k == key) return true;
    }
    return false;
  }
  void set(std::string_view key, double value) {
    for (auto& [k, v] : m_values) {
      if (k == key) {
        v = value;
        return;
      }
    }
    m_values.emplace_back(std::string(key), value);
  }
  const std::vector<std::pair<std::string, double>>& items() const { return m_values; }
  bool empty() const { return m_values.empty(); }

 private:
  std::vector<std::pair<std::string, double>> m_values;
};

// What one worker measured, as the conductor got it (harness/run/worker_report.hpp adds what went
// wrong and the floor). A worker that did not report counts as one that measured nothing.
struct SideReport {
  std::uint64_t count = 0;    // round trips or messages measured, every one checked
  std::int64_t start_ns = 0;  // the measured phase, on the clock both workers share
  std::int64_t end_ns = 0;
  std::uint64_t cpu_ns = 0;              // this process's CPU time over the measured phase
  std::uint64_t voluntary_switches = 0;  // ... and its context switches (base/clock.hpp)
  std::uint64_t involuntary_switches = 0;
  std::uint64_t messages_lost = 0;               // TransportStats::messages_lost
  std::optional<LatencyHistogram> latency;       // Records: the producer's round trips, or a
                                                 // consumer's one-way times (from intended send)
  std::optional<LatencyHistogram> latency_sent;  // a consumer's, from the actual send
  std::uint64_t behind = 0;  // a scheduled producer: messages behind schedule at its last send
  std::uint64_t early = 0;   // a consumer: messages that arrived "before" they were sent
  // overload: a consumer's messages missing from the sequence it received, and those it received
  // more than 1 ms after their intended send time; the producer's time inside send().
  std::uint64_t lost = 0;
  std::uint64_t late = 0;
  std::uint64_t blocked_ns = 0;
};

// What a scenario's outcome() gets: the cell and what each of its workers reported.
struct CellInputs {
  const ScenarioConfig& config;
  unsigned subscribers = 1;
  bool multicast = false;  // one publish reaches every consumer (a fan-out's native delivery)
  const SideReport& producer;
  std::span<const SideReport> consumers;  // at least one
};

// What a scenario makes of a successful cell: Google Benchmark's per-iteration figures, what the
// results file keeps of the histograms, and its own figures.
struct CellOutcome {
  double iterations = 0;
  double real_time = 0;                   // ns per iteration
  double cpu_time = 0;                    // both (all) workers' CPU ns per iteration
  std::optional<double> delivered;        // messages every consumer checked (default: the
                                          // first consumer's count)
  std::optional<double> consumer_cpu_ns;  // all consumers' (default: the first's)
  std::optional<LatencyHistogram> latency_histogram;
  std::optional<LatencyHistogram> latency_histogram_sent;
  // (percentile, ns) from 0 to 100, for the latency-distribution plot.
  std::vector<std::pair<double, double>> latency_percentiles;
  Figures figures;
};

}  // namespace ipcbench

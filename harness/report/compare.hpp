// `ipcbench compare BASE NEW`: cell by cell, is NEW faster, slower, or not distinguishable from
// BASE? Each cell's key figure (pingpong: p50 RTT; throughput: bytes/s) over its repetitions in
// each file; NEW/BASE is the ratio of their medians with its 95% interval
// (harness/results/statistics.hpp); That interval knows only the variation between the repetitions
// of one run; two separate runs of the same cells drift further apart than that (up to 8% here;
// bench/run_drift.sh measures it). So the verdict says "faster" or "slower" only when the whole
// interval lies beyond the noise band, 1 ± noise: a change the repetitions show (the interval
// excludes 1) but that drift could explain is "within drift", and --fail-above does not count it.
// Better still, several runs a side (below) measure that drift. The files' contexts are compared
// too: a difference of CPU, kernel, build or commit is printed first, since it may be the reason.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "harness/results/results.hpp"
#include "harness/results/statistics.hpp"

namespace ipcbench {

struct CompareOptions {
  static constexpr double kDefaultCompareNoise = 0.10;
  std::optional<double> fail_above;  // exit 1 when a cell got slower by more than this fraction
  // The run-to-run drift a change must exceed: NEW/BASE's interval must lie wholly outside
  // [1 / (1 + noise), 1 + noise]. 0: the repetitions' interval alone decides.
  double noise = kDefaultCompareNoise;
};

struct Comparison {
  std::string text;         // the tables, in Markdown
  bool regression = false;  // a cell got slower by more than fail_above
};

// A cell's key figure in one file: every successful repetition's, and how many failed; and the
// same over the floor the repetition's own workers measured (schema 3), as a cost: its x floor.
struct KeyFigures {
  const CellResult* first = nullptr;
  std::vector<double> values;
  std::vector<double> x_floor;
  std::size_t failed = 0;
};
// Every cell's key figures in one file, by name; `order`: the names as they first appear.
std::map<std::string, KeyFigures> key_figures(const ResultsDocument& document,
                                              std::vector<std::string>& order);

// Two runs whose CPU pairs exchange a cache line this many times slower or faster ran on
// differently placed CPUs (here: about 150 ns against 410 ns, as the host moves the vCPUs).
inline constexpr double kPairMovedRatio = 1.5;
// The shortest round trip of the clock-skew exchange between the two workers' CPUs; 0 if the
// file has none.
double pair_round_trip_ns(const nlohmann::json& context);
// Were the runs of these pair round trips (pair_round_trip_ns; 0: not known, left out) made on
// differently placed CPUs: is the largest over kPairMovedRatio times the smallest?
bool pair_moved(const std::vector<double>& round_trips_ns);

// What a change of a cell's key figure from BASE to NEW is.
enum class Change : std::uint8_t {
  cannot_tell,  // one repetition (or one run) a side: no interval
  same,         // NEW/BASE's interval holds 1
  drift,        // it excludes 1 but not the noise band: separate runs drift that much
  faster,
  slower,
};
struct Verdict {
  Estimate raw;           // NEW/BASE of the figure
  Estimate over_floor;    // NEW/BASE of the figure over each repetition's floor (none: median 0)
  bool by_floor = false;  // the floors decided (the CPU pairs moved between the runs)
  Change change = Change::cannot_tell;
  double by = 0;  // how much slower or faster, as a fraction (faster, slower)
};
// The verdict `compare` gives a cell with figures `base` and `next` (both with values): by the
// figures over their floors where `moved` (pair_moved()) and both have them, else by the figures.
Verdict judge(const KeyFigures& base, const KeyFigures& next, bool moved, double noise);

// One file a side: each cell's repetitions are the samples. Several runs a side (each a separate
// `ipcbench run`, made at different times): a cell's figure in each file is the median of that
// file's repetitions, and the interval of NEW/BASE is over the runs, so it holds the drift
// between runs instead of assuming it (the noise band still applies).
Comparison compare(const std::vector<ResultsDocument>& base,
                   const std::vector<ResultsDocument>& next, const CompareOptions& options);

}  // namespace ipcbench

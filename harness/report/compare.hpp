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

#include <optional>
#include <string>
#include <vector>

#include "harness/results/results.hpp"

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

// One file a side: each cell's repetitions are the samples. Several runs a side (each a separate
// `ipcbench run`, made at different times): a cell's figure in each file is the median of that
// file's repetitions, and the interval of NEW/BASE is over the runs, so it holds the drift
// between runs instead of assuming it (the noise band still applies).
Comparison compare(const std::vector<ResultsDocument>& base,
                   const std::vector<ResultsDocument>& next, const CompareOptions& options);

}  // namespace ipcbench

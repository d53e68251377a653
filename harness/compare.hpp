// `ipcbench compare BASE NEW`: cell by cell, is NEW faster, slower, or not distinguishable from
// BASE? Each cell's key figure (pingpong: p50 RTT; throughput: bytes/s) over its repetitions in
// each file; NEW/BASE is the ratio of their medians with its 95% interval (harness/statistics.hpp);
// the verdict says "faster" or "slower" only when the interval excludes 1. The files' contexts
// are compared too: a difference of CPU, kernel, build or commit is printed first, since it may
// be the reason.
#pragma once

#include <optional>
#include <string>

#include "harness/results.hpp"

namespace ipcbench {

struct CompareOptions {
  std::optional<double> fail_above;  // exit 1 when a cell got slower by more than this fraction
};

struct Comparison {
  std::string text;         // the tables, in Markdown
  bool regression = false;  // a cell got slower by more than fail_above
};

Comparison compare(const ResultsDocument& base, const ResultsDocument& next,
                   const CompareOptions& options);

}  // namespace ipcbench

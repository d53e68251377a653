// How far apart two CPUs read the clock both workers share (base/clock.hpp): the rate scenario's
// one-way times subtract a reading taken on one CPU from one taken on the other, so a skew
// between them is an error in every such time.
//
// Two threads, pinned to the two CPUs, exchange timestamps through one cache line, Cristian's
// way: A reads t0 and asks; B answers with its reading tb; A reads t2. If the two clocks agree,
// tb lies in [t0, t2]; the skew estimate is tb - (t0 + t2) / 2, uncertain by (t2 - t0) / 2. Of
// many exchanges the one with the shortest round trip is kept, both ways round, and the two
// estimates averaged (what one direction's asymmetry adds, the other subtracts).
#pragma once

#include <optional>

#include "base/clock.hpp"

namespace ipcbench {

struct ClockSkew {
  double skew_ns = 0;         // CPU b's reading minus CPU a's at the same moment
  double uncertainty_ns = 0;  // half the shortest round trip between the two
  int samples = 0;
};

// Nothing when the two CPUs cannot be pinned (or are the same).
std::optional<ClockSkew> measure_clock_skew(const Clock& clock, int cpu_a, int cpu_b,
                                            int samples = 2000);

}  // namespace ipcbench

// What the repetitions of a cell say, with their uncertainty.
//
// The unit is the repetition: one whole run of a cell. On a shared or virtual machine the
// figures of two runs of the same cell differ far more (20% and more here) than the round trips
// within one run do, so an interval over the round trips of one run would be narrow and wrong.
// Within a run, every round trip is in the histogram, and its percentiles are exact to the
// bucket; across runs, a figure (a p50, a rate) is a sample of one.
//
// - The point estimate is the median over repetitions.
// - Its 95% interval: with 6 or more repetitions, the distribution-free interval of the median
//   from order statistics (no assumption about the shape); with 2 to 5, a t-interval of the
//   logarithms (a figure that is a time or a rate is positive and skewed; on the log scale its
//   spread is about symmetric), which assumes the repetitions scatter log-normally. With one
//   repetition there is no interval.
// - A ratio of two cells measured in the same rounds (a row against its table's baseline, a
//   figure against the floor) is paired: one ratio per round, and the estimate of those. A ratio
//   of cells that cannot be paired (NEW against BASE, two runs) is the ratio of their medians,
//   with Welch's t-interval of the difference of their mean logarithms, turned back into a
//   ratio. An interval that contains 1 means the two are not distinguishable.
#pragma once

#include <cstddef>
#include <optional>
#include <utility>
#include <vector>

namespace ipcbench {

struct Estimate {
  double median = 0;
  std::size_t n = 0;
  std::optional<double> low;  // the 95% interval; none with fewer than two repetitions
  std::optional<double> high;

  bool has_interval() const { return low.has_value(); }
  // The interval's larger half-width as a fraction of the median (0.05 = ±5%).
  double relative_half_width() const;
  // Does the interval contain `value`? False without an interval.
  bool contains(double value) const { return low && *low <= value && value <= *high; }
};

// The median of positive samples and its 95% interval. Samples that are not positive are left
// out (a figure of 0 is "not measured").
Estimate estimate(std::vector<double> samples);

// The ratio a / b of two cells' figures: median(a) / median(b), with its 95% interval.
Estimate ratio(const std::vector<double>& a, const std::vector<double>& b);

// A ratio paired in time: the pairs (a, b) were measured close together (one round each, a
// cell and the baseline of its table, or a figure and the floor its own workers measured), so
// the machine's drift between rounds cancels. The estimate of the per-pair ratios a / b: their
// median and its 95% interval as estimate() makes it. Pairs with a side that is not positive are
// left out.
Estimate paired_ratio(const std::vector<std::pair<double, double>>& pairs);

// The two-sided 97.5% quantile of Student's t with `df` degrees of freedom (df >= 1).
double t_quantile_975(double df);

}  // namespace ipcbench

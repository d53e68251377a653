#include "base/histogram.hpp"
#include "base/timeline.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

namespace ipcbench {
namespace {

// The percentile of a sorted array by the same definition: the smallest value with at least
// p% of the values at or below it.
std::uint64_t exact(const std::vector<std::uint64_t>& sorted, double p) {
  if (p <= 0) return sorted.front();
  auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
  rank = std::clamp<std::size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

void expect_within_one_percent(const std::vector<std::uint64_t>& values) {
  Histogram h;
  for (auto v : values)
    h.record(v);
  auto sorted = values;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(h.count(), values.size());
  EXPECT_EQ(h.min(), sorted.front());
  EXPECT_EQ(h.max(), sorted.back());
  for (double p : {0.0, 1.0, 10.0, 25.0, 50.0, 75.0, 90.0, 99.0, 99.9, 99.99, 100.0}) {
    double want = static_cast<double>(exact(sorted, p));
    double got = static_cast<double>(h.percentile(p));
    EXPECT_LE(std::abs(got - want), 0.01 * want) << "p" << p << ": " << got << " vs " << want;
  }
}

TEST(Histogram, PercentilesWithinOnePercentOfSortedArray_LogNormal) {
  std::mt19937_64 rng(42);
  std::lognormal_distribution<double> latency(std::log(50'000.0), 0.6);
  std::vector<std::uint64_t> values;
  for (int i = 0; i < 200'000; ++i)
    values.push_back(static_cast<std::uint64_t>(latency(rng)) + 1);
  expect_within_one_percent(values);
}

TEST(Histogram, PercentilesWithinOnePercentOfSortedArray_WideRange) {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> exponent(0, 40);  // 1 ns .. ~18 minutes
  std::vector<std::uint64_t> values;
  for (int i = 0; i < 100'000; ++i) {
    values.push_back(static_cast<std::uint64_t>(std::exp2(exponent(rng))));
  }
  expect_within_one_percent(values);
}

TEST(Histogram, SmallValuesAreExact) {
  Histogram h;
  for (std::uint64_t v = 0; v < 128; ++v)
    h.record(v);
  EXPECT_EQ(h.percentile(50), 63u);
  EXPECT_EQ(h.percentile(100), 127u);
}

TEST(Histogram, EveryValueFallsInItsBucket) {
  std::mt19937_64 rng(1);
  for (int i = 0; i < 100'000; ++i) {
    std::uint64_t v = rng() >> (rng() % 64);
    std::size_t b = Histogram::index(v);
    ASSERT_LT(b, Histogram::kBuckets);
    ASSERT_LE(Histogram::bucket_low(b), v);
    ASSERT_LE(v - Histogram::bucket_low(b), Histogram::bucket_width(b) - 1);
    // Relative width of a bucket: at most 1/64, so its midpoint is within 1/128.
    if (v >= 128) {
      ASSERT_LE(Histogram::bucket_width(b) * 64, Histogram::bucket_low(b));
    }
  }
}

TEST(Histogram, SparseRoundTripAndMerge) {
  Histogram a, b;
  for (std::uint64_t v = 1; v < 10'000; v += 7)
    a.record(v);
  for (std::uint64_t v = 5; v < 90'000; v += 13)
    b.record(v);
  Histogram copy;
  ASSERT_TRUE(copy.assign(a.sparse(), a.sum(), a.min(), a.max()));
  EXPECT_EQ(copy.percentile(50), a.percentile(50));
  EXPECT_EQ(copy.count(), a.count());
  a.merge(b);
  EXPECT_EQ(a.count(), copy.count() + b.count());
  EXPECT_EQ(a.max(), b.max());
  EXPECT_FALSE(copy.assign({{Histogram::kBuckets, 1}}, 0, 0, 0));
}

TEST(Histogram, EmptyIsZero) {
  Histogram h;
  EXPECT_EQ(h.percentile(50), 0u);
  EXPECT_EQ(h.min(), 0u);
  EXPECT_EQ(h.mean(), 0.0);
}

// Samples land in the window of when they were taken; an empty window (a stall longer than a
// window) is not written; finish() closes the last one.
TEST(LatencyTimeline, WindowsHoldTheirSamplesPercentiles) {
  LatencyTimeline t(10'000'000);
  for (std::uint64_t v = 1; v <= 100; ++v)
    t.record(v * 1000, v);            // 1 to 100 ns, in the first 0.1 ms
  t.record(35'000'000, 5000);         // after a stall of two windows
  EXPECT_EQ(t.windows().size(), 1u);  // the second is still open
  t.finish();
  ASSERT_EQ(t.windows().size(), 2u);
  const auto& first = t.windows()[0];
  EXPECT_EQ(first.start_ns, 0u);
  EXPECT_EQ(first.count, 100u);
  EXPECT_EQ(first.p50_ns, 50u);
  EXPECT_EQ(first.p99_ns, 99u);
  EXPECT_EQ(first.max_ns, 100u);
  const auto& second = t.windows()[1];
  EXPECT_EQ(second.start_ns, 30'000'000u);
  EXPECT_EQ(second.count, 1u);
  EXPECT_EQ(second.max_ns, 5000u);
}

}  // namespace
}  // namespace ipcbench

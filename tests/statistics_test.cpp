// The statistics behind every interval and verdict (harness/results/statistics.hpp), and the
// HdrHistogram export (harness/results/hdr_log.hpp).
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "base/histogram.hpp"
#include "harness/results/hdr_log.hpp"
#include "harness/results/statistics.hpp"

namespace ipcbench {
namespace {

TEST(Statistics, TQuantilesAreStudents) {
  EXPECT_NEAR(t_quantile_975(1), 12.706, 1e-3);
  EXPECT_NEAR(t_quantile_975(2), 4.303, 1e-3);
  EXPECT_NEAR(t_quantile_975(10), 2.228, 1e-3);
  EXPECT_NEAR(t_quantile_975(2.5), (4.303 + 3.182) / 2, 1e-3);  // between two rows
  EXPECT_NEAR(t_quantile_975(1e9), 1.960, 1e-3);
}

TEST(Statistics, OneRepetitionHasNoInterval) {
  Estimate e = estimate({310});
  EXPECT_EQ(e.median, 310);
  EXPECT_FALSE(e.has_interval());
  EXPECT_FALSE(e.contains(310));
}

TEST(Statistics, ZerosAreNotMeasurements) {
  Estimate e = estimate({0, 100, 0});
  EXPECT_EQ(e.n, 1u);
  EXPECT_EQ(e.median, 100);
}

TEST(Statistics, FewRepetitionsGetALogNormalTInterval) {
  const std::vector<double> v = {100, 110, 121};  // logs 1 step apart: mean log = log(110)
  Estimate e = estimate(v);
  EXPECT_EQ(e.median, 110);
  ASSERT_TRUE(e.has_interval());
  const double sd = std::log(1.1);
  const double half = 4.303 * sd / std::sqrt(3.0);
  EXPECT_NEAR(*e.low, 110 * std::exp(-half), 0.01);
  EXPECT_NEAR(*e.high, 110 * std::exp(half), 0.01);
  EXPECT_TRUE(e.contains(110));
}

TEST(Statistics, SixOrMoreRepetitionsGetTheOrderStatisticInterval) {
  // n = 6: [x1, x6] (96.9%); n = 9: [x2, x8] (96.1%); n = 20: [x6, x15] (95.9%).
  EXPECT_EQ(*estimate({6, 1, 5, 2, 4, 3}).low, 1);
  EXPECT_EQ(*estimate({6, 1, 5, 2, 4, 3}).high, 6);
  Estimate nine = estimate({1, 2, 3, 4, 5, 6, 7, 8, 9});
  EXPECT_EQ(*nine.low, 2);
  EXPECT_EQ(*nine.high, 8);
  std::vector<double> twenty;
  for (int i = 1; i <= 20; ++i)
    twenty.push_back(i);
  Estimate e = estimate(twenty);
  EXPECT_EQ(*e.low, 6);
  EXPECT_EQ(*e.high, 15);
}

TEST(Statistics, TheOrderStatisticIntervalCoversTheMedianAtLeast95PercentOfTheTime) {
  // A check of the claim itself: lognormal samples of 8, 10 000 times.
  std::mt19937_64 random(42);
  std::lognormal_distribution<double> dist(0.0, 0.3);
  int covered = 0;
  for (int trial = 0; trial < 10000; ++trial) {
    std::vector<double> v(8);
    for (auto& x : v)
      x = dist(random);
    if (estimate(v).contains(1.0)) ++covered;  // the true median of lognormal(0, s) is 1
  }
  EXPECT_GE(covered, 9450);
}

TEST(Statistics, TheSameCellTwiceIsNotDistinguishable) {
  const std::vector<double> a = {310, 330, 320}, b = {315, 325, 318};
  Estimate r = ratio(b, a);
  ASSERT_TRUE(r.has_interval());
  EXPECT_TRUE(r.contains(1.0));
}

TEST(Statistics, ATwiceSlowerCellIsDistinguishable) {
  const std::vector<double> a = {310, 330, 320}, b = {640, 650, 660};
  Estimate r = ratio(b, a);
  ASSERT_TRUE(r.has_interval());
  EXPECT_FALSE(r.contains(1.0));
  EXPECT_NEAR(r.median, 650.0 / 320.0, 1e-9);
  EXPECT_GT(*r.low, 1.5);
  EXPECT_LT(*r.high, 3.0);
}

TEST(Statistics, ARatioWithOneRepetitionHasNoInterval) {
  Estimate r = ratio({640}, {310, 330, 320});
  EXPECT_FALSE(r.has_interval());
  EXPECT_NEAR(r.median, 2.0, 1e-9);
}

// ---- HdrHistogram export ---------------------------------------------------------------------

TEST(HdrLog, TheEncodingHasHdrHistogramsCookieAndDecodesToTheSameDistribution) {
  Histogram h;
  std::mt19937_64 random(7);
  std::lognormal_distribution<double> dist(std::log(50'000.0), 0.5);
  for (int i = 0; i < 100'000; ++i)
    h.record(static_cast<std::uint64_t>(dist(random)));
  const std::string text = encode_hdr_histogram(sparse_of(h));
  // "HISTF": the base64 of V2's compression cookie (0x1c849314), how every HdrHistogram log
  // entry starts.
  EXPECT_EQ(text.substr(0, 5), "HISTF");
  auto decoded = decode_hdr_histogram(text);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->significant_figures, 2);
  EXPECT_EQ(decoded->lowest_discernible_value, 1);
  EXPECT_EQ(decoded->total(), 100'000);
  for (double p : {1.0, 50.0, 90.0, 99.0, 99.9}) {
    const double ours = static_cast<double>(h.percentile(p));
    const double theirs = static_cast<double>(decoded->value_at_percentile(p));
    EXPECT_NEAR(theirs / ours, 1.0, 0.02) << "p" << p << ": " << ours << " vs " << theirs;
  }
}

TEST(HdrLog, SmallValuesAreExact) {
  Histogram h;
  for (std::uint64_t v : {1u, 2u, 3u, 100u, 127u})
    h.record(v);
  auto decoded = decode_hdr_histogram(encode_hdr_histogram(sparse_of(h)));
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->value_at_percentile(20), 1);
  EXPECT_EQ(decoded->value_at_percentile(100), 127);
}

TEST(HdrLog, GarbageIsNotAHistogram) {
  EXPECT_FALSE(decode_hdr_histogram("not base64 at all!"));
  EXPECT_FALSE(decode_hdr_histogram("SElTVEYAAAA="));
}

// A ratio paired in time cancels what moved both sides of a round: two transports measured in
// rounds on a machine whose speed doubles between rounds keep their ratio, where the ratio of
// the two medians' independent intervals would hold the drift.
TEST(Statistics, APairedRatioCancelsADriftBetweenRounds) {
  const std::vector<double> a = {100, 210, 95, 205, 102}, b = {50, 100, 48, 101, 50};
  std::vector<std::pair<double, double>> pairs;
  for (std::size_t i = 0; i < a.size(); ++i)
    pairs.emplace_back(a[i], b[i]);
  const Estimate paired = paired_ratio(pairs);
  ASSERT_TRUE(paired.has_interval());
  EXPECT_NEAR(paired.median, 2.03, 0.02);
  EXPECT_LT(paired.relative_half_width(), 0.05);
  const Estimate apart = ratio(a, b);
  EXPECT_GT(apart.relative_half_width(), 0.4);
  // A pair with a side not measured is left out; none left: no estimate.
  EXPECT_EQ(paired_ratio({{2, 1}, {0, 1}, {4, 2}}).n, 2u);
  EXPECT_EQ(paired_ratio({{0, 1}}).n, 0u);
}

}  // namespace
}  // namespace ipcbench

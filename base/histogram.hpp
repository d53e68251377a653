// A log-bucketed latency histogram in the manner of HdrHistogram: values below 128 are counted
// exactly; above, each power of two is split into 64 equal buckets, so a bucket's midpoint is
// within 1/128 (0.78%) of any value in it. Fixed size (3,776 counters), no allocation on record.
//
// A leaf header: it depends on nothing of the project, so scenarios/ may record into it.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <utility>
#include <vector>

namespace ipcbench {

class Histogram {
 public:
  static constexpr unsigned kExactBelow = 128;
  static constexpr unsigned kPerOctave = 64;
  static constexpr std::size_t kBuckets = kExactBelow + (63 - 6) * kPerOctave;

  static constexpr std::size_t index(std::uint64_t v) {
    if (v < kExactBelow) return static_cast<std::size_t>(v);
    unsigned shift = static_cast<unsigned>(std::bit_width(v)) - 7;  // >= 1
    return kExactBelow + (shift - 1) * kPerOctave + static_cast<std::size_t>((v >> shift) - 64);
  }
  static constexpr std::uint64_t bucket_low(std::size_t i) {
    if (i < kExactBelow) return i;
    std::size_t shift = (i - kExactBelow) / kPerOctave + 1;
    std::uint64_t top = (i - kExactBelow) % kPerOctave + 64;
    return top << shift;
  }
  static constexpr std::uint64_t bucket_width(std::size_t i) {
    return i < kExactBelow ? 1 : std::uint64_t{1} << ((i - kExactBelow) / kPerOctave + 1);
  }

  void record(std::uint64_t v) {
    ++m_counts[index(v)];
    ++m_count;
    m_sum += v;
    m_min = std::min(m_min, v);
    m_max = std::max(m_max, v);
  }

  std::uint64_t count() const { return m_count; }
  std::uint64_t min() const { return m_count ? m_min : 0; }
  std::uint64_t max() const { return m_max; }
  double mean() const { return m_count ? static_cast<double>(m_sum) / m_count : 0.0; }

  // The value at percentile p (0..100): the smallest recorded value with at least p% of the
  // values at or below it, to within the bucket resolution. p=0 is the minimum, p=100 the max.
  std::uint64_t percentile(double p) const {
    if (m_count == 0) return 0;
    if (p <= 0) return m_min;
    if (p >= 100) return m_max;
    auto rank = static_cast<std::uint64_t>(std::ceil(p / 100.0 * static_cast<double>(m_count)));
    rank = std::clamp<std::uint64_t>(rank, 1, m_count);
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < kBuckets; ++i) {
      seen += m_counts[i];
      if (seen >= rank) {
        std::uint64_t mid = bucket_low(i) + bucket_width(i) / 2;
        if (bucket_width(i) == 1) mid = bucket_low(i);
        return std::clamp(mid, m_min, m_max);
      }
    }
    return m_max;
  }

  void merge(const Histogram& other) {
    for (std::size_t i = 0; i < kBuckets; ++i)
      m_counts[i] += other.m_counts[i];
    m_count += other.m_count;
    m_sum += other.m_sum;
    if (other.m_count) {
      m_min = std::min(m_min, other.m_min);
      m_max = std::max(m_max, other.m_max);
    }
  }

  // The non-empty buckets as (index, count), to carry a histogram between processes.
  std::vector<std::pair<std::uint32_t, std::uint64_t>> sparse() const {
    std::vector<std::pair<std::uint32_t, std::uint64_t>> out;
    for (std::size_t i = 0; i < kBuckets; ++i) {
      if (m_counts[i]) out.emplace_back(static_cast<std::uint32_t>(i), m_counts[i]);
    }
    return out;
  }
  // Rebuilds from sparse() plus the exact sum, min and max. False when an index is out of range.
  bool assign(const std::vector<std::pair<std::uint32_t, std::uint64_t>>& buckets,
              std::uint64_t sum, std::uint64_t min, std::uint64_t max) {
    *this = Histogram{};
    for (auto [i, c] : buckets) {
      if (i >= kBuckets) return false;
      m_counts[i] += c;
      m_count += c;
    }
    m_sum = sum;
    m_min = m_count ? min : std::numeric_limits<std::uint64_t>::max();
    m_max = max;
    return true;
  }
  std::uint64_t sum() const { return m_sum; }

 private:
  std::array<std::uint64_t, kBuckets> m_counts{};
  std::uint64_t m_count = 0;
  std::uint64_t m_sum = 0;
  std::uint64_t m_min = std::numeric_limits<std::uint64_t>::max();
  std::uint64_t m_max = 0;
};

static_assert(Histogram::index(127) == 127);
static_assert(Histogram::index(128) == 128);
static_assert(Histogram::index(~std::uint64_t{0}) == Histogram::kBuckets - 1);
static_assert(Histogram::bucket_low(Histogram::index(1000)) <= 1000);
static_assert(Histogram::bucket_low(Histogram::index(1000)) +
                  Histogram::bucket_width(Histogram::index(1000)) >
              1000);

// A histogram as it travels and is kept (a worker's report, a results file): Histogram::sparse()
// with the exact sum, min and max, which Histogram::assign() rebuilds from.
struct LatencyHistogram {
  std::vector<std::pair<std::uint32_t, std::uint64_t>> buckets;
  std::uint64_t sum = 0;
  std::uint64_t min = 0;
  std::uint64_t max = 0;
};
inline LatencyHistogram sparse_of(const Histogram& h) {
  return LatencyHistogram{h.sparse(), h.sum(), h.min(), h.max()};
}
// The histogram `l` was made from.
inline Histogram histogram_of(const LatencyHistogram& l) {
  Histogram h;
  h.assign(l.buckets, l.sum, l.min, l.max);
  return h;
}
// ... or an empty one when there is none.
inline Histogram histogram_of(const std::optional<LatencyHistogram>& l) {
  return l ? histogram_of(*l) : Histogram();
}

}  // namespace ipcbench

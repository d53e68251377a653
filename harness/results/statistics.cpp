#include "harness/results/statistics.hpp"

#include <algorithm>
#include <cmath>

namespace ipcbench {

namespace {

double median_of_sorted(const std::vector<double>& v) {
  const std::size_t n = v.size();
  if (n == 0) return 0;
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

struct LogMoments {
  double mean = 0;
  double variance = 0;  // the sample variance (n - 1)
};

LogMoments log_moments(const std::vector<double>& v) {
  LogMoments m;
  for (double x : v)
    m.mean += std::log(x);
  m.mean /= static_cast<double>(v.size());
  for (double x : v)
    m.variance += (std::log(x) - m.mean) * (std::log(x) - m.mean);
  if (v.size() > 1) m.variance /= static_cast<double>(v.size() - 1);
  return m;
}

// P(X <= k) for X ~ Binomial(n, 1/2).
double binomial_half_cdf(std::size_t n, std::size_t k) {
  double sum = 0, term = std::pow(0.5, static_cast<double>(n));  // C(n, 0) / 2^n
  for (std::size_t i = 0; i <= k; ++i) {
    sum += term;
    term = term * static_cast<double>(n - i) / static_cast<double>(i + 1);
  }
  return sum;
}

std::vector<double> positive(std::vector<double> v) {
  std::erase_if(v, [](double x) { return !(x > 0) || !std::isfinite(x); });
  std::sort(v.begin(), v.end());
  return v;
}

}  // namespace

double Estimate::relative_half_width() const {
  if (!has_interval() || median <= 0) return 0;
  return std::max(*high / median - 1, 1 - *low / median);
}

double t_quantile_975(double df) {
  static constexpr double kTable[] = {
      12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,  // 1-10
      2.201,  2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,  // 11-20
      2.080,  2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,  // 21-30
  };
  if (!(df >= 1)) df = 1;
  if (df >= 30) {
    // 30: 2.042, 60: 2.000, 120: 1.980, infinity: 1.960; linear in 1/df is close enough.
    return 1.960 + (2.042 - 1.960) * 30 / df;
  }
  const double below = std::floor(df);
  const double t0 = kTable[static_cast<std::size_t>(below) - 1];
  if (below == df) return t0;
  const double t1 = kTable[static_cast<std::size_t>(below)];
  return t0 + (t1 - t0) * (df - below);
}

Estimate estimate(std::vector<double> samples) {
  const std::vector<double> v = positive(std::move(samples));
  Estimate e;
  e.n = v.size();
  e.median = median_of_sorted(v);
  if (e.n < 2) return e;
  if (e.n >= 6) {
    // The largest k with P(Binomial(n, 1/2) <= k - 1) <= 2.5%: [x_k, x_(n+1-k)], 1-based.
    std::size_t k = 1;
    while (binomial_half_cdf(e.n, k) <= 0.025)
      ++k;
    e.low = v[k - 1];
    e.high = v[e.n - k];
    return e;
  }
  const LogMoments m = log_moments(v);
  const double half = t_quantile_975(static_cast<double>(e.n - 1)) *
                      std::sqrt(m.variance / static_cast<double>(e.n));
  // An interval of the typical (geometric) value; widened, if need be, to hold the median.
  e.low = std::min(std::exp(m.mean - half), e.median);
  e.high = std::max(std::exp(m.mean + half), e.median);
  return e;
}

Estimate ratio(const std::vector<double>& a_samples, const std::vector<double>& b_samples) {
  const std::vector<double> a = positive(a_samples), b = positive(b_samples);
  Estimate r;
  r.n = std::min(a.size(), b.size());
  if (a.empty() || b.empty()) return r;
  r.median = median_of_sorted(a) / median_of_sorted(b);
  if (a.size() < 2 || b.size() < 2) return r;
  const LogMoments ma = log_moments(a), mb = log_moments(b);
  const double na = static_cast<double>(a.size()), nb = static_cast<double>(b.size());
  const double va = ma.variance / na, vb = mb.variance / nb;
  const double se = std::sqrt(va + vb);
  // Welch–Satterthwaite degrees of freedom.
  const double df =
      se > 0 ? (va + vb) * (va + vb) / (va * va / (na - 1) + vb * vb / (nb - 1)) : na + nb - 2;
  const double diff = ma.mean - mb.mean;
  const double half = t_quantile_975(df) * se;
  r.low = std::min(std::exp(diff - half), r.median);
  r.high = std::max(std::exp(diff + half), r.median);
  return r;
}

Estimate paired_ratio(const std::vector<std::pair<double, double>>& pairs) {
  std::vector<double> ratios;
  for (auto [a, b] : pairs) {
    if (a > 0 && b > 0) ratios.push_back(a / b);
  }
  return estimate(std::move(ratios));
}

}  // namespace ipcbench

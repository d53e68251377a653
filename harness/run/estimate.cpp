#include "harness/run/estimate.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <filesystem>

#include "harness/results/results.hpp"

namespace ipcbench {

namespace {

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// Rough figures where nothing was learned (a 2-vCPU guest here): set-up of two processes, a
// library's more; a kernel wake-up's round trip; a spinning one's.
constexpr double kSetUpKernel = 0.15, kSetUpLibrary = 0.5;
constexpr double kBlockRoundTrip = 30e-6, kSpinRoundTrip = 1e-6;
constexpr double kBlockBytesPerSecond = 2e9, kSpinBytesPerSecond = 5e9;
constexpr double kPerMessage = 5e-6;  // a stream's cost per message beyond its bytes

}  // namespace

std::vector<std::string> TimeEstimate::files_in(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    if (e.is_regular_file(ec) && e.path().extension() == ".json") out.push_back(e.path().string());
  }
  return out;
}

TimeEstimate TimeEstimate::learn(std::vector<std::string> files, std::size_t newest) {
  auto mtime = [](const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 ? st.st_mtime : 0;
  };
  std::sort(files.begin(), files.end(),
            [&](const std::string& a, const std::string& b) { return mtime(a) > mtime(b); });
  TimeEstimate e;
  for (const auto& path : files) {
    if (e.m_files == newest) break;
    auto doc = load_results(path);
    if (!doc) continue;
    ++e.m_files;
    for (const CellResult& r : doc->benchmarks) {
      if (r.error || r.iterations <= 0 || r.real_time <= 0 || r.cell_seconds <= 0) continue;
      const TimeKind kind = r.scenario->time_kind;
      if (kind == TimeKind::schedule || r.scenario->fan_out) continue;
      const double per_op = r.real_time / 1e9;
      e.m_per_op[{r.transport, kind, r.payload_bytes, r.wait}].push_back(per_op);
      const double ops = r.iterations + static_cast<double>(r.warmup);
      e.m_setup[r.transport].push_back(std::max(0.0, r.cell_seconds - ops * per_op));
    }
  }
  return e;
}

double TimeEstimate::seconds(const Cell& cell) const {
  using Seconds = std::chrono::duration<double>;
  const double budget = Seconds(cell.budget).count();
  if (cell.transport == kFloorTransport) return budget + 0.01;
  double setup = 0;
  if (auto it = m_setup.find(cell.transport); it != m_setup.end()) {
    setup = median(it->second);
  } else {
    const TransportInfo* info = find_transport(cell.transport);
    const bool library = info && (info->capabilities().waits.size() == 1 || info->start_daemon);
    setup = library ? kSetUpLibrary : kSetUpKernel;
  }
  const TimeKind kind = cell.scenario->time_kind;
  if (kind == TimeKind::schedule) {
    return setup + kRateWarmupSeconds + Seconds(cell.duration).count();
  }
  const std::string wait(to_string(cell.wait));
  double per_op = 0;
  if (auto it = m_per_op.find({cell.transport, kind, cell.bytes, wait}); it != m_per_op.end()) {
    per_op = median(it->second);
  } else if (kind == TimeKind::round_trips) {
    per_op = cell.wait == WaitMode::spin ? kSpinRoundTrip : kBlockRoundTrip;
  } else {
    const double rate = cell.wait == WaitMode::spin ? kSpinBytesPerSecond : kBlockBytesPerSecond;
    per_op = static_cast<double>(cell.bytes) / rate + kPerMessage;
  }
  per_op *= cell.consumers();  // a fan-out sends each message to each consumer
  const double warmup_budget = Seconds(cell.warmup_budget).count();
  double warmup = static_cast<double>(cell.warmup) * per_op;
  if (warmup_budget > 0) warmup = std::min(warmup, warmup_budget);
  const double measured = std::min(static_cast<double>(cell.count) * per_op, budget);
  return setup + warmup + measured;
}

}  // namespace ipcbench

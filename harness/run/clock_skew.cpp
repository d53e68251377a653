#include "harness/run/clock_skew.hpp"

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <thread>

#include "base/wait.hpp"

namespace ipcbench {

namespace {

bool pin_this_thread(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return ::pthread_setaffinity_np(::pthread_self(), sizeof set, &set) == 0;
}

// One direction: the asking thread on `asker`, the answering one on `answerer`. The answerer's
// clock minus the asker's, and half the shortest round trip, in ns.
std::optional<std::pair<double, double>> one_way_round(const Clock& clock, int asker, int answerer,
                                                       int samples) {
  struct alignas(64) Line {
    std::atomic<std::uint64_t> request{0};   // the number of the exchange asked for
    std::atomic<std::uint64_t> answer{0};    // the answerer's clock reading, then
    std::atomic<std::uint64_t> answered{0};  // ... for this exchange
  } line;
  std::atomic<bool> pinned{true};
  std::thread other([&] {
    if (!pin_this_thread(answerer)) pinned = false;
    for (std::uint64_t n = 1; n <= static_cast<std::uint64_t>(samples); ++n) {
      for (std::uint32_t spins = 0; line.request.load(std::memory_order_acquire) != n; ++spins) {
        if (!pinned.load(std::memory_order_relaxed)) return;
        cpu_relax();
        if (spins > 100'000) std::this_thread::yield();
      }
      line.answer.store(clock.now(), std::memory_order_relaxed);
      line.answered.store(n, std::memory_order_release);
    }
  });
  const bool ok = pin_this_thread(asker);
  if (!ok) pinned = false;
  double best_rtt = std::numeric_limits<double>::infinity(), skew = 0;
  for (std::uint64_t n = 1; ok && n <= static_cast<std::uint64_t>(samples); ++n) {
    if (!pinned.load(std::memory_order_relaxed)) break;
    const std::uint64_t t0 = clock.now();
    line.request.store(n, std::memory_order_release);
    for (std::uint32_t spins = 0; line.answered.load(std::memory_order_acquire) != n; ++spins) {
      cpu_relax();
      if (spins > 100'000) std::this_thread::yield();
    }
    const std::uint64_t t2 = clock.now();
    const std::uint64_t tb = line.answer.load(std::memory_order_relaxed);
    const double rtt = static_cast<double>(t2 - t0) * clock.ns_per_tick();
    if (rtt < best_rtt) {
      best_rtt = rtt;
      const double middle = static_cast<double>(t0) + static_cast<double>(t2 - t0) / 2;
      skew = (static_cast<double>(tb) - middle) * clock.ns_per_tick();
    }
  }
  pinned = pinned && ok;
  line.request.store(std::numeric_limits<std::uint64_t>::max(), std::memory_order_release);
  if (!pinned) {
    other.join();
    return std::nullopt;
  }
  other.join();
  return std::pair{skew, best_rtt / 2};
}

}  // namespace

std::optional<ClockSkew> measure_clock_skew(const Clock& clock, int cpu_a, int cpu_b, int samples) {
  if (cpu_a < 0 || cpu_b < 0 || cpu_a == cpu_b) return std::nullopt;
  std::optional<std::pair<double, double>> ab, ba;
  // A thread of its own, so that the conductor's own affinity is left as it was.
  std::thread([&] {
    ab = one_way_round(clock, cpu_a, cpu_b, samples);
    ba = one_way_round(clock, cpu_b, cpu_a, samples);
  }).join();
  if (!ab || !ba) return std::nullopt;
  // ab: b - a; ba: a - b.
  return ClockSkew{(ab->first - ba->first) / 2, std::max(ab->second, ba->second), samples};
}

}  // namespace ipcbench

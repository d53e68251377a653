// The project's clocks, all in one place:
// - monotonic_ns(): CLOCK_MONOTONIC in nanoseconds, for deadlines and phase boundaries; one
//   clock that every process of a run shares.
// - process_cpu_ns(): this process's CPU time.
// - Clock: the per-message clock, the CPU's time-stamp counter where it is invariant (constant
//   rate, not stopped in sleep states), else CLOCK_MONOTONIC. The conductor calibrates it once and
//   hands the rate to both workers, so they read the same clock.
#pragma once

#include <time.h>

#include <cstdint>
#include <string_view>

#if defined(__x86_64__)
#include <x86intrin.h>
#endif

namespace ipcbench {

inline std::int64_t monotonic_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

inline std::uint64_t process_cpu_ns() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u +
         static_cast<std::uint64_t>(ts.tv_nsec);
}

// What this process has spent since it started: CPU time and context switches (voluntary: it
// slept, waiting; involuntary: the scheduler took the CPU away). The difference of two readings
// is what a phase cost.
struct ProcessUsage {
  std::uint64_t cpu_ns = 0;
  std::uint64_t voluntary_switches = 0;
  std::uint64_t involuntary_switches = 0;
};
ProcessUsage process_usage();
inline ProcessUsage operator-(const ProcessUsage& a, const ProcessUsage& b) {
  return {a.cpu_ns - b.cpu_ns, a.voluntary_switches - b.voluntary_switches,
          a.involuntary_switches - b.involuntary_switches};
}

class Clock {
 public:
  // Uses the TSC when /proc/cpuinfo says constant_tsc and nonstop_tsc, measuring its rate
  // against CLOCK_MONOTONIC over `calibration_ms`.
  static Clock calibrate(int calibration_ms = 50);
  static Clock monotonic() { return Clock(false, 1.0); }
  static Clock tsc(double ns_per_tick) { return Clock(true, ns_per_tick); }

  std::uint64_t now() const {
#if defined(__x86_64__)
    if (m_tsc) {
      unsigned aux;
      return __rdtscp(&aux);  // waits for earlier instructions: the read is not hoisted
    }
#endif
    return static_cast<std::uint64_t>(monotonic_ns());
  }
  std::uint64_t to_ns(std::uint64_t ticks) const {
    return static_cast<std::uint64_t>(static_cast<double>(ticks) * m_ns_per_tick + 0.5);
  }

  bool uses_tsc() const {
    return m_tsc;
  }
  double ns_per_tick() const {
    return m_ns_per_tick;
  }
  std::string_view source() const {
    return m_tsc ? "tsc" : "clock_monotonic";
  }

  // The mean cost of one now(), in nanoseconds, over many back-to-back reads.
  double overhead_ns() const;

 private:
  Clock(bool tsc, double ns_per_tick) : m_tsc(tsc), m_ns_per_tick(ns_per_tick) {}
  bool m_tsc;
  double m_ns_per_tick;
};

}  // namespace ipcbench

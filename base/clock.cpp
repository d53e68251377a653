#include "base/clock.hpp"

#include <sys/resource.h>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>

namespace ipcbench {

namespace {

bool tsc_is_invariant() {
#if defined(__x86_64__)
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("flags", 0) == 0) {
      return line.find(" constant_tsc") != std::string::npos &&
             line.find(" nonstop_tsc") != std::string::npos;
    }
  }
#endif
  return false;
}

}  // namespace

ProcessUsage process_usage() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  return {process_cpu_ns(), static_cast<std::uint64_t>(usage.ru_nvcsw),
          static_cast<std::uint64_t>(usage.ru_nivcsw)};
}

Clock Clock::calibrate(int calibration_ms) {
  if (!tsc_is_invariant()) return monotonic();
  Clock tsc_clock(true, 1.0);
  std::uint64_t ns0 = static_cast<std::uint64_t>(monotonic_ns());
  std::uint64_t t0 = tsc_clock.now();
  std::this_thread::sleep_for(std::chrono::milliseconds(calibration_ms));
  std::uint64_t ns1 = static_cast<std::uint64_t>(monotonic_ns());
  std::uint64_t t1 = tsc_clock.now();
  if (t1 <= t0 || ns1 <= ns0) return monotonic();
  return tsc(static_cast<double>(ns1 - ns0) / static_cast<double>(t1 - t0));
}

double Clock::overhead_ns() const {
  constexpr int kReads = 100000;
  std::uint64_t start = static_cast<std::uint64_t>(monotonic_ns());
  std::uint64_t sink = 0;
  for (int i = 0; i < kReads; ++i)
    sink += now();
  std::uint64_t end = static_cast<std::uint64_t>(monotonic_ns());
  asm volatile("" : : "r"(sink));
  return static_cast<double>(end - start) / kReads;
}

}  // namespace ipcbench

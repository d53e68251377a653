// Spinning without owning the machine: the CPU's pause instruction in the loop, a deadline
// checked every few iterations (reading a clock costs more than a pause), and sched_yield once
// the wait has lasted long enough that the peer may be waiting for this very core.
#pragma once

#include <sched.h>
#include <time.h>

#include <chrono>
#include <cstdint>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace ipcbench {

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#endif
}

inline std::int64_t monotonic_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

class Spinner {
 public:
  // Construct it once the first attempt found nothing. Gives up after `timeout`; yields after
  // `yield_after` of fruitless spinning; reads the clock every `check_every` iterations (a power
  // of two: 1 where each iteration is a system call anyway, more where it is a load).
  explicit Spinner(std::chrono::nanoseconds timeout, std::uint32_t check_every = 64,
                   std::chrono::nanoseconds yield_after = std::chrono::microseconds(50))
      : m_start(monotonic_ns()),
        m_timeout(timeout.count()),
        m_yield_after(yield_after.count()),
        m_check_mask(check_every - 1) {}

  // One fruitless iteration. Returns false once the timeout has passed.
  bool spin() {
    cpu_relax();
    if ((++m_iterations & m_check_mask) != 0) return true;
    std::int64_t waited = monotonic_ns() - m_start;
    if (waited > m_yield_after) sched_yield();
    return waited <= m_timeout;
  }

 private:
  std::int64_t m_start;
  std::int64_t m_timeout;
  std::int64_t m_yield_after;
  std::uint64_t m_check_mask;
  std::uint64_t m_iterations = 0;
};

}  // namespace ipcbench

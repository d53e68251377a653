// How an endpoint waits for its peer, written once for every transport.
//
// A wait mode is chosen per cell:
// - spin: poll without sleeping (the CPU's pause instruction between polls). After kYieldAfterNs
//   of fruitless polling, yield the CPU between polls: on a machine with as few cores as
//   processes, the peer may be waiting for this very core.
// - block: let the kernel sleep the caller until something may have changed (a futex, poll(), a
//   blocking call with a timeout, a library's own wait).
// - adaptive: spin for WaitPolicy::spin_ns, then block.
// Every wait ends after WaitPolicy::timeout_ns with Errc::timeout.
//
// A driver supplies only what is its own, as callables:
//   try_once()          -> Result<bool>  one attempt that never sleeps; true when done
//   block_once(max_ns)  -> Result<bool>  one attempt that may sleep up to max_ns; true when done
//   check()             -> Result<void>  the slow look at the peer and at shared state: is it
//                                        alive, is the memory intact; run every check_every_ns
//                                        of waiting and once more before a timeout is reported
// and wait_until() does the rest. A check that finds the peer gone is followed by one last
// try_once(): what the peer sent before it went is still delivered. The first try_once() costs
// no clock read: a message already there is taken at once.
#pragma once

#include <sched.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#include "base/clock.hpp"
#include "base/result.hpp"

namespace ipcbench {

enum class WaitMode : std::uint8_t {
  spin,      // busy-poll: non-blocking calls, spinning on shared memory
  block,     // the kernel wakes the waiter: blocking calls, a futex on shared memory
  adaptive,  // spin for a while, then block
};
// Every wait mode, in the enum's order.
inline constexpr WaitMode kWaitModes[] = {WaitMode::spin, WaitMode::block, WaitMode::adaptive};

std::string_view to_string(WaitMode mode);
std::optional<WaitMode> parse_wait_mode(std::string_view text);

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#endif
}

inline constexpr std::int64_t kYieldAfterNs = 50'000;      // spinning: yield between polls after
inline constexpr std::int64_t kCheckEveryNs = 10'000'000;  // the slow check, by default

struct WaitPolicy {
  WaitMode mode = WaitMode::block;
  std::int64_t timeout_ns = 5'000'000'000;
  std::int64_t spin_ns = 5'000;  // adaptive: spin this long, then block
};

// What a driver says about its own costs and words.
struct WaitTraits {
  // Polls between two clock reads: 1 where each try is a system call anyway, more where it is a
  // load (a clock read costs more than a poll).
  std::uint32_t polls_per_clock_read = 64;
  std::int64_t check_every_ns = kCheckEveryNs;
  // Spinning yields between polls after this long: 0 where a helper thread of the driver's own
  // (a library's I/O thread) shares the waiter's CPU and must run for anything to arrive.
  std::int64_t yield_after_ns = kYieldAfterNs;
  // For the timeout's reason, "timed out after N ms waiting for <waiting_for>".
  std::string_view waiting_for = "a message";
  // False where block_once() is itself a whole attempt (a blocking call bounded by a timeout):
  // block mode then starts with it, one system call per wait instead of a failed try first.
  bool try_before_block = true;
};

namespace detail {
enum class OneTryState : std::uint8_t { off, armed, tried, found_nothing };
inline thread_local OneTryState t_one_try = OneTryState::off;
}  // namespace detail

// For a caller that waits on many endpoints itself (reqresp's server, woken by epoll): within
// its scope, the first wait_until() on this thread makes one try and returns at once, Errc::timeout
// and found_nothing() when the try found nothing (a readiness that was not, or no longer, a
// message). Later waits in the same call (the rest of a message already on its way) wait as
// usual. Destroy it before the next call that may wait.
class OneTry {
 public:
  OneTry() { detail::t_one_try = detail::OneTryState::armed; }
  ~OneTry() { detail::t_one_try = detail::OneTryState::off; }
  OneTry(const OneTry&) = delete;
  OneTry& operator=(const OneTry&) = delete;
  bool found_nothing() const { return detail::t_one_try == detail::OneTryState::found_nothing; }
};

// A check() for drivers that have nothing to look at beyond what their calls report.
inline Result<void> no_check() {
  return {};
}

template <class Try, class Block, class Check>
Result<void> wait_until(const WaitPolicy& policy, Try&& try_once, Block&& block_once, Check&& check,
                        const WaitTraits& traits = {}) {
  Result<bool> done = false;
  if (detail::t_one_try == detail::OneTryState::armed) [[unlikely]] {  // OneTry
    detail::t_one_try = detail::OneTryState::tried;
    done = try_once();
    if (!done) return std::unexpected(done.error());
    if (*done) return {};
    detail::t_one_try = detail::OneTryState::found_nothing;
    return fail(Errc::timeout, "nothing there yet (one try)");
  }
  if (policy.mode != WaitMode::block || traits.try_before_block) {
    done = try_once();  // the fast path: no clock read
    if (!done) return std::unexpected(done.error());
    if (*done) return {};
  }

  // The slow check: nullopt to go on waiting, else the wait's outcome.
  auto look = [&]() -> std::optional<Result<void>> {
    auto ok = check();
    if (ok) return std::nullopt;
    if (ok.error().code == Errc::peer_gone) {
      auto last = try_once();
      if (!last) return std::unexpected(last.error());
      if (*last) return Result<void>{};
    }
    return std::unexpected(ok.error());
  };
  auto timed_out = [&]() -> Result<void> {
    if (auto outcome = look()) return *outcome;
    return fail(Errc::timeout, "timed out after " + std::to_string(policy.timeout_ns / 1'000'000) +
                                   " ms waiting for " + std::string(traits.waiting_for));
  };

  const std::int64_t start = monotonic_ns();
  const std::int64_t deadline = start + policy.timeout_ns;
  std::int64_t next_check = start + traits.check_every_ns;
  if (policy.mode != WaitMode::block) {
    const std::int64_t spin_end = policy.mode == WaitMode::spin ? deadline : start + policy.spin_ns;
    const std::uint32_t per_read = std::max<std::uint32_t>(traits.polls_per_clock_read, 1);
    for (std::uint32_t polls = 1;; ++polls) {
      cpu_relax();
      done = try_once();
      if (!done) return std::unexpected(done.error());
      if (*done) return {};
      if (polls % per_read != 0) continue;
      const std::int64_t now = monotonic_ns();
      if (now >= next_check) {
        if (auto outcome = look()) return *outcome;
        next_check = now + traits.check_every_ns;
      }
      if (now >= spin_end) break;
      if (now - start >= traits.yield_after_ns) sched_yield();
    }
    if (policy.mode == WaitMode::spin) return timed_out();
  }
  for (;;) {
    const std::int64_t now = monotonic_ns();
    if (now >= next_check) {
      if (auto outcome = look()) return *outcome;
      next_check = now + traits.check_every_ns;
    }
    if (now >= deadline) return timed_out();
    done = block_once(std::min(deadline, next_check) - now);
    if (!done) return std::unexpected(done.error());
    if (*done) return {};
  }
}

}  // namespace ipcbench

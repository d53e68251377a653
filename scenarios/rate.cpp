// rate: open-loop one-way latency at a fixed offered rate (scenario.hpp). The producer keeps a
// schedule of intended send times, t0 + i/R, and sends each message at its time or, when it is
// behind (the transport held it up), at once: never at a lower rate, never skipping. Each message
// carries its intended and actual send time; the consumer charges receive - intended to the
// histogram, as wrk2 and Aeron's load-test rig do, so that one stall shows in every message it
// delayed, and records receive - sent beside it. R = 0 ("max") sends back to back: then the two
// are the same. Both workers read one clock (the TSC where it is invariant, else
// CLOCK_MONOTONIC); how far apart two CPUs read it is measured by the conductor and recorded.
#include <time.h>

#include "base/wait.hpp"
#include "scenarios/scenario.hpp"

namespace ipcbench {

namespace {

// Waits until the clock reads `when`: sleeps while far away (a sleep wakes tens of microseconds
// late), spins the last stretch.
// With `spin`, spins all the way.
void wait_until_tick(const Clock& clock, std::uint64_t when, bool spin) {
  const double ns_per_tick = clock.ns_per_tick();
  constexpr double kSleepAboveNs = 300'000, kWakeEarlyNs = 200'000;
  for (std::uint64_t now = clock.now(); now < when; now = clock.now()) {
    const double left_ns = static_cast<double>(when - now) * ns_per_tick;
    if (!spin && left_ns > kSleepAboveNs) {
      const auto nap = static_cast<long>(left_ns - kWakeEarlyNs);
      timespec ts{nap / 1'000'000'000, nap % 1'000'000'000};
      ::nanosleep(&ts, nullptr);
    } else {
      cpu_relax();
    }
  }
}

Result<void> send_stamped(Transport& t, std::size_t bytes, std::uint64_t seq, Touch touch,
                          std::uint64_t intended, const Clock& clock) {
  auto buffer = t.loan(bytes);
  if (!buffer) return std::unexpected(buffer.error());
  fill_message(*buffer, seq, Direction::request, touch);
  stamp_message(*buffer, {intended, clock.now()});
  return t.send(bytes);
}

Result<void> producer(Transport& t, const ScenarioConfig& c, const Clock& clock, Measurement& out) {
  const std::size_t bytes = c.payload_bytes;
  const bool max = c.rate_per_s <= 0;
  const double ticks_per_s = 1e9 / clock.ns_per_tick();
  const double period = max ? 0 : ticks_per_s / c.rate_per_s;
  const auto duration_ticks =
      static_cast<std::uint64_t>(static_cast<double>(c.duration.count()) / clock.ns_per_tick());
  // The schedule starts a little ahead, so that its first message is not late already.
  const std::uint64_t t0 = clock.now() + static_cast<std::uint64_t>(ticks_per_s / 1000);
  std::uint64_t measured_from = 0;  // the first measured message's intended time
  std::uint64_t lag = 0;            // how late the last send was, in ticks
  for (std::uint64_t seq = 0;; ++seq) {
    std::uint64_t intended = max ? clock.now() : t0 + static_cast<std::uint64_t>(seq * period);
    if (seq == c.warmup) {
      measured_from = intended;
      out.usage = process_usage();
      out.start_ns = monotonic_ns();
    }
    if (seq >= c.warmup) {
      if (intended - measured_from >= duration_ticks) break;
    }
    if (!max) wait_until_tick(clock, intended, c.pace_by_spinning);
    const std::uint64_t now = clock.now();
    lag = now > intended ? now - intended : 0;
    if (auto ok = send_stamped(t, bytes, seq, c.touch, intended, clock); !ok) {
      out.end_ns = monotonic_ns();
      if (seq >= c.warmup) out.usage = process_usage() - out.usage;
      return ok;
    }
    if (seq >= c.warmup) out.count = seq - c.warmup + 1;
  }
  out.end_ns = monotonic_ns();
  out.usage = process_usage() - out.usage;
  out.behind = max ? 0 : static_cast<std::uint64_t>(static_cast<double>(lag) / period);
  return stop_producer(t, bytes);
}

Result<void> consumer(Transport& t, const ScenarioConfig& c, const Clock& clock, Measurement& out) {
  const std::size_t bytes = c.payload_bytes;
  for (std::uint64_t seq = 0;; ++seq) {
    if (seq == c.warmup) {
      out.usage = process_usage();
      out.start_ns = monotonic_ns();
    }
    auto message = t.receive();
    const std::uint64_t received = clock.now();  // when the message was there for the reader
    if (!message) {
      out.end_ns = monotonic_ns();
      return std::unexpected(message.error());
    }
    if (message->size() == kStopBytes && message_sequence(*message) == kStopSequence) {
      t.release();
      break;
    }
    const Stamps stamps = read_stamps(*message);
    auto wrong = check_message(*message, seq, bytes, Direction::request, c.touch, true);
    t.release();
    if (wrong) return fail(Errc::protocol, "data check failed: " + *wrong);
    if (seq < c.warmup) continue;
    if (received < stamps.sent) ++out.early;
    auto one_way = [&](std::uint64_t from) -> std::uint64_t {
      return received >= from ? clock.to_ns(received - from) : 0;
    };
    if (out.latency) out.latency->record(one_way(stamps.intended));
    if (out.from_sent) out.from_sent->record(one_way(stamps.sent));
    out.count = seq - c.warmup + 1;
  }
  out.end_ns = monotonic_ns();
  out.usage = out.start_ns ? process_usage() - out.usage : ProcessUsage{};
  return stop_consumer(t);
}

}  // namespace

Result<void> run_rate(Role role, Transport& transport, const ScenarioConfig& config,
                      const Clock& clock, Measurement& out) {
  return role == Role::producer ? producer(transport, config, clock, out)
                                : consumer(transport, config, clock, out);
}

}  // namespace ipcbench

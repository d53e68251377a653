#include "scenarios/message.hpp"

#include <cstring>

namespace ipcbench {

namespace {

constexpr std::uint64_t kGolden = 0x9E3779B97F4A7C15ull;
constexpr std::size_t kPrefetchAhead = 4096;  // bytes

// The pattern's first word for a message (splitmix64 of the sequence number and direction).
std::uint64_t seed(std::uint64_t seq, Direction dir) {
  std::uint64_t z = seq + kGolden * (static_cast<std::uint64_t>(dir) + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Word k of the pattern (k >= 1; word 0 is the sequence number).
inline std::uint64_t word(std::uint64_t base, std::size_t k) {
  return base + k * kGolden;
}

inline std::byte pattern_byte(std::uint64_t base, std::size_t i) {
  return static_cast<std::byte>(word(base, i / 8) >> (8 * (i % 8)));
}

}  // namespace

std::string_view to_string(Touch touch) {
  return touch == Touch::full ? "full" : "edges";
}

std::optional<Touch> parse_touch(std::string_view text) {
  if (text == "full") return Touch::full;
  if (text == "edges") return Touch::edges;
  return std::nullopt;
}

void fill_message(std::span<std::byte> payload, std::uint64_t seq, Direction dir, Touch touch) {
  std::memcpy(payload.data(), &seq, sizeof seq);
  const std::size_t n = payload.size();
  if (n <= 8) return;
  const std::uint64_t base = seed(seq, dir);
  if (touch == Touch::edges) {
    payload[n - 1] = pattern_byte(base, n - 1);
    return;
  }
  std::byte* p = payload.data();
  const std::size_t words = n / 8;
  // word(base, k) as a running sum: an add per word, which vectorises (a 64-bit multiply does
  // not before AVX-512).
  std::uint64_t w = word(base, 1);
  std::size_t k = 1;
  for (; k < words && k % 8 != 0; ++k, w += kGolden)
    std::memcpy(p + 8 * k, &w, 8);
  // A cache line at a time, asking for lines well ahead: the hardware prefetchers stop at page
  // boundaries, and the lines may be in another core's cache (shared memory).
  for (; k + 8 <= words; k += 8) {
    if (8 * k + kPrefetchAhead < n) __builtin_prefetch(p + 8 * k + kPrefetchAhead, 1);
    for (std::size_t j = 0; j < 8; ++j, w += kGolden)
      std::memcpy(p + 8 * (k + j), &w, 8);
  }
  for (; k < words; ++k, w += kGolden)
    std::memcpy(p + 8 * k, &w, 8);
  for (std::size_t i = words * 8; i < n; ++i)
    p[i] = pattern_byte(base, i);
}

std::uint64_t message_sequence(std::span<const std::byte> payload) {
  std::uint64_t seq;
  std::memcpy(&seq, payload.data(), sizeof seq);
  return seq;
}

void stamp_message(std::span<std::byte> payload, Stamps stamps) {
  std::memcpy(payload.data() + 8, &stamps.intended, 8);
  std::memcpy(payload.data() + 16, &stamps.sent, 8);
}

Stamps read_stamps(std::span<const std::byte> payload) {
  Stamps s;
  std::memcpy(&s.intended, payload.data() + 8, 8);
  std::memcpy(&s.sent, payload.data() + 16, 8);
  return s;
}

std::optional<std::string> check_message(std::span<const std::byte> payload, std::uint64_t seq,
                                         std::size_t expected_bytes, Direction dir, Touch touch,
                                         bool stamped) {
  const std::size_t n = payload.size();
  if (n != expected_bytes) {
    return "message " + std::to_string(seq) + " has " + std::to_string(n) + " bytes, expected " +
           std::to_string(expected_bytes);
  }
  std::uint64_t got = message_sequence(payload);
  if (got != seq) {
    std::string what = got > seq ? " (lost or reordered)" : " (duplicated or reordered)";
    return "expected message " + std::to_string(seq) + ", got message " + std::to_string(got) +
           what;
  }
  if (n <= 8) return std::nullopt;
  const std::uint64_t base = seed(seq, dir);
  auto byte_error = [&](std::size_t i) {
    return "message " + std::to_string(seq) + ": byte " + std::to_string(i) + " is " +
           std::to_string(static_cast<unsigned>(payload[i])) + ", expected " +
           std::to_string(static_cast<unsigned>(pattern_byte(base, i)));
  };
  if (touch == Touch::edges) {
    if (payload[n - 1] != pattern_byte(base, n - 1)) return byte_error(n - 1);
    return std::nullopt;
  }
  const std::byte* p = payload.data();
  const std::size_t words = n / 8;
  // Accumulate differences without branching so the loop vectorises; look closer on a mismatch.
  std::uint64_t diff = 0;
  const std::size_t first = stamped ? 3 : 1;  // words 1 and 2 are the stamps
  std::uint64_t expected = word(base, first);
  auto check_word = [&](std::size_t k) {
    std::uint64_t w;
    std::memcpy(&w, p + 8 * k, 8);
    diff |= w ^ expected;
    expected += kGolden;
  };
  std::size_t k = first;
  for (; k < words && k % 8 != 0; ++k)
    check_word(k);
  for (; k + 8 <= words; k += 8) {  // as in fill_message: a line at a time, prefetching ahead
    if (8 * k + kPrefetchAhead < n) __builtin_prefetch(p + 8 * k + kPrefetchAhead, 0);
    for (std::size_t j = 0; j < 8; ++j)
      check_word(k + j);
  }
  for (; k < words; ++k)
    check_word(k);
  for (std::size_t i = words * 8; i < n; ++i) {
    diff |= static_cast<std::uint64_t>(p[i] ^ pattern_byte(base, i));
  }
  if (diff == 0) return std::nullopt;
  for (std::size_t i = 8 * first; i < n; ++i) {
    if (p[i] != pattern_byte(base, i)) return byte_error(i);
  }
  return std::nullopt;
}

}  // namespace ipcbench

// ---------------------------------------------------------------------------------------------
// The steps the scenarios are made of.

#include <time.h>

#include <fmt/format.h>

#include "base/wait.hpp"
#include "scenarios/scenario.hpp"

namespace ipcbench {

Result<void> send_message(Transport& t, std::size_t bytes, std::uint64_t seq, Direction dir,
                          Touch touch) {
  auto buffer = t.loan(bytes);
  if (!buffer) return std::unexpected(buffer.error());
  fill_message(*buffer, seq, dir, touch);
  return t.send(bytes);
}

Result<bool> receive_message(Transport& t, std::size_t bytes, std::uint64_t seq, Direction dir,
                             Touch touch) {
  auto message = t.receive();
  if (!message) return std::unexpected(message.error());
  if (message->size() == kStopBytes && message_sequence(*message) == kStopSequence) {
    t.release();
    return false;
  }
  auto wrong = check_message(*message, seq, bytes, dir, touch);
  t.release();
  if (wrong) return fail(Errc::protocol, "data check failed: " + *wrong);
  return true;
}

namespace {
// The stop message or the end of the warm-up, or nothing for any other message.
std::optional<Received> control_message(std::span<const std::byte> message) {
  if (message.size() != kStopBytes) return std::nullopt;
  const std::uint64_t marker = message_sequence(message);
  if (marker == kStopSequence) return Received::stop;
  if (marker == kWarmupEndSequence) return Received::warmup_end;
  return std::nullopt;
}
}  // namespace

Result<Received> receive_next(Transport& t, std::size_t bytes, std::uint64_t seq, Direction dir,
                              Touch touch, Stamps* stamps, ReceiveStamp* received) {
  auto message = t.receive();
  if (received) received->at = received->clock.now();
  if (!message) return std::unexpected(message.error());
  if (auto control = control_message(*message)) {
    t.release();
    return *control;
  }
  if (stamps) *stamps = read_stamps(*message);
  auto wrong = check_message(*message, seq, bytes, dir, touch, stamps != nullptr);
  t.release();
  if (wrong) return fail(Errc::protocol, "data check failed: " + *wrong);
  return Received::message;
}

Result<Received> receive_from_any(Transport& t, std::size_t bytes,
                                  std::span<const std::uint64_t> next, Direction dir, Touch touch,
                                  std::uint32_t& peer) {
  auto message = t.receive();
  if (!message) return std::unexpected(message.error());
  peer = t.peer();
  if (peer >= next.size()) {
    t.release();
    return fail(Errc::protocol,
                fmt::format("a message from consumer {}, of {} consumers", peer, next.size()));
  }
  if (auto control = control_message(*message)) {
    t.release();
    return *control;
  }
  auto wrong = check_message(*message, next[peer], bytes, dir, touch);
  t.release();
  if (wrong)
    return fail(Errc::protocol, fmt::format("data check failed: {} (consumer {})", *wrong, peer));
  return Received::message;
}

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

Result<void> send_warmup_end(Transport& t, Direction dir) {
  return send_message(t, kStopBytes, kWarmupEndSequence, dir, Touch::edges);
}

Result<std::uint64_t> warm_up(const ScenarioConfig& c,
                              const std::function<Result<void>(std::uint64_t)>& step) {
  const std::int64_t deadline =
      c.warmup_budget.count() > 0 ? monotonic_ns() + c.warmup_budget.count() : 0;
  std::uint64_t seq = 0;
  for (; seq < c.warmup; ++seq) {
    if (deadline && monotonic_ns() > deadline) break;
    if (auto ok = step(seq); !ok) return std::unexpected(ok.error());
  }
  return seq;
}

Result<void> round_trip(Transport& t, const ScenarioConfig& c, std::uint64_t seq,
                        std::string_view peer) {
  const std::size_t bytes = c.payload_bytes;
  if (auto ok = send_message(t, bytes, seq, Direction::request, c.touch); !ok) return ok;
  auto more = receive_message(t, bytes, seq, Direction::reply, c.touch);
  if (!more) return std::unexpected(more.error());
  if (!*more) return fail(Errc::protocol, fmt::format("the {} stopped early", peer));
  return {};
}

Result<void> end_phase(Transport& t, const ScenarioConfig& c, std::uint64_t seq,
                       std::string_view peer) {
  if (auto ok = send_warmup_end(t, Direction::request); !ok) return ok;
  auto echo = receive_next(t, c.payload_bytes, seq, Direction::reply, c.touch);
  if (!echo) return std::unexpected(echo.error());
  if (*echo != Received::warmup_end) {
    return fail(Errc::protocol, fmt::format("the {} did not echo the end of the warm-up", peer));
  }
  return {};
}

Result<std::uint64_t> timed_round_trips(Transport& t, const ScenarioConfig& c, const Clock& clock,
                                        std::uint64_t seq, std::uint64_t count,
                                        std::chrono::nanoseconds budget, Histogram* into,
                                        LatencyTimeline* timeline, Measurement& out,
                                        std::string_view peer) {
  const std::uint64_t budget_ticks =
      static_cast<std::uint64_t>(static_cast<double>(budget.count()) / clock.ns_per_tick());
  out.usage = process_usage();
  out.start_ns = monotonic_ns();
  const std::uint64_t first = clock.now();
  for (std::uint64_t i = 0; i < count; ++i) {
    const std::uint64_t t0 = clock.now();
    if (auto ok = round_trip(t, c, seq, peer); !ok) {
      out.end_ns = monotonic_ns();
      out.usage = process_usage() - out.usage;
      return std::unexpected(ok.error());
    }
    ++seq;  // before a break on the budget too: the caller goes on from the next one
    const std::uint64_t t1 = clock.now();
    if (into) into->record(clock.to_ns(t1 - t0));
    if (timeline) timeline->record(clock.to_ns(t1 - first), clock.to_ns(t1 - t0));
    out.count = i + 1;
    if (t1 - first > budget_ticks) break;
  }
  if (timeline) timeline->finish();
  out.end_ns = monotonic_ns();
  out.usage = process_usage() - out.usage;
  return seq;
}

Result<void> closed_loop(Transport& t, const ScenarioConfig& c, const Clock& clock,
                         Measurement& out, std::string_view peer) {
  auto warmed = warm_up(c, [&](std::uint64_t seq) { return round_trip(t, c, seq, peer); });
  if (!warmed) return std::unexpected(warmed.error());
  // The peer learns where the measured round trips begin, and says it has.
  if (auto ok = end_phase(t, c, *warmed, peer); !ok) return ok;
  auto done = timed_round_trips(t, c, clock, *warmed, c.count, c.budget, out.latency, out.timeline,
                                out, peer);
  if (!done) return std::unexpected(done.error());
  return stop_producer(t, c.payload_bytes);
}

Result<void> stop_producer(Transport& t, std::size_t bytes) {
  if (auto ok = send_stop(t); !ok) return ok;
  return receive_stop_echo(t, bytes);
}

Result<void> send_stop(Transport& t) {
  return send_message(t, kStopBytes, kStopSequence, Direction::request, Touch::edges);
}

Result<void> receive_stop_echo(Transport& t, std::size_t bytes) {
  auto more = receive_message(t, bytes, kStopSequence, Direction::reply, Touch::edges);
  if (!more) return std::unexpected(more.error());
  if (*more) return fail(Errc::protocol, "the consumer did not echo the stop message");
  return {};
}

Result<void> stop_consumer(Transport& t) {
  return send_message(t, kStopBytes, kStopSequence, Direction::reply, Touch::edges);
}

Result<void> stream_stopped_early(Transport& t, std::uint64_t measured, Measurement& out) {
  if (measured == 0) return fail(Errc::protocol, "stop message before the first measured one");
  out.end_ns = monotonic_ns();
  out.usage = process_usage() - out.usage;
  return stop_consumer(t);
}

}  // namespace ipcbench

// pingpong: round-trip time. The producer times each round trip with the calibrated clock (two
// reads per round trip, whose cost is measured at start and recorded in the results' context)
// and records it in a histogram; the mean comes from the batch's total time.
#include "base/wait.hpp"
#include "scenarios/scenario.hpp"

namespace ipcbench {

namespace {

Result<void> producer(Transport& t, const ScenarioConfig& c, const Clock& clock, Measurement& out) {
  const std::size_t bytes = c.payload_bytes;
  auto round_trip = [&](std::uint64_t seq) -> Result<void> {
    if (auto ok = send_message(t, bytes, seq, Direction::request, c.touch); !ok) return ok;
    auto more = receive_message(t, bytes, seq, Direction::reply, c.touch);
    if (!more) return std::unexpected(more.error());
    if (!*more) return fail(Errc::protocol, "the consumer stopped early");
    return {};
  };
  auto warmed = warm_up(c, round_trip);
  if (!warmed) return std::unexpected(warmed.error());
  std::uint64_t seq = *warmed;
  // The consumer learns where the measured round trips begin, and says it has.
  if (auto ok = send_warmup_end(t, Direction::request); !ok) return ok;
  auto echo = receive_next(t, bytes, seq, Direction::reply, c.touch);
  if (!echo) return std::unexpected(echo.error());
  if (*echo != Received::warmup_end) {
    return fail(Errc::protocol, "the consumer did not echo the end of the warm-up");
  }
  const std::uint64_t budget_ticks =
      static_cast<std::uint64_t>(static_cast<double>(c.budget.count()) / clock.ns_per_tick());
  out.usage = process_usage();
  out.start_ns = monotonic_ns();
  const std::uint64_t first = clock.now();
  for (std::uint64_t i = 0; i < c.count; ++i, ++seq) {
    const std::uint64_t t0 = clock.now();
    if (auto ok = round_trip(seq); !ok) {
      out.end_ns = monotonic_ns();
      out.usage = process_usage() - out.usage;
      return ok;
    }
    const std::uint64_t t1 = clock.now();
    if (out.latency) out.latency->record(clock.to_ns(t1 - t0));
    out.count = i + 1;
    if (t1 - first > budget_ticks) break;
  }
  out.end_ns = monotonic_ns();
  out.usage = process_usage() - out.usage;
  return stop_producer(t, bytes);
}

Result<void> consumer(Transport& t, const ScenarioConfig& c, Measurement& out) {
  const std::size_t bytes = c.payload_bytes;
  std::optional<std::uint64_t> first;  // the first measured round trip's sequence number
  for (std::uint64_t seq = 0;;) {
    auto got = receive_next(t, bytes, seq, Direction::request, c.touch);
    if (!got) return std::unexpected(got.error());
    if (*got == Received::stop) break;
    if (*got == Received::warmup_end) {
      if (first) return fail(Errc::protocol, "a second end of the warm-up");
      first = seq;
      if (auto ok = send_warmup_end(t, Direction::reply); !ok) return ok;
      out.usage = process_usage();
      out.start_ns = monotonic_ns();
      continue;
    }
    if (auto ok = send_message(t, bytes, seq, Direction::reply, c.touch); !ok) return ok;
    ++seq;
    if (first) out.count = seq - *first;
  }
  out.end_ns = monotonic_ns();
  out.usage = out.start_ns ? process_usage() - out.usage : ProcessUsage{};
  return stop_consumer(t);
}

}  // namespace

Result<void> run_pingpong(Role role, Transport& transport, const ScenarioConfig& config,
                          const Clock& clock, Measurement& out) {
  return role == Role::producer ? producer(transport, config, clock, out)
                                : consumer(transport, config, out);
}

Result<void> run_scenario(Scenario scenario, Role role, Transport& transport,
                          const ScenarioConfig& config, const Clock& clock, Measurement& out) {
  if (config.payload_bytes < kMinMessageBytes) {
    return fail(Errc::unsupported, "messages need at least 8 bytes (the sequence number)");
  }
  switch (scenario) {
    case Scenario::pingpong:
      return run_pingpong(role, transport, config, clock, out);
    case Scenario::throughput:
      return run_throughput(role, transport, config, out);
    case Scenario::rate:
      if (config.payload_bytes < kStampedMinBytes) {
        return fail(Errc::unsupported, "rate messages need at least 32 bytes (sequence, stamps)");
      }
      return run_rate(role, transport, config, clock, out);
    case Scenario::fanout: {
      if (config.payload_bytes < kStampedMinBytes) {
        return fail(Errc::unsupported, "fanout messages need at least 32 bytes (sequence, stamps)");
      }
      Transport* one = &transport;
      return run_fanout(role, std::span<Transport* const>(&one, 1), 1, config, clock, out);
    }
  }
  return fail(Errc::unsupported, "unknown scenario");
}

}  // namespace ipcbench

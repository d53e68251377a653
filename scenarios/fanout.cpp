// fanout: one producer, N consumers (scenario.hpp). The producer streams M messages, each to
// every consumer; the slowest consumer sets the pace (each channel's backpressure). Over N
// point-to-point channels it writes the message once and copies it into the other N - 1 loans,
// as an application with N sockets writes one buffer N times; over a multicast endpoint it
// publishes once. Each message carries its send time; each consumer checks every message and
// records receive - send. The stop message goes to every consumer and each echoes it.
#include <cstring>
#include <vector>

#include "scenarios/scenario.hpp"

namespace ipcbench {

namespace {

Result<void> producer(std::span<Transport* const> channels, unsigned consumers,
                      const ScenarioConfig& c, const Clock& clock, Measurement& out) {
  const std::size_t bytes = c.payload_bytes;
  // Every channel's loan first (one per endpoint), the message written into the first and copied
  // into the others, then each stamped and sent in turn.
  std::vector<std::span<std::byte>> loans(channels.size());
  auto send_to_all = [&](std::uint64_t seq) -> Result<void> {
    for (std::size_t k = 0; k < channels.size(); ++k) {
      auto buffer = channels[k]->loan(bytes);
      if (!buffer) return std::unexpected(buffer.error());
      loans[k] = *buffer;
    }
    fill_message(loans[0], seq, Direction::request, c.touch);
    for (std::size_t k = 1; k < channels.size(); ++k)
      std::memcpy(loans[k].data(), loans[0].data(), bytes);
    for (std::size_t k = 0; k < channels.size(); ++k) {
      const std::uint64_t now = clock.now();
      stamp_message(loans[k], {now, now});
      if (auto ok = channels[k]->send(bytes); !ok) return ok;
    }
    return {};
  };
  auto warmed = warm_up(c, send_to_all);
  if (!warmed) return std::unexpected(warmed.error());
  std::uint64_t seq = *warmed;
  for (Transport* t : channels) {  // over a multicast endpoint, once reaches every consumer
    if (auto ok = send_warmup_end(*t, Direction::request); !ok) return ok;
  }
  out.usage = process_usage();
  out.start_ns = monotonic_ns();
  const BudgetCheck budget(c, out.start_ns);
  for (std::uint64_t i = 0; i < c.count; ++i, ++seq) {
    if (auto ok = send_to_all(seq); !ok) {
      out.end_ns = monotonic_ns();
      out.usage = process_usage() - out.usage;
      return ok;
    }
    out.count = i + 1;
    if (budget.spent(i)) break;  // the harness checks every consumer got as many
  }
  out.end_ns = monotonic_ns();
  out.usage = process_usage() - out.usage;
  // The stop message to every consumer; then every consumer's echo (over a multicast endpoint,
  // N echoes arrive on the one endpoint).
  for (Transport* t : channels) {
    if (auto ok = send_message(*t, kStopBytes, kStopSequence, Direction::request, Touch::edges);
        !ok) {
      return ok;
    }
  }
  const unsigned echoes_per_channel = channels.size() == 1 ? consumers : 1;
  for (Transport* t : channels) {
    for (unsigned e = 0; e < echoes_per_channel; ++e) {
      auto more = receive_message(*t, bytes, kStopSequence, Direction::reply, Touch::edges);
      if (!more) return std::unexpected(more.error());
      if (*more) return fail(Errc::protocol, "a consumer did not echo the stop message");
    }
  }
  return {};
}

Result<void> consumer(Transport& t, const ScenarioConfig& c, const Clock& clock, Measurement& out) {
  const std::size_t bytes = c.payload_bytes;
  std::uint64_t seq = 0;
  Stamps stamps;
  for (;; ++seq) {  // the warm-up, until its end
    auto got = receive_next(t, bytes, seq, Direction::request, c.touch, &stamps);
    if (!got) return std::unexpected(got.error());
    if (*got == Received::warmup_end) break;
    if (*got == Received::stop) return fail(Errc::protocol, "stop message during the warm-up");
  }
  out.usage = process_usage();
  out.start_ns = monotonic_ns();
  ReceiveStamp now{clock};
  for (std::uint64_t measured = 0; measured < c.count; ++measured, ++seq) {
    auto got = receive_next(t, bytes, seq, Direction::request, c.touch, &stamps, &now);
    const std::uint64_t received = now.at;
    if (!got) {
      out.end_ns = monotonic_ns();
      return std::unexpected(got.error());
    }
    if (*got == Received::stop) return stream_stopped_early(t, measured, out);
    if (*got == Received::warmup_end) return fail(Errc::protocol, "a second end of the warm-up");
    if (received < stamps.sent) ++out.early;
    if (out.latency)
      out.latency->record(received >= stamps.sent ? clock.to_ns(received - stamps.sent) : 0);
    out.count = measured + 1;
  }
  out.end_ns = monotonic_ns();
  out.usage = process_usage() - out.usage;
  auto more = receive_message(t, bytes, kStopSequence, Direction::request, Touch::edges);
  if (!more) return std::unexpected(more.error());
  if (*more) return fail(Errc::protocol, "more messages than were sent");
  return stop_consumer(t);
}

}  // namespace

Result<void> run_fanout(Role role, std::span<Transport* const> channels, unsigned consumers,
                        const ScenarioConfig& config, const Clock& clock, Measurement& out) {
  if (config.payload_bytes < kStampedMinBytes) {
    return fail(Errc::unsupported, "fanout messages need at least 32 bytes (sequence, stamps)");
  }
  if (role == Role::producer) return producer(channels, consumers, config, clock, out);
  return consumer(*channels.front(), config, clock, out);
}

}  // namespace ipcbench

// throughput: the producer streams messages as fast as the transport takes them; the consumer
// checks each. The producer stops early when its time budget has passed (ScenarioConfig::budget);
// the stop message then ends the consumer's stream, and the harness checks that the consumer
// checked as many messages as the producer sent. The producer's phase runs from before its first
// measured send to after its last; the consumer's ends when the last measured message has been
// checked. The harness reports the rate at both ends, and end to end (producer's start to
// consumer's end, one shared clock).
#include "base/wait.hpp"
#include "scenarios/scenario.hpp"

namespace ipcbench {

namespace {

Result<void> producer(Transport& t, const ScenarioConfig& c, Measurement& out) {
  const std::size_t bytes = c.payload_bytes;
  auto warmed = warm_up(c, [&](std::uint64_t seq) {
    return send_message(t, bytes, seq, Direction::request, c.touch);
  });
  if (!warmed) return std::unexpected(warmed.error());
  std::uint64_t seq = *warmed;
  if (auto ok = send_warmup_end(t, Direction::request); !ok) return ok;
  out.usage = process_usage();
  out.start_ns = monotonic_ns();
  const BudgetCheck budget(c, out.start_ns);
  for (std::uint64_t i = 0; i < c.count; ++i, ++seq) {
    if (auto ok = send_message(t, bytes, seq, Direction::request, c.touch); !ok) {
      out.end_ns = monotonic_ns();
      out.usage = process_usage() - out.usage;
      return ok;
    }
    out.count = i + 1;
    if (budget.spent(i)) break;
  }
  out.end_ns = monotonic_ns();
  out.usage = process_usage() - out.usage;
  return stop_producer(t, bytes);
}

Result<void> consumer(Transport& t, const ScenarioConfig& c, Measurement& out) {
  const std::size_t bytes = c.payload_bytes;
  std::uint64_t seq = 0;
  for (;; ++seq) {  // the warm-up, until its end
    auto got = receive_next(t, bytes, seq, Direction::request, c.touch);
    if (!got) return std::unexpected(got.error());
    if (*got == Received::warmup_end) break;
    if (*got == Received::stop) return fail(Errc::protocol, "stop message during the warm-up");
  }
  out.usage = process_usage();
  out.start_ns = monotonic_ns();
  for (std::uint64_t measured = 0; measured < c.count; ++measured, ++seq) {
    auto got = receive_next(t, bytes, seq, Direction::request, c.touch);
    if (!got) {
      out.end_ns = monotonic_ns();
      return std::unexpected(got.error());
    }
    if (*got == Received::stop) return stream_stopped_early(t, measured, out);
    if (*got == Received::warmup_end) return fail(Errc::protocol, "a second end of the warm-up");
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

Result<void> run_throughput(Role role, Transport& transport, const ScenarioConfig& config,
                            Measurement& out) {
  return role == Role::producer ? producer(transport, config, out)
                                : consumer(transport, config, out);
}

}  // namespace ipcbench

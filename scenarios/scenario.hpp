// The scenarios: what the producer and the consumer process do with a transport. Every transport
// is measured by this same code, through the Transport interface only.
//
// - pingpong: the producer sends a message of S bytes, the consumer checks it and answers with S
//   bytes, the producer checks the answer. Warm-up, then N round trips (or until the time budget
//   is spent), each timed into a histogram: round-trip time (RTT), always.
// - throughput: the producer streams M messages of S bytes as fast as the transport takes them
//   (or until the time budget is spent), the consumer checks each. Timed at both ends.
// - rate: open loop. The producer sends at a fixed offered rate R on a schedule of intended
//   times (t0 + i/R), stamping each message with its intended and actual send time; the consumer
//   records receive - intended (so a stall is charged to every message it delays: no coordinated
//   omission) and receive - sent, one-way, on the clock both workers share. R = 0 sends as fast
//   as the transport takes messages. A producer that falls behind keeps sending, late.
// - fanout: one producer, N consumers. The producer streams M messages of S bytes, each to every
//   consumer: once over a multicast endpoint, or N times over N point-to-point endpoints; every
//   consumer checks every message and records its one-way time (receive - send). The budget
//   stops it early, as it does throughput.
// - reqresp: N clients, one server. Each client runs pingpong's closed loop over a channel of its
//   own and times its round trips; the server answers every one from one thread (one channel:
//   receive(); more: one epoll over their readable_fd()).
// All end with a stop message the consumer echoes, so that neither side tears the channel down
// while the other still needs it.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string_view>

#include "base/clock.hpp"
#include "base/histogram.hpp"
#include "base/timeline.hpp"
#include "scenarios/message.hpp"
#include "transports/transport.hpp"

namespace ipcbench {

// A scenario is its row in the registry (scenarios/registry.hpp): one file of scenarios/ each.
struct ScenarioInfo;
using Scenario = const ScenarioInfo*;
std::string_view to_string(Scenario scenario);  // its name
std::optional<Scenario> parse_scenario(std::string_view text);

struct ScenarioConfig {
  std::size_t payload_bytes = 64;  // at least kMinMessageBytes
  std::uint64_t warmup = 0;        // round trips or messages before measuring, at most
  // ... and for at most this long (0: no bound): a slow transport's warm-up need not take long.
  std::chrono::nanoseconds warmup_budget{0};
  std::uint64_t count = 1;  // round trips (pingpong) or messages (throughput) measured
  // pingpong, throughput, fanout: the producer stops measuring after this (the consumers see the
  // stop message early; the harness checks they checked every message the producer sent).
  std::chrono::nanoseconds budget = std::chrono::seconds(10);
  Touch touch = Touch::full;
  double rate_per_s = 0;  // rate: the offered rate; 0 = as fast as the transport takes them
  std::chrono::nanoseconds duration = std::chrono::seconds(3);  // rate: the measured phase
  // rate: how the producer waits for a message's send time. false: sleeps while it is far away
  // (a sleep may wake late, and that lateness is charged, as an application's timer's would be),
  // spinning the last 200 us; true: spins on the clock all the way (the spin wait mode: it never
  // sleeps, here either).
  bool pace_by_spinning = false;
};

// What one process measured. Filled as the scenario goes, so a failure keeps what was done.
struct Measurement {
  std::uint64_t count = 0;         // measured round trips / messages, every one checked
  std::int64_t start_ns = 0;       // CLOCK_MONOTONIC: start of the measured phase
  std::int64_t end_ns = 0;         // CLOCK_MONOTONIC: end of the measured phase
  ProcessUsage usage;              // this process's CPU time and context switches over it
  Histogram* latency = nullptr;    // pingpong producer: each RTT in ns (set by the caller);
                                   // rate consumer: receive - intended send, ns
  Histogram* from_sent = nullptr;  // rate consumer: receive - actual send, ns
  // pingpong producer: each RTT by when it ended, per window of time (set by the caller)
  LatencyTimeline* timeline = nullptr;
  std::uint64_t behind = 0;      // rate producer: messages behind schedule at its last send
  std::uint64_t early = 0;       // rate consumer: messages received "before" they were sent
                                 // (the two CPUs' clocks disagree by more than the latency)
  std::uint64_t lost = 0;        // overload consumer: messages missing from the sequence
  std::uint64_t late = 0;        // overload consumer: received over 1 ms after intended
  std::uint64_t blocked_ns = 0;  // overload producer: time inside loan() and send()
};

// Runs `scenario`'s side, after checking the message is large enough for it: a producer over its
// channels (one, or one per consumer for a fan-out over point-to-point channels) to `consumers`
// consumers, a consumer over its one.
Result<void> run_scenario(Scenario scenario, Role role, std::span<Transport* const> channels,
                          unsigned consumers, const ScenarioConfig& config, const Clock& clock,
                          Measurement& out);
// ... over one channel to one consumer.
Result<void> run_scenario(Scenario scenario, Role role, Transport& transport,
                          const ScenarioConfig& config, const Clock& clock, Measurement& out);

// --- pieces the scenarios share (scenarios/message.cpp) ---

// Has a stream's time budget been spent since `start_ns`? Reads the clock every message of 4 KiB
// or more, else every 64th (a clock read per 64-byte message would cost a few percent).
class BudgetCheck {
 public:
  BudgetCheck(const ScenarioConfig& c, std::int64_t start_ns)
      : m_deadline(start_ns + c.budget.count()), m_every(c.payload_bytes >= 4096 ? 1 : 64) {}
  bool spent(std::uint64_t i) const {
    return (i + 1) % m_every == 0 && monotonic_ns() > m_deadline;
  }

 private:
  std::int64_t m_deadline;
  std::uint64_t m_every;
};

Result<void> send_message(Transport& t, std::size_t bytes, std::uint64_t seq, Direction dir,
                          Touch touch);
// Receives the next message and checks it is `seq`; returns false when it is the stop message.
Result<bool> receive_message(Transport& t, std::size_t bytes, std::uint64_t seq, Direction dir,
                             Touch touch);

// What a receiver in a scenario with a warm-up can get next.
enum class Received : std::uint8_t { message, stop, warmup_end };
// Receives the next message: message `seq` (checked; `stamps`, when given, gets its stamps and
// they are left out of the check), the stop message, or the end of the warm-up. `received`, when
// given, gets `clock`'s reading as soon as the message is there (before the check).
struct ReceiveStamp {
  const Clock& clock;
  std::uint64_t at = 0;
};
Result<Received> receive_next(Transport& t, std::size_t bytes, std::uint64_t seq, Direction dir,
                              Touch touch, Stamps* stamps = nullptr,
                              ReceiveStamp* received = nullptr);
// On a schedule (rate, overload): waits until `clock` reads `when`, sleeping while it is far away
// (a sleep wakes tens of microseconds late) and spinning the last stretch; with `spin`, spinning
// all the way.
void wait_until_tick(const Clock& clock, std::uint64_t when, bool spin);
// Sends message `seq` of `bytes` stamped with its intended send time and the actual one.
Result<void> send_stamped(Transport& t, std::size_t bytes, std::uint64_t seq, Touch touch,
                          std::uint64_t intended, const Clock& clock);
// A fan-in producer's receive (Endpoint::fan_in): the next message from any consumer, checked
// against next[its peer()], the sequence that consumer's next message carries; `peer` gets whose
// it is.
Result<Received> receive_from_any(Transport& t, std::size_t bytes,
                                  std::span<const std::uint64_t> next, Direction dir, Touch touch,
                                  std::uint32_t& peer);
// Sends the end of the warm-up.
Result<void> send_warmup_end(Transport& t, Direction dir);
// The producer's warm-up: `step(seq)` for seq = 0, 1, ... until c.warmup steps are done or
// c.warmup_budget has passed (a bound, checked between steps). The number of steps done.
Result<std::uint64_t> warm_up(const ScenarioConfig& c,
                              const std::function<Result<void>(std::uint64_t)>& step);
// A closed loop over `t` (pingpong's producer, a reqresp client; `peer` names the other side in
// errors): the warm-up's round trips, its end (which the peer echoes), the measured round trips,
// each timed into out.latency (and out.timeline), until c.count or c.budget, and the stop.
Result<void> closed_loop(Transport& t, const ScenarioConfig& c, const Clock& clock,
                         Measurement& out, std::string_view peer);
// Its steps. One round trip: request `seq`, its reply, both checked.
Result<void> round_trip(Transport& t, const ScenarioConfig& c, std::uint64_t seq,
                        std::string_view peer);
// The end of the warm-up (or another phase), which the peer echoes; `seq` is the next message's.
Result<void> end_phase(Transport& t, const ScenarioConfig& c, std::uint64_t seq,
                       std::string_view peer);
// Round trips from `seq` on, each timed into `into` (and `timeline`), until `count` or `budget`;
// out.count, start_ns, end_ns and usage cover them. The next sequence number.
Result<std::uint64_t> timed_round_trips(Transport& t, const ScenarioConfig& c, const Clock& clock,
                                        std::uint64_t seq, std::uint64_t count,
                                        std::chrono::nanoseconds budget, Histogram* into,
                                        LatencyTimeline* timeline, Measurement& out,
                                        std::string_view peer);
// Producer: sends the stop message and waits for the consumer's echo (the two halves below).
Result<void> stop_producer(Transport& t, std::size_t bytes);
Result<void> send_stop(Transport& t);
// The consumer's echo of the stop, the next message; any other is a protocol error.
Result<void> receive_stop_echo(Transport& t, std::size_t bytes);
// Consumer: echoes the stop message.
Result<void> stop_consumer(Transport& t);
// A stream's consumer (throughput, fanout) that meets the stop message after `measured` measured
// messages, fewer than it was told: the producer's budget ran out. Ends the measured phase and
// echoes the stop; an error if no measured message came first (the producer sends at least one).
// The harness checks the count.
Result<void> stream_stopped_early(Transport& t, std::uint64_t measured, Measurement& out);

}  // namespace ipcbench

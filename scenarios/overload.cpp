// overload: a producer that offers twice what its consumer takes. The consumer works
// kWorkNs on each message (its pace: kConsumerPace messages/s); the producer keeps rate's
// schedule at twice that (open loop: when the transport holds it up, it sends at once when let,
// never skipping a message). What the transport does with the excess is the result:
// - a transport that drops (--set zerocopy.drop=1, udp.credit=0, cyclonedds.drop=1,
//   fastdds.drop=1, nng.drop=1) delivers some and loses the others: the consumer's sequence check
//   counts every gap, and the producer's count of what it sent gives the messages lost after the
//   consumer's last one as well;
// - a transport with backpressure holds the producer back: its time inside send() is reported,
//   and the messages it delivers come ever later after their intended send time.
// Every delivered message is checked (its content for its own sequence number); a message that
// comes again or out of order fails the cell.
//
// The stop may be lost as well, on a transport that drops the newest message when the consumer's
// queue is full (udp with --set udp.credit=0, nng with nng.drop=1; zerocopy's safe overflow and a
// DDS keep-last history drop the oldest, which a stop never is): on a pollable transport the
// producer sends it again when no echo came within 10 ms, then 100 ms, then 1 s, at most four stops
// in all (the consumer echoes the first and leaves the rest unread: four fit any queue,
// Endpoint::queue_depth being at least that), and then waits for the echo as every scenario does.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <optional>

#include <fmt/format.h>

#include "base/poll.hpp"
#include "base/wait.hpp"
#include "scenarios/defaults.hpp"
#include "scenarios/registry.hpp"

namespace ipcbench {

namespace {

// The consumer's work per message, and so its pace; the producer offers twice that.
constexpr std::int64_t kWorkNs = 50'000;
constexpr double kConsumerPace = 1e9 / static_cast<double>(kWorkNs);
constexpr double kOverloadFactor = 2;
constexpr double kOffered = kConsumerPace * kOverloadFactor;
// A delivered message is late when it arrives more than this after its intended send time.
constexpr std::int64_t kLateNs = 1'000'000;

// The producer's stop, sent again while no echo comes (see the top).
Result<void> stop_tolerating_loss(Transport& t, std::size_t bytes) {
  const int fd = t.readable_fd();
  for (const int wait_ms : {10, 100, 1000}) {
    if (fd < 0) break;
    if (auto ok = send_stop(t); !ok) return ok;
    const std::int64_t until = monotonic_ns() + std::int64_t{wait_ms} * 1'000'000;
    for (std::int64_t left = until - monotonic_ns(); left > 0; left = until - monotonic_ns()) {
      auto ready = poll_one(fd, POLLIN, std::chrono::milliseconds((left + 999'999) / 1'000'000),
                            "no echo of the stop");
      if (!ready) {
        if (ready.error().code == Errc::timeout) break;
        return ready;
      }
      // A readiness may have nothing behind it (base/wait.hpp's OneTry).
      OneTry one_try;
      auto echo = receive_stop_echo(t, bytes);
      if (!echo && one_try.found_nothing()) continue;
      return echo;
    }
  }
  return stop_producer(t, bytes);
}

Result<void> producer(Transport& t, const ScenarioConfig& c, const Clock& clock, Measurement& out) {
  const double ticks_per_s = 1e9 / clock.ns_per_tick();
  const double period = ticks_per_s / c.rate_per_s;
  const auto duration_ticks =
      static_cast<std::uint64_t>(static_cast<double>(c.duration.count()) / clock.ns_per_tick());
  const std::uint64_t t0 = clock.now() + static_cast<std::uint64_t>(ticks_per_s / 1000);
  std::uint64_t measured_from = 0;
  std::uint64_t blocked_ticks = 0;
  std::uint64_t lag = 0;
  for (std::uint64_t seq = 0;; ++seq) {
    const std::uint64_t intended =
        t0 + static_cast<std::uint64_t>(static_cast<double>(seq) * period);
    if (seq == c.warmup) {
      measured_from = intended;
      out.usage = process_usage();
      out.start_ns = monotonic_ns();
    }
    if (seq >= c.warmup && intended - measured_from >= duration_ticks) break;
    wait_until_tick(clock, intended, c.pace_by_spinning);
    const std::uint64_t before = clock.now();
    lag = before > intended ? before - intended : 0;
    auto sent = send_stamped(t, c.payload_bytes, seq, c.touch, intended, clock);
    if (seq >= c.warmup) blocked_ticks += clock.now() - before;
    if (!sent) {
      out.end_ns = monotonic_ns();
      if (seq >= c.warmup) out.usage = process_usage() - out.usage;
      return sent;
    }
    if (seq >= c.warmup) out.count = seq - c.warmup + 1;
  }
  out.end_ns = monotonic_ns();
  out.usage = process_usage() - out.usage;
  out.blocked_ns = clock.to_ns(blocked_ticks);
  out.behind = static_cast<std::uint64_t>(static_cast<double>(lag) / period);
  return stop_tolerating_loss(t, c.payload_bytes);
}

// Spins for the consumer's work on one message (it is busy, not asleep: what a consumer that
// processes each message does).
void work(const Clock& clock) {
  const auto ticks = static_cast<std::uint64_t>(static_cast<double>(kWorkNs) / clock.ns_per_tick());
  for (const std::uint64_t until = clock.now() + ticks; clock.now() < until;)
    cpu_relax();
}

Result<void> consumer(Transport& t, const ScenarioConfig& c, const Clock& clock, Measurement& out) {
  std::uint64_t expected = 0;  // the sequence number the next message carries if none is lost
  std::uint64_t first = 0;     // when the first measured message came (the timeline's origin)
  for (;;) {
    auto message = t.receive();
    const std::uint64_t received = clock.now();
    if (!message) {
      out.end_ns = monotonic_ns();
      return std::unexpected(message.error());
    }
    if (message->size() == kStopBytes && message_sequence(*message) == kStopSequence) {
      t.release();
      break;
    }
    const std::uint64_t seq = message_sequence(*message);
    const Stamps stamps = read_stamps(*message);
    auto wrong = check_message(*message, seq, c.payload_bytes, Direction::request, c.touch, true);
    t.release();
    if (wrong) return fail(Errc::protocol, "data check failed: " + *wrong);
    if (seq < expected) {
      return fail(Errc::protocol, fmt::format("message {} came after message {}: duplicated or "
                                              "reordered",
                                              seq, expected - 1));
    }
    // The gap before it, as far as it falls in the measured phase.
    const std::uint64_t from = std::max(expected, c.warmup);
    if (seq > from) out.lost += seq - from;
    expected = seq + 1;
    if (seq >= c.warmup) {
      if (out.count == 0) {
        out.usage = process_usage();
        out.start_ns = monotonic_ns();
        first = received;
      }
      const std::uint64_t one_way =
          received >= stamps.intended ? clock.to_ns(received - stamps.intended) : 0;
      if (out.latency) out.latency->record(one_way);
      if (out.timeline) out.timeline->record(clock.to_ns(received - first), one_way);
      if (static_cast<std::int64_t>(one_way) > kLateNs) ++out.late;
      ++out.count;
    }
    work(clock);
  }
  if (out.timeline) out.timeline->finish();
  out.end_ns = monotonic_ns();
  out.usage = out.start_ns ? process_usage() - out.usage : ProcessUsage{};
  return stop_consumer(t);
}

constexpr std::size_t kDefaultSizeList[] = {kDefaultPingpongBytes};
constexpr Touch kDefaultTouchModes[] = {Touch::full};

void defaults(const ScenarioOptions& o, std::size_t, ScenarioConfig& c) {
  c.count = o.messages.value_or(o.quick ? kQuickMessages : kDefaultMessages);
  c.warmup = o.warmup.value_or(o.quick ? kQuickPingpongWarmup : kDefaultPingpongWarmup);
}

// One cell: the offered rate, measured for the duration after a fifth of a second of warm-up.
std::vector<Variant> variants(const ScenarioOptions& o, const Variant& base, WaitMode,
                              std::size_t) {
  Variant v = base;
  v.config.rate_per_s = kOffered;
  v.config.duration = o.duration;
  v.config.warmup = o.warmup.value_or(static_cast<std::uint64_t>(kOffered * kRateWarmupSeconds));
  v.config.count =
      static_cast<std::uint64_t>(kOffered * std::chrono::duration<double>(o.duration).count());
  return {v};
}

// The offered rate over the consumer's pace.
std::string name_suffix(const Variant&) {
  return fmt::format("/{:g}x", kOverloadFactor);
}

double longest_phase_s(const ScenarioOptions& o) {
  return std::chrono::duration<double>(o.duration).count() + kRateWarmupSeconds;
}

constexpr FigureSpec kFigures[] = {
    {"offered_rate", "messages/s the producer offers", "1/s", Better::higher},
    {"consumer_pace", "messages/s the consumer takes at most (its work per message)", "1/s",
     Better::higher},
    {"sent", "messages the producer sent while measuring", "", Better::higher, FigureForm::whole},
    {"delivered", "of those, the messages the consumer received and checked", "", Better::higher,
     FigureForm::whole},
    {"lost", "sent - delivered", "", Better::lower, FigureForm::whole},
    {"lost_in_sequence", "the gaps the consumer's sequence check counted", "", Better::lower,
     FigureForm::whole},
    {"lost_fraction", "lost / sent", "", Better::lower},
    {"late", "delivered more than 1 ms after their intended send time", "", Better::lower,
     FigureForm::whole},
    {"late_fraction", "late / delivered", "", Better::lower},
    {"blocked_fraction", "the producer's time inside loan() and send() / its measured time", "",
     Better::lower},
    {"sent_rate", "messages/s sent", "1/s", Better::higher},
    {"delivered_rate", "messages/s delivered", "1/s", Better::higher},
    {"p50_ns", "delivered one-way p50, from the intended send time", "ns", Better::lower,
     FigureForm::whole},
    {"p99_ns", "delivered one-way p99, from the intended send time", "ns", Better::lower,
     FigureForm::whole},
};

CellOutcome outcome(const CellInputs& in) {
  const SideReport& p = in.producer;
  const SideReport& c = in.consumers.front();
  const auto sent = static_cast<double>(p.count);
  const auto delivered = static_cast<double>(c.count);
  const double lost = std::max(0.0, sent - delivered);
  const double p_ns = static_cast<double>(p.end_ns - p.start_ns);
  const double c_ns = static_cast<double>(c.end_ns - c.start_ns);
  const Histogram one_way = histogram_of(c.latency);
  CellOutcome o;
  o.latency_histogram = c.latency;
  o.iterations = delivered;
  o.delivered = delivered;
  o.real_time = one_way.mean();
  o.cpu_time = delivered > 0 ? static_cast<double>(p.cpu_ns + c.cpu_ns) / delivered : 0;
  Figures& f = o.figures;
  f.set("offered_rate", in.config.rate_per_s);
  f.set("consumer_pace", kConsumerPace);
  f.set("sent", sent);
  f.set("delivered", delivered);
  f.set("lost", lost);
  f.set("lost_in_sequence", static_cast<double>(c.lost));
  f.set("lost_fraction", sent > 0 ? lost / sent : 0);
  f.set("late", static_cast<double>(c.late));
  f.set("late_fraction", delivered > 0 ? static_cast<double>(c.late) / delivered : 0);
  f.set("blocked_fraction", p_ns > 0 ? static_cast<double>(p.blocked_ns) / p_ns : 0);
  f.set("sent_rate", p_ns > 0 ? sent * 1e9 / p_ns : 0);
  f.set("delivered_rate", c_ns > 0 ? delivered * 1e9 / c_ns : 0);
  f.set("p50_ns", static_cast<double>(one_way.percentile(50)));
  f.set("p99_ns", static_cast<double>(one_way.percentile(99)));
  return o;
}

constexpr Key kKeys[] = {Key::transport, Key::wait, Key::size};
constexpr Column kColumns[] = {
    {"offered", "msgs/s", Show::median, Format::rate, Source::figure, "offered_rate"},
    {"sent", "msgs/s", Show::median, Format::rate, Source::figure, "sent_rate"},
    {"delivered", "msgs/s", Show::interval, Format::rate, Source::figure, "delivered_rate"},
    {"lost", "", Show::median, Format::percent, Source::figure, "lost_fraction"},
    {"lost in sequence", "", Show::median, Format::whole, Source::figure, "lost_in_sequence"},
    {"late", "", Show::median, Format::percent, Source::figure, "late_fraction"},
    {"producer blocked", "", Show::median, Format::percent, Source::figure, "blocked_fraction"},
    {"one-way p50", "ns", Show::median, Format::ns, Source::figure, "p50_ns"},
    {"one-way p99", "ns", Show::median, Format::ns, Source::figure, "p99_ns"},
    {"CPU per msg", "ns", Show::median, Format::ns, Source::cpu_time},
    {"peak RSS", "bytes", Show::median, Format::bytes, Source::peak_rss},
    {"shared memory", "bytes", Show::median, Format::bytes, Source::shared},
};

constexpr SummaryField kSummary[] = {
    {"delivered_rate", Summarize::interval}, {"lost_fraction", Summarize::median},
    {"late_fraction", Summarize::median},    {"blocked_fraction", Summarize::median},
    {"p99_ns", Summarize::median},
};

}  // namespace

// overload: a producer offering twice what its consumer takes.
extern const ScenarioInfo kOverload{
    .name = "overload",
    .description = "a producer offering twice what its consumer takes: lost, late, blocked",
    .default_sizes = kDefaultSizeList,
    .default_touches = kDefaultTouchModes,
    .defaults = defaults,
    .variants = variants,
    .name_suffix = name_suffix,
    .stamped = true,
    .on_schedule = true,
    .longest_phase_s = longest_phase_s,
    .timed_warmup = false,
    .run = one_channel_side<producer, consumer>,
    .records = {.consumer_latency = true},
    .figures = kFigures,
    .outcome = outcome,
    .key_figure = "delivered_rate",
    .table =
        {
            .heading = "a producer offering twice what the consumer takes",
            .keys = kKeys,
            .text_keys = 2,
            .columns = kColumns,
            .order_by = "delivered_rate",
            .note =
                "The consumer works 50 us on each message (it takes at most 20,000 messages/s); "
                "the producer offers 40,000/s on a schedule and, when the transport holds it "
                "back, sends at once when let, never skipping. sent, delivered = messages per "
                "second while measuring; lost = (sent - delivered) / sent: a transport that "
                "drops (zerocopy.drop=1, udp.credit=0, cyclonedds.drop=1, fastdds.drop=1, "
                "nng.drop=1) "
                "loses "
                "them, and the "
                "consumer's sequence check counts each gap (lost in sequence; the rest were lost "
                "after its last message); late = delivered more than 1 ms after the intended send "
                "time; "
                "producer blocked = its time inside loan() and send(): a transport with "
                "backpressure holds it back instead. one-way = receive - intended send time, of "
                "the delivered messages.\n",
        },
    .summary = kSummary,
    .compare_heading =
        "overload: messages/s delivered at twice the consumer's pace (higher is better)",
    .compare_format = CompareFormat::per_s,
    .compare_rank = 5,
    .compare_floor_figure = "p50_ns",
    .compare_floor = OverFloor::one_way,
    .time_kind = TimeKind::schedule,
};

}  // namespace ipcbench

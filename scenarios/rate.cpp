// rate: open-loop one-way latency at a fixed offered rate (scenario.hpp). The producer keeps a
// schedule of intended send times, t0 + i/R, and sends each message at its time or, when it is
// behind (the transport held it up), at once: never at a lower rate, never skipping. Each message
// carries its intended and actual send time; the consumer charges receive - intended to the
// histogram, as wrk2 and Aeron's load-test rig do, so that one stall shows in every message it
// delayed, and records receive - sent beside it. R = 0 ("max") sends back to back: then the two
// are the same. Both workers read one clock (the TSC where it is invariant, else
// CLOCK_MONOTONIC); how far apart two CPUs read it is measured by the conductor and recorded.
#include <time.h>

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "base/wait.hpp"
#include "scenarios/defaults.hpp"
#include "scenarios/registry.hpp"

namespace ipcbench {

namespace {

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
  std::uint64_t first = 0;  // when the first measured message came (the timeline's origin)
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
    if (seq == c.warmup) first = received;
    if (out.timeline) out.timeline->record(clock.to_ns(received - first), one_way(stamps.intended));
    out.count = seq - c.warmup + 1;
  }
  if (out.timeline) out.timeline->finish();
  out.end_ns = monotonic_ns();
  out.usage = out.start_ns ? process_usage() - out.usage : ProcessUsage{};
  return stop_consumer(t);
}

}  // namespace

namespace {

constexpr std::size_t kDefaultSizeList[] = {kDefaultPingpongBytes};
constexpr Touch kDefaultTouchModes[] = {Touch::full};

void defaults(const ScenarioOptions& o, std::size_t, ScenarioConfig& c) {
  c.count = o.messages.value_or(o.quick ? kQuickMessages : kDefaultMessages);
  c.warmup = o.warmup.value_or(o.quick ? kQuickPingpongWarmup : kDefaultPingpongWarmup);
}

// A cell at each offered rate: measured for the duration, after a warm-up of a fifth of a second
// of its schedule (1000 messages at max).
std::vector<Variant> variants(const ScenarioOptions& o, const Variant& base, WaitMode,
                              std::size_t) {
  std::vector<Variant> out;
  for (double rate : o.rates) {
    Variant v = base;
    v.config.rate_per_s = rate;
    v.config.duration = o.duration;
    v.config.warmup = o.warmup.value_or(
        rate > 0 ? std::max<std::uint64_t>(
                       1, static_cast<std::uint64_t>(std::ceil(rate * kRateWarmupSeconds)))
                 : 1000);
    v.config.count =
        rate > 0
            ? static_cast<std::uint64_t>(rate * std::chrono::duration<double>(o.duration).count())
            : 0;
    out.push_back(std::move(v));
  }
  return out;
}

// The duration after a warm-up of a fifth of a second (or one message at the slowest rate).
double longest_phase_s(const ScenarioOptions& o) {
  double warmup = kRateWarmupSeconds;
  for (double rate : o.rates) {
    if (rate > 0) warmup = std::max(warmup, 1 / rate);
  }
  return std::chrono::duration<double>(o.duration).count() + warmup;
}

std::string name_suffix(const Variant& v) {
  return v.config.rate_per_s > 0 ? fmt::format("/{:.0f}", v.config.rate_per_s) : "/max";
}

constexpr FigureSpec kFigures[] = {
    {"offered_rate", "offered msgs/s (0: max)", "1/s", Better::higher},
    {"achieved_rate", "achieved msgs/s", "1/s", Better::higher},
    {"behind_schedule", "messages behind schedule at the last send", "", Better::lower},
    {"early", "messages received before they were sent (clock skew)", "", Better::lower},
    {"sustained", "the schedule kept", "", Better::higher, FigureForm::flag, 1},
    {"p50_ns", "one-way p50", "ns", Better::lower, FigureForm::whole},
    {"p90_ns", "one-way p90", "ns", Better::lower, FigureForm::whole},
    {"p99_ns", "one-way p99", "ns", Better::lower, FigureForm::whole},
    {"p999_ns", "one-way p99.9", "ns", Better::lower, FigureForm::whole},
    {"max_ns", "one-way max", "ns", Better::lower, FigureForm::whole},
    {"mean_ns", "one-way mean", "ns", Better::lower},
    {"sent_p50_ns", "from send p50", "ns", Better::lower, FigureForm::whole},
    {"sent_p99_ns", "from send p99", "ns", Better::lower, FigureForm::whole},
    {"sent_p999_ns", "from send p99.9", "ns", Better::lower, FigureForm::whole},
    {"sent_max_ns", "from send max", "ns", Better::lower, FigureForm::whole},
    {"cpu_cores", "both workers' CPU time / end-to-end time", "", Better::lower},
};

// The consumer saw every message's journey; the producer kept (or not) the schedule.
CellOutcome outcome(const CellInputs& in) {
  const SideReport& p = in.producer;
  const SideReport& c = in.consumers.front();
  const double offered = in.config.rate_per_s;
  const auto cpu = static_cast<double>(p.cpu_ns) + static_cast<double>(c.cpu_ns);
  const auto count = static_cast<double>(c.count);
  const double p_ns = static_cast<double>(p.end_ns) - static_cast<double>(p.start_ns);
  const double e2e_ns = static_cast<double>(c.end_ns) - static_cast<double>(p.start_ns);
  const Histogram intended = histogram_of(c.latency);
  const Histogram sent = histogram_of(c.latency_sent);
  CellOutcome o;
  o.latency_histogram = c.latency;
  o.latency_histogram_sent = c.latency_sent;
  o.iterations = count;
  o.real_time = intended.mean();
  o.cpu_time = count > 0 ? cpu / count : 0;
  const double achieved = p_ns > 0 ? static_cast<double>(p.count) * 1e9 / p_ns : 0;
  const auto behind = static_cast<double>(p.behind);
  Figures& f = o.figures;
  f.set("offered_rate", offered);
  f.set("achieved_rate", achieved);
  f.set("behind_schedule", behind);
  f.set("early", static_cast<double>(c.early));
  // Sustained: nearly the offered rate, and the last send at most 1 ms late.
  f.set("sustained",
        offered <= 0 || (achieved >= 0.97 * offered && behind <= std::max(1.0, offered * 1e-3)));
  f.set("p50_ns", static_cast<double>(intended.percentile(50)));
  f.set("p90_ns", static_cast<double>(intended.percentile(90)));
  f.set("p99_ns", static_cast<double>(intended.percentile(99)));
  f.set("p999_ns", static_cast<double>(intended.percentile(99.9)));
  f.set("max_ns", static_cast<double>(intended.max()));
  f.set("mean_ns", intended.mean());
  f.set("sent_p50_ns", static_cast<double>(sent.percentile(50)));
  f.set("sent_p99_ns", static_cast<double>(sent.percentile(99)));
  f.set("sent_p999_ns", static_cast<double>(sent.percentile(99.9)));
  f.set("sent_max_ns", static_cast<double>(sent.max()));
  f.set("cpu_cores", e2e_ns > 0 ? cpu / e2e_ns : 0);
  return o;
}

constexpr Key kKeys[] = {Key::transport, Key::wait, Key::size, Key::offered};
constexpr Column kColumns[] = {
    {"achieved", "msgs/s", Show::median, Format::rate, Source::figure, "achieved_rate",
     Mark::not_sustained, OverFloor::round_trip, "sustained"},
    {"one-way p50", "ns", Show::interval, Format::ns, Source::figure, "p50_ns", Mark::skew,
     OverFloor::round_trip, "early"},
    {"p99", "ns", Show::interval, Format::ns, Source::figure, "p99_ns", Mark::wide},
    {"p99.9", "ns", Show::median, Format::ns, Source::figure, "p999_ns"},
    {"max", "ns", Show::median, Format::ns, Source::figure, "max_ns"},
    {"from send p50", "ns", Show::median, Format::ns, Source::figure, "sent_p50_ns"},
    {"from send p99", "ns", Show::median, Format::ns, Source::figure, "sent_p99_ns"},
    {"behind", "", Show::median, Format::whole, Source::figure, "behind_schedule"},
    {"CPU per msg", "ns", Show::median, Format::ns, Source::cpu_time},
    {"switches per msg", "", Show::median, Format::count, Source::switches},
    {"peak RSS", "bytes", Show::median, Format::bytes, Source::peak_rss},
    {"shared memory", "bytes", Show::median, Format::bytes, Source::shared},
    {"daemon RSS", "bytes", Show::median, Format::bytes, Source::daemon_rss},
    {"p50 x floor", "", Show::over_floor, Format::ns, Source::figure, "p50_ns", Mark::none,
     OverFloor::one_way},
};

constexpr SummaryField kSummary[] = {
    {"p50_ns", Summarize::interval}, {"p99_ns", Summarize::interval},
    {"p999_ns", Summarize::median},  {"achieved_rate", Summarize::median},
    {"sustained", Summarize::all},
};
constexpr SummaryRatio kSummaryRatios[] = {{"p50_x_floor", "p50_ns", OverFloor::one_way}};

}  // namespace

// rate: one-way latency at fixed offered rates, open loop.
extern const ScenarioInfo kRate{
    .name = "rate",
    .description = "one-way latency at fixed offered rates",
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
    .records = {.consumer_latency = true, .consumer_from_sent = true},
    .figures = kFigures,
    .outcome = outcome,
    .key_figure = "p99_ns",
    .table =
        {
            .heading = "one-way latency at a fixed offered rate",
            .keys = kKeys,
            .text_keys = 2,
            .columns = kColumns,
            .order_by = "p99_ns",
            .first_by = Key::offered,
            .note =
                "Open loop: the producer sends on a schedule (offered messages/s; max = back to "
                "back) and keeps sending when it falls behind. one-way = receive - intended send "
                "time, so a stall is charged to every message it delays (no coordinated "
                "omission); from send = receive - actual send time. One clock for both processes; "
                "the skew between the two CPUs is in the results' context (clock_skew). achieved "
                "= the producer's rate; not sustained = under 97% of offered, or more than 1 ms "
                "behind at the end (behind = messages). Medians over repetitions, ±x% the 95% "
                "interval. p50 x floor = one-way p50 / half the round trip of one cache line "
                "between the two CPUs, measured by the row's own workers just before.\n",
        },
    .summary = kSummary,
    .summary_ratios = kSummaryRatios,
    .compare_heading = "rate: one-way p99 from the intended send time (lower is better)",
    .compare_format = CompareFormat::time,
    .compare_rank = 1,
    .compare_floor_figure = "p99_ns",
    .compare_floor = OverFloor::one_way,
    .time_kind = TimeKind::schedule,
};

}  // namespace ipcbench

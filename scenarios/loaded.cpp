// loaded: pingpong's round trips with nothing beside them, then with a bulk stream beside them. The
// two workers hold two channels of the same transport: the first carries the round trips, as
// pingpong does; the second, a stream of 1 MiB messages from producer to consumer, as fast as it
// goes, sent and checked by a second thread in each worker. The producer times its round trips
// twice in one cell, over the same channel between the same two processes: first idle (half the
// count and half the budget), then while the stream runs (the other half), so that what the
// stream costs a round trip (for the CPUs, the kernel's queues, a library's own threads and
// connections) is the difference between two figures measured a moment apart.
//
// On the first channel: the warm-up's round trips and its end (echoed, as pingpong's), the idle
// round trips, the end of that phase (echoed: the consumer starts its stream thread then, and the
// producer its own), the loaded round trips, and the stop, after the stream has ended: the
// producer's stream thread stops sending, and sends the stream's stop message, which the
// consumer's stream thread echoes.
#include <atomic>
#include <thread>

#include <fmt/format.h>

#include "scenarios/defaults.hpp"
#include "scenarios/registry.hpp"

namespace ipcbench {

namespace {

constexpr std::size_t kLoadBytes = 1 << 20;

// The stream's side of a cell, in a thread of its own: what it did and how it ended.
struct Stream {
  Result<void> ended = {};
  std::uint64_t messages = 0;
  std::int64_t start_ns = 0, end_ns = 0;
};

// The producer's stream: 1 MiB messages until told to stop, then the stop message and its echo.
void send_stream(Transport& t, Touch touch, const std::atomic<bool>& stop, Stream& s) {
  s.start_ns = monotonic_ns();
  for (std::uint64_t seq = 0; !stop.load(std::memory_order_relaxed); ++seq) {
    if (auto ok = send_message(t, kLoadBytes, seq, Direction::request, touch); !ok) {
      s.ended = ok;
      return;
    }
    s.messages = seq + 1;
  }
  s.end_ns = monotonic_ns();
  s.ended = stop_producer(t, kLoadBytes);
}

// The consumer's stream: every message checked, until the stop message, which it echoes; or until
// `abandon` (the round trips failed), seen at the next message (the producer streams until its
// own round trips end).
void receive_stream(Transport& t, Touch touch, const std::atomic<bool>& abandon, Stream& s) {
  s.start_ns = monotonic_ns();
  for (std::uint64_t seq = 0;; ++seq) {
    if (abandon.load(std::memory_order_relaxed)) {
      s.ended = fail(Errc::protocol, "the stream was abandoned: the round trips failed");
      return;
    }
    auto got = receive_next(t, kLoadBytes, seq, Direction::request, touch);
    if (!got) {
      s.ended = std::unexpected(got.error());
      return;
    }
    if (*got == Received::stop) break;
    if (*got == Received::warmup_end) {
      s.ended = fail(Errc::protocol, "the stream sent an end of warm-up");
      return;
    }
    s.messages = seq + 1;
  }
  s.end_ns = monotonic_ns();
  s.ended = stop_consumer(t);
}

Result<void> producer(Transport& ping, Transport& load, const ScenarioConfig& c, const Clock& clock,
                      Measurement& out) {
  auto warmed = warm_up(c, [&](std::uint64_t seq) { return round_trip(ping, c, seq, "consumer"); });
  if (!warmed) return std::unexpected(warmed.error());
  if (auto ok = end_phase(ping, c, *warmed, "consumer"); !ok) return ok;
  const std::uint64_t half = std::max<std::uint64_t>(c.count / 2, 1);
  // Idle: the round trips alone (into from_sent: Records::producer_idle).
  Measurement idle;
  auto seq = timed_round_trips(ping, c, clock, *warmed, half, c.budget / 2, out.from_sent, nullptr,
                               idle, "consumer");
  if (!seq) return std::unexpected(seq.error());
  // The consumer starts receiving the stream once it has echoed this.
  if (auto ok = end_phase(ping, c, *seq, "consumer"); !ok) return ok;
  std::atomic<bool> stop{false};
  Stream stream;
  std::thread sender([&] { send_stream(load, c.touch, stop, stream); });
  // Loaded: the same round trips with the stream beside them.
  auto loaded = timed_round_trips(ping, c, clock, *seq, half, c.budget / 2, out.latency,
                                  out.timeline, out, "consumer");
  stop.store(true, std::memory_order_relaxed);
  sender.join();
  if (!loaded) return std::unexpected(loaded.error());
  if (!stream.ended) return std::unexpected(stream.ended.error());
  if (stream.messages == 0)
    return fail(Errc::protocol, "the stream sent nothing during the loaded round trips");
  return stop_producer(ping, c.payload_bytes);
}

// Answers the round trips (pingpong's consumer) and, from the second end of a phase on, receives
// the stream in a thread of its own: its count and time are what this side reports.
Result<void> consumer(Transport& ping, Transport& load, const ScenarioConfig& c, Measurement& out) {
  const std::size_t bytes = c.payload_bytes;
  Stream stream;
  std::atomic<bool> abandon{false};
  std::thread receiver;
  unsigned phases = 0;
  auto finish = [&](Result<void> ok) -> Result<void> {
    // The stream ends before the stop; after a failure, at its next message: this process must
    // exit for the producer to see it gone.
    if (!ok) abandon.store(true, std::memory_order_relaxed);
    if (receiver.joinable()) receiver.join();
    if (!ok) return ok;
    if (phases < 2) return fail(Errc::protocol, "the producer stopped before the stream");
    if (!stream.ended) return std::unexpected(stream.ended.error());
    out.count = stream.messages;
    out.start_ns = stream.start_ns;
    out.end_ns = stream.end_ns;
    out.usage = process_usage() - out.usage;
    return stop_consumer(ping);
  };
  for (std::uint64_t seq = 0;;) {
    auto got = receive_next(ping, bytes, seq, Direction::request, c.touch);
    if (!got) return finish(std::unexpected(got.error()));
    if (*got == Received::stop) return finish({});
    if (*got == Received::warmup_end) {
      if (++phases > 2) return finish(fail(Errc::protocol, "a third end of a phase"));
      if (phases == 2) {
        out.usage = process_usage();
        receiver = std::thread([&] { receive_stream(load, c.touch, abandon, stream); });
      }
      if (auto ok = send_warmup_end(ping, Direction::reply); !ok) return finish(ok);
      continue;
    }
    if (auto ok = send_message(ping, bytes, seq, Direction::reply, c.touch); !ok) return finish(ok);
    ++seq;
  }
}

Result<void> run_side(Role role, std::span<Transport* const> channels, unsigned,
                      const ScenarioConfig& config, const Clock& clock, Measurement& out) {
  if (channels.size() != 2) return fail(Errc::protocol, "loaded needs two channels");
  return role == Role::producer ? producer(*channels[0], *channels[1], config, clock, out)
                                : consumer(*channels[0], *channels[1], config, out);
}

constexpr std::size_t kDefaultSizeList[] = {kDefaultPingpongBytes};
constexpr Touch kDefaultTouchModes[] = {Touch::full};

// pingpong's count and warm-up; the count and the budget are split between the two phases.
void defaults(const ScenarioOptions& o, std::size_t bytes, ScenarioConfig& c) {
  c.count = o.iterations.value_or(o.quick ? kQuickIterations : kDefaultIterations);
  c.warmup = o.warmup.value_or(default_pingpong_warmup(bytes, o.quick));
}

// Four threads are busy at once (a round trip's two ends, the stream's two ends): spinning needs
// four CPUs.
std::vector<Variant> variants(const ScenarioOptions&, const Variant& base, WaitMode wait,
                              std::size_t cpus) {
  Variant v = base;
  if (wait == WaitMode::spin && cpus < 4) {
    v.refused = fmt::format(
        "four spinning threads (the round trips' and the stream's two ends) on {} CPUs would "
        "measure the scheduler (block and adaptive run)",
        cpus);
  }
  return {v};
}

std::string name_suffix(const Variant&) {
  return "";
}

// The harness made the consumer's stdin and stdout its one channel.
std::string refuse(const Capabilities& caps, unsigned, WaitMode) {
  if (caps.stdio_pipes) return "its channel is the consumer's stdin and stdout: no second one";
  return "";
}

constexpr FigureSpec kFigures[] = {
    {"idle_p50_ns", "RTT p50, nothing beside", "ns", Better::lower, FigureForm::whole},
    {"idle_p99_ns", "RTT p99, nothing beside", "ns", Better::lower, FigureForm::whole},
    {"p50_ns", "RTT p50 with the stream beside", "ns", Better::lower, FigureForm::whole},
    {"p99_ns", "RTT p99 with the stream beside", "ns", Better::lower, FigureForm::whole},
    {"p999_ns", "RTT p99.9 with the stream beside", "ns", Better::lower, FigureForm::whole},
    {"max_ns", "RTT max with the stream beside", "ns", Better::lower, FigureForm::whole},
    {"p50_loaded_over_idle", "loaded RTT p50 / idle RTT p50", "", Better::lower},
    {"p99_loaded_over_idle", "loaded RTT p99 / idle RTT p99", "", Better::lower},
    {"load_bytes_per_second", "the stream's bytes/s beside the loaded round trips", "B/s",
     Better::higher},
};

CellOutcome outcome(const CellInputs& in) {
  const SideReport& p = in.producer;
  const SideReport& c = in.consumers.front();
  const Histogram idle = histogram_of(p.latency_sent);
  const Histogram loaded = histogram_of(p.latency);
  const auto count = static_cast<double>(p.count);
  const double wall_ns = static_cast<double>(p.end_ns - p.start_ns);
  const double stream_ns = static_cast<double>(c.end_ns - c.start_ns);
  const auto ratio = [](double a, double b) { return b > 0 ? a / b : 0; };
  CellOutcome o;
  o.iterations = count;
  o.real_time = count > 0 ? wall_ns / count : 0;
  o.cpu_time =
      count > 0 ? (static_cast<double>(p.cpu_ns) + static_cast<double>(c.cpu_ns)) / count : 0;
  o.latency_histogram = p.latency;
  o.latency_histogram_sent = p.latency_sent;
  o.delivered = static_cast<double>(c.count);
  Figures& f = o.figures;
  const auto pct = [](const Histogram& h, double q) {
    return static_cast<double>(h.percentile(q));
  };
  f.set("idle_p50_ns", pct(idle, 50));
  f.set("idle_p99_ns", pct(idle, 99));
  f.set("p50_ns", pct(loaded, 50));
  f.set("p99_ns", pct(loaded, 99));
  f.set("p999_ns", pct(loaded, 99.9));
  f.set("max_ns", static_cast<double>(loaded.max()));
  f.set("p50_loaded_over_idle", ratio(pct(loaded, 50), pct(idle, 50)));
  f.set("p99_loaded_over_idle", ratio(pct(loaded, 99), pct(idle, 99)));
  f.set("load_bytes_per_second",
        stream_ns > 0 ? static_cast<double>(c.count) * kLoadBytes * 1e9 / stream_ns : 0);
  return o;
}

constexpr Key kKeys[] = {Key::transport, Key::wait, Key::size};
constexpr Column kColumns[] = {
    {"idle RTT p50", "ns", Show::interval, Format::ns, Source::figure, "idle_p50_ns"},
    {"loaded RTT p50", "ns", Show::interval, Format::ns, Source::figure, "p50_ns", Mark::wide},
    {"idle p99", "ns", Show::median, Format::ns, Source::figure, "idle_p99_ns"},
    {"loaded p99", "ns", Show::interval, Format::ns, Source::figure, "p99_ns"},
    {"loaded p99.9", "ns", Show::median, Format::ns, Source::figure, "p999_ns", Mark::thin},
    {"p50 loaded/idle", "", Show::median, Format::count, Source::figure, "p50_loaded_over_idle"},
    {"p99 loaded/idle", "", Show::median, Format::count, Source::figure, "p99_loaded_over_idle"},
    {"stream beside", "B/s", Show::median, Format::bytes_rate, Source::figure,
     "load_bytes_per_second"},
    {"CPU per round trip", "ns", Show::median, Format::ns, Source::cpu_time},
    {"peak RSS", "bytes", Show::median, Format::bytes, Source::peak_rss},
    {"shared memory", "bytes", Show::median, Format::bytes, Source::shared},
};

constexpr SummaryField kSummary[] = {
    {"p50_ns", Summarize::interval},
    {"p99_ns", Summarize::interval},
    {"idle_p50_ns", Summarize::interval},
    {"idle_p99_ns", Summarize::median},
    {"p99_loaded_over_idle", Summarize::median},
    {"load_bytes_per_second", Summarize::median},
};

}  // namespace

// loaded: round trips idle, then with a 1 MiB stream beside them over a second channel.
extern const ScenarioInfo kLoaded{
    .name = "loaded",
    .description = "pingpong, idle and with a 1 MiB stream beside it over a second channel",
    .default_sizes = kDefaultSizeList,
    .default_touches = kDefaultTouchModes,
    .defaults = defaults,
    .variants = variants,
    .name_suffix = name_suffix,
    .refuse = refuse,
    .load_bytes = kLoadBytes,
    .run = run_side,
    .records = {.producer_latency = true, .producer_idle = true},
    .figures = kFigures,
    .outcome = outcome,
    .key_figure = "p99_ns",
    .table =
        {
            .heading = "round trips, idle and with a 1 MiB stream beside them",
            .keys = kKeys,
            .text_keys = 2,
            .columns = kColumns,
            .order_by = "p99_ns",
            .note =
                "Each cell times pingpong's round trips over one channel twice, between the same "
                "two processes: idle (half the round trips), then while a second channel of the "
                "same transport carries 1 MiB messages from producer to consumer as fast as it "
                "goes (the other half), each message checked by a thread of the consumer's. "
                "loaded/idle = the loaded percentile over the idle one; stream beside = the "
                "stream's bytes/s while the loaded round trips ran. Two channels, two "
                "connections: a library that would carry both over one connection (head-of-line "
                "blocking) is not made to here. Four threads share the CPUs: spinning is not run "
                "on fewer than four.\n",
        },
    .summary = kSummary,
    .compare_heading = "loaded: RTT p99 with a 1 MiB stream beside (lower is better)",
    .compare_rank = 4,
    .compare_floor_figure = "p99_ns",
};

}  // namespace ipcbench

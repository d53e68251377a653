// throughput: the producer streams messages as fast as the transport takes them; the consumer
// checks each. The producer stops early when its time budget has passed (ScenarioConfig::budget);
// the stop message then ends the consumer's stream, and the harness checks that the consumer
// checked as many messages as the producer sent. The producer's phase runs from before its first
// measured send to after its last; the consumer's ends when the last measured message has been
// checked. The harness reports the rate at both ends, and end to end (producer's start to
// consumer's end, one shared clock).
#include "base/wait.hpp"
#include "scenarios/defaults.hpp"
#include "scenarios/registry.hpp"

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

namespace {

Result<void> run_side(Role role, std::span<Transport* const> channels, unsigned,
                      const ScenarioConfig& config, const Clock&, Measurement& out) {
  Transport& t = *channels.front();
  return role == Role::producer ? producer(t, config, out) : consumer(t, config, out);
}

constexpr std::size_t kDefaultSizeList[] = {kDefaultThroughputBytes};
constexpr Touch kDefaultTouchModes[] = {Touch::edges, Touch::full};

void defaults(const ScenarioOptions& o, std::size_t bytes, ScenarioConfig& c) {
  c.count = o.messages.value_or(default_throughput_messages(bytes, o.quick));
  c.warmup = o.warmup.value_or(default_throughput_warmup(bytes));
}

constexpr FigureSpec kFigures[] = {
    {"msgs_per_s", "msgs/s end to end", "1/s", Better::higher},
    {"bytes_per_second", "bytes/s end to end", "B/s", Better::higher},
    {"producer_msgs_per_s", "the producer's msgs/s", "1/s", Better::higher},
    {"producer_bytes_per_second", "the producer's bytes/s", "B/s", Better::higher},
    {"consumer_msgs_per_s", "the consumer's msgs/s", "1/s", Better::higher},
    {"consumer_bytes_per_second", "the consumer's bytes/s", "B/s", Better::higher},
    {"cpu_cores", "both workers' CPU time / end-to-end time", "", Better::lower},
};

// Rates end to end (the producer's start to the consumer's end, one clock) and at each end.
CellOutcome outcome(const CellInputs& in) {
  const SideReport& p = in.producer;
  const SideReport& c = in.consumers.front();
  const auto cpu = static_cast<double>(p.cpu_ns) + static_cast<double>(c.cpu_ns);
  const auto count = static_cast<double>(c.count);
  const auto bytes = static_cast<double>(in.config.payload_bytes);
  const double e2e_ns = static_cast<double>(c.end_ns) - static_cast<double>(p.start_ns);
  const double p_ns = static_cast<double>(p.end_ns) - static_cast<double>(p.start_ns);
  const double c_ns = static_cast<double>(c.end_ns) - static_cast<double>(c.start_ns);
  const double rate = e2e_ns > 0 ? count * 1e9 / e2e_ns : 0;
  const double p_rate = p_ns > 0 ? static_cast<double>(p.count) * 1e9 / p_ns : 0;
  const double c_rate = c_ns > 0 ? count * 1e9 / c_ns : 0;
  CellOutcome o;
  o.iterations = count;
  o.real_time = count > 0 ? e2e_ns / count : 0;
  o.cpu_time = count > 0 ? cpu / count : 0;
  o.figures.set("msgs_per_s", rate);
  o.figures.set("bytes_per_second", rate * bytes);
  o.figures.set("producer_msgs_per_s", p_rate);
  o.figures.set("producer_bytes_per_second", p_rate * bytes);
  o.figures.set("consumer_msgs_per_s", c_rate);
  o.figures.set("consumer_bytes_per_second", c_rate * bytes);
  o.figures.set("cpu_cores", e2e_ns > 0 ? cpu / e2e_ns : 0);
  return o;
}

constexpr Key kKeys[] = {Key::transport, Key::wait, Key::touch, Key::size};
constexpr Column kColumns[] = {
    {"msgs/s", "1/s", Show::interval, Format::rate, Source::figure, "msgs_per_s"},
    {"GB/s", "10^9 B/s", Show::interval, Format::gb, Source::figure, "bytes_per_second",
     Mark::wide},
    {"producer GB/s", "", Show::median, Format::gb, Source::figure, "producer_bytes_per_second"},
    {"consumer GB/s", "", Show::median, Format::gb, Source::figure, "consumer_bytes_per_second"},
    {"CPU per msg", "ns", Show::median, Format::ns, Source::cpu_time},
    {"switches per msg", "", Show::median, Format::count, Source::switches},
    {"peak RSS", "bytes", Show::median, Format::bytes, Source::peak_rss},
    {"shared memory", "bytes", Show::median, Format::bytes, Source::shared},
    {"daemon RSS", "bytes", Show::median, Format::bytes, Source::daemon_rss},
    {"lost", "", Show::median, Format::whole, Source::lost},
    {"x floor", "", Show::over_floor, Format::gb, Source::figure, "bytes_per_second", Mark::none,
     OverFloor::copy},
};

constexpr SummaryField kSummary[] = {
    {"msgs_per_s", Summarize::interval},
    {"bytes_per_second", Summarize::interval},
};
constexpr SummaryRatio kSummaryRatios[] = {{"x_floor", "bytes_per_second", OverFloor::copy}};

}  // namespace

// throughput: a one-way stream, timed at both ends.
extern const ScenarioInfo kThroughput{
    .name = "throughput",
    .description = "a one-way stream",
    .by_default = true,
    .default_sizes = kDefaultSizeList,
    .default_touches = kDefaultTouchModes,
    .defaults = defaults,
    .stream = true,
    .run = run_side,
    .floor_row = FloorRow::copy,
    .copy_floor = true,
    .figures = kFigures,
    .outcome = outcome,
    .key_figure = "bytes_per_second",
    .table =
        {
            .heading = "one-way stream",
            .keys = kKeys,
            .text_keys = 3,
            .columns = kColumns,
            .order_by = "bytes_per_second",
            .note =
                "GB/s = 10^9 bytes/s end to end (producer's first send to the consumer's last "
                "check; the producer and consumer columns are each end's own rate), median over "
                "repetitions, ±x% its 95% interval. touch: edges = the sequence number and last "
                "byte written and checked, full = every byte. switches per msg = both processes' "
                "context switches per message. floor = one core copying the message once, right "
                "now (not a transport); x floor = that copy's rate / this row's, measured by the "
                "row's own producer just before, per round.\n",
        },
    .summary = kSummary,
    .summary_ratios = kSummaryRatios,
    .compare_heading = "throughput: GB/s end to end (higher is better)",
    .compare_format = CompareFormat::gb_per_s,
    .compare_rank = 3,
    .compare_floor_figure = "bytes_per_second",
    .compare_floor = OverFloor::copy,
    .time_kind = TimeKind::messages,
};

}  // namespace ipcbench

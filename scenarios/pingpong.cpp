// pingpong: round-trip time. The producer times each round trip with the calibrated clock (two
// reads per round trip, whose cost is measured at start and recorded in the results' context)
// and records it in a histogram; the mean comes from the batch's total time.
#include "base/wait.hpp"
#include "scenarios/defaults.hpp"
#include "scenarios/registry.hpp"

namespace ipcbench {

namespace {

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

Result<void> run_side(Role role, std::span<Transport* const> channels, unsigned,
                      const ScenarioConfig& config, const Clock& clock, Measurement& out) {
  Transport& t = *channels.front();
  return role == Role::producer ? closed_loop(t, config, clock, out, "consumer")
                                : consumer(t, config, out);
}

constexpr std::size_t kDefaultSizeList[] = {kDefaultPingpongBytes};
constexpr Touch kDefaultTouchModes[] = {Touch::full};

void defaults(const ScenarioOptions& o, std::size_t bytes, ScenarioConfig& c) {
  c.count = o.iterations.value_or(o.quick ? kQuickIterations : kDefaultIterations);
  c.warmup = o.warmup.value_or(default_pingpong_warmup(bytes, o.quick));
}

constexpr FigureSpec kFigures[] = {
    {"min_ns", "RTT min", "ns", Better::lower, FigureForm::whole},
    {"p50_ns", "RTT p50", "ns", Better::lower, FigureForm::whole},
    {"p90_ns", "RTT p90", "ns", Better::lower, FigureForm::whole},
    {"p99_ns", "RTT p99", "ns", Better::lower, FigureForm::whole},
    {"p999_ns", "RTT p99.9", "ns", Better::lower, FigureForm::whole},
    {"max_ns", "RTT max", "ns", Better::lower, FigureForm::whole},
    {"mean_ns", "RTT mean", "ns", Better::lower},
    {"ops_per_s", "round trips/s", "1/s", Better::higher},
    {"cpu_cores", "both workers' CPU time / wall time", "", Better::lower},
};

// The percentiles kept for the latency-distribution plot (HdrHistogram style: ever closer to 100).
constexpr double kSpectrum[] = {0,  10, 20,   25, 30,   40,   50,    60,    70,     75,     80,
                                90, 95, 97.5, 99, 99.5, 99.9, 99.95, 99.99, 99.995, 99.999, 100};

// The producer timed each round trip; the mean comes from its measured phase.
CellOutcome outcome(const CellInputs& in) {
  const SideReport& p = in.producer;
  const SideReport& c = in.consumers.front();
  const auto cpu = static_cast<double>(p.cpu_ns) + static_cast<double>(c.cpu_ns);
  const auto count = static_cast<double>(p.count);
  const double wall_ns = static_cast<double>(p.end_ns) - static_cast<double>(p.start_ns);
  const Histogram h = histogram_of(p.latency);
  const double mean = count > 0 ? wall_ns / count : 0;
  CellOutcome o;
  o.iterations = count;
  o.real_time = mean;
  o.cpu_time = count > 0 ? cpu / count : 0;
  o.latency_histogram = p.latency;
  o.figures.set("min_ns", static_cast<double>(h.min()));
  o.figures.set("p50_ns", static_cast<double>(h.percentile(50)));
  o.figures.set("p90_ns", static_cast<double>(h.percentile(90)));
  o.figures.set("p99_ns", static_cast<double>(h.percentile(99)));
  o.figures.set("p999_ns", static_cast<double>(h.percentile(99.9)));
  o.figures.set("max_ns", static_cast<double>(h.max()));
  o.figures.set("mean_ns", mean);
  o.figures.set("ops_per_s", mean > 0 ? 1e9 / mean : 0);
  o.figures.set("cpu_cores", wall_ns > 0 ? cpu / wall_ns : 0);
  for (double pct : kSpectrum)
    o.latency_percentiles.emplace_back(pct, static_cast<double>(h.percentile(pct)));
  return o;
}

constexpr Key kKeys[] = {Key::transport, Key::wait, Key::size};
constexpr Column kColumns[] = {
    {"RTT p50", "ns", Show::interval, Format::ns, Source::figure, "p50_ns", Mark::wide},
    {"RTT p99", "ns", Show::interval, Format::ns, Source::figure, "p99_ns"},
    {"RTT p99.9", "ns", Show::median, Format::ns, Source::figure, "p999_ns", Mark::thin},
    {"RTT mean", "ns", Show::interval, Format::ns, Source::figure, "mean_ns"},
    {"round trips/s", "", Show::median, Format::rate, Source::figure, "ops_per_s"},
    {"CPU per RT", "ns", Show::median, Format::ns, Source::cpu_time},
    {"switches per RT", "", Show::median, Format::count, Source::switches},
    {"peak RSS", "bytes", Show::median, Format::bytes, Source::peak_rss},
    {"shared memory", "bytes", Show::median, Format::bytes, Source::shared},
    {"daemon RSS", "bytes", Show::median, Format::bytes, Source::daemon_rss},
    {"p50 vs {baseline}", "", Show::vs_baseline, Format::ns, Source::figure, "p50_ns"},
    {"p50 x floor", "", Show::over_floor, Format::ns, Source::figure, "p50_ns", Mark::none,
     OverFloor::round_trip},
    {"p99 x floor", "", Show::over_floor, Format::ns, Source::figure, "p99_ns", Mark::none,
     OverFloor::round_trip},
};

constexpr SummaryField kSummary[] = {
    {"p50_ns", Summarize::interval},  {"p99_ns", Summarize::interval},
    {"p999_ns", Summarize::median},   {"mean_ns", Summarize::interval},
    {"ops_per_s", Summarize::median},
};
constexpr SummaryRatio kSummaryRatios[] = {
    {"p50_x_floor", "p50_ns", OverFloor::round_trip},
    {"p99_x_floor", "p99_ns", OverFloor::round_trip},
};

}  // namespace

// pingpong: round-trip time, the producer timing each round trip.
extern const ScenarioInfo kPingpong{
    .name = "pingpong",
    .description = "round trips",
    .by_default = true,
    .default_sizes = kDefaultSizeList,
    .default_touches = kDefaultTouchModes,
    .defaults = defaults,
    .run = run_side,
    .records = {.producer_latency = true},
    .floor_row = FloorRow::line,
    .figures = kFigures,
    .outcome = outcome,
    .key_figure = "p50_ns",
    .baseline_figure = "p50_ns",
    .baseline_key = "p50_vs_baseline",
    .table =
        {
            .heading = "round-trip time (RTT)",
            .keys = kKeys,
            .text_keys = 2,
            .columns = kColumns,
            .order_by = "p50_ns",
            .note =
                "RTT = one message there and one back, two processes on two CPUs. Each figure is "
                "the median over repetitions; ±x% = its 95% interval (ARCHITECTURE.md, "
                "\"Statistics\"); none with one repetition. CPU per RT = both processes' CPU "
                "time per round trip (a spinning pair costs two cores); switches per RT = both "
                "processes' context switches per round trip. p50 vs {baseline} = this row's p50 / "
                "{baseline}'s (its native wait mode) for the same size, paired round by round "
                "(each round measures a table's cells seconds apart), with its interval; ≈1.0x = "
                "the interval holds 1: not distinguishable. floor = two processes exchanging one "
                "cache line between the same two CPUs, right now: not a transport, the cost no "
                "transport between them can go below. x floor = this row's figure / the floor its "
                "own two workers measured milliseconds before, per round.\n",
        },
    .summary = kSummary,
    .summary_ratios = kSummaryRatios,
    .compare_heading = "pingpong: p50 RTT (lower is better)",
    .compare_format = CompareFormat::time,
    .compare_rank = 0,
    .compare_floor_figure = "p50_ns",
    .compare_floor = OverFloor::round_trip,
    .time_kind = TimeKind::round_trips,
};

}  // namespace ipcbench

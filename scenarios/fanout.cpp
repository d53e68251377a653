// fanout: one producer, N consumers (scenario.hpp). The producer streams M messages, each to
// every consumer; the slowest consumer sets the pace (each channel's backpressure). Over N
// point-to-point channels it writes the message once and copies it into the other N - 1 loans,
// as an application with N sockets writes one buffer N times; over a multicast endpoint it
// publishes once. Each message carries its send time; each consumer checks every message and
// records receive - send. The stop message goes to every consumer and each echoes it.
#include <algorithm>
#include <cstring>
#include <vector>

#include <fmt/format.h>

#include "scenarios/defaults.hpp"
#include "scenarios/registry.hpp"

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

namespace {

Result<void> run_side(Role role, std::span<Transport* const> channels, unsigned consumers,
                      const ScenarioConfig& config, const Clock& clock, Measurement& out) {
  if (role == Role::producer) return producer(channels, consumers, config, clock, out);
  return consumer(*channels.front(), config, clock, out);
}

constexpr std::size_t kDefaultSizeList[] = {kDefaultPingpongBytes, kDefaultThroughputBytes};
constexpr Touch kDefaultTouchModes[] = {Touch::full};

// Small messages warm up as pingpong's; large ones as a stream, per N (variants).
void defaults(const ScenarioOptions& o, std::size_t, ScenarioConfig& c) {
  c.count = o.messages.value_or(o.quick ? kQuickMessages : kDefaultMessages);
  c.warmup = o.warmup.value_or(o.quick ? kQuickPingpongWarmup : kDefaultPingpongWarmup);
}

// A cell for each consumer count. N + 1 spinning workers on fewer CPUs would measure the
// scheduler, not the transport: refused.
std::vector<Variant> variants(const ScenarioOptions& o, const Variant& base, WaitMode wait,
                              std::size_t cpus) {
  std::vector<Variant> out;
  const std::size_t bytes = base.config.payload_bytes;
  for (unsigned n : o.subscribers) {
    Variant v = base;
    v.subscribers = n;
    if (wait == WaitMode::spin && n + 1 > cpus) {
      v.refused = fmt::format(
          "{} spinning workers on {} CPUs would measure the scheduler, not the transport (block "
          "and adaptive run)",
          n + 1, cpus);
      out.push_back(std::move(v));
      continue;
    }
    v.config.count = o.messages.value_or(o.quick                     ? kQuickMessages
                                         : bytes < kFanoutSmallBelow ? kDefaultFanoutSmallMessages
                                                                     : kDefaultMessages);
    if (!o.warmup && bytes >= kFanoutSmallBelow)
      v.config.warmup = default_throughput_warmup(bytes, n);
    out.push_back(std::move(v));
  }
  return out;
}

std::string name_suffix(const Variant& v) {
  return fmt::format("/n{}", v.subscribers);
}

constexpr FigureSpec kFigures[] = {
    {"subscribers", "N", "", Better::higher},
    {"delivery", "native (one publish to all) or N copies", "", Better::higher, FigureForm::words,
     0, "N copies", "native"},
    {"msgs_per_s", "messages delivered to every consumer per second", "1/s", Better::higher},
    {"consumer_bytes_per_second_min", "the slowest consumer's bytes/s", "B/s", Better::higher},
    {"consumer_bytes_per_second_median", "the median consumer's bytes/s", "B/s", Better::higher},
    {"fairness", "(fastest - slowest) / median of the consumers' rates", "", Better::lower},
    {"p50_ns", "one-way p50", "ns", Better::lower, FigureForm::whole},
    {"p99_ns", "one-way p99", "ns", Better::lower, FigureForm::whole},
    {"p999_ns", "one-way p99.9", "ns", Better::lower, FigureForm::whole},
    {"max_ns", "one-way max", "ns", Better::lower, FigureForm::whole},
    {"slowest_p50_ns", "the slowest consumer's p50", "ns", Better::lower, FigureForm::whole},
    {"slowest_p99_ns", "the slowest consumer's p99", "ns", Better::lower, FigureForm::whole},
    {"producer_cpu_per_msg_ns", "the producer's CPU per message", "ns", Better::lower},
    {"cpu_cores", "all workers' CPU time / end-to-end time", "", Better::lower},
};

// Every consumer's journey; the slowest sets the pace.
CellOutcome outcome(const CellInputs& in) {
  const SideReport& p = in.producer;
  const auto bytes = static_cast<double>(in.config.payload_bytes);
  const auto p_cpu = static_cast<double>(p.cpu_ns);
  Histogram all;
  std::vector<double> rates;
  double last_end = 0, consumers_cpu = 0, delivered = 0;
  double slowest_p99 = -1, slowest_p50 = 0;
  bool first = true;
  for (const SideReport& w : in.consumers) {
    const Histogram h = histogram_of(w.latency);
    all.merge(h);
    // Each consumer's rate over the producer's stream: from its first measured send (one
    // CLOCK_MONOTONIC for all) to this consumer's last check. Not the consumer's own first to
    // last receive: a consumer that drains a full socket buffer in one burst would show a rate
    // the stream never had.
    const double ns = static_cast<double>(w.end_ns) - static_cast<double>(p.start_ns);
    rates.push_back(ns > 0 ? static_cast<double>(w.count) * bytes * 1e9 / ns : 0);
    last_end = std::max(last_end, static_cast<double>(w.end_ns));
    consumers_cpu += static_cast<double>(w.cpu_ns);
    delivered =
        first ? static_cast<double>(w.count) : std::min(delivered, static_cast<double>(w.count));
    first = false;
    if (static_cast<double>(h.percentile(99)) > slowest_p99) {
      slowest_p99 = static_cast<double>(h.percentile(99));
      slowest_p50 = static_cast<double>(h.percentile(50));
    }
  }
  std::sort(rates.begin(), rates.end());
  const double median = rates.empty() ? 0
                        : rates.size() % 2
                            ? rates[rates.size() / 2]
                            : (rates[rates.size() / 2 - 1] + rates[rates.size() / 2]) / 2;
  const double e2e_ns = last_end - static_cast<double>(p.start_ns);
  CellOutcome o;
  o.latency_histogram = sparse_of(all);
  o.delivered = delivered;
  o.iterations = delivered;
  o.real_time = delivered > 0 ? e2e_ns / delivered : 0;
  o.cpu_time = delivered > 0 ? (p_cpu + consumers_cpu) / delivered : 0;
  o.consumer_cpu_ns = consumers_cpu;
  Figures& f = o.figures;
  f.set("subscribers", static_cast<double>(in.subscribers));
  f.set("delivery", in.multicast ? 1 : 0);
  f.set("msgs_per_s", e2e_ns > 0 ? delivered * 1e9 / e2e_ns : 0);
  f.set("consumer_bytes_per_second_min", rates.empty() ? 0 : rates.front());
  f.set("consumer_bytes_per_second_median", median);
  f.set("fairness", median > 0 ? (rates.back() - rates.front()) / median : 0);
  f.set("p50_ns", static_cast<double>(all.percentile(50)));
  f.set("p99_ns", static_cast<double>(all.percentile(99)));
  f.set("p999_ns", static_cast<double>(all.percentile(99.9)));
  f.set("max_ns", static_cast<double>(all.max()));
  f.set("slowest_p50_ns", slowest_p50);
  f.set("slowest_p99_ns", std::max(slowest_p99, 0.0));
  f.set("producer_cpu_per_msg_ns", p.count > 0 ? p_cpu / static_cast<double>(p.count) : 0);
  f.set("cpu_cores", e2e_ns > 0 ? (p_cpu + consumers_cpu) / e2e_ns : 0);
  return o;
}

constexpr Key kKeys[] = {Key::transport, Key::wait, Key::size, Key::consumers, Key::delivery};
constexpr Column kColumns[] = {
    {"msgs/s to all", "1/s", Show::interval, Format::rate, Source::figure, "msgs_per_s",
     Mark::wide},
    {"per consumer (slowest)", "B/s", Show::median, Format::bytes_rate, Source::figure,
     "consumer_bytes_per_second_min"},
    {"fairness", "", Show::median, Format::percent, Source::figure, "fairness"},
    {"one-way p50", "ns", Show::median, Format::ns, Source::figure, "p50_ns"},
    {"p99", "ns", Show::median, Format::ns, Source::figure, "p99_ns"},
    {"p99.9", "ns", Show::median, Format::ns, Source::figure, "p999_ns"},
    {"max", "ns", Show::median, Format::ns, Source::figure, "max_ns"},
    {"slowest p99", "ns", Show::median, Format::ns, Source::figure, "slowest_p99_ns"},
    {"producer CPU per msg", "ns", Show::median, Format::ns, Source::figure,
     "producer_cpu_per_msg_ns"},
    {"CPU per msg", "ns", Show::median, Format::ns, Source::cpu_time},
    {"switches per msg", "", Show::median, Format::count, Source::switches},
    {"peak RSS", "bytes", Show::median, Format::bytes, Source::peak_rss},
    {"shared memory", "bytes", Show::median, Format::bytes, Source::shared},
    {"daemon RSS", "bytes", Show::median, Format::bytes, Source::daemon_rss},
    {"x floor", "", Show::over_floor, Format::bytes_rate, Source::figure,
     "consumer_bytes_per_second_min", Mark::none, OverFloor::copy},
};

constexpr SummaryField kSummary[] = {
    {"msgs_per_s", Summarize::interval}, {"subscribers", Summarize::median},
    {"delivery", Summarize::first},      {"consumer_bytes_per_second_min", Summarize::median},
    {"p99_ns", Summarize::median},       {"producer_cpu_per_msg_ns", Summarize::median},
};
constexpr SummaryRatio kSummaryRatios[] = {
    {"x_floor", "consumer_bytes_per_second_min", OverFloor::copy}};

}  // namespace

// fanout: one producer, N consumers, every message to every consumer.
extern const ScenarioInfo kFanout{
    .name = "fanout",
    .description = "one producer, N consumers",
    .default_sizes = kDefaultSizeList,
    .default_touches = kDefaultTouchModes,
    .defaults = defaults,
    .variants = variants,
    .name_suffix = name_suffix,
    .stamped = true,
    .stream = true,
    .fan_out = true,
    .run = run_side,
    .records = {.consumer_latency = true},
    .copy_floor = true,
    .figures = kFigures,
    .outcome = outcome,
    .key_figure = "msgs_per_s",
    .table =
        {
            .heading = "one producer, N consumers",
            .keys = kKeys,
            .text_keys = 4,
            .columns = kColumns,
            .order_by = "msgs_per_s",
            .first_by = Key::consumers,
            .note =
                "Every message reaches every consumer, checked. delivery: native = published once "
                "to all N (a multicast transport); N copies = sent N times over N channels. "
                "msgs/s to all = messages delivered to every consumer per second (producer's "
                "first send to the last consumer's last check); per consumer = the slowest "
                "consumer's bytes/s (the producer's first send to that consumer's last check); "
                "fairness = (fastest - slowest) / median of those rates. one-way = receive - "
                "send, over every consumer's messages; slowest p99 = the consumer with the worst. "
                "N + 1 processes share the CPUs: with more processes than CPUs, every rate also "
                "falls for want of CPU, and spinning cells are not run. x floor = one copy of the "
                "message by the producer's core / the slowest consumer's rate.\n",
        },
    .summary = kSummary,
    .summary_ratios = kSummaryRatios,
    .compare_heading = "fanout: messages/s delivered to every consumer (higher is better)",
    .compare_format = CompareFormat::per_s,
    .compare_rank = 2,
    .compare_floor_figure = "consumer_bytes_per_second_min",
    .compare_floor = OverFloor::copy,
    .time_kind = TimeKind::messages,
};

}  // namespace ipcbench

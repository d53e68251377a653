#include "harness/results.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <type_traits>

#include <fmt/format.h>

#include "base/histogram.hpp"
#include "harness/environment.hpp"

namespace ipcbench {

using nlohmann::json;

namespace {

// The percentiles kept for the latency-distribution plot (HdrHistogram style: ever closer to 100).
constexpr double kSpectrum[] = {0,  10, 20,   25, 30,   40,   50,    60,    70,     75,     80,
                                90, 95, 97.5, 99, 99.5, 99.9, 99.95, 99.99, 99.995, 99.999, 100};

// A histogram's figure as it was measured: a whole number of nanoseconds.
json whole(double ns) {
  const bool is_whole = ns >= 0 && ns < 0x1p64 && std::floor(ns) == ns;
  return is_whole ? json(static_cast<std::uint64_t>(ns)) : json(ns);
}

// Reads `key` into `out` when it is there and of out's type; else leaves `out` as it is.
template <class T>
void take(const json& j, const char* key, T& out) {
  auto it = j.find(key);
  if (it == j.end()) return;
  if constexpr (std::is_same_v<T, bool>) {
    if (it->is_boolean()) out = it->get<bool>();
  } else if constexpr (std::is_same_v<T, std::string>) {
    if (it->is_string()) out = it->get<std::string>();
  } else if constexpr (std::is_floating_point_v<T>) {
    if (it->is_number()) out = it->get<T>();
  } else if constexpr (std::is_unsigned_v<T>) {
    if (it->is_number_unsigned()) out = it->get<T>();
  } else if constexpr (std::is_integral_v<T>) {
    if (it->is_number_integer()) out = it->get<T>();
  } else {
    static_assert(std::is_same_v<T, std::vector<std::pair<double, double>>>);
    if (!it->is_array()) return;
    T pairs;
    for (const auto& pair : *it) {
      if (!pair.is_array() || pair.size() != 2 || !pair[0].is_number() || !pair[1].is_number()) {
        return;
      }
      pairs.emplace_back(pair[0].get<double>(), pair[1].get<double>());
    }
    out = std::move(pairs);
  }
}

std::string_view unit_name(OptionUnit unit) {
  return unit == OptionUnit::bytes ? "bytes" : "count";
}

}  // namespace

std::string transport_key(const CellResult& r) {
  const auto first = r.name.find('/');
  if (first == std::string::npos) return r.transport;
  const auto second = r.name.find('/', first + 1);
  if (second == std::string::npos) return r.transport;
  return r.name.substr(first + 1, second - first - 1);
}

std::string transport_label(const CellResult& r) {
  std::string key = transport_key(r);
  const auto open = key.find('[');
  if (r.options.empty() || open == std::string::npos || !key.ends_with(']')) return key;
  // "name=value" items between the brackets, as the name writes them; each granted otherwise
  // gets "→granted".
  std::string out = key.substr(0, open + 1);
  const std::string inside = key.substr(open + 1, key.size() - open - 2);
  std::size_t start = 0;
  for (;;) {
    const auto end = inside.find(';', start);
    const std::string item = inside.substr(start, end - start);
    out += item;
    const std::string name = item.substr(0, item.find('='));
    auto it = std::ranges::find(r.options, name, &OptionRecord::name);
    if (it != r.options.end() && it->effective && *it->effective != it->asked) {
      out += "→" + format_option(it->unit, *it->effective);
    }
    if (end == std::string::npos) break;
    out += ';';
    start = end + 1;
  }
  return out + ']';
}

void to_json(json& j, const CellResult& r) {
  j = {{"name", r.name},
       {"family_index", r.family_index},
       {"per_family_instance_index", 0},
       {"run_name", r.name},
       {"run_type", "iteration"},
       {"repetitions", r.repetitions},
       {"repetition_index", r.repetition_index},
       {"threads", 1},
       {"scenario", to_string(r.scenario)},
       {"transport", r.transport},
       {"payload_bytes", r.payload_bytes},
       {"wait", r.wait},
       {"wait_is_native", r.wait_is_native},
       {"touch", r.touch},
       {"warmup", r.warmup},
       {"requested", r.requested},
       {"cell_seconds", r.cell_seconds},
       {"producer_cpu_ns", r.producer_cpu_ns},
       {"consumer_cpu_ns", r.consumer_cpu_ns},
       {"producer_process_cpu_ns", r.producer_process_cpu_ns},
       {"consumer_process_cpu_ns", r.consumer_process_cpu_ns},
       {"delivered", r.delivered},
       {"lost", r.lost},
       {"iterations", r.iterations},
       {"time_unit", "ns"}};
  if (r.cpu_producer >= 0 || r.cpu_consumer >= 0) j["cpus"] = {r.cpu_producer, r.cpu_consumer};
  if (r.floor_rtt_ns) j["floor_rtt_ns"] = *r.floor_rtt_ns;
  if (r.floor_copy_bytes_per_second) {
    j["floor_copy_bytes_per_second"] = *r.floor_copy_bytes_per_second;
  }
  if (!r.options.empty()) {
    json options = json::object();
    for (const OptionRecord& o : r.options) {
      options[o.name] = {{"asked", o.asked},
                         {"effective", o.effective ? json(*o.effective) : json(nullptr)},
                         {"unit", unit_name(o.unit)}};
    }
    j["options"] = std::move(options);
    j["transport_label"] = transport_label(r);
  }
  if (const auto& s = r.switches) {
    j["producer_voluntary_switches"] = s->producer_voluntary;
    j["producer_involuntary_switches"] = s->producer_involuntary;
    j["consumer_voluntary_switches"] = s->consumer_voluntary;
    j["consumer_involuntary_switches"] = s->consumer_involuntary;
  }
  if (r.latency_histogram) j["latency_histogram"] = *r.latency_histogram;
  if (r.error) {
    // As Google Benchmark writes a failed run: times of 0 (its compare.py needs the fields).
    j["error_occurred"] = true;
    j["error_message"] = *r.error;
    j["real_time"] = 0;
    j["cpu_time"] = 0;
    return;
  }
  j["real_time"] = r.real_time;
  j["cpu_time"] = r.cpu_time;
  if (const auto& f = r.pingpong) {
    j["min_ns"] = whole(f->min_ns);
    j["p50_ns"] = whole(f->p50_ns);
    j["p90_ns"] = whole(f->p90_ns);
    j["p99_ns"] = whole(f->p99_ns);
    j["p999_ns"] = whole(f->p999_ns);
    j["max_ns"] = whole(f->max_ns);
    j["mean_ns"] = f->mean_ns;
    j["ops_per_s"] = f->ops_per_s;
    j["cpu_cores"] = f->cpu_cores;
    json spectrum = json::array();
    for (const auto& [pct, ns] : f->latency_percentiles)
      spectrum.push_back({pct, whole(ns)});
    j["latency_percentiles"] = std::move(spectrum);
  }
  if (const auto& f = r.rate) {
    j["offered_rate"] = f->offered_per_s;
    j["achieved_rate"] = f->achieved_per_s;
    j["behind_schedule"] = f->behind;
    j["early"] = f->early;
    j["sustained"] = f->sustained;
    j["p50_ns"] = whole(f->p50_ns);
    j["p90_ns"] = whole(f->p90_ns);
    j["p99_ns"] = whole(f->p99_ns);
    j["p999_ns"] = whole(f->p999_ns);
    j["max_ns"] = whole(f->max_ns);
    j["mean_ns"] = f->mean_ns;
    j["sent_p50_ns"] = whole(f->sent_p50_ns);
    j["sent_p99_ns"] = whole(f->sent_p99_ns);
    j["sent_p999_ns"] = whole(f->sent_p999_ns);
    j["sent_max_ns"] = whole(f->sent_max_ns);
    j["cpu_cores"] = f->cpu_cores;
  }
  if (r.latency_histogram_sent) j["latency_histogram_sent"] = *r.latency_histogram_sent;
  if (const auto& f = r.fanout) {
    j["subscribers"] = f->subscribers;
    j["delivery"] = f->native ? "native" : "N copies";
    j["msgs_per_s"] = f->msgs_per_s;
    j["consumer_bytes_per_second_min"] = f->consumer_bytes_per_second_min;
    j["consumer_bytes_per_second_median"] = f->consumer_bytes_per_second_median;
    j["fairness"] = f->fairness;
    j["p50_ns"] = whole(f->p50_ns);
    j["p99_ns"] = whole(f->p99_ns);
    j["p999_ns"] = whole(f->p999_ns);
    j["max_ns"] = whole(f->max_ns);
    j["slowest_p50_ns"] = whole(f->slowest_p50_ns);
    j["slowest_p99_ns"] = whole(f->slowest_p99_ns);
    j["producer_cpu_per_msg_ns"] = f->producer_cpu_per_msg_ns;
    j["cpu_cores"] = f->cpu_cores;
  }
  if (const auto& f = r.throughput) {
    j["msgs_per_s"] = f->msgs_per_s;
    j["bytes_per_second"] = f->bytes_per_second;
    j["producer_msgs_per_s"] = f->producer_msgs_per_s;
    j["producer_bytes_per_second"] = f->producer_bytes_per_second;
    j["consumer_msgs_per_s"] = f->consumer_msgs_per_s;
    j["consumer_bytes_per_second"] = f->consumer_bytes_per_second;
    j["cpu_cores"] = f->cpu_cores;
  }
}

void from_json(const json& j, CellResult& r) {
  r = CellResult{};
  take(j, "name", r.name);
  std::string scenario;
  take(j, "scenario", scenario);
  r.scenario = parse_scenario(scenario).value_or(Scenario::pingpong);
  take(j, "transport", r.transport);
  take(j, "payload_bytes", r.payload_bytes);
  take(j, "wait", r.wait);
  take(j, "wait_is_native", r.wait_is_native);
  take(j, "touch", r.touch);
  take(j, "warmup", r.warmup);
  take(j, "requested", r.requested);
  if (auto it = j.find("cpus"); it != j.end() && it->is_array() && it->size() == 2 &&
                                (*it)[0].is_number_integer() && (*it)[1].is_number_integer()) {
    r.cpu_producer = (*it)[0].get<int>();
    r.cpu_consumer = (*it)[1].get<int>();
  }
  if (auto it = j.find("floor_rtt_ns"); it != j.end() && it->is_number()) {
    r.floor_rtt_ns = it->get<double>();
  }
  if (auto it = j.find("floor_copy_bytes_per_second"); it != j.end() && it->is_number()) {
    r.floor_copy_bytes_per_second = it->get<double>();
  }
  if (auto it = j.find("options"); it != j.end() && it->is_object()) {
    for (const auto& [name, o] : it->items()) {
      if (!o.is_object()) continue;
      OptionRecord& record = r.options.emplace_back();
      record.name = name;
      take(o, "asked", record.asked);
      std::string unit;
      take(o, "unit", unit);
      record.unit = unit == "count" ? OptionUnit::count : OptionUnit::bytes;
      std::uint64_t effective = 0;
      if (o.contains("effective") && o["effective"].is_number_unsigned()) {
        take(o, "effective", effective);
        record.effective = effective;
      }
    }
  }
  take(j, "family_index", r.family_index);
  take(j, "repetitions", r.repetitions);
  take(j, "repetition_index", r.repetition_index);
  take(j, "iterations", r.iterations);
  take(j, "real_time", r.real_time);
  take(j, "cpu_time", r.cpu_time);
  take(j, "cell_seconds", r.cell_seconds);
  take(j, "producer_cpu_ns", r.producer_cpu_ns);
  take(j, "consumer_cpu_ns", r.consumer_cpu_ns);
  take(j, "producer_process_cpu_ns", r.producer_process_cpu_ns);
  take(j, "consumer_process_cpu_ns", r.consumer_process_cpu_ns);
  take(j, "delivered", r.delivered);
  take(j, "lost", r.lost);
  if (j.contains("producer_voluntary_switches")) {
    CellResult::Switches& s = r.switches.emplace();
    take(j, "producer_voluntary_switches", s.producer_voluntary);
    take(j, "producer_involuntary_switches", s.producer_involuntary);
    take(j, "consumer_voluntary_switches", s.consumer_voluntary);
    take(j, "consumer_involuntary_switches", s.consumer_involuntary);
  }
  auto histogram = [&](const char* key, std::optional<LatencyHistogram>& out) {
    if (auto it = j.find(key); it != j.end()) {
      try {
        out = it->get<LatencyHistogram>();
      } catch (const json::exception&) {
        // a field the tables do not need: left out, as any other of the wrong type
      }
    }
  };
  histogram("latency_histogram", r.latency_histogram);
  histogram("latency_histogram_sent", r.latency_histogram_sent);
  bool failed = false;
  take(j, "error_occurred", failed);
  if (failed) {
    r.error = "failed";
    take(j, "error_message", *r.error);
    return;
  }
  if (r.scenario == Scenario::fanout) {
    FanoutFigures& f = r.fanout.emplace();
    take(j, "subscribers", f.subscribers);
    std::string delivery;
    take(j, "delivery", delivery);
    f.native = delivery == "native";
    take(j, "msgs_per_s", f.msgs_per_s);
    take(j, "consumer_bytes_per_second_min", f.consumer_bytes_per_second_min);
    take(j, "consumer_bytes_per_second_median", f.consumer_bytes_per_second_median);
    take(j, "fairness", f.fairness);
    take(j, "p50_ns", f.p50_ns);
    take(j, "p99_ns", f.p99_ns);
    take(j, "p999_ns", f.p999_ns);
    take(j, "max_ns", f.max_ns);
    take(j, "slowest_p50_ns", f.slowest_p50_ns);
    take(j, "slowest_p99_ns", f.slowest_p99_ns);
    take(j, "producer_cpu_per_msg_ns", f.producer_cpu_per_msg_ns);
    take(j, "cpu_cores", f.cpu_cores);
  } else if (r.scenario == Scenario::rate) {
    RateFigures& f = r.rate.emplace();
    take(j, "offered_rate", f.offered_per_s);
    take(j, "achieved_rate", f.achieved_per_s);
    take(j, "behind_schedule", f.behind);
    take(j, "early", f.early);
    take(j, "sustained", f.sustained);
    take(j, "p50_ns", f.p50_ns);
    take(j, "p90_ns", f.p90_ns);
    take(j, "p99_ns", f.p99_ns);
    take(j, "p999_ns", f.p999_ns);
    take(j, "max_ns", f.max_ns);
    take(j, "mean_ns", f.mean_ns);
    take(j, "sent_p50_ns", f.sent_p50_ns);
    take(j, "sent_p99_ns", f.sent_p99_ns);
    take(j, "sent_p999_ns", f.sent_p999_ns);
    take(j, "sent_max_ns", f.sent_max_ns);
    take(j, "cpu_cores", f.cpu_cores);
  } else if (r.scenario == Scenario::pingpong) {
    PingpongFigures& f = r.pingpong.emplace();
    take(j, "min_ns", f.min_ns);
    take(j, "p50_ns", f.p50_ns);
    take(j, "p90_ns", f.p90_ns);
    take(j, "p99_ns", f.p99_ns);
    take(j, "p999_ns", f.p999_ns);
    take(j, "max_ns", f.max_ns);
    take(j, "mean_ns", f.mean_ns);
    take(j, "ops_per_s", f.ops_per_s);
    take(j, "cpu_cores", f.cpu_cores);
    take(j, "latency_percentiles", f.latency_percentiles);
  } else {
    ThroughputFigures& f = r.throughput.emplace();
    take(j, "msgs_per_s", f.msgs_per_s);
    take(j, "bytes_per_second", f.bytes_per_second);
    take(j, "producer_msgs_per_s", f.producer_msgs_per_s);
    take(j, "producer_bytes_per_second", f.producer_bytes_per_second);
    take(j, "consumer_msgs_per_s", f.consumer_msgs_per_s);
    take(j, "consumer_bytes_per_second", f.consumer_bytes_per_second);
    take(j, "cpu_cores", f.cpu_cores);
  }
}

void to_json(json& j, const ResultsDocument& document) {
  j = {{"context", document.context}, {"benchmarks", document.benchmarks}};
}

void from_json(const json& j, ResultsDocument& document) {
  document.context = j.value("context", json());
  document.benchmarks.clear();
  for (const auto& entry : j.value("benchmarks", json::array())) {
    if (entry.value("run_type", std::string()) == "aggregate") continue;
    document.benchmarks.push_back(entry.get<CellResult>());
  }
}

double switches_per_iteration(const CellResult& r) {
  if (!r.switches) return 0;
  const auto& s = *r.switches;
  const double all =
      s.producer_voluntary + s.producer_involuntary + s.consumer_voluntary + s.consumer_involuntary;
  return r.iterations > 0 ? all / r.iterations : 0;
}

CellResult make_result(const Cell& cell, const CellRun& run, int family_index, unsigned repetition,
                       unsigned repetitions) {
  CellResult r;
  r.name = cell.name();
  r.scenario = cell.scenario;
  r.transport = cell.transport;
  r.payload_bytes = cell.bytes;
  r.wait = to_string(cell.wait);
  r.wait_is_native = cell.native;
  r.touch = to_string(cell.touch);
  r.warmup = cell.warmup;
  r.requested = cell.count;
  for (const CellOption& o : cell.options) {
    OptionRecord& record = r.options.emplace_back(OptionRecord{o.name, o.unit, o.value, {}});
    auto granted = std::ranges::find(run.granted, o.name, &OptionValue::name);
    if (granted != run.granted.end()) record.effective = granted->value;
  }
  r.family_index = family_index;
  r.repetitions = repetitions;
  r.repetition_index = repetition;
  r.cell_seconds = run.wall_s;
  r.cpu_producer = cell.cpu_producer;
  r.cpu_consumer = cell.cpu_consumer;
  // A worker that did not report counts as one that measured nothing.
  const WorkerReport none;
  const WorkerReport& p = run.producer ? *run.producer : none;
  const WorkerReport& c = run.consumer ? *run.consumer : none;
  const auto p_cpu = static_cast<double>(p.cpu_ns);
  const auto c_cpu = static_cast<double>(c.cpu_ns);
  r.producer_cpu_ns = p_cpu;
  r.consumer_cpu_ns = c_cpu;
  r.producer_process_cpu_ns = run.producer_process_cpu_ns;
  r.consumer_process_cpu_ns = run.consumer_process_cpu_ns;
  r.delivered = static_cast<double>(c.count);
  r.lost = static_cast<double>(p.messages_lost) + static_cast<double>(c.messages_lost);
  r.switches = CellResult::Switches{
      static_cast<double>(p.voluntary_switches), static_cast<double>(p.involuntary_switches),
      static_cast<double>(c.voluntary_switches), static_cast<double>(c.involuntary_switches)};

  r.floor_rtt_ns = p.floor_rtt_ns;
  r.floor_copy_bytes_per_second = p.floor_copy_bytes_per_second;
  if (!run.ok) {
    r.error = run.error.empty() ? "failed" : run.error;
    r.iterations = static_cast<double>(p.count);
    return r;
  }

  if (cell.scenario == Scenario::fanout) {
    // Every consumer's journey; the slowest sets the pace.
    Histogram all;
    std::vector<double> rates;
    double last_end = 0, consumers_cpu = 0, delivered = 0;
    double slowest_p99 = -1, slowest_p50 = 0;
    bool first = true;
    for (const auto& report : run.consumers) {
      const WorkerReport& w = report ? *report : none;
      Histogram h;
      if (w.latency) h.assign(w.latency->buckets, w.latency->sum, w.latency->min, w.latency->max);
      all.merge(h);
      // Each consumer's rate over the producer's stream: from its first measured send (one
      // CLOCK_MONOTONIC for all) to this consumer's last check. Not the consumer's own first to
      // last receive: a consumer that drains a full socket buffer in one burst would show a rate
      // the stream never had.
      const double ns = static_cast<double>(w.end_ns) - static_cast<double>(p.start_ns);
      rates.push_back(
          ns > 0 ? static_cast<double>(w.count) * static_cast<double>(cell.bytes) * 1e9 / ns : 0);
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
    r.latency_histogram = LatencyHistogram{all.sparse(), all.sum(), all.min(), all.max()};
    r.delivered = delivered;
    r.iterations = delivered;
    r.real_time = delivered > 0 ? e2e_ns / delivered : 0;
    r.cpu_time = delivered > 0 ? (p_cpu + consumers_cpu) / delivered : 0;
    r.consumer_cpu_ns = consumers_cpu;
    FanoutFigures& f = r.fanout.emplace();
    f.subscribers = static_cast<double>(cell.subscribers);
    f.native = find_transport(cell.transport)->capabilities().multicast;
    f.msgs_per_s = e2e_ns > 0 ? delivered * 1e9 / e2e_ns : 0;
    f.consumer_bytes_per_second_min = rates.empty() ? 0 : rates.front();
    f.consumer_bytes_per_second_median = median;
    f.fairness = median > 0 ? (rates.back() - rates.front()) / median : 0;
    f.p50_ns = static_cast<double>(all.percentile(50));
    f.p99_ns = static_cast<double>(all.percentile(99));
    f.p999_ns = static_cast<double>(all.percentile(99.9));
    f.max_ns = static_cast<double>(all.max());
    f.slowest_p50_ns = slowest_p50;
    f.slowest_p99_ns = std::max(slowest_p99, 0.0);
    f.producer_cpu_per_msg_ns = p.count > 0 ? p_cpu / static_cast<double>(p.count) : 0;
    f.cpu_cores = e2e_ns > 0 ? (p_cpu + consumers_cpu) / e2e_ns : 0;
  } else if (cell.scenario == Scenario::rate) {
    // The consumer saw every message's journey; the producer kept (or not) the schedule.
    const auto count = static_cast<double>(c.count);
    const double p_ns = static_cast<double>(p.end_ns) - static_cast<double>(p.start_ns);
    const double e2e_ns = static_cast<double>(c.end_ns) - static_cast<double>(p.start_ns);
    Histogram intended, sent;
    if (c.latency)
      intended.assign(c.latency->buckets, c.latency->sum, c.latency->min, c.latency->max);
    if (c.latency_sent) {
      sent.assign(c.latency_sent->buckets, c.latency_sent->sum, c.latency_sent->min,
                  c.latency_sent->max);
    }
    r.latency_histogram = c.latency;
    r.latency_histogram_sent = c.latency_sent;
    r.iterations = count;
    r.real_time = intended.mean();
    r.cpu_time = count > 0 ? (p_cpu + c_cpu) / count : 0;
    RateFigures& f = r.rate.emplace();
    f.offered_per_s = cell.rate;
    f.achieved_per_s = p_ns > 0 ? static_cast<double>(p.count) * 1e9 / p_ns : 0;
    f.behind = static_cast<double>(p.behind);
    f.early = static_cast<double>(c.early);
    // Sustained: nearly the offered rate, and the last send at most 1 ms late.
    f.sustained = cell.rate <= 0 || (f.achieved_per_s >= 0.97 * cell.rate &&
                                     f.behind <= std::max(1.0, cell.rate * 1e-3));
    f.p50_ns = static_cast<double>(intended.percentile(50));
    f.p90_ns = static_cast<double>(intended.percentile(90));
    f.p99_ns = static_cast<double>(intended.percentile(99));
    f.p999_ns = static_cast<double>(intended.percentile(99.9));
    f.max_ns = static_cast<double>(intended.max());
    f.mean_ns = intended.mean();
    f.sent_p50_ns = static_cast<double>(sent.percentile(50));
    f.sent_p99_ns = static_cast<double>(sent.percentile(99));
    f.sent_p999_ns = static_cast<double>(sent.percentile(99.9));
    f.sent_max_ns = static_cast<double>(sent.max());
    f.cpu_cores = e2e_ns > 0 ? (p_cpu + c_cpu) / e2e_ns : 0;
  } else if (cell.scenario == Scenario::pingpong) {
    const auto count = static_cast<double>(p.count);
    const double wall_ns = static_cast<double>(p.end_ns) - static_cast<double>(p.start_ns);
    Histogram h;
    if (p.latency) h.assign(p.latency->buckets, p.latency->sum, p.latency->min, p.latency->max);
    const double mean = count > 0 ? wall_ns / count : 0;
    r.iterations = count;
    r.real_time = mean;
    r.cpu_time = count > 0 ? (p_cpu + c_cpu) / count : 0;
    r.latency_histogram = p.latency;
    PingpongFigures& f = r.pingpong.emplace();
    f.min_ns = static_cast<double>(h.min());
    f.p50_ns = static_cast<double>(h.percentile(50));
    f.p90_ns = static_cast<double>(h.percentile(90));
    f.p99_ns = static_cast<double>(h.percentile(99));
    f.p999_ns = static_cast<double>(h.percentile(99.9));
    f.max_ns = static_cast<double>(h.max());
    f.mean_ns = mean;
    f.ops_per_s = mean > 0 ? 1e9 / mean : 0;
    f.cpu_cores = wall_ns > 0 ? (p_cpu + c_cpu) / wall_ns : 0;
    for (double pct : kSpectrum)
      f.latency_percentiles.emplace_back(pct, static_cast<double>(h.percentile(pct)));
  } else {
    const auto count = static_cast<double>(c.count);
    const auto bytes = static_cast<double>(cell.bytes);
    const double e2e_ns = static_cast<double>(c.end_ns) - static_cast<double>(p.start_ns);
    const double p_ns = static_cast<double>(p.end_ns) - static_cast<double>(p.start_ns);
    const double c_ns = static_cast<double>(c.end_ns) - static_cast<double>(c.start_ns);
    const double rate = e2e_ns > 0 ? count * 1e9 / e2e_ns : 0;
    const double p_rate = p_ns > 0 ? static_cast<double>(p.count) * 1e9 / p_ns : 0;
    const double c_rate = c_ns > 0 ? count * 1e9 / c_ns : 0;
    r.iterations = count;
    r.real_time = count > 0 ? e2e_ns / count : 0;
    r.cpu_time = count > 0 ? (p_cpu + c_cpu) / count : 0;
    ThroughputFigures& f = r.throughput.emplace();
    f.msgs_per_s = rate;
    f.bytes_per_second = rate * bytes;
    f.producer_msgs_per_s = p_rate;
    f.producer_bytes_per_second = p_rate * bytes;
    f.consumer_msgs_per_s = c_rate;
    f.consumer_bytes_per_second = c_rate * bytes;
    f.cpu_cores = e2e_ns > 0 ? (p_cpu + c_cpu) / e2e_ns : 0;
  }
  return r;
}

// ---------------------------------------------------------------------------------------------
// Reading a results file

namespace {

const char* type_name(const json& j) {
  return j.type_name();  // "null", "object", "array", "string", "boolean", "number"
}

// Checks entry `e` (index `i`) of `benchmarks`; says which field is wrong and how.
std::optional<std::string> check_entry(const json& e, std::size_t i) {
  const std::string where = fmt::format("benchmarks[{}]", i);
  if (!e.is_object()) return fmt::format("{}: expected an object, got {}", where, type_name(e));
  auto want = [&](const char* key, bool required, auto&& ok,
                  const char* what) -> std::optional<std::string> {
    auto it = e.find(key);
    if (it == e.end()) {
      if (!required) return std::nullopt;
      return fmt::format("{}: no field '{}'", where, key);
    }
    if (!ok(*it)) {
      return fmt::format("{}.{}: expected {}, got {} {}", where, key, what, type_name(*it),
                         it->dump().substr(0, 40));
    }
    return std::nullopt;
  };
  auto is_string = [](const json& j) { return j.is_string(); };
  auto is_bool = [](const json& j) { return j.is_boolean(); };
  auto is_number = [](const json& j) { return j.is_number(); };
  auto is_size = [](const json& j) { return j.is_number_unsigned(); };
  auto is_scenario = [](const json& j) {
    return j.is_string() && parse_scenario(j.get<std::string>()).has_value();
  };
  if (auto bad = want("name", true, is_string, "a string")) return bad;
  if (auto bad = want("scenario", true, is_scenario, "pingpong, throughput, rate or fanout"))
    return bad;
  if (auto bad = want("payload_bytes", true, is_size, "a whole number of bytes")) return bad;
  for (const char* key : {"transport", "wait", "touch"}) {
    if (auto bad = want(key, true, is_string, "a string")) return bad;
  }
  if (auto bad = want("error_occurred", false, is_bool, "true or false")) return bad;
  if (auto bad = want("error_message", false, is_string, "a string")) return bad;
  if (auto bad = want("wait_is_native", false, is_bool, "true or false")) return bad;
  // options: {"<setting>": {"asked": N, "effective": N or null, "unit": "bytes" or "count"}}
  auto is_options = [](const json& j) {
    if (!j.is_object()) return false;
    for (const auto& [name, o] : j.items()) {
      if (!o.is_object() || !o.contains("asked") || !o["asked"].is_number_unsigned()) return false;
      if (o.contains("effective") && !o["effective"].is_null() &&
          !o["effective"].is_number_unsigned()) {
        return false;
      }
    }
    return true;
  };
  if (auto bad = want("options", false, is_options,
                      "an object of settings, each {\"asked\": a whole number, \"effective\": a "
                      "whole number or null}")) {
    return bad;
  }
  for (const auto& [key, value] : e.items()) {
    const bool numeric = key.ends_with("_ns") || key.ends_with("_per_s") ||
                         key.ends_with("_per_second") || key == "real_time" || key == "cpu_time" ||
                         key == "iterations" || key == "lost" || key == "delivered" ||
                         key == "cpu_cores";
    if (numeric && !value.is_number()) {
      if (auto bad = want(key.c_str(), true, is_number, "a number")) return bad;
    }
  }
  return std::nullopt;
}

}  // namespace

std::expected<ResultsDocument, std::string> load_results(const std::string& path) {
  // A directory opens as a stream on Linux and fails only when read (an exception): say so first.
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return std::unexpected(fmt::format("cannot read {}: {}", path, std::strerror(EISDIR)));
  }
  std::ifstream in(path);
  if (!in) return std::unexpected(fmt::format("cannot read {}: {}", path, std::strerror(errno)));
  json doc;
  try {
    doc = json::parse(in);
  } catch (const json::exception& e) {
    return std::unexpected(fmt::format("{}: not JSON: {}", path, e.what()));
  } catch (const std::exception& e) {  // a read error (EIO, a special file)
    return std::unexpected(fmt::format("cannot read {}: {}", path, e.what()));
  }
  const auto* context = doc.is_object() ? &doc["context"] : nullptr;
  if (!context || !context->is_object() || !context->contains("ipcbench_version")) {
    return std::unexpected(
        fmt::format("{}: not an ipcbench result file (no ipcbench context)", path));
  }
  // A newer schema may have changed what a field means: refuse it rather than misread it.
  if (auto version = context->find("json_schema_version"); version != context->end()) {
    if (!version->is_number_integer() || version->get<std::int64_t>() < 1 ||
        version->get<std::int64_t>() > kJsonSchemaVersion) {
      return std::unexpected(fmt::format(
          "{}: json_schema_version {} is not one this build reads (1 to {}): a newer ipcbench "
          "wrote it",
          path, version->dump().substr(0, 40), kJsonSchemaVersion));
    }
  }
  const json& benchmarks = doc.contains("benchmarks") ? doc["benchmarks"] : json();
  if (!benchmarks.is_array()) {
    return std::unexpected(
        fmt::format("{}: benchmarks: expected an array, got {}", path, type_name(benchmarks)));
  }
  for (std::size_t i = 0; i < benchmarks.size(); ++i) {
    if (auto bad = check_entry(benchmarks[i], i)) return std::unexpected(path + ": " + *bad);
  }
  return doc.get<ResultsDocument>();
}

}  // namespace ipcbench

#include "harness/results/results.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <type_traits>

#include <fmt/format.h>

#include "base/histogram.hpp"

namespace ipcbench {

using nlohmann::json;

namespace {

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

// A file's settings in the order the transport's driver declares them, which is the order the
// cell's name wrote them in (a JSON object keeps its keys sorted); a setting this build's driver
// does not declare, or a transport it does not know, keeps the file's order, after the others.
void sort_by_declaration(std::vector<OptionRecord>& options, const std::string& transport) {
  const TransportInfo* info = find_transport(transport);
  if (!info || options.size() < 2) return;
  const std::vector<OptionSpec> declared = options_of(*info);
  auto rank = [&](const OptionRecord& o) {
    return static_cast<std::size_t>(std::ranges::find(declared, o.name, &OptionSpec::name) -
                                    declared.begin());
  };
  std::ranges::stable_sort(options, {}, rank);
}

// The entry's settings ("options"), asked and granted, in the driver's order.
// The memory fields of an entry (CellResult::Memory), each written only when measured.
constexpr std::pair<const char*, std::optional<double> CellResult::Memory::*> kMemoryFields[] = {
    {"producer_peak_rss_bytes", &CellResult::Memory::producer_peak_rss},
    {"consumer_peak_rss_bytes", &CellResult::Memory::consumer_peak_rss},
    {"producer_shared_bytes", &CellResult::Memory::producer_shared},
    {"consumer_shared_bytes", &CellResult::Memory::consumer_shared},
    {"daemon_rss_bytes", &CellResult::Memory::daemon_rss},
};

void write_memory(json& j, const CellResult::Memory& m) {
  for (const auto& [key, field] : kMemoryFields) {
    if (m.*field) j[key] = *(m.*field);
  }
}

// Absent or not a number: not measured.
CellResult::Memory read_memory(const json& j) {
  CellResult::Memory m;
  for (const auto& [key, field] : kMemoryFields) {
    if (auto it = j.find(key); it != j.end() && it->is_number()) m.*field = it->get<double>();
  }
  return m;
}

std::vector<OptionRecord> read_options(const json& j, const std::string& transport) {
  std::vector<OptionRecord> out;
  if (auto it = j.find("options"); it != j.end() && it->is_object()) {
    for (const auto& [name, o] : it->items()) {
      if (!o.is_object()) continue;
      OptionRecord& record = out.emplace_back();
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
  sort_by_declaration(out, transport);
  return out;
}

// The cell's variant: its fields where the entry has them (every entry of this build's files).
// A failed entry of an older file has none: its variant is read from its name, as the scenario's
// name_suffix wrote it ("/max" or "/<rate>"; "/n<consumers>"), before the CPU pair a run of
// several pairs adds ("/cpus<producer>-<consumer>"). (reqresp, newer, always has the field.)
void read_variant(const json& j, CellResult& r) {
  std::string_view name = r.name;
  if (const auto at = name.rfind("/cpus"); at != std::string_view::npos) name = name.substr(0, at);
  const std::string tail(name.substr(name.rfind('/') + 1));
  const bool variant = r.transport != kFloorTransport;  // the floor has none
  if (auto it = j.find(kOfferedRateField); it != j.end() && it->is_number()) {
    r.offered_rate = it->get<double>();
  } else if (variant && r.scenario->on_schedule) {
    r.offered_rate = tail == "max" ? 0 : std::atof(tail.c_str());
  }
  if (auto it = j.find(kConsumersField); it != j.end() && it->is_number() && *it >= 0) {
    r.consumers = static_cast<unsigned>(it->get<double>());
  } else if (variant && r.scenario->fan_out && tail.starts_with('n')) {
    r.consumers = static_cast<unsigned>(std::atoi(tail.c_str() + 1));
  }
}

}  // namespace

std::string format_size(std::size_t bytes) {
  if (bytes >= (1u << 30) && bytes % (1u << 30) == 0) return std::to_string(bytes >> 30) + "GiB";
  if (bytes >= (1u << 20) && bytes % (1u << 20) == 0) return std::to_string(bytes >> 20) + "MiB";
  if (bytes >= (1u << 10) && bytes % (1u << 10) == 0) return std::to_string(bytes >> 10) + "KiB";
  return std::to_string(bytes);
}

std::string format_option(OptionUnit unit, std::uint64_t value) {
  return unit == OptionUnit::bytes ? format_size(value) : std::to_string(value);
}

std::string transport_label(std::string_view transport, const std::vector<CellOption>& options) {
  std::string out(transport);
  if (options.empty()) return out;
  out += '[';
  for (std::size_t i = 0; i < options.size(); ++i) {
    out +=
        (i ? ";" : "") + options[i].name + "=" + format_option(options[i].unit, options[i].value);
  }
  return out + ']';
}

std::string transport_key(const CellResult& r) {
  std::vector<CellOption> asked;
  for (const OptionRecord& o : r.options)
    asked.push_back({o.name, o.unit, o.asked});
  return transport_label(r.transport, asked);
}

std::string transport_label(const CellResult& r) {
  if (r.options.empty()) return r.transport;
  // Each setting as the name writes it; each granted otherwise gets "→granted".
  std::string out = r.transport + "[";
  for (std::size_t i = 0; i < r.options.size(); ++i) {
    const OptionRecord& o = r.options[i];
    out += (i ? ";" : "") + o.name + "=" + format_option(o.unit, o.asked);
    if (o.effective && *o.effective != o.asked) out += "→" + format_option(o.unit, *o.effective);
  }
  return out + "]";
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
  // The variant, in every entry that has one, failed or not (a successful one's figures say the
  // same again).
  if (r.offered_rate) j[kOfferedRateField] = *r.offered_rate;
  if (r.consumers) j[kConsumersField] = *r.consumers;
  if (r.floor_rtt_ns) j["floor_rtt_ns"] = *r.floor_rtt_ns;
  write_memory(j, r.memory);
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
  if (r.latency_over_time) j["latency_over_time"] = *r.latency_over_time;
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
  for (const FigureSpec& spec : r.scenario->figures) {
    const double v = r.figures.has(spec.key) ? r.figures[spec.key] : spec.fallback;
    switch (spec.form) {
      case FigureForm::number:
        j[spec.key] = v;
        break;
      case FigureForm::whole:
        j[spec.key] = whole(v);
        break;
      case FigureForm::flag:
        j[spec.key] = v != 0;
        break;
      case FigureForm::words:
        j[spec.key] = v != 0 ? spec.yes : spec.no;
        break;
    }
  }
  if (!r.latency_percentiles.empty()) {
    json spectrum = json::array();
    for (const auto& [pct, ns] : r.latency_percentiles)
      spectrum.push_back({pct, whole(ns)});
    j["latency_percentiles"] = std::move(spectrum);
  }
  if (r.latency_histogram_sent) j["latency_histogram_sent"] = *r.latency_histogram_sent;
}

void from_json(const json& j, CellResult& r) {
  r = CellResult{};
  take(j, "name", r.name);
  std::string scenario;
  take(j, "scenario", scenario);
  // load_results() has refused an unknown scenario before; an entry read on its own is refused
  // here, never taken for another scenario's.
  const std::optional<Scenario> known = parse_scenario(scenario);
  if (!known) {
    throw std::invalid_argument(
        fmt::format("{}: scenario '{}' is not one of {}", r.name, scenario, scenario_names(", ")));
  }
  r.scenario = *known;
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
  r.options = read_options(j, r.transport);
  r.memory = read_memory(j);
  read_variant(j, r);
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
  if (auto it = j.find("latency_over_time"); it != j.end()) {
    try {
      r.latency_over_time = it->get<LatencyOverTime>();
    } catch (const json::exception&) {
      // as a histogram of the wrong shape: left out
    }
  }
  bool failed = false;
  take(j, "error_occurred", failed);
  if (failed) {
    r.error = "failed";
    take(j, "error_message", *r.error);
    return;
  }
  for (const FigureSpec& spec : r.scenario->figures) {
    double v = spec.fallback;
    if (auto it = j.find(spec.key); it != j.end()) {
      if (spec.form == FigureForm::words && it->is_string()) {
        v = it->get<std::string>() == spec.yes ? 1 : 0;
      } else if (spec.form == FigureForm::flag && it->is_boolean()) {
        v = it->get<bool>() ? 1 : 0;
      } else if (it->is_number()) {
        v = it->get<double>();
      }
    }
    r.figures.set(spec.key, v);
  }
  take(j, "latency_percentiles", r.latency_percentiles);
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

std::optional<std::pair<double, double>> over_floor(const CellResult& e, std::string_view figure,
                                                    OverFloor how) {
  if (how == OverFloor::copy) {
    if (!e.floor_copy_bytes_per_second) return std::nullopt;
    return std::pair{*e.floor_copy_bytes_per_second, e.figure(figure)};
  }
  if (!e.floor_rtt_ns) return std::nullopt;
  return std::pair{e.figure(figure),
                   how == OverFloor::one_way ? *e.floor_rtt_ns / 2 : *e.floor_rtt_ns};
}

double switches_per_iteration(const CellResult& r) {
  if (!r.switches) return 0;
  const auto& s = *r.switches;
  const double all =
      s.producer_voluntary + s.producer_involuntary + s.consumer_voluntary + s.consumer_involuntary;
  return r.iterations > 0 ? all / r.iterations : 0;
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
  const std::string scenarios_text = scenario_names(" or ");
  if (auto bad = want("scenario", true, is_scenario, scenarios_text.c_str())) return bad;
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

void to_json(json& j, const LatencyOverTime& t) {
  json windows = json::array();
  for (const LatencyTimeline::Window& w : t.windows)
    windows.push_back({w.start_ns, w.count, w.p50_ns, w.p99_ns, w.max_ns});
  j = {{"window_ns", t.window_ns}, {"windows", std::move(windows)}};
}

void from_json(const json& j, LatencyOverTime& t) {
  t.window_ns = j.at("window_ns").get<std::uint64_t>();
  t.windows.clear();
  for (const json& w : j.at("windows")) {
    const auto v = w.get<std::array<std::uint64_t, 5>>();
    t.windows.push_back({v[0], v[1], v[2], v[3], v[4]});
  }
}

}  // namespace ipcbench

#include "harness/results.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>

#include <fmt/format.h>

#include "base/histogram.hpp"

namespace ipcbench {

using nlohmann::json;

namespace {

// The percentiles kept for the latency-distribution plot (HdrHistogram style: ever closer to 100).
constexpr double kSpectrum[] = {0,  10, 20,   25, 30,   40,   50,    60,    70,     75,     80,
                                90, 95, 97.5, 99, 99.5, 99.9, 99.95, 99.99, 99.995, 99.999, 100};

double as_double(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<double>() : 0.0;
}

}  // namespace

json make_entry(const Cell& cell, const CellRun& run, int family_index, unsigned repetition,
                unsigned repetitions) {
  json e = {{"name", cell.name()},
            {"family_index", family_index},
            {"per_family_instance_index", 0},
            {"run_name", cell.name()},
            {"run_type", "iteration"},
            {"repetitions", repetitions},
            {"repetition_index", repetition},
            {"threads", 1},
            {"scenario", to_string(cell.scenario)},
            {"transport", cell.transport},
            {"payload_bytes", cell.bytes},
            {"wait", to_string(cell.wait)},
            {"wait_is_native", cell.native},
            {"touch", to_string(cell.touch)},
            {"warmup", cell.warmup},
            {"requested", cell.count},
            {"cell_seconds", run.wall_s}};
  // A worker that did not report counts as one that measured nothing.
  const WorkerReport none;
  const WorkerReport& p = run.producer ? *run.producer : none;
  const WorkerReport& c = run.consumer ? *run.consumer : none;
  const auto p_cpu = static_cast<double>(p.cpu_ns);
  const auto c_cpu = static_cast<double>(c.cpu_ns);
  e["producer_cpu_ns"] = p_cpu;
  e["consumer_cpu_ns"] = c_cpu;
  e["producer_process_cpu_ns"] = run.producer_process_cpu_ns;
  e["consumer_process_cpu_ns"] = run.consumer_process_cpu_ns;
  e["delivered"] = static_cast<double>(c.count);
  e["lost"] = static_cast<double>(p.messages_lost) + static_cast<double>(c.messages_lost);

  if (!run.ok) {
    // As Google Benchmark writes a failed run: times of 0 (its compare.py needs the fields).
    e["error_occurred"] = true;
    e["error_message"] = run.error.empty() ? "failed" : run.error;
    e["iterations"] = static_cast<double>(p.count);
    e["real_time"] = 0;
    e["cpu_time"] = 0;
    e["time_unit"] = "ns";
    return e;
  }

  if (cell.scenario == Scenario::pingpong) {
    const auto count = static_cast<double>(p.count);
    const double wall_ns = static_cast<double>(p.end_ns) - static_cast<double>(p.start_ns);
    Histogram h;
    if (p.latency) h.assign(p.latency->buckets, p.latency->sum, p.latency->min, p.latency->max);
    const double mean = count > 0 ? wall_ns / count : 0;
    e["iterations"] = count;
    e["real_time"] = mean;
    e["cpu_time"] = count > 0 ? (p_cpu + c_cpu) / count : 0;
    e["time_unit"] = "ns";
    e["min_ns"] = h.min();
    e["p50_ns"] = h.percentile(50);
    e["p90_ns"] = h.percentile(90);
    e["p99_ns"] = h.percentile(99);
    e["p999_ns"] = h.percentile(99.9);
    e["max_ns"] = h.max();
    e["mean_ns"] = mean;
    e["ops_per_s"] = mean > 0 ? 1e9 / mean : 0;
    e["cpu_cores"] = wall_ns > 0 ? (p_cpu + c_cpu) / wall_ns : 0;
    json spectrum = json::array();
    for (double pct : kSpectrum)
      spectrum.push_back({pct, h.percentile(pct)});
    e["latency_percentiles"] = spectrum;
  } else {
    const auto count = static_cast<double>(c.count);
    const auto bytes = static_cast<double>(cell.bytes);
    const double e2e_ns = static_cast<double>(c.end_ns) - static_cast<double>(p.start_ns);
    const double p_ns = static_cast<double>(p.end_ns) - static_cast<double>(p.start_ns);
    const double c_ns = static_cast<double>(c.end_ns) - static_cast<double>(c.start_ns);
    const double rate = e2e_ns > 0 ? count * 1e9 / e2e_ns : 0;
    const double p_rate = p_ns > 0 ? static_cast<double>(p.count) * 1e9 / p_ns : 0;
    const double c_rate = c_ns > 0 ? count * 1e9 / c_ns : 0;
    e["iterations"] = count;
    e["real_time"] = count > 0 ? e2e_ns / count : 0;
    e["cpu_time"] = count > 0 ? (p_cpu + c_cpu) / count : 0;
    e["time_unit"] = "ns";
    e["msgs_per_s"] = rate;
    e["bytes_per_second"] = rate * bytes;
    e["producer_msgs_per_s"] = p_rate;
    e["producer_bytes_per_second"] = p_rate * bytes;
    e["consumer_msgs_per_s"] = c_rate;
    e["consumer_bytes_per_second"] = c_rate * bytes;
    e["cpu_cores"] = e2e_ns > 0 ? (p_cpu + c_cpu) / e2e_ns : 0;
  }
  return e;
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
  if (auto bad = want("scenario", true, is_scenario, "pingpong or throughput")) return bad;
  if (auto bad = want("payload_bytes", true, is_size, "a whole number of bytes")) return bad;
  for (const char* key : {"transport", "wait", "touch"}) {
    if (auto bad = want(key, true, is_string, "a string")) return bad;
  }
  if (auto bad = want("error_occurred", false, is_bool, "true or false")) return bad;
  if (auto bad = want("error_message", false, is_string, "a string")) return bad;
  if (auto bad = want("wait_is_native", false, is_bool, "true or false")) return bad;
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

std::expected<json, std::string> load_results(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::unexpected(fmt::format("cannot read {}: {}", path, std::strerror(errno)));
  json doc;
  try {
    doc = json::parse(in);
  } catch (const json::exception& e) {
    return std::unexpected(fmt::format("{}: not JSON: {}", path, e.what()));
  }
  const auto* context = doc.is_object() ? &doc["context"] : nullptr;
  if (!context || !context->is_object() || !context->contains("ipcbench_version")) {
    return std::unexpected(
        fmt::format("{}: not an ipcbench result file (no ipcbench context)", path));
  }
  const json& benchmarks = doc.contains("benchmarks") ? doc["benchmarks"] : json();
  if (!benchmarks.is_array()) {
    return std::unexpected(
        fmt::format("{}: benchmarks: expected an array, got {}", path, type_name(benchmarks)));
  }
  for (std::size_t i = 0; i < benchmarks.size(); ++i) {
    if (auto bad = check_entry(benchmarks[i], i)) return std::unexpected(path + ": " + *bad);
  }
  return doc;
}

// ---------------------------------------------------------------------------------------------
// Tables

namespace {

std::string format_ns(double ns) {
  if (ns <= 0) return "-";
  if (ns < 1000) return fmt::format("{:.0f} ns", ns);
  if (ns < 10'000) return fmt::format("{:.2f} us", ns / 1e3);
  if (ns < 1'000'000) return fmt::format("{:.1f} us", ns / 1e3);
  if (ns < 1e9) return fmt::format("{:.2f} ms", ns / 1e6);
  return fmt::format("{:.2f} s", ns / 1e9);
}

std::string format_rate(double per_s) {
  if (per_s <= 0) return "-";
  if (per_s >= 1e6) return fmt::format("{:.2f} M", per_s / 1e6);
  if (per_s >= 1e3) return fmt::format("{:.1f} k", per_s / 1e3);
  return fmt::format("{:.0f}", per_s);
}

std::string format_bytes(std::size_t bytes) {
  if (bytes >= (1u << 20) && bytes % (1u << 20) == 0) return fmt::format("{} MiB", bytes >> 20);
  if (bytes >= (1u << 10) && bytes % (1u << 10) == 0) return fmt::format("{} KiB", bytes >> 10);
  return fmt::format("{} B", bytes);
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  std::size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// All repetitions of one cell.
struct Row {
  json first;              // the first entry (names, sizes)
  std::vector<json> good;  // the successful repetitions
  std::vector<std::string> errors;
  double med(const char* key) const {
    std::vector<double> v;
    for (const auto& e : good)
      v.push_back(as_double(e, key));
    return median(v);
  }
  // (max - min) / median of a figure across repetitions; 0 with fewer than two.
  double spread(const char* key) const {
    if (good.size() < 2) return 0;
    std::vector<double> v;
    for (const auto& e : good)
      v.push_back(as_double(e, key));
    auto [lo, hi] = std::minmax_element(v.begin(), v.end());
    double m = median(v);
    return m > 0 ? (*hi - *lo) / m : 0;
  }
};

struct Table {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  std::size_t text_columns = 1;  // the first columns are text (left-aligned), the rest numbers

  std::string render(TableFormat format) const {
    std::string out;
    if (format == TableFormat::csv) {
      auto csv = [](const std::string& cell) {
        if (cell.find_first_of(",\"\n") == std::string::npos) return cell;
        std::string q = "\"";
        for (char ch : cell)
          q += ch == '"' ? std::string("\"\"") : std::string(1, ch);
        return q + "\"";
      };
      for (std::size_t i = 0; i < header.size(); ++i)
        out += (i ? "," : "") + csv(header[i]);
      out += "\n";
      for (const auto& r : rows) {
        for (std::size_t i = 0; i < r.size(); ++i)
          out += (i ? "," : "") + csv(r[i]);
        out += "\n";
      }
      return out;
    }
    std::vector<std::size_t> width(header.size());
    for (std::size_t i = 0; i < header.size(); ++i)
      width[i] = header[i].size();
    for (const auto& r : rows) {
      for (std::size_t i = 0; i < r.size(); ++i)
        width[i] = std::max(width[i], r[i].size());
    }
    auto line = [&](const std::vector<std::string>& cells) {
      std::string s = "|";
      for (std::size_t i = 0; i < cells.size(); ++i) {
        s += " " + cells[i] + std::string(width[i] - cells[i].size(), ' ') + " |";
      }
      return s + "\n";
    };
    out += line(header);
    std::string sep = "|";
    for (std::size_t i = 0; i < header.size(); ++i) {
      sep += (i < text_columns ? " " + std::string(width[i], '-') + " |"
                               : " " + std::string(width[i] - 1, '-') + ": |");
    }
    out += sep + "\n";
    for (const auto& r : rows)
      out += line(r);
    return out;
  }
};

std::string error_text(const Row& row) {
  std::string e = row.errors.empty() ? "failed" : row.errors.front();
  for (auto& ch : e) {
    if (ch == '|' || ch == '\n') ch = ' ';
  }
  if (e.size() > 120) e = e.substr(0, 117) + "...";
  return "FAILED: " + e;
}

}  // namespace

std::string render_tables(const json& doc, const ReportOptions& options) {
  // Group repetitions by name.
  std::vector<std::string> order;
  std::map<std::string, Row> rows;
  for (const auto& e : doc.value("benchmarks", json::array())) {
    if (!e.is_object() || !e.contains("name")) continue;
    std::string name = e["name"].get<std::string>();
    auto [it, inserted] = rows.try_emplace(name);
    if (inserted) {
      order.push_back(name);
      it->second.first = e;
    }
    if (e.value("error_occurred", false)) {
      it->second.errors.push_back(e.value("error_message", std::string("failed")));
    } else {
      it->second.good.push_back(e);
    }
  }
  auto field = [](const Row& r, const char* key) { return r.first.value(key, std::string()); };
  auto bytes_of = [](const Row& r) { return r.first.value("payload_bytes", std::size_t{0}); };
  // Rows of one scenario by size; within a size the fastest first, failed cells last.
  auto by_size = [&](const char* scenario, const char* key, bool ascending) {
    std::map<std::size_t, std::vector<const Row*>> groups;
    for (const auto& name : order) {
      const Row& r = rows[name];
      if (field(r, "scenario") == scenario) groups[bytes_of(r)].push_back(&r);
    }
    for (auto& [size, list] : groups) {
      std::stable_sort(list.begin(), list.end(), [&](const Row* a, const Row* b) {
        if (a->good.empty() != b->good.empty()) return b->good.empty();
        if (a->good.empty()) return false;
        if (field(*a, "touch") != field(*b, "touch"))
          return field(*a, "touch") < field(*b, "touch");
        double x = a->med(key), y = b->med(key);
        return ascending ? x < y : x > y;
      });
    }
    return groups;
  };
  const std::string& base = options.baseline;
  // The baseline's p50 for a size: its native mode if measured, else any mode.
  auto baseline_p50 = [&](std::size_t bytes) -> double {
    double any = 0;
    for (const auto& name : order) {
      const Row& r = rows[name];
      if (field(r, "scenario") != "pingpong" || r.good.empty()) continue;
      if (field(r, "transport") != base || bytes_of(r) != bytes) continue;
      if (r.first.value("wait_is_native", false)) return r.med("p50_ns");
      if (any == 0) any = r.med("p50_ns");
    }
    return any;
  };
  unsigned reps = 1;
  for (const auto& [name, r] : rows) {
    reps = std::max<unsigned>(reps, static_cast<unsigned>(r.good.size() + r.errors.size()));
  }
  const bool md = options.format == TableFormat::markdown;
  // Markdown shows units a person reads; CSV plain numbers in the unit its header names.
  auto ns = [&](double v) { return md ? format_ns(v) : fmt::format("{:.1f}", v); };
  auto rate = [&](double v) { return md ? format_rate(v) : fmt::format("{:.1f}", v); };
  auto unit = [&](const char* name, const char* csv_unit) {
    return md ? std::string(name) : fmt::format("{} ({})", name, csv_unit);
  };
  auto size_cell = [&](std::size_t bytes) {
    return md ? format_bytes(bytes) : std::to_string(bytes);
  };
  bool flagged = false;
  auto spread_cell = [&](const Row& r, const char* key) -> std::string {
    if (r.good.size() < 2) return "-";
    double s = r.spread(key);
    bool high = s > 0.05;
    flagged |= high;
    return md ? fmt::format("{:.1f}%{}", s * 100, high ? " (!)" : "") : fmt::format("{:.4f}", s);
  };

  std::string out;
  // pingpong: one table per size in Markdown, one table with a size column in CSV.
  Table ping;
  ping.header = {"transport",
                 "wait",
                 unit("size", "bytes"),
                 unit("RTT p50", "ns"),
                 unit("RTT p99", "ns"),
                 unit("RTT p99.9", "ns"),
                 unit("RTT mean", "ns"),
                 "round trips/s",
                 unit("CPU per RT", "ns"),
                 "p50 vs " + base};
  if (reps > 1) ping.header.push_back("spread");
  ping.text_columns = 2;
  auto ping_groups = by_size("pingpong", "p50_ns", true);
  for (const auto& [size, list] : ping_groups) {
    const double b = baseline_p50(size);
    for (const Row* r : list) {
      std::vector<std::string> cells = {field(*r, "transport"), field(*r, "wait"), size_cell(size)};
      if (r->good.empty()) {
        cells.push_back(error_text(*r));
        cells.resize(ping.header.size());
      } else {
        double p50 = r->med("p50_ns");
        cells.push_back(ns(p50));
        cells.push_back(ns(r->med("p99_ns")));
        cells.push_back(ns(r->med("p999_ns")));
        cells.push_back(ns(r->med("mean_ns")));
        cells.push_back(rate(r->med("ops_per_s")));
        cells.push_back(ns(r->med("cpu_time")));
        cells.push_back(
            b > 0 ? (md ? fmt::format("{:.1f}x", p50 / b) : fmt::format("{:.3f}", p50 / b)) : "-");
        if (reps > 1) cells.push_back(spread_cell(*r, "mean_ns"));
      }
      ping.rows.push_back(std::move(cells));
    }
    if (md) {
      out +=
          fmt::format("### pingpong, {} messages: round-trip time (RTT)\n\n", format_bytes(size));
      out += ping.render(options.format) + "\n";
      ping.rows.clear();
    }
  }
  if (!md && !ping.rows.empty()) out += ping.render(options.format) + "\n";
  if (md && !ping_groups.empty()) {
    out +=
        "RTT = one message there and one back, two processes on two CPUs. CPU per RT = both "
        "processes' CPU time per round trip (a spinning pair costs two cores). p50 vs " +
        base + " = this row's p50 / " + base +
        "'s (its native wait mode) for the same size. Medians over repetitions.\n\n";
  }

  Table put;
  put.header = {"transport", "wait",          "touch",         unit("size", "bytes"),     "msgs/s",
                "GB/s",      "producer GB/s", "consumer GB/s", unit("CPU per msg", "ns"), "lost"};
  if (reps > 1) put.header.push_back("spread");
  put.text_columns = 3;
  auto put_groups = by_size("throughput", "bytes_per_second", false);
  for (const auto& [size, list] : put_groups) {
    for (const Row* r : list) {
      std::vector<std::string> cells = {field(*r, "transport"), field(*r, "wait"),
                                        field(*r, "touch"), size_cell(size)};
      if (r->good.empty()) {
        cells.push_back(error_text(*r));
        cells.resize(put.header.size());
      } else {
        cells.push_back(rate(r->med("msgs_per_s")));
        cells.push_back(fmt::format("{:.2f}", r->med("bytes_per_second") / 1e9));
        cells.push_back(fmt::format("{:.2f}", r->med("producer_bytes_per_second") / 1e9));
        cells.push_back(fmt::format("{:.2f}", r->med("consumer_bytes_per_second") / 1e9));
        cells.push_back(ns(r->med("cpu_time")));
        cells.push_back(fmt::format("{:.0f}", r->med("lost")));
        if (reps > 1) cells.push_back(spread_cell(*r, "msgs_per_s"));
      }
      put.rows.push_back(std::move(cells));
    }
    if (md) {
      out += fmt::format("### throughput, {} messages: one-way stream\n\n", format_bytes(size));
      out += put.render(options.format) + "\n";
      put.rows.clear();
    }
  }
  if (!md && !put.rows.empty()) out += put.render(options.format);  // after an empty line
  if (md && !put_groups.empty()) {
    out +=
        "GB/s = 10^9 bytes/s end to end (producer's first send to the consumer's last check; "
        "the producer and consumer columns are each end's own rate). touch: edges = the "
        "sequence number and last byte written and checked, full = every byte.\n";
  }
  if (md && flagged) {
    out +=
        "\n(!) repetitions spread more than 5%: close other programs, pin with --cpus, raise "
        "--repetitions and --iterations (or --messages), and read the median.\n";
  }
  return out;
}

}  // namespace ipcbench

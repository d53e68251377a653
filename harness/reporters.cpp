#include "harness/reporters.hpp"

#include <algorithm>
#include <map>
#include <string_view>
#include <vector>

#include <fmt/format.h>

namespace ipcbench {

namespace {

// Repetitions of a cell whose figure spreads more than this (of its median) are flagged.
constexpr double kHighSpread = 0.05;

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  std::size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// A figure of a successful repetition, named by its member: a successful cell has its scenario's
// figures.
double figure(const CellResult& e, double CellResult::*f) {
  return e.*f;
}
double figure(const CellResult& e, double PingpongFigures::*f) {
  return (*e.pingpong).*f;
}
double figure(const CellResult& e, double ThroughputFigures::*f) {
  return (*e.throughput).*f;
}

// All repetitions of one cell.
struct Row {
  const CellResult* first = nullptr;    // the first repetition (names, sizes)
  std::vector<const CellResult*> good;  // the successful repetitions
  std::vector<std::string> errors;

  template <class Member>
  std::vector<double> values(Member f) const {
    std::vector<double> v;
    for (const CellResult* e : good)
      v.push_back(figure(*e, f));
    return v;
  }
  template <class Member>
  double med(Member f) const {
    return median(values(f));
  }
  // (max - min) / median of a figure across repetitions; 0 with fewer than two.
  template <class Member>
  double spread(Member f) const {
    if (good.size() < 2) return 0;
    std::vector<double> v = values(f);
    auto [lo, hi] = std::minmax_element(v.begin(), v.end());
    double m = median(v);
    return m > 0 ? (*hi - *lo) / m : 0;
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

// How a table reporter writes what is not text: Markdown in units a person reads, CSV as plain
// numbers in the unit its header names.
class Style {
 public:
  virtual ~Style() = default;
  virtual std::string ns(double ns) const = 0;
  virtual std::string rate(double per_s) const = 0;
  virtual std::string size(std::size_t bytes) const = 0;
  virtual std::string ratio(double ratio) const = 0;
  virtual std::string spread(double spread) const = 0;
  // A column's header: its name, and the unit its numbers are in where the style needs it.
  virtual std::string header(std::string_view name, std::string_view unit) const = 0;
};

// One scenario's table in one style: its columns, and its rows by message size.
struct Section {
  Scenario scenario = Scenario::pingpong;
  std::vector<std::string> header;
  std::size_t text_columns = 1;  // the first columns are text (left-aligned), the rest numbers
  std::map<std::size_t, std::vector<std::vector<std::string>>> rows;  // by size, ascending
  bool high_spread = false;  // a row's repetitions spread more than kHighSpread
};

// Every cell of a document, its repetitions together, in the order the cells first appear.
struct Cells {
  std::vector<Row> rows;
  bool repeated = false;  // a cell ran more than once: the tables get a spread column

  explicit Cells(const ResultsDocument& document) {
    std::map<std::string, std::size_t> index;
    for (const CellResult& e : document.benchmarks) {
      auto [it, inserted] = index.try_emplace(e.name, rows.size());
      if (inserted) rows.emplace_back().first = &e;
      Row& row = rows[it->second];
      if (e.error) {
        row.errors.push_back(*e.error);
      } else {
        row.good.push_back(&e);
      }
      repeated |= row.good.size() + row.errors.size() > 1;
    }
  }

  // One scenario's rows by size. Within a size failed cells come last; the others by touch, then
  // by `key` (the fastest first).
  template <class Member>
  std::map<std::size_t, std::vector<const Row*>> by_size(Scenario scenario, Member key,
                                                         bool ascending) const {
    std::map<std::size_t, std::vector<const Row*>> groups;
    for (const Row& r : rows) {
      if (r.first->scenario == scenario) groups[r.first->payload_bytes].push_back(&r);
    }
    for (auto& [size, list] : groups) {
      std::stable_sort(list.begin(), list.end(), [&](const Row* a, const Row* b) {
        if (a->good.empty() != b->good.empty()) return b->good.empty();
        if (a->good.empty()) return false;
        if (a->first->touch != b->first->touch) return a->first->touch < b->first->touch;
        double x = a->med(key), y = b->med(key);
        return ascending ? x < y : x > y;
      });
    }
    return groups;
  }
};

// How much `key` spread across a cell's repetitions ("-" with fewer than two); a spread above
// kHighSpread marks the section.
template <class Member>
std::string spread_cell(Section& section, const Row& r, Member key, const Style& style) {
  if (r.good.size() < 2) return "-";
  double s = r.spread(key);
  section.high_spread |= s > kHighSpread;
  return style.spread(s);
}

// The pingpong table: round-trip times, and each p50 against the baseline transport's.
Section pingpong_section(const Cells& cells, const Style& style, const std::string& baseline) {
  Section section;
  section.scenario = Scenario::pingpong;
  section.header = {"transport",
                    "wait",
                    style.header("size", "bytes"),
                    style.header("RTT p50", "ns"),
                    style.header("RTT p99", "ns"),
                    style.header("RTT p99.9", "ns"),
                    style.header("RTT mean", "ns"),
                    "round trips/s",
                    style.header("CPU per RT", "ns"),
                    "p50 vs " + baseline};
  section.text_columns = 2;
  if (cells.repeated) section.header.push_back("spread");
  // The baseline's p50 for a size: its native mode if measured, else any mode.
  auto baseline_p50 = [&](std::size_t bytes) -> double {
    double any = 0;
    for (const Row& r : cells.rows) {
      if (r.first->scenario != Scenario::pingpong || r.good.empty()) continue;
      if (r.first->transport != baseline || r.first->payload_bytes != bytes) continue;
      if (r.first->wait_is_native) return r.med(&PingpongFigures::p50_ns);
      if (any == 0) any = r.med(&PingpongFigures::p50_ns);
    }
    return any;
  };
  for (const auto& [size, list] :
       cells.by_size(Scenario::pingpong, &PingpongFigures::p50_ns, true)) {
    const double b = baseline_p50(size);
    for (const Row* r : list) {
      std::vector<std::string> row = {r->first->transport, r->first->wait, style.size(size)};
      if (r->good.empty()) {
        row.push_back(error_text(*r));
        row.resize(section.header.size());
      } else {
        double p50 = r->med(&PingpongFigures::p50_ns);
        row.push_back(style.ns(p50));
        row.push_back(style.ns(r->med(&PingpongFigures::p99_ns)));
        row.push_back(style.ns(r->med(&PingpongFigures::p999_ns)));
        row.push_back(style.ns(r->med(&PingpongFigures::mean_ns)));
        row.push_back(style.rate(r->med(&PingpongFigures::ops_per_s)));
        row.push_back(style.ns(r->med(&CellResult::cpu_time)));
        row.push_back(b > 0 ? style.ratio(p50 / b) : "-");
        if (cells.repeated) {
          row.push_back(spread_cell(section, *r, &PingpongFigures::mean_ns, style));
        }
      }
      section.rows[size].push_back(std::move(row));
    }
  }
  return section;
}

// The throughput table: rates end to end and at each end.
Section throughput_section(const Cells& cells, const Style& style) {
  Section section;
  section.scenario = Scenario::throughput;
  section.header = {
      "transport", "wait",          "touch",         style.header("size", "bytes"),     "msgs/s",
      "GB/s",      "producer GB/s", "consumer GB/s", style.header("CPU per msg", "ns"), "lost"};
  section.text_columns = 3;
  if (cells.repeated) section.header.push_back("spread");
  auto gb = [](double bytes_per_second) { return fmt::format("{:.2f}", bytes_per_second / 1e9); };
  for (const auto& [size, list] :
       cells.by_size(Scenario::throughput, &ThroughputFigures::bytes_per_second, false)) {
    for (const Row* r : list) {
      std::vector<std::string> row = {r->first->transport, r->first->wait, r->first->touch,
                                      style.size(size)};
      if (r->good.empty()) {
        row.push_back(error_text(*r));
        row.resize(section.header.size());
      } else {
        row.push_back(style.rate(r->med(&ThroughputFigures::msgs_per_s)));
        row.push_back(gb(r->med(&ThroughputFigures::bytes_per_second)));
        row.push_back(gb(r->med(&ThroughputFigures::producer_bytes_per_second)));
        row.push_back(gb(r->med(&ThroughputFigures::consumer_bytes_per_second)));
        row.push_back(style.ns(r->med(&CellResult::cpu_time)));
        row.push_back(fmt::format("{:.0f}", r->med(&CellResult::lost)));
        if (cells.repeated) {
          row.push_back(spread_cell(section, *r, &ThroughputFigures::msgs_per_s, style));
        }
      }
      section.rows[size].push_back(std::move(row));
    }
  }
  return section;
}

// A document's tables, one per scenario, in the order the reporters print them.
std::vector<Section> sections(const ResultsDocument& document, const Style& style,
                              const std::string& baseline) {
  const Cells cells(document);
  return {pingpong_section(cells, style, baseline), throughput_section(cells, style)};
}

// --- Markdown ----------------------------------------------------------------------------------

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

class MarkdownStyle final : public Style {
 public:
  std::string ns(double ns) const override { return format_ns(ns); }
  std::string rate(double per_s) const override { return format_rate(per_s); }
  std::string size(std::size_t bytes) const override { return format_bytes(bytes); }
  std::string ratio(double ratio) const override { return fmt::format("{:.1f}x", ratio); }
  std::string spread(double spread) const override {
    return fmt::format("{:.1f}%{}", spread * 100, spread > kHighSpread ? " (!)" : "");
  }
  std::string header(std::string_view name, std::string_view) const override {
    return std::string(name);
  }
};

std::string markdown_table(const Section& section,
                           const std::vector<std::vector<std::string>>& rows) {
  const auto& header = section.header;
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
  std::string out = line(header);
  std::string sep = "|";
  for (std::size_t i = 0; i < header.size(); ++i) {
    sep += (i < section.text_columns ? " " + std::string(width[i], '-') + " |"
                                     : " " + std::string(width[i] - 1, '-') + ": |");
  }
  out += sep + "\n";
  for (const auto& r : rows)
    out += line(r);
  return out;
}

std::string heading(Scenario scenario, std::size_t bytes) {
  switch (scenario) {
    case Scenario::pingpong:
      return fmt::format("### pingpong, {} messages: round-trip time (RTT)\n\n",
                         format_bytes(bytes));
    case Scenario::throughput:
      return fmt::format("### throughput, {} messages: one-way stream\n\n", format_bytes(bytes));
  }
  return "";
}

// What a scenario's columns mean, after its tables.
std::string note(Scenario scenario, const std::string& baseline) {
  switch (scenario) {
    case Scenario::pingpong:
      return "RTT = one message there and one back, two processes on two CPUs. CPU per RT = "
             "both processes' CPU time per round trip (a spinning pair costs two cores). p50 vs " +
             baseline + " = this row's p50 / " + baseline +
             "'s (its native wait mode) for the same size. Medians over repetitions.\n";
    case Scenario::throughput:
      return "GB/s = 10^9 bytes/s end to end (producer's first send to the consumer's last "
             "check; the producer and consumer columns are each end's own rate). touch: edges = "
             "the sequence number and last byte written and checked, full = every byte.\n";
  }
  return "";
}

// --- CSV -----------------------------------------------------------------------------------------

class CsvStyle final : public Style {
 public:
  std::string ns(double ns) const override { return fmt::format("{:.1f}", ns); }
  std::string rate(double per_s) const override { return fmt::format("{:.1f}", per_s); }
  std::string size(std::size_t bytes) const override { return std::to_string(bytes); }
  std::string ratio(double ratio) const override { return fmt::format("{:.3f}", ratio); }
  std::string spread(double spread) const override { return fmt::format("{:.4f}", spread); }
  std::string header(std::string_view name, std::string_view unit) const override {
    return fmt::format("{} ({})", name, unit);
  }
};

std::string csv_line(const std::vector<std::string>& cells) {
  auto quoted = [](const std::string& cell) {
    if (cell.find_first_of(",\"\n") == std::string::npos) return cell;
    std::string q = "\"";
    for (char ch : cell)
      q += ch == '"' ? std::string("\"\"") : std::string(1, ch);
    return q + "\"";
  };
  std::string out;
  for (std::size_t i = 0; i < cells.size(); ++i)
    out += (i ? "," : "") + quoted(cells[i]);
  return out + "\n";
}

}  // namespace

std::string MarkdownReporter::render(const ResultsDocument& document) const {
  const std::vector<Section> all = sections(document, MarkdownStyle(), m_baseline);
  std::string out;
  bool high_spread = false;
  for (std::size_t i = 0; i < all.size(); ++i) {
    const Section& section = all[i];
    if (section.rows.empty()) continue;
    for (const auto& [bytes, rows] : section.rows)
      out += heading(section.scenario, bytes) + markdown_table(section, rows) + "\n";
    out += note(section.scenario, m_baseline);
    if (i + 1 < all.size()) out += "\n";  // an empty line before the next scenario's
    high_spread |= section.high_spread;
  }
  if (high_spread) {
    out +=
        "\n(!) repetitions spread more than 5%: close other programs, pin with --cpus, raise "
        "--repetitions and --iterations (or --messages), and read the median.\n";
  }
  return out;
}

std::string CsvReporter::render(const ResultsDocument& document) const {
  const std::vector<Section> all = sections(document, CsvStyle(), m_baseline);
  std::string out;
  for (std::size_t i = 0; i < all.size(); ++i) {
    const Section& section = all[i];
    if (section.rows.empty()) continue;
    out += csv_line(section.header);
    for (const auto& [bytes, rows] : section.rows) {
      for (const auto& r : rows)
        out += csv_line(r);
    }
    if (i + 1 < all.size()) out += "\n";  // an empty line before the next scenario's
  }
  return out;
}

std::string JsonReporter::render(const ResultsDocument& document) const {
  return nlohmann::json(document).dump(2) + "\n";
}

}  // namespace ipcbench

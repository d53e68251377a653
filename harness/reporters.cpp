#include "harness/reporters.hpp"

#include "harness/statistics.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <string_view>
#include <vector>

#include <fmt/format.h>

namespace ipcbench {

namespace {

// Without a --precision target, a row whose interval is wider than this (of its median) is
// flagged.
constexpr double kWideInterval = 0.10;

// p99.9 from fewer samples than this (per repetition) is a guess: shown as missing (Mark::thin).
constexpr double kP999MinSamples = 10'000;

// Two cells of one round whose own floors differ by more than this were measured on different
// placements of the virtual CPUs (the host moved them between the two cells: here the floor is
// 120-160 ns on a near placement, 380-560 ns on a far one, and moves within each by up to 1.4x
// without the transports following): their ratio says more about the host than the
// transports, and is left out of a paired ratio.
constexpr double kSamePlacement = 1.8;

// A value of a repetition a column reads: one of its scenario's figures, or what every cell has.
double value_of(const CellResult& e, Source source, std::string_view figure) {
  switch (source) {
    case Source::figure:
      return e.figure(figure);
    case Source::cpu_time:
      return e.cpu_time;
    case Source::lost:
      return e.lost;
    case Source::switches:
      return switches_per_iteration(e);
  }
  return 0;
}

double median_of(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// All repetitions of one cell in one file.
struct Row {
  const CellResult* first = nullptr;    // the first repetition (names, sizes)
  std::size_t file = 0;                 // which of the documents
  std::vector<const CellResult*> good;  // the successful repetitions
  std::vector<std::string> errors;

  // The transport as the row shows it, with its settings and what the kernel granted for them
  // (as a successful repetition read them back); the floor says which it is.
  std::string label() const {
    if (floor()) {
      return first->scenario->floor_row == FloorRow::copy ? "floor (one copy)"
                                                          : "floor (one cache line)";
    }
    return transport_label(good.empty() ? *first : *good.front());
  }
  bool floor() const { return first->transport == kFloorTransport; }

  std::vector<double> values(Source source, std::string_view figure = {}) const {
    std::vector<double> v;
    for (const CellResult* e : good)
      v.push_back(value_of(*e, source, figure));
    return v;
  }
  std::vector<double> values(std::string_view figure) const {
    return values(Source::figure, figure);
  }
  Estimate est(std::string_view figure) const { return estimate(values(figure)); }
  // The plain median (0 counts: a cell without context switches has 0 of them).
  double med(Source source, std::string_view figure = {}) const {
    return median_of(values(source, figure));
  }
  double med(std::string_view figure) const { return med(Source::figure, figure); }
  // The median of `f` of each good repetition (a field every cell has).
  template <class F>
  double med_by(F f) const {
    std::vector<double> v;
    for (const CellResult* e : good)
      v.push_back(f(*e));
    return median_of(std::move(v));
  }

  // A figure of each good repetition against what pairs with it: `partner(e)` (nothing: that
  // repetition is left out), as a paired ratio (statistics.hpp).
  template <class Partner>
  Estimate paired(std::string_view figure, Partner partner) const {
    std::vector<std::pair<double, double>> pairs;
    for (const CellResult* e : good) {
      if (const std::optional<double> b = partner(*e)) pairs.emplace_back(e->figure(figure), *b);
    }
    return paired_ratio(pairs);
  }
  // The figure against the floor the cell's own workers measured (over_floor(), results.hpp),
  // paired round by round; the floor row itself is 1.
  Estimate over_floor(std::string_view figure, OverFloor how) const {
    if (floor()) return Estimate{1.0, good.size(), {}, {}};
    std::vector<std::pair<double, double>> pairs;
    for (const CellResult* e : good) {
      if (auto pair = ipcbench::over_floor(*e, figure, how)) pairs.push_back(*pair);
    }
    return paired_ratio(pairs);
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
  virtual std::string gb(double bytes_per_second) const = 0;
  // A rate of bytes in the unit that suits it (Markdown: "7.55 GB/s", "3.1 MB/s").
  virtual std::string bytes_rate(double bytes_per_second) const = 0;
  virtual std::string count(double per_iteration) const = 0;
  virtual std::string size(std::size_t bytes) const = 0;
  // A column's header: its name, and the unit its numbers are in where the style needs it.
  virtual std::string header(std::string_view name, std::string_view unit) const = 0;
  // A median with its interval, written by `write` (ns, rate, gb): one cell in Markdown
  // ("310 ns ±4%", flagged when `wide`), three in CSV (median, low, high).
  virtual std::vector<std::string> with_interval(const Estimate& e, bool wide,
                                                 std::string (Style::*write)(double)
                                                     const) const = 0;
  virtual std::vector<std::string> interval_header(std::string_view name,
                                                   std::string_view unit) const = 0;
  // A ratio with its interval: "≈1.0x" when the interval holds 1, "1.3x (1.2-1.4)" otherwise.
  virtual std::vector<std::string> ratio(const Estimate& r) const = 0;
  virtual std::vector<std::string> ratio_header(std::string_view name) const = 0;
  // A figure that is not shown (too few samples for it): "-" in Markdown, empty in CSV.
  virtual std::string missing() const = 0;

  // How a number of `format` is written: the style's own way for a time, a rate, GB/s, bytes/s
  // and a count per iteration; a whole number and a percentage alike in every style.
  std::string number(Format format, double v) const {
    switch (format) {
      case Format::ns:
        return ns(v);
      case Format::rate:
        return rate(v);
      case Format::gb:
        return gb(v);
      case Format::bytes_rate:
        return bytes_rate(v);
      case Format::count:
        return count(v);
      case Format::whole:
        return fmt::format("{:.0f}", v);
      case Format::percent:
        return fmt::format("{:.0f}%", v * 100);
    }
    return "";
  }
  // The writer with_interval() takes for `format` (a time, a rate or GB/s).
  static std::string (Style::*writer(Format format))(double) const {
    switch (format) {
      case Format::rate:
        return &Style::rate;
      case Format::gb:
        return &Style::gb;
      case Format::bytes_rate:
        return &Style::bytes_rate;
      case Format::count:
        return &Style::count;
      default:
        return &Style::ns;
    }
  }
};

// One scenario's table in one style: its columns, and its rows by message size.
struct Section {
  Scenario scenario = nullptr;
  std::vector<std::string> header;
  std::size_t text_columns = 1;  // the first columns are text (left-aligned), the rest numbers
  std::map<std::size_t, std::vector<std::vector<std::string>>> rows;  // by size, ascending
  bool wide = false;           // a row's interval is wider than the target
  bool single = false;         // a row has one repetition only: no interval
  bool not_sustained = false;  // a row's producer could not keep its schedule
  bool skewed = false;         // a row's latency is within the clocks' skew
  bool thin = false;           // a row's p99.9 is missing: too few samples
};

// Every cell of the documents, each file's repetitions of a cell together, in the order the
// cells first appear.
struct Cells {
  std::vector<Row> rows;
  std::vector<std::string> labels;               // per document
  std::vector<std::optional<double>> precision;  // per document: its --precision target
  std::vector<double> skew_bound;                // per document: |clock skew| + its uncertainty, ns

  bool several = false;  // rows carry their file's label

  explicit Cells(const std::vector<LabelledDocument>& documents) {
    several = documents.size() > 1;
    for (std::size_t d = 0; d < documents.size(); ++d) {
      labels.push_back(documents[d].label);
      const auto& context = documents[d].document.context;
      std::optional<double> target;
      if (context.is_object() && context.contains("precision") &&
          context["precision"].is_number()) {
        target = context["precision"].get<double>();
      }
      precision.push_back(target);
      double skew = 0;
      if (context.is_object() && context.contains("clock_skew") &&
          context["clock_skew"].is_object()) {
        skew = std::abs(context["clock_skew"].value("consumer_minus_producer_ns", 0.0)) +
               context["clock_skew"].value("uncertainty_ns", 0.0);
      }
      skew_bound.push_back(skew);
      std::map<std::string, std::size_t> index;
      for (const CellResult& e : documents[d].document.benchmarks) {
        auto [it, inserted] = index.try_emplace(e.name, rows.size());
        if (inserted) {
          Row& row = rows.emplace_back();
          row.first = &e;
          row.file = d;
        }
        Row& row = rows[it->second];
        if (e.error) {
          row.errors.push_back(*e.error);
        } else {
          row.good.push_back(&e);
        }
      }
    }
  }

  // Is `e`'s interval wider than its file's target (or kWideInterval)?
  bool wide(const Row& r, const Estimate& e) const {
    return e.has_interval() && e.relative_half_width() > precision[r.file].value_or(kWideInterval);
  }

  // One scenario's rows by size. Within a size failed cells come last; the others by touch, then
  // by `key` (the best first). One cell's rows from several files stay together, in file
  // order, placed by the first file's figure.
  std::map<std::size_t, std::vector<const Row*>> by_size(Scenario scenario,
                                                         std::string_view key) const {
    const bool ascending = scenario->lower_is_better(key);
    std::map<std::string, double> place;  // by cell name: the key of its first good row
    for (const Row& r : rows) {
      if (r.first->scenario == scenario && !r.good.empty())
        place.try_emplace(r.first->name, r.med(key));
    }
    std::map<std::size_t, std::vector<const Row*>> groups;
    for (const Row& r : rows) {
      if (r.first->scenario == scenario) groups[r.first->payload_bytes].push_back(&r);
    }
    for (auto& [size, list] : groups) {
      std::stable_sort(list.begin(), list.end(), [&](const Row* a, const Row* b) {
        const bool a_failed = !place.contains(a->first->name);
        const bool b_failed = !place.contains(b->first->name);
        if (a_failed != b_failed) return b_failed;
        if (a->first->touch != b->first->touch) return a->first->touch < b->first->touch;
        if (!a_failed && a->first->name != b->first->name) {
          double x = place.at(a->first->name), y = place.at(b->first->name);
          if (x != y) return ascending ? x < y : x > y;
          return a->first->name < b->first->name;
        }
        return a->file < b->file;
      });
    }
    return groups;
  }

  // The row's leading columns: its file's label when there are several.
  std::vector<std::string> lead(const Row& r) const {
    if (!several) return {};
    return {labels[r.file]};
  }
};

// The baseline's row in a document for the same scenario, size and CPU pair: its native mode if
// measured, else any mode; none when it was not measured.
const Row* baseline_row(const Cells& cells, const Row& of, const std::string& baseline) {
  const Row* any = nullptr;
  for (const Row& r : cells.rows) {
    if (r.file != of.file || r.first->scenario != of.first->scenario || r.good.empty()) continue;
    // A tuned row (--set) is its own configuration: the baseline is the key the user named.
    if (transport_key(*r.first) != baseline || r.first->payload_bytes != of.first->payload_bytes) {
      continue;
    }
    if (r.first->cpu_producer != of.first->cpu_producer ||
        r.first->cpu_consumer != of.first->cpu_consumer) {
      continue;
    }
    if (r.first->wait_is_native) return &r;
    if (!any) any = &r;
  }
  return any;
}

// A row's `figure` against the baseline's, paired round by round (the same repetition_index:
// both measured in one round of their table, seconds apart), leaving out the rounds in which the
// host moved the CPUs between the two (kSamePlacement) unless that leaves none; a file without
// rounds in common falls back to the ratio of the medians.
Estimate vs_baseline(const Row& r, const Row* base, std::string_view figure) {
  if (!base) return {};
  std::map<unsigned, const CellResult*> by_round;
  for (const CellResult* e : base->good)
    by_round[e->repetition_index] = e;
  auto partner = [&](bool same_placement) {
    return [&, same_placement](const CellResult& e) -> std::optional<double> {
      auto it = by_round.find(e.repetition_index);
      if (it == by_round.end()) return std::nullopt;
      const CellResult& b = *it->second;
      if (same_placement && e.floor_rtt_ns && b.floor_rtt_ns &&
          std::max(*e.floor_rtt_ns, *b.floor_rtt_ns) >
              kSamePlacement * std::min(*e.floor_rtt_ns, *b.floor_rtt_ns)) {
        return std::nullopt;
      }
      return b.figure(figure);
    };
  };
  if (Estimate paired = r.paired(figure, partner(true)); paired.n > 0) return paired;
  if (Estimate paired = r.paired(figure, partner(false)); paired.n > 0) return paired;
  return ratio(r.values(figure), base->values(figure));
}

template <class T>
void append(std::vector<T>& to, const std::vector<T>& from) {
  to.insert(to.end(), from.begin(), from.end());
}

// "{baseline}" in a scenario's text, as the run names it.
std::string with_baseline(std::string_view text, const std::string& baseline) {
  std::string out(text);
  for (std::size_t at; (at = out.find("{baseline}")) != std::string::npos;)
    out.replace(at, 10, baseline);
  return out;
}

// A rate row's offered rate, from its cell's name (a failed cell has no figures); max is infinite.
double offered_rate(const Row& r) {
  const std::string& name = r.first->name;
  return name.ends_with("/max") ? INFINITY : std::atof(name.c_str() + name.rfind('/') + 1);
}
// A fan-out row's N, from its cell's name.
int consumers_of(const Row& r) {
  const auto& name = r.first->name;
  return std::atoi(name.c_str() + name.rfind("/n") + 2);
}

std::string key_header(Key key, const Style& style) {
  switch (key) {
    case Key::transport:
      return "transport";
    case Key::wait:
      return "wait";
    case Key::touch:
      return "touch";
    case Key::size:
      return style.header("size", "bytes");
    case Key::offered:
      return style.header("offered", "msgs/s");
    case Key::consumers:
      return "N";
    case Key::delivery:
      return "delivery";
  }
  return "";
}

std::string key_cell(Key key, const Row& r, const Style& style) {
  switch (key) {
    case Key::transport:
      return r.label();
    case Key::wait:
      return r.first->wait;
    case Key::touch:
      return r.first->touch;
    case Key::size:
      return style.size(r.first->payload_bytes);
    case Key::offered: {
      const double rate = offered_rate(r);
      return std::isinf(rate) ? "max" : style.rate(rate);
    }
    case Key::consumers:
      return std::to_string(consumers_of(r));
    case Key::delivery: {
      // As a good repetition recorded it, else as the transport delivers here.
      const FigureSpec* spec = r.first->scenario->figure("delivery");
      if (!spec) return "";
      bool native = false;
      if (!r.good.empty()) {
        native = r.good.front()->figure("delivery") != 0;
      } else if (const TransportInfo* info = find_transport(r.first->transport)) {
        native = info->capabilities().multicast;
      }
      return std::string(native ? spec->yes : spec->no);
    }
  }
  return "";
}

// A scenario's table in one style (ScenarioInfo::table): its key columns, then its columns.
Section section(const Cells& cells, const Style& style, Scenario scenario,
                const std::string& baseline) {
  const Table& table = scenario->table;
  Section section;
  section.scenario = scenario;
  if (cells.several) section.header.push_back("run");
  for (Key key : table.keys)
    section.header.push_back(key_header(key, style));
  section.text_columns = (cells.several ? 1 : 0) + table.text_keys;
  for (const Column& c : table.columns) {
    const std::string name = with_baseline(c.header, baseline);
    switch (c.show) {
      case Show::interval:
        append(section.header, style.interval_header(name, c.unit));
        break;
      case Show::median:
        section.header.push_back(c.unit.empty() ? name : style.header(name, c.unit));
        break;
      case Show::vs_baseline:
      case Show::over_floor:
        append(section.header, style.ratio_header(name));
        break;
    }
  }
  for (auto [size, list] : cells.by_size(scenario, table.order_by)) {
    if (table.first_by) {
      // By that key first (offered rate: max last; N), then in the order by_size gave.
      const Key by = *table.first_by;
      std::stable_sort(list.begin(), list.end(), [by](const Row* a, const Row* b) {
        if (by == Key::offered) return offered_rate(*a) < offered_rate(*b);
        return consumers_of(*a) < consumers_of(*b);
      });
    }
    for (const Row* r : list) {
      std::vector<std::string> row = cells.lead(*r);
      for (Key key : table.keys)
        row.push_back(key_cell(key, *r, style));
      if (r->good.empty()) {
        row.push_back(error_text(*r));
        row.resize(section.header.size());
        section.rows[size].push_back(std::move(row));
        continue;
      }
      section.single |= r->good.size() < 2;
      for (const Column& c : table.columns) {
        switch (c.show) {
          case Show::interval: {
            const Estimate e = estimate(r->values(c.source, c.figure));
            const bool wide = c.mark == Mark::wide && cells.wide(*r, e);
            section.wide |= wide;
            auto written = style.with_interval(e, wide, Style::writer(c.format));
            if (c.mark == Mark::skew) {
              // A skew between the two CPUs' clocks as large as the latency makes the figure
              // unreliable; so does a message received before it was sent.
              const bool skewed = cells.skew_bound[r->file] > e.median || r->med(c.flag) > 0;
              section.skewed |= skewed;
              if (skewed) written.front() += " (skew)";
            }
            append(row, written);
            break;
          }
          case Show::median: {
            if (c.source == Source::switches && !r->good.front()->switches) {
              row.push_back("-");
              break;
            }
            if (c.mark == Mark::thin &&
                r->med_by([](const CellResult& e) { return e.iterations; }) < kP999MinSamples) {
              section.thin = true;
              row.push_back(style.missing());
              break;
            }
            std::string cell = style.number(c.format, r->med(c.source, c.figure));
            if (c.mark == Mark::not_sustained) {
              bool sustained = true;
              for (const CellResult* e : r->good)
                sustained &= e->figure(c.flag) != 0;
              section.not_sustained |= !sustained;
              if (!sustained) cell += " (not sustained)";
            }
            row.push_back(std::move(cell));
            break;
          }
          case Show::vs_baseline:
            append(row, style.ratio(r->floor() ? Estimate{}
                                               : vs_baseline(*r, baseline_row(cells, *r, baseline),
                                                             c.figure)));
            break;
          case Show::over_floor:
            append(row, style.ratio(r->over_floor(c.figure, c.floor)));
            break;
        }
      }
      section.rows[size].push_back(std::move(row));
    }
  }
  return section;
}

// The documents' tables, one per scenario, in the registry's order.
std::vector<Section> sections(const std::vector<LabelledDocument>& documents, const Style& style,
                              const std::string& baseline) {
  const Cells cells(documents);
  std::vector<Section> out;
  for (Scenario scenario : scenarios())
    out.push_back(section(cells, style, scenario, baseline));
  return out;
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
  if (per_s >= 10) return fmt::format("{:.0f}", per_s);
  return fmt::format("{:.2g}", per_s);  // a 64 MiB stream over a slow middleware: 0.76, not 1
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
  std::string gb(double bytes_per_second) const override {
    return fmt::format("{:.2f}", bytes_per_second / 1e9);
  }
  std::string count(double per_iteration) const override {
    return fmt::format("{:.2f}", per_iteration);
  }
  std::string bytes_rate(double b) const override {
    if (b >= 1e9) return fmt::format("{:.2f} GB/s", b / 1e9);
    if (b >= 1e6) return fmt::format("{:.1f} MB/s", b / 1e6);
    return fmt::format("{:.0f} kB/s", b / 1e3);
  }
  std::string size(std::size_t bytes) const override { return format_bytes(bytes); }
  std::string header(std::string_view name, std::string_view) const override {
    return std::string(name);
  }
  std::vector<std::string> with_interval(const Estimate& e, bool wide,
                                         std::string (Style::*write)(double) const) const override {
    std::string cell = (this->*write)(e.median);
    if (e.has_interval()) {
      const double pct = e.relative_half_width() * 100;
      cell += pct < 10    ? fmt::format(" ±{:.1f}%", pct)
              : pct < 100 ? fmt::format(" ±{:.0f}%", pct)
                          : std::string(" ±>100%");
    }
    if (wide) cell += " (!)";
    return {cell};
  }
  std::vector<std::string> interval_header(std::string_view name, std::string_view) const override {
    return {std::string(name)};
  }
  std::vector<std::string> ratio(const Estimate& r) const override {
    if (r.median <= 0) return {"-"};
    if (!r.has_interval()) return {fmt::format("{:.1f}x", r.median)};
    if (r.contains(1.0)) return {"≈1.0x"};
    auto num = [](double v) {
      return v < 0.1  ? fmt::format("{:.2g}", v)
             : v < 10 ? fmt::format("{:.1f}", v)
                      : fmt::format("{:.0f}", v);
    };
    return {fmt::format("{}x ({}-{})", num(r.median), num(*r.low), num(*r.high))};
  }
  std::vector<std::string> ratio_header(std::string_view name) const override {
    return {std::string(name)};
  }
  std::string missing() const override { return "-"; }
};

// The width a terminal gives `text`: UTF-8 continuation bytes take no column.
std::size_t columns(const std::string& text) {
  return static_cast<std::size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

std::string markdown_table(const Section& section,
                           const std::vector<std::vector<std::string>>& rows) {
  const auto& header = section.header;
  std::vector<std::size_t> width(header.size());
  for (std::size_t i = 0; i < header.size(); ++i)
    width[i] = columns(header[i]);
  for (const auto& r : rows) {
    for (std::size_t i = 0; i < r.size(); ++i)
      width[i] = std::max(width[i], columns(markdown_cell(r[i])));
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string s = "|";
    for (std::size_t i = 0; i < cells.size(); ++i) {
      s += " " + cells[i] + std::string(width[i] - columns(cells[i]), ' ') + " |";
    }
    return s + "\n";
  };
  std::vector<std::vector<std::string>> escaped;
  for (const auto& r : rows) {
    std::vector<std::string> cells;
    for (const auto& cell : r)
      cells.push_back(markdown_cell(cell));
    escaped.push_back(std::move(cells));
  }
  std::string out = line(header);
  std::string sep = "|";
  for (std::size_t i = 0; i < header.size(); ++i) {
    sep += (i < section.text_columns ? " " + std::string(width[i], '-') + " |"
                                     : " " + std::string(width[i] - 1, '-') + ": |");
  }
  out += sep + "\n";
  for (const auto& r : escaped)
    out += line(r);
  return out;
}

std::string heading(Scenario scenario, std::size_t bytes) {
  return fmt::format("### {}, {} messages: {}\n\n", scenario->name, format_bytes(bytes),
                     scenario->table.heading);
}

// What a scenario's columns mean, after its tables.
std::string note(Scenario scenario, const std::string& baseline) {
  return with_baseline(scenario->table.note, baseline);
}

// --- CSV -----------------------------------------------------------------------------------------

class CsvStyle final : public Style {
 public:
  std::string ns(double ns) const override { return fmt::format("{:.1f}", ns); }
  std::string rate(double per_s) const override { return fmt::format("{:.1f}", per_s); }
  std::string gb(double bytes_per_second) const override {
    return fmt::format("{:.4f}", bytes_per_second / 1e9);
  }
  std::string count(double per_iteration) const override {
    return fmt::format("{:.4f}", per_iteration);
  }
  std::string bytes_rate(double b) const override { return fmt::format("{:.0f}", b); }
  std::string size(std::size_t bytes) const override { return std::to_string(bytes); }
  std::string header(std::string_view name, std::string_view unit) const override {
    return fmt::format("{} ({})", name, unit);
  }
  std::vector<std::string> with_interval(const Estimate& e, bool,
                                         std::string (Style::*write)(double) const) const override {
    return {(this->*write)(e.median), e.low ? (this->*write)(*e.low) : "",
            e.high ? (this->*write)(*e.high) : ""};
  }
  std::vector<std::string> interval_header(std::string_view name,
                                           std::string_view unit) const override {
    return {header(name, unit), header(std::string(name) + " low", unit),
            header(std::string(name) + " high", unit)};
  }
  std::vector<std::string> ratio(const Estimate& r) const override {
    if (r.median <= 0) return {"", "", ""};
    auto num = [](double v) { return fmt::format("{:.3f}", v); };
    return {num(r.median), r.low ? num(*r.low) : "", r.high ? num(*r.high) : ""};
  }
  std::vector<std::string> ratio_header(std::string_view name) const override {
    return {std::string(name), std::string(name) + " low", std::string(name) + " high"};
  }
  std::string missing() const override { return ""; }
};

std::string csv_line(const std::vector<std::string>& cells) {
  // RFC 4180: a field with a comma, a quote or a line break is quoted, its quotes doubled.
  auto quoted = [](const std::string& cell) {
    if (cell.find_first_of(",\"\r\n") == std::string::npos) return cell;
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

std::string markdown_cell(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '|') {
      out += "\\|";
    } else if (u < 0x20 || u == 0x7f) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

std::string label_of(const ResultsDocument& document, const std::string& fallback) {
  const auto& context = document.context;
  for (const char* key : {"label", "host_name"}) {
    if (context.is_object() && context.contains(key) && context[key].is_string() &&
        !context[key].get<std::string>().empty()) {
      return context[key].get<std::string>();
    }
  }
  return fallback;
}

std::string MarkdownReporter::render(const std::vector<LabelledDocument>& documents) const {
  const std::vector<Section> all = sections(documents, MarkdownStyle(), m_baseline);
  std::string out;
  bool wide = false, single = false, not_sustained = false, skewed = false, thin = false;
  bool first = true;
  for (const Section& section : all) {
    if (section.rows.empty()) continue;
    if (!first) out += "\n";  // an empty line between two scenarios' tables
    first = false;
    for (const auto& [bytes, rows] : section.rows)
      out += heading(section.scenario, bytes) + markdown_table(section, rows) + "\n";
    out += note(section.scenario, m_baseline);
    wide |= section.wide;
    single |= section.single;
    not_sustained |= section.not_sustained;
    skewed |= section.skewed;
    thin |= section.thin;
  }
  if (thin) {
    out +=
        "\np99.9 \"-\": the cell measured fewer than 10,000 round trips a repetition, and a "
        "99.9th percentile of fewer is a guess; give it more (--budget) to see it.\n";
  }
  if (wide) {
    std::optional<double> target;
    for (const auto& d : documents) {
      if (d.document.context.is_object() && d.document.context.contains("precision")) {
        target = d.document.context["precision"].get<double>();
      }
    }
    out += target ? fmt::format(
                        "\n(!) the interval is wider than the --precision target (±{:g}%) after "
                        "--max-repetitions: the machine is noisy for this cell; keep it otherwise "
                        "idle, pin with --cpus, or allow more repetitions.\n",
                        *target * 100)
                  : "\n(!) the interval is wider than ±10%: close other programs, pin with --cpus, "
                    "raise --repetitions (or use --precision 5%), and read the median.\n";
  }
  if (skewed) {
    out +=
        "\n(skew): the two CPUs' clocks read further apart (context clock_skew, with its "
        "uncertainty) than this one-way time, or a message arrived before it was sent: the "
        "figure is not trustworthy here.\n";
  }
  if (not_sustained) {
    out +=
        "\nnot sustained: the producer could not keep the offered rate; its latencies grow "
        "with the backlog and show what that rate costs, not what the transport does at it.\n";
  }
  if (single) {
    out +=
        "\nOne repetition gives no interval: run with --repetitions 3 or more to see how "
        "much a figure moves.\n";
  }
  return out;
}

std::string CsvReporter::render(const std::vector<LabelledDocument>& documents) const {
  const std::vector<Section> all = sections(documents, CsvStyle(), m_baseline);
  std::string out;
  for (const Section& section : all) {
    if (section.rows.empty()) continue;
    if (!out.empty()) out += "\n";  // an empty line between two scenarios' tables
    out += csv_line(section.header);
    for (const auto& [bytes, rows] : section.rows) {
      for (const auto& r : rows)
        out += csv_line(r);
    }
  }
  return out;
}

namespace {

nlohmann::json interval(const Estimate& e) {
  if (!e.has_interval()) return nullptr;
  return {*e.low, *e.high};
}

// One summary entry per cell of a document, after its repetitions.
std::vector<nlohmann::json> summaries(const ResultsDocument& document,
                                      const std::string& baseline) {
  const std::vector<LabelledDocument> one = {{"", document}};
  const Cells cells(one);
  std::vector<nlohmann::json> out;
  for (const Row& r : cells.rows) {
    if (r.good.empty()) continue;
    const CellResult& c = *r.first;
    nlohmann::json j = {{"name", c.name + "_median"},
                        {"family_index", c.family_index},
                        {"per_family_instance_index", 0},
                        {"run_name", c.name},
                        {"run_type", "aggregate"},
                        {"aggregate_name", "median"},
                        {"aggregate_unit", "time"},
                        {"repetitions", r.good.size() + r.errors.size()},
                        {"threads", 1},
                        {"scenario", to_string(c.scenario)},
                        {"transport", c.transport},
                        {"payload_bytes", c.payload_bytes},
                        {"wait", c.wait},
                        {"wait_is_native", c.wait_is_native},
                        {"touch", c.touch},
                        {"successful_repetitions", r.good.size()},
                        {"iterations", r.med_by([](const CellResult& e) { return e.iterations; })},
                        {"real_time", r.med_by([](const CellResult& e) { return e.real_time; })},
                        {"cpu_time", r.med(Source::cpu_time)},
                        {"time_unit", "ns"},
                        {"switches_per_iteration", r.med(Source::switches)}};
    // The settings as a successful repetition recorded them (asked, and what was granted).
    if (const nlohmann::json entry = *r.good.front(); entry.contains("options")) {
      j["options"] = entry["options"];
      j["transport_label"] = entry["transport_label"];
    }
    auto put = [&](const char* key, const Estimate& e) {
      j[key] = e.median;
      j[std::string(key) + "_ci95"] = interval(e);
    };
    // A ratio that may be missing (no floor measured): left out.
    auto put_ratio = [&](const char* key, const Estimate& e) {
      if (e.median > 0) put(key, e);
    };
    const ScenarioInfo& scenario = *c.scenario;
    for (const SummaryField& f : scenario.summary) {
      const std::string key(f.figure);
      switch (f.how) {
        case Summarize::interval:
          put(key.c_str(), r.est(f.figure));
          break;
        case Summarize::median:
          j[key] = r.med(f.figure);
          break;
        case Summarize::all: {
          bool all = true;
          for (const CellResult* e : r.good)
            all &= e->figure(f.figure) != 0;
          j[key] = all;
          break;
        }
        case Summarize::first: {
          const FigureSpec* spec = scenario.figure(f.figure);
          const bool yes = r.good.front()->figure(f.figure) != 0;
          j[key] = spec ? std::string(yes ? spec->yes : spec->no) : std::string();
          break;
        }
      }
    }
    if (!scenario.baseline_figure.empty()) {
      if (const Row* base = r.floor() ? nullptr : baseline_row(cells, r, baseline)) {
        const Estimate vs = vs_baseline(r, base, scenario.baseline_figure);
        const std::string key(scenario.baseline_key);
        j["baseline"] = baseline;
        j[key] = vs.median;
        j[key + "_ci95"] = interval(vs);
      }
    }
    for (const SummaryRatio& ratio : scenario.summary_ratios)
      put_ratio(std::string(ratio.key).c_str(), r.over_floor(ratio.figure, ratio.floor));
    if (auto target = cells.precision[0]) {
      const Estimate key = r.est(scenario.key_figure);
      j["precision_reached"] = key.has_interval() && key.relative_half_width() <= *target;
    }
    out.push_back(std::move(j));
  }
  return out;
}

}  // namespace

std::string JsonReporter::render(const std::vector<LabelledDocument>& documents) const {
  nlohmann::json all = nlohmann::json::array();
  for (const auto& d : documents) {
    nlohmann::json j = d.document;
    for (auto& summary : summaries(d.document, m_baseline))
      j["benchmarks"].push_back(std::move(summary));
    all.push_back(std::move(j));
  }
  return (documents.size() == 1 ? all[0] : all).dump(2) + "\n";
}

namespace {

template <class R>
std::unique_ptr<Reporter> make(std::string baseline) {
  return std::make_unique<R>(std::move(baseline));
}

constexpr ReportFormat kFormats[] = {
    {"markdown", make<MarkdownReporter>},
    {"csv", make<CsvReporter>},
    {"json", make<JsonReporter>},
};

}  // namespace

std::span<const ReportFormat> report_formats() {
  return kFormats;
}

std::unique_ptr<Reporter> make_reporter(std::string_view name, std::string baseline) {
  for (const ReportFormat& f : kFormats) {
    if (f.name == name) return f.make(std::move(baseline));
  }
  return nullptr;
}

std::string report_format_names(std::string_view separator) {
  std::string out;
  for (const ReportFormat& f : kFormats)
    out += (out.empty() ? "" : std::string(separator)) + std::string(f.name);
  return out;
}

}  // namespace ipcbench

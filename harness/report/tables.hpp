// What the table reporters (Markdown, CSV) and the JSON reporter's summaries share: every cell of
// the documents as rows (each file's repetitions of a cell together), a scenario's table as a
// Section of text cells in a Style, and the ratio to the baseline. Each format's file
// (markdown.cpp, csv.cpp, json.cpp) holds only what is its own.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "harness/report/reporter.hpp"
#include "harness/results/statistics.hpp"

namespace ipcbench {

// Without a --precision target, a row whose interval is wider than this (of its median) is
// flagged.
inline constexpr double kWideInterval = 0.10;

// p99.9 from fewer samples than this (per repetition) is a guess: shown as missing (Mark::thin).
inline constexpr double kP999MinSamples = 10'000;

// Two cells of one round whose own floors differ by more than this were measured on different
// placements of the virtual CPUs (the host moved them between the two cells: here the floor is
// 120-160 ns on a near placement, 380-560 ns on a far one, and moves within each by up to 1.4x
// without the transports following): their ratio says more about the host than the
// transports, and is left out of a paired ratio.
inline constexpr double kSamePlacement = 1.8;

// A value of a repetition a column reads: one of its scenario's figures, or what every cell has.
double value_of(const CellResult& e, Source source, std::string_view figure);
// The plain median (0 of none).
double median_of(std::vector<double> v);

// All repetitions of one cell in one file.
struct Row {
  const CellResult* first = nullptr;    // the first repetition (names, sizes)
  std::size_t file = 0;                 // which of the documents
  std::vector<const CellResult*> good;  // the successful repetitions
  std::vector<std::string> errors;
  bool show_pair = false;  // its file measured on several CPU pairs: the label says which

  // The transport as the row shows it, with its settings and what the kernel granted for them
  // (as a successful repetition read them back); the floor says which it is.
  std::string label() const {
    const std::string label = !floor() ? transport_label(good.empty() ? *first : *good.front())
                              : first->scenario->floor_row == FloorRow::copy
                                  ? "floor (one copy)"
                                  : "floor (one cache line)";
    if (!show_pair) return label;
    return fmt::format("{} (cpus {},{})", label, first->cpu_producer, first->cpu_consumer);
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
  // An amount of memory (Markdown: "25.6 MiB"; CSV: bytes).
  virtual std::string memory(double bytes) const = 0;
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
      case Format::bytes:
        return memory(v);
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
  bool memory = false;         // it shows memory columns
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
      const std::size_t first_row = rows.size();
      std::set<std::pair<int, int>> pairs;
      for (const CellResult& e : documents[d].document.benchmarks) {
        pairs.emplace(e.cpu_producer, e.cpu_consumer);
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
      for (std::size_t i = first_row; i < rows.size(); ++i)
        rows[i].show_pair = pairs.size() > 1;
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

// The baseline's row in a document for the same scenario, size and CPU pair: its native mode if
// measured, else any mode; none when it was not measured.
const Row* baseline_row(const Cells& cells, const Row& of, const std::string& baseline);

// A row's `figure` against the baseline's, paired round by round (vs_baseline in tables.cpp).
Estimate vs_baseline(const Row& r, const Row* base, std::string_view figure);

// "{baseline}" in a scenario's text, as the run names it.
std::string with_baseline(std::string_view text, const std::string& baseline);

// The documents' tables, one per scenario, in the registry's order.
std::vector<Section> sections(const std::vector<LabelledDocument>& documents, const Style& style,
                              const std::string& baseline);
// The same from the documents' cells, for a reporter that uses them too.
std::vector<Section> sections(const Cells& cells, const Style& style, const std::string& baseline);

// The notes under the tables for what their rows are marked with ((!), (skew), not sustained, a
// missing p99.9, one repetition) and for their memory columns, one paragraph each.
std::vector<std::string> footnotes(const std::vector<Section>& sections,
                                   const std::vector<LabelledDocument>& documents);

}  // namespace ipcbench

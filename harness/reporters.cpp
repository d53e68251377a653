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
double figure(const CellResult& e, double RateFigures::*f) {
  return (*e.rate).*f;
}
double figure(const CellResult& e, double FanoutFigures::*f) {
  return (*e.fanout).*f;
}
double figure(const CellResult& e, double (*f)(const CellResult&)) {
  return f(e);
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
      return first->scenario == Scenario::throughput || first->scenario == Scenario::fanout
                 ? "floor (one copy)"
                 : "floor (one cache line)";
    }
    return transport_label(good.empty() ? *first : *good.front());
  }
  bool floor() const { return first->transport == kFloorTransport; }

  // A figure of each good repetition against what pairs with it: `partner(e)` (nothing: that
  // repetition is left out), as a paired ratio (statistics.hpp).
  template <class Member, class Partner>
  Estimate paired(Member f, Partner partner) const {
    std::vector<std::pair<double, double>> pairs;
    for (const CellResult* e : good) {
      if (const std::optional<double> b = partner(*e)) pairs.emplace_back(figure(*e, f), *b);
    }
    return paired_ratio(pairs);
  }
  // The figure against the floor the cell's own workers measured: a time over one cache line's
  // round trip (`halved`: over its one-way trip); the floor row itself is 1.
  template <class Member>
  Estimate x_floor_time(Member f, bool halved = false) const {
    if (floor()) return Estimate{1.0, good.size(), {}, {}};
    return paired(f, [&](const CellResult& e) -> std::optional<double> {
      if (!e.floor_rtt_ns) return std::nullopt;
      return halved ? *e.floor_rtt_ns / 2 : *e.floor_rtt_ns;
    });
  }
  // A rate against one copy by the producer's core: how many times slower than the copy.
  template <class Member>
  Estimate x_floor_rate(Member f) const {
    if (floor()) return Estimate{1.0, good.size(), {}, {}};
    std::vector<std::pair<double, double>> pairs;
    for (const CellResult* e : good) {
      if (e->floor_copy_bytes_per_second)
        pairs.emplace_back(*e->floor_copy_bytes_per_second, figure(*e, f));
    }
    return paired_ratio(pairs);
  }

  template <class Member>
  std::vector<double> values(Member f) const {
    std::vector<double> v;
    for (const CellResult* e : good)
      v.push_back(figure(*e, f));
    return v;
  }
  template <class Member>
  Estimate est(Member f) const {
    return estimate(values(f));
  }
  // The plain median (0 counts: a cell without context switches has 0 of them).
  template <class Member>
  double med(Member f) const {
    std::vector<double> v = values(f);
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    const std::size_t n = v.size();
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
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
};

// One scenario's table in one style: its columns, and its rows by message size.
struct Section {
  Scenario scenario = Scenario::pingpong;
  std::vector<std::string> header;
  std::size_t text_columns = 1;  // the first columns are text (left-aligned), the rest numbers
  std::map<std::size_t, std::vector<std::vector<std::string>>> rows;  // by size, ascending
  bool wide = false;           // a row's interval is wider than the target
  bool single = false;         // a row has one repetition only: no interval
  bool not_sustained = false;  // rate: a row's producer could not keep its schedule
  bool skewed = false;         // rate: a row's latency is within the clocks' skew
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
  // by `key` (the fastest first). One cell's rows from several files stay together, in file
  // order, placed by the first file's figure.
  template <class Member>
  std::map<std::size_t, std::vector<const Row*>> by_size(Scenario scenario, Member key,
                                                         bool ascending) const {
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

// The baseline's pingpong row in a document for a size and CPU pair: its native mode if
// measured, else any mode; none when it was not measured.
const Row* baseline_row(const Cells& cells, const Row& of, const std::string& baseline) {
  const Row* any = nullptr;
  for (const Row& r : cells.rows) {
    if (r.file != of.file || r.first->scenario != Scenario::pingpong || r.good.empty()) continue;
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

// Two cells of one round whose own floors differ by more than this were measured on different
// placements of the virtual CPUs (the host moved them between the two cells: here the floor is
// 120-160 ns on a near placement, 380-560 ns on a far one, and moves within each by up to 1.4x
// without the transports following): their ratio says more about the host than the
// transports, and is left out of a paired ratio.
constexpr double kSamePlacement = 1.8;

// A row's p50 against the baseline's, paired round by round (the same repetition_index: both
// measured in one round of their table, seconds apart), leaving out the rounds in which the
// host moved the CPUs between the two (kSamePlacement) unless that leaves none; a file without
// rounds in common falls back to the ratio of the medians.
Estimate vs_baseline(const Row& r, const Row* base) {
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
      return b.pingpong->p50_ns;
    };
  };
  if (Estimate paired = r.paired(&PingpongFigures::p50_ns, partner(true)); paired.n > 0) {
    return paired;
  }
  if (Estimate paired = r.paired(&PingpongFigures::p50_ns, partner(false)); paired.n > 0) {
    return paired;
  }
  return ratio(r.values(&PingpongFigures::p50_ns), base->values(&PingpongFigures::p50_ns));
}

// p99.9 from fewer samples than this (per repetition) is a guess: shown as missing.
constexpr double kP999MinSamples = 10'000;

template <class T>
void append(std::vector<T>& to, const std::vector<T>& from) {
  to.insert(to.end(), from.begin(), from.end());
}

// The pingpong table: round-trip times, and each p50 against the baseline transport's.
Section pingpong_section(const Cells& cells, const Style& style, const std::string& baseline) {
  Section section;
  section.scenario = Scenario::pingpong;
  if (cells.several) section.header.push_back("run");
  append(section.header, {"transport", "wait", style.header("size", "bytes")});
  section.text_columns = section.header.size() - 1;
  append(section.header, style.interval_header("RTT p50", "ns"));
  append(section.header, style.interval_header("RTT p99", "ns"));
  section.header.push_back(style.header("RTT p99.9", "ns"));
  append(section.header, style.interval_header("RTT mean", "ns"));
  append(section.header, {"round trips/s", style.header("CPU per RT", "ns"), "switches per RT"});
  append(section.header, style.ratio_header("p50 vs " + baseline));
  append(section.header, style.ratio_header("p50 x floor"));
  append(section.header, style.ratio_header("p99 x floor"));
  for (const auto& [size, list] :
       cells.by_size(Scenario::pingpong, &PingpongFigures::p50_ns, true)) {
    for (const Row* r : list) {
      std::vector<std::string> row = cells.lead(*r);
      append(row, {r->label(), r->first->wait, style.size(size)});
      if (r->good.empty()) {
        row.push_back(error_text(*r));
        row.resize(section.header.size());
        section.rows[size].push_back(std::move(row));
        continue;
      }
      const Estimate p50 = r->est(&PingpongFigures::p50_ns);
      const Estimate p99 = r->est(&PingpongFigures::p99_ns);
      const Estimate mean = r->est(&PingpongFigures::mean_ns);
      section.wide |= cells.wide(*r, p50);
      section.single |= r->good.size() < 2;
      append(row, style.with_interval(p50, cells.wide(*r, p50), &Style::ns));
      append(row, style.with_interval(p99, false, &Style::ns));
      const bool thin = r->med(&CellResult::iterations) < kP999MinSamples;
      section.thin |= thin;
      row.push_back(thin ? style.missing() : style.ns(r->med(&PingpongFigures::p999_ns)));
      append(row, style.with_interval(mean, false, &Style::ns));
      row.push_back(style.rate(r->med(&PingpongFigures::ops_per_s)));
      row.push_back(style.ns(r->med(&CellResult::cpu_time)));
      row.push_back(r->good.front()->switches ? style.count(r->med(&switches_per_iteration)) : "-");
      append(row, style.ratio(r->floor() ? Estimate{}
                                         : vs_baseline(*r, baseline_row(cells, *r, baseline))));
      append(row, style.ratio(r->x_floor_time(&PingpongFigures::p50_ns)));
      append(row, style.ratio(r->x_floor_time(&PingpongFigures::p99_ns)));
      section.rows[size].push_back(std::move(row));
    }
  }
  return section;
}

// The throughput table: rates end to end and at each end.
Section throughput_section(const Cells& cells, const Style& style) {
  Section section;
  section.scenario = Scenario::throughput;
  if (cells.several) section.header.push_back("run");
  append(section.header, {"transport", "wait", "touch", style.header("size", "bytes")});
  section.text_columns = section.header.size() - 1;
  append(section.header, style.interval_header("msgs/s", "1/s"));
  append(section.header, style.interval_header("GB/s", "10^9 B/s"));
  append(section.header, {"producer GB/s", "consumer GB/s", style.header("CPU per msg", "ns"),
                          "switches per msg", "lost"});
  append(section.header, style.ratio_header("x floor"));
  for (const auto& [size, list] :
       cells.by_size(Scenario::throughput, &ThroughputFigures::bytes_per_second, false)) {
    for (const Row* r : list) {
      std::vector<std::string> row = cells.lead(*r);
      append(row, {r->label(), r->first->wait, r->first->touch, style.size(size)});
      if (r->good.empty()) {
        row.push_back(error_text(*r));
        row.resize(section.header.size());
        section.rows[size].push_back(std::move(row));
        continue;
      }
      const Estimate msgs = r->est(&ThroughputFigures::msgs_per_s);
      const Estimate bytes = r->est(&ThroughputFigures::bytes_per_second);
      section.wide |= cells.wide(*r, bytes);
      section.single |= r->good.size() < 2;
      append(row, style.with_interval(msgs, false, &Style::rate));
      append(row, style.with_interval(bytes, cells.wide(*r, bytes), &Style::gb));
      row.push_back(style.gb(r->med(&ThroughputFigures::producer_bytes_per_second)));
      row.push_back(style.gb(r->med(&ThroughputFigures::consumer_bytes_per_second)));
      row.push_back(style.ns(r->med(&CellResult::cpu_time)));
      row.push_back(r->good.front()->switches ? style.count(r->med(&switches_per_iteration)) : "-");
      row.push_back(fmt::format("{:.0f}", r->med(&CellResult::lost)));
      append(row, style.ratio(r->x_floor_rate(&ThroughputFigures::bytes_per_second)));
      section.rows[size].push_back(std::move(row));
    }
  }
  return section;
}

// A rate row's offered rate, from its cell's name (a failed cell has no figures); max is infinite.
double offered_rate(const Row& r) {
  const std::string& name = r.first->name;
  return name.ends_with("/max") ? INFINITY : std::atof(name.c_str() + name.rfind('/') + 1);
}

// The rate table: the schedule kept or not, and one-way latency from the intended send time
// (and, beside it, from the actual one). Rows by offered rate within a size, then fastest first.
Section rate_section(const Cells& cells, const Style& style) {
  Section section;
  section.scenario = Scenario::rate;
  if (cells.several) section.header.push_back("run");
  append(section.header,
         {"transport", "wait", style.header("size", "bytes"), style.header("offered", "msgs/s")});
  section.text_columns = section.header.size() - 2;
  section.header.push_back(style.header("achieved", "msgs/s"));
  append(section.header, style.interval_header("one-way p50", "ns"));
  append(section.header, style.interval_header("p99", "ns"));
  append(section.header, {style.header("p99.9", "ns"), style.header("max", "ns"),
                          style.header("from send p50", "ns"), style.header("from send p99", "ns"),
                          "behind", style.header("CPU per msg", "ns"), "switches per msg"});
  append(section.header, style.ratio_header("p50 x floor"));
  for (auto [size, list] : cells.by_size(Scenario::rate, &RateFigures::p99_ns, true)) {
    // Offered rate first (max last), then the order by_size gave.
    std::stable_sort(list.begin(), list.end(), [](const Row* a, const Row* b) {
      return offered_rate(*a) < offered_rate(*b);
    });
    for (const Row* r : list) {
      std::vector<std::string> row = cells.lead(*r);
      const double rate = offered_rate(*r);
      const std::string offered = std::isinf(rate) ? "max" : style.rate(rate);
      append(row, {r->label(), r->first->wait, style.size(size), offered});
      if (r->good.empty()) {
        row.push_back(error_text(*r));
        row.resize(section.header.size());
        section.rows[size].push_back(std::move(row));
        continue;
      }
      const Estimate p50 = r->est(&RateFigures::p50_ns);
      const Estimate p99 = r->est(&RateFigures::p99_ns);
      section.wide |= cells.wide(*r, p99);
      section.single |= r->good.size() < 2;
      bool sustained = true;
      for (const CellResult* e : r->good)
        sustained &= e->rate->sustained;
      section.not_sustained |= !sustained;
      row.push_back(style.rate(r->med(&RateFigures::achieved_per_s)) +
                    (sustained ? "" : " (not sustained)"));
      // A skew between the two CPUs' clocks as large as the latency makes the figure unreliable.
      const bool skewed = cells.skew_bound[r->file] > p50.median || r->med(&RateFigures::early) > 0;
      section.skewed |= skewed;
      auto p50_cells = style.with_interval(p50, false, &Style::ns);
      if (skewed) p50_cells.front() += " (skew)";
      append(row, p50_cells);
      append(row, style.with_interval(p99, cells.wide(*r, p99), &Style::ns));
      row.push_back(style.ns(r->med(&RateFigures::p999_ns)));
      row.push_back(style.ns(r->med(&RateFigures::max_ns)));
      row.push_back(style.ns(r->med(&RateFigures::sent_p50_ns)));
      row.push_back(style.ns(r->med(&RateFigures::sent_p99_ns)));
      row.push_back(fmt::format("{:.0f}", r->med(&RateFigures::behind)));
      row.push_back(style.ns(r->med(&CellResult::cpu_time)));
      row.push_back(r->good.front()->switches ? style.count(r->med(&switches_per_iteration)) : "-");
      append(row, style.ratio(r->x_floor_time(&RateFigures::p50_ns, true)));
      section.rows[size].push_back(std::move(row));
    }
  }
  return section;
}

// The fanout table: one producer, N consumers; rows by N within a size, the fastest first.
Section fanout_section(const Cells& cells, const Style& style) {
  Section section;
  section.scenario = Scenario::fanout;
  if (cells.several) section.header.push_back("run");
  append(section.header, {"transport", "wait", style.header("size", "bytes"), "N", "delivery"});
  section.text_columns = section.header.size() - 1;
  append(section.header, style.interval_header("msgs/s to all", "1/s"));
  append(
      section.header,
      {style.header("per consumer (slowest)", "B/s"), "fairness", style.header("one-way p50", "ns"),
       style.header("p99", "ns"), style.header("p99.9", "ns"), style.header("max", "ns"),
       style.header("slowest p99", "ns"), style.header("producer CPU per msg", "ns"),
       style.header("CPU per msg", "ns"), "switches per msg"});
  append(section.header, style.ratio_header("x floor"));
  for (auto [size, list] : cells.by_size(Scenario::fanout, &FanoutFigures::msgs_per_s, false)) {
    std::stable_sort(list.begin(), list.end(), [](const Row* a, const Row* b) {
      auto n = [](const Row* r) {
        const auto& name = r->first->name;
        return std::atoi(name.c_str() + name.rfind("/n") + 2);
      };
      return n(a) < n(b);
    });
    for (const Row* r : list) {
      std::vector<std::string> row = cells.lead(*r);
      const auto& name = r->first->name;
      const int n = std::atoi(name.c_str() + name.rfind("/n") + 2);
      const bool native = find_transport(r->first->transport) &&
                          find_transport(r->first->transport)->capabilities().multicast;
      append(row, {r->label(), r->first->wait, style.size(size), std::to_string(n),
                   r->good.empty()                   ? (native ? "native" : "N copies")
                   : r->good.front()->fanout->native ? "native"
                                                     : "N copies"});
      if (r->good.empty()) {
        row.push_back(error_text(*r));
        row.resize(section.header.size());
        section.rows[size].push_back(std::move(row));
        continue;
      }
      const Estimate msgs = r->est(&FanoutFigures::msgs_per_s);
      section.wide |= cells.wide(*r, msgs);
      section.single |= r->good.size() < 2;
      append(row, style.with_interval(msgs, cells.wide(*r, msgs), &Style::rate));
      row.push_back(style.bytes_rate(r->med(&FanoutFigures::consumer_bytes_per_second_min)));
      row.push_back(fmt::format("{:.0f}%", r->med(&FanoutFigures::fairness) * 100));
      row.push_back(style.ns(r->med(&FanoutFigures::p50_ns)));
      row.push_back(style.ns(r->med(&FanoutFigures::p99_ns)));
      row.push_back(style.ns(r->med(&FanoutFigures::p999_ns)));
      row.push_back(style.ns(r->med(&FanoutFigures::max_ns)));
      row.push_back(style.ns(r->med(&FanoutFigures::slowest_p99_ns)));
      row.push_back(style.ns(r->med(&FanoutFigures::producer_cpu_per_msg_ns)));
      row.push_back(style.ns(r->med(&CellResult::cpu_time)));
      row.push_back(r->good.front()->switches ? style.count(r->med(&switches_per_iteration)) : "-");
      append(row, style.ratio(r->x_floor_rate(&FanoutFigures::consumer_bytes_per_second_min)));
      section.rows[size].push_back(std::move(row));
    }
  }
  return section;
}

// The documents' tables, one per scenario, in the order the reporters print them.
std::vector<Section> sections(const std::vector<LabelledDocument>& documents, const Style& style,
                              const std::string& baseline) {
  const Cells cells(documents);
  return {pingpong_section(cells, style, baseline), throughput_section(cells, style),
          rate_section(cells, style), fanout_section(cells, style)};
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
  switch (scenario) {
    case Scenario::pingpong:
      return fmt::format("### pingpong, {} messages: round-trip time (RTT)\n\n",
                         format_bytes(bytes));
    case Scenario::throughput:
      return fmt::format("### throughput, {} messages: one-way stream\n\n", format_bytes(bytes));
    case Scenario::rate:
      return fmt::format("### rate, {} messages: one-way latency at a fixed offered rate\n\n",
                         format_bytes(bytes));
    case Scenario::fanout:
      return fmt::format("### fanout, {} messages: one producer, N consumers\n\n",
                         format_bytes(bytes));
  }
  return "";
}

// What a scenario's columns mean, after its tables.
std::string note(Scenario scenario, const std::string& baseline) {
  switch (scenario) {
    case Scenario::pingpong:
      return "RTT = one message there and one back, two processes on two CPUs. Each figure is "
             "the median over repetitions; ±x% = its 95% interval (ARCHITECTURE.md, "
             "\"Statistics\"); none with one repetition. CPU per RT = both processes' CPU time "
             "per round trip (a spinning pair costs two cores); switches per RT = both "
             "processes' context switches per round trip. p50 vs " +
             baseline + " = this row's p50 / " + baseline +
             "'s (its native wait mode) for the same size, paired round by round (each round "
             "measures a table's cells seconds apart), with its interval; ≈1.0x = the interval "
             "holds 1: not distinguishable. floor = two processes exchanging one cache line "
             "between the same two CPUs, right now: not a transport, the cost no transport "
             "between them can go below. x floor = this row's figure / the floor its own two "
             "workers measured milliseconds before, per round.\n";
    case Scenario::throughput:
      return "GB/s = 10^9 bytes/s end to end (producer's first send to the consumer's last "
             "check; the producer and consumer columns are each end's own rate), median over "
             "repetitions, ±x% its 95% interval. touch: edges = the sequence number and last "
             "byte written and checked, full = every byte. switches per msg = both processes' "
             "context switches per message. floor = one core copying the message once, right now "
             "(not a transport); x floor = that copy's rate / this row's, measured by the row's "
             "own producer just before, per round.\n";
    case Scenario::rate:
      return "Open loop: the producer sends on a schedule (offered messages/s; max = back to "
             "back) and keeps sending when it falls behind. one-way = receive - intended send "
             "time, so a stall is charged to every message it delays (no coordinated omission); "
             "from send = receive - actual send time. One clock for both processes; the skew "
             "between the two CPUs is in the results' context (clock_skew). achieved = the "
             "producer's rate; not sustained = under 97% of offered, or more than 1 ms behind "
             "at the end (behind = messages). Medians over repetitions, ±x% the 95% interval. "
             "p50 x floor = one-way p50 / half the round trip of one cache line between the two "
             "CPUs, measured by the row's own workers just before.\n";
    case Scenario::fanout:
      return "Every message reaches every consumer, checked. delivery: native = published once "
             "to all N (a multicast transport); N copies = sent N times over N channels. msgs/s "
             "to all = messages delivered to every consumer per second (producer's first send "
             "to the last consumer's last check); per consumer = the slowest consumer's bytes/s "
             "(the producer's first send to that consumer's last check); fairness = (fastest - "
             "slowest) / median of those rates. one-way = receive - "
             "send, over every consumer's messages; slowest p99 = the consumer with the worst. "
             "N + 1 processes share the CPUs: with more processes than CPUs, every rate also "
             "falls for want of CPU, and spinning cells are not run. x floor = one copy of the "
             "message by the producer's core / the slowest consumer's rate.\n";
  }
  return "";
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
                        {"iterations", r.med(&CellResult::iterations)},
                        {"real_time", r.med(&CellResult::real_time)},
                        {"cpu_time", r.med(&CellResult::cpu_time)},
                        {"time_unit", "ns"},
                        {"switches_per_iteration", r.med(&switches_per_iteration)}};
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
    if (c.scenario == Scenario::pingpong) {
      put("p50_ns", r.est(&PingpongFigures::p50_ns));
      put("p99_ns", r.est(&PingpongFigures::p99_ns));
      j["p999_ns"] = r.med(&PingpongFigures::p999_ns);
      put("mean_ns", r.est(&PingpongFigures::mean_ns));
      j["ops_per_s"] = r.med(&PingpongFigures::ops_per_s);
      if (const Row* base = r.floor() ? nullptr : baseline_row(cells, r, baseline)) {
        const Estimate vs = vs_baseline(r, base);
        j["baseline"] = baseline;
        j["p50_vs_baseline"] = vs.median;
        j["p50_vs_baseline_ci95"] = interval(vs);
      }
      put_ratio("p50_x_floor", r.x_floor_time(&PingpongFigures::p50_ns));
      put_ratio("p99_x_floor", r.x_floor_time(&PingpongFigures::p99_ns));
    } else if (c.scenario == Scenario::fanout) {
      put("msgs_per_s", r.est(&FanoutFigures::msgs_per_s));
      j["subscribers"] = r.med(&FanoutFigures::subscribers);
      j["delivery"] = r.good.front()->fanout->native ? "native" : "N copies";
      j["consumer_bytes_per_second_min"] = r.med(&FanoutFigures::consumer_bytes_per_second_min);
      j["p99_ns"] = r.med(&FanoutFigures::p99_ns);
      j["producer_cpu_per_msg_ns"] = r.med(&FanoutFigures::producer_cpu_per_msg_ns);
      put_ratio("x_floor", r.x_floor_rate(&FanoutFigures::consumer_bytes_per_second_min));
    } else if (c.scenario == Scenario::rate) {
      put("p50_ns", r.est(&RateFigures::p50_ns));
      put("p99_ns", r.est(&RateFigures::p99_ns));
      j["p999_ns"] = r.med(&RateFigures::p999_ns);
      j["achieved_rate"] = r.med(&RateFigures::achieved_per_s);
      bool sustained = true;
      for (const CellResult* e : r.good)
        sustained &= e->rate->sustained;
      j["sustained"] = sustained;
      put_ratio("p50_x_floor", r.x_floor_time(&RateFigures::p50_ns, true));
    } else {
      put("msgs_per_s", r.est(&ThroughputFigures::msgs_per_s));
      put("bytes_per_second", r.est(&ThroughputFigures::bytes_per_second));
      put_ratio("x_floor", r.x_floor_rate(&ThroughputFigures::bytes_per_second));
    }
    if (auto target = cells.precision[0]) {
      const Estimate key = c.scenario == Scenario::pingpong ? r.est(&PingpongFigures::p50_ns)
                           : c.scenario == Scenario::rate   ? r.est(&RateFigures::p99_ns)
                           : c.scenario == Scenario::fanout
                               ? r.est(&FanoutFigures::msgs_per_s)
                               : r.est(&ThroughputFigures::bytes_per_second);
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

}  // namespace ipcbench

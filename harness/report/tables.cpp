#include "harness/report/tables.hpp"

#include <algorithm>
#include <cmath>

namespace ipcbench {

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
    case Source::peak_rss:
      return std::max(e.memory.producer_peak_rss.value_or(0),
                      e.memory.consumer_peak_rss.value_or(0));
    case Source::shared:
      return std::max(e.memory.producer_shared.value_or(0), e.memory.consumer_shared.value_or(0));
    case Source::daemon_rss:
      return e.memory.daemon_rss.value_or(0);
  }
  return 0;
}

double median_of(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

std::string error_text(const Row& row) {
  std::string e = row.errors.empty() ? "failed" : row.errors.front();
  for (auto& ch : e) {
    if (ch == '|' || ch == '\n') ch = ' ';
  }
  if (e.size() > 120) e = e.substr(0, 117) + "...";
  return "FAILED: " + e;
}

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

std::string with_baseline(std::string_view text, const std::string& baseline) {
  std::string out(text);
  for (std::size_t at; (at = out.find("{baseline}")) != std::string::npos;)
    out.replace(at, 10, baseline);
  return out;
}

namespace {

template <class T>
void append(std::vector<T>& to, const std::vector<T>& from) {
  to.insert(to.end(), from.begin(), from.end());
}

bool is_memory(Source source) {
  return source == Source::peak_rss || source == Source::shared || source == Source::daemon_rss;
}
// Did the repetition measure this memory figure?
bool has_memory(const CellResult& e, Source source) {
  switch (source) {
    case Source::peak_rss:
      return e.memory.producer_peak_rss || e.memory.consumer_peak_rss;
    case Source::shared:
      return e.memory.producer_shared || e.memory.consumer_shared;
    case Source::daemon_rss:
      return e.memory.daemon_rss.has_value();
    default:
      return false;
  }
}

// A row's offered rate (messages/s); max (0 in the cell) is infinite.
double offered_rate(const Row& r) {
  const double rate = r.first->offered_rate.value_or(0);
  return rate > 0 ? rate : INFINITY;
}
// A fan-out row's N.
unsigned consumers_of(const Row& r) {
  return r.first->consumers.value_or(1);
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
  // A memory column only where a row of this table measured it (files before memory was
  // recorded, a transport without a daemon).
  auto shown = [&](const Column& c) {
    if (!is_memory(c.source)) return true;
    for (const Row& r : cells.rows) {
      if (r.first->scenario != scenario) continue;
      for (const CellResult* e : r.good) {
        if (has_memory(*e, c.source)) return true;
      }
    }
    return false;
  };
  std::vector<const Column*> columns;
  for (const Column& c : table.columns) {
    if (!shown(c)) continue;
    columns.push_back(&c);
    section.memory |= is_memory(c.source);
  }
  for (const Column* column : columns) {
    const Column& c = *column;
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
      for (const Column* column : columns) {
        const Column& c = *column;
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
            if (is_memory(c.source) && !has_memory(*r->good.front(), c.source)) {
              row.push_back(style.missing());
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

}  // namespace

std::vector<Section> sections(const std::vector<LabelledDocument>& documents, const Style& style,
                              const std::string& baseline) {
  return sections(Cells(documents), style, baseline);
}

std::vector<Section> sections(const Cells& cells, const Style& style, const std::string& baseline) {
  std::vector<Section> out;
  for (Scenario scenario : scenarios())
    out.push_back(section(cells, style, scenario, baseline));
  return out;
}

std::vector<std::string> footnotes(const std::vector<Section>& all,
                                   const std::vector<LabelledDocument>& documents) {
  bool wide = false, single = false, not_sustained = false, skewed = false, thin = false;
  bool memory = false;
  for (const Section& section : all) {
    memory |= section.memory;
    wide |= section.wide;
    single |= section.single;
    not_sustained |= section.not_sustained;
    skewed |= section.skewed;
    thin |= section.thin;
  }
  std::vector<std::string> out;
  if (thin) {
    out.push_back(
        "p99.9 \"-\": the cell measured fewer than 10,000 round trips a repetition, and a "
        "99.9th percentile of fewer is a guess; give it more (--budget) to see it.");
  }
  if (wide) {
    std::optional<double> target;
    for (const auto& d : documents) {
      if (d.document.context.is_object() && d.document.context.contains("precision")) {
        target = d.document.context["precision"].get<double>();
      }
    }
    out.push_back(
        target ? fmt::format("(!) the interval is wider than the --precision target (±{:g}%) "
                             "after --max-repetitions: the machine is noisy for this cell; keep "
                             "it otherwise idle, pin with --cpus, or allow more repetitions.",
                             *target * 100)
               : "(!) the interval is wider than ±10%: close other programs, pin with "
                 "--cpus, raise --repetitions (or use --precision 5%), and read the "
                 "median.");
  }
  if (skewed) {
    out.push_back(
        "(skew): the two CPUs' clocks read further apart (context clock_skew, with its "
        "uncertainty) than this one-way time, or a message arrived before it was sent: the "
        "figure is not trustworthy here.");
  }
  if (not_sustained) {
    out.push_back(
        "not sustained: the producer could not keep the offered rate; its latencies grow "
        "with the backlog and show what that rate costs, not what the transport does at it.");
  }
  if (memory) {
    out.push_back(
        "peak RSS: the larger of the two workers' peak resident sets (fanout, reqresp: of any "
        "consumer or client), "
        "the worker itself included (its code, libraries and histograms); shared memory: what the "
        "transport's channels mapped shared in a worker (segments, queues, pools, by their mapped "
        "size; a kernel mechanism's buffers are the kernel's, not counted); daemon RSS: the "
        "resident memory of the transport's daemon (RouDi, dbus-daemon) after the cell.");
  }
  if (single) {
    out.push_back(
        "One repetition gives no interval: run with --repetitions 3 or more to see how "
        "much a figure moves.");
  }
  return out;
}

}  // namespace ipcbench

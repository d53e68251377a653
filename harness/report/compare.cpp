#include "harness/report/compare.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <vector>

#include <fmt/format.h>

#include "harness/report/reporter.hpp"
#include "harness/results/statistics.hpp"

namespace ipcbench {

namespace {

// A repetition's figure over its own floor (ScenarioInfo::compare_floor_figure), as a cost
// (higher is worse); 0 without a floor.
double x_floor(const CellResult& e) {
  const ScenarioInfo& s = *e.scenario;
  const auto pair = over_floor(e, s.compare_floor_figure, s.compare_floor);
  return pair && pair->second > 0 ? pair->first / pair->second : 0;
}

}  // namespace

std::map<std::string, KeyFigures> key_figures(const ResultsDocument& document,
                                              std::vector<std::string>& order) {
  std::map<std::string, KeyFigures> out;
  for (const CellResult& e : document.benchmarks) {
    auto [it, inserted] = out.try_emplace(e.name);
    if (inserted) {
      it->second.first = &e;
      order.push_back(e.name);
    }
    if (!e.error) {
      if (const double x = x_floor(e); x > 0) it->second.x_floor.push_back(x);
    }
    if (e.error) {
      ++it->second.failed;
    } else {
      it->second.values.push_back(e.figure(e.scenario->key_figure));
    }
  }
  return out;
}

// The shortest round trip of the clock-skew exchange between the two workers' CPUs; 0 if the
// file has none.
double pair_round_trip_ns(const nlohmann::json& context) {
  if (!context.is_object() || !context.contains("clock_skew")) return 0;
  const auto& skew = context["clock_skew"];
  if (!skew.is_object() || !skew.contains("uncertainty_ns") ||
      !skew["uncertainty_ns"].is_number()) {
    return 0;
  }
  return 2 * skew["uncertainty_ns"].get<double>();
}

bool pair_moved(const std::vector<double>& round_trips_ns) {
  std::vector<double> known;
  for (double rtt : round_trips_ns) {
    if (rtt > 0) known.push_back(rtt);
  }
  if (known.empty()) return false;
  const auto [lo, hi] = std::ranges::minmax(known);
  return hi > kPairMovedRatio * lo;
}

namespace {

// A side of several runs: each cell's figure per file is the median of that file's
// repetitions; the side's samples are those medians, one a run.
std::map<std::string, KeyFigures> key_figures(const std::vector<ResultsDocument>& documents,
                                              std::vector<std::string>& order) {
  if (documents.size() == 1) return key_figures(documents.front(), order);
  std::map<std::string, KeyFigures> out;
  for (const ResultsDocument& document : documents) {
    std::vector<std::string> file_order;
    for (const auto& [name, figures] : key_figures(document, file_order)) {
      auto [it, inserted] = out.try_emplace(name);
      if (inserted) it->second.first = figures.first;
      it->second.failed += figures.failed;
      if (!figures.values.empty()) it->second.values.push_back(estimate(figures.values).median);
      if (!figures.x_floor.empty()) it->second.x_floor.push_back(estimate(figures.x_floor).median);
    }
    for (const auto& name : file_order) {
      if (std::ranges::find(order, name) == order.end()) order.push_back(name);
    }
  }
  return out;
}

std::string context_text(const nlohmann::json& context, const char* key) {
  if (!context.is_object() || !context.contains(key)) return "-";
  const auto& v = context[key];
  return v.is_string() ? v.get<std::string>() : v.dump();
}

std::string format_value(Scenario scenario, double v) {
  if (scenario->compare_format == CompareFormat::gb_per_s) {
    return fmt::format("{:.2f} GB/s", v / 1e9);
  }
  if (scenario->compare_format == CompareFormat::per_s) return fmt::format("{:.0f} msgs/s", v);
  if (v < 1000) return fmt::format("{:.0f} ns", v);
  if (v < 1'000'000) return fmt::format("{:.2f} us", v / 1e3);
  return fmt::format("{:.2f} ms", v / 1e6);
}

std::string with_interval(Scenario scenario, const Estimate& e) {
  std::string s = format_value(scenario, e.median);
  if (e.has_interval()) s += fmt::format(" ±{:.0f}%", e.relative_half_width() * 100);
  return s;
}

std::string table(const std::vector<std::string>& header,
                  const std::vector<std::vector<std::string>>& rows) {
  auto line = [](const std::vector<std::string>& cells) {
    std::string s = "|";
    for (const auto& c : cells) {
      s += ' ';
      s += markdown_cell(c);
      s += " |";
    }
    return s + "\n";
  };
  std::string out = line(header);
  std::string sep = "|";
  for (std::size_t i = 0; i < header.size(); ++i)
    sep += i == 0 ? " --- |" : " ---: |";
  out += sep + "\n";
  for (const auto& r : rows)
    out += line(r);
  return out;
}

}  // namespace

Verdict judge(const KeyFigures& base, const KeyFigures& next, bool moved, double noise) {
  Verdict v;
  const Scenario scenario = base.first->scenario;
  // NEW/BASE of the figure; for a time lower is better, for a rate higher is. Where both files
  // carry each repetition's own floor and the two runs' CPUs were placed differently, the
  // figures over their floors decide (what the host's placement did cancels within each run).
  v.raw = ratio(next.values, base.values);
  if (!base.x_floor.empty() && !next.x_floor.empty())
    v.over_floor = ratio(next.x_floor, base.x_floor);
  v.by_floor = moved && v.over_floor.median > 0;
  const Estimate& r = v.by_floor ? v.over_floor : v.raw;
  const bool lower_is_better = v.by_floor || scenario->lower_is_better(scenario->key_figure);
  // The noise band: NEW/BASE within [1 / (1 + noise), 1 + noise] is drift between runs.
  const double band_high = 1 + noise, band_low = 1 / band_high;
  if (!r.has_interval()) {
    v.change = Change::cannot_tell;
  } else if (r.contains(1.0)) {
    v.change = Change::same;
  } else if (*r.low<band_high&& * r.high> band_low) {
    // The repetitions say it moved, but not by more than separate runs drift.
    v.change = Change::drift;
  } else {
    const bool bigger = *r.low > 1;
    v.change = bigger != lower_is_better ? Change::faster : Change::slower;
    v.by = std::abs(lower_is_better ? r.median - 1 : 1 / r.median - 1);
  }
  return v;
}

Comparison compare(const std::vector<ResultsDocument>& bases,
                   const std::vector<ResultsDocument>& nexts, const CompareOptions& options) {
  const ResultsDocument& base = bases.front();
  const ResultsDocument& next = nexts.front();
  const bool runs = bases.size() > 1 || nexts.size() > 1;
  Comparison result;
  std::string& out = result.text;

  // What differs between the two machines and builds.
  std::vector<std::vector<std::string>> differences;
  for (const char* key :
       {"label", "host_name", "cpu_model", "num_cpus", "kernel", "hypervisor", "governor",
        "compiler", "build_type", "git_commit", "ipcbench_version", "cpus_used"}) {
    std::string a = context_text(base.context, key), b = context_text(next.context, key);
    if (a != b) differences.push_back({key, a, b});
  }
  // How fast the two workers' CPUs exchange a cache line (the clock-skew measurement's shortest
  // round trip, taken at the start of each run): on a virtual machine it follows where the host
  // placed the two virtual CPUs, and every sub-microsecond figure follows it.
  std::vector<double> pair_rtts;
  auto pair_rtt_text = [&](const std::vector<ResultsDocument>& side) {
    std::string text;
    for (const ResultsDocument& d : side) {
      const double rtt = pair_round_trip_ns(d.context);
      pair_rtts.push_back(rtt);
      text += (text.empty() ? "" : ", ") + (rtt > 0 ? fmt::format("{:.0f} ns", rtt) : "-");
    }
    return text;
  };
  const std::string base_rtts = pair_rtt_text(bases), next_rtts = pair_rtt_text(nexts);
  const bool moved = pair_moved(pair_rtts);
  if (moved) differences.push_back({"CPU pair's cache-line round trip", base_rtts, next_rtts});
  out += "### What differs between the two runs\n\n";
  out += differences.empty() ? "Nothing of the machine or the build (same host, CPU, kernel, "
                               "build and commit).\n\n"
                             : table({"context", "BASE", "NEW"}, differences) + "\n";
  if (moved) {
    out += fmt::format(
        "The two workers' CPUs exchanged a cache line at different speeds in these runs (the "
        "shortest round trip of the clock-skew exchange at each run's start, over {:.1f}x "
        "apart): on a virtual machine the host placed the virtual CPUs differently, and "
        "sub-microsecond figures follow that placement, not the code. Compare runs whose pair "
        "round trips agree.\n\n",
        kPairMovedRatio);
  }

  std::vector<std::string> order, unused;
  auto a = key_figures(bases, order);
  auto b = key_figures(nexts, unused);
  std::map<Scenario, std::vector<std::vector<std::string>>> rows;
  std::vector<std::string> only;
  for (const auto& name : order) {
    auto it = b.find(name);
    if (it == b.end()) continue;
    const KeyFigures& fa = a[name];
    const KeyFigures& fb = it->second;
    const Scenario scenario = fa.first->scenario;
    if (fa.values.empty() || fb.values.empty()) {
      rows[scenario].push_back({name, fa.values.empty() ? "FAILED" : "",
                                fb.values.empty() ? "FAILED" : "", "-", "-",
                                "cannot compare: failed"});
      continue;
    }
    const Estimate ea = estimate(fa.values), eb = estimate(fb.values);
    const Verdict v = judge(fa, fb, moved, options.noise);
    std::string verdict;
    switch (v.change) {
      case Change::cannot_tell:
        verdict = runs ? "cannot tell (one run)" : "cannot tell (one repetition)";
        break;
      case Change::same:
        verdict = "not distinguishable";
        break;
      case Change::drift:
        verdict = fmt::format("within drift (±{:.0f}%)", options.noise * 100);
        break;
      case Change::faster:
        verdict = "faster";
        break;
      case Change::slower:
        verdict = "slower";
        if (options.fail_above && v.by > *options.fail_above) {
          verdict += fmt::format(" by {:.0f}% (over the {:.0f}% allowed)", v.by * 100,
                                 *options.fail_above * 100);
          result.regression = true;
        }
        break;
    }
    auto ratio_text = [](const Estimate& e) {
      if (e.median <= 0) return std::string("-");
      return e.has_interval() ? fmt::format("{:.2f}x ({:.2f}-{:.2f})", e.median, *e.low, *e.high)
                              : fmt::format("{:.2f}x", e.median);
    };
    if (v.by_floor) verdict += " (x floor)";
    rows[scenario].push_back({name, with_interval(scenario, ea), with_interval(scenario, eb),
                              ratio_text(v.raw), ratio_text(v.over_floor), verdict});
  }
  for (const auto& [name, figures] : a) {
    if (!b.contains(name)) only.push_back(name + " (only in BASE)");
  }
  for (const auto& [name, figures] : b) {
    if (!a.contains(name)) only.push_back(name + " (only in NEW)");
  }
  const std::vector<std::string> header = {
      "cell", "BASE", "NEW", "NEW/BASE (95%)", "x floor NEW/BASE (95%)", "verdict"};
  // One section a scenario, in the order of their compare_rank.
  std::vector<Scenario> order_of_sections(scenarios().begin(), scenarios().end());
  std::ranges::stable_sort(order_of_sections, {}, &ScenarioInfo::compare_rank);
  for (Scenario scenario : order_of_sections) {
    auto it = rows.find(scenario);
    if (it == rows.end() || it->second.empty()) continue;
    out += fmt::format("### {}\n\n", scenario->compare_heading) + table(header, it->second) + "\n";
  }
  if (rows.empty()) out += "No cell is in both files.\n\n";
  if (runs) {
    out += fmt::format(
        "{} BASE runs and {} NEW runs: each cell's figure per run is the median of its "
        "repetitions; BASE and NEW are the medians over the runs, ±x% their 95% intervals, and "
        "NEW/BASE's interval is over the runs, so it holds the drift between them. ",
        bases.size(), nexts.size());
  }
  out += fmt::format(
      "Medians over each file's repetitions, ±x% their 95% intervals; NEW/BASE with its 95% "
      "interval. Faster or slower only when the whole interval lies beyond ±{:.0f}%, the drift "
      "allowed between separate runs (--noise; bench/run_drift.sh measures this machine's); "
      "within drift: the interval excludes 1 but not that band. x floor NEW/BASE: the same of each "
      "repetition's figure over the floor its own workers measured just before (files of schema "
      "3), as a cost (higher is slower, for rates too); where the two runs' CPUs exchanged a "
      "cache line at different speeds it decides the verdict, marked (x floor).\n",
      options.noise * 100);
  if (!only.empty()) {
    out += "\nNot compared: ";
    for (std::size_t i = 0; i < only.size(); ++i)
      out += (i ? ", " : "") + markdown_cell(only[i]);
    out += ".\n";
  }
  return result;
}

}  // namespace ipcbench

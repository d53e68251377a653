// The JSON reporter: the document as a results file holds it, the repetitions, then one summary
// per cell (Google Benchmark's run_type "aggregate", aggregate_name "median") with the 95%
// intervals and the ratio to `baseline` where the scenario has one. Several files: a JSON array of
// such documents.
#include "harness/report/tables.hpp"

namespace ipcbench {
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

class JsonReporter final : public Reporter {
 public:
  explicit JsonReporter(std::string baseline) : m_baseline(std::move(baseline)) {}
  using Reporter::render;
  std::string render(const std::vector<LabelledDocument>& documents) const override;

 private:
  std::string m_baseline;
};

// A document as a results file holds it: without indentation (the reference run's file was 14 MB
// indented, about 3 MB of it data), its context on the first line and each entry of `benchmarks`
// on a line of its own, so that a line-oriented tool (diff, grep, wc -l) still sees a cell a line.
std::string lines(const nlohmann::json& document) {
  std::string out = "{\"context\":" + document.at("context").dump() + ",\n\"benchmarks\":[";
  const nlohmann::json& entries = document.at("benchmarks");
  for (std::size_t i = 0; i < entries.size(); ++i)
    out += (i ? ",\n" : "\n") + entries[i].dump();
  return out + "\n]}";
}

std::string JsonReporter::render(const std::vector<LabelledDocument>& documents) const {
  std::vector<std::string> each;
  for (const auto& d : documents) {
    nlohmann::json j = d.document;
    for (auto& summary : summaries(d.document, m_baseline))
      j["benchmarks"].push_back(std::move(summary));
    each.push_back(lines(j));
  }
  if (each.size() == 1) return each.front() + "\n";
  std::string out = "[";
  for (std::size_t i = 0; i < each.size(); ++i)
    out += (i ? ",\n" : "\n") + each[i];
  return out + "\n]\n";
}

}  // namespace

extern const ReportFormat kJsonFormat{"json", make_reporter_of<JsonReporter>};

}  // namespace ipcbench

// The Bencher Metric Format (https://bencher.dev/docs/reference/bencher-metric-format): what a
// self-hosted Bencher takes with `bencher run --adapter json --file <file>`, to track ipcbench's
// figures across commits and testbeds. One benchmark per cell that succeeded, named as the cell
// ("pingpong/shm/64/spin/full"; with several files, "<label>: <cell>"); its measures are the
// figures its scenario summarises with an interval (pingpong's p50, p99 and mean round trips,
// throughput's messages/s and bytes/s, ...; README "Results JSON" says what each is), named by
// their key with '-' for '_' ("p50-ns", "bytes-per-second"), and "cpu-ns-per-iteration", both
// workers' CPU per round trip or message. Each measure's value is the median over the cell's
// repetitions, its lower_value and upper_value the ends of the 95% interval (left out with fewer
// than two repetitions). A failed cell has no figures and is left out.
#include "harness/report/tables.hpp"

namespace ipcbench {
namespace {

// A measure's slug: Bencher's are kebab-case.
std::string slug(std::string_view key) {
  std::string out(key);
  for (char& c : out) {
    if (c == '_') c = '-';
  }
  return out;
}

nlohmann::json metric(const Estimate& e) {
  nlohmann::json j = {{"value", e.median}};
  if (e.has_interval()) {
    j["lower_value"] = *e.low;
    j["upper_value"] = *e.high;
  }
  return j;
}

class BmfReporter final : public Reporter {
 public:
  explicit BmfReporter(std::string) {}
  using Reporter::render;
  std::string render(const std::vector<LabelledDocument>& documents) const override {
    const Cells cells(documents);
    nlohmann::json out = nlohmann::json::object();
    for (const Row& r : cells.rows) {
      if (r.good.empty()) continue;
      nlohmann::json measures = nlohmann::json::object();
      for (const SummaryField& f : r.first->scenario->summary) {
        if (f.how != Summarize::interval) continue;
        const Estimate e = r.est(f.figure);
        if (e.median > 0) measures[slug(f.figure)] = metric(e);
      }
      if (const Estimate cpu = estimate(r.values(Source::cpu_time)); cpu.median > 0) {
        measures["cpu-ns-per-iteration"] = metric(cpu);
      }
      if (measures.empty()) continue;
      const std::string name =
          cells.several ? cells.labels[r.file] + ": " + r.first->name : r.first->name;
      out[name] = std::move(measures);
    }
    return out.dump(2) + "\n";
  }
};

}  // namespace

extern const ReportFormat kBmfFormat{"bmf", make_reporter_of<BmfReporter>};

}  // namespace ipcbench

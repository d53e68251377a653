// The scenario registry (scenarios/registry.hpp), as tests/registry_test.cpp checks the
// transports': every scenario file's row is listed, and every row is whole: each figure a table,
// summary, ratio or comparison names is one the scenario declares and makes. And the list of
// report formats: every format's file is in it.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "harness/report/reporter.hpp"
#include "scenarios/registry.hpp"

namespace ipcbench {
namespace {

TEST(ScenarioRegistry, EveryScenarioFileIsListed) {
  const std::filesystem::path dir = std::filesystem::path(IPCBENCH_SOURCE_DIR) / "scenarios";
  const std::regex row(R"re(extern const ScenarioInfo k\w+\{\s*\.name = "([^"]+)")re");
  std::size_t rows = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".cpp") continue;
    std::ifstream in(entry.path());
    std::stringstream text;
    text << in.rdbuf();
    const std::string source = text.str();
    for (std::sregex_iterator it(source.begin(), source.end(), row), end; it != end; ++it) {
      ++rows;
      EXPECT_NE(find_scenario((*it)[1].str()), nullptr)
          << entry.path() << " defines scenario " << (*it)[1]
          << ", which scenarios/registry.cpp does not list";
    }
  }
  EXPECT_EQ(rows, scenarios().size()) << "rows defined in scenarios/*.cpp against rows listed";
}

// The same for the report formats: a format's file not in kFormats (harness/report/reporter.cpp)
// would compile and never be offered.
TEST(ReportFormats, EveryFormatFileIsListedOnce) {
  const std::filesystem::path dir = std::filesystem::path(IPCBENCH_SOURCE_DIR) / "harness/report";
  const std::regex row(R"re(extern const ReportFormat k\w+\{\s*"([^"]+)")re");
  std::set<std::string> defined;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".cpp") continue;
    std::ifstream in(entry.path());
    std::stringstream text;
    text << in.rdbuf();
    const std::string source = text.str();
    for (std::sregex_iterator it(source.begin(), source.end(), row), end; it != end; ++it) {
      EXPECT_TRUE(defined.insert((*it)[1].str()).second) << "format " << (*it)[1] << " twice";
      EXPECT_NE(make_reporter((*it)[1].str(), "shm"), nullptr)
          << entry.path() << " defines format " << (*it)[1]
          << ", which harness/report/reporter.cpp does not list";
    }
  }
  std::set<std::string> listed;
  for (const ReportFormat* f : report_formats())
    listed.emplace(f->name);
  EXPECT_EQ(defined, listed);
  EXPECT_EQ(report_format_names("|"), "markdown|csv|json|bmf|html");
}

TEST(ScenarioRegistry, EveryRowIsWhole) {
  std::set<std::string_view> names;
  for (const ScenarioInfo* s : scenarios()) {
    SCOPED_TRACE(std::string(s->name));
    EXPECT_TRUE(names.insert(s->name).second) << "listed twice";
    EXPECT_FALSE(s->description.empty());
    EXPECT_FALSE(s->default_sizes.empty());
    EXPECT_FALSE(s->default_touches.empty());
    EXPECT_NE(s->defaults, nullptr);
    EXPECT_NE(s->run, nullptr);
    EXPECT_NE(s->outcome, nullptr);
    EXPECT_EQ(s->on_schedule, s->longest_phase_s != nullptr);
    EXPECT_EQ(s->variants != nullptr, s->name_suffix != nullptr)
        << "a scenario with variants names them (two variants' cells must not share a name)";
    auto declared = [&](std::string_view key, const char* where) {
      EXPECT_NE(s->figure(key), nullptr)
          << where << " names figure '" << key << "', which the scenario does not declare";
    };
    declared(s->key_figure, "key_figure");
    declared(s->table.order_by, "table.order_by");
    declared(s->compare_floor_figure, "compare_floor_figure");
    if (!s->baseline_figure.empty()) {
      declared(s->baseline_figure, "baseline_figure");
      EXPECT_FALSE(s->baseline_key.empty());
    }
    for (const Column& c : s->table.columns) {
      if (c.source == Source::figure) declared(c.figure, "a column");
      if (c.mark == Mark::not_sustained || c.mark == Mark::skew) declared(c.flag, "a mark");
    }
    for (const SummaryField& f : s->summary)
      declared(f.figure, "the summary");
    for (const SummaryRatio& r : s->summary_ratios)
      declared(r.figure, "a summary ratio");
    EXPECT_LE(s->table.text_keys, s->table.keys.size());
    EXPECT_FALSE(s->table.heading.empty());
    EXPECT_FALSE(s->table.note.empty());
    EXPECT_FALSE(s->compare_heading.empty());
  }
}

// outcome() makes every figure its scenario declares, even of workers that measured nothing (a
// file's figures are written by the declaration: one it did not make would read 0 silently).
TEST(ScenarioRegistry, OutcomeMakesEveryDeclaredFigure) {
  for (const ScenarioInfo* s : scenarios()) {
    SCOPED_TRACE(std::string(s->name));
    ScenarioConfig config;
    config.payload_bytes = 64;
    config.rate_per_s = 1000;
    SideReport producer;
    producer.count = 10;
    producer.start_ns = 1000;
    producer.end_ns = 2000;
    const std::vector<SideReport> consumers(2, producer);
    const CellOutcome o = s->outcome(CellInputs{config, 2, false, producer, consumers});
    for (const FigureSpec& f : s->figures)
      EXPECT_TRUE(o.figures.has(f.key)) << "no figure '" << f.key << "'";
    for (const auto& [key, value] : o.figures.items())
      EXPECT_NE(s->figure(key), nullptr) << "figure '" << key << "' is not declared";
  }
}

TEST(ScenarioRegistry, NamesParseBack) {
  for (const ScenarioInfo* s : scenarios())
    EXPECT_EQ(parse_scenario(s->name), std::optional<Scenario>(s));
  EXPECT_EQ(parse_scenario("ping-pong"), std::nullopt);
  EXPECT_EQ(scenario_names(), "pingpong, throughput, rate, fanout, reqresp, loaded, overload");
  EXPECT_EQ(scenario_names(" or "),
            "pingpong, throughput, rate, fanout, reqresp, loaded or overload");
}

}  // namespace
}  // namespace ipcbench

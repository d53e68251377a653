#include "scenarios/registry.hpp"

#include <algorithm>

namespace ipcbench {

// A scenario's row, defined in its file (`extern const ScenarioInfo kName{...}`).
#define IPCBENCH_SCENARIO(row)     \
  [] {                             \
    extern const ScenarioInfo row; \
    return &row;                   \
  }()

std::span<const ScenarioInfo* const> scenarios() {
  // The rows, in the order `all` runs them and the reporters print their tables: the one place
  // that names them all (tests/scenario_registry_test.cpp fails when a file of scenarios/ defines
  // a row that is not here).
  static const ScenarioInfo* const kAll[] = {
      IPCBENCH_SCENARIO(kPingpong), IPCBENCH_SCENARIO(kThroughput), IPCBENCH_SCENARIO(kRate),
      IPCBENCH_SCENARIO(kFanout),   IPCBENCH_SCENARIO(kReqresp),    IPCBENCH_SCENARIO(kLoaded),
      IPCBENCH_SCENARIO(kOverload),
  };
  return kAll;
}

const ScenarioInfo* find_scenario(std::string_view name) {
  for (const ScenarioInfo* s : scenarios()) {
    if (s->name == name) return s;
  }
  return nullptr;
}

std::string scenario_names(std::string_view last) {
  const auto all = scenarios();
  std::string out;
  for (std::size_t i = 0; i < all.size(); ++i) {
    if (i > 0) out += i + 1 == all.size() ? last : ", ";
    out += all[i]->name;
  }
  return out;
}

std::string_view to_string(Scenario scenario) {
  return scenario ? scenario->name : "?";
}

std::optional<Scenario> parse_scenario(std::string_view text) {
  if (const ScenarioInfo* s = find_scenario(text)) return s;
  return std::nullopt;
}

const FigureSpec* ScenarioInfo::figure(std::string_view key) const {
  auto it = std::ranges::find(figures, key, &FigureSpec::key);
  return it == figures.end() ? nullptr : &*it;
}

bool ScenarioInfo::lower_is_better(std::string_view key) const {
  const FigureSpec* f = figure(key);
  return !f || f->better == Better::lower;
}

Result<void> run_scenario(Scenario scenario, Role role, std::span<Transport* const> channels,
                          unsigned consumers, const ScenarioConfig& config, const Clock& clock,
                          Measurement& out) {
  if (config.payload_bytes < kMinMessageBytes) {
    return fail(Errc::unsupported, "messages need at least 8 bytes (the sequence number)");
  }
  if (scenario->stamped && config.payload_bytes < kStampedMinBytes) {
    return fail(Errc::unsupported, std::string(scenario->name) +
                                       " messages need at least 32 bytes (sequence, stamps)");
  }
  return scenario->run(role, channels, consumers, config, clock, out);
}

Result<void> run_scenario(Scenario scenario, Role role, Transport& transport,
                          const ScenarioConfig& config, const Clock& clock, Measurement& out) {
  Transport* one = &transport;
  return run_scenario(scenario, role, std::span<Transport* const>(&one, 1), 1, config, clock, out);
}

}  // namespace ipcbench

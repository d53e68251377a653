// The scenarios between two real processes (tests/pair.hpp): a warm-up bounded by a time ends
// where the producer says (its end-of-warm-up marker), and both sides then count the same
// measured round trips or messages, whatever the warm-up's count was.
#include <gtest/gtest.h>

#include <string>

#include "scenarios/registry.hpp"
#include "tests/pair.hpp"

namespace ipcbench::testing {
namespace {

struct Case {
  Scenario scenario;
  std::uint64_t warmup;
  std::chrono::milliseconds warmup_budget;
};

// Runs `c` over unix-stream; each side's measured count, or what went wrong.
std::pair<std::string, std::string> run_case(const Case& c, std::uint64_t count) {
  PairOptions options;
  options.transport = "unix-stream";
  options.queue_depth = 8;
  ScenarioConfig config;
  config.payload_bytes = 64;
  config.warmup = c.warmup;
  config.warmup_budget = c.warmup_budget;
  config.count = count;
  config.budget = std::chrono::seconds(30);
  auto side = [&](Role role) {
    return [&, role](Transport& t) -> std::string {
      Measurement m;
      const Clock clock = Clock::monotonic();
      auto ran = run_scenario(c.scenario, role, t, config, clock, m);
      if (!ran) return std::string(to_string(role)) + ": " + ran.error().reason;
      if (m.count != count) {
        return std::string(to_string(role)) + " counted " + std::to_string(m.count) + ", not " +
               std::to_string(count);
      }
      return "";
    };
  };
  PairOutcome r = run_pair(options, side(Role::producer), side(Role::consumer));
  return {r.setup_error + r.producer.verdict, r.consumer.verdict};
}

TEST(Warmup, ATimeBoundEndsAnEndlessWarmupAndBothSidesCountTheSame) {
  for (Scenario s : {find_scenario("pingpong"), find_scenario("throughput")}) {
    // A billion warm-up messages, bounded by 50 ms: the measured ones follow, counted alike.
    auto [producer, consumer] = run_case({s, 1'000'000'000, std::chrono::milliseconds(50)}, 500);
    EXPECT_EQ(producer, "") << to_string(s);
    EXPECT_EQ(consumer, "") << to_string(s);
  }
}

TEST(Warmup, ACountWithoutATimeBoundIsDoneWholeAndNoWarmupAtAllWorks) {
  for (Scenario s : {find_scenario("pingpong"), find_scenario("throughput")}) {
    for (std::uint64_t warmup : {0u, 37u}) {
      auto [producer, consumer] = run_case({s, warmup, std::chrono::milliseconds(0)}, 200);
      EXPECT_EQ(producer, "") << to_string(s) << " warm-up " << warmup;
      EXPECT_EQ(consumer, "") << to_string(s) << " warm-up " << warmup;
    }
  }
}

}  // namespace
}  // namespace ipcbench::testing

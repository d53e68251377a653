// The command line as a user meets it: exit codes, one-line errors naming the bad value and what
// is allowed, `list`, and `run --quick --transports all` end to end.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>

#include <nlohmann/json.hpp>

#include "tests/cli_run.hpp"
#include "transports/transport.hpp"

namespace ipcbench {
namespace {

using testing::names_of_dead_runs;
using testing::Ran;

Ran run(const std::string& args) {
  return testing::run_cli(args);
}

TEST(Cli, ListShowsEveryTransport) {
  Ran r = run("list");
  EXPECT_EQ(r.code, 0) << r.out;
  for (const auto& info : transports()) {
    EXPECT_NE(r.out.find(std::string(info.name) + " "), std::string::npos) << info.name;
  }
}

TEST(Cli, UsageErrorsExitTwoWithOneLineNamingTheValue) {
  struct Bad {
    std::string args;
    const char* names;    // the bad value, quoted in the message
    const char* allowed;  // part of what is allowed
  };
  for (const Bad& b :
       {Bad{"run --transports carrier-pigeon", "carrier-pigeon", "unix-stream"},
        Bad{"run --sizes 12XB", "12XB", "MiB"}, Bad{"run --sizes 4", "4", "8 bytes"},
        Bad{"run --iterations 0", "--iterations 0", "1 to 1000000000"},
        Bad{"run --messages 0", "--messages 0", "1 to 1000000000"},
        Bad{"run --cpus 0,4095", "4095", "may use"}, Bad{"run --cpus 1,1", "1,1", "distinct"},
        Bad{"run --wait sleepy", "sleepy", "adaptive"}, Bad{"run --touch some", "some", "edges"},
        Bad{"run --scenarios latency", "latency", "throughput"},
        Bad{"run --repetitions 0", "--repetitions 0", "1 to 1000"},
        Bad{"run --frobnicate", "--frobnicate", "help"},
        Bad{"report --format xml results.json", "xml", "csv"},
        // Numbers out of range, negative, overflowing or not numbers at all; empty lists.
        Bad{"run --iterations -5", "-5", "1 to 1000000000"},
        Bad{"run --iterations 18446744073709551616", "18446744073709551616", "1 to 1000000000"},
        Bad{"run --warmup -1", "-1", "0 to 1000000000"},
        Bad{"run --messages -1", "-1", "1 to 1000000000"},
        Bad{"run --budget 1e30", "1e30", "0.1 to 86400"},
        Bad{"run --budget 0.0001", "0.0001", "0.1 to 86400"},
        Bad{"run --budget nan", "nan", "0.1 to 86400"},
        Bad{"run --timeout 0.0001", "0.0001", "1 to 86400"},
        Bad{"run --repetitions 100000", "100000", "1 to 1000"},
        Bad{"run --spin-us -1", "-1", "0 to 1000000"},
        Bad{"run --sizes ''", "--sizes", "empty list"},
        Bad{"run --touch ''", "--touch", "empty list"},
        Bad{"run --wait ''", "--wait", "empty list"},
        Bad{"run --transports ''", "--transports", "empty list"},
        Bad{"run --transports pipe,,tcp", "pipe,,tcp", "empty item"},
        Bad{"run --scenarios ''", "--scenarios", "empty list"},
        Bad{"run --out ''", "--out", "- for standard output"},
        Bad{"report --baseline nope " + std::string(IPCBENCH_SOURCE_DIR) +
                "/results/reference.json",
            "nope", "transports present: pipe"}}) {
    Ran r = run(b.args);
    EXPECT_EQ(r.code, 2) << b.args << "\n" << r.out;
    EXPECT_NE(r.out.find(b.names), std::string::npos) << b.args << "\n" << r.out;
    EXPECT_NE(r.out.find(b.allowed), std::string::npos) << b.args << "\n" << r.out;
    EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << b.args << "\n" << r.out;
  }
  EXPECT_EQ(run("").code, 2);  // a subcommand is required
}

TEST(Cli, ReportFormatJsonPrintsTheFilesAsOneDocument) {
  const std::string reference = std::string(IPCBENCH_SOURCE_DIR) + "/results/reference.json";
  Ran r = testing::run_cli("report --format json " + reference + " " + reference, false);
  ASSERT_EQ(r.code, 0) << r.out;
  auto merged = nlohmann::json::parse(r.out);
  std::ifstream in(reference);
  auto doc = nlohmann::json::parse(in);
  EXPECT_EQ(merged.at("context"), doc.at("context"));
  const auto& cells = doc.at("benchmarks");
  ASSERT_EQ(merged.at("benchmarks").size(), 2 * cells.size());
  for (std::size_t i = 0; i < cells.size(); ++i) {
    EXPECT_EQ(merged["benchmarks"][i], cells[i]) << i;
    EXPECT_EQ(merged["benchmarks"][cells.size() + i], cells[i]) << i;
  }
}

TEST(Cli, QuickRunOfEveryTransportProducesCompleteJson) {
  namespace fs = std::filesystem;
  const std::string out = "/tmp/ipcbench-" + std::to_string(::getpid()) + "-e2e.json";
  Ran r = run("run --quick --transports all --out " + out);
  ASSERT_EQ(r.code, 0) << r.out;
  std::ifstream in(out);
  ASSERT_TRUE(in) << "no results file";
  auto doc = nlohmann::json::parse(in);
  fs::remove(out);

  // The context says what machine and build this was.
  const auto& ctx = doc.at("context");
  for (const char* key :
       {"host_name", "cpu_model", "num_cpus", "kernel", "compiler", "build_type", "git_commit",
        "date", "timer_overhead_ns", "cpus_used", "json_schema_version"}) {
    EXPECT_TRUE(ctx.contains(key)) << key;
  }
  EXPECT_GT(ctx.at("timer_overhead_ns").get<double>(), 0.0);

  // Every cell: each available transport, pingpong and throughput (edges and full).
  std::set<std::string> names;
  for (const auto& e : doc.at("benchmarks"))
    names.insert(e.at("name").get<std::string>());
  for (const auto& info : transports()) {
    if (!info.unavailable.empty()) continue;
    std::string t(info.name);
    std::string native(to_string(info.capabilities().native_wait));
    EXPECT_TRUE(names.count("pingpong/" + t + "/64/" + native + "/full")) << t;
    EXPECT_TRUE(names.count("throughput/" + t + "/1048576/" + native + "/edges")) << t;
    EXPECT_TRUE(names.count("throughput/" + t + "/1048576/" + native + "/full")) << t;
  }
  for (const auto& e : doc.at("benchmarks")) {
    const std::string name = e.at("name").get<std::string>();
    ASSERT_FALSE(e.value("error_occurred", false)) << name << ": " << e.value("error_message", "");
    EXPECT_EQ(e.at("time_unit"), "ns") << name;
    EXPECT_GT(e.at("iterations").get<double>(), 0) << name;
    EXPECT_GT(e.at("real_time").get<double>(), 0) << name;
    EXPECT_EQ(e.at("lost").get<double>(), 0) << name;
    if (e.at("scenario") == "pingpong") {
      double min = e.at("min_ns"), p50 = e.at("p50_ns"), p90 = e.at("p90_ns"), p99 = e.at("p99_ns"),
             p999 = e.at("p999_ns"), max = e.at("max_ns");
      EXPECT_GT(p50, 0) << name;
      EXPECT_LE(min, p50) << name;
      EXPECT_LE(p50, p90) << name;
      EXPECT_LE(p90, p99) << name;
      EXPECT_LE(p99, p999) << name;
      EXPECT_LE(p999, max) << name;
    } else {
      EXPECT_GT(e.at("msgs_per_s").get<double>(), 0) << name;
      EXPECT_GT(e.at("bytes_per_second").get<double>(), 0) << name;
      EXPECT_EQ(e.at("delivered").get<double>(), e.at("requested").get<double>()) << name;
    }
  }
  // The console shows the tables; nothing is left behind.
  EXPECT_NE(r.out.find("| transport"), std::string::npos);
  EXPECT_EQ(names_of_dead_runs(), std::vector<std::string>{});
}

TEST(Cli, AFailedCellIsRecordedAndTheRunGoesOn) {
  // A 2-second timeout with a budget far beyond it: the pingpong cell is killed and recorded
  // as failed; the throughput cell after it still runs. Exit code 1.
  const std::string out = "/tmp/ipcbench-" + std::to_string(::getpid()) + "-fail.json";
  Ran r =
      run("run --transports unix-stream --iterations 100000000 --budget 1000 --timeout 2 "
          "--messages 20 "
          "--touch edges --out " +
          out);
  EXPECT_EQ(r.code, 1) << r.out;
  std::ifstream in(out);
  ASSERT_TRUE(in);
  auto doc = nlohmann::json::parse(in);
  std::filesystem::remove(out);
  ASSERT_EQ(doc.at("benchmarks").size(), 2u);
  const auto& failed = doc["benchmarks"][0];
  EXPECT_TRUE(failed.value("error_occurred", false));
  EXPECT_NE(failed.value("error_message", "").find("timed out"), std::string::npos)
      << failed.dump();
  EXPECT_FALSE(doc["benchmarks"][1].value("error_occurred", false));
  EXPECT_NE(r.out.find("FAILED"), std::string::npos);
  // Nothing of the killed cell is left: no name of a conductor that has exited.
  EXPECT_EQ(names_of_dead_runs(), std::vector<std::string>{});
}

}  // namespace
}  // namespace ipcbench

// Faults, through the real harness, for every transport in the registry: a worker killed with
// SIGKILL in the middle of a cell fails that cell with a reason naming it, leaves nothing behind
// (no name of the run, no file a library made in /dev/shm), and the next cell runs as if nothing
// had happened. Both sides are killed, one per repetition.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "tests/cli_run.hpp"
#include "transports/shm_names.hpp"
#include "transports/transport.hpp"

namespace ipcbench::testing {
namespace {

namespace fs = std::filesystem;

// What is in /dev/shm that no live process uses (maps or holds open), but ipcbench's own names
// (those are looked at by run): what a library left behind.
std::set<std::string> unused_shm_names() {
  const std::set<std::string> in_use = shm_names_in_use();
  std::set<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/dev/shm", ec)) {
    const std::string name = e.path().filename().string();
    if (!name.starts_with("ipcbench-") && !in_use.contains(name)) out.insert(name);
  }
  return out;
}

std::vector<std::string> available() {
  std::vector<std::string> out;
  for (const auto& info : transports()) {
    if (info.unavailable.empty()) out.emplace_back(info.name);
  }
  return out;
}

class Fault : public ::testing::TestWithParam<std::string> {};

TEST_P(Fault, AKilledWorkerFailsItsCellWithAReasonLeavesNothingAndTheNextCellRuns) {
  const testing::TempFile out_file("fault-" + GetParam());
  const std::string& out = out_file.path;
  const testing::TempFile log_file("fault-" + GetParam() + "-log");
  const std::string& log = log_file.path;
  const std::set<std::string> before = unused_shm_names();

  // Two rounds of a pingpong cell that would run for 20 s (its budget), whose worker is killed,
  // then two rounds of a short throughput cell (one table's rounds, then the next's). The consumer
  // is killed in the first round, the producer in the second.
  const std::string args = "run --transports " + GetParam() +
                           " --scenarios pingpong,throughput --touch edges --iterations 1000000000"
                           " --budget 20 --messages 50 --warmup 5 --repetitions 2 --timeout 30"
                           " --out " +
                           out;
  Background run(args, log);
  // Cells 0 and 1 are the pingpong cells. Once both workers run, a moment for the cell to get
  // going (whether it is measuring or still connecting, the cell must fail and say why).
  for (const auto& [cell, victim] : {std::pair<std::size_t, const char*>{0, "consumer"},
                                     std::pair<std::size_t, const char*>{1, "producer"}}) {
    pid_t pid = 0;
    ASSERT_TRUE(eventually([&] {
      pid = find_worker(run.pid(), victim, cell);
      return pid > 0 && find_worker(run.pid(), "producer", cell) > 0;
    })) << "no "
        << victim << " in cell " << cell << ":\n"
        << read_file(log) << "\n"
        << read_file(out);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    ::kill(pid, SIGKILL);
  }
  const int code = run.wait();
  const std::string output = read_file(log);
  EXPECT_EQ(code, 1) << output;

  auto doc = nlohmann::json::parse(read_file(out));
  const auto cells = iteration_entries(doc);
  ASSERT_EQ(cells.size(), 4u) << output;
  for (std::size_t i : {0u, 1u}) {
    const std::string victim = i == 0 ? "consumer" : "producer";
    EXPECT_TRUE(cells[i].value("error_occurred", false)) << cells[i].dump();
    const std::string reason = cells[i].value("error_message", "");
    EXPECT_NE(reason.find("SIGKILL"), std::string::npos) << victim << ": " << reason;
  }
  for (std::size_t i : {2u, 3u}) {
    EXPECT_FALSE(cells[i].value("error_occurred", false))
        << cells[i].at("name") << ": " << cells[i].value("error_message", "");
    EXPECT_EQ(cells[i].value("delivered", 0.0), 50.0) << cells[i].dump();
  }
  // Nothing left: no name of the run, nothing new in /dev/shm that no one uses (a library's files;
  // another program's, in use, are not this run's).
  EXPECT_EQ(names_of_run(run.pid()), std::vector<std::string>{});
  std::vector<std::string> left;
  for (const auto& name : unused_shm_names()) {
    if (!before.contains(name)) left.push_back("/dev/shm/" + name);
  }
  EXPECT_EQ(left, std::vector<std::string>{});
}

// Named <transport>_<its native wait mode>: tests/locks.cmake reads the mode from the name.
INSTANTIATE_TEST_SUITE_P(Registry, Fault, ::testing::ValuesIn(available()),
                         [](const ::testing::TestParamInfo<std::string>& p) {
                           std::string name =
                               p.param + "_" +
                               std::string(
                                   to_string(find_transport(p.param)->capabilities().native_wait));
                           for (auto& c : name) {
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return name;
                         });

}  // namespace
}  // namespace ipcbench::testing

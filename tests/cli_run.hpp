// Running the ipcbench binary from a test, as a user would: its exit code and its output.
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/resources.hpp"

namespace ipcbench::testing {

// A results file a test names: removed when the test ends, however it ends (an ASSERT that
// returns early included), so a failing test leaves nothing in /tmp.
struct TempFile {
  std::string path;
  explicit TempFile(const std::string& tag)
      : path("/tmp/ipcbench-" + std::to_string(::getpid()) + "-" + tag + ".json") {}
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  ~TempFile() {
    std::error_code ec;
    std::filesystem::remove(path, ec);
  }
};

struct Ran {
  int code;
  std::string out;  // what the command printed (stdout and stderr together unless redirected)
};

// Runs a shell command; what it prints on standard output, and its exit code.
inline Ran run_command(const std::string& cmd) {
  Ran r{-1, ""};
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return r;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0)
    r.out.append(buf, n);
  int status = ::pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// Runs `ipcbench <args>` through the shell (so `args` may redirect), stderr joined to stdout
// unless `join_stderr` is false.
inline Ran run_cli(const std::string& args, bool join_stderr = true) {
  return run_command(std::string(IPCBENCH_EXE) + " " + args + (join_stderr ? " 2>&1" : ""));
}

// /dev/shm and /tmp names of runs whose process no longer runs: what a finished run left behind
// (a run sweeps older ones when it starts).
inline std::vector<std::string> names_of_dead_runs() {
  std::vector<std::string> out;
  for (const char* dir : {"/dev/shm", "/tmp"}) {
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
      auto tag = parse_run_name(e.path().filename().string());
      if (tag && !run_alive(*tag)) out.push_back(e.path().string());
    }
  }
  return out;
}

// The entries of a results document that are repetitions of cells (run_type "iteration"), not
// the summaries a run appends (run_type "aggregate").
inline nlohmann::json iteration_entries(const nlohmann::json& doc) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& e : doc.at("benchmarks")) {
    if (e.value("run_type", "") != "aggregate") out.push_back(e);
  }
  return out;
}

}  // namespace ipcbench::testing

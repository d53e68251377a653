// Running the ipcbench binary from a test, as a user would: its exit code and its output.
#pragma once

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/run/resources.hpp"

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

// A whole file, with read(2): what could be read of it when it goes meanwhile (a process's /proc
// files; a stream's read would throw).
inline std::string read_file(const std::string& path) {
  std::string text;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return text;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0)
    text.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  return text;
}

// A JSON file a run wrote, parsed (a missing or broken file throws, which fails the test).
inline nlohmann::json read_json(const std::string& path) {
  return nlohmann::json::parse(read_file(path));
}

// `ipcbench <args>` started in the background, its output in a file.
class Background {
 public:
  explicit Background(const std::string& args, const std::string& log) {
    m_pid = ::fork();
    if (m_pid == 0) {
      int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      ::setpgid(0, 0);  // its own group: a signal to it is not one to the test
      ::execl("/bin/sh", "sh", "-c", ("exec " + std::string(IPCBENCH_EXE) + " " + args).c_str(),
              nullptr);
      ::_exit(127);
    }
  }
  ~Background() {
    if (m_pid > 0 && !m_status) {
      ::kill(m_pid, SIGKILL);
      wait();
    }
  }
  Background(const Background&) = delete;
  Background& operator=(const Background&) = delete;
  pid_t pid() const { return m_pid; }
  void signal(int sig) const { ::kill(m_pid, sig); }
  // Its exit status, or -1 when a signal ended it.
  int wait() {
    if (!m_status) {
      int status = 0;
      ::waitpid(m_pid, &status, 0);
      m_status = status;
    }
    return WIFEXITED(*m_status) ? WEXITSTATUS(*m_status) : -1;
  }

 private:
  pid_t m_pid = -1;
  std::optional<int> m_status;
};

// Waits (polling, at most a minute: a bound, not an expectation) until `ready()` holds.
inline bool eventually(const std::function<bool()>& ready) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    if (ready()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

// The pid of a worker in `role` of the run whose conductor is `run` (of its cell number `cell`,
// when given), or 0.
inline pid_t find_worker(pid_t run, const std::string& role, std::optional<std::size_t> cell = {}) {
  const std::string token = "ipcbench-run" + std::to_string(run) + ".";
  const std::string cell_end = cell ? "-cell" + std::to_string(*cell) + "\"" : token;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string cmdline = read_file(e.path().string() + "/cmdline");
    if (cmdline.find(token) != std::string::npos && cmdline.find(cell_end) != std::string::npos &&
        cmdline.find("\"role\":\"" + role + "\"") != std::string::npos) {
      return static_cast<pid_t>(std::stol(e.path().filename().string()));
    }
  }
  return 0;
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

// The names in /dev/shm and /tmp of the run whose conductor was `run` (it has ended): what it
// left behind.
inline std::vector<std::string> names_of_run(pid_t run) {
  std::vector<std::string> out;
  for (const char* dir : {"/dev/shm", "/tmp"}) {
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
      if (e.path().filename().string().starts_with("ipcbench-run" + std::to_string(run) + ".")) {
        out.push_back(e.path().string());
      }
    }
  }
  return out;
}

// Runs `body` in a child process with a mount namespace of its own (mounts private, so nothing
// reaches the machine's), after `mounts` has changed what it needs there (it returns "" or what
// failed). The body's verdict ("" when it passed) or what failed; nothing when not root.
inline std::optional<std::string> in_private_mounts(const std::function<std::string()>& mounts,
                                                    const std::function<std::string()>& body) {
  if (::geteuid() != 0) return std::nullopt;
  int report[2];
  if (::pipe(report) != 0) return "pipe failed";
  pid_t child = ::fork();
  if (child == 0) {
    ::close(report[0]);
    std::string verdict;
    if (::unshare(CLONE_NEWNS) != 0 ||
        ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
      verdict = "no private mount namespace: " + std::string(std::strerror(errno));
    } else {
      verdict = mounts();
      if (verdict.empty()) verdict = body();
    }
    ssize_t ignored = ::write(report[1], verdict.data(), verdict.size());
    (void)ignored;
    ::_exit(0);
  }
  ::close(report[1]);
  std::string verdict;
  char buf[512];
  for (ssize_t n; (n = ::read(report[0], buf, sizeof buf)) > 0;)
    verdict.append(buf, static_cast<std::size_t>(n));
  ::close(report[0]);
  int status = 0;
  ::waitpid(child, &status, 0);
  if (!WIFEXITED(status))
    verdict += " (the child ended with status " + std::to_string(status) + ")";
  return verdict;
}

// The entries of a results document that are repetitions of cells (run_type "iteration"), not
// the summaries a run appends (run_type "aggregate"), nor the floor's (`with_floor` false).
inline nlohmann::json iteration_entries(const nlohmann::json& doc, bool with_floor = false) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& e : doc.at("benchmarks")) {
    if (e.value("run_type", "") == "aggregate") continue;
    if (!with_floor && e.value("transport", "") == "floor") continue;
    out.push_back(e);
  }
  return out;
}

}  // namespace ipcbench::testing

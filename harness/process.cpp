#include "harness/process.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <thread>

#include <fmt/format.h>

namespace ipcbench {

std::string ChildExit::describe() const {
  if (WIFEXITED(status)) return "exited with " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    int sig = WTERMSIG(status);
    const char* name = sigabbrev_np(sig);
    return std::string("killed by SIG") + (name ? name : std::to_string(sig).c_str());
  }
  return "ended with status " + std::to_string(status);
}

bool ChildExit::success() const {
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

namespace {

[[noreturn]] void child_fail(const char* what) {
  // Only async-signal-safe calls between fork and exec.
  const char* err = strerror(errno);
  (void)!::write(2, what, strlen(what));
  (void)!::write(2, ": ", 2);
  (void)!::write(2, err, strlen(err));
  (void)!::write(2, "\n", 1);
  _exit(127);
}

}  // namespace

Result<pid_t> spawn(const ChildSpec& spec) {
  std::vector<char*> argv;
  for (const auto& arg : spec.argv)
    argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  std::vector<int> moved(spec.descriptors.size());  // allocated before fork, not after
  // Moved above every target number, and no higher: a low descriptor limit (ulimit -n) must not
  // fail a move that has room.
  int above_targets = 3;
  for (const auto& [from, to] : spec.descriptors)
    above_targets = std::max(above_targets, to + 1);
  const pid_t parent = ::getpid();

  pid_t pid = ::fork();
  if (pid < 0) return fail_errno(Errc::resource, "fork");
  if (pid > 0) return pid;

  // The child.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) _exit(127);  // the conductor died before prctl took effect
  if (!spec.stderr_path.empty()) {
    int fd = ::open(spec.stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || ::dup2(fd, 2) < 0) child_fail("stderr");
  }
  // Move every source out of the way first, so that no target number clobbers a source.
  for (std::size_t i = 0; i < moved.size(); ++i) {
    moved[i] = ::fcntl(spec.descriptors[i].first, F_DUPFD_CLOEXEC, above_targets);
    if (moved[i] < 0) child_fail("fcntl(F_DUPFD)");
  }
  for (std::size_t i = 0; i < moved.size(); ++i) {
    if (::dup2(moved[i], spec.descriptors[i].second) < 0) child_fail("dup2");  // clears CLOEXEC
  }
  if (spec.cpu >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(spec.cpu, &set);
    if (::sched_setaffinity(0, sizeof set, &set) != 0) child_fail("sched_setaffinity");
  }
  ::signal(SIGPIPE, SIG_DFL);
  // What a worker's libraries create without saying how is this user's alone.
  ::umask(077);
  ::execv(argv[0], argv.data());
  child_fail("exec");
}

std::optional<ChildExit> try_reap(pid_t pid) {
  ChildExit exit;
  for (;;) {
    pid_t got = ::wait4(pid, &exit.status, WNOHANG, &exit.usage);
    if (got == pid) return exit;
    if (got == 0) return std::nullopt;
    if (errno != EINTR) return exit;  // not our child any more: nothing to wait for
  }
}

ChildExit reap_or_kill(pid_t pid, std::chrono::milliseconds grace) {
  auto deadline = std::chrono::steady_clock::now() + grace;
  while (std::chrono::steady_clock::now() < deadline) {
    if (auto exit = try_reap(pid)) return *exit;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ::kill(pid, SIGKILL);
  ChildExit exit;
  while (::wait4(pid, &exit.status, 0, &exit.usage) < 0 && errno == EINTR) {
  }
  return exit;
}

std::optional<std::string> ensure_descriptors(std::uint64_t needed) {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return std::nullopt;  // nothing known: try
  if (limit.rlim_cur == RLIM_INFINITY || limit.rlim_cur >= needed) return std::nullopt;
  if (limit.rlim_max == RLIM_INFINITY || limit.rlim_max >= needed) {
    limit.rlim_cur = needed;  // the workers inherit it
    if (::setrlimit(RLIMIT_NOFILE, &limit) == 0) return std::nullopt;
  }
  return fmt::format(
      "ulimit -n: a process may open {} descriptors here (hard limit {}); this run needs {} (the "
      "workers' libraries, two control pipes per worker): raise the hard limit to {} or more",
      limit.rlim_cur, limit.rlim_max, needed, needed);
}

std::vector<int> allowed_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> cpus;
  if (::sched_getaffinity(0, sizeof set, &set) != 0) return cpus;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (CPU_ISSET(cpu, &set)) cpus.push_back(cpu);
  }
  return cpus;
}

}  // namespace ipcbench

#include "base/spawn.hpp"

#include <fcntl.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <thread>

#include "base/unique_fd.hpp"

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

pid_t fork_tied(int death_signal) {
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid != 0) return pid;
  // The child: only async-signal-safe calls here.
  ::prctl(PR_SET_PDEATHSIG, death_signal);
  if (::getppid() != parent) _exit(127);  // the parent died before prctl took effect
  return 0;
}

bool pin_to_cpu(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return ::sched_setaffinity(0, sizeof set, &set) == 0;
}

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
  UniqueFd output, input;
  if (!spec.stderr_path.empty()) {
    output =
        UniqueFd(::open(spec.stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    if (!output) return fail_errno(Errc::resource, "open " + spec.stderr_path);
  }
  if (spec.stdin_null) {
    input = UniqueFd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    if (!input) return fail_errno(Errc::resource, "open /dev/null");
  }
  const pid_t pid = fork_tied(spec.death_signal);
  if (pid < 0) return fail_errno(Errc::resource, "fork");
  if (pid > 0) return pid;

  // The child: only async-signal-safe calls from here to exec.
  if (spec.own_group) ::setpgid(0, 0);
  if (input && ::dup2(input.get(), 0) < 0) child_fail("stdin");
  if (output) {
    if (spec.stdout_too && ::dup2(output.get(), 1) < 0) child_fail("stdout");
    if (::dup2(output.get(), 2) < 0) child_fail("stderr");
  }
  // Move every source out of the way first, so that no target number clobbers a source.
  for (std::size_t i = 0; i < moved.size(); ++i) {
    moved[i] = ::fcntl(spec.descriptors[i].first, F_DUPFD_CLOEXEC, above_targets);
    if (moved[i] < 0) child_fail("fcntl(F_DUPFD)");
  }
  for (std::size_t i = 0; i < moved.size(); ++i) {
    if (::dup2(moved[i], spec.descriptors[i].second) < 0) child_fail("dup2");  // clears CLOEXEC
  }
  if (spec.close_others) ::close_range(static_cast<unsigned>(above_targets), ~0U, 0);
  if (spec.cpu >= 0 && !pin_to_cpu(spec.cpu)) child_fail("sched_setaffinity");
  if (spec.default_sigpipe) ::signal(SIGPIPE, SIG_DFL);
  ::umask(077);
  if (spec.search_path) {
    ::execvp(argv[0], argv.data());
  } else {
    ::execv(argv[0], argv.data());
  }
  if (spec.exec_failed.empty()) child_fail("exec");
  (void)!::write(2, spec.exec_failed.data(), spec.exec_failed.size());
  _exit(127);
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

}  // namespace ipcbench

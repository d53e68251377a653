// Child processes, started one way for everyone: the conductor's workers (harness/cell_runner)
// and a transport's daemon (transports/daemon_process). fork + exec with chosen descriptors at
// chosen numbers, optionally pinned to one CPU, in a group of its own, its output in a file; it
// dies with the process that started it (PR_SET_PDEATHSIG) and runs with umask 077 (what it
// creates without saying how is this user's alone). Reaped with its resource usage.
#pragma once

#include <signal.h>
#include <sys/resource.h>
#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/result.hpp"

namespace ipcbench {

struct ChildSpec {
  std::vector<std::string> argv;  // argv[0]: the program's path (or its name, with search_path)
  bool search_path = false;       // look argv[0] up in PATH (execvp)
  std::vector<std::pair<int, int>> descriptors;  // (descriptor here, number in the child)
  int cpu = -1;                                  // pin to this CPU; -1: leave as inherited
  std::string stderr_path;     // the child's stderr goes to this file, made anew ("" = inherit)
  bool stdout_too = false;     // ... and its stdout
  bool stdin_null = false;     // its stdin reads /dev/null
  int death_signal = SIGKILL;  // sent to it when the process that started it dies
  bool own_group = false;      // a process group of its own (a Ctrl-C does not reach it)
  bool close_others = false;   // closes every other descriptor (else: they are O_CLOEXEC)
  // SIGPIPE back to its default in the child (a worker: a write to a dead peer ends it, as a
  // program's would). false: as this process has it (the conductor ignores it), for a daemon
  // that writes to its clients' sockets and must outlive one that was killed (RouDi).
  bool default_sigpipe = true;
  std::string exec_failed;  // written to its stderr when exec fails ("" : "exec: <why>")
};

struct ChildExit {
  int status = 0;  // as from wait4
  rusage usage{};
  std::string describe() const;  // "exited with 0", "killed by SIGKILL", ...
  bool success() const;
};

// fork(), with a child that dies with this process (PR_SET_PDEATHSIG `death_signal`; a child
// whose parent was already gone exits at once, 127). As fork(): 0 in the child, the child's pid
// here, -1 (errno) when it failed. For a child that runs code of this program (the floor's
// processes); spawn() execs one.
pid_t fork_tied(int death_signal = SIGKILL);
// Pins the calling process to `cpu`; false (errno) when it may not run there.
bool pin_to_cpu(int cpu);

// Starts the child; its pid. A file it should write that cannot be made is an error here, before
// the fork.
Result<pid_t> spawn(const ChildSpec& spec);
// The child's exit if it has exited, without waiting.
std::optional<ChildExit> try_reap(pid_t pid);
// Waits up to `grace` for the child to exit, then kills it (SIGKILL) and reaps it.
ChildExit reap_or_kill(pid_t pid, std::chrono::milliseconds grace);

}  // namespace ipcbench

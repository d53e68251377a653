// A program a transport's daemon runs (TransportInfo::start_daemon: iceoryx's RouDi, a private
// D-Bus bus): a child process whose output goes to a log file in the daemon's private directory,
// in a process group of its own (a Ctrl-C at the terminal reaches the conductor, which stops it
// after the workers), and that dies with the process that started it (PR_SET_PDEATHSIG, SIGTERM).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "base/result.hpp"

namespace ipcbench {

class DaemonProcess {
 public:
  // Starts `argv` (argv[0] looked up in PATH) with its output in `log_path`. `missing` says what
  // to install when the program is not there (it is written to the log).
  static Result<DaemonProcess> start(const std::vector<std::string>& argv,
                                     const std::string& log_path, const std::string& missing);

  DaemonProcess() = default;
  DaemonProcess(DaemonProcess&& other) noexcept;
  DaemonProcess& operator=(DaemonProcess&& other) noexcept;
  DaemonProcess(const DaemonProcess&) = delete;
  DaemonProcess& operator=(const DaemonProcess&) = delete;
  // Stops it (SIGTERM) if it still runs.
  ~DaemonProcess();

  pid_t pid() const { return m_pid; }
  bool alive() const;
  // Its exit status (waitpid's), once it has ended.
  int status() const { return m_status; }
  bool ended_cleanly() const;
  // "exit status 3", "SIGSEGV".
  std::string how_it_ended() const;
  std::string log() const;

  // Waits until `ready(log())` says so; an error when it ends first or `timeout` passes (the
  // reason quotes the log's end).
  Result<void> wait_ready(const std::function<bool(const std::string& log)>& ready,
                          std::chrono::milliseconds timeout, const std::string& what) const;

  // Sends `signal`, waits up to `grace` for it to end, then SIGKILL.
  void stop(int signal, std::chrono::milliseconds grace);

 private:
  pid_t m_pid = -1;
  std::string m_log_path;
  mutable bool m_ended = false;
  mutable int m_status = 0;
};

// Is `program` an executable file in a directory of PATH (where start() would find it)?
bool program_on_path(const std::string& program);

std::string read_text_file(const std::string& path);
// The last `bytes` of `text` without terminal colour codes, "..." in front when cut.
std::string text_tail(const std::string& text, std::size_t bytes = 600);

}  // namespace ipcbench

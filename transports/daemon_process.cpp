#include "transports/daemon_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>
#include <utility>

#include "base/spawn.hpp"

namespace ipcbench {

using SteadyClock = std::chrono::steady_clock;

bool program_on_path(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/bin:/bin";
  std::size_t begin = 0;
  while (begin <= dirs.size()) {
    std::size_t end = dirs.find(':', begin);
    if (end == std::string::npos) end = dirs.size();
    std::string dir = dirs.substr(begin, end - begin);
    if (dir.empty()) dir = ".";
    if (::access((dir + "/" + program).c_str(), X_OK) == 0) return true;
    begin = end + 1;
  }
  return false;
}

std::string read_text_file(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string text_tail(const std::string& text, std::size_t bytes) {
  // Without terminal colours (ESC [ ... letter): a reason is read in a file and a table.
  std::string plain;
  plain.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\033' && i + 1 < text.size() && text[i + 1] == '[') {
      i += 2;
      while (i < text.size() && !std::isalpha(static_cast<unsigned char>(text[i])))
        ++i;
      continue;
    }
    plain += text[i];
  }
  return plain.size() <= bytes ? plain : "..." + plain.substr(plain.size() - bytes);
}

Result<DaemonProcess> DaemonProcess::start(const std::vector<std::string>& argv,
                                           const std::string& log_path,
                                           const std::string& missing) {
  ChildSpec child;
  child.argv = argv;
  child.search_path = true;
  child.stderr_path = log_path;
  child.stdout_too = true;
  child.stdin_null = true;
  child.death_signal = SIGTERM;
  child.own_group = true;
  child.close_others = true;
  child.default_sigpipe = false;  // as it was before spawn() served the daemons too
  child.exec_failed = "exec " + argv.at(0) + " failed: " + missing + "\n";
  auto pid = spawn(child);
  if (!pid) return std::unexpected(pid.error());
  DaemonProcess daemon;
  daemon.m_pid = *pid;
  daemon.m_log_path = log_path;
  return daemon;
}

DaemonProcess::DaemonProcess(DaemonProcess&& other) noexcept {
  *this = std::move(other);
}

DaemonProcess& DaemonProcess::operator=(DaemonProcess&& other) noexcept {
  if (this != &other) {
    if (m_pid > 0) stop(SIGTERM, std::chrono::seconds(5));
    m_pid = std::exchange(other.m_pid, -1);
    m_log_path = std::move(other.m_log_path);
    m_ended = other.m_ended;
    m_status = other.m_status;
  }
  return *this;
}

DaemonProcess::~DaemonProcess() {
  if (m_pid > 0) stop(SIGTERM, std::chrono::seconds(5));
}

bool DaemonProcess::alive() const {
  if (m_pid <= 0 || m_ended) return false;
  int status = 0;
  if (::waitpid(m_pid, &status, WNOHANG) == m_pid) {
    m_ended = true;
    m_status = status;
    return false;
  }
  return true;
}

bool DaemonProcess::ended_cleanly() const {
  return m_ended && WIFEXITED(m_status) && WEXITSTATUS(m_status) == 0;
}

std::string DaemonProcess::how_it_ended() const {
  if (!m_ended) return "still running";
  if (WIFSIGNALED(m_status)) return sigabbrev_np(WTERMSIG(m_status));
  return "exit status " + std::to_string(WEXITSTATUS(m_status));
}

std::string DaemonProcess::log() const {
  return read_text_file(m_log_path);
}

Result<void> DaemonProcess::wait_ready(const std::function<bool(const std::string&)>& ready,
                                       std::chrono::milliseconds timeout,
                                       const std::string& what) const {
  const auto deadline = SteadyClock::now() + timeout;
  while (true) {
    const std::string text = log();
    if (ready(text)) return {};
    if (!alive()) {
      return fail(Errc::resource,
                  what + " ended (" + how_it_ended() + ") before it was ready: " + text_tail(text));
    }
    if (SteadyClock::now() >= deadline) {
      return fail(Errc::timeout, what + " not ready within " + std::to_string(timeout.count()) +
                                     " ms: " + text_tail(text));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

void DaemonProcess::stop(int signal, std::chrono::milliseconds grace) {
  if (m_pid <= 0) return;
  if (alive()) {
    ::kill(m_pid, signal);
    const auto deadline = SteadyClock::now() + grace;
    while (alive() && SteadyClock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    if (alive()) {
      ::kill(m_pid, SIGKILL);
      ::waitpid(m_pid, &m_status, 0);
      m_ended = true;
    }
  }
  m_pid = -1;
}

}  // namespace ipcbench

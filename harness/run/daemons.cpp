#include "harness/run/daemons.hpp"

#include <unistd.h>

#include <filesystem>

#include "harness/run/plan.hpp"
#include "harness/run/process.hpp"
#include "harness/run/resources.hpp"

namespace ipcbench {

namespace fs = std::filesystem;

Daemons::Daemons() : m_owner(::getpid()) {}

Daemons::~Daemons() {
  if (::getpid() != m_owner) return;
  while (!m_running.empty())
    stop(m_running.begin()->first);
}

std::optional<std::string> Daemons::ensure(const std::string& transport,
                                           std::size_t max_message_bytes,
                                           std::chrono::milliseconds timeout,
                                           std::size_t max_consumers) {
  const TransportInfo* info = find_transport(transport);
  if (!info || !info->start_daemon) return std::nullopt;
  const std::string key = key_of(transport);
  auto it = m_running.find(key);
  if (it != m_running.end() && it->second.daemon->alive() &&
      it->second.max_message_bytes >= max_message_bytes &&
      it->second.max_consumers >= max_consumers) {
    return std::nullopt;
  }
  stop(key);
  DaemonConfig config;
  config.max_message_bytes = max_message_bytes;
  config.max_consumers = max_consumers;
  config.queue_depth_for = queue_depth_for;
  config.token = daemon_token(key);
  config.timeout = timeout;
  sweep_token(config.token);
  auto dir = make_private_dir(config.token);
  if (!dir) return dir.error().reason;
  config.dir = *dir;
  auto daemon = info->start_daemon(config);
  if (!daemon) {
    fs::remove_all(config.dir);
    return "its daemon did not start: " + daemon.error().reason;
  }
  m_running[key] = {std::move(*daemon), config.dir, max_message_bytes, max_consumers};
  return std::nullopt;
}

std::string Daemons::key_of(const std::string& transport) {
  const TransportInfo* info = find_transport(transport);
  if (!info || !info->start_daemon) return "";
  for (const auto& other : transports()) {
    if (other.start_daemon == info->start_daemon) return std::string(other.name);
  }
  return transport;
}

void Daemons::stop(const std::string& transport) {
  auto it = m_running.find(key_of(transport));
  if (it == m_running.end()) return;
  it->second.daemon.reset();  // its destructor stops it
  fs::remove_all(it->second.dir);
  m_running.erase(it);
}

std::optional<std::uint64_t> Daemons::resident_bytes(const std::string& transport) const {
  auto it = m_running.find(key_of(transport));
  if (it == m_running.end() || !it->second.daemon) return std::nullopt;
  const std::optional<int> pid = it->second.daemon->pid();
  if (!pid) return std::nullopt;
  return ipcbench::resident_bytes(*pid);
}

}  // namespace ipcbench

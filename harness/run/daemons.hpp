// The daemons some transports need running during their cells (TransportInfo::start_daemon), for
// the conductor and for the tests that run transports in pairs: one running daemon per kind
// (transports with the same start_daemon share one: iceoryx and cyclonedds-shm, RouDi), each in a
// private directory (resources.hpp) removed when it stops.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "transports/transport.hpp"

namespace ipcbench {

class Daemons {
 public:
  Daemons();
  Daemons(const Daemons&) = delete;
  Daemons& operator=(const Daemons&) = delete;
  // Stops every daemon still running; only in the process that started them, so that a forked
  // child that exits normally leaves its parent's daemons alone.
  ~Daemons();

  // Makes sure `transport`'s daemon runs and serves messages up to `max_message_bytes` to up to
  // `max_consumers` consumers of one producer, restarting one that died or serves less; `timeout`
  // is how long it may take to get ready. Nothing for a transport that needs no daemon;
  // otherwise an error says why not.
  std::optional<std::string> ensure(const std::string& transport, std::size_t max_message_bytes,
                                    std::chrono::milliseconds timeout,
                                    std::size_t max_consumers = 1);
  // Stops the daemon `transport` uses (and every transport that shares it).
  void stop(const std::string& transport);
  // The resident memory of the daemon `transport` uses, now; none without one (or one this
  // object did not start).
  std::optional<std::uint64_t> resident_bytes(const std::string& transport) const;

  // The daemon `transport` uses, named after the first transport in the registry with the same
  // start_daemon; "" for a transport without one.
  static std::string key_of(const std::string& transport);

 private:
  struct Running {
    std::unique_ptr<Daemon> daemon;
    std::string dir;
    std::size_t max_message_bytes = 0;
    std::size_t max_consumers = 1;
  };
  pid_t m_owner;
  std::map<std::string, Running> m_running;
};

}  // namespace ipcbench

// Runs two transport endpoints in two real processes (fork, no exec) for tests: the consumer
// first (listen), then the producer (connect to its address). Each side's body returns "" on
// success or what went wrong; the parent collects both, with a deadline, and kills what hangs.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <string>

#include "transports/transport.hpp"

namespace ipcbench::testing {

struct PairOptions {
  std::string transport;
  WaitMode wait = WaitMode::block;
  std::size_t max_message_bytes = 1 << 20;
  std::size_t queue_depth = 4;
  std::chrono::milliseconds timeout{10000};   // the endpoints' receive timeout
  std::chrono::milliseconds deadline{60000};  // the parent kills both after this
  std::vector<OptionValue> options;           // driver settings (Endpoint::options)
};

using Body = std::function<std::string(Transport&)>;

struct SideOutcome {
  bool ran = false;     // reported a verdict
  std::string verdict;  // "" = success
  std::string exit;     // "exited with 0", "killed by SIGKILL", ...
};

struct PairOutcome {
  SideOutcome producer;
  SideOutcome consumer;
  std::string setup_error;             // the pair never got going
  std::string token;                   // the cell's token (shm names start with it)
  std::string dir;                     // the cell's directory (already removed, if it was empty)
  std::vector<std::string> leftovers;  // names the endpoints left behind (files, /dev/shm)
};

// `kill_consumer_after_ms` >= 0: the parent SIGKILLs the consumer that long after both are
// connected (to test that the producer notices).
PairOutcome run_pair(const PairOptions& options, const Body& producer, const Body& consumer,
                     int kill_producer_after_ms = -1, int kill_consumer_after_ms = -1);

// The names under /dev/shm and /tmp that start with `prefix`.
std::vector<std::string> names_with_prefix(const std::string& prefix);

}  // namespace ipcbench::testing

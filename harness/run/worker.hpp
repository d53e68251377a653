// The worker: one side of one cell, in its own process (`ipcbench worker --spec JSON`, hidden).
// It makes its transport endpoint, reports each step to the conductor over the control pipe
// (one JSON object per line), waits for "go", runs its scenario role and reports the result.
//
// Control protocol, worker -> conductor:
//   {"event":"listening","address":A}   consumer: the producer may now connect to A
//   {"event":"connected","options":O}   the channel carries messages; O: what the kernel granted
//                                       for the cell's driver settings ({"buffer":1048576}),
//                                       absent when the cell has none
//   {"event":"result", ...}             the measurement (a WorkerReport), then the worker exits
//   {"event":"error","code":C,"reason":R}  set-up failed, or a fault (SIGBUS: code "corrupted")
//                                          or a signal (SIGTERM: "terminated") ended it; then the
//                                          worker exits 1 (a WorkerError, worker_report.hpp)
// conductor -> worker: "go\n" once both are connected.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "scenarios/registry.hpp"

namespace ipcbench {

struct WorkerSpec {
  Role role = Role::producer;
  std::string transport;
  Scenario scenario = scenarios().front();
  std::size_t bytes = 64;
  WaitMode wait = WaitMode::block;
  Touch touch = Touch::full;
  std::uint64_t warmup = 0;
  std::int64_t warmup_budget_ns = 0;  // the warm-up's time bound, 0: none
  std::uint64_t count = 1;
  std::int64_t budget_ns = 0;
  double rate_per_s = 0;         // rate: the offered rate, 0 = max
  std::int64_t duration_ns = 0;  // rate: the measured phase
  std::string token;
  std::string dir;
  std::int64_t timeout_ms = 5000;
  std::int64_t spin_us = 5;
  std::size_t queue_depth = 8;
  bool tsc = false;
  double ns_per_tick = 1.0;
  // producer: where each consumer listens (one address, or N for a fanout cell)
  std::vector<std::string> peer_addresses;
  unsigned subscribers = 1;          // fanout: N consumers
  unsigned subscriber_index = 0;     // fanout consumer: which it is
  std::vector<OptionValue> options;  // the driver settings (--set) the cell runs with
  // The cell's floor lines (harness/run/floor.hpp), a file both workers map; "" on one CPU.
  std::string floor_path;
  // Descriptor numbers, as the conductor wired them (cell_runner.cpp).
  int ctl_in = -1;   // conductor -> worker
  int ctl_out = -1;  // worker -> conductor
  int in_fd = -1;    // stdio_pipes transports: the channel's descriptors
  int out_fd = -1;
};

nlohmann::json to_json(const WorkerSpec& spec);
// Settings as the spec and the "connected" event write them: {"buffer": 1048576}.
nlohmann::json options_json(const std::vector<OptionValue>& options);
// Throws nlohmann::json::exception on a value that is not a whole number.
std::vector<OptionValue> options_from_json(const nlohmann::json& j);
// Throws nlohmann::json::exception on a malformed spec, std::invalid_argument on a scenario, wait
// mode or touch this build does not know (only the conductor writes specs).
WorkerSpec worker_spec_from_json(const nlohmann::json& j);

// Makes SIGBUS (a shared segment truncated under the worker), SIGTERM and SIGHUP report an error
// event on `control_fd` before the process exits: the cell's reason names the fault and, for a
// signal sent by a process, its pid and name. worker_main() installs them; tests call this.
void install_worker_fault_handlers(int control_fd);

// A point-to-point fanout cell's channel to consumer k: its own token and directory, so that no
// two channels' names meet.
inline std::string channel_token(const std::string& token, unsigned k) {
  return token + "-c" + std::to_string(k);
}
inline std::string channel_dir(const std::string& dir, unsigned k) {
  return dir + "/c" + std::to_string(k);
}

// The endpoint of a worker's channel k (0; a fanout producer over point-to-point channels has one
// per consumer, each with its own token and directory and, for stdio pipes, descriptors two
// numbers further per k). The tests' pairs (tests/pair.cpp) set up their endpoints with it too.
Endpoint endpoint_for(const WorkerSpec& spec, unsigned k = 0);

// Runs the worker; returns the process's exit code.
int worker_main(const std::string& spec_json);

}  // namespace ipcbench

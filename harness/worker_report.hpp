// What one worker tells the conductor went wrong or measured: the typed payload of its "error" and
// "result" events (worker.hpp describes the protocol). The worker writes these with to_json and
// the conductor reads them with from_json, so the two processes share one definition of the wire.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/result.hpp"

namespace ipcbench {

// The code a worker sends when a signal (SIGTERM, SIGHUP) ended it. It is not an Errc: nothing in
// the transports or scenarios failed; another process ended the worker.
inline constexpr std::string_view kTerminated = "terminated";

// Why a worker failed: {"code": C, "reason": R}. C is the Errc's machine name (name_of:
// "peer_gone"), or kTerminated, which `code` holds as nothing.
struct WorkerError {
  std::optional<Errc> code;
  std::string reason;
  // How the code reads in a reason a person sees: to_string() ("peer gone"), or "terminated".
  std::string_view describe() const;
};
void to_json(nlohmann::json& j, const WorkerError& error);
// Throws nlohmann::json::exception on a field of the wrong type or an unknown code.
void from_json(const nlohmann::json& j, WorkerError& error);

// A pingpong producer's round-trip times: Histogram::sparse() with the exact sum, min and max,
// which Histogram::assign() rebuilds from.
struct LatencyHistogram {
  std::vector<std::pair<std::uint32_t, std::uint64_t>> buckets;
  std::uint64_t sum = 0;
  std::uint64_t min = 0;
  std::uint64_t max = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(LatencyHistogram, buckets, sum, min, max)

// What one worker measured. A failed scenario still reports what it measured before it failed.
struct WorkerReport {
  std::optional<WorkerError> error;  // the scenario failed: why
  std::uint64_t count = 0;           // round trips or messages measured, every one checked
  std::int64_t start_ns = 0;         // the measured phase, on the clock both workers share
  std::int64_t end_ns = 0;
  std::uint64_t cpu_ns = 0;              // this process's CPU time over the measured phase
  std::uint64_t voluntary_switches = 0;  // ... and its context switches (base/clock.hpp)
  std::uint64_t involuntary_switches = 0;
  std::uint64_t messages_lost = 0;               // TransportStats::messages_lost
  std::optional<LatencyHistogram> latency;       // pingpong producer: its round trips; rate
                                                 // consumer: receive - intended send
  std::optional<LatencyHistogram> latency_sent;  // rate consumer: receive - actual send
  std::uint64_t behind = 0;  // rate producer: messages behind schedule at its last send
  std::uint64_t early = 0;   // rate consumer: messages that arrived "before" they were sent
  // The producer: the floor (harness/floor.hpp) its cell's two workers measured just before the
  // scenario: one cache line's round trip (p50, ns) and one copy of the message (bytes/s).
  std::optional<double> floor_rtt_ns;
  std::optional<double> floor_copy_bytes_per_second;

  bool ok() const { return !error; }
};
void to_json(nlohmann::json& j, const WorkerReport& report);
// Throws nlohmann::json::exception on a missing field or one of the wrong type.
void from_json(const nlohmann::json& j, WorkerReport& report);

}  // namespace ipcbench

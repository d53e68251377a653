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
#include "harness/results/results.hpp"
#include "scenarios/figures.hpp"

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

// What one worker measured (SideReport, scenarios/figures.hpp), what went wrong, and the floor. A
// failed scenario still reports what it measured before it failed.
struct WorkerReport : SideReport {
  std::optional<WorkerError> error;  // the scenario failed: why
  // The producer: the floor (harness/run/floor.hpp) its cell's two workers measured just before the
  // scenario: one cache line's round trip (p50, ns) and one copy of the message (bytes/s).
  std::optional<double> floor_rtt_ns;
  std::optional<double> floor_copy_bytes_per_second;
  // The shared memory this worker's channels mapped (segments, queues, pools; shared_mapped_bytes()
  // after the scenario less before the channels), in bytes.
  std::optional<std::uint64_t> shared_bytes;
  // The pingpong producer: its round trips per window of time.
  std::optional<LatencyOverTime> timeline;

  bool ok() const { return !error; }
};
void to_json(nlohmann::json& j, const WorkerReport& report);
// Throws nlohmann::json::exception on a missing field or one of the wrong type.
void from_json(const nlohmann::json& j, WorkerReport& report);

}  // namespace ipcbench

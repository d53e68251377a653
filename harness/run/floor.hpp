// The floor: what moving one cache line between the two workers' CPUs costs right now, and what
// copying a message's bytes once costs one core. No transport between these two CPUs can go
// below it; on a virtual machine it moves as the host places the virtual CPUs (bench/README.md:
// the floor here stayed within 20% for a median of 18 s, then jumped 3-4x), and every
// sub-microsecond figure moves with it. Measured two ways:
//
// - a floor cell in every round of a table (the floor row): two processes pinned as the workers
//   are, forked by the conductor, exchange one cache line for the cell's time (line floor); or one
//   process on the producer's CPU copies the message size from one buffer to another (copy floor);
// - within every cell, by its own two workers just before the scenario, for a few milliseconds
//   (CellResult::floor_rtt_ns, floor_copy_bytes_per_second): what each figure's "x floor" divides
//   by, measured milliseconds from the figure itself, whatever the host did between cells.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "base/clock.hpp"
#include "base/histogram.hpp"
#include "harness/run/cell_run.hpp"

namespace ipcbench {

// The cache lines two processes exchange: the timing side writes `ping`, the echo side copies
// it into `pong`; `done` ends the exchange.
struct FloorLines {
  alignas(64) std::atomic<std::uint64_t> ping{0};
  alignas(64) std::atomic<std::uint64_t> pong{0};
  alignas(64) std::atomic<std::uint64_t> done{0};
  std::atomic<std::uint64_t> ready{0};  // the echo side is answering
};
static_assert(sizeof(FloorLines) == 192);

// How long a cell's own workers measure the floor before the scenario (recorded), after a lead-in
// that is not (both CPUs wake from the workers' wait for "go").
inline constexpr std::chrono::milliseconds kCellFloorTime{3};
inline constexpr std::chrono::milliseconds kCellFloorLeadIn{1};

// The timing side: waits (up to `give_up_ns`) until the echo side answers, then makes round
// trips through `lines` for `lead_in` unrecorded (two CPUs that slept are waking up) and `time`
// recorded into `rtts` (ns), or until `most` are recorded (0: no such bound; at least 100 all
// the same). Stops early when the echo side is gone (`peer_alive` false, asked now and then);
// then sets `done`. The monotonic times the recorded part began and ended.
std::pair<std::int64_t, std::int64_t> time_line_round_trips(
    FloorLines& lines, const Clock& clock, std::chrono::nanoseconds lead_in,
    std::chrono::nanoseconds time, std::int64_t give_up_ns, Histogram& rtts,
    bool (*peer_alive)(void*) = nullptr, void* peer = nullptr, std::uint64_t most = 0);
// The echo side: answers until the timing side sets `done`, or `give_up_ns` (monotonic) passes.
void echo_line_round_trips(FloorLines& lines, std::int64_t give_up_ns);
// One core copying `bytes` from one buffer to another (both touched first) until `deadline_ns`,
// at least twice: bytes per second.
double copy_bytes_per_second(std::size_t bytes, std::int64_t deadline_ns);

// A floor cell of the line kind: two processes forked and pinned to `cpu_a` (timing) and `cpu_b`
// (echo) exchange one cache line for `time`; the run as a pingpong cell's producer would report
// it (its round trips, their histogram, its CPU time). The error when the CPUs cannot be pinned.
CellRun run_line_floor(int cpu_a, int cpu_b, std::chrono::nanoseconds time, const Clock& clock,
                       std::uint64_t most = 0);
// A floor cell of the copy kind: one process forked and pinned to `cpu` copies `bytes` for
// `time`; as a throughput cell's two reports (the same count both ends).
CellRun run_copy_floor(int cpu, std::size_t bytes, std::chrono::nanoseconds time);

// The floor cell of a table's round: the line floor for pingpong and rate, the copy floor at the
// message size for throughput and fanout. Its name "<scenario>/floor/<bytes>/spin/full".
Cell floor_cell(const Cell& like);

}  // namespace ipcbench

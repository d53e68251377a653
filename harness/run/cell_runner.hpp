// One cell, run as two worker processes (`ipcbench worker --spec JSON`, worker.hpp): the consumer
// first, which listens; then the producer, told where to connect; "go" to both once both are
// connected; then both results. Whatever happens, both are reaped (killed if need be) and the
// cell's private directory and names are removed. A failed cell's reason is the worker's own
// report when there is one: the code it sent says whether it is the cause or only the echo of
// its peer's failure (peer gone, timeout).
#pragma once

#include <chrono>
#include <csignal>
#include <string>

#include "base/clock.hpp"
#include "harness/run/cell_run.hpp"
#include "harness/run/plan.hpp"

namespace ipcbench {

// What every cell of a run shares.
struct CellContext {
  std::string exe;  // this program, started again as `ipcbench worker`
  Clock clock = Clock::monotonic();
  int cpu_producer = -1;  // pin each worker to a CPU; -1: leave as inherited
  int cpu_consumer = -1;
  std::chrono::milliseconds timeout{60000};  // the cell's workers are killed after this
  std::chrono::microseconds spin{5};         // adaptive waits spin this long, then block
  // Ctrl-C: `interrupt_fd` becomes readable and `*interrupted` true; the cell is abandoned.
  int interrupt_fd = -1;
  const volatile std::sig_atomic_t* interrupted = nullptr;
};

// Runs the cell under `token` (resources.hpp's cell_token: the prefix of every name it makes).
CellRun run_cell(const Cell& cell, const CellContext& context, const std::string& token);

}  // namespace ipcbench

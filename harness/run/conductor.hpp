// The conductor (`ipcbench run`): expands the matrix, runs each cell as two worker processes,
// collects and writes results as it goes, cleans every cell's resources whatever happened, and
// prints the tables. It never sits on the hot path: during a measurement it sleeps in poll().
#pragma once

#include "harness/run/plan.hpp"

namespace ipcbench {

// Exit codes: 0 every cell succeeded, 1 a cell failed (results still written), 130 interrupted.
int run_matrix(const RunOptions& options);

}  // namespace ipcbench

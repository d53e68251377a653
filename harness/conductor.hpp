// The conductor (`ipcbench run`): expands the matrix, runs each cell as two worker processes,
// collects and writes results as it goes, cleans every cell's resources whatever happened, and
// prints the tables. It never sits on the hot path: during a measurement it sleeps in poll().
#pragma once

#include "harness/options.hpp"

namespace ipcbench {

// Exit codes: 0 every cell succeeded, 1 a cell failed (results still written), 130 interrupted.
int run_matrix(const RunOptions& options);

// Removes what a dead earlier run left: /dev/shm and /tmp names "ipcbench-<pid>-..." whose pid
// no longer runs. Returns how many were removed.
int sweep_stale_resources();

// Removes /dev/shm/<token>* and /tmp/<token>* (the names one cell may have made).
int sweep_token(const std::string& token);

}  // namespace ipcbench

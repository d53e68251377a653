// The names of what a run makes on the machine, and the sweep that removes what a dead run left.
//
// Every name starts with the run's prefix, "ipcbench-run<pid>.<start>", where <start> is the
// process's start time (field 22 of /proc/<pid>/stat): a pattern no person would choose, and one
// that a reused pid does not match. A cell's names add "-cell<N>", a daemon's "-daemon-<name>".
// Each private directory in /tmp holds a marker file naming the directory, so that the sweep
// removes only what it can prove ipcbench made: a directory with its marker, or a /dev/shm file
// with the pattern, owned by this user, whose run is no longer alive. Nothing else is touched.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "transports/transport.hpp"

namespace ipcbench {

inline constexpr std::string_view kPrivateMarker = ".ipcbench-private";

// The run a name belongs to.
struct RunTag {
  std::int64_t pid = 0;
  std::uint64_t start_ticks = 0;
};

// "ipcbench-run<pid>.<start>" for this process.
std::string run_prefix();
// run_prefix() + "-cell<N>": the token of one cell (a prefix of each name it makes).
std::string cell_token(std::size_t cell);
// run_prefix() + "-daemon-<transport>".
std::string daemon_token(std::string_view transport);
// The run a name starting "ipcbench-run<pid>.<start>-" belongs to; nothing for any other name.
std::optional<RunTag> parse_run_name(std::string_view name);
// Is that run's process still alive (same pid, same start time, not a zombie)?
bool run_alive(const RunTag& tag);

// Makes /tmp/<token> (0700) with its marker. Returns the path.
Result<std::string> make_private_dir(const std::string& token);

// Removes /dev/shm/<token>* and /tmp/<token>* that this user owns (a directory only with its
// marker). Returns how many were removed.
int sweep_token(const std::string& token);
// Removes what dead runs left in /dev/shm and /tmp, by the rules above. Returns how many.
int sweep_stale_resources();

}  // namespace ipcbench

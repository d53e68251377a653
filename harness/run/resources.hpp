// The names of what a run makes on the machine, and the sweep that removes what a dead run left.
//
// Every name starts with the run's prefix, "ipcbench-run<pid>.<start>", where <start> is the
// process's start time (field 22 of /proc/<pid>/stat): a pattern no person would choose, and one
// that a reused pid does not match. A cell's names add "-cell<N>", a daemon's "-daemon-<name>".
// Each private directory in /tmp holds a marker file naming the directory, so that the sweep
// removes only what it can prove ipcbench made: a directory with its marker, or a /dev/shm file
// with the pattern, owned by this user, whose run is no longer alive. Nothing else is touched.
//
// Message queues are swept by the same rules:
// - POSIX queues show as files in /dev/mqueue ("/<token>-a" is /dev/mqueue/<token>-a), and are
//   treated as the files of /dev/shm are, when /dev/mqueue is mounted (the mqueue file system;
//   the sweep never mounts it). Where it is not, they cannot be listed: the posix-mq driver
//   unlinks its names once both sides have them open, so only a side killed during set-up leaves
//   one (until reboot).
// - System V queues have no names. ipcbench's carry theirs in a marker, their first message, and
//   are keyed by its hash (transports/sysv_queue.hpp); the sweep walks /proc/sysvipc/msg and
//   removes (IPC_RMID) a queue only when this user owns it, its first message is a marker (read
//   without being taken: msgrcv MSG_COPY), the name in it hashes to the queue's key, and the name
//   has the pattern of the token swept or of a run no longer alive. A queue killed between its
//   msgget and its marker (microseconds in set-up) cannot be proven, and is left.
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

// Removes a cell's private directory, after every driver's TransportInfo::sweep_recorded has
// removed what the cell's endpoints recorded there (names a library chose, outside the directory).
void remove_private_dir(const std::string& dir);

// Removes /dev/shm/<token>*, /dev/mqueue/<token>* and /tmp/<token>* that this user owns (a
// directory only with its marker), and the System V queues proven named <token>*. Returns how
// many were removed.
int sweep_token(const std::string& token);
// Removes what dead runs left in /dev/shm, /dev/mqueue, /tmp and the System V message queues, by
// the rules above. Returns how many.
int sweep_stale_resources();

}  // namespace ipcbench

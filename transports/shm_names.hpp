// Which files in /dev/shm processes use: those a process maps (its /proc/<pid>/maps) or holds
// open (its /proc/<pid>/fd). For names a library chooses (Fast DDS's segments and locks): the
// endpoints record the ones they use, and a recorded name that no live process uses any more is
// one to remove.
#pragma once

#include <set>
#include <string>

namespace ipcbench {

// Adds the /dev/shm names (file names, without the directory) that the process whose /proc
// directory is `proc` ("/proc/self", "/proc/1234") maps or holds open.
void add_shm_names_used_by(const std::string& proc, std::set<std::string>& names);

// The /dev/shm names that any live process this user may look at maps or holds open.
std::set<std::string> shm_names_in_use();

}  // namespace ipcbench

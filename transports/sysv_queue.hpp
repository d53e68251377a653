// System V message queues have no names, only a key and an id: how ipcbench's are made and known
// again, by the sysv-mq driver that makes them and by the harness's sweep (harness/run/resources.*)
// that removes what a killed process left.
//
// - The key: the FNV-1a hash (32 bits) of the queue's name, "<token>-a" or "<token>-b" (never
//   IPC_PRIVATE). Made with IPC_CREAT | IPC_EXCL, mode 0600.
// - The marker: the queue's first message, sent right after it is made, of a type no receiver
//   asks for (kMarkerType; receivers take kDataType only), holding the name. It stays first for
//   the queue's life, and is read without being taken (msgrcv with MSG_COPY, which copies the
//   message at an index: Linux 3.8 and CONFIG_CHECKPOINT_RESTORE, which distributions enable).
// A queue is proven ipcbench's when this user owns it, its first message is a marker, and the
// name the marker holds hashes to the queue's key.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ipcbench::sysv {

inline constexpr long kDataType = 1;
inline constexpr long kMarkerType = 0x42435049;  // "IPCB"
inline constexpr std::size_t kMaxName = 255;

// The key of the queue named `name`.
key_t queue_key(std::string_view name);
// Sends the marker naming the queue (the first message of a queue just made). 0 or an errno.
int put_marker(int msqid, std::string_view name);
// The name of queue `msqid` when it is proven ipcbench's (above); nothing otherwise, and nothing
// where MSG_COPY is not supported.
std::optional<std::string> proven_name(int msqid);
// The ids of every System V message queue in this IPC namespace (/proc/sysvipc/msg).
std::vector<int> queue_ids();

}  // namespace ipcbench::sysv

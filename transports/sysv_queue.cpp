#include "transports/sysv_queue.hpp"

#include <sys/ipc.h>
#include <sys/msg.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <sstream>

#ifndef MSG_COPY
#define MSG_COPY 040000  // <linux/msg.h>; glibc defines it under _GNU_SOURCE
#endif

namespace ipcbench::sysv {

namespace {

struct Marker {
  long type;
  char name[kMaxName + 1];
};

}  // namespace

key_t queue_key(std::string_view name) {
  std::uint32_t hash = 2166136261u;
  for (unsigned char c : name) {
    hash ^= c;
    hash *= 16777619u;
  }
  const auto key = static_cast<key_t>(hash);
  return key == IPC_PRIVATE ? 1 : key;
}

int put_marker(int msqid, std::string_view name) {
  if (name.size() > kMaxName) return ENAMETOOLONG;
  Marker marker{kMarkerType, {}};
  std::memcpy(marker.name, name.data(), name.size());
  if (::msgsnd(msqid, &marker, name.size(), IPC_NOWAIT) != 0) return errno;
  return 0;
}

std::optional<std::string> proven_name(int msqid) {
  msqid_ds ds{};
  if (::msgctl(msqid, IPC_STAT, &ds) != 0 || ds.msg_perm.uid != ::geteuid()) return std::nullopt;
  Marker marker{};
  // MSG_COPY takes the message at index 0 (msgtyp is the index) and leaves it in the queue.
  const ssize_t n = ::msgrcv(msqid, &marker, kMaxName, 0, IPC_NOWAIT | MSG_COPY | MSG_NOERROR);
  if (n <= 0 || marker.type != kMarkerType) return std::nullopt;
  std::string name(marker.name, static_cast<std::size_t>(n));
  if (queue_key(name) != ds.msg_perm.__key) return std::nullopt;
  return name;
}

std::vector<int> queue_ids() {
  std::vector<int> ids;
  std::ifstream in("/proc/sysvipc/msg");
  std::string line;
  std::getline(in, line);  // the column names: key msqid perms ...
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    long long key = 0;
    int id = -1;
    if (fields >> key >> id) ids.push_back(id);
  }
  return ids;
}

}  // namespace ipcbench::sysv

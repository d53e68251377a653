// The first message each way of a transport whose library has no notion of a peer (a message
// queue, a ZeroMQ socket): who is at the other end, its pid and start time, so that a waiting side
// can watch it (base/peer_watch.hpp) and say "peer gone" when it dies instead of timing out.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>

#include "base/peer_watch.hpp"
#include "base/result.hpp"

namespace ipcbench {

struct PeerHello {
  std::uint64_t magic;  // the transport's own, so that a stray message is not taken for one
  std::int64_t pid;
  std::uint64_t start_ticks;
};

inline PeerHello hello_from_this_process(std::uint64_t magic) {
  const ProcessId me = this_process();
  return {magic, me.pid, me.start_ticks};
}

// The process a hello names; Errc::protocol when `bytes` is not a hello with `magic`.
inline Result<ProcessId> read_hello(std::span<const std::byte> bytes, std::uint64_t magic) {
  PeerHello hello{};
  if (bytes.size() != sizeof hello) return fail(Errc::protocol, "the first message is not a hello");
  std::memcpy(&hello, bytes.data(), sizeof hello);
  if (hello.magic != magic) return fail(Errc::protocol, "bad hello");
  return ProcessId{hello.pid, hello.start_ticks};
}

}  // namespace ipcbench

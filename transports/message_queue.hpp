// Messages over a pair of kernel message queues, one each way (POSIX `mq_*`, System V `msg*`):
// what the queue drivers share. A driver supplies the queue's two calls, one attempt each; the
// rest is here.
//
// - Fragments. A queue takes messages up to a size the kernel limits (8 KiB by default), so a
//   message goes as one or more fragments, each behind the datagram transports' FragmentHeader
//   and checked by the same Reassembler (transports/datagram_channel.hpp): a queue loses
//   nothing, but a wrong fragment is still found and reported, never returned. No extra copy: a
//   fragment is sent from the loaned buffer and received into the message buffer in place; the
//   bytes just before its payload (the previous fragment's tail) lend room for its header and are
//   put back after a receive. The queue's own two copies (in on send, out on receive) remain.
// - The peer. A queue has no notion of one, so the first message each way is a hello with the
//   process id and start time (transports/peer_hello.hpp); a waiting side looks at the peer's
//   /proc entry every 20 ms (base/peer_watch.hpp): a peer that exited or was killed is
//   Errc::peer_gone, after what it sent before it went has been delivered.
// - Waiting (base/wait.hpp): a try is the queue's non-blocking call; blocking is the queue's
//   blocking call bounded by a slice of at most 20 ms, the peer checked between slices.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/peer_watch.hpp"
#include "transports/datagram_channel.hpp"
#include "transports/transport.hpp"

namespace ipcbench {

// The two limits the kernel sets on a kind of queue, from two files in /proc/sys: the largest
// message, and what a queue holds (messages or bytes). The kernel's defaults where /proc says
// nothing.
struct QueueLimits {
  std::size_t message = 0;
  std::size_t queue = 0;
  std::string source;  // where they come from, for `list`: "msgmax, msgmnb in /proc/sys/kernel"

  static QueueLimits read(const char* dir, const char* message_file, const char* queue_file,
                          QueueLimits defaults);
  // For `list`: "messages of up to 8192 B, 10<queue_unit> per queue (<source>), larger ones
  // fragmented".
  std::string describe(std::string_view queue_unit) const;
};

class QueueTransport : public Transport {
 public:
  Result<std::span<std::byte>> loan(std::size_t bytes) override;
  Result<void> send(std::size_t bytes) override;
  Result<std::span<const std::byte>> receive() override;
  void release() override {}
  TransportStats stats() const override;

 protected:
  // `max_queue_message`: the largest message the queues take, `prefix` included (see
  // queue_message_bytes()); `prefix`: the bytes a queue call wants in front of each message
  // (System V's message type), which the driver's put() fills in and take() skips.
  // `try_before_block`: as WaitTraits says; false where the blocking call is itself a whole
  // attempt that costs no more than a try.
  QueueTransport(const Endpoint& endpoint, std::size_t max_queue_message, std::size_t prefix,
                 bool try_before_block);

  // The queue message size a driver should make its queues for: enough for the endpoint's largest
  // message (and the hello) in one fragment, but no more than the kernel's `limit`.
  static std::size_t queue_message_bytes(const Endpoint& endpoint, std::size_t prefix,
                                         std::size_t limit);

  // The queue's calls: one attempt to put one queue message (`message`, prefix first) or to take
  // one into `into` (at least max_queue_message bytes; `got` its length, prefix included),
  // waiting at most `max_ns`, not at all when it is negative. True when done.
  virtual Result<bool> put(std::span<std::byte> message, std::int64_t max_ns) = 0;
  virtual Result<bool> take(std::span<std::byte> into, std::size_t& got, std::int64_t max_ns) = 0;

  // The hello, this process's id; and the peer's, which starts the watch.
  Result<void> send_hello();
  Result<void> receive_hello();

  const Endpoint& endpoint() const { return m_endpoint; }
  PeerWatch& peer() { return m_peer; }

 private:
  // Puts the fragment whose payload is at `payload` (in m_tx) behind `header`.
  Result<void> put_fragment(const FragmentHeader& header, std::byte* payload, WaitMode mode);
  // Takes one fragment whose payload belongs at `payload` (in m_rx); its header into `header`.
  // Returns its payload's length.
  Result<std::size_t> take_fragment(std::byte* payload, FragmentHeader& header, WaitMode mode);
  template <class Attempt>
  Result<void> wait(WaitMode mode, std::string_view what, Attempt&& attempt);

  Endpoint m_endpoint;
  std::size_t m_prefix;
  std::size_t m_room;  // prefix + header, in front of each fragment's payload
  std::size_t m_max_queue_message;
  bool m_try_before_block;
  std::vector<std::byte> m_tx;  // room, then the loaned payload
  std::vector<std::byte> m_rx;  // room, the message, then room for a whole last queue message
  Fragmenter m_fragmenter;
  Reassembler m_reassembler;
  PeerWatch m_peer;
};

}  // namespace ipcbench

// Messages over datagram sockets (UDP, Unix datagram): a message larger than one datagram goes
// as numbered fragments, each behind a FragmentHeader, and is reassembled by the receiver in
// place (recvmsg scatters the payload straight into the message buffer: no extra copy).
//
// Reliability on a lossy mechanism, without retransmission:
// - Every data fragment carries the sender's running fragment number. The receiver expects them
//   in order; a gap is a lost fragment, a number already seen is a duplicate or reordered one.
//   Either is reported (Errc::protocol) and counted, the broken message is dropped, and the
//   stream resynchronises at the next message's first fragment. Never a corrupt message.
// - A credit window keeps the sender from overrunning the receiver's socket buffer, which is what
//   loses datagrams on loopback: the sender may have at most `window` bytes (charged per fragment
//   with an allowance for the kernel's bookkeeping) not yet drained by the receiver. The receiver
//   reports what it has drained (a CREDIT datagram) every quarter window, and at once when asked
//   (a PROBE, sent by a sender that has waited for credit a while).
//   Only where the kernel drops what does not fit (UDP). A connected pair of Unix datagram
//   sockets blocks the sender instead, and a credit sent to a Unix peer that has just closed
//   would make the kernel purge our own receive queue, losing the peer's last messages.
// - Set-up is a HELLO/HELLO_ACK exchange, which also tells each side the other's window.
#pragma once

#include <algorithm>
#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

#include "base/peer_watch.hpp"
#include "transports/fd_io.hpp"
#include "transports/peer_hello.hpp"
#include "transports/transport.hpp"

namespace ipcbench {

enum class FragmentType : std::uint16_t {
  data = 1,
  credit = 2,
  probe = 3,
  hello = 4,
  hello_ack = 5
};

struct FragmentHeader {
  std::uint32_t magic;
  FragmentType type;
  std::uint16_t reserved;
  std::uint64_t seq;  // data: the sender's fragment number; credit: bytes drained; hello: window
  std::uint64_t message;         // data: the message's sequence number
  std::uint32_t message_bytes;   // data: the whole message's length
  std::uint32_t fragment_index;  // data: 0 .. fragment_count-1
  std::uint32_t fragment_count;  // data: fragments in this message
  std::uint32_t payload_bytes;   // data: payload bytes behind this header
};
inline constexpr std::uint32_t kFragmentMagic = 0x44435049;  // "IPCD"
static_assert(sizeof(FragmentHeader) == 40);

// Checks data fragments as they arrive and says when a message is whole. Pure bookkeeping: the
// payload bytes themselves are placed by the caller at assembled() before add() is called.
class Reassembler {
 public:
  // `lossy`: the sender runs without flow control and the kernel may drop datagrams (udp with
  // --set udp.credit=0): a gap in the fragment numbers is counted and skipped, not an error.
  explicit Reassembler(std::size_t max_message_bytes, bool lossy = false)
      : m_max(max_message_bytes), m_lossy(lossy) {}

  // Where the payload of the next fragment belongs in the message buffer.
  std::size_t assembled() const { return m_assembled; }
  // One data fragment whose payload (`received` bytes) was placed at assembled(). Returns the
  // message's length once it is whole, nullopt while it is not; an error for a lost, duplicated,
  // reordered or malformed fragment (after which it resynchronises at the next message). Lossy: a
  // lost fragment is no error; the message it belonged to is counted lost, and a fragment after
  // the gap that begins a message begins it.
  Result<std::optional<std::size_t>> add(const FragmentHeader& header, std::size_t received);

  std::uint64_t messages_lost() const { return m_lost; }
  std::uint64_t messages_done() const { return m_done; }

 private:
  void drop_partial();

  std::size_t m_max;
  bool m_lossy;
  std::uint64_t m_next_fragment = 0;
  std::uint64_t m_next_message = 0;
  bool m_in_message = false;
  bool m_resync = false;  // after a loss: skip fragments until a message's first one
  std::uint64_t m_message = 0;
  std::uint32_t m_bytes = 0;
  std::uint32_t m_count = 0;
  std::uint32_t m_next_index = 0;
  std::size_t m_assembled = 0;
  std::uint64_t m_lost = 0;
  std::uint64_t m_done = 0;
};

// Numbers the fragments of outgoing messages: the sender's half of what Reassembler checks.
class Fragmenter {
 public:
  explicit Fragmenter(std::size_t fragment_payload) : m_payload(fragment_payload) {}

  std::size_t fragment_payload() const { return m_payload; }
  void set_fragment_payload(std::size_t bytes) { m_payload = bytes; }

  // Calls emit(header&, offset) for each fragment of the next message, `bytes` long, in order: the
  // header is the fragment's, its payload the message's `header.payload_bytes` bytes at `offset`.
  // Stops at the first error emit() returns.
  template <class Emit>
  Result<void> send(std::size_t bytes, Emit&& emit) {
    const std::size_t count = bytes == 0 ? 1 : (bytes + m_payload - 1) / m_payload;
    FragmentHeader h{};
    h.magic = kFragmentMagic;
    h.type = FragmentType::data;
    h.message = m_next_message;
    h.message_bytes = static_cast<std::uint32_t>(bytes);
    h.fragment_count = static_cast<std::uint32_t>(count);
    for (std::size_t i = 0; i < count; ++i) {
      const std::size_t offset = i * m_payload;
      h.seq = m_next_fragment;
      h.fragment_index = static_cast<std::uint32_t>(i);
      h.payload_bytes = static_cast<std::uint32_t>(std::min(m_payload, bytes - offset));
      if (auto ok = emit(h, offset); !ok) return ok;
      ++m_next_fragment;
    }
    ++m_next_message;
    return {};
  }

 private:
  std::size_t m_payload;
  std::uint64_t m_next_fragment = 0;
  std::uint64_t m_next_message = 0;
};

// The datagram transports' common part: the concrete transport makes and addresses the socket,
// then calls handshake_producer()/handshake_consumer() and everything else is here.
class DatagramTransport : public Transport {
 public:
  // `max_datagram`: the largest datagram, header included; 0: the socket's own limit, learnt in
  // prepare(). `credit_window`: run the credit protocol (needed where the kernel drops datagrams
  // that do not fit the receiver's buffer, as UDP does; not where the sender blocks instead).
  // `lossy`: no credit window where the kernel drops: a lost datagram is counted, not an error
  // (Reassembler).
  DatagramTransport(const Endpoint& endpoint, std::size_t max_datagram, bool credit_window,
                    bool lossy = false);

  Result<std::span<std::byte>> loan(std::size_t bytes) override;
  Result<void> send(std::size_t bytes) override;
  Result<std::span<const std::byte>> receive() override;
  void release() override {}
  TransportStats stats() const override;
  // The socket's `sndbuf`/`rcvbuf` settings as granted, those given.
  std::vector<OptionValue> granted_options() const override;
  int readable_fd() override { return m_io.read_fd(); }

 protected:
  const Endpoint& endpoint() const { return m_endpoint; }
  // Sizes the socket's buffers (kSocketBuffer each, forced past the kernel's cap where permitted;
  // a buffer given as a setting is asked for as given, not forced) and remembers the socket. Call
  // before a handshake; a connected SOCK_SEQPACKET socket (`kind`) needs none.
  Result<void> prepare(int fd, FdIo::Kind kind = FdIo::Kind::datagram_socket);
  // Producer: the socket is connected to the consumer; says HELLO until HELLO_ACK.
  Result<void> handshake_producer();
  // Consumer: waits for HELLO, connects the socket to its sender, answers HELLO_ACK.
  Result<void> handshake_consumer();

 private:
  Result<void> send_control(FragmentType type, std::uint64_t value);
  Result<void> send_hello(FragmentType type);  // HELLO or HELLO_ACK: the window, who we are
  Result<void> watch(const PeerHello& hello);  // the peer a HELLO (or ACK) named
  Result<void> grant();                        // tells the peer what we drained
  // Reads one datagram (waiting when `wait`) and acts on it. Returns true when a data message
  // became whole (it is then in m_assembly with length m_assembly_bytes).
  Result<bool> pump(bool wait);
  Result<void> wait_for_credit(std::size_t charge);

  Endpoint m_endpoint;
  bool m_credit_window;
  int m_fd = -1;
  FdIo m_io;
  std::uint64_t m_window = 0;      // bytes we may have undrained at the peer
  std::uint64_t m_own_window = 0;  // what we told the peer
  std::vector<std::byte> m_tx;     // the loan buffer
  Fragmenter m_fragmenter;
  std::uint64_t m_charged = 0;       // bytes charged against the peer's window so far
  std::uint64_t m_peer_drained = 0;  // what the peer last said it drained
  std::uint64_t m_drained = 0;       // bytes we drained from our socket
  std::uint64_t m_granted = 0;       // what we last told the peer we drained
  Reassembler m_reassembler;
  std::vector<std::byte> m_assembly;  // the message being reassembled
  std::size_t m_assembly_bytes = 0;
  std::vector<std::byte> m_current;  // the message receive() returned
  std::deque<std::pair<std::vector<std::byte>, std::size_t>> m_ready;  // whole, not yet returned
  bool m_in_send = false;
  bool m_peer_waiting = false;  // the peer sent a PROBE we could not answer yet
  TransportStats m_stats;
  PeerWatch m_peer;  // the peer's process, named in its HELLO or HELLO_ACK
};

}  // namespace ipcbench

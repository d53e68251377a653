// Messages that travel outside a socket and are announced on it (memfd-uds, cma). Each side
// keeps `queue depth` slots of its own for the messages it sends (in a shared memfd pool, or in
// its own memory, which the peer pulls with process_vm_readv); loan() is the next slot, written
// in place; send() announces it with a notice, a few bytes (which slot, how long), over a
// connected SOCK_SEQPACKET Unix socket in the cell's private directory; receive() takes the next
// notice and reaches the message (the driver's part).
//
// Slots come back by credits: every notice carries the count of the peer's messages its sender
// is done with (released, or copied out), cumulative; slots are taken in turn, so a count is
// enough. A side that sends anyway (the reply, in a round trip) returns slots for free; one that
// only receives sends a credit alone each time it is done with half the peer's slots. A sender
// with every slot out asks (a probe) and waits for a credit (backpressure); the receiver answers
// a probe at once, or when it is next done with a message.
//
// Set-up: the consumer listens, the producer connects (the path is unlinked once accepted), then
// each sends one set-up message (SlotsSetup, and the descriptor of its pool where there is one,
// SCM_RIGHTS) and reads the peer's. Waiting is the socket's (FdIo, every wait mode); a peer that
// leaves is the socket's end of file: Errc::peer_gone.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <span>

#include "base/unique_fd.hpp"
#include "transports/fd_io.hpp"
#include "transports/socket_util.hpp"
#include "transports/transport.hpp"

namespace ipcbench {

// What each side tells the other once, at set-up, about its slots.
struct SlotsSetup {
  std::uint64_t magic;
  std::uint64_t address;     // cma: where the slots start in the sender's memory; else 0
  std::uint64_t slot_bytes;  // each slot's size
  std::uint32_t slots;
  std::uint32_t reserved;
};

struct Notice {
  std::uint32_t magic;
  std::uint32_t slot;  // or kCredit (no message, only the count below), kProbe (asks for one)
  std::uint64_t bytes;
  std::uint64_t done;  // the sender's count of our messages it is done with (cumulative)
};
static_assert(sizeof(Notice) == 24);

class NoticeTransport : public Transport {
 public:
  ~NoticeTransport() override;
  Result<std::string> listen() override;
  Result<void> connect(std::string_view peer_address) override;
  Result<std::span<std::byte>> loan(std::size_t bytes) override;
  Result<void> send(std::size_t bytes) override;
  Result<std::span<const std::byte>> receive() override;
  void release() override;
  int readable_fd() override { return m_io.read_fd(); }

 protected:
  // `socket_name`: the listening socket's file name in the cell's directory.
  NoticeTransport(const Endpoint& endpoint, std::string socket_name);

  // The driver's part. make_slots(): this side's slots, before the set-up message is sent; fill
  // in `setup` (magic, slots and slot_bytes are filled in already) and return the descriptor to
  // pass along, or -1. reach_peer(): the peer's set-up (its descriptor, if it passed one; its
  // process id from the socket, SO_PEERCRED). slot(): this side's slot `index`. message(): the
  // peer's message a notice announces; `done_at_once`: the driver has copied it out, so its slot
  // goes back now, not at release().
  virtual Result<int> make_slots(SlotsSetup& setup) = 0;
  virtual Result<void> reach_peer(const SlotsSetup& setup, UniqueFd fd, pid_t pid) = 0;
  virtual std::span<std::byte> slot(std::uint32_t index) = 0;
  virtual Result<std::span<const std::byte>> message(const Notice& notice, bool& done_at_once) = 0;

  // For a driver whose messages stay in the sender's memory until the peer has pulled them
  // (cma): before that memory goes, waits until the peer is done with every message announced,
  // or has gone, or Endpoint::timeout has passed.
  void linger();

  const Endpoint& endpoint() const { return m_endpoint; }
  std::uint32_t slots() const { return m_slots; }
  std::size_t slot_bytes() const { return m_slot_bytes; }

 private:
  int socket() const { return m_connection.fd(); }
  Result<void> exchange_setups();
  Result<void> write_notice(std::uint32_t slot, std::uint64_t bytes);
  // Reads one notice (waiting per the wait mode when `wait`) and takes its credit; nothing when
  // none is there and not `wait`. Answers a probe.
  Result<std::optional<Notice>> read_notice(bool wait);
  Result<void> credit();  // tells the peer how many of its messages we are done with
  void done_with_one();

  Endpoint m_endpoint;
  std::string m_socket_name;
  std::uint32_t m_slots;
  std::size_t m_slot_bytes;
  std::uint32_t m_peer_slots = 1;
  UnixConnection m_connection{SOCK_SEQPACKET};
  FdIo m_io;
  std::uint64_t m_sent = 0;       // our messages announced
  std::uint64_t m_peer_done = 0;  // ... of which the peer is done with
  std::uint64_t m_received = 0;   // the peer's messages taken
  std::uint64_t m_done = 0;       // ... of which we are done with
  std::uint64_t m_credited = 0;   // what we last told the peer of m_done
  std::deque<Notice> m_pending;   // messages announced while we waited for a credit
  bool m_loaned = false;
  bool m_holding = false;       // a received message not yet released
  bool m_peer_waiting = false;  // the peer probed while we had nothing to credit
};

}  // namespace ipcbench

// Flow control for a library that does not stop a sender when the receiving application falls
// behind, or whose reliable delivery still drops what the application has not taken in time: a
// DDS keep-last history (the oldest unread sample is replaced), the iceoryx queue behind Cyclone
// DDS's shared memory, a D-Bus daemon that queues without bound or rejects a message for a full
// queue. The sender may have at most `window` (Endpoint::queue_depth) messages that the receiving
// application has not yet released; a keep-last history that deep therefore never replaces one.
// The receiver grants credit back, as the number of messages it has consumed in all, every
// quarter window: a grant that comes late, twice, or replaces an older one does no harm.
//
// Pure bookkeeping: the driver carries the grants its own way (a topic of their own, a method).
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>

namespace ipcbench {

class CreditWindow {
 public:
  explicit CreditWindow(std::size_t window)
      : m_window(std::max<std::size_t>(window, 1)), m_batch((m_window + 3) / 4) {}

  std::size_t window() const { return m_window; }

  // Sender: may one more message go now?
  bool may_send() const { return m_sent - m_peer_consumed < m_window; }
  void sent() { ++m_sent; }
  // Sender: a grant from the receiver (its count of messages consumed, in all).
  void granted(std::uint64_t consumed_in_all) {
    m_peer_consumed = std::max(m_peer_consumed, consumed_in_all);
  }

  // Receiver: one message released. Returns the count to grant when a grant is due.
  std::optional<std::uint64_t> consumed() {
    ++m_consumed;
    if (m_consumed - m_granted < m_batch) return std::nullopt;
    m_granted = m_consumed;
    return m_consumed;
  }

 private:
  std::uint64_t m_window;
  std::uint64_t m_batch;
  std::uint64_t m_sent = 0;
  std::uint64_t m_peer_consumed = 0;
  std::uint64_t m_consumed = 0;
  std::uint64_t m_granted = 0;
};

}  // namespace ipcbench

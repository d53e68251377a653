#include "transports/message_queue.hpp"

#include <algorithm>
#include <cstring>
#include <string>

#include "base/wait.hpp"
#include "transports/kernel_setting.hpp"
#include "transports/peer_hello.hpp"

namespace ipcbench {

namespace {

constexpr std::size_t kHeader = sizeof(FragmentHeader);
constexpr std::size_t kMaxRoom = 64;                       // prefix + header, at most
constexpr std::uint64_t kHelloMagic = 0x4f4c4c4548514d4b;  // "KMQHELLO"
// Between two looks at the peer while blocked in a queue call.
constexpr std::int64_t kSliceNs = 20'000'000;

}  // namespace

QueueLimits QueueLimits::read(const char* dir, const char* message_file, const char* queue_file,
                              QueueLimits defaults) {
  const std::string d(dir);
  auto message = kernel_setting((d + "/" + message_file).c_str());
  auto queue = kernel_setting((d + "/" + queue_file).c_str());
  const std::string names = std::string(message_file) + ", " + queue_file;
  if (message && queue && *message > 0 && *queue > 0) {
    return {*message, *queue, names + " in " + d};
  }
  defaults.source = names + ": the kernel's defaults (" + d + " unreadable)";
  return defaults;
}

std::string QueueLimits::describe(std::string_view queue_unit) const {
  return "messages of up to " + std::to_string(message) + " B, " + std::to_string(queue) +
         std::string(queue_unit) + " per queue (" + source + "), larger ones fragmented";
}

std::size_t QueueTransport::queue_message_bytes(const Endpoint& endpoint, std::size_t prefix,
                                                std::size_t limit) {
  const std::size_t whole =
      prefix + kHeader + std::max(endpoint.max_message_bytes, sizeof(PeerHello));
  return std::min(whole, limit);
}

QueueTransport::QueueTransport(const Endpoint& endpoint, std::size_t max_queue_message,
                               std::size_t prefix, bool try_before_block)
    : m_endpoint(endpoint),
      m_prefix(prefix),
      m_room(prefix + kHeader),
      m_max_queue_message(std::max(max_queue_message, m_room + 1)),
      m_try_before_block(try_before_block),
      m_tx(m_room + std::max(endpoint.max_message_bytes, sizeof(PeerHello))),
      m_rx(m_room + endpoint.max_message_bytes + m_max_queue_message),
      m_fragmenter(m_max_queue_message - m_room),
      m_reassembler(endpoint.max_message_bytes) {
  static_assert(sizeof(FragmentHeader) <= kMaxRoom);
}

template <class Attempt>
Result<void> QueueTransport::wait(WaitMode mode, std::string_view what, Attempt&& attempt) {
  WaitPolicy policy = m_endpoint.policy();
  policy.mode = mode;
  const WaitTraits traits{.polls_per_clock_read = 1,  // every try is a system call
                          .check_every_ns = kSliceNs,
                          .waiting_for = what,
                          .try_before_block = m_try_before_block};
  return wait_until(
      policy, [&] { return attempt(-1); },
      [&](std::int64_t max_ns) { return attempt(std::min(max_ns, kSliceNs)); },
      [&] { return m_peer.check(); }, traits);
}

Result<void> QueueTransport::put_fragment(const FragmentHeader& header, std::byte* payload,
                                          WaitMode mode) {
  // The header goes just before the payload, over bytes already sent (or the buffer's room).
  std::memcpy(payload - kHeader, &header, kHeader);
  const std::span<std::byte> message(payload - m_room, m_room + header.payload_bytes);
  return wait(mode, "room in the queue", [&](std::int64_t max_ns) { return put(message, max_ns); });
}

Result<std::size_t> QueueTransport::take_fragment(std::byte* payload, FragmentHeader& header,
                                                  WaitMode mode) {
  std::byte* at = payload - m_room;
  std::byte saved[kMaxRoom];
  std::memcpy(saved, at, m_room);  // the previous fragment's tail, or the buffer's room
  std::size_t got = 0;
  auto ok = wait(mode, "a message", [&](std::int64_t max_ns) {
    return take(std::span<std::byte>(at, m_max_queue_message), got, max_ns);
  });
  if (ok && got >= m_room) std::memcpy(&header, at + m_prefix, kHeader);
  std::memcpy(at, saved, m_room);
  if (!ok) return std::unexpected(ok.error());
  if (got < m_room || header.magic != kFragmentMagic) {
    return fail(Errc::protocol,
                "a queue message that is not ours (" + std::to_string(got) + " bytes)");
  }
  return got - m_room;
}

Result<std::span<std::byte>> QueueTransport::loan(std::size_t bytes) {
  if (auto ok = check_size(m_endpoint, bytes, "loan"); !ok) return std::unexpected(ok.error());
  return std::span<std::byte>(m_tx).subspan(m_room, bytes);
}

Result<void> QueueTransport::send(std::size_t bytes) {
  if (auto ok = check_size(m_endpoint, bytes, "send"); !ok) return ok;
  return m_fragmenter.send(bytes, [&](const FragmentHeader& h, std::size_t offset) {
    return put_fragment(h, m_tx.data() + m_room + offset, m_endpoint.wait);
  });
}

Result<std::span<const std::byte>> QueueTransport::receive() {
  std::byte* message = m_rx.data() + m_room;
  for (;;) {
    FragmentHeader h{};
    auto got = take_fragment(message + m_reassembler.assembled(), h, m_endpoint.wait);
    if (!got) return std::unexpected(got.error());
    if (h.type != FragmentType::data) {
      return fail(Errc::protocol, "unexpected queue message of type " +
                                      std::to_string(static_cast<unsigned>(h.type)));
    }
    auto whole = m_reassembler.add(h, *got);
    if (!whole) return std::unexpected(whole.error());
    if (*whole) return std::span<const std::byte>(message, **whole);
  }
}

TransportStats QueueTransport::stats() const {
  return {.messages_lost = m_reassembler.messages_lost()};
}

Result<void> QueueTransport::send_hello() {
  const PeerHello hello = hello_from_this_process(kHelloMagic);
  std::byte* payload = m_tx.data() + m_room;
  std::memcpy(payload, &hello, sizeof hello);
  FragmentHeader h{};
  h.magic = kFragmentMagic;
  h.type = FragmentType::hello;
  h.payload_bytes = sizeof hello;
  return put_fragment(h, payload, WaitMode::block);
}

Result<void> QueueTransport::receive_hello() {
  FragmentHeader h{};
  std::byte* payload = m_rx.data() + m_room;
  auto got = take_fragment(payload, h, WaitMode::block);
  if (!got) return fail(got.error().code, "waiting for the peer's hello: " + got.error().reason);
  if (h.type != FragmentType::hello) return fail(Errc::protocol, "the first message is no hello");
  auto peer = read_hello(std::span<const std::byte>(payload, *got), kHelloMagic);
  if (!peer) return std::unexpected(peer.error());
  m_peer.watch(*peer);
  return {};
}

}  // namespace ipcbench

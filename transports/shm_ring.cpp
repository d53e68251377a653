#include "transports/shm_ring.hpp"

#include <fcntl.h>
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23  // Linux 5.14
#endif

namespace ipcbench::shm {

namespace {

constexpr std::uint64_t round_up(std::uint64_t n, std::uint64_t to) {
  return (n + to - 1) / to * to;
}

std::uint64_t ring_bytes(std::uint64_t capacity, std::uint64_t slot_bytes) {
  return sizeof(RingControl) + capacity * slot_bytes;
}

Error corrupted(std::string why) {
  return Error{Errc::corrupted, "ring segment: " + std::move(why)};
}

// FNV-1a over 64-bit words.
std::uint64_t hash_words(std::initializer_list<std::uint64_t> words) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (std::uint64_t w : words) {
    for (int i = 0; i < 8; ++i) {
      h ^= (w >> (8 * i)) & 0xff;
      h *= 0x100000001b3ull;
    }
  }
  return h;
}

void populate(std::span<std::byte> memory) {
  // Fault every page in now, at set-up, rather than in the measured phase. Best effort: an old
  // kernel without MADV_POPULATE_WRITE faults them in on first use instead.
  (void)::madvise(memory.data(), memory.size(), MADV_POPULATE_WRITE);
}

}  // namespace

std::uint64_t layout_checksum(const Layout& l) {
  return hash_words({kSegmentVersion, sizeof(SegmentHeader), l.segment_bytes, l.capacity,
                     l.slot_bytes, l.ring_offset[0], l.ring_offset[1]});
}

Result<void> verify_header(const SegmentHeader& header, const Layout& mine) {
  const char* what = nullptr;
  if (header.magic.load(std::memory_order_relaxed) != kSegmentMagic) {
    what = "the magic";
  } else if (header.version != kSegmentVersion || header.header_bytes != sizeof(SegmentHeader)) {
    what = "the version";
  } else if (header.segment_bytes != mine.segment_bytes || header.capacity != mine.capacity ||
             header.slot_bytes != mine.slot_bytes || header.ring_offset[0] != mine.ring_offset[0] ||
             header.ring_offset[1] != mine.ring_offset[1]) {
    what = "the layout";
  } else if (header.checksum != layout_checksum(mine)) {
    what = "the checksum";
  }
  if (!what) return {};
  return std::unexpected(corrupted(std::string("the header changed after set-up (") + what + ")"));
}

Result<Layout> plan_layout(std::size_t max_message_bytes, std::size_t capacity) {
  if (max_message_bytes > kMaxSlotBytes - kSlotHeaderBytes - kCacheLine) {
    return fail(Errc::message_too_large,
                "messages of " + std::to_string(max_message_bytes) + " bytes do not fit a slot");
  }
  Layout l;
  l.capacity = std::clamp<std::uint64_t>(capacity, 1, kMaxCapacity);
  l.slot_bytes = round_up(kSlotHeaderBytes + max_message_bytes, kCacheLine);
  const std::uint64_t ring = ring_bytes(l.capacity, l.slot_bytes);
  l.ring_offset[kToConsumer] = round_up(sizeof(SegmentHeader), kCacheLine);
  l.ring_offset[kToProducer] = l.ring_offset[kToConsumer] + ring;
  l.segment_bytes = round_up(l.ring_offset[kToProducer] + ring, 4096);
  return l;
}

void init_segment(std::span<std::byte> segment, const Layout& layout, const ProcessId& creator) {
  auto* header = new (segment.data()) SegmentHeader{};
  header->version = kSegmentVersion;
  header->header_bytes = sizeof(SegmentHeader);
  header->segment_bytes = layout.segment_bytes;
  header->capacity = layout.capacity;
  header->slot_bytes = layout.slot_bytes;
  header->checksum = layout_checksum(layout);
  for (std::size_t d : {kToConsumer, kToProducer}) {
    header->ring_offset[d] = layout.ring_offset[d];
    std::byte* ring = segment.data() + layout.ring_offset[d];
    new (ring) RingControl{};
    for (std::uint64_t i = 0; i < layout.capacity; ++i) {
      slot_word(ring + sizeof(RingControl) + i * layout.slot_bytes)
          .store(0, std::memory_order_relaxed);
    }
  }
  PeerRecord& me = header->peer[kConsumerSide];
  me.pid.store(static_cast<std::int32_t>(creator.pid), std::memory_order_relaxed);
  me.start_time.store(creator.start_ticks, std::memory_order_relaxed);
  me.state.store(static_cast<std::uint32_t>(PeerState::attached), std::memory_order_relaxed);
  // Whoever sees the magic sees everything above.
  header->magic.store(kSegmentMagic, std::memory_order_release);
}

Result<Layout> check_segment(std::span<const std::byte> segment) {
  if (segment.size() < sizeof(SegmentHeader))
    return std::unexpected(corrupted("smaller than its header"));
  const auto* header = reinterpret_cast<const SegmentHeader*>(segment.data());
  if (header->magic.load(std::memory_order_acquire) != kSegmentMagic) {
    return std::unexpected(corrupted("bad magic (not an ipcbench ring segment)"));
  }
  if (header->version != kSegmentVersion) {
    return std::unexpected(corrupted("version " + std::to_string(header->version) + ", expected " +
                                     std::to_string(kSegmentVersion)));
  }
  if (header->header_bytes != sizeof(SegmentHeader)) {
    return std::unexpected(
        corrupted("header of " + std::to_string(header->header_bytes) + " bytes"));
  }
  // Each field is read once, into our copy; only the copy is checked and used.
  Layout l;
  l.segment_bytes = header->segment_bytes;
  l.capacity = header->capacity;
  l.slot_bytes = header->slot_bytes;
  l.ring_offset[0] = header->ring_offset[0];
  l.ring_offset[1] = header->ring_offset[1];
  if (l.segment_bytes > segment.size()) {
    return std::unexpected(corrupted("says " + std::to_string(l.segment_bytes) +
                                     " bytes, the mapping has " + std::to_string(segment.size())));
  }
  if (l.capacity == 0 || l.capacity > kMaxCapacity) {
    return std::unexpected(corrupted("capacity " + std::to_string(l.capacity)));
  }
  if (l.slot_bytes < kCacheLine || l.slot_bytes % kCacheLine != 0 || l.slot_bytes > kMaxSlotBytes) {
    return std::unexpected(corrupted("slot size " + std::to_string(l.slot_bytes)));
  }
  const std::uint64_t ring = ring_bytes(l.capacity, l.slot_bytes);  // < 2^49: no overflow
  if (ring > l.segment_bytes) return std::unexpected(corrupted("rings larger than the segment"));
  for (std::uint64_t offset : l.ring_offset) {
    if (offset % kCacheLine != 0 || offset < sizeof(SegmentHeader) ||
        offset > l.segment_bytes - ring) {
      return std::unexpected(corrupted("ring offset " + std::to_string(offset)));
    }
  }
  const std::uint64_t apart = l.ring_offset[0] > l.ring_offset[1]
                                  ? l.ring_offset[0] - l.ring_offset[1]
                                  : l.ring_offset[1] - l.ring_offset[0];
  if (apart < ring) return std::unexpected(corrupted("rings overlap"));
  if (header->checksum != layout_checksum(l)) {
    return std::unexpected(corrupted("the header's checksum does not match its fields"));
  }
  return l;
}

// ---------------------------------------------------------------------------------------------

Result<void> PeerLink::check() const {
  if (m_record != nullptr) {
    const std::uint32_t state = m_record->state.load(std::memory_order_acquire);
    if (state > static_cast<std::uint32_t>(PeerState::closed)) {
      return std::unexpected(
          corrupted("the peer's record has state " + std::to_string(state) + " (0 to 2 exist)"));
    }
    const std::int64_t pid = m_record->pid.load(std::memory_order_relaxed);
    const std::uint64_t start = m_record->start_time.load(std::memory_order_relaxed);
    if (pid != m_who.pid || start != m_who.start_ticks) {
      return std::unexpected(corrupted("the peer's record names pid " + std::to_string(pid) +
                                       ", it attached as pid " + std::to_string(m_who.pid)));
    }
  }
  if (closed()) return fail(Errc::peer_gone, "the peer closed its end");
  const std::string who = "the peer process (pid " + std::to_string(m_who.pid) + ")";
  auto state = read_process_state(m_who.pid);
  if (!state || state->start_ticks != m_who.start_ticks)
    return fail(Errc::peer_gone, who + " is gone");
  if (state->state == 'Z' || state->state == 'X' || state->state == 'x') {
    return fail(Errc::peer_gone, who + " died");
  }
  return {};
}

void futex_wait(FutexWord& word, std::uint32_t expected, std::int64_t nap_ns) {
  if (nap_ns <= 0) return;
  timespec ts{static_cast<time_t>(nap_ns / 1'000'000'000),
              static_cast<long>(nap_ns % 1'000'000'000)};
  // Not FUTEX_PRIVATE_FLAG: the word is in memory shared with another process.
  ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAIT, expected, &ts, nullptr,
            0);
}

void futex_wake_all(FutexWord& word) {
  ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAKE, INT_MAX, nullptr,
            nullptr, 0);
}

// ---------------------------------------------------------------------------------------------

RingWriter::RingWriter(std::byte* segment, const Layout& layout, Direction direction)
    : m_control(reinterpret_cast<RingControl*>(segment + layout.ring_offset[direction])),
      m_slots(segment + layout.ring_offset[direction] + sizeof(RingControl)),
      m_capacity(layout.capacity),
      m_slot_bytes(layout.slot_bytes) {}

Result<bool> RingWriter::corrupt_tail(std::uint64_t tail) const {
  return std::unexpected(corrupted("the reader's index " + std::to_string(tail) +
                                   " is out of range (writer's " + std::to_string(m_head) +
                                   ", capacity " + std::to_string(m_capacity) + ")"));
}

RingReader::RingReader(std::byte* segment, const Layout& layout, Direction direction)
    : m_control(reinterpret_cast<RingControl*>(segment + layout.ring_offset[direction])),
      m_slots(segment + layout.ring_offset[direction] + sizeof(RingControl)),
      m_capacity(layout.capacity),
      m_slot_bytes(layout.slot_bytes) {}

Result<void> RingReader::check_slot() const {
  const std::uint64_t word = slot_word(slot()).load(std::memory_order_acquire);
  const std::uint64_t seq = word >> 32;
  if (seq == slot_sequence(m_tail)) return {};  // arrived meanwhile: not for us to judge
  const bool first_lap = m_tail < m_capacity;
  const std::uint64_t previous = first_lap ? 0 : slot_sequence(m_tail - m_capacity);
  const std::uint64_t length = word & 0xffff'ffffu;
  if (seq == previous && length <= m_slot_bytes - kSlotHeaderBytes && (!first_lap || word == 0)) {
    return {};
  }
  return std::unexpected(corrupted(
      "slot " + std::to_string(m_tail % m_capacity) + " holds sequence " + std::to_string(seq) +
      ", expected " + std::to_string(previous) + " or " + std::to_string(slot_sequence(m_tail))));
}

Result<std::span<const std::byte>> RingReader::corrupt_length(std::uint64_t bytes) const {
  return std::unexpected(corrupted("message length " + std::to_string(bytes) +
                                   " is larger than a slot (" +
                                   std::to_string(m_slot_bytes - kSlotHeaderBytes) + ")"));
}

// ---------------------------------------------------------------------------------------------

Capabilities ring_capabilities() {
  return {.native_wait = WaitMode::spin};
}

RingTransport::RingTransport(const Endpoint& endpoint, SegmentMaker maker)
    : m_endpoint(endpoint),
      m_maker(maker),
      m_side(endpoint.role == Role::consumer ? kConsumerSide : kProducerSide),
      m_policy(endpoint.policy()),
      m_tx(endpoint.max_message_bytes),
      m_rx(endpoint.max_message_bytes) {}

RingTransport::~RingTransport() {
  close();
  if (m_segment) m_segment->remove();  // idempotent; the survivor of a killed peer removes it
  m_segment.reset();
}

void RingTransport::close() {
  if (!m_attached) return;
  m_attached = false;
  // Closed first (release), then every word bumped and woken: a peer asleep or about to sleep
  // on any of them wakes and sees the state (see the wait loop's note).
  PeerRecord& me = m_header->peer[m_side];
  me.state.store(static_cast<std::uint32_t>(PeerState::closed), std::memory_order_release);
  futex_wake_all(me.state);
  auto* base = reinterpret_cast<std::byte*>(m_header);
  for (std::size_t d : {kToConsumer, kToProducer}) {
    auto* control = reinterpret_cast<RingControl*>(base + m_layout.ring_offset[d]);
    for (FutexWord* word : {&control->data_event, &control->space_event}) {
      word->fetch_add(1, std::memory_order_release);
      futex_wake_all(*word);
    }
  }
}

void RingTransport::attach(const Layout& layout) {
  auto* base = m_segment->bytes().data();
  m_header = reinterpret_cast<SegmentHeader*>(base);
  m_layout = layout;
  const Direction out = m_side == kConsumerSide ? kToProducer : kToConsumer;
  const Direction in = m_side == kConsumerSide ? kToConsumer : kToProducer;
  m_writer = RingWriter(base, layout, out);
  m_reader = RingReader(base, layout, in);
  m_attached = true;
}

Result<void> RingTransport::verify_reading() const {
  if (auto ok = verify_header(*m_header, m_layout); !ok) return ok;
  return m_reader.check_slot();
}

Result<void> RingTransport::verify_writing() const {
  return verify_header(*m_header, m_layout);
}

Result<std::string> RingTransport::listen() {
  if (m_endpoint.role != Role::consumer) return fail(Errc::unsupported, "listen: producer");
  auto layout = plan_layout(m_endpoint.max_message_bytes, m_endpoint.queue_depth);
  if (!layout) return std::unexpected(layout.error());
  std::string address;
  auto made = m_maker.create(m_endpoint, layout->segment_bytes, address);
  if (!made) return std::unexpected(made.error());
  m_segment = std::move(*made);
  populate(m_segment->bytes());
  init_segment(m_segment->bytes(), *layout, this_process());
  attach(*layout);
  return address;
}

Result<void> RingTransport::wait_for_producer() {
  PeerRecord& producer = m_header->peer[kProducerSide];
  const std::int64_t deadline = monotonic_ns() + m_policy.timeout_ns;
  for (;;) {
    // A producer that attached and already closed has still sent what it sent.
    const std::uint32_t state = producer.state.load(std::memory_order_acquire);
    if (state != static_cast<std::uint32_t>(PeerState::none)) break;
    const std::int64_t left = deadline - monotonic_ns();
    if (left <= 0) return fail(Errc::timeout, "no producer attached within the timeout");
    futex_wait(producer.state, state, std::min(left, kPeerCheckNs));
  }
  ProcessId who{producer.pid.load(std::memory_order_relaxed),
                producer.start_time.load(std::memory_order_relaxed)};
  m_peer = PeerLink(&producer, who);
  return {};
}

Result<void> RingTransport::connect(std::string_view peer_address) {
  if (m_endpoint.role == Role::consumer) {
    if (!m_attached) return fail(Errc::resource, "connect before listen");
    auto ok = wait_for_producer();
    // Both sides have it mapped: the name is no longer needed, and a name that is gone cannot be
    // left behind by whatever happens next.
    m_segment->remove();
    return ok;
  }
  auto opened = m_maker.open(m_endpoint, peer_address);
  if (!opened) return std::unexpected(opened.error());
  m_segment = std::move(*opened);
  auto layout = check_segment(m_segment->bytes());
  if (!layout) return std::unexpected(layout.error());
  if (layout->max_payload() < m_endpoint.max_message_bytes) {
    return fail(Errc::message_too_large, "the segment's slots hold " +
                                             std::to_string(layout->max_payload()) +
                                             " bytes, this endpoint sends up to " +
                                             std::to_string(m_endpoint.max_message_bytes));
  }
  populate(m_segment->bytes());
  auto* header = reinterpret_cast<SegmentHeader*>(m_segment->bytes().data());
  PeerRecord& consumer = header->peer[kConsumerSide];
  if (consumer.state.load(std::memory_order_acquire) !=
      static_cast<std::uint32_t>(PeerState::attached)) {
    return fail(Errc::peer_gone, "the consumer has closed the segment");
  }
  ProcessId who{consumer.pid.load(std::memory_order_relaxed),
                consumer.start_time.load(std::memory_order_relaxed)};
  m_peer = PeerLink(&consumer, who);
  if (auto alive = m_peer.check(); !alive) return alive;

  PeerRecord& me = header->peer[kProducerSide];
  const ProcessId self = this_process();
  me.pid.store(static_cast<std::int32_t>(self.pid), std::memory_order_relaxed);
  me.start_time.store(self.start_ticks, std::memory_order_relaxed);
  attach(*layout);
  me.state.store(static_cast<std::uint32_t>(PeerState::attached), std::memory_order_release);
  futex_wake_all(me.state);
  return {};
}

Result<std::span<std::byte>> RingTransport::loan(std::size_t bytes) {
  if (bytes > m_tx.size()) {
    return fail(Errc::message_too_large, "loan of " + std::to_string(bytes) +
                                             " bytes, the endpoint's maximum is " +
                                             std::to_string(m_tx.size()));
  }
  return std::span<std::byte>(m_tx).first(bytes);
}

Result<void> RingTransport::send(std::size_t bytes) {
  if (bytes > m_tx.size()) return fail(Errc::message_too_large, "send");
  if (!m_attached) return fail(Errc::resource, "send: not connected");
  auto ok = ring_wait([this] { return m_writer.has_space(); }, [this] { return verify_writing(); },
                      m_writer.space_spot(), m_policy, m_peer, m_wait_stats, "room in the ring");
  if (!ok) return ok;
  std::memcpy(m_writer.payload(), m_tx.data(), bytes);
  m_writer.commit(bytes, m_wait_stats);
  return {};
}

Result<std::span<const std::byte>> RingTransport::receive() {
  if (!m_attached) return fail(Errc::resource, "receive: not connected");
  auto ok = ring_wait([this]() -> Result<bool> { return m_reader.has_data(); },
                      [this] { return verify_reading(); }, m_reader.data_spot(), m_policy, m_peer,
                      m_wait_stats, "a message");
  if (!ok) return std::unexpected(ok.error());
  auto message = m_reader.front();
  if (!message) return std::unexpected(message.error());
  if (message->size() > m_rx.size()) {
    return fail(Errc::message_too_large,
                "incoming message of " + std::to_string(message->size()) + " bytes");
  }
  const std::size_t bytes = message->size();
  std::memcpy(m_rx.data(), message->data(), bytes);
  m_reader.pop(m_wait_stats);
  return std::span<const std::byte>(m_rx).first(bytes);
}

}  // namespace ipcbench::shm

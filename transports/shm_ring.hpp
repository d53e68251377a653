// A single-producer/single-consumer ring of message slots in memory shared by two processes, the
// copying transports built on it (`shm`, `mmap-file`), and how their ends wait.
//
// The segment
// -----------
// One segment per channel, made by the consumer, opened by the producer:
//
//   SegmentHeader | RingControl + slots (producer -> consumer) | RingControl + slots (back)
//
// The header says what the creator laid out (magic, version, sizes, where each ring starts) and
// holds one PeerRecord per side (pid, start time, state). A ring is a RingControl (three cache
// lines) followed by `capacity` slots of `slot_bytes` each (a multiple of the cache line); a slot
// is an 8-byte slot word and the payload. The opener checks every size and offset against the
// mapped size once, keeps its own copy of them, and never re-reads them from the segment.
//
// The protocol
// ------------
// Each ring has one writer and one reader; messages are numbered from 0, message i goes in slot
// i % capacity. The writer copies message i into its slot, then stores the slot word
// (sequence i + 1 and the length, one 64-bit value) with release order. The reader polls the slot
// word of the next message it expects with acquire order: when the sequence matches, the payload
// is visible. It copies the payload out, then stores `tail` = i + 1 (messages consumed) with
// release order; the writer loads tail with acquire order before it reuses a slot, so it never
// overwrites a slot that is still being read. Each side keeps its own count in a local variable,
// and the writer caches tail, re-reading it only when the ring looks full (rigtorp's SPSCQueue),
// so in a stream the tail's cache line does not bounce on every message.
//
// Why a slot word and not a head index beside tail (rigtorp's layout): with a head index the
// reader learns "there is a message" from one cache line, its length from a second and the
// payload from a third, one after the other, each a transfer from the writer's core. With the
// slot word, the line that says "here" also carries the length and the first 56 payload bytes;
// then the writer demotes what it wrote (cache_demote) and a reader of two-line slots keeps the
// second line warm (has_data). bench/README.md has what each of these did to the round trip where
// they were measured. `tail` has its own cache line.
//
// The peer may be broken or hostile: the tail read from the segment is checked
// (0 <= written - tail <= capacity, from the writer's own count), the length against the slot, both
// before use. A bad value is Errc::corrupted; it is never used as an offset. A sequence that is
// neither the expected message nor the previous lap's is Errc::corrupted too, found by the slow
// path of a wait (RingReader::check_slot).
//
// Waiting
// -------
// spin: poll (the reader the slot word, the writer tail) with the CPU's pause instruction; after 50
// us of fruitless spinning yield the CPU between polls (two cores: the peer may need this one).
// block: sleep on a futex word beside the ring. adaptive: spin for Endpoint::spin, then block. A
// writer facing a full ring waits the same way for space (backpressure).
//
// Sleeping without losing a wake-up and without a system call on the fast path is Dekker's
// pattern. The sleeper (the reader on an empty ring, say):
//   1. announces itself: sleepers += 1; seq_cst fence;
//   2. loads the futex word `event` (seq), then re-checks the ring (the slot word);
//   3. if still empty: FUTEX_WAIT(event, seq, nap); then sleepers -= 1 and go round again.
// The waker (the writer, after publishing):
//   a. stores the slot word (release); seq_cst fence;
//   b. loads sleepers; only when it is non-zero: event += 1 and FUTEX_WAKE.
// The two fences order (1 before 2) and (a before b) in one total order, so either the sleeper's
// re-check sees the new message, or the waker sees the announcement and bumps `event` after the
// sleeper loaded it, and then FUTEX_WAIT either finds the word changed (returns at once) or is
// woken. When nobody sleeps, publishing is the store, a fence and a load from a cache line that
// only a sleeper writes: no system call. The same holds with the roles swapped for a writer
// waiting for space (tail, space_event, space_sleepers).
//
// A peer that dies
// ----------------
// Each side records its pid and its start time (field 22 of /proc/<pid>/stat, which a reused
// pid does not share) when it attaches, and marks its record closed (and wakes every futex) when
// its endpoint is destroyed. A waiting side checks the record's state about every 64 polls and
// the process itself every 10 ms of waiting (and after each futex nap, at most 10 ms): a closed
// record, a vanished pid, a zombie or a different start time is Errc::peer_gone, after the
// messages the peer published before it went have been delivered. Endpoint::timeout bounds every
// wait (Errc::timeout).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/peer_watch.hpp"
#include "base/wait.hpp"
#include "transports/transport.hpp"

namespace ipcbench::shm {

inline constexpr std::size_t kCacheLine = 64;
inline constexpr std::uint64_t kSegmentMagic = 0x474e495242435049ull;  // "IPCBRING"
inline constexpr std::uint32_t kSegmentVersion = 2;
inline constexpr std::uint64_t kMaxCapacity = 1u << 16;
inline constexpr std::uint64_t kMaxSlotBytes = 1ull << 32;  // lengths fit the slot word's 32 bits
inline constexpr std::size_t kSlotHeaderBytes = sizeof(std::uint64_t);  // the slot word

// A futex word: the kernel needs a naturally aligned 32-bit integer, which this is.
using FutexWord = std::atomic<std::uint32_t>;
static_assert(sizeof(FutexWord) == 4 && alignof(FutexWord) == 4);
static_assert(FutexWord::is_always_lock_free && std::atomic<std::uint64_t>::is_always_lock_free &&
              std::atomic<std::int32_t>::is_always_lock_free);

// The control block of one ring: the reader's index, and the two places a side sleeps, each on
// its own cache line. The sleep lines are written only by a side about to sleep, so the other
// side's check after every message reads a line that stays in its cache.
struct RingControl {
  alignas(kCacheLine) std::atomic<std::uint64_t> tail;  // consumed messages; the reader's
  alignas(kCacheLine) FutexWord data_event;             // the reader sleeps here on empty
  FutexWord data_sleepers;                              // ... having announced itself here
  alignas(kCacheLine) FutexWord space_event;            // the writer sleeps here on full
  FutexWord space_sleepers;                             // ... having announced itself here
};
static_assert(offsetof(RingControl, tail) == 0);
static_assert(offsetof(RingControl, data_event) == kCacheLine);
static_assert(offsetof(RingControl, space_event) == 2 * kCacheLine);
static_assert(sizeof(RingControl) == 3 * kCacheLine);

// A slot starts with one 64-bit word, stored last by the writer (release): the message's
// sequence (its index + 1, mod 2^32, so a zeroed or last-lap slot never matches) in the upper
// half, its length in the lower half. The payload follows.
inline std::atomic_ref<std::uint64_t> slot_word(std::byte* slot) {
  return std::atomic_ref<std::uint64_t>(*reinterpret_cast<std::uint64_t*>(slot));
}
inline std::uint64_t slot_sequence(std::uint64_t index) {
  return static_cast<std::uint32_t>(index + 1);
}
inline std::uint64_t slot_word_value(std::uint64_t index, std::uint64_t bytes) {
  return slot_sequence(index) << 32 | bytes;
}
static_assert(std::atomic_ref<std::uint64_t>::is_always_lock_free);
static_assert(std::atomic_ref<std::uint64_t>::required_alignment <= kCacheLine);

enum class PeerState : std::uint32_t { none = 0, attached = 1, closed = 2 };

// One side of the channel, on a cache line of its own.
struct alignas(kCacheLine) PeerRecord {
  FutexWord state;                        // PeerState; the consumer sleeps on the producer's
  std::atomic<std::int32_t> pid;          // set before state becomes attached
  std::atomic<std::uint64_t> start_time;  // field 22 of /proc/<pid>/stat, in clock ticks
};
static_assert(sizeof(PeerRecord) == kCacheLine);

enum Direction : std::size_t { kToConsumer = 0, kToProducer = 1 };
enum Side : std::size_t { kConsumerSide = 0, kProducerSide = 1 };

struct SegmentHeader {
  std::atomic<std::uint64_t> magic;  // stored last by the creator (release)
  std::uint32_t version;
  std::uint32_t header_bytes;  // sizeof(SegmentHeader)
  std::uint64_t segment_bytes;
  std::uint64_t capacity;    // slots per ring
  std::uint64_t slot_bytes;  // per slot, length included; a multiple of kCacheLine
  std::uint64_t ring_offset[2];
  std::uint64_t checksum;  // of everything above but the magic (layout_checksum)
  PeerRecord peer[2];      // indexed by Side
};
static_assert(offsetof(SegmentHeader, peer) == kCacheLine);
static_assert(sizeof(SegmentHeader) == 3 * kCacheLine);

// Where everything is, as one process sees it (its own copy, checked once).
struct Layout {
  std::uint64_t capacity = 0;
  std::uint64_t slot_bytes = 0;
  std::uint64_t ring_offset[2] = {0, 0};
  std::uint64_t segment_bytes = 0;
  std::uint64_t max_payload() const { return slot_bytes - kSlotHeaderBytes; }
};

// The checksum of the header's immutable part (version, sizes, offsets), as the creator wrote it.
std::uint64_t layout_checksum(const Layout& layout);
// Is the header still what it was when this side checked it? The magic, version and checksum, and
// every immutable field against this side's copy: Errc::corrupted naming what changed. Cheap
// enough for the slow path of a wait (a few loads and a hash), not for every message.
Result<void> verify_header(const SegmentHeader& header, const Layout& mine);

// The layout for messages of up to `max_message_bytes` and `capacity` slots per ring.
Result<Layout> plan_layout(std::size_t max_message_bytes, std::size_t capacity);
// Writes the header (the creator's PeerRecord attached) and zeroes the control blocks and slot
// words of a freshly made segment; stores the magic last (release).
void init_segment(std::span<std::byte> segment, const Layout& layout, const ProcessId& creator);
// Checks an existing segment's header against its mapped size. Errc::corrupted if anything is
// off: wrong magic, version or checksum, a size or offset that would leave the segment.
Result<Layout> check_segment(std::span<const std::byte> segment);

// ---------------------------------------------------------------------------------------------
// Liveness of the other side.

// The other side: its record in the segment and its process (transports/peer_watch.hpp reads
// /proc; a zombie, a vanished pid or a different start time is a dead peer).
class PeerLink {
 public:
  PeerLink() = default;
  PeerLink(const PeerRecord* record, ProcessId who) : m_record(record), m_who(who) {}
  // Cheap: the peer marked its end closed.
  bool closed() const {
    return m_record != nullptr && m_record->state.load(std::memory_order_acquire) ==
                                      static_cast<std::uint32_t>(PeerState::closed);
  }
  // Costly (reads /proc): closed, or its process is gone. A record that no longer says what it
  // said at attach (a state out of range, another pid) is Errc::corrupted.
  Result<void> check() const;

 private:
  const PeerRecord* m_record = nullptr;
  ProcessId m_who;
};

// ---------------------------------------------------------------------------------------------
// Futex and waiting.

// FUTEX_WAIT on a shared (not process-private) word for at most `nap_ns`. Returns when woken,
// when the word is not `expected`, on a signal or after the nap.
void futex_wait(FutexWord& word, std::uint32_t expected, std::int64_t nap_ns);
void futex_wake_all(FutexWord& word);

struct WaitStats {
  std::uint64_t futex_waits = 0;  // FUTEX_WAIT calls made (the side went to sleep)
  std::uint64_t futex_wakes = 0;  // FUTEX_WAKE calls made (a sleeping peer was woken)
};

inline constexpr std::int64_t kPeerCheckNs = 10'000'000;  // how often a waiting side checks
inline constexpr std::uint32_t kPollsPerClockRead = 64;   // a clock read costs more than a poll

// The place a side sleeps: the futex word and the announcement counter (RingControl's pairs).
struct SleepSpot {
  FutexWord* event;
  FutexWord* sleepers;
};

// The wake side of the protocol, after the store that makes the condition true and a seq_cst
// fence: (b) in the prose above.
inline void wake_if_sleeping_after_fence(const SleepSpot& spot, WaitStats& stats) {
  if (spot.sleepers->load(std::memory_order_relaxed) != 0) {
    spot.event->fetch_add(1, std::memory_order_release);
    futex_wake_all(*spot.event);
    ++stats.futex_wakes;
  }
}
inline void wake_if_sleeping(const SleepSpot& spot, WaitStats& stats) {
  std::atomic_thread_fence(std::memory_order_seq_cst);  // (a) before (b)
  wake_if_sleeping_after_fence(spot, stats);
}

// Waits until ready() (-> Result<bool>) is true, per the policy (base/wait.hpp), on the ring's
// side of the protocol above: a try is ready(); blocking is the sleep of steps 1-3; the slow check
// is verify() (-> Result<void>, the shared state intact) then the peer's liveness. A peer that
// closes or dies is Errc::peer_gone, unless ready() is true once more after that was seen; a
// corrupted segment is reported as such, not as the dead peer or the timeout it looks like.
template <class Ready, class Verify>
Result<void> ring_wait(Ready&& ready, Verify&& verify, const SleepSpot& spot,
                       const WaitPolicy& policy, const PeerLink& peer, WaitStats& stats,
                       std::string_view waiting_for) {
  auto closed = [&]() -> Result<bool> {
    // What the peer published before it closed is still delivered.
    auto again = ready();
    if (!again || *again) return again;
    if (auto intact = verify(); !intact) return std::unexpected(intact.error());
    return fail(Errc::peer_gone, "the peer closed its end");
  };
  auto try_once = [&]() -> Result<bool> {
    auto r = ready();
    if (!r || *r) return r;
    if (peer.closed()) return closed();
    return false;
  };
  auto block_once = [&](std::int64_t max_ns) -> Result<bool> {
    spot.sleepers->fetch_add(1, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_seq_cst);  // (1) before (2)
    const std::uint32_t seen = spot.event->load(std::memory_order_acquire);
    auto r = ready();
    // A peer that closes stores its state, then bumps `event` (release): if `seen` is from
    // before the bump, FUTEX_WAIT returns at once or is woken; if after, closed() sees it.
    const bool gone = r && !*r && peer.closed();
    if (r && !*r && !gone) {
      futex_wait(*spot.event, seen, max_ns);
      ++stats.futex_waits;
      r = ready();
    }
    spot.sleepers->fetch_sub(1, std::memory_order_relaxed);
    if (!r || *r) return r;
    if (gone || peer.closed()) return closed();
    return false;
  };
  auto check = [&]() -> Result<void> {
    if (auto intact = verify(); !intact) return intact;
    return peer.check();
  };
  const WaitTraits traits{.polls_per_clock_read = kPollsPerClockRead,
                          .check_every_ns = kPeerCheckNs,
                          .waiting_for = waiting_for};
  return wait_until(policy, try_once, block_once, check, traits);
}

// Hints the CPU to move a cache line from this core's private caches to the shared cache, where
// the other core's read finds it sooner than by snooping this core (CLDEMOTE; a no-op on CPUs
// without it). The writer demotes what it just wrote (bench/README.md: what it did to the round
// trip). Not for large messages, which would push the writer's own working set out.
inline void cache_demote(const void* line) {
#if defined(__x86_64__)
  asm volatile("cldemote %0" ::"m"(*static_cast<const char*>(line)));
#else
  (void)line;
#endif
}
inline constexpr std::uint64_t kDemoteMaxBytes = 4096;

// ---------------------------------------------------------------------------------------------
// The two ends of one ring, as one process sees them. Neither re-reads the layout from the
// segment; each keeps its own index and a cached copy of the other's.

class RingWriter {
 public:
  RingWriter() = default;
  RingWriter(std::byte* segment, const Layout& layout, Direction direction);

  // Is there a free slot? Re-reads the reader's index only when the cached one says full.
  Result<bool> has_space() {
    if (m_head - m_cached_tail < m_capacity) return true;
    const std::uint64_t tail = m_control->tail.load(std::memory_order_acquire);
    if (m_head - tail > m_capacity) return corrupt_tail(tail);  // also catches tail > head
    m_cached_tail = tail;
    return m_head - tail < m_capacity;
  }
  // The payload of the next slot. Only after has_space() said true.
  std::byte* payload() const { return slot() + kSlotHeaderBytes; }
  std::uint64_t max_payload() const { return m_slot_bytes - kSlotHeaderBytes; }
  // Publishes the next slot with `bytes` of payload, and wakes the reader if it sleeps.
  void commit(std::uint64_t bytes, WaitStats& stats) {
    std::byte* const s = slot();
    slot_word(s).store(slot_word_value(m_head, bytes), std::memory_order_release);
    ++m_head;
    std::atomic_thread_fence(std::memory_order_seq_cst);  // (a) before (b); the stores are done
    if (bytes <= kDemoteMaxBytes) {
      for (std::uint64_t at = 0; at < kSlotHeaderBytes + bytes; at += kCacheLine)
        cache_demote(s + at);
    }
    wake_if_sleeping_after_fence(data_spot(), stats);
  }
  SleepSpot space_spot() const { return {&m_control->space_event, &m_control->space_sleepers}; }
  SleepSpot data_spot() const { return {&m_control->data_event, &m_control->data_sleepers}; }
  // Has the reader announced that it sleeps (waiting for data)? For tests.
  bool reader_sleeping() const {
    return m_control->data_sleepers.load(std::memory_order_acquire) != 0;
  }

 private:
  std::byte* slot() const { return m_slots + (m_head % m_capacity) * m_slot_bytes; }
  Result<bool> corrupt_tail(std::uint64_t tail) const;

  RingControl* m_control = nullptr;
  std::byte* m_slots = nullptr;
  std::uint64_t m_capacity = 1;
  std::uint64_t m_slot_bytes = 0;
  std::uint64_t m_head = 0;         // ours: the next slot we fill
  std::uint64_t m_cached_tail = 0;  // the reader's, as last read
};

class RingReader {
 public:
  RingReader() = default;
  RingReader(std::byte* segment, const Layout& layout, Direction direction);

  // Is the next message there? One load of the slot's word, which carries its length too.
  bool has_data() {
    const std::uint64_t word = slot_word(slot()).load(std::memory_order_acquire);
    if ((word >> 32) != slot_sequence(m_tail)) {
      // A slot of two lines (messages up to 120 bytes) is polled whole: the second line is
      // fetched while we wait, not after the word flips (bench/README.md).
      // Larger slots would have it pulled back while the writer is still filling them.
      if (m_slot_bytes == 2 * kCacheLine) __builtin_prefetch(slot() + kCacheLine);
      return false;
    }
    m_length = word & 0xffff'ffffu;
    return true;
  }
  // The next message's payload, its length checked against the slot. Only after has_data().
  Result<std::span<const std::byte>> front() const {
    if (m_length > m_slot_bytes - kSlotHeaderBytes) return corrupt_length(m_length);
    return std::span<const std::byte>(slot() + kSlotHeaderBytes, m_length);
  }
  // The slow path's check of the next slot while it is empty: its word must be the previous
  // lap's message (or zero before the first lap). Anything else is Errc::corrupted.
  Result<void> check_slot() const;
  // Frees the slot front() showed, and wakes the writer if it sleeps on a full ring.
  void pop(WaitStats& stats) {
    m_control->tail.store(++m_tail, std::memory_order_release);
    wake_if_sleeping(space_spot(), stats);
  }
  SleepSpot space_spot() const { return {&m_control->space_event, &m_control->space_sleepers}; }
  SleepSpot data_spot() const { return {&m_control->data_event, &m_control->data_sleepers}; }
  // Has the writer announced that it sleeps (waiting for space)? For tests.
  bool writer_sleeping() const {
    return m_control->space_sleepers.load(std::memory_order_acquire) != 0;
  }

 private:
  std::byte* slot() const { return m_slots + (m_tail % m_capacity) * m_slot_bytes; }
  Result<std::span<const std::byte>> corrupt_length(std::uint64_t bytes) const;

  RingControl* m_control = nullptr;
  std::byte* m_slots = nullptr;
  std::uint64_t m_capacity = 1;
  std::uint64_t m_slot_bytes = 0;
  std::uint64_t m_tail = 0;    // ours: the next slot we empty
  std::uint64_t m_length = 0;  // of the message has_data() found, as read (unchecked)
};

// ---------------------------------------------------------------------------------------------
// The copying transports: a mapped segment with a name, and the transport over it.

// A mapped segment. Destroying it unmaps it; remove() deletes its name (idempotent).
class Segment {
 public:
  virtual ~Segment() = default;
  virtual std::span<std::byte> bytes() const = 0;
  virtual void remove() = 0;
};

struct SegmentMaker {
  // Consumer: make a segment of `bytes`, readable and writable by this user only. Sets
  // `address` to what the producer passes to open.
  Result<std::unique_ptr<Segment>> (*create)(const Endpoint& endpoint, std::size_t bytes,
                                             std::string& address);
  // Producer: open the consumer's segment.
  Result<std::unique_ptr<Segment>> (*open)(const Endpoint& endpoint, std::string_view address);
};

// loan() gives a private buffer; send() copies it into a slot of the outgoing ring; receive()
// copies the next slot of the incoming ring into a private buffer and frees the slot at once.
class RingTransport final : public Transport {
 public:
  RingTransport(const Endpoint& endpoint, SegmentMaker maker);
  ~RingTransport() override;

  Result<std::string> listen() override;
  Result<void> connect(std::string_view peer_address) override;
  Result<std::span<std::byte>> loan(std::size_t bytes) override;
  Result<void> send(std::size_t bytes) override;
  Result<std::span<const std::byte>> receive() override;
  void release() override {}

  // For tests: this side's futex counts, and whether the peer announced that it sleeps waiting
  // for a message from us, or for space in the ring we read.
  const WaitStats& wait_stats() const { return m_wait_stats; }
  bool peer_sleeps_for_data() const { return m_attached && m_writer.reader_sleeping(); }
  bool peer_sleeps_for_space() const { return m_attached && m_reader.writer_sleeping(); }

 private:
  void attach(const Layout& layout);
  Result<void> wait_for_producer();
  void close();
  // The header and the slot we wait on, for wait_until's verify().
  Result<void> verify_reading() const;
  Result<void> verify_writing() const;

  Endpoint m_endpoint;
  SegmentMaker m_maker;
  std::unique_ptr<Segment> m_segment;
  SegmentHeader* m_header = nullptr;
  Layout m_layout;
  Side m_side = kConsumerSide;
  bool m_attached = false;
  RingWriter m_writer;
  RingReader m_reader;
  PeerLink m_peer;
  WaitPolicy m_policy;
  WaitStats m_wait_stats;
  std::vector<std::byte> m_tx;
  std::vector<std::byte> m_rx;
};

// The factory of a ring transport over segments that `create` and `open` make (SegmentMaker).
template <auto create, auto open>
Result<std::unique_ptr<Transport>> make_ring_transport(const Endpoint& endpoint) {
  return std::make_unique<RingTransport>(endpoint, SegmentMaker{create, open});
}

// Capabilities both copying shared-memory transports share.
Capabilities ring_capabilities();

}  // namespace ipcbench::shm

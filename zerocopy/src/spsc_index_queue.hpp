// A lock-free single-producer/single-consumer queue of chunk references, living in shared memory.
//
// The protocol, once:
//
// The queue is a ring of `capacity` (a power of two) 64-bit slots plus one shared word, `head`,
// the position of the next entry the consumer will take. The producer's position, `tail`, is not
// shared: it lives in the producer's process. Positions only grow (64 bits never wrap in
// practice); slot = position & (capacity - 1), lap = position / capacity.
//
// An entry is self-describing: bit 63 says "written", bits 48-62 hold the lap (mod 2^15) it was
// written for, bits 32-47 the chunk index, bits 0-31 the payload size. So the consumer needs no
// tail: the entry for position p is there when slot[p] holds a written entry of lap(p). An entry
// left over from the previous lap has lap(p) - 1 and reads as "empty". One cache line (the slot)
// carries both the "is it there" signal and the data, which is what makes the hand-over cost a
// single cache-line transfer.
//
// Producer (push): if tail - head_cache == capacity, reload head_cache = head (acquire) and give
// up if still full. Store the entry into slot[tail] with release (this publishes the payload the
// producer wrote into the chunk before), then tail += 1. The head cache saves a load of the
// consumer's cache line on every push, as in rigtorp/SPSCQueue.
//
// Consumer (pop): h = head (acquire), e = slot[h] (acquire; pairs with the producer's release, so
// the chunk's payload is visible). If e is not a written entry of lap(h), the queue is empty. Else
// store head = h + 1 with release: that hands the slot back to the producer (its acquire load of
// head orders its next write of the slot after our read of it).
//
// Safe overflow lets the producer take the oldest entry back when the ring is full, so the
// consumer and the producer may both advance head: both use compare-and-swap head h -> h + 1, and
// whoever wins owns the entry. The consumer's read of slot[h] may race with the producer having
// stolen h and written position h + capacity into the same slot; the new entry carries lap(h) + 1,
// so the consumer sees "empty", notices head moved, and retries from the new head. Once the
// consumer's CAS from h succeeds, nobody wrote slot[h] since it was read (the producer writes a
// slot only after head has passed it), so the entry it read is the one it owns.
//
// Nothing in a slot is trusted: the index and size are checked against the segment's limits by
// the caller, and an entry that is garbage reads as "empty" or as an invalid index, never as a
// reason to touch memory outside the segment.
//
// Inline payloads: a queue may have slots of several words (`stride`): the entry word, then room
// for a small payload. push_inline() stores the payload's words (relaxed) before the entry
// (release), with kInlineIndex as the entry's chunk index; the consumer copies them out after
// reading the entry (acquire) and before handing the slot back (the head store, or the CAS that
// claims it), so that it never reads words the producer may already be rewriting for a later lap
// into a payload it keeps. The words are atomics on both sides: a copy that raced a steal is
// thrown away with the failed CAS, and is no data race.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>

namespace zerocopy::detail {

struct QueueEntry {
  std::uint32_t index;
  std::uint32_t size;
};
// The chunk index of an entry whose payload is in its slot (chunk indexes stop at 65534).
inline constexpr std::uint32_t kInlineIndex = 0xffff;

class IndexQueue {
 public:
  static constexpr std::uint64_t kWritten = std::uint64_t{1} << 63;
  static constexpr std::uint64_t kLapMask = 0x7fff;

  IndexQueue() = default;
  // `head` and `slots` point into a validated segment; `capacity` is a power of two.
  // `stride`: words per slot (1: the entry alone; more: an inline payload's room after it).
  IndexQueue(std::atomic<std::uint64_t>* head, std::atomic<std::uint64_t>* slots,
             std::uint32_t capacity, std::uint32_t stride = 1)
      : m_head(head),
        m_slots(slots),
        m_mask(capacity - 1),
        m_shift(log2(capacity)),
        m_stride(stride) {}
  // Bytes of payload a slot carries inline (0: none).
  std::uint32_t inline_capacity() const noexcept { return (m_stride - 1) * 8; }

  std::uint32_t capacity() const noexcept { return static_cast<std::uint32_t>(m_mask + 1); }

  static constexpr std::uint64_t encode(std::uint64_t position, std::uint32_t shift,
                                        QueueEntry entry) noexcept {
    return kWritten | (((position >> shift) & kLapMask) << 48) |
           (std::uint64_t{entry.index & 0xffffu} << 32) | entry.size;
  }

  // ---- producer side (one thread of one process) ----
  bool full(std::uint64_t tail, std::uint64_t& head_cache) const noexcept {
    if (tail - head_cache <= m_mask) return false;
    head_cache = m_head->load(std::memory_order_acquire);
    return tail - head_cache > m_mask;
  }
  // Caller checked !full(). Publishes the entry (and the payload written before it).
  void push(std::uint64_t& tail, QueueEntry entry) noexcept {
    slot(tail).store(encode(tail, m_shift, entry), std::memory_order_release);
    ++tail;
  }
  // Caller checked !full() and size <= inline_capacity(). The payload goes into the slot, the
  // entry (kInlineIndex, size) after it. `payload` must be readable to the end of its last 8-byte
  // word (a chunk is: its stride is a multiple of the cache line): each word is read whole, one
  // load, and the bytes beyond `size` in the last one are zeroed, so that nothing but the payload
  // travels. (Assembling each word byte by byte in memory cost a store-forwarding stall per word:
  // a 64 B payload sent and received in one thread took 67.7 ns then, 55.5 ns now.)
  void push_inline(std::uint64_t& tail, const std::byte* payload, std::uint32_t size) noexcept {
    std::atomic<std::uint64_t>* words = &slot(tail) + 1;
    const std::uint32_t whole = size / 8;
    for (std::uint32_t w = 0; w < whole; ++w) {
      std::uint64_t word;
      std::memcpy(&word, payload + w * 8, 8);
      words[w].store(word, std::memory_order_relaxed);
    }
    if (const std::uint32_t rest = size % 8; rest != 0) {
      std::uint64_t word;
      std::memcpy(&word, payload + whole * 8, 8);
      words[whole].store(word & low_bytes_mask(rest), std::memory_order_relaxed);
    }
    push(tail, QueueEntry{kInlineIndex, size});
  }
  // The slot a position lands in (to hint the cache about it after a push).
  const void* slot_address(std::uint64_t position) const noexcept { return &slot(position); }
  std::uint32_t slot_bytes() const noexcept { return m_stride * 8; }
  bool try_push(std::uint64_t& tail, std::uint64_t& head_cache, QueueEntry entry) noexcept {
    if (full(tail, head_cache)) return false;
    push(tail, entry);
    return true;
  }
  // Safe overflow, queue full: takes the oldest entry back. Returns nothing if the consumer took
  // it first (then there is room).
  std::optional<QueueEntry> steal_oldest(std::uint64_t tail) noexcept {
    std::uint64_t head = m_head->load(std::memory_order_acquire);
    if (tail - head <= m_mask) return std::nullopt;
    // Our own write; relaxed suffices, and the CAS below decides who owns it.
    std::uint64_t raw = slot(head).load(std::memory_order_relaxed);
    if (!m_head->compare_exchange_strong(head, head + 1, std::memory_order_acq_rel,
                                         std::memory_order_acquire)) {
      return std::nullopt;
    }
    return decode(raw);
  }

  // ---- consumer side ----
  // Single consumer, no stealing producer: a plain store hands the slot back.
  // `position`, when given, receives the entry's position in the queue. An inline entry's payload
  // is copied into `inline_out` (inline_capacity() bytes of room) first.
  std::optional<QueueEntry> pop(std::uint64_t* position = nullptr,
                                std::uint64_t* inline_out = nullptr) noexcept {
    std::uint64_t head = m_head->load(std::memory_order_relaxed);
    std::uint64_t raw = slot(head).load(std::memory_order_acquire);
    if (!is_entry_for(raw, head)) return std::nullopt;
    QueueEntry entry = decode(raw);
    if (entry.index == kInlineIndex) copy_inline(head, entry.size, inline_out);
    m_head->store(head + 1, std::memory_order_release);
    if (position != nullptr) *position = head;
    return entry;
  }
  // The producer may steal (safe overflow): claim the entry with a CAS.
  std::optional<QueueEntry> pop_contended(std::uint64_t* position = nullptr,
                                          std::uint64_t* inline_out = nullptr) noexcept {
    std::uint64_t head = m_head->load(std::memory_order_acquire);
    // Bounded: each failed CAS means the producer stole an entry, and it can steal at most
    // `capacity` entries before it must wait for us; beyond that the segment is being abused.
    for (std::uint32_t attempt = 0; attempt <= m_mask + 1; ++attempt) {
      std::uint64_t raw = slot(head).load(std::memory_order_acquire);
      if (!is_entry_for(raw, head)) {
        std::uint64_t now = m_head->load(std::memory_order_acquire);
        if (now == head) return std::nullopt;
        head = now;
        continue;
      }
      QueueEntry entry = decode(raw);
      // Copied before the claim: once the CAS succeeds, nobody wrote the slot since it was read.
      if (entry.index == kInlineIndex) copy_inline(head, entry.size, inline_out);
      if (m_head->compare_exchange_strong(head, head + 1, std::memory_order_acq_rel,
                                          std::memory_order_acquire)) {
        if (position != nullptr) *position = head;
        return entry;
      }
    }
    return std::nullopt;
  }
  bool empty() const noexcept {
    std::uint64_t head = m_head->load(std::memory_order_acquire);
    return !is_entry_for(slot(head).load(std::memory_order_acquire), head);
  }

  // Only while neither side uses the queue (the publisher, before announcing a connection).
  void reset() noexcept {
    for (std::uint64_t i = 0; i <= m_mask; ++i)
      slot(i).store(0, std::memory_order_relaxed);
    m_head->store(0, std::memory_order_relaxed);
  }
  std::uint64_t head() const noexcept { return m_head->load(std::memory_order_acquire); }

 private:
  // The bits of a word's first `bytes` bytes in memory order (1 to 7).
  static std::uint64_t low_bytes_mask(std::uint32_t bytes) noexcept {
    std::uint64_t mask = 0;
    std::memset(&mask, 0xff, bytes);
    return mask;
  }
  static constexpr std::uint32_t log2(std::uint32_t value) noexcept {
    std::uint32_t shift = 0;
    while ((std::uint32_t{1} << shift) < value)
      ++shift;
    return shift;
  }
  std::atomic<std::uint64_t>& slot(std::uint64_t position) const noexcept {
    return m_slots[(position & m_mask) * m_stride];
  }
  // An inline entry's payload words into `out`; a size beyond the slot's room (a corrupt entry:
  // the caller refuses it) copies what there is room for.
  void copy_inline(std::uint64_t position, std::uint32_t size, std::uint64_t* out) const noexcept {
    if (out == nullptr) return;
    const std::atomic<std::uint64_t>* words = &slot(position) + 1;
    const std::uint32_t count = std::min<std::uint32_t>((size + 7) / 8, m_stride - 1);
    for (std::uint32_t w = 0; w < count; ++w)
      out[w] = words[w].load(std::memory_order_relaxed);
  }
  bool is_entry_for(std::uint64_t raw, std::uint64_t position) const noexcept {
    return (raw & kWritten) != 0 && ((raw >> 48) & kLapMask) == ((position >> m_shift) & kLapMask);
  }
  static QueueEntry decode(std::uint64_t raw) noexcept {
    return {static_cast<std::uint32_t>((raw >> 32) & 0xffffu),
            static_cast<std::uint32_t>(raw & 0xffffffffu)};
  }

  std::atomic<std::uint64_t>* m_head = nullptr;
  std::atomic<std::uint64_t>* m_slots = nullptr;
  std::uint64_t m_mask = 0;
  std::uint32_t m_shift = 0;
  std::uint32_t m_stride = 1;
};

static_assert(std::atomic<std::uint64_t>::is_always_lock_free,
              "the queues need lock-free 64-bit atomics: they are shared between processes");

}  // namespace zerocopy::detail

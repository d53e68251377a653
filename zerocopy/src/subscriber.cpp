// The subscriber: maps each publisher's segment (chunks read-only), reads its own channel in it,
// gives chunks back through the completion queue, and sleeps on its event when asked to wait.
//
// Sleeping without losing a wake-up (the Event protocol):
//   subscriber: seq = event.seq (acquire); event.waiters += 1; fence (seq_cst);
//               if a queue has an entry -> don't sleep; else futex_wait(event.seq, seq)
//   publisher:  store the entry (release); fence (seq_cst); if event.waiters != 0:
//               event.seq += 1; futex_wake(event.seq)
// The two fences are ordered one way or the other in the single total order of seq_cst
// operations: if the publisher's comes first, the subscriber's re-check sees the entry; if the
// subscriber's comes first, the publisher sees waiters != 0 and bumps seq, which makes futex_wait
// return at once if the subscriber has not slept yet (the kernel compares seq with the value read
// before the re-check). A publisher that finds no sleeper makes no system call: the spinning case
// costs one fence and one load per send. The same protocol, roles swapped, wakes a publisher that
// sleeps under backpressure (ChannelControl::space), and a change of the slots (announce_change).

#include "internal.hpp"

#include <unistd.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#include <algorithm>
#include <array>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <vector>

namespace zerocopy::detail {

std::optional<SubscriberConnection> SubscriberConnection::attach(std::byte* base, std::size_t size,
                                                                 std::uint32_t channel,
                                                                 std::string* why) {
  auto reject = [why](const char* reason) -> std::optional<SubscriberConnection> {
    if (why) *why = reason;
    return std::nullopt;
  };
  if (size < sizeof(PublisherHeader)) return reject("segment smaller than its header");
  if (reinterpret_cast<std::uintptr_t>(base) % kCacheLine != 0) return reject("misaligned");
  auto* header = reinterpret_cast<PublisherHeader*>(base);
  if (header->state.load(std::memory_order_acquire) != kStateReady) return reject("not ready");
  SubscriberConnection connection;
  connection.m_header = header;
  // One copy, validated as a whole; afterwards only the copy is used.
  std::memcpy(&connection.m_config, &header->config, sizeof(PublisherConfig));
  const PublisherConfig& config = connection.m_config;
  if (std::string reason = validate_publisher_config(config, size); !reason.empty()) {
    if (why) *why = reason;
    return std::nullopt;
  }
  if (channel >= config.num_channels) return reject("no channel for this subscriber slot");
  std::byte* at = base + config.channels_offset + std::uint64_t{channel} * config.channel_stride;
  connection.m_control = reinterpret_cast<ChannelControl*>(at);
  connection.m_submission =
      IndexQueue(&connection.m_control->submission_head,
                 reinterpret_cast<std::atomic<std::uint64_t>*>(at + submission_slots_offset()),
                 config.submission_capacity,
                 static_cast<std::uint32_t>(submission_slot_bytes(config.inline_bytes) / 8));
  connection.m_completion =
      IndexQueue(&connection.m_control->completion_head,
                 reinterpret_cast<std::atomic<std::uint64_t>*>(
                     at + completion_slots_offset(config.submission_capacity, config.inline_bytes)),
                 config.completion_capacity);
  connection.m_chunks = base + config.chunks_offset;
  connection.m_headers = base + config.headers_offset;
  return connection;
}

namespace {

// *out = {payload, bytes, tag, index, position}, as two whole 16-byte stores where the target has
// them (subscriber_receive in api.hpp says why).
inline void store_received(Received* out, const void* payload, std::size_t bytes, void* tag,
                           std::uint32_t index, std::uint64_t position) noexcept {
#if defined(__SSE2__)
  static_assert(sizeof(Received) == 32 && offsetof(Received, connection) == 16 &&
                offsetof(Received, index) == 24 && offsetof(Received, position) == 28);
  auto* at = reinterpret_cast<__m128i*>(out);
  _mm_storeu_si128(
      at, _mm_set_epi64x(static_cast<long long>(bytes),
                         static_cast<long long>(reinterpret_cast<std::uintptr_t>(payload))));
  const std::uint64_t index_position = std::uint64_t{index} | (position << 32);
  _mm_storeu_si128(at + 1,
                   _mm_set_epi64x(static_cast<long long>(index_position),
                                  static_cast<long long>(reinterpret_cast<std::uintptr_t>(tag))));
#else
  *out = Received{payload, bytes, tag, index, static_cast<std::uint32_t>(position)};
#endif
}

}  // namespace

Receipt SubscriberConnection::take(Received* out, std::uint64_t* inline_out,
                                   std::uint32_t inline_index, void* tag) noexcept {
  std::uint64_t position = 0;
  auto entry = m_config.safe_overflow ? m_submission.pop_contended(&position, inline_out)
                                      : m_submission.pop(&position, inline_out);
  if (!entry) {
    // Polling an empty queue: keep the chunk the publisher fills next warm (see
    // ChannelControl::next_chunk), so that its cache line travels with the queue slot's.
    if (m_config.inline_bytes != 0) {
      // The next slot's second line, where an inline payload beyond the first line's room ends.
      __builtin_prefetch(static_cast<const std::byte*>(m_submission.slot_address(m_next_position)) +
                         kCacheLine);
      return Receipt::nothing;
    }
    std::uint64_t next = m_control->next_chunk.load(std::memory_order_relaxed);
    if (next < m_config.num_chunks) __builtin_prefetch(m_chunks + next * m_config.chunk_stride);
    return Receipt::nothing;
  }
  m_next_position = position + 1;
  if (entry->index == kInlineIndex && m_config.inline_bytes != 0 &&
      entry->size <= m_config.max_payload_bytes) {
    wake_blocked_publisher();
    store_received(out, inline_out, entry->size, tag, inline_index, position);
    return Receipt::sample;
  }
  if (entry->index >= m_config.num_chunks || entry->size > m_config.max_payload_bytes) {
    m_bad = *entry;
    return Receipt::corrupted;
  }
  wake_blocked_publisher();
  store_received(out, m_chunks + std::uint64_t{entry->index} * m_config.chunk_stride, entry->size,
                 tag, entry->index, position);
  return Receipt::sample;
}

void SubscriberConnection::wake_blocked_publisher() noexcept {
  if (m_config.publisher_may_block) {
    // The publisher may sleep waiting for the slot we just freed: the Event protocol with the
    // roles swapped (our head store, a fence, then its sleeper count).
    std::atomic_thread_fence(std::memory_order_seq_cst);
    Event& space = m_control->space;
    if (space.waiters.load(std::memory_order_relaxed) != 0) {
      space.seq.fetch_add(1, std::memory_order_release);
      futex_wake_all(&space.seq);
    }
  }
}

std::string SubscriberConnection::verify(std::uint64_t generation, bool connected) const noexcept {
  std::uint32_t state = m_header->state.load(std::memory_order_acquire);
  if (state != kStateReady) return "its state word is " + std::to_string(state);
  PublisherConfig now;
  std::memcpy(&now, &m_header->config, sizeof now);
  if (std::memcmp(&now, &m_config, sizeof now) != 0) {
    return std::string("its static configuration changed after it was mapped") +
           (checksum_of(now) != now.checksum ? " and fails its checksum" : "");
  }
  std::uint64_t connected_generation =
      m_control->connected_generation.load(std::memory_order_acquire);
  if (connected ? connected_generation != generation : connected_generation > generation) {
    return "our channel's connected_generation is " + std::to_string(connected_generation) +
           ", this subscriber is generation " + std::to_string(generation);
  }
  if (!connected) return {};
  std::uint64_t head = m_submission.head();
  if (m_config.safe_overflow ? head < m_next_position : head != m_next_position) {
    return "the submission queue's head is " + std::to_string(head) +
           ", this subscriber left it at " + std::to_string(m_next_position);
  }
  std::uint64_t completion_head = m_completion.head();
  if (completion_head > m_completion_tail ||
      m_completion_tail - completion_head > m_completion.capacity()) {
    return "the completion queue's head is " + std::to_string(completion_head) + ", its tail " +
           std::to_string(m_completion_tail) + " and its capacity " +
           std::to_string(m_completion.capacity());
  }
  return {};
}

std::string SubscriberConnection::bad_entry() const {
  return "its queue handed out chunk " + std::to_string(m_bad.index) + " of " +
         std::to_string(m_bad.size) + " bytes; the pool has " +
         std::to_string(m_config.num_chunks) + " chunks of at most " +
         std::to_string(m_config.max_payload_bytes) + " bytes";
}

void SubscriberConnection::release(std::uint32_t index) noexcept {
  // Cannot be full with an honest publisher (capacity >= chunks, each chunk queued at most once);
  // if a publisher stops draining it, the chunk is simply not given back.
  m_completion.try_push(m_completion_tail, m_completion_head_cache, QueueEntry{index, 0});
}

class SubscriberPort {
 public:
  explicit SubscriberPort(std::shared_ptr<ServiceImpl> service) : m_service(std::move(service)) {}
  ~SubscriberPort() {
    m_connections.clear();
    if (m_fifo >= 0) {
      m_event->waiters.fetch_and(~kFdArmed, std::memory_order_relaxed);
      ::close(m_fifo);
      shm_remove(m_service->subscriber_fifo(m_slot, m_generation));
    }
    if (m_active) m_service->release_subscriber(m_slot, m_generation);
  }

  Expected<void, Error<SubscriberCreateError>> init() {
    if (std::string why = m_service->verify(); !why.empty()) {
      return unexpected(Error<SubscriberCreateError>{SubscriberCreateError::corrupted, why});
    }
    auto slot = m_service->claim_subscriber_slot();
    if (!slot) {
      return unexpected(Error<SubscriberCreateError>{
          SubscriberCreateError::exceeds_max_subscribers,
          "service '" + m_service->name() + "' already has max_subscribers = " +
              std::to_string(m_service->options().max_subscribers) + " subscribers"});
    }
    m_slot = slot->first;
    m_generation = slot->second;
    m_active = true;
    m_event = &m_service->subscriber_slots()[m_slot].event;
    // A bit a departed subscriber of this slot may have left: ours now, and not armed.
    m_event->waiters.fetch_and(~kFdArmed, std::memory_order_relaxed);
    m_max_borrowed = m_service->options().subscriber_max_borrowed_samples;
    m_inline.reserve(m_max_borrowed + 1);
    m_inline_free.reserve(m_max_borrowed + 1);
    m_connections.reserve(m_service->options().max_publishers);
    m_refused.assign(m_service->options().max_publishers, 0);
    m_service->activate_subscriber(m_slot, m_generation);
    update_connections();
    return {};
  }

  // ---- hot path ----
  Receipt receive(Received* out) noexcept {
    if (m_broken) return Receipt::corrupted;
    if (m_borrowed >= m_max_borrowed) return Receipt::exceeds_max_borrows;
    if (m_service->change_counter() != m_seen_change) update_connections();
    const std::size_t count = m_connections.size();
    std::size_t i = m_next;
    bool sweep = false;
    // Where an inline payload goes: a buffer not held by any Sample (there is one: fewer than
    // max_borrowed are held).
    if (m_inline_free.empty()) {
      m_inline_free.push_back(static_cast<std::uint32_t>(m_inline.size()));
      m_inline.emplace_back();
    }
    const std::uint32_t spare = m_inline_free.back();
    for (std::size_t k = 0; k < count; ++k, ++i) {
      if (i >= count) i = 0;
      Connection& connection = *m_connections[i];
      if (connection.broken) continue;
      if (connection.pending) {
        if (!connection.link.ready(m_generation)) {
          sweep |= connection.closing;
          continue;
        }
        connection.pending = false;
      }
      // Written once, where the caller wants it (its inline index, its connection).
      const Receipt receipt =
          connection.link.take(out, m_inline[spare].data(), kInlineSampleBase + spare, &connection);
      if (receipt == Receipt::corrupted) {
        refuse(connection, connection.link.bad_entry());
        m_report_pending = false;  // reported right here
        sweep_connections();
        return receipt;
      }
      if (receipt == Receipt::sample) {
        if (out->index >= kInlineSampleBase) m_inline_free.pop_back();
        ++connection.borrowed;
        ++m_borrowed;
        ++m_refs;
        m_next = i + 1;
        return receipt;
      }
      sweep |= connection.closing;
    }
    if (sweep) sweep_connections();
    if (m_fifo >= 0) rearm_fifo();
    // Nothing to take: the slow path. Now and then check that nothing in shared memory went bad
    // (a corrupted publisher segment reads as "empty" forever, which must not pass for silence).
    if (++m_empty_polls >= kCheckEvery) {
      m_empty_polls = 0;
      check();
    }
    if (m_broken || m_report_pending) {
      m_report_pending = false;
      return Receipt::corrupted;
    }
    return Receipt::nothing;
  }

  void release(void* connection_ptr, std::uint32_t index) noexcept {
    auto& connection = *static_cast<Connection*>(connection_ptr);
    if (index >= kInlineSampleBase) {
      m_inline_free.push_back(index - kInlineSampleBase);  // no chunk to give back
    } else if (!connection.broken) {
      connection.link.release(index);
    }
    --connection.borrowed;
    --m_borrowed;
    if (connection.closing && connection.borrowed == 0) sweep_connections();
  }

  bool has_samples() noexcept {
    if (m_service->change_counter() != m_seen_change) update_connections();
    for (auto& connection : m_connections) {
      if (connection->broken) continue;
      if (connection->pending) {
        if (!connection->link.ready(m_generation)) continue;
        connection->pending = false;
      }
      if (!connection->link.empty()) return true;
    }
    return false;
  }

  WaitResult wait(std::chrono::nanoseconds timeout) noexcept {
    const std::int64_t deadline = monotonic_ns() + std::max<std::int64_t>(timeout.count(), 0);
    const std::uint64_t change_at_start = m_service->change_counter();
    for (;;) {
      if (m_broken || m_report_pending || has_samples() ||
          m_service->change_counter() != change_at_start) {
        return WaitResult::data_available;
      }
      std::int64_t remaining = deadline - monotonic_ns();
      if (remaining <= 0) {
        // Nothing came: make sure that is not because something in shared memory went bad. If
        // it did, receive() has an error to report.
        return check() ? WaitResult::timeout : WaitResult::data_available;
      }
      std::uint32_t seq = m_event->seq.load(std::memory_order_acquire);
      m_event->waiters.fetch_add(1, std::memory_order_seq_cst);
      std::atomic_thread_fence(std::memory_order_seq_cst);
      int result = 0;
      if (!has_samples() && m_service->change_counter() == change_at_start) {
        result = futex_wait(&m_event->seq, seq, std::chrono::nanoseconds(remaining));
      }
      m_event->waiters.fetch_sub(1, std::memory_order_relaxed);
      if (result == EINTR) return WaitResult::interrupted;
    }
  }

  std::size_t update_connections() noexcept {
    std::uint64_t counter = m_service->change_counter();
    if (counter != m_seen_change) {
      // The slots changed: check them (and the rest of the service segment) before using them.
      m_seen_change = counter;
      if (std::string why = m_service->verify(); !why.empty()) break_port(why);
    }
    if (m_broken) return 0;
    PublisherSlot* slots = m_service->publisher_slots();
    for (std::uint32_t s = 0; s < m_service->options().max_publishers; ++s) {
      std::uint64_t word = slots[s].word.load(std::memory_order_acquire);
      bool active = slot_state(word) == kActive;
      std::uint64_t generation = port_word_generation(word);
      Connection* live = nullptr;
      for (auto& connection : m_connections) {
        if (connection->slot == s && !connection->closing) live = connection.get();
      }
      if (live != nullptr && (!active || live->generation != generation)) {
        live->closing = true;  // drained, then dropped
        live = nullptr;
      }
      if (m_refused[s] != 0 && m_refused[s] != generation) m_refused[s] = 0;  // moved on
      if (active && live == nullptr && m_refused[s] != generation) connect(s, generation);
    }
    sweep_connections();
    std::size_t connected = 0;
    for (auto& connection : m_connections)
      connected += connection->closing ? 0 : 1;
    return connected;
  }

  // Checks the service segment and every connected publisher segment now. True when all is
  // consistent; else receive() reports ReceiveError::corrupted (corruption() says what).
  bool check() noexcept {
    if (m_broken) return false;
    if (std::string why = m_service->verify(); !why.empty()) {
      break_port(why);
      return false;
    }
    for (auto& connection : m_connections) {
      if (connection->broken) continue;
      std::string why = connection->link.verify(m_generation, !connection->pending);
      if (!why.empty()) refuse(*connection, why);
    }
    sweep_connections();
    return !m_report_pending;
  }

  // What the last corrupted error was about.
  std::string corruption() const { return m_corruption; }
  SubscriberId id() const noexcept { return {m_slot, m_generation}; }

  SampleHeader sample_header(const void* connection_ptr, std::uint32_t index,
                             std::uint32_t position) const noexcept {
    const auto& connection = *static_cast<const Connection*>(connection_ptr);
    ChunkHeader header{};  // an inline payload has no chunk, and no publish time
    if (index < kInlineSampleBase)
      std::memcpy(&header, connection.link.header(index), sizeof header);
    return {{connection.slot, connection.generation},
            connection.link.sequence_at(position),
            header.publish_time_ns};
  }
  const void* user_header(const void* connection_ptr, std::uint32_t index, std::size_t size,
                          std::size_t alignment) const noexcept {
    const auto& connection = *static_cast<const Connection*>(connection_ptr);
    const PublisherConfig& config = connection.link.config();
    if (size != config.user_header_size || alignment != config.user_header_alignment) {
      return nullptr;
    }
    return connection.link.header(index) + user_header_offset(config.user_header_alignment);
  }
  std::uint64_t lost_samples() noexcept {
    if (m_service->change_counter() != m_seen_change) update_connections();
    std::uint64_t lost = m_lost_departed;
    for (auto& connection : m_connections) {
      if (connection->broken) continue;
      if (connection->pending) {
        if (!connection->link.ready(m_generation)) continue;
        connection->pending = false;
      }
      lost += connection->link.lost();
    }
    return lost;
  }

  // The notification FIFO (created on first use): readable whenever receive() may return a
  // sample or an error, or a publisher connected or left. See Event.
  Expected<int, SysError> notification_fd() noexcept {
    if (m_fifo < 0) {
      auto fifo = fifo_create(m_service->subscriber_fifo(m_slot, m_generation));
      if (!fifo && fifo.error().err == EEXIST) {
        // Left by a dead subscriber of an earlier incarnation of the service: not in use.
        shm_remove(m_service->subscriber_fifo(m_slot, m_generation));
        fifo = fifo_create(m_service->subscriber_fifo(m_slot, m_generation));
      }
      if (!fifo) return fifo;
      m_fifo = *fifo;
      rearm_fifo();
    }
    return m_fifo;
  }

  void retain() noexcept { ++m_refs; }
  void drop() noexcept {
    if (--m_refs == 0) delete this;
  }

 private:
  struct Connection {
    SubscriberConnection link;
    std::shared_ptr<Mapping> mapping;
    std::string name;  // of the publisher's segment
    std::uint32_t slot = 0;
    std::uint64_t generation = 0;
    std::uint32_t borrowed = 0;
    bool pending = true;   // the publisher has not reset our channel yet
    bool closing = false;  // the publisher left: drain, then drop
    bool broken = false;   // the publisher's segment handed out garbage
  };

  // Called when receive() found nothing. While the armed bit is set no publisher has written to
  // the FIFO since it was armed: nothing to do (one load). Else a publisher cleared it and wrote
  // a byte, which the caller has seen: drain the FIFO, arm again, and look once more (a sample
  // queued before the arming was seen by nobody), poking our own FIFO if one is there.
  void rearm_fifo() noexcept {
    if ((m_event->waiters.load(std::memory_order_relaxed) & kFdArmed) != 0) return;
    fifo_drain(m_fifo);
    m_event->waiters.fetch_or(kFdArmed, std::memory_order_seq_cst);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (m_broken || m_report_pending || has_samples()) fire_own_fifo();
  }
  // As a publisher would: disarm, then the byte (so that the next empty receive drains it).
  void fire_own_fifo() noexcept {
    if ((m_event->waiters.fetch_and(~kFdArmed, std::memory_order_acq_rel) & kFdArmed) != 0) {
      fifo_poke(m_fifo);
    }
  }

  // The service segment failed its checks: nothing of it can be trusted any more.
  void break_port(const std::string& why) {
    m_broken = true;
    m_corruption = why;
    for (auto& connection : m_connections) {
      connection->broken = true;
      connection->closing = true;
    }
  }

  // Remembers that the publisher segment `name` (slot, generation) failed: no reconnection to
  // it, and a corrupted error for the next receive().
  void note_refused(std::uint32_t slot, std::uint64_t generation, const std::string& name,
                    const std::string& why) {
    m_refused[slot] = generation;
    m_corruption = "publisher segment " + name + ": " + why;
    m_report_pending = true;
  }

  // That connection's segment failed: it is dropped (the others keep working).
  void refuse(Connection& connection, const std::string& why) {
    connection.broken = true;
    connection.closing = true;
    note_refused(connection.slot, connection.generation, connection.name, why);
  }

  void connect(std::uint32_t slot, std::uint64_t generation) noexcept {
    std::string name = m_service->publisher_segment(slot, generation);
    auto opened = shm_open_existing(name);
    if (!opened) {
      // ENOENT: gone already (the slot change that follows tells us). A slot is active only
      // once its segment is complete, so an empty or foreign one is not a publisher's doing.
      int err = opened.error().err;
      if (err == ENODATA || err == EACCES) {
        note_refused(slot, generation, name, opened.error().what);
      }
      return;
    }
    const Mapping& mapping = *opened->mapping;
    std::string why;
    auto link = SubscriberConnection::attach(mapping.data(), mapping.size(), m_slot, &why);
    if (!link) {
      note_refused(slot, generation, name, why);
      return;
    }
    const PublisherConfig& config = link->config();
    const ServiceConfig& service = m_service->config();
    bool consistent = config.service_hash == service.name_hash && config.generation == generation &&
                      config.slot == slot && config.num_channels == service.max_subscribers &&
                      config.max_payload_bytes % service.type_size == 0 &&
                      config.payload_alignment == service.type_alignment &&
                      config.submission_capacity == next_pow2(service.subscriber_max_buffer_size) &&
                      (config.safe_overflow == 1) == (service.overflow == 0) &&
                      config.user_header_size == service.user_header_size &&
                      config.user_header_alignment == service.user_header_alignment;
    if (!consistent) {
      note_refused(slot, generation, name,
                   "its configuration does not match the service's or its name");
      return;
    }
    if (opened->fresh) {
      // Only the publisher writes headers and payloads: map them read-only here.
      opened->mapping->protect_read_only(config.headers_offset,
                                         config.total_size - config.headers_offset);
    }
    auto connection = std::make_unique<Connection>();
    connection->link = *link;
    connection->mapping = std::move(opened->mapping);
    connection->name = std::move(name);
    connection->slot = slot;
    connection->generation = generation;
    m_connections.push_back(std::move(connection));
  }

  void sweep_connections() noexcept {
    std::erase_if(m_connections, [this](const std::unique_ptr<Connection>& connection) {
      bool gone =
          connection->closing && connection->borrowed == 0 &&
          (connection->broken || !connection->link.ready(m_generation) || connection->link.empty());
      if (gone && !connection->broken && !connection->pending) {
        m_lost_departed += connection->link.lost();
      }
      return gone;
    });
    if (m_next >= m_connections.size()) m_next = 0;
  }

  std::shared_ptr<ServiceImpl> m_service;
  bool m_active = false;
  bool m_broken = false;          // the service segment failed its checks: for good
  bool m_report_pending = false;  // a publisher segment failed: tell the next receive()
  std::uint32_t m_slot = 0;
  std::uint64_t m_generation = 0;
  Event* m_event = nullptr;
  std::uint32_t m_refs = 1;  // the handle + one per borrowed sample
  std::uint32_t m_borrowed = 0;
  std::uint32_t m_max_borrowed = 1;
  // The inline payloads this subscriber holds (one buffer per Sample at most: reserved for
  // max_borrowed at creation, so they never move), and those free.
  std::vector<std::array<std::uint64_t, kInlineBytes / 8>> m_inline;
  std::vector<std::uint32_t> m_inline_free;
  std::uint32_t m_empty_polls = 0;
  std::size_t m_next = 0;
  std::uint64_t m_seen_change = ~std::uint64_t{0};
  std::vector<std::unique_ptr<Connection>> m_connections;
  std::vector<std::uint64_t> m_refused;  // per publisher slot: a generation that failed, or 0
  std::string m_corruption;
  int m_fifo = -1;                    // the notification FIFO, once asked for
  std::uint64_t m_lost_departed = 0;  // lost_samples() of connections dropped since
};

Expected<SubscriberPort*, Error<SubscriberCreateError>> create_subscriber(
    const std::shared_ptr<ServiceImpl>& service) {
  auto* port = new SubscriberPort(service);
  if (auto result = port->init(); !result) {
    Error<SubscriberCreateError> error = result.error();
    port->drop();
    return unexpected(std::move(error));
  }
  return port;
}

void subscriber_retain(SubscriberPort* port) noexcept {
  port->retain();
}
void subscriber_drop(SubscriberPort* port) noexcept {
  port->drop();
}
Receipt subscriber_receive(SubscriberPort* port, Received* out) noexcept {
  return port->receive(out);
}
void subscriber_release(SubscriberPort* port, void* connection, std::uint32_t index) noexcept {
  port->release(connection, index);
  port->drop();
}
bool subscriber_has_samples(SubscriberPort* port) noexcept {
  return port->has_samples();
}
WaitResult subscriber_wait(SubscriberPort* port, std::chrono::nanoseconds timeout) noexcept {
  return port->wait(timeout);
}
std::size_t subscriber_update_connections(SubscriberPort* port) noexcept {
  return port->update_connections();
}
bool subscriber_check(SubscriberPort* port) noexcept {
  return port->check();
}
SubscriberId subscriber_id(const SubscriberPort* port) noexcept {
  return port->id();
}
std::string subscriber_corruption(const SubscriberPort* port) {
  return port->corruption();
}
SampleHeader subscriber_sample_header(const SubscriberPort* port, const void* connection,
                                      std::uint32_t index, std::uint32_t position) noexcept {
  return port->sample_header(connection, index, position);
}
const void* subscriber_user_header(const SubscriberPort* port, const void* connection,
                                   std::uint32_t index, std::size_t size,
                                   std::size_t alignment) noexcept {
  return port->user_header(connection, index, size, alignment);
}
std::uint64_t subscriber_lost_samples(SubscriberPort* port) noexcept {
  return port->lost_samples();
}
Expected<int, Error<WaitSetError>> subscriber_notification_fd(SubscriberPort* port) {
  auto fd = port->notification_fd();
  if (!fd) return unexpected(Error<WaitSetError>{WaitSetError::system, fd.error().what});
  return *fd;
}

}  // namespace zerocopy::detail

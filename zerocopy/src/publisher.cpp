// The publisher: owns a chunk pool in its own segment, and one channel (submission queue,
// completion queue) per subscriber slot.
//
// Reference counts live in the publisher's process, not in shared memory: the publisher is the
// only one who hands chunks out and the only one who takes them back (from the completion
// queues), so a chunk's count is just "loans + subscribers it is queued for or held by + 1 if in
// the history", changed by one thread. Each channel also keeps a bit per chunk: "in flight to
// this subscriber". That bit is what makes the returned indices trustworthy (a chunk a
// subscriber did not get, or returns twice, is ignored) and what lets the publisher take back
// everything a subscriber held when that subscriber leaves or dies.
//
// Pool size: max_loaned_samples + history_size + max_subscribers * (subscriber_max_buffer_size
// + subscriber_max_borrowed_samples). After the completion queues are drained, a subscriber holds
// at most buffer + borrowed chunks, so a loan can always be served.
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <new>
#include <utility>
#include <vector>

#include "internal.hpp"

namespace zerocopy::detail {

namespace {
// Up to this size a sent payload is demoted to the shared cache (see send()); beyond it the
// hint would push the publisher's own working set out for little gain.
constexpr std::size_t kDemoteMaxBytes = 4096;
// Completion entries taken back at a time before the pool runs dry: one cache line of them.
constexpr std::uint32_t kReclaimBatch = 8;
}  // namespace

class PublisherPort {
 public:
  PublisherPort(std::shared_ptr<ServiceImpl> service, const PublisherRequest& request)
      : m_service(std::move(service)),
        m_request(request),
        m_safe_overflow(m_service->options().overflow == Overflow::safe_overflow) {}

  ~PublisherPort() {
    for (Channel& channel : m_channels)
      close_fifo(channel);
    if (m_active) m_service->release_publisher(m_slot, m_generation);
  }

  Expected<void, Error<PublisherCreateError>> init();

  // ---- hot path ----
  Expected<Loan, LoanError> loan(std::size_t bytes) noexcept {
    if (m_loans >= m_request.max_loaned_samples) return unexpected(LoanError::exceeds_max_loans);
    if (bytes > m_config.max_payload_bytes) return unexpected(LoanError::exceeds_max_slice_len);
    // Half the pool in use: take back a cache line's worth of returned chunks now, rather than
    // all of them in one burst once the pool runs dry (which showed as a slow 1% of sends).
    if (m_free.size() * 2 < m_config.num_chunks) reclaim(kReclaimBatch);
    if (m_free.empty()) reclaim();
    if (m_free.empty()) return unexpected(LoanError::out_of_chunks);
    std::uint32_t index = m_free.back();
    m_free.pop_back();
    m_refcount[index] = 1;
    ++m_loans;
    ++m_refs;
    return Loan{m_chunks + std::uint64_t{index} * m_config.chunk_stride, index};
  }

  // `target`, when given, is the one subscriber to deliver to (request-response: a response goes
  // to the client that asked); if it is not connected (any more), nobody receives the sample.
  Expected<std::size_t, SendError> send(std::uint32_t index, std::size_t bytes,
                                        const SubscriberId* target = nullptr) noexcept {
    --m_loans;
    if (m_service->change_counter() != m_seen_change) update_connections();
    // Now and then (and for good once something failed): the slow-path checks.
    if (m_broken || ++m_sends_since_check >= kCheckEvery) [[unlikely]] {
      m_sends_since_check = 0;
      if (!check()) {
        unref(index);
        return unexpected(SendError::corrupted);
      }
    }
    if (!m_safe_overflow) {
      if (Room room = wait_for_room(); room != Room::available) {
        unref(index);
        return unexpected(room == Room::timeout ? SendError::timeout : SendError::corrupted);
      }
    }
    // The chunk's metadata, published by the queue entries' release stores below (the sequence
    // number follows from the queue positions: see ChannelControl::first_sequence).
    ++m_sequence;
    if (m_request.timestamps) [[unlikely]]
      chunk_header(index)->publish_time_ns = monotonic_ns();
    QueueEntry entry{index, static_cast<std::uint32_t>(bytes)};
    const bool in_line = m_config.inline_bytes != 0;  // the payload goes into the queue slots
    // For a subscriber in another process, a small payload's lines go to the shared cache before
    // the entry that announces them, so it fetches both from there at once instead of snooping
    // this core for one after the other. (In one process the hint would only cost: the reader
    // is this core.)
    if (m_demote && !in_line && bytes <= kDemoteMaxBytes) {
      const std::byte* chunk = m_chunks + std::uint64_t{index} * m_config.chunk_stride;
      for (std::size_t at = 0; at < std::max<std::size_t>(bytes, 1); at += 64) {
        cache_demote(chunk + at);
      }
    }
    std::uint32_t delivered = 0;
    if (target == nullptr) [[likely]] {
      for (std::uint32_t c : m_connected)
        delivered += deliver(m_channels[c], entry);
      if (delivered != 0 && m_request.wake_on_send) notify_subscribers();
    } else if (target->slot < m_channels.size() && m_channels[target->slot].connected &&
               m_channels[target->slot].generation == target->generation) {
      Channel& channel = m_channels[target->slot];
      delivered = deliver(channel, entry);
      if (delivered != 0 && m_request.wake_on_send) notify_subscribers(&channel);
    }
    // An inline payload was copied into the queues: the chunk is free again at once.
    if (!in_line) m_refcount[index] += delivered;
    if (m_service->options().history_size != 0) remember(entry);
    unref(index);  // the loan's reference
    if (m_demote && !in_line) announce_next_chunk();
    if (m_broken) [[unlikely]] {
      return unexpected(SendError::corrupted);  // a queue was found broken on the way
    }
    return std::size_t{delivered};
  }

  // Decides now which chunk the next loan takes (taking back returned chunks as loan() would)
  // and tells the subscribers in other processes, which prefetch it while they poll.
  [[gnu::noinline]] void announce_next_chunk() noexcept {
    if (m_free.size() * 2 < m_config.num_chunks) reclaim(kReclaimBatch);
    if (m_free.empty()) return;
    const std::uint64_t next = m_free.back();
    for (std::uint32_t c : m_connected) {
      Channel& channel = m_channels[c];
      if (channel.remote && channel.next_chunk != next) {
        channel.control->next_chunk.store(next, std::memory_order_relaxed);
        channel.next_chunk = next;
      }
    }
  }

  void return_loan(std::uint32_t index) noexcept {
    --m_loans;
    unref(index);
  }

  // Publisher::notify(): wakes the connected subscribers that sleep, whatever woke them before.
  std::size_t notify() noexcept {
    if (m_service->change_counter() != m_seen_change) update_connections();
    if (m_broken) return 0;
    return notify_subscribers();
  }
  std::uint64_t wakeups() const noexcept { return m_wakeups; }

  // ---- connections ----
  std::size_t update_connections() noexcept {
    std::uint64_t counter = m_service->change_counter();
    if (counter != m_seen_change) {
      // The slots changed: check them (and the rest of the service segment) before using them.
      m_seen_change = counter;
      if (std::string why = m_service->verify(); !why.empty()) break_port(why);
    }
    if (m_broken) return 0;
    SubscriberSlot* slots = m_service->subscriber_slots();
    bool changed = false;
    for (std::uint32_t s = 0; s < m_channels.size(); ++s) {
      std::uint64_t word = slots[s].word.load(std::memory_order_acquire);
      Channel& channel = m_channels[s];
      bool active = slot_state(word) == kActive;
      std::uint64_t generation = port_word_generation(word);
      if (channel.connected && (!active || channel.generation != generation)) {
        disconnect(channel);
        changed = true;
      }
      if (active && !channel.connected) {
        connect(channel, s, generation);
        channel.remote = m_service->node_pid(port_word_node(word)) != m_own_pid;
        changed = true;
      }
    }
    if (changed) {
      m_connected.clear();
      m_demote = false;
      for (std::uint32_t s = 0; s < m_channels.size(); ++s) {
        if (!m_channels[s].connected) continue;
        m_connected.push_back(s);
        m_demote |= m_channels[s].remote;
      }
    }
    return m_connected.size();
  }

  bool wait_for_subscribers(std::size_t count, std::chrono::nanoseconds timeout) noexcept {
    const std::int64_t deadline = monotonic_ns() + std::max<std::int64_t>(timeout.count(), 0);
    for (;;) {
      // Read before looking: a change after this read makes the futex wait return at once.
      auto seen = static_cast<std::uint32_t>(m_service->change_counter());
      if (update_connections() >= count) return true;
      if (m_broken) return false;
      std::int64_t remaining = deadline - monotonic_ns();
      if (remaining <= 0) return false;
      futex_wait_low32(&m_service->change_counter_word(), seen,
                       std::chrono::nanoseconds(remaining));
    }
  }

  std::uint32_t chunks_in_use() noexcept {
    reclaim();
    return m_config.num_chunks - static_cast<std::uint32_t>(m_free.size());
  }
  std::uint32_t chunks_total() const noexcept { return m_config.num_chunks; }

  // The slow-path checks: the service's segment (verify), our own segment's header, and each
  // channel's words: connected_generation as we set it, the subscriber's submission head no
  // further than our tail and at most a capacity behind it, the completion head (ours) where
  // we left it. True when all is consistent; else the publisher is broken for good.
  bool check() noexcept {
    if (m_broken) return false;
    if (std::string why = m_service->verify(); !why.empty()) {
      break_port(why);
      return false;
    }
    if (std::string why = find_corruption(); !why.empty()) {
      break_port("publisher segment " + m_mapping_name + ": " + why);
      return false;
    }
    return true;
  }
  std::string corruption() const { return m_corruption; }
  std::size_t max_elements() const noexcept { return m_request.max_elements; }
  PublisherId id() const noexcept { return {m_slot, m_generation}; }
  void* user_header(std::uint32_t index, std::size_t size, std::size_t alignment) noexcept {
    if (size != m_config.user_header_size || alignment != m_config.user_header_alignment) {
      return nullptr;
    }
    return reinterpret_cast<std::byte*>(chunk_header(index)) +
           user_header_offset(m_config.user_header_alignment);
  }

  void retain() noexcept { ++m_refs; }
  void drop() noexcept {
    if (--m_refs == 0) delete this;
  }

 private:
  struct Channel {
    ChannelControl* control = nullptr;
    IndexQueue submission;
    IndexQueue completion;
    Event* subscriber_event = nullptr;
    std::uint64_t tail = 0;        // submission: our position
    std::uint64_t head_cache = 0;  // submission: the subscriber's position, last seen
    std::uint64_t taken = 0;       // completion: entries we popped (so: its head)
    std::uint64_t generation = 0;  // the subscriber's generation
    bool connected = false;
    bool remote = false;                           // the subscriber is in another process
    int fifo = -1;                                 // the subscriber's notification FIFO, once used
    std::uint64_t next_chunk = ~std::uint64_t{0};  // the hint last written
    std::vector<std::uint64_t> in_flight;          // bit per chunk
  };

  // Queues `entry` for one subscriber: 1 if it went in, 0 if the queue stayed full.
  std::uint32_t deliver(Channel& channel, QueueEntry entry) noexcept {
    if (channel.submission.full(channel.tail, channel.head_cache)) {
      if (!plausible_head(channel)) return 0;
      // Safe overflow: the oldest undelivered sample makes room. (Under backpressure the
      // queue has room: wait_for_room saw it, and only we fill it.)
      if (auto evicted = channel.submission.steal_oldest(channel.tail)) {
        if (evicted->index != kInlineIndex) take_back(channel, evicted->index);
        channel.control->lost.fetch_add(1, std::memory_order_relaxed);
      }
      if (channel.submission.full(channel.tail, channel.head_cache)) return 0;
    }
    if (m_config.inline_bytes != 0) {
      channel.submission.push_inline(
          channel.tail, m_chunks + std::uint64_t{entry.index} * m_config.chunk_stride, entry.size);
      if (channel.remote) {
        const auto* slot =
            static_cast<const std::byte*>(channel.submission.slot_address(channel.tail - 1));
        for (std::size_t at = 0; at < std::min<std::size_t>(entry.size + 8, kInlineSlotBytes);
             at += kCacheLine) {
          cache_demote(slot + at);
        }
      }
      return 1;
    }
    channel.submission.push(channel.tail, entry);
    if (channel.remote) cache_demote(channel.submission.slot_address(channel.tail - 1));
    channel.in_flight[entry.index >> 6] |= std::uint64_t{1} << (entry.index & 63);
    return 1;
  }

  void close_fifo(Channel& channel) noexcept {
    if (channel.fifo >= 0) ::close(std::exchange(channel.fifo, -1));
  }

  // The subscriber of `channel` sleeps on its futex, or waits on its notification FIFO (see
  // Event): wake it. `waiters` is the value read after the fence.
  [[gnu::noinline]] void wake(Channel& channel, std::uint32_t waiters) noexcept {
    Event& event = *channel.subscriber_event;
    if ((waiters & ~kFdArmed) != 0) {
      event.seq.fetch_add(1, std::memory_order_release);
      futex_wake_all(&event.seq);
      ++m_wakeups;
    }
    // One byte per arming, whichever publisher finds the bit first.
    if ((waiters & kFdArmed) != 0 &&
        (event.waiters.fetch_and(~kFdArmed, std::memory_order_acq_rel) & kFdArmed) != 0) {
      if (channel.fifo < 0) {
        auto slot = static_cast<std::uint32_t>(&channel - m_channels.data());
        channel.fifo = fifo_open_writer(m_service->subscriber_fifo(slot, channel.generation));
      }
      if (channel.fifo >= 0) {
        fifo_poke(channel.fifo);
        ++m_wakeups;
      }
    }
  }

  ChunkHeader* chunk_header(std::uint32_t index) noexcept {
    return reinterpret_cast<ChunkHeader*>(m_headers +
                                          std::uint64_t{index} * m_config.header_stride);
  }

  void unref(std::uint32_t index) noexcept {
    if (--m_refcount[index] == 0) m_free.push_back(index);
  }

  // The subscriber gave `index` back (or it was evicted, or the subscriber left). A chunk it
  // does not hold cannot come back from an honest subscriber: the segment is not to be trusted
  // (the chunk is not taken back twice, and send reports corrupted).
  void take_back(Channel& channel, std::uint32_t index) noexcept {
    std::uint64_t bit = std::uint64_t{1} << (index & 63);
    if (index >= m_config.num_chunks || (channel.in_flight[index >> 6] & bit) == 0) [[unlikely]] {
      break_port("publisher segment " + m_mapping_name + ": subscriber slot " +
                 std::to_string(&channel - m_channels.data()) + " returned chunk " +
                 std::to_string(index) + ", which it does not hold");
      return;
    }
    channel.in_flight[index >> 6] &= ~bit;
    unref(index);
  }

  // A full-looking submission queue whose head passed our tail was not moved by an honest
  // subscriber.
  bool plausible_head(Channel& channel) noexcept {
    if (channel.head_cache <= channel.tail) [[likely]]
      return true;
    break_port("publisher segment " + m_mapping_name + ": the submission head of subscriber slot " +
               std::to_string(&channel - m_channels.data()) + " is " +
               std::to_string(channel.head_cache) + ", past its tail " +
               std::to_string(channel.tail));
    return false;
  }

  void break_port(std::string why) noexcept {
    if (!m_broken) m_corruption = std::move(why);
    m_broken = true;
  }

  std::string find_corruption() const {
    const auto* header = reinterpret_cast<const PublisherHeader*>(m_mapping->data());
    if (std::uint32_t state = header->state.load(std::memory_order_acquire); state != kStateReady) {
      return "its state word is " + std::to_string(state);
    }
    PublisherConfig now;
    std::memcpy(&now, &header->config, sizeof now);
    if (std::memcmp(&now, &m_config, sizeof now) != 0) {
      return std::string("its static configuration was overwritten") +
             (checksum_of(now) != now.checksum ? " and fails its checksum" : "");
    }
    for (std::uint32_t c = 0; c < m_channels.size(); ++c) {
      const Channel& channel = m_channels[c];
      std::uint64_t generation =
          channel.control->connected_generation.load(std::memory_order_acquire);
      if (generation != (channel.connected ? channel.generation : 0)) {
        return "channel " + std::to_string(c) + " names subscriber generation " +
               std::to_string(generation);
      }
      if (!channel.connected) continue;
      std::uint64_t head = channel.submission.head();
      if (head > channel.tail || channel.tail - head > channel.submission.capacity()) {
        return "the submission head of channel " + std::to_string(c) + " is " +
               std::to_string(head) + ", its tail " + std::to_string(channel.tail);
      }
      if (channel.completion.head() != channel.taken) {
        return "the completion head of channel " + std::to_string(c) + " is " +
               std::to_string(channel.completion.head()) + ", " + std::to_string(channel.taken) +
               " entries were taken";
      }
    }
    return {};
  }

  // Takes back what the subscribers gave back: up to `limit` entries from each completion
  // queue (by default all of them; bounded, so a subscriber cannot keep us here refilling it).
  void reclaim(std::uint32_t limit = ~std::uint32_t{0}) noexcept {
    for (std::uint32_t c : m_connected) {
      Channel& channel = m_channels[c];
      const std::uint32_t most = std::min(limit, channel.completion.capacity());
      for (std::uint32_t n = 0; n < most; ++n) {
        auto entry = channel.completion.pop();
        if (!entry) break;
        ++channel.taken;
        take_back(channel, entry->index);
      }
    }
  }

  // After pushing: wake the subscribers that sleep. The fence orders our entries (stored before
  // it) before the reads of the sleeper counts; a subscriber registers as sleeper, fences, then
  // re-checks its queues, so either it sees our entry or we see it sleeping (subscriber.cpp has
  // the argument). A fence rather than seq_cst stores: a locked store would wait for the payload's
  // cache lines before even asking for the slot's, putting two transfers in a row on the path to
  // the subscriber; with a plain store both are requested at once and the fence only holds us.
  // Returns how many subscribers it woke. `only`: that subscriber alone (a targeted send).
  std::size_t notify_subscribers(Channel* only = nullptr) noexcept {
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (only != nullptr) return wake_if_sleeping(*only);
    std::size_t woken = 0;
    for (std::uint32_t c : m_connected)
      woken += wake_if_sleeping(m_channels[c]);
    return woken;
  }
  // After notify_subscribers()'s fence: 1 if the channel's subscriber slept and was woken.
  std::size_t wake_if_sleeping(Channel& channel) noexcept {
    std::uint32_t waiters = channel.subscriber_event->waiters.load(std::memory_order_relaxed);
    if (waiters == 0) [[likely]]
      return 0;
    wake(channel, waiters);
    return 1;
  }

  void remember(QueueEntry entry) noexcept {
    std::uint32_t capacity = m_service->options().history_size;
    if (m_history_count == capacity) {
      unref(m_history[m_history_start].index);
      m_history_start = (m_history_start + 1) % capacity;
      --m_history_count;
    }
    m_history[(m_history_start + m_history_count) % capacity] = entry;
    ++m_history_count;
    ++m_refcount[entry.index];
  }

  void connect(Channel& channel, std::uint32_t slot, std::uint64_t generation) noexcept {
    // The subscriber does not read the channel until connected_generation names it (below,
    // release), so resetting it here races with nobody.
    channel.submission.reset();
    channel.completion.reset();
    channel.tail = 0;
    channel.head_cache = 0;
    channel.taken = 0;
    std::fill(channel.in_flight.begin(), channel.in_flight.end(), 0);
    channel.control->lost.store(0, std::memory_order_relaxed);
    channel.control->next_chunk.store(~std::uint64_t{0}, std::memory_order_relaxed);
    channel.next_chunk = ~std::uint64_t{0};
    channel.generation = generation;
    channel.connected = true;
    channel.subscriber_event = &m_service->subscriber_slots()[slot].event;
    // A late subscriber gets the history, oldest first.
    std::uint32_t capacity = m_service->options().history_size;
    std::uint32_t count = std::min(m_history_count, channel.submission.capacity());
    channel.control->first_sequence.store(m_sequence - count + 1, std::memory_order_relaxed);
    for (std::uint32_t k = m_history_count - count; k < m_history_count; ++k) {
      QueueEntry entry = m_history[(m_history_start + k) % capacity];
      channel.submission.push(channel.tail, entry);
      channel.in_flight[entry.index >> 6] |= std::uint64_t{1} << (entry.index & 63);
      ++m_refcount[entry.index];
    }
    channel.control->connected_generation.store(generation, std::memory_order_release);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    Event& event = *channel.subscriber_event;
    // Unconditionally: a subscriber that is about to sleep reads seq before its re-check.
    event.seq.fetch_add(1, std::memory_order_release);
    futex_wake_all(&event.seq);
    std::uint32_t waiters = event.waiters.load(std::memory_order_relaxed);
    if ((waiters & kFdArmed) != 0) wake(channel, kFdArmed);
  }

  void disconnect(Channel& channel) noexcept {
    close_fifo(channel);
    channel.control->connected_generation.store(0, std::memory_order_release);
    for (std::uint32_t w = 0; w < channel.in_flight.size(); ++w) {
      std::uint64_t bits = channel.in_flight[w];
      while (bits != 0) {
        std::uint32_t index = w * 64 + static_cast<std::uint32_t>(std::countr_zero(bits));
        bits &= bits - 1;
        unref(index);
      }
      channel.in_flight[w] = 0;
    }
    channel.connected = false;
  }

  // Backpressure: waits until no connected subscriber's queue is full. Subscribers that leave or
  // die while we wait are dropped (their queues no longer count). Checks the shared memory as it
  // waits (every 10 ms).
  enum class Room { available, timeout, corrupted };
  Room wait_for_room() noexcept;

  std::shared_ptr<ServiceImpl> m_service;
  PublisherRequest m_request;
  bool m_safe_overflow;
  bool m_active = false;
  std::uint32_t m_slot = 0;
  std::uint64_t m_generation = 0;
  std::shared_ptr<Mapping> m_mapping;
  PublisherConfig m_config{};
  std::byte* m_chunks = nullptr;
  std::byte* m_headers = nullptr;  // ChunkHeader + user header per chunk
  std::uint64_t m_sequence = 0;    // samples sent
  std::uint64_t m_wakeups = 0;     // futex wakes and FIFO pokes made (wakeups())
  std::uint32_t m_refs = 1;        // the handle + one per loan
  std::uint32_t m_loans = 0;
  std::vector<std::uint32_t> m_free;  // LIFO: the chunk used last is reused first (warm)
  std::vector<std::uint32_t> m_refcount;
  std::vector<Channel> m_channels;         // one per subscriber slot
  std::vector<std::uint32_t> m_connected;  // indices of connected channels
  bool m_demote = false;  // a connected subscriber is in another process: demote what we send
  std::uint32_t m_own_pid = static_cast<std::uint32_t>(::getpid());
  std::vector<QueueEntry> m_history;
  std::uint32_t m_history_start = 0;
  std::uint32_t m_history_count = 0;
  std::uint64_t m_seen_change = ~std::uint64_t{0};
  std::uint32_t m_sends_since_check = 0;
  bool m_broken = false;  // something in shared memory failed its checks: every send says so
  std::string m_corruption;
  std::string m_mapping_name;
};

Expected<void, Error<PublisherCreateError>> PublisherPort::init() {
  auto fail = [](PublisherCreateError code, std::string message) {
    return unexpected(Error<PublisherCreateError>{code, std::move(message)});
  };
  const ServiceOptions& options = m_service->options();
  const ServiceConfig& service = m_service->config();
  if (m_request.max_loaned_samples == 0) {
    return fail(PublisherCreateError::invalid_options, "max_loaned_samples must be at least 1");
  }
  if (m_request.max_elements == 0) {
    return fail(PublisherCreateError::invalid_options, "max_slice_len must be at least 1");
  }
  if (std::string why = m_service->verify(); !why.empty()) {
    return fail(PublisherCreateError::corrupted, why);
  }
  std::uint64_t chunks =
      std::uint64_t{m_request.max_loaned_samples} + options.history_size +
      std::uint64_t{options.max_subscribers} *
          (options.subscriber_max_buffer_size + options.subscriber_max_borrowed_samples);
  if (chunks > kMaxChunks) {
    return fail(PublisherCreateError::invalid_options,
                "the pool would need " + std::to_string(chunks) + " chunks, at most " +
                    std::to_string(kMaxChunks) +
                    " are possible: lower max_subscribers or the buffer sizes");
  }
  if (m_request.max_elements > 0xffffffffULL / service.type_size) {
    return fail(PublisherCreateError::invalid_options,
                "max_slice_len = " + std::to_string(m_request.max_elements) +
                    " is too large: a sample holds less than 4 GiB");
  }
  auto slot = m_service->claim_publisher_slot();
  if (!slot) {
    return fail(PublisherCreateError::exceeds_max_publishers,
                "service '" + m_service->name() + "' already has max_publishers = " +
                    std::to_string(options.max_publishers) + " publishers");
  }
  m_slot = slot->first;
  m_generation = slot->second;
  m_active = true;  // from here on, the destructor releases the slot

  PublisherParams params{};
  params.service_hash = service.name_hash;
  params.generation = m_generation;
  params.slot = m_slot;
  params.num_channels = options.max_subscribers;
  params.num_chunks = static_cast<std::uint32_t>(chunks);
  params.buffer_size = options.subscriber_max_buffer_size;
  params.max_payload_bytes = m_request.max_elements * service.type_size;
  params.payload_alignment = service.type_alignment;
  params.safe_overflow = m_safe_overflow;
  params.publisher_may_block =
      !m_safe_overflow && m_request.backpressure_wait == BackpressureWait::block;
  params.user_header_size = service.user_header_size;
  params.user_header_alignment = service.user_header_alignment;
  // Small payloads travel inline in the queue slots: where nothing else needs the chunk after the
  // send (no user header, no history, no publish time) and the payload fits.
  params.inline_bytes = m_request.inline_payloads && params.max_payload_bytes <= kInlineBytes &&
                                service.user_header_size == 0 && options.history_size == 0 &&
                                !m_request.timestamps && service.type_alignment <= 8
                            ? kInlineBytes
                            : 0;
  auto layout = publisher_layout(params);
  if (!layout)
    return fail(PublisherCreateError::invalid_options, "the pool's sizes are out of range");
  m_config = *layout;
  auto too_large = [&](const std::string& why) {
    return fail(PublisherCreateError::insufficient_memory,
                "the publisher's segment, " + std::to_string(chunks) + " chunks of " +
                    describe_bytes(m_config.chunk_stride, false) + ", " + why);
  };
  if (m_config.total_size > kMaxSegmentBytes) {
    return too_large(
        describe_shortfall(m_config.total_size, kMaxSegmentBytes, "a segment may have"));
  }
  // Only the header and the queues are allocated now (they are written here); the chunks cost
  // memory as they are first used, unless the caller asked for all of it at once.
  std::string name = m_service->publisher_segment(m_slot, m_generation);
  ShmCommit commit{.reserve = m_config.chunks_offset, .populate = m_request.prefault};
  auto mapping = shm_create(name, m_config.total_size, commit);
  if (!mapping && mapping.error().err == EEXIST) {
    // Left by a dead publisher of an earlier incarnation of this service (generations restart
    // when a service is re-created) that nobody cleaned: it is not in use, replace it.
    shm_remove(name);
    mapping = shm_create(name, m_config.total_size, commit);
  }
  if (!mapping) {
    int err = mapping.error().err;
    if (err == ENOSPC || err == EFBIG) {
      // The sentence starts with the segment's name; say what the segment is instead.
      std::string what = mapping.error().what;
      if (what.starts_with(name + " ")) what.erase(0, name.size() + 1);
      return too_large(what);
    }
    return fail(PublisherCreateError::system, mapping.error().what);
  }
  m_mapping = *mapping;  // (a copy: moving out trips a false -Wmaybe-uninitialized in g++ 12)
  m_mapping_name = name;
  std::byte* base = m_mapping->data();
  auto* header = new (base) PublisherHeader{};
  header->config = m_config;
  m_channels.resize(m_config.num_channels);
  for (std::uint32_t c = 0; c < m_config.num_channels; ++c) {
    std::byte* at = base + m_config.channels_offset + c * m_config.channel_stride;
    auto* control = new (at) ChannelControl{};
    const auto stride =
        static_cast<std::uint32_t>(submission_slot_bytes(m_config.inline_bytes) / 8);
    auto* submission_slots = new (at + submission_slots_offset())
        std::atomic<std::uint64_t>[std::uint64_t{m_config.submission_capacity} * stride] {};
    auto* completion_slots =
        new (at + completion_slots_offset(m_config.submission_capacity, m_config.inline_bytes))
            std::atomic<std::uint64_t>[m_config.completion_capacity] {};
    Channel& channel = m_channels[c];
    channel.control = control;
    channel.submission = IndexQueue(&control->submission_head, submission_slots,
                                    m_config.submission_capacity, stride);
    channel.completion =
        IndexQueue(&control->completion_head, completion_slots, m_config.completion_capacity);
    channel.in_flight.assign((m_config.num_chunks + 63) / 64, 0);
  }
  m_chunks = base + m_config.chunks_offset;
  m_headers = base + m_config.headers_offset;
  m_refcount.assign(m_config.num_chunks, 0);
  m_free.reserve(m_config.num_chunks);
  for (std::uint32_t i = m_config.num_chunks; i-- > 0;)
    m_free.push_back(i);
  m_history.resize(options.history_size);
  m_connected.reserve(m_config.num_channels);
  header->state.store(kStateReady, std::memory_order_release);
  m_service->activate_publisher(m_slot, m_generation);
  update_connections();
  return {};
}

PublisherPort::Room PublisherPort::wait_for_room() noexcept {
  auto any_full = [this] {
    for (std::uint32_t c : m_connected) {
      Channel& channel = m_channels[c];
      if (channel.submission.full(channel.tail, channel.head_cache)) return true;
    }
    return false;
  };
  if (!any_full()) return Room::available;  // the common case: no clock read, no wait
  const std::int64_t start = monotonic_ns();
  const std::int64_t deadline = start + m_request.backpressure_timeout.count();
  std::int64_t next_liveness_check = start + 10'000'000;
  std::uint32_t spins = 0;
  for (;;) {
    Channel* full = nullptr;
    for (std::uint32_t c : m_connected) {
      Channel& channel = m_channels[c];
      if (channel.submission.full(channel.tail, channel.head_cache)) {
        if (!plausible_head(channel)) return Room::corrupted;
        full = &channel;
        break;
      }
    }
    if (full == nullptr) return Room::available;
    // Spin a little (the subscriber is likely taking a sample right now), then wait properly.
    if (++spins < 256) {
      cpu_relax();
      continue;
    }
    std::int64_t now = monotonic_ns();
    // A queue that stays full may be one that went bad: check before reporting a timeout.
    if (now >= deadline) return check() ? Room::timeout : Room::corrupted;
    if (now >= next_liveness_check) {
      if (!check()) return Room::corrupted;
      m_service->cleanup_dead();  // a dead subscriber's slot is freed: the change below drops it
      next_liveness_check = now + 10'000'000;
    }
    if (m_service->change_counter() != m_seen_change) {
      update_connections();
      if (m_broken) return Room::corrupted;
      continue;
    }
    if (m_request.backpressure_wait == BackpressureWait::spin) {
      if (now - start > 50'000) sched_yield();  // the subscriber may need this very core
      for (int i = 0; i < 16; ++i)
        cpu_relax();
      continue;
    }
    Event& space = full->control->space;
    std::uint32_t seq = space.seq.load(std::memory_order_acquire);
    space.waiters.fetch_add(1, std::memory_order_seq_cst);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (full->submission.full(full->tail, full->head_cache)) {
      std::int64_t slice = std::min<std::int64_t>(deadline - now, next_liveness_check - now);
      futex_wait(&space.seq, seq, std::chrono::nanoseconds(std::max<std::int64_t>(slice, 0)));
    }
    space.waiters.fetch_sub(1, std::memory_order_relaxed);
  }
}

Expected<PublisherPort*, Error<PublisherCreateError>> create_publisher(
    const std::shared_ptr<ServiceImpl>& service, const PublisherRequest& request) {
  auto* port = new PublisherPort(service, request);
  if (auto result = port->init(); !result) {
    Error<PublisherCreateError> error = result.error();
    port->drop();
    return unexpected(std::move(error));
  }
  return port;
}

void publisher_retain(PublisherPort* port) noexcept {
  port->retain();
}
void publisher_drop(PublisherPort* port) noexcept {
  port->drop();
}
Expected<Loan, LoanError> publisher_loan(PublisherPort* port, std::size_t bytes) noexcept {
  return port->loan(bytes);
}
Expected<std::size_t, SendError> publisher_send(PublisherPort* port, std::uint32_t index,
                                                std::size_t bytes) noexcept {
  auto result = port->send(index, bytes);
  port->drop();  // the loan's reference on the port
  return result;
}
Expected<std::size_t, SendError> publisher_send_to(PublisherPort* port, std::uint32_t index,
                                                   std::size_t bytes,
                                                   SubscriberId target) noexcept {
  auto result = port->send(index, bytes, &target);
  port->drop();
  return result;
}
void publisher_return_loan(PublisherPort* port, std::uint32_t index) noexcept {
  port->return_loan(index);
  port->drop();
}
std::size_t publisher_update_connections(PublisherPort* port) noexcept {
  return port->update_connections();
}
bool publisher_wait_for_subscribers(PublisherPort* port, std::size_t count,
                                    std::chrono::nanoseconds timeout) noexcept {
  return port->wait_for_subscribers(count, timeout);
}
std::size_t publisher_max_elements(const PublisherPort* port) noexcept {
  return port->max_elements();
}
std::uint32_t publisher_chunks_total(const PublisherPort* port) noexcept {
  return port->chunks_total();
}
std::uint32_t publisher_chunks_in_use(PublisherPort* port) noexcept {
  return port->chunks_in_use();
}
bool publisher_check(PublisherPort* port) noexcept {
  return port->check();
}
PublisherId publisher_id(const PublisherPort* port) noexcept {
  return port->id();
}
void* publisher_user_header(PublisherPort* port, std::uint32_t index, std::size_t size,
                            std::size_t alignment) noexcept {
  return port->user_header(index, size, alignment);
}
std::string publisher_corruption(const PublisherPort* port) {
  return port->corruption();
}
std::size_t publisher_notify(PublisherPort* port) noexcept {
  return port->notify();
}
std::uint64_t publisher_wakeups(const PublisherPort* port) noexcept {
  return port->wakeups();
}

}  // namespace zerocopy::detail

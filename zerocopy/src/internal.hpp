// The concepts above the building blocks: a node's identity, an opened service (its segment and
// this node's registration in it), and the subscriber's end of one publisher connection.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "layout.hpp"
#include "platform.hpp"
#include "spsc_index_queue.hpp"
#include "zerocopy/config.hpp"
#include "zerocopy/detail/api.hpp"

namespace zerocopy::detail {

struct NodeState {
  NodeConfig config;
  pid_t pid = 0;
  std::uint64_t start_time = 0;
  std::uint64_t node_id = 0;
};

class ServiceImpl {
 public:
  // Maps and validates the service segment `segment_name` without registering in it.
  static Expected<std::shared_ptr<ServiceImpl>, Error<ServiceError>> attach(
      std::shared_ptr<NodeState> node, const std::string& segment_name,
      std::shared_ptr<Mapping> mapping);
  ~ServiceImpl();

  enum class Registration { registered, destroyed, full };
  Registration register_node();

  // Removes the registrations of dead nodes with their ports. Returns how many were removed.
  // `removed_segments`, when given, counts the names unlinked.
  std::size_t cleanup_dead(std::size_t* removed_segments = nullptr);
  bool is_destroyed() const;

  // Port slots. claim -> (set up) -> activate -> ... -> release.
  std::optional<std::pair<std::uint32_t, std::uint64_t>> claim_publisher_slot();
  std::optional<std::pair<std::uint32_t, std::uint64_t>> claim_subscriber_slot();
  void activate_publisher(std::uint32_t slot, std::uint64_t generation);
  void activate_subscriber(std::uint32_t slot, std::uint64_t generation);
  void release_publisher(std::uint32_t slot, std::uint64_t generation);
  void release_subscriber(std::uint32_t slot, std::uint64_t generation);
  // Bumps the change counter and wakes every sleeping subscriber.
  void announce_change();

  std::string publisher_segment(std::uint32_t slot, std::uint64_t generation) const;
  std::string subscriber_fifo(std::uint32_t slot, std::uint64_t generation) const;
  const std::atomic<std::uint64_t>& change_counter_word() const noexcept {
    return m_header->change_counter;
  }
  std::uint64_t change_counter() const noexcept {
    return m_header->change_counter.load(std::memory_order_acquire);
  }

  const std::shared_ptr<NodeState>& node() const { return m_node; }
  const ServiceConfig& config() const { return m_config; }
  const ServiceOptions& options() const { return m_options; }
  const std::string& name() const { return m_name; }
  std::uint64_t hash() const { return m_config.name_hash; }
  PublisherSlot* publisher_slots() const { return m_publishers; }
  const NodeSlot* node_slots() const { return m_nodes; }
  SubscriberSlot* subscriber_slots() const { return m_subscribers; }
  // The pid registered for node `index` (0 when out of range or free).
  std::uint32_t node_pid(std::uint32_t index) const {
    if (index >= m_config.max_nodes) return 0;
    return node_word_pid(m_nodes[index].word.load(std::memory_order_acquire));
  }
  std::uint32_t count_active_publishers() const;
  std::uint32_t count_active_subscribers() const;
  const std::string& segment_name() const { return m_segment_name; }
  const Mapping& mapping() const { return *m_mapping; }

  // Checks the shared segment now: the header's state and static configuration (compared with
  // the copy validated when it was opened) and every node and port word (layout.hpp). Empty when
  // all is consistent; else what is wrong, and the service is marked corrupted for good. A slow
  // path (every slot is read): called when ports are created or update their connections, by
  // cleanups, and by the ports' periodic checks.
  std::string verify();
  bool corrupted() const noexcept { return m_corrupted.load(std::memory_order_acquire); }
  // What verify() found first ("" if nothing).
  std::string corruption() const;

 private:
  ServiceImpl() = default;
  std::string find_corruption() const;
  void free_node(std::uint32_t index, std::size_t* removed_segments);
  std::optional<std::pair<std::uint32_t, std::uint64_t>> claim_port(
      std::atomic<std::uint64_t>* word, std::size_t stride, std::uint32_t count);

  std::shared_ptr<NodeState> m_node;
  std::string m_name;
  std::string m_segment_name;
  std::shared_ptr<Mapping> m_mapping;
  ServiceHeader* m_header = nullptr;
  NodeSlot* m_nodes = nullptr;
  PublisherSlot* m_publishers = nullptr;
  SubscriberSlot* m_subscribers = nullptr;
  ServiceConfig m_config{};
  ServiceOptions m_options{};
  std::optional<std::uint32_t> m_node_index;  // set while registered
  std::atomic<bool> m_corrupted{false};
  mutable std::mutex m_corruption_mutex;
  std::string m_corruption;  // guarded by m_corruption_mutex
};

// What to make of a service segment whose state word is not ready.
enum class Unready {
  creating,   // its creator is (or may be) still writing it: wait
  abandoned,  // its creator died before finishing it: it may be removed
  corrupted,  // a state or node mask no creator writes: leave it alone, report it
};
Unready classify_unready(const ServiceHeader& header) noexcept;

// Creates a service segment for `request` (exclusively). err EEXIST when it exists.
Expected<std::shared_ptr<Mapping>, SysError> create_service_segment(const NodeState& node,
                                                                    const std::string& segment_name,
                                                                    const ServiceRequest& request,
                                                                    const ServiceOptions& options);

// Received::index of a sample whose payload came inline: this plus the subscriber's buffer.
inline constexpr std::uint32_t kInlineSampleBase = 1u << 16;

// The subscriber's end of one publisher's channel: everything it reads from the publisher's
// segment goes through here, validated. Works on any memory block, so the fuzz target can feed
// it arbitrary bytes.
class SubscriberConnection {
 public:
  // Validates the publisher segment at [base, base + size) and prepares channel `channel`.
  // Returns nothing (and says why) if the segment is not consistent.
  static std::optional<SubscriberConnection> attach(std::byte* base, std::size_t size,
                                                    std::uint32_t channel, std::string* why);

  bool ready(std::uint64_t generation) const noexcept {
    return m_control->connected_generation.load(std::memory_order_acquire) == generation;
  }
  std::uint64_t connected_generation() const noexcept {
    return m_control->connected_generation.load(std::memory_order_acquire);
  }
  // The next entry into *out (Receipt::sample), Receipt::nothing when empty,
  // Receipt::corrupted for an invalid one. An inline payload is copied into `inline_out`
  // (kInlineBytes of room), which the Received points to, with `inline_index` as its index; `tag`
  // is the Received's connection.
  Receipt take(Received* out, std::uint64_t* inline_out = nullptr,
               std::uint32_t inline_index = kInlineSampleBase, void* tag = nullptr) noexcept;
  // take() as a value (the tests and the fuzz target).
  Expected<std::optional<Received>, ReceiveError> receive(
      std::uint64_t* inline_out = nullptr) noexcept {
    Received received;
    switch (take(&received, inline_out)) {
      case Receipt::sample:
        return std::optional<Received>(received);
      case Receipt::nothing:
        return std::optional<Received>();
      default:
        return unexpected(ReceiveError::corrupted);
    }
  }
  // Gives chunk `index` back to the publisher.
  void release(std::uint32_t index) noexcept;
  bool empty() const noexcept { return m_submission.empty(); }
  const PublisherConfig& config() const noexcept { return m_config; }
  std::size_t chunks_offset() const noexcept { return m_config.chunks_offset; }
  // The header entry of chunk `index` (< num_chunks: receive() checked it).
  const std::byte* header(std::uint32_t index) const noexcept {
    return m_headers + std::uint64_t{index} * m_config.header_stride;
  }
  // The publisher's sequence number of the entry we took at a position whose low 32 bits are
  // `position` (one taken recently: less than 2^32 entries ago).
  std::uint64_t sequence_at(std::uint32_t position) const noexcept {
    std::uint64_t full =
        m_next_position -
        static_cast<std::uint32_t>(static_cast<std::uint32_t>(m_next_position) - position);
    return m_control->first_sequence.load(std::memory_order_relaxed) + full;
  }
  // Samples the publisher took back from our queue to make room.
  std::uint64_t lost() const noexcept { return m_control->lost.load(std::memory_order_relaxed); }
  // The slow-path check: the header's state and static configuration (against the copy validated
  // by attach) and this channel's mutable words: connected_generation names no later subscriber
  // than `generation` (exactly it once `connected`); once connected, the submission head is where
  // this subscriber left it (or ahead of it, under safe overflow, where the publisher steals) and
  // the completion head (the publisher's) neither passed our tail nor lags it by more than the
  // queue's capacity. Empty when consistent, else what is wrong.
  std::string verify(std::uint64_t generation, bool connected) const noexcept;
  // The entry receive() refused last, described.
  std::string bad_entry() const;
  // After taking an entry: wake the publisher if it sleeps for room (backpressure, block).
  void wake_blocked_publisher() noexcept;

 private:
  const PublisherHeader* m_header = nullptr;
  PublisherConfig m_config{};
  ChannelControl* m_control = nullptr;
  IndexQueue m_submission;
  IndexQueue m_completion;
  const std::byte* m_chunks = nullptr;
  const std::byte* m_headers = nullptr;
  std::uint64_t m_completion_tail = 0;
  std::uint64_t m_completion_head_cache = 0;
  QueueEntry m_bad{};
  // The queue position after the last entry taken (the head as we left it; the entries we took
  // under backpressure).
  std::uint64_t m_next_position = 0;
};

// Ports run their slow-path checks (the service's and the publisher segments' headers and
// words) after this many receive() calls that found nothing, or sends.
inline constexpr std::uint32_t kCheckEvery = 16384;

bool valid_service_name(std::string_view name) noexcept;
bool valid_prefix(std::string_view prefix) noexcept;

}  // namespace zerocopy::detail

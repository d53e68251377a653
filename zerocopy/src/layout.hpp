// The shared-memory layouts: what a service segment and a publisher segment contain, where, and
// how a reader checks a segment it did not write before trusting any of it.
//
// Service segment  /dev/shm/<prefix>s_<hash of name>
//   ServiceHeader   state, creator, static configuration (name, payload type, options),
//                   node mask (who has it open; bit 63 = being destroyed), change counter
//   NodeSlot[max_nodes]              pid + start time of each registered node
//   PublisherSlot[max_publishers]    state | node | generation (names the publisher's segment)
//   SubscriberSlot[max_subscribers]  state | node | generation, and the subscriber's wake-up
//                                    event (futex word + sleeper count) on its own cache line
//
// Publisher segment  /dev/shm/<prefix>p_<hash>_<slot>_<generation>
//   PublisherHeader  state, layout parameters (all derivable from a few numbers: checked)
//   ChannelControl + queues, one per subscriber slot: the submission queue (chunk offsets to the
//                    subscriber), the completion queue (chunks given back), and the publisher's
//                    own wake-up event for backpressure
//   chunks           page-aligned, num_chunks * chunk_stride bytes
//
// Every index into a chunk array is a 16-bit chunk number checked against num_chunks; every size
// is checked against max_payload_bytes; every offset is recomputed from the parameters and
// compared, so a segment whose header was altered is refused as a whole.
//
// Both headers carry a magic, the layout version and a checksum of their static configuration
// (ServiceConfig, PublisherConfig: written once by the creator, never changed). The checksum is
// computed at creation and verified by every opener; afterwards, on the slow paths (a receive that
// finds nothing, update_connections, a wait that times out, creating a port, cleaning up), the
// shared configuration is compared with the copy validated at open and the mutable words are
// checked for impossible values (valid_node_word, valid_port_word, a node mask with bits beyond
// max_nodes, queue heads that passed their tail). A failure is ServiceError/ReceiveError/
// SendError::corrupted, never a reason to remove a segment.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

#include "zerocopy/config.hpp"
#include "zerocopy/version.hpp"

namespace zerocopy::detail {

inline constexpr std::size_t kCacheLine = 64;
inline constexpr std::size_t kPageSize = 4096;
inline constexpr std::uint64_t kServiceMagic = 0x7a63'7376'6331'0a01ULL;
inline constexpr std::uint64_t kPublisherMagic = 0x7a63'7075'6231'0a01ULL;
inline constexpr std::uint32_t kStateReady = 0x52454459;  // "REDY"
inline constexpr std::size_t kMaxSegmentBytes = std::size_t{1} << 40;
// Small payloads inline: a submission slot of two cache lines carries the entry word and up to
// kInlineBytes of payload, so that a small message crosses between the processes in the lines
// that announce it (as a plain shared-memory ring's do) instead of in a chunk after them.
inline constexpr std::uint32_t kInlineSlotBytes = 128;
inline constexpr std::uint32_t kInlineBytes = kInlineSlotBytes - 8;

constexpr std::uint64_t round_up(std::uint64_t value, std::uint64_t to) {
  return (value + to - 1) / to * to;
}
constexpr std::uint32_t next_pow2(std::uint32_t value) {
  std::uint32_t result = 1;
  while (result < value)
    result <<= 1;
  return result;
}

// ---- slot words ----
// Node slot:  bits 0-1 state, bits 32-63 pid.
// Port slot:  bits 0-1 state, bits 2-7 node slot index, bits 8-63 generation (never reused, so a
//             port's segment name is never reused either).
enum SlotState : std::uint64_t { kFree = 0, kClaimed = 1, kActive = 2, kCleaning = 3 };

constexpr SlotState slot_state(std::uint64_t word) {
  return static_cast<SlotState>(word & 3);
}
constexpr std::uint64_t node_word(SlotState state, std::uint32_t pid) {
  return (std::uint64_t{pid} << 32) | state;
}
constexpr std::uint32_t node_word_pid(std::uint64_t word) {
  return static_cast<std::uint32_t>(word >> 32);
}
constexpr std::uint64_t port_word(SlotState state, std::uint32_t node, std::uint64_t generation) {
  return (generation << 8) | (std::uint64_t{node & 0x3f} << 2) | state;
}
constexpr std::uint32_t port_word_node(std::uint64_t word) {
  return static_cast<std::uint32_t>((word >> 2) & 0x3f);
}
constexpr std::uint64_t port_word_generation(std::uint64_t word) {
  return word >> 8;
}
// Linux pids are at most 2^22 (PID_MAX_LIMIT).
inline constexpr std::uint32_t kMaxPid = 1u << 22;
// A node word as node_word() makes them: bits 2-31 clear; a pid exactly when not free.
constexpr bool valid_node_word(std::uint64_t word) {
  std::uint32_t pid = node_word_pid(word);
  bool free = slot_state(word) == kFree;
  return (word & 0xffff'fffcULL) == 0 && pid <= kMaxPid && free == (pid == 0);
}
// A port word as port_word() makes them: never kCleaning (only node slots are cleaned); a node
// index below max_nodes, and 0 when free.
constexpr bool valid_port_word(std::uint64_t word, std::uint32_t max_nodes) {
  SlotState state = slot_state(word);
  std::uint32_t node = port_word_node(word);
  if (state == kCleaning) return false;
  return state == kFree ? node == 0 : node < max_nodes;
}

// A wake-up event: the waiter reads `seq`, registers in `waiters`, re-checks its condition and
// sleeps on `seq`; the notifier changes its condition, then (after a seq_cst fence) bumps `seq`
// and wakes only if `waiters` is non-zero. See subscriber.cpp for the ordering argument.
//
// Bit 31 of `waiters` (kFdArmed) says "the owner waits on its notification FIFO too": the first
// notifier to find it set clears it (fetch_and, so one byte per arming) and writes a byte to the
// FIFO. The owner re-arms only after it has drained the FIFO and found nothing to take, so a
// notifier pays for the FIFO only when its owner is actually idle on it, and nothing when nobody
// waits (waiters == 0, the same single load as without FIFOs).
struct Event {
  std::atomic<std::uint32_t> seq;
  std::atomic<std::uint32_t> waiters;
};
inline constexpr std::uint32_t kFdArmed = 0x8000'0000u;

struct alignas(kCacheLine) NodeSlot {
  std::atomic<std::uint64_t> word;
  std::atomic<std::uint64_t> start_time;
  std::atomic<std::uint64_t> node_id;
};

struct alignas(kCacheLine) PublisherSlot {
  std::atomic<std::uint64_t> word;
};

struct alignas(kCacheLine) SubscriberSlot {
  std::atomic<std::uint64_t> word;
  alignas(kCacheLine) Event event;  // written by publishers on every send: its own line
};

// Written once by the creator before the segment is marked ready; read-only afterwards. Readers
// copy it out once and validate the copy.
struct ServiceConfig {
  std::uint64_t magic;
  std::uint32_t layout_version;
  std::uint32_t header_size;
  std::uint64_t name_hash;
  std::uint64_t total_size;
  std::uint32_t name_length;
  char name[kMaxServiceNameLength + 1];
  std::uint32_t type_name_length;
  char type_name[kMaxTypeNameLength + 1];
  std::uint64_t type_size;
  std::uint64_t type_alignment;
  std::uint32_t is_slice;
  std::uint32_t history_size;
  std::uint32_t subscriber_max_buffer_size;
  std::uint32_t subscriber_max_borrowed_samples;
  std::uint32_t max_publishers;
  std::uint32_t max_subscribers;
  std::uint32_t max_nodes;
  std::uint32_t overflow;  // 0 safe overflow, 1 backpressure
  // The optional user header of every sample (0 bytes: none).
  std::uint32_t user_header_size;
  std::uint32_t user_header_alignment;
  std::uint32_t user_header_type_length;
  std::uint32_t reserved;  // 0
  char user_header_type[kMaxTypeNameLength + 1];
  std::uint64_t checksum;  // config_checksum of every byte above
};
// No padding: the checksum covers every byte, and a copy compares equal byte for byte.
static_assert(std::has_unique_object_representations_v<ServiceConfig>);

inline constexpr std::uint64_t kNodeMaskDestroyed = std::uint64_t{1} << 63;

struct ServiceHeader {
  alignas(kCacheLine) std::atomic<std::uint32_t> state;  // kStateReady once initialised
  std::atomic<std::uint32_t> creator_pid;
  std::atomic<std::uint64_t> creator_start_time;
  alignas(kCacheLine) ServiceConfig config;
  // Bit i: node slot i has the service open. Bit 63: the last node left and is removing it.
  alignas(kCacheLine) std::atomic<std::uint64_t> node_mask;
  // Bumped (release) after every change of a publisher or subscriber slot; ports compare it
  // with the value they last saw (acquire) before looking at the slots again.
  alignas(kCacheLine) std::atomic<std::uint64_t> change_counter;
};

static_assert(sizeof(NodeSlot) == kCacheLine);
static_assert(sizeof(PublisherSlot) == kCacheLine);
static_assert(sizeof(SubscriberSlot) == 2 * kCacheLine);
static_assert(offsetof(SubscriberSlot, event) == kCacheLine);
static_assert(offsetof(ServiceHeader, node_mask) % kCacheLine == 0);
static_assert(offsetof(ServiceHeader, change_counter) - offsetof(ServiceHeader, node_mask) >=
              kCacheLine);
static_assert(sizeof(ServiceHeader) % kCacheLine == 0);
static_assert(std::atomic<std::uint32_t>::is_always_lock_free);

struct ServiceLayout {
  std::uint64_t nodes_offset;
  std::uint64_t publishers_offset;
  std::uint64_t subscribers_offset;
  std::uint64_t total_size;
};

constexpr ServiceLayout service_layout(std::uint32_t max_nodes, std::uint32_t max_publishers,
                                       std::uint32_t max_subscribers) {
  ServiceLayout layout{};
  layout.nodes_offset = sizeof(ServiceHeader);
  layout.publishers_offset = layout.nodes_offset + std::uint64_t{max_nodes} * sizeof(NodeSlot);
  layout.subscribers_offset =
      layout.publishers_offset + std::uint64_t{max_publishers} * sizeof(PublisherSlot);
  layout.total_size =
      round_up(layout.subscribers_offset + std::uint64_t{max_subscribers} * sizeof(SubscriberSlot),
               kPageSize);
  return layout;
}

// A 64-bit checksum (FNV-1a over 64-bit words, then mixed) of a configuration's bytes before its
// checksum field. Not cryptographic: it catches overwritten, truncated or random headers.
std::uint64_t config_checksum(const void* bytes, std::size_t size) noexcept;
inline std::uint64_t checksum_of(const ServiceConfig& config) noexcept {
  return config_checksum(&config, offsetof(ServiceConfig, checksum));
}

// Checks a copy of a service segment's configuration against the mapped size. Returns an empty
// string when it is consistent, else what is wrong. Does not look at the slots.
std::string validate_service_config(const ServiceConfig& config, std::size_t mapped_size);

// ---- publisher segment ----

struct PublisherConfig {
  std::uint64_t magic;
  std::uint32_t layout_version;
  std::uint32_t safe_overflow;
  std::uint64_t service_hash;
  std::uint64_t generation;
  std::uint32_t slot;
  std::uint32_t num_channels;
  std::uint32_t num_chunks;
  std::uint32_t submission_capacity;  // power of two
  std::uint32_t completion_capacity;  // power of two, >= num_chunks
  std::uint32_t publisher_may_block;  // subscribers wake the publisher's space event
  // 0, or kInlineBytes: each submission slot is then kInlineSlotBytes long and a payload of up to
  // kInlineBytes travels in it, after the entry word (see IndexQueue), instead of in a chunk.
  std::uint32_t inline_bytes;
  std::uint32_t reserved;  // 0
  std::uint64_t max_payload_bytes;
  std::uint64_t payload_alignment;
  std::uint64_t chunk_stride;
  std::uint64_t channel_stride;
  std::uint64_t channels_offset;
  std::uint64_t headers_offset;  // page-aligned: ChunkHeader + user header, one per chunk
  std::uint64_t header_stride;
  std::uint32_t user_header_size;
  std::uint32_t user_header_alignment;
  std::uint64_t chunks_offset;
  std::uint64_t total_size;
  std::uint64_t checksum;  // config_checksum of every byte above
};
static_assert(std::has_unique_object_representations_v<PublisherConfig>);
inline std::uint64_t checksum_of(const PublisherConfig& config) noexcept {
  return config_checksum(&config, offsetof(PublisherConfig, checksum));
}

struct PublisherHeader {
  alignas(kCacheLine) std::atomic<std::uint32_t> state;
  alignas(kCacheLine) PublisherConfig config;
};

// One publisher -> subscriber connection. Who writes what:
//   connected_generation  publisher (which subscriber generation the queues were reset for)
//   submission_head       subscriber (and the publisher when it steals under safe overflow)
//   completion_head       publisher
//   space                 publisher sleeps, subscriber wakes (backpressure, blocking publisher)
// followed by the submission slots (publisher writes) and the completion slots (subscriber
// writes), each starting on its own cache line.
struct ChannelControl {
  alignas(kCacheLine) std::atomic<std::uint64_t> connected_generation;
  // Samples the publisher took back from this queue to make room (safe overflow), since it
  // connected this subscriber. Publisher writes; the subscriber reads when asked.
  std::atomic<std::uint64_t> lost;
  // The publisher's sequence number of the entry at queue position 0 (the oldest history entry
  // delivered at connection): entry p has first_sequence + p. Written before
  // connected_generation (release).
  std::atomic<std::uint64_t> first_sequence;
  // The chunk the publisher will fill next (a hint, written after each send when the subscriber
  // is in another process): a polling subscriber prefetches it, so that the payload's cache line
  // travels with the queue slot's instead of after it. Checked against num_chunks before use.
  std::atomic<std::uint64_t> next_chunk;
  alignas(kCacheLine) std::atomic<std::uint64_t> submission_head;
  alignas(kCacheLine) std::atomic<std::uint64_t> completion_head;
  alignas(kCacheLine) Event space;
};

static_assert(offsetof(ChannelControl, submission_head) % kCacheLine == 0);
static_assert(offsetof(ChannelControl, completion_head) -
                  offsetof(ChannelControl, submission_head) ==
              kCacheLine);
static_assert(offsetof(ChannelControl, space) - offsetof(ChannelControl, completion_head) ==
              kCacheLine);
static_assert(sizeof(ChannelControl) == 4 * kCacheLine);
static_assert(sizeof(PublisherHeader) % kCacheLine == 0);

// The metadata of a chunk, in the publisher segment's header array (not in the chunk: a
// subscriber that does not ask for it never reads its cache line), followed by the user header.
// Written by the publisher before the queue entry that hands the chunk out (release), read after
// it (acquire). The sequence number is not stored: it is the channel's first_sequence plus the
// entry's queue position (every send goes to every connected queue, in order).
struct ChunkHeader {
  std::int64_t publish_time_ns;  // steady clock at send; written only if the publisher records it
  std::uint64_t reserved;
};
inline constexpr std::uint32_t kMaxUserHeaderSize = 65536;
inline constexpr std::uint32_t kMaxUserHeaderAlignment = 64;
// Where the user header starts inside a chunk's header entry.
constexpr std::uint64_t user_header_offset(std::uint32_t alignment) {
  return round_up(sizeof(ChunkHeader), alignment);
}

struct PublisherParams {
  std::uint64_t service_hash;
  std::uint64_t generation;
  std::uint32_t slot;
  std::uint32_t num_channels;
  std::uint32_t num_chunks;
  std::uint32_t buffer_size;  // subscriber_max_buffer_size
  std::uint64_t max_payload_bytes;
  std::uint64_t payload_alignment;
  bool safe_overflow;
  bool publisher_may_block;
  std::uint32_t user_header_size = 0;
  std::uint32_t user_header_alignment = 1;  // a power of two <= 64 (1 when there is none)
  std::uint32_t inline_bytes = 0;           // 0 or kInlineBytes
};

// The canonical layout for `params`; nullopt if a parameter is out of range. total_size may
// exceed kMaxSegmentBytes: the caller checks.
std::optional<PublisherConfig> publisher_layout(const PublisherParams& params);
// Recomputes the layout from the parameters found in `config` and compares every field; checks
// the result fits `mapped_size`. Empty string when valid.
std::string validate_publisher_config(const PublisherConfig& config, std::size_t mapped_size);

// Offsets inside a channel (relative to its ChannelControl).
constexpr std::uint64_t submission_slots_offset() {
  return sizeof(ChannelControl);
}
// A submission slot's bytes: the entry word, and an inline payload's room after it when the
// publisher sends small payloads inline (PublisherConfig::inline_bytes).
constexpr std::uint64_t submission_slot_bytes(std::uint32_t inline_bytes) {
  return inline_bytes != 0 ? kInlineSlotBytes : 8;
}
constexpr std::uint64_t completion_slots_offset(std::uint32_t submission_capacity,
                                                std::uint32_t inline_bytes) {
  return sizeof(ChannelControl) +
         round_up(std::uint64_t{submission_capacity} * submission_slot_bytes(inline_bytes),
                  kCacheLine);
}

// ---- names ----
std::uint64_t hash_name(std::string_view name) noexcept;
std::string service_segment_name(std::string_view prefix, std::uint64_t hash);
std::string publisher_segment_name(std::string_view prefix, std::uint64_t hash, std::uint32_t slot,
                                   std::uint64_t generation);
// A subscriber's notification FIFO (see Event).
std::string subscriber_fifo_name(std::string_view prefix, std::uint64_t hash, std::uint32_t slot,
                                 std::uint64_t generation);
// Parses a publisher segment name under `prefix`.
struct PublisherName {
  std::uint64_t hash;
  std::uint32_t slot;
  std::uint64_t generation;
};
std::optional<PublisherName> parse_publisher_segment_name(std::string_view prefix,
                                                          std::string_view name);
// The same for a subscriber FIFO's name ("w_" for "p_").
std::optional<PublisherName> parse_subscriber_fifo_name(std::string_view prefix,
                                                        std::string_view name);
std::optional<std::uint64_t> parse_service_segment_name(std::string_view prefix,
                                                        std::string_view name);

}  // namespace zerocopy::detail

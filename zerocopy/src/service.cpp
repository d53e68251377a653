// Opening, creating and leaving a service; registering nodes; cleaning up after dead ones.
//
// Lifetime without a daemon: the service segment's node_mask has one bit per registered node.
// Registering sets a bit (compare-and-swap, refused once bit 63 "destroyed" is set); leaving
// clears it, and whoever clears the last bit sets "destroyed" in the same CAS and unlinks the
// name. So exactly one process removes a service, and a process that opens a service being
// removed sees "destroyed", lets go and retries (creating a fresh one). A dead node's bit is
// cleared by whichever process notices it is dead (cleanup_dead), with the same rule.
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <new>
#include <thread>

#include "internal.hpp"

namespace zerocopy::detail {
namespace {

Error<ServiceError> service_error(ServiceError code, std::string message) {
  return Error<ServiceError>{code, std::move(message)};
}

void sleep_briefly() {
  timespec pause{0, 500'000};
  ::nanosleep(&pause, nullptr);
}

std::string describe_payload(std::string_view type_name, std::uint64_t size,
                             std::uint64_t alignment) {
  // Appended piece by piece: "literal" + std::string&& trips a false -Wrestrict in g++ 12.
  std::string text = "'";
  text.append(type_name);
  text += "' (size ";
  text += std::to_string(size);
  text += ", alignment ";
  text += std::to_string(alignment);
  text += ")";
  return text;
}

}  // namespace

bool valid_service_name(std::string_view name) noexcept {
  if (name.empty() || name.size() > kMaxServiceNameLength) return false;
  if (name.front() == '/' || name.back() == '/') return false;
  char previous = 0;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.' || c == '/';
    if (!ok || (c == '/' && previous == '/')) return false;
    previous = c;
  }
  return true;
}

bool valid_prefix(std::string_view prefix) noexcept {
  if (prefix.empty() || prefix.size() > 128) return false;
  for (char c : prefix) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.';
    if (!ok) return false;
  }
  return prefix != "." && prefix != "..";
}

Expected<std::shared_ptr<Mapping>, SysError> create_service_segment(const NodeState& node,
                                                                    const std::string& segment_name,
                                                                    const ServiceRequest& request,
                                                                    const ServiceOptions& options) {
  ServiceLayout layout =
      service_layout(options.max_nodes, options.max_publishers, options.max_subscribers);
  // A few KiB (44 at most): allocated and mapped at once, so that a full /dev/shm is an error
  // here rather than SIGBUS while writing the header.
  auto mapping = shm_create(segment_name, layout.total_size, ShmCommit{.populate = true});
  if (!mapping) return mapping;
  std::byte* base = (*mapping)->data();
  auto* header = new (base) ServiceHeader{};
  header->creator_pid.store(static_cast<std::uint32_t>(node.pid), std::memory_order_relaxed);
  header->creator_start_time.store(node.start_time, std::memory_order_relaxed);
  for (std::uint32_t i = 0; i < options.max_nodes; ++i) {
    new (base + layout.nodes_offset + i * sizeof(NodeSlot)) NodeSlot{};
  }
  for (std::uint32_t i = 0; i < options.max_publishers; ++i) {
    new (base + layout.publishers_offset + i * sizeof(PublisherSlot)) PublisherSlot{};
  }
  for (std::uint32_t i = 0; i < options.max_subscribers; ++i) {
    new (base + layout.subscribers_offset + i * sizeof(SubscriberSlot)) SubscriberSlot{};
  }
  ServiceConfig& config = header->config;
  config.magic = kServiceMagic;
  config.layout_version = kLayoutVersion;
  config.header_size = sizeof(ServiceHeader);
  config.name_hash = hash_name(request.name);
  config.total_size = layout.total_size;
  config.name_length = static_cast<std::uint32_t>(request.name.size());
  std::memcpy(config.name, request.name.data(), request.name.size());
  config.type_name_length = static_cast<std::uint32_t>(request.payload.type_name.size());
  std::memcpy(config.type_name, request.payload.type_name.data(), request.payload.type_name.size());
  config.type_size = request.payload.size;
  config.type_alignment = request.payload.alignment;
  config.is_slice = request.payload.is_slice ? 1 : 0;
  config.history_size = options.history_size;
  config.subscriber_max_buffer_size = options.subscriber_max_buffer_size;
  config.subscriber_max_borrowed_samples = options.subscriber_max_borrowed_samples;
  config.max_publishers = options.max_publishers;
  config.max_subscribers = options.max_subscribers;
  config.max_nodes = options.max_nodes;
  config.overflow = options.overflow == Overflow::backpressure ? 1 : 0;
  config.user_header_size = static_cast<std::uint32_t>(request.payload.user_header_size);
  config.user_header_alignment = static_cast<std::uint32_t>(request.payload.user_header_alignment);
  config.user_header_type_length =
      static_cast<std::uint32_t>(request.payload.user_header_type.size());
  std::memcpy(config.user_header_type, request.payload.user_header_type.data(),
              request.payload.user_header_type.size());
  config.checksum = checksum_of(config);
  // Publishes everything above to openers (their acquire load of state).
  header->state.store(kStateReady, std::memory_order_release);
  return mapping;
}

Expected<std::shared_ptr<ServiceImpl>, Error<ServiceError>> ServiceImpl::attach(
    std::shared_ptr<NodeState> node, const std::string& segment_name,
    std::shared_ptr<Mapping> mapping) {
  if (mapping->size() < sizeof(ServiceHeader)) {
    return unexpected(service_error(ServiceError::corrupted,
                                    "service segment " + segment_name + " is truncated"));
  }
  auto* header = reinterpret_cast<ServiceHeader*>(mapping->data());
  if (header->state.load(std::memory_order_acquire) != kStateReady) {
    return unexpected(service_error(ServiceError::timeout, segment_name + " is not ready"));
  }
  std::shared_ptr<ServiceImpl> impl(new ServiceImpl());
  // One copy, validated; the segment's own bytes are not read again.
  std::memcpy(&impl->m_config, &header->config, sizeof(ServiceConfig));
  const ServiceConfig& config = impl->m_config;
  if (config.magic == kServiceMagic && config.layout_version != kLayoutVersion) {
    return unexpected(service_error(
        ServiceError::version_mismatch,
        segment_name + " has layout version " + std::to_string(config.layout_version) +
            ", this library (" + kVersionString + ") uses " + std::to_string(kLayoutVersion)));
  }
  if (std::string why = validate_service_config(config, mapping->size()); !why.empty()) {
    return unexpected(
        service_error(ServiceError::corrupted, "service segment " + segment_name + ": " + why));
  }
  ServiceLayout layout =
      service_layout(config.max_nodes, config.max_publishers, config.max_subscribers);
  impl->m_node = std::move(node);
  impl->m_name.assign(config.name, config.name_length);
  impl->m_segment_name = segment_name;
  impl->m_header = header;
  impl->m_nodes = reinterpret_cast<NodeSlot*>(mapping->data() + layout.nodes_offset);
  impl->m_publishers = reinterpret_cast<PublisherSlot*>(mapping->data() + layout.publishers_offset);
  impl->m_subscribers =
      reinterpret_cast<SubscriberSlot*>(mapping->data() + layout.subscribers_offset);
  impl->m_mapping = std::move(mapping);
  ServiceOptions& options = impl->m_options;
  options.history_size = config.history_size;
  options.subscriber_max_buffer_size = config.subscriber_max_buffer_size;
  options.subscriber_max_borrowed_samples = config.subscriber_max_borrowed_samples;
  options.max_publishers = config.max_publishers;
  options.max_subscribers = config.max_subscribers;
  options.max_nodes = config.max_nodes;
  options.overflow = config.overflow == 1 ? Overflow::backpressure : Overflow::safe_overflow;
  return impl;
}

ServiceImpl::~ServiceImpl() {
  // A corrupted segment is left as it is: neither our slot nor the node mask can be trusted, and
  // removing the name could remove somebody else's segment.
  if (m_node_index && verify().empty()) free_node(*m_node_index, nullptr);
}

namespace {
std::string hex_word(std::uint64_t word) {
  char text[24];
  std::snprintf(text, sizeof text, "0x%llx", static_cast<unsigned long long>(word));
  return text;
}
}  // namespace

std::string ServiceImpl::find_corruption() const {
  std::uint32_t state = m_header->state.load(std::memory_order_acquire);
  if (state != kStateReady) {
    return "its state word is " + hex_word(state) + " (a ready segment has " +
           hex_word(kStateReady) + ")";
  }
  ServiceConfig now;
  std::memcpy(&now, &m_header->config, sizeof now);
  if (std::memcmp(&now, &m_config, sizeof now) != 0) {
    return std::string("its static configuration changed after it was opened") +
           (checksum_of(now) != now.checksum ? " and fails its checksum" : "");
  }
  std::uint64_t mask = m_header->node_mask.load(std::memory_order_acquire);
  if (((mask & ~kNodeMaskDestroyed) >> m_config.max_nodes) != 0) {
    return "its node mask " + hex_word(mask) +
           " names nodes beyond max_nodes = " + std::to_string(m_config.max_nodes);
  }
  for (std::uint32_t i = 0; i < m_config.max_nodes; ++i) {
    std::uint64_t word = m_nodes[i].word.load(std::memory_order_acquire);
    if (!valid_node_word(word)) {
      return "node slot " + std::to_string(i) + " holds the impossible word " + hex_word(word);
    }
  }
  for (std::uint32_t s = 0; s < m_config.max_publishers; ++s) {
    std::uint64_t word = m_publishers[s].word.load(std::memory_order_acquire);
    if (!valid_port_word(word, m_config.max_nodes)) {
      return "publisher slot " + std::to_string(s) + " holds the impossible word " + hex_word(word);
    }
  }
  for (std::uint32_t s = 0; s < m_config.max_subscribers; ++s) {
    std::uint64_t word = m_subscribers[s].word.load(std::memory_order_acquire);
    if (!valid_port_word(word, m_config.max_nodes)) {
      return "subscriber slot " + std::to_string(s) + " holds the impossible word " +
             hex_word(word);
    }
  }
  return {};
}

std::string ServiceImpl::verify() {
  if (corrupted()) return corruption();
  std::string why = find_corruption();
  if (why.empty()) return why;
  std::lock_guard lock(m_corruption_mutex);
  if (m_corruption.empty()) m_corruption = "service segment " + m_segment_name + ": " + why;
  m_corrupted.store(true, std::memory_order_release);
  return m_corruption;
}

std::string ServiceImpl::corruption() const {
  std::lock_guard lock(m_corruption_mutex);
  return m_corruption;
}

Unready classify_unready(const ServiceHeader& header) noexcept {
  std::uint32_t state = header.state.load(std::memory_order_acquire);
  if (state == kStateReady) return Unready::creating;  // not unready after all: look again
  // A creator writes 0 (ftruncate's zeros) until it stores kStateReady, and nobody registers
  // before that.
  if (state != 0 || header.node_mask.load(std::memory_order_acquire) != 0) {
    return Unready::corrupted;
  }
  auto creator = static_cast<pid_t>(header.creator_pid.load(std::memory_order_relaxed));
  std::uint64_t start = header.creator_start_time.load(std::memory_order_relaxed);
  if (creator == 0 || process_alive(creator, start)) return Unready::creating;
  return Unready::abandoned;
}

ServiceImpl::Registration ServiceImpl::register_node() {
  auto pid = static_cast<std::uint32_t>(m_node->pid);
  std::optional<std::uint32_t> claimed;
  for (std::uint32_t i = 0; i < m_config.max_nodes && !claimed; ++i) {
    std::uint64_t word = m_nodes[i].word.load(std::memory_order_acquire);
    if (slot_state(word) != kFree) continue;
    if (m_nodes[i].word.compare_exchange_strong(
            word, node_word(kClaimed, pid), std::memory_order_acq_rel, std::memory_order_relaxed)) {
      claimed = i;
    }
  }
  if (!claimed) return Registration::full;
  NodeSlot& slot = m_nodes[*claimed];
  slot.start_time.store(m_node->start_time, std::memory_order_relaxed);
  slot.node_id.store(m_node->node_id, std::memory_order_relaxed);
  std::uint64_t mask = m_header->node_mask.load(std::memory_order_acquire);
  do {
    if ((mask & kNodeMaskDestroyed) != 0) {
      slot.start_time.store(0, std::memory_order_relaxed);
      slot.word.store(node_word(kFree, 0), std::memory_order_release);
      return Registration::destroyed;
    }
  } while (!m_header->node_mask.compare_exchange_weak(mask, mask | (std::uint64_t{1} << *claimed),
                                                      std::memory_order_acq_rel,
                                                      std::memory_order_acquire));
  // Release: a cleaner that sees kActive (acquire) also sees the start time.
  slot.word.store(node_word(kActive, pid), std::memory_order_release);
  m_node_index = claimed;
  return Registration::registered;
}

bool ServiceImpl::is_destroyed() const {
  return (m_header->node_mask.load(std::memory_order_acquire) & kNodeMaskDestroyed) != 0;
}

void ServiceImpl::free_node(std::uint32_t index, std::size_t* removed_segments) {
  bool changed = false;
  for (std::uint32_t s = 0; s < m_config.max_publishers; ++s) {
    std::uint64_t word = m_publishers[s].word.load(std::memory_order_acquire);
    if (slot_state(word) == kFree || port_word_node(word) != index) continue;
    std::uint64_t generation = port_word_generation(word);
    if (m_publishers[s].word.compare_exchange_strong(word, port_word(kFree, 0, generation),
                                                     std::memory_order_acq_rel,
                                                     std::memory_order_relaxed)) {
      changed = true;
      if (shm_remove(publisher_segment(s, generation)) == 0 && removed_segments) {
        ++*removed_segments;
      }
    }
  }
  for (std::uint32_t s = 0; s < m_config.max_subscribers; ++s) {
    std::uint64_t word = m_subscribers[s].word.load(std::memory_order_acquire);
    if (slot_state(word) == kFree || port_word_node(word) != index) continue;
    std::uint64_t generation = port_word_generation(word);
    if (m_subscribers[s].word.compare_exchange_strong(word, port_word(kFree, 0, generation),
                                                      std::memory_order_acq_rel,
                                                      std::memory_order_relaxed)) {
      changed = true;
      if (shm_remove(subscriber_fifo(s, generation)) == 0 && removed_segments) {
        ++*removed_segments;
      }
    }
  }
  if (changed) announce_change();

  std::uint64_t bit = std::uint64_t{1} << index;
  std::uint64_t mask = m_header->node_mask.load(std::memory_order_acquire);
  std::uint64_t next = 0;
  do {
    if ((mask & bit) == 0) break;  // another cleaner got here first, or never registered
    next = mask & ~bit;
    if (next == 0) next = kNodeMaskDestroyed;
  } while (!m_header->node_mask.compare_exchange_weak(mask, next, std::memory_order_acq_rel,
                                                      std::memory_order_acquire));
  bool destroyed = (mask & bit) != 0 && next == kNodeMaskDestroyed;
  m_nodes[index].start_time.store(0, std::memory_order_relaxed);
  m_nodes[index].node_id.store(0, std::memory_order_relaxed);
  m_nodes[index].word.store(node_word(kFree, 0), std::memory_order_release);
  if (m_node_index == index) m_node_index.reset();
  if (destroyed && shm_remove_if_same(m_segment_name, *m_mapping) && removed_segments) {
    ++*removed_segments;
  }
}

std::size_t ServiceImpl::cleanup_dead(std::size_t* removed_segments) {
  // Nothing is decided from a segment that fails its checks: a garbage node word would read as a
  // dead process and have its "ports" segments removed.
  if (!verify().empty()) return 0;
  std::size_t cleaned = 0;
  for (std::uint32_t i = 0; i < m_config.max_nodes; ++i) {
    if (m_node_index == i) continue;
    std::uint64_t word = m_nodes[i].word.load(std::memory_order_acquire);
    SlotState state = slot_state(word);
    if (state == kFree) continue;
    pid_t pid = static_cast<pid_t>(node_word_pid(word));
    std::uint64_t start_time = m_nodes[i].start_time.load(std::memory_order_acquire);
    if (process_alive(pid, state == kClaimed ? 0 : start_time)) continue;
    // Claim the cleaning; a slot already in kCleaning belongs to a cleaner that may itself have
    // died: every step below is idempotent, so doing it again is safe.
    if (state != kCleaning && !m_nodes[i].word.compare_exchange_strong(
                                  word, node_word(kCleaning, node_word_pid(word)),
                                  std::memory_order_acq_rel, std::memory_order_relaxed)) {
      continue;
    }
    free_node(i, removed_segments);
    ++cleaned;
  }
  // A segment nobody registered in (its creator died between creating and registering).
  std::uint64_t expected = 0;
  auto creator = static_cast<pid_t>(m_header->creator_pid.load(std::memory_order_relaxed));
  std::uint64_t creator_start = m_header->creator_start_time.load(std::memory_order_relaxed);
  if (!m_node_index && m_header->node_mask.load(std::memory_order_acquire) == 0 &&
      !process_alive(creator, creator_start) &&
      m_header->node_mask.compare_exchange_strong(
          expected, kNodeMaskDestroyed, std::memory_order_acq_rel, std::memory_order_relaxed)) {
    if (shm_remove_if_same(m_segment_name, *m_mapping) && removed_segments) ++*removed_segments;
  }
  return cleaned;
}

std::optional<std::pair<std::uint32_t, std::uint64_t>> ServiceImpl::claim_port(
    std::atomic<std::uint64_t>* first_word, std::size_t stride, std::uint32_t count) {
  if (!m_node_index) return std::nullopt;
  for (std::uint32_t s = 0; s < count; ++s) {
    auto* word_ptr = reinterpret_cast<std::atomic<std::uint64_t>*>(
        reinterpret_cast<std::byte*>(first_word) + s * stride);
    std::uint64_t word = word_ptr->load(std::memory_order_acquire);
    if (slot_state(word) != kFree) continue;
    std::uint64_t generation = port_word_generation(word) + 1;
    if (word_ptr->compare_exchange_strong(word, port_word(kClaimed, *m_node_index, generation),
                                          std::memory_order_acq_rel, std::memory_order_relaxed)) {
      return std::pair{s, generation};
    }
  }
  return std::nullopt;
}

std::optional<std::pair<std::uint32_t, std::uint64_t>> ServiceImpl::claim_publisher_slot() {
  return claim_port(&m_publishers[0].word, sizeof(PublisherSlot), m_config.max_publishers);
}

std::optional<std::pair<std::uint32_t, std::uint64_t>> ServiceImpl::claim_subscriber_slot() {
  return claim_port(&m_subscribers[0].word, sizeof(SubscriberSlot), m_config.max_subscribers);
}

void ServiceImpl::activate_publisher(std::uint32_t slot, std::uint64_t generation) {
  m_publishers[slot].word.store(port_word(kActive, *m_node_index, generation),
                                std::memory_order_release);
  announce_change();
}

void ServiceImpl::activate_subscriber(std::uint32_t slot, std::uint64_t generation) {
  m_subscribers[slot].word.store(port_word(kActive, *m_node_index, generation),
                                 std::memory_order_release);
  announce_change();
}

namespace {
// Frees a port slot we own (claimed or active, by generation); false if a cleaner freed it.
bool release_port(std::atomic<std::uint64_t>& word, std::uint64_t generation) {
  std::uint64_t current = word.load(std::memory_order_acquire);
  while (slot_state(current) != kFree && port_word_generation(current) == generation) {
    if (word.compare_exchange_weak(current, port_word(kFree, 0, generation),
                                   std::memory_order_acq_rel, std::memory_order_acquire)) {
      return true;
    }
  }
  return false;
}
}  // namespace

void ServiceImpl::release_publisher(std::uint32_t slot, std::uint64_t generation) {
  shm_remove(publisher_segment(slot, generation));  // ours: named by our slot and generation
  if (!corrupted() && release_port(m_publishers[slot].word, generation)) announce_change();
}

void ServiceImpl::release_subscriber(std::uint32_t slot, std::uint64_t generation) {
  if (!corrupted() && release_port(m_subscribers[slot].word, generation)) announce_change();
}

void ServiceImpl::announce_change() {
  m_header->change_counter.fetch_add(1, std::memory_order_acq_rel);
  // Orders the counter's update before the reads of the sleeper counts (see Event).
  std::atomic_thread_fence(std::memory_order_seq_cst);
  for (std::uint32_t s = 0; s < m_config.max_subscribers; ++s) {
    Event& event = m_subscribers[s].event;
    std::uint32_t waiters = event.waiters.load(std::memory_order_relaxed);
    if ((waiters & ~kFdArmed) != 0) {
      event.seq.fetch_add(1, std::memory_order_release);
      futex_wake_all(&event.seq);
    }
    if ((waiters & kFdArmed) != 0 &&
        (event.waiters.fetch_and(~kFdArmed, std::memory_order_acq_rel) & kFdArmed) != 0) {
      std::uint64_t word = m_subscribers[s].word.load(std::memory_order_acquire);
      if (int fd = fifo_open_writer(subscriber_fifo(s, port_word_generation(word))); fd >= 0) {
        fifo_poke(fd);
        ::close(fd);
      }
    }
  }
  // Publisher::wait_for_subscribers sleeps on the counter.
  futex_wake_all_low32(&m_header->change_counter);
}

std::string ServiceImpl::publisher_segment(std::uint32_t slot, std::uint64_t generation) const {
  return publisher_segment_name(m_node->config.prefix, m_config.name_hash, slot, generation);
}

std::string ServiceImpl::subscriber_fifo(std::uint32_t slot, std::uint64_t generation) const {
  return subscriber_fifo_name(m_node->config.prefix, m_config.name_hash, slot, generation);
}

std::uint32_t ServiceImpl::count_active_publishers() const {
  std::uint32_t count = 0;
  for (std::uint32_t s = 0; s < m_config.max_publishers; ++s) {
    if (slot_state(m_publishers[s].word.load(std::memory_order_acquire)) == kActive) ++count;
  }
  return count;
}

std::uint32_t ServiceImpl::count_active_subscribers() const {
  std::uint32_t count = 0;
  for (std::uint32_t s = 0; s < m_config.max_subscribers; ++s) {
    if (slot_state(m_subscribers[s].word.load(std::memory_order_acquire)) == kActive) ++count;
  }
  return count;
}

// ---- open / create ----

namespace {

Expected<ServiceOptions, Error<ServiceError>> options_for_create(const ServiceRequest& request) {
  ServiceOptions options;
  if (request.history_size) options.history_size = *request.history_size;
  if (request.subscriber_max_buffer_size) {
    options.subscriber_max_buffer_size = *request.subscriber_max_buffer_size;
  }
  if (request.subscriber_max_borrowed_samples) {
    options.subscriber_max_borrowed_samples = *request.subscriber_max_borrowed_samples;
  }
  if (request.max_publishers) options.max_publishers = *request.max_publishers;
  if (request.max_subscribers) options.max_subscribers = *request.max_subscribers;
  if (request.max_nodes) options.max_nodes = *request.max_nodes;
  if (request.overflow) options.overflow = *request.overflow;
  // A history no larger than the buffer: the history is delivered into the buffer.
  if (!request.subscriber_max_buffer_size &&
      options.history_size > options.subscriber_max_buffer_size) {
    options.subscriber_max_buffer_size = options.history_size;
  }
  auto out_of_range = [](const char* what, std::uint32_t value, std::uint32_t low,
                         std::uint32_t high) {
    return unexpected(service_error(ServiceError::invalid_options,
                                    std::string(what) + " = " + std::to_string(value) +
                                        " is outside [" + std::to_string(low) + ", " +
                                        std::to_string(high) + "]"));
  };
  if (options.subscriber_max_buffer_size < 1 ||
      options.subscriber_max_buffer_size > kMaxBufferSize) {
    return out_of_range("subscriber_max_buffer_size", options.subscriber_max_buffer_size, 1,
                        kMaxBufferSize);
  }
  if (options.history_size > options.subscriber_max_buffer_size) {
    return out_of_range("history_size", options.history_size, 0,
                        options.subscriber_max_buffer_size);
  }
  if (options.subscriber_max_borrowed_samples < 1 ||
      options.subscriber_max_borrowed_samples > kMaxBufferSize) {
    return out_of_range("subscriber_max_borrowed_samples", options.subscriber_max_borrowed_samples,
                        1, kMaxBufferSize);
  }
  if (options.max_publishers < 1 || options.max_publishers > kMaxPublishers) {
    return out_of_range("max_publishers", options.max_publishers, 1, kMaxPublishers);
  }
  if (options.max_subscribers < 1 || options.max_subscribers > kMaxSubscribers) {
    return out_of_range("max_subscribers", options.max_subscribers, 1, kMaxSubscribers);
  }
  if (options.max_nodes < 1 || options.max_nodes > kMaxNodes) {
    return out_of_range("max_nodes", options.max_nodes, 1, kMaxNodes);
  }
  return options;
}

std::optional<Error<ServiceError>> check_compatible(const ServiceImpl& service,
                                                    const ServiceRequest& request) {
  const ServiceConfig& config = service.config();
  std::string_view existing_type(config.type_name, config.type_name_length);
  if (existing_type != request.payload.type_name || config.type_size != request.payload.size ||
      config.type_alignment != request.payload.alignment ||
      (config.is_slice == 1) != request.payload.is_slice) {
    return service_error(
        ServiceError::incompatible_type,
        "service '" + request.name + "' carries " +
            describe_payload(existing_type, config.type_size, config.type_alignment) +
            ", requested " +
            describe_payload(request.payload.type_name, request.payload.size,
                             request.payload.alignment));
  }
  std::string_view existing_header(config.user_header_type, config.user_header_type_length);
  if (existing_header != request.payload.user_header_type ||
      config.user_header_size != request.payload.user_header_size ||
      config.user_header_alignment != request.payload.user_header_alignment) {
    auto describe_header = [](std::string_view type, std::uint64_t size, std::uint64_t alignment) {
      return type.empty() ? std::string("no user header")
                          : "user header " + describe_payload(type, size, alignment);
    };
    return service_error(
        ServiceError::incompatible_type,
        "service '" + request.name + "' has " +
            describe_header(existing_header, config.user_header_size,
                            config.user_header_alignment) +
            ", requested " +
            describe_header(request.payload.user_header_type, request.payload.user_header_size,
                            request.payload.user_header_alignment));
  }
  const ServiceOptions& options = service.options();
  auto too_small = [&](const char* what, std::uint32_t have,
                       std::uint32_t want) -> std::optional<Error<ServiceError>> {
    return service_error(ServiceError::incompatible_options,
                         "service '" + request.name + "' has " + what + " = " +
                             std::to_string(have) + ", requested at least " + std::to_string(want));
  };
  if (request.history_size && options.history_size < *request.history_size) {
    return too_small("history_size", options.history_size, *request.history_size);
  }
  if (request.subscriber_max_buffer_size &&
      options.subscriber_max_buffer_size < *request.subscriber_max_buffer_size) {
    return too_small("subscriber_max_buffer_size", options.subscriber_max_buffer_size,
                     *request.subscriber_max_buffer_size);
  }
  if (request.subscriber_max_borrowed_samples &&
      options.subscriber_max_borrowed_samples < *request.subscriber_max_borrowed_samples) {
    return too_small("subscriber_max_borrowed_samples", options.subscriber_max_borrowed_samples,
                     *request.subscriber_max_borrowed_samples);
  }
  if (request.max_publishers && options.max_publishers < *request.max_publishers) {
    return too_small("max_publishers", options.max_publishers, *request.max_publishers);
  }
  if (request.max_subscribers && options.max_subscribers < *request.max_subscribers) {
    return too_small("max_subscribers", options.max_subscribers, *request.max_subscribers);
  }
  if (request.max_nodes && options.max_nodes < *request.max_nodes) {
    return too_small("max_nodes", options.max_nodes, *request.max_nodes);
  }
  if (request.overflow && options.overflow != *request.overflow) {
    auto name = [](Overflow o) {
      return o == Overflow::backpressure ? std::string("backpressure")
                                         : std::string("safe_overflow");
    };
    return service_error(ServiceError::incompatible_options,
                         "service '" + request.name + "' uses overflow " + name(options.overflow) +
                             ", requested " + name(*request.overflow));
  }
  return std::nullopt;
}

// open_service, the name checked (and suffixed for request-response).
Expected<std::shared_ptr<ServiceImpl>, Error<ServiceError>> open_named_service(
    const std::shared_ptr<NodeState>& node, const ServiceRequest& request, OpenMode mode) {
  const PayloadLayout& payload = request.payload;
  if (payload.type_name.empty() || payload.type_name.size() > kMaxTypeNameLength ||
      payload.size == 0 || payload.size > (std::size_t{1} << 32) || payload.alignment == 0 ||
      payload.alignment > kMaxPayloadAlignment ||
      (payload.alignment & (payload.alignment - 1)) != 0) {
    return unexpected(
        service_error(ServiceError::invalid_options,
                      "unsupported payload " +
                          describe_payload(payload.type_name, payload.size, payload.alignment)));
  }
  if (payload.user_header_type.size() > kMaxTypeNameLength ||
      payload.user_header_size > kMaxUserHeaderSize || payload.user_header_alignment == 0 ||
      payload.user_header_alignment > kMaxUserHeaderAlignment ||
      (payload.user_header_alignment & (payload.user_header_alignment - 1)) != 0 ||
      payload.user_header_type.empty() != (payload.user_header_size == 0)) {
    return unexpected(
        service_error(ServiceError::invalid_options,
                      "unsupported user header " +
                          describe_payload(payload.user_header_type, payload.user_header_size,
                                           payload.user_header_alignment) +
                          ": at most 65536 bytes, aligned to at most 64"));
  }
  auto options = options_for_create(request);
  if (!options) return unexpected(std::move(options).error());

  const std::string segment = service_segment_name(node->config.prefix, hash_name(request.name));
  const std::int64_t deadline =
      monotonic_ns() + std::chrono::nanoseconds(node->config.open_timeout).count();
  std::int64_t destroyed_since = 0;
  for (;;) {
    if (monotonic_ns() > deadline) {
      return unexpected(service_error(
          ServiceError::timeout,
          "service '" + request.name + "' stayed in creation or removal by another process"));
    }
    if (mode != OpenMode::open) {
      auto created = create_service_segment(*node, segment, request, *options);
      if (created) {
        std::shared_ptr<Mapping> mapping = *created;
        auto impl = ServiceImpl::attach(node, segment, std::move(*created));
        if (!impl) {
          shm_remove_if_same(segment, *mapping);  // ours, just made: leave nothing behind
          return impl;
        }
        // Only a cleanup racing between our creation and this line can refuse us; retry then.
        if ((*impl)->register_node() == ServiceImpl::Registration::registered) return impl;
        continue;
      }
      if (created.error().err != EEXIST) {
        int err = created.error().err;
        return unexpected(service_error(err == EACCES ? ServiceError::permission_denied
                                        : err == ENOSPC || err == EFBIG
                                            ? ServiceError::insufficient_memory
                                            : ServiceError::system,
                                        created.error().what));
      }
    }
    auto opened = shm_open_existing(segment);
    if (!opened) {
      int err = opened.error().err;
      if (err == ENOENT) {
        if (mode == OpenMode::open) {
          return unexpected(service_error(ServiceError::does_not_exist,
                                          "service '" + request.name + "' does not exist"));
        }
        continue;
      }
      if (err == ENODATA) {  // created a moment ago, not sized yet
        sleep_briefly();
        continue;
      }
      return unexpected(
          service_error(err == EACCES ? ServiceError::permission_denied : ServiceError::system,
                        opened.error().what));
    }
    std::shared_ptr<Mapping> mapping = std::move(opened->mapping);
    if (mapping->size() < sizeof(ServiceHeader)) {
      return unexpected(
          service_error(ServiceError::corrupted, "service segment " + segment + " is truncated"));
    }
    auto* header = reinterpret_cast<ServiceHeader*>(mapping->data());
    if (std::uint32_t state = header->state.load(std::memory_order_acquire); state != kStateReady) {
      switch (classify_unready(*header)) {
        case Unready::corrupted:
          return unexpected(service_error(
              ServiceError::corrupted,
              "service segment " + segment + ": its state word is " + hex_word(state) +
                  " with node mask " + hex_word(header->node_mask.load(std::memory_order_relaxed)) +
                  ", which no creator writes"));
        case Unready::abandoned:
          shm_remove_if_same(segment, *mapping);  // its creator died half-way
          break;
        case Unready::creating:
          sleep_briefly();
          break;
      }
      continue;
    }
    auto impl = ServiceImpl::attach(node, segment, std::move(mapping));
    if (!impl) return impl;
    ServiceImpl& service = **impl;
    if (std::string why = service.verify(); !why.empty()) {
      return unexpected(service_error(ServiceError::corrupted, why));
    }
    if (service.name() != request.name) {
      return unexpected(service_error(ServiceError::corrupted,
                                      "service '" + request.name + "' and '" + service.name() +
                                          "' have the same hash; rename one"));
    }
    // Dead nodes first: a service whose nodes all died is removed here and created afresh, even
    // if its type or options differ from the request.
    service.cleanup_dead();
    if (service.is_destroyed()) {
      // Its last node is removing it. If that node died before unlinking, do it after a while.
      std::int64_t now = monotonic_ns();
      if (destroyed_since == 0) destroyed_since = now;
      if (now - destroyed_since > 100'000'000) {
        shm_remove_if_same(segment, service.mapping());
        destroyed_since = 0;
      }
      sleep_briefly();
      continue;
    }
    if (mode == OpenMode::create) {
      return unexpected(service_error(ServiceError::already_exists,
                                      "service '" + request.name + "' already exists"));
    }
    if (auto error = check_compatible(service, request)) return unexpected(std::move(*error));
    switch (service.register_node()) {
      case ServiceImpl::Registration::registered:
        return impl;
      case ServiceImpl::Registration::destroyed:
        continue;
      case ServiceImpl::Registration::full:
        return unexpected(service_error(ServiceError::exceeds_max_nodes,
                                        "service '" + request.name + "' already has max_nodes = " +
                                            std::to_string(service.options().max_nodes) +
                                            " nodes"));
    }
  }
}

}  // namespace

Expected<std::shared_ptr<ServiceImpl>, Error<ServiceError>> open_service(
    const std::shared_ptr<NodeState>& node, const ServiceRequest& request, OpenMode mode) {
  if (!valid_service_name(request.name)) {
    return unexpected(service_error(ServiceError::invalid_name,
                                    "'" + request.name + "' is not a valid service name"));
  }
  if (request.role != ServiceRole::publish_subscribe) {
    ServiceRequest half = request;
    half.name += request.role == ServiceRole::requests ? kRequestSuffix : kResponseSuffix;
    return open_named_service(node, half, mode);
  }
  return open_named_service(node, request, mode);
}

const ServiceOptions& service_options(const ServiceImpl& service) {
  return service.options();
}
const std::string& service_name(const ServiceImpl& service) {
  return service.name();
}
std::size_t service_cleanup_dead_nodes(ServiceImpl& service) {
  return service.cleanup_dead();
}
std::uint32_t service_publisher_count(const ServiceImpl& service) {
  return service.count_active_publishers();
}
std::uint32_t service_subscriber_count(const ServiceImpl& service) {
  return service.count_active_subscribers();
}

}  // namespace zerocopy::detail

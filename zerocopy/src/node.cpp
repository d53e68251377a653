#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <random>

#include "internal.hpp"
#include "zerocopy/node.hpp"

namespace zerocopy {

namespace {
// Set from a signal handler (lock-free, so allowed there); it carries no data: relaxed.
static_assert(std::atomic<bool>::is_always_lock_free);
std::atomic<bool> g_termination_requested{false};
extern "C" void on_termination_signal(int) {
  g_termination_requested.store(true, std::memory_order_relaxed);
}

std::uint64_t random_node_id() {
  std::random_device device;
  std::uint64_t id = (std::uint64_t{device()} << 32) ^ device();
  return id == 0 ? 1 : id;
}
}  // namespace

Expected<Node, Error<NodeError>> Node::create(const NodeConfig& config) {
  if (!detail::valid_prefix(config.prefix)) {
    return unexpected(Error<NodeError>{
        NodeError::invalid_prefix,
        "'" + config.prefix + "' is not a valid prefix: use 1-128 characters of [A-Za-z0-9._-]"});
  }
  if (config.name.size() > 64) {
    return unexpected(
        Error<NodeError>{NodeError::invalid_name, "node names have 64 characters at most"});
  }
  auto state = std::make_shared<detail::NodeState>();
  state->config = config;
  state->pid = ::getpid();
  state->start_time = detail::self_start_time();
  state->node_id = random_node_id();
  return Node(std::move(state));
}

const NodeConfig& Node::config() const {
  return m_state->config;
}

CleanupReport Node::cleanup_dead_nodes() const {
  CleanupReport report;
  const std::string& prefix = m_state->config.prefix;
  // Services first: freeing a dead node's publishers unlinks their segments.
  for (const std::string& name : detail::shm_list(prefix)) {
    if (!detail::parse_service_segment_name(prefix, name)) continue;
    auto opened = detail::shm_open_existing(name);
    if (!opened) continue;
    std::shared_ptr<detail::Mapping> mapping = opened->mapping;
    if (mapping->size() < sizeof(detail::ServiceHeader)) continue;
    auto* header = reinterpret_cast<detail::ServiceHeader*>(mapping->data());
    if (header->state.load(std::memory_order_acquire) != detail::kStateReady) {
      // Only a segment whose creator died half-way; a corrupted one is left alone.
      if (detail::classify_unready(*header) == detail::Unready::abandoned &&
          detail::shm_remove_if_same(name, *mapping)) {
        ++report.removed_segments;
      }
      continue;
    }
    auto service = detail::ServiceImpl::attach(m_state, name, std::move(opened->mapping));
    if (!service) continue;
    report.dead_nodes += (*service)->cleanup_dead(&report.removed_segments);
  }
  // Then publisher segments and subscriber FIFOs that no service slot accounts for.
  for (const std::string& name : detail::shm_list(prefix)) {
    auto parsed = detail::parse_publisher_segment_name(prefix, name);
    bool is_fifo = false;
    if (!parsed) {
      parsed = detail::parse_subscriber_fifo_name(prefix, name);
      is_fifo = true;
    }
    if (!parsed) continue;
    std::string service_name = detail::service_segment_name(prefix, parsed->hash);
    auto opened = detail::shm_open_existing(service_name);
    bool orphan = false;
    if (!opened) {
      orphan = opened.error().err == ENOENT;
    } else {
      auto service = detail::ServiceImpl::attach(m_state, service_name, opened->mapping);
      // A service that fails its checks says nothing trustworthy about its publishers.
      if (service && !(*service)->verify().empty()) continue;
      if (service && (*service)->is_destroyed()) {
        orphan = true;
      } else if (service) {
        const detail::ServiceImpl& impl = **service;
        if (parsed->slot >=
            (is_fifo ? impl.options().max_subscribers : impl.options().max_publishers)) {
          orphan = true;
        } else {
          std::uint64_t word =
              is_fifo ? impl.subscriber_slots()[parsed->slot].word.load(std::memory_order_acquire)
                      : impl.publisher_slots()[parsed->slot].word.load(std::memory_order_acquire);
          orphan = detail::slot_state(word) == detail::kFree ||
                   detail::port_word_generation(word) != parsed->generation;
        }
      }
    }
    if (orphan && detail::shm_remove(name) == 0) ++report.removed_segments;
  }
  return report;
}

NodeEvent Node::wait(std::chrono::nanoseconds duration) const {
  const std::int64_t deadline = detail::monotonic_ns() + duration.count();
  for (;;) {
    if (g_termination_requested.load(std::memory_order_relaxed))
      return NodeEvent::termination_request;
    std::int64_t remaining = deadline - detail::monotonic_ns();
    if (remaining <= 0) return NodeEvent::tick;
    std::int64_t step = std::min<std::int64_t>(remaining, 10'000'000);
    timespec pause{0, static_cast<long>(step)};
    ::nanosleep(&pause, nullptr);  // EINTR: the loop re-checks the flag
  }
}

void install_termination_handler() {
  struct sigaction action {};
  action.sa_handler = on_termination_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;  // no SA_RESTART: blocking calls return EINTR
  ::sigaction(SIGINT, &action, nullptr);
  ::sigaction(SIGTERM, &action, nullptr);
}

bool termination_requested() noexcept {
  return g_termination_requested.load(std::memory_order_relaxed);
}

bool is_valid_service_name(std::string_view name) noexcept {
  return detail::valid_service_name(name);
}
bool is_valid_prefix(std::string_view prefix) noexcept {
  return detail::valid_prefix(prefix);
}

}  // namespace zerocopy

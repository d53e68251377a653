// Node: one participant (normally one per process). It carries the shared-memory prefix and the
// identity (pid and process start time) it registers in every service it opens, so that a node
// whose process died is recognised and cleaned up by the others, with no central daemon.
//
//   auto node = zerocopy::Node::create().value();
//   auto service = node.service_builder("My/Funk/ServiceName")
//                      .publish_subscribe<std::uint64_t>()
//                      .open_or_create()
//                      .value();
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>

#include "zerocopy/config.hpp"
#include "zerocopy/detail/api.hpp"
#include "zerocopy/detail/payload.hpp"
#include "zerocopy/error.hpp"
#include "zerocopy/expected.hpp"
#include "zerocopy/service.hpp"
#include "zerocopy/type_name.hpp"

namespace zerocopy {

// The options of a publish-subscribe service. On create(), the values not set take the defaults
// of ServiceOptions; on open(), each value set is a requirement the existing service must meet
// (at least that many, or the same overflow policy), else ServiceError::incompatible_options.
template <class T>
class ServiceBuilderPubSub {
  static_assert(detail::kIsShmPayload<T>,
                "a payload must be trivially copyable, standard-layout and hold no pointer");

 public:
  using Element = typename detail::PayloadTraits<T>::Element;

  ServiceBuilderPubSub& history_size(std::uint32_t value) {
    m_request.history_size = value;
    return *this;
  }
  ServiceBuilderPubSub& subscriber_max_buffer_size(std::uint32_t value) {
    m_request.subscriber_max_buffer_size = value;
    return *this;
  }
  ServiceBuilderPubSub& subscriber_max_borrowed_samples(std::uint32_t value) {
    m_request.subscriber_max_borrowed_samples = value;
    return *this;
  }
  ServiceBuilderPubSub& max_publishers(std::uint32_t value) {
    m_request.max_publishers = value;
    return *this;
  }
  ServiceBuilderPubSub& max_subscribers(std::uint32_t value) {
    m_request.max_subscribers = value;
    return *this;
  }
  ServiceBuilderPubSub& max_nodes(std::uint32_t value) {
    m_request.max_nodes = value;
    return *this;
  }
  ServiceBuilderPubSub& overflow(Overflow value) {
    m_request.overflow = value;
    return *this;
  }
  // Every sample of the service carries a user header H besides its payload (iceoryx2's user
  // header), written through SampleMut::user_header_mut<H>() and read through
  // Sample::user_header<H>(). Part of the service's type: openers must ask for the same H.
  template <class H>
  ServiceBuilderPubSub& user_header() {
    static_assert(detail::kIsShmPayload<H> && !std::is_array_v<H>,
                  "a user header must be trivially copyable, standard-layout and hold no pointer");
    static_assert(sizeof(H) <= 65536 && alignof(H) <= 64,
                  "a user header has at most 65536 bytes and an alignment of at most 64");
    m_request.payload.user_header_type = std::string(TypeName<H>::value);
    m_request.payload.user_header_size = sizeof(H);
    m_request.payload.user_header_alignment = alignof(H);
    return *this;
  }
  // Overrides the registered type name (see type_name.hpp).
  ServiceBuilderPubSub& type_name(std::string_view value) {
    m_request.payload.type_name = std::string(value);
    if (detail::PayloadTraits<T>::kIsSlice) m_request.payload.type_name += "[]";
    return *this;
  }

  Expected<Service<T>, Error<ServiceError>> open() const { return run(detail::OpenMode::open); }
  Expected<Service<T>, Error<ServiceError>> create() const { return run(detail::OpenMode::create); }
  Expected<Service<T>, Error<ServiceError>> open_or_create() const {
    return run(detail::OpenMode::open_or_create);
  }

 private:
  ServiceBuilderPubSub(std::shared_ptr<detail::NodeState> node, std::string name)
      : m_node(std::move(node)) {
    m_request.name = std::move(name);
    m_request.payload.type_name = std::string(TypeName<Element>::value);
    if (detail::PayloadTraits<T>::kIsSlice) m_request.payload.type_name += "[]";
    m_request.payload.size = sizeof(Element);
    m_request.payload.alignment = alignof(Element);
    m_request.payload.is_slice = detail::PayloadTraits<T>::kIsSlice;
  }
  Expected<Service<T>, Error<ServiceError>> run(detail::OpenMode mode) const {
    auto impl = detail::open_service(m_node, m_request, mode);
    if (!impl) return unexpected(std::move(impl).error());
    return Service<T>(std::move(*impl));
  }
  // Request-response opens its two halves as publish-subscribe services of their own role.
  ServiceBuilderPubSub& role(detail::ServiceRole value) {
    m_request.role = value;
    return *this;
  }
  friend class ServiceBuilder;
  template <class Req, class Resp>
  friend class ServiceBuilderRequestResponse;

  std::shared_ptr<detail::NodeState> m_node;
  detail::ServiceRequest m_request;
};

class ServiceBuilderEvent;
template <class Req, class Resp>
class ServiceBuilderRequestResponse;

class ServiceBuilder {
 public:
  // T is the payload: one value of T, or T[] for slices of dynamic length.
  template <class T>
  ServiceBuilderPubSub<T> publish_subscribe() const {
    return ServiceBuilderPubSub<T>(m_node, m_name);
  }
  // An event service: notifiers and listeners of event ids, no payload (event.hpp).
  ServiceBuilderEvent event() const;
  // A request-response service: clients send Req and receive Resp from a server
  // (request_response.hpp). Either may be a slice (U[]).
  template <class Req, class Resp>
  ServiceBuilderRequestResponse<Req, Resp> request_response() const;

 private:
  ServiceBuilder(std::shared_ptr<detail::NodeState> node, std::string_view name)
      : m_node(std::move(node)), m_name(name) {}
  friend class Node;

  std::shared_ptr<detail::NodeState> m_node;
  std::string m_name;
};

// What Node::cleanup_dead_nodes() found and removed under the node's prefix.
struct CleanupReport {
  std::size_t dead_nodes = 0;        // node registrations of dead processes removed
  std::size_t removed_segments = 0;  // shared-memory names unlinked
};

enum class NodeEvent {
  tick,                 // the wait time passed
  termination_request,  // SIGINT or SIGTERM arrived (see install_termination_handler)
};

class Node {
 public:
  static Expected<Node, Error<NodeError>> create(const NodeConfig& config = {});

  const NodeConfig& config() const;
  // The service name is validated when the service is opened (ServiceError::invalid_name).
  ServiceBuilder service_builder(std::string_view name) const { return {m_state, name}; }

  // Scans every service under this node's prefix: removes dead nodes' registrations, ports and
  // segments, segments left by a creator that died half-way, and publisher segments no service
  // knows any more.
  CleanupReport cleanup_dead_nodes() const;

  // Sleeps for `duration` (in steps of at most 10 ms) unless a termination signal arrives.
  NodeEvent wait(std::chrono::nanoseconds duration) const;

 private:
  explicit Node(std::shared_ptr<detail::NodeState> state) : m_state(std::move(state)) {}
  std::shared_ptr<detail::NodeState> m_state;
};

// Installs SIGINT and SIGTERM handlers that only set a flag (Node::wait returns
// termination_request, termination_requested() turns true). Opt-in: a library should not take
// signals over unless asked.
void install_termination_handler();
bool termination_requested() noexcept;

// Is `name` a valid service name? Non-empty, at most 255 characters of [A-Za-z0-9_.-] in
// segments separated by single '/', no leading or trailing '/'.
bool is_valid_service_name(std::string_view name) noexcept;
// Is `prefix` a valid shared-memory prefix (see NodeConfig::prefix)?
bool is_valid_prefix(std::string_view prefix) noexcept;

}  // namespace zerocopy

#include "zerocopy/event.hpp"             // ServiceBuilder::event()
#include "zerocopy/request_response.hpp"  // ServiceBuilder::request_response()

// Events: a service kind with no payload, only an event id (iceoryx2's event messaging pattern).
// Notifiers notify(id); listeners wait for ids, alone or in a WaitSet.
//
//   auto events = node.service_builder("Robot/Alarms").event().open_or_create().value();
//   auto notifier = events.notifier_builder().create().value();
//   auto listener = events.listener_builder().create().value();
//   notifier.notify(zerocopy::EventId{7}).value();
//   listener.timed_wait_all([](zerocopy::EventId id) { use(id.value); }, 1s).value();
//
// Built on the publish-subscribe machinery (so nodes, dead-node clean-up and integrity checks are
// the same): an event service is a service of EventId with safe overflow, a notifier a publisher,
// a listener a subscriber. Each listener keeps the last `event_buffer` notifications of each
// notifier; older ones not yet collected are dropped (a notifier never waits). Ids are
// delivered in the order notified, per notifier, repeats included.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <utility>

#include "zerocopy/node.hpp"

namespace zerocopy {

struct EventId {
  std::uint64_t value = 0;
  friend bool operator==(EventId, EventId) = default;
};

template <>
struct TypeName<EventId> {
  static constexpr std::string_view value = "zerocopy::EventId";
};

class Notifier {
 public:
  // Wakes every listener with `id`. Returns how many listeners it reached. Never waits.
  Expected<std::size_t, SendError> notify(EventId id = {}) noexcept {
    return m_publisher.send_copy(id);
  }
  // Connects listeners that appeared (notify does this too); returns how many there are.
  std::size_t update_connections() noexcept { return m_publisher.update_connections(); }
  // Waits (no spinning) until at least `count` listeners are connected; false on timeout.
  bool wait_for_listeners(std::size_t count, std::chrono::nanoseconds timeout) noexcept {
    return m_publisher.wait_for_subscribers(count, timeout);
  }

 private:
  explicit Notifier(Publisher<EventId> publisher) : m_publisher(std::move(publisher)) {}
  friend class NotifierBuilder;
  Publisher<EventId> m_publisher;
};

class Listener {
 public:
  // The next id, or nothing. Never blocks.
  Expected<std::optional<EventId>, ReceiveError> try_wait_one() noexcept {
    auto sample = m_subscriber.receive();
    if (!sample) return unexpected(sample.error());
    if (!*sample) return std::optional<EventId>{};
    return std::optional<EventId>(**sample);
  }
  // Calls fn(EventId) for every id waiting. Never blocks.
  template <class F>
  Expected<void, ReceiveError> try_wait_all(F&& fn) {
    for (;;) {
      auto id = try_wait_one();
      if (!id) return unexpected(id.error());
      if (!*id) return {};
      fn(**id);
    }
  }
  // Waits (on a futex) up to `timeout` for at least one id, then calls fn for every id waiting.
  template <class F>
  Expected<void, ReceiveError> timed_wait_all(F&& fn, std::chrono::nanoseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      bool any = false;
      auto taken = try_wait_all([&](EventId id) {
        any = true;
        fn(id);
      });
      if (!taken || any) return taken;
      auto left = deadline - std::chrono::steady_clock::now();
      if (left <= std::chrono::nanoseconds::zero()) return {};
      if (m_subscriber.wait(left) == WaitResult::interrupted) return {};
    }
  }
  template <class F>
  Expected<void, ReceiveError> blocking_wait_all(F&& fn) {
    return timed_wait_all(std::forward<F>(fn), std::chrono::hours(24 * 365));
  }
  // For WaitSet and event loops; see Subscriber::notification_fd().
  Expected<int, Error<WaitSetError>> notification_fd() { return m_subscriber.notification_fd(); }
  std::string corruption() const { return m_subscriber.corruption(); }

 private:
  explicit Listener(Subscriber<EventId> subscriber) : m_subscriber(std::move(subscriber)) {}
  friend class ListenerBuilder;
  Subscriber<EventId> m_subscriber;
};

class NotifierBuilder {
 public:
  Expected<Notifier, Error<PublisherCreateError>> create() const {
    auto publisher = m_service.publisher_builder().max_loaned_samples(1).create();
    if (!publisher) return unexpected(std::move(publisher).error());
    return Notifier(std::move(*publisher));
  }

 private:
  explicit NotifierBuilder(Service<EventId> service) : m_service(std::move(service)) {}
  friend class EventService;
  Service<EventId> m_service;
};

class ListenerBuilder {
 public:
  Expected<Listener, Error<SubscriberCreateError>> create() const {
    auto subscriber = m_service.subscriber_builder().create();
    if (!subscriber) return unexpected(std::move(subscriber).error());
    return Listener(std::move(*subscriber));
  }

 private:
  explicit ListenerBuilder(Service<EventId> service) : m_service(std::move(service)) {}
  friend class EventService;
  Service<EventId> m_service;
};

class EventService {
 public:
  const std::string& name() const { return m_service.name(); }
  NotifierBuilder notifier_builder() const { return NotifierBuilder(m_service); }
  ListenerBuilder listener_builder() const { return ListenerBuilder(m_service); }
  std::uint32_t notifier_count() const { return m_service.publisher_count(); }
  std::uint32_t listener_count() const { return m_service.subscriber_count(); }
  std::size_t cleanup_dead_nodes() { return m_service.cleanup_dead_nodes(); }

 private:
  explicit EventService(Service<EventId> service) : m_service(std::move(service)) {}
  friend class ServiceBuilderEvent;
  Service<EventId> m_service;
};

// On create() the values not set take their defaults (2 notifiers, 8 listeners, 16 buffered
// notifications per notifier and listener, 20 nodes); on open() each value set is a requirement.
class ServiceBuilderEvent {
 public:
  ServiceBuilderEvent& max_notifiers(std::uint32_t value) {
    m_builder.max_publishers(value);
    return *this;
  }
  ServiceBuilderEvent& max_listeners(std::uint32_t value) {
    m_builder.max_subscribers(value);
    return *this;
  }
  ServiceBuilderEvent& max_nodes(std::uint32_t value) {
    m_builder.max_nodes(value);
    return *this;
  }
  // Notifications a listener keeps per notifier until it collects them.
  ServiceBuilderEvent& event_buffer(std::uint32_t value) {
    m_builder.subscriber_max_buffer_size(value);
    m_buffer_set = true;
    return *this;
  }
  Expected<EventService, Error<ServiceError>> open() const { return run(detail::OpenMode::open); }
  Expected<EventService, Error<ServiceError>> create() const {
    return run(detail::OpenMode::create);
  }
  Expected<EventService, Error<ServiceError>> open_or_create() const {
    return run(detail::OpenMode::open_or_create);
  }

 private:
  explicit ServiceBuilderEvent(ServiceBuilderPubSub<EventId> builder)
      : m_builder(std::move(builder)) {
    m_builder.overflow(Overflow::safe_overflow);
  }
  Expected<EventService, Error<ServiceError>> run(detail::OpenMode mode) const {
    ServiceBuilderPubSub<EventId> builder = m_builder;
    // The default buffer applies when creating; opening accepts whatever the creator chose.
    if (!m_buffer_set && mode != detail::OpenMode::open) builder.subscriber_max_buffer_size(16);
    auto service = mode == detail::OpenMode::open     ? builder.open()
                   : mode == detail::OpenMode::create ? builder.create()
                                                      : builder.open_or_create();
    if (!service) return unexpected(std::move(service).error());
    return EventService(std::move(*service));
  }
  friend class ServiceBuilder;

  ServiceBuilderPubSub<EventId> m_builder;
  bool m_buffer_set = false;
};

inline ServiceBuilderEvent ServiceBuilder::event() const {
  return ServiceBuilderEvent(publish_subscribe<EventId>());
}

}  // namespace zerocopy

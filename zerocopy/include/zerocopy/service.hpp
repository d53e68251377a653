// Service<T>: an opened publish-subscribe service, the factory of its publishers and subscribers.
// It keeps the node registered in the service while it (or any port made from it) lives; when
// the last process leaves, the service's shared memory is removed.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "zerocopy/detail/api.hpp"
#include "zerocopy/publisher.hpp"
#include "zerocopy/subscriber.hpp"

namespace zerocopy {

template <class T>
class Service {
 public:
  const std::string& name() const { return detail::service_name(*m_impl); }
  // The static configuration the creator fixed.
  const ServiceOptions& options() const { return detail::service_options(*m_impl); }
  std::uint32_t publisher_count() const { return detail::service_publisher_count(*m_impl); }
  std::uint32_t subscriber_count() const { return detail::service_subscriber_count(*m_impl); }

  PublisherBuilder<T> publisher_builder() const { return PublisherBuilder<T>(m_impl); }
  SubscriberBuilder<T> subscriber_builder() const { return SubscriberBuilder<T>(m_impl); }

  // Finds the nodes registered in this service whose process has died, frees their publishers
  // and subscribers (so their chunks return to the surviving publishers' pools) and removes
  // their segments. Returns the number of dead nodes cleaned. open() does this as well.
  std::size_t cleanup_dead_nodes() { return detail::service_cleanup_dead_nodes(*m_impl); }

 private:
  explicit Service(std::shared_ptr<detail::ServiceImpl> impl) : m_impl(std::move(impl)) {}
  template <class U>
  friend class ServiceBuilderPubSub;

  std::shared_ptr<detail::ServiceImpl> m_impl;
};

}  // namespace zerocopy

// Subscriber<T>: receives samples from every publisher of its service, reading the publishers'
// shared memory in place (mapped read-only). A Sample gives its chunk back when destroyed.
//
//   while (subscriber.wait(1s) == zerocopy::WaitResult::data_available) {
//     while (auto sample = subscriber.receive().value()) {  // .value() aborts on an error
//       use(sample->x);                                    // read in place
//     }
//   }
//
// Ordering: samples from one publisher arrive in the order it sent them; samples from different
// publishers are interleaved in no particular order.
//
// Threading: a subscriber and the samples it hands out belong to one thread at a time.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <utility>

#include "zerocopy/detail/api.hpp"
#include "zerocopy/detail/payload.hpp"
#include "zerocopy/error.hpp"
#include "zerocopy/expected.hpp"

namespace zerocopy {

template <class T>
class Subscriber;

// A received sample: a read-only view of the publisher's chunk, valid while the Sample lives, or
// nothing (receive() found no sample): test it (`if (sample)`) before reading it.
template <class T>
class Sample {
 public:
  using Element = typename detail::PayloadTraits<T>::Element;
  static constexpr bool kIsSlice = detail::PayloadTraits<T>::kIsSlice;

  // No sample.
  Sample() noexcept : m_port(nullptr), m_received{} {}
  Sample(Sample&& other) noexcept
      : m_port(std::exchange(other.m_port, nullptr)), m_received(other.m_received) {}
  Sample& operator=(Sample&& other) noexcept {
    if (this != &other) {
      reset();
      m_port = std::exchange(other.m_port, nullptr);
      m_received = other.m_received;
    }
    return *this;
  }
  ~Sample() { reset(); }

  // Is there a sample? Test before reading: reading an empty one is undefined (std::optional's
  // rule).
  explicit operator bool() const noexcept { return m_port != nullptr; }
  bool has_value() const noexcept { return m_port != nullptr; }
  // Gives the chunk back now (as the destructor would); the Sample is empty afterwards.
  void reset() noexcept {
    if (m_port != nullptr) {
      detail::subscriber_release(std::exchange(m_port, nullptr), m_received.connection,
                                 m_received.index);
    }
  }

  const Element& operator*() const noexcept requires(!kIsSlice) { return *element(); }
  const Element* operator->() const noexcept requires(!kIsSlice) { return element(); }
  const Element& payload() const noexcept requires(!kIsSlice) { return *element(); }
  std::span<const Element> payload() const noexcept requires(kIsSlice) {
    return {element(), len()};
  }
  // Who sent it, its sequence number, and its publish time if the publisher records it. Reads
  // the chunk's header entry (one more cache line) only when called.
  SampleHeader header() const noexcept {
    check_not_empty();
    return detail::subscriber_sample_header(m_port, m_received.connection, m_received.index,
                                            m_received.position);
  }
  // The user header (service builder's user_header<H>()); nullptr if the service has none of
  // H's size and alignment.
  template <class H>
  const H* user_header() const noexcept {
    check_not_empty();
    return static_cast<const H*>(detail::subscriber_user_header(
        m_port, m_received.connection, m_received.index, sizeof(H), alignof(H)));
  }
  // Elements in the sample (1 unless a slice).
  std::size_t len() const noexcept { return m_received.bytes / sizeof(Element); }
  std::size_t size_bytes() const noexcept { return m_received.bytes; }

 private:
  // Reading the payload of an empty Sample is undefined, as with std::optional (no check on the
  // hot path); the metadata calls, off it, abort instead.
  const Element* element() const noexcept {
    return static_cast<const Element*>(m_received.payload);
  }
  void check_not_empty() const noexcept {
    if (m_port == nullptr) [[unlikely]]
      detail::bad_expected_access("a Sample's header read while empty (receive() found nothing)");
  }
  friend class Subscriber<T>;

  detail::SubscriberPort* m_port;
  detail::Received m_received;
};

template <class T>
class Subscriber {
  static_assert(detail::kIsShmPayload<T>,
                "a payload must be trivially copyable, standard-layout and hold no pointer");

 public:
  Subscriber(Subscriber&& other) noexcept : m_port(std::exchange(other.m_port, nullptr)) {}
  Subscriber& operator=(Subscriber&& other) noexcept {
    if (this != &other) {
      if (m_port != nullptr) detail::subscriber_drop(m_port);
      m_port = std::exchange(other.m_port, nullptr);
    }
    return *this;
  }
  ~Subscriber() {
    if (m_port != nullptr) detail::subscriber_drop(m_port);
  }

  // The next sample, or an empty Sample when none is waiting. Never blocks.
  // ReceiveError::corrupted: a publisher's segment handed out an invalid entry or failed the
  // periodic check (made every 16384th time receive() finds nothing): that publisher is dropped
  // and the others keep working; or the service's segment failed its checks: then every later
  // receive() says so too. corruption() says what was wrong.
  Expected<Sample<T>, ReceiveError> receive() noexcept {
    // The library writes the sample's Received into the Sample returned (no copy in between).
    Expected<Sample<T>, ReceiveError> out{Sample<T>()};
    switch (detail::subscriber_receive(m_port, &out->m_received)) {
      case detail::Receipt::sample:
        out->m_port = m_port;
        break;
      case detail::Receipt::nothing:
        break;
      case detail::Receipt::exceeds_max_borrows:
        out = unexpected(ReceiveError::exceeds_max_borrows);
        break;
      case detail::Receipt::corrupted:
        out = unexpected(ReceiveError::corrupted);
        break;
    }
    return out;
  }
  // Samples this subscriber lost since it was created: under safe overflow, the publishers took
  // them back from its full queue to make room for newer ones (0 under backpressure).
  std::uint64_t lost_samples() noexcept { return detail::subscriber_lost_samples(m_port); }
  // True when receive() would return a sample.
  bool has_samples() noexcept { return detail::subscriber_has_samples(m_port); }
  // Sleeps (on a futex, no spinning) until a sample is waiting, a publisher connects or leaves,
  // the timeout passes, or a signal arrives. Before it reports a timeout it checks the shared
  // memory (check_integrity); data_available then also means that receive() has an error to
  // report.
  WaitResult wait(std::chrono::nanoseconds timeout) noexcept {
    return detail::subscriber_wait(m_port, timeout);
  }
  // Maps publishers that appeared, forgets those that left (receive does this too). Returns the
  // number of publishers whose queues this subscriber reads: 0 also when the service's segment
  // fails its checks (receive() and check_integrity() then report corrupted).
  std::size_t update_connections() noexcept {
    return detail::subscriber_update_connections(m_port);
  }
  // Checks now, rather than when the periodic check comes, the service's segment (header,
  // checksum, every slot word) and every mapped publisher's segment (header, checksum, this
  // subscriber's queue positions). A slow path: a few microseconds. ReceiveError::corrupted with
  // corruption() saying what is wrong, also for a failure found earlier and not yet reported by
  // receive().
  Expected<void, ReceiveError> check_integrity() noexcept {
    if (!detail::subscriber_check(m_port)) return unexpected(ReceiveError::corrupted);
    return {};
  }
  // A descriptor for poll/epoll/asio/libuv loops (WaitSet uses it): readable whenever receive()
  // may have a sample or an error for you, or a publisher connected or left. Level-triggered:
  // it stays readable until receive() has returned nothing once; reads of it are the library's
  // (do not read it yourself). Made on the first call (a FIFO in /dev/shm, removed with the
  // subscriber) and owned by the subscriber. Costs: publishers write to it only while this
  // subscriber is idle on it (one byte per wake-up, whichever publisher comes first); a
  // receive() that finds nothing costs one more load, plus a read when the descriptor had fired.
  // Without a descriptor nothing changes on any path.
  Expected<int, Error<WaitSetError>> notification_fd() {
    return detail::subscriber_notification_fd(m_port);
  }
  // What the last ReceiveError::corrupted (or failed check) found, e.g. "publisher segment
  // zc_p_..._00_1: its static configuration changed after it was mapped and fails its checksum";
  // empty if nothing.
  std::string corruption() const { return detail::subscriber_corruption(m_port); }
  // Identifies this subscriber in its service (its slot and generation).
  SubscriberId id() const noexcept { return detail::subscriber_id(m_port); }

 private:
  explicit Subscriber(detail::SubscriberPort* port) : m_port(port) {}
  template <class U>
  friend class SubscriberBuilder;

  detail::SubscriberPort* m_port;
};

template <class T>
class SubscriberBuilder {
 public:
  Expected<Subscriber<T>, Error<SubscriberCreateError>> create() const {
    auto port = detail::create_subscriber(m_service);
    if (!port) return unexpected(std::move(port).error());
    return Subscriber<T>(*port);
  }

 private:
  explicit SubscriberBuilder(std::shared_ptr<detail::ServiceImpl> service)
      : m_service(std::move(service)) {}
  template <class U>
  friend class Service;

  std::shared_ptr<detail::ServiceImpl> m_service;
};

}  // namespace zerocopy

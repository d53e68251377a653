// Publisher<T>: loans samples from its own chunk pool in shared memory and sends them to every
// connected subscriber without copying.
//
//   auto sample = publisher.loan_uninit();             // Expected<SampleMutUninit<T>, LoanError>
//   auto ready = std::move(*sample).write_payload(v);  // SampleMut<T>
//   auto reached = std::move(ready).send();            // Expected<size_t, SendError>
//
// For T[] (a slice): loan_slice_uninit(n) / loan_slice(n), n <= the max_slice_len given to the
// publisher builder. A sample that goes out of scope unsent returns to the pool.
//
// Threading: a publisher and the samples it loans belong to one thread at a time (move them
// between threads freely, but do not use them from two threads at once).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstring>
#include <new>
#include <span>
#include <string>
#include <utility>

#include "zerocopy/detail/api.hpp"
#include "zerocopy/detail/payload.hpp"
#include "zerocopy/error.hpp"
#include "zerocopy/expected.hpp"

namespace zerocopy {

template <class T>
class Publisher;
template <class T>
class SampleMut;
template <class T>
class ResponseMut;

namespace detail {
// What a loaned sample holds: the port it came from (kept alive by the loan), where its payload
// is, which chunk it is, and its length in elements.
template <class T>
class LoanedSample {
 public:
  using Element = typename PayloadTraits<T>::Element;

  LoanedSample(LoanedSample&& other) noexcept
      : m_port(std::exchange(other.m_port, nullptr)),
        m_payload(other.m_payload),
        m_index(other.m_index),
        m_len(other.m_len) {}
  LoanedSample& operator=(LoanedSample&& other) noexcept {
    if (this != &other) {
      reset();
      m_port = std::exchange(other.m_port, nullptr);
      m_payload = other.m_payload;
      m_index = other.m_index;
      m_len = other.m_len;
    }
    return *this;
  }
  ~LoanedSample() { reset(); }

 protected:
  LoanedSample(PublisherPort* port, void* payload, std::uint32_t index, std::size_t len)
      : m_port(port), m_payload(static_cast<Element*>(payload)), m_index(index), m_len(len) {}
  void reset() noexcept {
    if (m_port != nullptr) publisher_return_loan(std::exchange(m_port, nullptr), m_index);
  }
  template <class H>
  H* user_header_pointer() noexcept {
    return static_cast<H*>(detail::publisher_user_header(m_port, m_index, sizeof(H), alignof(H)));
  }
  Expected<std::size_t, SendError> send_and_release() noexcept {
    return publisher_send(std::exchange(m_port, nullptr), m_index, m_len * sizeof(Element));
  }
  Expected<std::size_t, SendError> send_to_and_release(SubscriberId target) noexcept {
    return publisher_send_to(std::exchange(m_port, nullptr), m_index, m_len * sizeof(Element),
                             target);
  }

  PublisherPort* m_port;
  Element* m_payload;
  std::uint32_t m_index;
  std::size_t m_len;

  template <class U>
  friend class zerocopy::SampleMut;
};
}  // namespace detail

// A loaned sample whose payload is not initialised yet.
template <class T>
class SampleMutUninit : public detail::LoanedSample<T> {
  using Base = detail::LoanedSample<T>;

 public:
  using Element = typename Base::Element;
  static constexpr bool kIsSlice = detail::PayloadTraits<T>::kIsSlice;

  // Where to write: raw, uninitialised shared memory. One rule for every sample type:
  // payload_mut() is a T& (a std::span<T> for slices), here and on SampleMut.
  Element& payload_mut() noexcept requires(!kIsSlice) { return *this->m_payload; }
  std::span<Element> payload_mut() noexcept requires(kIsSlice) {
    return {this->m_payload, this->m_len};
  }
  std::size_t len() const noexcept { return this->m_len; }
  // The sample's user header (service builder's user_header<H>()); nullptr if the service has
  // none of H's size and alignment. Uninitialised until written.
  template <class H>
  H* user_header_mut() noexcept {
    return this->template user_header_pointer<H>();
  }

  SampleMut<T> write_payload(const Element& value) && noexcept requires(!kIsSlice) {
    new (this->m_payload) Element(value);
    return SampleMut<T>(std::move(*this));
  }
  // Copies `values` in; the slice's length becomes min(values.size(), len()).
  SampleMut<T> write_from_slice(std::span<const Element> values) && noexcept requires(kIsSlice) {
    this->m_len = std::min(values.size(), this->m_len);
    if (this->m_len != 0)
      std::memcpy(this->m_payload, values.data(), this->m_len * sizeof(Element));
    return SampleMut<T>(std::move(*this));
  }
  // The caller wrote the payload through payload_mut().
  SampleMut<T> assume_init() && noexcept { return SampleMut<T>(std::move(*this)); }

  // These consume the loan: on a named sample, write std::move(sample).write_payload(v).
  template <class Self = SampleMutUninit>
  void write_payload(const Element&) & noexcept {
    static_assert(sizeof(Self) == 0,
                  "write_payload() consumes the sample: write std::move(sample).write_payload(v)");
  }
  template <class Self = SampleMutUninit>
  void write_from_slice(std::span<const Element>) & noexcept {
    static_assert(sizeof(Self) == 0,
                  "write_from_slice() consumes the sample: write "
                  "std::move(sample).write_from_slice(values)");
  }
  template <class Self = SampleMutUninit>
  void assume_init() & noexcept {
    static_assert(sizeof(Self) == 0,
                  "assume_init() consumes the sample: write std::move(sample).assume_init()");
  }

 private:
  using Base::Base;
  friend class Publisher<T>;
};

// A loaned sample with its payload written, ready to send.
template <class T>
class SampleMut : public detail::LoanedSample<T> {
  using Base = detail::LoanedSample<T>;

 public:
  using Element = typename Base::Element;
  static constexpr bool kIsSlice = detail::PayloadTraits<T>::kIsSlice;

  Element& operator*() noexcept requires(!kIsSlice) { return *this->m_payload; }
  Element* operator->() noexcept requires(!kIsSlice) { return this->m_payload; }
  Element& payload_mut() noexcept requires(!kIsSlice) { return *this->m_payload; }
  std::span<Element> payload_mut() noexcept requires(kIsSlice) {
    return {this->m_payload, this->m_len};
  }
  std::size_t len() const noexcept { return this->m_len; }
  template <class H>
  H* user_header_mut() noexcept {
    return this->template user_header_pointer<H>();
  }
  // Shortens the slice to `len` elements (never lengthens it); returns false if len > len().
  bool set_len(std::size_t len) noexcept requires(kIsSlice) {
    if (len > this->m_len) return false;
    this->m_len = len;
    return true;
  }

  // Hands the sample to every connected subscriber. Returns how many received it. Under
  // backpressure it waits for room in every full queue (up to backpressure_timeout) and on
  // timeout delivers to nobody. The sample is consumed either way.
  Expected<std::size_t, SendError> send() && noexcept { return this->send_and_release(); }
  // send() consumes the sample: on a named sample, write std::move(sample).send().
  template <class Self = SampleMut>
  void send() & noexcept {
    static_assert(sizeof(Self) == 0, "send() consumes the sample: use std::move(sample).send()");
  }

 private:
  explicit SampleMut(Base&& other) noexcept : Base(std::move(other)) {}
  using Base::Base;
  // To one subscriber only (a server's response to the client that asked).
  Expected<std::size_t, SendError> send_to(detail::SubscriberId target) && noexcept {
    return this->send_to_and_release(target);
  }
  friend class Publisher<T>;
  friend class SampleMutUninit<T>;
  friend class ResponseMut<T>;
};

template <class T>
class Publisher {
  static_assert(detail::kIsShmPayload<T>,
                "a payload must be trivially copyable, standard-layout and hold no pointer");

 public:
  using Element = typename detail::PayloadTraits<T>::Element;
  static constexpr bool kIsSlice = detail::PayloadTraits<T>::kIsSlice;

  Publisher(Publisher&& other) noexcept : m_port(std::exchange(other.m_port, nullptr)) {}
  Publisher& operator=(Publisher&& other) noexcept {
    if (this != &other) {
      if (m_port != nullptr) detail::publisher_drop(m_port);
      m_port = std::exchange(other.m_port, nullptr);
    }
    return *this;
  }
  ~Publisher() {
    if (m_port != nullptr) detail::publisher_drop(m_port);
  }

  Expected<SampleMutUninit<T>, LoanError> loan_uninit() noexcept requires(!kIsSlice) {
    auto loan = detail::publisher_loan(m_port, sizeof(Element));
    if (!loan) return unexpected(loan.error());
    return SampleMutUninit<T>(m_port, loan->payload, loan->index, 1);
  }
  // A sample holding a value-initialised T.
  Expected<SampleMut<T>, LoanError> loan() noexcept requires(!kIsSlice) {
    auto sample = loan_uninit();
    if (!sample) return unexpected(sample.error());
    return std::move(*sample).write_payload(Element{});
  }
  Expected<SampleMutUninit<T>, LoanError> loan_slice_uninit(std::size_t len) noexcept
      requires(kIsSlice) {
    if (len > detail::publisher_max_elements(m_port)) {
      return unexpected(LoanError::exceeds_max_slice_len);
    }
    auto loan = detail::publisher_loan(m_port, len * sizeof(Element));
    if (!loan) return unexpected(loan.error());
    return SampleMutUninit<T>(m_port, loan->payload, loan->index, len);
  }
  // A slice of `len` value-initialised elements (for large slices prefer loan_slice_uninit:
  // initialising costs a pass over the memory).
  Expected<SampleMut<T>, LoanError> loan_slice(std::size_t len) noexcept requires(kIsSlice) {
    auto sample = loan_slice_uninit(len);
    if (!sample) return unexpected(sample.error());
    for (auto& element : sample->payload_mut())
      new (&element) Element{};
    return std::move(*sample).assume_init();
  }
  // Loan, copy `value` in, send.
  Expected<std::size_t, SendError> send_copy(const Element& value) noexcept requires(!kIsSlice) {
    auto sample = loan_uninit();
    if (!sample) return unexpected(SendError::loan_failed);
    return std::move(*sample).write_payload(value).send();
  }

  // Connects to subscribers that appeared and drops those that left (loan and send do this
  // too). A new subscriber receives the history here. Returns the number of connected
  // subscribers.
  // Returns 0 also when the service's segment fails its checks (send() and check_integrity()
  // then report corrupted).
  std::size_t update_connections() noexcept { return detail::publisher_update_connections(m_port); }
  // Waits until at least `count` subscribers are connected (connecting them, with their
  // history), or `timeout` passes: true when they are. Sleeps on the service's change counter (a
  // futex every port's arrival wakes), no polling. False at once if the service is corrupted.
  bool wait_for_subscribers(std::size_t count, std::chrono::nanoseconds timeout) noexcept {
    return detail::publisher_wait_for_subscribers(m_port, count, timeout);
  }
  // Checks now, rather than when the periodic check comes (every 16384th send, and every 10 ms
  // of a backpressure wait), the service's segment (header, checksum, every slot word) and this
  // publisher's own (header, checksum, every connected queue's positions). A slow path.
  // SendError::corrupted, with corruption() saying what is wrong, once anything failed.
  Expected<void, SendError> check_integrity() noexcept {
    if (!detail::publisher_check(m_port)) return unexpected(SendError::corrupted);
    return {};
  }
  // What made the publisher report SendError::corrupted ("" if nothing), e.g. "service segment
  // zc_s_...: publisher slot 1 holds the impossible word 0x3".
  std::string corruption() const { return detail::publisher_corruption(m_port); }
  std::size_t max_slice_len() const noexcept { return detail::publisher_max_elements(m_port); }
  // Identifies this publisher in its samples' headers (Sample::header().origin).
  PublisherId id() const noexcept { return detail::publisher_id(m_port); }
  // The chunk pool: its size, and how many chunks are loaned, queued, held by subscribers or kept
  // as history (completed chunks are collected first, so this is exact at the time of the call).
  std::uint32_t chunks_total() const noexcept { return detail::publisher_chunks_total(m_port); }
  std::uint32_t chunks_in_use() noexcept { return detail::publisher_chunks_in_use(m_port); }

  // Wakes every connected subscriber that sleeps in wait() (or whose WaitSet waits on it), and
  // returns how many it woke: one futex wake (a system call) each. send() does this itself
  // unless the builder said wake_on_send(false); then a burst of k sends and one notify() wake
  // each sleeper once instead of k times. Cheap when nobody sleeps (a read of a word each).
  std::size_t notify() noexcept { return detail::publisher_notify(m_port); }
  // How many wake-ups (futex wakes of a sleeping subscriber, bytes to a WaitSet's FIFO) this
  // publisher has made since it was created: what sending to sleeping subscribers costs it.
  std::uint64_t wakeups() const noexcept { return detail::publisher_wakeups(m_port); }

 private:
  explicit Publisher(detail::PublisherPort* port) : m_port(port) {}
  template <class U>
  friend class PublisherBuilder;

  detail::PublisherPort* m_port;
};

template <class T>
class PublisherBuilder {
 public:
  using Element = typename detail::PayloadTraits<T>::Element;

  // Samples this publisher may have loaned at once (default 2).
  PublisherBuilder& max_loaned_samples(std::uint32_t value) {
    m_request.max_loaned_samples = value;
    return *this;
  }
  // Slices only: the largest length loan_slice() accepts; sizes the chunks (default 1).
  PublisherBuilder& max_slice_len(std::size_t value) requires(detail::PayloadTraits<T>::kIsSlice) {
    m_request.max_elements = value;
    return *this;
  }
  // Backpressure only: how long send() waits for room, and how.
  PublisherBuilder& backpressure_timeout(std::chrono::nanoseconds value) {
    m_request.backpressure_timeout = value;
    return *this;
  }
  PublisherBuilder& backpressure_wait(BackpressureWait value) {
    m_request.backpressure_wait = value;
    return *this;
  }

  // Pre-faulting, for real-time use. By default the segment's chunks cost memory only as they
  // are first used (the first write to each page of a chunk takes a page fault that allocates
  // it); with prefault(true) the whole segment is allocated and mapped at creation, so that no
  // send ever takes a page fault and a segment that does not fit in memory is refused now
  // (PublisherCreateError::insufficient_memory) instead of failing later.
  PublisherBuilder& prefault(bool value = true) {
    m_request.prefault = value;
    return *this;
  }
  // Whether send() wakes the subscribers that sleep in wait() (default true). Each sleeping
  // subscriber costs a send one wake-up (a futex wake, a system call: about a microsecond or more
  // each, so N sleeping subscribers cost the publisher N of them per sample). With false, send()
  // only queues and notify() wakes: a publisher that sends in bursts calls notify() once a
  // burst. A subscriber that sleeps is then woken by notify() only (or its wait's timeout).
  PublisherBuilder& wake_on_send(bool value = true) {
    m_request.wake_on_send = value;
    return *this;
  }
  // Whether a small payload travels inline (default true): where the publisher's largest payload
  // is at most 120 bytes (aligned to at most 8), the service keeps no history and has no user
  // header, and the publisher records no publish time, send() copies the payload into each
  // subscriber's queue slot (two cache lines, with the entry that announces it) and the chunk is
  // free again at once; a subscriber copies it out of the slot into its Sample. A small message
  // then crosses between the processes in the lines that announce it, as in a plain shared-memory
  // ring, instead of in a chunk read after them. With false, every payload stays in its chunk
  // (zero-copy at every size).
  PublisherBuilder& inline_payloads(bool value = true) {
    m_request.inline_payloads = value;
    return *this;
  }
  // Records the publish time of every sample (Sample::header().publish_time_ns): a clock read
  // per send (about 20 ns here), hence off by default.
  PublisherBuilder& timestamps(bool value = true) {
    m_request.timestamps = value;
    return *this;
  }

  Expected<Publisher<T>, Error<PublisherCreateError>> create() const {
    auto port = detail::create_publisher(m_service, m_request);
    if (!port) return unexpected(std::move(port).error());
    return Publisher<T>(*port);
  }

 private:
  explicit PublisherBuilder(std::shared_ptr<detail::ServiceImpl> service)
      : m_service(std::move(service)) {}
  template <class U>
  friend class Service;

  std::shared_ptr<detail::ServiceImpl> m_service;
  detail::PublisherRequest m_request;
};

}  // namespace zerocopy

// iceoryx: Eclipse iceoryx classic (2.0, Debian's packages) publish/subscribe through its broker
// RouDi, zero-copy as designed: loan() is a publisher loan of a chunk whose user payload is the
// message, send() publishes it, receive() takes the subscriber's next chunk and keeps it until
// release(). Two services per cell, ("ipcbench", <token>, "p2c") and (.., "c2p"), one publisher
// and one subscriber each side; reliable: the publisher waits for a full subscriber queue
// (WAIT_FOR_CONSUMER / BLOCK_PRODUCER), whose capacity is Endpoint::queue_depth.
//
// Waiting: spin = poll take(); block = a WaitSet with the subscriber's HAS_DATA state attached
// (timedWait in slices); adaptive = spin for Endpoint::spin, then block. The sending side waits
// inside iceoryx (publish yields until the subscriber's queue has room).
//
// Peer gone: the peer's publisher and subscriber go together (a clean exit destroys both; RouDi
// removes a killed process's ports once its keep-alive has lapsed, ~1.5 s). Debian's iceoryx is
// built many-to-many, where a subscriber does not notice its publisher going, so both sides look
// at their own publisher: no subscriber any more means the peer has gone. receive() then takes
// what the peer published before and says peer_gone; send() says peer_gone. Endpoint::timeout
// bounds every wait in any case.
//
// The process's runtime (its registration with RouDi) belongs to the transport: it is made with
// the protected runtime factory that iceoryx's own PoshRuntimeSingleProcess uses, so that
// destroying the transport deregisters the process at once (RouDi sees a clean exit and the
// runtime removes its /tmp/<app> socket and lock) even when the process then ends with _exit().
// iceoryx's error handler is replaced so that a SEVERE error (a chunk larger than every mempool,
// say) comes back as an error value instead of an assert; FATAL ones still abort.
//
// RouDi: start_daemon is start_roudi (transports/roudi.hpp), shared with the other transports
// over iceoryx; the runtime and the error handler are in transports/iceoryx_runtime.hpp.
#include <algorithm>

#include "transports/transport.hpp"

#include <chrono>
#include <cstring>
#include <thread>

#include "base/wait.hpp"
#include "iceoryx_posh/mepoo/chunk_header.hpp"
#include "iceoryx_posh/popo/untyped_publisher.hpp"
#include "iceoryx_posh/popo/untyped_subscriber.hpp"
#include "iceoryx_posh/popo/wait_set.hpp"
#include "transports/iceoryx_runtime.hpp"
#include "transports/roudi.hpp"

namespace ipcbench {
namespace {

// RouDi reserves and touches its whole segment at start, so the largest size costs memory:
// about 220 MiB for 1 MiB messages, 0.9 GiB for 16 MiB (see roudi_config() in roudi.cpp).
constexpr std::size_t kMaxMessageBytes = 16u << 20;

using Clock = std::chrono::steady_clock;

// Between two looks at the peer while blocked on the WaitSet.
constexpr std::int64_t kSliceNs = 20'000'000;
// What a consumer of a group sends first (connect_group).
constexpr std::uint64_t kGreeting = 0x5445455247584f49;  // "IOXGREET"
constexpr std::size_t kGreetingBytes = sizeof kGreeting;

// ---- The transport --------------------------------------------------------------------------

class IceoryxTransport final : public Transport {
 public:
  explicit IceoryxTransport(const Endpoint& endpoint) : m_endpoint(endpoint) {}

  ~IceoryxTransport() override {
    if (m_received) m_subscriber->release(m_received);
    if (m_loaned) m_publisher->release(m_loaned);
    m_waitset.reset();
    m_subscriber.reset();
    m_publisher.reset();
    m_runtime.reset();  // the last one deregisters this process from RouDi
  }

  Result<std::string> listen() override {
    if (auto ok = open(); !ok) return std::unexpected(ok.error());
    return std::string{};
  }

  Result<void> connect(std::string_view) override {
    if (!m_publisher) {
      if (auto ok = open(); !ok) return ok;
    }
    const auto deadline = Clock::now() + m_endpoint.timeout;
    auto timed_out = [&] {
      return fail(Errc::timeout, "the peer did not show up within " +
                                     std::to_string(m_endpoint.timeout.count()) + " ms");
    };
    if (m_endpoint.peers > 1) return connect_group(deadline);
    // Connected once our publisher has the peer's subscriber: what we publish reaches it. The
    // other way round is the peer's to wait for, before it sends anything; so a message from the
    // peer also means connected (it may have sent and gone before we look).
    while (!m_publisher->hasSubscribers() && !m_subscriber->hasData()) {
      if (Clock::now() >= deadline) return timed_out();
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return {};
  }

  // One producer, N consumers: hasSubscribers() cannot count them, so each consumer, once its
  // subscriber has the producer's publisher and its publisher the producer's subscriber, sends a
  // greeting; the producer is connected when all N greetings have come.
  Result<void> connect_group(std::chrono::steady_clock::time_point deadline) {
    auto timed_out = [&] {
      return fail(Errc::timeout, "not every consumer showed up within " +
                                     std::to_string(m_endpoint.timeout.count()) + " ms");
    };
    if (m_endpoint.role == Role::consumer) {
      while (m_subscriber->getSubscriptionState() != iox::SubscribeState::SUBSCRIBED ||
             !m_publisher->hasSubscribers()) {
        if (Clock::now() >= deadline) return timed_out();
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      auto greeting = loan_chunk(kGreetingBytes);
      if (!greeting) return std::unexpected(greeting.error());
      std::memcpy(*greeting, &kGreeting, kGreetingBytes);
      m_publisher->publish(*greeting);
      return {};
    }
    for (std::uint32_t greeted = 0; greeted < m_endpoint.peers;) {
      auto chunk = take_once();
      if (!chunk) return std::unexpected(chunk.error());
      if (*chunk) {
        const bool greeting =
            iox::mepoo::ChunkHeader::fromUserPayload(*chunk)->userPayloadSize() == kGreetingBytes &&
            std::memcmp(*chunk, &kGreeting, kGreetingBytes) == 0;
        m_subscriber->release(*chunk);
        if (!greeting) return fail(Errc::protocol, "a consumer's first message is not a greeting");
        ++greeted;
        continue;
      }
      if (Clock::now() >= deadline) return timed_out();
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
    return {};
  }

  Result<std::span<std::byte>> loan(std::size_t bytes) override {
    if (bytes > m_endpoint.max_message_bytes || bytes > kMaxMessageBytes) {
      return fail(Errc::message_too_large, std::to_string(bytes) + " bytes > the endpoint's " +
                                               std::to_string(m_endpoint.max_message_bytes));
    }
    if (m_loaned) {
      m_publisher->release(m_loaned);
      m_loaned = nullptr;
    }
    auto chunk = loan_chunk(bytes);
    if (!chunk) return std::unexpected(chunk.error());
    m_loaned = *chunk;
    m_loaned_bytes = bytes;
    return std::span<std::byte>(static_cast<std::byte*>(m_loaned), bytes);
  }

  Result<void> send(std::size_t bytes) override {
    if (!m_loaned) return fail(Errc::protocol, "send without a loan");
    if (bytes > m_loaned_bytes) {
      return fail(Errc::message_too_large,
                  "send of " + std::to_string(bytes) + " bytes, more than were loaned");
    }
    if (bytes < m_loaned_bytes) {  // the chunk says how long the message is: a chunk of its own
      auto shorter = loan_chunk(bytes);
      if (!shorter) return std::unexpected(shorter.error());
      std::memcpy(*shorter, m_loaned, bytes);
      m_publisher->release(m_loaned);
      m_loaned = *shorter;
    }
    if (!m_publisher->hasSubscribers()) {
      m_publisher->release(m_loaned);
      m_loaned = nullptr;
      return fail(Errc::peer_gone, "send: the peer's subscriber has gone");
    }
    m_publisher->publish(m_loaned);
    m_loaned = nullptr;
    return {};
  }

  Result<std::span<const std::byte>> receive() override {
    release();
    auto got = take_waiting();
    if (!got) return std::unexpected(got.error());
    m_received = *got;
    auto* header = iox::mepoo::ChunkHeader::fromUserPayload(m_received);
    return std::span<const std::byte>(static_cast<const std::byte*>(m_received),
                                      header->userPayloadSize());
  }

  void release() override {
    if (m_received) m_subscriber->release(m_received);
    m_received = nullptr;
  }

 private:
  Result<void> open() {
    const bool producer = m_endpoint.role == Role::producer;
    if (m_endpoint.token.size() > 80) return fail(Errc::resource, "token too long for iceoryx");
    if (roudi_socket() == RoudiSocket::forbidden) return fail(Errc::unavailable, kRoudiForbidden);
    if (!roudi_serving()) {
      return fail(Errc::unavailable,
                  "RouDi (iox-roudi) is not running: `ipcbench run` starts it; to use this "
                  "transport elsewhere, start iox-roudi first");
    }
    prepare_iceoryx();
    // One runtime name per process: consumers of one producer are told apart by their index.
    m_runtime = IceoryxRuntime::acquire(
        m_endpoint.token +
        (producer ? std::string("-producer")
                  : "-consumer" + (m_endpoint.peers > 1 ? std::to_string(m_endpoint.peer_index)
                                                        : std::string())));

    auto service = [&](const std::string& direction) {
      auto id = [](const std::string& text) {
        return iox::capro::IdString_t(iox::cxx::TruncateToCapacity, text);
      };
      return iox::capro::ServiceDescription(id("ipcbench"), id(m_endpoint.token), id(direction));
    };
    iox::popo::PublisherOptions publisher_options;
    publisher_options.historyCapacity = 0;
    publisher_options.subscriberTooSlowPolicy = iox::popo::ConsumerTooSlowPolicy::WAIT_FOR_CONSUMER;
    iox::popo::SubscriberOptions subscriber_options;
    subscriber_options.queueCapacity = std::clamp<std::uint64_t>(
        m_endpoint.queue_depth, 1, iox::popo::SubscriberChunkQueueData_t::MAX_CAPACITY);
    subscriber_options.historyRequest = 0;
    subscriber_options.queueFullPolicy = iox::popo::QueueFullPolicy::BLOCK_PRODUCER;

    m_publisher = std::make_unique<iox::popo::UntypedPublisher>(service(producer ? "p2c" : "c2p"),
                                                                publisher_options);
    m_subscriber = std::make_unique<iox::popo::UntypedSubscriber>(service(producer ? "c2p" : "p2c"),
                                                                  subscriber_options);
    if (m_endpoint.wait != WaitMode::spin) {
      m_waitset = std::make_unique<iox::popo::WaitSet<1>>();
      auto attached = m_waitset->attachState(*m_subscriber, iox::popo::SubscriberState::HAS_DATA);
      if (attached.has_error()) {
        return fail(Errc::resource,
                    "cannot attach the subscriber to a WaitSet" + last_iceoryx_error());
      }
    }
    return {};
  }

  // A chunk for `bytes`; while the mempool has none free (the peer still holds them), polls until
  // the timeout, whatever the wait mode: iceoryx has no wake-up for a chunk given back.
  Result<void*> loan_chunk(std::size_t bytes) {
    void* chunk = nullptr;
    auto try_once = [&]() -> Result<bool> {
      auto loaned = m_publisher->loan(static_cast<std::uint32_t>(bytes));
      if (!loaned.has_error()) {
        chunk = loaned.value();
        return true;
      }
      auto error = loaned.get_error();
      if (error == iox::popo::AllocationError::RUNNING_OUT_OF_CHUNKS) return false;
      return fail(Errc::resource, "iceoryx cannot loan a chunk of " + std::to_string(bytes) +
                                      " bytes: " + iox::popo::asStringLiteral(error) +
                                      last_iceoryx_error() +
                                      (error == iox::popo::AllocationError::NO_MEMPOOLS_AVAILABLE
                                           ? ": RouDi's mempools have no chunk that large"
                                           : ""));
    };
    auto check = [&]() -> Result<void> {
      if (m_publisher->hasSubscribers()) return {};
      return fail(Errc::peer_gone, "loan: the peer's subscriber has gone");
    };
    WaitPolicy policy = m_endpoint.policy();
    policy.mode = WaitMode::spin;
    const std::string what = "free chunk of " + std::to_string(bytes) + " bytes";
    const WaitTraits traits{
        .polls_per_clock_read = 16, .check_every_ns = kSliceNs, .waiting_for = what};
    auto ok = wait_until(
        policy, try_once, [&](std::int64_t) { return try_once(); }, check, traits);
    if (!ok) return std::unexpected(ok.error());
    return chunk;
  }

  // One take(): a chunk, nullptr when the queue is empty, or an error.
  Result<const void*> take_once() {
    auto chunk = m_subscriber->take();
    if (!chunk.has_error()) return chunk.value();
    if (chunk.get_error() == iox::popo::ChunkReceiveResult::NO_CHUNK_AVAILABLE) {
      return static_cast<const void*>(nullptr);
    }
    return fail(Errc::resource, "take: too many chunks held");
  }

  // The next chunk, per the wait policy: a try is take(); blocking is the WaitSet's timed wait,
  // a slice at a time. When our publisher has lost the peer's subscriber, RouDi has dropped the
  // peer (it exited, died, or stopped answering RouDi's keep-alive): what it published before is
  // in our queue already, and the wait's last try decides.
  Result<const void*> take_waiting() {
    const void* chunk = nullptr;
    auto try_once = [&]() -> Result<bool> {
      auto got = take_once();
      if (!got) return std::unexpected(got.error());
      chunk = *got;
      return chunk != nullptr;
    };
    auto block_once = [&](std::int64_t max_ns) -> Result<bool> {
      const auto slice = std::clamp<std::int64_t>(max_ns / 1'000'000, 1, kSliceNs / 1'000'000);
      m_waitset->timedWait(iox::units::Duration::fromMilliseconds(slice));
      return try_once();
    };
    auto check = [&]() -> Result<void> {
      if (m_publisher->hasSubscribers()) return {};
      return fail(Errc::peer_gone,
                  "receive: the peer's subscriber is no longer connected (RouDi dropped it: the "
                  "peer exited, died or stopped responding)");
    };
    const WaitTraits traits{.check_every_ns = kSliceNs};
    auto ok = wait_until(m_endpoint.policy(), try_once, block_once, check, traits);
    if (!ok) return std::unexpected(ok.error());
    return chunk;
  }

  Endpoint m_endpoint;
  std::shared_ptr<IceoryxRuntime> m_runtime;
  std::unique_ptr<iox::popo::UntypedPublisher> m_publisher;
  std::unique_ptr<iox::popo::UntypedSubscriber> m_subscriber;
  std::unique_ptr<iox::popo::WaitSet<1>> m_waitset;
  void* m_loaned = nullptr;
  std::size_t m_loaned_bytes = 0;
  const void* m_received = nullptr;
};

}  // namespace

extern const TransportInfo iceoryx_driver{
    .name = "iceoryx",
    .description =
        "Eclipse iceoryx 2.0 publish/subscribe, zero-copy loan/publish/take; needs "
        "its broker RouDi (started for the run); up to 16 MiB; RouDi's shared memory is 0660, "
        "open to the run's group (iceoryx sets it)",
    .capabilities =
        [] {
          return Capabilities{.max_message_bytes = kMaxMessageBytes,
                              .zero_copy = true,
                              .native_wait = WaitMode::spin,
                              .multicast = true};
        },
    .make = make_transport<IceoryxTransport>,
    .start_daemon = start_roudi,
};

}  // namespace ipcbench

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
#include <vector>

#include "base/wait.hpp"
#include "iceoryx_posh/mepoo/chunk_header.hpp"
#include "iceoryx_posh/popo/rpc_header.hpp"
#include "iceoryx_posh/popo/untyped_client.hpp"
#include "iceoryx_posh/popo/untyped_publisher.hpp"
#include "iceoryx_posh/popo/untyped_server.hpp"
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

// This process's runtime, registered with RouDi as `token` + `suffix` (one name per process), once
// RouDi is known to serve.
Result<std::shared_ptr<IceoryxRuntime>> join_roudi(const std::string& token,
                                                   const std::string& suffix) {
  if (token.size() > 80) return fail(Errc::resource, "token too long for iceoryx");
  if (roudi_socket() == RoudiSocket::forbidden) return fail(Errc::unavailable, kRoudiForbidden);
  if (!roudi_serving()) {
    return fail(Errc::unavailable,
                "RouDi (iox-roudi) is not running: `ipcbench run` starts it; to use this "
                "transport elsewhere, start iox-roudi first");
  }
  prepare_iceoryx();
  return IceoryxRuntime::acquire(token + suffix);
}

// The service ("ipcbench", <token>, <event>).
iox::capro::ServiceDescription service_of(const std::string& token, const std::string& event) {
  auto id = [](const std::string& text) {
    return iox::capro::IdString_t(iox::cxx::TruncateToCapacity, text);
  };
  return iox::capro::ServiceDescription(id("ipcbench"), id(token), id(event));
}

// The chunk loan() handed out, until send() takes it: sent with fewer bytes than loaned, the
// message goes in a chunk of its own (a chunk says how long its message is). `loan_chunk(bytes)`
// gives a chunk (Result<void*>), `give_back(chunk)` returns one unsent.
class ChunkLoan {
 public:
  template <class Loan>
  Result<std::span<std::byte>> take(std::size_t bytes, Loan loan_chunk) {
    auto chunk = loan_chunk(bytes);
    if (!chunk) return std::unexpected(chunk.error());
    m_chunk = *chunk;
    m_bytes = bytes;
    return std::span<std::byte>(static_cast<std::byte*>(m_chunk), bytes);
  }
  // The chunk to send with `bytes` of it, now the caller's.
  template <class Loan, class GiveBack>
  Result<void*> to_send(std::size_t bytes, Loan loan_chunk, GiveBack give_back) {
    if (!m_chunk) return fail(Errc::protocol, "send without a loan");
    if (bytes > m_bytes) {
      return fail(Errc::message_too_large,
                  "send of " + std::to_string(bytes) + " bytes, more than were loaned");
    }
    void* chunk = std::exchange(m_chunk, nullptr);
    if (bytes == m_bytes) return chunk;
    auto shorter = loan_chunk(bytes);
    if (shorter) std::memcpy(*shorter, chunk, bytes);
    give_back(chunk);
    return shorter;
  }
  // The chunk not sent, if any (to give back).
  void* release() { return std::exchange(m_chunk, nullptr); }

 private:
  void* m_chunk = nullptr;
  std::size_t m_bytes = 0;
};

class IceoryxTransport final : public Transport {
 public:
  explicit IceoryxTransport(const Endpoint& endpoint) : m_endpoint(endpoint) {}

  ~IceoryxTransport() override {
    if (m_received) m_subscriber->release(m_received);
    if (void* unsent = m_loan.release()) m_publisher->release(unsent);
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
    if (void* unsent = m_loan.release()) m_publisher->release(unsent);
    return m_loan.take(bytes, [&](std::size_t n) { return loan_chunk(n); });
  }

  Result<void> send(std::size_t bytes) override {
    auto chunk = m_loan.to_send(
        bytes, [&](std::size_t n) { return loan_chunk(n); },
        [&](void* unsent) { m_publisher->release(unsent); });
    if (!chunk) return std::unexpected(chunk.error());
    if (!m_publisher->hasSubscribers()) {
      m_publisher->release(*chunk);
      return fail(Errc::peer_gone, "send: the peer's subscriber has gone");
    }
    m_publisher->publish(*chunk);
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
    // One runtime name per process: consumers of one producer are told apart by their index.
    auto runtime = join_roudi(
        m_endpoint.token,
        producer ? std::string("-producer")
                 : "-consumer" + (m_endpoint.peers > 1 ? std::to_string(m_endpoint.peer_index)
                                                       : std::string()));
    if (!runtime) return std::unexpected(runtime.error());
    m_runtime = *runtime;

    auto service = [&](const std::string& direction) {
      return service_of(m_endpoint.token, direction);
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
  ChunkLoan m_loan;
  const void* m_received = nullptr;
};

// The reqresp scenario's server and clients (Endpoint::fan_in): iceoryx's own request-response
// (2.0's UntypedServer and UntypedClient on the service ("ipcbench", <token>, "rr")), zero-copy
// both ways: a client loans a request chunk and sends it, the server takes it, loans its response
// against the request's header (iceoryx routes it to that client's queue) and sends it. The
// server waits for any client's request as the pub/sub transport waits: polling take() (spin),
// or its WaitSet with the server's HAS_REQUEST state (block). A client's requests carry its
// peer_index in their sequence id (the request header's own correlation field, copied into the
// response); its first request, in connect(), is a greeting the server answers once every
// client's has come. iceoryx lets a server hold at most MAX_REQUESTS_PROCESSED_SIMULTANEOUSLY
// (4) requests at once, and the scenario holds each client's end of warm-up until all have
// warmed up: so 4 clients at most (Capabilities::max_clients). Queues block (the producer waits
// for room), as the pub/sub transport's do.
class IceoryxFanIn final : public Transport {
 public:
  explicit IceoryxFanIn(const Endpoint& endpoint)
      : m_endpoint(endpoint), m_open(endpoint.peers, nullptr) {}

  ~IceoryxFanIn() override {
    if (m_server) {
      if (void* unsent = m_loan.release()) m_server->releaseResponse(unsent);
      for (const void* request : m_open)
        if (request) m_server->releaseRequest(request);
    }
    if (m_client) {
      if (void* unsent = m_loan.release()) m_client->releaseRequest(unsent);
      if (m_response) m_client->releaseResponse(m_response);
    }
    m_server_waitset.reset();
    m_client_waitset.reset();
    m_server.reset();
    m_client.reset();
    m_runtime.reset();
  }

  Result<std::string> listen() override {
    if (auto ok = open(); !ok) return std::unexpected(ok.error());
    return std::string{};
  }

  Result<void> connect(std::string_view) override {
    if (!m_runtime) {
      if (auto ok = open(); !ok) return ok;
    }
    const auto deadline = Clock::now() + m_endpoint.timeout;
    if (m_server) {
      for (std::uint32_t heard = 0; heard < m_endpoint.peers; ++heard) {
        auto greeting = receive();
        if (!greeting) return std::unexpected(greeting.error());
      }
      return answer_every_client(*this, m_endpoint.peers);
    }
    while (m_client->getConnectionState() != iox::ConnectionState::CONNECTED) {
      if (Clock::now() >= deadline) {
        return fail(Errc::timeout, "iceoryx: no server offered the service within the timeout");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return greet_server(*this, m_endpoint.peer_index);
  }

  Result<std::span<std::byte>> loan(std::size_t bytes) override {
    if (bytes > m_endpoint.max_message_bytes || bytes > kMaxMessageBytes) {
      return fail(Errc::message_too_large, std::to_string(bytes) + " bytes > the endpoint's " +
                                               std::to_string(m_endpoint.max_message_bytes));
    }
    if (void* unsent = m_loan.release()) give_back(unsent);
    return m_loan.take(bytes, [&](std::size_t n) { return loan_chunk(n); });
  }

  Result<void> send(std::size_t bytes) override {
    auto loaned = m_loan.to_send(
        bytes, [&](std::size_t n) { return loan_chunk(n); },
        [&](void* unsent) { give_back(unsent); });
    if (!loaned) return std::unexpected(loaned.error());
    void* chunk = *loaned;
    if (m_server) {
      const void* request = std::exchange(m_open[m_peer], nullptr);
      auto sent = m_server->send(chunk);
      m_server->releaseRequest(request);
      if (sent.has_error()) {
        return fail(Errc::peer_gone,
                    "iceoryx: the answer to client " + std::to_string(m_peer) +
                        " was not sent: " + iox::popo::asStringLiteral(sent.get_error()));
      }
      return {};
    }
    iox::popo::RequestHeader::fromPayload(chunk)->setSequenceId(
        static_cast<std::int64_t>((std::uint64_t{m_endpoint.peer_index} << 40) | ++m_sent));
    auto sent = m_client->send(chunk);
    if (sent.has_error()) {
      return fail(Errc::peer_gone, std::string("iceoryx: the request was not sent: ") +
                                       iox::popo::asStringLiteral(sent.get_error()));
    }
    return {};
  }

  Result<std::span<const std::byte>> receive() override {
    release();
    const void* chunk = nullptr;
    auto try_once = [&]() -> Result<bool> {
      if (m_server) {
        auto got = m_server->take();
        if (!got.has_error()) {
          chunk = got.value();
          return true;
        }
        if (got.get_error() == iox::popo::ServerRequestResult::NO_PENDING_REQUESTS) return false;
        return fail(Errc::resource, std::string("iceoryx: take a request: ") +
                                        iox::popo::asStringLiteral(got.get_error()));
      }
      auto got = m_client->take();
      if (!got.has_error()) {
        chunk = got.value();
        return true;
      }
      if (got.get_error() == iox::popo::ChunkReceiveResult::NO_CHUNK_AVAILABLE) return false;
      return fail(Errc::resource, "iceoryx: take a response: too many chunks held");
    };
    auto block_once = [&](std::int64_t max_ns) -> Result<bool> {
      const auto slice = iox::units::Duration::fromMilliseconds(
          std::clamp<std::int64_t>(max_ns / 1'000'000, 1, kSliceNs / 1'000'000));
      if (m_server_waitset) m_server_waitset->timedWait(slice);
      if (m_client_waitset) m_client_waitset->timedWait(slice);
      return try_once();
    };
    auto check = [&]() -> Result<void> {
      if (m_client && m_client->getConnectionState() != iox::ConnectionState::CONNECTED) {
        return fail(Errc::peer_gone, "iceoryx: the server has gone");
      }
      if (m_server && !m_server->hasClients()) {
        return fail(Errc::peer_gone, "iceoryx: every client has gone");
      }
      return {};
    };
    const WaitTraits traits{.check_every_ns = kSliceNs,
                            .waiting_for = m_server ? "a request" : "the server's answer"};
    auto ok = wait_until(m_endpoint.policy(), try_once, block_once, check, traits);
    if (!ok) return std::unexpected(ok.error());
    const auto bytes = iox::mepoo::ChunkHeader::fromUserPayload(chunk)->userPayloadSize();
    if (m_client) {
      m_response = chunk;
    } else {
      const auto sequence =
          static_cast<std::uint64_t>(iox::popo::RequestHeader::fromPayload(chunk)->getSequenceId());
      const auto peer = static_cast<std::uint32_t>(sequence >> 40);
      if (peer >= m_endpoint.peers || m_open[peer]) {
        m_server->releaseRequest(chunk);
        return fail(Errc::protocol, "iceoryx: a request from client " + std::to_string(peer) +
                                        " of " + std::to_string(m_endpoint.peers) +
                                        ", or before its last one was answered");
      }
      m_open[peer] = chunk;
      m_peer = peer;
    }
    return std::span<const std::byte>(static_cast<const std::byte*>(chunk), bytes);
  }

  // A client's response goes; a server's request stays until send() answers it.
  void release() override {
    if (m_client && m_response) m_client->releaseResponse(std::exchange(m_response, nullptr));
  }

  std::uint32_t peer() const override { return m_peer; }
  Result<void> select_peer(std::uint32_t peer) override {
    if (!m_server || peer >= m_open.size() || !m_open[peer]) {
      return fail(Errc::protocol,
                  "iceoryx: client " + std::to_string(peer) + " has no request to answer");
    }
    m_peer = peer;
    return {};
  }

 private:
  Result<void> open() {
    const bool server = m_endpoint.role == Role::producer;
    auto runtime =
        join_roudi(m_endpoint.token, server ? std::string("-server")
                                            : "-client" + std::to_string(m_endpoint.peer_index));
    if (!runtime) return std::unexpected(runtime.error());
    m_runtime = *runtime;
    const auto service = service_of(m_endpoint.token, "rr");
    if (server) {
      iox::popo::ServerOptions options;
      options.requestQueueCapacity = std::clamp<std::uint64_t>(
          2 * m_endpoint.peers, 1, iox::popo::ServerChunkQueueData_t::MAX_CAPACITY);
      options.requestQueueFullPolicy = iox::popo::QueueFullPolicy::BLOCK_PRODUCER;
      options.clientTooSlowPolicy = iox::popo::ConsumerTooSlowPolicy::WAIT_FOR_CONSUMER;
      m_server = std::make_unique<iox::popo::UntypedServer>(service, options);
      if (m_endpoint.wait != WaitMode::spin) {
        m_server_waitset = std::make_unique<iox::popo::WaitSet<1>>();
        if (m_server_waitset->attachState(*m_server, iox::popo::ServerState::HAS_REQUEST)
                .has_error()) {
          return fail(Errc::resource,
                      "cannot attach the server to a WaitSet" + last_iceoryx_error());
        }
      }
      return {};
    }
    iox::popo::ClientOptions options;
    options.responseQueueCapacity = 2;
    options.responseQueueFullPolicy = iox::popo::QueueFullPolicy::BLOCK_PRODUCER;
    options.serverTooSlowPolicy = iox::popo::ConsumerTooSlowPolicy::WAIT_FOR_CONSUMER;
    m_client = std::make_unique<iox::popo::UntypedClient>(service, options);
    if (m_endpoint.wait != WaitMode::spin) {
      m_client_waitset = std::make_unique<iox::popo::WaitSet<1>>();
      if (m_client_waitset->attachState(*m_client, iox::popo::ClientState::HAS_RESPONSE)
              .has_error()) {
        return fail(Errc::resource, "cannot attach the client to a WaitSet" + last_iceoryx_error());
      }
    }
    return {};
  }

  // A request chunk (client) or a response chunk for the request being answered (server).
  Result<void*> loan_chunk(std::size_t bytes) {
    const auto size = static_cast<std::uint32_t>(bytes);
    constexpr std::uint32_t kAlignment = 8;
    if (m_server) {
      if (!m_open[m_peer]) {
        return fail(Errc::protocol,
                    "iceoryx: client " + std::to_string(m_peer) + " has no request to answer");
      }
      auto loaned =
          m_server->loan(iox::popo::RequestHeader::fromPayload(m_open[m_peer]), size, kAlignment);
      if (!loaned.has_error()) return loaned.value();
      return fail(Errc::resource, std::string("iceoryx cannot loan a response: ") +
                                      iox::popo::asStringLiteral(loaned.get_error()));
    }
    auto loaned = m_client->loan(size, kAlignment);
    if (!loaned.has_error()) return loaned.value();
    return fail(Errc::resource, std::string("iceoryx cannot loan a request: ") +
                                    iox::popo::asStringLiteral(loaned.get_error()));
  }

  // A chunk loaned and not sent.
  void give_back(void* chunk) {
    if (m_server) {
      m_server->releaseResponse(chunk);
    } else {
      m_client->releaseRequest(chunk);
    }
  }

  Endpoint m_endpoint;
  std::shared_ptr<IceoryxRuntime> m_runtime;
  std::unique_ptr<iox::popo::UntypedServer> m_server;
  std::unique_ptr<iox::popo::UntypedClient> m_client;
  std::unique_ptr<iox::popo::WaitSet<1>> m_server_waitset;
  std::unique_ptr<iox::popo::WaitSet<1>> m_client_waitset;
  ChunkLoan m_loan;
  std::vector<const void*> m_open;  // the server's: per client, its request not yet answered
  std::uint32_t m_peer = 0;
  const void* m_response = nullptr;  // the client's
  std::uint64_t m_sent = 0;
};

Result<std::unique_ptr<Transport>> make(const Endpoint& endpoint) {
  if (endpoint.fan_in) return std::make_unique<IceoryxFanIn>(endpoint);
  return std::make_unique<IceoryxTransport>(endpoint);
}

}  // namespace

extern const TransportInfo iceoryx_driver{
    .name = "iceoryx",
    .description =
        "Eclipse iceoryx 2.0 publish/subscribe, zero-copy loan/publish/take (reqresp: its "
        "request-response, up to 4 clients); needs "
        "its broker RouDi (started for the run); up to 16 MiB; RouDi's shared memory is 0660, "
        "open to the run's group (iceoryx sets it)",
    .capabilities =
        [] {
          return Capabilities{.max_message_bytes = kMaxMessageBytes,
                              .zero_copy = true,
                              .native_wait = WaitMode::spin,
                              .multicast = true,
                              .fan_in = true,
                              .max_clients = iox::MAX_REQUESTS_PROCESSED_SIMULTANEOUSLY};
        },
    .make = make,
    .start_daemon = start_roudi,
};

}  // namespace ipcbench

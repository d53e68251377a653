// zerocopy: the project's own zero-copy publish/subscribe core (zerocopy/) as a transport.
//
// Two services per cell, both under the cell's token as shared-memory prefix: "ipcbench/p2c"
// (the producer publishes, the consumer subscribes) and "ipcbench/c2p" (back). Each direction
// is one publisher and one subscriber with backpressure (nothing is ever dropped) and a queue of
// Endpoint::queue_depth. loan() is a slice of exactly the requested size in the publisher's
// shared chunk; receive() is a read-only view of the peer's chunk, held until release(). No
// byte is copied by the transport.
//
// Waiting (base/wait.hpp): a try polls the subscriber's queue; blocking sleeps on the subscriber's
// futex event. A peer that leaves or is killed is found every 10 ms of waiting (its publisher
// disappears from the service once dead nodes are cleared): Errc::peer_gone.
//
// The reqresp scenario's server and clients use zerocopy's request-response service instead
// (ZeroCopyFanIn below): one endpoint for the server, whatever the number of clients.
//
// Corruption: zerocopy checks the shared memory (headers, checksums, slot and queue words) on its
// slow paths and says `corrupted`; so does this transport, every 10 ms of waiting and before it
// reports a timeout or a departed peer, so that a segment that was overwritten, truncated or
// tampered with fails the cell as Errc::corrupted with what was wrong, not as silence.
#include <time.h>

#include <algorithm>
#include <cstring>
#include <optional>
#include <vector>

#include "base/wait.hpp"
#include "transports/driver_options.hpp"
#include "transports/transport.hpp"
#include "zerocopy/zerocopy.hpp"

namespace ipcbench {
namespace {

namespace zc = zerocopy;
using Payload = std::byte[];

constexpr std::int64_t kLivenessPeriodNs = 10'000'000;

// The cell's error for shared memory that failed zerocopy's checks; `what` says what was wrong.
std::unexpected<Error> corrupted(const std::string& what) {
  return fail(Errc::corrupted, "zerocopy: " + (what.empty() ? std::string("no detail") : what));
}

// A node under the cell's token (the shared-memory prefix), named by its role.
Result<zc::Node> make_node(const Endpoint& endpoint) {
  zc::NodeConfig config;
  config.prefix = endpoint.token;
  config.name = std::string(to_string(endpoint.role));
  config.open_timeout = endpoint.timeout;
  auto node = zc::Node::create(config);
  if (!node) return fail(Errc::resource, "zerocopy: " + node.error().message);
  return std::move(*node);
}

// A service that could not be opened: corrupted, or a timeout, or out of resources.
std::unexpected<Error> service_failed(const zc::Error<zc::ServiceError>& error) {
  if (error.code == zc::ServiceError::corrupted) return corrupted(error.message);
  return fail(error.code == zc::ServiceError::timeout ? Errc::timeout : Errc::resource,
              "zerocopy: " + error.message);
}

class ZeroCopyTransport final : public Transport {
 public:
  explicit ZeroCopyTransport(const Endpoint& endpoint) : m_endpoint(endpoint) {}

  ~ZeroCopyTransport() override {
    m_received.reset();
    m_loan.reset();
    m_publisher.reset();
    m_subscriber.reset();
    // A peer that died still counts as registered: clear it so the last one out removes the
    // segments.
    if (m_out) m_out->cleanup_dead_nodes();
    if (m_in) m_in->cleanup_dead_nodes();
  }

  Result<std::string> listen() override {
    if (auto ok = open_ports(); !ok) return std::unexpected(ok.error());
    return std::string{};
  }

  Result<void> connect(std::string_view) override {
    if (!m_publisher) {
      if (auto ok = open_ports(); !ok) return ok;
    }
    // Our publisher serves the peers' subscribers, and our subscriber has mapped the peers'
    // publishers (the producer's: all N consumers'; a consumer's: the producer's)...
    const std::size_t peers = m_endpoint.role == Role::producer ? m_endpoint.peers : 1;
    const std::int64_t deadline = monotonic_ns() + timeout_ns();
    while (m_publisher->update_connections() < peers ||
           m_subscriber->update_connections() < peers) {
      if (monotonic_ns() > deadline) {
        if (auto ok = check_integrity(); !ok) return ok;
        return fail(Errc::timeout, "zerocopy: the peer did not connect within the timeout");
      }
      timespec pause{0, 100'000};
      ::nanosleep(&pause, nullptr);
    }
    // ...but a peer may not have mapped ours yet, and a message sent (or a publisher gone)
    // before it does would be lost to it. A greeting each way settles it: a consumer's greeting
    // arriving means the producer has mapped that consumer's publisher; the producer answers
    // once every consumer's has arrived, and its one answer reaching a consumer means the same
    // the other way round.
    if (m_endpoint.role == Role::consumer) {
      if (auto ok = send_greeting(); !ok) return ok;
      return receive_greeting();
    }
    for (std::size_t k = 0; k < peers; ++k) {
      if (auto ok = receive_greeting(); !ok) return ok;
    }
    return send_greeting();
  }

  Result<std::span<std::byte>> loan(std::size_t bytes) override {
    if (bytes > m_endpoint.max_message_bytes) {
      return fail(Errc::message_too_large, "zerocopy: " + std::to_string(bytes) +
                                               " bytes exceed the endpoint's maximum of " +
                                               std::to_string(m_endpoint.max_message_bytes));
    }
    m_loan.reset();  // one loan at a time: an unsent one goes back to the pool
    auto sample = m_publisher->loan_slice_uninit(bytes);
    if (!sample) {
      return fail(Errc::resource,
                  "zerocopy: loan failed: " + std::string(zc::to_string(sample.error())));
    }
    m_loan.emplace(std::move(*sample));
    return m_loan->payload_mut();
  }

  Result<void> send(std::size_t bytes) override {
    if (!m_loan) return fail(Errc::protocol, "zerocopy: send() without a loan");
    auto sample = std::move(*m_loan).assume_init();
    m_loan.reset();
    if (!sample.set_len(bytes)) {
      return fail(Errc::message_too_large, "zerocopy: send() of more bytes than were loaned");
    }
    auto sent = std::move(sample).send();
    if (!sent && sent.error() == zc::SendError::corrupted) {
      return corrupted(m_publisher->corruption());
    }
    if (!sent) return fail(Errc::timeout, "zerocopy: the peer's queue stayed full");
    if (*sent == 0) return fail(Errc::peer_gone, "zerocopy: the peer's subscriber is gone");
    if (m_endpoint.role == Role::producer && *sent < m_endpoint.peers) {
      return fail(Errc::peer_gone, "zerocopy: " + std::to_string(m_endpoint.peers - *sent) +
                                       " of the consumers' subscribers are gone");
    }
    return {};
  }

  // Per the wait policy (base/wait.hpp): a try is the subscriber's receive(); blocking sleeps on
  // its futex event; the slow check (every 10 ms) looks at the shared memory's integrity, clears
  // dead nodes (a killed peer's publisher then disappears from the service) and finds a peer
  // whose publisher has gone.
  Result<std::span<const std::byte>> receive() override {
    m_received.reset();
    auto try_once = [&]() -> Result<bool> {
      if (try_receive()) return true;
      if (m_last_error) return std::unexpected(*std::exchange(m_last_error, std::nullopt));
      return false;
    };
    auto block_once = [&](std::int64_t max_ns) -> Result<bool> {
      m_subscriber->wait(std::chrono::nanoseconds(max_ns));
      return try_once();
    };
    auto check = [&]() -> Result<void> {
      if (auto ok = check_integrity(); !ok) return ok;
      m_in->cleanup_dead_nodes();
      if (m_subscriber->update_connections() == 0) {
        return fail(Errc::peer_gone, "zerocopy: the peer's publisher is gone");
      }
      return {};
    };
    auto ok = wait_until(m_endpoint.policy(), try_once, block_once, check,
                         WaitTraits{.check_every_ns = kLivenessPeriodNs});
    if (!ok) return std::unexpected(ok.error());
    return m_received->payload();
  }

  void release() override { m_received.reset(); }

  // `inline` as given (the producer says it, once): it applies where the cell's messages are at
  // most 120 bytes.
  std::vector<OptionValue> granted_options() const override {
    return granted_as_given(m_endpoint, {"inline", "drop"});
  }

  // The subscriber's notification FIFO (made on the first call): readable whenever receive() may
  // have a sample, until a receive() finds nothing. Not made unless asked: while it exists, a
  // publisher that finds the subscriber idle also writes a byte into it.
  int readable_fd() override {
    if (!m_subscriber) return -1;
    auto fd = m_subscriber->notification_fd();
    return fd ? *fd : -1;
  }

 private:
  std::int64_t timeout_ns() const { return std::chrono::nanoseconds(m_endpoint.timeout).count(); }

  // Both directions' shared memory, checked now (a slow path: a few microseconds).
  Result<void> check_integrity() {
    if (m_subscriber && !m_subscriber->check_integrity()) {
      return corrupted(m_subscriber->corruption());
    }
    if (m_publisher && !m_publisher->check_integrity()) return corrupted(m_publisher->corruption());
    return {};
  }

  // An empty message that only the handshake in connect() sends and receives.
  Result<void> send_greeting() {
    if (auto loaned = loan(0); !loaned) return std::unexpected(loaned.error());
    return send(0);
  }
  Result<void> receive_greeting() {
    auto greeting = receive();
    if (!greeting) return std::unexpected(greeting.error());
    bool empty = greeting->empty();
    release();
    if (!empty) return fail(Errc::protocol, "zerocopy: the peer's greeting was not empty");
    return {};
  }

  // A message into m_received (true), or nothing (m_last_error says if that was an error).
  bool try_receive() {
    auto sample = m_subscriber->receive();
    if (!sample) {
      if (sample.error() == zc::ReceiveError::corrupted) {
        m_last_error = corrupted(m_subscriber->corruption()).error();
      } else {
        m_last_error = Error{Errc::protocol, "zerocopy: receive failed: " +
                                                 std::string(zc::to_string(sample.error()))};
      }
      return false;
    }
    if (!sample->has_value()) return false;
    m_received.emplace(std::move(*sample));
    return true;
  }

  Result<void> open_ports() {
    auto node = make_node(m_endpoint);
    if (!node) return std::unexpected(node.error());
    m_node.emplace(std::move(*node));

    const bool producer = m_endpoint.role == Role::producer;
    auto out = open_service(producer ? "ipcbench/p2c" : "ipcbench/c2p");
    if (!out) return std::unexpected(out.error());
    m_out.emplace(std::move(*out));
    auto in = open_service(producer ? "ipcbench/c2p" : "ipcbench/p2c");
    if (!in) return std::unexpected(in.error());
    m_in.emplace(std::move(*in));

    // prefault: the whole pool is allocated and mapped now, as a real-time user wants it; by
    // default zerocopy faults chunks in at their first use, which would land in the measured
    // rounds (a 1 MiB stream with a deep queue touches its chunks for the first time there).
    auto publisher =
        m_out->publisher_builder()
            .max_slice_len(std::max<std::size_t>(m_endpoint.max_message_bytes, 1))
            .max_loaned_samples(1)
            .prefault(true)
            .inline_payloads(m_endpoint.option("inline").value_or(1) != 0)
            .backpressure_timeout(m_endpoint.timeout)
            .backpressure_wait(m_endpoint.wait == WaitMode::spin ? zc::BackpressureWait::spin
                                                                 : zc::BackpressureWait::block)
            .create();
    if (!publisher) {
      if (publisher.error().code == zc::PublisherCreateError::corrupted) {
        return corrupted(publisher.error().message);
      }
      return fail(Errc::resource, "zerocopy: " + publisher.error().message);
    }
    m_publisher.emplace(std::move(*publisher));
    auto subscriber = m_in->subscriber_builder().create();
    if (!subscriber) {
      if (subscriber.error().code == zc::SubscriberCreateError::corrupted) {
        return corrupted(subscriber.error().message);
      }
      return fail(Errc::resource, "zerocopy: " + subscriber.error().message);
    }
    m_subscriber.emplace(std::move(*subscriber));
    return {};
  }

  Result<zc::Service<Payload>> open_service(const char* name) {
    auto depth = static_cast<std::uint32_t>(
        std::clamp<std::size_t>(m_endpoint.queue_depth, 1, zc::kMaxBufferSize));
    auto service =
        m_node->service_builder(name)
            .publish_subscribe<Payload>()
            // one producer, N consumers (Endpoint::peers): N subscribers of p2c,
            // N publishers to c2p; every node a process of the cell (at most 63:
            // capabilities() says so)
            .max_publishers(m_endpoint.peers)
            .max_subscribers(m_endpoint.peers)
            .max_nodes(static_cast<std::uint32_t>(
                std::min<std::size_t>(m_endpoint.peers + 3, zc::kMaxNodes)))
            .history_size(0)
            .subscriber_max_buffer_size(depth)
            .subscriber_max_borrowed_samples(1)
            // drop=1: a full queue loses its oldest message (safe overflow); else
            // the publisher waits for room (backpressure)
            .overflow(m_endpoint.option("drop").value_or(0) != 0 ? zc::Overflow::safe_overflow
                                                                 : zc::Overflow::backpressure)
            .open_or_create();
    if (!service) return service_failed(service.error());
    return std::move(*service);
  }

  Endpoint m_endpoint;
  std::optional<zc::Node> m_node;
  std::optional<zc::Service<Payload>> m_out;
  std::optional<zc::Service<Payload>> m_in;
  std::optional<zc::Publisher<Payload>> m_publisher;
  std::optional<zc::Subscriber<Payload>> m_subscriber;
  std::optional<zc::SampleMutUninit<Payload>> m_loan;
  std::optional<zc::Sample<Payload>> m_received;
  std::optional<Error> m_last_error;
};

// The reqresp scenario's server and clients (Endpoint::fan_in): one request-response service,
// "ipcbench/rr", under the cell's token. The producer is its server: receive() takes the next
// request from any client (waiting per the policy: polling the server's queues, or sleeping on
// its futex event) and keeps it open until send() answers it, zero-copy, into that client's
// response queue. Each consumer is a client: send() is a request, receive() its response. A
// client's first request, in connect(), carries its peer_index, which names it from then on.
class ZeroCopyFanIn final : public Transport {
 public:
  using Service = zc::RequestResponseService<Payload, Payload>;

  explicit ZeroCopyFanIn(const Endpoint& endpoint) : m_endpoint(endpoint), m_open(endpoint.peers) {}

  ~ZeroCopyFanIn() override {
    m_response.reset();
    m_pending.reset();
    m_request_loan.reset();
    m_response_loan.reset();
    m_open.clear();
    m_client.reset();
    m_server.reset();
    if (m_service) m_service->cleanup_dead_nodes();  // a dead peer would keep the segments
  }

  Result<std::string> listen() override {
    if (auto ok = open(); !ok) return std::unexpected(ok.error());
    return std::string{};
  }

  Result<void> connect(std::string_view) override {
    if (!m_service) {
      if (auto ok = open(); !ok) return ok;
    }
    if (m_endpoint.role == Role::consumer) {
      if (!m_client->wait_for_server(m_endpoint.timeout)) {
        return fail(Errc::timeout, "zerocopy: no server within the timeout");
      }
      // The greeting: our peer_index, answered once the server has heard every client.
      return greet_server(*this, m_endpoint.peer_index);
    }
    // The server: every client's greeting, then an empty answer to each.
    for (std::uint32_t heard = 0; heard < m_endpoint.peers; ++heard) {
      auto greeting = receive();
      if (!greeting) return std::unexpected(greeting.error());
      release();
    }
    return answer_every_client(*this, m_endpoint.peers);
  }

  Result<std::span<std::byte>> loan(std::size_t bytes) override {
    if (bytes > m_endpoint.max_message_bytes) {
      return fail(Errc::message_too_large, "zerocopy: " + std::to_string(bytes) +
                                               " bytes exceed the endpoint's maximum of " +
                                               std::to_string(m_endpoint.max_message_bytes));
    }
    if (m_endpoint.role == Role::consumer) {
      m_request_loan.reset();
      auto request = m_client->loan_slice_uninit(bytes);
      if (!request) return loan_failed(request.error());
      m_request_loan.emplace(std::move(*request));
      return m_request_loan->payload_mut();
    }
    m_response_loan.reset();
    if (!m_open[m_peer]) {
      return fail(Errc::protocol,
                  "zerocopy: client " + std::to_string(m_peer) + " has no request to answer");
    }
    auto response = m_open[m_peer]->loan_slice_uninit(bytes);
    if (!response) return loan_failed(response.error());
    m_response_loan.emplace(std::move(*response));
    return m_response_loan->payload_mut();
  }

  Result<void> send(std::size_t bytes) override {
    if (m_endpoint.role == Role::consumer) {
      if (!m_request_loan) return fail(Errc::protocol, "zerocopy: send() without a loan");
      auto request = std::move(*m_request_loan);
      m_request_loan.reset();
      if (!request.set_len(bytes)) return too_many_bytes();
      auto pending = std::move(request).send();
      if (!pending) {
        switch (pending.error()) {
          case zc::RequestSendError::no_server:
            return fail(Errc::peer_gone, "zerocopy: the server is gone");
          case zc::RequestSendError::corrupted:
            return corrupted(m_client->corruption());
          default:
            return fail(Errc::protocol, "zerocopy: request not sent: " +
                                            std::string(zc::to_string(pending.error())));
        }
      }
      m_pending.emplace(std::move(*pending));
      return {};
    }
    if (!m_response_loan) return fail(Errc::protocol, "zerocopy: send() without a loan");
    auto response = std::move(*m_response_loan);
    m_response_loan.reset();
    if (!response.set_len(bytes)) return too_many_bytes();
    auto sent = std::move(response).send();
    m_open[m_peer].reset();  // answered: the request's chunk goes back to its client
    if (!sent && sent.error() == zc::RespondError::corrupted) {
      return corrupted(m_server->corruption());
    }
    if (!sent) {
      return fail(Errc::peer_gone, "zerocopy: client " + std::to_string(m_peer) + " is gone");
    }
    return {};
  }

  Result<std::span<const std::byte>> receive() override {
    m_view = {};
    m_response.reset();  // the last response, if not released (its request stays pending)
    return m_endpoint.role == Role::consumer ? receive_response() : receive_request();
  }

  void release() override {
    m_view = {};
    if (m_endpoint.role == Role::consumer) {
      m_response.reset();
      m_pending.reset();  // one answer per request
    }
  }

  std::uint32_t peer() const override { return m_peer; }
  Result<void> select_peer(std::uint32_t peer) override {
    if (m_endpoint.role != Role::producer || peer >= m_open.size() || !m_open[peer]) {
      return fail(Errc::protocol,
                  "zerocopy: client " + std::to_string(peer) + " has no request to answer");
    }
    m_peer = peer;
    return {};
  }

 private:
  static std::unexpected<Error> too_many_bytes() {
    return fail(Errc::message_too_large, "zerocopy: send() of more bytes than were loaned");
  }
  static std::unexpected<Error> loan_failed(zc::LoanError error) {
    return fail(Errc::resource, "zerocopy: loan failed: " + std::string(zc::to_string(error)));
  }

  // The client: the response to its pending request.
  Result<std::span<const std::byte>> receive_response() {
    if (!m_pending) return fail(Errc::protocol, "zerocopy: receive() without a request");
    auto try_once = [&]() -> Result<bool> { return take(m_pending->receive()); };
    auto block_once = [&](std::int64_t max_ns) -> Result<bool> {
      return take(m_pending->timed_receive(std::chrono::nanoseconds(max_ns)));
    };
    auto check = [&]() -> Result<void> {
      m_service->cleanup_dead_nodes();
      if (m_client->update_connections() == 0) {
        return fail(Errc::peer_gone, "zerocopy: the server is gone");
      }
      return {};
    };
    auto ok = wait_until(m_endpoint.policy(), try_once, block_once, check,
                         WaitTraits{.check_every_ns = kLivenessPeriodNs});
    if (!ok) return std::unexpected(ok.error());
    return m_view;
  }
  Result<bool> take(zc::Expected<zc::Response<Payload>, zc::ResponseReceiveError> got) {
    if (!got) {
      if (got.error() == zc::ResponseReceiveError::server_gone) {
        return fail(Errc::peer_gone, "zerocopy: the server is gone");
      }
      if (got.error() == zc::ResponseReceiveError::corrupted) {
        return corrupted(m_client->corruption());
      }
      return fail(Errc::protocol,
                  "zerocopy: receive failed: " + std::string(zc::to_string(got.error())));
    }
    if (!*got) return false;
    m_response.emplace(std::move(*got));
    m_view = m_response->payload();
    return true;
  }

  // The server: the next request from any client, kept open until send() answers it.
  Result<std::span<const std::byte>> receive_request() {
    auto try_once = [&]() -> Result<bool> {
      auto request = m_server->receive();
      if (!request) {
        if (request.error() == zc::ReceiveError::corrupted) {
          return corrupted(m_server->corruption());
        }
        return fail(Errc::protocol,
                    "zerocopy: receive failed: " + std::string(zc::to_string(request.error())));
      }
      if (!*request) return false;
      return open_request(std::move(*request));
    };
    auto block_once = [&](std::int64_t max_ns) -> Result<bool> {
      m_server->wait(std::chrono::nanoseconds(max_ns));
      return try_once();
    };
    // Clients leave one by one at the end of a cell (each after its stop's answer) while the
    // server waits for the others: only when every client has gone can nothing more come. (A
    // client that dies early leaves the server waiting for the others, then the timeout.)
    auto check = [&]() -> Result<void> {
      m_service->cleanup_dead_nodes();
      if (m_known > 0 && m_server->update_connections() == 0) {
        return fail(Errc::peer_gone, "zerocopy: every client is gone");
      }
      return {};
    };
    auto ok = wait_until(m_endpoint.policy(), try_once, block_once, check,
                         WaitTraits{.check_every_ns = kLivenessPeriodNs});
    if (!ok) return std::unexpected(ok.error());
    return m_view;
  }
  // Whose request it is: the client's greeting named it; later requests go by its ClientId.
  Result<bool> open_request(zc::ActiveRequest<Payload, Payload> request) {
    std::uint32_t peer = 0;
    auto known = std::find(m_clients.begin(), m_clients.end(), request.client());
    if (known != m_clients.end()) {
      peer = static_cast<std::uint32_t>(known - m_clients.begin());
    } else {
      if (request.len() != sizeof(std::uint32_t)) {
        return fail(Errc::protocol, "zerocopy: a request from a client that did not greet");
      }
      std::memcpy(&peer, request.payload().data(), sizeof peer);
      if (peer >= m_open.size() || m_ids[peer]) {
        return fail(Errc::protocol, "zerocopy: a greeting from client " + std::to_string(peer) +
                                        ", unknown or twice");
      }
      m_ids[peer] = true;
      m_clients[peer] = request.client();
      ++m_known;
    }
    if (m_open[peer]) {
      return fail(Errc::protocol,
                  "zerocopy: client " + std::to_string(peer) + " sent again before its answer");
    }
    m_open[peer].emplace(std::move(request));
    m_peer = peer;
    m_view = m_open[peer]->payload();
    return true;
  }

  Result<void> open() {
    auto node = make_node(m_endpoint);
    if (!node) return std::unexpected(node.error());
    m_node.emplace(std::move(*node));
    const std::uint32_t peers = m_endpoint.peers;
    auto service =
        m_node->service_builder("ipcbench/rr")
            .request_response<Payload, Payload>()
            .max_clients(peers)
            .max_servers(1)
            .max_pending_requests(1)       // a closed loop: one request in flight per client
            .max_borrowed_requests(peers)  // the server holds one open request per client
            .max_nodes(static_cast<std::uint32_t>(std::min<std::size_t>(peers + 3, zc::kMaxNodes)))
            .open_or_create();
    if (!service) return service_failed(service.error());
    m_service.emplace(std::move(*service));
    const std::size_t most =
        std::max<std::size_t>(m_endpoint.max_message_bytes, sizeof(std::uint32_t));
    if (m_endpoint.role == Role::consumer) {
      auto client =
          m_service->client_builder().max_slice_len(most).send_timeout(m_endpoint.timeout).create();
      if (!client) return fail(Errc::resource, "zerocopy: " + client.error().message);
      m_client.emplace(std::move(*client));
      return {};
    }
    auto server = m_service->server_builder().max_slice_len(most).create();
    if (!server) return fail(Errc::resource, "zerocopy: " + server.error().message);
    m_server.emplace(std::move(*server));
    m_clients.assign(peers, zc::ClientId{});
    m_ids.assign(peers, false);
    return {};
  }

  Endpoint m_endpoint;
  std::optional<zc::Node> m_node;
  std::optional<Service> m_service;
  // The client's side.
  std::optional<zc::Client<Payload, Payload>> m_client;
  std::optional<zc::RequestMut<Payload, Payload>> m_request_loan;
  std::optional<zc::PendingResponse<Payload, Payload>> m_pending;
  std::optional<zc::Response<Payload>> m_response;
  // The server's side: each client's id and its request not yet answered.
  std::optional<zc::Server<Payload, Payload>> m_server;
  std::vector<std::optional<zc::ActiveRequest<Payload, Payload>>> m_open;
  std::vector<zc::ClientId> m_clients;
  std::vector<bool> m_ids;  // the client has greeted
  std::uint32_t m_known = 0;
  std::optional<zc::ResponseMut<Payload>> m_response_loan;
  std::uint32_t m_peer = 0;  // whose request receive() returned last / send() answers
  std::span<const std::byte> m_view;
};

// A service holds at most kMaxNodes (63) processes: the producer's and 62 consumers'.
Capabilities capabilities() {
  return {.zero_copy = true,
          .native_wait = WaitMode::spin,
          .multicast = true,
          .max_consumers = zc::kMaxNodes - 1,
          .pollable = true,
          .fan_in = true};
}

// --set zerocopy.inline=0 keeps every payload in its chunk (zero-copy at every size); by default
// payloads of up to 120 bytes are copied into the queue slot (PublisherBuilder::inline_payloads).
std::vector<OptionSpec> options() {
  return {switch_option("inline",
                        "1: payloads of up to 120 bytes travel copied in the queue slot, with the "
                        "entry that announces them, where a cell's messages are that small "
                        "(PublisherBuilder::inline_payloads); 0: every payload in its chunk, "
                        "zero-copy",
                        true),
          switch_option("drop",
                        "1: a full queue loses its oldest message to make room (safe overflow: "
                        "the producer never waits, the consumer's sequence check sees the gap); "
                        "0: the producer waits for room (backpressure)",
                        false)};
}

Result<std::unique_ptr<Transport>> make(const Endpoint& endpoint) {
  if (endpoint.max_message_bytes > capabilities().max_message_bytes) {
    return fail(Errc::message_too_large, "zerocopy: messages up to 64 MiB");
  }
  if (!zc::is_valid_prefix(endpoint.token)) {
    return fail(Errc::resource,
                "zerocopy: the token '" + endpoint.token + "' is not a valid shared-memory prefix");
  }
  if (endpoint.fan_in) return std::make_unique<ZeroCopyFanIn>(endpoint);
  return std::make_unique<ZeroCopyTransport>(endpoint);
}

}  // namespace

extern const TransportInfo zerocopy_driver{
    .name = "zerocopy",
    .description =
        "this project's zero-copy pub/sub core (zerocopy/): shared-memory chunk pools, "
        "lock-free SPSC queues, futex wake-ups; backpressure, up to 64 MiB; payloads of up to "
        "120 B copied inline in the queue slot unless --set zerocopy.inline=0",
    .capabilities = capabilities,
    .make = make,
    .options = options};

}  // namespace ipcbench

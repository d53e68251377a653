// Request-response: a client sends a request and receives the server's response to that request
// (iceoryx2's request-response messaging pattern). Zero-copy both ways; one server serves many
// clients; the correlation is the library's.
//
//   auto service = node.service_builder("Calc/Square")
//                      .request_response<std::uint64_t, std::uint64_t>()
//                      .open_or_create()
//                      .value();
//   // server process
//   auto server = service.server_builder().create().value();
//   while (server.wait(1s) == zerocopy::WaitResult::data_available) {
//     while (auto request = server.receive().value()) {
//       request.respond_copy(*request * *request).value();
//     }
//   }
//   // client process
//   auto client = service.client_builder().create().value();
//   auto pending = client.send_copy(7).value();
//   auto response = pending.timed_receive(1s).value();  // empty on timeout
//   if (response) use(*response);                       // 49
//
// Built on the publish-subscribe machinery (so nodes, dead-node clean-up and the integrity checks
// are the same): the service is two publish-subscribe services, "<name>?request" (each client
// publishes its requests, the server subscribes to them all) and "<name>?response" (the server
// publishes, each client subscribes). A request carries, in its user header, its id and the
// client's response subscriber; the server's response goes into that subscriber's queue alone,
// and the client matches it to the request by the id. No request is dropped: a client has at most
// max_pending_requests requests pending, its queue to the server holds that many, and if requests
// it gave up fill it, send() waits for the server to read (backpressure). A server never waits
// for a client: each client's response queue holds twice max_pending_requests, and a client that
// does not read loses the oldest responses (counted by lost_responses()).
//
// A server waits on all its clients at once: wait(), or its notification_fd() in a WaitSet. A
// client finds its server gone: send() says RequestSendError::no_server, a receive that finds
// nothing says ResponseReceiveError::server_gone, and timed_receive() cleans up dead nodes before
// it reports a timeout (so a server whose process died is noticed then).
//
// Threading: a client, a server and what they hand out belong to one thread at a time.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "zerocopy/node.hpp"

namespace zerocopy {

// A client of a request-response service: its response subscriber's slot and generation.
using ClientId = SubscriberId;

namespace detail {
// The user header of every request and every response.
struct RequestHeader {
  std::uint64_t request_id;
  std::uint64_t client_generation;
  std::uint32_t client_slot;
  std::uint32_t reserved;
};
struct ResponseHeader {
  std::uint64_t request_id;
};
}  // namespace detail

template <>
struct TypeName<detail::RequestHeader> {
  static constexpr std::string_view value = "zerocopy::RequestHeader";
};
template <>
struct TypeName<detail::ResponseHeader> {
  static constexpr std::string_view value = "zerocopy::ResponseHeader";
};

template <class Req, class Resp>
class Client;
template <class Req, class Resp>
class Server;
template <class Req, class Resp>
class PendingResponse;
template <class Req, class Resp>
class ActiveRequest;

namespace detail {
template <class Req, class Resp>
struct ClientCore {
  ClientCore(Service<Req> request_half, Service<Resp> response_half, Publisher<Req> publisher,
             Subscriber<Resp> subscriber, std::uint32_t pending_limit)
      : request_service(std::move(request_half)),
        response_service(std::move(response_half)),
        requests(std::move(publisher)),
        responses(std::move(subscriber)),
        id(responses.id()),
        max_pending(pending_limit) {}

  Service<Req> request_service;
  Service<Resp> response_service;
  Publisher<Req> requests;
  Subscriber<Resp> responses;
  SubscriberId id;
  std::uint32_t max_pending;
  std::uint64_t next_request_id = 1;
  std::vector<std::uint64_t> pending;  // ids of the live PendingResponses
  std::vector<Sample<Resp>> early;     // responses to other pending requests, read first
  std::uint64_t stale = 0;             // responses to requests no longer pending, dropped

  static std::uint64_t request_id_of(const Sample<Resp>& sample) noexcept {
    const auto* header = sample.template user_header<ResponseHeader>();
    return header != nullptr ? header->request_id : 0;
  }
  std::size_t cleanup_dead_nodes() {
    return request_service.cleanup_dead_nodes() + response_service.cleanup_dead_nodes();
  }
  bool is_pending(std::uint64_t id) const noexcept {
    return std::find(pending.begin(), pending.end(), id) != pending.end();
  }
  void forget(std::uint64_t id) noexcept {
    pending.erase(std::remove(pending.begin(), pending.end(), id), pending.end());
    early.erase(std::remove_if(early.begin(), early.end(),
                               [&](const Sample<Resp>& s) { return request_id_of(s) == id; }),
                early.end());
  }
  // The next response to `id`, or an empty Sample.
  Expected<Sample<Resp>, ResponseReceiveError> receive(std::uint64_t id) noexcept {
    for (auto it = early.begin(); it != early.end(); ++it) {
      if (request_id_of(*it) == id) {
        Sample<Resp> sample = std::move(*it);
        early.erase(it);
        return sample;
      }
    }
    for (;;) {
      auto sample = responses.receive();
      if (!sample) {
        return unexpected(sample.error() == ReceiveError::exceeds_max_borrows
                              ? ResponseReceiveError::exceeds_max_borrows
                              : ResponseReceiveError::corrupted);
      }
      if (!*sample) break;
      std::uint64_t of = request_id_of(*sample);
      if (of == id) return std::move(*sample);
      if (is_pending(of)) {
        early.push_back(std::move(*sample));
      } else {
        ++stale;
      }
    }
    if (requests.update_connections() == 0) return unexpected(ResponseReceiveError::server_gone);
    return Sample<Resp>();
  }
};

template <class Req, class Resp>
struct ServerCore {
  ServerCore(Service<Req> request_half, Service<Resp> response_half, Subscriber<Req> subscriber,
             Publisher<Resp> publisher)
      : request_service(std::move(request_half)),
        response_service(std::move(response_half)),
        requests(std::move(subscriber)),
        responses(std::move(publisher)) {}

  Service<Req> request_service;
  Service<Resp> response_service;
  Subscriber<Req> requests;
  Publisher<Resp> responses;
};

// The accessors a received request or response shares: a read-only view of the sender's chunk,
// or nothing.
template <class T>
class ReadView {
 public:
  using Element = typename PayloadTraits<T>::Element;
  static constexpr bool kIsSlice = PayloadTraits<T>::kIsSlice;

  explicit operator bool() const noexcept { return static_cast<bool>(m_sample); }
  bool has_value() const noexcept { return m_sample.has_value(); }
  const Element& operator*() const noexcept requires(!kIsSlice) { return *m_sample; }
  const Element* operator->() const noexcept requires(!kIsSlice) { return m_sample.operator->(); }
  const Element& payload() const noexcept requires(!kIsSlice) { return m_sample.payload(); }
  std::span<const Element> payload() const noexcept requires(kIsSlice) {
    return m_sample.payload();
  }
  std::size_t len() const noexcept { return m_sample.len(); }
  // Gives the chunk back to its sender now (as the destructor would).
  void reset() noexcept { m_sample.reset(); }

 protected:
  ReadView() noexcept = default;
  explicit ReadView(Sample<T> sample) noexcept : m_sample(std::move(sample)) {}
  Sample<T> m_sample;
};

// The accessors a loaned request or response shares: its payload, to write before send().
template <class T>
class WriteView {
 public:
  using Element = typename PayloadTraits<T>::Element;
  static constexpr bool kIsSlice = PayloadTraits<T>::kIsSlice;

  Element& operator*() noexcept requires(!kIsSlice) { return *m_sample; }
  Element* operator->() noexcept requires(!kIsSlice) { return m_sample.operator->(); }
  Element& payload_mut() noexcept requires(!kIsSlice) { return m_sample.payload_mut(); }
  std::span<Element> payload_mut() noexcept requires(kIsSlice) { return m_sample.payload_mut(); }
  std::size_t len() const noexcept { return m_sample.len(); }
  bool set_len(std::size_t len) noexcept requires(kIsSlice) { return m_sample.set_len(len); }

 protected:
  explicit WriteView(SampleMut<T> sample) noexcept : m_sample(std::move(sample)) {}
  SampleMut<T> m_sample;
};
}  // namespace detail

// A response the client received: a read-only view of the server's chunk, or nothing (test it).
template <class Resp>
class Response : public detail::ReadView<Resp> {
 public:
  Response() noexcept = default;
  // The id of the request it answers (PendingResponse::request_id()).
  std::uint64_t request_id() const noexcept { return m_request_id; }

 private:
  Response(Sample<Resp> sample, std::uint64_t request_id) noexcept
      : detail::ReadView<Resp>(std::move(sample)), m_request_id(request_id) {}
  template <class A, class B>
  friend class PendingResponse;

  std::uint64_t m_request_id = 0;
};

// A request sent and not yet forgotten: receives the server's responses to it (usually one; a
// server may send several). Destroying it forgets the request: responses arriving later are
// dropped (Client::stale_responses counts them).
template <class Req, class Resp>
class PendingResponse {
 public:
  PendingResponse(PendingResponse&& other) noexcept
      : m_core(std::move(other.m_core)), m_id(other.m_id) {}
  PendingResponse& operator=(PendingResponse&& other) noexcept {
    if (this != &other) {
      forget();
      m_core = std::move(other.m_core);
      m_id = other.m_id;
    }
    return *this;
  }
  ~PendingResponse() { forget(); }

  std::uint64_t request_id() const noexcept { return m_id; }

  // The next response to this request, or an empty Response when none is waiting. Never blocks.
  // ResponseReceiveError::server_gone when none is waiting and no server is connected.
  Expected<Response<Resp>, ResponseReceiveError> receive() noexcept {
    auto sample = m_core->receive(m_id);
    if (!sample) return unexpected(sample.error());
    return Response<Resp>(std::move(*sample), m_id);
  }
  // Waits (on a futex) up to `timeout` for a response; an empty Response on timeout. Before it
  // reports a timeout it removes dead nodes from the service, so a server whose process died is
  // reported as server_gone.
  Expected<Response<Resp>, ResponseReceiveError> timed_receive(std::chrono::nanoseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      auto response = receive();
      if (!response || *response) return response;
      auto left = deadline - std::chrono::steady_clock::now();
      if (left <= std::chrono::nanoseconds::zero()) {
        if (m_core->cleanup_dead_nodes() != 0) return receive();
        return response;
      }
      if (m_core->responses.wait(left) == WaitResult::interrupted) return receive();
    }
  }

 private:
  PendingResponse(std::shared_ptr<detail::ClientCore<Req, Resp>> core, std::uint64_t id)
      : m_core(std::move(core)), m_id(id) {}
  void forget() noexcept {
    if (m_core) m_core->forget(m_id);
    m_core.reset();
  }
  template <class A, class B>
  friend class RequestMut;
  template <class A, class B>
  friend class Client;

  std::shared_ptr<detail::ClientCore<Req, Resp>> m_core;
  std::uint64_t m_id;
};

// A loaned request: write its payload, then send() it.
template <class Req, class Resp>
class RequestMut : public detail::WriteView<Req> {
 public:
  // Sends the request to the server(s). The PendingResponse receives the answers.
  Expected<PendingResponse<Req, Resp>, RequestSendError> send() && noexcept {
    detail::ClientCore<Req, Resp>& core = *m_core;
    if (core.pending.size() >= core.max_pending) {
      return unexpected(RequestSendError::exceeds_max_pending);
    }
    const std::uint64_t id = core.next_request_id++;
    auto* header = this->m_sample.template user_header_mut<detail::RequestHeader>();
    *header = detail::RequestHeader{id, core.id.generation, core.id.slot, 0};
    auto sent = std::move(this->m_sample).send();
    if (!sent) {
      return unexpected(sent.error() == SendError::timeout ? RequestSendError::timeout
                                                           : RequestSendError::corrupted);
    }
    if (*sent == 0) return unexpected(RequestSendError::no_server);
    core.pending.push_back(id);
    return PendingResponse<Req, Resp>(m_core, id);
  }
  template <class Self = RequestMut>
  void send() & noexcept {
    static_assert(sizeof(Self) == 0, "send() consumes the request: use std::move(request).send()");
  }

 private:
  RequestMut(std::shared_ptr<detail::ClientCore<Req, Resp>> core, SampleMut<Req> sample) noexcept
      : detail::WriteView<Req>(std::move(sample)), m_core(std::move(core)) {}
  template <class A, class B>
  friend class Client;

  std::shared_ptr<detail::ClientCore<Req, Resp>> m_core;
};

template <class Req, class Resp>
class Client {
 public:
  using Element = typename detail::PayloadTraits<Req>::Element;
  static constexpr bool kIsSlice = detail::PayloadTraits<Req>::kIsSlice;

  // A request whose payload is not initialised: write payload_mut() before send().
  Expected<RequestMut<Req, Resp>, LoanError> loan_uninit() noexcept requires(!kIsSlice) {
    auto sample = m_core->requests.loan_uninit();
    if (!sample) return unexpected(sample.error());
    return RequestMut<Req, Resp>(m_core, std::move(*sample).assume_init());
  }
  // A request holding a value-initialised Req.
  Expected<RequestMut<Req, Resp>, LoanError> loan() noexcept requires(!kIsSlice) {
    auto sample = m_core->requests.loan();
    if (!sample) return unexpected(sample.error());
    return RequestMut<Req, Resp>(m_core, std::move(*sample));
  }
  Expected<RequestMut<Req, Resp>, LoanError> loan_slice_uninit(std::size_t len) noexcept
      requires(kIsSlice) {
    auto sample = m_core->requests.loan_slice_uninit(len);
    if (!sample) return unexpected(sample.error());
    return RequestMut<Req, Resp>(m_core, std::move(*sample).assume_init());
  }
  Expected<RequestMut<Req, Resp>, LoanError> loan_slice(std::size_t len) noexcept
      requires(kIsSlice) {
    auto sample = m_core->requests.loan_slice(len);
    if (!sample) return unexpected(sample.error());
    return RequestMut<Req, Resp>(m_core, std::move(*sample));
  }
  // Loan, copy `value` in, send. A loan that fails is reported as exceeds_max_pending (the
  // loans a client may hold are its pending requests' budget).
  Expected<PendingResponse<Req, Resp>, RequestSendError> send_copy(const Element& value) noexcept
      requires(!kIsSlice) {
    auto request = loan_uninit();
    if (!request) return unexpected(RequestSendError::exceeds_max_pending);
    request->payload_mut() = value;
    return std::move(*request).send();
  }

  // Connects to the servers that appeared; returns how many are connected.
  std::size_t update_connections() noexcept { return m_core->requests.update_connections(); }
  // Waits (no polling) until a server is connected, or `timeout` passes.
  bool wait_for_server(std::chrono::nanoseconds timeout) noexcept {
    return m_core->requests.wait_for_subscribers(1, timeout);
  }
  // Readable whenever a response may be waiting (for poll, epoll or a WaitSet); see
  // Subscriber::notification_fd().
  Expected<int, Error<WaitSetError>> notification_fd() {
    return m_core->responses.notification_fd();
  }
  ClientId id() const noexcept { return m_core->id; }
  std::size_t pending_requests() const noexcept { return m_core->pending.size(); }
  // Responses dropped because their request was no longer pending (it timed out and its
  // PendingResponse was destroyed before the answer came).
  std::uint64_t stale_responses() const noexcept { return m_core->stale; }
  // Responses evicted from this client's full queue (a server answered faster than it read).
  std::uint64_t lost_responses() noexcept { return m_core->responses.lost_samples(); }
  std::string corruption() const {
    std::string why = m_core->requests.corruption();
    return why.empty() ? m_core->responses.corruption() : why;
  }

 private:
  explicit Client(std::shared_ptr<detail::ClientCore<Req, Resp>> core) : m_core(std::move(core)) {}
  template <class A, class B>
  friend class ClientBuilder;

  std::shared_ptr<detail::ClientCore<Req, Resp>> m_core;
};

// A loaned response to one request: write its payload, then send() it to the client that asked.
template <class Resp>
class ResponseMut : public detail::WriteView<Resp> {
 public:
  Expected<void, RespondError> send() && noexcept {
    *this->m_sample.template user_header_mut<detail::ResponseHeader>() =
        detail::ResponseHeader{m_request_id};
    auto sent = std::move(this->m_sample).send_to(m_client);
    if (!sent) return unexpected(RespondError::corrupted);
    if (*sent == 0) return unexpected(RespondError::client_gone);
    return {};
  }
  template <class Self = ResponseMut>
  void send() & noexcept {
    static_assert(sizeof(Self) == 0,
                  "send() consumes the response: use std::move(response).send()");
  }

 private:
  ResponseMut(SampleMut<Resp> sample, ClientId client, std::uint64_t request_id) noexcept
      : detail::WriteView<Resp>(std::move(sample)), m_client(client), m_request_id(request_id) {}
  template <class A, class B>
  friend class ActiveRequest;

  ClientId m_client;
  std::uint64_t m_request_id;
};

// A request the server received: read it in place, answer it (as often as it likes) while it
// lives, or nothing (Server::receive() found no request: test it).
template <class Req, class Resp>
class ActiveRequest : public detail::ReadView<Req> {
 public:
  using ResponseElement = typename detail::PayloadTraits<Resp>::Element;
  static constexpr bool kResponseIsSlice = detail::PayloadTraits<Resp>::kIsSlice;

  ActiveRequest() noexcept = default;
  std::uint64_t request_id() const noexcept { return m_request_id; }
  ClientId client() const noexcept { return m_client; }

  Expected<ResponseMut<Resp>, LoanError> loan_uninit() noexcept requires(!kResponseIsSlice) {
    auto sample = m_core->responses.loan_uninit();
    if (!sample) return unexpected(sample.error());
    return ResponseMut<Resp>(std::move(*sample).assume_init(), m_client, m_request_id);
  }
  Expected<ResponseMut<Resp>, LoanError> loan() noexcept requires(!kResponseIsSlice) {
    auto sample = m_core->responses.loan();
    if (!sample) return unexpected(sample.error());
    return ResponseMut<Resp>(std::move(*sample), m_client, m_request_id);
  }
  Expected<ResponseMut<Resp>, LoanError> loan_slice_uninit(std::size_t len) noexcept
      requires(kResponseIsSlice) {
    auto sample = m_core->responses.loan_slice_uninit(len);
    if (!sample) return unexpected(sample.error());
    return ResponseMut<Resp>(std::move(*sample).assume_init(), m_client, m_request_id);
  }
  Expected<ResponseMut<Resp>, LoanError> loan_slice(std::size_t len) noexcept
      requires(kResponseIsSlice) {
    auto sample = m_core->responses.loan_slice(len);
    if (!sample) return unexpected(sample.error());
    return ResponseMut<Resp>(std::move(*sample), m_client, m_request_id);
  }
  // Loan, copy `value` in, send to the client that asked. A failed loan (every chunk of the
  // server's pool in use) reports corrupted: the pool is sized so that it cannot happen.
  Expected<void, RespondError> respond_copy(const ResponseElement& value) noexcept
      requires(!kResponseIsSlice) {
    auto response = loan_uninit();
    if (!response) return unexpected(RespondError::corrupted);
    response->payload_mut() = value;
    return std::move(*response).send();
  }

 private:
  ActiveRequest(std::shared_ptr<detail::ServerCore<Req, Resp>> core, Sample<Req> sample) noexcept
      : detail::ReadView<Req>(std::move(sample)), m_core(std::move(core)) {
    const auto* header = this->m_sample.template user_header<detail::RequestHeader>();
    if (header != nullptr) {
      m_request_id = header->request_id;
      m_client = ClientId{header->client_slot, header->client_generation};
    }
  }
  template <class A, class B>
  friend class Server;

  std::shared_ptr<detail::ServerCore<Req, Resp>> m_core;
  std::uint64_t m_request_id = 0;
  ClientId m_client;
};

template <class Req, class Resp>
class Server {
 public:
  // The next request from any client, or an empty ActiveRequest. Never blocks. Errors as
  // Subscriber::receive() (exceeds_max_borrows: max_borrowed_requests requests are held).
  Expected<ActiveRequest<Req, Resp>, ReceiveError> receive() noexcept {
    auto sample = m_core->requests.receive();
    if (!sample) return unexpected(sample.error());
    if (!*sample) return ActiveRequest<Req, Resp>();
    return ActiveRequest<Req, Resp>(m_core, std::move(*sample));
  }
  // Sleeps (on a futex) until a request from any client is waiting, a client connects or leaves,
  // the timeout passes or a signal arrives.
  WaitResult wait(std::chrono::nanoseconds timeout) noexcept {
    return m_core->requests.wait(timeout);
  }
  // Readable whenever a request may be waiting (for poll, epoll or a WaitSet).
  Expected<int, Error<WaitSetError>> notification_fd() {
    return m_core->requests.notification_fd();
  }
  // Connects the clients that appeared; returns how many send to this server.
  std::size_t update_connections() noexcept {
    m_core->responses.update_connections();
    return m_core->requests.update_connections();
  }
  // Waits (no polling) until `count` clients can receive responses, or `timeout` passes.
  bool wait_for_clients(std::size_t count, std::chrono::nanoseconds timeout) noexcept {
    return m_core->responses.wait_for_subscribers(count, timeout);
  }
  // Removes the service's dead nodes (clients whose process died: their queues, chunks and
  // segments) from both halves; returns how many (per half, summed).
  std::size_t cleanup_dead_nodes() {
    return m_core->request_service.cleanup_dead_nodes() +
           m_core->response_service.cleanup_dead_nodes();
  }
  // Wake-ups (futex wakes, FIFO bytes) the server's responses made.
  std::uint64_t wakeups() const noexcept { return m_core->responses.wakeups(); }
  std::string corruption() const {
    std::string why = m_core->requests.corruption();
    return why.empty() ? m_core->responses.corruption() : why;
  }

 private:
  explicit Server(std::shared_ptr<detail::ServerCore<Req, Resp>> core) : m_core(std::move(core)) {}
  template <class A, class B>
  friend class ServerBuilder;

  std::shared_ptr<detail::ServerCore<Req, Resp>> m_core;
};

namespace detail {
// A port's creation error as the client's or the server's: `exceeds` stands for a full table.
template <class To>
To port_error(PublisherCreateError from, To exceeds) {
  switch (from) {
    case PublisherCreateError::exceeds_max_publishers:
      return exceeds;
    case PublisherCreateError::invalid_options:
      return To::invalid_options;
    case PublisherCreateError::corrupted:
      return To::corrupted;
    case PublisherCreateError::insufficient_memory:
      return To::insufficient_memory;
    case PublisherCreateError::system:
      return To::system;
  }
  return To::system;
}
template <class To>
To port_error(SubscriberCreateError from, To exceeds) {
  switch (from) {
    case SubscriberCreateError::exceeds_max_subscribers:
      return exceeds;
    case SubscriberCreateError::corrupted:
      return To::corrupted;
    case SubscriberCreateError::system:
      return To::system;
  }
  return To::system;
}
}  // namespace detail

template <class Req, class Resp>
class ClientBuilder {
 public:
  // Req = U[] only: the longest request loan_slice() accepts (default 1).
  ClientBuilder& max_slice_len(std::size_t value) requires(detail::PayloadTraits<Req>::kIsSlice) {
    m_max_slice_len = value;
    return *this;
  }
  // How long send() waits while the server's queue for this client is full (default 1 s); then
  // RequestSendError::timeout. It fills only with requests given up (their PendingResponse
  // destroyed) that the server has not read yet.
  ClientBuilder& send_timeout(std::chrono::nanoseconds value) {
    m_send_timeout = value;
    return *this;
  }
  Expected<Client<Req, Resp>, Error<ClientCreateError>> create() const {
    auto fail = [](auto error) {
      return unexpected(Error<ClientCreateError>{
          detail::port_error(error.code, ClientCreateError::exceeds_max_clients),
          std::move(error.message)});
    };
    // The subscriber first: its id goes into every request.
    auto responses = m_responses.subscriber_builder().create();
    if (!responses) return fail(std::move(responses).error());
    auto builder = m_requests.publisher_builder()
                       .max_loaned_samples(m_max_pending)
                       .backpressure_wait(BackpressureWait::block)
                       .backpressure_timeout(m_send_timeout);
    if constexpr (detail::PayloadTraits<Req>::kIsSlice) builder.max_slice_len(m_max_slice_len);
    auto requests = builder.create();
    if (!requests) return fail(std::move(requests).error());
    return Client<Req, Resp>(std::make_shared<detail::ClientCore<Req, Resp>>(
        m_requests, m_responses, std::move(*requests), std::move(*responses), m_max_pending));
  }

 private:
  ClientBuilder(Service<Req> requests, Service<Resp> responses, std::uint32_t max_pending)
      : m_requests(std::move(requests)),
        m_responses(std::move(responses)),
        m_max_pending(max_pending) {}
  template <class A, class B>
  friend class RequestResponseService;

  Service<Req> m_requests;
  Service<Resp> m_responses;
  std::uint32_t m_max_pending;
  std::size_t m_max_slice_len = 1;
  std::chrono::nanoseconds m_send_timeout = std::chrono::seconds(1);
};

template <class Req, class Resp>
class ServerBuilder {
 public:
  // Resp = U[] only: the longest response loan_slice() accepts (default 1).
  ServerBuilder& max_slice_len(std::size_t value) requires(detail::PayloadTraits<Resp>::kIsSlice) {
    m_max_slice_len = value;
    return *this;
  }
  Expected<Server<Req, Resp>, Error<ServerCreateError>> create() const {
    auto fail = [](auto error) {
      return unexpected(Error<ServerCreateError>{
          detail::port_error(error.code, ServerCreateError::exceeds_max_servers),
          std::move(error.message)});
    };
    auto requests = m_requests.subscriber_builder().create();
    if (!requests) return fail(std::move(requests).error());
    auto builder = m_responses.publisher_builder();
    if constexpr (detail::PayloadTraits<Resp>::kIsSlice) builder.max_slice_len(m_max_slice_len);
    auto responses = builder.create();
    if (!responses) return fail(std::move(responses).error());
    return Server<Req, Resp>(std::make_shared<detail::ServerCore<Req, Resp>>(
        m_requests, m_responses, std::move(*requests), std::move(*responses)));
  }

 private:
  ServerBuilder(Service<Req> requests, Service<Resp> responses)
      : m_requests(std::move(requests)), m_responses(std::move(responses)) {}
  template <class A, class B>
  friend class RequestResponseService;

  Service<Req> m_requests;
  Service<Resp> m_responses;
  std::size_t m_max_slice_len = 1;
};

template <class Req, class Resp>
class RequestResponseService {
 public:
  // The name given to the builder (its segments add "?request" and "?response").
  std::string name() const {
    const std::string& full = m_requests.name();
    return full.substr(0, full.size() - std::char_traits<char>::length(detail::kRequestSuffix));
  }
  ClientBuilder<Req, Resp> client_builder() const {
    return ClientBuilder<Req, Resp>(m_requests, m_responses,
                                    m_requests.options().subscriber_max_buffer_size);
  }
  ServerBuilder<Req, Resp> server_builder() const {
    return ServerBuilder<Req, Resp>(m_requests, m_responses);
  }
  std::uint32_t client_count() const { return m_requests.publisher_count(); }
  std::uint32_t server_count() const { return m_requests.subscriber_count(); }
  // The limits the creator fixed.
  std::uint32_t max_clients() const { return m_requests.options().max_publishers; }
  std::uint32_t max_servers() const { return m_requests.options().max_subscribers; }
  std::uint32_t max_pending_requests() const {
    return m_requests.options().subscriber_max_buffer_size;
  }
  std::uint32_t max_borrowed_requests() const {
    return m_requests.options().subscriber_max_borrowed_samples;
  }
  // Removes the nodes of dead processes from both halves; returns how many (per half, summed).
  std::size_t cleanup_dead_nodes() {
    return m_requests.cleanup_dead_nodes() + m_responses.cleanup_dead_nodes();
  }

 private:
  RequestResponseService(Service<Req> requests, Service<Resp> responses)
      : m_requests(std::move(requests)), m_responses(std::move(responses)) {}
  template <class A, class B>
  friend class ServiceBuilderRequestResponse;

  Service<Req> m_requests;
  Service<Resp> m_responses;
};

// On create() the values not set take their defaults (8 clients, 1 server, 4 pending requests
// per client, 16 requests a server may hold at once, 20 nodes); on open() each value set is a
// requirement the existing service must meet (ServiceError::incompatible_options).
template <class Req, class Resp>
class ServiceBuilderRequestResponse {
 public:
  ServiceBuilderRequestResponse& max_clients(std::uint32_t value) {
    m_requests.max_publishers(value);
    m_responses.max_subscribers(value);
    m_set.clients = true;
    return *this;
  }
  ServiceBuilderRequestResponse& max_servers(std::uint32_t value) {
    m_requests.max_subscribers(value);
    m_responses.max_publishers(value);
    m_set.servers = true;
    return *this;
  }
  // Requests a client may have in flight (live PendingResponses) at once; sizes its queues.
  ServiceBuilderRequestResponse& max_pending_requests(std::uint32_t value) {
    m_requests.subscriber_max_buffer_size(value);
    // Room for the answers to requests given up, besides the pending ones.
    m_responses.subscriber_max_buffer_size(2 * value);
    // Responses the client holds: those it reads, and those to other pending requests it read
    // on the way (PendingResponse keeps them for their own request).
    m_responses.subscriber_max_borrowed_samples(2 * value);
    m_set.pending = true;
    return *this;
  }
  // ActiveRequests a server may hold at once (over all its clients).
  ServiceBuilderRequestResponse& max_borrowed_requests(std::uint32_t value) {
    m_requests.subscriber_max_borrowed_samples(value);
    m_set.borrowed = true;
    return *this;
  }
  ServiceBuilderRequestResponse& max_nodes(std::uint32_t value) {
    m_requests.max_nodes(value);
    m_responses.max_nodes(value);
    return *this;
  }

  Expected<RequestResponseService<Req, Resp>, Error<ServiceError>> open() const {
    return run(detail::OpenMode::open);
  }
  Expected<RequestResponseService<Req, Resp>, Error<ServiceError>> create() const {
    return run(detail::OpenMode::create);
  }
  Expected<RequestResponseService<Req, Resp>, Error<ServiceError>> open_or_create() const {
    return run(detail::OpenMode::open_or_create);
  }

 private:
  ServiceBuilderRequestResponse(ServiceBuilderPubSub<Req> requests,
                                ServiceBuilderPubSub<Resp> responses)
      : m_requests(std::move(requests)), m_responses(std::move(responses)) {
    // Requests are never dropped: a client whose queue to the server is full waits for room
    // (up to its send_timeout). Responses never make the server wait: a client that does not
    // read loses the oldest (lost_responses() counts them).
    m_requests.template user_header<detail::RequestHeader>()
        .role(detail::ServiceRole::requests)
        .overflow(Overflow::backpressure);
    m_responses.template user_header<detail::ResponseHeader>()
        .role(detail::ServiceRole::responses)
        .overflow(Overflow::safe_overflow);
  }
  Expected<RequestResponseService<Req, Resp>, Error<ServiceError>> run(
      detail::OpenMode mode) const {
    ServiceBuilderRequestResponse copy = *this;
    // Defaults apply when creating; opening accepts what the creator chose.
    if (mode != detail::OpenMode::open) {
      if (!m_set.clients) copy.max_clients(8);
      if (!m_set.servers) copy.max_servers(1);
      if (!m_set.pending) copy.max_pending_requests(4);
      if (!m_set.borrowed) copy.max_borrowed_requests(16);
    }
    auto open = [mode](const auto& builder) {
      return mode == detail::OpenMode::open     ? builder.open()
             : mode == detail::OpenMode::create ? builder.create()
                                                : builder.open_or_create();
    };
    auto requests = open(copy.m_requests);
    if (!requests) return unexpected(std::move(requests).error());
    auto responses = open(copy.m_responses);
    if (!responses) return unexpected(std::move(responses).error());
    return RequestResponseService<Req, Resp>(std::move(*requests), std::move(*responses));
  }
  friend class ServiceBuilder;

  ServiceBuilderPubSub<Req> m_requests;
  ServiceBuilderPubSub<Resp> m_responses;
  struct {
    bool clients = false, servers = false, pending = false, borrowed = false;
  } m_set;
};

template <class Req, class Resp>
ServiceBuilderRequestResponse<Req, Resp> ServiceBuilder::request_response() const {
  return ServiceBuilderRequestResponse<Req, Resp>(publish_subscribe<Req>(),
                                                  publish_subscribe<Resp>());
}

}  // namespace zerocopy

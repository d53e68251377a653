// Request-response: correlation, several clients and pending requests, the limits, clients and
// servers that leave or die, slices, the WaitSet, discovery, and a server in another process.
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "test_util.hpp"

namespace zerocopy::testing {
namespace {

using namespace std::chrono_literals;

class RequestResponse : public ShmTest {
 protected:
  Expected<RequestResponseService<std::uint64_t, std::uint64_t>, Error<ServiceError>> square(
      std::uint32_t max_pending = 4) {
    return node()
        .service_builder("calc/square")
        .request_response<std::uint64_t, std::uint64_t>()
        .max_pending_requests(max_pending)
        .open_or_create();
  }
  // A client whose send gives up at once when the server's queue for it is full.
  Expected<Client<std::uint64_t, std::uint64_t>, Error<ClientCreateError>> impatient_client(
      RequestResponseService<std::uint64_t, std::uint64_t>& service) {
    return service.client_builder().send_timeout(std::chrono::milliseconds(1)).create();
  }
};

// Serves every waiting request with its square; returns how many it served.
template <class S>
int serve_squares(S& server) {
  int served = 0;
  for (;;) {
    auto request = server.receive();
    EXPECT_TRUE(request);
    if (!request || !*request) return served;
    EXPECT_TRUE(request->respond_copy(**request * **request));
    ++served;
  }
}

TEST_F(RequestResponse, AClientGetsTheAnswerToItsRequest) {
  auto service = square();
  ASSERT_TRUE(service) << service.error().message;
  EXPECT_EQ(service->name(), "calc/square");
  auto server = service->server_builder().create();
  ASSERT_TRUE(server) << server.error().message;
  auto client = service->client_builder().create();
  ASSERT_TRUE(client) << client.error().message;
  ASSERT_TRUE(client->wait_for_server(1s));
  EXPECT_EQ(service->client_count(), 1u);
  EXPECT_EQ(service->server_count(), 1u);

  auto pending = client->send_copy(7);
  ASSERT_TRUE(pending);
  EXPECT_EQ(client->pending_requests(), 1u);
  auto request = server->receive();
  ASSERT_TRUE(request && *request);
  EXPECT_EQ(**request, 7u);
  EXPECT_EQ(request->request_id(), pending->request_id());
  EXPECT_EQ(request->client(), client->id());
  ASSERT_TRUE(request->respond_copy(49));
  auto response = pending->receive();
  ASSERT_TRUE(response && *response);
  EXPECT_EQ(**response, 49u);
  EXPECT_EQ(response->request_id(), pending->request_id());
  // One answer; nothing more.
  auto again = pending->receive();
  ASSERT_TRUE(again);
  EXPECT_FALSE(*again);
}

TEST_F(RequestResponse, ResponsesGoOnlyToTheClientThatAsked) {
  auto service = square();
  ASSERT_TRUE(service);
  auto server = service->server_builder().create();
  ASSERT_TRUE(server);
  std::vector<Client<std::uint64_t, std::uint64_t>> clients;
  std::vector<PendingResponse<std::uint64_t, std::uint64_t>> pendings;
  for (std::uint64_t c = 0; c < 3; ++c) {
    auto client = service->client_builder().create();
    ASSERT_TRUE(client);
    ASSERT_TRUE(client->wait_for_server(1s));
    clients.push_back(std::move(*client));
  }
  for (std::uint64_t c = 0; c < 3; ++c) {
    auto pending = clients[c].send_copy(c + 2);
    ASSERT_TRUE(pending);
    pendings.push_back(std::move(*pending));
  }
  EXPECT_EQ(serve_squares(*server), 3);
  for (std::uint64_t c = 0; c < 3; ++c) {
    auto response = pendings[c].receive();
    ASSERT_TRUE(response && *response) << "client " << c;
    EXPECT_EQ(**response, (c + 2) * (c + 2));
    EXPECT_FALSE(*pendings[c].receive());
  }
  EXPECT_EQ(server->update_connections(), 3u);
}

TEST_F(RequestResponse, PendingRequestsAreMatchedWhateverTheOrderOfTheAnswers) {
  auto service = square();
  ASSERT_TRUE(service);
  auto server = service->server_builder().create();
  auto client = service->client_builder().create();
  ASSERT_TRUE(server && client);
  ASSERT_TRUE(client->wait_for_server(1s));
  std::vector<PendingResponse<std::uint64_t, std::uint64_t>> pendings;
  for (std::uint64_t v = 1; v <= 3; ++v)
    pendings.push_back(std::move(client->send_copy(v).value()));
  std::vector<ActiveRequest<std::uint64_t, std::uint64_t>> requests;
  for (int i = 0; i < 3; ++i) {
    auto request = server->receive();
    ASSERT_TRUE(request && *request);
    requests.push_back(std::move(*request));
  }
  EXPECT_EQ(*requests[0], 1u);
  EXPECT_EQ(*requests[2], 3u);
  for (int i = 2; i >= 0; --i)  // the last first
    ASSERT_TRUE(requests[i].respond_copy(*requests[i] * 10));
  // The first request's answer came last: receiving it reads past the other two.
  for (std::uint64_t v = 1; v <= 3; ++v) {
    auto response = pendings[v - 1].receive();
    ASSERT_TRUE(response && *response) << "request " << v;
    EXPECT_EQ(**response, v * 10);
  }
  EXPECT_EQ(client->stale_responses(), 0u);
}

TEST_F(RequestResponse, AServerMayAnswerARequestMoreThanOnce) {
  auto service = square();
  ASSERT_TRUE(service);
  auto server = service->server_builder().create();
  auto client = service->client_builder().create();
  ASSERT_TRUE(server && client && client->wait_for_server(1s));
  auto pending = client->send_copy(5);
  ASSERT_TRUE(pending);
  auto request = server->receive();
  ASSERT_TRUE(request && *request);
  for (std::uint64_t part = 0; part < 3; ++part) {
    auto response = request->loan();
    ASSERT_TRUE(response);
    **response = part;
    ASSERT_TRUE(std::move(*response).send());
  }
  for (std::uint64_t part = 0; part < 3; ++part) {
    auto response = pending->receive();
    ASSERT_TRUE(response && *response);
    EXPECT_EQ(**response, part);
  }
}

TEST_F(RequestResponse, AClientHasAtMostMaxPendingRequestsInFlight) {
  auto service = square(2);
  ASSERT_TRUE(service);
  EXPECT_EQ(service->max_pending_requests(), 2u);
  auto server = service->server_builder().create();
  auto client = impatient_client(*service);
  ASSERT_TRUE(server && client && client->wait_for_server(1s));
  auto first = client->send_copy(1);
  auto second = client->send_copy(2);
  ASSERT_TRUE(first && second);
  auto third = client->send_copy(3);
  ASSERT_FALSE(third);
  EXPECT_EQ(third.error(), RequestSendError::exceeds_max_pending);
  first = unexpected(RequestSendError::no_server);  // gives request 1 up
  EXPECT_EQ(client->pending_requests(), 1u);
  // The server's queue for this client still holds 1 and 2: no room for a request until it reads.
  auto blocked = client->send_copy(4);
  ASSERT_FALSE(blocked);
  EXPECT_EQ(blocked.error(), RequestSendError::timeout);
  // It answers both; the answer to the one given up is dropped.
  EXPECT_EQ(serve_squares(*server), 2);
  auto fourth = client->send_copy(4);
  ASSERT_TRUE(fourth);
  EXPECT_EQ(serve_squares(*server), 1);
  auto response = fourth->receive();
  ASSERT_TRUE(response && *response);
  EXPECT_EQ(**response, 16u);
  EXPECT_EQ(client->stale_responses(), 1u);
  EXPECT_EQ(**second->receive(), 4u);
  EXPECT_EQ(client->lost_responses(), 0u);
}

TEST_F(RequestResponse, WithoutAServerARequestReachesNobodyAndSaysSo) {
  auto service = square();
  ASSERT_TRUE(service);
  auto client = service->client_builder().create();
  ASSERT_TRUE(client);
  EXPECT_FALSE(client->wait_for_server(1ms));
  auto pending = client->send_copy(3);
  ASSERT_FALSE(pending);
  EXPECT_EQ(pending.error(), RequestSendError::no_server);
  EXPECT_EQ(client->pending_requests(), 0u);
}

TEST_F(RequestResponse, AClientFindsItsServerGone) {
  auto service = square();
  ASSERT_TRUE(service);
  auto server = service->server_builder().create();
  auto client = service->client_builder().create();
  ASSERT_TRUE(server && client && client->wait_for_server(1s));
  auto answered = client->send_copy(2);
  auto unanswered = client->send_copy(3);
  ASSERT_TRUE(answered && unanswered);
  {
    auto request = server->receive();
    ASSERT_TRUE(request && *request);
    ASSERT_TRUE(request->respond_copy(4));
  }
  server = unexpected(Error<ServerCreateError>{});  // the server leaves
  // An answer already sent is still delivered; then the client is told.
  auto response = answered->receive();
  ASSERT_TRUE(response && *response);
  EXPECT_EQ(**response, 4u);
  auto none = unanswered->timed_receive(10ms);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error(), ResponseReceiveError::server_gone);
}

TEST_F(RequestResponse, AServerFindsAClientGone) {
  auto service = square();
  ASSERT_TRUE(service);
  auto server = service->server_builder().create();
  auto client = service->client_builder().create();
  ASSERT_TRUE(server && client && client->wait_for_server(1s));
  ASSERT_TRUE(client->send_copy(6));  // sent; its PendingResponse dropped at once
  auto request = server->receive();
  ASSERT_TRUE(request && *request);
  client = unexpected(Error<ClientCreateError>{});  // the client leaves
  auto sent = request->respond_copy(36);
  ASSERT_FALSE(sent);
  EXPECT_EQ(sent.error(), RespondError::client_gone);
}

TEST_F(RequestResponse, ATimedReceiveWithoutAnswerReturnsNothing) {
  auto service = square();
  ASSERT_TRUE(service);
  auto server = service->server_builder().create();
  auto client = service->client_builder().create();
  ASSERT_TRUE(server && client && client->wait_for_server(1s));
  auto pending = client->send_copy(1);
  ASSERT_TRUE(pending);
  auto response = pending->timed_receive(5ms);
  ASSERT_TRUE(response);
  EXPECT_FALSE(*response);
}

TEST_F(RequestResponse, SlicesBothWays) {
  auto service = node()
                     .service_builder("text/lengths")
                     .request_response<char[], std::uint32_t[]>()
                     .open_or_create();
  ASSERT_TRUE(service) << service.error().message;
  auto server = service->server_builder().max_slice_len(16).create();
  auto client = service->client_builder().max_slice_len(64).create();
  ASSERT_TRUE(server && client && client->wait_for_server(1s));
  const std::string text = "one two three";
  auto request = client->loan_slice_uninit(text.size());
  ASSERT_TRUE(request);
  std::memcpy(request->payload_mut().data(), text.data(), text.size());
  auto pending = std::move(*request).send();
  ASSERT_TRUE(pending);
  auto active = server->receive();
  ASSERT_TRUE(active && *active);
  std::string got(active->payload().data(), active->len());
  EXPECT_EQ(got, text);
  // Answer: the length of each word.
  std::vector<std::uint32_t> lengths;
  std::size_t start = 0;
  while (start <= got.size()) {
    std::size_t end = got.find(' ', start);
    if (end == std::string::npos) end = got.size();
    lengths.push_back(static_cast<std::uint32_t>(end - start));
    start = end + 1;
  }
  auto response = active->loan_slice_uninit(lengths.size());
  ASSERT_TRUE(response);
  std::memcpy(response->payload_mut().data(), lengths.data(), lengths.size() * 4);
  ASSERT_TRUE(std::move(*response).send());
  auto answer = pending->receive();
  ASSERT_TRUE(answer && *answer);
  ASSERT_EQ(answer->len(), 3u);
  EXPECT_EQ(answer->payload()[0], 3u);
  EXPECT_EQ(answer->payload()[2], 5u);
  // Beyond max_slice_len: refused at the loan.
  auto too_long = active->loan_slice_uninit(17);
  ASSERT_FALSE(too_long);
  EXPECT_EQ(too_long.error(), LoanError::exceeds_max_slice_len);
}

TEST_F(RequestResponse, OneServerByDefaultAndTheLimitsOnOpen) {
  auto service = square();
  ASSERT_TRUE(service);
  EXPECT_EQ(service->max_servers(), 1u);
  EXPECT_EQ(service->max_clients(), 8u);
  auto first = service->server_builder().create();
  ASSERT_TRUE(first);
  auto second = service->server_builder().create();
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, ServerCreateError::exceeds_max_servers);
  // Opening asks for what the creator fixed.
  auto more = node()
                  .service_builder("calc/square")
                  .request_response<std::uint64_t, std::uint64_t>()
                  .max_clients(9)
                  .open();
  ASSERT_FALSE(more);
  EXPECT_EQ(more.error().code, ServiceError::incompatible_options);
  auto other_type =
      node().service_builder("calc/square").request_response<std::uint64_t, std::uint32_t>().open();
  ASSERT_FALSE(other_type);
  EXPECT_EQ(other_type.error().code, ServiceError::incompatible_type);
  // The halves are not publish-subscribe services a user can name.
  auto half =
      node().service_builder("calc/square?request").publish_subscribe<std::uint64_t>().open();
  ASSERT_FALSE(half);
  EXPECT_EQ(half.error().code, ServiceError::invalid_name);
  // Nor does a publish-subscribe service of the same name meet it.
  auto pubsub = node().service_builder("calc/square").publish_subscribe<std::uint64_t>().open();
  ASSERT_FALSE(pubsub);
  EXPECT_EQ(pubsub.error().code, ServiceError::does_not_exist);
}

TEST_F(RequestResponse, AServerWaitsOnAllItsClientsInAWaitSet) {
  auto service = square();
  ASSERT_TRUE(service);
  auto server = service->server_builder().create();
  ASSERT_TRUE(server);
  auto waitset = WaitSet::create();
  ASSERT_TRUE(waitset);
  auto guard = waitset->attach_notification(*server);
  ASSERT_TRUE(guard) << guard.error().message;
  std::vector<Client<std::uint64_t, std::uint64_t>> clients;
  std::vector<PendingResponse<std::uint64_t, std::uint64_t>> pendings;
  for (std::uint64_t c = 0; c < 4; ++c) {
    clients.push_back(std::move(service->client_builder().create().value()));
    ASSERT_TRUE(clients.back().wait_for_server(1s));
    pendings.push_back(std::move(clients.back().send_copy(c).value()));
  }
  int served = 0;
  for (int round = 0; round < 10 && served < 4; ++round) {
    auto result = waitset->wait_and_process_once(
        [&](WaitSetAttachmentId id) {
          EXPECT_TRUE(id.has_event_from(*guard));
          served += serve_squares(*server);
          return CallbackProgression::proceed;
        },
        1s);
    ASSERT_TRUE(result);
  }
  EXPECT_EQ(served, 4);
  for (std::uint64_t c = 0; c < 4; ++c) {
    auto response = pendings[c].timed_receive(1s);
    ASSERT_TRUE(response && *response);
    EXPECT_EQ(**response, c * c);
  }
}

TEST_F(RequestResponse, DiscoveryShowsOneRequestResponseService) {
  auto service = square();
  ASSERT_TRUE(service);
  auto server = service->server_builder().create();
  auto client = service->client_builder().create();
  ASSERT_TRUE(server && client);
  auto services = list_services(prefix());
  ASSERT_TRUE(services);
  ASSERT_EQ(services->size(), 1u);
  const ServiceInfo& info = services->front();
  EXPECT_EQ(info.name, "calc/square");
  EXPECT_TRUE(info.is_request_response);
  EXPECT_EQ(info.type_name, "u64");
  EXPECT_EQ(info.response_type_name, "u64");
  EXPECT_EQ(info.publishers.size(), 1u);   // clients
  EXPECT_EQ(info.subscribers.size(), 1u);  // servers
  auto one = service_info("calc/square", prefix());
  ASSERT_TRUE(one) << one.error().message;
  EXPECT_TRUE(one->is_request_response);
  EXPECT_FALSE(one->response_segment.empty());
}

// The server and the clients in separate processes. Every wait is bounded; the waits sleep (no
// spinning).
using RequestResponseAcrossProcesses = RequestResponse;

TEST_F(RequestResponseAcrossProcesses, EveryAnswerReachesTheClientThatAsked) {
  Child server({"rr-server", prefix(), "calc/square", "200"});
  ASSERT_EQ(server.read_line(), "serving");
  auto service = square();
  ASSERT_TRUE(service) << service.error().message;
  auto first = service->client_builder().create();
  auto second = service->client_builder().create();
  ASSERT_TRUE(first && second);
  ASSERT_TRUE(first->wait_for_server(10s));
  ASSERT_TRUE(second->wait_for_server(10s));
  for (std::uint64_t i = 0; i < 100; ++i) {
    // Two requests in flight at once, from two clients; each gets its own square back.
    auto a = first->send_copy(i);
    auto b = second->send_copy(i + 1000);
    ASSERT_TRUE(a && b);
    auto ra = a->timed_receive(10s);
    auto rb = b->timed_receive(10s);
    ASSERT_TRUE(ra && *ra) << "request " << i;
    ASSERT_TRUE(rb && *rb) << "request " << i;
    EXPECT_EQ(**ra, i * i);
    EXPECT_EQ(**rb, (i + 1000) * (i + 1000));
  }
  EXPECT_EQ(server.read_line(), "served 200");
  EXPECT_EQ(first->stale_responses() + second->stale_responses(), 0u);
  server.send("quit");
  EXPECT_EQ(server.wait_exit(), 0);
}

TEST_F(RequestResponseAcrossProcesses, AClientFindsAKilledServerGone) {
  Child server({"rr-server", prefix(), "calc/square", "1"});
  ASSERT_EQ(server.read_line(), "serving");
  auto service = square();
  ASSERT_TRUE(service);
  auto client = service->client_builder().create();
  ASSERT_TRUE(client && client->wait_for_server(10s));
  auto answered = client->send_copy(3);
  ASSERT_TRUE(answered);
  auto response = answered->timed_receive(10s);
  ASSERT_TRUE(response && *response);
  EXPECT_EQ(**response, 9u);
  ASSERT_EQ(server.read_line(), "served 1");
  server.kill_and_reap();
  // The dead server's slot is still taken, so the request goes into its queue; the wait's end
  // finds the process gone.
  auto pending = client->send_copy(4);
  ASSERT_TRUE(pending);
  auto none = pending->timed_receive(20ms);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error(), ResponseReceiveError::server_gone);
  EXPECT_EQ(service->server_count(), 0u);
  auto after = client->send_copy(5);
  ASSERT_FALSE(after);
  EXPECT_EQ(after.error(), RequestSendError::no_server);
}

TEST_F(RequestResponseAcrossProcesses, AServerCleansUpAKilledClient) {
  auto service = square();
  ASSERT_TRUE(service);
  auto server = service->server_builder().create();
  ASSERT_TRUE(server);
  Child client({"rr-client", prefix(), "calc/square", "2"});
  ASSERT_EQ(client.read_line(), "sent");
  std::vector<ActiveRequest<std::uint64_t, std::uint64_t>> requests;
  for (int i = 0; i < 2; ++i) {
    auto request = server->receive();
    ASSERT_TRUE(request && *request);
    requests.push_back(std::move(*request));
  }
  client.kill_and_reap();
  EXPECT_GE(server->cleanup_dead_nodes(), 1u);
  EXPECT_EQ(service->client_count(), 0u);
  auto sent = requests[0].respond_copy(1);
  ASSERT_FALSE(sent);
  EXPECT_EQ(sent.error(), RespondError::client_gone);
  requests.clear();  // the dead client's chunks: released, its segment gone with the service
}

}  // namespace
}  // namespace zerocopy::testing

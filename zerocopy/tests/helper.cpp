// The other process of the multi-process tests. Usage: zerocopy_test_helper MODE PREFIX SERVICE
// [N]. It talks to the test over stdin/stdout, one line at a time, and never waits unboundedly
// except where the test is going to SIGKILL it.
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "zerocopy/zerocopy.hpp"

namespace {

using namespace std::chrono_literals;

void say(const std::string& line) {
  std::fputs((line + "\n").c_str(), stdout);
  std::fflush(stdout);
}

std::string hear() {
  std::string line;
  if (!std::getline(std::cin, line)) return "eof";
  return line;
}

[[noreturn]] void sleep_until_killed() {
  for (int i = 0; i < 600; ++i)
    std::this_thread::sleep_for(100ms);
  std::_Exit(3);
}

struct Stream {
  std::uint64_t words[8];
};

struct Meta {  // the user header of metadata_test.cpp
  std::uint32_t index;
  std::uint32_t tag;
};

}  // namespace

template <>
struct zerocopy::TypeName<Meta> {
  static constexpr std::string_view value = "Meta";
};

int main(int argc, char** argv) {
  if (argc < 4) return 2;
  std::string mode = argv[1];
  zerocopy::NodeConfig config;
  config.prefix = argv[2];
  std::string service_name = argv[3];
  std::uint64_t n = argc > 4 ? std::strtoull(argv[4], nullptr, 10) : 0;
  auto node = zerocopy::Node::create(config);
  if (!node) return 2;

  if (mode == "race-create" || mode == "race-open-or-create") {
    say("waiting");
    if (hear() != "go") return 2;
    auto builder = node->service_builder(service_name).publish_subscribe<std::uint64_t>();
    auto service = mode == "race-create" ? builder.create() : builder.open_or_create();
    if (service) {
      say(mode == "race-create" ? "created" : "ok");
    } else {
      say(std::string(zerocopy::to_string(service.error().code)) + " " + service.error().message);
    }
    hear();  // "quit" (or eof)
    return 0;
  }

  if (mode == "open-u32") {
    auto service = node->service_builder(service_name).publish_subscribe<std::uint32_t>().open();
    if (service) {
      say("opened");
    } else {
      say(std::string(zerocopy::to_string(service.error().code)) + " " + service.error().message);
    }
    return 0;
  }

  // Request-response modes: SERVICE squares u64s.
  auto rr_service = [&] {
    return node->service_builder(service_name)
        .request_response<std::uint64_t, std::uint64_t>()
        .open_or_create();
  };
  if (mode == "rr-server") {  // answers n requests with their squares, then holds on until killed
    auto service = rr_service();
    if (!service) return 2;
    auto server = service->server_builder().create();
    if (!server) return 2;
    say("serving");
    std::uint64_t served = 0;
    auto deadline = std::chrono::steady_clock::now() + 20s;
    while (served < n && std::chrono::steady_clock::now() < deadline) {
      auto request = server->receive();
      if (!request) return 6;
      if (!*request) {
        server->wait(100ms);
        continue;
      }
      if (!request->respond_copy(**request * **request)) return 7;
      ++served;
    }
    say("served " + std::to_string(served));
    hear();  // "quit" (or eof), unless killed first
    return 0;
  }
  if (mode == "rr-client") {  // sends n requests (1..n) and holds them pending until killed
    auto service = rr_service();
    if (!service) return 2;
    auto client = service->client_builder().create();
    if (!client || !client->wait_for_server(10s)) return 2;
    std::vector<zerocopy::PendingResponse<std::uint64_t, std::uint64_t>> pending;
    for (std::uint64_t i = 1; i <= n; ++i) {
      auto sent = client->send_copy(i);
      if (!sent) return 3;
      pending.push_back(std::move(*sent));
    }
    say("sent");
    sleep_until_killed();
  }

  // WaitSet modes: a u64 service SERVICE (safe overflow, buffer 64) and an event service
  // SERVICE/events.
  auto ws_service = [&] {
    return node->service_builder(service_name)
        .publish_subscribe<std::uint64_t>()
        .subscriber_max_buffer_size(64)
        .open_or_create();
  };
  if (mode == "ws-publish") {  // "send K": K samples 0..K-1; "notify ID"; "quit"
    auto pubsub = ws_service();
    auto events = node->service_builder(service_name + "/events").event().open_or_create();
    if (!pubsub || !events) return 2;
    auto publisher = pubsub->publisher_builder().create();
    auto notifier = events->notifier_builder().create();
    if (!publisher || !notifier) return 2;
    say("ready");
    for (;;) {
      std::string line = hear();
      if (line.starts_with("send ")) {
        std::uint64_t count = std::strtoull(line.c_str() + 5, nullptr, 10);
        if (!publisher->wait_for_subscribers(1, 10s)) return 3;
        for (std::uint64_t i = 0; i < count; ++i) {
          if (!publisher->send_copy(i)) return 5;
        }
        say("sent");
      } else if (line.starts_with("notify ")) {
        if (!notifier->wait_for_listeners(1, 10s)) return 3;
        if (!notifier->notify(zerocopy::EventId{std::strtoull(line.c_str() + 7, nullptr, 10)})) {
          return 5;
        }
        say("notified");
      } else {
        return 0;
      }
    }
  }

  if (mode == "ws-receive") {  // a WaitSet on a subscriber: says "got N" once n samples came
    auto pubsub = ws_service();
    if (!pubsub) return 2;
    auto subscriber = pubsub->subscriber_builder().create();
    auto waitset = zerocopy::WaitSet::create();
    if (!subscriber || !waitset) return 2;
    auto guard = waitset->attach_notification(*subscriber);
    if (!guard) return 2;
    say("ready");
    std::uint64_t got = 0;
    while (got < n) {
      auto result = waitset->wait_and_process_once(
          [&](zerocopy::WaitSetAttachmentId id) {
            if (id.has_event_from(*guard)) {
              while (auto sample = subscriber->receive().value()) {
                if (*sample != got) return zerocopy::CallbackProgression::stop;
                ++got;
              }
            }
            return zerocopy::CallbackProgression::proceed;
          },
          20s);
      if (!result || *result != zerocopy::WaitSetRunResult::all_events_handled) break;
    }
    say("got " + std::to_string(got));
    hear();
    return 0;
  }

  if (mode == "ws-fd-and-die") {  // a subscriber with its notification FIFO, then killed
    auto pubsub = ws_service();
    if (!pubsub) return 2;
    auto subscriber = pubsub->subscriber_builder().create();
    if (!subscriber || !subscriber->notification_fd()) return 2;
    say("ready");
    sleep_until_killed();
  }

  if (mode == "ws-subscribe-on-go") {  // a subscriber once told "go"
    auto pubsub = ws_service();
    if (!pubsub) return 2;
    say("ready");
    if (hear() != "go") return 2;
    auto subscriber = pubsub->subscriber_builder().create();
    if (!subscriber) return 2;
    say("subscribed");
    hear();
    return 0;
  }

  if (mode == "meta-publish") {  // "send K": values 1..K with user header {i, 7}, timestamps
    auto meta = node->service_builder(service_name)
                    .publish_subscribe<std::uint64_t>()
                    .user_header<Meta>()
                    .open();
    if (!meta) {
      say("error " + meta.error().message);
      return 2;
    }
    auto publisher = meta->publisher_builder().timestamps(true).create();
    if (!publisher) return 2;
    say("ready");
    std::string line = hear();
    if (!line.starts_with("send ")) return 2;
    if (!publisher->wait_for_subscribers(1, 10s)) return 3;
    std::uint64_t count = std::strtoull(line.c_str() + 5, nullptr, 10);
    for (std::uint64_t i = 1; i <= count; ++i) {
      auto sample = publisher->loan_uninit();
      if (!sample) return 4;
      *sample->user_header_mut<Meta>() = Meta{static_cast<std::uint32_t>(i), 7};
      if (!std::move(*sample).write_payload(i).send()) return 5;
    }
    say("sent");
    hear();
    return 0;
  }

  // The streaming modes use the 64-byte Stream payload, backpressure, buffer 16.
  auto service = node->service_builder(service_name)
                     .publish_subscribe<Stream>()
                     .type_name("Stream")  // the tests' Stream is in another namespace
                     .subscriber_max_buffer_size(16)
                     .max_subscribers(4)
                     .overflow(zerocopy::Overflow::backpressure)
                     .open_or_create();
  if (!service) {
    say("error " + service.error().message);
    return 2;
  }

  if (mode == "publish") {  // waits for N subscribers... no: for one, then streams n samples
    auto publisher = service->publisher_builder()
                         .backpressure_wait(zerocopy::BackpressureWait::spin)
                         .backpressure_timeout(20s)
                         .create();
    if (!publisher) return 2;
    say("publishing");
    if (hear() != "go") return 2;
    publisher->update_connections();
    for (std::uint64_t i = 0; i < n; ++i) {
      auto sample = publisher->loan_uninit();
      if (!sample) return 4;
      for (auto& word : sample->payload_mut().words)
        word = i;
      auto sent = std::move(*sample).assume_init().send();
      if (!sent) return 5;
    }
    say("done");
    hear();
    return 0;
  }

  if (mode == "publish-one") {  // one sample to whoever is connected, then idles until "quit"
    auto publisher = service->publisher_builder().create();
    if (!publisher) return 2;
    say("publishing");
    if (hear() != "go") return 2;
    publisher->update_connections();
    auto sample = publisher->loan_uninit();
    if (!sample) return 4;
    for (auto& word : sample->payload_mut().words)
      word = 42;
    auto sent = std::move(*sample).assume_init().send();
    if (!sent) return 5;
    say("sent " + std::to_string(*sent));
    hear();
    return 0;
  }

  if (mode == "subscribe") {  // receives n samples in order, checks each
    auto subscriber = service->subscriber_builder().create();
    if (!subscriber) return 2;
    say("subscribed");
    std::uint64_t expected = 0;
    auto deadline = std::chrono::steady_clock::now() + 60s;
    while (expected < n && std::chrono::steady_clock::now() < deadline) {
      auto sample = subscriber->receive();
      if (!sample) return 6;
      if (!sample->has_value()) {
        subscriber->wait(10ms);
        continue;
      }
      for (auto word : sample->payload().words) {
        if (word != expected) {
          say("mismatch " + std::to_string(word) + " expected " + std::to_string(expected));
          return 7;
        }
      }
      ++expected;
    }
    say(expected == n ? "ok" : "timeout at " + std::to_string(expected));
    hear();
    return 0;
  }

  if (mode == "hold-loans") {  // sends 2 samples, then holds n loans until killed
    auto publisher =
        service->publisher_builder().max_loaned_samples(static_cast<std::uint32_t>(n)).create();
    if (!publisher) return 2;
    say("created");
    if (hear() != "go") return 2;
    publisher->update_connections();
    for (std::uint64_t i = 0; i < 2; ++i) {
      auto sample = publisher->loan_uninit();
      for (auto& word : sample->payload_mut().words)
        word = 100 + i;
      if (!std::move(*sample).assume_init().send()) return 5;
    }
    std::vector<zerocopy::SampleMutUninit<Stream>> loans;
    for (std::uint64_t i = 0; i < n; ++i) {
      auto loan = publisher->loan_uninit();
      if (!loan) return 4;
      loans.push_back(std::move(*loan));
    }
    say("ready");
    sleep_until_killed();
  }

  if (mode == "hold-samples") {  // receives n samples and holds them until killed
    auto subscriber = service->subscriber_builder().create();
    if (!subscriber) return 2;
    say("subscribed");
    std::vector<zerocopy::Sample<Stream>> held;
    auto deadline = std::chrono::steady_clock::now() + 20s;
    while (held.size() < n && std::chrono::steady_clock::now() < deadline) {
      auto sample = subscriber->receive();
      if (!sample) return 6;
      if (!sample->has_value()) {
        subscriber->wait(10ms);
        continue;
      }
      held.push_back(std::move(*sample));
    }
    say(held.size() == n ? "ready" : "timeout");
    sleep_until_killed();
  }

  if (mode == "create-and-die") {  // a publisher, then an abrupt end
    auto publisher = service->publisher_builder().create();
    if (!publisher) return 2;
    say("ready");
    sleep_until_killed();
  }
  return 2;
}

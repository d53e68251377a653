// The seeds' subscriber in C++: service "My/Funk/ServiceName", prints every std::size_t.
//
//   subscriber [COUNT]
//
// Stops after COUNT samples (0, empty or absent: at SIGINT/SIGTERM). Sleeps on a futex between
// samples (no spinning). ZEROCOPY_PREFIX, if set, replaces the shared-memory prefix (default
// "zc_").
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <optional>

#include "zerocopy/zerocopy.hpp"

int main(int argc, char** argv) {
  using namespace std::chrono_literals;
  std::optional<std::size_t> count;
  if (argc > 1 && std::strtoull(argv[1], nullptr, 10) > 0) {
    count = std::strtoull(argv[1], nullptr, 10);
  }

  zerocopy::install_termination_handler();
  zerocopy::NodeConfig config;
  if (const char* prefix = std::getenv("ZEROCOPY_PREFIX")) config.prefix = prefix;
  auto node = zerocopy::Node::create(config);
  if (!node) {
    std::fprintf(stderr, "node: %s\n", node.error().message.c_str());
    return 1;
  }
  auto service = node->service_builder("My/Funk/ServiceName")
                     .publish_subscribe<std::size_t>()
                     .open_or_create();
  if (!service) {
    std::fprintf(stderr, "service: %s\n", service.error().message.c_str());
    return 1;
  }
  auto subscriber = service->subscriber_builder().create();
  if (!subscriber) {
    std::fprintf(stderr, "subscriber: %s\n", subscriber.error().message.c_str());
    return 1;
  }

  std::size_t received = 0;
  while (!zerocopy::termination_requested() && (!count || received < *count)) {
    subscriber->wait(1s);  // returns early when a sample arrives or a signal interrupts it
    while (!count || received < *count) {
      auto sample = subscriber->receive();
      if (!sample) {
        std::fprintf(stderr, "receive: %s\n", zerocopy::to_string(sample.error()).data());
        return 1;
      }
      if (!sample->has_value()) break;
      std::printf("received: %zu\n", **sample);  // read in place from shared memory
      std::fflush(stdout);
      ++received;
    }  // each sample returns its chunk to the publisher when it goes out of scope
  }
  return 0;
}

// The seeds' publisher in C++: service "My/Funk/ServiceName", a std::size_t once a second.
//
//   publisher [COUNT [INTERVAL_MS]]
//
// Sends COUNT samples (0, empty or absent: until SIGINT/SIGTERM), one every INTERVAL_MS (default
// 1000). ZEROCOPY_PREFIX, if set, replaces the shared-memory prefix (default "zc_"). On exit
// everything it created in /dev/shm is gone.
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <optional>

#include "zerocopy/zerocopy.hpp"

int main(int argc, char** argv) {
  std::optional<std::size_t> count;
  if (argc > 1 && std::strtoull(argv[1], nullptr, 10) > 0) {
    count = std::strtoull(argv[1], nullptr, 10);
  }
  std::chrono::milliseconds cycle{argc > 2 ? std::strtoll(argv[2], nullptr, 10) : 1000};

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
  auto publisher = service->publisher_builder().create();
  if (!publisher) {
    std::fprintf(stderr, "publisher: %s\n", publisher.error().message.c_str());
    return 1;
  }

  std::size_t counter = 0;
  while (!count || counter < *count) {
    if (node->wait(cycle) == zerocopy::NodeEvent::termination_request) break;
    auto sample = publisher->loan_uninit();  // uninitialised memory in the shared pool
    if (!sample) {
      std::fprintf(stderr, "loan: %s\n", zerocopy::to_string(sample.error()).data());
      return 1;
    }
    auto reached = std::move(*sample).write_payload(counter).send();
    if (!reached) {
      std::fprintf(stderr, "send: %s\n", zerocopy::to_string(reached.error()).data());
      return 1;
    }
    std::printf("sent: %zu (to %zu subscribers)\n", counter, *reached);
    std::fflush(stdout);
    ++counter;
  }
  return 0;  // publisher, service and node go out of scope: their segments are removed
}

// Sends one sample to itself through an installed zerocopy; exits 0 when it arrives.
#include <unistd.h>

#include <cstdio>
#include <string>

#include <zerocopy/zerocopy.hpp>

int main() {
  zerocopy::NodeConfig config;
  config.prefix = "zc-install-" + std::to_string(::getpid()) + "-";
  auto node = zerocopy::Node::create(config).value();
  auto service = node.service_builder("install/check").publish_subscribe<int>().create().value();
  auto publisher = service.publisher_builder().create().value();
  auto subscriber = service.subscriber_builder().create().value();
  publisher.send_copy(42).value();
  auto sample = subscriber.receive().value();
  if (!sample || *sample != 42) return 1;
  std::printf("zerocopy %s: received %d\n", zerocopy::kVersionString, *sample);
  return 0;
}

// Compiled as C++20: the public headers must not need C++23. Instantiates the templates.
#include "zerocopy/zerocopy.hpp"

#include <cstdint>

namespace {
[[maybe_unused]] void instantiate(zerocopy::Node& node) {
  auto service = node.service_builder("a/b").publish_subscribe<std::uint64_t>().open_or_create();
  if (!service) return;
  auto publisher = service->publisher_builder().create();
  auto subscriber = service->subscriber_builder().create();
  if (!publisher || !subscriber) return;
  (void)publisher->send_copy(1);
  if (auto sample = subscriber->receive(); sample && *sample) (void)**sample;
  if (!publisher->check_integrity()) (void)publisher->corruption();
  if (!subscriber->check_integrity()) (void)subscriber->corruption();
  auto waitset = zerocopy::WaitSet::create();
  if (waitset) {
    auto guard = waitset->attach_notification(*subscriber);
    auto events = node.service_builder("e").event().open_or_create();
    if (events) {
      auto listener = events->listener_builder().create();
      auto notifier = events->notifier_builder().create();
      if (listener && notifier) {
        auto deadline = waitset->attach_deadline(*listener, std::chrono::seconds(1));
        (void)notifier->notify(zerocopy::EventId{1});
        (void)listener->try_wait_all([](zerocopy::EventId) {});
      }
    }
    (void)waitset->wait_and_process_once(
        [](zerocopy::WaitSetAttachmentId) { return zerocopy::CallbackProgression::stop; },
        std::chrono::seconds(0));
  }
  auto slices = node.service_builder("c").publish_subscribe<char[]>().open_or_create();
  if (!slices) return;
  auto slice_publisher = slices->publisher_builder().max_slice_len(8).prefault(true).create();
  if (slice_publisher) {
    if (auto s = slice_publisher->loan_slice(4)) (void)std::move(*s).send();
  }
}
}  // namespace

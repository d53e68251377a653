// Publish/subscribe semantics within one process: values and slices, pools, history, overflow
// policies, fan-out, service lookup and its errors, permissions, lifetimes.
#include <sys/stat.h>

#include <array>
#include <cstdint>
#include <string>

#include "test_util.hpp"

namespace zerocopy::testing {
namespace {

using namespace std::chrono_literals;

class PubSubTest : public ShmTest {};

template <class T>
std::optional<T> receive_value(Subscriber<T>& subscriber) {
  auto sample = subscriber.receive();
  EXPECT_TRUE(sample.has_value());
  if (!sample || !sample->has_value()) return std::nullopt;
  return **sample;
}

TEST_F(PubSubTest, SendsAndReceivesAValue) {
  auto service = node()
                     .service_builder("My/Funk/ServiceName")
                     .publish_subscribe<std::uint64_t>()
                     .open_or_create();
  ASSERT_TRUE(service) << service.error().message;
  auto publisher = service->publisher_builder().create();
  ASSERT_TRUE(publisher) << publisher.error().message;
  auto subscriber = service->subscriber_builder().create();
  ASSERT_TRUE(subscriber) << subscriber.error().message;

  auto sample = publisher->loan_uninit();
  ASSERT_TRUE(sample);
  auto sent = std::move(*sample).write_payload(1234).send();
  ASSERT_TRUE(sent);
  EXPECT_EQ(*sent, 1u);

  EXPECT_EQ(receive_value(*subscriber), 1234u);
  auto empty = subscriber->receive();
  ASSERT_TRUE(empty);
  EXPECT_FALSE(empty->has_value());
  EXPECT_EQ(publisher->chunks_in_use(), 0u);
}

TEST_F(PubSubTest, SendCopyWithNoSubscriberReachesNobody) {
  auto service = node().service_builder("a").publish_subscribe<std::uint32_t>().create();
  ASSERT_TRUE(service);
  auto publisher = service->publisher_builder().create();
  ASSERT_TRUE(publisher);
  auto sent = publisher->send_copy(7);
  ASSERT_TRUE(sent);
  EXPECT_EQ(*sent, 0u);
  EXPECT_EQ(publisher->chunks_in_use(), 0u);
}

TEST_F(PubSubTest, SlicesOfOneMebibyte) {
  constexpr std::size_t kSize = 1 << 20;
  auto service = node().service_builder("big").publish_subscribe<std::byte[]>().create();
  ASSERT_TRUE(service);
  auto publisher = service->publisher_builder().max_slice_len(kSize).create();
  ASSERT_TRUE(publisher) << publisher.error().message;
  auto subscriber = service->subscriber_builder().create();
  ASSERT_TRUE(subscriber);

  for (int round = 0; round < 10; ++round) {
    auto sample = publisher->loan_slice_uninit(kSize);
    ASSERT_TRUE(sample);
    auto payload = sample->payload_mut();
    ASSERT_EQ(payload.size(), kSize);
    payload.front() = std::byte(round);
    payload.back() = std::byte(round + 1);
    ASSERT_TRUE(std::move(*sample).assume_init().send());
    auto received = subscriber->receive();
    ASSERT_TRUE(received && received->has_value());
    auto view = received->payload();
    ASSERT_EQ(view.size(), kSize);
    EXPECT_EQ(view.front(), std::byte(round));
    EXPECT_EQ(view.back(), std::byte(round + 1));
  }
  auto too_big = publisher->loan_slice_uninit(kSize + 1);
  ASSERT_FALSE(too_big);
  EXPECT_EQ(too_big.error(), LoanError::exceeds_max_slice_len);

  // A shorter slice, shortened further before sending.
  auto sample = publisher->loan_slice(100);
  ASSERT_TRUE(sample);
  EXPECT_EQ(sample->payload_mut()[99], std::byte{0});
  EXPECT_TRUE(sample->set_len(10));
  EXPECT_FALSE(sample->set_len(11));
  ASSERT_TRUE(std::move(*sample).send());
  auto received = subscriber->receive();
  ASSERT_TRUE(received && received->has_value());
  EXPECT_EQ(received->len(), 10u);
}

TEST_F(PubSubTest, UnsentSampleReturnsToThePool) {
  auto service = node().service_builder("pool").publish_subscribe<std::uint64_t>().create();
  ASSERT_TRUE(service);
  auto publisher = service->publisher_builder().max_loaned_samples(2).create();
  ASSERT_TRUE(publisher);
  {
    auto first = publisher->loan_uninit();
    auto second = publisher->loan_uninit();
    ASSERT_TRUE(first && second);
    EXPECT_EQ(publisher->chunks_in_use(), 2u);
    auto third = publisher->loan_uninit();
    ASSERT_FALSE(third);
    EXPECT_EQ(third.error(), LoanError::exceeds_max_loans);
  }
  EXPECT_EQ(publisher->chunks_in_use(), 0u);
  EXPECT_TRUE(publisher->loan_uninit());
}

TEST_F(PubSubTest, SubscriberMaxBorrowedSamples) {
  auto service = node()
                     .service_builder("borrow")
                     .publish_subscribe<std::uint64_t>()
                     .subscriber_max_borrowed_samples(2)
                     .subscriber_max_buffer_size(4)
                     .create();
  ASSERT_TRUE(service);
  auto publisher = service->publisher_builder().create();
  auto subscriber = service->subscriber_builder().create();
  ASSERT_TRUE(publisher && subscriber);
  for (std::uint64_t i = 0; i < 3; ++i)
    ASSERT_TRUE(publisher->send_copy(i));
  auto a = subscriber->receive();
  auto b = subscriber->receive();
  ASSERT_TRUE(a && a->has_value() && b && b->has_value());
  auto c = subscriber->receive();
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error(), ReceiveError::exceeds_max_borrows);
  a->reset();
  EXPECT_EQ(receive_value(*subscriber), 2u);
}

TEST_F(PubSubTest, LateSubscriberGetsHistory) {
  auto service = node()
                     .service_builder("history")
                     .publish_subscribe<std::uint64_t>()
                     .history_size(3)
                     .subscriber_max_buffer_size(4)
                     .create();
  ASSERT_TRUE(service);
  auto publisher = service->publisher_builder().create();
  ASSERT_TRUE(publisher);
  for (std::uint64_t i = 0; i < 5; ++i)
    ASSERT_TRUE(publisher->send_copy(i));
  EXPECT_EQ(publisher->chunks_in_use(), 3u);  // the history holds the last three

  auto subscriber = service->subscriber_builder().create();
  ASSERT_TRUE(subscriber);
  EXPECT_EQ(publisher->update_connections(), 1u);  // delivers the history
  EXPECT_EQ(receive_value(*subscriber), 2u);
  EXPECT_EQ(receive_value(*subscriber), 3u);
  EXPECT_EQ(receive_value(*subscriber), 4u);
  EXPECT_FALSE(subscriber->receive()->has_value());
  ASSERT_TRUE(publisher->send_copy(5));
  EXPECT_EQ(receive_value(*subscriber), 5u);
}

TEST_F(PubSubTest, HistoryLargerThanBufferIsRefused) {
  auto service = node()
                     .service_builder("history/bad")
                     .publish_subscribe<std::uint64_t>()
                     .history_size(5)
                     .subscriber_max_buffer_size(2)
                     .create();
  ASSERT_FALSE(service);
  EXPECT_EQ(service.error().code, ServiceError::invalid_options);
}

TEST_F(PubSubTest, SafeOverflowReplacesTheOldest) {
  auto service = node()
                     .service_builder("overflow/safe")
                     .publish_subscribe<std::uint64_t>()
                     .subscriber_max_buffer_size(2)
                     .overflow(Overflow::safe_overflow)
                     .create();
  ASSERT_TRUE(service);
  auto publisher = service->publisher_builder().create();
  auto subscriber = service->subscriber_builder().create();
  ASSERT_TRUE(publisher && subscriber);
  for (std::uint64_t i = 1; i <= 5; ++i) {
    auto sent = publisher->send_copy(i);
    ASSERT_TRUE(sent);
    EXPECT_EQ(*sent, 1u);  // never waits, never fails
  }
  EXPECT_EQ(receive_value(*subscriber), 4u);
  EXPECT_EQ(receive_value(*subscriber), 5u);
  EXPECT_FALSE(subscriber->receive()->has_value());
  EXPECT_EQ(publisher->chunks_in_use(), 0u);
}

TEST_F(PubSubTest, BackpressureFailsAfterItsTimeoutAndDeliversNothing) {
  auto service = node()
                     .service_builder("overflow/backpressure")
                     .publish_subscribe<std::uint64_t>()
                     .subscriber_max_buffer_size(2)
                     .overflow(Overflow::backpressure)
                     .create();
  ASSERT_TRUE(service);
  for (auto wait : {BackpressureWait::spin, BackpressureWait::block}) {
    auto publisher =
        service->publisher_builder().backpressure_timeout(5ms).backpressure_wait(wait).create();
    auto subscriber = service->subscriber_builder().create();
    ASSERT_TRUE(publisher && subscriber);
    ASSERT_TRUE(publisher->send_copy(1));
    ASSERT_TRUE(publisher->send_copy(2));
    auto third = publisher->send_copy(3);
    ASSERT_FALSE(third);
    EXPECT_EQ(third.error(), SendError::timeout);
    EXPECT_EQ(receive_value(*subscriber), 1u);
    ASSERT_TRUE(publisher->send_copy(4));
    EXPECT_EQ(receive_value(*subscriber), 2u);
    EXPECT_EQ(receive_value(*subscriber), 4u);
    EXPECT_EQ(publisher->chunks_in_use(), 0u);
  }
}

TEST_F(PubSubTest, ASmallPayloadTravelsInlineAndItsChunkIsFreeAtOnce) {
  auto service = node()
                     .service_builder("inline")
                     .publish_subscribe<std::uint64_t>()
                     .max_subscribers(2)
                     .subscriber_max_buffer_size(2)
                     .subscriber_max_borrowed_samples(3)
                     .create();
  ASSERT_TRUE(service);
  auto publisher = service->publisher_builder().create();
  ASSERT_TRUE(publisher);
  auto first = service->subscriber_builder().create();
  auto second = service->subscriber_builder().create();
  ASSERT_TRUE(first && second);
  ASSERT_EQ(publisher->update_connections(), 2u);
  for (std::uint64_t v = 1; v <= 2; ++v)
    ASSERT_EQ(publisher->send_copy(v).value(), 2u);
  // Copied into both queues: no chunk stays in use.
  EXPECT_EQ(publisher->chunks_in_use(), 0u);
  auto a = first->receive();
  auto b = second->receive();
  ASSERT_TRUE(a && *a && b && *b);
  EXPECT_EQ(**a, 1u);
  EXPECT_EQ(**b, 1u);
  EXPECT_NE(&**a, &**b);  // each subscriber's own copy
  EXPECT_EQ(a->header().sequence, 1u);
  EXPECT_EQ(a->header().origin, publisher->id());
  EXPECT_EQ(a->header().publish_time_ns, 0);
  // Held samples keep their values while more arrive and are taken.
  ASSERT_EQ(publisher->send_copy(3).value(), 2u);
  auto a2 = first->receive();
  auto a3 = first->receive();
  ASSERT_TRUE(a2 && *a2 && a3 && *a3);
  EXPECT_EQ(**a, 1u);
  EXPECT_EQ(**a2, 2u);
  EXPECT_EQ(**a3, 3u);
  EXPECT_EQ(a3->header().sequence, 3u);
  // Safe overflow: the second subscriber's full queue loses its oldest, counted.
  a2->reset();
  ASSERT_EQ(publisher->send_copy(4).value(), 2u);
  ASSERT_EQ(publisher->send_copy(5).value(), 2u);
  EXPECT_EQ(second->lost_samples(), 2u);
  auto b4 = second->receive();
  ASSERT_TRUE(b4 && *b4);
  EXPECT_EQ(**b4, 4u);
  EXPECT_EQ(b4->header().sequence, 4u);
  EXPECT_EQ(publisher->chunks_in_use(), 0u);
}

TEST_F(PubSubTest, OnlySmallPayloadsWithoutHistoryOrHeadersTravelInline) {
  auto slices = node().service_builder("inline/slices").publish_subscribe<char[]>().create();
  ASSERT_TRUE(slices);
  auto subscriber = slices->subscriber_builder().create();
  ASSERT_TRUE(subscriber);
  // Up to 120 bytes: inline; beyond, chunks.
  for (std::size_t most : {std::size_t{120}, std::size_t{121}}) {
    auto publisher = slices->publisher_builder().max_slice_len(most).create();
    ASSERT_TRUE(publisher);
    ASSERT_EQ(publisher->update_connections(), 1u);
    auto sample = publisher->loan_slice_uninit(most);
    ASSERT_TRUE(sample);
    for (std::size_t i = 0; i < most; ++i)
      sample->payload_mut()[i] = static_cast<char>('a' + i % 26);
    ASSERT_EQ(std::move(*sample).assume_init().send().value(), 1u);
    EXPECT_EQ(publisher->chunks_in_use(), most <= 120 ? 0u : 1u) << most;
    auto received = subscriber->receive();
    ASSERT_TRUE(received && *received);
    ASSERT_EQ(received->len(), most);
    for (std::size_t i = 0; i < most; ++i)
      ASSERT_EQ(received->payload()[i], static_cast<char>('a' + i % 26)) << i;
  }
  // History keeps chunks for late subscribers: no inline.
  auto kept = node()
                  .service_builder("inline/history")
                  .publish_subscribe<std::uint64_t>()
                  .history_size(1)
                  .create();
  ASSERT_TRUE(kept);
  auto keeper = kept->publisher_builder().create();
  ASSERT_TRUE(keeper);
  ASSERT_TRUE(keeper->send_copy(5));
  EXPECT_EQ(keeper->chunks_in_use(), 1u);
  // Publish times live in the chunk's header: no inline.
  auto timed_service =
      node().service_builder("inline/timed").publish_subscribe<std::uint64_t>().create();
  ASSERT_TRUE(timed_service);
  auto timed = timed_service->publisher_builder().timestamps().create();
  auto reader = timed_service->subscriber_builder().create();
  ASSERT_TRUE(timed && reader);
  ASSERT_EQ(timed->send_copy(6).value(), 1u);
  EXPECT_EQ(timed->chunks_in_use(), 1u);
  auto stamped = reader->receive();
  ASSERT_TRUE(stamped && *stamped);
  EXPECT_GT(stamped->header().publish_time_ns, 0);
}

TEST_F(PubSubTest, FanOutToFourSubscribersCountsReferencesDownToZero) {
  auto service = node()
                     .service_builder("fanout")
                     .publish_subscribe<std::uint64_t>()
                     .max_subscribers(4)
                     .subscriber_max_buffer_size(4)
                     .create();
  ASSERT_TRUE(service);
  // Chunks, not inline payloads: this is about the chunk's references.
  auto publisher = service->publisher_builder().inline_payloads(false).create();
  ASSERT_TRUE(publisher);
  std::vector<Subscriber<std::uint64_t>> subscribers;
  for (int i = 0; i < 4; ++i) {
    auto subscriber = service->subscriber_builder().create();
    ASSERT_TRUE(subscriber);
    subscribers.push_back(std::move(*subscriber));
  }
  auto fifth = service->subscriber_builder().create();
  ASSERT_FALSE(fifth);
  EXPECT_EQ(fifth.error().code, SubscriberCreateError::exceeds_max_subscribers);

  auto sent = publisher->send_copy(99);
  ASSERT_TRUE(sent);
  EXPECT_EQ(*sent, 4u);
  EXPECT_EQ(publisher->chunks_in_use(), 1u);  // one chunk, four references

  std::vector<Sample<std::uint64_t>> held;
  for (auto& subscriber : subscribers) {
    auto sample = subscriber.receive();
    ASSERT_TRUE(sample && sample->has_value());
    EXPECT_EQ(**sample, 99u);
    held.push_back(std::move(*sample));
  }
  // All four read the same chunk in place.
  for (auto& sample : held)
    EXPECT_EQ(&*sample, &*held.front());
  while (held.size() > 1) {
    held.pop_back();
    EXPECT_EQ(publisher->chunks_in_use(), 1u);
  }
  held.clear();
  EXPECT_EQ(publisher->chunks_in_use(), 0u);
}

TEST_F(PubSubTest, SeveralPublishersOneSubscriber) {
  auto service = node().service_builder("many").publish_subscribe<std::uint64_t>().create();
  ASSERT_TRUE(service);
  auto first = service->publisher_builder().create();
  auto second = service->publisher_builder().create();
  ASSERT_TRUE(first && second);
  auto third = service->publisher_builder().create();
  ASSERT_FALSE(third);
  EXPECT_EQ(third.error().code, PublisherCreateError::exceeds_max_publishers);
  auto subscriber = service->subscriber_builder().create();
  ASSERT_TRUE(subscriber);
  ASSERT_TRUE(first->send_copy(1));
  ASSERT_TRUE(second->send_copy(2));
  std::uint64_t sum = 0;
  for (int i = 0; i < 2; ++i)
    sum += receive_value(*subscriber).value_or(100);
  EXPECT_EQ(sum, 3u);
  EXPECT_EQ(subscriber->update_connections(), 2u);
}

TEST_F(PubSubTest, QueuedSamplesSurviveTheirPublisher) {
  auto service = node()
                     .service_builder("survive")
                     .publish_subscribe<std::uint64_t>()
                     .subscriber_max_buffer_size(4)
                     .create();
  ASSERT_TRUE(service);
  auto subscriber = service->subscriber_builder().create();
  ASSERT_TRUE(subscriber);
  {
    auto publisher = service->publisher_builder().create();
    ASSERT_TRUE(publisher);
    // The subscriber must have seen the publisher (mapped its segment) before it leaves.
    EXPECT_EQ(subscriber->update_connections(), 1u);
    ASSERT_TRUE(publisher->send_copy(10));
    ASSERT_TRUE(publisher->send_copy(11));
  }
  EXPECT_EQ(service->publisher_count(), 0u);
  EXPECT_EQ(receive_value(*subscriber), 10u);
  EXPECT_EQ(receive_value(*subscriber), 11u);
  EXPECT_FALSE(subscriber->receive()->has_value());
  EXPECT_EQ(subscriber->update_connections(), 0u);
}

TEST_F(PubSubTest, SampleOutlivesItsSubscriberHandle) {
  auto service = node().service_builder("outlive").publish_subscribe<std::uint64_t>().create();
  ASSERT_TRUE(service);
  auto publisher = service->publisher_builder().create();
  ASSERT_TRUE(publisher);
  std::optional<Sample<std::uint64_t>> kept;
  {
    auto subscriber = service->subscriber_builder().create();
    ASSERT_TRUE(subscriber);
    ASSERT_TRUE(publisher->send_copy(5));
    auto sample = subscriber->receive();
    ASSERT_TRUE(sample && sample->has_value());
    kept.emplace(std::move(*sample));
  }
  EXPECT_EQ(**kept, 5u);
  EXPECT_EQ(service->subscriber_count(), 1u);  // kept alive by the sample
  kept.reset();
  EXPECT_EQ(service->subscriber_count(), 0u);
  EXPECT_EQ(publisher->chunks_in_use(), 0u);
}

TEST_F(PubSubTest, WaitTimesOutAndWakesForData) {
  auto service = node().service_builder("wait").publish_subscribe<std::uint64_t>().create();
  ASSERT_TRUE(service);
  auto subscriber = service->subscriber_builder().create();
  ASSERT_TRUE(subscriber);
  auto publisher = service->publisher_builder().create();
  ASSERT_TRUE(publisher);
  subscriber->update_connections();
  EXPECT_EQ(subscriber->wait(1ms), WaitResult::timeout);
  ASSERT_TRUE(publisher->send_copy(3));
  EXPECT_EQ(subscriber->wait(5s), WaitResult::data_available);
  EXPECT_EQ(receive_value(*subscriber), 3u);
}

struct Pose {
  double x;
  double y;
  std::uint32_t id;
};

TEST_F(PubSubTest, TypeMismatchNamesBothTypes) {
  auto service = node().service_builder("typed").publish_subscribe<std::uint64_t>().create();
  ASSERT_TRUE(service);
  auto other = node().service_builder("typed").publish_subscribe<std::uint32_t>().open();
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().code, ServiceError::incompatible_type);
  EXPECT_NE(other.error().message.find("'u64' (size 8, alignment 8)"), std::string::npos)
      << other.error().message;
  EXPECT_NE(other.error().message.find("'u32' (size 4, alignment 4)"), std::string::npos)
      << other.error().message;

  auto pose = node().service_builder("typed").publish_subscribe<Pose>().open_or_create();
  ASSERT_FALSE(pose);
  EXPECT_EQ(pose.error().code, ServiceError::incompatible_type);
  EXPECT_NE(pose.error().message.find("Pose"), std::string::npos) << pose.error().message;

  // Same name and size, slice versus single value.
  auto slice = node().service_builder("typed").publish_subscribe<std::uint64_t[]>().open();
  ASSERT_FALSE(slice);
  EXPECT_EQ(slice.error().code, ServiceError::incompatible_type);
  // An explicit type name that differs.
  auto renamed =
      node().service_builder("typed").publish_subscribe<std::uint64_t>().type_name("Id").open();
  ASSERT_FALSE(renamed);
  EXPECT_EQ(renamed.error().code, ServiceError::incompatible_type);
}

TEST_F(PubSubTest, ServiceNamesAreValidated) {
  for (std::string bad :
       {std::string(""), std::string("/a"), std::string("a/"), std::string("a//b"),
        std::string("a b"), std::string("a\nb"), std::string("ü"), std::string(256, 'x')}) {
    auto service = node().service_builder(bad).publish_subscribe<std::uint64_t>().open_or_create();
    ASSERT_FALSE(service) << bad;
    EXPECT_EQ(service.error().code, ServiceError::invalid_name) << bad;
  }
  EXPECT_TRUE(is_valid_service_name("My/Funk/ServiceName"));
  EXPECT_TRUE(is_valid_service_name(std::string(255, 'x')));
  EXPECT_FALSE(is_valid_prefix("a/b"));
  NodeConfig config;
  config.prefix = "bad/prefix";
  auto bad_node = Node::create(config);
  ASSERT_FALSE(bad_node);
  EXPECT_EQ(bad_node.error().code, NodeError::invalid_prefix);
}

TEST_F(PubSubTest, OpenCreateAndTheirErrors) {
  auto missing = node().service_builder("x/y").publish_subscribe<std::uint64_t>().open();
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ServiceError::does_not_exist);

  auto created = node().service_builder("x/y").publish_subscribe<std::uint64_t>().create();
  ASSERT_TRUE(created);
  auto again = node().service_builder("x/y").publish_subscribe<std::uint64_t>().create();
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ServiceError::already_exists);

  auto opened = node().service_builder("x/y").publish_subscribe<std::uint64_t>().open();
  ASSERT_TRUE(opened);
  EXPECT_EQ(opened->options().subscriber_max_buffer_size, 2u);

  auto demanding =
      node().service_builder("x/y").publish_subscribe<std::uint64_t>().history_size(1).open();
  ASSERT_FALSE(demanding);
  EXPECT_EQ(demanding.error().code, ServiceError::incompatible_options);
  auto other_policy = node()
                          .service_builder("x/y")
                          .publish_subscribe<std::uint64_t>()
                          .overflow(Overflow::backpressure)
                          .open();
  ASSERT_FALSE(other_policy);
  EXPECT_EQ(other_policy.error().code, ServiceError::incompatible_options);
  auto modest =
      node().service_builder("x/y").publish_subscribe<std::uint64_t>().max_subscribers(2).open();
  EXPECT_TRUE(modest);
}

TEST_F(PubSubTest, SegmentsAreOwnerOnlyAndGoAwayWithTheirOwners) {
  mode_t old_mask = ::umask(0);  // the library must not depend on the umask
  {
    auto service = node().service_builder("perm").publish_subscribe<std::uint64_t>().create();
    ASSERT_TRUE(service);
    auto publisher = service->publisher_builder().create();
    ASSERT_TRUE(publisher);
    auto names = shm_names(prefix());
    EXPECT_EQ(names.size(), 2u);  // the service and the publisher's segment
    for (const auto& name : names) {
      struct stat info {};
      ASSERT_EQ(::stat(("/dev/shm/" + name).c_str(), &info), 0);
      EXPECT_EQ(info.st_mode & 0777, 0600u) << name;
    }
  }
  ::umask(old_mask);
  EXPECT_TRUE(shm_names(prefix()).empty());
}

TEST_F(PubSubTest, ServiceStaysWhileAnyHandleOrPortLives) {
  std::optional<Publisher<std::uint64_t>> publisher;
  {
    auto service = node().service_builder("life").publish_subscribe<std::uint64_t>().create();
    ASSERT_TRUE(service);
    auto created = service->publisher_builder().create();
    ASSERT_TRUE(created);
    publisher.emplace(std::move(*created));
  }
  EXPECT_EQ(shm_names(prefix()).size(), 2u);
  auto reopened = node().service_builder("life").publish_subscribe<std::uint64_t>().open();
  ASSERT_TRUE(reopened);
  EXPECT_EQ(reopened->publisher_count(), 1u);
  publisher.reset();
  EXPECT_EQ(shm_names(prefix()).size(), 1u);
}

}  // namespace
}  // namespace zerocopy::testing

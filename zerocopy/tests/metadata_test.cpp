// Per-sample metadata: origin, sequence number, publish time, lost samples, user headers; in one
// process and across two.
#include <cstdint>

#include "test_util.hpp"

namespace zerocopy::testing {
namespace {

using namespace std::chrono_literals;

struct Meta {
  std::uint32_t index;
  std::uint32_t tag;
};

}  // namespace
}  // namespace zerocopy::testing

// The same name in the helper process (the compiler's spelling differs between the two files).
template <>
struct zerocopy::TypeName<zerocopy::testing::Meta> {
  static constexpr std::string_view value = "Meta";
};

namespace zerocopy::testing {
namespace {

class Metadata : public ShmTest {};

TEST_F(Metadata, OriginSequenceAndPublishTime) {
  auto service = node()
                     .service_builder("meta")
                     .publish_subscribe<std::uint64_t>()
                     .subscriber_max_buffer_size(8)
                     .max_publishers(2)
                     .open_or_create()
                     .value();
  auto stamped = service.publisher_builder().timestamps(true).create().value();
  auto plain = service.publisher_builder().create().value();
  EXPECT_NE(stamped.id(), plain.id());
  auto subscriber = service.subscriber_builder().create().value();
  const std::int64_t before = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                  std::chrono::steady_clock::now().time_since_epoch())
                                  .count();
  for (std::uint64_t i = 0; i < 3; ++i) {
    ASSERT_EQ(stamped.send_copy(i).value(), 1u);
    ASSERT_EQ(plain.send_copy(100 + i).value(), 1u);
  }
  std::uint64_t stamped_next = 1;
  std::uint64_t plain_next = 1;
  for (int k = 0; k < 6; ++k) {
    auto sample = subscriber.receive().value();
    ASSERT_TRUE(sample);
    SampleHeader header = sample.header();
    if (*sample < 100) {
      EXPECT_EQ(header.origin, stamped.id());
      EXPECT_EQ(header.sequence, stamped_next++);
      EXPECT_GE(header.publish_time_ns, before);
    } else {
      EXPECT_EQ(header.origin, plain.id());
      EXPECT_EQ(header.sequence, plain_next++);
      EXPECT_EQ(header.publish_time_ns, 0);
    }
  }
  EXPECT_EQ(stamped_next, 4u);
  EXPECT_EQ(plain_next, 4u);
  EXPECT_EQ(subscriber.lost_samples(), 0u);
}

TEST_F(Metadata, SafeOverflowCountsLostSamples) {
  auto service = node()
                     .service_builder("meta/lost")
                     .publish_subscribe<std::uint64_t>()
                     .subscriber_max_buffer_size(2)
                     .open_or_create()
                     .value();
  auto publisher = service.publisher_builder().create().value();
  auto subscriber = service.subscriber_builder().create().value();
  for (std::uint64_t i = 1; i <= 5; ++i)
    ASSERT_EQ(publisher.send_copy(i).value(), 1u);
  EXPECT_EQ(subscriber.lost_samples(), 3u);
  for (std::uint64_t expected : {4u, 5u}) {
    auto sample = subscriber.receive().value();
    ASSERT_TRUE(sample);
    EXPECT_EQ(*sample, expected);
    EXPECT_EQ(sample.header().sequence, expected);  // the gap shows the loss too
  }
  EXPECT_EQ(subscriber.lost_samples(), 3u);
  // A publisher that leaves keeps its count in the subscriber's total.
  publisher = service.publisher_builder().create().value();
  EXPECT_EQ(subscriber.update_connections(), 1u);
  EXPECT_EQ(subscriber.lost_samples(), 3u);
}

TEST_F(Metadata, UserHeaderTravelsWithTheSample) {
  auto service = node()
                     .service_builder("meta/header")
                     .publish_subscribe<std::uint64_t[]>()
                     .user_header<Meta>()
                     .open_or_create()
                     .value();
  auto publisher = service.publisher_builder().max_slice_len(4).create().value();
  auto subscriber = service.subscriber_builder().create().value();
  auto loan = publisher.loan_slice_uninit(2).value();
  EXPECT_EQ(loan.user_header_mut<std::uint64_t>(), nullptr);  // not the service's header
  Meta* meta = loan.user_header_mut<Meta>();
  ASSERT_NE(meta, nullptr);
  *meta = Meta{7, 42};
  auto ready = std::move(loan).write_from_slice(std::vector<std::uint64_t>{1, 2});
  ready.user_header_mut<Meta>()->tag = 43;
  ASSERT_EQ(std::move(ready).send().value(), 1u);
  auto sample = subscriber.receive().value();
  ASSERT_TRUE(sample);
  const Meta* received = sample.user_header<Meta>();
  ASSERT_NE(received, nullptr);
  EXPECT_EQ(received->index, 7u);
  EXPECT_EQ(received->tag, 43u);
  EXPECT_EQ(sample.payload().size(), 2u);
  EXPECT_EQ(sample.user_header<std::uint32_t>(), nullptr);

  // The user header is part of the service's type.
  auto without = node().service_builder("meta/header").publish_subscribe<std::uint64_t[]>().open();
  ASSERT_FALSE(without.has_value());
  EXPECT_EQ(without.error().code, ServiceError::incompatible_type);
  EXPECT_NE(without.error().message.find("no user header"), std::string::npos)
      << without.error().message;
}

TEST_F(Metadata, NoUserHeaderMeansNullptr) {
  auto service = node()
                     .service_builder("meta/none")
                     .publish_subscribe<std::uint64_t>()
                     .open_or_create()
                     .value();
  auto publisher = service.publisher_builder().create().value();
  auto loan = publisher.loan().value();
  EXPECT_EQ(loan.user_header_mut<Meta>(), nullptr);
}

class MultiProcessMetadata : public Metadata {};

TEST_F(MultiProcessMetadata, HeadersAndLossesAcrossProcesses) {
  auto service = node()
                     .service_builder("meta")
                     .publish_subscribe<std::uint64_t>()
                     .user_header<Meta>()
                     .subscriber_max_buffer_size(4)
                     .open_or_create()
                     .value();
  auto subscriber = service.subscriber_builder().create().value();
  Child child({"meta-publish", prefix(), "meta"});
  ASSERT_EQ(child.read_line(), "ready");
  child.send("send 10");
  ASSERT_EQ(child.read_line(), "sent");
  EXPECT_EQ(subscriber.lost_samples(), 6u);
  for (std::uint64_t expected = 7; expected <= 10; ++expected) {
    auto sample = subscriber.receive().value();
    ASSERT_TRUE(sample);
    EXPECT_EQ(*sample, expected);
    SampleHeader header = sample.header();
    EXPECT_EQ(header.sequence, expected);
    EXPECT_GT(header.publish_time_ns, 0);
    EXPECT_EQ(header.origin.generation, 1u);
    ASSERT_NE(sample.user_header<Meta>(), nullptr);
    EXPECT_EQ(sample.user_header<Meta>()->index, expected);
    EXPECT_EQ(sample.user_header<Meta>()->tag, 7u);
  }
  child.send("quit");
  EXPECT_EQ(child.wait_exit(), 0);
}

}  // namespace
}  // namespace zerocopy::testing

// Building blocks on their own: Expected, names, the index queue, layout validation, and the
// subscriber's reader against segments that lie.
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "internal.hpp"
#include "layout.hpp"
#include "spsc_index_queue.hpp"
#include "test_util.hpp"

namespace zerocopy::testing {
namespace {

using detail::IndexQueue;
using detail::QueueEntry;

TEST(ExpectedDeathTest, ValueOnAnErrorNamesTheErrorAndItsMessage) {
  Expected<int, Error<ServiceError>> set_up =
      unexpected(Error<ServiceError>{ServiceError::incompatible_type, "service 'x' carries 'u64'"});
  EXPECT_DEATH((void)set_up.value(),
               "value\\(\\) called on an error: incompatible_type: service 'x' carries 'u64'");
  Expected<int, ReceiveError> hot = unexpected(ReceiveError::corrupted);
  EXPECT_DEATH((void)hot.value(), "called on an error: corrupted");
  Expected<void, SendError> nothing = unexpected(SendError::timeout);
  EXPECT_DEATH(nothing.value(), "called on an error: timeout");
}

TEST(Expected, HoldsAValueOrAnError) {
  Expected<int, LoanError> value = 3;
  ASSERT_TRUE(value);
  EXPECT_EQ(*value, 3);
  Expected<int, LoanError> error = unexpected(LoanError::out_of_chunks);
  ASSERT_FALSE(error);
  EXPECT_EQ(error.error(), LoanError::out_of_chunks);
  Expected<std::string, int> moved = std::string("abc");
  Expected<std::string, int> copy = moved;
  EXPECT_EQ(*copy, "abc");
  copy = unexpected(5);
  EXPECT_EQ(copy.error(), 5);
  Expected<void, int> nothing;
  EXPECT_TRUE(nothing);
  Expected<void, int> failed = unexpected(2);
  EXPECT_EQ(failed.error(), 2);
}

TEST(Version, HeaderAndLayout) {
  EXPECT_STREQ(kVersionString, "0.3.0");
  EXPECT_EQ(kVersionMajor, 0);
  EXPECT_EQ(kVersionMinor, 3);
  EXPECT_EQ(kLayoutVersion, 4u);
  EXPECT_EQ(std::to_string(kVersionMajor) + "." + std::to_string(kVersionMinor) + "." +
                std::to_string(kVersionPatch),
            kVersionString);
}

TEST(Errors, HaveNames) {
  EXPECT_EQ(to_string(ServiceError::incompatible_type), "incompatible_type");
  EXPECT_EQ(to_string(SendError::timeout), "timeout");
  EXPECT_EQ(to_string(ReceiveError::corrupted), "corrupted");
  EXPECT_EQ(to_string(WaitResult::data_available), "data_available");
}

TEST(Names, SegmentNamesRoundTrip) {
  std::string service = detail::service_segment_name("pfx-", 0x1234abcdULL);
  EXPECT_EQ(service, "pfx-s_000000001234abcd");
  EXPECT_EQ(detail::parse_service_segment_name("pfx-", service), 0x1234abcdULL);
  std::string publisher = detail::publisher_segment_name("pfx-", 0xfeedULL, 3, 0x2a);
  auto parsed = detail::parse_publisher_segment_name("pfx-", publisher);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->hash, 0xfeedULL);
  EXPECT_EQ(parsed->slot, 3u);
  EXPECT_EQ(parsed->generation, 0x2au);
  EXPECT_FALSE(detail::parse_publisher_segment_name("pfx-", "pfx-p_zz"));
  EXPECT_FALSE(detail::parse_service_segment_name("other-", service));
}

// A queue over plain memory.
struct QueueMemory {
  explicit QueueMemory(std::uint32_t capacity)
      : slots(new std::atomic<std::uint64_t>[capacity] {}), queue(&head, slots.get(), capacity) {}
  std::atomic<std::uint64_t> head{0};
  std::unique_ptr<std::atomic<std::uint64_t>[]> slots;
  IndexQueue queue;
};

TEST(IndexQueue, FifoWithCapacity) {
  QueueMemory memory(4);
  IndexQueue& queue = memory.queue;
  std::uint64_t tail = 0;
  std::uint64_t head_cache = 0;
  EXPECT_TRUE(queue.empty());
  EXPECT_FALSE(queue.pop());
  for (std::uint32_t lap = 0; lap < 100; ++lap) {
    for (std::uint32_t i = 0; i < 4; ++i) {
      ASSERT_TRUE(queue.try_push(tail, head_cache, QueueEntry{lap * 4 + i, i}));
    }
    EXPECT_FALSE(queue.try_push(tail, head_cache, QueueEntry{0, 0}));
    for (std::uint32_t i = 0; i < 4; ++i) {
      auto entry = lap % 2 ? queue.pop() : queue.pop_contended();
      ASSERT_TRUE(entry);
      EXPECT_EQ(entry->index, (lap * 4 + i) & 0xffff);
      EXPECT_EQ(entry->size, i);
    }
    EXPECT_FALSE(queue.pop());
  }
}

TEST(IndexQueue, StealTakesTheOldestWhenFull) {
  QueueMemory memory(2);
  IndexQueue& queue = memory.queue;
  std::uint64_t tail = 0;
  std::uint64_t head_cache = 0;
  EXPECT_FALSE(queue.steal_oldest(tail));  // not full
  queue.push(tail, {1, 0});
  queue.push(tail, {2, 0});
  ASSERT_TRUE(queue.full(tail, head_cache));
  auto stolen = queue.steal_oldest(tail);
  ASSERT_TRUE(stolen);
  EXPECT_EQ(stolen->index, 1u);
  ASSERT_FALSE(queue.full(tail, head_cache));
  queue.push(tail, {3, 0});
  EXPECT_EQ(queue.pop_contended()->index, 2u);
  EXPECT_EQ(queue.pop_contended()->index, 3u);
  EXPECT_FALSE(queue.pop_contended());
}

TEST(IndexQueue, StaleEntriesReadAsEmpty) {
  QueueMemory memory(2);
  IndexQueue& queue = memory.queue;
  std::uint64_t tail = 0;
  queue.push(tail, {1, 0});
  EXPECT_EQ(queue.pop()->index, 1u);
  // Slot 0 still holds lap 0's entry; at position 2 (lap 1) it must read as empty.
  queue.push(tail, {2, 0});
  EXPECT_EQ(queue.pop()->index, 2u);
  EXPECT_TRUE(queue.empty());
  EXPECT_FALSE(queue.pop());
}

// A publisher segment built in ordinary memory, for the reader's validation tests.
struct FakeSegment {
  explicit FakeSegment(std::uint32_t chunks = 4, std::uint32_t inline_bytes = 0) {
    detail::PublisherParams params{};
    params.inline_bytes = inline_bytes;
    params.service_hash = 1;
    params.generation = 1;
    params.num_channels = 2;
    params.num_chunks = chunks;
    params.buffer_size = 4;
    params.max_payload_bytes = 64;
    params.payload_alignment = 8;
    config = *detail::publisher_layout(params);
    size = config.total_size;
    memory = static_cast<std::byte*>(std::aligned_alloc(4096, size));
    std::memset(memory, 0, size);
    auto* header = reinterpret_cast<detail::PublisherHeader*>(memory);
    header->config = config;
    header->state.store(detail::kStateReady);
  }
  ~FakeSegment() { std::free(memory); }
  detail::PublisherHeader* header() { return reinterpret_cast<detail::PublisherHeader*>(memory); }
  std::atomic<std::uint64_t>* submission_slot(std::uint32_t channel, std::uint32_t i) {
    return reinterpret_cast<std::atomic<std::uint64_t>*>(memory + config.channels_offset +
                                                         channel * config.channel_stride +
                                                         detail::submission_slots_offset()) +
           i * detail::submission_slot_bytes(config.inline_bytes) / 8;
  }

  detail::PublisherConfig config{};
  std::size_t size = 0;
  std::byte* memory = nullptr;
};

TEST(Reader, AcceptsAConsistentSegmentAndReadsInPlace) {
  FakeSegment segment;
  auto link = detail::SubscriberConnection::attach(segment.memory, segment.size, 1, nullptr);
  ASSERT_TRUE(link);
  segment.submission_slot(1, 0)->store(IndexQueue::encode(0, 2, QueueEntry{3, 64}));
  auto received = link->receive();
  ASSERT_TRUE(received && received->has_value());
  EXPECT_EQ((*received)->payload,
            segment.memory + segment.config.chunks_offset + 3 * segment.config.chunk_stride);
  EXPECT_EQ((*received)->bytes, 64u);
}

TEST(Reader, RefusesTamperedHeaders) {
  std::string why;
  {
    FakeSegment segment;
    segment.header()->config.chunks_offset += 4096;
    EXPECT_FALSE(detail::SubscriberConnection::attach(segment.memory, segment.size, 0, &why));
    EXPECT_FALSE(why.empty());
  }
  {
    FakeSegment segment;
    segment.header()->config.num_chunks = 60000;  // chunks beyond the segment's end
    EXPECT_FALSE(detail::SubscriberConnection::attach(segment.memory, segment.size, 0, &why));
  }
  {
    FakeSegment segment;
    EXPECT_FALSE(
        detail::SubscriberConnection::attach(segment.memory, segment.size - 4096, 0, &why));
    EXPECT_EQ(why, "segment is truncated");
  }
  {
    FakeSegment segment;
    EXPECT_FALSE(detail::SubscriberConnection::attach(segment.memory, segment.size, 2, &why));
  }
  {
    FakeSegment segment;
    segment.header()->config.magic ^= 1;
    EXPECT_FALSE(detail::SubscriberConnection::attach(segment.memory, segment.size, 0, &why));
  }
  {
    FakeSegment segment;
    segment.header()->state.store(0);
    EXPECT_FALSE(detail::SubscriberConnection::attach(segment.memory, segment.size, 0, &why));
  }
}

TEST(Reader, RefusesEntriesOutsideThePool) {
  FakeSegment segment;
  auto link = detail::SubscriberConnection::attach(segment.memory, segment.size, 0, nullptr);
  ASSERT_TRUE(link);
  segment.submission_slot(0, 0)->store(IndexQueue::encode(0, 2, QueueEntry{4, 8}));  // index
  auto bad_index = link->receive();
  ASSERT_FALSE(bad_index);
  EXPECT_EQ(bad_index.error(), ReceiveError::corrupted);
  segment.submission_slot(0, 1)->store(IndexQueue::encode(1, 2, QueueEntry{0, 65}));  // size
  auto bad_size = link->receive();
  ASSERT_FALSE(bad_size);
  EXPECT_EQ(bad_size.error(), ReceiveError::corrupted);
}

TEST(Reader, TakesAnInlinePayloadAndRefusesOneLargerThanItsSlot) {
  FakeSegment segment(4, detail::kInlineBytes);
  auto link = detail::SubscriberConnection::attach(segment.memory, segment.size, 0, nullptr);
  ASSERT_TRUE(link);
  // Entry 0: 16 inline bytes after the entry word.
  segment.submission_slot(0, 0)[1].store(0x0102030405060708);
  segment.submission_slot(0, 0)[2].store(0x1112131415161718);
  segment.submission_slot(0, 0)->store(
      IndexQueue::encode(0, 2, QueueEntry{detail::kInlineIndex, 16}));
  std::uint64_t copy[detail::kInlineBytes / 8] = {};
  auto taken = link->receive(copy);
  ASSERT_TRUE(taken && *taken);
  EXPECT_EQ((*taken)->payload, copy);
  EXPECT_EQ((*taken)->bytes, 16u);
  EXPECT_EQ(copy[0], 0x0102030405060708u);
  EXPECT_EQ(copy[1], 0x1112131415161718u);
  // Entry 1: more than the publisher's largest payload (64): refused, and nothing beyond the
  // slot's room copied.
  segment.submission_slot(0, 1)->store(
      IndexQueue::encode(1, 2, QueueEntry{detail::kInlineIndex, 200}));
  auto too_large = link->receive(copy);
  ASSERT_FALSE(too_large);
  EXPECT_EQ(too_large.error(), ReceiveError::corrupted);
  // An inline entry from a publisher whose slots have no room for one: refused.
  FakeSegment plain;
  auto plain_link = detail::SubscriberConnection::attach(plain.memory, plain.size, 0, nullptr);
  ASSERT_TRUE(plain_link);
  plain.submission_slot(0, 0)->store(IndexQueue::encode(0, 2, QueueEntry{detail::kInlineIndex, 8}));
  auto no_room = plain_link->receive(copy);
  ASSERT_FALSE(no_room);
  EXPECT_EQ(no_room.error(), ReceiveError::corrupted);
}

TEST(Layout, ServiceConfigValidation) {
  detail::ServiceConfig config{};
  config.magic = detail::kServiceMagic;
  config.layout_version = kLayoutVersion;
  config.header_size = sizeof(detail::ServiceHeader);
  config.user_header_alignment = 1;
  config.name_length = 1;
  config.type_name_length = 1;
  config.max_nodes = 4;
  config.max_publishers = 1;
  config.max_subscribers = 1;
  config.subscriber_max_buffer_size = 2;
  config.subscriber_max_borrowed_samples = 2;
  config.type_size = 8;
  config.type_alignment = 8;
  config.total_size = detail::service_layout(4, 1, 1).total_size;
  config.checksum = detail::checksum_of(config);
  EXPECT_EQ(detail::validate_service_config(config, config.total_size), "");
  EXPECT_NE(detail::validate_service_config(config, config.total_size - 1), "");
  // Out-of-range values with a checksum that matches them (a hostile writer can compute it).
  auto bad = config;
  bad.max_nodes = 64;
  bad.checksum = detail::checksum_of(bad);
  EXPECT_NE(detail::validate_service_config(bad, 1 << 20), "");
  bad = config;
  bad.type_alignment = 3;
  bad.checksum = detail::checksum_of(bad);
  EXPECT_NE(detail::validate_service_config(bad, 1 << 20), "");
  bad = config;
  bad.history_size = 3;
  bad.checksum = detail::checksum_of(bad);
  EXPECT_NE(detail::validate_service_config(bad, 1 << 20), "");
}

TEST(Layout, ChecksumsCatchAnyChangedBitOfTheStaticConfiguration) {
  detail::ServiceConfig config{};
  config.magic = detail::kServiceMagic;
  config.layout_version = kLayoutVersion;
  config.header_size = sizeof(detail::ServiceHeader);
  config.user_header_alignment = 1;
  config.name_length = 1;
  config.name[0] = 'a';
  config.type_name_length = 1;
  config.type_name[0] = 'b';
  config.max_nodes = config.max_publishers = config.max_subscribers = 1;
  config.subscriber_max_buffer_size = config.subscriber_max_borrowed_samples = 2;
  config.type_size = config.type_alignment = 8;
  config.total_size = detail::service_layout(1, 1, 1).total_size;
  config.checksum = detail::checksum_of(config);
  ASSERT_EQ(detail::validate_service_config(config, config.total_size), "");
  for (std::size_t bit = 0; bit < offsetof(detail::ServiceConfig, checksum) * 8; bit += 7) {
    auto changed = config;
    reinterpret_cast<unsigned char*>(&changed)[bit / 8] ^=
        static_cast<unsigned char>(1u << (bit % 8));
    EXPECT_NE(detail::validate_service_config(changed, config.total_size), "") << "bit " << bit;
  }
  FakeSegment segment;
  std::string why;
  ASSERT_TRUE(detail::SubscriberConnection::attach(segment.memory, segment.size, 0, &why)) << why;
  segment.header()->config.generation ^= 4;  // a field no other check looks at
  EXPECT_FALSE(detail::SubscriberConnection::attach(segment.memory, segment.size, 0, &why));
  EXPECT_NE(why.find("checksum"), std::string::npos) << why;
}

TEST(Layout, SlotWordsWithImpossibleValues) {
  using namespace detail;
  EXPECT_TRUE(valid_node_word(node_word(kFree, 0)));
  EXPECT_TRUE(valid_node_word(node_word(kActive, 1234)));
  EXPECT_TRUE(valid_node_word(node_word(kCleaning, 1234)));
  EXPECT_FALSE(valid_node_word(node_word(kFree, 1234)));      // free with a pid
  EXPECT_FALSE(valid_node_word(node_word(kActive, 0)));       // taken without one
  EXPECT_FALSE(valid_node_word(node_word(kActive, 1) | 16));  // reserved bits
  EXPECT_FALSE(valid_node_word(node_word(kActive, kMaxPid + 1)));
  EXPECT_TRUE(valid_port_word(port_word(kFree, 0, 7), 4));
  EXPECT_TRUE(valid_port_word(port_word(kActive, 3, 7), 4));
  EXPECT_FALSE(valid_port_word(port_word(kActive, 4, 7), 4));    // node beyond max_nodes
  EXPECT_FALSE(valid_port_word(port_word(kCleaning, 1, 7), 4));  // a state ports never take
  EXPECT_FALSE(valid_port_word(port_word(kFree, 2, 7), 4));      // free, yet naming a node
}

TEST(Liveness, SelfAliveAndZombieDead) {
  EXPECT_TRUE(detail::process_alive(::getpid(), detail::self_start_time()));
  EXPECT_FALSE(detail::process_alive(::getpid(), detail::self_start_time() + 1));
  pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  std::uint64_t start = detail::process_start_time(child);
  // Not reaped yet: a zombie, which counts as dead (bounded wait for it to exit).
  for (int i = 0; i < 1000 && detail::process_alive(child, start); ++i)
    ::usleep(1000);
  EXPECT_FALSE(detail::process_alive(child, start));
  ::waitpid(child, nullptr, 0);
  EXPECT_FALSE(detail::process_alive(child, start));
}

}  // namespace
}  // namespace zerocopy::testing

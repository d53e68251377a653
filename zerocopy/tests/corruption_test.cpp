// Issue #9, defect 7: corrupted shared memory is reported as `corrupted`, never as silence, and
// never "cleaned up" by removing somebody else's segment. The segments are real /dev/shm objects,
// overwritten through their files (pwrite) as another process would; the library maps them
// MAP_SHARED, so it sees the new bytes at once.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "internal.hpp"
#include "layout.hpp"
#include "test_util.hpp"

namespace zerocopy::testing {
namespace {

using namespace std::chrono_literals;

struct Stream {  // the helper's streaming payload
  std::uint64_t words[8];
};

bool exists(const std::string& name) {
  struct stat info {};
  return ::stat(("/dev/shm/" + name).c_str(), &info) == 0;
}

std::uint64_t file_size(const std::string& name) {
  struct stat info {};
  return ::stat(("/dev/shm/" + name).c_str(), &info) == 0 ? static_cast<std::uint64_t>(info.st_size)
                                                          : 0;
}

// Overwrites [offset, offset + length) of /dev/shm/<name> with pseudo-random bytes (fixed seed).
void overwrite_random(const std::string& name, std::uint64_t offset, std::uint64_t length,
                      std::uint64_t seed = 9) {
  int fd = ::open(("/dev/shm/" + name).c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(fd, 0) << name;
  std::mt19937_64 random(seed);
  std::vector<std::uint64_t> bytes((length + 7) / 8);
  for (auto& word : bytes)
    word = random();
  ASSERT_EQ(::pwrite(fd, bytes.data(), length, static_cast<off_t>(offset)),
            static_cast<ssize_t>(length));
  ::close(fd);
}

void write_word(const std::string& name, std::uint64_t offset, std::uint64_t value) {
  int fd = ::open(("/dev/shm/" + name).c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(fd, 0) << name;
  ASSERT_EQ(::pwrite(fd, &value, sizeof value, static_cast<off_t>(offset)), 8);
  ::close(fd);
}

class Corruption : public ShmTest {
 protected:
  std::string only_name(std::string_view kind) {  // "s_" or "p_"
    for (const auto& name : shm_names(prefix())) {
      if (name.starts_with(prefix() + std::string(kind))) return name;
    }
    return {};
  }
  // A segment the library rightly left behind: the test removes it itself.
  void remove_left(const std::string& name) { ::shm_unlink(("/" + name).c_str()); }

  Expected<Service<Stream>, Error<ServiceError>> stream_service() {
    return node()
        .service_builder("stream")
        .publish_subscribe<Stream>()
        .type_name("Stream")
        .subscriber_max_buffer_size(16)
        .max_subscribers(4)
        .overflow(Overflow::backpressure)
        .open_or_create();
  }
};

// (a) A publisher (another process) whose segment is overwritten with random bytes after its
// subscribers connected: receive() reports corrupted within a bounded number of calls, wait()
// does not time out silently, and nobody removes the segment.
TEST_F(Corruption, PublisherSegmentOfRandomBytesIsReportedToItsSubscribers) {
  auto service = stream_service();
  ASSERT_TRUE(service) << service.error().message;
  auto polling = service->subscriber_builder().create();
  auto waiting = service->subscriber_builder().create();
  ASSERT_TRUE(polling && waiting);
  Child child({"publish-one", prefix(), "stream"});
  ASSERT_EQ(child.read_line(), "publishing");
  ASSERT_EQ(polling->update_connections(), 1u);
  ASSERT_EQ(waiting->update_connections(), 1u);
  child.send("go");
  ASSERT_EQ(child.read_line(), "sent 2");
  for (auto* subscriber : {&*polling, &*waiting}) {
    auto sample = subscriber->receive();
    ASSERT_TRUE(sample && sample->has_value());
    EXPECT_EQ(sample->payload().words[3], 42u);
  }

  const std::string segment = only_name("p_");
  ASSERT_FALSE(segment.empty());
  overwrite_random(segment, 0, file_size(segment));

  // Polling: the periodic check comes after detail::kCheckEvery receives that found nothing.
  std::optional<ReceiveError> error;
  for (std::uint32_t call = 0; call < 2 * detail::kCheckEvery + 2 && !error; ++call) {
    auto received = polling->receive();
    if (!received) error = received.error();
  }
  ASSERT_TRUE(error) << "receive() stayed silent";
  EXPECT_EQ(*error, ReceiveError::corrupted);
  EXPECT_NE(polling->corruption().find("publisher segment " + segment), std::string::npos)
      << polling->corruption();
  // Reported once; that publisher is dropped, and the subscriber keeps working.
  auto after = polling->receive();
  ASSERT_TRUE(after);
  EXPECT_FALSE(after->has_value());

  // Waiting: a wait that would time out checks first, and says there is something to receive.
  EXPECT_EQ(waiting->wait(10ms), WaitResult::data_available);
  auto reported = waiting->receive();
  ASSERT_FALSE(reported);
  EXPECT_EQ(reported.error(), ReceiveError::corrupted);

  EXPECT_TRUE(exists(segment));  // not "cleaned up" by its readers
  child.send("quit");
  EXPECT_EQ(child.wait_exit(), 0);  // its owner removes it
  EXPECT_FALSE(exists(segment));
}

// The periodic check on demand, and a publisher segment whose header alone was overwritten.
TEST_F(Corruption, CheckIntegrityFindsAnOverwrittenPublisherHeader) {
  auto service = node().service_builder("header").publish_subscribe<std::uint64_t>().create();
  ASSERT_TRUE(service);
  auto publisher = service->publisher_builder().create();
  auto subscriber = service->subscriber_builder().create();
  ASSERT_TRUE(publisher && subscriber);
  ASSERT_TRUE(publisher->send_copy(1));
  ASSERT_TRUE(subscriber->receive()->has_value());
  EXPECT_TRUE(subscriber->check_integrity());
  EXPECT_TRUE(publisher->check_integrity());

  const std::string segment = only_name("p_");
  overwrite_random(segment, offsetof(detail::PublisherHeader, config),
                   sizeof(detail::PublisherConfig));
  auto checked = subscriber->check_integrity();
  ASSERT_FALSE(checked);
  EXPECT_EQ(checked.error(), ReceiveError::corrupted);
  EXPECT_NE(subscriber->corruption().find("static configuration"), std::string::npos)
      << subscriber->corruption();
  auto received = subscriber->receive();
  ASSERT_FALSE(received);
  EXPECT_EQ(received.error(), ReceiveError::corrupted);

  ASSERT_FALSE(publisher->check_integrity());
  EXPECT_NE(publisher->corruption().find("overwritten"), std::string::npos)
      << publisher->corruption();
  auto sent = publisher->send_copy(2);
  ASSERT_FALSE(sent);
  EXPECT_EQ(sent.error(), SendError::corrupted);
  // A publisher's own segment goes with it, corrupted or not.
}

// (b) The service segment overwritten with random bytes: opening it from another process or
// node, and creating ports on a service already open, give `corrupted`; the ports already made
// report it; the segment is not removed (not by open_or_create, not by cleanup_dead_nodes, not
// by the last one leaving).
TEST_F(Corruption, ServiceSegmentOfRandomBytesIsCorruptedAndNotRemoved) {
  auto service = stream_service();
  ASSERT_TRUE(service) << service.error().message;
  auto publisher = service->publisher_builder().backpressure_timeout(20ms).create();
  auto subscriber = service->subscriber_builder().create();
  ASSERT_TRUE(publisher && subscriber);
  ASSERT_TRUE(publisher->loan());  // (returned unsent)
  const std::string segment = only_name("s_");
  ASSERT_FALSE(segment.empty());
  overwrite_random(segment, 0, file_size(segment));

  // Another process: open_or_create must neither succeed on it nor replace it.
  Child child({"race-open-or-create", prefix(), "stream"});
  ASSERT_EQ(child.read_line(), "waiting");
  child.send("go");
  auto line = child.read_line();
  ASSERT_TRUE(line);
  EXPECT_TRUE(line->starts_with("corrupted")) << *line;
  child.send("quit");
  EXPECT_EQ(child.wait_exit(), 0);
  EXPECT_TRUE(exists(segment));

  // Another node of this process, each way of opening.
  NodeConfig config;
  config.prefix = prefix();
  auto other = Node::create(config);
  ASSERT_TRUE(other);
  auto builder = other->service_builder("stream").publish_subscribe<Stream>().type_name("Stream");
  for (auto opened : {builder.open(), builder.open_or_create(), builder.create()}) {
    ASSERT_FALSE(opened);
    EXPECT_EQ(opened.error().code, ServiceError::corrupted) << opened.error().message;
  }
  CleanupReport report = other->cleanup_dead_nodes();
  EXPECT_EQ(report.removed_segments, 0u);
  EXPECT_TRUE(exists(segment));

  // The service this process has open: new ports are refused, the existing ones report it.
  auto new_publisher = service->publisher_builder().create();
  ASSERT_FALSE(new_publisher);
  EXPECT_EQ(new_publisher.error().code, PublisherCreateError::corrupted);
  EXPECT_NE(new_publisher.error().message.find("service segment " + segment), std::string::npos)
      << new_publisher.error().message;
  auto new_subscriber = service->subscriber_builder().create();
  ASSERT_FALSE(new_subscriber);
  EXPECT_EQ(new_subscriber.error().code, SubscriberCreateError::corrupted);
  auto sent = publisher->send_copy(Stream{});
  ASSERT_FALSE(sent);
  EXPECT_EQ(sent.error(), SendError::corrupted);
  for (int i = 0; i < 2; ++i) {  // for good
    auto received = subscriber->receive();
    ASSERT_FALSE(received);
    EXPECT_EQ(received.error(), ReceiveError::corrupted);
  }
  EXPECT_EQ(subscriber->wait(1s), WaitResult::data_available);  // at once
  EXPECT_EQ(service->cleanup_dead_nodes(), 0u);

  // Dropped: the ports, then the last handle of this node.
  publisher = unexpected(Error<PublisherCreateError>{});
  subscriber = unexpected(Error<SubscriberCreateError>{});
  service = unexpected(Error<ServiceError>{});
  EXPECT_TRUE(exists(segment));
  EXPECT_EQ(shm_names(prefix()).size(), 1u);  // the publisher took its own segment along
  remove_left(segment);
}

// Only the static configuration overwritten (the state word still says ready): the checksum.
TEST_F(Corruption, ServiceConfigurationOverwrittenFailsItsChecksum) {
  auto service = node().service_builder("config").publish_subscribe<std::uint64_t>().create();
  ASSERT_TRUE(service);
  const std::string segment = only_name("s_");
  // The name and type stay; the options after them change.
  overwrite_random(
      segment,
      offsetof(detail::ServiceHeader, config) + offsetof(detail::ServiceConfig, history_size), 8);
  NodeConfig config;
  config.prefix = prefix();
  auto other = Node::create(config);
  ASSERT_TRUE(other);
  auto opened = other->service_builder("config").publish_subscribe<std::uint64_t>().open();
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, ServiceError::corrupted);
  EXPECT_NE(opened.error().message.find("checksum"), std::string::npos) << opened.error().message;
  auto publisher = service->publisher_builder().create();
  ASSERT_FALSE(publisher);
  EXPECT_EQ(publisher.error().code, PublisherCreateError::corrupted);
  EXPECT_NE(publisher.error().message.find("static configuration changed"), std::string::npos)
      << publisher.error().message;
  service = unexpected(Error<ServiceError>{});
  EXPECT_TRUE(exists(segment));
  remove_left(segment);
}

// (c) Mutable words with impossible values: slot words (a state ports never take, a node index
// beyond max_nodes, a free node slot with a pid) and the node mask.
TEST_F(Corruption, SlotWordWithAnImpossibleValueIsCorrupted) {
  using namespace detail;
  const ServiceLayout layout = service_layout(4, 2, 2);
  struct Case {
    const char* what;
    std::uint64_t offset;
    std::uint64_t word;
  };
  const Case cases[] = {
      {"publisher slot 1", layout.publishers_offset + sizeof(PublisherSlot),
       port_word(kCleaning, 0, 5)},
      {"subscriber slot 1", layout.subscribers_offset + sizeof(SubscriberSlot),
       port_word(kActive, 9, 5)},
      {"node slot 3", layout.nodes_offset + 3 * sizeof(NodeSlot), node_word(kFree, 77)},
      {"node mask", offsetof(ServiceHeader, node_mask), std::uint64_t{1} << 10},
  };
  int round = 0;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    std::string name = "slots/" + std::to_string(round++);
    auto service = node()
                       .service_builder(name)
                       .publish_subscribe<std::uint64_t>()
                       .max_nodes(4)
                       .max_publishers(2)
                       .max_subscribers(2)
                       .create();
    ASSERT_TRUE(service) << service.error().message;
    auto publisher = service->publisher_builder().create();
    auto subscriber = service->subscriber_builder().create();
    ASSERT_TRUE(publisher && subscriber);
    ASSERT_TRUE(publisher->send_copy(1));
    ASSERT_TRUE(subscriber->receive()->has_value());
    const std::string segment = service_segment_name(prefix(), hash_name(name));
    write_word(segment, c.offset, c.word);

    // The subscriber's periodic check (bounded: kCheckEvery empty receives).
    std::optional<ReceiveError> error;
    for (std::uint32_t call = 0; call < 2 * kCheckEvery + 2 && !error; ++call) {
      auto received = subscriber->receive();
      if (!received) error = received.error();
    }
    ASSERT_TRUE(error);
    EXPECT_EQ(*error, ReceiveError::corrupted);
    EXPECT_NE(subscriber->corruption().find(c.what), std::string::npos) << subscriber->corruption();
    auto checked = publisher->check_integrity();
    ASSERT_FALSE(checked);
    EXPECT_NE(publisher->corruption().find(c.what), std::string::npos) << publisher->corruption();
    EXPECT_EQ(publisher->send_copy(2).error(), SendError::corrupted);

    publisher = unexpected(Error<PublisherCreateError>{});
    subscriber = unexpected(Error<SubscriberCreateError>{});
    service = unexpected(Error<ServiceError>{});
    EXPECT_TRUE(exists(segment));
    remove_left(segment);
  }
}

// (c) Queue positions beyond what the other side can have written.
TEST_F(Corruption, QueueHeadBeyondItsTailIsCorrupted) {
  using namespace detail;
  for (bool submission : {true, false}) {
    SCOPED_TRACE(submission ? "submission head" : "completion head");
    std::string name = submission ? "queue/submission" : "queue/completion";
    // Backpressure: only the subscriber moves its submission head, so it knows where it must be
    // (under safe overflow the publisher moves it too, and only the publisher can tell).
    auto service = node()
                       .service_builder(name)
                       .publish_subscribe<std::uint64_t>()
                       .overflow(Overflow::backpressure)
                       .create();
    ASSERT_TRUE(service);
    auto publisher = service->publisher_builder().create();
    auto subscriber = service->subscriber_builder().create();
    ASSERT_TRUE(publisher && subscriber);
    ASSERT_TRUE(publisher->send_copy(1));
    ASSERT_TRUE(subscriber->receive()->has_value());  // released: one completion entry
    const std::string segment = only_name("p_");
    auto header = std::make_unique<PublisherHeader>();
    {
      int fd = ::open(("/dev/shm/" + segment).c_str(), O_RDONLY | O_CLOEXEC);
      ASSERT_GE(fd, 0);
      ASSERT_EQ(
          ::pread(fd, &header->config, sizeof header->config, offsetof(PublisherHeader, config)),
          static_cast<ssize_t>(sizeof header->config));
      ::close(fd);
    }
    // The subscriber is in slot 0: channel 0.
    std::uint64_t control = header->config.channels_offset;
    write_word(segment,
               control + (submission ? offsetof(ChannelControl, submission_head)
                                     : offsetof(ChannelControl, completion_head)),
               1000);
    auto checked = subscriber->check_integrity();
    ASSERT_FALSE(checked);
    EXPECT_NE(subscriber->corruption().find(submission ? "submission" : "completion"),
              std::string::npos)
        << subscriber->corruption();
    ASSERT_FALSE(publisher->check_integrity());
    EXPECT_NE(publisher->corruption().find(submission ? "submission head" : "completion head"),
              std::string::npos)
        << publisher->corruption();
  }
}

}  // namespace
}  // namespace zerocopy::testing

// Real separate processes (the helper executable): creation races, type mismatch across
// processes, streaming, fan-out, and processes killed with SIGKILL while holding loans or
// samples. Every wait is bounded; nothing is asserted about speed.
#include <sys/stat.h>

#include <array>
#include <cstdint>
#include <memory>
#include <set>

#include "test_util.hpp"

namespace zerocopy::testing {
namespace {

using namespace std::chrono_literals;

struct Stream {
  std::uint64_t words[8];
};

class MultiProcess : public ShmTest {
 protected:
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

TEST_F(MultiProcess, ExactlyOneOfFourConcurrentCreatesWins) {
  for (int round = 0; round < 5; ++round) {
    std::string service = "race/create/" + std::to_string(round);
    std::vector<std::unique_ptr<Child>> children;
    for (int i = 0; i < 4; ++i) {
      children.push_back(
          std::make_unique<Child>(std::vector<std::string>{"race-create", prefix(), service}));
      ASSERT_TRUE(children.back()->started());
    }
    for (auto& child : children)
      ASSERT_EQ(child->read_line(), "waiting");
    for (auto& child : children)
      child->send("go");
    int created = 0;
    int exists = 0;
    for (auto& child : children) {
      auto line = child->read_line();
      ASSERT_TRUE(line);
      if (*line == "created") ++created;
      if (line->starts_with("already_exists")) ++exists;
    }
    EXPECT_EQ(created, 1);
    EXPECT_EQ(exists, 3);
    for (auto& child : children) {
      child->send("quit");
      EXPECT_EQ(child->wait_exit(), 0);
    }
    EXPECT_TRUE(shm_names(prefix()).empty()) << "round " << round;
  }
}

TEST_F(MultiProcess, ConcurrentOpenOrCreateAllSucceedOnOneService) {
  for (int round = 0; round < 5; ++round) {
    std::string service = "race/open/" + std::to_string(round);
    std::vector<std::unique_ptr<Child>> children;
    for (int i = 0; i < 4; ++i) {
      children.push_back(std::make_unique<Child>(
          std::vector<std::string>{"race-open-or-create", prefix(), service}));
    }
    for (auto& child : children)
      ASSERT_EQ(child->read_line(), "waiting");
    for (auto& child : children)
      child->send("go");
    for (auto& child : children)
      EXPECT_EQ(child->read_line(), "ok");
    // One service, four registered nodes: the segment list holds exactly one name.
    EXPECT_EQ(shm_names(prefix()).size(), 1u);
    for (auto& child : children) {
      child->send("quit");
      EXPECT_EQ(child->wait_exit(), 0);
    }
    EXPECT_TRUE(shm_names(prefix()).empty()) << "round " << round;
  }
}

TEST_F(MultiProcess, TypeMismatchAcrossProcessesNamesBothTypes) {
  auto service = node().service_builder("typed").publish_subscribe<std::uint64_t>().create();
  ASSERT_TRUE(service);
  Child child({"open-u32", prefix(), "typed"});
  auto line = child.read_line();
  ASSERT_TRUE(line);
  EXPECT_TRUE(line->starts_with("incompatible_type")) << *line;
  EXPECT_NE(line->find("'u64'"), std::string::npos) << *line;
  EXPECT_NE(line->find("'u32'"), std::string::npos) << *line;
  EXPECT_EQ(child.wait_exit(), 0);
}

TEST_F(MultiProcess, StreamArrivesWholeAndInOrder) {
  auto service = stream_service();
  ASSERT_TRUE(service) << service.error().message;
  auto subscriber = service->subscriber_builder().create();
  ASSERT_TRUE(subscriber);
  constexpr std::uint64_t kCount = 100'000;
  Child child({"publish", prefix(), "stream", std::to_string(kCount)});
  ASSERT_EQ(child.read_line(), "publishing");
  child.send("go");
  std::uint64_t expected = 0;
  auto deadline = std::chrono::steady_clock::now() + 60s;
  while (expected < kCount && std::chrono::steady_clock::now() < deadline) {
    auto sample = subscriber->receive();
    ASSERT_TRUE(sample);
    if (!sample->has_value()) {
      subscriber->wait(10ms);
      continue;
    }
    for (auto word : sample->payload().words)
      ASSERT_EQ(word, expected);
    ++expected;
  }
  EXPECT_EQ(expected, kCount);
  EXPECT_EQ(child.read_line(), "done");
  child.send("quit");
  EXPECT_EQ(child.wait_exit(), 0);
}

TEST_F(MultiProcess, FanOutToFourSubscriberProcesses) {
  auto service = stream_service();
  ASSERT_TRUE(service);
  auto publisher = service->publisher_builder()
                       .backpressure_wait(BackpressureWait::block)
                       .backpressure_timeout(20s)
                       .create();
  ASSERT_TRUE(publisher);
  constexpr std::uint64_t kCount = 20'000;
  std::vector<std::unique_ptr<Child>> children;
  for (int i = 0; i < 4; ++i) {
    children.push_back(std::make_unique<Child>(
        std::vector<std::string>{"subscribe", prefix(), "stream", std::to_string(kCount)}));
  }
  for (auto& child : children)
    ASSERT_EQ(child->read_line(), "subscribed");
  ASSERT_EQ(publisher->update_connections(), 4u);
  for (std::uint64_t i = 0; i < kCount; ++i) {
    auto sample = publisher->loan_uninit();
    ASSERT_TRUE(sample);
    for (auto& word : sample->payload_mut().words)
      word = i;
    auto sent = std::move(*sample).assume_init().send();
    ASSERT_TRUE(sent);
    ASSERT_EQ(*sent, 4u);
  }
  for (auto& child : children)
    EXPECT_EQ(child->read_line(60s), "ok");
  // Every subscriber released every sample: all reference counts are back to zero, while the
  // subscribers are still connected.
  EXPECT_EQ(publisher->update_connections(), 4u);
  EXPECT_EQ(publisher->chunks_in_use(), 0u);
  for (auto& child : children) {
    child->send("quit");
    EXPECT_EQ(child->wait_exit(), 0);
  }
}

TEST_F(MultiProcess, PublisherKilledHoldingLoansIsReclaimed) {
  auto service = stream_service();
  ASSERT_TRUE(service);
  auto subscriber = service->subscriber_builder().create();
  ASSERT_TRUE(subscriber);
  Child child({"hold-loans", prefix(), "stream", "3"});
  ASSERT_EQ(child.read_line(), "created");
  child.send("go");
  ASSERT_EQ(child.read_line(), "ready");
  auto held = subscriber->receive();  // one sample held, one left queued
  ASSERT_TRUE(held && held->has_value());
  EXPECT_EQ(held->payload().words[0], 100u);
  EXPECT_EQ(shm_names(prefix()).size(), 2u);

  child.kill_and_reap();
  EXPECT_EQ(service->publisher_count(), 1u);  // not noticed yet
  CleanupReport report = node().cleanup_dead_nodes();
  EXPECT_EQ(report.dead_nodes, 1u);
  EXPECT_EQ(report.removed_segments, 1u);  // the publisher's segment
  EXPECT_EQ(service->publisher_count(), 0u);
  EXPECT_EQ(shm_names(prefix()).size(), 1u);

  // What was received stays readable; what was queued is still delivered.
  EXPECT_EQ(held->payload().words[7], 100u);
  auto queued = subscriber->receive();
  ASSERT_TRUE(queued && queued->has_value());
  EXPECT_EQ(queued->payload().words[0], 101u);
  held->reset();
  queued->reset();
  EXPECT_FALSE(subscriber->receive()->has_value());
  EXPECT_EQ(subscriber->update_connections(), 0u);

  // The service is fully usable again.
  auto publisher = service->publisher_builder().create();
  ASSERT_TRUE(publisher);
  auto sample = publisher->loan();
  ASSERT_TRUE(sample);
  (*sample)->words[0] = 7;
  auto sent = std::move(*sample).send();
  ASSERT_TRUE(sent);
  EXPECT_EQ(*sent, 1u);
  auto received = subscriber->receive();
  ASSERT_TRUE(received && received->has_value());
  EXPECT_EQ(received->payload().words[0], 7u);
}

TEST_F(MultiProcess, SubscriberKilledHoldingSamplesIsReclaimed) {
  auto service = stream_service();
  ASSERT_TRUE(service);
  // Chunks, not inline payloads: this is about the chunks a dead subscriber held.
  auto publisher = service->publisher_builder().inline_payloads(false).create();
  ASSERT_TRUE(publisher);
  Child child({"hold-samples", prefix(), "stream", "2"});
  ASSERT_EQ(child.read_line(), "subscribed");
  ASSERT_EQ(publisher->update_connections(), 1u);
  for (std::uint64_t i = 0; i < 3; ++i) {
    auto sample = publisher->loan();
    ASSERT_TRUE(sample);
    auto sent = std::move(*sample).send();
    ASSERT_TRUE(sent);
    EXPECT_EQ(*sent, 1u);
  }
  ASSERT_EQ(child.read_line(), "ready");
  EXPECT_EQ(publisher->chunks_in_use(), 3u);  // two held, one queued

  child.kill_and_reap();
  EXPECT_EQ(service->subscriber_count(), 1u);
  // Opening the service from another node reclaims the dead one.
  NodeConfig config;
  config.prefix = prefix();
  auto other = Node::create(config);
  ASSERT_TRUE(other);
  auto reopened =
      other->service_builder("stream").publish_subscribe<Stream>().type_name("Stream").open();
  ASSERT_TRUE(reopened);
  EXPECT_EQ(service->subscriber_count(), 0u);
  EXPECT_EQ(publisher->update_connections(), 0u);
  EXPECT_EQ(publisher->chunks_in_use(), 0u);  // every chunk back in the pool

  auto subscriber = reopened->subscriber_builder().create();
  ASSERT_TRUE(subscriber);
  auto loaned = publisher->loan();
  ASSERT_TRUE(loaned);
  auto sent = std::move(*loaned).send();
  ASSERT_TRUE(sent);
  EXPECT_EQ(*sent, 1u);
  EXPECT_TRUE(subscriber->receive()->has_value());
}

TEST_F(MultiProcess, EverythingOfADeadServiceIsRemoved) {
  {
    Child child({"create-and-die", prefix(), "stream"});
    ASSERT_EQ(child.read_line(), "ready");
    EXPECT_EQ(shm_names(prefix()).size(), 2u);
    child.kill_and_reap();
  }
  EXPECT_EQ(shm_names(prefix()).size(), 2u);
  CleanupReport report = node().cleanup_dead_nodes();
  EXPECT_EQ(report.dead_nodes, 1u);
  EXPECT_EQ(report.removed_segments, 2u);
  EXPECT_TRUE(shm_names(prefix()).empty());
}

TEST_F(MultiProcess, ReopeningADeadServiceRecreatesIt) {
  {
    Child child({"create-and-die", prefix(), "stream"});
    ASSERT_EQ(child.read_line(), "ready");
    child.kill_and_reap();
  }
  // create() finds only dead nodes: it cleans them and creates the service afresh.
  auto service = node()
                     .service_builder("stream")
                     .publish_subscribe<Stream>()
                     .type_name("Stream")
                     .subscriber_max_buffer_size(16)
                     .create();
  ASSERT_TRUE(service) << service.error().message;
  EXPECT_EQ(service->publisher_count(), 0u);
  EXPECT_EQ(shm_names(prefix()).size(), 1u);
}

TEST_F(MultiProcess, SegmentsOfAnotherProcessAreOwnerOnly) {
  mode_t old_mask = ::umask(0);  // inherited by the child
  Child child({"create-and-die", prefix(), "stream"});
  ::umask(old_mask);
  ASSERT_EQ(child.read_line(), "ready");
  auto names = shm_names(prefix());
  EXPECT_EQ(names.size(), 2u);
  for (const auto& name : names) {
    struct stat info {};
    ASSERT_EQ(::stat(("/dev/shm/" + name).c_str(), &info), 0);
    EXPECT_EQ(info.st_mode & 0777, 0600u) << name;
  }
  child.kill_and_reap();
  node().cleanup_dead_nodes();
}

}  // namespace
}  // namespace zerocopy::testing

// WaitSet, notification descriptors, events, wait_for_subscribers: in one process and across
// processes. Every wait is bounded; no assertion depends on timing (a timeout of zero only asks
// "is it readable now?", which is decided before the call).
#include <poll.h>
#include <unistd.h>

#include <cstdint>
#include <thread>
#include <vector>

#include "test_util.hpp"

namespace zerocopy::testing {
namespace {

using namespace std::chrono_literals;

class WaitSetTest : public ShmTest {
 protected:
  Service<std::uint64_t> service(const std::string& name = "ws") {
    return node()
        .service_builder(name)
        .publish_subscribe<std::uint64_t>()
        .subscriber_max_buffer_size(64)
        .open_or_create()
        .value();
  }
};

bool readable(int fd) {
  pollfd entry{fd, POLLIN, 0};
  return ::poll(&entry, 1, 0) == 1 && (entry.revents & POLLIN) != 0;
}

// Waits once (bounded) and returns what was reported.
std::vector<WaitSetAttachmentId> wait_once(WaitSet& waitset,
                                           std::chrono::nanoseconds timeout = 10s) {
  std::vector<WaitSetAttachmentId> fired;
  auto result = waitset.wait_and_process_once(
      [&](WaitSetAttachmentId id) {
        fired.push_back(id);
        return CallbackProgression::proceed;
      },
      timeout);
  EXPECT_TRUE(result.has_value());
  return fired;
}

bool has_event(const std::vector<WaitSetAttachmentId>& fired, const WaitSetGuard& guard) {
  for (const auto& id : fired) {
    if (id.has_event_from(guard)) return true;
  }
  return false;
}

TEST_F(WaitSetTest, DescriptorIsReadableExactlyWhileSamplesWait) {
  auto svc = service();
  auto publisher = svc.publisher_builder().create().value();
  auto subscriber = svc.subscriber_builder().create().value();
  int fd = subscriber.notification_fd().value();
  EXPECT_EQ(subscriber.notification_fd().value(), fd);  // one per subscriber
  EXPECT_FALSE(readable(fd));
  ASSERT_TRUE(publisher.send_copy(1).has_value());
  EXPECT_TRUE(readable(fd));
  ASSERT_TRUE(publisher.send_copy(2).has_value());  // one byte per wake-up, still readable
  {
    auto sample = subscriber.receive().value();
    ASSERT_TRUE(sample);
    EXPECT_EQ(*sample, 1u);
  }
  EXPECT_TRUE(readable(fd));  // a sample still waits
  EXPECT_TRUE(subscriber.receive().value());
  EXPECT_TRUE(readable(fd));  // not drained until receive() has found nothing
  EXPECT_FALSE(subscriber.receive().value());
  EXPECT_FALSE(readable(fd));
  ASSERT_TRUE(publisher.send_copy(3).has_value());
  EXPECT_TRUE(readable(fd));
}

TEST_F(WaitSetTest, DescriptorMadeWhileSamplesWaitIsReadable) {
  auto svc = service();
  auto publisher = svc.publisher_builder().create().value();
  auto subscriber = svc.subscriber_builder().create().value();
  ASSERT_TRUE(publisher.send_copy(1).has_value());
  int fd = subscriber.notification_fd().value();
  EXPECT_TRUE(readable(fd));
}

TEST_F(WaitSetTest, LateSubscriberIsWokenByTheHistory) {
  auto svc = node()
                 .service_builder("ws/history")
                 .publish_subscribe<std::uint64_t>()
                 .history_size(1)
                 .open_or_create()
                 .value();
  auto publisher = svc.publisher_builder().create().value();
  ASSERT_TRUE(publisher.send_copy(9).has_value());
  auto subscriber = svc.subscriber_builder().create().value();
  int fd = subscriber.notification_fd().value();
  EXPECT_FALSE(subscriber.receive().value());  // not connected by the publisher yet
  EXPECT_FALSE(readable(fd));
  publisher.update_connections();  // delivers the history
  EXPECT_TRUE(readable(fd));
  auto sample = subscriber.receive().value();
  ASSERT_TRUE(sample);
  EXPECT_EQ(*sample, 9u);
}

TEST_F(WaitSetTest, ReportsSubscriberNotificationAndTimesOutWhenDrained) {
  auto svc = service();
  auto publisher = svc.publisher_builder().create().value();
  auto subscriber = svc.subscriber_builder().create().value();
  auto waitset = WaitSet::create().value();
  auto guard = waitset.attach_notification(subscriber).value();
  EXPECT_EQ(waitset.len(), 1u);
  EXPECT_TRUE(wait_once(waitset, 0ns).empty());
  ASSERT_TRUE(publisher.send_copy(5).has_value());
  auto fired = wait_once(waitset);
  ASSERT_EQ(fired.size(), 1u);
  EXPECT_TRUE(fired[0].has_event_from(guard));
  EXPECT_FALSE(fired[0].has_missed_deadline(guard));
  auto sample = subscriber.receive().value();
  ASSERT_TRUE(sample);
  EXPECT_EQ(*sample, 5u);
  EXPECT_FALSE(subscriber.receive().value());
  EXPECT_TRUE(wait_once(waitset, 0ns).empty());
}

TEST_F(WaitSetTest, ManySourcesReportOnlyTheReadyOnes) {
  auto a = service("ws/a");
  auto b = service("ws/b");
  auto publisher_a = a.publisher_builder().create().value();
  auto publisher_b = b.publisher_builder().create().value();
  auto subscriber_a = a.subscriber_builder().create().value();
  auto subscriber_b = b.subscriber_builder().create().value();
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  auto waitset = WaitSet::create().value();
  auto guard_a = waitset.attach_notification(subscriber_a).value();
  auto guard_b = waitset.attach_notification(subscriber_b).value();
  auto guard_pipe = waitset.attach_notification(pipe_fds[0]).value();
  ASSERT_TRUE(publisher_b.send_copy(1).has_value());
  auto fired = wait_once(waitset);
  EXPECT_FALSE(has_event(fired, guard_a));
  EXPECT_TRUE(has_event(fired, guard_b));
  EXPECT_FALSE(has_event(fired, guard_pipe));
  EXPECT_TRUE(subscriber_b.receive().value());
  EXPECT_FALSE(subscriber_b.receive().value());
  ASSERT_EQ(::write(pipe_fds[1], "x", 1), 1);
  fired = wait_once(waitset);
  ASSERT_EQ(fired.size(), 1u);
  EXPECT_TRUE(fired[0].has_event_from(guard_pipe));
  char byte;
  ASSERT_EQ(::read(pipe_fds[0], &byte, 1), 1);
  // A detached source is not reported any more.
  guard_a = WaitSetGuard(std::move(guard_pipe));
  EXPECT_EQ(waitset.len(), 2u);
  ASSERT_EQ(::write(pipe_fds[1], "x", 1), 1);
  fired = wait_once(waitset);
  EXPECT_TRUE(has_event(fired, guard_a));  // now the pipe's guard
  ::close(pipe_fds[0]);
  ::close(pipe_fds[1]);
}

TEST_F(WaitSetTest, IntervalTicks) {
  auto waitset = WaitSet::create().value();
  auto tick = waitset.attach_interval(1ms).value();
  for (int i = 0; i < 3; ++i) {
    auto fired = wait_once(waitset);
    ASSERT_EQ(fired.size(), 1u);
    EXPECT_TRUE(fired[0].has_event_from(tick));
  }
  EXPECT_FALSE(waitset.attach_interval(0ns).has_value());
}

TEST_F(WaitSetTest, DeadlineMissedWhenSilentAndEventWhenNot) {
  auto events = node().service_builder("ws/deadline").event().open_or_create().value();
  auto notifier = events.notifier_builder().create().value();
  auto listener = events.listener_builder().create().value();
  auto waitset = WaitSet::create().value();
  auto guard = waitset.attach_deadline(listener, 1ms).value();
  auto fired = wait_once(waitset);
  ASSERT_EQ(fired.size(), 1u);
  EXPECT_TRUE(fired[0].has_missed_deadline(guard));
  ASSERT_EQ(notifier.notify(EventId{3}).value(), 1u);
  // The notification is reported (a deadline may also have passed in between).
  bool notified = false;
  for (int i = 0; i < 100 && !notified; ++i)
    notified = has_event(wait_once(waitset), guard);
  EXPECT_TRUE(notified);
  std::vector<std::uint64_t> ids;
  ASSERT_TRUE(listener.try_wait_all([&](EventId id) { ids.push_back(id.value); }).has_value());
  EXPECT_EQ(ids, std::vector<std::uint64_t>{3});
}

TEST_F(WaitSetTest, StopAndTimeoutResults) {
  auto waitset = WaitSet::create().value();
  auto tick = waitset.attach_interval(1ms).value();
  auto result =
      waitset.wait_and_process([](WaitSetAttachmentId) { return CallbackProgression::stop; });
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(*result, WaitSetRunResult::stop_request);
  auto empty = WaitSet::create().value();
  auto timed_out = empty.wait_and_process_once(
      [](WaitSetAttachmentId) { return CallbackProgression::proceed; }, 0ns);
  ASSERT_TRUE(timed_out.has_value());
  EXPECT_EQ(*timed_out, WaitSetRunResult::timeout);
  EXPECT_FALSE(empty.attach_notification(-1).has_value());
}

TEST_F(WaitSetTest, GuardOutlivingTheWaitSetIsHarmless) {
  std::optional<WaitSetGuard> guard;
  {
    auto waitset = WaitSet::create().value();
    guard.emplace(waitset.attach_interval(1s).value());
  }
  guard.reset();
}

TEST_F(WaitSetTest, EventsReachEveryListenerInOrder) {
  auto events = node().service_builder("ws/events").event().max_listeners(2).open_or_create();
  ASSERT_TRUE(events.has_value());
  auto notifier = events->notifier_builder().create().value();
  auto first = events->listener_builder().create().value();
  auto second = events->listener_builder().create().value();
  EXPECT_EQ(events->listener_count(), 2u);
  EXPECT_TRUE(notifier.wait_for_listeners(2, 0ns));
  for (std::uint64_t id : {4, 1, 4})
    ASSERT_EQ(notifier.notify(EventId{id}).value(), 2u);
  for (Listener* listener : {&first, &second}) {
    std::vector<std::uint64_t> ids;
    ASSERT_TRUE(listener->timed_wait_all([&](EventId id) { ids.push_back(id.value); }, 10s));
    EXPECT_EQ(ids, (std::vector<std::uint64_t>{4, 1, 4}));
    EXPECT_FALSE(listener->try_wait_one().value());
  }
  // A pub-sub service of another type under the same name is refused, naming the event type.
  auto clash = node().service_builder("ws/events").publish_subscribe<std::uint64_t>().open();
  ASSERT_FALSE(clash.has_value());
  EXPECT_EQ(clash.error().code, ServiceError::incompatible_type);
  EXPECT_NE(clash.error().message.find("zerocopy::EventId"), std::string::npos);
}

TEST_F(WaitSetTest, WaitForSubscribers) {
  auto svc = service();
  auto publisher = svc.publisher_builder().create().value();
  EXPECT_FALSE(publisher.wait_for_subscribers(1, 0ns));
  std::optional<Subscriber<std::uint64_t>> subscriber;
  std::thread late([&] { subscriber.emplace(svc.subscriber_builder().create().value()); });
  EXPECT_TRUE(publisher.wait_for_subscribers(1, 20s));
  late.join();
  EXPECT_EQ(publisher.send_copy(1).value(), 1u);
}

// ---- across processes ----

class MultiProcessWaitSet : public WaitSetTest {};

TEST_F(MultiProcessWaitSet, SubscriberInAWaitSetIsWokenByAnotherProcess) {
  Child child({"ws-publish", prefix(), "ws"});
  ASSERT_EQ(child.read_line(), "ready");
  auto svc = service();
  auto subscriber = svc.subscriber_builder().create().value();
  auto events = node().service_builder("ws/events").event().open_or_create().value();
  auto listener = events.listener_builder().create().value();
  auto waitset = WaitSet::create().value();
  auto on_sample = waitset.attach_notification(subscriber).value();
  auto on_event = waitset.attach_notification(listener).value();
  for (int round = 0; round < 20; ++round) {
    child.send("send 3");
    std::uint64_t got = 0;
    while (got < 3) {
      auto fired = wait_once(waitset);
      ASSERT_FALSE(fired.empty()) << "round " << round;
      EXPECT_FALSE(has_event(fired, on_event));
      while (auto sample = subscriber.receive().value()) {
        EXPECT_EQ(*sample, got);
        ++got;
      }
    }
    ASSERT_EQ(child.read_line(), "sent");
    child.send("notify " + std::to_string(round));
    std::vector<std::uint64_t> ids;
    while (ids.empty()) {
      auto fired = wait_once(waitset);
      ASSERT_FALSE(fired.empty()) << "round " << round;
      ASSERT_TRUE(listener.try_wait_all([&](EventId id) { ids.push_back(id.value); }));
    }
    EXPECT_EQ(ids, std::vector<std::uint64_t>{static_cast<std::uint64_t>(round)});
    ASSERT_EQ(child.read_line(), "notified");
  }
  child.send("quit");
  EXPECT_EQ(child.wait_exit(), 0);
}

TEST_F(MultiProcessWaitSet, WaitSetInAnotherProcessIsWokenByOurPublisher) {
  Child child({"ws-receive", prefix(), "ws", "1000"});
  ASSERT_EQ(child.read_line(), "ready");
  auto svc = service();
  // Chunks, not inline payloads: the chunks in use pace the sends below.
  auto publisher = svc.publisher_builder().inline_payloads(false).create().value();
  ASSERT_TRUE(publisher.wait_for_subscribers(1, 10s));
  for (std::uint64_t i = 0; i < 1000; ++i) {
    // Safe overflow would drop samples the child has not taken yet: send when there is room.
    auto deadline = std::chrono::steady_clock::now() + 20s;
    while (publisher.chunks_in_use() > 32 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(100us);
    }
    ASSERT_EQ(publisher.send_copy(i).value(), 1u);
  }
  EXPECT_EQ(child.read_line(20s), "got 1000");
  child.send("quit");
  EXPECT_EQ(child.wait_exit(), 0);
}

TEST_F(MultiProcessWaitSet, PlainPollOnTheDescriptorAcrossProcesses) {
  Child child({"ws-publish", prefix(), "ws"});
  ASSERT_EQ(child.read_line(), "ready");
  auto svc = service();
  auto subscriber = svc.subscriber_builder().create().value();
  int fd = subscriber.notification_fd().value();
  for (int round = 0; round < 20; ++round) {
    EXPECT_FALSE(readable(fd));
    child.send("send 1");
    pollfd entry{fd, POLLIN, 0};
    ASSERT_EQ(::poll(&entry, 1, 10'000), 1);
    ASSERT_EQ(child.read_line(), "sent");
    auto sample = subscriber.receive().value();
    ASSERT_TRUE(sample);
    EXPECT_EQ(*sample, 0u);
    EXPECT_FALSE(subscriber.receive().value());
  }
  child.send("quit");
  EXPECT_EQ(child.wait_exit(), 0);
}

TEST_F(MultiProcessWaitSet, WaitForSubscriberOfAnotherProcess) {
  auto svc = service();
  auto publisher = svc.publisher_builder().create().value();
  Child child({"ws-subscribe-on-go", prefix(), "ws"});
  ASSERT_EQ(child.read_line(), "ready");
  EXPECT_FALSE(publisher.wait_for_subscribers(1, 0ns));
  child.send("go");
  EXPECT_TRUE(publisher.wait_for_subscribers(1, 20s));
  EXPECT_EQ(child.read_line(), "subscribed");
  child.send("quit");
  EXPECT_EQ(child.wait_exit(), 0);
}

TEST_F(MultiProcessWaitSet, DeadSubscribersFifoIsRemoved) {
  Child child({"ws-fd-and-die", prefix(), "ws"});
  ASSERT_EQ(child.read_line(), "ready");
  bool fifo_seen = false;
  for (const auto& name : shm_names(prefix()))
    fifo_seen |= name.starts_with(prefix() + "w_");
  EXPECT_TRUE(fifo_seen);
  child.kill_and_reap();
  auto svc = service();  // open cleans the dead node up, FIFO included
  auto publisher = svc.publisher_builder().create().value();
  EXPECT_EQ(publisher.send_copy(1).value(), 0u);
  for (const auto& name : shm_names(prefix()))
    EXPECT_FALSE(name.starts_with(prefix() + "w_"));
}

}  // namespace
}  // namespace zerocopy::testing

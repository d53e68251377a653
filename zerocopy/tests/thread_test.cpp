// Publisher and subscribers in threads of one process. The process maps each segment once, so
// both ends of every queue use the same addresses and ThreadSanitizer checks the protocol (it
// cannot see across processes). Each payload carries its sequence number in every word: a torn
// read, a chunk reused while still borrowed, a loss, a duplicate or a reordering shows up.
#include <sched.h>

#include <atomic>
#include <cstdint>
#include <thread>

#include "test_util.hpp"

namespace zerocopy::testing {
namespace {

using namespace std::chrono_literals;

struct Stream {
  std::uint64_t words[8];
};

// Busy-poll, but yield after a while: the other thread may need this very core.
class Backoff {
 public:
  void pause() {
    if (++m_count > 64) sched_yield();
  }
  void reset() { m_count = 0; }

 private:
  std::uint32_t m_count = 0;
};

bool before(std::chrono::steady_clock::time_point deadline) {
  return std::chrono::steady_clock::now() < deadline;
}

class Threaded : public ShmTest {
 protected:
  // Streams `count` samples from one thread to `subscribers` threads; each subscriber checks
  // order (strict +1 under backpressure, increasing under safe overflow) and content.
  void stream(Overflow overflow, BackpressureWait wait, std::uint64_t count, int subscribers,
              bool subscribers_block) {
    auto service = node()
                       .service_builder("threads")
                       .publish_subscribe<Stream>()
                       .overflow(overflow)
                       .subscriber_max_buffer_size(4)
                       .max_subscribers(4)
                       .create();
    ASSERT_TRUE(service) << service.error().message;
    auto publisher =
        service->publisher_builder().backpressure_wait(wait).backpressure_timeout(30s).create();
    ASSERT_TRUE(publisher);
    std::vector<Subscriber<Stream>> ports;
    for (int i = 0; i < subscribers; ++i) {
      auto subscriber = service->subscriber_builder().create();
      ASSERT_TRUE(subscriber);
      ports.push_back(std::move(*subscriber));
    }
    ASSERT_EQ(publisher->update_connections(), static_cast<std::size_t>(subscribers));
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (auto& port : ports) {
      threads.emplace_back([&, subscriber = &port] {
        std::uint64_t next = 0;
        std::uint64_t last = 0;
        Backoff backoff;
        while (last + 1 < count && before(deadline)) {
          auto sample = subscriber->receive();
          if (!sample) {
            ++failures;
            return;
          }
          if (!sample->has_value()) {
            if (subscribers_block) {
              subscriber->wait(10ms);
            } else {
              backoff.pause();
            }
            continue;
          }
          backoff.reset();
          const Stream& payload = sample->payload();
          for (auto word : payload.words) {
            if (word != payload.words[0]) ++failures;
          }
          std::uint64_t value = payload.words[0];
          if (overflow == Overflow::backpressure ? value != next : value < next) ++failures;
          next = value + 1;
          last = value;
        }
        if (last + 1 != count) ++failures;
      });
    }
    Backoff backoff;
    for (std::uint64_t i = 0; i < count && before(deadline); ++i) {
      auto sample = publisher->loan_uninit();
      if (!sample) {
        ++failures;
        break;
      }
      for (auto& word : sample->payload_mut().words)
        word = i;
      auto sent = std::move(*sample).assume_init().send();
      if (!sent || *sent != static_cast<std::size_t>(subscribers)) ++failures;
      if (overflow == Overflow::safe_overflow && i % 64 == 0) backoff.pause();
    }
    for (auto& thread : threads)
      thread.join();
    EXPECT_EQ(failures.load(), 0);
    EXPECT_EQ(publisher->chunks_in_use(), 0u);
  }
};

TEST_F(Threaded, BackpressureSpinStreamsInOrder) {
  stream(Overflow::backpressure, BackpressureWait::spin, 100'000, 1, false);
}

TEST_F(Threaded, BackpressureBlockingBothSides) {
  stream(Overflow::backpressure, BackpressureWait::block, 20'000, 1, true);
}

TEST_F(Threaded, SafeOverflowStreamsMonotonically) {
  stream(Overflow::safe_overflow, BackpressureWait::spin, 100'000, 1, false);
}

TEST_F(Threaded, FanOutToThreeThreads) {
  stream(Overflow::backpressure, BackpressureWait::block, 20'000, 3, true);
}

TEST_F(Threaded, SafeOverflowFanOutWithSleepingSubscribers) {
  stream(Overflow::safe_overflow, BackpressureWait::spin, 20'000, 2, true);
}

TEST_F(Threaded, WaitWakesUpForEachSample) {
  auto service = node().service_builder("wake").publish_subscribe<std::uint64_t>().create();
  ASSERT_TRUE(service);
  auto publisher = service->publisher_builder().create();
  auto subscriber = service->subscriber_builder().create();
  ASSERT_TRUE(publisher && subscriber);
  ASSERT_EQ(subscriber->update_connections(), 1u);
  constexpr std::uint64_t kCount = 200;
  std::atomic<std::uint64_t> received{0};
  std::thread reader([&] {
    auto deadline = std::chrono::steady_clock::now() + 30s;
    while (received < kCount && before(deadline)) {
      if (subscriber->wait(5s) != WaitResult::data_available) continue;
      while (auto sample = subscriber->receive()) {
        if (!sample->has_value()) break;
        if (**sample == received) ++received;
      }
    }
  });
  for (std::uint64_t i = 0; i < kCount; ++i) {
    // Give the reader time to fall asleep now and then, so that sleeping is exercised.
    if (i % 20 == 0) std::this_thread::sleep_for(1ms);
    while (!publisher->send_copy(i)) {
    }
    // Safe overflow with buffer 2: wait until the reader caught up, so nothing is replaced.
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (received <= i && before(deadline))
      std::this_thread::yield();
  }
  reader.join();
  EXPECT_EQ(received.load(), kCount);
}

// wake_on_send(false): send() never wakes a sleeping subscriber; notify() does, and says how many
// it woke; wakeups() counts them.
TEST_F(Threaded, WithoutWakeOnSendOnlyNotifyWakesASleeper) {
  auto service = node()
                     .service_builder("notify")
                     .publish_subscribe<std::uint64_t>()
                     .overflow(Overflow::backpressure)
                     .subscriber_max_buffer_size(64)
                     .create();
  ASSERT_TRUE(service);
  auto publisher = service->publisher_builder().wake_on_send(false).create();
  auto subscriber = service->subscriber_builder().create();
  ASSERT_TRUE(publisher && subscriber);
  ASSERT_EQ(publisher->update_connections(), 1u);
  // Nobody sleeps yet: nothing to wake.
  EXPECT_EQ(publisher->notify(), 0u);
  EXPECT_EQ(publisher->wakeups(), 0u);
  constexpr std::uint64_t kCount = 50;
  std::atomic<std::uint64_t> received{0};
  std::thread reader([&] {
    auto deadline = std::chrono::steady_clock::now() + 30s;
    while (received < kCount && before(deadline)) {
      (void)subscriber->wait(30s);
      while (auto sample = subscriber->receive()) {
        if (!sample->has_value()) break;
        if (**sample == received) ++received;
      }
    }
  });
  // The reader is asleep once a notify() finds it so (it wakes, finds nothing, sleeps again).
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (publisher->notify() == 0 && before(deadline))
    std::this_thread::sleep_for(1ms);
  EXPECT_EQ(publisher->wakeups(), 1u);
  for (std::uint64_t i = 0; i < kCount; ++i)
    ASSERT_EQ(publisher->send_copy(i).value(), 1u);
  // The sends queued and woke nobody, whether the reader slept through them or not.
  EXPECT_EQ(publisher->wakeups(), 1u);
  while (received < kCount && before(deadline)) {
    publisher->notify();
    std::this_thread::sleep_for(1ms);
  }
  reader.join();
  EXPECT_EQ(received.load(), kCount);
}

TEST_F(Threaded, OneMebibyteSlicesWithEdges) {
  constexpr std::size_t kSize = 1 << 20;
  auto service = node()
                     .service_builder("slices")
                     .publish_subscribe<std::uint8_t[]>()
                     .overflow(Overflow::backpressure)
                     .subscriber_max_buffer_size(8)
                     .create();
  ASSERT_TRUE(service);
  auto publisher = service->publisher_builder().max_slice_len(kSize).create();
  auto subscriber = service->subscriber_builder().create();
  ASSERT_TRUE(publisher && subscriber);
  ASSERT_EQ(publisher->update_connections(), 1u);
  constexpr int kCount = 5'000;
  std::atomic<int> failures{0};
  std::thread reader([&] {
    Backoff backoff;
    int next = 0;
    auto deadline = std::chrono::steady_clock::now() + 60s;
    while (next < kCount && before(deadline)) {
      auto sample = subscriber->receive();
      if (!sample || !sample->has_value()) {
        backoff.pause();
        continue;
      }
      backoff.reset();
      auto view = sample->payload();
      if (view.size() != kSize || view.front() != static_cast<std::uint8_t>(next) ||
          view.back() != static_cast<std::uint8_t>(next)) {
        ++failures;
      }
      ++next;
    }
    if (next != kCount) ++failures;
  });
  for (int i = 0; i < kCount; ++i) {
    auto sample = publisher->loan_slice_uninit(kSize);
    ASSERT_TRUE(sample);
    sample->payload_mut().front() = static_cast<std::uint8_t>(i);
    sample->payload_mut().back() = static_cast<std::uint8_t>(i);
    ASSERT_TRUE(std::move(*sample).assume_init().send());
  }
  reader.join();
  EXPECT_EQ(failures.load(), 0);
}

}  // namespace
}  // namespace zerocopy::testing

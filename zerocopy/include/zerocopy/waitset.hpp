// WaitSet: waits for whichever of many things is ready first (iceoryx2's WaitSet is the model):
// subscribers and listeners with samples or events, plain file descriptors, intervals, and
// deadlines (an attachment that stays silent too long). One thread, one epoll descriptor, no
// spinning.
//
//   auto waitset = zerocopy::WaitSet::create().value();
//   auto on_pose = waitset.attach_notification(pose_subscriber).value();
//   auto tick = waitset.attach_interval(100ms).value();
//   auto late = waitset.attach_deadline(heartbeat_listener, 1s).value();
//   waitset.wait_and_process([&](zerocopy::WaitSetAttachmentId id) {
//     if (id.has_event_from(on_pose)) {
//       while (auto sample = pose_subscriber.receive().value()) use(sample->x);
//     }
//     if (id.has_event_from(tick)) publish_status();
//     if (id.has_missed_deadline(late)) raise_alarm();
//     return zerocopy::CallbackProgression::proceed;
//   }).value();
//
// A subscriber (or listener) is reported while it may have something to take: take it (receive()
// until it returns nothing), or it is reported again on the next wait. Reports may be spurious
// (a sample taken in between); they are never missed.
//
// Guards detach when destroyed. A guard must be destroyed before the subscriber, listener or
// descriptor it watches; the WaitSet itself may go first. A WaitSet belongs to one thread at a
// time.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "zerocopy/error.hpp"
#include "zerocopy/expected.hpp"
#include "zerocopy/subscriber.hpp"

namespace zerocopy {

namespace detail {
struct WaitSetImpl;
enum class WaitSetReady : std::uint8_t { event, missed_deadline };
struct WaitSetFired {
  std::uint64_t id;
  WaitSetReady kind;
};
}  // namespace detail

enum class CallbackProgression { stop, proceed };

enum class WaitSetRunResult {
  all_events_handled,   // one wait's ready attachments were all passed to the callback
  stop_request,         // the callback returned CallbackProgression::stop
  timeout,              // wait_and_process_once: nothing was ready before the timeout
  interrupted,          // a signal interrupted the wait
  termination_request,  // SIGINT or SIGTERM arrived (after install_termination_handler())
};

class WaitSet;

// Detaches its attachment when destroyed. Move-only.
class WaitSetGuard {
 public:
  WaitSetGuard(WaitSetGuard&& other) noexcept
      : m_set(std::move(other.m_set)), m_id(std::exchange(other.m_id, 0)) {}
  WaitSetGuard& operator=(WaitSetGuard&& other) noexcept {
    if (this != &other) {
      reset();
      m_set = std::move(other.m_set);
      m_id = std::exchange(other.m_id, 0);
    }
    return *this;
  }
  ~WaitSetGuard() { reset(); }
  std::uint64_t id() const noexcept { return m_id; }

 private:
  WaitSetGuard(std::weak_ptr<detail::WaitSetImpl> set, std::uint64_t id)
      : m_set(std::move(set)), m_id(id) {}
  void reset() noexcept;
  friend class WaitSet;

  std::weak_ptr<detail::WaitSetImpl> m_set;
  std::uint64_t m_id = 0;
};

// What the callback is told: which attachment is ready, and why.
class WaitSetAttachmentId {
 public:
  // A notification (samples, events, a readable descriptor) or an interval's tick.
  bool has_event_from(const WaitSetGuard& guard) const noexcept {
    return m_id == guard.id() && m_kind == detail::WaitSetReady::event;
  }
  // A deadline attachment stayed silent for its whole period.
  bool has_missed_deadline(const WaitSetGuard& guard) const noexcept {
    return m_id == guard.id() && m_kind == detail::WaitSetReady::missed_deadline;
  }
  std::uint64_t id() const noexcept { return m_id; }

 private:
  explicit WaitSetAttachmentId(detail::WaitSetFired fired) : m_id(fired.id), m_kind(fired.kind) {}
  friend class WaitSet;
  std::uint64_t m_id;
  detail::WaitSetReady m_kind;
};

class WaitSet {
 public:
  static Expected<WaitSet, Error<WaitSetError>> create();

  // A Subscriber: reported while it may have samples (or an error) to receive, or when a
  // publisher connected or left. A Listener: while it may have events. (Anything with
  // notification_fd().)
  template <class Source>
  Expected<WaitSetGuard, Error<WaitSetError>> attach_notification(
      Source& source) requires requires {
    source.notification_fd();
  }
  {
    auto fd = source.notification_fd();
    if (!fd) return unexpected(std::move(fd).error());
    return attach_fd(*fd, 0);
  }
  // Reported while `fd` is readable (level-triggered, as poll). The descriptor stays the
  // caller's.
  Expected<WaitSetGuard, Error<WaitSetError>> attach_notification(int fd) {
    return attach_fd(fd, 0);
  }
  // As attach_notification, plus has_missed_deadline when nothing arrived for `deadline` (the
  // clock restarts at every notification and every miss).
  template <class Source>
  Expected<WaitSetGuard, Error<WaitSetError>> attach_deadline(
      Source& source, std::chrono::nanoseconds deadline) requires requires {
    source.notification_fd();
  }
  {
    auto fd = source.notification_fd();
    if (!fd) return unexpected(std::move(fd).error());
    return attach_fd(*fd, deadline.count());
  }
  Expected<WaitSetGuard, Error<WaitSetError>> attach_deadline(int fd,
                                                              std::chrono::nanoseconds deadline) {
    return attach_fd(fd, deadline.count());
  }
  // Reported every `period` (a tick missed while nobody waited is reported once).
  Expected<WaitSetGuard, Error<WaitSetError>> attach_interval(std::chrono::nanoseconds period);

  // Waits until at least one attachment is ready or `timeout` passes, then calls
  // fn(WaitSetAttachmentId) for each ready one (fn returns CallbackProgression).
  template <class F>
  Expected<WaitSetRunResult, Error<WaitSetError>> wait_and_process_once(
      F&& fn, std::chrono::nanoseconds timeout = std::chrono::nanoseconds::max()) {
    auto waited = wait(timeout.count());
    if (!waited) return unexpected(std::move(waited).error());
    if (*waited != WaitSetRunResult::all_events_handled) return *waited;
    for (const detail::WaitSetFired& fired : m_fired) {
      if (fn(WaitSetAttachmentId(fired)) == CallbackProgression::stop) {
        return WaitSetRunResult::stop_request;
      }
    }
    return WaitSetRunResult::all_events_handled;
  }
  // Repeats wait_and_process_once until the callback says stop, a termination signal arrives
  // or a signal interrupts the wait.
  template <class F>
  Expected<WaitSetRunResult, Error<WaitSetError>> wait_and_process(F&& fn) {
    for (;;) {
      auto result = wait_and_process_once(fn);
      if (!result || (*result != WaitSetRunResult::all_events_handled &&
                      *result != WaitSetRunResult::timeout)) {
        return result;
      }
    }
  }

  // Attachments currently attached.
  std::size_t len() const noexcept;
  bool is_empty() const noexcept { return len() == 0; }

 private:
  explicit WaitSet(std::shared_ptr<detail::WaitSetImpl> impl) : m_impl(std::move(impl)) {}
  Expected<WaitSetGuard, Error<WaitSetError>> attach_fd(int fd, std::int64_t deadline_ns);
  Expected<WaitSetRunResult, Error<WaitSetError>> wait(std::int64_t timeout_ns);

  std::shared_ptr<detail::WaitSetImpl> m_impl;
  std::vector<detail::WaitSetFired> m_fired;
};

}  // namespace zerocopy

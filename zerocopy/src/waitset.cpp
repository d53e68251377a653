// WaitSet: one epoll descriptor. A notification is the watched descriptor itself (level-
// triggered); an interval is a periodic timerfd; a deadline is the watched descriptor plus a
// timerfd that every notification re-arms. epoll_event.data carries (id << 1) | is_timer.
#include "zerocopy/waitset.hpp"

#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>

#include "zerocopy/node.hpp"

namespace zerocopy {
namespace detail {

struct WaitSetImpl {
  struct Attachment {
    int fd = -1;     // watched (not ours), or -1 for an interval
    int timer = -1;  // ours: the interval's or the deadline's timerfd
    std::int64_t period_ns = 0;
  };

  ~WaitSetImpl() {
    for (auto& [id, attachment] : attachments) {
      if (attachment.timer >= 0) ::close(attachment.timer);
    }
    if (epoll >= 0) ::close(epoll);
  }

  void detach(std::uint64_t id) noexcept {
    std::lock_guard lock(mutex);
    auto found = attachments.find(id);
    if (found == attachments.end()) return;
    if (found->second.fd >= 0) ::epoll_ctl(epoll, EPOLL_CTL_DEL, found->second.fd, nullptr);
    if (found->second.timer >= 0) ::close(found->second.timer);  // leaves the epoll set
    attachments.erase(found);
  }

  int epoll = -1;
  std::uint64_t next_id = 1;
  // Guards may be destroyed on another thread than the one waiting.
  std::mutex mutex;
  std::map<std::uint64_t, Attachment> attachments;
};

}  // namespace detail

namespace {

Error<WaitSetError> system_error(const char* what) {
  int err = errno;
  return Error<WaitSetError>{WaitSetError::system, std::string(what) + ": " + std::strerror(err)};
}

bool arm_timer(int timer, std::int64_t period_ns) {
  itimerspec spec{};
  spec.it_value.tv_sec = static_cast<time_t>(period_ns / 1'000'000'000);
  spec.it_value.tv_nsec = static_cast<long>(period_ns % 1'000'000'000);
  spec.it_interval = spec.it_value;
  return ::timerfd_settime(timer, 0, &spec, nullptr) == 0;
}

int new_timer(std::int64_t period_ns) {
  int timer = ::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (timer < 0) return -1;
  if (!arm_timer(timer, period_ns)) {
    ::close(timer);
    return -1;
  }
  return timer;
}

}  // namespace

void WaitSetGuard::reset() noexcept {
  if (auto set = m_set.lock(); set && m_id != 0) set->detach(m_id);
  m_set.reset();
  m_id = 0;
}

Expected<WaitSet, Error<WaitSetError>> WaitSet::create() {
  auto impl = std::make_shared<detail::WaitSetImpl>();
  impl->epoll = ::epoll_create1(EPOLL_CLOEXEC);
  if (impl->epoll < 0) return unexpected(system_error("epoll_create1"));
  return WaitSet(std::move(impl));
}

std::size_t WaitSet::len() const noexcept {
  std::lock_guard lock(m_impl->mutex);
  return m_impl->attachments.size();
}

Expected<WaitSetGuard, Error<WaitSetError>> WaitSet::attach_fd(int fd, std::int64_t deadline_ns) {
  if (fd < 0 || deadline_ns < 0) {
    return unexpected(
        Error<WaitSetError>{WaitSetError::invalid_argument, "a negative descriptor or deadline"});
  }
  std::lock_guard lock(m_impl->mutex);
  std::uint64_t id = m_impl->next_id++;
  detail::WaitSetImpl::Attachment attachment{.fd = fd, .period_ns = deadline_ns};
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.u64 = id << 1;
  if (::epoll_ctl(m_impl->epoll, EPOLL_CTL_ADD, fd, &event) != 0) {
    return unexpected(system_error("epoll_ctl(ADD) of the descriptor"));
  }
  if (deadline_ns > 0) {
    attachment.timer = new_timer(deadline_ns);
    event.data.u64 = (id << 1) | 1;
    if (attachment.timer < 0 ||
        ::epoll_ctl(m_impl->epoll, EPOLL_CTL_ADD, attachment.timer, &event) != 0) {
      auto error = system_error("the deadline's timerfd");
      ::epoll_ctl(m_impl->epoll, EPOLL_CTL_DEL, fd, nullptr);
      if (attachment.timer >= 0) ::close(attachment.timer);
      return unexpected(std::move(error));
    }
  }
  m_impl->attachments.emplace(id, attachment);
  return WaitSetGuard(m_impl, id);
}

Expected<WaitSetGuard, Error<WaitSetError>> WaitSet::attach_interval(
    std::chrono::nanoseconds period) {
  if (period.count() <= 0) {
    return unexpected(
        Error<WaitSetError>{WaitSetError::invalid_argument, "an interval must be positive"});
  }
  std::lock_guard lock(m_impl->mutex);
  std::uint64_t id = m_impl->next_id++;
  detail::WaitSetImpl::Attachment attachment{.period_ns = period.count()};
  attachment.timer = new_timer(period.count());
  if (attachment.timer < 0) return unexpected(system_error("timerfd"));
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.u64 = (id << 1) | 1;
  if (::epoll_ctl(m_impl->epoll, EPOLL_CTL_ADD, attachment.timer, &event) != 0) {
    auto error = system_error("epoll_ctl(ADD) of the interval's timerfd");
    ::close(attachment.timer);
    return unexpected(std::move(error));
  }
  m_impl->attachments.emplace(id, attachment);
  return WaitSetGuard(m_impl, id);
}

Expected<WaitSetRunResult, Error<WaitSetError>> WaitSet::wait(std::int64_t timeout_ns) {
  m_fired.clear();
  if (termination_requested()) return WaitSetRunResult::termination_request;
  int timeout_ms = -1;
  if (timeout_ns != std::chrono::nanoseconds::max().count()) {
    // Rounded up: a wait never ends before its timeout.
    std::int64_t ms = (std::max<std::int64_t>(timeout_ns, 0) + 999'999) / 1'000'000;
    timeout_ms = static_cast<int>(std::min<std::int64_t>(ms, 0x7fffffff));
  }
  for (;;) {
    epoll_event events[64];
    int count = ::epoll_wait(m_impl->epoll, events, 64, timeout_ms);
    if (count < 0) {
      if (errno != EINTR) return unexpected(system_error("epoll_wait"));
      return termination_requested() ? WaitSetRunResult::termination_request
                                     : WaitSetRunResult::interrupted;
    }
    if (count == 0) return WaitSetRunResult::timeout;
    std::lock_guard lock(m_impl->mutex);
    // Notifications first: a deadline whose source also fired in this round did not miss.
    for (int i = 0; i < count; ++i) {
      std::uint64_t id = events[i].data.u64 >> 1;
      if ((events[i].data.u64 & 1) != 0) continue;
      auto found = m_impl->attachments.find(id);
      if (found == m_impl->attachments.end()) continue;  // detached meanwhile
      if (found->second.timer >= 0) arm_timer(found->second.timer, found->second.period_ns);
      m_fired.push_back({id, detail::WaitSetReady::event});
    }
    for (int i = 0; i < count; ++i) {
      std::uint64_t id = events[i].data.u64 >> 1;
      if ((events[i].data.u64 & 1) == 0) continue;
      auto found = m_impl->attachments.find(id);
      if (found == m_impl->attachments.end()) continue;
      std::uint64_t expirations = 0;
      // Nothing to read: re-armed by a notification above after epoll saw it expire.
      if (::read(found->second.timer, &expirations, sizeof expirations) != sizeof expirations) {
        continue;
      }
      m_fired.push_back({id, found->second.fd >= 0 ? detail::WaitSetReady::missed_deadline
                                                   : detail::WaitSetReady::event});
    }
    // Only stale timer wake-ups: wait again (a tiny overrun of a finite timeout at worst).
    if (!m_fired.empty()) break;
  }
  return WaitSetRunResult::all_events_handled;
}

}  // namespace zerocopy

// sysv-mq: System V message queues (msgget/msgsnd/msgrcv), two of them: "<token>-a" (producer to
// consumer) and "<token>-b" (back), each made by the consumer in listen() with a key hashed from
// its name, mode 0600, and a marker as its first message (transports/sysv_queue.hpp: how the
// harness's sweep proves a queue is ipcbench's). The producer finds them by key and checks the
// marker. Messages are of type kDataType, fragmented beyond the kernel's limit
// (transports/message_queue.hpp); the two sides exchange process ids in a hello, and a waiting
// side watches the peer's /proc entry.
//
// Removal: a System V queue has no name to unlink early: IPC_RMID destroys it at once, with the
// messages in it, under a peer that may still read them. So each side, when it is destroyed,
// removes the queue it reads (nobody else needs it: a peer still writing learns that we are gone,
// EIDRM), and leaves the one it writes to the peer, which reads it and removes it in turn;
// unless the peer is dead, or never came (the consumer made the queues): then it removes both.
// The harness's sweep removes what a killed cell left.
//
// Limits, /proc/sys/kernel: msgmax (the largest message, 8 KiB by default) and msgmnb (the bytes
// a queue holds, 16 KiB): a queue message carries min(msgmax, half of msgmnb less the marker),
// so that two fit at once, and a queue holds at most the cell's queue depth of them (msg_qbytes
// lowered to fit, which needs no privilege). Not exceeded even by root.
//
// Waiting: a try is IPC_NOWAIT. System V has no timed msgrcv/msgsnd, so blocking is the plain
// blocking call bounded by a timer: a per-thread POSIX timer (CLOCK_MONOTONIC, SIGEV_THREAD_ID)
// signals this thread, whose handler does nothing and is installed without SA_RESTART, and the
// call returns EINTR (System V calls are never restarted, signal(7)). The timer repeats until it
// is disarmed, so an expiry that comes before the call has started is followed by one that
// interrupts it. The kernel wakes the sleeper when a message comes, as any blocking call; the
// price is two timer_settime calls around each blocking wait (none when a try succeeds first).
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstring>
#include <ctime>

#include "transports/message_queue.hpp"
#include "transports/sysv_queue.hpp"

namespace ipcbench {
namespace {

constexpr std::size_t kPrefix = sizeof(long);  // the message type in front of each message

QueueLimits limits() {
  return QueueLimits::read("/proc/sys/kernel", "msgmax", "msgmnb", {8192, 16384, ""});
}

std::string queue_name(const Endpoint& endpoint, const char* side) {
  return endpoint.token + side;
}

// The largest queue message for this cell (its type included): two fit in a queue beside the
// marker.
std::size_t queue_message_limit(const Endpoint& endpoint) {
  const QueueLimits l = limits();
  const std::size_t marker = queue_name(endpoint, "-a").size();
  const std::size_t half = l.queue > marker ? (l.queue - marker) / 2 : 0;
  return kPrefix + (std::min(l.message, half) & ~std::size_t{7});
}

// Bounds a blocking System V call (the comment at the top).
class CallBound {
 public:
  ~CallBound() {
    if (m_made) ::timer_delete(m_timer);
  }

  Result<void> make() {
    static const int installed = [] {
      struct sigaction sa {};
      sa.sa_handler = [](int) {};
      sigemptyset(&sa.sa_mask);
      sa.sa_flags = 0;  // no SA_RESTART
      return ::sigaction(signal_number(), &sa, nullptr);
    }();
    if (installed != 0) return fail(Errc::system, "sigaction for the call timer");
    sigevent ev{};
    ev.sigev_notify = SIGEV_THREAD_ID;
    ev.sigev_signo = signal_number();
    ev._sigev_un._tid = static_cast<pid_t>(::syscall(SYS_gettid));
    if (::timer_create(CLOCK_MONOTONIC, &ev, &m_timer) != 0) {
      return fail_errno(Errc::system, "timer_create");
    }
    m_made = true;
    return {};
  }

  void arm(std::int64_t ns) { set(std::max<std::int64_t>(ns, 1)); }
  void disarm() { set(0); }

 private:
  static int signal_number() { return SIGRTMAX - 1; }

  void set(std::int64_t ns) {
    itimerspec spec{};
    spec.it_value = {static_cast<time_t>(ns / 1'000'000'000),
                     static_cast<long>(ns % 1'000'000'000)};
    spec.it_interval = spec.it_value;
    ::timer_settime(m_timer, 0, &spec, nullptr);
  }

  timer_t m_timer{};
  bool m_made = false;
};

class SysvMqTransport final : public QueueTransport {
 public:
  explicit SysvMqTransport(const Endpoint& endpoint)
      : QueueTransport(endpoint, queue_message_limit(endpoint), kPrefix, true) {}

  ~SysvMqTransport() override {
    remove(m_in, m_in_name);
    const bool orphaned = peer().watching() ? peer().gone_now() : m_created;
    if (orphaned) remove(m_out, m_out_name);
  }

  Result<std::string> listen() override {
    if (auto ok = m_bound.make(); !ok) return std::unexpected(ok.error());
    const std::size_t message = queue_message_limit(endpoint()) - kPrefix;
    for (auto [id, name] : {std::pair{&m_in, &m_in_name}, std::pair{&m_out, &m_out_name}}) {
      *id = ::msgget(sysv::queue_key(*name), IPC_CREAT | IPC_EXCL | 0600);
      if (*id < 0) return fail_errno(Errc::resource, "msgget " + *name);
      m_created = true;
      if (int err = sysv::put_marker(*id, *name); err != 0) {
        return fail_errno(Errc::resource, "marker for " + *name, err);
      }
      // Hold no more than the cell's queue depth (lowering needs no privilege).
      msqid_ds ds{};
      if (::msgctl(*id, IPC_STAT, &ds) != 0) return fail_errno(Errc::system, "msgctl IPC_STAT");
      const std::size_t depth = std::max<std::size_t>(endpoint().queue_depth, 1);
      const std::size_t want = name->size() + depth * message;
      if (want < ds.msg_qbytes) {
        ds.msg_qbytes = want;
        if (::msgctl(*id, IPC_SET, &ds) != 0) return fail_errno(Errc::system, "msgctl IPC_SET");
      }
    }
    return std::string{};
  }

  Result<void> connect(std::string_view) override {
    if (endpoint().role == Role::consumer) {
      if (auto ok = receive_hello(); !ok) return ok;
      return send_hello();
    }
    if (auto ok = m_bound.make(); !ok) return ok;
    for (auto [id, name] : {std::pair{&m_in, &m_in_name}, std::pair{&m_out, &m_out_name}}) {
      *id = ::msgget(sysv::queue_key(*name), 0);
      if (*id < 0) return fail_errno(Errc::resource, "msgget " + *name);
      if (sysv::proven_name(*id) != *name) {
        *id = -1;
        return fail(Errc::resource, "the queue with the key of " + *name + " is not it");
      }
    }
    if (auto ok = send_hello(); !ok) return ok;
    return receive_hello();
  }

 private:
  Result<bool> put(std::span<std::byte> message, std::int64_t max_ns) override {
    std::memcpy(message.data(), &sysv::kDataType, kPrefix);
    const std::size_t size = message.size() - kPrefix;
    int rc;
    if (max_ns < 0) {
      rc = ::msgsnd(m_out, message.data(), size, IPC_NOWAIT);
    } else {
      m_bound.arm(max_ns);
      rc = ::msgsnd(m_out, message.data(), size, 0);
      const int err = errno;
      m_bound.disarm();
      errno = err;
    }
    return done(rc, "msgsnd");
  }

  Result<bool> take(std::span<std::byte> into, std::size_t& got, std::int64_t max_ns) override {
    const std::size_t size = into.size() - kPrefix;
    ssize_t n;
    if (max_ns < 0) {
      n = ::msgrcv(m_in, into.data(), size, sysv::kDataType, IPC_NOWAIT);
    } else {
      m_bound.arm(max_ns);
      n = ::msgrcv(m_in, into.data(), size, sysv::kDataType, 0);
      const int err = errno;
      m_bound.disarm();
      errno = err;
    }
    if (n >= 0) got = static_cast<std::size_t>(n) + kPrefix;
    return done(n < 0 ? -1 : 0, "msgrcv");
  }

  static Result<bool> done(int rc, const char* call) {
    if (rc == 0) return true;
    if (errno == EAGAIN || errno == ENOMSG || errno == EINTR) return false;
    // The queue was removed: by the consumer, done, or by the sweep after it was killed.
    if (errno == EIDRM || errno == EINVAL) return fail_errno(Errc::peer_gone, call);
    return fail_errno(Errc::system, call);
  }

  // Removes queue `id` if it is still the one named `name` (an id can be reused).
  static void remove(int id, const std::string& name) {
    if (id >= 0 && sysv::proven_name(id) == name) ::msgctl(id, IPC_RMID, nullptr);
  }

  // a: producer to consumer, b: back.
  std::string m_in_name = queue_name(endpoint(), endpoint().role == Role::consumer ? "-a" : "-b");
  std::string m_out_name = queue_name(endpoint(), endpoint().role == Role::consumer ? "-b" : "-a");
  int m_in = -1;
  int m_out = -1;
  bool m_created = false;
  CallBound m_bound;
};

MachineFacts facts() {
  return {.description =
              "System V message queue pair (msgget, key hashed from the cell's name, 0600, removed "
              "after the cell); copies in and out; a dead peer is found by its pid; block = "
              "msgrcv/msgsnd bounded by a timer signal; " +
              limits().describe(" B"),
          .unavailable = {}};
}

// What a killed process left: the queues proven ipcbench's (transports/sysv_queue.hpp) whose name
// `doomed` accepts.
int sweep_queues(const std::function<bool(const std::string&)>& doomed) {
  int removed = 0;
  for (int id : sysv::queue_ids()) {
    auto name = sysv::proven_name(id);
    if (name && doomed(*name) && ::msgctl(id, IPC_RMID, nullptr) == 0) ++removed;
  }
  return removed;
}

}  // namespace

extern const TransportInfo sysv_mq_driver{
    .name = "sysv-mq",
    .description =
        "System V message queue pair (msgget); copies in and out; larger messages than "
        "msgmax fragmented",
    .capabilities = [] { return Capabilities{.native_wait = WaitMode::block}; },
    .make = make_transport<SysvMqTransport>,
    .here = facts,
    .sweep_named = sweep_queues};

}  // namespace ipcbench

// posix-mq: POSIX message queues (mq_overview(7)), two of them: "/<token>-a" (producer to
// consumer) and "/<token>-b" (back), created 0600 by the consumer in listen(), opened by the
// producer in connect(). Each side holds two descriptors per queue: one O_NONBLOCK, for a try
// (mq_send/mq_receive), and one blocking, for mq_timedsend/mq_timedreceive, the bounded blocking
// attempt. Once the consumer has the producer's hello both sides have both queues open, and it
// unlinks the names; either side unlinks them again when destroyed (idempotent), so a side killed
// after set-up leaves nothing behind, and the harness's sweep removes what one killed during
// set-up left (from /dev/mqueue, where the queues show as files when it is mounted).
//
// The kernel's limits, /proc/sys/fs/mqueue: msgsize_max (the largest message, 8 KiB by default)
// and msg_max (the messages a queue holds, 10). The queues are made within them: messages of
// min(msgsize_max, what the cell needs), min(queue depth, msg_max) of them; a longer message goes
// as fragments (transports/message_queue.hpp). A process with CAP_SYS_RESOURCE may exceed them;
// ipcbench does not, so that root measures what every user gets. Also RLIMIT_MSGQUEUE (bytes of
// queues per user: 800 KiB by default) and queues_max (256 queues).
//
// Settings (--set): `msgsize` (a queue message's size, 64 B, room for a fragment's header and the
// hello, to msgsize_max) and `maxmsg` (the messages a queue holds, 1 to msg_max), for both
// queues; within the same /proc limits, for the same reason. Both queues count against
// RLIMIT_MSGQUEUE: a pair too large for it fails the cell with mq_open's EMFILE.
#include <fcntl.h>
#include <mqueue.h>
#include <time.h>

#include <algorithm>

#include "transports/message_queue.hpp"

namespace ipcbench {
namespace {

QueueLimits limits() {
  return QueueLimits::read("/proc/sys/fs/mqueue", "msgsize_max", "msg_max", {8192, 10, ""});
}

constexpr std::size_t kMinMsgsize = 64;  // a fragment's header and the hello (QueueTransport)

std::vector<OptionSpec> options() {
  const QueueLimits l = limits();
  const std::string beyond = "; CAP_SYS_RESOURCE could go beyond, ipcbench does not";
  return {{.name = "msgsize",
           .description = "each queue's message size (mq_attr.mq_msgsize); longer messages go "
                          "as fragments",
           .unit = OptionUnit::bytes,
           .min = kMinMsgsize,
           .max = l.message,
           .max_source = "/proc/sys/fs/mqueue/msgsize_max" + beyond,
           .default_text = "the cell's message and a fragment header, at most msgsize_max"},
          {.name = "maxmsg",
           .description = "the messages each queue holds (mq_attr.mq_maxmsg)",
           .unit = OptionUnit::count,
           .min = 1,
           .max = l.queue,
           .max_source = "/proc/sys/fs/mqueue/msg_max" + beyond,
           .default_text = "the cell's queue depth, at most msg_max"}};
}

timespec realtime_in(std::int64_t ns) {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);  // the clock mq_timed* take
  ns += ts.tv_nsec;
  ts.tv_sec += static_cast<time_t>(ns / 1'000'000'000);
  ts.tv_nsec = static_cast<long>(ns % 1'000'000'000);
  return ts;
}

// One queue as this side holds it: on Linux a queue descriptor is a file descriptor.
struct Queue {
  std::string name;
  UniqueFd try_fd;    // O_NONBLOCK
  UniqueFd block_fd;  // blocking: mq_timed* only
};

class PosixMqTransport final : public QueueTransport {
 public:
  explicit PosixMqTransport(const Endpoint& endpoint)
      : PosixMqTransport(endpoint,
                         endpoint.option("msgsize").value_or(
                             QueueTransport::queue_message_bytes(endpoint, 0, limits().message))) {}

  ~PosixMqTransport() override {
    m_out = {};
    m_in = {};
    unlink_names();
  }

  Result<std::string> listen() override {
    mq_attr attr{};
    attr.mq_maxmsg = static_cast<long>(endpoint().option("maxmsg").value_or(
        std::clamp<std::size_t>(endpoint().queue_depth, 1, limits().queue)));
    attr.mq_msgsize = static_cast<long>(m_msgsize);
    for (auto [queue, side] : {std::pair{&m_in, "-a"}, std::pair{&m_out, "-b"}}) {
      queue->name = "/" + endpoint().token + side;
      int fd = ::mq_open(queue->name.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600, &attr);
      if (fd < 0) {
        return fail_errno(Errc::resource, "mq_open " + queue->name + " (" +
                                              std::to_string(attr.mq_maxmsg) + " messages of " +
                                              std::to_string(m_msgsize) + " bytes)");
      }
      queue->block_fd = UniqueFd(fd);
      if (auto ok = open_try(*queue, O_RDWR); !ok) return std::unexpected(ok.error());
    }
    return std::string{};
  }

  Result<void> connect(std::string_view) override {
    if (endpoint().role == Role::consumer) {
      if (auto ok = receive_hello(); !ok) return ok;
      unlink_names();  // both sides have both queues open: the names are no longer needed
      return send_hello();
    }
    for (auto [queue, side, mode] :
         {std::tuple{&m_out, "-a", O_WRONLY}, std::tuple{&m_in, "-b", O_RDONLY}}) {
      queue->name = "/" + endpoint().token + side;
      int fd = ::mq_open(queue->name.c_str(), mode | O_CLOEXEC);
      if (fd < 0) return fail_errno(Errc::resource, "mq_open " + queue->name);
      queue->block_fd = UniqueFd(fd);
      mq_attr attr{};
      if (::mq_getattr(fd, &attr) != 0) return fail_errno(Errc::system, "mq_getattr");
      if (attr.mq_msgsize != static_cast<long>(m_msgsize)) {
        return fail(Errc::resource, queue->name + " takes messages of " +
                                        std::to_string(attr.mq_msgsize) + " bytes, not " +
                                        std::to_string(m_msgsize));
      }
      if (auto ok = open_try(*queue, mode); !ok) return ok;
    }
    if (auto ok = send_hello(); !ok) return ok;
    return receive_hello();
  }

  // The producer's report of the queue it sends on, as the kernel made it.
  // A queue descriptor is a file descriptor on Linux: epoll says when a message is queued.
  int readable_fd() override { return m_in.try_fd.get(); }

  std::vector<OptionValue> granted_options() const override {
    mq_attr attr{};
    if (endpoint().role != Role::producer || !m_out.block_fd ||
        ::mq_getattr(m_out.block_fd.get(), &attr) != 0) {
      return {};
    }
    std::vector<OptionValue> out;
    if (endpoint().option("msgsize")) {
      out.push_back({"msgsize", static_cast<std::uint64_t>(attr.mq_msgsize)});
    }
    if (endpoint().option("maxmsg")) {
      out.push_back({"maxmsg", static_cast<std::uint64_t>(attr.mq_maxmsg)});
    }
    return out;
  }

 private:
  PosixMqTransport(const Endpoint& endpoint, std::size_t msgsize)
      : QueueTransport(endpoint, msgsize, 0, false), m_msgsize(msgsize) {}

  // The queue's second descriptor, for tries.
  static Result<void> open_try(Queue& queue, int mode) {
    int fd = ::mq_open(queue.name.c_str(), mode | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return fail_errno(Errc::resource, "mq_open " + queue.name);
    queue.try_fd = UniqueFd(fd);
    return {};
  }

  Result<bool> put(std::span<std::byte> message, std::int64_t max_ns) override {
    const auto* bytes = reinterpret_cast<const char*>(message.data());
    int rc;
    if (max_ns < 0) {
      rc = ::mq_send(m_out.try_fd.get(), bytes, message.size(), 0);
    } else {
      const timespec until = realtime_in(max_ns);
      rc = ::mq_timedsend(m_out.block_fd.get(), bytes, message.size(), 0, &until);
    }
    return done(rc, "mq_send");
  }

  Result<bool> take(std::span<std::byte> into, std::size_t& got, std::int64_t max_ns) override {
    auto* bytes = reinterpret_cast<char*>(into.data());
    ssize_t n;
    if (max_ns < 0) {
      n = ::mq_receive(m_in.try_fd.get(), bytes, into.size(), nullptr);
    } else {
      const timespec until = realtime_in(max_ns);
      n = ::mq_timedreceive(m_in.block_fd.get(), bytes, into.size(), nullptr, &until);
    }
    if (n >= 0) got = static_cast<std::size_t>(n);
    return done(n < 0 ? -1 : 0, "mq_receive");
  }

  static Result<bool> done(int rc, const char* call) {
    if (rc == 0) return true;
    if (errno == EAGAIN || errno == ETIMEDOUT || errno == EINTR) return false;
    return fail_errno(Errc::system, call);
  }

  void unlink_names() {
    // The consumer made them; the producer's unlink is for a consumer killed during set-up.
    for (const Queue* queue : {&m_in, &m_out}) {
      if (!queue->name.empty()) ::mq_unlink(queue->name.c_str());  // ENOENT when gone: fine
    }
  }

  std::size_t m_msgsize;
  Queue m_in;
  Queue m_out;
};

MachineFacts facts() {
  return {.description =
              "POSIX message queue pair (mq_open), created 0600, names unlinked once both are "
              "open; copies in and out; a dead peer is found by its pid; " +
              limits().describe(""),
          .unavailable = {}};
}

}  // namespace

extern const TransportInfo posix_mq_driver{
    .name = "posix-mq",
    .description =
        "POSIX message queue pair (mq_open); copies in and out; larger messages than "
        "msgsize_max fragmented",
    .capabilities = [] { return Capabilities{.native_wait = WaitMode::block, .pollable = true}; },
    .make = make_transport<PosixMqTransport>,
    .here = facts,
    .options = options};

}  // namespace ipcbench

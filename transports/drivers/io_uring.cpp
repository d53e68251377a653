// io-uring: a Unix domain stream socket (path in the cell's private directory, the frames of
// transports/stream_channel.hpp) whose sends and receives are io_uring operations (liburing)
// instead of send/recv calls.
//
// Submission batching: send() submits its SEND (MSG_WAITALL: the kernel finishes a partial send
// itself) together with the RECEIVE for the next message, armed ahead when nothing is buffered:
// one io_uring_enter for both, and the answer lands in the buffer without another call. A
// receive that finds nothing armed and nothing buffered arms one (submitted with its wait). The
// SEND's completion is reaped later; the next loan waits for it, since the frame's memory is the
// same (one send in flight: two would not keep their order on the socket).
//
// Waiting (base/wait.hpp), for a completion: spin polls the completion queue, a load from memory
// shared with the kernel, no system call per poll (when the kernel has a completion to post, it
// raises a flag in the ring and the poll enters the kernel once to have it posted:
// IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG); block waits in io_uring_enter with a
// timeout (submitting and waiting in one call); adaptive spins, then blocks. A receive that gives
// up (the timeout, destruction) is cancelled and reaped before its buffer may go. A peer that
// leaves is the receive's end of file, or a send's EPIPE: Errc::peer_gone.
#include <liburing.h>

#include <cstring>
#include <limits>
#include <vector>

#include "transports/driver_options.hpp"
#include "transports/socket_util.hpp"
#include "transports/stream_channel.hpp"

namespace ipcbench {
namespace {

constexpr std::size_t kHeader = sizeof(StreamFrameHeader);
constexpr std::size_t kReadAhead = 64 * 1024;  // room past the largest frame, as StreamTransport
constexpr unsigned kEntries = 8;               // this transport has at most three ops at a time

enum Tag : std::uint64_t { kSend = 1, kReceive = 2, kCancel = 3 };

struct Op {
  bool busy = false;  // submitted (or about to be), not yet completed
  bool done = false;  // completed, outcome not yet taken
  int result = 0;
};

Errc error_code(int err) {
  return err == EPIPE || err == ECONNRESET || err == ENOTCONN ? Errc::peer_gone : Errc::system;
}

class IoUringTransport final : public Transport {
 public:
  explicit IoUringTransport(const Endpoint& endpoint)
      : m_endpoint(endpoint),
        m_tx(kHeader + endpoint.max_message_bytes),
        m_rx(kHeader + endpoint.max_message_bytes + kReadAhead) {}

  ~IoUringTransport() override {
    if (!m_ready) return;
    if (m_send.busy) (void)await(m_send, "the last send");
    cancel_receive();
    io_uring_queue_exit(&m_ring);
  }

  Result<std::string> listen() override {
    return m_connection.listen(m_endpoint.dir + "/io-uring.sock");
  }

  Result<void> connect(std::string_view peer_address) override {
    auto ok = m_connection.connect(m_endpoint.role, peer_address, m_endpoint.timeout);
    if (!ok) return ok;
    // A Unix socket's buffer counts from the first send: set now, it is as if set before.
    if (auto set = apply_socket_buffers(m_connection.fd(), m_endpoint); !set) return set;
    // Completions are posted by task work, run when this thread enters the kernel: a blocked
    // waiter is there already; a spinning one sees a flag in the ring that says there is some,
    // and enters (liburing's peek does), instead of being interrupted (which measured ~100 us a
    // round trip slower here).
    const unsigned flags = IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG;
    int err = io_uring_queue_init(kEntries, &m_ring, flags);
    if (err == -EINVAL && flags != 0) err = io_uring_queue_init(kEntries, &m_ring, 0);
    if (err < 0) return fail_errno(Errc::resource, "io_uring_queue_init", -err);
    m_ready = true;
    return {};
  }

  std::vector<OptionValue> granted_options() const override {
    return granted_socket_buffers(m_connection.fd(), m_endpoint);
  }

  Result<std::span<std::byte>> loan(std::size_t bytes) override {
    if (auto ok = check_size(m_endpoint, bytes, "loan"); !ok) return std::unexpected(ok.error());
    if (auto ok = finish_send(); !ok) return std::unexpected(ok.error());  // the frame is free
    return std::span<std::byte>(m_tx).subspan(kHeader, bytes);
  }

  Result<void> send(std::size_t bytes) override {
    if (auto ok = check_size(m_endpoint, bytes, "send"); !ok) return ok;
    if (auto ok = finish_send(); !ok) return ok;
    const StreamFrameHeader header{static_cast<std::uint32_t>(bytes), kStreamFrameMagic};
    std::memcpy(m_tx.data(), &header, kHeader);
    io_uring_sqe* sqe = io_uring_get_sqe(&m_ring);
    io_uring_prep_send(sqe, m_connection.fd(), m_tx.data(), kHeader + bytes,
                       MSG_WAITALL | MSG_NOSIGNAL);
    io_uring_sqe_set_data64(sqe, kSend);
    m_send = {true, false, 0};
    m_send_bytes = kHeader + bytes;
    if (m_begin == m_end && m_held == 0 && !m_receive.busy) arm_receive();  // for the answer
    io_uring_submit(&m_ring);
    return {};
  }

  Result<std::span<const std::byte>> receive() override {
    release();
    for (;;) {
      const std::size_t avail = m_end - m_begin;
      if (avail >= kHeader) {
        auto length = frame_payload(std::span<const std::byte>(m_rx).subspan(m_begin, avail),
                                    m_endpoint.max_message_bytes);
        if (!length) return std::unexpected(length.error());
        if (avail >= kHeader + *length) {
          m_held = kHeader + *length;
          return std::span<const std::byte>(m_rx).subspan(m_begin + kHeader, *length);
        }
      }
      if (!m_receive.busy) arm_receive();
      if (auto ok = await(m_receive, "a message"); !ok) {
        cancel_receive();
        return std::unexpected(ok.error());
      }
      m_receive.done = false;
      if (m_receive.result == 0) return fail(Errc::peer_gone, "peer closed the channel");
      if (m_receive.result < 0) {
        return fail_errno(error_code(-m_receive.result), "recv", -m_receive.result);
      }
      m_end += static_cast<std::size_t>(m_receive.result);
    }
  }

  void release() override {
    m_begin += m_held;
    m_held = 0;
  }

 private:
  // Queues a RECEIVE into the free end of the buffer, moving what is buffered to its start first
  // when the frame it begins might not fit behind it (nothing is armed meanwhile: no race).
  void arm_receive() {
    if (m_begin == m_end) {
      m_begin = m_end = 0;
    } else if (m_begin + kHeader + m_endpoint.max_message_bytes > m_rx.size()) {
      std::memmove(m_rx.data(), m_rx.data() + m_begin, m_end - m_begin);
      m_end -= m_begin;
      m_begin = 0;
    }
    io_uring_sqe* sqe = io_uring_get_sqe(&m_ring);
    io_uring_prep_recv(sqe, m_connection.fd(), m_rx.data() + m_end, m_rx.size() - m_end, 0);
    io_uring_sqe_set_data64(sqe, kReceive);
    m_receive = {true, false, 0};
  }

  // Waits for the SEND in flight, if any, and takes its outcome.
  Result<void> finish_send() {
    if (m_send.busy) {
      if (auto ok = await(m_send, "room to send"); !ok) return ok;
    }
    if (!m_send.done) return {};
    m_send.done = false;
    if (m_send.result < 0) return fail_errno(error_code(-m_send.result), "send", -m_send.result);
    if (static_cast<std::size_t>(m_send.result) != m_send_bytes) {
      return fail(Errc::peer_gone, "send: " + std::to_string(m_send.result) + " of " +
                                       std::to_string(m_send_bytes) + " bytes went");
    }
    return {};
  }

  // Takes every completion there is; never waits.
  void reap() {
    io_uring_cqe* cqe = nullptr;
    while (io_uring_peek_cqe(&m_ring, &cqe) == 0 && cqe) {
      const std::uint64_t tag = io_uring_cqe_get_data64(cqe);
      if (tag == kSend || tag == kReceive) {
        (tag == kSend ? m_send : m_receive) = {false, true, cqe->res};
      }
      io_uring_cqe_seen(&m_ring, cqe);
    }
  }

  // Waits (per the wait mode) until `op` has completed, submitting what is queued.
  Result<void> await(Op& op, std::string_view what) {
    if (m_endpoint.wait != WaitMode::block) io_uring_submit(&m_ring);  // then poll the queue
    auto try_once = [&]() -> Result<bool> {
      reap();
      return !op.busy;
    };
    auto block_once = [&](std::int64_t max_ns) -> Result<bool> {
      __kernel_timespec ts{max_ns / 1'000'000'000, max_ns % 1'000'000'000};
      io_uring_cqe* cqe = nullptr;
      const int err = io_uring_submit_and_wait_timeout(&m_ring, &cqe, 1, &ts, nullptr);
      if (err < 0 && err != -ETIME && err != -EINTR && err != -EAGAIN) {
        return fail_errno(Errc::system, "io_uring_submit_and_wait_timeout", -err);
      }
      return try_once();
    };
    const WaitTraits traits{.polls_per_clock_read = 64,  // a poll is a load from the ring
                            .check_every_ns = std::numeric_limits<std::int64_t>::max() / 4,
                            .waiting_for = what,
                            .try_before_block = false};  // submitting and waiting is one call
    return wait_until(m_endpoint.policy(), try_once, block_once, no_check, traits);
  }

  // A RECEIVE given up on is cancelled and reaped: the kernel must not hold its buffer.
  void cancel_receive() {
    if (!m_receive.busy) return;
    io_uring_sqe* sqe = io_uring_get_sqe(&m_ring);
    io_uring_prep_cancel64(sqe, kReceive, 0);
    io_uring_sqe_set_data64(sqe, kCancel);
    io_uring_submit(&m_ring);
    while (m_receive.busy) {
      io_uring_cqe* cqe = nullptr;
      if (io_uring_wait_cqe(&m_ring, &cqe) < 0) break;
      reap();
    }
  }

  Endpoint m_endpoint;
  UnixConnection m_connection{SOCK_STREAM};
  io_uring m_ring{};
  bool m_ready = false;
  Op m_send;
  Op m_receive;
  std::size_t m_send_bytes = 0;
  std::vector<std::byte> m_tx;  // header + largest payload
  std::vector<std::byte> m_rx;  // what the kernel handed over, from m_begin to m_end
  std::size_t m_begin = 0;
  std::size_t m_end = 0;
  std::size_t m_held = 0;  // bytes of the frame receive() returned, until release()
};

}  // namespace

extern const TransportInfo io_uring_driver{
    .name = "io-uring",
    .description =
        "Unix domain stream socket driven through io_uring (liburing); each send is submitted "
        "with the next receive, armed ahead; spin polls the completion queue; length-prefixed",
    .capabilities = [] { return Capabilities{.native_wait = WaitMode::block}; },
    .make = make_transport<IoUringTransport>,
    .options = [] { return socket_buffer_options("net.core.wmem_default, the kernel's", false); }};

}  // namespace ipcbench

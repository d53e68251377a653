// nng: NNG (nanomsg-next-gen) pair sockets (pair1) over ipc:// (a Unix domain socket in the
// cell's private directory): the consumer listens, the producer dials. nng moves the bytes in its
// own threads (its aio task pool); the caller only hands messages over and takes them.
//
// Each message is an nng_msg whose body is a frame header (transports/frame.hpp) and the payload:
// loan() allocates the nng_msg and hands out its body past the header, nng_sendmsg() takes it
// over without a copy; receive() returns the body of the nng_msg it took, held until release().
// Send and receive buffers (NNG_OPT_SENDBUF/RECVBUF, in messages) are the queue depth; a full
// receiver stops reading its socket, which stops the sender: no message is ever dropped. Unless
// --set nng.drop=1: then send() tries once (NNG_FLAG_NONBLOCK) and a message nng has no room for
// is dropped, as an application that will not wait drops it (the newest, at the sender); the
// consumer's sequence check counts each (the overload scenario; the others fail at the first).
//
// readable_fd() is nng's NNG_OPT_RECVFD: readable while a message waits to be received (so the
// reqresp server can wait on many channels in one epoll, and the overload producer on a stop's
// echo).
//
// Waiting (base/wait.hpp): `block` only. nng's own threads move the bytes between the socket and
// the nng socket's queues, and they sleep in the kernel (epoll) whatever the caller does; the
// caller only chooses how it waits on an in-process queue those threads fill, so a "spin" would be
// spin in name only. A try is nng_recvmsg/nng_sendmsg with NNG_FLAG_NONBLOCK; blocking is the
// same call with NNG_OPT_RECVTIMEO/SENDTIMEO slices (a message wakes the receiver at once; between
// slices the peer is looked at).
//
// Peer gone: nng knows its pipe (the connection): a pipe-removed notification (the peer closed,
// exited or was killed: its end of the socket closed) marks the peer gone; what it sent before
// is still taken from the socket's queue first, for a short grace. nng_close() drops messages
// nng has not written yet, so a closing endpoint says goodbye (a `bye` frame) and waits, bounded
// by Endpoint::timeout, for the peer's goodbye or the pipe's end before it closes; a receiver
// that gets a goodbye reports peer_gone.
#include <nng/nng.h>
#include <nng/protocol/pair1/pair.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <utility>

#include "transports/driver_options.hpp"
#include "transports/frame.hpp"
#include "transports/transport.hpp"

namespace ipcbench {
namespace {

constexpr std::size_t kMaxMessageBytes = 64u << 20;
constexpr std::size_t kProtocolBytes = 64;
constexpr int kSliceMs = 20;
// How long a receiver keeps draining after it has seen the pipe go.
constexpr std::int64_t kDrainGraceNs = 100'000'000;

std::unexpected<Error> nng_fail(Errc code, std::string_view what, int rv) {
  return fail(code, std::string(what) + ": " + nng_strerror(rv));
}

class NngTransport final : public Transport {
 public:
  explicit NngTransport(const Endpoint& endpoint)
      : m_endpoint(endpoint), m_drop(endpoint.option("drop").value_or(0) != 0) {}

  ~NngTransport() override {
    if (m_tx) nng_msg_free(m_tx);
    release();
    if (!m_open) return;
    if (m_connected && !peer_pipe_gone()) say_goodbye();
    nng_close(m_socket);
    if (!m_path.empty()) ::unlink(m_path.c_str());
  }

  Result<std::string> listen() override {
    if (auto ok = open_socket(); !ok) return std::unexpected(ok.error());
    m_path = m_endpoint.dir + "/nng.sock";
    const std::string address = "ipc://" + m_path;
    if (int rv = nng_listen(m_socket, address.c_str(), nullptr, 0); rv != 0) {
      return nng_fail(Errc::resource, "nng_listen " + address, rv);
    }
    return address;
  }

  Result<void> connect(std::string_view peer_address) override {
    if (m_endpoint.role == Role::consumer) {
      if (auto ok = receive_hello(); !ok) return ok;
      if (auto ok = send_frame(FrameKind::hello, WaitMode::block); !ok) return ok;
    } else {
      if (auto ok = open_socket(); !ok) return ok;
      const std::string address(peer_address);
      if (int rv = nng_dial(m_socket, address.c_str(), nullptr, 0); rv != 0) {
        return nng_fail(Errc::resource, "nng_dial " + address, rv);
      }
      if (auto ok = send_frame(FrameKind::hello, WaitMode::block); !ok) return ok;
      if (auto ok = receive_hello(); !ok) return ok;
    }
    m_connected = true;
    return {};
  }

  Result<std::span<std::byte>> loan(std::size_t bytes) override {
    if (bytes > m_endpoint.max_message_bytes || bytes > kMaxMessageBytes) {
      return fail(Errc::message_too_large, std::to_string(bytes) + " bytes > the endpoint's " +
                                               std::to_string(m_endpoint.max_message_bytes));
    }
    if (m_tx) nng_msg_free(m_tx);
    m_tx = nullptr;
    if (int rv = nng_msg_alloc(&m_tx, kFrameBytes + bytes); rv != 0) {
      m_tx = nullptr;
      return nng_fail(Errc::system, "nng_msg_alloc", rv);
    }
    return body(m_tx).subspan(kFrameBytes);
  }

  Result<void> send(std::size_t bytes) override {
    if (!m_tx || kFrameBytes + bytes > nng_msg_len(m_tx)) {
      return fail(Errc::message_too_large,
                  "send of " + std::to_string(bytes) + " bytes, more than were loaned");
    }
    nng_msg_chop(m_tx, nng_msg_len(m_tx) - kFrameBytes - bytes);
    write_frame(body(m_tx), FrameKind::data);
    nng_msg* message = std::exchange(m_tx, nullptr);
    if (m_drop) {
      const int rv = nng_sendmsg(m_socket, message, NNG_FLAG_NONBLOCK);
      if (rv == 0) return {};
      nng_msg_free(message);
      if (rv == NNG_EAGAIN) return {};  // no room: dropped (the consumer counts the gap)
      return nng_fail(rv == NNG_ECLOSED ? Errc::peer_gone : Errc::system, "nng_sendmsg", rv);
    }
    return put(message, m_endpoint.wait);
  }

  Result<std::span<const std::byte>> receive() override {
    release();
    if (m_peer_said_bye) return fail(Errc::peer_gone, "the peer has closed");
    auto header = take(m_endpoint.wait);
    if (!header) return std::unexpected(header.error());
    if (header->kind == FrameKind::data) return body(m_rx).subspan(kFrameBytes);
    release();
    if (header->kind == FrameKind::bye) {
      m_peer_said_bye = true;
      return fail(Errc::peer_gone, "the peer has closed");
    }
    return fail(Errc::protocol, "an unexpected transport message after connecting");
  }

  void release() override {
    if (m_rx) nng_msg_free(m_rx);
    m_rx = nullptr;
  }

  int readable_fd() override {
    int fd = -1;
    if (!m_open || nng_socket_get_int(m_socket, NNG_OPT_RECVFD, &fd) != 0) return -1;
    return fd;
  }

  // `drop` as given, said by the producer, whose sends it governs.
  std::vector<OptionValue> granted_options() const override {
    return granted_as_given(m_endpoint, {"drop"});
  }

 private:
  static std::span<std::byte> body(nng_msg* message) {
    return {static_cast<std::byte*>(nng_msg_body(message)), nng_msg_len(message)};
  }

  Result<void> open_socket() {
    if (int rv = nng_pair1_open(&m_socket); rv != 0) {
      return nng_fail(Errc::resource, "nng_pair1_open", rv);
    }
    m_open = true;
    const int depth = static_cast<int>(std::clamp<std::size_t>(m_endpoint.queue_depth, 1, 8192));
    // The largest message, its frame header, and room for the protocol's own header (pair1's
    // hop count): a larger one would make nng drop the connection.
    int rv = nng_socket_set_size(m_socket, NNG_OPT_RECVMAXSZ,
                                 m_endpoint.max_message_bytes + kFrameBytes + kProtocolBytes);
    if (rv == 0) rv = nng_socket_set_int(m_socket, NNG_OPT_SENDBUF, depth);
    if (rv == 0) rv = nng_socket_set_int(m_socket, NNG_OPT_RECVBUF, depth);
    if (rv == 0) rv = nng_socket_set_ms(m_socket, NNG_OPT_SENDTIMEO, kSliceMs);
    if (rv == 0) rv = nng_socket_set_ms(m_socket, NNG_OPT_RECVTIMEO, kSliceMs);
    if (rv == 0) rv = nng_pipe_notify(m_socket, NNG_PIPE_EV_ADD_POST, on_pipe, this);
    if (rv == 0) rv = nng_pipe_notify(m_socket, NNG_PIPE_EV_REM_POST, on_pipe, this);
    if (rv != 0) return nng_fail(Errc::resource, "nng socket options", rv);
    return {};
  }

  // nng's own thread: the pipe (the one connection a pair socket has) came or went.
  static void on_pipe(nng_pipe, nng_pipe_ev event, void* self) {
    auto* t = static_cast<NngTransport*>(self);
    if (event == NNG_PIPE_EV_ADD_POST) t->m_pipes_added.fetch_add(1);
    if (event == NNG_PIPE_EV_REM_POST) t->m_pipes_removed.fetch_add(1);
  }
  bool peer_pipe_gone() const {
    return m_pipes_removed.load() > 0 && m_pipes_removed.load() >= m_pipes_added.load();
  }

  // `attempt(wait)` tries once (waiting up to one slice if `wait`): true when done. Once the
  // pipe has gone, the wait goes on for a short grace (what the peer sent before may still be on
  // its way into the socket's queue) before it says peer_gone.
  template <class Attempt>
  Result<void> wait_loop(WaitMode mode, std::string_view what, Attempt attempt,
                         std::int64_t timeout_ns = 0) {
    WaitPolicy policy = m_endpoint.policy();
    policy.mode = mode;
    if (timeout_ns > 0) policy.timeout_ns = timeout_ns;
    std::int64_t seen_gone_at = 0;
    auto check = [&]() -> Result<void> {
      if (!peer_pipe_gone()) return {};
      if (seen_gone_at == 0) seen_gone_at = monotonic_ns();
      if (monotonic_ns() - seen_gone_at < kDrainGraceNs) return {};
      return fail(Errc::peer_gone, "the peer's connection has closed");
    };
    const WaitTraits traits{.polls_per_clock_read = 16,
                            .check_every_ns = kSliceMs * 1'000'000,
                            .yield_after_ns = 0,
                            .waiting_for = what};
    return wait_until(
        policy, [&] { return attempt(false); }, [&](std::int64_t) { return attempt(true); }, check,
        traits);
  }

  // Sends `message` (which nng owns once sent; freed here if it never is).
  Result<void> put(nng_msg* message, WaitMode mode, std::int64_t timeout_ns = 0) {
    auto ok = wait_loop(
        mode, "room to send",
        [&](bool wait) -> Result<bool> {
          int rv = nng_sendmsg(m_socket, message, wait ? 0 : NNG_FLAG_NONBLOCK);
          if (rv == 0) {
            message = nullptr;
            return true;
          }
          if (rv == NNG_EAGAIN || rv == NNG_ETIMEDOUT) return false;
          return nng_fail(rv == NNG_ECLOSED ? Errc::peer_gone : Errc::system, "nng_sendmsg", rv);
        },
        timeout_ns);
    if (message) nng_msg_free(message);
    return ok;
  }

  Result<void> send_frame(FrameKind kind, WaitMode mode, std::int64_t timeout_ns = 0) {
    nng_msg* message = nullptr;
    if (int rv = nng_msg_alloc(&message, kFrameBytes); rv != 0) {
      return nng_fail(Errc::system, "nng_msg_alloc", rv);
    }
    write_frame(body(message), kind);
    return put(message, mode, timeout_ns);
  }

  // The next message into m_rx; its header.
  Result<FrameHeader> take(WaitMode mode, std::int64_t timeout_ns = 0) {
    auto ok = wait_loop(
        mode, "a message",
        [&](bool wait) -> Result<bool> {
          int rv = nng_recvmsg(m_socket, &m_rx, wait ? 0 : NNG_FLAG_NONBLOCK);
          if (rv == 0) return true;
          m_rx = nullptr;
          if (rv == NNG_EAGAIN || rv == NNG_ETIMEDOUT) return false;
          return nng_fail(rv == NNG_ECLOSED ? Errc::peer_gone : Errc::system, "nng_recvmsg", rv);
        },
        timeout_ns);
    if (!ok) return std::unexpected(ok.error());
    auto header = read_frame(body(m_rx));
    if (!header) release();
    return header;
  }

  Result<void> receive_hello() {
    auto header = take(WaitMode::block);
    release();
    if (!header) {
      return fail(header.error().code, "waiting for the peer's hello: " + header.error().reason);
    }
    if (header->kind != FrameKind::hello) return fail(Errc::protocol, "the peer sent no hello");
    return {};
  }

  // Closing: nng_close() would drop what nng has not written yet. Say goodbye, then wait for the
  // peer's goodbye (or its pipe's end), discarding what else comes, bounded by the timeout.
  void say_goodbye() {
    const std::int64_t timeout_ns = std::chrono::nanoseconds(m_endpoint.timeout).count();
    if (!send_frame(FrameKind::bye, WaitMode::block, timeout_ns)) return;
    const std::int64_t deadline = monotonic_ns() + timeout_ns;
    while (!m_peer_said_bye) {
      const std::int64_t left = deadline - monotonic_ns();
      if (left <= 0) return;
      auto header = take(WaitMode::block, left);
      release();
      if (!header) return;
      m_peer_said_bye = header->kind == FrameKind::bye;
    }
  }

  Endpoint m_endpoint;
  bool m_drop;  // --set nng.drop=1
  nng_socket m_socket = NNG_SOCKET_INITIALIZER;
  bool m_open = false;
  bool m_connected = false;
  bool m_peer_said_bye = false;
  std::string m_path;
  nng_msg* m_tx = nullptr;
  nng_msg* m_rx = nullptr;
  std::atomic<int> m_pipes_added{0};
  std::atomic<int> m_pipes_removed{0};
};

// --set nng.drop: wait for room (0, the default) or drop (1).
std::vector<OptionSpec> options() {
  return {switch_option("drop",
                        "1: send() tries once (NNG_FLAG_NONBLOCK) and a message nng has no room "
                        "for is dropped (the consumer's sequence check counts each); 0: send() "
                        "waits for room, nothing lost",
                        false)};
}

}  // namespace

extern const TransportInfo nng_driver{
    .name = "nng",
    .description = "NNG " IPCBENCH_LIBRARY_VERSION
                   " pair1 sockets over ipc:// (a Unix socket in a private temp dir); send/receive "
                   "buffers = queue depth; up to 64 MiB; block only: nng's own threads move the "
                   "bytes and sleep in the kernel whatever the caller does",
    .capabilities =
        [] {
          Capabilities caps = Capabilities::block_only();
          caps.pollable = true;
          return caps;
        },
    .make = make_transport<NngTransport>,
    .options = options,
};

}  // namespace ipcbench

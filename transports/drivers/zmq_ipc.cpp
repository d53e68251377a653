// zmq-ipc: ZeroMQ PAIR sockets over ipc:// (a Unix domain socket in the cell's private
// directory): the consumer binds, the producer connects. Each side has its own context (one I/O
// thread), destroyed with the endpoint, so no thread outlives it.
//
// loan() hands out the data of a zmq_msg_t sized for the message, which zmq_msg_send() then takes
// over without a copy; receive() returns the data of the zmq_msg_t it received, held until
// release(). (ZeroMQ still copies through the socket: it is a copying transport.)
//
// Peer gone: the two sides exchange their process id and start time in a hello when they
// connect, and a waiting side looks at the peer's /proc entry every 20 ms of waiting
// (PeerWatch). A dead peer's last messages may still be in flight (in the kernel's socket buffer
// or ZeroMQ's I/O thread), so the receiver drains for a short grace before it says peer_gone.
//
// Waiting (base/wait.hpp): a try is zmq_msg_recv/zmq_msg_send with ZMQ_DONTWAIT; blocking is the
// same call with ZMQ_RCVTIMEO/ZMQ_SNDTIMEO slices (a message wakes the receiver at once; between
// slices the peer is checked). Spinning yields on every fruitless poll: ZeroMQ's I/O thread, which
// moves the bytes, shares the worker's CPU. High-water marks are the queue depth.
// On close, ZMQ_LINGER is 0 when the peer is gone (nothing can be delivered) and otherwise
// Endpoint::timeout, so that messages sent just before a clean exit still reach a live peer.
#include <algorithm>

#include "transports/transport.hpp"

#include <unistd.h>
#include <zmq.h>

#include <cstring>

#include "transports/peer_hello.hpp"

namespace ipcbench {
namespace {

constexpr std::size_t kMaxMessageBytes = 64u << 20;

constexpr std::uint64_t kHelloMagic = 0x4f4c4c4548514d5a;  // "ZMQHELLO"
constexpr int kSliceMs = 20;
// How long a receiver keeps draining after it has seen the peer dead.
constexpr std::int64_t kDrainGraceNs = 100'000'000;

std::unexpected<Error> zmq_fail(Errc code, std::string_view what) {
  std::string reason(what);
  reason += ": ";
  reason += zmq_strerror(zmq_errno());
  return std::unexpected(Error{code, std::move(reason)});
}

class ZmqIpcTransport final : public Transport {
 public:
  explicit ZmqIpcTransport(const Endpoint& endpoint) : m_endpoint(endpoint) {
    zmq_msg_init(&m_rx);
    zmq_msg_init(&m_tx);
  }

  ~ZmqIpcTransport() override {
    zmq_msg_close(&m_rx);
    zmq_msg_close(&m_tx);
    if (m_socket) {
      int linger =
          m_peer.gone_now() || !m_peer.watching()
              ? 0
              : static_cast<int>(std::min<std::int64_t>(m_endpoint.timeout.count(), 60'000));
      zmq_setsockopt(m_socket, ZMQ_LINGER, &linger, sizeof linger);
      zmq_close(m_socket);
    }
    unlink_path();
    if (m_context) {
      while (zmq_ctx_term(m_context) != 0 && zmq_errno() == EINTR) {
      }
    }
  }

  Result<std::string> listen() override {
    m_path = m_endpoint.dir + "/zmq.sock";
    if (auto ok = open_socket(); !ok) return std::unexpected(ok.error());
    std::string address = "ipc://" + m_path;
    if (zmq_bind(m_socket, address.c_str()) != 0) {
      return zmq_fail(Errc::resource, "zmq_bind " + address);
    }
    m_bound = true;
    return address;
  }

  Result<void> connect(std::string_view peer_address) override {
    if (m_endpoint.role == Role::consumer) {
      if (auto ok = receive_hello(); !ok) return ok;
      unlink_path();  // connected: the path is no longer needed
      return send_hello();
    }
    if (auto ok = open_socket(); !ok) return ok;
    std::string address(peer_address);
    if (zmq_connect(m_socket, address.c_str()) != 0) {
      return zmq_fail(Errc::resource, "zmq_connect " + address);
    }
    if (auto ok = send_hello(); !ok) return ok;
    return receive_hello();
  }

  Result<std::span<std::byte>> loan(std::size_t bytes) override {
    if (bytes > m_endpoint.max_message_bytes || bytes > kMaxMessageBytes) {
      return fail(Errc::message_too_large, std::to_string(bytes) + " bytes > the endpoint's " +
                                               std::to_string(m_endpoint.max_message_bytes));
    }
    zmq_msg_close(&m_tx);
    if (zmq_msg_init_size(&m_tx, bytes) != 0) return zmq_fail(Errc::system, "zmq_msg_init_size");
    return std::span<std::byte>(static_cast<std::byte*>(zmq_msg_data(&m_tx)), bytes);
  }

  Result<void> send(std::size_t bytes) override {
    if (bytes > zmq_msg_size(&m_tx)) {
      return fail(Errc::message_too_large,
                  "send of " + std::to_string(bytes) + " bytes, more than were loaned");
    }
    if (bytes < zmq_msg_size(&m_tx)) {  // a shorter message than loaned: a message of its own
      zmq_msg_t shorter;
      if (zmq_msg_init_size(&shorter, bytes) != 0) return zmq_fail(Errc::system, "zmq_msg_init");
      std::memcpy(zmq_msg_data(&shorter), zmq_msg_data(&m_tx), bytes);
      zmq_msg_move(&m_tx, &shorter);  // releases what m_tx held
      zmq_msg_close(&shorter);
    }
    return wait_loop(m_endpoint.wait, "room to send", [&](bool wait) -> Result<bool> {
      if (zmq_msg_send(&m_tx, m_socket, wait ? 0 : ZMQ_DONTWAIT) >= 0) return true;
      if (zmq_errno() == EAGAIN || zmq_errno() == EINTR) return false;
      return zmq_fail(Errc::system, "zmq_msg_send");
    });
  }

  Result<std::span<const std::byte>> receive() override {
    auto ok = receive_message(m_endpoint.wait);
    if (!ok) return std::unexpected(ok.error());
    return std::span<const std::byte>(static_cast<const std::byte*>(zmq_msg_data(&m_rx)),
                                      zmq_msg_size(&m_rx));
  }

  void release() override {
    zmq_msg_close(&m_rx);
    zmq_msg_init(&m_rx);
  }

 private:
  Result<void> open_socket() {
    m_context = zmq_ctx_new();
    if (!m_context) return zmq_fail(Errc::resource, "zmq_ctx_new");
    m_socket = zmq_socket(m_context, ZMQ_PAIR);
    if (!m_socket) return zmq_fail(Errc::resource, "zmq_socket");
    int hwm = static_cast<int>(std::clamp<std::size_t>(m_endpoint.queue_depth, 1, 1 << 20));
    int slice = kSliceMs;
    for (auto [option, value] : {std::pair{ZMQ_SNDHWM, hwm}, std::pair{ZMQ_RCVHWM, hwm},
                                 std::pair{ZMQ_RCVTIMEO, slice}, std::pair{ZMQ_SNDTIMEO, slice}}) {
      if (zmq_setsockopt(m_socket, option, &value, sizeof value) != 0) {
        return zmq_fail(Errc::resource, "zmq_setsockopt");
      }
    }
    return {};
  }

  // A non-blocking call looks at the socket's command mailbox (where the I/O thread says "there
  // is data now") at most once a millisecond, ZeroMQ's throttle; reading ZMQ_EVENTS looks now.
  void process_commands() {
    int events = 0;
    std::size_t size = sizeof events;
    zmq_getsockopt(m_socket, ZMQ_EVENTS, &events, &size);
  }

  // `attempt(wait)` tries once (waiting up to one slice if `wait`): true when done. A dead peer's
  // last messages may still be on their way to this socket (the kernel's buffer, ZeroMQ's I/O
  // thread): once it is seen dead, the wait goes on for a short grace before it says so.
  template <class Attempt>
  Result<void> wait_loop(WaitMode mode, std::string_view what, Attempt attempt) {
    WaitPolicy policy = m_endpoint.policy();
    policy.mode = mode;
    bool first = true;
    auto try_once = [&] {
      if (!first) process_commands();
      first = false;
      return attempt(false);
    };
    std::int64_t seen_dead_at = 0;
    auto check = [&]() -> Result<void> {
      auto alive = m_peer.check();
      if (alive) return alive;
      if (seen_dead_at == 0) seen_dead_at = monotonic_ns();
      if (monotonic_ns() - seen_dead_at < kDrainGraceNs) return {};
      return alive;
    };
    const WaitTraits traits{.polls_per_clock_read = 1,
                            .check_every_ns = kSliceMs * 1'000'000,
                            .yield_after_ns = 0,
                            .waiting_for = what};
    return wait_until(
        policy, try_once, [&](std::int64_t) { return attempt(true); }, check, traits);
  }

  Result<void> receive_message(WaitMode mode) {
    return wait_loop(mode, "a message", [&](bool wait) -> Result<bool> {
      if (zmq_msg_recv(&m_rx, m_socket, wait ? 0 : ZMQ_DONTWAIT) >= 0) return true;
      if (zmq_errno() == EAGAIN || zmq_errno() == EINTR) return false;
      return zmq_fail(Errc::system, "zmq_msg_recv");
    });
  }

  Result<void> send_hello() {
    const PeerHello hello = hello_from_this_process(kHelloMagic);
    zmq_msg_close(&m_tx);
    if (zmq_msg_init_size(&m_tx, sizeof hello) != 0) return zmq_fail(Errc::system, "zmq_msg");
    std::memcpy(zmq_msg_data(&m_tx), &hello, sizeof hello);
    return wait_loop(WaitMode::block, "room to send the hello", [&](bool wait) -> Result<bool> {
      if (zmq_msg_send(&m_tx, m_socket, wait ? 0 : ZMQ_DONTWAIT) >= 0) return true;
      if (zmq_errno() == EAGAIN || zmq_errno() == EINTR) return false;
      return zmq_fail(Errc::system, "zmq_msg_send");
    });
  }

  Result<void> receive_hello() {
    auto ok = receive_message(WaitMode::block);
    if (!ok) return fail(ok.error().code, "waiting for the peer's hello: " + ok.error().reason);
    auto peer = read_hello(
        std::span(static_cast<const std::byte*>(zmq_msg_data(&m_rx)), zmq_msg_size(&m_rx)),
        kHelloMagic);
    release();
    if (!peer) return std::unexpected(peer.error());
    m_peer.watch(*peer);
    return {};
  }

  void unlink_path() {
    if (m_bound) ::unlink(m_path.c_str());
    m_bound = false;
  }

  Endpoint m_endpoint;
  void* m_context = nullptr;
  void* m_socket = nullptr;
  std::string m_path;
  bool m_bound = false;
  zmq_msg_t m_rx;
  zmq_msg_t m_tx;
  PeerWatch m_peer;
};

}  // namespace

extern const TransportInfo zmq_ipc_driver{
    .name = "zmq-ipc",
    .description =
        "ZeroMQ PAIR sockets over ipc:// (a Unix socket in a private temp dir); "
        "a dead peer is found by its pid",
    .capabilities = [] { return Capabilities{.native_wait = WaitMode::block}; },
    .make = make_transport<ZmqIpcTransport>,
};

}  // namespace ipcbench

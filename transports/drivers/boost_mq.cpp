// boost-mq: boost::interprocess::message_queue, two of them (a: producer -> consumer, b: back),
// named after the cell's token in /dev/shm, created 0600 by the consumer. A message is copied into
// the queue on send and out of it on receive (the queue's own design).
//
// The queue has no notion of a peer, so the two sides exchange a hello with their process id and
// start time when they connect, and a waiting side looks at the peer's /proc entry every 20 ms of
// waiting (PeerWatch): a peer that exited or was killed is Errc::peer_gone, promptly. Once both
// sides have the queues open the consumer removes the names, so nothing is left behind even if
// both are killed later; each side removes them again on destruction (idempotent).
//
// Waiting (base/wait.hpp): a try is try_receive/try_send; blocking is timed_receive/timed_send
// for at most a slice (a message wakes the receiver through the queue's process-shared condition
// variable at once); between slices the peer is checked.
#include <algorithm>

#include "transports/transport.hpp"

#include <boost/date_time/posix_time/posix_time_types.hpp>
#include <boost/interprocess/ipc/message_queue.hpp>
#include <boost/interprocess/permissions.hpp>
#include <cstring>
#include <vector>

#include "transports/peer_hello.hpp"

namespace ipcbench {
namespace {

namespace bip = boost::interprocess;

constexpr std::uint64_t kHelloMagic = 0x4f4c4c4548514d42;  // "BMQHELLO"
// Between two looks at the peer while blocked in a timed call.
constexpr std::int64_t kSliceNs = 20'000'000;

class BoostMqTransport final : public Transport {
 public:
  explicit BoostMqTransport(const Endpoint& endpoint)
      : m_endpoint(endpoint),
        m_name_a(endpoint.token + "-mq-a"),
        m_name_b(endpoint.token + "-mq-b"),
        m_queue_bytes(std::max(endpoint.max_message_bytes, sizeof(PeerHello))),
        m_tx(endpoint.max_message_bytes),
        m_rx(m_queue_bytes) {}

  ~BoostMqTransport() override {
    m_out.reset();
    m_in.reset();
    remove_names();
  }

  Result<std::string> listen() override {
    try {
      bip::permissions owner_only(0600);
      const auto depth = std::max<std::size_t>(m_endpoint.queue_depth, 1);
      m_created = true;
      m_in = std::make_unique<bip::message_queue>(bip::create_only, m_name_a.c_str(), depth,
                                                  m_queue_bytes, owner_only);
      m_out = std::make_unique<bip::message_queue>(bip::create_only, m_name_b.c_str(), depth,
                                                   m_queue_bytes, owner_only);
    } catch (const std::exception& e) {
      return fail(Errc::resource, "create message queue " + m_name_a + ": " + e.what());
    }
    return std::string{};
  }

  Result<void> connect(std::string_view) override {
    const bool producer = m_endpoint.role == Role::producer;
    if (producer) {
      try {
        m_out = std::make_unique<bip::message_queue>(bip::open_only, m_name_a.c_str());
        m_in = std::make_unique<bip::message_queue>(bip::open_only, m_name_b.c_str());
      } catch (const std::exception& e) {
        return fail(Errc::resource, "open message queue " + m_name_a + ": " + e.what());
      }
      if (auto ok = send_hello(); !ok) return ok;
      return receive_hello();
    }
    if (auto ok = receive_hello(); !ok) return ok;
    remove_names();  // both sides have both queues open: the names are no longer needed
    return send_hello();
  }

  Result<std::span<std::byte>> loan(std::size_t bytes) override {
    if (bytes > m_endpoint.max_message_bytes) {
      return fail(Errc::message_too_large, std::to_string(bytes) + " bytes > the endpoint's " +
                                               std::to_string(m_endpoint.max_message_bytes));
    }
    return std::span<std::byte>(m_tx.data(), bytes);
  }

  Result<void> send(std::size_t bytes) override {
    if (bytes > m_endpoint.max_message_bytes) {
      return fail(Errc::message_too_large, std::to_string(bytes) + " bytes");
    }
    return put(m_tx.data(), bytes, m_endpoint.wait);
  }

  Result<std::span<const std::byte>> receive() override {
    auto got = take(m_endpoint.wait);
    if (!got) return std::unexpected(got.error());
    return std::span<const std::byte>(m_rx.data(), *got);
  }

  void release() override {}

 private:
  // One attempt, waiting at most `max_ns` (or not at all when negative), converting Boost's
  // exceptions: true when done.
  Result<bool> try_put(const void* data, std::size_t bytes, std::int64_t max_ns) {
    try {
      return max_ns < 0 ? m_out->try_send(data, bytes, 0)
                        : m_out->timed_send(data, bytes, 0, abs_time(max_ns));
    } catch (const std::exception& e) {
      return fail(Errc::system, std::string("message_queue send: ") + e.what());
    }
  }
  Result<bool> try_take(std::size_t& got, std::int64_t max_ns) {
    try {
      bip::message_queue::size_type size = 0;
      unsigned int priority = 0;
      bool received = max_ns < 0 ? m_in->try_receive(m_rx.data(), m_rx.size(), size, priority)
                                 : m_in->timed_receive(m_rx.data(), m_rx.size(), size, priority,
                                                       abs_time(max_ns));
      got = size;
      return received;
    } catch (const std::exception& e) {
      return fail(Errc::system, std::string("message_queue receive: ") + e.what());
    }
  }

  // Boost's timed calls take an absolute UTC time.
  static boost::posix_time::ptime abs_time(std::int64_t from_now_ns) {
    return boost::posix_time::microsec_clock::universal_time() +
           boost::posix_time::microseconds(from_now_ns / 1000);
  }

  // `attempt(max_ns)` makes one attempt (max_ns < 0: without waiting); the wait policy does the
  // rest, looking at the peer between blocking slices.
  template <class Attempt>
  Result<void> wait_loop(WaitMode mode, std::string_view what, Attempt attempt) {
    WaitPolicy policy = m_endpoint.policy();
    policy.mode = mode;
    const WaitTraits traits{
        .polls_per_clock_read = 16, .check_every_ns = kSliceNs, .waiting_for = what};
    return wait_until(
        policy, [&] { return attempt(-1); },
        [&](std::int64_t max_ns) { return attempt(std::min(max_ns, kSliceNs)); },
        [&] { return m_peer.check(); }, traits);
  }

  Result<void> put(const void* data, std::size_t bytes, WaitMode mode) {
    return wait_loop(mode, "room in the queue",
                     [&](std::int64_t max_ns) { return try_put(data, bytes, max_ns); });
  }

  Result<std::size_t> take(WaitMode mode) {
    std::size_t got = 0;
    auto ok =
        wait_loop(mode, "a message", [&](std::int64_t max_ns) { return try_take(got, max_ns); });
    if (!ok) return std::unexpected(ok.error());
    return got;
  }

  Result<void> send_hello() {
    const PeerHello hello = hello_from_this_process(kHelloMagic);
    return put(&hello, sizeof hello, WaitMode::block);
  }

  Result<void> receive_hello() {
    auto got = take(WaitMode::block);
    if (!got) return fail(got.error().code, "waiting for the peer's hello: " + got.error().reason);
    auto peer = read_hello(std::span(m_rx).first(*got), kHelloMagic);
    if (!peer) return std::unexpected(peer.error());
    m_peer.watch(*peer);
    return {};
  }

  void remove_names() {
    if (m_endpoint.role == Role::consumer && !m_created) return;
    bip::message_queue::remove(m_name_a.c_str());
    bip::message_queue::remove(m_name_b.c_str());
  }

  Endpoint m_endpoint;
  std::string m_name_a;  // producer -> consumer
  std::string m_name_b;  // consumer -> producer
  std::size_t m_queue_bytes;
  bool m_created = false;
  std::unique_ptr<bip::message_queue> m_out;
  std::unique_ptr<bip::message_queue> m_in;
  std::vector<std::byte> m_tx;
  std::vector<std::byte> m_rx;
  PeerWatch m_peer;
};

}  // namespace

extern const TransportInfo boost_mq_driver{
    .name = "boost-mq",
    .description =
        "boost::interprocess::message_queue pair in /dev/shm; copies in and out; "
        "a dead peer is found by its pid",
    .capabilities = [] { return Capabilities{.native_wait = WaitMode::block}; },
    .make = make_transport<BoostMqTransport>,
};

}  // namespace ipcbench

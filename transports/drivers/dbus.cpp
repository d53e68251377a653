// dbus: D-Bus through a bus daemon, with systemd's sd-bus: each message is one method call
// (org.ipcbench.Channel.Data, one `ay` argument, no reply expected) from one side's connection to
// the other's unique name, routed by the daemon. The bus is a private dbus-daemon started for the
// run (start_daemon), configured like a session bus (its limits) and listening on a socket in the
// daemon's private directory; never the system or the session bus. The daemon's address reaches
// the workers in the environment (IPCBENCH_DBUS_ADDRESS, set by the process that started it, as
// DBUS_SESSION_BUS_ADDRESS is for a session); without it the transport refuses to run.
//
// Set-up: the consumer connects and returns its unique name (":1.42") as its address; the
// producer connects, watches that name and calls Hello on it (a method call with a reply); the
// consumer, on Hello, watches the caller's name and replies.
//
// loan() builds the method call and hands out the array's space inside it (no copy until the
// kernel); receive() returns the array inside the received message, held until release().
//
// Flow control: a bus daemon queues whatever a client sends (up to a gigabyte per connection,
// then it rejects messages), so the two sides keep a credit window of Endpoint::queue_depth
// messages (transports/credit_window.hpp), granted back with a Credit(t) method call.
//
// Waiting (base/wait.hpp): sd-bus has no thread of its own; the caller drives it. A try is
// sd_bus_process() until it has nothing to do; blocking is sd_bus_wait() (poll on the bus socket)
// for up to a slice. Every mode is the caller's to choose. Spinning yields on every fruitless
// poll: the daemon, which moves every message, needs a CPU too. send() returns once the message
// is written to the daemon's socket (sd-bus writes what it can at once and the rest as the caller
// processes), as a blocking socket write would.
//
// Peer gone: the daemon announces it (NameOwnerChanged for the peer's unique name, after the
// peer's last messages), for a clean exit and a SIGKILL alike.
//
// The reqresp scenario's server and clients (Endpoint::fan_in) are method calls with replies:
// DbusFanIn below.
#include <poll.h>
#include <signal.h>
#include <systemd/sd-bus.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <set>
#include <utility>
#include <vector>

#include "transports/credit_window.hpp"
#include "transports/daemon_process.hpp"
#include "transports/transport.hpp"

namespace ipcbench {
namespace {

constexpr const char* kAddressVariable = "IPCBENCH_DBUS_ADDRESS";
constexpr const char* kPath = "/org/ipcbench/Channel";
constexpr const char* kInterface = "org.ipcbench.Channel";
// The D-Bus specification: an array holds at most 2^26 bytes (64 MiB), a message at most 2^27.
constexpr std::size_t kMaxMessageBytes = std::size_t{1} << 26;
constexpr std::int64_t kSliceNs = 20'000'000;

std::unexpected<Error> bus_fail(Errc code, std::string_view what, int r) {
  return fail(code, std::string(what) + ": " + std::strerror(-r));
}

// One connection to the private bus and what every endpoint does with it: sd-bus has no thread of
// its own, so the caller drives it (process, wait, flush), and the daemon says when a name leaves.
class BusConnection : public Transport {
 public:
  explicit BusConnection(const Endpoint& endpoint) : m_endpoint(endpoint) {}

  ~BusConnection() override {
    for (sd_bus_slot* slot : m_watches)
      sd_bus_slot_unref(slot);
    sd_bus_slot_unref(m_filter);
    // Writes what is still queued: the daemon delivers it to the peer after we have gone.
    if (m_bus) sd_bus_flush_close_unref(m_bus);
  }

 protected:
  // Connects; every message that comes in then passes `on_message` (with this) first.
  Result<void> open_bus(sd_bus_message_handler_t on_message) {
    const char* address = std::getenv(kAddressVariable);
    if (!address || !*address) {
      return fail(Errc::unavailable, std::string(kAddressVariable) +
                                         " is not set: the dbus transport runs only on the "
                                         "private bus ipcbench starts for it");
    }
    int r = sd_bus_new(&m_bus);
    if (r >= 0) r = sd_bus_set_address(m_bus, address);
    if (r >= 0) r = sd_bus_set_bus_client(m_bus, 1);
    if (r >= 0) {
      r = sd_bus_set_method_call_timeout(
          m_bus,
          static_cast<std::uint64_t>(
              std::chrono::duration_cast<std::chrono::microseconds>(m_endpoint.timeout).count()));
    }
    if (r >= 0) r = sd_bus_add_filter(m_bus, &m_filter, on_message, this);
    if (r >= 0) r = sd_bus_start(m_bus);
    if (r < 0) return bus_fail(Errc::resource, std::string("connect to the bus ") + address, r);
    return {};
  }

  std::string unique_name() const {
    const char* unique = nullptr;
    return sd_bus_get_unique_name(m_bus, &unique) >= 0 && unique ? unique : "";
  }

  // Watches `name`, then makes sure it is still there (it may have gone before): gone() says
  // when it has left the bus.
  Result<void> watch(const std::string& name) {
    const std::string rule =
        "type='signal',sender='org.freedesktop.DBus',path='/org/freedesktop/DBus',"
        "interface='org.freedesktop.DBus',member='NameOwnerChanged',arg0='" +
        name + "'";
    sd_bus_slot* slot = nullptr;
    if (int r = sd_bus_add_match(m_bus, &slot, rule.c_str(), on_owner_changed, this); r < 0) {
      return bus_fail(Errc::resource, "watch " + name, r);
    }
    m_watches.push_back(slot);
    auto owner = owner_of(name);
    if (!owner) return std::unexpected(owner.error());
    if (owner->empty()) return fail(Errc::peer_gone, "the peer " + name + " is not on the bus");
    return {};
  }
  bool gone(const std::string& name) const { return m_gone.contains(name); }

  // Who owns `name` now ("" if nobody: GetNameOwner's NameHasNoOwner).
  Result<std::string> owner_of(const std::string& name) {
    sd_bus_error error = SD_BUS_ERROR_NULL;
    sd_bus_message* reply = nullptr;
    int r = sd_bus_call_method(m_bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                               "org.freedesktop.DBus", "GetNameOwner", &error, &reply, "s",
                               name.c_str());
    const bool nobody = r < 0 && sd_bus_error_has_name(&error, SD_BUS_ERROR_NAME_HAS_NO_OWNER);
    sd_bus_error_free(&error);
    const char* owner = nullptr;
    if (r >= 0) r = sd_bus_message_read_basic(reply, 's', &owner);
    std::string out = r >= 0 && owner ? owner : "";
    sd_bus_message_unref(reply);
    if (r < 0 && !nobody) return bus_fail(Errc::resource, "GetNameOwner " + name, r);
    return out;
  }

  Result<void> post(sd_bus_message* m, std::uint64_t* cookie = nullptr) {
    if (int r = sd_bus_send(m_bus, m, cookie); r < 0) {
      return bus_fail(r == -ENOTCONN || r == -ECONNRESET ? Errc::peer_gone : Errc::system,
                      "sd_bus_send", r);
    }
    return {};
  }

  // Waits, per `mode`, until `done()`, processing the bus meanwhile; check_peers() is looked at
  // every slice.
  template <class Done>
  Result<void> wait_for(WaitMode mode, std::string_view what, Done done) {
    WaitPolicy policy = m_endpoint.policy();
    policy.mode = mode;
    auto try_once = [&]() -> Result<bool> {
      if (done()) return true;
      if (auto ok = process(); !ok) return std::unexpected(ok.error());
      return done();
    };
    auto block_once = [&](std::int64_t max_ns) -> Result<bool> {
      int r = sd_bus_wait(m_bus, static_cast<std::uint64_t>(std::min(max_ns, kSliceNs) / 1000));
      if (r < 0 && r != -EINTR) return bus_fail(Errc::system, "sd_bus_wait", r);
      return try_once();
    };
    const WaitTraits traits{.polls_per_clock_read = 1,
                            .check_every_ns = kSliceNs,
                            .yield_after_ns = 0,
                            .waiting_for = what};
    return wait_until(
        policy, try_once, block_once, [&] { return check_peers(); }, traits);
  }
  // Peer gone, or fine.
  virtual Result<void> check_peers() = 0;

  // Until everything queued is written to the daemon's socket.
  Result<void> flush() {
    return wait_for(m_endpoint.wait, "the bus socket to take the message",
                    [&] { return (sd_bus_get_events(m_bus) & POLLOUT) == 0; });
  }

  // A message's `ay` argument (read in place).
  static Result<std::span<const std::byte>> array_of(sd_bus_message* m) {
    const void* data = nullptr;
    std::size_t size = 0;
    if (int r = sd_bus_message_read_array(m, 'y', &data, &size); r < 0) {
      return bus_fail(Errc::protocol, "a message without its byte array", r);
    }
    return std::span<const std::byte>(static_cast<const std::byte*>(data), size);
  }

  // `message` with an `ay` of `bytes` bytes appended, whose space loan() hands out.
  Result<std::span<std::byte>> loan_array(sd_bus_message* message, std::size_t bytes) {
    if (m_tx) sd_bus_message_unref(m_tx);
    m_tx = message;
    void* space = nullptr;
    if (int r = sd_bus_message_append_array_space(m_tx, 'y', bytes, &space); r < 0) {
      return bus_fail(Errc::system, "sd_bus_message_append_array_space", r);
    }
    m_tx_data = static_cast<std::byte*>(space);
    m_tx_bytes = bytes;
    return std::span<std::byte>(m_tx_data, bytes);
  }
  Result<void> check_loan_size(std::size_t bytes) const {
    if (bytes > m_endpoint.max_message_bytes || bytes > kMaxMessageBytes) {
      return fail(Errc::message_too_large,
                  std::to_string(bytes) + " bytes > the endpoint's " +
                      std::to_string(std::min(m_endpoint.max_message_bytes, kMaxMessageBytes)));
    }
    return {};
  }
  // The loaned message to send with `bytes` of its array: itself, or (fewer bytes than loaned) a
  // message of its own made by `remake`, as sd-bus cannot shorten an array.
  template <class Remake>
  Result<sd_bus_message*> take_loan(std::size_t bytes, Remake remake) {
    if (!m_tx || bytes > m_tx_bytes) {
      return fail(Errc::message_too_large,
                  "send of " + std::to_string(bytes) + " bytes, more than were loaned");
    }
    sd_bus_message* message = std::exchange(m_tx, nullptr);
    if (bytes == m_tx_bytes) return message;
    auto shorter = remake();
    int r = shorter ? sd_bus_message_append_array(*shorter, 'y', m_tx_data, bytes) : 0;
    sd_bus_message_unref(message);
    if (!shorter) return std::unexpected(shorter.error());
    if (r < 0) {
      sd_bus_message_unref(*shorter);
      return bus_fail(Errc::system, "sd_bus_message_append_array", r);
    }
    return *shorter;
  }
  void drop_loan() {
    if (m_tx) sd_bus_message_unref(std::exchange(m_tx, nullptr));
  }

  Endpoint m_endpoint;
  sd_bus* m_bus = nullptr;

 private:
  // sd_bus_process() until it has nothing more to do now: reads and dispatches what has come,
  // writes what is queued. Never sleeps.
  Result<void> process() {
    for (;;) {
      int r = sd_bus_process(m_bus, nullptr);
      if (r == 0) return {};
      if (r < 0) {
        return bus_fail(r == -ENOTCONN || r == -ECONNRESET ? Errc::peer_gone : Errc::system,
                        "the bus connection", r);
      }
    }
  }

  // The daemon says when a watched name's owner leaves: NameOwnerChanged(name, old, "").
  static int on_owner_changed(sd_bus_message* m, void* self, sd_bus_error*) {
    const char *name = nullptr, *old_owner = nullptr, *new_owner = nullptr;
    if (sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner) < 0) return 0;
    if (name && (!new_owner || !*new_owner)) static_cast<BusConnection*>(self)->m_gone.insert(name);
    return 0;
  }

  sd_bus_slot* m_filter = nullptr;
  std::vector<sd_bus_slot*> m_watches;
  std::set<std::string> m_gone;
  sd_bus_message* m_tx = nullptr;
  std::byte* m_tx_data = nullptr;
  std::size_t m_tx_bytes = 0;
};

// The point-to-point channel: Data calls without replies, both ways, under a credit window.
class DbusTransport final : public BusConnection {
 public:
  explicit DbusTransport(const Endpoint& endpoint)
      : BusConnection(endpoint), m_credits(endpoint.queue_depth) {}

  ~DbusTransport() override {
    drop_loan();
    release_message();
    for (sd_bus_message* m : m_inbox)
      sd_bus_message_unref(m);
    if (m_hello) sd_bus_message_unref(m_hello);
  }

  Result<std::string> listen() override {
    if (auto ok = open_bus(on_message); !ok) return std::unexpected(ok.error());
    std::string unique = unique_name();
    if (unique.empty()) return fail(Errc::resource, "sd_bus_get_unique_name failed");
    return unique;
  }

  Result<void> connect(std::string_view peer_address) override {
    if (m_endpoint.role == Role::consumer) {
      // Wait for the producer's Hello, watch it, then answer.
      auto ok = wait_for(WaitMode::block, "the peer's Hello", [&] { return m_hello != nullptr; });
      if (!ok) return ok;
      m_peer = sd_bus_message_get_sender(m_hello);
      if (auto watched = watch(m_peer); !watched) return watched;
      int r = sd_bus_reply_method_return(m_hello, "");
      sd_bus_message_unref(std::exchange(m_hello, nullptr));
      if (r < 0) return bus_fail(Errc::system, "reply to Hello", r);
      return flush();
    }
    if (auto ok = open_bus(on_message); !ok) return ok;
    m_peer = std::string(peer_address);
    if (auto watched = watch(m_peer); !watched) return watched;
    sd_bus_error error = SD_BUS_ERROR_NULL;
    sd_bus_message* reply = nullptr;
    int r =
        sd_bus_call_method(m_bus, m_peer.c_str(), kPath, kInterface, "Hello", &error, &reply, "");
    std::string why = error.message ? error.message : "";
    sd_bus_error_free(&error);
    sd_bus_message_unref(reply);
    if (r < 0) return fail(Errc::resource, "Hello to " + m_peer + ": " + why);
    return {};
  }

  Result<std::span<std::byte>> loan(std::size_t bytes) override {
    if (auto ok = check_loan_size(bytes); !ok) return std::unexpected(ok.error());
    drop_loan();
    auto made = new_call("Data");
    if (!made) return std::unexpected(made.error());
    return loan_array(*made, bytes);
  }

  Result<void> send(std::size_t bytes) override {
    auto message = take_loan(bytes, [&] { return new_call("Data"); });
    if (!message) return std::unexpected(message.error());
    auto ok =
        wait_for(m_endpoint.wait, "credit from the receiver", [&] { return m_credits.may_send(); });
    if (ok) ok = post(*message);
    sd_bus_message_unref(*message);
    if (!ok) return ok;
    m_credits.sent();
    return flush();
  }

  Result<std::span<const std::byte>> receive() override {
    release();
    auto ok = wait_for(m_endpoint.wait, "a message", [&] { return !m_inbox.empty(); });
    if (!ok) return std::unexpected(ok.error());
    m_rx = m_inbox.front();
    m_inbox.pop_front();
    auto data = array_of(m_rx);
    if (!data) release_message();
    return data;
  }

  void release() override {
    if (!m_rx) return;
    release_message();
    if (auto grant = m_credits.consumed()) {
      if (auto call = new_call("Credit")) {
        if (sd_bus_message_append_basic(*call, 't', &*grant) >= 0) (void)post(*call);
        sd_bus_message_unref(*call);
      }
    }
  }

 private:
  void release_message() {
    if (m_rx) sd_bus_message_unref(std::exchange(m_rx, nullptr));
  }

  Result<void> check_peers() override {
    if (!gone(m_peer)) return {};
    return fail(Errc::peer_gone, "the peer " + m_peer + " has left the bus");
  }

  // Every message that comes in passes here (sd_bus_process calls it): the calls of our
  // interface are ours; everything else is sd-bus's (the daemon's replies, the signals).
  static int on_message(sd_bus_message* m, void* self, sd_bus_error*) {
    auto* t = static_cast<DbusTransport*>(self);
    if (!sd_bus_message_is_method_call(m, kInterface, nullptr)) return 0;
    const char* member = sd_bus_message_get_member(m);
    if (std::strcmp(member, "Hello") == 0) {
      if (!t->m_hello && t->m_peer.empty()) t->m_hello = sd_bus_message_ref(m);
      return 1;
    }
    const char* sender = sd_bus_message_get_sender(m);
    if (!sender || t->m_peer != sender) return 1;  // not our peer's: dropped
    if (std::strcmp(member, "Data") == 0) {
      t->m_inbox.push_back(sd_bus_message_ref(m));
    } else if (std::strcmp(member, "Credit") == 0) {
      std::uint64_t consumed = 0;
      if (sd_bus_message_read_basic(m, 't', &consumed) > 0) t->m_credits.granted(consumed);
    }
    return 1;
  }

  Result<sd_bus_message*> new_call(const char* member) {
    sd_bus_message* m = nullptr;
    int r = sd_bus_message_new_method_call(m_bus, &m, m_peer.c_str(), kPath, kInterface, member);
    if (r >= 0) r = sd_bus_message_set_expect_reply(m, 0);
    if (r < 0) {
      sd_bus_message_unref(m);
      return bus_fail(Errc::system, "sd_bus_message_new_method_call", r);
    }
    return m;
  }

  CreditWindow m_credits;
  std::string m_peer;
  sd_bus_message* m_hello = nullptr;
  std::deque<sd_bus_message*> m_inbox;
  sd_bus_message* m_rx = nullptr;
};

// The reqresp scenario's server and clients (Endpoint::fan_in): D-Bus method calls with replies,
// as D-Bus services are written. The producer is the server: it owns a well-known name derived
// from the cell's token, and its one thread takes every client's Request call (an `ay`) off its
// one connection and answers each with a method return (an `ay`), which the daemon routes back to
// the caller by its serial. Each consumer is a client: send() is a Request call to the server's
// name, receive() waits for its reply. A client's first call, in connect(), carries its
// peer_index, which names it from then on; the server answers the greetings once it has every
// client's. No credit window: a client has one call outstanding at a time.
class DbusFanIn final : public BusConnection {
 public:
  explicit DbusFanIn(const Endpoint& endpoint)
      : BusConnection(endpoint), m_open(endpoint.peers, nullptr), m_names(endpoint.peers) {}

  ~DbusFanIn() override {
    drop_loan();
    for (sd_bus_message* m : m_inbox)
      sd_bus_message_unref(m);
    for (sd_bus_message* m : m_open)
      sd_bus_message_unref(m);
    sd_bus_message_unref(m_reply);
  }

  Result<std::string> listen() override {
    if (auto ok = open_bus(on_message); !ok) return std::unexpected(ok.error());
    return unique_name();
  }

  Result<void> connect(std::string_view) override {
    if (!m_bus) {
      if (auto ok = open_bus(on_message); !ok) return ok;
    }
    const std::string service = service_name();
    if (m_endpoint.role == Role::producer) return serve_every_client(service);
    // A client: the server's name owned (it may come after us), watched; then the greeting.
    const std::int64_t deadline =
        monotonic_ns() + std::chrono::nanoseconds(m_endpoint.timeout).count();
    for (;;) {
      auto owner = owner_of(service);
      if (!owner) return std::unexpected(owner.error());
      if (!owner->empty()) {
        m_server = *owner;
        break;
      }
      if (monotonic_ns() >= deadline) {
        return fail(Errc::timeout, "no server owned " + service + " within the timeout");
      }
      ::usleep(1000);
    }
    if (auto watched = watch(m_server); !watched) return watched;
    return greet_server(*this, m_endpoint.peer_index);
  }

  Result<std::span<std::byte>> loan(std::size_t bytes) override {
    if (auto ok = check_loan_size(bytes); !ok) return std::unexpected(ok.error());
    drop_loan();
    auto made = new_message();
    if (!made) return std::unexpected(made.error());
    return loan_array(*made, bytes);
  }

  Result<void> send(std::size_t bytes) override {
    auto message = take_loan(bytes, [&] { return new_message(); });
    if (!message) return std::unexpected(message.error());
    auto ok = post(*message, m_endpoint.role == Role::consumer ? &m_cookie : nullptr);
    sd_bus_message_unref(*message);
    if (m_endpoint.role == Role::producer) {  // answered: one reply per call
      sd_bus_message_unref(std::exchange(m_open[m_peer], nullptr));
    }
    if (!ok) return ok;
    return flush();
  }

  Result<std::span<const std::byte>> receive() override {
    if (m_endpoint.role == Role::consumer) {
      release();
      auto ok = wait_for(m_endpoint.wait, "the server's answer", [&] { return m_reply; });
      if (!ok) return std::unexpected(ok.error());
      if (sd_bus_message_is_method_error(m_reply, nullptr)) {
        const sd_bus_error* error = sd_bus_message_get_error(m_reply);
        return fail(Errc::protocol, std::string("the server answered with an error: ") +
                                        (error && error->message ? error->message : "?"));
      }
      return array_of(m_reply);
    }
    auto ok = wait_for(m_endpoint.wait, "a request", [&] { return !m_inbox.empty(); });
    if (!ok) return std::unexpected(ok.error());
    sd_bus_message* request = m_inbox.front();
    m_inbox.pop_front();
    const char* sender = sd_bus_message_get_sender(request);
    const auto known = std::ranges::find(m_names, std::string(sender ? sender : ""));
    if (known == m_names.end()) {
      sd_bus_message_unref(request);
      return fail(Errc::protocol, std::string("a request from ") + (sender ? sender : "?") +
                                      ", not one of the clients");
    }
    m_peer = static_cast<std::uint32_t>(known - m_names.begin());
    if (m_open[m_peer]) {
      sd_bus_message_unref(request);
      return fail(Errc::protocol, "client " + std::to_string(m_peer) +
                                      " sent a request before its last one was answered");
    }
    m_open[m_peer] = request;
    return array_of(request);
  }

  // A client's reply goes; a server's request stays until send() answers it.
  void release() override {
    if (m_reply) sd_bus_message_unref(std::exchange(m_reply, nullptr));
  }

  std::uint32_t peer() const override { return m_peer; }
  Result<void> select_peer(std::uint32_t peer) override {
    if (m_endpoint.role != Role::producer || peer >= m_open.size() || !m_open[peer]) {
      return fail(Errc::protocol, "client " + std::to_string(peer) + " has no request to answer");
    }
    m_peer = peer;
    return {};
  }

 private:
  // The server's well-known name: the token's letters and digits, under org.ipcbench.rr.
  std::string service_name() const {
    std::string name = "org.ipcbench.rr.t";
    for (char c : m_endpoint.token)
      name += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
    return name;
  }

  // The server's set-up: its name, every client's greeting (its peer_index), each watched, then
  // an empty answer to each.
  Result<void> serve_every_client(const std::string& service) {
    if (int r = sd_bus_request_name(m_bus, service.c_str(), 0); r < 0) {
      return bus_fail(Errc::resource, "RequestName " + service, r);
    }
    for (std::uint32_t heard = 0; heard < m_endpoint.peers; ++heard) {
      auto ok =
          wait_for(WaitMode::block, "every client's greeting", [&] { return !m_inbox.empty(); });
      if (!ok) return ok;
      sd_bus_message* greeting = m_inbox.front();
      m_inbox.pop_front();
      auto data = array_of(greeting);
      std::uint32_t index = 0;
      const char* sender = sd_bus_message_get_sender(greeting);
      if (!data || data->size() != sizeof index || !sender) {
        sd_bus_message_unref(greeting);
        return fail(Errc::protocol, "a client's first call is not its greeting");
      }
      std::memcpy(&index, data->data(), sizeof index);
      if (index >= m_endpoint.peers || m_open[index]) {
        sd_bus_message_unref(greeting);
        return fail(Errc::protocol, "a greeting from client " + std::to_string(index) + " of " +
                                        std::to_string(m_endpoint.peers) + ", or a second one");
      }
      m_names[index] = sender;
      m_open[index] = greeting;
      if (auto watched = watch(sender); !watched) return watched;
    }
    return answer_every_client(*this, m_endpoint.peers);
  }

  Result<void> check_peers() override {
    if (m_endpoint.role == Role::consumer) {
      if (!gone(m_server)) return {};
      return fail(Errc::peer_gone, "the server " + m_server + " has left the bus");
    }
    // Clients leave one by one at the end of a cell (each after its stop's answer) while the
    // server waits for the others: only when every client has left can nothing more come.
    const bool all_left = std::ranges::all_of(
        m_names, [&](const std::string& name) { return !name.empty() && gone(name); });
    if (all_left) return fail(Errc::peer_gone, "every client has left the bus");
    return {};
  }

  // A client's Request call, or the server's reply to the request it answers.
  Result<sd_bus_message*> new_message() {
    sd_bus_message* m = nullptr;
    int r = 0;
    if (m_endpoint.role == Role::consumer) {
      r = sd_bus_message_new_method_call(m_bus, &m, m_server.c_str(), kPath, kInterface, "Request");
    } else if (!m_open[m_peer]) {
      return fail(Errc::protocol, "client " + std::to_string(m_peer) + " has no request to answer");
    } else {
      r = sd_bus_message_new_method_return(m_open[m_peer], &m);
    }
    if (r < 0) {
      sd_bus_message_unref(m);
      return bus_fail(Errc::system, "sd_bus_message_new", r);
    }
    return m;
  }

  // The server keeps the Request calls; a client the reply to its last call.
  static int on_message(sd_bus_message* m, void* self, sd_bus_error*) {
    auto* t = static_cast<DbusFanIn*>(self);
    if (t->m_endpoint.role == Role::producer) {
      if (!sd_bus_message_is_method_call(m, kInterface, "Request")) return 0;
      t->m_inbox.push_back(sd_bus_message_ref(m));
      return 1;
    }
    std::uint8_t type = 0;
    std::uint64_t cookie = 0;
    if (sd_bus_message_get_type(m, &type) >= 0 &&
        (type == SD_BUS_MESSAGE_METHOD_RETURN || type == SD_BUS_MESSAGE_METHOD_ERROR) &&
        sd_bus_message_get_reply_cookie(m, &cookie) >= 0 && cookie == t->m_cookie && !t->m_reply) {
      t->m_reply = sd_bus_message_ref(m);
      return 1;
    }
    return 0;
  }

  // The server's side.
  std::deque<sd_bus_message*> m_inbox;  // Request calls not yet taken
  std::vector<sd_bus_message*> m_open;  // per client: its request not yet answered
  std::vector<std::string> m_names;     // per client: its unique name
  std::uint32_t m_peer = 0;             // whose request receive() returned last / send() answers
  // A client's side.
  std::string m_server;  // the server's unique name
  std::uint64_t m_cookie = 0;
  sd_bus_message* m_reply = nullptr;
};

Result<std::unique_ptr<Transport>> make(const Endpoint& endpoint) {
  if (endpoint.fan_in) return std::make_unique<DbusFanIn>(endpoint);
  return std::make_unique<DbusTransport>(endpoint);
}

// ---- The private bus -------------------------------------------------------------------------

// A session bus's configuration (Debian's session.conf: its policy and its limits), listening
// only on a socket in the daemon's private directory.
std::string bus_config(const std::string& socket_path) {
  return R"(<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<!-- Written by ipcbench for the dbus transport's private bus. -->
<busconfig>
  <type>session</type>
  <listen>unix:path=)" +
         socket_path + R"(</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
  <limit name="max_incoming_bytes">1000000000</limit>
  <limit name="max_outgoing_bytes">1000000000</limit>
  <limit name="max_message_size">1000000000</limit>
  <limit name="max_replies_per_connection">50000</limit>
</busconfig>
)";
}

class PrivateBus final : public Daemon {
 public:
  PrivateBus(DaemonProcess process, std::string address)
      : m_process(std::move(process)), m_address(std::move(address)) {}
  ~PrivateBus() override {
    const char* current = std::getenv(kAddressVariable);
    if (current && m_address == current) ::unsetenv(kAddressVariable);
    m_process.stop(SIGTERM, std::chrono::seconds(5));
  }
  bool alive() const override { return m_process.alive(); }
  std::optional<int> pid() const override { return m_process.pid(); }

 private:
  DaemonProcess m_process;
  std::string m_address;
};

// dbus-daemon prints its address ("unix:path=...,guid=...") on a line of its own when it serves.
std::string printed_address(const std::string& log) {
  for (std::size_t at = 0; (at = log.find("unix:path=", at)) != std::string::npos; ++at) {
    if (at != 0 && log[at - 1] != '\n') continue;
    auto end = log.find('\n', at);
    if (end != std::string::npos) return log.substr(at, end - at);
  }
  return "";
}

Result<std::unique_ptr<Daemon>> start_private_bus(const DaemonConfig& config) {
  const std::string config_path = config.dir + "/bus.conf";
  {
    std::ofstream out(config_path);
    out << bus_config(config.dir + "/bus");
    if (!out) return fail(Errc::resource, "cannot write " + config_path);
  }
  auto process = DaemonProcess::start({"dbus-daemon", "--config-file=" + config_path, "--nofork",
                                       "--nopidfile", "--nosyslog", "--print-address=1"},
                                      config.dir + "/bus.log", "install the dbus package");
  if (!process) return std::unexpected(process.error());
  auto ready =
      process->wait_ready([](const std::string& log) { return !printed_address(log).empty(); },
                          config.timeout, "dbus-daemon");
  if (!ready) return std::unexpected(ready.error());
  std::string address = printed_address(process->log());
  ::setenv(kAddressVariable, address.c_str(), 1);
  return std::make_unique<PrivateBus>(std::move(*process), std::move(address));
}

// The private bus needs the dbus-daemon program.
MachineFacts facts() {
  MachineFacts out;
  if (!program_on_path("dbus-daemon")) {
    out.unavailable = "dbus-daemon is not installed (it runs the private bus): install dbus";
  }
  return out;
}

}  // namespace

extern const TransportInfo dbus_driver{
    .name = "dbus",
    .description =
        "D-Bus method calls (ay, no reply; reqresp: calls answered by method returns) through a "
        "private dbus-daemon started for the run "
        "(session-bus limits), with sd-bus (libsystemd " IPCBENCH_LIBRARY_VERSION
        "); "
        "credit window = queue depth; up to 64 MiB (the D-Bus array limit); every wait mode: "
        "sd-bus has no thread of its own, the caller reads the bus socket (the daemon between "
        "the two sleeps in epoll whatever they do)",
    .capabilities =
        [] {
          return Capabilities{.max_message_bytes = kMaxMessageBytes,
                              .native_wait = WaitMode::block,
                              .fan_in = true};
        },
    .make = make,
    .start_daemon = start_private_bus,
    .here = facts,
};

}  // namespace ipcbench

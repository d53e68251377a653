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
#include <poll.h>
#include <signal.h>
#include <systemd/sd-bus.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <utility>

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

class DbusTransport final : public Transport {
 public:
  explicit DbusTransport(const Endpoint& endpoint)
      : m_endpoint(endpoint), m_credits(endpoint.queue_depth) {}

  ~DbusTransport() override {
    if (m_tx) sd_bus_message_unref(m_tx);
    release_message();
    for (sd_bus_message* m : m_inbox)
      sd_bus_message_unref(m);
    if (m_hello) sd_bus_message_unref(m_hello);
    sd_bus_slot_unref(m_watch);
    sd_bus_slot_unref(m_filter);
    // Writes what is still queued: the daemon delivers it to the peer after we have gone.
    if (m_bus) sd_bus_flush_close_unref(m_bus);
  }

  Result<std::string> listen() override {
    if (auto ok = open_bus(); !ok) return std::unexpected(ok.error());
    const char* unique = nullptr;
    if (int r = sd_bus_get_unique_name(m_bus, &unique); r < 0) {
      return bus_fail(Errc::resource, "sd_bus_get_unique_name", r);
    }
    return std::string(unique);
  }

  Result<void> connect(std::string_view peer_address) override {
    if (m_endpoint.role == Role::consumer) {
      // Wait for the producer's Hello, watch it, then answer.
      auto ok = wait_for(WaitMode::block, "the peer's Hello", [&] { return m_hello != nullptr; });
      if (!ok) return ok;
      m_peer = sd_bus_message_get_sender(m_hello);
      if (auto watched = watch_peer(); !watched) return watched;
      int r = sd_bus_reply_method_return(m_hello, "");
      sd_bus_message_unref(std::exchange(m_hello, nullptr));
      if (r < 0) return bus_fail(Errc::system, "reply to Hello", r);
      return flush();
    }
    if (auto ok = open_bus(); !ok) return ok;
    m_peer = std::string(peer_address);
    if (auto watched = watch_peer(); !watched) return watched;
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
    if (bytes > m_endpoint.max_message_bytes || bytes > kMaxMessageBytes) {
      return fail(Errc::message_too_large,
                  std::to_string(bytes) + " bytes > the endpoint's " +
                      std::to_string(std::min(m_endpoint.max_message_bytes, kMaxMessageBytes)));
    }
    if (m_tx) sd_bus_message_unref(std::exchange(m_tx, nullptr));
    auto made = new_call("Data");
    if (!made) return std::unexpected(made.error());
    m_tx = *made;
    void* space = nullptr;
    if (int r = sd_bus_message_append_array_space(m_tx, 'y', bytes, &space); r < 0) {
      return bus_fail(Errc::system, "sd_bus_message_append_array_space", r);
    }
    m_tx_data = static_cast<std::byte*>(space);
    m_tx_bytes = bytes;
    return std::span<std::byte>(m_tx_data, bytes);
  }

  Result<void> send(std::size_t bytes) override {
    if (!m_tx || bytes > m_tx_bytes) {
      return fail(Errc::message_too_large,
                  "send of " + std::to_string(bytes) + " bytes, more than were loaned");
    }
    sd_bus_message* message = std::exchange(m_tx, nullptr);
    if (bytes < m_tx_bytes) {  // a shorter message than loaned: a message of its own
      auto shorter = new_call("Data");
      int r = shorter ? sd_bus_message_append_array(*shorter, 'y', m_tx_data, bytes) : 0;
      sd_bus_message_unref(message);
      if (!shorter) return std::unexpected(shorter.error());
      message = *shorter;
      if (r < 0) {
        sd_bus_message_unref(message);
        return bus_fail(Errc::system, "sd_bus_message_append_array", r);
      }
    }
    auto ok =
        wait_for(m_endpoint.wait, "credit from the receiver", [&] { return m_credits.may_send(); });
    if (ok) ok = post(message);
    sd_bus_message_unref(message);
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
    const void* data = nullptr;
    std::size_t size = 0;
    if (int r = sd_bus_message_read_array(m_rx, 'y', &data, &size); r < 0) {
      release_message();
      return bus_fail(Errc::protocol, "a Data call without its byte array", r);
    }
    return std::span<const std::byte>(static_cast<const std::byte*>(data), size);
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

  Result<void> open_bus() {
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

  // The daemon says when the peer's connection ends: NameOwnerChanged(name, old, "").
  static int on_owner_changed(sd_bus_message* m, void* self, sd_bus_error*) {
    const char *name = nullptr, *old_owner = nullptr, *new_owner = nullptr;
    if (sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner) < 0) return 0;
    auto* t = static_cast<DbusTransport*>(self);
    if (name && t->m_peer == name && (!new_owner || !*new_owner)) t->m_peer_gone = true;
    return 0;
  }

  // Watches the peer's name, then makes sure it is still there (it may have gone before).
  Result<void> watch_peer() {
    const std::string rule =
        "type='signal',sender='org.freedesktop.DBus',path='/org/freedesktop/DBus',"
        "interface='org.freedesktop.DBus',member='NameOwnerChanged',arg0='" +
        m_peer + "'";
    if (int r = sd_bus_add_match(m_bus, &m_watch, rule.c_str(), on_owner_changed, this); r < 0) {
      return bus_fail(Errc::resource, "watch " + m_peer, r);
    }
    sd_bus_error error = SD_BUS_ERROR_NULL;
    sd_bus_message* reply = nullptr;
    int r = sd_bus_call_method(m_bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                               "org.freedesktop.DBus", "NameHasOwner", &error, &reply, "s",
                               m_peer.c_str());
    int has = 0;
    if (r >= 0) r = sd_bus_message_read_basic(reply, 'b', &has);
    sd_bus_error_free(&error);
    sd_bus_message_unref(reply);
    if (r < 0) return bus_fail(Errc::resource, "NameHasOwner " + m_peer, r);
    if (!has) return fail(Errc::peer_gone, "the peer " + m_peer + " is not on the bus");
    return {};
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

  Result<void> post(sd_bus_message* m) {
    if (int r = sd_bus_send(m_bus, m, nullptr); r < 0) {
      return bus_fail(r == -ENOTCONN || r == -ECONNRESET ? Errc::peer_gone : Errc::system,
                      "sd_bus_send", r);
    }
    return {};
  }

  // sd_bus_process() until it has nothing more to do now: reads and dispatches what has come
  // (on_message), writes what is queued. Never sleeps.
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

  // Waits, per `mode`, until `done()`, processing the bus meanwhile.
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
    auto check = [&]() -> Result<void> {
      if (!m_peer_gone) return {};
      return fail(Errc::peer_gone, "the peer " + m_peer + " has left the bus");
    };
    const WaitTraits traits{.polls_per_clock_read = 1,
                            .check_every_ns = kSliceNs,
                            .yield_after_ns = 0,
                            .waiting_for = what};
    return wait_until(policy, try_once, block_once, check, traits);
  }

  // Until everything queued is written to the daemon's socket.
  Result<void> flush() {
    return wait_for(m_endpoint.wait, "the bus socket to take the message",
                    [&] { return (sd_bus_get_events(m_bus) & POLLOUT) == 0; });
  }

  Endpoint m_endpoint;
  CreditWindow m_credits;
  sd_bus* m_bus = nullptr;
  sd_bus_slot* m_filter = nullptr;
  sd_bus_slot* m_watch = nullptr;
  std::string m_peer;
  bool m_peer_gone = false;
  sd_bus_message* m_hello = nullptr;
  std::deque<sd_bus_message*> m_inbox;
  sd_bus_message* m_rx = nullptr;
  sd_bus_message* m_tx = nullptr;
  std::byte* m_tx_data = nullptr;
  std::size_t m_tx_bytes = 0;
};

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
        "D-Bus method calls (ay, no reply) through a private dbus-daemon started for the run "
        "(session-bus limits), with sd-bus (libsystemd " IPCBENCH_LIBRARY_VERSION
        "); "
        "credit window = queue depth; up to 64 MiB (the D-Bus array limit); every wait mode: "
        "sd-bus has no thread of its own, the caller reads the bus socket (the daemon between "
        "the two sleeps in epoll whatever they do)",
    .capabilities =
        [] {
          return Capabilities{.max_message_bytes = kMaxMessageBytes,
                              .native_wait = WaitMode::block};
        },
    .make = make_transport<DbusTransport>,
    .start_daemon = start_private_bus,
    .here = facts,
};

}  // namespace ipcbench

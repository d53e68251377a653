// The one interface every transport implements, and the registry that lists them.
//
// One Transport object is one endpoint in one process. The scenario code talks only to this
// interface, so every transport is measured by the same code.
//
// Contract (the conformance suite in tests/conformance_test.cpp checks each bullet for every
// entry of the registry):
// - Set-up is two-phase. The consumer calls listen() first and gets an address string (a port,
//   or "" when the names derived from Endpoint::token suffice). The producer is then created and
//   calls connect(address); the consumer calls connect("") to accept it. Both return once the
//   channel carries messages both ways.
// - loan(n) gives n writable bytes; send(n) hands them to the peer. One loan at a time; the span
//   is invalid after send(). A copying transport loans a private buffer and copies on send; a
//   zero-copy transport loans memory the peer will read in place.
// - receive() waits (per Endpoint::wait) for the next whole message and returns a view of it that
//   stays valid until release(). One received message at a time.
// - Messages arrive whole, in FIFO order, each exactly once, with the bytes that were sent; a
//   transport whose kernel mechanism is lossy (datagrams) detects a lost, duplicated or reordered
//   fragment and says so, it never returns a corrupt message.
// - A peer that exits or dies makes receive()/send() fail with Errc::peer_gone (or Errc::timeout
//   after Endpoint::timeout at the latest): an error, never a hang.
// - Every name a transport creates (files under Endpoint::dir, POSIX shm and message queue names
//   starting with Endpoint::token, System V queues marked with such a name: transports/
//   sysv_queue.hpp) is removed when the endpoints are destroyed; the harness sweeps them after
//   each cell as well, so a killed process leaves nothing behind either.
// - Errors are values (Result<T>), never exceptions, on every call.
// - One producer, N consumers (the fanout scenario). A multicast transport
//   (Capabilities::multicast) gives the producer one endpoint, made with Endpoint::peers = N, that
//   serves N consumer endpoints (Endpoint::peer_index 0..N-1, all under one token): the producer's
//   connect() returns once all N are connected, send() delivers each message to every one of them,
//   and receive() takes the next message any of them sent. Any other transport is point to point:
//   the harness gives the producer N endpoints, one per consumer, each under a token of its own,
//   and the producer sends each message N times, as an application would.
// - N consumers, one producer that answers each (the reqresp scenario). A transport that serves
//   many clients natively (Capabilities::fan_in: a request-response library) gives the producer
//   one endpoint, made with Endpoint::fan_in and Endpoint::peers = N, serving N consumer endpoints
//   (peer_index 0..N-1, one token): receive() takes the next message any of them sent (waiting
//   per Endpoint::wait), peer() says whose, and send() answers it (select_peer() picks another
//   consumer with a message unanswered). Every consumer message gets exactly one answer. Any other
//   transport gets one point-to-point endpoint per consumer, multicast or not; beyond one, the
//   producer waits on all of them in one epoll over their readable_fd() (Capabilities::pollable),
//   and receives from a channel epoll reports with one try (OneTry, base/wait.hpp): a readiness
//   may have nothing behind it.
// - Settings (`--set <transport>.<name>=<value>`): a driver that takes any declares them in its
//   row (TransportInfo::options: name, range, default); an endpoint gets those a cell was given
//   in Endpoint::options (already checked against the ranges), applies them during set-up, and
//   after connect() reports what the kernel granted (granted_options()). A setting not given
//   changes nothing: the transport behaves as without settings.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <expected>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "base/wait.hpp"

namespace ipcbench {

enum class Role : std::uint8_t { producer, consumer };
std::string_view to_string(Role role);

// What a transport can do. The defaults are the common case, so a driver names only what
// differs: `Capabilities{.native_wait = WaitMode::spin}`.
struct Capabilities {
  std::size_t max_message_bytes = 64u << 20;  // the largest message send() accepts
  bool zero_copy = false;                     // the receiver reads the sender's memory in place
  bool kernel_reliable = true;                // the mechanism itself never loses or reorders
  std::vector<WaitMode> waits = {WaitMode::spin, WaitMode::block, WaitMode::adaptive};
  // The mode the mechanism is normally used in, and the one a run uses unless told otherwise:
  // the kernel's objects block (a read sleeps until data comes), shared memory spins (nothing
  // wakes a reader unless it asks for a futex). The seed articles measured each kind so.
  WaitMode native_wait = WaitMode::block;
  // The channel is the consumer's stdin/stdout (the seeds' stdin_stdout): the harness wires two
  // pipes and hands the ends over in Endpoint::in_fd/out_fd.
  bool stdio_pipes = false;
  // One producer endpoint serves many consumers and publishes each message once to all (see the
  // contract above); false: point to point, one channel per consumer.
  bool multicast = false;
  // The most consumers one producer can serve in a cell (fanout's N): a library's own limit.
  std::size_t max_consumers = std::numeric_limits<std::size_t>::max();
  // Transport::readable_fd() gives a descriptor: one thread can sleep on many endpoints in one
  // epoll (the reqresp scenario's server, beyond one client).
  bool pollable = false;
  // One producer endpoint answers many consumers' messages, each to its sender (see the contract
  // above): the reqresp scenario's server uses it instead of one channel per client.
  bool fan_in = false;
  // The most clients that endpoint serves in a cell (reqresp's N): a library's own limit.
  std::size_t max_clients = std::numeric_limits<std::size_t>::max();

  // A library whose own threads move the bytes and sleep in the kernel whatever the caller does
  // (nng, the DDS libraries, gRPC): `block` is the only mode the caller can choose.
  static Capabilities block_only(std::size_t max_message_bytes = 64u << 20) {
    return Capabilities{.max_message_bytes = max_message_bytes,
                        .waits = {WaitMode::block},
                        .native_wait = WaitMode::block};
  }
};

// A setting a user gives a driver: `ipcbench run --set <transport>.<name>=<value>`. A driver
// declares the settings it takes (TransportInfo::options), each a whole number within a range,
// and reads the ones it was given from Endpoint::options; what it does with one (which call, on
// which side) is the driver's. A setting that was not given is left as the transport leaves it.
enum class OptionUnit : std::uint8_t {
  bytes,  // a size: written 64KiB, 1MiB (units as --sizes)
  count,  // a plain number
};
struct OptionSpec {
  std::string name;         // "buffer": [a-z][a-z0-9_]*
  std::string description;  // what it sets, and how (the call), one line
  OptionUnit unit = OptionUnit::bytes;
  std::uint64_t min = 0;  // the values allowed, both included (they may depend on this machine)
  std::uint64_t max = 0;
  std::string max_source;    // where `max` comes from when it is this machine's, else empty
  std::string default_text;  // what the transport does when it is not set
};
// One setting as an endpoint is given it, or as a transport reports what it got.
struct OptionValue {
  std::string name;
  std::uint64_t value = 0;
  bool operator==(const OptionValue&) const = default;
};

// What a transport endpoint is given. Everything a cell needs to be unique comes from here.
struct Endpoint {
  Role role = Role::producer;
  WaitMode wait = WaitMode::block;
  std::string token;  // unique per cell; prefix of every POSIX shm name
  // The same for every channel between the same two workers (two where a load runs beside), and
  // distinct otherwise: a library that multiplexes channels over one connection (gRPC's streams)
  // carries a pair's channels on one, as an application with two streams to one server does.
  std::string pair_token;
  std::string dir;                          // private directory for this cell, removed after it
  std::size_t max_message_bytes = 4096;     // the largest message this cell sends
  std::size_t queue_depth = 8;              // messages a producer may have in flight
  std::chrono::milliseconds timeout{5000};  // receive()/connect() give up after this
  std::chrono::microseconds spin{5};        // adaptive: how long to spin before blocking
  int in_fd = -1;                           // stdio_pipes: read end of the channel
  int out_fd = -1;                          // stdio_pipes: write end of the channel
  std::uint32_t peers = 1;       // multicast: the consumers the producer's endpoint serves
                                 // (every member of the group is told)
  std::uint32_t peer_index = 0;  // multicast consumer: which of them this is (0..peers-1)
  // The producer answers each consumer's messages to it alone (a fan-in scenario over a
  // Capabilities::fan_in transport), rather than sending every message to every consumer.
  bool fan_in = false;
  // The driver's settings this cell was given (--set), each one the driver declares, within its
  // range; the others are not here.
  std::vector<OptionValue> options;

  // The value of setting `name`, if it was given.
  std::optional<std::uint64_t> option(std::string_view name) const;
  // pair_token, or the token where nobody set one (an endpoint made outside the harness).
  const std::string& pair() const { return pair_token.empty() ? token : pair_token; }

  // How this endpoint's waits go (base/wait.hpp).
  WaitPolicy policy() const {
    return {wait, std::chrono::nanoseconds(timeout).count(),
            std::chrono::nanoseconds(spin).count()};
  }
};

// Counts kept by the transport itself, reported in the results (`lost`).
struct TransportStats {
  std::uint64_t messages_lost = 0;  // dropped because a fragment was lost or out of order
};

class Transport {
 public:
  virtual ~Transport() = default;
  Transport() = default;
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  // Consumer only, first: create what the producer connects to. Returns its address.
  virtual Result<std::string> listen() { return std::string{}; }
  // Producer: connect to the consumer's address. Consumer: accept the producer ("" address).
  virtual Result<void> connect(std::string_view peer_address) = 0;
  virtual Result<std::span<std::byte>> loan(std::size_t bytes) = 0;
  virtual Result<void> send(std::size_t bytes) = 0;
  virtual Result<std::span<const std::byte>> receive() = 0;
  virtual void release() = 0;
  virtual TransportStats stats() const { return {}; }
  // After connect(): what the kernel granted for the settings in Endpoint::options (it may round,
  // double or clamp what was asked), read back from it (F_GETPIPE_SZ, getsockopt, mq_getattr).
  // Each side reports the settings whose value matters on its side for the producer -> consumer
  // stream (a send buffer on the producer, a receive buffer on the consumer); the results keep
  // the producer's value of a setting both report.
  virtual std::vector<OptionValue> granted_options() const { return {}; }
  // After connect(), on a transport whose Capabilities::pollable is set: a descriptor that epoll
  // reports readable (level-triggered) whenever receive() may have a message to return, or its
  // peer is gone, so that one thread can wait on many endpoints at once, as a server waits on its
  // clients ("may": a readiness can be spurious; the caller then receives with OneTry). It stays
  // the endpoint's, made on the first call where the transport makes one: the caller only waits
  // on it. -1 on any other transport.
  virtual int readable_fd() { return -1; }
  // A fan-in producer (Endpoint::fan_in) only: the consumer (its peer_index) whose message
  // receive() returned last, and the one the next send() answers.
  virtual std::uint32_t peer() const { return 0; }
  // A fan-in producer only: the next send() answers consumer `peer_index` (which must have a
  // message of its own unanswered) instead of the last one receive() returned.
  virtual Result<void> select_peer(std::uint32_t) {
    return fail(Errc::unsupported, "not a fan-in endpoint");
  }
};

// A process a transport needs running while its cells run (iceoryx's RouDi broker, say). The
// conductor starts it before the transport's first cell and destroys the Daemon object after the
// last one, also when a cell fails or the run is interrupted; the destructor stops what it
// started (and leaves alone a daemon it found already running).
class Daemon {
 public:
  virtual ~Daemon() = default;
  // Still serving? The conductor starts a new one before the next cell if not.
  virtual bool alive() const { return true; }
  // Its process, when this object started one (its memory is reported with each cell).
  virtual std::optional<int> pid() const { return std::nullopt; }
};

struct DaemonConfig {
  std::size_t max_message_bytes = 0;  // the largest message any of its cells will send
  std::size_t max_consumers = 1;      // the most consumers one producer of its cells serves
  // The queue depth its cells' endpoints get for messages of a size (Endpoint::queue_depth);
  // nullptr: the deepest the harness uses, 64.
  std::size_t (*queue_depth_for)(std::size_t bytes) = nullptr;
  std::string dir;    // a private directory for its files, removed afterwards
  std::string token;  // a unique prefix for any name it makes
  std::chrono::milliseconds timeout{10000};  // how long it may take to get ready
};

// What a driver learns about this machine when the registry is first read (TransportInfo::here).
struct MachineFacts {
  // When not empty, replaces TransportInfo::description: the limits in force here, say.
  std::string description;
  // Why it cannot run here (a permission, a setting); empty when it can.
  std::string unavailable;
};

// One row of the registry (transports/registry.cpp).
struct TransportInfo {
  std::string_view name;
  std::string_view description;  // what it is and its limits, one line
  Capabilities (*capabilities)();
  Result<std::unique_ptr<Transport>> (*make)(const Endpoint& endpoint);
  // Empty when the transport can run here; otherwise why not and what to install.
  std::string_view unavailable = {};
  // Set when the transport needs a daemon running during its cells (see Daemon).
  Result<std::unique_ptr<Daemon>> (*start_daemon)(const DaemonConfig& config) = nullptr;
  // Set when what the registry says depends on this machine (a kernel limit, a permission, a
  // setting): called once, when the registry is first read; what it returns fills in
  // `description` and `unavailable` (the latter only where the row leaves it empty).
  MachineFacts (*here)() = nullptr;
  // Set when the library makes names the driver cannot choose, neither under Endpoint::dir nor
  // starting with the token (Fast DDS's segments and port files in /dev/shm): the endpoints
  // record those names in files under Endpoint::dir as they make them, and this removes the
  // recorded ones that no live process still uses. The harness calls it with a cell's directory
  // once the cell's workers have ended, before it removes the directory (also a dead run's).
  void (*sweep_recorded)(const std::string& dir) = nullptr;
  // Set when the driver makes objects that have no name in a directory (System V queues: a key
  // and an id): removes those it can prove its own whose name `doomed` accepts, and returns how
  // many. The harness calls it after each cell (names after the cell's token) and when it sweeps
  // what killed runs left (names of runs no longer alive).
  int (*sweep_named)(const std::function<bool(const std::string& name)>& doomed) = nullptr;
  // Set when the driver takes settings (--set): what each is, its range and its default, in the
  // order cell names and labels list them. Called when needed (its ranges may read /proc).
  std::vector<OptionSpec> (*options)() = nullptr;
};

// The settings a transport takes (none when its row declares none).
std::vector<OptionSpec> options_of(const TransportInfo& info);

// Errc::message_too_large when a message of `bytes` exceeds the largest the endpoint takes;
// `call` names what was asked ("loan", "send").
Result<void> check_size(const Endpoint& endpoint, std::size_t bytes, std::string_view call);

// The handshake of a fan-in endpoint (Endpoint::fan_in), after which the server knows every
// client by its peer_index: each client sends a greeting carrying it and waits for the answer; the
// server takes every client's greeting (in its own way) and then answers each, empty, so that no
// client starts before all are there.
Result<void> greet_server(Transport& client, std::uint32_t peer_index);
Result<void> answer_every_client(Transport& server, std::uint32_t clients);

// The usual factory: a transport made from the endpoint alone (`.make = make_transport<T>`).
template <class T>
Result<std::unique_ptr<Transport>> make_transport(const Endpoint& endpoint) {
  return std::make_unique<T>(endpoint);
}

// The registry, in the order `list` and `--transports all` use.
std::span<const TransportInfo> transports();
const TransportInfo* find_transport(std::string_view name);

}  // namespace ipcbench

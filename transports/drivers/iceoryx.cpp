// iceoryx: Eclipse iceoryx classic (2.0, Debian's packages) publish/subscribe through its broker
// RouDi, zero-copy as designed: loan() is a publisher loan of a chunk whose user payload is the
// message, send() publishes it, receive() takes the subscriber's next chunk and keeps it until
// release(). Two services per cell, ("ipcbench", <token>, "p2c") and (.., "c2p"), one publisher
// and one subscriber each side; reliable: the publisher waits for a full subscriber queue
// (WAIT_FOR_CONSUMER / BLOCK_PRODUCER), whose capacity is Endpoint::queue_depth.
//
// Waiting: spin = poll take(); block = a WaitSet with the subscriber's HAS_DATA state attached
// (timedWait in slices); adaptive = spin for Endpoint::spin, then block. The sending side waits
// inside iceoryx (publish yields until the subscriber's queue has room).
//
// Peer gone: the peer's publisher and subscriber go together (a clean exit destroys both; RouDi
// removes a killed process's ports once its keep-alive has lapsed, ~1.5 s). Debian's iceoryx is
// built many-to-many, where a subscriber does not notice its publisher going, so both sides look
// at their own publisher: no subscriber any more means the peer has gone. receive() then takes
// what the peer published before and says peer_gone; send() says peer_gone. Endpoint::timeout
// bounds every wait in any case.
//
// The process's runtime (its registration with RouDi) belongs to the transport: it is made with
// the protected runtime factory that iceoryx's own PoshRuntimeSingleProcess uses, so that
// destroying the transport deregisters the process at once (RouDi sees a clean exit and the
// runtime removes its /tmp/<app> socket and lock) even when the process then ends with _exit().
// iceoryx's error handler is replaced so that a SEVERE error (a chunk larger than every mempool,
// say) comes back as an error value instead of an assert; FATAL ones still abort.
//
// RouDi: start_daemon starts `iox-roudi -c <config>` (mempools sized for the run's largest
// message), waits for "RouDi is ready for clients" in its log, and on destruction waits until
// RouDi has let every client go (RouDi aborts when it is stopped while it still lists a process
// that died) before SIGINT; it removes what RouDi leaves if it dies badly. A RouDi that is
// already running (another user's) is used and left alone.
#include <algorithm>

#include "transports/transport.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "base/peer_watch.hpp"
#include "base/wait.hpp"
#include "iceoryx_hoofs/error_handling/error_handling.hpp"
#include "iceoryx_hoofs/log/logmanager.hpp"
#include "iceoryx_posh/internal/runtime/posh_runtime_impl.hpp"
#include "iceoryx_posh/mepoo/chunk_header.hpp"
#include "iceoryx_posh/popo/untyped_publisher.hpp"
#include "iceoryx_posh/popo/untyped_subscriber.hpp"
#include "iceoryx_posh/popo/wait_set.hpp"

namespace ipcbench {
namespace {

// RouDi reserves and touches its whole segment at start, so the largest size costs memory:
// about 220 MiB for 1 MiB messages, 0.9 GiB for 16 MiB (see roudi_config()).
constexpr std::size_t kMaxMessageBytes = 16u << 20;

using Clock = std::chrono::steady_clock;

constexpr const char* kRoudiSocket = "/tmp/roudi";
constexpr const char* kRoudiLock = "/tmp/roudi.lock";
constexpr const char* kUniqueRoudiLock = "/tmp/iox-unique-roudi.lock";
constexpr const char* kReadyLine = "RouDi is ready for clients";
// Between two looks at the peer while blocked on the WaitSet.
constexpr std::int64_t kSliceNs = 20'000'000;
// What a consumer of a group sends first (connect_group).
constexpr std::uint64_t kGreeting = 0x5445455247584f49;   // "IOXGREET"
constexpr std::size_t kGreetingBytes = sizeof kGreeting;  // a blocking wait's slice, between looks

// ---- Is a RouDi there? ----------------------------------------------------------------------

enum class RoudiSocket { absent, serving, forbidden };

// RouDi serves when its datagram socket /tmp/roudi is bound: connect() only checks that. A
// RouDi of another user may keep it from us (forbidden): then its clients cannot be ours.
RoudiSocket roudi_socket() {
  int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return RoudiSocket::absent;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, kRoudiSocket, sizeof addr.sun_path - 1);
  auto state = RoudiSocket::serving;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    state = errno == EACCES || errno == EPERM ? RoudiSocket::forbidden : RoudiSocket::absent;
  }
  ::close(fd);
  return state;
}
bool roudi_serving() {
  return roudi_socket() == RoudiSocket::serving;
}

constexpr const char* kForbidden =
    "a RouDi of another user runs here and /tmp/roudi is not open to this user; iceoryx allows "
    "one RouDi per machine";

// RouDi holds an flock on /tmp/roudi.lock from before it serves until after it stops serving.
bool roudi_lock_held() {
  int fd = ::open(kRoudiLock, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno == EACCES;  // another user's
  bool held = false;
  if (::flock(fd, LOCK_SH | LOCK_NB) == 0) {
    ::flock(fd, LOCK_UN);
  } else {
    held = errno == EWOULDBLOCK;
  }
  ::close(fd);
  return held;
}

// A live (not zombie) process named iox-roudi, or 0.
pid_t find_roudi_process() {
  DIR* proc = ::opendir("/proc");
  if (!proc) return 0;
  pid_t found = 0;
  while (dirent* entry = ::readdir(proc)) {
    char* end = nullptr;
    long pid = std::strtol(entry->d_name, &end, 10);
    if (pid <= 0 || *end != '\0') continue;
    std::ifstream comm("/proc/" + std::string(entry->d_name) + "/comm");
    std::string name;
    if (!std::getline(comm, name) || name != "iox-roudi") continue;
    auto state = read_process_state(pid);
    if (state && state->state != 'Z' && state->state != 'X') {
      found = static_cast<pid_t>(pid);
      break;
    }
  }
  ::closedir(proc);
  return found;
}

// The ipcbench process (a run's conductor, or a test) whose RouDi `roudi` is, or 0 when it is
// somebody else's. ipcbench starts RouDi with "-c <its daemon directory>/roudi.toml", the
// directory named after its daemon token, and as its own child.
pid_t ipcbench_owner_of(pid_t roudi) {
  std::ifstream in("/proc/" + std::to_string(roudi) + "/cmdline");
  std::string cmdline((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (cmdline.find("-daemon-iceoryx/roudi.toml") == std::string::npos) return 0;
  std::ifstream stat("/proc/" + std::to_string(roudi) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  auto close = text.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream fields(text.substr(close + 2));
  std::string state;
  long ppid = 0;
  fields >> state >> ppid;
  return static_cast<pid_t>(ppid);
}

// ---- The runtime ----------------------------------------------------------------------------

std::atomic<const char*> g_last_error{nullptr};

// Replaces iceoryx's default error handler, which asserts on SEVERE errors in Debian's build:
// those are reported to the caller by the call's own return value as well, and recorded here.
void on_iceoryx_error(const iox::Error error, const std::function<void()> callback,
                      const iox::ErrorLevel level) {
  if (callback) callback();
  const char* name = iox::ErrorHandler::toString(error);
  g_last_error.store(name, std::memory_order_relaxed);
  if (level == iox::ErrorLevel::FATAL) {
    std::fprintf(stderr, "iceoryx: fatal error %s\n", name);
    std::abort();
  }
}

std::string last_iceoryx_error() {
  const char* name = g_last_error.exchange(nullptr, std::memory_order_relaxed);
  return name ? std::string(" (") + name + ")" : std::string();
}

void prepare_iceoryx() {
  static std::once_flag once;
  std::call_once(once, [] {
    // Before anything logs: client logs default to verbose.
    iox::log::LogManager::GetLogManager().SetDefaultLogLevel(
        iox::log::LogLevel::kWarn, iox::log::LogLevelOutput::kHideLogLevel);
    static auto guard = iox::ErrorHandler::setTemporaryErrorHandler(on_iceoryx_error);
  });
}

// This process's registration with RouDi, owned (not a function-local static as
// PoshRuntime::initRuntime makes it), so that it ends when the last transport does.
class Runtime final : public iox::runtime::PoshRuntimeImpl {
 public:
  explicit Runtime(const iox::RuntimeName_t& name)
      : PoshRuntimeImpl(iox::cxx::make_optional<const iox::RuntimeName_t*>(&name)) {
    s_instance = this;
    setRuntimeFactory(&factory);
  }
  ~Runtime() override {
    setRuntimeFactory(&PoshRuntime::defaultRuntimeFactory);
    s_instance = nullptr;
  }

  // The one runtime of this process, made with `name` if there is none yet.
  static std::shared_ptr<Runtime> acquire(const std::string& name) {
    static std::mutex mutex;
    static std::weak_ptr<Runtime> current;
    std::lock_guard lock(mutex);
    if (auto runtime = current.lock()) return runtime;
    auto runtime =
        std::make_shared<Runtime>(iox::RuntimeName_t(iox::cxx::TruncateToCapacity, name.c_str()));
    current = runtime;
    return runtime;
  }

 private:
  static iox::runtime::PoshRuntime& factory(
      iox::cxx::optional<const iox::RuntimeName_t*>) noexcept {
    return *s_instance;
  }
  static inline Runtime* s_instance = nullptr;
};

// ---- The transport --------------------------------------------------------------------------

class IceoryxTransport final : public Transport {
 public:
  explicit IceoryxTransport(const Endpoint& endpoint) : m_endpoint(endpoint) {}

  ~IceoryxTransport() override {
    if (m_received) m_subscriber->release(m_received);
    if (m_loaned) m_publisher->release(m_loaned);
    m_waitset.reset();
    m_subscriber.reset();
    m_publisher.reset();
    m_runtime.reset();  // the last one deregisters this process from RouDi
  }

  Result<std::string> listen() override {
    if (auto ok = open(); !ok) return std::unexpected(ok.error());
    return std::string{};
  }

  Result<void> connect(std::string_view) override {
    if (!m_publisher) {
      if (auto ok = open(); !ok) return ok;
    }
    const auto deadline = Clock::now() + m_endpoint.timeout;
    auto timed_out = [&] {
      return fail(Errc::timeout, "the peer did not show up within " +
                                     std::to_string(m_endpoint.timeout.count()) + " ms");
    };
    if (m_endpoint.peers > 1) return connect_group(deadline);
    // Connected once our publisher has the peer's subscriber: what we publish reaches it. The
    // other way round is the peer's to wait for, before it sends anything; so a message from the
    // peer also means connected (it may have sent and gone before we look).
    while (!m_publisher->hasSubscribers() && !m_subscriber->hasData()) {
      if (Clock::now() >= deadline) return timed_out();
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return {};
  }

  // One producer, N consumers: hasSubscribers() cannot count them, so each consumer, once its
  // subscriber has the producer's publisher and its publisher the producer's subscriber, sends a
  // greeting; the producer is connected when all N greetings have come.
  Result<void> connect_group(std::chrono::steady_clock::time_point deadline) {
    auto timed_out = [&] {
      return fail(Errc::timeout, "not every consumer showed up within " +
                                     std::to_string(m_endpoint.timeout.count()) + " ms");
    };
    if (m_endpoint.role == Role::consumer) {
      while (m_subscriber->getSubscriptionState() != iox::SubscribeState::SUBSCRIBED ||
             !m_publisher->hasSubscribers()) {
        if (Clock::now() >= deadline) return timed_out();
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      auto greeting = loan_chunk(kGreetingBytes);
      if (!greeting) return std::unexpected(greeting.error());
      std::memcpy(*greeting, &kGreeting, kGreetingBytes);
      m_publisher->publish(*greeting);
      return {};
    }
    for (std::uint32_t greeted = 0; greeted < m_endpoint.peers;) {
      auto chunk = take_once();
      if (!chunk) return std::unexpected(chunk.error());
      if (*chunk) {
        const bool greeting =
            iox::mepoo::ChunkHeader::fromUserPayload(*chunk)->userPayloadSize() == kGreetingBytes &&
            std::memcmp(*chunk, &kGreeting, kGreetingBytes) == 0;
        m_subscriber->release(*chunk);
        if (!greeting) return fail(Errc::protocol, "a consumer's first message is not a greeting");
        ++greeted;
        continue;
      }
      if (Clock::now() >= deadline) return timed_out();
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
    return {};
  }

  Result<std::span<std::byte>> loan(std::size_t bytes) override {
    if (bytes > m_endpoint.max_message_bytes || bytes > kMaxMessageBytes) {
      return fail(Errc::message_too_large, std::to_string(bytes) + " bytes > the endpoint's " +
                                               std::to_string(m_endpoint.max_message_bytes));
    }
    if (m_loaned) {
      m_publisher->release(m_loaned);
      m_loaned = nullptr;
    }
    auto chunk = loan_chunk(bytes);
    if (!chunk) return std::unexpected(chunk.error());
    m_loaned = *chunk;
    m_loaned_bytes = bytes;
    return std::span<std::byte>(static_cast<std::byte*>(m_loaned), bytes);
  }

  Result<void> send(std::size_t bytes) override {
    if (!m_loaned) return fail(Errc::protocol, "send without a loan");
    if (bytes > m_loaned_bytes) {
      return fail(Errc::message_too_large,
                  "send of " + std::to_string(bytes) + " bytes, more than were loaned");
    }
    if (bytes < m_loaned_bytes) {  // the chunk says how long the message is: a chunk of its own
      auto shorter = loan_chunk(bytes);
      if (!shorter) return std::unexpected(shorter.error());
      std::memcpy(*shorter, m_loaned, bytes);
      m_publisher->release(m_loaned);
      m_loaned = *shorter;
    }
    if (!m_publisher->hasSubscribers()) {
      m_publisher->release(m_loaned);
      m_loaned = nullptr;
      return fail(Errc::peer_gone, "send: the peer's subscriber has gone");
    }
    m_publisher->publish(m_loaned);
    m_loaned = nullptr;
    return {};
  }

  Result<std::span<const std::byte>> receive() override {
    release();
    auto got = take_waiting();
    if (!got) return std::unexpected(got.error());
    m_received = *got;
    auto* header = iox::mepoo::ChunkHeader::fromUserPayload(m_received);
    return std::span<const std::byte>(static_cast<const std::byte*>(m_received),
                                      header->userPayloadSize());
  }

  void release() override {
    if (m_received) m_subscriber->release(m_received);
    m_received = nullptr;
  }

 private:
  Result<void> open() {
    const bool producer = m_endpoint.role == Role::producer;
    if (m_endpoint.token.size() > 80) return fail(Errc::resource, "token too long for iceoryx");
    if (roudi_socket() == RoudiSocket::forbidden) return fail(Errc::unavailable, kForbidden);
    if (!roudi_serving()) {
      return fail(Errc::unavailable,
                  "RouDi (iox-roudi) is not running: `ipcbench run` starts it; to use this "
                  "transport elsewhere, start iox-roudi first");
    }
    prepare_iceoryx();
    // One runtime name per process: consumers of one producer are told apart by their index.
    m_runtime = Runtime::acquire(
        m_endpoint.token +
        (producer ? std::string("-producer")
                  : "-consumer" + (m_endpoint.peers > 1 ? std::to_string(m_endpoint.peer_index)
                                                        : std::string())));

    auto service = [&](const std::string& direction) {
      auto id = [](const std::string& text) {
        return iox::capro::IdString_t(iox::cxx::TruncateToCapacity, text);
      };
      return iox::capro::ServiceDescription(id("ipcbench"), id(m_endpoint.token), id(direction));
    };
    iox::popo::PublisherOptions publisher_options;
    publisher_options.historyCapacity = 0;
    publisher_options.subscriberTooSlowPolicy = iox::popo::ConsumerTooSlowPolicy::WAIT_FOR_CONSUMER;
    iox::popo::SubscriberOptions subscriber_options;
    subscriber_options.queueCapacity = std::clamp<std::uint64_t>(
        m_endpoint.queue_depth, 1, iox::popo::SubscriberChunkQueueData_t::MAX_CAPACITY);
    subscriber_options.historyRequest = 0;
    subscriber_options.queueFullPolicy = iox::popo::QueueFullPolicy::BLOCK_PRODUCER;

    m_publisher = std::make_unique<iox::popo::UntypedPublisher>(service(producer ? "p2c" : "c2p"),
                                                                publisher_options);
    m_subscriber = std::make_unique<iox::popo::UntypedSubscriber>(service(producer ? "c2p" : "p2c"),
                                                                  subscriber_options);
    if (m_endpoint.wait != WaitMode::spin) {
      m_waitset = std::make_unique<iox::popo::WaitSet<1>>();
      auto attached = m_waitset->attachState(*m_subscriber, iox::popo::SubscriberState::HAS_DATA);
      if (attached.has_error()) {
        return fail(Errc::resource,
                    "cannot attach the subscriber to a WaitSet" + last_iceoryx_error());
      }
    }
    return {};
  }

  // A chunk for `bytes`; while the mempool has none free (the peer still holds them), polls until
  // the timeout, whatever the wait mode: iceoryx has no wake-up for a chunk given back.
  Result<void*> loan_chunk(std::size_t bytes) {
    void* chunk = nullptr;
    auto try_once = [&]() -> Result<bool> {
      auto loaned = m_publisher->loan(static_cast<std::uint32_t>(bytes));
      if (!loaned.has_error()) {
        chunk = loaned.value();
        return true;
      }
      auto error = loaned.get_error();
      if (error == iox::popo::AllocationError::RUNNING_OUT_OF_CHUNKS) return false;
      return fail(Errc::resource, "iceoryx cannot loan a chunk of " + std::to_string(bytes) +
                                      " bytes: " + iox::popo::asStringLiteral(error) +
                                      last_iceoryx_error() +
                                      (error == iox::popo::AllocationError::NO_MEMPOOLS_AVAILABLE
                                           ? ": RouDi's mempools have no chunk that large"
                                           : ""));
    };
    auto check = [&]() -> Result<void> {
      if (m_publisher->hasSubscribers()) return {};
      return fail(Errc::peer_gone, "loan: the peer's subscriber has gone");
    };
    WaitPolicy policy = m_endpoint.policy();
    policy.mode = WaitMode::spin;
    const std::string what = "free chunk of " + std::to_string(bytes) + " bytes";
    const WaitTraits traits{
        .polls_per_clock_read = 16, .check_every_ns = kSliceNs, .waiting_for = what};
    auto ok = wait_until(
        policy, try_once, [&](std::int64_t) { return try_once(); }, check, traits);
    if (!ok) return std::unexpected(ok.error());
    return chunk;
  }

  // One take(): a chunk, nullptr when the queue is empty, or an error.
  Result<const void*> take_once() {
    auto chunk = m_subscriber->take();
    if (!chunk.has_error()) return chunk.value();
    if (chunk.get_error() == iox::popo::ChunkReceiveResult::NO_CHUNK_AVAILABLE) {
      return static_cast<const void*>(nullptr);
    }
    return fail(Errc::resource, "take: too many chunks held");
  }

  // The next chunk, per the wait policy: a try is take(); blocking is the WaitSet's timed wait,
  // a slice at a time. When our publisher has lost the peer's subscriber, RouDi has dropped the
  // peer (it exited, died, or stopped answering RouDi's keep-alive): what it published before is
  // in our queue already, and the wait's last try decides.
  Result<const void*> take_waiting() {
    const void* chunk = nullptr;
    auto try_once = [&]() -> Result<bool> {
      auto got = take_once();
      if (!got) return std::unexpected(got.error());
      chunk = *got;
      return chunk != nullptr;
    };
    auto block_once = [&](std::int64_t max_ns) -> Result<bool> {
      const auto slice = std::clamp<std::int64_t>(max_ns / 1'000'000, 1, kSliceNs / 1'000'000);
      m_waitset->timedWait(iox::units::Duration::fromMilliseconds(slice));
      return try_once();
    };
    auto check = [&]() -> Result<void> {
      if (m_publisher->hasSubscribers()) return {};
      return fail(Errc::peer_gone,
                  "receive: the peer's subscriber is no longer connected (RouDi dropped it: the "
                  "peer exited, died or stopped responding)");
    };
    const WaitTraits traits{.check_every_ns = kSliceNs};
    auto ok = wait_until(m_endpoint.policy(), try_once, block_once, check, traits);
    if (!ok) return std::unexpected(ok.error());
    return chunk;
  }

  Endpoint m_endpoint;
  std::shared_ptr<Runtime> m_runtime;
  std::unique_ptr<iox::popo::UntypedPublisher> m_publisher;
  std::unique_ptr<iox::popo::UntypedSubscriber> m_subscriber;
  std::unique_ptr<iox::popo::WaitSet<1>> m_waitset;
  void* m_loaned = nullptr;
  std::size_t m_loaned_bytes = 0;
  const void* m_received = nullptr;
};

// ---- RouDi ----------------------------------------------------------------------------------

// The mempools: payload capacities 128 B, 512 B, 2 KiB, ... (quadrupling) below the largest
// message, then the largest message itself; each with a little room for the chunk header. A cell's
// messages all have one size, so they use one pool; a pool holds, per direction, the subscriber
// queue (DaemonConfig::queue_depth_for the smallest message the pool takes), the publisher's
// loan, the subscriber's held chunk and one spare. Quadrupling rather than doubling: half the
// pools and less memory; a message uses only the bytes it has of a larger chunk (bench/README.md
// says what the pool layout did to the measured round trip).
std::string roudi_config(const DaemonConfig& config) {
  const std::size_t max_message_bytes = std::max<std::size_t>(config.max_message_bytes, 1);
  std::vector<std::size_t> capacities;
  for (std::size_t c = 128; c < max_message_bytes; c *= 4)
    capacities.push_back(c);
  capacities.push_back((std::max<std::size_t>(max_message_bytes, 8) + 7) / 8 * 8);
  std::ostringstream out;
  out << "# Written by ipcbench for the iceoryx transport's RouDi.\n"
      << "[general]\nversion = 1\n\n[[segment]]\n";
  std::size_t previous = 0;
  for (std::size_t capacity : capacities) {
    std::size_t smallest = std::max<std::size_t>(previous + 1, 1);
    std::size_t depth = config.queue_depth_for ? config.queue_depth_for(smallest) : 64;
    // Each side of each channel: a queue, a loan, a held chunk, a spare; with N consumers of one
    // producer, N + 1 such sides.
    const std::size_t sides = std::max<std::size_t>(config.max_consumers, 1) + 1;
    out << "\n[[segment.mempool]]\nsize = " << capacity + 64 << "\ncount = " << sides * (depth + 3)
        << "\n";
    previous = capacity;
  }
  return out.str();
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string tail(const std::string& text, std::size_t bytes = 600) {
  return text.size() <= bytes ? text : "..." + text.substr(text.size() - bytes);
}

// What RouDi's log (at debug level) says: which clients it still lists, which shared memory it
// made.
struct RoudiLog {
  std::set<std::string> clients;
  std::vector<std::string> shared_memory;
};

RoudiLog parse_roudi_log(const std::string& text) {
  RoudiLog log;
  std::istringstream lines(text);
  std::string line;
  auto word_after = [](const std::string& l, const std::string& key) {
    auto at = l.find(key);
    if (at == std::string::npos) return std::string();
    std::istringstream rest(l.substr(at + key.size()));
    std::string word;
    rest >> word;
    return word;
  };
  while (std::getline(lines, line)) {
    if (auto name = word_after(line, "Registered new application "); !name.empty()) {
      log.clients.insert(name);
    } else if (auto gone = word_after(line, "Removed existing application "); !gone.empty()) {
      log.clients.erase(gone);
    } else if (line.find("not responding") != std::string::npos) {
      log.clients.erase(word_after(line, "Application "));
    } else if (auto shm = line.find("in the shared memory ["); shm != std::string::npos) {
      auto begin = shm + std::strlen("in the shared memory [");
      auto end = line.find(']', begin);
      if (end != std::string::npos) log.shared_memory.push_back(line.substr(begin, end - begin));
    }
  }
  return log;
}

class Roudi final : public Daemon {
 public:
  // pid <= 0: a RouDi that someone else runs; it is left alone.
  Roudi(pid_t pid, std::string log_path) : m_pid(pid), m_log_path(std::move(log_path)) {}

  bool alive() const override {
    if (m_pid <= 0) return roudi_serving();
    if (m_exited) return false;
    int status = 0;
    if (::waitpid(m_pid, &status, WNOHANG) == m_pid) {
      m_exited = true;
      m_status = status;
      return false;
    }
    return true;
  }

  ~Roudi() override {
    if (m_pid <= 0) return;
    if (alive()) {
      wait_for_clients_to_go();
      ::kill(m_pid, SIGINT);
      const auto deadline = Clock::now() + std::chrono::seconds(15);
      while (alive() && Clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      if (alive()) {
        ::kill(m_pid, SIGKILL);
        ::waitpid(m_pid, &m_status, 0);
        m_exited = true;
      }
    }
    clean_up();
  }

  // RouDi sends SIGTERM to every process it still lists when it stops, and aborts if one of them
  // is dead already; it forgets a killed client once its keep-alive lapses (1.5 s). So: wait
  // until its log lists no client, a few seconds at most.
  void wait_for_clients_to_go() const {
    const auto deadline = Clock::now() + std::chrono::seconds(5);
    while (Clock::now() < deadline && alive()) {
      if (parse_roudi_log(read_file(m_log_path)).clients.empty()) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

  // After a clean stop RouDi has removed its files; after a crash (or SIGKILL) this does.
  void clean_up() const {
    bool clean = WIFEXITED(m_status) && WEXITSTATUS(m_status) == 0;
    if (clean) return;
    std::fprintf(stderr,
                 "ipcbench: iceoryx: RouDi (pid %d) ended badly (%s); removing what it "
                 "left. Its log:\n%s\n",
                 static_cast<int>(m_pid),
                 WIFSIGNALED(m_status) ? sigabbrev_np(WTERMSIG(m_status)) : "exit status",
                 tail(read_file(m_log_path), 1500).c_str());
    if (roudi_lock_held()) return;  // another RouDi started meanwhile: its files now
    for (const char* path : {kRoudiSocket, kRoudiLock, kUniqueRoudiLock})
      ::unlink(path);
    for (const auto& name : parse_roudi_log(read_file(m_log_path)).shared_memory) {
      if (name.empty() || name.find('/') != std::string::npos) continue;
      ::unlink(("/dev/shm/" + name).c_str());
    }
  }

 private:
  pid_t m_pid;
  std::string m_log_path;
  mutable bool m_exited = false;
  mutable int m_status = 0;
};

Result<std::unique_ptr<Daemon>> start_roudi(const DaemonConfig& config) {
  const auto deadline = Clock::now() + config.timeout;
  // Someone else's RouDi: use it if it serves; wait while one is starting or stopping.
  while (true) {
    if (roudi_socket() == RoudiSocket::forbidden) return fail(Errc::unavailable, kForbidden);
    if (roudi_serving()) {
      pid_t pid = find_roudi_process();
      // Another ipcbench process's RouDi stops when that process is done with it, and takes
      // every client with it (SIGTERM): never lean on it. One RouDi per machine is iceoryx 2.0's
      // rule, so this run's iceoryx cells cannot run now.
      if (pid_t owner = pid > 0 ? ipcbench_owner_of(pid) : 0; owner > 0 && owner != ::getpid()) {
        return fail(Errc::unavailable,
                    "another ipcbench process (pid " + std::to_string(owner) +
                        ") runs RouDi (pid " + std::to_string(pid) +
                        ") and stops it when it is done, which would end this run's workers; "
                        "iceoryx 2.0 allows one RouDi per machine: run the iceoryx cells after "
                        "it has finished");
      }
      std::fprintf(stderr,
                   "ipcbench: iceoryx: a RouDi is already running (pid %d); using it and leaving "
                   "it running. Its mempools decide which message sizes work.\n",
                   static_cast<int>(pid));
      return std::make_unique<Roudi>(-1, "");
    }
    pid_t other = find_roudi_process();
    if (!roudi_lock_held() && other == 0) break;
    if (Clock::now() >= deadline) {
      return fail(Errc::resource, "another RouDi (pid " + std::to_string(other) +
                                      ") holds /tmp/roudi.lock but does not serve");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }

  const std::string config_path = config.dir + "/roudi.toml";
  const std::string log_path = config.dir + "/roudi.log";
  {
    std::ofstream out(config_path);
    out << roudi_config(config);
    if (!out) return fail(Errc::resource, "cannot write " + config_path);
  }
  int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (log_fd < 0) return fail_errno(Errc::resource, "open " + log_path);
  int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);

  const pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(log_fd);
    ::close(null_fd);
    return fail_errno(Errc::system, "fork");
  }
  if (pid == 0) {
    // Only async-signal-safe calls from here to exec. RouDi dies with us (SIGTERM: it stops
    // cleanly), and is its own process group, so that a Ctrl-C at the terminal reaches the
    // conductor, which stops it after the workers.
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(127);
    ::setpgid(0, 0);
    ::dup2(null_fd, 0);
    ::dup2(log_fd, 1);
    ::dup2(log_fd, 2);
    ::close_range(3, ~0U, 0);
    const char* argv[] = {"iox-roudi", "-c", config_path.c_str(), "-l", "debug", nullptr};
    ::execvp(argv[0], const_cast<char* const*>(argv));
    static const char kMessage[] = "exec iox-roudi failed: is the iceoryx package installed?\n";
    [[maybe_unused]] auto n = ::write(2, kMessage, sizeof kMessage - 1);
    ::_exit(127);
  }
  ::close(log_fd);
  ::close(null_fd);

  auto roudi = std::make_unique<Roudi>(pid, log_path);
  while (true) {
    std::string log = read_file(log_path);
    if (log.find(kReadyLine) != std::string::npos && roudi_serving()) return roudi;
    if (!roudi->alive()) {
      return fail(Errc::resource, "iox-roudi ended before it was ready: " + tail(log));
    }
    if (Clock::now() >= deadline) {
      return fail(Errc::timeout, "iox-roudi not ready within " +
                                     std::to_string(config.timeout.count()) +
                                     " ms: " + tail(log));  // ~Roudi stops it
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

}  // namespace

extern const TransportInfo iceoryx_driver{
    .name = "iceoryx",
    .description =
        "Eclipse iceoryx 2.0 publish/subscribe, zero-copy loan/publish/take; needs "
        "its broker RouDi (started for the run); up to 16 MiB",
    .capabilities =
        [] {
          return Capabilities{.max_message_bytes = kMaxMessageBytes,
                              .zero_copy = true,
                              .native_wait = WaitMode::spin,
                              .multicast = true};
        },
    .make = make_transport<IceoryxTransport>,
    .start_daemon = start_roudi,
};

}  // namespace ipcbench

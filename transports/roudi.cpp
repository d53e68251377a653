// RouDi, started and stopped for a run (roudi.hpp). Moved here from the iceoryx driver so that
// every transport over iceoryx shares one.
#include "transports/roudi.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/statvfs.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

#include "base/peer_watch.hpp"
#include "transports/daemon_process.hpp"

namespace ipcbench {
namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr const char* kRoudiSocket = "/tmp/roudi";
constexpr const char* kRoudiLock = "/tmp/roudi.lock";
constexpr const char* kUniqueRoudiLock = "/tmp/iox-unique-roudi.lock";
constexpr const char* kReadyLine = "RouDi is ready for clients";

}  // namespace

// RouDi serves when its datagram socket /tmp/roudi is bound: connect() only checks that.
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

namespace {

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
// directory named after its daemon token (".../ipcbench-run<pid>.<start>-daemon-<transport>"),
// and as its own child.
pid_t ipcbench_owner_of(pid_t roudi) {
  std::ifstream in("/proc/" + std::to_string(roudi) + "/cmdline");
  std::string cmdline((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (cmdline.find("-daemon-") == std::string::npos ||
      cmdline.find("/roudi.toml") == std::string::npos) {
    return 0;
  }
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

// The mempools: payload capacities 128 B, 512 B, 2 KiB, ... (quadrupling) below the largest
// message, then the largest message itself; each with kRoudiChunkHeadroom for the headers. A cell's
// messages all have one size, so they use one pool; a pool holds, per direction, the subscriber
// queue (DaemonConfig::queue_depth_for the smallest message the pool takes), the publisher's
// loan, the subscriber's held chunk and one spare. Quadrupling rather than doubling: half the
// pools and less memory; a message uses only the bytes it has of a larger chunk (bench/README.md
// says what the pool layout did to the measured round trip).
struct Mempool {
  std::size_t chunk_bytes = 0;
  std::size_t count = 0;
};

std::vector<Mempool> roudi_mempools(const DaemonConfig& config) {
  const std::size_t max_message_bytes = std::max<std::size_t>(config.max_message_bytes, 1);
  std::vector<std::size_t> capacities;
  for (std::size_t c = 128; c < max_message_bytes; c *= 4)
    capacities.push_back(c);
  capacities.push_back((std::max<std::size_t>(max_message_bytes, 8) + 7) / 8 * 8);
  std::vector<Mempool> pools;
  std::size_t previous = 0;
  for (std::size_t capacity : capacities) {
    std::size_t smallest = std::max<std::size_t>(previous + 1, 1);
    std::size_t depth = config.queue_depth_for ? config.queue_depth_for(smallest) : 64;
    // Each side of each channel: a queue, a loan, a held chunk, a spare; with N consumers of one
    // producer, N + 1 such sides.
    const std::size_t sides = std::max<std::size_t>(config.max_consumers, 1) + 1;
    pools.push_back({capacity + kRoudiChunkHeadroom, sides * (depth + 3)});
    previous = capacity;
  }
  return pools;
}

std::string roudi_config(const DaemonConfig& config) {
  std::ostringstream out;
  out << "# Written by ipcbench for the RouDi of its iceoryx-based transports.\n"
      << "[general]\nversion = 1\n\n[[segment]]\n";
  for (const Mempool& pool : roudi_mempools(config)) {
    out << "\n[[segment.mempool]]\nsize = " << pool.chunk_bytes << "\ncount = " << pool.count
        << "\n";
  }
  return out.str();
}

}  // namespace

std::size_t roudi_shared_memory_bytes(const DaemonConfig& config) {
  // Measured from iox-roudi 2.0's log ("Reserving N bytes in the shared memory [...]"): its
  // management segment is 65.72 MB with one mempool and grows by about 6 KB a pool; the payload
  // segment is each pool's count x (chunk size + 40).
  constexpr std::size_t kManagementBytes = 65'720'000, kManagementPerPool = 8 * 1024;
  constexpr std::size_t kPerChunk = 40;
  std::size_t bytes = kManagementBytes;
  for (const Mempool& pool : roudi_mempools(config))
    bytes += kManagementPerPool + pool.count * (pool.chunk_bytes + kPerChunk);
  return bytes;
}

namespace {

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

// What a RouDi of ours that ended without stopping cleanly left: its files in /tmp and the
// shared memory its log says it reserved (it may have died reserving it: a full /dev/shm).
void remove_leftovers(const std::string& log_path) {
  if (roudi_lock_held()) return;  // another RouDi started meanwhile: its files now
  for (const char* path : {kRoudiSocket, kRoudiLock, kUniqueRoudiLock})
    ::unlink(path);
  for (const auto& name : parse_roudi_log(read_text_file(log_path)).shared_memory) {
    if (name.empty() || name.find('/') != std::string::npos) continue;
    ::unlink(("/dev/shm/" + name).c_str());
  }
}

// The owner of process `pid` (its real uid, /proc/<pid>/status), or -1.
long process_uid(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.starts_with("Uid:")) return std::strtol(line.c_str() + 4, nullptr, 10);
  }
  return -1;
}

std::string megabytes(double bytes) {
  return std::to_string(static_cast<long long>(std::llround(bytes / 1e6))) + " MB";
}

class Roudi final : public Daemon {
 public:
  // Without a process: a RouDi that someone else runs; it is left alone.
  Roudi() = default;
  Roudi(DaemonProcess process, std::string log_path)
      : m_process(std::move(process)), m_log_path(std::move(log_path)), m_ours(true) {}

  bool alive() const override { return m_ours ? m_process.alive() : roudi_serving(); }
  std::optional<int> pid() const override {
    return m_ours ? std::optional<int>(m_process.pid()) : std::nullopt;
  }

  ~Roudi() override {
    if (!m_ours) return;
    if (alive()) {
      wait_for_clients_to_go();
      m_process.stop(SIGINT, std::chrono::seconds(15));
    }
    clean_up();
  }

  // RouDi sends SIGTERM to every process it still lists when it stops, and aborts if one of them
  // is dead already; it forgets a killed client once its keep-alive lapses (1.5 s). So: wait
  // until its log lists no client, a few seconds at most.
  void wait_for_clients_to_go() const {
    const auto deadline = SteadyClock::now() + std::chrono::seconds(5);
    while (SteadyClock::now() < deadline && alive()) {
      if (parse_roudi_log(read_text_file(m_log_path)).clients.empty()) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

  // After a clean stop RouDi has removed its files; after a crash (or SIGKILL) this does.
  void clean_up() const {
    if (m_process.ended_cleanly()) return;
    std::fprintf(stderr, "ipcbench: RouDi ended badly (%s); removing what it left. Its log:\n%s\n",
                 m_process.how_it_ended().c_str(),
                 text_tail(read_text_file(m_log_path), 1500).c_str());
    remove_leftovers(m_log_path);
  }

 private:
  DaemonProcess m_process;
  std::string m_log_path;
  bool m_ours = false;
};

}  // namespace

Result<std::unique_ptr<Daemon>> start_roudi(const DaemonConfig& config) {
  const auto deadline = SteadyClock::now() + config.timeout;
  // Someone else's RouDi: use it if it serves; wait while one is starting or stopping.
  while (true) {
    if (roudi_socket() == RoudiSocket::forbidden) return fail(Errc::unavailable, kRoudiForbidden);
    if (roudi_serving()) {
      pid_t pid = find_roudi_process();
      // Another ipcbench process's RouDi stops when that process is done with it, and takes
      // every client with it (SIGTERM): never lean on it. One RouDi per machine is iceoryx 2.0's
      // rule, so this run's iceoryx cells cannot run now.
      const pid_t owner = pid > 0 ? ipcbench_owner_of(pid) : 0;
      // This very process's, started for another transport over iceoryx: shared, and stopped
      // by that transport's daemon (the conductor starts a new one if this one is still needed).
      if (owner == ::getpid()) return std::make_unique<Roudi>();
      if (owner > 0) {
        return fail(Errc::unavailable,
                    "another ipcbench process (pid " + std::to_string(owner) +
                        ") runs RouDi (pid " + std::to_string(pid) +
                        ") and stops it when it is done, which would end this run's workers; "
                        "iceoryx 2.0 allows one RouDi per machine: run the iceoryx cells after "
                        "it has finished");
      }
      // Another user's: its shared memory is its user's (0660), and clients of this user wait
      // for it in vain until they time out. Say so at once.
      if (const long uid = pid > 0 ? process_uid(pid) : -1;
          uid >= 0 && uid != static_cast<long>(::geteuid())) {
        return fail(Errc::unavailable,
                    "a RouDi of another user (uid " + std::to_string(uid) + ", pid " +
                        std::to_string(pid) +
                        ") runs here: this user's iceoryx clients cannot use its shared memory, "
                        "and iceoryx 2.0 allows one RouDi per machine; stop it, or run as uid " +
                        std::to_string(uid));
      }
      std::fprintf(stderr,
                   "ipcbench: a RouDi is already running (pid %d); using it and leaving "
                   "it running. Its mempools decide which message sizes work.\n",
                   static_cast<int>(pid));
      return std::make_unique<Roudi>();
    }
    pid_t other = find_roudi_process();
    if (!roudi_lock_held() && other == 0) break;
    if (SteadyClock::now() >= deadline) {
      return fail(Errc::resource, "another RouDi (pid " + std::to_string(other) +
                                      ") holds /tmp/roudi.lock but does not serve");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }

  // RouDi zeroes what it reserves and dies of SIGBUS when /dev/shm cannot hold it: say so first.
  if (struct statvfs shm{}; ::statvfs("/dev/shm", &shm) == 0) {
    const double free_bytes = static_cast<double>(shm.f_bavail) * shm.f_frsize;
    const double needed = static_cast<double>(roudi_shared_memory_bytes(config));
    if (needed > free_bytes) {
      return fail(Errc::resource,
                  "RouDi needs about " + megabytes(needed) +
                      " of shared memory (a 66 MB management segment and mempools for messages "
                      "up to " +
                      std::to_string(config.max_message_bytes) + " bytes), /dev/shm has " +
                      megabytes(free_bytes) + " free");
    }
  }
  const std::string config_path = config.dir + "/roudi.toml";
  const std::string log_path = config.dir + "/roudi.log";
  {
    std::ofstream out(config_path);
    out << roudi_config(config);
    if (!out) return fail(Errc::resource, "cannot write " + config_path);
  }
  auto process = DaemonProcess::start({"iox-roudi", "-c", config_path, "-l", "debug"}, log_path,
                                      "is the iceoryx package installed?");
  if (!process) return std::unexpected(process.error());
  auto ready = process->wait_ready(
      [](const std::string& log) {
        return log.find(kReadyLine) != std::string::npos && roudi_serving();
      },
      config.timeout, "iox-roudi");
  if (!ready) {
    process->stop(SIGINT, std::chrono::seconds(5));
    if (!process->ended_cleanly()) remove_leftovers(log_path);
    Error error = ready.error();
    // RouDi's own words when it says why (a SIGBUS zeroing a segment: out of shared memory).
    if (error.reason.find("SIGBUS") != std::string::npos) {
      error.reason =
          "RouDi could not reserve its shared memory (out of memory in /dev/shm?): " + error.reason;
    }
    return std::unexpected(std::move(error));
  }
  return std::make_unique<Roudi>(std::move(*process), log_path);
}

}  // namespace ipcbench

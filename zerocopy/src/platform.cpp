#include "platform.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <utility>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace zerocopy::detail {
namespace {

std::string shm_path(const std::string& name) {
  return "/" + name;
}

SysError sys_error(std::string what, int err = errno) {
  return SysError{err, std::move(what) + ": " + std::strerror(err)};
}

// The process's mappings by (device, inode). Set-up paths only.
struct MappingCache {
  std::mutex mutex;
  std::map<std::pair<dev_t, ino_t>, std::weak_ptr<Mapping>> entries;
};
MappingCache& cache() {
  static MappingCache* instance = new MappingCache;  // never destroyed: used from destructors
  return *instance;
}

class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : m_fd(fd) {}
  ~FileDescriptor() {
    if (m_fd >= 0) ::close(m_fd);
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  int get() const { return m_fd; }

 private:
  int m_fd;
};

}  // namespace

Mapping::~Mapping() {
  {
    std::lock_guard lock(cache().mutex);
    auto it = cache().entries.find({m_dev, m_ino});
    if (it != cache().entries.end() && it->second.expired()) cache().entries.erase(it);
  }
  ::munmap(m_data, m_size);
}

bool Mapping::protect_read_only(std::size_t offset, std::size_t length) noexcept {
  if (offset % 4096 != 0 || offset > m_size || length > m_size - offset) return false;
  if (length == 0) return true;
  return ::mprotect(m_data + offset, length, PROT_READ) == 0;
}

std::string describe_bytes(std::uint64_t bytes, bool exact) {
  static constexpr const char* kUnits[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1024 && unit < 6) {
    value /= 1024;
    ++unit;
  }
  char text[96];
  if (unit == 0) {
    std::snprintf(text, sizeof text, "%llu bytes", static_cast<unsigned long long>(bytes));
  } else if (!exact) {
    std::snprintf(text, sizeof text, "%.1f %s", value, kUnits[unit]);
  } else {
    std::snprintf(text, sizeof text, "%.1f %s (%llu bytes)", value, kUnits[unit],
                  static_cast<unsigned long long>(bytes));
  }
  return text;
}

std::string describe_shortfall(std::uint64_t size, std::uint64_t room, std::string_view where) {
  if (size <= room) return {};
  std::string text = "needs ";
  text += describe_bytes(size);
  text += ", more than the ";
  text += describe_bytes(room);
  text += " ";
  text.append(where);
  return text;
}

namespace {

// "MemAvailable:" of /proc/meminfo in bytes; nullopt if unknown.
std::optional<std::uint64_t> memory_available() {
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  std::uint64_t kib = 0;
  std::string unit;
  while (meminfo >> key >> kib) {
    std::getline(meminfo, unit);
    if (key == "MemAvailable:") return kib * 1024;
  }
  return std::nullopt;
}

// memory.max - memory.current of this process's cgroup (v2) in bytes; nullopt if unlimited or
// unknown.
std::optional<std::uint64_t> cgroup_memory_left() {
  std::ifstream cgroup("/proc/self/cgroup");
  std::string line;
  std::string path;
  while (std::getline(cgroup, line)) {
    if (line.starts_with("0::")) path = line.substr(3);
  }
  if (path.empty()) return std::nullopt;
  std::ifstream max_file("/sys/fs/cgroup" + path + "/memory.max");
  std::ifstream current_file("/sys/fs/cgroup" + path + "/memory.current");
  std::string max_text;
  std::uint64_t current = 0;
  if (!(max_file >> max_text) || !(current_file >> current) || max_text == "max") {
    return std::nullopt;
  }
  std::uint64_t max = std::strtoull(max_text.c_str(), nullptr, 10);
  return max > current ? max - current : 0;
}

}  // namespace

std::string shm_room_shortfall(std::uint64_t size, bool committed) {
  struct statvfs fs {};
  if (::statvfs("/dev/shm", &fs) == 0) {
    std::uint64_t free_bytes = std::uint64_t{fs.f_bavail} * fs.f_frsize;
    if (auto why = describe_shortfall(size, free_bytes, "free in /dev/shm"); !why.empty()) {
      return why;
    }
  }
  rlimit limit{};
  if (::getrlimit(RLIMIT_FSIZE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
    if (auto why = describe_shortfall(size, limit.rlim_cur, "allowed by RLIMIT_FSIZE");
        !why.empty()) {
      return why;
    }
  }
  if (committed) {
    if (auto available = memory_available()) {
      if (auto why = describe_shortfall(size, *available, "of memory available (MemAvailable)");
          !why.empty()) {
        return why;
      }
    }
    if (auto left = cgroup_memory_left()) {
      if (auto why = describe_shortfall(size, *left, "left under the cgroup's memory.max");
          !why.empty()) {
        return why;
      }
    }
  }
  return {};
}

Expected<std::shared_ptr<Mapping>, SysError> shm_create(const std::string& name, std::size_t size,
                                                        ShmCommit commit) {
  commit.reserve = commit.populate ? size : std::min(commit.reserve, size);
  // Before anything exists: a file too large for /dev/shm would fail at some first touch with
  // SIGBUS (or get the process OOM-killed), one beyond RLIMIT_FSIZE raises SIGXFSZ.
  if (std::string why = shm_room_shortfall(size, commit.reserve == size); !why.empty()) {
    rlimit limit{};
    bool fsize = ::getrlimit(RLIMIT_FSIZE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY &&
                 size > limit.rlim_cur;
    return unexpected(SysError{fsize ? EFBIG : ENOSPC, name + " " + why});
  }
  FileDescriptor fd(
      ::shm_open(shm_path(name).c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (fd.get() < 0) return unexpected(sys_error("shm_open(" + name + ")"));
  auto fail = [&name](SysError error) {
    ::shm_unlink(shm_path(name).c_str());
    return unexpected(std::move(error));
  };
  // shm_open's mode is filtered by the umask; state the intent explicitly.
  if (::fchmod(fd.get(), 0600) != 0 || ::ftruncate(fd.get(), static_cast<off_t>(size)) != 0) {
    return fail(sys_error("creating " + name));
  }
  if (commit.reserve != 0) {
    int err = ::fallocate(fd.get(), 0, 0, static_cast<off_t>(commit.reserve)) == 0 ? 0 : errno;
    if (err == ENOSPC || err == ENOMEM) {
      return fail(SysError{ENOSPC, name + " needs " + describe_bytes(commit.reserve) +
                                       " allocated now: " + std::strerror(err)});
    }
    if (err != 0 && err != EOPNOTSUPP && err != ENOSYS) {
      return fail(sys_error("fallocate(" + name + ")", err));
    }
  }
  struct stat info {};
  if (::fstat(fd.get(), &info) != 0) return fail(sys_error("fstat(" + name + ")"));
  int flags = MAP_SHARED | (commit.populate ? MAP_POPULATE : 0);
  void* data = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, flags, fd.get(), 0);
  if (data == MAP_FAILED) return fail(sys_error("mmap(" + name + ")"));
  auto mapping =
      std::make_shared<Mapping>(static_cast<std::byte*>(data), size, info.st_dev, info.st_ino);
  std::lock_guard lock(cache().mutex);
  cache().entries[{info.st_dev, info.st_ino}] = mapping;
  return mapping;
}

Expected<OpenedMapping, SysError> shm_open_existing(const std::string& name) {
  FileDescriptor fd(::shm_open(shm_path(name).c_str(), O_RDWR | O_CLOEXEC, 0));
  if (fd.get() < 0) return unexpected(sys_error("shm_open(" + name + ")"));
  struct stat info {};
  if (::fstat(fd.get(), &info) != 0) return unexpected(sys_error("fstat(" + name + ")"));
  if (info.st_uid != ::geteuid()) {
    return unexpected(SysError{EACCES, name + " belongs to another user"});
  }
  if (info.st_size <= 0) return unexpected(SysError{ENODATA, name + " is empty"});
  auto size = static_cast<std::size_t>(info.st_size);
  std::shared_ptr<Mapping> existing;  // released after the lock: it may be the last reference
  std::lock_guard lock(cache().mutex);
  auto& slot = cache().entries[{info.st_dev, info.st_ino}];
  existing = slot.lock();
  if (existing && existing->size() == size) return OpenedMapping{std::move(existing), false};
  void* data = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
  if (data == MAP_FAILED) return unexpected(sys_error("mmap(" + name + ")"));
  auto mapping =
      std::make_shared<Mapping>(static_cast<std::byte*>(data), size, info.st_dev, info.st_ino);
  slot = mapping;
  return OpenedMapping{std::move(mapping), true};
}

int shm_remove(const std::string& name) noexcept {
  return ::shm_unlink(shm_path(name).c_str()) == 0 ? 0 : errno;
}

bool shm_remove_if_same(const std::string& name, const Mapping& mapping) noexcept {
  struct stat info {};
  std::string path = "/dev/shm/" + name;
  if (::stat(path.c_str(), &info) != 0) return false;
  if (info.st_dev != mapping.dev() || info.st_ino != mapping.ino()) return false;
  return shm_remove(name) == 0;
}

std::vector<std::string> shm_list(std::string_view prefix) {
  std::vector<std::string> names;
  DIR* dir = ::opendir("/dev/shm");
  if (dir == nullptr) return names;
  while (dirent* entry = ::readdir(dir)) {
    std::string_view name = entry->d_name;
    if (name.starts_with(prefix)) names.emplace_back(name);
  }
  ::closedir(dir);
  return names;
}

int shm_mode(const std::string& name) noexcept {
  struct stat info {};
  std::string path = "/dev/shm/" + name;
  if (::stat(path.c_str(), &info) != 0) return -1;
  return static_cast<int>(info.st_mode & 07777);
}

int futex_wait(std::atomic<std::uint32_t>* word, std::uint32_t expected,
               std::chrono::nanoseconds timeout) noexcept {
  static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t));
  if (timeout.count() < 0) timeout = std::chrono::nanoseconds(0);
  timespec relative{static_cast<time_t>(timeout.count() / 1'000'000'000),
                    static_cast<long>(timeout.count() % 1'000'000'000)};
  long result = ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(word), FUTEX_WAIT, expected,
                          &relative, nullptr, 0);
  return result == 0 ? 0 : errno;
}

void futex_wake_all(std::atomic<std::uint32_t>* word) noexcept {
  ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(word), FUTEX_WAKE, INT32_MAX, nullptr,
            nullptr, 0);
}

int futex_wait_low32(const std::atomic<std::uint64_t>* word, std::uint32_t expected,
                     std::chrono::nanoseconds timeout) noexcept {
  static_assert(std::endian::native == std::endian::little);
  if (timeout.count() < 0) timeout = std::chrono::nanoseconds(0);
  timespec relative{static_cast<time_t>(timeout.count() / 1'000'000'000),
                    static_cast<long>(timeout.count() % 1'000'000'000)};
  long result = ::syscall(SYS_futex, reinterpret_cast<const std::uint32_t*>(word), FUTEX_WAIT,
                          expected, &relative, nullptr, 0);
  return result == 0 ? 0 : errno;
}

void futex_wake_all_low32(const std::atomic<std::uint64_t>* word) noexcept {
  ::syscall(SYS_futex, reinterpret_cast<const std::uint32_t*>(word), FUTEX_WAKE, INT32_MAX, nullptr,
            nullptr, 0);
}

Expected<int, SysError> fifo_create(const std::string& name) {
  std::string path = "/dev/shm/" + name;
  if (::mkfifo(path.c_str(), 0600) != 0) {
    int err = errno;
    return unexpected(SysError{err, "mkfifo " + path + ": " + std::strerror(err)});
  }
  int fd = ::open(path.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0 || ::fchmod(fd, 0600) != 0) {  // the umask may have taken the owner's bits
    int err = errno;
    if (fd >= 0) ::close(fd);
    ::unlink(path.c_str());
    return unexpected(SysError{err, "open " + path + ": " + std::strerror(err)});
  }
  return fd;
}

int fifo_open_writer(const std::string& name) noexcept {
  std::string path = "/dev/shm/" + name;
  int fd = ::open(path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return -1;
  struct stat info {};
  if (::fstat(fd, &info) != 0 || !S_ISFIFO(info.st_mode) || info.st_uid != ::geteuid()) {
    ::close(fd);
    return -1;
  }
  return fd;
}

void fifo_poke(int fd) noexcept {
  char byte = 1;
  [[maybe_unused]] ssize_t written = ::write(fd, &byte, 1);  // EAGAIN: full, so readable
}

void fifo_drain(int fd) noexcept {
  char buffer[256];
  while (::read(fd, buffer, sizeof buffer) == static_cast<ssize_t>(sizeof buffer)) {
  }
}

namespace {
// Fields after the command name in /proc/<pid>/stat: state is field 3, starttime field 22.
bool read_stat(pid_t pid, char& state, std::uint64_t& start_time) noexcept {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/stat", static_cast<int>(pid));
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buffer[1024];
  ssize_t length = ::read(fd, buffer, sizeof buffer - 1);
  ::close(fd);
  if (length <= 0) return false;
  buffer[length] = '\0';
  char* cursor = std::strrchr(buffer, ')');  // the command name may contain spaces and ')'
  if (cursor == nullptr || cursor[1] == '\0') return false;
  cursor += 2;
  state = *cursor;
  // Skip fields 3..21 to reach field 22.
  for (int field = 3; field < 22; ++field) {
    cursor = std::strchr(cursor, ' ');
    if (cursor == nullptr) return false;
    ++cursor;
  }
  start_time = std::strtoull(cursor, nullptr, 10);
  return true;
}
}  // namespace

std::uint64_t process_start_time(pid_t pid) noexcept {
  char state = 0;
  std::uint64_t start_time = 0;
  return read_stat(pid, state, start_time) ? start_time : 0;
}

std::uint64_t self_start_time() noexcept {
  static const std::uint64_t value = process_start_time(::getpid());
  return value;
}

bool process_alive(pid_t pid, std::uint64_t start_time) noexcept {
  if (pid <= 0) return false;
  if (pid == ::getpid()) return start_time == 0 || start_time == self_start_time();
  if (::kill(pid, 0) != 0 && errno == ESRCH) return false;
  char state = 0;
  std::uint64_t actual = 0;
  if (!read_stat(pid, state, actual)) {
    // It existed a moment ago; /proc may be missing (or the process just exited).
    return ::kill(pid, 0) == 0 || errno != ESRCH;
  }
  if (state == 'Z' || state == 'X' || state == 'x') return false;
  return start_time == 0 || actual == start_time;
}

void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#endif
}

std::int64_t monotonic_ns() noexcept {
  timespec now{};
  ::clock_gettime(CLOCK_MONOTONIC, &now);
  return std::int64_t{now.tv_sec} * 1'000'000'000 + now.tv_nsec;
}

}  // namespace zerocopy::detail

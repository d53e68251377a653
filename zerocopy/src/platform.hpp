// Operating-system building blocks: POSIX shared memory (with an in-process cache of mappings),
// futexes, and process liveness. Nothing here knows about services or queues.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "zerocopy/expected.hpp"

namespace zerocopy::detail {

struct SysError {
  int err = 0;  // errno
  std::string what;
};

// One mmap of one shared-memory object. A process maps each object once: opening a name whose
// object (device, inode) is already mapped here returns the same mapping, so that threads of one
// process share addresses (ThreadSanitizer then sees both sides of every queue) and address space
// is not spent twice.
class Mapping {
 public:
  Mapping(std::byte* data, std::size_t size, dev_t dev, ino_t ino)
      : m_data(data), m_size(size), m_dev(dev), m_ino(ino) {}
  ~Mapping();
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;

  std::byte* data() const noexcept { return m_data; }
  std::size_t size() const noexcept { return m_size; }
  dev_t dev() const noexcept { return m_dev; }
  ino_t ino() const noexcept { return m_ino; }
  // Makes [offset, offset + length) read-only in this process (page-aligned offset).
  bool protect_read_only(std::size_t offset, std::size_t length) noexcept;

 private:
  std::byte* m_data;
  std::size_t m_size;
  dev_t m_dev;
  ino_t m_ino;
};

struct OpenedMapping {
  std::shared_ptr<Mapping> mapping;
  bool fresh = false;  // mapped by this call (not found in the process's cache)
};

// How much of a new shared-memory object is committed when it is created. /dev/shm (tmpfs)
// allocates a page when it is first touched; an object is created sparse and costs memory only
// as it is used. `reserve` bytes from its start are allocated now (fallocate: an error now rather
// than SIGBUS at the first touch if /dev/shm runs out). `populate` commits all of it: allocated
// (as with reserve = size) and mapped into this process's page tables (MAP_POPULATE), so that no
// touch takes a page fault.
struct ShmCommit {
  std::size_t reserve = 0;
  bool populate = false;
};

// The room for an object of `size` bytes: the free space of /dev/shm, the file-size limit
// (RLIMIT_FSIZE; beyond it ftruncate raises SIGXFSZ) and, when `committed` (allocated up front),
// the memory available (MemAvailable, and the cgroup's memory.max). Empty when it fits, else a
// sentence naming the size and the room.
std::string shm_room_shortfall(std::uint64_t size, bool committed);
// The sentence of shm_room_shortfall for given figures (for tests): empty when size <= room.
std::string describe_shortfall(std::uint64_t size, std::uint64_t room, std::string_view where);
// "34.0 MiB (35651584 bytes)", or "34.0 MiB" when not `exact`.
std::string describe_bytes(std::uint64_t bytes, bool exact = true);

// Creates `name` exclusively, mode 0600 whatever the umask, sized and mapped read-write, and
// commits `commit` of it. Refuses (err == ENOSPC, or EFBIG for the file-size limit, with
// shm_room_shortfall's sentence) an object that does not fit, before creating anything. err ==
// EEXIST when it exists. On any failure nothing is left behind.
Expected<std::shared_ptr<Mapping>, SysError> shm_create(const std::string& name, std::size_t size,
                                                        ShmCommit commit);
// Opens and maps an existing object read-write with its current size. err == ENOENT when it does
// not exist; err == ENODATA when it exists but is still empty (being created).
Expected<OpenedMapping, SysError> shm_open_existing(const std::string& name);
// Unlinks `name`; returns 0 or errno.
int shm_remove(const std::string& name) noexcept;
// Unlinks `name` only if it still names the object of `mapping`.
bool shm_remove_if_same(const std::string& name, const Mapping& mapping) noexcept;
// Names (without the leading '/') in /dev/shm that start with `prefix`.
std::vector<std::string> shm_list(std::string_view prefix);
// Mode bits of `name` (for tests and diagnostics); -1 if it does not exist.
int shm_mode(const std::string& name) noexcept;

// Futex on a 32-bit word in shared memory (process-shared: no FUTEX_PRIVATE_FLAG).
// Returns 0 when woken, ETIMEDOUT, EAGAIN (the word was not `expected`) or EINTR.
int futex_wait(std::atomic<std::uint32_t>* word, std::uint32_t expected,
               std::chrono::nanoseconds timeout) noexcept;
void futex_wake_all(std::atomic<std::uint32_t>* word) noexcept;
// Futex on the low 32 bits of a 64-bit counter (little-endian): waits while they equal `expected`.
int futex_wait_low32(const std::atomic<std::uint64_t>* word, std::uint32_t expected,
                     std::chrono::nanoseconds timeout) noexcept;
void futex_wake_all_low32(const std::atomic<std::uint64_t>* word) noexcept;

// A subscriber's or listener's notification FIFO: /dev/shm/<name>, mode 0600, opened by its
// owner read-write and non-blocking (it never blocks and never reads end-of-file), by a
// publisher write-only and non-blocking. A byte written makes the owner's descriptor readable
// (poll, epoll); the owner drains it. err EEXIST when the name is taken.
Expected<int, SysError> fifo_create(const std::string& name);
// Opens `name` for writing; -1 unless it is a FIFO of this user with a reader.
int fifo_open_writer(const std::string& name) noexcept;
// Writes one byte (a full FIFO is readable already: nothing to do).
void fifo_poke(int fd) noexcept;
// Reads whatever is in the FIFO.
void fifo_drain(int fd) noexcept;

// The start time of a process (clock ticks since boot, /proc/<pid>/stat field 22); 0 if unknown.
std::uint64_t process_start_time(pid_t pid) noexcept;
std::uint64_t self_start_time() noexcept;
// Is the process `pid` that started at `start_time` still running? A zombie counts as dead; a
// reused pid (different start time) counts as dead; start_time == 0 means "not known yet" and
// only the pid is checked. When in doubt (no /proc), alive.
bool process_alive(pid_t pid, std::uint64_t start_time) noexcept;

void cpu_relax() noexcept;

// Hints the CPU to move a cache line it wrote from this core's private caches to the shared
// cache, where another core's read finds it sooner than by snooping this core (CLDEMOTE, in the
// NOP hint space: a no-op where the CPU lacks it).
inline void cache_demote(const void* line) noexcept {
#if defined(__x86_64__)
  asm volatile("cldemote %0" ::"m"(*static_cast<const char*>(line)));
#else
  (void)line;
#endif
}
std::int64_t monotonic_ns() noexcept;

}  // namespace zerocopy::detail

// The floor the harness is measured against: the smallest honest two-process ping-pong over one
// mechanism, with none of ipcbench's machinery (no framing, no interface, no content check, no
// histogram). Two processes made by fork, pinned like ipcbench pins its workers, a fixed-size
// message each way, timed as a batch: mean RTT = total time / round trips.
//
// shm-line is the physical floor of the shared-memory ring design: one cache line each way in an
// anonymous shared mapping, the producer stores the round trip's number in its line and spins
// (with the CPU's pause instruction) until the consumer echoes it in the other. No message is
// copied: --size does not apply. Each round trip is also timed on its own (rdtscp, calibrated
// against CLOCK_MONOTONIC over the run) for the p50.
//
//   minimal_pingpong <pipe|unix-stream|shm-line> [--size 64] [--iterations 100000]
//                    [--warmup 1000] [--cpus A,B]
//
// Prints one line: mechanism, size, round trips, mean RTT in ns (and p50 RTT for shm-line).
#include <sched.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#if defined(__x86_64__)
#include <x86intrin.h>
#endif

namespace {

long long now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

void pin(int cpu) {
  if (cpu < 0) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (sched_setaffinity(0, sizeof set, &set) != 0) {
    std::perror("sched_setaffinity");
    std::exit(2);
  }
}

bool read_full(int fd, char* p, size_t n) {
  while (n > 0) {
    ssize_t r = read(fd, p, n);
    if (r <= 0) return false;
    p += r;
    n -= static_cast<size_t>(r);
  }
  return true;
}

bool write_full(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t r = write(fd, p, n);
    if (r <= 0) return false;
    p += r;
    n -= static_cast<size_t>(r);
  }
  return true;
}

[[noreturn]] void usage() {
  std::fprintf(stderr,
               "usage: minimal_pingpong <pipe|unix-stream|shm-line> [--size N] [--iterations N] "
               "[--warmup N] [--cpus A,B]\n");
  std::exit(2);
}

// ---- shm-line ---------------------------------------------------------------------------------

inline void cpu_relax() {
#if defined(__x86_64__)
  _mm_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#endif
}

inline std::uint64_t ticks() {
#if defined(__x86_64__)
  unsigned aux;
  return __rdtscp(&aux);
#else
  return static_cast<std::uint64_t>(now_ns());
#endif
}

struct alignas(64) Line {
  std::atomic<std::uint64_t> value{0};
};
struct Lines {
  Line to_consumer;
  Line to_producer;
};
static_assert(sizeof(Lines) == 128);

// Spins until `line` holds `want`. Bounded: yields after 50 us, gives up (false) after 10 s.
bool await(const Line& line, std::uint64_t want) {
  if (line.value.load(std::memory_order_acquire) == want) return true;
  long long start = 0;
  for (std::uint32_t polls = 1;; ++polls) {
    cpu_relax();
    if (line.value.load(std::memory_order_acquire) == want) return true;
    if (polls % 64 != 0) continue;
    long long now = now_ns();
    if (start == 0) start = now;
    if (now - start > 10'000'000'000LL) return false;
    if (now - start > 50'000) sched_yield();
  }
}

int shm_line(long iterations, long warmup, int cpu_a, int cpu_b) {
  void* mem =
      mmap(nullptr, sizeof(Lines), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) return 1;
  auto* lines = new (mem) Lines;
  const long total = warmup + iterations;
  pid_t consumer = fork();
  if (consumer == 0) {
    pin(cpu_b);
    for (long i = 1; i <= total; ++i) {
      if (!await(lines->to_consumer, static_cast<std::uint64_t>(i))) _exit(1);
      lines->to_producer.value.store(static_cast<std::uint64_t>(i), std::memory_order_release);
    }
    _exit(0);
  }
  pid_t producer = fork();
  if (producer == 0) {
    pin(cpu_a);
    std::vector<std::uint64_t> rtt(static_cast<std::size_t>(iterations));
    auto round_trip = [&](long i) {
      lines->to_consumer.value.store(static_cast<std::uint64_t>(i), std::memory_order_release);
      return await(lines->to_producer, static_cast<std::uint64_t>(i));
    };
    for (long i = 1; i <= warmup; ++i) {
      if (!round_trip(i)) _exit(1);
    }
    const long long start = now_ns();
    const std::uint64_t first = ticks();
    for (long i = 0; i < iterations; ++i) {
      const std::uint64_t t0 = ticks();
      if (!round_trip(warmup + 1 + i)) _exit(1);
      rtt[static_cast<std::size_t>(i)] = ticks() - t0;
    }
    const std::uint64_t last = ticks();
    const long long elapsed = now_ns() - start;
    const double ns_per_tick = static_cast<double>(elapsed) / static_cast<double>(last - first);
    std::sort(rtt.begin(), rtt.end());
    const double p50 = static_cast<double>(rtt[rtt.size() / 2]) * ns_per_tick;
    std::printf("shm-line size=8 round_trips=%ld mean_rtt_ns=%.1f p50_rtt_ns=%.1f\n", iterations,
                static_cast<double>(elapsed) / static_cast<double>(iterations), p50);
    std::fflush(stdout);
    _exit(0);
  }
  int status = 0, failed = 0;
  for (pid_t pid : {producer, consumer}) {
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) failed = 1;
  }
  munmap(mem, sizeof(Lines));
  return failed;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) usage();
  std::string mechanism = argv[1];
  size_t size = 64;
  long iterations = 100000, warmup = 1000;
  int cpu_a = -1, cpu_b = -1;
  for (int i = 2; i < argc; ++i) {
    std::string arg = argv[i];
    if (i + 1 >= argc) usage();
    if (arg == "--size") {
      size = std::strtoul(argv[++i], nullptr, 10);
    } else if (arg == "--iterations") {
      iterations = std::strtol(argv[++i], nullptr, 10);
    } else if (arg == "--warmup") {
      warmup = std::strtol(argv[++i], nullptr, 10);
    } else if (arg == "--cpus") {
      if (std::sscanf(argv[++i], "%d,%d", &cpu_a, &cpu_b) != 2) usage();
    } else {
      usage();
    }
  }
  if (size == 0 || iterations <= 0 || warmup < 0) usage();
  if (mechanism == "shm-line") return shm_line(iterations, warmup, cpu_a, cpu_b);

  // Producer reads from `in`, writes to `out`; the consumer the other way round.
  int p_in, p_out, c_in, c_out;
  if (mechanism == "pipe") {
    int to_consumer[2], to_producer[2];
    if (pipe(to_consumer) != 0 || pipe(to_producer) != 0) return 1;
    c_in = to_consumer[0];
    p_out = to_consumer[1];
    p_in = to_producer[0];
    c_out = to_producer[1];
  } else if (mechanism == "unix-stream") {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) return 1;
    p_in = p_out = sv[0];
    c_in = c_out = sv[1];
  } else {
    usage();
  }

  std::vector<char> buf(size, 'x');
  pid_t consumer = fork();
  if (consumer == 0) {
    pin(cpu_b);
    for (long i = 0; i < warmup + iterations; ++i) {
      if (!read_full(c_in, buf.data(), size) || !write_full(c_out, buf.data(), size)) _exit(1);
    }
    _exit(0);
  }
  pid_t producer = fork();
  if (producer == 0) {
    pin(cpu_a);
    for (long i = 0; i < warmup; ++i) {
      if (!write_full(p_out, buf.data(), size) || !read_full(p_in, buf.data(), size)) _exit(1);
    }
    long long start = now_ns();
    for (long i = 0; i < iterations; ++i) {
      if (!write_full(p_out, buf.data(), size) || !read_full(p_in, buf.data(), size)) _exit(1);
    }
    long long elapsed = now_ns() - start;
    std::printf("%s size=%zu round_trips=%ld mean_rtt_ns=%.1f\n", mechanism.c_str(), size,
                iterations, static_cast<double>(elapsed) / static_cast<double>(iterations));
    std::fflush(stdout);
    _exit(0);
  }
  int status = 0, failed = 0;
  for (pid_t pid : {producer, consumer}) {
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) failed = 1;
  }
  return failed;
}

// How quickly does the floor move? Two processes pinned to two CPUs exchange one cache line
// (the floor ipcbench measures in every round) back to back for a while; every window (10 ms by
// default) prints the window's median round trip. With --pipe, every other window is a blocking
// pipe round trip between the same two processes instead, so that one can see whether a blocking
// transport follows the floor.
//
//   floor_drift [--seconds 300] [--window-ms 10] [--cpus A,B] [--pipe]
//
// Prints "t_s kind p50_ns round_trips" per window (kind: line or pipe); bench/floor_drift.py
// runs it and summarises how far apart two windows a given time apart are.
#include <sched.h>
#include <sys/mman.h>
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
#include <immintrin.h>
#endif

namespace {

long long now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

void pin(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (sched_setaffinity(0, sizeof set, &set) != 0) {
    std::perror("sched_setaffinity");
    std::exit(2);
  }
}

inline void relax() {
#if defined(__x86_64__)
  _mm_pause();
#endif
}

// The two lines: the producer writes `ping`, the consumer echoes into `pong`. `mode` says what
// the consumer does next: 0 echo lines, 1 serve the pipe until a zero byte, 2 exit.
struct alignas(64) Line {
  std::atomic<std::uint64_t> value{0};
};
struct Shared {
  Line ping, pong, mode;
};

double median(std::vector<long long>& v) {
  if (v.empty()) return 0;
  std::nth_element(v.begin(), v.begin() + static_cast<long>(v.size() / 2), v.end());
  return static_cast<double>(v[v.size() / 2]);
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 300;
  long window_ms = 10;
  int cpu_a = -1, cpu_b = -1;
  bool with_pipe = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--seconds" && i + 1 < argc) {
      seconds = std::atof(argv[++i]);
    } else if (a == "--window-ms" && i + 1 < argc) {
      window_ms = std::atol(argv[++i]);
    } else if (a == "--cpus" && i + 1 < argc) {
      if (std::sscanf(argv[++i], "%d,%d", &cpu_a, &cpu_b) != 2) return 2;
    } else if (a == "--pipe") {
      with_pipe = true;
    } else {
      std::fprintf(stderr,
                   "usage: floor_drift [--seconds S] [--window-ms N] [--cpus A,B] [--pipe]\n");
      return 2;
    }
  }
  if (cpu_a < 0) {
    cpu_set_t set;
    sched_getaffinity(0, sizeof set, &set);
    std::vector<int> cpus;
    for (int c = 0; c < CPU_SETSIZE; ++c)
      if (CPU_ISSET(c, &set)) cpus.push_back(c);
    if (cpus.size() < 2) {
      std::fprintf(stderr, "floor_drift: needs two CPUs\n");
      return 2;
    }
    cpu_a = cpus[cpus.size() - 2];
    cpu_b = cpus.back();
  }
  auto* shared = static_cast<Shared*>(
      mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
  if (shared == MAP_FAILED) return 1;
  new (shared) Shared();
  int there[2], back[2];
  if (pipe(there) != 0 || pipe(back) != 0) return 1;

  pid_t child = fork();
  if (child == 0) {
    pin(cpu_b);
    std::uint64_t seen = 0;
    for (;;) {
      const std::uint64_t mode = shared->mode.value.load(std::memory_order_acquire);
      if (mode == 2) _exit(0);
      if (mode == 1) {
        char byte = 1;
        while (read(there[0], &byte, 1) == 1 && byte != 0) {
          if (write(back[1], &byte, 1) != 1) _exit(1);
        }
        shared->mode.value.store(0, std::memory_order_release);
        if (write(back[1], &byte, 1) != 1) _exit(1);  // the zero byte: back to lines
        continue;
      }
      const std::uint64_t v = shared->ping.value.load(std::memory_order_acquire);
      if (v != seen) {
        seen = v;
        shared->pong.value.store(v, std::memory_order_release);
      } else {
        relax();
      }
    }
  }
  pin(cpu_a);
  const long long start = now_ns(), end = start + static_cast<long long>(seconds * 1e9);
  std::uint64_t n = 0;
  std::vector<long long> rtts;
  bool pipe_window = false;
  std::printf("# floor_drift cpus=%d,%d window_ms=%ld\n", cpu_a, cpu_b, window_ms);
  while (now_ns() < end) {
    const long long window_start = now_ns(), window_end = window_start + window_ms * 1000000LL;
    rtts.clear();
    if (pipe_window) {
      shared->mode.value.store(1, std::memory_order_release);
      char byte = 1;
      for (long long t = now_ns(); t < window_end; t = now_ns()) {
        if (write(there[1], &byte, 1) != 1 || read(back[0], &byte, 1) != 1) return 1;
        rtts.push_back(now_ns() - t);
      }
      byte = 0;
      if (write(there[1], &byte, 1) != 1 || read(back[0], &byte, 1) != 1) return 1;
      while (shared->mode.value.load(std::memory_order_acquire) != 0)
        relax();
    } else {
      for (long long t = now_ns(); t < window_end; t = now_ns()) {
        ++n;
        shared->ping.value.store(n, std::memory_order_release);
        while (shared->pong.value.load(std::memory_order_acquire) != n)
          relax();
        rtts.push_back(now_ns() - t);
      }
    }
    const std::size_t count = rtts.size();
    std::printf("%.3f %s %.0f %zu\n", (window_start - start) / 1e9, pipe_window ? "pipe" : "line",
                median(rtts), count);
    if (with_pipe) pipe_window = !pipe_window;
  }
  shared->mode.value.store(2, std::memory_order_release);
  waitpid(child, nullptr, 0);
  return 0;
}

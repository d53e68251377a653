#include "harness/run/floor.hpp"

#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <new>
#include <optional>
#include <thread>
#include <tuple>
#include <vector>

#include "base/wait.hpp"
#include "harness/run/process.hpp"

namespace ipcbench {

namespace {

constexpr std::uint64_t kDone = 1;
constexpr std::uint64_t kMinFloorRoundTrips = 100;

// What a forked floor process leaves for the conductor, in shared memory.
struct FloorShared {
  FloorLines lines;
  Histogram rtts;
  std::atomic<int> ready{0};  // each child adds one once pinned (or -100 when it cannot be)
  std::int64_t start_ns = 0, end_ns = 0;
  std::uint64_t copies = 0;
  double bytes_per_second = 0;
  ProcessUsage usage;
};

// Forks `body` into a child pinned to `cpu` that dies with the conductor; its pid or -1.
template <class Body>
pid_t fork_pinned(int cpu, FloorShared& shared, Body body) {
  const pid_t pid = fork_tied();
  if (pid != 0) return pid;
  if (!pin_to_cpu(cpu)) {
    shared.ready.fetch_sub(100);
    ::_exit(1);
  }
  shared.ready.fetch_add(1);
  body();
  ::_exit(0);
}

// The echo process of a floor cell: alive, and pinned (a child that could not pin itself exits).
struct EchoProcess {
  pid_t pid;
  const FloorShared* shared;
};
bool alive(void* echo) {
  const auto* e = static_cast<const EchoProcess*>(echo);
  return e->shared->ready.load() >= 0 && ::kill(e->pid, 0) == 0;
}

CellRun failed(std::string why) {
  CellRun run;
  run.error = std::move(why);
  return run;
}

// The shared memory of a floor cell: anonymous, shared with the children fork makes.
struct SharedMapping {
  FloorShared* shared = nullptr;
  SharedMapping() {
    void* p = ::mmap(nullptr, sizeof(FloorShared), PROT_READ | PROT_WRITE,
                     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p != MAP_FAILED) shared = new (p) FloorShared();
  }
  ~SharedMapping() {
    if (shared) {
      shared->~FloorShared();
      ::munmap(shared, sizeof(FloorShared));
    }
  }
};

void reap(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
}

}  // namespace

std::pair<std::int64_t, std::int64_t> time_line_round_trips(
    FloorLines& lines, const Clock& clock, std::chrono::nanoseconds lead_in,
    std::chrono::nanoseconds time, std::int64_t give_up_ns, Histogram& rtts,
    bool (*peer_alive)(void*), void* peer, std::uint64_t most) {
  if (most != 0) most = std::max(most, kMinFloorRoundTrips);
  auto finish = [&](std::int64_t begin, std::int64_t end) {
    lines.done.store(kDone, std::memory_order_release);
    return std::pair{begin, end};
  };
  for (std::uint32_t spins = 0; lines.ready.load(std::memory_order_acquire) == 0; ++spins) {
    cpu_relax();
    if ((spins & 0xffff) == 0 &&
        (monotonic_ns() > give_up_ns || (peer_alive && !peer_alive(peer)))) {
      return finish(0, 0);
    }
  }
  const std::int64_t begin = monotonic_ns() + lead_in.count();
  const std::int64_t deadline = begin + time.count();
  std::int64_t now = monotonic_ns();
  for (std::uint64_t n = 1;; ++n) {  // ping 0 is the initial state: never asked for
    if ((n & 15) == 0) {
      now = monotonic_ns();
      // Until its time is up, and at least kMinFloorRoundTrips recorded: on a loaded machine the
      // echo side may get its CPU seldom (then the floor says so), but a floor is always measured.
      if (now > deadline && (rtts.count() >= kMinFloorRoundTrips || now > give_up_ns)) break;
      if (most != 0 && rtts.count() >= most) break;
      if (peer_alive && !peer_alive(peer)) break;
    }
    const std::uint64_t t0 = clock.now();
    lines.ping.store(n << 1, std::memory_order_release);
    for (std::uint32_t spins = 0; lines.pong.load(std::memory_order_acquire) != (n << 1); ++spins) {
      cpu_relax();
      // The echo side gone or descheduled for long: give up rather than spin forever.
      if (spins > (1u << 22)) {
        if ((peer_alive && !peer_alive(peer)) || monotonic_ns() > give_up_ns) {
          return finish(begin, monotonic_ns());
        }
        spins = 0;
      }
    }
    const std::uint64_t t1 = clock.now();
    if (now >= begin) rtts.record(clock.to_ns(t1 - t0));
  }
  return finish(begin, now);
}

void echo_line_round_trips(FloorLines& lines, std::int64_t give_up_ns) {
  std::uint64_t seen = 0;
  lines.ready.store(1, std::memory_order_release);
  for (std::uint32_t spins = 0; lines.done.load(std::memory_order_acquire) != kDone; ++spins) {
    const std::uint64_t v = lines.ping.load(std::memory_order_acquire);
    if (v != seen) {
      seen = v;
      lines.pong.store(v, std::memory_order_release);
      continue;
    }
    cpu_relax();
    if ((spins & 0xffff) == 0 && monotonic_ns() > give_up_ns) return;
  }
}

double copy_bytes_per_second(std::size_t bytes, std::int64_t deadline_ns) {
  std::vector<std::byte> from(bytes, std::byte{1}), to(bytes, std::byte{0});
  std::memcpy(to.data(), from.data(), bytes);  // warm: both buffers faulted in and cached
  const std::int64_t start = monotonic_ns();
  std::uint64_t copies = 0;
  std::int64_t now = start;
  do {
    from[copies % bytes] = static_cast<std::byte>(copies);  // not the same copy twice
    std::memcpy(to.data(), from.data(), bytes);
    ++copies;
    now = monotonic_ns();
  } while (copies < 2 || now < deadline_ns);
  // Keeps the copies from being optimised away.
  asm volatile("" : : "r"(to.data()) : "memory");
  return now > start ? static_cast<double>(copies) * static_cast<double>(bytes) * 1e9 /
                           static_cast<double>(now - start)
                     : 0;
}

CellRun run_line_floor(int cpu_a, int cpu_b, std::chrono::nanoseconds time, const Clock& clock,
                       std::uint64_t most) {
  if (cpu_a < 0 || cpu_b < 0 || cpu_a == cpu_b) {
    return failed("the line floor needs two CPUs (one cache line between them)");
  }
  SharedMapping mapping;
  if (!mapping.shared) return failed("cannot map the floor's shared memory");
  FloorShared& s = *mapping.shared;
  const auto started = std::chrono::steady_clock::now();
  const pid_t echo = fork_pinned(cpu_b, s, [&] {
    echo_line_round_trips(s.lines, monotonic_ns() + time.count() + 5'000'000'000LL);
  });
  if (echo < 0) return failed("fork: " + std::string(std::strerror(errno)));
  const pid_t timer = fork_pinned(cpu_a, s, [&] {
    EchoProcess peer{echo, &s};
    const ProcessUsage before = process_usage();
    std::tie(s.start_ns, s.end_ns) = time_line_round_trips(
        s.lines, clock, kCellFloorLeadIn, time, monotonic_ns() + time.count() + 5'000'000'000LL,
        s.rtts, alive, &peer, most);
    s.usage = process_usage() - before;
  });
  if (timer < 0) {
    s.lines.done.store(kDone);
    reap(echo);
    return failed("fork: " + std::string(std::strerror(errno)));
  }
  reap(timer);
  s.lines.done.store(kDone);
  reap(echo);
  CellRun run;
  run.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (s.ready.load() < 0) {
    run.error = "cannot pin the floor's processes to CPUs " + std::to_string(cpu_a) + " and " +
                std::to_string(cpu_b);
    return run;
  }
  if (s.rtts.count() == 0) {
    run.error = "the floor's echo process did not answer";
    return run;
  }
  WorkerReport producer;
  producer.count = s.rtts.count();
  producer.start_ns = s.start_ns;
  producer.end_ns = s.end_ns;
  producer.cpu_ns = s.usage.cpu_ns;
  producer.voluntary_switches = s.usage.voluntary_switches;
  producer.involuntary_switches = s.usage.involuntary_switches;
  producer.latency = sparse_of(s.rtts);
  WorkerReport consumer;
  consumer.count = producer.count;
  consumer.start_ns = s.start_ns;
  consumer.end_ns = s.end_ns;
  consumer.cpu_ns = s.usage.cpu_ns;  // it spun all along, as the timing side did
  run.producer = producer;
  run.consumer = consumer;
  run.ok = true;
  return run;
}

CellRun run_copy_floor(int cpu, std::size_t bytes, std::chrono::nanoseconds time) {
  if (cpu < 0) return failed("the copy floor needs the producer's CPU");
  SharedMapping mapping;
  if (!mapping.shared) return failed("cannot map the floor's shared memory");
  FloorShared& s = *mapping.shared;
  const auto started = std::chrono::steady_clock::now();
  const pid_t copier = fork_pinned(cpu, s, [&] {
    const ProcessUsage before = process_usage();
    s.start_ns = monotonic_ns();
    s.bytes_per_second = copy_bytes_per_second(bytes, s.start_ns + time.count());
    s.end_ns = monotonic_ns();
    s.usage = process_usage() - before;
  });
  if (copier < 0) return failed("fork: " + std::string(std::strerror(errno)));
  reap(copier);
  CellRun run;
  run.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (s.ready.load() < 0) {
    run.error = "cannot pin the floor's process to CPU " + std::to_string(cpu);
    return run;
  }
  if (s.bytes_per_second <= 0) {
    run.error = "the floor's copy process measured nothing";
    return run;
  }
  // As a stream's two ends would report it: the copies made over the measured phase.
  const double seconds = static_cast<double>(s.end_ns - s.start_ns) / 1e9;
  WorkerReport producer;
  producer.count = static_cast<std::uint64_t>(
      std::llround(s.bytes_per_second * seconds / static_cast<double>(bytes)));
  producer.start_ns = s.start_ns;
  producer.end_ns = s.end_ns;
  producer.cpu_ns = s.usage.cpu_ns;
  producer.voluntary_switches = s.usage.voluntary_switches;
  producer.involuntary_switches = s.usage.involuntary_switches;
  WorkerReport consumer = producer;
  consumer.cpu_ns = 0;
  consumer.voluntary_switches = consumer.involuntary_switches = 0;
  run.producer = producer;
  run.consumer = consumer;
  run.ok = true;
  return run;
}

Cell floor_cell(const Cell& like) {
  Cell cell;
  cell.transport = kFloorTransport;
  cell.scenario = like.scenario;
  cell.bytes = like.bytes;
  cell.wait = WaitMode::spin;
  cell.native = true;
  cell.touch = Touch::full;
  // As long as a default cell measures, never longer: a floor needs no more.
  const auto most = std::chrono::milliseconds(std::llround(kDefaultCellSeconds * 1000));
  cell.budget = like.scenario->on_schedule ? std::chrono::nanoseconds(most)
                                           : std::min<std::chrono::nanoseconds>(like.budget, most);
  // ...and, where its cells stop at a count (--iterations), as many round trips as they make (at
  // least 100): a run of ten round trips a cell does not spin both CPUs for a fifth of a second.
  cell.count = like.scenario->on_schedule ? 0 : like.count;
  cell.cpu_producer = like.cpu_producer;
  cell.cpu_consumer = like.cpu_consumer;
  cell.pair_in_name = like.pair_in_name;
  return cell;
}

}  // namespace ipcbench

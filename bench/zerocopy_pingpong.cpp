// zerocopy's own two-process ping-pong, with none of ipcbench's machinery: what the library costs
// between two processes, against minimal_pingpong's shm-line floor (one cache line each way).
// Two processes made by fork, pinned to two CPUs; the parent publishes a u64 (or a payload of
// --size bytes) on "ping", the child answers on "pong" with the same bytes; both spin on
// receive(). Each round trip is timed on its own (CLOCK_MONOTONIC); prints the p50 and the mean.
//
//   zerocopy_pingpong [--size 8] [--iterations 200000] [--warmup 10000] [--cpus A,B]
//                     [--chunks] [--backpressure] [--buffer 8]
//
// --chunks: every payload in its chunk (PublisherBuilder::inline_payloads(false)), for comparing
// with the inline path (payloads up to 120 bytes copied into the queue slot, the default).
// --backpressure: the services use backpressure (ipcbench's zerocopy transport does), else safe
// overflow. --buffer: each subscriber's queue capacity (a publisher reads its subscriber's head
// once per lap of the queue: with 1 or 2, at almost every send).
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "zerocopy/zerocopy.hpp"

namespace {

namespace zc = zerocopy;
using Bytes = std::byte[];

std::int64_t now_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1'000'000'000LL + ts.tv_nsec;
}

void pin(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  ::sched_setaffinity(0, sizeof set, &set);
}

struct Options {
  std::size_t size = 8;
  long iterations = 200'000;
  long warmup = 10'000;
  int cpu_a = 0;
  int cpu_b = 1;
  bool chunks = false;
  bool backpressure = false;
  std::uint32_t buffer = 8;
};

struct Ends {
  zc::Publisher<Bytes> publisher;
  zc::Subscriber<Bytes> subscriber;
};

Ends open_ends(const zc::Node& node, const Options& o, const char* out, const char* in) {
  auto service = [&](const char* name) {
    return node.service_builder(name)
        .publish_subscribe<Bytes>()
        .overflow(o.backpressure ? zc::Overflow::backpressure : zc::Overflow::safe_overflow)
        .subscriber_max_buffer_size(o.buffer)
        .open_or_create()
        .value();
  };
  auto out_service = service(out);
  auto in_service = service(in);
  auto publisher = out_service.publisher_builder()
                       .max_slice_len(o.size)
                       .inline_payloads(!o.chunks)
                       .backpressure_wait(zc::BackpressureWait::spin)
                       .create()
                       .value();
  auto subscriber = in_service.subscriber_builder().create().value();
  return {std::move(publisher), std::move(subscriber)};
}

// Sends `value` in the first 8 bytes (and the rest of --size bytes), then spins for the answer.
void send(Ends& e, std::size_t size, std::uint64_t value) {
  auto sample = e.publisher.loan_slice_uninit(size).value();
  std::memset(sample.payload_mut().data(), 0, size);
  std::memcpy(sample.payload_mut().data(), &value, std::min<std::size_t>(8, size));
  (void)std::move(sample).assume_init().send().value();
}
// The next value; ~0 when nothing came for 10 s (the peer is gone: give up, never spin forever).
std::uint64_t receive(Ends& e) {
  const std::int64_t give_up = now_ns() + 10'000'000'000LL;
  for (std::uint32_t polls = 0;; ++polls) {
    auto sample = e.subscriber.receive().value();
    if (!sample) {
      if ((polls & 0xffff) == 0 && now_ns() > give_up) return ~std::uint64_t{0};
      continue;
    }
    std::uint64_t value = 0;
    std::memcpy(&value, sample.payload().data(), std::min<std::size_t>(8, sample.len()));
    return value;
  }
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto next = [&]() -> const char* { return i + 1 < argc ? argv[++i] : "0"; };
    if (arg == "--size") {
      o.size = std::strtoul(next(), nullptr, 10);
    } else if (arg == "--iterations") {
      o.iterations = std::strtol(next(), nullptr, 10);
    } else if (arg == "--warmup") {
      o.warmup = std::strtol(next(), nullptr, 10);
    } else if (arg == "--cpus") {
      std::sscanf(next(), "%d,%d", &o.cpu_a, &o.cpu_b);
    } else if (arg == "--chunks") {
      o.chunks = true;
    } else if (arg == "--backpressure") {
      o.backpressure = true;
    } else if (arg == "--buffer") {
      o.buffer = static_cast<std::uint32_t>(std::strtoul(next(), nullptr, 10));
    } else {
      std::fprintf(stderr,
                   "usage: zerocopy_pingpong [--size N] [--iterations N] [--warmup N] "
                   "[--cpus A,B] [--chunks] [--backpressure] [--buffer N]\n");
      return 2;
    }
  }
  if (o.size < 8 || o.iterations < 1 || o.buffer < 1 || o.buffer > zc::kMaxBufferSize) {
    std::fprintf(stderr,
                 "zerocopy_pingpong: --size is at least 8, --iterations at least 1, --buffer 1 to "
                 "16384\n");
    return 2;
  }
  zc::NodeConfig config;
  config.prefix = "zcpp-" + std::to_string(::getpid()) + "-";
  const long total = o.warmup + o.iterations;
  pid_t child = ::fork();
  if (child == 0) {
    pin(o.cpu_b);
    int status = 0;
    {  // the ports and the node leave the services before the process ends
      auto node = zc::Node::create(config).value();
      Ends e = open_ends(node, o, "pong", "ping");
      if (e.publisher.wait_for_subscribers(1, std::chrono::seconds(10))) {
        for (long i = 0; i < total; ++i) {
          const std::uint64_t value = receive(e);
          if (value == ~std::uint64_t{0}) {
            status = 4;  // the parent stopped answering
            break;
          }
          send(e, o.size, value);
        }
      } else {
        status = 3;
      }
    }
    std::_Exit(status);
  }
  pin(o.cpu_a);
  auto node = zc::Node::create(config).value();
  Ends e = open_ends(node, o, "ping", "pong");
  if (!e.publisher.wait_for_subscribers(1, std::chrono::seconds(10))) return 3;
  // The child's publisher must be connected to our subscriber before the first ping.
  while (e.subscriber.update_connections() < 1)
    ::usleep(100);
  std::vector<std::int64_t> rtt;
  rtt.reserve(static_cast<std::size_t>(o.iterations));
  const std::int64_t start = now_ns();
  std::int64_t measured_from = start;
  for (long i = 0; i < total; ++i) {
    if (i == o.warmup) measured_from = now_ns();
    const std::int64_t t0 = now_ns();
    send(e, o.size, static_cast<std::uint64_t>(i));
    if (receive(e) != static_cast<std::uint64_t>(i)) {
      std::fprintf(stderr, "zerocopy_pingpong: round trip %ld came back wrong or not at all\n", i);
      ::kill(child, SIGKILL);
      ::waitpid(child, nullptr, 0);
      node.cleanup_dead_nodes();
      return 1;
    }
    if (i >= o.warmup) rtt.push_back(now_ns() - t0);
  }
  const std::int64_t elapsed = now_ns() - measured_from;
  int status = 0;
  ::waitpid(child, &status, 0);
  std::sort(rtt.begin(), rtt.end());
  std::printf("zerocopy %s%s size %zu: %ld round trips, p50 %lld ns, mean %.0f ns\n",
              o.chunks ? "chunks" : "inline", o.backpressure ? " backpressure" : "", o.size,
              o.iterations, static_cast<long long>(rtt[rtt.size() / 2]),
              static_cast<double>(elapsed) / static_cast<double>(o.iterations));
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}

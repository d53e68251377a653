// What each subscriber costs a zerocopy publisher: one publisher process sends 64-byte samples
// as fast as backpressure lets it to N subscriber processes that sleep in wait() when their
// queue is empty (block mode: on a 2-CPU machine N sleeping processes are the only honest way
// past N = 1). For each N, and for each batch size k (send() wakes the sleepers itself for k = 1;
// for k > 1 the publisher is built with wake_on_send(false) and calls notify() after every k
// sends), it prints the publisher's CPU time per sample, its wake-ups per sample
// (Publisher::wakeups()), samples/s delivered to all, and what each subscriber added to the
// publisher's CPU per sample from the row before. Every subscriber checks every sample's
// sequence and contents, and the run fails (exit 1) if one is missing, out of order or wrong.
//
//   zerocopy_fanout [--subscribers 1,2,4,8,16,32,62] [--batch 1,16] [--messages 20000]
//                   [--repetitions 3]
// The median of the repetitions is printed, each repetition a fresh service and fresh processes.
// At most 62 subscribers: a zerocopy service holds 63 processes (max_nodes), the publisher's one.
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "zerocopy/zerocopy.hpp"

namespace {

struct Message {
  std::uint64_t sequence;
  std::array<std::uint64_t, 7> words;  // each sequence * 7 + its index: checked by every subscriber
};
static_assert(sizeof(Message) == 64);

// A service holds at most 63 processes (zerocopy's max_nodes): the publisher's and 62 others.
constexpr unsigned kMaxSubscribers = 62;

std::vector<unsigned> parse_list(const char* text) {
  std::vector<unsigned> out;
  for (const char* p = text; *p;) {
    char* end = nullptr;
    const unsigned long v = std::strtoul(p, &end, 10);
    if (end == p || v == 0 || v > kMaxSubscribers) {
      std::fprintf(stderr, "zerocopy_fanout: '%s': expected numbers 1 to %u, comma-separated\n",
                   text, kMaxSubscribers);
      std::exit(2);
    }
    out.push_back(static_cast<unsigned>(v));
    p = *end == ',' ? end + 1 : end;
  }
  return out;
}

double now_ns(clockid_t clock) {
  timespec t{};
  ::clock_gettime(clock, &t);
  return static_cast<double>(t.tv_sec) * 1e9 + static_cast<double>(t.tv_nsec);
}

// A process's node and its handle on the service.
struct Port {
  std::optional<zerocopy::Node> node;
  std::optional<zerocopy::Service<Message>> service;
};

void open_service(Port& port, const std::string& prefix, const char* role, unsigned subscribers) {
  zerocopy::NodeConfig config;
  config.prefix = prefix;
  config.name = role;
  auto node = zerocopy::Node::create(config);
  if (!node) {
    std::fprintf(stderr, "zerocopy_fanout: node: %s\n", node.error().message.c_str());
    std::exit(1);
  }
  port.node.emplace(std::move(*node));
  auto service = port.node->service_builder("bench/fanout")
                     .publish_subscribe<Message>()
                     .max_publishers(1)
                     .max_subscribers(subscribers)
                     .max_nodes(subscribers + 1)
                     .subscriber_max_buffer_size(64)
                     .overflow(zerocopy::Overflow::backpressure)
                     .open_or_create();
  if (!service) {
    std::fprintf(stderr, "zerocopy_fanout: service: %s\n", service.error().message.c_str());
    std::exit(1);
  }
  port.service.emplace(std::move(*service));
}

// A subscriber process (this program run as `--subscriber PREFIX N MESSAGES`, a fresh process
// image: nothing of the publisher's zerocopy state is inherited): receives every sample, checks
// it, sleeps when there is none. Exits 0 when it has all of them, else non-zero.
int subscriber_main(const std::string& prefix, unsigned subscribers, std::uint64_t messages) {
  Port port;
  open_service(port, prefix, "subscriber", subscribers);
  auto subscriber = port.service->subscriber_builder().create();
  if (!subscriber) return 1;
  std::uint64_t expected = 0;
  while (expected < messages) {
    auto sample = subscriber->receive();
    if (!sample) return 2;
    if (!*sample) {
      (void)subscriber->wait(std::chrono::seconds(10));
      continue;
    }
    const Message& m = **sample;
    if (m.sequence != expected) return 3;
    for (std::size_t i = 0; i < m.words.size(); ++i) {
      if (m.words[i] != m.sequence * 7 + i) return 4;
    }
    ++expected;
  }
  return 0;
}

struct Figures {
  double cpu_ns_per_msg;
  double wakeups_per_msg;
  double msgs_per_s;
};

const char* g_self = nullptr;  // this program, to run as a subscriber

Figures run_once(unsigned subscribers, unsigned batch, std::uint64_t messages, unsigned round) {
  const std::string prefix = "zcfan" + std::to_string(::getpid()) + "r" + std::to_string(round) +
                             "n" + std::to_string(subscribers) + "b" + std::to_string(batch) + "-";
  Port port;
  open_service(port, prefix, "publisher", subscribers);
  auto publisher = port.service->publisher_builder()
                       .wake_on_send(batch == 1)
                       .backpressure_wait(zerocopy::BackpressureWait::block)
                       .backpressure_timeout(std::chrono::seconds(30))
                       .prefault(true)
                       .create();
  if (!publisher) {
    std::fprintf(stderr, "zerocopy_fanout: publisher: %s\n", publisher.error().message.c_str());
    std::exit(1);
  }
  std::vector<pid_t> children;
  for (unsigned i = 0; i < subscribers; ++i) {
    const pid_t pid = ::fork();
    if (pid == 0) {
      const std::string n = std::to_string(subscribers), m = std::to_string(messages);
      ::execl(g_self, g_self, "--subscriber", prefix.c_str(), n.c_str(), m.c_str(), nullptr);
      std::_Exit(127);
    }
    children.push_back(pid);
  }
  if (!publisher->wait_for_subscribers(subscribers, std::chrono::seconds(30))) {
    std::fprintf(stderr, "zerocopy_fanout: the subscribers did not connect\n");
    std::exit(1);
  }
  const std::uint64_t wakeups_before = publisher->wakeups();
  const double wall0 = now_ns(CLOCK_MONOTONIC), cpu0 = now_ns(CLOCK_PROCESS_CPUTIME_ID);
  for (std::uint64_t s = 0; s < messages; ++s) {
    auto sample = publisher->loan_uninit();
    if (!sample) std::exit(1);
    Message& m = sample->payload_mut();
    m.sequence = s;
    for (std::size_t i = 0; i < m.words.size(); ++i)
      m.words[i] = s * 7 + i;
    auto sent = std::move(*sample).assume_init().send();
    if (!sent || *sent != subscribers) {
      std::fprintf(stderr, "zerocopy_fanout: send %llu reached %zu of %u\n",
                   static_cast<unsigned long long>(s), sent ? *sent : 0, subscribers);
      std::exit(1);
    }
    if (batch > 1 && (s + 1) % batch == 0) publisher->notify();
  }
  publisher->notify();  // the last, partial batch
  const double cpu = now_ns(CLOCK_PROCESS_CPUTIME_ID) - cpu0;
  const std::uint64_t wakeups = publisher->wakeups() - wakeups_before;
  bool ok = true;
  for (pid_t pid : children) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    ok &= WIFEXITED(status) && WEXITSTATUS(status) == 0;
  }
  // Every subscriber has checked every sample by now: the wall time to all of them.
  const double wall = now_ns(CLOCK_MONOTONIC) - wall0;
  if (!ok) {
    std::fprintf(stderr, "zerocopy_fanout: a subscriber missed or misread a sample (N = %u)\n",
                 subscribers);
    std::exit(1);
  }
  const auto n = static_cast<double>(messages);
  return {cpu / n, static_cast<double>(wakeups) / n, n / (wall / 1e9)};
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

}  // namespace

int main(int argc, char** argv) {
  g_self = "/proc/self/exe";
  if (argc == 5 && !std::strcmp(argv[1], "--subscriber")) {
    return subscriber_main(argv[2], static_cast<unsigned>(std::strtoul(argv[3], nullptr, 10)),
                           std::strtoull(argv[4], nullptr, 10));
  }
  std::vector<unsigned> subscribers = {1, 2, 4, 8, 16, 32, 62}, batches = {1, 16};
  std::uint64_t messages = 20000;
  unsigned repetitions = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--subscribers")) {
      subscribers = parse_list(argv[i + 1]);
    } else if (!std::strcmp(argv[i], "--batch")) {
      batches = parse_list(argv[i + 1]);
    } else if (!std::strcmp(argv[i], "--messages")) {
      messages = std::strtoull(argv[i + 1], nullptr, 10);
    } else if (!std::strcmp(argv[i], "--repetitions")) {
      repetitions = static_cast<unsigned>(std::strtoul(argv[i + 1], nullptr, 10));
    } else {
      std::fprintf(stderr,
                   "zerocopy_fanout: unknown option '%s'; allowed: --subscribers, --batch, "
                   "--messages, --repetitions\n",
                   argv[i]);
      return 2;
    }
  }
  if (messages == 0 || repetitions == 0) {
    std::fprintf(stderr, "zerocopy_fanout: --messages and --repetitions must be at least 1\n");
    return 2;
  }
  std::printf(
      "| N | batch | publisher CPU per sample | wake-ups per sample | samples/s to all | "
      "added CPU per subscriber |\n|---:|---:|---:|---:|---:|---:|\n");
  unsigned round = 0;
  for (unsigned batch : batches) {
    double previous_cpu = 0;
    unsigned previous_n = 0;
    for (unsigned n : subscribers) {
      std::vector<double> cpu, wakeups, rate;
      for (unsigned r = 0; r < repetitions; ++r) {
        const Figures f = run_once(n, batch, messages, ++round);
        cpu.push_back(f.cpu_ns_per_msg);
        wakeups.push_back(f.wakeups_per_msg);
        rate.push_back(f.msgs_per_s);
      }
      const double c = median(cpu);
      std::string added = "-";
      if (previous_n != 0 && n > previous_n) {
        added = std::to_string(static_cast<long>((c - previous_cpu) / (n - previous_n))) + " ns";
      }
      std::printf("| %u | %u | %.0f ns | %.2f | %.0f | %s |\n", n, batch, c, median(wakeups),
                  median(rate), added.c_str());
      std::fflush(stdout);
      previous_cpu = c;
      previous_n = n;
    }
  }
  return 0;
}

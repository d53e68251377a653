#include "harness/run/worker.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <stdexcept>

#include "base/unique_fd.hpp"
#include "harness/run/floor.hpp"
#include "harness/run/process.hpp"
#include "harness/run/worker_report.hpp"
#include "scenarios/defaults.hpp"

namespace ipcbench {

nlohmann::json options_json(const std::vector<OptionValue>& options) {
  nlohmann::json j = nlohmann::json::object();
  for (const OptionValue& o : options)
    j[o.name] = o.value;
  return j;
}

std::vector<OptionValue> options_from_json(const nlohmann::json& j) {
  std::vector<OptionValue> out;
  for (const auto& [name, value] : j.items())
    out.push_back({name, value.get<std::uint64_t>()});
  return out;
}

nlohmann::json to_json(const WorkerSpec& s) {
  return {{"role", to_string(s.role)},
          {"transport", s.transport},
          {"scenario", to_string(s.scenario)},
          {"bytes", s.bytes},
          {"wait", to_string(s.wait)},
          {"touch", to_string(s.touch)},
          {"warmup", s.warmup},
          {"warmup_budget_ns", s.warmup_budget_ns},
          {"count", s.count},
          {"budget_ns", s.budget_ns},
          {"rate_per_s", s.rate_per_s},
          {"duration_ns", s.duration_ns},
          {"token", s.token},
          {"dir", s.dir},
          {"timeout_ms", s.timeout_ms},
          {"spin_us", s.spin_us},
          {"queue_depth", s.queue_depth},
          {"tsc", s.tsc},
          {"ns_per_tick", s.ns_per_tick},
          {"peer_addresses", s.peer_addresses},
          {"subscribers", s.subscribers},
          {"subscriber_index", s.subscriber_index},
          {"options", options_json(s.options)},
          {"floor_path", s.floor_path},
          {"ctl_in", s.ctl_in},
          {"ctl_out", s.ctl_out},
          {"in_fd", s.in_fd},
          {"out_fd", s.out_fd}};
}

WorkerSpec worker_spec_from_json(const nlohmann::json& j) {
  WorkerSpec s;
  s.role = j.at("role").get<std::string>() == "producer" ? Role::producer : Role::consumer;
  s.transport = j.at("transport").get<std::string>();
  // Only the conductor writes specs; a value this build does not know is an error, never a
  // default.
  auto known = [](auto parsed, const char* field) {
    if (!parsed) throw std::invalid_argument(std::string("unknown ") + field);
    return *parsed;
  };
  s.scenario = known(parse_scenario(j.at("scenario").get<std::string>()), "scenario");
  s.bytes = j.at("bytes").get<std::size_t>();
  s.wait = known(parse_wait_mode(j.at("wait").get<std::string>()), "wait");
  s.touch = known(parse_touch(j.at("touch").get<std::string>()), "touch");
  s.warmup = j.at("warmup").get<std::uint64_t>();
  s.warmup_budget_ns = j.at("warmup_budget_ns").get<std::int64_t>();
  s.count = j.at("count").get<std::uint64_t>();
  s.budget_ns = j.at("budget_ns").get<std::int64_t>();
  s.rate_per_s = j.at("rate_per_s").get<double>();
  s.duration_ns = j.at("duration_ns").get<std::int64_t>();
  s.token = j.at("token").get<std::string>();
  s.dir = j.at("dir").get<std::string>();
  s.timeout_ms = j.at("timeout_ms").get<std::int64_t>();
  s.spin_us = j.at("spin_us").get<std::int64_t>();
  s.queue_depth = j.at("queue_depth").get<std::size_t>();
  s.tsc = j.at("tsc").get<bool>();
  s.ns_per_tick = j.at("ns_per_tick").get<double>();
  s.peer_addresses = j.at("peer_addresses").get<std::vector<std::string>>();
  s.subscribers = j.at("subscribers").get<unsigned>();
  s.subscriber_index = j.at("subscriber_index").get<unsigned>();
  s.floor_path = j.at("floor_path").get<std::string>();
  s.options = options_from_json(j.at("options"));
  s.ctl_in = j.at("ctl_in").get<int>();
  s.ctl_out = j.at("ctl_out").get<int>();
  s.in_fd = j.at("in_fd").get<int>();
  s.out_fd = j.at("out_fd").get<int>();
  return s;
}

namespace {

class Control {
 public:
  Control(int in, int out) : m_in(in), m_out(out) {}

  void send(const nlohmann::json& event) {
    std::string line = event.dump() + "\n";
    std::size_t done = 0;
    while (done < line.size()) {
      ssize_t n = ::write(m_out, line.data() + done, line.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;  // the conductor is gone; PDEATHSIG will end us
      done += static_cast<std::size_t>(n);
    }
  }

  // The next line from the conductor ("" when it closed the pipe).
  std::string receive_line() {
    std::string line;
    char c;
    for (;;) {
      ssize_t n = ::read(m_in, &c, 1);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0 || c == '\n') return line;
      line += c;
    }
  }

  void error(const Error& e) {
    nlohmann::json event = WorkerError{e.code, e.reason};
    event["event"] = "error";
    send(event);
  }

 private:
  int m_in;
  int m_out;
};

// --- Faults the worker reports itself before it dies ------------------------------------------
// A handler may only make async-signal-safe calls: it formats into a buffer by hand and write()s
// one error event to the control pipe, then _exit()s.
int g_control_fd = -1;

struct Line {
  char text[512];
  std::size_t size = 0;
  void add(std::string_view s) {
    for (char c : s) {
      if (size + 1 >= sizeof text) break;
      text[size++] = c;
    }
  }
  void add_number(unsigned long long v, unsigned base) {
    char digits[24];
    int n = 0;
    do {
      digits[n++] = "0123456789abcdef"[v % base];
      v /= base;
    } while (v && n < 24);
    while (n > 0 && size + 1 < sizeof text)
      text[size++] = digits[--n];
  }
};

// The short name of process `pid` (/proc/<pid>/comm), JSON-safe, into `line`.
void add_process_name(Line& line, pid_t pid) {
  char path[32] = "/proc/";
  Line p;
  p.add(path);
  p.add_number(static_cast<unsigned long long>(pid), 10);
  p.add("/comm");
  p.text[p.size] = 0;
  int fd = ::open(p.text, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  char comm[32] = {};
  ssize_t n = ::read(fd, comm, sizeof comm - 1);
  ::close(fd);
  line.add(" (");
  for (ssize_t i = 0; i < n; ++i) {
    char c = comm[i];
    if (c == '\n') break;
    char one[2] = {(c == '"' || c == '\\' || c < 32) ? '?' : c, 0};
    line.add(one);
  }
  line.add(")");
}

// /dev/shm counts as full below this much free space (or 1% of its size): a page of a message
// could not be had.
constexpr unsigned long long kShmFullBelowBytes = 4ull << 20;

void on_fault(int sig, siginfo_t* info, void*) {
  // The event as WorkerError's to_json writes it. name_of() only reads a constant table, so it
  // is safe in a signal handler.
  // A SIGBUS on shared memory: a page that tmpfs could not supply (/dev/shm is full), or a page
  // beyond the end of a segment that was truncated. statfs is a system call: safe here.
  bool shm_full = false;
  if (sig == SIGBUS) {
    struct statfs shm {};
    if (::statfs("/dev/shm", &shm) == 0 && shm.f_blocks > 0) {
      const unsigned long long free_bytes = static_cast<unsigned long long>(shm.f_bavail) *
                                            static_cast<unsigned long long>(shm.f_bsize);
      const unsigned long long size_bytes = static_cast<unsigned long long>(shm.f_blocks) *
                                            static_cast<unsigned long long>(shm.f_bsize);
      shm_full = free_bytes < kShmFullBelowBytes || free_bytes < size_bytes / 100;
    }
  }
  Line line;
  line.add("{\"event\":\"error\",\"code\":\"");
  line.add(sig != SIGBUS ? kTerminated
           : shm_full    ? name_of(Errc::resource)
                         : name_of(Errc::corrupted));
  line.add("\",\"reason\":\"");
  if (sig == SIGBUS) {
    line.add("SIGBUS at 0x");
    line.add_number(reinterpret_cast<unsigned long long>(info->si_addr), 16);
    line.add(shm_full ? ": out of shared memory (/dev/shm full)"
                      : ": a shared segment was truncated under this process");
  } else {
    line.add(sig == SIGTERM ? "SIGTERM" : "SIGHUP");
    if (info->si_code == SI_USER || info->si_code == SI_QUEUE) {
      line.add(" from pid ");
      line.add_number(static_cast<unsigned long long>(info->si_pid), 10);
      add_process_name(line, info->si_pid);
    }
  }
  line.add("\"}\n");
  if (g_control_fd >= 0) (void)!::write(g_control_fd, line.text, line.size);
  ::_exit(1);
}

void install_fault_handlers(int control_fd) {
  g_control_fd = control_fd;
  struct sigaction sa {};
  sa.sa_sigaction = on_fault;
  sa.sa_flags = SA_SIGINFO;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGBUS, SIGTERM, SIGHUP})
    ::sigaction(sig, &sa, nullptr);
}

}  // namespace

// The floor (harness/run/floor.hpp) measured by a cell's own workers right after "go": the producer
// times round trips of one cache line through the cell's floor file, which the consumer (the
// first, in fanout) echoes, and copies one message's bytes; the other consumers do nothing.
struct CellFloor {
  std::optional<double> rtt_ns;
  std::optional<double> copy_bytes_per_second;
};

CellFloor measure_cell_floor(const WorkerSpec& spec, const Clock& clock) {
  CellFloor floor;
  if (spec.floor_path.empty() || (spec.role == Role::consumer && spec.subscriber_index != 0)) {
    return floor;
  }
  UniqueFd fd(::open(spec.floor_path.c_str(), O_RDWR | O_CLOEXEC));
  if (!fd) return floor;
  void* p = ::mmap(nullptr, sizeof(FloorLines), PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
  if (p == MAP_FAILED) return floor;
  auto* lines = static_cast<FloorLines*>(p);
  const std::int64_t now = monotonic_ns();
  if (spec.role == Role::producer) {
    Histogram rtts;
    time_line_round_trips(*lines, clock, kCellFloorLeadIn, kCellFloorTime, now + 1'000'000'000,
                          rtts);
    if (rtts.count() > 0) floor.rtt_ns = static_cast<double>(rtts.percentile(50));
    if (spec.scenario->copy_floor) {
      floor.copy_bytes_per_second = copy_bytes_per_second(
          spec.bytes, monotonic_ns() + std::chrono::nanoseconds(kCellFloorTime).count());
    }
  } else {
    echo_line_round_trips(*lines, now + 1'000'000'000);
  }
  ::munmap(p, sizeof(FloorLines));
  return floor;
}

Endpoint endpoint_for(const WorkerSpec& spec, unsigned k) {
  const TransportInfo* info = find_transport(spec.transport);
  const Capabilities caps = info ? info->capabilities() : Capabilities{};
  const bool multicast = spec.scenario->one_endpoint_for_all(caps);
  // A load beside the first channel: channel 1 carries its larger messages.
  const bool load = spec.scenario->load_bytes > 0 && k == 1;
  const bool channels_apart = spec.scenario->producer_channels(caps, spec.subscribers) > 1;
  Endpoint e;
  e.role = spec.role;
  e.wait = spec.wait;
  e.token = channels_apart ? channel_token(spec.token, k) : spec.token;
  e.pair_token = spec.scenario->channels_per_pair() > 1 ? spec.token : e.token;
  e.dir = channels_apart ? channel_dir(spec.dir, k) : spec.dir;
  e.max_message_bytes = load ? spec.scenario->load_bytes : spec.bytes;
  e.queue_depth = load ? queue_depth_for(spec.scenario->load_bytes) : spec.queue_depth;
  e.timeout = std::chrono::milliseconds(spec.timeout_ms);
  e.spin = std::chrono::microseconds(spec.spin_us);
  e.options = spec.options;
  // The producer's k-th channel's descriptors are two numbers further per k.
  const bool producer = spec.role == Role::producer;
  e.in_fd = spec.in_fd < 0 ? -1 : spec.in_fd + (producer ? 2 * static_cast<int>(k) : 0);
  e.out_fd = spec.out_fd < 0 ? -1 : spec.out_fd + (producer ? 2 * static_cast<int>(k) : 0);
  if (multicast) {
    e.peers = spec.subscribers;  // the group's size, which every member's set-up must agree on
    e.peer_index = producer ? 0 : k;
    e.fan_in = spec.scenario->fan_in;
  }
  return e;
}

void install_worker_fault_handlers(int control_fd) {
  install_fault_handlers(control_fd);
}

namespace {

// The worker's channels, made, listening (the consumer says where) and connected: one; or, for a
// fanout producer over a point-to-point transport, one per consumer; or two on each side where a
// load runs beside; each channel of several under a token and in a directory of its own. Into
// `transports`, the caller's: on an error the channels made so far live on until the caller has
// reported it (closing a library's channel may linger, a second each for a reliable DDS writer,
// and dozens of them outlasted the peers' timeouts, which then hid the error).
Result<void> set_up_channels(const WorkerSpec& spec, const TransportInfo& info, Control& control,
                             std::vector<std::unique_ptr<Transport>>& transports) {
  // A consumer holds the channels of its pair (two where a load runs beside: both sides hold
  // both); channel k of a fan-out is consumer k's.
  const unsigned pair = spec.scenario->channels_per_pair();
  const unsigned count = spec.role == Role::producer ? spec.scenario->producer_channels(
                                                           info.capabilities(), spec.subscribers)
                                                     : pair;
  const unsigned first = spec.role == Role::consumer && pair == 1 ? spec.subscriber_index : 0;
  for (unsigned k = first; k < first + count; ++k) {
    auto made = info.make(endpoint_for(spec, k));
    if (!made) return std::unexpected(made.error());
    transports.push_back(std::move(*made));
  }
  if (spec.role == Role::consumer) {
    std::vector<std::string> addresses;
    for (auto& t : transports) {
      auto address = t->listen();
      if (!address) return fail(address.error().code, "listen: " + address.error().reason);
      addresses.push_back(*address);
    }
    control.send(
        {{"event", "listening"}, {"address", addresses.front()}, {"addresses", addresses}});
  }
  for (unsigned k = 0; k < transports.size(); ++k) {
    const std::string address =
        spec.role == Role::producer && k < spec.peer_addresses.size() ? spec.peer_addresses[k] : "";
    if (auto ok = transports[k]->connect(address); !ok) {
      return fail(ok.error().code, "connect: " + ok.error().reason);
    }
  }
  return {};
}

ScenarioConfig config_of(const WorkerSpec& spec) {
  ScenarioConfig config;
  config.payload_bytes = spec.bytes;
  config.warmup = spec.warmup;
  config.warmup_budget = std::chrono::nanoseconds(spec.warmup_budget_ns);
  config.count = spec.count;
  config.budget = std::chrono::nanoseconds(spec.budget_ns);
  config.touch = spec.touch;
  config.rate_per_s = spec.rate_per_s;
  config.duration = std::chrono::nanoseconds(spec.duration_ns);
  config.pace_by_spinning = spec.wait == WaitMode::spin;
  return config;
}

// The latency over time's windows: 10 ms, or the measured phase's 500th part when that is longer.
constexpr std::uint64_t kTimelineWindowNs = 10'000'000;
constexpr std::uint64_t kTimelineWindows = 500;

// Runs the scenario's side over the channels; what it measured, and how it ended.
WorkerReport run_side(const WorkerSpec& spec, std::span<Transport* const> channels,
                      const Clock& clock) {
  auto latency = std::make_unique<Histogram>();
  auto from_sent = std::make_unique<Histogram>();
  // Windows of 10 ms, or more for a long measured phase (the budget; a scheduled scenario's
  // duration): at most about 500 of them.
  const std::int64_t phase_ns = spec.scenario->on_schedule ? spec.duration_ns : spec.budget_ns;
  auto timeline = std::make_unique<LatencyTimeline>(std::max<std::uint64_t>(
      kTimelineWindowNs,
      static_cast<std::uint64_t>(std::max<std::int64_t>(phase_ns, 0)) / kTimelineWindows));
  Measurement m;
  // The side that sees whole journeys records them, as the scenario says (Records): the pingpong
  // producer its round trips, a rate or fanout consumer each message's way from the producer.
  const Records& records = spec.scenario->records;
  const bool producer = spec.role == Role::producer;
  // ...and its percentiles per window of time, where the scenario records them (pingpong's and
  // loaded's round trips, rate's and overload's one-way times).
  if (producer ? records.producer_latency : records.consumer_latency) {
    m.latency = latency.get();
    m.timeline = timeline.get();
  }
  if (producer ? records.producer_idle : records.consumer_from_sent) m.from_sent = from_sent.get();
  const ScenarioConfig config = config_of(spec);
  auto ran = run_scenario(spec.scenario, spec.role, channels, spec.subscribers, config, clock, m);
  WorkerReport report;
  if (!ran) report.error = WorkerError{ran.error().code, ran.error().reason};
  report.count = m.count;
  report.start_ns = m.start_ns;
  report.end_ns = m.end_ns;
  report.cpu_ns = m.usage.cpu_ns;
  report.voluntary_switches = m.usage.voluntary_switches;
  report.involuntary_switches = m.usage.involuntary_switches;
  for (Transport* t : channels)
    report.messages_lost += t->stats().messages_lost;
  if (m.latency) report.latency = sparse_of(*latency);
  if (m.from_sent) report.latency_sent = sparse_of(*from_sent);
  if (m.timeline && !timeline->windows().empty()) {
    report.timeline = LatencyOverTime{timeline->window_ns(), timeline->windows()};
  }
  report.behind = m.behind;
  report.early = m.early;
  report.lost = m.lost;
  report.late = m.late;
  report.blocked_ns = m.blocked_ns;
  return report;
}

}  // namespace

int worker_main(const std::string& spec_json) {
  std::signal(SIGPIPE, SIG_IGN);
  WorkerSpec spec;
  try {
    spec = worker_spec_from_json(nlohmann::json::parse(spec_json));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ipcbench worker: bad spec: %s\n", e.what());
    return 2;
  }
  Control control(spec.ctl_in, spec.ctl_out);
  install_fault_handlers(spec.ctl_out);
  const TransportInfo* info = find_transport(spec.transport);
  if (!info) {
    control.error({Errc::unsupported, "unknown transport " + spec.transport});
    return 1;
  }
  const std::uint64_t shared_before = shared_mapped_bytes();
  std::vector<std::unique_ptr<Transport>> transports;
  if (auto ok = set_up_channels(spec, *info, control, transports); !ok) {
    control.error(ok.error());
    return 1;  // the channels close after the error is told
  }
  // What the kernel granted for the cell's settings: every channel is set up alike, the first
  // speaks for them.
  nlohmann::json connected = {{"event", "connected"}};
  if (auto granted = transports.front()->granted_options(); !granted.empty()) {
    connected["options"] = options_json(granted);
  }
  control.send(connected);
  if (control.receive_line() != "go") return 1;  // the conductor gave up on this cell
  Clock clock = spec.tsc ? Clock::tsc(spec.ns_per_tick) : Clock::monotonic();
  const CellFloor floor = measure_cell_floor(spec, clock);

  std::vector<Transport*> channels;
  for (auto& t : transports)
    channels.push_back(t.get());
  WorkerReport report = run_side(spec, channels, clock);
  const std::uint64_t shared_after = shared_mapped_bytes();
  report.shared_bytes = shared_after > shared_before ? shared_after - shared_before : 0;
  report.floor_rtt_ns = floor.rtt_ns;
  report.floor_copy_bytes_per_second = floor.copy_bytes_per_second;
  nlohmann::json event = report;
  event["event"] = "result";
  control.send(event);
  const bool ok = report.ok();
  transports.clear();  // remove what they made before we say goodbye
  return ok ? 0 : 1;
}

}  // namespace ipcbench

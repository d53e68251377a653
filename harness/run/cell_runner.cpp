#include "harness/run/cell_runner.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <optional>
#include <sstream>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "base/peer_watch.hpp"
#include "base/unique_fd.hpp"
#include "harness/run/floor.hpp"
#include "harness/run/process.hpp"
#include "harness/run/resources.hpp"
#include "harness/run/worker.hpp"
#include "harness/run/worker_report.hpp"

namespace ipcbench {

using nlohmann::json;
namespace fs = std::filesystem;
using Steady = std::chrono::steady_clock;

namespace {

// Where a worker finds its pipes. The consumer's channel is its standard input and output, as
// Capabilities::stdio_pipes promises; the producer's comes after the control pipes.
constexpr int kControlIn = 3;   // conductor -> worker
constexpr int kControlOut = 4;  // worker -> conductor
constexpr int kConsumerChannelIn = 0, kConsumerChannelOut = 1;
constexpr int kProducerChannelIn = 5, kProducerChannelOut = 6;

std::string tail_of_file(const std::string& path, std::size_t max_bytes = 400) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  while (!s.empty() && (s.back() == '\n' || s.back() == ' '))
    s.pop_back();
  if (s.size() > max_bytes) s = "..." + s.substr(s.size() - max_bytes);
  for (auto& c : s) {
    if (c == '\n') c = ' ';
  }
  return s;
}

struct Pipe {
  UniqueFd read;
  UniqueFd write;
};

Result<Pipe> make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return fail_errno(Errc::resource, "pipe2");
  return Pipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

// The steps a worker reports on its way, named as its events are.
enum class Step { listening, connected, result };

std::string_view to_string(Step step) {
  switch (step) {
    case Step::listening:
      return "listening";
    case Step::connected:
      return "connected";
    case Step::result:
      return "result";
  }
  return "?";
}

// --- One worker as the conductor sees it. ------------------------------------------------------
struct WorkerProcess {
  Role role = Role::producer;
  std::string label = "producer";  // "producer", "consumer", or "consumer 2" of several
  pid_t pid = -1;
  UniqueFd to;    // conductor -> worker
  UniqueFd from;  // worker -> conductor
  std::string buffer;
  bool eof = false;
  std::string stderr_path;
  std::optional<ChildExit> exit;
  std::optional<char> state;  // process_state(), taken before a failed cell's workers are reaped
  // What it reported, each event the first time it came.
  std::optional<std::string> address;  // "listening": where the producer connects
  std::vector<std::string> addresses;  // ... to each of its channels (one, or two with a load)
  bool connected = false;
  std::vector<OptionValue> granted;  // "connected": what the kernel granted for the settings
  std::optional<WorkerReport> result;
  std::optional<WorkerError> error;  // its "error" event, or an unreadable line
  bool unreadable = false;           // `error` is a line that was no event

  const char* name() const { return label.c_str(); }

  bool reached(Step step) const {
    switch (step) {
      case Step::listening:
        return address.has_value();
      case Step::connected:
        return connected;
      case Step::result:
        return result.has_value();
    }
    return false;
  }

  // What the worker said went wrong: its error event, else a result that is not ok.
  const WorkerError* own_error() const {
    if (error) return &*error;
    if (result && !result->ok()) return &*result->error;
    return nullptr;
  }

  // Reads what is there; takes each complete line as an event.
  void read_available() {
    char chunk[65536];
    for (;;) {
      ssize_t n = ::read(from.get(), chunk, sizeof chunk);
      if (n > 0) {
        buffer.append(chunk, static_cast<std::size_t>(n));
        continue;
      }
      if (n == 0) eof = true;
      if (n < 0 && errno == EINTR) continue;
      break;
    }
    std::size_t nl;
    while ((nl = buffer.find('\n')) != std::string::npos) {
      take(buffer.substr(0, nl));
      buffer.erase(0, nl + 1);
    }
  }

  void take(const std::string& line) {
    try {
      const json event = json::parse(line);
      const std::string kind = event.at("event").get<std::string>();
      if (kind == "listening" && !address) {
        address = event.at("address").get<std::string>();
        addresses = event.value("addresses", std::vector<std::string>{*address});
      } else if (kind == "connected") {
        connected = true;
        if (auto it = event.find("options"); it != event.end()) granted = options_from_json(*it);
      } else if (kind == "result" && !result) {
        result = event.get<WorkerReport>();
      } else if (kind == "error" && !error) {
        error = event.get<WorkerError>();
      }
    } catch (const json::exception&) {
      if (error) return;
      error = WorkerError{Errc::protocol, "unreadable control line: " + line.substr(0, 200)};
      unreadable = true;
    }
  }

  void tell(std::string_view line) {
    std::string s = std::string(line) + "\n";
    (void)!::write(to.get(), s.data(), s.size());
  }
};

// The worker's process state (/proc/<pid>/stat: R, S, D, T, ...), 0 when it has exited.
char process_state(const WorkerProcess& w) {
  if (w.pid <= 0 || w.exit) return 0;
  auto state = read_process_state(w.pid);
  if (!state || state->state == 'Z' || state->state == 'X') return 0;
  return state->state;
}

// What is known of a worker that looks stuck: stopped, or (when `running_too`) alive and running
// yet not answering. Nothing when it has exited (its own report says why).
std::string liveness_note(const WorkerProcess& w, char state, bool running_too) {
  if (state == 'T' || state == 't') {
    return fmt::format("the {} is alive but stopped (SIGSTOP or a debugger)", w.name());
  }
  if (state != 0 && running_too) {
    return fmt::format("the {} is alive but not responding", w.name());
  }
  return "";
}

// A failure that may be only the echo of the peer's: the peer went away, or fell silent.
bool is_echo(const WorkerError& error) {
  return error.code == Errc::peer_gone || error.code == Errc::timeout;
}

// What went wrong with a worker that did not deliver `wanted`, in one line. `peer` is the other
// worker: a timeout or a vanished peer says what is known of it.
std::string worker_failure(WorkerProcess& w, std::string_view wanted,
                           const WorkerProcess* peer = nullptr) {
  if (const WorkerError* error = w.own_error()) {
    // An unreadable line is the conductor's finding, not a code the worker sent.
    std::string text = fmt::format("{}: {}: {}", w.name(),
                                   w.unreadable ? "protocol" : error->describe(), error->reason);
    if (peer && is_echo(*error)) {
      std::string note = liveness_note(*peer, peer->state.value_or(process_state(*peer)), true);
      if (!note.empty()) text += " (" + note + ")";
    }
    return text;
  }
  if (!w.exit) w.exit = reap_or_kill(w.pid, std::chrono::milliseconds(500));
  std::string err = tail_of_file(w.stderr_path);
  return fmt::format("{} {} before {}{}{}", w.name(), w.exit->describe(), wanted,
                     err.empty() ? "" : ": ", err);
}

enum class Wait { ok, failed, timed_out, interrupted };

// A cell's workers, the producer and its consumers (one, or N for fanout): started with their
// pipes wired to the numbers above, waited on in poll() (the conductor never spins during a
// measurement), and reaped.
class WorkerGroup {
 public:
  WorkerGroup(const CellContext& context, std::string dir, Steady::time_point deadline,
              unsigned consumers)
      : m_context(context), m_dir(std::move(dir)), m_deadline(deadline), m_consumers(consumers) {
    for (unsigned k = 0; k < consumers; ++k) {
      m_consumers[k].role = Role::consumer;
      m_consumers[k].label = consumers == 1 ? "consumer" : fmt::format("consumer {}", k + 1);
    }
    m_producer.role = Role::producer;
  }

  WorkerProcess& producer() { return m_producer; }
  WorkerProcess& consumer(unsigned k = 0) { return m_consumers[k]; }
  std::vector<WorkerProcess>& consumers() { return m_consumers; }
  // Every worker, the producer first.
  std::vector<WorkerProcess*> all() {
    std::vector<WorkerProcess*> out = {&m_producer};
    for (auto& c : m_consumers)
      out.push_back(&c);
    return out;
  }
  std::vector<WorkerProcess*> started() {
    std::vector<WorkerProcess*> out;
    for (WorkerProcess* w : all()) {
      if (w->pid > 0) out.push_back(w);
    }
    return out;
  }

  // For a stdio_pipes transport: one channel per consumer, a (producer -> consumer) and b (back).
  bool make_channels() {
    for (std::size_t k = 0; k < m_consumers.size(); ++k) {
      auto a = make_pipe();
      auto b = make_pipe();
      if (!a || !b) return false;
      m_a.push_back(std::move(*a));
      m_b.push_back(std::move(*b));
    }
    return true;
  }

  // Starts consumer `k` (or the producer) on `spec`; false with `why` if it cannot. Each end of a
  // channel belongs to the one worker that uses it, so that a worker that exits is EOF to its
  // peer.
  bool start_consumer(unsigned k, WorkerSpec spec, std::string& why) {
    spec.subscriber_index = k;
    const bool started = launch(m_consumers[k], spec, k, why);
    if (k < m_a.size()) {
      m_a[k].read = UniqueFd();
      m_b[k].write = UniqueFd();
    }
    return started;
  }
  bool start_producer(WorkerSpec spec, std::string& why) {
    const bool started = launch(m_producer, spec, 0, why);
    m_a.clear();
    m_b.clear();
    return started;
  }

  // Sleeps in poll() until every worker in `workers` has reached `step`, one of them failed, the
  // deadline passed or the user interrupted.
  Wait wait_for(const std::vector<WorkerProcess*>& workers, Step step, std::string& why) {
    for (;;) {
      bool every = true;
      for (WorkerProcess* w : workers) {
        if (w->reached(step)) continue;
        every = false;
        if (w->error || w->eof) {
          why = worker_failure(*w, to_string(step));
          return Wait::failed;
        }
      }
      if (every) return Wait::ok;
      if (m_context.interrupted && *m_context.interrupted) return Wait::interrupted;
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(m_deadline - Steady::now());
      if (left.count() <= 0) {
        why = fmt::format("timed out waiting for '{}'", to_string(step));
        return Wait::timed_out;
      }
      std::vector<pollfd> fds;
      for (WorkerProcess* w : workers) {
        if (!w->eof) fds.push_back({w->from.get(), POLLIN, 0});
      }
      fds.push_back({m_context.interrupt_fd, POLLIN, 0});
      int n = ::poll(fds.data(), fds.size(), static_cast<int>(std::min<long>(left.count(), 1000)));
      if (n < 0 && errno != EINTR) {
        why = fmt::format("poll: {}", std::strerror(errno));
        return Wait::failed;
      }
      for (WorkerProcess* w : workers) {
        if (!w->eof) w->read_available();
      }
    }
  }

  // The consumers first: the producer times (the floor, the round trips), and a conductor
  // still telling a consumer "go" would run on a CPU the producer already spins on.
  void go() {
    for (auto& c : m_consumers)
      c.tell("go");
    m_producer.tell("go");
  }

  // Reaps every worker; one that has reported exits at once, and after a failure none is waited
  // for. What a failed cell's workers were doing is looked at first: killing them would erase it.
  void reap(bool ok) {
    if (!ok) {
      for (WorkerProcess* w : all())
        w->state = process_state(*w);
    }
    for (WorkerProcess* w : all()) {
      if (w->pid < 0 || w->exit) continue;
      w->exit =
          reap_or_kill(w->pid, ok ? std::chrono::milliseconds(5000) : std::chrono::milliseconds(0));
    }
  }

 private:
  // Spawns `w` with its control pipes, and its ends of the channels if there are any, at the
  // numbers above (the producer's k-th channel two numbers further per k), and tells it those
  // numbers in its spec.
  bool launch(WorkerProcess& w, WorkerSpec& spec, unsigned k, std::string& why) {
    auto to = make_pipe();
    auto from = make_pipe();
    if (!to || !from) {
      why = "cannot make control pipes";
      return false;
    }
    const bool consumer = w.role == Role::consumer;
    spec.role = w.role;
    spec.ctl_in = kControlIn;
    spec.ctl_out = kControlOut;
    w.stderr_path = m_dir + "/" + w.label + ".stderr";
    std::replace(w.stderr_path.begin() + static_cast<long>(m_dir.size()), w.stderr_path.end(), ' ',
                 '-');
    ChildSpec child;
    child.cpu = consumer ? m_context.cpu_consumer : m_context.cpu_producer;
    child.stderr_path = w.stderr_path;
    child.descriptors = {{to->read.get(), kControlIn}, {from->write.get(), kControlOut}};
    if (!m_a.empty()) {
      spec.in_fd = consumer ? kConsumerChannelIn : kProducerChannelIn;
      spec.out_fd = consumer ? kConsumerChannelOut : kProducerChannelOut;
      if (consumer) {
        child.descriptors.emplace_back(m_a[k].read.get(), spec.in_fd);
        child.descriptors.emplace_back(m_b[k].write.get(), spec.out_fd);
      } else {
        for (std::size_t c = 0; c < m_a.size(); ++c) {
          const int step = 2 * static_cast<int>(c);
          child.descriptors.emplace_back(m_b[c].read.get(), spec.in_fd + step);
          child.descriptors.emplace_back(m_a[c].write.get(), spec.out_fd + step);
        }
      }
    }
    child.argv = {m_context.exe, "worker", "--spec", to_json(spec).dump()};
    auto pid = spawn(child);
    if (!pid) {
      why = pid.error().reason;
      return false;
    }
    w.pid = *pid;
    w.to = std::move(to->write);
    w.from = std::move(from->read);
    ::fcntl(w.from.get(), F_SETFL, O_NONBLOCK);
    return true;
  }

  const CellContext& m_context;
  std::string m_dir;
  Steady::time_point m_deadline;
  std::vector<WorkerProcess> m_consumers;
  WorkerProcess m_producer;
  std::vector<Pipe> m_a, m_b;  // the stdio_pipes channels, until their workers hold their ends
};

// Why the cell failed, from how the wait ended (`state`, with `why`) and what both workers said.
std::string failure_reason(WorkerGroup& group, Wait state, std::string why,
                           std::chrono::milliseconds timeout) {
  if (state == Wait::timed_out) {
    std::string notes;
    for (WorkerProcess* w : group.all()) {
      if (auto note = liveness_note(*w, w->state.value_or(0), false); !note.empty()) {
        notes += "; " + note;
      }
    }
    why = fmt::format("timed out after {} s ({}){}; killed", timeout.count() / 1000.0, why, notes);
  } else if (state == Wait::interrupted) {
    why = "interrupted";
  }
  if (why.empty()) why = "failed";
  if (state == Wait::failed || state == Wait::timed_out) {
    // A worker's own report names the cause better than "killed"; "peer gone" or a timeout is
    // only the other side of a failure, so it comes last.
    std::string cause, echo;
    std::vector<WorkerProcess*> consumers_first;
    for (auto& c : group.consumers())
      consumers_first.push_back(&c);
    consumers_first.push_back(&group.producer());
    for (WorkerProcess* w : consumers_first) {
      const WorkerError* error = w->own_error();
      if (!error) continue;
      // A consumer's peer is the producer; the producer's, its first consumer.
      WorkerProcess* peer = w == &group.producer() ? &group.consumer(0) : &group.producer();
      std::string& slot = is_echo(*error) ? echo : cause;
      if (slot.empty()) slot = worker_failure(*w, "the end", peer);
    }
    if (!cause.empty()) {
      why = cause;
    } else if (!echo.empty() && state == Wait::timed_out) {
      why = echo + " (" + why + ")";
    }
  }
  return why;
}

// The spec every worker starts from; WorkerGroup's start_*() add the role and the wiring.
WorkerSpec worker_spec(const Cell& cell, const CellContext& context, const std::string& token,
                       const std::string& dir) {
  WorkerSpec spec;
  spec.transport = cell.transport;
  spec.scenario = cell.scenario;
  spec.bytes = cell.bytes;
  spec.wait = cell.wait;
  spec.touch = cell.touch;
  spec.warmup = cell.warmup;
  spec.warmup_budget_ns = cell.warmup_budget.count();
  spec.count = cell.count;
  spec.budget_ns = cell.budget.count();
  spec.rate_per_s = cell.rate;
  spec.duration_ns = cell.duration.count();
  spec.subscribers = cell.consumers();
  for (const CellOption& o : cell.options)
    spec.options.push_back({o.name, o.value});
  spec.token = token;
  spec.dir = dir;
  // A worker gives up waiting a little before the conductor's deadline, so that its own
  // reason (not just "killed") reaches the results.
  spec.timeout_ms = std::max<std::int64_t>(1000, context.timeout.count() - 2000);
  spec.spin_us = context.spin.count();
  spec.queue_depth = queue_depth_for(cell.bytes);
  spec.tsc = context.clock.uses_tsc();
  spec.ns_per_tick = context.clock.ns_per_tick();
  return spec;
}

double cpu_ns(const std::optional<ChildExit>& exit) {
  if (!exit) return 0.0;
  auto ns = [](const timeval& t) { return t.tv_sec * 1e9 + t.tv_usec * 1e3; };
  return ns(exit->usage.ru_utime) + ns(exit->usage.ru_stime);
}

// A reaped worker's peak resident set in bytes (ru_maxrss is in KiB); none if it was not reaped.
std::optional<double> peak_rss(const std::optional<ChildExit>& exit) {
  if (!exit || exit->usage.ru_maxrss <= 0) return std::nullopt;
  return static_cast<double>(exit->usage.ru_maxrss) * 1024;
}

// What the workers reported, into the cell's run: their reports, their processes' CPU time, and
// what the kernel granted (the producer's report of a setting, else the first consumer's).
void collect(WorkerGroup& group, const std::vector<WorkerProcess*>& consumers, CellRun& run) {
  run.producer_process_cpu_ns = cpu_ns(group.producer().exit);
  run.memory.producer_peak_rss = peak_rss(group.producer().exit);
  run.producer = group.producer().result;
  for (WorkerProcess* c : consumers) {
    run.consumer_process_cpu_ns += cpu_ns(c->exit);
    if (auto rss = peak_rss(c->exit)) {
      run.memory.consumer_peak_rss = std::max(run.memory.consumer_peak_rss.value_or(0), *rss);
    }
    run.consumers.push_back(c->result);
  }
  run.consumer = run.consumers.empty() ? std::nullopt : run.consumers.front();
  run.granted = group.producer().granted;
  for (const OptionValue& o : group.consumer(0).granted) {
    if (std::ranges::find(run.granted, o.name, &OptionValue::name) == run.granted.end()) {
      run.granted.push_back(o);
    }
  }
}

// Why a cell whose workers all reported failed, if it did: a scenario that failed, a worker that
// did not exit cleanly, or a stream whose consumers checked another count than the producer sent.
std::optional<std::string> judge(const Cell& cell, WorkerGroup& group,
                                 const std::vector<WorkerProcess*>& consumers, const CellRun& run) {
  for (WorkerProcess* w : group.all()) {
    if (!w->result->ok()) return worker_failure(*w, "the end");
    if (!w->exit->success()) {
      return fmt::format("{} {} after reporting", w->name(), w->exit->describe());
    }
  }
  if (cell.scenario->stream) {
    // A stream may end early, on its time budget: every consumer must have checked every message
    // the producer sent, no fewer (a lost tail) and no more.
    for (WorkerProcess* c : consumers) {
      if (c->result->count != run.producer->count) {
        return fmt::format("{} checked {} measured messages of the {} the producer sent", c->name(),
                           c->result->count, run.producer->count);
      }
    }
  }
  return std::nullopt;
}

}  // namespace

CellRun run_cell(const Cell& cell, const CellContext& run_context, const std::string& token) {
  // The cell's own CPUs (a pair of --cpus) where it has them.
  CellContext context = run_context;
  if (cell.cpu_producer >= 0) context.cpu_producer = cell.cpu_producer;
  if (cell.cpu_consumer >= 0) context.cpu_consumer = cell.cpu_consumer;
  CellRun run;
  const auto started = Steady::now();
  sweep_token(token);
  auto made_dir = make_private_dir(token);
  if (!made_dir) {
    run.error = made_dir.error().reason;
    return run;
  }
  const std::string dir = *made_dir;
  const Capabilities caps = find_transport(cell.transport)->capabilities();
  const unsigned n = cell.consumers();
  // Several channels (a point-to-point fanout, a load beside): a directory each (worker.cpp names
  // them).
  const unsigned channels = cell.scenario->producer_channels(caps, n);
  for (unsigned k = 0; channels > 1 && k < channels; ++k) {
    const std::string sub = channel_dir(dir, k);
    if (::mkdir(sub.c_str(), 0700) != 0) {
      run.error = fmt::format("cannot make {}: {}", sub, std::strerror(errno));
      fs::remove_all(dir);
      return run;
    }
  }
  WorkerGroup group(context, dir, started + context.timeout, n);
  if (caps.stdio_pipes && !group.make_channels()) {
    run.error = "cannot make the channels' pipes";
    fs::remove_all(dir);
    return run;
  }
  WorkerSpec spec = worker_spec(cell, context, token, dir);
  // The floor lines the two workers exchange before the scenario: only across two CPUs.
  if (context.cpu_producer >= 0 && context.cpu_consumer >= 0 &&
      context.cpu_producer != context.cpu_consumer) {
    const std::string path = dir + "/floor-lines";
    UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (fd && ::ftruncate(fd.get(), sizeof(FloorLines)) == 0) spec.floor_path = path;
  }
  std::string why;

  // 1. The consumers first: they make what the producer connects to.
  Wait state = Wait::ok;
  std::vector<WorkerProcess*> consumers;
  for (unsigned k = 0; k < n && state == Wait::ok; ++k) {
    if (!group.start_consumer(k, spec, why)) state = Wait::failed;
    consumers.push_back(&group.consumer(k));
  }
  if (state == Wait::ok) state = group.wait_for(consumers, Step::listening, why);
  // 2. The producer, told where to connect.
  if (state == Wait::ok) {
    WorkerSpec producer = spec;
    for (WorkerProcess* c : consumers)
      producer.peer_addresses.insert(producer.peer_addresses.end(), c->addresses.begin(),
                                     c->addresses.end());
    if (!group.start_producer(producer, why)) state = Wait::failed;
  }
  // 3. All connected: go. 4. All report.
  if (state == Wait::ok) state = group.wait_for(group.all(), Step::connected, why);
  if (state == Wait::ok) {
    group.go();
    state = group.wait_for(group.all(), Step::result, why);
  }
  group.reap(state == Wait::ok);
  collect(group, consumers, run);
  if (state == Wait::ok) {
    if (auto failed = judge(cell, group, consumers, run)) {
      why = *failed;
      state = Wait::failed;
    }
  }
  run.ok = state == Wait::ok;
  if (!run.ok) run.error = failure_reason(group, state, why, context.timeout);
  remove_private_dir(dir);
  sweep_token(token);
  run.wall_s = std::chrono::duration<double>(Steady::now() - started).count();
  return run;
}

}  // namespace ipcbench

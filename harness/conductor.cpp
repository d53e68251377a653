#include "harness/conductor.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "base/peer_watch.hpp"
#include "base/unique_fd.hpp"
#include "harness/daemons.hpp"
#include "harness/environment.hpp"
#include "harness/output.hpp"
#include "harness/process.hpp"
#include "harness/resources.hpp"
#include "harness/results.hpp"
#include "harness/worker.hpp"
#include "harness/worker_report.hpp"

namespace ipcbench {

using nlohmann::json;
namespace fs = std::filesystem;
using Steady = std::chrono::steady_clock;

namespace {

// --- Ctrl-C: the handler only writes a byte; the conductor's poll() sees it. -----------------
int g_signal_pipe[2] = {-1, -1};
volatile sig_atomic_t g_interrupted = 0;

void on_signal(int) {
  g_interrupted = 1;
  if (g_signal_pipe[1] >= 0) (void)!::write(g_signal_pipe[1], "x", 1);
}

void install_signal_handlers() {
  if (g_signal_pipe[0] < 0 && ::pipe2(g_signal_pipe, O_CLOEXEC | O_NONBLOCK) != 0) return;
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP})
    ::sigaction(sig, &sa, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
}

std::string self_executable() {
  char path[4096] = {};
  ssize_t n = ::readlink("/proc/self/exe", path, sizeof path - 1);
  return n > 0 ? std::string(path, static_cast<std::size_t>(n)) : std::string("ipcbench");
}

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
struct Worker {
  Role role = Role::producer;
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
  bool connected = false;
  std::optional<WorkerReport> result;
  std::optional<WorkerError> error;  // its "error" event, or an unreadable line
  bool unreadable = false;           // `error` is a line that was no event

  const char* name() const { return role == Role::producer ? "producer" : "consumer"; }

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
      } else if (kind == "connected") {
        connected = true;
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
char process_state(const Worker& w) {
  if (w.pid <= 0 || w.exit) return 0;
  auto state = read_process_state(w.pid);
  if (!state || state->state == 'Z' || state->state == 'X') return 0;
  return state->state;
}

// What is known of a worker that looks stuck: stopped, or (when `running_too`) alive and running
// yet not answering. Nothing when it has exited (its own report says why).
std::string liveness_note(const Worker& w, char state, bool running_too) {
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
std::string worker_failure(Worker& w, std::string_view wanted, const Worker* peer = nullptr) {
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

// Sleeps in poll() until every worker in `workers` has reached `step`, one of them failed, the
// deadline passed or the user interrupted.
Wait wait_for(std::vector<Worker*> workers, Step step, Steady::time_point deadline,
              std::string& why) {
  for (;;) {
    bool all = true;
    for (Worker* w : workers) {
      if (w->reached(step)) continue;
      all = false;
      if (w->error || w->eof) {
        why = worker_failure(*w, to_string(step));
        return Wait::failed;
      }
    }
    if (all) return Wait::ok;
    if (g_interrupted) return Wait::interrupted;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Steady::now());
    if (left.count() <= 0) {
      why = fmt::format("timed out waiting for '{}'", to_string(step));
      return Wait::timed_out;
    }
    std::vector<pollfd> fds;
    for (Worker* w : workers) {
      if (!w->eof) fds.push_back({w->from.get(), POLLIN, 0});
    }
    fds.push_back({g_signal_pipe[0], POLLIN, 0});
    int n = ::poll(fds.data(), fds.size(), static_cast<int>(std::min<long>(left.count(), 1000)));
    if (n < 0 && errno != EINTR) {
      why = fmt::format("poll: {}", std::strerror(errno));
      return Wait::failed;
    }
    for (Worker* w : workers) {
      if (!w->eof) w->read_available();
    }
  }
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

struct Context {
  std::string exe;
  Clock clock = Clock::monotonic();
  int cpu_producer = -1;
  int cpu_consumer = -1;
  std::chrono::milliseconds timeout{60000};
  std::chrono::microseconds spin{5};
};

CellRun run_cell(const Cell& cell, const Context& ctx, const std::string& token) {
  CellRun run;
  const auto started = Steady::now();
  const auto deadline = started + ctx.timeout;
  const TransportInfo* info = find_transport(cell.transport);
  const Capabilities caps = info->capabilities();
  sweep_token(token);
  auto made_dir = make_private_dir(token);
  if (!made_dir) {
    run.error = made_dir.error().reason;
    return run;
  }
  const std::string dir = *made_dir;

  WorkerSpec spec;
  spec.transport = cell.transport;
  spec.scenario = cell.scenario;
  spec.bytes = cell.bytes;
  spec.wait = cell.wait;
  spec.touch = cell.touch;
  spec.warmup = cell.warmup;
  spec.count = cell.count;
  spec.budget_ns = cell.budget.count();
  spec.token = token;
  spec.dir = dir;
  // A worker gives up waiting a little before the conductor's deadline, so that its own
  // reason (not just "killed") reaches the results.
  spec.timeout_ms = std::max<std::int64_t>(1000, ctx.timeout.count() - 2000);
  spec.spin_us = ctx.spin.count();
  spec.queue_depth = queue_depth_for(cell.bytes);
  spec.tsc = ctx.clock.uses_tsc();
  spec.ns_per_tick = ctx.clock.ns_per_tick();

  Worker consumer, producer;
  consumer.role = Role::consumer;
  producer.role = Role::producer;
  std::string why;
  Wait state = Wait::ok;

  auto start_worker = [&](Worker& w, WorkerSpec s, int cpu,
                          std::vector<std::pair<int, int>> extra) -> bool {
    auto to = make_pipe();
    auto from = make_pipe();
    if (!to || !from) {
      why = "cannot make control pipes";
      return false;
    }
    s.role = w.role;
    w.stderr_path = dir + "/" + w.name() + ".stderr";
    ChildSpec child;
    child.argv = {ctx.exe, "worker", "--spec", to_json(s).dump()};
    child.cpu = cpu;
    child.stderr_path = w.stderr_path;
    child.descriptors = {{to->read.get(), s.ctl_in}, {from->write.get(), s.ctl_out}};
    for (auto d : extra)
      child.descriptors.push_back(d);
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
  };

  // The stdio-pipes channel: a (producer -> consumer), b (consumer -> producer).
  std::optional<Pipe> a, b;
  if (caps.stdio_pipes) {
    auto pa = make_pipe();
    auto pb = make_pipe();
    if (!pa || !pb) {
      run.error = "cannot make the channel's pipes";
      fs::remove_all(dir);
      return run;
    }
    a = std::move(*pa);
    b = std::move(*pb);
  }

  // 1. The consumer first: it makes what the producer connects to.
  {
    WorkerSpec s = spec;
    std::vector<std::pair<int, int>> extra;
    if (caps.stdio_pipes) {
      s.in_fd = 0;
      s.out_fd = 1;
      extra = {{a->read.get(), 0}, {b->write.get(), 1}};
    }
    if (!start_worker(consumer, s, ctx.cpu_consumer, extra)) state = Wait::failed;
    if (caps.stdio_pipes) {
      a->read = UniqueFd();  // only the consumer holds these now: its exit reads as EOF
      b->write = UniqueFd();
    }
  }
  if (state == Wait::ok) state = wait_for({&consumer}, Step::listening, deadline, why);
  // 2. The producer, told where to connect.
  if (state == Wait::ok) {
    WorkerSpec s = spec;
    s.peer_address = *consumer.address;
    std::vector<std::pair<int, int>> extra;
    if (caps.stdio_pipes) {
      s.in_fd = 5;
      s.out_fd = 6;
      extra = {{b->read.get(), 5}, {a->write.get(), 6}};
    }
    if (!start_worker(producer, s, ctx.cpu_producer, extra)) state = Wait::failed;
    a.reset();
    b.reset();
  }
  // 3. Both connected: go. 4. Both report.
  if (state == Wait::ok) state = wait_for({&consumer, &producer}, Step::connected, deadline, why);
  if (state == Wait::ok) {
    consumer.tell("go");
    producer.tell("go");
    state = wait_for({&consumer, &producer}, Step::result, deadline, why);
  }

  // Reap (or kill) both; a worker that has reported exits at once. What a failed cell's workers
  // were doing is looked at first: killing them would erase it.
  if (state != Wait::ok) {
    for (Worker* w : {&producer, &consumer})
      w->state = process_state(*w);
  }
  for (Worker* w : {&producer, &consumer}) {
    if (w->pid < 0 || w->exit) continue;
    auto grace = state == Wait::ok ? std::chrono::milliseconds(5000) : std::chrono::milliseconds(0);
    w->exit = reap_or_kill(w->pid, grace);
  }
  auto cpu_ns = [](const std::optional<ChildExit>& e) {
    if (!e) return 0.0;
    auto tv = [](const timeval& t) { return t.tv_sec * 1e9 + t.tv_usec * 1e3; };
    return tv(e->usage.ru_utime) + tv(e->usage.ru_stime);
  };
  run.producer_process_cpu_ns = cpu_ns(producer.exit);
  run.consumer_process_cpu_ns = cpu_ns(consumer.exit);
  run.producer = producer.result;
  run.consumer = consumer.result;

  if (state == Wait::ok) {
    // Both reported: the cell succeeded if both scenarios did and both exited cleanly.
    for (Worker* w : {&producer, &consumer}) {
      if (!w->result->ok()) {
        why = worker_failure(*w, "the end");
        state = Wait::failed;
        break;
      }
      if (!w->exit->success()) {
        why = fmt::format("{} {} after reporting", w->name(), w->exit->describe());
        state = Wait::failed;
        break;
      }
    }
  } else if (state == Wait::timed_out) {
    std::string notes;
    for (Worker* w : {&producer, &consumer}) {
      if (auto note = liveness_note(*w, w->state.value_or(0), false); !note.empty()) {
        notes += "; " + note;
      }
    }
    why = fmt::format("timed out after {} s ({}){}; killed", ctx.timeout.count() / 1000.0, why,
                      notes);
  } else if (state == Wait::interrupted) {
    why = "interrupted";
  }
  if (state != Wait::ok && why.empty()) why = "failed";
  if (state == Wait::failed || state == Wait::timed_out) {
    // A worker's own report names the cause better than "killed"; "peer gone" or a timeout is
    // only the other side of a failure, so it comes last.
    std::string cause, echo;
    for (Worker* w : {&consumer, &producer}) {
      const WorkerError* error = w->own_error();
      if (!error) continue;
      Worker* peer = w == &consumer ? &producer : &consumer;
      std::string& slot = is_echo(*error) ? echo : cause;
      if (slot.empty()) slot = worker_failure(*w, "the end", peer);
    }
    if (!cause.empty()) {
      why = cause;
    } else if (!echo.empty() && state == Wait::timed_out) {
      why = echo + " (" + why + ")";
    }
  }
  run.ok = state == Wait::ok;
  run.error = run.ok ? "" : why;
  fs::remove_all(dir);
  sweep_token(token);
  run.wall_s = std::chrono::duration<double>(Steady::now() - started).count();
  return run;
}

std::string default_output_path() {
  std::time_t now = std::time(nullptr);
  std::tm local{};
  ::localtime_r(&now, &local);
  char buffer[64];
  std::strftime(buffer, sizeof buffer, "results/run-%Y%m%d-%H%M%S.json", &local);
  return buffer;
}

std::string format_duration(double s) {
  if (s < 60) return fmt::format("{:.0f}s", s);
  return fmt::format("{}m{:02}s", static_cast<int>(s) / 60, static_cast<int>(s) % 60);
}

}  // namespace

int run_matrix(const RunOptions& options) {
  // The results' destination first: a bad --out is a usage error before anything runs.
  auto output = ResultsOutput::open(options.out.empty() ? default_output_path() : options.out);
  if (!output) {
    fmt::print(stderr, "ipcbench: {}\n", output.error());
    return 2;
  }
  std::FILE* console = output->console();
  install_signal_handlers();
  sweep_stale_resources();
  std::vector<std::string> skipped;
  std::vector<Cell> cells = expand_cells(options, skipped);
  for (const auto& s : skipped)
    fmt::print(stderr, "note: skipped: {}\n", s);
  if (cells.empty()) {
    fmt::print(stderr, "ipcbench: nothing to run\n");
    return 2;
  }

  Context ctx;
  ctx.exe = self_executable();
  ctx.clock = Clock::calibrate();
  ctx.cpu_producer = options.cpu_producer;
  ctx.cpu_consumer = options.cpu_consumer;
  ctx.timeout = options.timeout;
  ctx.spin = options.spin;
  const double overhead = ctx.clock.overhead_ns();

  Machine machine = inspect_machine();
  std::vector<std::string> warnings =
      stability_warnings(machine, ctx.cpu_producer, ctx.cpu_consumer);
  if (!warnings.empty()) {
    fmt::print(stderr, "Warnings: these may make results unstable\n");
    for (const auto& w : warnings)
      fmt::print(stderr, "  - {}\n", w);
    fmt::print(stderr, "\n");
  }
  json doc = {{"context", make_context(machine, ctx.clock, overhead, ctx.cpu_producer,
                                       ctx.cpu_consumer, warnings)},
              {"benchmarks", json::array()}};
  if (auto err = output->write(doc, false)) {
    fmt::print(stderr, "ipcbench: {}\n", *err);
    return 2;
  }

  // Each transport's daemon, if it needs one, serves the largest message of its cells.
  Daemons daemons;
  std::map<std::string, std::size_t> largest;
  for (const Cell& cell : cells)
    largest[cell.transport] = std::max(largest[cell.transport], cell.bytes);
  // Where each transport's last cell is, in run order, so its daemon can stop after it.
  std::map<std::string, std::size_t> last_cell;
  for (std::size_t i = 0; i < cells.size(); ++i)
    last_cell[cells[i].transport] = i;
  const bool tty = ::isatty(2);
  const std::size_t total = cells.size() * options.repetitions;
  const auto run_started = Steady::now();
  std::size_t done = 0;
  int failed = 0;
  bool interrupted = false;
  bool lost = false;  // the results could not be written: not a success whatever the cells did
  // Repetitions outermost: the transports interleave, so a slow phase of the machine does not
  // fall on one transport's repetitions only.
  for (unsigned rep = 0; rep < options.repetitions && !interrupted; ++rep) {
    for (std::size_t i = 0; i < cells.size() && !interrupted; ++i) {
      const Cell& cell = cells[i];
      if (tty) {
        double elapsed = std::chrono::duration<double>(Steady::now() - run_started).count();
        std::string eta = done ? format_duration(elapsed / done * (total - done)) : "?";
        fmt::print(stderr, "\r\033[K[{}/{}] {} (elapsed {}, left ~{})", done + 1, total,
                   cell.name(), format_duration(elapsed), eta);
      }
      std::string token = cell_token(done);
      CellRun run;
      if (auto why = daemons.ensure(cell.transport, largest[cell.transport], ctx.timeout)) {
        run.error = *why;
      } else {
        run = run_cell(cell, ctx, token);
      }
      if (rep + 1 == options.repetitions && last_cell[cell.transport] == i) {
        daemons.stop(cell.transport);
      }
      ++done;
      if (g_interrupted) {
        interrupted = true;
        break;  // an interrupted cell is not a measurement
      }
      if (!run.ok) {
        ++failed;
        if (tty) fmt::print(stderr, "\r\033[K");
        fmt::print(stderr, "FAILED {}: {}\n", cell.name(), run.error);
      }
      doc["benchmarks"].push_back(
          make_entry(cell, run, static_cast<int>(i), rep, options.repetitions));
      if (auto err = output->write(doc, false)) {
        fmt::print(stderr, "ipcbench: {}\n", *err);
        lost = true;
      }
    }
  }
  if (tty) fmt::print(stderr, "\r\033[K");
  if (auto err = output->write(doc, true)) {
    fmt::print(stderr, "ipcbench: {}\n", *err);
    lost = true;
  }
  const std::string& out = output->path();
  fmt::print(console, "{}", render_tables(doc, ReportOptions{}));
  fmt::print(console, "\nResults: {} ({} cells{}, {})\n", out == "-" ? "standard output" : out,
             doc["benchmarks"].size(), failed ? fmt::format(", {} failed", failed) : "",
             format_duration(std::chrono::duration<double>(Steady::now() - run_started).count()));
  if (interrupted) {
    fmt::print(stderr, "ipcbench: interrupted; the cells measured so far are in {}\n", out);
    return 130;
  }
  return failed || lost ? 1 : 0;
}

}  // namespace ipcbench

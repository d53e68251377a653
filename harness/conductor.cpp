#include "harness/conductor.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <map>

#include <fmt/format.h>

#include "harness/cell_runner.hpp"
#include "harness/clock_skew.hpp"
#include "harness/daemons.hpp"
#include "harness/environment.hpp"
#include "harness/hdr_log.hpp"
#include "harness/output.hpp"
#include "harness/process.hpp"
#include "harness/reporters.hpp"
#include "harness/resources.hpp"
#include "harness/results.hpp"
#include "harness/statistics.hpp"

namespace ipcbench {

using Steady = std::chrono::steady_clock;

namespace {

// The descriptors a run needs open at once. The conductor: its own (its results file, the signal
// pipe, a daemon's log) and two control pipes per worker. A worker: a middleware's sockets, event
// descriptors and shared memory, for each channel it holds (a fanout producer holds N). Measured
// here: at most 18 in a worker of one channel (fastdds), 42 in a fanout producer of four
// (fastdds), so about 8 a channel; these bounds leave twice that.
constexpr std::uint64_t kConductorDescriptors = 32;
constexpr std::uint64_t kWorkerDescriptors = 64;
constexpr std::uint64_t kDescriptorsPerChannel = 16;

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

std::string default_output_path() {
  std::time_t now = std::time(nullptr);
  std::tm local{};
  ::localtime_r(&now, &local);
  char buffer[64];
  std::strftime(buffer, sizeof buffer, "results/run-%Y%m%d-%H%M%S.json", &local);
  return buffer;
}

std::string format_duration(double s) {
  if (s < 10) return fmt::format("{:.1f}s", s);
  if (s < 60) return fmt::format("{:.0f}s", s);
  return fmt::format("{}m{:02}s", static_cast<int>(s) / 60, static_cast<int>(s) % 60);
}

}  // namespace

// Is the 95% interval of a cell's key figure (pingpong: p50; throughput: bytes/s) within
// `precision` of its median? A cell that failed every time is as precise as it will get.
bool precise_enough(const ResultsDocument& doc, const std::string& name, double precision) {
  std::vector<double> values;
  bool any = false;
  for (const CellResult& e : doc.benchmarks) {
    if (e.name != name) continue;
    any = true;
    if (e.pingpong) values.push_back(e.pingpong->p50_ns);
    if (e.throughput) values.push_back(e.throughput->bytes_per_second);
    if (e.rate) values.push_back(e.rate->p99_ns);
    if (e.fanout) values.push_back(e.fanout->msgs_per_s);
  }
  if (!any || values.empty()) return true;
  const Estimate e = estimate(values);
  return e.has_interval() && e.relative_half_width() <= precision;
}

// --dry-run: the cells a run would measure, in order, with a rough estimate of the time.
int dry_run(const RunOptions& options) {
  std::vector<std::string> skipped;
  const std::vector<Cell> cells = filter_cells(expand_cells(options, skipped), options.filter);
  for (const auto& s : skipped)
    fmt::print(stderr, "note: skipped: {}\n", s);
  if (cells.empty()) {
    fmt::print(stderr, "ipcbench: nothing to run{}\n",
               options.filter.empty() ? "" : " (no cell matches --filter " + options.filter + ")");
    return 2;
  }
  double total = 0;
  for (const Cell& cell : cells) {
    const double seconds = estimated_seconds(cell) * options.repetitions;
    total += seconds;
    fmt::print("{}  ~{}\n", cell.name(), format_duration(seconds));
  }
  fmt::print(
      "{} cells x {} repetitions{}; about {} at most (a rough estimate: the real time "
      "depends on the machine)\n",
      cells.size(), options.repetitions,
      options.precision ? fmt::format(" (up to {} with --precision)", options.max_repetitions) : "",
      format_duration(total));
  return 0;
}

int run_matrix(const RunOptions& options) {
  if (options.dry_run) return dry_run(options);
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
  std::vector<Cell> cells = filter_cells(expand_cells(options, skipped), options.filter);
  for (const auto& s : skipped)
    fmt::print(stderr, "note: skipped: {}\n", s);
  if (cells.empty()) {
    fmt::print(stderr, "ipcbench: nothing to run{}\n",
               options.filter.empty() ? "" : " (no cell matches --filter " + options.filter + ")");
    return 2;
  }

  {
    unsigned widest = 1;  // the most consumers of one cell
    for (const Cell& cell : cells) {
      if (cell.scenario == Scenario::fanout) widest = std::max(widest, cell.subscribers);
    }
    const std::uint64_t conductor = kConductorDescriptors + 4ull * (widest + 1);
    const std::uint64_t worker = kWorkerDescriptors + kDescriptorsPerChannel * widest;
    if (auto why = ensure_descriptors(std::max(conductor, worker))) {
      fmt::print(stderr, "ipcbench: {}\n", *why);
      return 2;
    }
  }

  CellContext ctx;
  ctx.exe = self_executable();
  ctx.clock = Clock::calibrate();
  ctx.cpu_producer = options.cpu_producer;
  ctx.cpu_consumer = options.cpu_consumer;
  ctx.timeout = options.timeout;
  ctx.spin = options.spin;
  ctx.interrupt_fd = g_signal_pipe[0];
  ctx.interrupted = &g_interrupted;
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
  ResultsDocument doc;
  doc.context =
      make_context(machine, ctx.clock, overhead, ctx.cpu_producer, ctx.cpu_consumer, warnings);
  doc.context["repetitions"] = options.repetitions;
  // One-way times compare clock readings of two CPUs: how far apart they read.
  if (auto skew = measure_clock_skew(ctx.clock, ctx.cpu_producer, ctx.cpu_consumer)) {
    doc.context["clock_skew"] = {{"consumer_minus_producer_ns", skew->skew_ns},
                                 {"uncertainty_ns", skew->uncertainty_ns},
                                 {"samples", skew->samples}};
  } else {
    doc.context["clock_skew"] = nullptr;
  }
  if (options.precision) {
    doc.context["precision"] = *options.precision;
    doc.context["max_repetitions"] = options.max_repetitions;
  }
  if (!options.label.empty()) doc.context["label"] = options.label;
  for (const auto& [key, value] : options.labels)
    doc.context["labels"][key] = value;
  {
    std::vector<std::string> measured;  // in run order, once each
    for (const Cell& cell : cells) {
      if (std::find(measured.begin(), measured.end(), cell.transport) == measured.end()) {
        measured.push_back(cell.transport);
      }
    }
    doc.context["transports"] = describe_transports(measured);
  }
  const JsonReporter results_file;  // the file holds what `report --format json` prints
  if (auto err = output->write(results_file.render(doc), false)) {
    fmt::print(stderr, "ipcbench: {}\n", *err);
    return 2;
  }

  // Each daemon, for the transports that need one, serves the largest message of their cells
  // (transports that share a daemon share it: Daemons::key_of).
  Daemons daemons;
  std::map<std::string, std::size_t> largest, widest;
  for (const Cell& cell : cells) {
    const std::string key = Daemons::key_of(cell.transport);
    largest[key] = std::max(largest[key], cell.bytes);
    const std::size_t consumers = cell.scenario == Scenario::fanout ? cell.subscribers : 1;
    widest[key] = std::max(widest[key], consumers);
  }
  const bool tty = ::isatty(2);
  const auto run_started = Steady::now();
  std::vector<unsigned> runs(cells.size(), 0);  // repetitions of each cell so far
  std::size_t done = 0;
  std::size_t planned = cells.size() * options.repetitions;
  int failed = 0;
  bool interrupted = false;
  bool lost = false;  // the results could not be written: not a success whatever the cells did

  // One round: each cell of `round` once, in order. Rounds are the repetitions, outermost, so
  // that transports interleave and a slow phase of the machine does not fall on one transport's
  // repetitions only. `last` round: a daemon stops after the last cell that uses it.
  auto run_round = [&](const std::vector<std::size_t>& round, bool last) {
    std::map<std::string, std::size_t> last_cell;
    for (std::size_t i : round)
      last_cell[Daemons::key_of(cells[i].transport)] = i;
    for (std::size_t i : round) {
      if (interrupted) return;
      const Cell& cell = cells[i];
      if (tty) {
        double elapsed = std::chrono::duration<double>(Steady::now() - run_started).count();
        std::string eta = done ? format_duration(elapsed / done * (planned - done)) : "?";
        fmt::print(stderr, "\r\033[K[{}/{}] {} (elapsed {}, left ~{})", done + 1, planned,
                   cell.name(), format_duration(elapsed), eta);
      }
      CellRun run;
      const std::string key = Daemons::key_of(cell.transport);
      if (auto why = daemons.ensure(cell.transport, largest[key], ctx.timeout, widest[key])) {
        run.error = *why;
      } else {
        run = run_cell(cell, ctx, cell_token(done));
      }
      if (last && !key.empty() && last_cell[key] == i) daemons.stop(cell.transport);
      ++done;
      if (g_interrupted) {
        interrupted = true;
        return;  // an interrupted cell is not a measurement
      }
      if (!run.ok) {
        ++failed;
        if (tty) fmt::print(stderr, "\r\033[K");
        fmt::print(stderr, "FAILED {}: {}\n", cell.name(), run.error);
      }
      doc.benchmarks.push_back(
          make_result(cell, run, static_cast<int>(i), runs[i]++, options.repetitions));
      if (auto err = output->write(results_file.render(doc), false)) {
        fmt::print(stderr, "ipcbench: {}\n", *err);
        lost = true;
      }
    }
  };
  std::vector<std::size_t> all(cells.size());
  for (std::size_t i = 0; i < cells.size(); ++i)
    all[i] = i;
  for (unsigned rep = 0; rep < options.repetitions && !interrupted; ++rep)
    run_round(all, !options.precision && rep + 1 == options.repetitions);
  // --precision: more rounds of the cells whose interval is still too wide.
  for (unsigned rep = options.repetitions;
       options.precision && rep < options.max_repetitions && !interrupted; ++rep) {
    std::vector<std::size_t> imprecise;
    for (std::size_t i : all) {
      if (!precise_enough(doc, cells[i].name(), *options.precision)) imprecise.push_back(i);
    }
    if (imprecise.empty()) break;
    planned = done + imprecise.size() * (options.max_repetitions - rep);
    run_round(imprecise, false);
  }
  // Each entry says how many repetitions its cell had in the end.
  for (CellResult& e : doc.benchmarks)
    e.repetitions = runs[static_cast<std::size_t>(e.family_index)];
  if (tty) fmt::print(stderr, "\r\033[K");
  if (auto err = output->write(results_file.render(doc), true)) {
    fmt::print(stderr, "ipcbench: {}\n", *err);
    lost = true;
  }
  if (!options.export_hdr.empty()) {
    if (auto written = export_hdr(doc, options.export_hdr); !written) {
      fmt::print(stderr, "ipcbench: {}\n", written.error());
      lost = true;
    } else {
      fmt::print(stderr, "HdrHistogram logs: {} file(s) in {}\n", written->size(),
                 options.export_hdr);
    }
  }
  const std::string& out = output->path();
  fmt::print(console, "{}", MarkdownReporter("shm").render(doc));
  fmt::print(console, "\nResults: {} ({} cells{}, {})\n", out == "-" ? "standard output" : out,
             doc.benchmarks.size(), failed ? fmt::format(", {} failed", failed) : "",
             format_duration(std::chrono::duration<double>(Steady::now() - run_started).count()));
  if (interrupted) {
    fmt::print(stderr, "ipcbench: interrupted; the cells measured so far are in {}\n", out);
    return 130;
  }
  return failed || lost ? 1 : 0;
}

}  // namespace ipcbench

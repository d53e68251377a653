#include "harness/conductor.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <map>

#include <fmt/format.h>

#include "harness/cell_runner.hpp"
#include "harness/daemons.hpp"
#include "harness/environment.hpp"
#include "harness/output.hpp"
#include "harness/reporters.hpp"
#include "harness/resources.hpp"
#include "harness/results.hpp"

namespace ipcbench {

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
  const JsonReporter results_file;  // the file holds what `report --format json` prints
  if (auto err = output->write(results_file.render(doc), false)) {
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
      doc.benchmarks.push_back(
          make_result(cell, run, static_cast<int>(i), rep, options.repetitions));
      if (auto err = output->write(results_file.render(doc), false)) {
        fmt::print(stderr, "ipcbench: {}\n", *err);
        lost = true;
      }
    }
  }
  if (tty) fmt::print(stderr, "\r\033[K");
  if (auto err = output->write(results_file.render(doc), true)) {
    fmt::print(stderr, "ipcbench: {}\n", *err);
    lost = true;
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

#include "harness/run/conductor.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <map>

#include <fmt/format.h>

#include "harness/report/reporter.hpp"
#include "harness/results/hdr_log.hpp"
#include "harness/results/output.hpp"
#include "harness/results/results.hpp"
#include "harness/results/statistics.hpp"
#include "harness/run/cell_runner.hpp"
#include "harness/run/clock_skew.hpp"
#include "harness/run/daemons.hpp"
#include "harness/run/environment.hpp"
#include "harness/run/estimate.hpp"
#include "harness/run/floor.hpp"
#include "harness/run/process.hpp"
#include "harness/run/resources.hpp"

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

// The cells of one table (scenario, size, touch and CPU pair), in run order, and the floor cell
// its rounds start with (the first group that needs a floor runs it).
struct Group {
  std::vector<std::size_t> cells;
  std::optional<std::size_t> floor;
};

std::string group_key(const Cell& c) {
  return fmt::format("{}/{}/{}/{},{}", to_string(c.scenario), c.bytes, to_string(c.touch),
                     c.cpu_producer, c.cpu_consumer);
}

// Groups `cells` by table, in the order the tables first appear, and appends to `cells` the
// floor cell of each table (one for a pingpong or rate table on two CPUs, one for a throughput
// or fanout table), shared by the tables whose floor has the same name.
std::vector<Group> group_cells(std::vector<Cell>& cells) {
  std::vector<Group> groups;
  std::map<std::string, std::size_t> index;
  const std::size_t measured = cells.size();
  for (std::size_t i = 0; i < measured; ++i) {
    auto [it, added] = index.try_emplace(group_key(cells[i]), groups.size());
    if (added) groups.emplace_back();
    groups[it->second].cells.push_back(i);
  }
  std::map<std::string, bool> floors;  // floor cells made so far, by name
  for (Group& g : groups) {
    const Cell& like = cells[g.cells.front()];
    const FloorRow kind = like.scenario->floor_row;
    const bool two_cpus =
        like.cpu_producer >= 0 && like.cpu_consumer >= 0 && like.cpu_producer != like.cpu_consumer;
    if (kind == FloorRow::none) continue;
    // One cache line between one CPU and itself: no floor.
    if (kind == FloorRow::line && !two_cpus) continue;
    Cell floor = floor_cell(like);
    if (floors.contains(floor.name() + group_key(floor))) continue;
    floors[floor.name() + group_key(floor)] = true;
    g.floor = cells.size();
    cells.push_back(std::move(floor));
  }
  return groups;
}

// The last of `round`'s cells that uses daemon `key`.
std::size_t last_cell_of(const std::vector<Cell>& cells, const std::vector<std::size_t>& round,
                         const std::string& key) {
  std::size_t last = round.empty() ? 0 : round.front();
  for (std::size_t i : round) {
    if (Daemons::key_of(cells[i].transport) == key) last = i;
  }
  return last;
}

// The cells the options ask for, in run order, each combination skipped noted on stderr; the
// exit code (2) when none is left.
std::expected<std::vector<Cell>, int> planned_cells(const RunOptions& options) {
  std::vector<std::string> skipped;
  std::vector<Cell> cells = filter_cells(expand_cells(options, skipped), options.filter);
  for (const auto& s : skipped)
    fmt::print(stderr, "note: skipped: {}\n", s);
  if (cells.empty()) {
    fmt::print(stderr, "ipcbench: nothing to run{}\n",
               options.filter.empty() ? "" : " (no cell matches --filter " + options.filter + ")");
    return std::unexpected(2);
  }
  return cells;
}

}  // namespace

// Is the 95% interval of a cell's key figure (ScenarioInfo::key_figure: pingpong's p50) within
// `precision` of its median? A cell that failed every time is as precise as it will get.
bool precise_enough(const ResultsDocument& doc, const std::string& name, double precision) {
  std::vector<double> values;
  bool any = false;
  for (const CellResult& e : doc.benchmarks) {
    if (e.name != name) continue;
    any = true;
    if (e.ok()) values.push_back(e.figure(e.scenario->key_figure));
  }
  if (!any || values.empty()) return true;
  const Estimate e = estimate(values);
  return e.has_interval() && e.relative_half_width() <= precision;
}

// --dry-run: the cells a run would measure, in order, with an estimate of the time (learned from
// the results in results/ where there are some).
int dry_run(const RunOptions& options) {
  auto planned = planned_cells(options);
  if (!planned) return planned.error();
  std::vector<Cell>& cells = *planned;
  const std::size_t measured = cells.size();
  group_cells(cells);  // appends the floor cells the rounds will run
  const TimeEstimate estimate = TimeEstimate::learn(TimeEstimate::files_in("results"));
  double total = 0;
  for (std::size_t i = 0; i < cells.size(); ++i) {
    const double seconds = estimate.seconds(cells[i]) * options.repetitions;
    total += seconds;
    fmt::print("{}  ~{}\n", cells[i].name(), format_duration(seconds));
  }
  fmt::print(
      "{} cells and {} of the floor, x {} round{}{}; about {} ({})\n", measured,
      cells.size() - measured, options.repetitions, options.repetitions == 1 ? "" : "s",
      options.precision ? fmt::format(" (up to {} with --precision)", options.max_repetitions) : "",
      format_duration(total),
      estimate.files()
          ? fmt::format("set-up and speeds learned from {} results file(s) in results/",
                        estimate.files())
          : "rough figures: no earlier results in results/ to learn from");
  return 0;
}

namespace {

// The cells a run measures, or the exit code when there are none or the descriptors they need
// cannot be had.
std::expected<std::vector<Cell>, int> cells_to_run(const RunOptions& options) {
  auto cells = planned_cells(options);
  if (!cells) return cells;
  unsigned widest = 1;  // the most consumers of one cell
  for (const Cell& cell : *cells)
    widest = std::max(widest, cell.consumers());
  const std::uint64_t conductor = kConductorDescriptors + 4ull * (widest + 1);
  const std::uint64_t worker = kWorkerDescriptors + kDescriptorsPerChannel * widest;
  if (auto why = ensure_descriptors(std::max(conductor, worker))) {
    fmt::print(stderr, "ipcbench: {}\n", *why);
    return std::unexpected(2);
  }
  return cells;
}

// Each CPU pair: where its two CPUs sit, and what one cache line between them costs now.
nlohmann::json describe_cpu_pairs(const RunOptions& options, const Clock& clock) {
  nlohmann::json pairs = nlohmann::json::array();
  for (auto [a, b] : options.cpu_pairs) {
    nlohmann::json pair = {{"producer", a}, {"consumer", b}, {"one_cpu", a == b}};
    if (a != b) {
      const nlohmann::json topology = pair_topology(a, b);
      pair["same_physical_core"] = topology.value("same_physical_core", false);
      pair["same_numa_node"] = topology.value("same_numa_node", false);
      pair["shared_caches"] = topology.value("shared_caches", nlohmann::json::array());
      // 0.1 s of round trips, or as many as the run's pingpong cells make (--iterations; at
      // least 100), as the tables' floors do.
      const CellRun floor = run_line_floor(a, b, std::chrono::milliseconds(100), clock,
                                           options.iterations.value_or(0));
      pair["floor_rtt_ns"] = nullptr;
      if (floor.ok && floor.producer && floor.producer->latency) {
        pair["floor_rtt_ns"] = histogram_of(floor.producer->latency).percentile(50);
      }
    }
    pairs.push_back(std::move(pair));
  }
  return pairs;
}

// The results' context: the machine (its warnings printed), the CPU pairs, the clocks' skew, what
// the run was asked, the transports it measures.
nlohmann::json run_context(const RunOptions& options, const CellContext& ctx,
                           const std::vector<Cell>& cells) {
  Machine machine = inspect_machine();
  std::vector<std::string> warnings =
      stability_warnings(machine, ctx.cpu_producer, ctx.cpu_consumer);
  if (!warnings.empty()) {
    fmt::print(stderr, "Warnings: these may make results unstable\n");
    for (const auto& w : warnings)
      fmt::print(stderr, "  - {}\n", w);
    fmt::print(stderr, "\n");
  }
  nlohmann::json context = make_context(machine, ctx.clock, ctx.clock.overhead_ns(),
                                        ctx.cpu_producer, ctx.cpu_consumer, warnings);
  context["repetitions"] = options.repetitions;
  context["cpu_pairs"] = describe_cpu_pairs(options, ctx.clock);
  // One-way times compare clock readings of two CPUs: how far apart they read.
  if (auto skew = measure_clock_skew(ctx.clock, ctx.cpu_producer, ctx.cpu_consumer)) {
    context["clock_skew"] = {{"consumer_minus_producer_ns", skew->skew_ns},
                             {"uncertainty_ns", skew->uncertainty_ns},
                             {"samples", skew->samples}};
  } else {
    context["clock_skew"] = nullptr;
  }
  if (options.precision) {
    context["precision"] = *options.precision;
    context["max_repetitions"] = options.max_repetitions;
  }
  if (!options.label.empty()) context["label"] = options.label;
  for (const auto& [key, value] : options.labels)
    context["labels"][key] = value;
  std::vector<std::string> measured;  // in run order, once each
  for (const Cell& cell : cells) {
    if (std::find(measured.begin(), measured.end(), cell.transport) == measured.end()) {
      measured.push_back(cell.transport);
    }
  }
  context["transports"] = describe_transports(measured);
  return context;
}

// One run of the matrix once its cells, context and output are set: the schedule of rounds, the
// daemons, the results file rewritten after every cell, and the end.
//
// The schedule: one table's cells at a time (a group), in rounds, so that the cells a ratio pairs
// are measured seconds apart, not minutes (bench/floor_drift.py: the floor here kept within 10%
// over 1 s in 98% of pairs of windows, over 10 s in 88%). A group's round starts with its floor
// cell (harness/run/floor.hpp), run by the first group that needs that floor.
class MatrixRun {
 public:
  MatrixRun(const RunOptions& options, std::vector<Cell> cells, const CellContext& ctx,
            ResultsDocument doc, ResultsOutput& output)
      : m_options(options),
        m_cells(std::move(cells)),
        m_ctx(ctx),
        m_doc(std::move(doc)),
        m_output(output) {
    // Each daemon, for the transports that need one, serves the largest message of their cells
    // (transports that share a daemon share it: Daemons::key_of).
    for (const Cell& cell : m_cells) {
      const std::string key = Daemons::key_of(cell.transport);
      m_largest[key] = std::max({m_largest[key], cell.bytes, cell.scenario->load_bytes});
      m_widest[key] = std::max<std::size_t>(m_widest[key], cell.consumers());
    }
    m_groups = group_cells(m_cells);
    m_runs.assign(m_cells.size(), 0);
    for (const Group& g : m_groups)
      m_planned += (g.cells.size() + (g.floor ? 1 : 0)) * options.repetitions;
    // Where each daemon is used last in the planned rounds: it stops after that cell. With
    // --precision more rounds may follow, and daemons stop at the end.
    for (std::size_t gi = 0; gi < m_groups.size(); ++gi) {
      for (std::size_t i : m_groups[gi].cells) {
        const std::string key = Daemons::key_of(m_cells[i].transport);
        if (!key.empty()) m_last_use[key] = {gi, options.repetitions - 1};
      }
    }
  }

  // Every group's rounds, then the end: the process's exit code.
  int run() {
    for (std::size_t gi = 0; gi < m_groups.size() && !m_interrupted; ++gi)
      run_group(gi);
    return finish();
  }

 private:
  // A group's rounds, and with --precision more rounds of its cells whose interval is still too
  // wide, each with the group's baseline cells (the ratios pair them round by round) and its
  // floor.
  void run_group(std::size_t gi) {
    const Group& g = m_groups[gi];
    for (unsigned rep = 0; rep < m_options.repetitions && !m_interrupted; ++rep)
      run_round(gi, g.cells, rep);
    for (unsigned rep = m_options.repetitions;
         m_options.precision && rep < m_options.max_repetitions && !m_interrupted; ++rep) {
      std::vector<std::size_t> imprecise;
      for (std::size_t i : g.cells) {
        if (!precise_enough(m_doc, m_cells[i].name(), *m_options.precision)) imprecise.push_back(i);
      }
      if (imprecise.empty()) break;
      for (std::size_t i : g.cells) {
        if (m_cells[i].transport == kDefaultBaseline &&
            std::ranges::find(imprecise, i) == imprecise.end())
          imprecise.push_back(i);
      }
      std::ranges::sort(imprecise);
      m_planned = m_done + (imprecise.size() + 1) * (m_options.max_repetitions - rep);
      run_round(gi, imprecise, rep);
    }
  }

  // One round of group `gi`: its floor cell, then each cell of `round` once, in order.
  void run_round(std::size_t gi, const std::vector<std::size_t>& round, unsigned rep) {
    std::vector<std::size_t> order;
    if (m_groups[gi].floor) order.push_back(*m_groups[gi].floor);
    order.insert(order.end(), round.begin(), round.end());
    for (std::size_t i : order) {
      if (m_interrupted) return;
      const Cell& cell = m_cells[i];
      show_progress(cell);
      const bool floor = cell.transport == kFloorTransport;
      const std::string key = floor ? "" : Daemons::key_of(cell.transport);
      const CellRun run = run_one(cell, key);
      // A daemon is stopped after its last cell; and after a cell that failed, so that the next
      // cell gets a fresh one: a worker killed in the middle of a call can leave the daemon
      // waiting on a lock it held (RouDi here: the next cell then timed out waiting for
      // 'listening' or 'connected', about one run in six under load).
      const bool last = !m_options.precision && m_last_use[key] == std::pair{gi, rep} &&
                        i == last_cell_of(m_cells, round, key);
      if (!key.empty() && (last || !run.ok)) m_daemons.stop(cell.transport);
      ++m_done;
      if (g_interrupted) {
        m_interrupted = true;
        return;  // an interrupted cell is not a measurement
      }
      record(i, run);
    }
  }

  CellRun run_one(const Cell& cell, const std::string& key) {
    CellRun run;
    if (cell.transport == kFloorTransport) {
      return cell.scenario->floor_row == FloorRow::copy
                 ? run_copy_floor(cell.cpu_producer, cell.bytes, cell.budget)
                 : run_line_floor(cell.cpu_producer, cell.cpu_consumer, cell.budget, m_ctx.clock,
                                  cell.count);
    }
    if (auto why = m_daemons.ensure(cell.transport, m_largest[key], m_ctx.timeout, m_widest[key])) {
      run.error = *why;
      return run;
    }
    run = run_cell(cell, m_ctx, cell_token(m_spawned++));
    if (auto rss = m_daemons.resident_bytes(cell.transport)) {
      run.memory.daemon_rss = static_cast<double>(*rss);
    }
    return run;
  }

  void show_progress(const Cell& cell) const {
    if (!m_tty) return;
    const double elapsed = std::chrono::duration<double>(Steady::now() - m_started).count();
    const std::string eta = m_done ? format_duration(elapsed / m_done * (m_planned - m_done)) : "?";
    fmt::print(stderr, "\r\033[K[{}/{}] {} (elapsed {}, left ~{})", m_done + 1, m_planned,
               cell.name(), format_duration(elapsed), eta);
  }

  // The cell's result into the document, and the document into the results file.
  void record(std::size_t i, const CellRun& run) {
    const Cell& cell = m_cells[i];
    if (!run.ok) {
      ++m_failed;
      if (m_tty) fmt::print(stderr, "\r\033[K");
      fmt::print(stderr, "FAILED {}: {}\n", cell.name(), run.error);
    }
    m_doc.benchmarks.push_back(
        make_result(cell, run, static_cast<int>(i), m_runs[i]++, m_options.repetitions));
    if (auto err = m_output.write(m_results_file->render(m_doc), false)) {
      fmt::print(stderr, "ipcbench: {}\n", *err);
      m_lost = true;
    }
  }

  // The file's last write, the HdrHistogram logs, the tables; the exit code.
  int finish() {
    // Each entry says how many repetitions its cell had in the end.
    for (CellResult& e : m_doc.benchmarks)
      e.repetitions = m_runs[static_cast<std::size_t>(e.family_index)];
    if (m_tty) fmt::print(stderr, "\r\033[K");
    if (auto err = m_output.write(m_results_file->render(m_doc), true)) {
      fmt::print(stderr, "ipcbench: {}\n", *err);
      m_lost = true;
    }
    if (!m_options.export_hdr.empty()) {
      if (auto written = export_hdr(m_doc, m_options.export_hdr); !written) {
        fmt::print(stderr, "ipcbench: {}\n", written.error());
        m_lost = true;
      } else {
        fmt::print(stderr, "HdrHistogram logs: {} file(s) in {}\n", written->size(),
                   m_options.export_hdr);
      }
    }
    const std::string& out = m_output.path();
    std::FILE* console = m_output.console();
    fmt::print(console, "{}", make_reporter("markdown", kDefaultBaseline)->render(m_doc));
    fmt::print(console, "\nResults: {} ({} cells{}, {})\n", out == "-" ? "standard output" : out,
               m_doc.benchmarks.size(), m_failed ? fmt::format(", {} failed", m_failed) : "",
               format_duration(std::chrono::duration<double>(Steady::now() - m_started).count()));
    if (m_interrupted) {
      fmt::print(stderr, "ipcbench: interrupted; the cells measured so far are in {}\n", out);
      return 130;
    }
    return m_failed || m_lost ? 1 : 0;
  }

  const RunOptions& m_options;
  std::vector<Cell> m_cells;
  const CellContext& m_ctx;
  ResultsDocument m_doc;
  ResultsOutput& m_output;
  // The file holds what `report --format json` prints.
  const std::unique_ptr<Reporter> m_results_file = make_reporter("json", kDefaultBaseline);
  Daemons m_daemons;
  std::map<std::string, std::size_t> m_largest, m_widest;
  std::vector<Group> m_groups;
  std::vector<unsigned> m_runs;  // repetitions of each cell so far
  std::map<std::string, std::pair<std::size_t, unsigned>> m_last_use;  // key: (group, round)
  const bool m_tty = ::isatty(2);
  const Steady::time_point m_started = Steady::now();
  std::size_t m_done = 0, m_planned = 0;
  std::size_t m_spawned = 0;  // cells run by workers: their tokens' numbers (the floor has none)
  int m_failed = 0;
  bool m_interrupted = false;
  bool m_lost = false;  // the results could not be written: not a success whatever the cells did
};

}  // namespace

int run_matrix(const RunOptions& options) {
  if (options.dry_run) return dry_run(options);
  // The results' destination first: a bad --out is a usage error before anything runs.
  auto output = ResultsOutput::open(options.out.empty() ? default_output_path() : options.out);
  if (!output) {
    fmt::print(stderr, "ipcbench: {}\n", output.error());
    return 2;
  }
  install_signal_handlers();
  sweep_stale_resources();
  auto cells = cells_to_run(options);
  if (!cells) return cells.error();

  CellContext ctx;
  ctx.exe = self_executable();
  ctx.clock = Clock::calibrate();
  ctx.cpu_producer = options.cpu_producer;
  ctx.cpu_consumer = options.cpu_consumer;
  ctx.timeout = options.timeout;
  ctx.spin = options.spin;
  ctx.interrupt_fd = g_signal_pipe[0];
  ctx.interrupted = &g_interrupted;

  ResultsDocument doc;
  doc.context = run_context(options, ctx, *cells);
  if (auto err = output->write(make_reporter("json", kDefaultBaseline)->render(doc), false)) {
    fmt::print(stderr, "ipcbench: {}\n", *err);
    return 2;
  }
  return MatrixRun(options, std::move(*cells), ctx, std::move(doc), *output).run();
}

}  // namespace ipcbench

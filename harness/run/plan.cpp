#include "harness/run/plan.hpp"

#include <algorithm>
#include <cmath>
#include <regex>

#include <fmt/format.h>

#include "harness/run/process.hpp"

namespace ipcbench {

std::string_view to_string(WaitChoice choice) {
  switch (choice.kind) {
    case WaitChoice::Kind::native:
      return "native";
    case WaitChoice::Kind::all:
      return "all";
    case WaitChoice::Kind::mode:
      break;
  }
  return to_string(choice.mode);
}

std::vector<Scenario> default_scenarios() {
  std::vector<Scenario> out;
  for (const ScenarioInfo* s : scenarios()) {
    if (s->by_default) out.push_back(s);
  }
  return out;
}

std::string Cell::name() const {
  std::string name = std::string(to_string(scenario)) + "/" + transport_label(transport, options) +
                     "/" + std::to_string(bytes) + "/" + std::string(to_string(wait)) + "/" +
                     std::string(to_string(touch));
  // The floor (harness/run/floor.hpp) has no variants: no rate, no N.
  if (transport != kFloorTransport && scenario->name_suffix) {
    name += scenario->name_suffix(Variant{config(), subscribers, {}});
  }
  if (pair_in_name) name += fmt::format("/cpus{}-{}", cpu_producer, cpu_consumer);
  return name;
}

ScenarioConfig Cell::config() const {
  ScenarioConfig c;
  c.payload_bytes = bytes;
  c.warmup = warmup;
  c.warmup_budget = warmup_budget;
  c.count = count;
  c.budget = budget;
  c.touch = touch;
  c.rate_per_s = rate;
  c.duration = duration;
  c.pace_by_spinning = wait == WaitMode::spin;
  return c;
}

unsigned Cell::consumers() const {
  return scenario->fan_out ? subscribers : 1;
}

std::chrono::milliseconds effective_budget(const RunOptions& options) {
  if (options.budget) return *options.budget;
  const double seconds = options.iterations || options.messages ? kDefaultBudgetS
                         : options.quick                        ? kQuickCellSeconds
                                                                : kDefaultCellSeconds;
  return std::chrono::milliseconds(std::llround(seconds * 1000));
}

std::expected<std::optional<std::string>, Usage> fit_timeout(RunOptions& options,
                                                             bool timeout_given) {
  using Seconds = std::chrono::duration<double>;
  // The longest measured phase a cell of this run may have: a budget bounds pingpong and the
  // streams; rate sends for its duration after a warm-up of up to a fifth of a second (or one
  // message a second at the slowest rate).
  double measured = 0;
  std::string because;
  const ScenarioOptions scenario_options = scenario_options_of(options);
  for (Scenario scenario : options.scenarios) {
    if (scenario->on_schedule) {
      const double duration = Seconds(scenario_options.duration).count();
      const double phase = scenario->longest_phase_s(scenario_options);
      if (phase > measured) {
        measured = phase;
        because = fmt::format("{}'s --duration {:g} s and its warm-up", scenario->name, duration);
      }
    } else if (Seconds(effective_budget(options)).count() > measured) {
      measured = Seconds(effective_budget(options)).count();
      because = fmt::format("--budget {:g} s", measured);
    }
  }
  const double needed = measured + kTimeoutMarginS;
  const double timeout = Seconds(options.timeout).count();
  if (timeout >= needed) return std::nullopt;
  if (timeout_given) {
    return std::unexpected(fmt::format(
        "--timeout {:g}: a cell measures for up to {} and needs about {:g} s more to start, "
        "warm up and end; give --timeout {:g} or more",
        timeout, because, kTimeoutMarginS, std::ceil(needed)));
  }
  const double grown = std::ceil(measured + (kDefaultTimeoutS - kDefaultBudgetS));
  options.timeout = std::chrono::milliseconds(std::llround(grown * 1000));
  return fmt::format("--timeout is {:g} s (not {:g}) to fit {}", grown, timeout, because);
}

std::vector<Cell> filter_cells(std::vector<Cell> cells, const std::string& filter) {
  if (filter.empty()) return cells;
  const bool exclude = filter.starts_with('-');
  const std::regex re(exclude ? filter.substr(1) : filter);
  std::erase_if(cells, [&](const Cell& c) { return std::regex_search(c.name(), re) == exclude; });
  return cells;
}

namespace {

// The cell on each CPU pair of the run (one pair: the cell as it is, named as before). On one CPU
// the two workers take turns: spinning there would measure the scheduler, so spin and adaptive
// are skipped with that reason.
void add_pairs(const Cell& base, const RunOptions& o, std::vector<Cell>& cells,
               std::vector<std::string>& skipped) {
  if (o.cpu_pairs.empty()) {
    cells.push_back(base);
    return;
  }
  for (auto [a, b] : o.cpu_pairs) {
    Cell cell = base;
    cell.cpu_producer = a;
    cell.cpu_consumer = b;
    cell.pair_in_name = o.cpu_pairs.size() > 1;
    if (a == b && cell.wait != WaitMode::block) {
      skipped.push_back(fmt::format(
          "{}: both workers on CPU {} take turns, and a {} wait would spin through the other's "
          "turn (only block runs on one CPU)",
          cell.name(), a, to_string(cell.wait)));
      continue;
    }
    cells.push_back(std::move(cell));
  }
}

// The scenario's variants of a cell (a rate cell at each offered rate, a fanout cell for each
// consumer count; others as they are), each on each CPU pair.
void add_variants(const Cell& base, const RunOptions& o, const ScenarioOptions& so,
                  std::vector<Cell>& cells, std::vector<std::string>& skipped) {
  if (!base.scenario->variants) {
    add_pairs(base, o, cells, skipped);
    return;
  }
  const std::size_t cpus = std::max<std::size_t>(allowed_cpus().size(), 2);
  for (const Variant& v :
       base.scenario->variants(so, Variant{base.config(), base.subscribers, {}}, base.wait, cpus)) {
    Cell cell = base;
    cell.subscribers = v.subscribers;
    cell.warmup = v.config.warmup;
    cell.count = v.config.count;
    cell.rate = v.config.rate_per_s;
    cell.duration = v.config.duration;
    if (!v.refused.empty()) {
      skipped.push_back(fmt::format("{}: {}", cell.name(), v.refused));
      continue;
    }
    const Capabilities caps = find_transport(cell.transport)->capabilities();
    const std::size_t most = cell.scenario->fan_in ? caps.max_clients : caps.max_consumers;
    if (cell.scenario->one_endpoint_for_all(caps) && cell.subscribers > most) {
      skipped.push_back(fmt::format("{}: {} serves at most {} {}", cell.name(), cell.transport,
                                    most, cell.scenario->fan_in ? "clients" : "consumers"));
      continue;
    }
    if (cell.scenario->refuse) {
      if (std::string why = cell.scenario->refuse(caps, cell.subscribers, cell.wait);
          !why.empty()) {
        skipped.push_back(fmt::format("{}: {}", cell.name(), why));
        continue;
      }
    }
    add_pairs(cell, o, cells, skipped);
  }
}

// A transport's combinations of its settings' values (--set), the first setting's values
// outermost; one without settings when it was given none.
std::vector<std::vector<CellOption>> setting_variants(const RunOptions& o,
                                                      const std::string& transport) {
  std::vector<std::vector<CellOption>> variants = {{}};
  for (const Setting& s : o.settings) {
    if (s.transport != transport) continue;
    std::vector<std::vector<CellOption>> next;
    for (const auto& variant : variants) {
      for (std::uint64_t value : s.values) {
        next.push_back(variant);
        next.back().push_back({s.spec.name, s.spec.unit, value});
      }
    }
    variants = std::move(next);
  }
  return variants;
}

}  // namespace

ScenarioOptions scenario_options_of(const RunOptions& o) {
  ScenarioOptions so;
  so.quick = o.quick;
  so.iterations = o.iterations;
  so.messages = o.messages;
  so.warmup = o.warmup;
  so.rates = o.rates;
  so.subscribers = o.subscribers;
  so.clients = o.clients;
  so.duration = o.duration.value_or(std::chrono::nanoseconds(
      static_cast<std::int64_t>((o.quick ? kQuickRateSeconds : kDefaultRateSeconds) * 1e9)));
  return so;
}

std::vector<Cell> expand_cells(const RunOptions& o, std::vector<std::string>& skipped) {
  const ScenarioOptions so = scenario_options_of(o);
  std::vector<Cell> cells;
  for (Scenario scenario : o.scenarios) {
    std::vector<std::size_t> sizes = o.sizes;
    if (sizes.empty()) sizes.assign(scenario->default_sizes.begin(), scenario->default_sizes.end());
    std::vector<Touch> touches = o.touches;
    if (touches.empty()) {
      touches.assign(scenario->default_touches.begin(), scenario->default_touches.end());
    }
    for (std::size_t bytes : sizes) {
      ScenarioConfig defaults;
      scenario->defaults(so, bytes, defaults);
      for (Touch touch : touches) {
        for (const auto& name : o.transports) {
          const TransportInfo* info = find_transport(name);
          if (!info) continue;
          Capabilities caps = info->capabilities();
          std::vector<std::pair<WaitMode, bool>> modes;  // (mode, is native)
          auto add = [&](WaitMode mode) {
            if (std::ranges::find(modes, mode, &std::pair<WaitMode, bool>::first) == modes.end()) {
              modes.emplace_back(mode, mode == caps.native_wait);
            }
          };
          for (const WaitChoice wait : o.waits) {
            switch (wait.kind) {
              case WaitChoice::Kind::native:
                add(caps.native_wait);
                break;
              case WaitChoice::Kind::all:
                for (WaitMode mode : caps.waits)
                  add(mode);
                break;
              case WaitChoice::Kind::mode:
                if (std::ranges::find(caps.waits, wait.mode) == caps.waits.end()) {
                  skipped.push_back(name + " does not offer --wait " +
                                    std::string(to_string(wait)));
                } else {
                  add(wait.mode);
                }
                break;
            }
          }
          if (bytes > caps.max_message_bytes) {
            skipped.push_back(name + " cannot carry " + format_size(bytes) + " messages");
            continue;
          }
          if (scenario->stamped && bytes < kStampedMinBytes) {
            skipped.push_back(
                fmt::format("{} needs messages of {} bytes or more (sequence and "
                            "two clock stamps), not {}",
                            to_string(scenario), kStampedMinBytes, format_size(bytes)));
            continue;
          }
          for (auto [mode, native] : modes) {
            Cell cell;
            cell.transport = name;
            cell.scenario = scenario;
            cell.bytes = bytes;
            cell.wait = mode;
            cell.native = native;
            cell.touch = touch;
            cell.warmup = defaults.warmup;
            cell.count = defaults.count;
            if (!o.warmup && scenario->timed_warmup) {
              cell.warmup_budget =
                  std::chrono::nanoseconds(std::llround(kDefaultWarmupSeconds * 1e9));
            }
            // A scheduled scenario runs for its duration: no budget stops it.
            cell.budget = scenario->on_schedule ? std::chrono::nanoseconds(std::chrono::hours(24))
                                                : std::chrono::nanoseconds(effective_budget(o));
            // Each combination of the transport's settings (--set) is a cell of its own.
            for (const auto& variant : setting_variants(o, name)) {
              cell.options = variant;
              add_variants(cell, o, so, cells, skipped);
            }
          }
        }
      }
    }
  }
  return cells;
}

}  // namespace ipcbench

#include "harness/options.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <regex>

#include <fmt/format.h>

#include "harness/process.hpp"

namespace ipcbench {

std::vector<std::string> split(std::string_view text, char sep) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (;;) {
    std::size_t end = text.find(sep, start);
    std::string part(text.substr(start, end - start));
    // trim spaces
    while (!part.empty() && std::isspace(static_cast<unsigned char>(part.back())))
      part.pop_back();
    std::size_t lead = 0;
    while (lead < part.size() && std::isspace(static_cast<unsigned char>(part[lead])))
      ++lead;
    parts.push_back(part.substr(lead));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return parts;
}

namespace {

std::string join(const std::vector<std::string>& items, std::string_view sep = ", ") {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += sep;
    out += item;
  }
  return out;
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (auto& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// An empty list, or an empty item in one ("a,,b"), named with the option.
std::optional<Usage> empty_item(std::string_view flag, std::string_view text,
                                std::string_view allowed) {
  for (const auto& item : split(text, ',')) {
    if (item.empty()) {
      return fmt::format("{} '{}': {}; expected {}", flag, text,
                         text.find_first_not_of(" ,") == std::string_view::npos
                             ? "an empty list"
                             : "an empty item in the list",
                         allowed);
    }
  }
  return std::nullopt;
}

}  // namespace

std::expected<std::uint64_t, Usage> parse_count(std::string_view flag, std::string_view text,
                                                std::uint64_t lo, std::uint64_t hi) {
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  const bool digits_only =
      !text.empty() && text.find_first_not_of("0123456789") == std::string_view::npos;
  if (!digits_only || ec != std::errc{} || end != text.data() + text.size() || value < lo ||
      value > hi) {
    return std::unexpected(
        fmt::format("{} {}: expected a whole number from {} to {}", flag, text, lo, hi));
  }
  return value;
}

std::expected<double, Usage> parse_fraction(std::string_view flag, std::string_view text, double lo,
                                            double hi) {
  const bool percent = text.ends_with('%');
  std::string number(percent ? text.substr(0, text.size() - 1) : text);
  char* end = nullptr;
  errno = 0;
  double value = number.empty() ? 0 : std::strtod(number.c_str(), &end);
  const bool plain =
      !number.empty() && number.find_first_not_of("0123456789.") == std::string::npos;
  if (percent) value /= 100;
  if (!plain || end != number.c_str() + number.size() || !std::isfinite(value) || value < lo ||
      value > hi) {
    return std::unexpected(fmt::format("{} {}: expected a percentage from {:g}% to {:g}% (e.g. 5%)",
                                       flag, text, lo * 100, hi * 100));
  }
  return value;
}

std::expected<double, Usage> parse_seconds(std::string_view flag, std::string_view text, double lo,
                                           double hi) {
  const std::string s(text);
  char* end = nullptr;
  errno = 0;
  const double value = s.empty() ? 0 : std::strtod(s.c_str(), &end);
  const bool plain = !s.empty() && s.find_first_not_of("0123456789.eE+-") == std::string::npos;
  if (!plain || end != s.c_str() + s.size() || errno == ERANGE || !std::isfinite(value) ||
      value < lo || value > hi) {
    return std::unexpected(
        fmt::format("{} {}: expected seconds from {:g} to {:g}", flag, text, lo, hi));
  }
  return value;
}

std::expected<std::size_t, Usage> parse_size(std::string_view text) {
  const std::string allowed =
      "expected a number of bytes with an optional unit B, KiB, MiB, GiB (1024) or KB, MB, GB "
      "(1000), e.g. 64, 4KiB, 1MiB";
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end == text.data()) {
    return std::unexpected("bad size '" + std::string(text) + "': " + allowed);
  }
  std::string unit = lower(std::string_view(end, text.data() + text.size() - end));
  std::uint64_t scale = 0;
  if (unit.empty() || unit == "b") scale = 1;
  if (unit == "kib" || unit == "k") scale = 1ull << 10;
  if (unit == "mib" || unit == "m") scale = 1ull << 20;
  if (unit == "gib" || unit == "g") scale = 1ull << 30;
  if (unit == "kb") scale = 1000;
  if (unit == "mb") scale = 1000 * 1000;
  if (unit == "gb") scale = 1000 * 1000 * 1000;
  if (scale == 0 || value > (~std::uint64_t{0}) / scale) {
    return std::unexpected("bad size '" + std::string(text) + "': " + allowed);
  }
  return static_cast<std::size_t>(value * scale);
}

std::expected<std::vector<std::size_t>, Usage> parse_sizes(std::string_view text) {
  if (auto bad = empty_item("--sizes", text, "sizes such as 64,4KiB or a range 8..4MiB")) {
    return std::unexpected(*bad);
  }
  std::vector<std::size_t> sizes;
  auto check = [](std::size_t bytes, std::string_view what) -> std::expected<void, Usage> {
    if (bytes < kMinMessageBytes || bytes > kMaxMessageBytes) {
      return std::unexpected("bad size '" + std::string(what) + "': messages are " +
                             std::to_string(kMinMessageBytes) +
                             " bytes (the sequence number) to 64MiB");
    }
    return {};
  };
  for (const auto& item : split(text, ',')) {
    auto dots = item.find("..");
    if (dots == std::string::npos) {
      auto size = parse_size(item);
      if (!size) return std::unexpected(size.error());
      if (auto ok = check(*size, item); !ok) return std::unexpected(ok.error());
      sizes.push_back(*size);
      continue;
    }
    std::string to_text = item.substr(dots + 2);
    std::uint64_t factor = 2;
    if (auto colon = to_text.find(':'); colon != std::string::npos) {
      std::string f = to_text.substr(colon + 1);
      auto [end, ec] = std::from_chars(f.data(), f.data() + f.size(), factor);
      if (ec != std::errc{} || end != f.data() + f.size() || factor < 2) {
        return std::unexpected("bad range '" + item +
                               "': the factor after ':' is a whole number of at least 2");
      }
      to_text.resize(colon);
    }
    // A range's ends are named with the whole range: "bad range '8..'", not "bad size ''".
    auto end_of_range = [&](std::string_view end) -> std::expected<std::size_t, Usage> {
      if (end.empty()) {
        return std::unexpected("bad range '" + item +
                               "': expected FROM..TO, sizes at both ends (8..4MiB)");
      }
      auto size = parse_size(end);
      if (!size) return std::unexpected("bad range '" + item + "': " + size.error());
      return size;
    };
    auto from = end_of_range(item.substr(0, dots));
    if (!from) return std::unexpected(from.error());
    auto to = end_of_range(to_text);
    if (!to) return std::unexpected(to.error());
    if (auto ok = check(*from, item); !ok) return std::unexpected(ok.error());
    if (auto ok = check(*to, item); !ok) return std::unexpected(ok.error());
    if (*to < *from) return std::unexpected("bad range '" + item + "': it goes down");
    for (std::size_t s = *from; s <= *to; s *= factor) {
      sizes.push_back(s);
      if (s > *to / factor) break;
    }
  }
  if (sizes.empty()) return std::unexpected("--sizes: no size given");
  return sizes;
}

std::string format_size(std::size_t bytes) {
  if (bytes >= (1u << 30) && bytes % (1u << 30) == 0) return std::to_string(bytes >> 30) + "GiB";
  if (bytes >= (1u << 20) && bytes % (1u << 20) == 0) return std::to_string(bytes >> 20) + "MiB";
  if (bytes >= (1u << 10) && bytes % (1u << 10) == 0) return std::to_string(bytes >> 10) + "KiB";
  return std::to_string(bytes);
}

std::expected<std::vector<std::string>, Usage> parse_transports(std::string_view text) {
  std::vector<std::string> known;
  for (const auto& info : transports())
    known.emplace_back(info.name);
  if (auto bad = empty_item("--transports", text, "transport names or all")) {
    return std::unexpected(*bad);
  }
  std::vector<std::string> out;
  for (const auto& name : split(text, ',')) {
    if (name == "all") {
      for (const auto& info : transports()) {
        if (info.unavailable.empty()) out.emplace_back(info.name);
      }
      continue;
    }
    const TransportInfo* info = find_transport(name);
    if (!info) {
      return std::unexpected("unknown transport '" + name + "'; known: " + join(known) +
                             " (or all)");
    }
    if (!info->unavailable.empty()) {
      return std::unexpected("transport '" + name +
                             "' is not available here: " + std::string(info->unavailable));
    }
    out.push_back(name);
  }
  // Keep the first mention of each.
  std::vector<std::string> unique;
  for (auto& name : out) {
    if (std::ranges::find(unique, name) == unique.end()) unique.push_back(name);
  }
  return unique;
}

std::string format_option(OptionUnit unit, std::uint64_t value) {
  return unit == OptionUnit::bytes ? format_size(value) : std::to_string(value);
}

std::string transport_label(std::string_view transport, const std::vector<CellOption>& options) {
  std::string out(transport);
  if (options.empty()) return out;
  out += '[';
  for (std::size_t i = 0; i < options.size(); ++i) {
    out +=
        (i ? ";" : "") + options[i].name + "=" + format_option(options[i].unit, options[i].value);
  }
  return out + ']';
}

namespace {

// What a setting takes, for a usage error: "pipe.buffer takes a size from 4KiB to 1MiB (...)".
std::string allowed_values(const std::string& transport, const OptionSpec& spec) {
  const bool bytes = spec.unit == OptionUnit::bytes;
  return fmt::format("{}.{} takes {} from {} to {}{}", transport, spec.name,
                     bytes ? "a size (B, KiB, MiB as --sizes)" : "a whole number",
                     format_option(spec.unit, spec.min), format_option(spec.unit, spec.max),
                     spec.max_source.empty() ? "" : " (the maximum: " + spec.max_source + ")");
}

std::string transports_with_settings() {
  std::vector<std::string> names;
  for (const auto& info : transports()) {
    if (info.options) names.emplace_back(info.name);
  }
  return join(names);
}

}  // namespace

std::expected<std::vector<Setting>, Usage> parse_settings(
    const std::vector<std::string>& texts, const std::vector<std::string>& run_transports) {
  std::vector<Setting> out;
  std::vector<std::size_t> order;  // each setting's place in its driver's list
  for (const std::string& text : texts) {
    const std::string flag = "--set " + text;
    const auto eq = text.find('=');
    const auto dot = text.find('.');
    if (eq == std::string::npos || dot == std::string::npos || dot == 0 || dot + 1 >= eq) {
      return std::unexpected(flag +
                             ": expected <transport>.<setting>=<value>[,<value>...], e.g. "
                             "pipe.buffer=1MiB (ipcbench list shows each transport's settings)");
    }
    const std::string transport = text.substr(0, dot);
    const std::string name = text.substr(dot + 1, eq - dot - 1);
    const std::string values = text.substr(eq + 1);
    const TransportInfo* info = find_transport(transport);
    if (!info) {
      return std::unexpected(fmt::format("{}: unknown transport '{}'; transports with settings: {}",
                                         flag, transport, transports_with_settings()));
    }
    const std::vector<OptionSpec> specs = options_of(*info);
    const auto spec = std::ranges::find(specs, name, &OptionSpec::name);
    if (spec == specs.end()) {
      std::vector<std::string> names;
      for (const auto& s : specs)
        names.push_back(s.name);
      return std::unexpected(
          specs.empty() ? fmt::format("{}: {} takes no settings; transports with settings: {}",
                                      flag, transport, transports_with_settings())
                        : fmt::format("{}: {} has no setting '{}'; its settings: {}", flag,
                                      transport, name, join(names)));
    }
    if (std::ranges::find(run_transports, transport) == run_transports.end()) {
      if (!info->unavailable.empty()) {
        return std::unexpected(fmt::format("{}: transport '{}' is not available here: {}", flag,
                                           transport, info->unavailable));
      }
      return std::unexpected(
          fmt::format("{}: {} is not in --transports ({}); add it there, or leave out this --set",
                      flag, transport, join(run_transports)));
    }
    const std::string allowed = allowed_values(transport, *spec);
    const std::vector<std::string> items = split(values, ',');
    if (values.empty() || std::ranges::find(items, "") != items.end()) {
      return std::unexpected(fmt::format(
          "{}: {}; {}", flag, values.empty() ? "no value" : "an empty value in the list", allowed));
    }
    auto at = std::ranges::find_if(
        out, [&](const Setting& s) { return s.transport == transport && s.spec.name == name; });
    if (at == out.end()) {
      out.push_back({transport, *spec, {}});
      order.push_back(static_cast<std::size_t>(spec - specs.begin()));
      at = out.end() - 1;
    }
    for (const auto& item : items) {
      std::uint64_t value = 0;
      if (spec->unit == OptionUnit::bytes) {
        auto size = parse_size(item);
        if (!size) {
          return std::unexpected(fmt::format("{}: '{}' is not a size; {}", flag, item, allowed));
        }
        value = *size;
      } else {
        auto count = parse_count(flag, item, 0, ~std::uint64_t{0});
        if (!count) {
          return std::unexpected(
              fmt::format("{}: '{}' is not a whole number; {}", flag, item, allowed));
        }
        value = *count;
      }
      if (value < spec->min || value > spec->max) {
        return std::unexpected(fmt::format("{}: {} is out of range; {}", flag, item, allowed));
      }
      if (std::ranges::find(at->values, value) == at->values.end()) at->values.push_back(value);
    }
  }
  // Each transport's settings in its driver's order, so that a cell's name is one for one set.
  std::vector<std::size_t> index(out.size());
  for (std::size_t i = 0; i < index.size(); ++i)
    index[i] = i;
  std::ranges::stable_sort(index, [&](std::size_t a, std::size_t b) {
    if (out[a].transport != out[b].transport) return out[a].transport < out[b].transport;
    return order[a] < order[b];
  });
  std::vector<Setting> sorted;
  for (std::size_t i : index)
    sorted.push_back(std::move(out[i]));
  return sorted;
}

std::vector<Scenario> default_scenarios() {
  std::vector<Scenario> out;
  for (const ScenarioInfo* s : scenarios()) {
    if (s->by_default) out.push_back(s);
  }
  return out;
}

std::expected<std::vector<Scenario>, Usage> parse_scenarios(std::string_view text) {
  if (auto bad = empty_item("--scenarios", text, scenario_names() + " or all")) {
    return std::unexpected(*bad);
  }
  std::vector<Scenario> out;
  for (const auto& name : split(text, ',')) {
    if (name == "all") {
      out.assign(scenarios().begin(), scenarios().end());
      continue;
    }
    auto scenario = parse_scenario(name);
    if (!scenario) {
      return std::unexpected("unknown scenario '" + name + "'; known: " + scenario_names() +
                             " (or all)");
    }
    if (std::ranges::find(out, *scenario) == out.end()) out.push_back(*scenario);
  }
  return out;
}

std::expected<std::vector<Touch>, Usage> parse_touches(std::string_view text) {
  if (auto bad = empty_item("--touch", text, "edges, full or all")) return std::unexpected(*bad);
  std::vector<Touch> out;
  for (const auto& name : split(text, ',')) {
    if (name == "all") {
      out = {Touch::edges, Touch::full};
      continue;
    }
    auto touch = parse_touch(name);
    if (!touch)
      return std::unexpected("unknown touch mode '" + name + "'; known: edges, full (or all)");
    if (std::ranges::find(out, *touch) == out.end()) out.push_back(*touch);
  }
  return out;
}

std::expected<std::vector<std::string>, Usage> parse_waits(std::string_view text) {
  if (auto bad = empty_item("--wait", text, "native, spin, block, adaptive or all")) {
    return std::unexpected(*bad);
  }
  std::vector<std::string> out;
  for (const auto& name : split(text, ',')) {
    if (name != "native" && name != "all" && !parse_wait_mode(name)) {
      return std::unexpected("unknown wait mode '" + name +
                             "'; known: native, spin, block, adaptive (or all)");
    }
    if (std::ranges::find(out, name) == out.end()) out.push_back(name);
  }
  return out;
}

std::expected<std::vector<std::pair<int, int>>, Usage> parse_cpus(std::string_view text) {
  auto allowed = allowed_cpus();
  std::vector<std::string> names;
  for (int cpu : allowed)
    names.push_back(std::to_string(cpu));
  const std::string allowed_text = "CPUs this process may use: " + join(names, ",");
  if (auto bad = empty_item("--cpus", text, "pairs A,B separated by ';'")) {
    return std::unexpected(*bad);
  }
  std::vector<std::pair<int, int>> pairs;
  for (const auto& pair_text : split(text, ';')) {
    auto parts = split(pair_text, ',');
    if (parts.size() != 2) {
      return std::unexpected("bad --cpus '" + pair_text +
                             "': expected two CPUs A,B (producer, consumer; A,A puts both on one "
                             "CPU), pairs separated by ';'; " +
                             allowed_text);
    }
    int cpus[2];
    for (int i = 0; i < 2; ++i) {
      auto [end, ec] = std::from_chars(parts[i].data(), parts[i].data() + parts[i].size(), cpus[i]);
      if (ec != std::errc{} || end != parts[i].data() + parts[i].size()) {
        return std::unexpected("bad CPU '" + parts[i] + "' in --cpus: " + allowed_text);
      }
      if (std::ranges::find(allowed, cpus[i]) == allowed.end()) {
        return std::unexpected("CPU " + parts[i] + " does not exist or is not allowed; " +
                               allowed_text);
      }
    }
    if (std::ranges::find(pairs, std::pair{cpus[0], cpus[1]}) == pairs.end()) {
      pairs.emplace_back(cpus[0], cpus[1]);
    }
  }
  return pairs;
}

std::string Cell::name() const {
  std::string name = std::string(to_string(scenario)) + "/" + transport_label(transport, options) +
                     "/" + std::to_string(bytes) + "/" + std::string(to_string(wait)) + "/" +
                     std::string(to_string(touch));
  // The floor (harness/floor.hpp) has no variants: no rate, no N.
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

std::expected<std::vector<unsigned>, Usage> parse_subscribers(std::string_view text) {
  const std::string allowed = fmt::format("consumer counts from 1 to {}", kMaxSubscribers);
  if (auto bad = empty_item("--subscribers", text, allowed)) return std::unexpected(*bad);
  std::vector<unsigned> out;
  for (const auto& item : split(text, ',')) {
    auto n = parse_count("--subscribers", item, 1, kMaxSubscribers);
    if (!n) return std::unexpected(n.error());
    if (std::ranges::find(out, static_cast<unsigned>(*n)) == out.end()) {
      out.push_back(static_cast<unsigned>(*n));
    }
  }
  return out;
}

std::expected<std::vector<double>, Usage> parse_rates(std::string_view text) {
  const std::string allowed = fmt::format(
      "messages per second from 1 to {:.0f} (suffix k = 1000, M = 1000000), or max", kMaxRate);
  if (auto bad = empty_item("--rates", text, allowed)) return std::unexpected(*bad);
  std::vector<double> out;
  for (const auto& item : split(text, ',')) {
    double value = 0;
    if (item != "max") {
      std::string number = item;
      double scale = 1;
      if (number.ends_with('k') || number.ends_with('K')) scale = 1e3;
      if (number.ends_with('M')) scale = 1e6;
      if (scale != 1) number.pop_back();
      char* end = nullptr;
      value = number.empty() ? 0 : std::strtod(number.c_str(), &end) * scale;
      const bool plain =
          !number.empty() && number.find_first_not_of("0123456789.") == std::string::npos;
      if (!plain || end != number.c_str() + number.size() || !(value >= 1) || value > kMaxRate) {
        return std::unexpected(fmt::format("--rates: bad rate '{}': {}", item, allowed));
      }
    }
    if (std::ranges::find(out, value) == out.end()) out.push_back(value);
  }
  return out;
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

std::optional<Usage> check_label_text(std::string_view flag, std::string_view what,
                                      std::string_view text) {
  auto bad = [&](std::string_view why) {
    std::string shown;
    for (char c : text.substr(0, 40))
      shown += static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? '?' : c;
    return fmt::format("{} '{}{}': {} {}; a label is 1 to {} printable characters without '|'",
                       flag, shown, text.size() > 40 ? "..." : "", what, why, kMaxLabelBytes);
  };
  if (text.empty()) return bad("is empty");
  if (text.size() > kMaxLabelBytes) return bad(fmt::format("has {} bytes", text.size()));
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    // C0 controls (a newline among them), DEL, and C1 controls in UTF-8 (C2 80 to C2 9F).
    const bool control =
        c < 0x20 || c == 0x7f ||
        (c == 0xc2 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) >= 0x80 &&
         static_cast<unsigned char>(text[i + 1]) <= 0x9f);
    if (control) return bad("holds a control character (a newline, a tab)");
    if (c == '|') return bad("holds '|'");
  }
  return std::nullopt;
}

std::expected<void, Usage> parse_label(std::string_view text, RunOptions& options) {
  if (text.empty()) return std::unexpected("--label '': expected NAME or KEY=VALUE");
  const auto eq = text.find('=');
  if (eq == 0) return std::unexpected(fmt::format("--label {}: expected NAME or KEY=VALUE", text));
  if (eq != std::string_view::npos) {
    const std::string_view key = text.substr(0, eq), value = text.substr(eq + 1);
    if (auto bad = check_label_text("--label", "KEY", key)) return std::unexpected(*bad);
    if (auto bad = check_label_text("--label", "VALUE", value)) return std::unexpected(*bad);
    options.labels.emplace_back(key, value);
    return {};
  }
  if (auto bad = check_label_text("--label", "NAME", text)) return std::unexpected(*bad);
  if (!options.label.empty()) {
    return std::unexpected(fmt::format(
        "--label {}: the run already has the label '{}' (one NAME; KEY=VALUE may repeat)", text,
        options.label));
  }
  options.label = text;
  return {};
}

std::optional<Usage> check_filter(std::string_view filter) {
  const std::string pattern(filter.starts_with('-') ? filter.substr(1) : filter);
  if (pattern.empty()) return fmt::format("--filter '{}': an empty pattern", filter);
  try {
    std::regex re(pattern);
  } catch (const std::regex_error& e) {
    return fmt::format("--filter '{}': not a regular expression ({})", filter, e.what());
  }
  return std::nullopt;
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
          for (const auto& wait : o.waits) {
            if (wait == "native") {
              add(caps.native_wait);
            } else if (wait == "all") {
              for (WaitMode mode : caps.waits)
                add(mode);
            } else {
              WaitMode mode = *parse_wait_mode(wait);
              if (std::ranges::find(caps.waits, mode) == caps.waits.end()) {
                skipped.push_back(name + " does not offer --wait " + wait);
                continue;
              }
              add(mode);
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

#include "harness/cli/options.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <regex>

#include <fmt/format.h>

#include "harness/run/process.hpp"

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

std::expected<std::vector<WaitChoice>, Usage> parse_waits(std::string_view text) {
  if (auto bad = empty_item("--wait", text, "native, spin, block, adaptive or all")) {
    return std::unexpected(*bad);
  }
  std::vector<WaitChoice> out;
  for (const auto& name : split(text, ',')) {
    WaitChoice choice;
    if (name == "all") {
      choice = WaitChoice::all();
    } else if (auto mode = parse_wait_mode(name)) {
      choice = WaitChoice::only(*mode);
    } else if (name != "native") {
      return std::unexpected("unknown wait mode '" + name +
                             "'; known: native, spin, block, adaptive (or all)");
    }
    if (std::ranges::find(out, choice) == out.end()) out.push_back(choice);
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

std::expected<std::vector<unsigned>, Usage> parse_subscribers(std::string_view text,
                                                              std::string_view flag,
                                                              std::string_view what) {
  const std::string allowed = fmt::format("{} counts from 1 to {}", what, kMaxSubscribers);
  if (auto bad = empty_item(flag, text, allowed)) return std::unexpected(*bad);
  std::vector<unsigned> out;
  for (const auto& item : split(text, ',')) {
    auto n = parse_count(flag, item, 1, kMaxSubscribers);
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

}  // namespace ipcbench

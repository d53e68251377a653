// The Markdown reporter: the tables for a person. Per scenario one table per message size, in
// units a person reads, medians over repetitions with their 95% intervals, and notes on what the
// columns mean; `baseline` is the transport the ratio columns are to.
#include <algorithm>

#include "harness/report/tables.hpp"

namespace ipcbench {
namespace {

std::string format_ns(double ns) {
  if (ns <= 0) return "-";
  if (ns < 1000) return fmt::format("{:.0f} ns", ns);
  if (ns < 10'000) return fmt::format("{:.2f} us", ns / 1e3);
  if (ns < 1'000'000) return fmt::format("{:.1f} us", ns / 1e3);
  if (ns < 1e9) return fmt::format("{:.2f} ms", ns / 1e6);
  return fmt::format("{:.2f} s", ns / 1e9);
}

std::string format_rate(double per_s) {
  if (per_s <= 0) return "-";
  if (per_s >= 1e6) return fmt::format("{:.2f} M", per_s / 1e6);
  if (per_s >= 1e3) return fmt::format("{:.1f} k", per_s / 1e3);
  if (per_s >= 10) return fmt::format("{:.0f}", per_s);
  return fmt::format("{:.2g}", per_s);  // a 64 MiB stream over a slow middleware: 0.76, not 1
}

std::string format_bytes(std::size_t bytes) {
  if (bytes >= (1u << 20) && bytes % (1u << 20) == 0) return fmt::format("{} MiB", bytes >> 20);
  if (bytes >= (1u << 10) && bytes % (1u << 10) == 0) return fmt::format("{} KiB", bytes >> 10);
  return fmt::format("{} B", bytes);
}

class MarkdownStyle final : public Style {
 public:
  std::string ns(double ns) const override { return format_ns(ns); }
  std::string rate(double per_s) const override { return format_rate(per_s); }
  std::string gb(double bytes_per_second) const override {
    return fmt::format("{:.2f}", bytes_per_second / 1e9);
  }
  std::string count(double per_iteration) const override {
    return fmt::format("{:.2f}", per_iteration);
  }
  std::string bytes_rate(double b) const override {
    if (b >= 1e9) return fmt::format("{:.2f} GB/s", b / 1e9);
    if (b >= 1e6) return fmt::format("{:.1f} MB/s", b / 1e6);
    return fmt::format("{:.0f} kB/s", b / 1e3);
  }
  std::string size(std::size_t bytes) const override { return format_bytes(bytes); }
  std::string header(std::string_view name, std::string_view) const override {
    return std::string(name);
  }
  std::vector<std::string> with_interval(const Estimate& e, bool wide,
                                         std::string (Style::*write)(double) const) const override {
    std::string cell = (this->*write)(e.median);
    if (e.has_interval()) {
      const double pct = e.relative_half_width() * 100;
      cell += pct < 10    ? fmt::format(" ±{:.1f}%", pct)
              : pct < 100 ? fmt::format(" ±{:.0f}%", pct)
                          : std::string(" ±>100%");
    }
    if (wide) cell += " (!)";
    return {cell};
  }
  std::vector<std::string> interval_header(std::string_view name, std::string_view) const override {
    return {std::string(name)};
  }
  std::vector<std::string> ratio(const Estimate& r) const override {
    if (r.median <= 0) return {"-"};
    if (!r.has_interval()) return {fmt::format("{:.1f}x", r.median)};
    if (r.contains(1.0)) return {"≈1.0x"};
    auto num = [](double v) {
      return v < 0.1  ? fmt::format("{:.2g}", v)
             : v < 10 ? fmt::format("{:.1f}", v)
                      : fmt::format("{:.0f}", v);
    };
    return {fmt::format("{}x ({}-{})", num(r.median), num(*r.low), num(*r.high))};
  }
  std::vector<std::string> ratio_header(std::string_view name) const override {
    return {std::string(name)};
  }
  std::string missing() const override { return "-"; }
};

// The width a terminal gives `text`: UTF-8 continuation bytes take no column.
std::size_t columns(const std::string& text) {
  return static_cast<std::size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

std::string markdown_table(const Section& section,
                           const std::vector<std::vector<std::string>>& rows) {
  const auto& header = section.header;
  std::vector<std::size_t> width(header.size());
  for (std::size_t i = 0; i < header.size(); ++i)
    width[i] = columns(header[i]);
  for (const auto& r : rows) {
    for (std::size_t i = 0; i < r.size(); ++i)
      width[i] = std::max(width[i], columns(markdown_cell(r[i])));
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string s = "|";
    for (std::size_t i = 0; i < cells.size(); ++i) {
      s += " " + cells[i] + std::string(width[i] - columns(cells[i]), ' ') + " |";
    }
    return s + "\n";
  };
  std::vector<std::vector<std::string>> escaped;
  for (const auto& r : rows) {
    std::vector<std::string> cells;
    for (const auto& cell : r)
      cells.push_back(markdown_cell(cell));
    escaped.push_back(std::move(cells));
  }
  std::string out = line(header);
  std::string sep = "|";
  for (std::size_t i = 0; i < header.size(); ++i) {
    sep += (i < section.text_columns ? " " + std::string(width[i], '-') + " |"
                                     : " " + std::string(width[i] - 1, '-') + ": |");
  }
  out += sep + "\n";
  for (const auto& r : escaped)
    out += line(r);
  return out;
}

std::string heading(Scenario scenario, std::size_t bytes) {
  return fmt::format("### {}, {} messages: {}\n\n", scenario->name, format_bytes(bytes),
                     scenario->table.heading);
}

// What a scenario's columns mean, after its tables.
std::string note(Scenario scenario, const std::string& baseline) {
  return with_baseline(scenario->table.note, baseline);
}

class MarkdownReporter final : public Reporter {
 public:
  explicit MarkdownReporter(std::string baseline) : m_baseline(std::move(baseline)) {}
  using Reporter::render;
  std::string render(const std::vector<LabelledDocument>& documents) const override;

 private:
  std::string m_baseline;
};

std::string MarkdownReporter::render(const std::vector<LabelledDocument>& documents) const {
  const std::vector<Section> all = sections(documents, MarkdownStyle(), m_baseline);
  std::string out;
  bool wide = false, single = false, not_sustained = false, skewed = false, thin = false;
  bool first = true;
  for (const Section& section : all) {
    if (section.rows.empty()) continue;
    if (!first) out += "\n";  // an empty line between two scenarios' tables
    first = false;
    for (const auto& [bytes, rows] : section.rows)
      out += heading(section.scenario, bytes) + markdown_table(section, rows) + "\n";
    out += note(section.scenario, m_baseline);
    wide |= section.wide;
    single |= section.single;
    not_sustained |= section.not_sustained;
    skewed |= section.skewed;
    thin |= section.thin;
  }
  if (thin) {
    out +=
        "\np99.9 \"-\": the cell measured fewer than 10,000 round trips a repetition, and a "
        "99.9th percentile of fewer is a guess; give it more (--budget) to see it.\n";
  }
  if (wide) {
    std::optional<double> target;
    for (const auto& d : documents) {
      if (d.document.context.is_object() && d.document.context.contains("precision")) {
        target = d.document.context["precision"].get<double>();
      }
    }
    out += target ? fmt::format(
                        "\n(!) the interval is wider than the --precision target (±{:g}%) after "
                        "--max-repetitions: the machine is noisy for this cell; keep it otherwise "
                        "idle, pin with --cpus, or allow more repetitions.\n",
                        *target * 100)
                  : "\n(!) the interval is wider than ±10%: close other programs, pin with --cpus, "
                    "raise --repetitions (or use --precision 5%), and read the median.\n";
  }
  if (skewed) {
    out +=
        "\n(skew): the two CPUs' clocks read further apart (context clock_skew, with its "
        "uncertainty) than this one-way time, or a message arrived before it was sent: the "
        "figure is not trustworthy here.\n";
  }
  if (not_sustained) {
    out +=
        "\nnot sustained: the producer could not keep the offered rate; its latencies grow "
        "with the backlog and show what that rate costs, not what the transport does at it.\n";
  }
  if (single) {
    out +=
        "\nOne repetition gives no interval: run with --repetitions 3 or more to see how "
        "much a figure moves.\n";
  }
  return out;
}

}  // namespace

extern const ReportFormat kMarkdownFormat{"markdown", make_reporter_of<MarkdownReporter>};

}  // namespace ipcbench

// The CSV reporter: the tables for a program. One per scenario, with a size column, plain numbers
// in the unit each header names, and each interval's ends in columns of their own.
#include "harness/report/tables.hpp"

namespace ipcbench {
namespace {

class CsvStyle final : public Style {
 public:
  std::string ns(double ns) const override { return fmt::format("{:.1f}", ns); }
  std::string rate(double per_s) const override { return fmt::format("{:.1f}", per_s); }
  std::string gb(double bytes_per_second) const override {
    return fmt::format("{:.4f}", bytes_per_second / 1e9);
  }
  std::string count(double per_iteration) const override {
    return fmt::format("{:.4f}", per_iteration);
  }
  std::string bytes_rate(double b) const override { return fmt::format("{:.0f}", b); }
  std::string size(std::size_t bytes) const override { return std::to_string(bytes); }
  std::string memory(double bytes) const override { return fmt::format("{:.0f}", bytes); }
  std::string header(std::string_view name, std::string_view unit) const override {
    return fmt::format("{} ({})", name, unit);
  }
  std::vector<std::string> with_interval(const Estimate& e, bool,
                                         std::string (Style::*write)(double) const) const override {
    return {(this->*write)(e.median), e.low ? (this->*write)(*e.low) : "",
            e.high ? (this->*write)(*e.high) : ""};
  }
  std::vector<std::string> interval_header(std::string_view name,
                                           std::string_view unit) const override {
    return {header(name, unit), header(std::string(name) + " low", unit),
            header(std::string(name) + " high", unit)};
  }
  std::vector<std::string> ratio(const Estimate& r) const override {
    if (r.median <= 0) return {"", "", ""};
    auto num = [](double v) { return fmt::format("{:.3f}", v); };
    return {num(r.median), r.low ? num(*r.low) : "", r.high ? num(*r.high) : ""};
  }
  std::vector<std::string> ratio_header(std::string_view name) const override {
    return {std::string(name), std::string(name) + " low", std::string(name) + " high"};
  }
  std::string missing() const override { return ""; }
};

std::string csv_line(const std::vector<std::string>& cells) {
  // RFC 4180: a field with a comma, a quote or a line break is quoted, its quotes doubled.
  auto quoted = [](const std::string& cell) {
    if (cell.find_first_of(",\"\r\n") == std::string::npos) return cell;
    std::string q = "\"";
    for (char ch : cell)
      q += ch == '"' ? std::string("\"\"") : std::string(1, ch);
    return q + "\"";
  };
  std::string out;
  for (std::size_t i = 0; i < cells.size(); ++i) {
    if (i) out += ',';
    out += quoted(cells[i]);
  }
  return out + "\n";
}

class CsvReporter final : public Reporter {
 public:
  explicit CsvReporter(std::string baseline) : m_baseline(std::move(baseline)) {}
  using Reporter::render;
  std::string render(const std::vector<LabelledDocument>& documents) const override;

 private:
  std::string m_baseline;
};

std::string CsvReporter::render(const std::vector<LabelledDocument>& documents) const {
  const std::vector<Section> all = sections(documents, CsvStyle(), m_baseline);
  std::string out;
  for (const Section& section : all) {
    if (section.rows.empty()) continue;
    if (!out.empty()) out += "\n";  // an empty line between two scenarios' tables
    out += csv_line(section.header);
    for (const auto& [bytes, rows] : section.rows) {
      for (const auto& r : rows)
        out += csv_line(r);
    }
  }
  return out;
}

}  // namespace

extern const ReportFormat kCsvFormat{"csv", make_reporter_of<CsvReporter>};

}  // namespace ipcbench

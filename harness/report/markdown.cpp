// The Markdown reporter: the tables for a person. Per scenario one table per message size, in
// units a person reads, medians over repetitions with their 95% intervals, and notes on what the
// columns mean; `baseline` is the transport the ratio columns are to.
#include <algorithm>

#include <fmt/format.h>

#include "harness/report/person_style.hpp"

namespace ipcbench {
namespace {

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
    sep += i < section.text_columns ? fmt::format(" {} |", std::string(width[i], '-'))
                                    : fmt::format(" {}: |", std::string(width[i] - 1, '-'));
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
  const std::vector<Section> all = sections(documents, PersonStyle(), m_baseline);
  std::string out;
  bool first = true;
  for (const Section& section : all) {
    if (section.rows.empty()) continue;
    if (!first) out += "\n";  // an empty line between two scenarios' tables
    first = false;
    for (const auto& [bytes, rows] : section.rows)
      out += heading(section.scenario, bytes) + markdown_table(section, rows) + "\n";
    out += note(section.scenario, m_baseline);
  }
  for (const std::string& f : footnotes(all, documents))
    out += "\n" + f + "\n";
  return out;
}

}  // namespace

extern const ReportFormat kMarkdownFormat{"markdown", make_reporter_of<MarkdownReporter>};

}  // namespace ipcbench

// Reporting, apart from measuring as in Google Benchmark: a Reporter renders one or more results
// files in one format. `run` prints Markdown of its own file; `report --format` chooses.
//
// Several files are never pooled: each file's cells are summarised on their own (its
// repetitions, its context) and its rows carry the file's label (`--label` at run time, else its
// host name), so one table compares machines, kernels or builds side by side.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "harness/results.hpp"

namespace ipcbench {

// One results file and the label its rows carry.
struct LabelledDocument {
  std::string label;
  ResultsDocument document;
};

// The label of a file's rows: its context's `label`, else its host name, else `fallback`.
std::string label_of(const ResultsDocument& document, const std::string& fallback);

// A cell of a Markdown table from text a file may hold (labels, names, reasons: files come from
// anywhere): '|' escaped as "\\|", control characters (a newline among them) as spaces, so no text
// can end a cell or a row.
std::string markdown_cell(std::string_view text);

class Reporter {
 public:
  virtual ~Reporter() = default;
  virtual std::string render(const std::vector<LabelledDocument>& documents) const = 0;
  std::string render(const ResultsDocument& document) const {
    return render(std::vector<LabelledDocument>{{"", document}});
  }
};

// The comparison tables for a person: per scenario one table per message size, in units a person
// reads, medians over repetitions with their 95% intervals, and notes on what the columns mean.
// `baseline` is the transport the pingpong table's p50 ratio is to.
class MarkdownReporter final : public Reporter {
 public:
  explicit MarkdownReporter(std::string baseline) : m_baseline(std::move(baseline)) {}
  using Reporter::render;
  std::string render(const std::vector<LabelledDocument>& documents) const override;

 private:
  std::string m_baseline;
};

// The same tables for a program: one per scenario, with a size column, plain numbers in the unit
// each header names, and each interval's ends in columns of their own.
class CsvReporter final : public Reporter {
 public:
  explicit CsvReporter(std::string baseline) : m_baseline(std::move(baseline)) {}
  using Reporter::render;
  std::string render(const std::vector<LabelledDocument>& documents) const override;

 private:
  std::string m_baseline;
};

// The document as a results file holds it: the repetitions, then one summary per cell (Google
// Benchmark's run_type "aggregate", aggregate_name "median") with the 95% intervals and, for
// pingpong, the p50 ratio to `baseline`. Several files: a JSON array of such documents.
class JsonReporter final : public Reporter {
 public:
  explicit JsonReporter(std::string baseline = kDefaultBaseline)
      : m_baseline(std::move(baseline)) {}
  using Reporter::render;
  std::string render(const std::vector<LabelledDocument>& documents) const override;

 private:
  std::string m_baseline;
};

// The report formats `report --format` offers, by name, in the order --help lists them: a new
// format is a Reporter and one row here (reporters.cpp).
struct ReportFormat {
  std::string_view name;
  std::unique_ptr<Reporter> (*make)(std::string baseline);
};
std::span<const ReportFormat> report_formats();
// The reporter of format `name` with ratios to `baseline`; nullptr when there is no such format.
std::unique_ptr<Reporter> make_reporter(std::string_view name, std::string baseline);
// "markdown|csv|json" (with `separator` "|").
std::string report_format_names(std::string_view separator);

}  // namespace ipcbench

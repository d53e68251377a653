// Reporting, apart from measuring as in Google Benchmark: a Reporter renders one or more results
// files in one format. `run` prints Markdown of its own file; `report --format` chooses.
//
// Several files are never pooled: each file's cells are summarised on their own (its
// repetitions, its context) and its rows carry the file's label (`--label` at run time, else its
// host name), so one table compares machines, kernels or builds side by side.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "harness/results/results.hpp"

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

// A report format `report --format` offers: its name, and how to make its Reporter with ratios to
// `baseline`. Each format is a file of its own (markdown.cpp, csv.cpp, json.cpp, bmf.cpp) defining
// its ReportFormat, listed in reporter.cpp: a new format is a file and one line there.
struct ReportFormat {
  std::string_view name;
  std::unique_ptr<Reporter> (*make)(std::string baseline);
};
// A format's `make`: its Reporter with ratios to `baseline`.
template <class R>
std::unique_ptr<Reporter> make_reporter_of(std::string baseline) {
  return std::make_unique<R>(std::move(baseline));
}
// The formats in the order --help lists them.
std::vector<const ReportFormat*> report_formats();
// The reporter of format `name` with ratios to `baseline`; nullptr when there is no such format.
std::unique_ptr<Reporter> make_reporter(std::string_view name, std::string baseline);
// "markdown|csv|json" (with `separator` "|").
std::string report_format_names(std::string_view separator);

}  // namespace ipcbench

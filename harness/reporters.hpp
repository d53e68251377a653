// Reporting, apart from measuring as in Google Benchmark: a Reporter renders a results document
// (or several merged) in one format. `run` prints Markdown; `report --format` chooses.
#pragma once

#include <string>

#include "harness/results.hpp"

namespace ipcbench {

class Reporter {
 public:
  virtual ~Reporter() = default;
  virtual std::string render(const ResultsDocument& document) const = 0;
};

// The comparison tables for a person: per scenario one table per message size, in units a person
// reads, with notes on what the columns mean. `baseline` is the transport the pingpong table's
// p50 ratio is to.
class MarkdownReporter final : public Reporter {
 public:
  explicit MarkdownReporter(std::string baseline) : m_baseline(std::move(baseline)) {}
  std::string render(const ResultsDocument& document) const override;

 private:
  std::string m_baseline;
};

// The same tables for a program: one per scenario, with a size column, and plain numbers in the
// unit each header names.
class CsvReporter final : public Reporter {
 public:
  explicit CsvReporter(std::string baseline) : m_baseline(std::move(baseline)) {}
  std::string render(const ResultsDocument& document) const override;

 private:
  std::string m_baseline;
};

// The document itself, as a results file holds it.
class JsonReporter final : public Reporter {
 public:
  std::string render(const ResultsDocument& document) const override;
};

}  // namespace ipcbench

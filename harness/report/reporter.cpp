#include "harness/report/reporter.hpp"

namespace ipcbench {

std::string markdown_cell(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '|') {
      out += "\\|";
    } else if (u < 0x20 || u == 0x7f) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

std::string label_of(const ResultsDocument& document, const std::string& fallback) {
  const auto& context = document.context;
  for (const char* key : {"label", "host_name"}) {
    if (context.is_object() && context.contains(key) && context[key].is_string() &&
        !context[key].get<std::string>().empty()) {
      return context[key].get<std::string>();
    }
  }
  return fallback;
}

// The formats, each defined in its own file (markdown.cpp, csv.cpp, json.cpp, bmf.cpp, html.cpp): a
// new format is a file and one line here.
extern const ReportFormat kMarkdownFormat, kCsvFormat, kJsonFormat, kBmfFormat, kHtmlFormat;

namespace {

const ReportFormat* const kFormats[] = {&kMarkdownFormat, &kCsvFormat, &kJsonFormat, &kBmfFormat,
                                        &kHtmlFormat};

}  // namespace

std::vector<const ReportFormat*> report_formats() {
  return {std::begin(kFormats), std::end(kFormats)};
}

std::unique_ptr<Reporter> make_reporter(std::string_view name, std::string baseline) {
  for (const ReportFormat* f : kFormats) {
    if (f->name == name) return f->make(std::move(baseline));
  }
  return nullptr;
}

std::string report_format_names(std::string_view separator) {
  std::string out;
  for (const ReportFormat* f : kFormats)
    out += (out.empty() ? "" : std::string(separator)) + std::string(f->name);
  return out;
}

}  // namespace ipcbench

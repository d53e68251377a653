// The HTML reporter: one self-contained page a colleague opens in any browser, without network
// access (its CSS and script are inline, its plots drawn in the page from data it carries). It
// holds every table of the Markdown report, written by the same sections() in the same units
// with the same intervals; a column sorts by the number under its text, and the rows filter by
// scenario, transport, wait mode and file. Plots of each scenario's key figure; the machines'
// contexts and warnings. Given files of several commits (or dates, where a file has no commit),
// a history: each cell's key figure over the commits, one line per machine label, with its
// interval, the changes `compare` calls real (harness/report/compare.hpp) marked.
//
// The page's CSS and script are harness/report/html/page.css and page.js, built into the binary
// (html_assets.cpp.in); the data they draw is a JSON block in the page.
#include <algorithm>
#include <set>

#include "harness/report/compare.hpp"
#include "harness/report/person_style.hpp"

namespace ipcbench {

// Generated from harness/report/html/ (CMakeLists.txt).
extern const char kHtmlCss[];
extern const char kHtmlJs[];

namespace {

// A cell's sort key and the title of its interval travel ahead of its text:
// "\x1f<number>\x1e<title>\x1f<text>" (HtmlStyle); cell() takes them apart.
constexpr char kKeyMark = '\x1f';
constexpr char kTitleMark = '\x1e';

std::string escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        // Control characters (a file's text comes from anywhere) as spaces.
        out += static_cast<unsigned char>(c) < 0x20 ? ' ' : c;
    }
  }
  return out;
}

std::string keyed(double value, std::string_view title = {}) {
  return fmt::format("{}{:.9g}{}{}{}", kKeyMark, value, kTitleMark, title, kKeyMark);
}

struct HtmlCell {
  std::string text;
  std::optional<double> key;
  std::string title;
};

// A section's cell: its first key and title, and its text without any.
HtmlCell cell(std::string_view s) {
  HtmlCell out;
  while (!s.empty()) {
    const std::size_t at = s.find(kKeyMark);
    out.text += s.substr(0, at);
    if (at == std::string_view::npos) break;
    const std::size_t end = s.find(kKeyMark, at + 1);
    if (end == std::string_view::npos) break;
    const std::string_view key = s.substr(at + 1, end - at - 1);
    if (!out.key) {
      const std::size_t t = key.find(kTitleMark);
      out.key = std::strtod(std::string(key.substr(0, t)).c_str(), nullptr);
      if (t != std::string_view::npos) out.title = key.substr(t + 1);
    }
    s.remove_prefix(end + 1);
  }
  return out;
}

// The Markdown report's units, each number keyed for sorting, each interval titled.
class HtmlStyle final : public PersonStyle {
 public:
  std::string ns(double v) const override { return keyed(v) + PersonStyle::ns(v); }
  std::string rate(double v) const override { return keyed(v) + PersonStyle::rate(v); }
  std::string gb(double v) const override { return keyed(v) + PersonStyle::gb(v); }
  std::string bytes_rate(double v) const override { return keyed(v) + PersonStyle::bytes_rate(v); }
  std::string count(double v) const override { return keyed(v) + PersonStyle::count(v); }
  std::string memory(double v) const override { return keyed(v) + PersonStyle::memory(v); }
  std::string size(std::size_t bytes) const override {
    return keyed(static_cast<double>(bytes)) + PersonStyle::size(bytes);
  }
  std::vector<std::string> with_interval(const Estimate& e, bool wide,
                                         std::string (Style::*write)(double) const) const override {
    std::vector<std::string> cells = PersonStyle::with_interval(e, wide, write);
    const std::string title =
        e.has_interval()
            ? fmt::format("median of {} repetitions; 95% interval {} to {}", e.n,
                          cell((this->*write)(*e.low)).text, cell((this->*write)(*e.high)).text)
            : fmt::format("{} repetition: no interval", e.n);
    cells.front() = keyed(e.median, title) + cells.front();
    return cells;
  }
  std::vector<std::string> ratio(const Estimate& r) const override {
    std::vector<std::string> cells = PersonStyle::ratio(r);
    if (r.median <= 0) return cells;
    const std::string title =
        r.has_interval()
            ? fmt::format("{:.3g}x; 95% interval {:.3g}x to {:.3g}x", r.median, *r.low, *r.high)
            : fmt::format("{:.3g}x; no interval", r.median);
    cells.front() = keyed(r.median, title) + cells.front();
    return cells;
  }
};

std::string html_table(const Section& section, std::size_t bytes,
                       const std::vector<std::vector<std::string>>& rows) {
  std::string out = fmt::format(
      "<div class=\"scroll\"><table class=\"cells\" data-scenario=\"{}\" data-size=\"{}\">"
      "<thead><tr>",
      escape(section.scenario->name), bytes);
  for (std::size_t i = 0; i < section.header.size(); ++i) {
    out += fmt::format("<th{}>{}</th>", i < section.text_columns ? " class=\"text\"" : "",
                       escape(section.header[i]));
  }
  out += "</tr></thead><tbody>\n";
  for (const auto& row : rows) {
    const bool failed =
        std::ranges::any_of(row, [](const std::string& c) { return c.starts_with("FAILED: "); });
    out += failed ? "<tr class=\"failed\">" : "<tr>";
    for (std::size_t i = 0; i < row.size(); ++i) {
      const HtmlCell c = cell(row[i]);
      out += "<td";
      if (i < section.text_columns) out += " class=\"text\"";
      if (c.key) out += fmt::format(" data-v=\"{:.9g}\"", *c.key);
      if (!c.title.empty()) out += fmt::format(" title=\"{}\"", escape(c.title));
      out += fmt::format(">{}</td>", escape(c.text));
    }
    out += "</tr>\n";
  }
  return out + "</tbody></table></div>\n";
}

std::string context_value(const nlohmann::json& context, const char* key) {
  if (!context.is_object() || !context.contains(key) || context[key].is_null()) return "";
  const auto& v = context[key];
  return v.is_string() ? v.get<std::string>() : v.dump();
}

// A context field as a person reads it: the few objects ipcbench writes in words, the rest as
// their JSON.
std::string context_text(const nlohmann::json& context, const char* key) {
  const std::string_view k = key;
  if (context.is_object() && context.contains(key)) {
    const auto& v = context[key];
    if (k == "clock_skew" && v.is_object() && v.value("uncertainty_ns", 0.0) > 0) {
      return fmt::format("consumer minus producer {:.0f} ns ±{:.0f} ns",
                         v.value("consumer_minus_producer_ns", 0.0),
                         v.value("uncertainty_ns", 0.0));
    }
    if (k == "cpus_used" && v.is_object() && v.contains("producer") && v.contains("consumer")) {
      return fmt::format("producer {}, consumer {}", v["producer"].dump(), v["consumer"].dump());
    }
    if (k == "load_avg" && v.is_array()) {
      std::string out;
      for (const auto& x : v) {
        if (x.is_number()) out += fmt::format("{}{:.2f}", out.empty() ? "" : " ", x.get<double>());
      }
      return out;
    }
  }
  return context_value(context, key);
}

// One file's machine and build in a line, its warnings, and (opened) the rest of its context
// and the runs that made it.
std::string context_html(const LabelledDocument& d) {
  const auto& c = d.document.context;
  std::string summary = "<b>" + escape(d.label) + "</b>";
  for (const char* key : {"cpu_model", "num_cpus", "kernel", "hypervisor", "git_commit", "date"}) {
    std::string v = context_value(c, key);
    if (v.empty()) continue;
    if (std::string_view(key) == "num_cpus") v += " CPUs";
    if (std::string_view(key) == "git_commit") v = "commit " + v;
    summary += ", " + escape(v);
  }
  std::string out = fmt::format("<div class=\"context\"><details><summary>{}</summary>", summary);
  out += "<table class=\"kv\">";
  for (const char* key : {"label",        "host_name",        "cpu_model",        "num_cpus",
                          "mhz_per_cpu",  "hypervisor",       "container",        "kernel",
                          "clock_source", "governor",         "cpus_used",        "pinned",
                          "compiler",     "build_type",       "ipcbench_version", "git_commit",
                          "date",         "repetitions",      "precision",        "clock_skew",
                          "load_avg",     "reference_seconds"}) {
    const std::string v = context_text(c, key);
    if (!v.empty()) out += fmt::format("<tr><th>{}</th><td>{}</td></tr>", key, escape(v));
  }
  if (c.is_object() && c.contains("runs") && c["runs"].is_array()) {
    out += "<tr><th>runs</th><td>";
    for (const auto& r : c["runs"])
      out += "<code>" + escape(r.is_string() ? r.get<std::string>() : r.dump()) + "</code><br>";
    out += "</td></tr>";
  }
  out += "</table></details>";
  if (c.is_object() && c.contains("warnings") && c["warnings"].is_array() &&
      !c["warnings"].empty()) {
    out += "<ul class=\"warnings\">";
    for (const auto& w : c["warnings"])
      out += "<li>" + escape(w.is_string() ? w.get<std::string>() : w.dump()) + "</li>";
    out += "</ul>";
  }
  return out + "</div>\n";
}

nlohmann::json figure_json(Scenario scenario, std::string_view key) {
  const FigureSpec* spec = scenario->figure(key);
  return {{"key", key},
          {"label", spec ? spec->label : key},
          {"unit", spec ? spec->unit : ""},
          {"lower", scenario->lower_is_better(key)}};
}

// Each scenario's key figure for every row that has one: what the page's plots draw.
nlohmann::json plot_data(const Cells& cells) {
  nlohmann::json out = nlohmann::json::array();
  for (Scenario scenario : scenarios()) {
    nlohmann::json points = nlohmann::json::array();
    std::string x = "size";
    for (const Row& r : cells.rows) {
      if (r.first->scenario != scenario || r.good.empty()) continue;
      const Estimate e = r.est(scenario->key_figure);
      if (e.median <= 0) continue;
      nlohmann::json variant = nullptr;
      if (r.first->offered_rate) {
        x = "offered";
        variant = *r.first->offered_rate;
      } else if (r.first->consumers) {
        x = "N";
        variant = *r.first->consumers;
      }
      points.push_back({r.file, r.label(), r.first->wait, r.first->touch, r.first->payload_bytes,
                        variant, e.median, e.low.value_or(e.median), e.high.value_or(e.median)});
    }
    if (points.empty()) continue;
    out.push_back({{"scenario", scenario->name},
                   {"figure", figure_json(scenario, scenario->key_figure)},
                   {"x", x},
                   {"points", std::move(points)}});
  }
  return out;
}

// The commit a file was measured at, else its date: what its history places it by.
std::string commit_of(const ResultsDocument& d) {
  const std::string commit = context_value(d.context, "git_commit");
  return commit.empty() ? context_value(d.context, "date") : commit;
}

// Each cell's key figure in every file, by machine over the commits, with the changes `compare`
// calls real between one machine's consecutive files; null when the files are of one commit.
nlohmann::json history_data(const std::vector<LabelledDocument>& documents) {
  std::set<std::string> commits;
  for (const auto& d : documents)
    commits.insert(commit_of(d.document));
  if (commits.size() < 2) return nullptr;

  nlohmann::json runs = nlohmann::json::array();
  std::vector<std::string> machine(documents.size());
  std::vector<std::map<std::string, KeyFigures>> figures(documents.size());
  std::vector<std::string> order;
  for (std::size_t i = 0; i < documents.size(); ++i) {
    const ResultsDocument& d = documents[i].document;
    machine[i] = label_of(d, "unlabelled");
    figures[i] = key_figures(d, order);
    runs.push_back({{"machine", machine[i]},
                    {"commit", commit_of(d)},
                    {"date", context_value(d.context, "date")},
                    {"file", documents[i].label}});
  }
  // One machine's files in date order (ISO 8601 dates sort as text); each consecutive pair of
  // them, and whether the host placed the CPUs differently between the two (compare's test).
  std::map<std::string, std::vector<std::size_t>> by_machine;
  for (std::size_t i = 0; i < documents.size(); ++i)
    by_machine[machine[i]].push_back(i);
  struct Step {
    std::size_t from, to;
    bool moved;
  };
  std::vector<Step> steps;
  for (auto& [m, list] : by_machine) {
    std::ranges::stable_sort(list, {}, [&](std::size_t i) {
      return context_value(documents[i].document.context, "date");
    });
    for (std::size_t k = 1; k < list.size(); ++k) {
      const std::size_t a = list[k - 1], b = list[k];
      steps.push_back({a, b,
                       pair_moved({pair_round_trip_ns(documents[a].document.context),
                                   pair_round_trip_ns(documents[b].document.context)})});
    }
  }

  nlohmann::json cells = nlohmann::json::array();
  std::set<std::string> seen;
  for (const std::string& name : order) {
    if (!seen.insert(name).second) continue;
    const CellResult* first = nullptr;
    nlohmann::json points = nlohmann::json::array();
    for (std::size_t i = 0; i < documents.size(); ++i) {
      auto it = figures[i].find(name);
      if (it == figures[i].end() || it->second.values.empty()) continue;
      first = it->second.first;
      const Estimate e = estimate(it->second.values);
      points.push_back({i, e.median, e.low.value_or(e.median), e.high.value_or(e.median)});
    }
    if (!first) continue;
    nlohmann::json changes = nlohmann::json::array();
    for (const auto& [a, b, moved] : steps) {
      auto fa = figures[a].find(name), fb = figures[b].find(name);
      if (fa == figures[a].end() || fb == figures[b].end() || fa->second.values.empty() ||
          fb->second.values.empty()) {
        continue;
      }
      const Verdict v = judge(fa->second, fb->second, moved, CompareOptions::kDefaultCompareNoise);
      if (v.change != Change::faster && v.change != Change::slower) continue;
      changes.push_back({a, b, v.change == Change::faster ? "faster" : "slower",
                         v.by_floor ? v.over_floor.median : v.raw.median, v.by_floor});
    }
    cells.push_back({{"name", name},
                     {"scenario", first->scenario->name},
                     {"transport", transport_label(*first)},
                     {"wait", first->wait},
                     {"figure", figure_json(first->scenario, first->scenario->key_figure)},
                     {"points", std::move(points)},
                     {"changes", std::move(changes)}});
  }
  return {{"runs", std::move(runs)},
          {"noise", CompareOptions::kDefaultCompareNoise},
          {"cells", std::move(cells)}};
}

// JSON inside a <script> element: "</" cannot end it.
std::string script_json(const nlohmann::json& j) {
  std::string s = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  for (std::size_t at = 0; (at = s.find("</", at)) != std::string::npos; at += 3)
    s.replace(at, 2, "<\\/");
  return s;
}

// Links to the page's parts: the plots, each scenario's tables, the history.
std::string contents(const std::vector<Section>& all, bool history) {
  std::string out = "Go to: <a href=\"#plots\">plots</a>";
  for (const Section& section : all) {
    if (!section.rows.empty()) {
      out += fmt::format(", <a href=\"#s-{0}\">{0}</a>", escape(section.scenario->name));
    }
  }
  if (history) out += ", <a href=\"#history\">history</a>";
  return out + ".";
}

class HtmlReporter final : public Reporter {
 public:
  explicit HtmlReporter(std::string baseline) : m_baseline(std::move(baseline)) {}
  using Reporter::render;
  std::string render(const std::vector<LabelledDocument>& documents) const override;

 private:
  std::string m_baseline;
};

std::string HtmlReporter::render(const std::vector<LabelledDocument>& documents) const {
  const Cells cells(documents);
  const std::vector<Section> all = sections(cells, HtmlStyle(), m_baseline);
  const nlohmann::json history = history_data(documents);
  std::string labels;
  for (const auto& d : documents)
    labels += (labels.empty() ? "" : ", ") + d.label;
  if (labels.empty()) labels = "results";

  std::string out = fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
      "<meta name=\"generator\" content=\"ipcbench report --format html\">"
      "<title>ipcbench: {}</title><style>{}</style></head><body>\n",
      escape(labels), kHtmlCss);
  out += fmt::format(
      "<header><h1>ipcbench results</h1><p class=\"lead\">{} file{}: {}. Medians over each "
      "cell's repetitions, ±x% their 95% intervals (hover a figure for its interval); click a "
      "column's header to sort by it. {}</p></header>\n",
      documents.size(), documents.size() == 1 ? "" : "s", escape(labels),
      contents(all, !history.is_null()));
  out += "<section id=\"context\">\n";
  for (const auto& d : documents)
    out += context_html(d);
  out += "</section>\n";
  out +=
      "<nav id=\"filters\"><label>scenario <select id=\"f-scenario\"><option value=\"\">all"
      "</option></select></label> <label>transport <input id=\"f-transport\" type=\"search\" "
      "placeholder=\"any\" size=\"12\"></label> <label>wait <select id=\"f-wait\"><option "
      "value=\"\">all</option></select></label>";
  if (documents.size() > 1) {
    out += " <label>file <select id=\"f-run\"><option value=\"\">all</option></select></label>";
  }
  out += " <span id=\"f-count\"></span></nav>\n";
  out += "<section id=\"plots\"><h2>Plots</h2><div id=\"plot-area\"></div></section>\n";

  out += "<section id=\"tables\"><h2>Tables</h2>\n";
  for (const Section& section : all) {
    if (section.rows.empty()) continue;
    out += fmt::format("<div class=\"scenario\" data-scenario=\"{0}\"><h3 id=\"s-{0}\">{0}</h3>\n",
                       escape(section.scenario->name));
    for (const auto& [bytes, rows] : section.rows) {
      out += fmt::format("<div class=\"size\"><h4>{}, {} messages: {}</h4>\n",
                         escape(section.scenario->name), escape(PersonStyle().size(bytes)),
                         escape(section.scenario->table.heading));
      out += html_table(section, bytes, rows) + "</div>\n";
    }
    out += "<p class=\"note\">" + escape(with_baseline(section.scenario->table.note, m_baseline)) +
           "</p></div>\n";
  }
  for (const std::string& f : footnotes(all, documents))
    out += "<p class=\"note\">" + escape(f) + "</p>\n";
  out += "</section>\n";

  if (!history.is_null()) {
    out += fmt::format(
        "<section id=\"history\"><h2>History</h2><p class=\"note\">Each cell's key figure in "
        "every file, over the commits (in the order of the files' dates), one line per machine; "
        "bars: the 95% intervals. A ringed point is a change <code>ipcbench compare</code> "
        "calls real against the same machine's file before it: the interval of NEW/BASE lies "
        "beyond the drift between runs (±{:.0f}%). Cells with such a change come first.</p>"
        "<div id=\"history-changes\"></div><div id=\"history-area\"></div></section>\n",
        CompareOptions::kDefaultCompareNoise * 100);
  }
  nlohmann::json data = {{"files", nlohmann::json::array()}, {"plots", plot_data(cells)}};
  for (const auto& d : documents)
    data["files"].push_back(d.label);
  data["history"] = history;
  out += "<script type=\"application/json\" id=\"ipcbench-data\">" + script_json(data) +
         "</script>\n<script>" + kHtmlJs + "</script>\n</body></html>\n";
  return out;
}

}  // namespace

extern const ReportFormat kHtmlFormat{"html", make_reporter_of<HtmlReporter>};

}  // namespace ipcbench

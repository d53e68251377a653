#include "harness/cli/completion.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "base/wait.hpp"
#include "harness/report/reporter.hpp"
#include "scenarios/message.hpp"
#include "scenarios/registry.hpp"
#include "transports/transport.hpp"

namespace ipcbench {

namespace {

std::vector<std::string> transport_names() {
  std::vector<std::string> out;
  for (const auto& info : transports())
    out.emplace_back(info.name);
  return out;
}

// "<transport>.<setting>=" for every setting a transport declares (run --set).
std::vector<std::string> setting_names() {
  std::vector<std::string> out;
  for (const auto& info : transports())
    for (const auto& spec : options_of(info))
      out.push_back(std::string(info.name) + "." + spec.name + "=");
  return out;
}

template <class Enum, std::size_t N>
std::vector<std::string> names_of(const Enum (&values)[N]) {
  std::vector<std::string> out;
  for (Enum value : values)
    out.emplace_back(to_string(value));
  return out;
}

std::vector<std::string> scenario_words() {
  std::vector<std::string> out;
  for (const ScenarioInfo* s : scenarios())
    out.emplace_back(s->name);
  return out;
}

std::vector<std::string> with(std::vector<std::string> words, std::vector<std::string> more,
                              std::vector<std::string> before = {}) {
  before.insert(before.end(), words.begin(), words.end());
  before.insert(before.end(), more.begin(), more.end());
  return before;
}

std::string join(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words)
    out += (out.empty() ? "" : " ") + w;
  return out;
}

bool hidden(const CLI::App* app) {
  return app->get_group().empty();
}

// The names the shell sees: --long and -s.
std::vector<std::string> flag_names(const CLI::Option* opt) {
  std::vector<std::string> out;
  for (const auto& l : opt->get_lnames())
    out.push_back("--" + l);
  for (const auto& s : opt->get_snames())
    out.push_back("-" + s);
  return out;
}

bool visible_named(const CLI::Option* opt) {
  return !opt->get_positional() && !opt->get_group().empty();
}

bool takes_value(const CLI::Option* opt) {
  return opt->get_expected_max() > 0;
}

// What follows option `name`: a line of bash.
std::string value_action(const std::string& name) {
  const ValueCompletion v = value_completion(name);
  std::string action;
  switch (v.kind) {
    case ValueCompletion::Kind::word:
      action = v.words.empty() ? "COMPREPLY=()" : "_ipcbench_words word '" + join(v.words) + "'";
      break;
    case ValueCompletion::Kind::prefix:
      action = "_ipcbench_words word '" + join(v.words) + "'; compopt -o nospace 2> /dev/null";
      break;
    case ValueCompletion::Kind::list:
      action = "_ipcbench_words list '" + join(v.words) + "'";
      break;
    case ValueCompletion::Kind::file:
      action = "_ipcbench_paths -f";
      break;
    case ValueCompletion::Kind::directory:
      action = "_ipcbench_paths -d";
      break;
  }
  return action;
}

// The `case` arms for what follows each option: one arm per action, naming every
// "subcommand --option" it serves, in the order first seen.
struct ValueArms {
  std::vector<std::pair<std::string, std::string>> arms;  // action, patterns
  void add(const std::string& command, const std::string& option) {
    const std::string action = value_action(option);
    const std::string pattern = "\"" + command + " " + option + "\"";
    auto it = std::ranges::find(arms, action, &std::pair<std::string, std::string>::first);
    if (it == arms.end()) {
      arms.emplace_back(action, pattern);
    } else {
      it->second += " | \\\n      " + pattern;
    }
  }
  std::string text() const {
    std::string out;
    for (const auto& [action, patterns] : arms)
      out += fmt::format("    {})\n      {}\n      return 0\n      ;;\n", patterns, action);
    return out;
  }
};

std::string positional_action(const CLI::App* app) {
  for (const CLI::Option* opt : app->get_options({})) {
    if (!opt->get_positional()) continue;
    const ValueCompletion v = value_completion(opt->get_name(true));
    if (v.kind == ValueCompletion::Kind::file) return "_ipcbench_paths -f";
    if (v.kind == ValueCompletion::Kind::directory) return "_ipcbench_paths -d";
    if (!v.words.empty()) return "_ipcbench_words word '" + join(v.words) + "'";
    return "COMPREPLY=()";
  }
  return "COMPREPLY=()";
}

}  // namespace

ValueCompletion value_completion(std::string_view name) {
  using Kind = ValueCompletion::Kind;
  if (name == "--transports") return {Kind::list, with(transport_names(), {"all"})};
  if (name == "--baseline") return {Kind::word, transport_names()};
  if (name == "--scenarios") return {Kind::list, with(scenario_words(), {"all"})};
  if (name == "--wait") return {Kind::list, with(names_of(kWaitModes), {"all"}, {"native"})};
  if (name == "--touch") return {Kind::list, with(names_of(kTouches), {"all"})};
  if (name == "--format") {
    std::vector<std::string> formats;
    for (const ReportFormat* f : report_formats())
      formats.emplace_back(f->name);
    return {Kind::word, formats};
  }
  if (name == "--set") return {Kind::prefix, setting_names()};
  if (name == "--out") return {Kind::file, {}};
  if (name == "--export-hdr") return {Kind::directory, {}};
  if (name == "shell") return {Kind::word, kCompletionShells};
  if (name == "files" || name == "base" || name == "new") return {Kind::file, {}};
  return {Kind::word, {}};  // a number, a size, a regular expression: nothing to offer
}

std::string bash_completion(const CLI::App& app) {
  std::vector<const CLI::App*> commands = app.get_subcommands(
      [](const CLI::App* sub) { return !hidden(sub) && !sub->get_name().empty(); });

  std::string command_names, flag_arms, positional_arms;
  ValueArms value_arms;
  auto flags_of = [](const CLI::App* a) {
    std::vector<std::string> out;
    for (const CLI::Option* opt : a->get_options({})) {
      if (!visible_named(opt)) continue;
      auto names = flag_names(opt);
      out.insert(out.end(), names.begin(), names.end());
    }
    return out;
  };
  flag_arms += fmt::format("      \"\") _ipcbench_words word '{}' ;;\n", join(flags_of(&app)));
  for (const CLI::App* sub : commands) {
    const std::string& name = sub->get_name();
    command_names += (command_names.empty() ? "" : " | ") + name;
    for (const CLI::Option* opt : sub->get_options({})) {
      if (!visible_named(opt) || !takes_value(opt)) continue;
      for (const auto& flag : flag_names(opt))
        value_arms.add(name, flag);
    }
    flag_arms += fmt::format("      {}) _ipcbench_words word '{}' ;;\n", name, join(flags_of(sub)));
    positional_arms += fmt::format("    {}) {} ;;\n", name, positional_action(sub));
  }
  std::vector<std::string> names;
  for (const CLI::App* sub : commands)
    names.push_back(sub->get_name());

  return fmt::format(
      R"(# bash completion for ipcbench, generated by `ipcbench completion bash` from the binary's
# own command line (subcommands, options) and registry (transports, scenarios, wait modes):
# regenerate it rather than edit it. Use: source <(ipcbench completion bash), or install it as
# /usr/share/bash-completion/completions/ipcbench.

# _ipcbench_words word|list 'CANDIDATES': complete $cur from the candidates; for a list, the
# item after the last comma.
_ipcbench_words() {{
  local prefix="" last=$cur
  if [[ $1 == list && $cur == *,* ]]; then
    prefix=${{cur%,*}},
    last=${{cur##*,}}
  fi
  mapfile -t COMPREPLY < <(compgen -P "$prefix" -W "$2" -- "$last")
}}

# _ipcbench_paths -f|-d: complete $cur as a file or a directory.
_ipcbench_paths() {{
  compopt -o filenames 2> /dev/null
  mapfile -t COMPREPLY < <(compgen "$1" -- "$cur")
}}

_ipcbench() {{
  local cur=${{COMP_WORDS[COMP_CWORD]}} prev=""
  ((COMP_CWORD > 0)) && prev=${{COMP_WORDS[COMP_CWORD - 1]}}
  # --option=value: bash splits the word at '='.
  if [[ $cur == "=" ]]; then
    cur=""
  elif [[ $prev == "=" ]] && ((COMP_CWORD > 1)); then
    prev=${{COMP_WORDS[COMP_CWORD - 2]}}
  fi
  local command="" i
  for ((i = 1; i < COMP_CWORD; i++)); do
    case ${{COMP_WORDS[i]}} in
      {command_names})
        command=${{COMP_WORDS[i]}}
        break
        ;;
    esac
  done

  case "$command $prev" in
{value_arms}  esac

  if [[ $cur == -* ]]; then
    case $command in
{flag_arms}    esac
    return 0
  fi

  case $command in
    "") _ipcbench_words word '{names}' ;;
{positional_arms}  esac
  return 0
}}
complete -F _ipcbench ipcbench
)",
      fmt::arg("command_names", command_names), fmt::arg("value_arms", value_arms.text()),
      fmt::arg("flag_arms", flag_arms), fmt::arg("names", join(names)),
      fmt::arg("positional_arms", positional_arms));
}

}  // namespace ipcbench

// The shell completion script (`ipcbench completion bash`), generated from what the binary
// itself accepts: the subcommands and options of its command line (the CLI11 app, hidden ones
// left out), the transports of the registry, the scenarios, wait modes and touches of their
// enums. Nothing is listed by hand, so the script cannot fall behind the binary it came from.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace CLI {
class App;
}

namespace ipcbench {

// The shells a script can be generated for (the `completion` subcommand's argument).
inline const std::vector<std::string> kCompletionShells = {"bash"};

// The words offered for an option's value: `list` values are comma-separated lists (each item
// completed on its own), `word` one of `words` (or anything, when `words` is empty), `prefix` the
// start of a value the user goes on typing (`--set pipe.buffer=`: no space after it), `file` and
// `directory` a path.
struct ValueCompletion {
  enum class Kind { word, list, prefix, file, directory } kind = Kind::word;
  std::vector<std::string> words;
};
// For an option's long name ("--transports") or a positional's name ("shell", "files").
ValueCompletion value_completion(std::string_view name);

// A bash script defining the function `_ipcbench` and registering it for `ipcbench`: subcommands,
// each one's flags, and the values of the options above.
std::string bash_completion(const CLI::App& app);

}  // namespace ipcbench

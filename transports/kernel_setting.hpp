// A number the kernel publishes in a file under /proc/sys (a limit, a setting), for the drivers
// that say in `list` which limits are in force here, or whether they can run at all.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>

namespace ipcbench {

// The first number in `path`; nothing when the file is absent or holds no number.
inline std::optional<std::uint64_t> kernel_setting(const char* path) {
  std::ifstream in(path);
  std::string text;
  if (!(in >> text) || text.empty() || text.find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  return std::strtoull(text.c_str(), nullptr, 10);
}

}  // namespace ipcbench

#include "transports/shm_names.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <string_view>

namespace ipcbench {

void add_shm_names_used_by(const std::string& proc, std::set<std::string>& names) {
  constexpr std::string_view kDir = "/dev/shm/";
  auto add = [&](std::string_view path) {
    if (!path.starts_with(kDir)) return;
    path.remove_prefix(kDir.size());
    if (auto deleted = path.find(" (deleted)"); deleted != std::string_view::npos) {
      path = path.substr(0, deleted);
    }
    if (!path.empty()) names.emplace(path);
  };
  // A process that ends meanwhile makes a read fail (getline then stops: no exception).
  std::ifstream maps(proc + "/maps");
  for (std::string line; std::getline(maps, line);) {
    if (auto at = line.find(kDir); at != std::string::npos) add(std::string_view(line).substr(at));
  }
  std::error_code ec;
  for (const auto& fd : std::filesystem::directory_iterator(proc + "/fd", ec)) {
    std::error_code link_ec;
    auto target = std::filesystem::read_symlink(fd.path(), link_ec);
    if (!link_ec) add(target.string());
  }
}

std::set<std::string> shm_names_in_use() {
  std::set<std::string> names;
  std::error_code ec;
  for (const auto& proc : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string pid = proc.path().filename().string();
    if (!pid.empty() &&
        std::all_of(pid.begin(), pid.end(), [](unsigned char c) { return std::isdigit(c) != 0; })) {
      add_shm_names_used_by(proc.path().string(), names);
    }
  }
  return names;
}

}  // namespace ipcbench

#include "base/wait.hpp"

namespace ipcbench {

std::string_view to_string(WaitMode mode) {
  switch (mode) {
    case WaitMode::spin:
      return "spin";
    case WaitMode::block:
      return "block";
    case WaitMode::adaptive:
      return "adaptive";
  }
  return "?";
}

std::optional<WaitMode> parse_wait_mode(std::string_view text) {
  for (auto mode : {WaitMode::spin, WaitMode::block, WaitMode::adaptive}) {
    if (text == to_string(mode)) return mode;
  }
  return std::nullopt;
}

}  // namespace ipcbench

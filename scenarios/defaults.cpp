#include "scenarios/defaults.hpp"

#include <algorithm>
#include <cmath>

namespace ipcbench {

std::size_t queue_depth_for(std::size_t bytes) {
  return std::clamp<std::size_t>((32u << 20) / std::max<std::size_t>(bytes, 1), 4, 64);
}

std::uint64_t default_throughput_messages(std::size_t bytes, bool quick) {
  const double scaled = static_cast<double>(kDefaultMessages) *
                        static_cast<double>(kDefaultThroughputBytes) /
                        static_cast<double>(std::max<std::size_t>(bytes, 1));
  const auto n = std::clamp(static_cast<std::uint64_t>(std::llround(scaled)), kMinDefaultMessages,
                            kMaxDefaultMessages);
  return quick ? std::max<std::uint64_t>(n / (kDefaultMessages / kQuickMessages), 4) : n;
}

std::uint64_t default_throughput_warmup(std::size_t bytes, unsigned consumers) {
  const std::uint64_t passes = (static_cast<std::uint64_t>(consumers) + 1) * queue_depth_for(bytes);
  const std::uint64_t at_most = std::max<std::uint64_t>(
      2, std::min<std::uint64_t>(1000, kMaxStreamWarmupBytes / std::max<std::size_t>(bytes, 1)));
  return std::clamp<std::uint64_t>(
      std::max(default_throughput_messages(bytes, false) / 100, passes), 2, at_most);
}

std::uint64_t default_pingpong_warmup(std::size_t bytes, bool quick) {
  const std::uint64_t full = quick ? kQuickPingpongWarmup : kDefaultPingpongWarmup;
  if (bytes <= kPingpongWarmupFullUpTo) return full;
  const double scaled = static_cast<double>(full) * static_cast<double>(kPingpongWarmupFullUpTo) /
                        static_cast<double>(bytes);
  return std::clamp<std::uint64_t>(static_cast<std::uint64_t>(std::llround(scaled)),
                                   kMinPingpongWarmup, full);
}

}  // namespace ipcbench

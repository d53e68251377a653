// Names for the DDS drivers (cyclonedds, fastdds): a cell's domain and its topics, derived from
// the cell's token, so that both workers of a cell find each other and nothing else (concurrent
// cells, other DDS users on the machine: ROS 2 uses domain 0 unless told otherwise).
#pragma once

#include <cctype>
#include <cstdint>
#include <string>

namespace ipcbench {

// The same number in both processes: a domain of the cell's own, 1 to 200 (0 is left to everyone
// else; RTPS ports 7400 + 250 * domain + ... stay below 65535).
inline std::uint32_t dds_domain_for(const std::string& token) {
  std::uint32_t hash = 2166136261u;  // FNV-1a
  for (unsigned char c : token)
    hash = (hash ^ c) * 16777619u;
  return 1 + hash % 200;
}

// A DDS topic name, "ipcbench_<token>_<suffix>" with letters, digits and '_' only.
inline std::string dds_topic_name(const std::string& token, const char* suffix) {
  std::string name = "ipcbench_" + token + "_" + suffix;
  for (auto& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name;
}

}  // namespace ipcbench

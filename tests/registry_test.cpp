// The registry lists every driver: a driver file that exists but was not given its line in
// transports/registry.cpp would never be run, listed or tested. A file's name is its transport's
// with '_' for '-' (drivers/unix_stream.cpp is `unix-stream`).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "transports/transport.hpp"

namespace ipcbench {
namespace {

TEST(Registry, EveryDriverFileIsListed) {
  const std::filesystem::path drivers =
      std::filesystem::path(IPCBENCH_SOURCE_DIR) / "transports" / "drivers";
  std::size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(drivers)) {
    if (entry.path().extension() != ".cpp") continue;
    ++files;
    std::string name = entry.path().stem().string();
    std::replace(name.begin(), name.end(), '_', '-');
    EXPECT_NE(find_transport(name), nullptr)
        << entry.path() << " defines a driver that transports/registry.cpp does not list";
  }
  EXPECT_GT(files, 0u) << "no driver files under " << drivers;
}

TEST(Registry, NamesAreUniqueAndDescribed) {
  std::set<std::string_view> names;
  for (const auto& info : transports()) {
    EXPECT_TRUE(names.insert(info.name).second) << info.name << " is listed twice";
    EXPECT_FALSE(info.description.empty()) << info.name;
    EXPECT_NE(info.make, nullptr) << info.name;
    EXPECT_NE(info.capabilities, nullptr) << info.name;
  }
}

}  // namespace
}  // namespace ipcbench

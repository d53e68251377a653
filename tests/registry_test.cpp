// The registry lists every driver: a driver file that exists but was not given its line in
// transports/registry.cpp would never be run, listed or tested. A file's name is its transport's
// with '_' for '-' (drivers/unix_stream.cpp is `unix-stream`).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <regex>
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

// Each setting a driver declares (--set) is named as a cell name can carry it, says what it does
// and what the transport does without it, and has a range that holds a value.
TEST(Registry, SettingsAreNamedDescribedAndHaveARange) {
  const std::regex name_pattern("[a-z][a-z0-9_]*");
  for (const auto& info : transports()) {
    std::set<std::string> names;
    for (const OptionSpec& o : options_of(info)) {
      EXPECT_TRUE(std::regex_match(o.name, name_pattern)) << info.name << "." << o.name;
      EXPECT_TRUE(names.insert(o.name).second) << info.name << "." << o.name << " twice";
      EXPECT_FALSE(o.description.empty()) << info.name << "." << o.name;
      EXPECT_FALSE(o.default_text.empty()) << info.name << "." << o.name;
      // A size of nothing means nothing; a count may start at 0 (pollfirst's 0 is the default).
      if (o.unit == OptionUnit::bytes) {
        EXPECT_GT(o.min, 0u) << info.name << "." << o.name;
      }
      EXPECT_LE(o.min, o.max) << info.name << "." << o.name;
    }
  }
  // The settings issue 13 asks for.
  for (const char* t : {"pipe", "fifo", "vmsplice"}) {
    const auto specs = options_of(*find_transport(t));
    EXPECT_EQ(specs.size(), 1u) << t;
    EXPECT_EQ(specs.at(0).name, "buffer") << t;
  }
  for (const char* t : {"tcp", "tcp-nodelay", "udp"}) {
    const auto specs = options_of(*find_transport(t));
    ASSERT_EQ(specs.size(), std::string_view(t) == "udp" ? 3u : 2u) << t;
    EXPECT_EQ(specs[0].name, "sndbuf") << t;
    EXPECT_EQ(specs[1].name, "rcvbuf") << t;
  }
  // The settings that choose dropping over flow control (the overload scenario).
  EXPECT_EQ(options_of(*find_transport("udp")).at(2).name, "credit");
  for (const char* t : {"zerocopy", "cyclonedds", "cyclonedds-shm", "fastdds", "fastdds-shm",
                        "fastdds-datasharing", "nng"}) {
    bool drop = false;
    for (const auto& o : options_of(*find_transport(t)))
      drop |= o.name == "drop" && o.min == 0 && o.max == 1;
    EXPECT_TRUE(drop) << t;
  }
  // A Unix socket ignores its receive buffer (unix(7)): only the send buffer is offered.
  for (const char* t : {"unix-stream", "unix-dgram", "unix-seqpacket", "io-uring"}) {
    if (!find_transport(t)->unavailable.empty()) continue;
    const auto specs = options_of(*find_transport(t));
    ASSERT_EQ(specs.size(), std::string_view(t) == "unix-stream" ? 2u : 1u) << t;
    EXPECT_EQ(specs[0].name, "sndbuf") << t;
  }
  // unix-stream: where its blocking wait sleeps (bench/unix_stream_wakeups.py).
  const auto unix_stream = options_of(*find_transport("unix-stream"));
  EXPECT_EQ(unix_stream.at(1).name, "pollfirst");
  EXPECT_EQ(unix_stream.at(1).unit, OptionUnit::count);
  EXPECT_EQ(unix_stream.at(1).min, 0u);
  EXPECT_EQ(unix_stream.at(1).max, 1u);
  EXPECT_TRUE(options_of(*find_transport("shm")).empty());
}

}  // namespace
}  // namespace ipcbench

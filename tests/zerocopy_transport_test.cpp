// The zerocopy transport over corrupted shared memory (issue #9, defect 7): a segment overwritten
// while a cell runs fails it as Errc::corrupted, with what was wrong, not as a timeout or a
// departed peer. The endpoints are two real processes (tests/pair.hpp).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <random>
#include <string>
#include <vector>

#include "harness/run/resources.hpp"
#include "tests/pair.hpp"

namespace ipcbench::testing {
namespace {

// Overwrites every zerocopy publisher segment of the running cell with pseudo-random bytes. The
// endpoints are children of the test process, and their shm names start with the cell's token,
// run_prefix() of the test process (which they inherit) + "-t<n>", then "p_" for publisher
// segments.
std::string overwrite_publisher_segments() {
  const std::string cell = run_prefix() + "-t";
  const std::string shm = "/dev/shm/" + cell;
  int overwritten = 0;
  std::mt19937_64 random(7);
  for (const auto& path : names_with_prefix(cell)) {
    if (!path.starts_with(shm) || path.find("p_", shm.size()) == std::string::npos) continue;
    int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    struct stat info {};
    if (fd < 0 || ::fstat(fd, &info) != 0) return "cannot open " + path;
    std::vector<std::uint64_t> bytes(static_cast<std::size_t>(info.st_size) / 8);
    for (auto& word : bytes)
      word = random();
    bool written =
        ::pwrite(fd, bytes.data(), bytes.size() * 8, 0) == static_cast<ssize_t>(bytes.size() * 8);
    ::close(fd);
    if (!written) return "cannot overwrite " + path;
    ++overwritten;
  }
  return overwritten == 2 ? "" : "found " + std::to_string(overwritten) + " publisher segments";
}

std::string expect_corrupted(Result<std::span<const std::byte>> received) {
  if (received) return "a message arrived through corrupted shared memory";
  if (received.error().code != Errc::corrupted) {
    return "wrong error: " + std::string(to_string(received.error().code)) + ": " +
           received.error().reason;
  }
  if (received.error().reason.find("publisher segment") == std::string::npos) {
    return "the reason does not say what was wrong: " + received.error().reason;
  }
  return "";
}

class ZerocopyTransport : public ::testing::TestWithParam<WaitMode> {};

TEST_P(ZerocopyTransport, OverwrittenSegmentFailsAsCorruptedNotTimeoutOrPeerGone) {
  PairOptions options;
  options.transport = "zerocopy";
  options.wait = GetParam();
  options.max_message_bytes = 4096;
  options.timeout = std::chrono::milliseconds(10000);  // an upper bound: corruption comes first
  // The consumer says it is connected with a message; then the producer overwrites the
  // segments of both directions, and each side's next receive must fail as corrupted.
  auto producer = [](Transport& t) -> std::string {
    auto ready = t.receive();
    if (!ready) return "receive the consumer's message: " + ready.error().reason;
    t.release();
    if (auto e = overwrite_publisher_segments(); !e.empty()) return e;
    return expect_corrupted(t.receive());
  };
  auto consumer = [](Transport& t) -> std::string {
    auto buffer = t.loan(8);
    if (!buffer) return "loan: " + buffer.error().reason;
    if (auto sent = t.send(8); !sent) return "send: " + sent.error().reason;
    return expect_corrupted(t.receive());
  };
  PairOutcome r = run_pair(options, producer, consumer);
  ASSERT_EQ(r.setup_error, "");
  EXPECT_EQ(r.producer.verdict, "");
  EXPECT_EQ(r.consumer.verdict, "");
  // Each endpoint removes what it created, corrupted or not.
  EXPECT_TRUE(r.leftovers.empty()) << "left behind: " << r.leftovers.front();
}

INSTANTIATE_TEST_SUITE_P(Waits, ZerocopyTransport,
                         ::testing::Values(WaitMode::spin, WaitMode::block, WaitMode::adaptive),
                         [](const ::testing::TestParamInfo<WaitMode>& info) {
                           return std::string(to_string(info.param));
                         });

}  // namespace
}  // namespace ipcbench::testing

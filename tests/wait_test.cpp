#include "base/wait.hpp"

#include <gtest/gtest.h>

#include <string>

namespace ipcbench {
namespace {

// A wait that never succeeds: its reason names what it waited for and how long, in a sentence.
// (It read "no the peer's hello within 28000 ms" in a CI failure: the words came from the
// drivers, the sentence around them assumed a bare noun.)
TEST(WaitUntil, ATimeoutSaysWhatItWaitedForAndHowLong) {
  for (WaitMode mode : kWaitModes) {
    SCOPED_TRACE(std::string(to_string(mode)));
    int checks = 0;
    const WaitPolicy policy{.mode = mode, .timeout_ns = 2'000'000, .spin_ns = 500'000};
    auto result = wait_until(
        policy, [] { return Result<bool>{false}; },
        [](std::int64_t) { return Result<bool>{false}; },
        [&] {
          ++checks;
          return Result<void>{};
        },
        WaitTraits{.check_every_ns = 1'000'000, .waiting_for = "the peer's hello"});
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().code, Errc::timeout);
    EXPECT_EQ(result.error().reason, "timed out after 2 ms waiting for the peer's hello");
    EXPECT_GE(checks, 1);  // the last look before the timeout is reported
  }
}

}  // namespace
}  // namespace ipcbench

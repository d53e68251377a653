#include "scenarios/message.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace ipcbench {
namespace {

TEST(Message, FullRoundTripAndEveryByteChecked) {
  for (std::size_t n : {8u, 9u, 15u, 64u, 1000u, 65537u}) {
    std::vector<std::byte> buf(n);
    fill_message(buf, 42, Direction::request, Touch::full);
    EXPECT_FALSE(check_message(buf, 42, n, Direction::request, Touch::full)) << n;
    for (std::size_t i : {std::size_t{8}, n / 2, n - 1}) {
      if (i < 8 || i >= n) continue;
      auto copy = buf;
      copy[i] ^= std::byte{1};
      auto wrong = check_message(copy, 42, n, Direction::request, Touch::full);
      ASSERT_TRUE(wrong) << n << " " << i;
      EXPECT_NE(wrong->find("byte " + std::to_string(i)), std::string::npos) << *wrong;
    }
  }
}

TEST(Message, WrongSequenceSizeOrDirectionIsCaught) {
  std::vector<std::byte> buf(64);
  fill_message(buf, 7, Direction::request, Touch::full);
  EXPECT_TRUE(check_message(buf, 8, 64, Direction::request, Touch::full));  // lost one
  EXPECT_TRUE(check_message(buf, 6, 64, Direction::request, Touch::full));  // duplicate
  EXPECT_TRUE(check_message(buf, 7, 65, Direction::request, Touch::full));
  EXPECT_TRUE(check_message(buf, 7, 64, Direction::reply, Touch::full));  // an echo of ours
}

TEST(Message, EdgesTouchesOnlySequenceAndLastByte) {
  std::vector<std::byte> buf(4096, std::byte{0xAA});
  fill_message(buf, 3, Direction::request, Touch::edges);
  EXPECT_EQ(buf[100], std::byte{0xAA});  // not written
  EXPECT_FALSE(check_message(buf, 3, 4096, Direction::request, Touch::edges));
  buf[4095] ^= std::byte{0xFF};
  EXPECT_TRUE(check_message(buf, 3, 4096, Direction::request, Touch::edges));
}

TEST(Message, StaleContentFromAnotherMessageIsCaught) {
  std::vector<std::byte> old(256), fresh(256);
  fill_message(old, 1, Direction::request, Touch::full);
  fill_message(fresh, 2, Direction::request, Touch::full);
  std::copy(fresh.begin(), fresh.begin() + 8, old.begin());  // new header, old body
  EXPECT_TRUE(check_message(old, 2, 256, Direction::request, Touch::full));
}

}  // namespace
}  // namespace ipcbench

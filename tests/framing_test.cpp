// Framing: the stream framing reassembles a message however the kernel splits it; the datagram
// reassembler detects lost, duplicated and reordered fragments, counts the lost messages and
// resynchronises.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <thread>

#include "transports/datagram_channel.hpp"
#include "transports/stream_channel.hpp"

namespace ipcbench {
namespace {

FragmentHeader data(std::uint64_t seq, std::uint64_t message, std::uint32_t bytes,
                    std::uint32_t index, std::uint32_t count, std::uint32_t payload) {
  FragmentHeader h{};
  h.magic = kFragmentMagic;
  h.type = FragmentType::data;
  h.seq = seq;
  h.message = message;
  h.message_bytes = bytes;
  h.fragment_index = index;
  h.fragment_count = count;
  h.payload_bytes = payload;
  return h;
}

TEST(Reassembler, WholeMessagesInOrder) {
  Reassembler r(1000);
  auto a = r.add(data(0, 0, 100, 0, 1, 100), 100);
  ASSERT_TRUE(a && *a);
  EXPECT_EQ(**a, 100u);
  auto b1 = r.add(data(1, 1, 250, 0, 3, 100), 100);
  ASSERT_TRUE(b1 && !*b1);
  EXPECT_EQ(r.assembled(), 100u);
  ASSERT_TRUE(r.add(data(2, 1, 250, 1, 3, 100), 100).value() == std::nullopt);
  auto b3 = r.add(data(3, 1, 250, 2, 3, 50), 50);
  ASSERT_TRUE(b3 && *b3);
  EXPECT_EQ(**b3, 250u);
  EXPECT_EQ(r.messages_lost(), 0u);
  EXPECT_EQ(r.messages_done(), 2u);
}

TEST(Reassembler, LostFragmentIsReportedCountedAndResynchronised) {
  Reassembler r(1000);
  ASSERT_TRUE(r.add(data(0, 0, 300, 0, 3, 100), 100));
  // fragment 1 lost
  auto gap = r.add(data(2, 0, 300, 2, 3, 100), 100);
  ASSERT_FALSE(gap);
  EXPECT_EQ(gap.error().code, Errc::protocol);
  EXPECT_NE(gap.error().reason.find("lost"), std::string::npos) << gap.error().reason;
  EXPECT_EQ(r.messages_lost(), 1u);
  EXPECT_EQ(r.assembled(), 0u);
  // The next message arrives whole and is delivered.
  auto next = r.add(data(3, 1, 10, 0, 1, 10), 10);
  ASSERT_TRUE(next && *next);
  EXPECT_EQ(r.messages_lost(), 1u);
}

TEST(Reassembler, WholeMessagesLostAreCounted) {
  Reassembler r(1000);
  ASSERT_TRUE(r.add(data(0, 0, 10, 0, 1, 10), 10));
  // messages 1 and 2 (fragments 1..2) lost; fragment 3 starts message 3
  auto gap = r.add(data(3, 3, 10, 0, 1, 10), 10);
  ASSERT_FALSE(gap);  // reported
  // that fragment's payload was placed for the old position; it is skipped, message 4 is fine
  auto next = r.add(data(4, 4, 10, 0, 1, 10), 10);
  ASSERT_TRUE(next && *next);
  EXPECT_EQ(r.messages_lost(), 3u);  // 1, 2 and the skipped 3
}

// udp without its credit window (--set udp.credit=0): the kernel may drop, and a gap is counted
// and skipped, never an error, never a message put together from the wrong places.
TEST(Reassembler, LossyCountsWholeMessagesLostAndGoesOn) {
  Reassembler r(1000, true);
  ASSERT_TRUE(r.add(data(0, 0, 10, 0, 1, 10), 10).value());
  // messages 1 and 2 lost: message 3 (placed at offset 0) is delivered
  auto after = r.add(data(3, 3, 10, 0, 1, 10), 10);
  ASSERT_TRUE(after) << after.error().reason;
  ASSERT_TRUE(*after);
  EXPECT_EQ(**after, 10u);
  EXPECT_EQ(r.messages_lost(), 2u);
  EXPECT_EQ(r.messages_done(), 2u);
}

TEST(Reassembler, LossyDropsAMessageThatLostAFragmentAndOneLandingInItsPlace) {
  Reassembler r(1000, true);
  ASSERT_TRUE(r.add(data(0, 0, 300, 0, 3, 100), 100).value() == std::nullopt);
  // fragment 1 lost; fragment 2 (the rest of message 0) is skipped
  auto rest = r.add(data(2, 0, 300, 2, 3, 100), 100);
  ASSERT_TRUE(rest) << rest.error().reason;
  EXPECT_EQ(*rest, std::nullopt);
  EXPECT_EQ(r.messages_lost(), 1u);
  EXPECT_EQ(r.assembled(), 0u);
  // a later message whole: delivered
  auto next = r.add(data(3, 1, 10, 0, 1, 10), 10);
  ASSERT_TRUE(next && *next);
  ASSERT_TRUE(r.add(data(4, 2, 300, 0, 3, 100), 100).value() == std::nullopt);
  EXPECT_EQ(r.assembled(), 100u);
  // fragments 5, 6 lost (the rest of message 2): message 3's first fragment was placed at offset
  // 100, behind message 2's first part, so it is lost too; message 4 is whole again
  auto misplaced = r.add(data(7, 3, 10, 0, 1, 10), 10);
  ASSERT_TRUE(misplaced) << misplaced.error().reason;
  EXPECT_EQ(*misplaced, std::nullopt);
  auto whole = r.add(data(8, 4, 10, 0, 1, 10), 10);
  ASSERT_TRUE(whole && *whole);
  EXPECT_EQ(r.messages_lost(), 3u);  // 0, 2 and 3
  EXPECT_EQ(r.messages_done(), 2u);  // 1 and 4
}

TEST(Reassembler, DuplicateAndReorderedFragmentsAreReported) {
  Reassembler r(1000);
  ASSERT_TRUE(r.add(data(0, 0, 200, 0, 2, 100), 100));
  auto dup = r.add(data(0, 0, 200, 0, 2, 100), 100);
  ASSERT_FALSE(dup);
  EXPECT_NE(dup.error().reason.find("duplicated or reordered"), std::string::npos);
  // The duplicate did not disturb the message in progress.
  auto last = r.add(data(1, 0, 200, 1, 2, 100), 100);
  ASSERT_TRUE(last && *last);
  EXPECT_EQ(**last, 200u);
  // Reordered: 3 before 2.
  ASSERT_FALSE(r.add(data(3, 2, 10, 0, 1, 10), 10));
  ASSERT_FALSE(r.add(data(2, 1, 10, 0, 1, 10), 10));  // arrives late: reported as well
}

TEST(Reassembler, MalformedFragmentsAreErrorsNotOverruns) {
  {
    Reassembler r(100);
    auto big = r.add(data(0, 0, 101, 0, 1, 50), 50);
    ASSERT_FALSE(big);
    EXPECT_EQ(big.error().code, Errc::message_too_large);
  }
  {
    Reassembler r(1000);
    ASSERT_FALSE(r.add(data(0, 0, 100, 0, 1, 150), 150));  // payload past the message's end
  }
  {
    Reassembler r(1000);
    ASSERT_FALSE(r.add(data(0, 0, 100, 0, 1, 60), 50));  // header and datagram disagree
  }
  {
    Reassembler r(1000);
    ASSERT_FALSE(r.add(data(0, 0, 100, 1, 2, 50), 50));  // no first fragment
  }
  {
    Reassembler r(1000);
    ASSERT_FALSE(r.add(data(0, 0, 100, 0, 1, 60), 60));  // short of its length
  }
}

// A datagram endpoint on one end of a socketpair; the test writes raw fragments on the other.
class RawDatagram : public DatagramTransport {
 public:
  explicit RawDatagram(const Endpoint& e) : DatagramTransport(e, 1024, false) {}
  Result<void> attach(int fd) { return prepare(fd); }
  Result<void> connect(std::string_view) override { return {}; }
};

TEST(DatagramTransport, LossOnARealSocketIsReportedThenDeliveryResumes) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv), 0);
  Endpoint e;
  e.max_message_bytes = 4096;
  e.timeout = std::chrono::milliseconds(2000);
  RawDatagram rx(e);
  ASSERT_TRUE(rx.attach(sv[0]));
  auto put = [&](FragmentHeader h, char fill) {
    std::vector<char> d(sizeof h + h.payload_bytes, fill);
    std::memcpy(d.data(), &h, sizeof h);
    ASSERT_EQ(::send(sv[1], d.data(), d.size(), 0), static_cast<ssize_t>(d.size()));
  };
  put(data(0, 0, 5, 0, 1, 5), 'a');
  put(data(1, 1, 1500, 0, 2, 984), 'b');  // its second fragment is "lost"
  put(data(3, 2, 7, 0, 1, 7), 'c');
  put(data(4, 3, 7, 0, 1, 7), 'd');
  auto m0 = rx.receive();
  ASSERT_TRUE(m0);
  EXPECT_EQ(m0->size(), 5u);
  EXPECT_EQ((*m0)[0], std::byte{'a'});
  auto loss = rx.receive();
  ASSERT_FALSE(loss);
  EXPECT_EQ(loss.error().code, Errc::protocol);
  auto m3 = rx.receive();
  ASSERT_TRUE(m3) << m3.error().reason;
  EXPECT_EQ((*m3)[0], std::byte{'d'});
  EXPECT_EQ(rx.stats().messages_lost, 2u);  // message 1 (broken) and 2 (skipped to resync)
  ::close(sv[0]);
  ::close(sv[1]);
}

class RawStream : public StreamTransport {
 public:
  using StreamTransport::StreamTransport;
  Result<void> attach_fd(int fd) { return attach(fd, fd, FdIo::Kind::stream_socket); }
  Result<void> connect(std::string_view) override { return {}; }
};

TEST(StreamFraming, MessagesSplitAnyWayArriveWhole) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  Endpoint e;
  e.max_message_bytes = 200 * 1024;
  e.timeout = std::chrono::milliseconds(5000);
  RawStream rx(e);
  ASSERT_TRUE(rx.attach_fd(sv[0]));
  // Three frames, written in awkward pieces: one byte, then the header's rest, then big chunks.
  std::vector<char> stream;
  for (std::uint32_t len : {3u, 150u * 1024u, 0u}) {
    StreamFrameHeader h{len, kStreamFrameMagic};
    const char* p = reinterpret_cast<const char*>(&h);
    stream.insert(stream.end(), p, p + sizeof h);
    for (std::uint32_t i = 0; i < len; ++i)
      stream.push_back(static_cast<char>(i * 7 + len));
  }
  std::thread writer([&] {
    std::size_t at = 0;
    for (std::size_t piece : {1u, 7u, 2u, 1000u, 70000u}) {
      ::send(sv[1], stream.data() + at, piece, 0);
      at += piece;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    ::send(sv[1], stream.data() + at, stream.size() - at, 0);
  });
  for (std::uint32_t len : {3u, 150u * 1024u, 0u}) {
    auto m = rx.receive();
    ASSERT_TRUE(m) << m.error().reason;
    ASSERT_EQ(m->size(), len);
    for (std::uint32_t i = 0; i < len; ++i) {
      ASSERT_EQ((*m)[i], static_cast<std::byte>(static_cast<char>(i * 7 + len))) << i;
    }
    rx.release();
  }
  writer.join();
  // A frame that claims more than the endpoint takes is refused, not read into the buffer.
  StreamFrameHeader huge{static_cast<std::uint32_t>(e.max_message_bytes + 1), kStreamFrameMagic};
  ::send(sv[1], &huge, sizeof huge, 0);
  auto refused = rx.receive();
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Errc::message_too_large);
  ::close(sv[1]);
  ::close(sv[0]);
}

TEST(StreamFraming, BadMagicIsAProtocolError) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  Endpoint e;
  RawStream rx(e);
  ASSERT_TRUE(rx.attach_fd(sv[0]));
  StreamFrameHeader bad{4, 0xdeadbeef};
  ::send(sv[1], &bad, sizeof bad, 0);
  auto r = rx.receive();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::protocol);
  ::close(sv[0]);
  ::close(sv[1]);
}

}  // namespace
}  // namespace ipcbench

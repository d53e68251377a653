// The transport contract (transports/transport.hpp), written once and run over every name in
// the registry, in every wait mode it offers, with the two endpoints in two real processes.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/pair.hpp"
#include "transports/shm_names.hpp"

namespace ipcbench::testing {
namespace {

struct Case {
  std::string transport;
  WaitMode wait;
};

// How a case shows in test names and messages: "pipe block", not its bytes.
void PrintTo(const Case& c, std::ostream* os) {
  *os << c.transport << " " << to_string(c.wait);
}

std::vector<Case> all_cases() {
  std::vector<Case> cases;
  for (const auto& info : transports()) {
    for (WaitMode mode : info.capabilities().waits)
      cases.push_back({std::string(info.name), mode});
  }
  return cases;
}

std::string case_name(const ::testing::TestParamInfo<Case>& info) {
  std::string name = info.param.transport + "_" + std::string(to_string(info.param.wait));
  for (auto& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name;
}

// Every byte depends on the message number and its position, so a message that is stale,
// shifted, truncated, reordered or another's shows.
std::byte pattern(std::uint64_t seq, std::size_t i, int direction) {
  return static_cast<std::byte>((seq * 131 + i * 7 + (i >> 9) * 3 + direction * 61 + 1) & 0xff);
}

const std::vector<std::size_t> kSizes = {1, 64, 65536 + 1, 1 << 20};

std::string send_one(Transport& t, std::uint64_t seq, std::size_t bytes, int direction) {
  auto buf = t.loan(bytes);
  if (!buf) return "loan " + std::to_string(bytes) + ": " + buf.error().reason;
  if (buf->size() != bytes) return "loan gave " + std::to_string(buf->size()) + " bytes";
  for (std::size_t i = 0; i < bytes; ++i)
    (*buf)[i] = pattern(seq, i, direction);
  if (auto ok = t.send(bytes); !ok) return "send: " + ok.error().reason;
  return "";
}

std::string receive_one(Transport& t, std::uint64_t seq, std::size_t bytes, int direction) {
  auto msg = t.receive();
  if (!msg) return "receive message " + std::to_string(seq) + ": " + msg.error().reason;
  std::string wrong;
  if (msg->size() != bytes) {
    wrong = "message " + std::to_string(seq) + " has " + std::to_string(msg->size()) +
            " bytes, expected " + std::to_string(bytes);
  } else {
    for (std::size_t i = 0; i < bytes; ++i) {
      if ((*msg)[i] != pattern(seq, i, direction)) {
        wrong = "message " + std::to_string(seq) + " differs at byte " + std::to_string(i);
        break;
      }
    }
  }
  t.release();
  return wrong;
}

class Conformance : public ::testing::TestWithParam<Case> {
 protected:
  void SetUp() override {
    const TransportInfo* info = find_transport(GetParam().transport);
    ASSERT_NE(info, nullptr);
    if (!info->unavailable.empty()) GTEST_SKIP() << info->unavailable;
    options.transport = GetParam().transport;
    options.wait = GetParam().wait;
  }
  PairOptions options;
};

// Messages of 1 B, 64 B, 64 KiB + 1 and 1 MiB arrive whole, intact and in FIFO order, both
// ways, in a burst longer than the queue depth; nothing is left behind.
TEST_P(Conformance, MessagesArriveWholeIntactInOrderBothWays) {
  constexpr std::uint64_t kCount = 16;
  auto producer = [](Transport& t) -> std::string {
    for (std::uint64_t seq = 0; seq < kCount; ++seq) {
      if (auto e = send_one(t, seq, kSizes[seq % kSizes.size()], 0); !e.empty()) return e;
    }
    for (std::uint64_t seq = 0; seq < kCount; ++seq) {
      if (auto e = receive_one(t, seq, kSizes[(seq + 1) % kSizes.size()], 1); !e.empty()) return e;
    }
    return "";
  };
  // A pollable transport's descriptor says when the first message is there (reqresp's server
  // sleeps on it); any other has none.
  const bool pollable = find_transport(GetParam().transport)->capabilities().pollable;
  auto consumer = [pollable](Transport& t) -> std::string {
    if (!pollable && t.readable_fd() != -1) return "readable_fd() without Capabilities::pollable";
    if (pollable) {
      if (t.readable_fd() < 0) return "Capabilities::pollable without readable_fd()";
      pollfd pfd{t.readable_fd(), POLLIN, 0};
      if (::poll(&pfd, 1, 5000) != 1) return "readable_fd() not readable when a message came";
    }
    for (std::uint64_t seq = 0; seq < kCount; ++seq) {
      if (auto e = receive_one(t, seq, kSizes[seq % kSizes.size()], 0); !e.empty()) return e;
    }
    for (std::uint64_t seq = 0; seq < kCount; ++seq) {
      if (auto e = send_one(t, seq, kSizes[(seq + 1) % kSizes.size()], 1); !e.empty()) return e;
    }
    // Wait for the producer to finish reading before we go (our exit may not race its reads).
    auto done = t.receive();
    if (!done) return "final receive: " + done.error().reason;
    t.release();
    return "";
  };
  auto producer_then_done = [&](Transport& t) -> std::string {
    if (auto e = producer(t); !e.empty()) return e;
    return send_one(t, kCount, 1, 0);
  };
  PairOutcome r = run_pair(options, producer_then_done, consumer);
  ASSERT_EQ(r.setup_error, "");
  EXPECT_EQ(r.producer.verdict, "") << r.producer.exit;
  EXPECT_EQ(r.consumer.verdict, "") << r.consumer.exit;
  EXPECT_TRUE(r.leftovers.empty()) << "left behind: " << r.leftovers.front();
}

// A message larger than the endpoint's maximum is an error value, not a crash or a truncation.
TEST_P(Conformance, TooLargeIsAnError) {
  options.max_message_bytes = 4096;
  auto producer = [](Transport& t) -> std::string {
    auto big = t.loan(4097);
    if (big) return "loan of 4097 bytes on a 4096-byte endpoint succeeded";
    if (big.error().code != Errc::message_too_large) return "wrong error: " + big.error().reason;
    return send_one(t, 0, 4096, 0);
  };
  auto consumer = [](Transport& t) -> std::string {
    if (auto e = receive_one(t, 0, 4096, 0); !e.empty()) return e;
    return "";
  };
  PairOutcome r = run_pair(options, producer, consumer);
  ASSERT_EQ(r.setup_error, "");
  EXPECT_EQ(r.producer.verdict, "");
  EXPECT_EQ(r.consumer.verdict, "");
}

// The producer exits mid-stream: the consumer gets what was sent, then an error, not a hang.
std::string send_three_and_leave(Transport& t) {
  for (std::uint64_t seq = 0; seq < 3; ++seq) {
    if (auto e = send_one(t, seq, 64, 0); !e.empty()) return e;
  }
  return "";  // and exit, with the consumer expecting more
}

std::string expect_more_than_three(Transport& t) {
  for (std::uint64_t seq = 0; seq < 3; ++seq) {
    if (auto e = receive_one(t, seq, 64, 0); !e.empty()) return e;
  }
  auto more = t.receive();
  if (more) return "a fourth message arrived from a producer that sent three";
  if (more.error().code != Errc::peer_gone && more.error().code != Errc::timeout) {
    return "wrong error: " + std::string(to_string(more.error().code)) + ": " + more.error().reason;
  }
  return "";
}

// A producer that only sends exits with the consumer's credits unread. Closing a Unix socket with
// data unread resets the connection, and the peer lost the notices still queued for it
// (ECONNRESET on message 2 of 3: memfd-uds, about once in ten runs of the suite). The sleeps only
// order the events (the consumer's credit reaches the producer, which leaves before the consumer
// reads the last message); a slow machine can only make the test pass without showing anything.
TEST(NoticeTransports, AProducerThatLeavesWithCreditsUnreadLosesNoMessage) {
  for (const char* name : {"memfd-uds", "cma"}) {
    SCOPED_TRACE(name);
    const TransportInfo* info = find_transport(name);
    ASSERT_NE(info, nullptr);
    if (!info->unavailable.empty()) continue;
    PairOptions options;
    options.transport = name;
    options.queue_depth = 4;  // a credit after two messages
    options.timeout = std::chrono::milliseconds(3000);
    auto producer = [](Transport& t) -> std::string {
      for (std::uint64_t seq = 0; seq < 3; ++seq) {
        if (auto e = send_one(t, seq, 64, 0); !e.empty()) return e;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      return "";
    };
    auto consumer = [](Transport& t) -> std::string {
      for (std::uint64_t seq = 0; seq < 2; ++seq) {
        if (auto e = receive_one(t, seq, 64, 0); !e.empty()) return e;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(600));
      if (auto e = receive_one(t, 2, 64, 0); !e.empty()) return e;
      auto more = t.receive();
      if (more) return "a fourth message arrived from a producer that sent three";
      if (more.error().code != Errc::peer_gone) return "wrong error: " + more.error().reason;
      return "";
    };
    PairOutcome r = run_pair(options, producer, consumer);
    ASSERT_EQ(r.setup_error, "");
    EXPECT_EQ(r.producer.verdict, "");
    EXPECT_EQ(r.consumer.verdict, "");
  }
}

TEST_P(Conformance, PeerExitingMidStreamIsAnError) {
  options.timeout = std::chrono::milliseconds(3000);
  PairOutcome r = run_pair(options, send_three_and_leave, expect_more_than_three);
  ASSERT_EQ(r.setup_error, "");
  EXPECT_EQ(r.producer.verdict, "");
  EXPECT_EQ(r.consumer.verdict, "");
  EXPECT_TRUE(r.leftovers.empty()) << "left behind: " << r.leftovers.front();
}

// A message larger than a Unix seqpacket socket's send buffer goes as fragments. They were as
// large as the buffer (8 MiB), which the kernel cannot allocate in one piece: every send failed
// with ENOBUFS until the cell's time ran out. Two 64 MiB messages, checked byte by byte.
TEST(UnixDatagrams, MessagesLargerThanTheSendBufferArriveWhole) {
  for (const char* transport : {"unix-seqpacket", "unix-dgram"}) {
    SCOPED_TRACE(transport);
    PairOptions options;
    options.transport = transport;
    options.max_message_bytes = std::size_t{64} << 20;
    options.timeout = std::chrono::milliseconds(20000);
    options.deadline = std::chrono::milliseconds(40000);
    constexpr std::size_t kBytes = std::size_t{64} << 20;
    auto producer = [](Transport& t) -> std::string {
      for (std::uint64_t seq = 0; seq < 2; ++seq) {
        if (auto e = send_one(t, seq, kBytes, 0); !e.empty()) return e;
      }
      return "";
    };
    auto consumer = [](Transport& t) -> std::string {
      for (std::uint64_t seq = 0; seq < 2; ++seq) {
        if (auto e = receive_one(t, seq, kBytes, 0); !e.empty()) return e;
      }
      return "";
    };
    PairOutcome r = run_pair(options, producer, consumer);
    ASSERT_EQ(r.setup_error, "");
    EXPECT_EQ(r.producer.verdict, "");
    EXPECT_EQ(r.consumer.verdict, "");
  }
}

// Fast DDS 2.9's data-sharing listener re-reads forever a sample that a reader being deleted
// rejects, so that reader's deletion never returns (eProsima/Fast-DDS#6490). The driver deletes its
// reader only once the peer's writer has gone; before it did, about one run in four of the pair
// above hung the consumer at its close. Repeated, so that a return of the race shows.
TEST(FastddsDataSharing, AReaderIsDeletedWithoutHangingAfterThePeerLeaves) {
  const TransportInfo* info = find_transport("fastdds-datasharing");
  if (info == nullptr || !info->unavailable.empty()) GTEST_SKIP() << "no fastdds-datasharing";
  PairOptions options;
  options.transport = "fastdds-datasharing";
  options.wait = WaitMode::block;
  options.timeout = std::chrono::milliseconds(3000);
  options.deadline = std::chrono::milliseconds(15000);
  for (int run = 0; run < 15; ++run) {
    PairOutcome r = run_pair(options, send_three_and_leave, expect_more_than_three);
    ASSERT_EQ(r.setup_error, "") << "run " << run;
    ASSERT_EQ(r.producer.verdict, "") << "run " << run;
    ASSERT_EQ(r.consumer.verdict, "") << "run " << run;
    ASSERT_TRUE(r.leftovers.empty()) << "run " << run << " left " << r.leftovers.front();
  }
}

// The consumer is killed (SIGKILL) while the producer waits for its answer: an error.
TEST_P(Conformance, KilledConsumerIsAnErrorForTheProducer) {
  options.timeout = std::chrono::milliseconds(3000);
  auto producer = [](Transport& t) -> std::string {
    if (auto e = send_one(t, 0, 64, 0); !e.empty()) return e;
    auto answer = t.receive();
    if (answer) return "an answer came from a consumer that never sent one";
    return "";
  };
  auto consumer = [](Transport& t) -> std::string {
    if (auto e = receive_one(t, 0, 64, 0); !e.empty()) return e;
    ::pause();  // killed here
    return "not killed";
  };
  PairOutcome r = run_pair(options, producer, consumer, -1, 300);
  ASSERT_EQ(r.setup_error, "");
  EXPECT_EQ(r.producer.verdict, "");
  EXPECT_EQ(r.consumer.exit, "killed by SIGKILL");
}

// The producer is killed (SIGKILL) while the consumer waits for the next message: an error.
TEST_P(Conformance, KilledProducerIsAnErrorForTheConsumer) {
  options.timeout = std::chrono::milliseconds(3000);
  auto producer = [](Transport& t) -> std::string {
    if (auto e = send_one(t, 0, 64, 0); !e.empty()) return e;
    ::pause();  // killed here
    return "not killed";
  };
  auto consumer = [](Transport& t) -> std::string {
    if (auto e = receive_one(t, 0, 64, 0); !e.empty()) return e;
    auto more = t.receive();
    if (more) return "a second message came from a producer that sent one";
    return "";
  };
  PairOutcome r = run_pair(options, producer, consumer, 300, -1);
  ASSERT_EQ(r.setup_error, "");
  EXPECT_EQ(r.consumer.verdict, "");
  EXPECT_EQ(r.producer.exit, "killed by SIGKILL");
}

INSTANTIATE_TEST_SUITE_P(Registry, Conformance, ::testing::ValuesIn(all_cases()), case_name);

// --- Privacy ------------------------------------------------------------------------------------

// One case per transport: blocking where it offers it (no spinning), else its first mode.
std::vector<Case> one_case_each() {
  std::vector<Case> cases;
  for (const auto& info : transports()) {
    const auto waits = info.capabilities().waits;
    const bool block = std::ranges::find(waits, WaitMode::block) != waits.end();
    cases.push_back({std::string(info.name), block ? WaitMode::block : waits.front()});
  }
  return cases;
}

// Is `name` in /dev/shm mapped or held by an iox-roudi process (RouDi's memory, 0660 by iceoryx's
// choice: README says so)?
bool roudis(const std::string& name) {
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/proc", ec)) {
    std::ifstream comm(e.path() / "comm");
    std::string program;
    if (!std::getline(comm, program) || program != "iox-roudi") continue;
    std::set<std::string> names;
    add_shm_names_used_by(e.path().string(), names);
    if (names.contains(name)) return true;
  }
  return false;
}

// What an endpoint maps or holds open in /dev/shm once a message has gone both ways, and what a
// cell's directory holds, is readable and writable by this user only. Fast DDS made its segments
// 0644 (issue 21).
class Privacy : public Conformance {};

TEST_P(Privacy, WhatAnEndpointUsesInDevShmIsThisUsersAlone) {
  auto private_names = [](const std::string& side) -> std::string {
    std::set<std::string> names;
    add_shm_names_used_by("/proc/self", names);
    std::string open;
    for (const auto& name : names) {
      struct stat st {};
      if (::lstat(("/dev/shm/" + name).c_str(), &st) != 0 || (st.st_mode & 077) == 0) continue;
      if (roudis(name)) continue;
      char mode[8];
      std::snprintf(mode, sizeof mode, "%04o", st.st_mode & 07777);
      open += side + " uses /dev/shm/" + name + " of mode " + mode + "; ";
    }
    return open;
  };
  auto producer = [&](Transport& t) -> std::string {
    if (auto e = send_one(t, 0, 64, 0); !e.empty()) return e;
    if (auto e = receive_one(t, 0, 64, 1); !e.empty()) return e;
    std::string open = private_names("the producer");
    if (auto e = send_one(t, 1, 1, 0); !e.empty()) return e;
    return open;
  };
  auto consumer = [&](Transport& t) -> std::string {
    if (auto e = receive_one(t, 0, 64, 0); !e.empty()) return e;
    if (auto e = send_one(t, 0, 64, 1); !e.empty()) return e;
    std::string open = private_names("the consumer");
    if (auto e = receive_one(t, 1, 1, 0); !e.empty()) return e;
    return open;
  };
  PairOutcome r = run_pair(options, producer, consumer);
  ASSERT_EQ(r.setup_error, "");
  EXPECT_EQ(r.producer.verdict, "") << r.producer.exit;
  EXPECT_EQ(r.consumer.verdict, "") << r.consumer.exit;
}

INSTANTIATE_TEST_SUITE_P(Registry, Privacy, ::testing::ValuesIn(one_case_each()), case_name);

// --- Driver settings (--set) -------------------------------------------------------------------

// One setting of one transport at one end of its range.
struct SettingCase {
  std::string transport;
  std::string name;
  std::uint64_t value;
  std::string end;  // "min" or "max"
};

std::vector<SettingCase> setting_cases() {
  std::vector<SettingCase> cases;
  for (const auto& info : transports()) {
    if (!info.unavailable.empty()) continue;
    for (const OptionSpec& spec : options_of(info)) {
      cases.push_back({std::string(info.name), spec.name, spec.min, "min"});
      cases.push_back({std::string(info.name), spec.name, spec.max, "max"});
    }
  }
  return cases;
}

std::string setting_case_name(const ::testing::TestParamInfo<SettingCase>& info) {
  std::string name = info.param.transport + "_" + info.param.name + "_" + info.param.end;
  for (auto& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name;
}

class Settings : public ::testing::TestWithParam<SettingCase> {};

// A transport given a setting at either end of the range its driver declares still carries
// messages whole both ways, and one side reports what the kernel granted for it, once.
TEST_P(Settings, AtEitherEndOfItsRangeMessagesFlowAndTheGrantedValueIsReported) {
  const SettingCase& c = GetParam();
  PairOptions options;
  options.transport = c.transport;
  options.max_message_bytes = 65536 + 1;
  options.options = {{c.name, c.value}};
  // Each side writes what it reports to a file of its own: "<name>=<value>" lines.
  const std::string report = "/tmp/ipcbench-settings-" + std::to_string(::getpid());
  auto body = [&](Role role) {
    return [&, role](Transport& t) -> std::string {
      std::string e;
      for (std::uint64_t seq = 0; seq < 4 && e.empty(); ++seq) {
        const std::size_t bytes = seq % 2 ? 65536 + 1 : 64;
        e = role == Role::producer ? send_one(t, seq, bytes, 0) : receive_one(t, seq, bytes, 0);
        if (e.empty()) {
          e = role == Role::producer ? receive_one(t, seq, bytes, 1) : send_one(t, seq, bytes, 1);
        }
      }
      if (!e.empty()) return e;
      FILE* f = std::fopen((report + "-" + std::string(to_string(role))).c_str(), "w");
      if (!f) return "cannot write the report";
      for (const OptionValue& o : t.granted_options())
        std::fprintf(f, "%s=%llu\n", o.name.c_str(), static_cast<unsigned long long>(o.value));
      std::fclose(f);
      return "";
    };
  };
  PairOutcome r = run_pair(options, body(Role::producer), body(Role::consumer));
  ASSERT_EQ(r.setup_error, "");
  EXPECT_EQ(r.producer.verdict, "") << r.producer.exit;
  EXPECT_EQ(r.consumer.verdict, "") << r.consumer.exit;
  std::vector<std::string> reported;
  for (const char* role : {"producer", "consumer"}) {
    const std::string path = report + "-" + role;
    if (FILE* f = std::fopen(path.c_str(), "r")) {
      char line[256];
      while (std::fgets(line, sizeof line, f))
        reported.push_back(std::string(role) + ": " + line);
      std::fclose(f);
    }
    ::unlink(path.c_str());
  }
  ASSERT_EQ(reported.size(), 1u) << "each setting is reported by one side";
  const std::string& line = reported.front();
  EXPECT_NE(line.find(": " + c.name + "="), std::string::npos) << line;
  // A size the kernel granted (it may round or cap it); a count as given (pollfirst's 0 too).
  const std::uint64_t granted = std::stoull(line.substr(line.find('=') + 1));
  if (c.value == 0) {
    EXPECT_EQ(granted, 0u) << line;
  } else {
    EXPECT_GT(granted, 0u) << line;
  }
}

INSTANTIATE_TEST_SUITE_P(Registry, Settings, ::testing::ValuesIn(setting_cases()),
                         setting_case_name);

}  // namespace
}  // namespace ipcbench::testing

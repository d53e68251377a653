// The shared-memory ring (transports/shm_ring.hpp) and the transports on it (`shm`, `mmap-file`):
// the layout checks and a corrupt segment, FIFO over wrap-around, a two-thread stress in each
// wait mode, the futex wake-ups between two processes (the sleeper really slept), a killed peer
// in every wait mode, and that no name is left behind, also when a side is killed with SIGKILL.
// No test asserts on speed; every wait is bounded.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <random>
#include <thread>

#include "harness/run/resources.hpp"
#include "tests/pair.hpp"
#include "transports/shm_ring.hpp"

namespace ipcbench::testing {
namespace {

using namespace shm;
namespace fs = std::filesystem;

// A zeroed, page-aligned buffer standing in for a segment.
class Buffer {
 public:
  explicit Buffer(std::size_t bytes)
      : m_bytes(bytes), m_data(static_cast<std::byte*>(std::aligned_alloc(4096, bytes))) {
    std::memset(m_data, 0, bytes);
  }
  ~Buffer() { std::free(m_data); }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  std::span<std::byte> span() const { return {m_data, m_bytes}; }
  std::byte* data() const { return m_data; }
  SegmentHeader& header() const { return *reinterpret_cast<SegmentHeader*>(m_data); }

 private:
  std::size_t m_bytes;
  std::byte* m_data;
};

std::byte pattern(std::uint64_t seq, std::size_t i) {
  return static_cast<std::byte>((seq * 131 + i * 7 + 1) & 0xff);
}

std::string check_payload(std::span<const std::byte> got, std::uint64_t seq, std::size_t bytes) {
  if (got.size() != bytes) {
    return "message " + std::to_string(seq) + " has " + std::to_string(got.size()) + " bytes";
  }
  for (std::size_t i = 0; i < bytes; ++i) {
    if (got[i] != pattern(seq, i)) return "message " + std::to_string(seq) + " differs";
  }
  return "";
}

// ---- the layout --------------------------------------------------------------------------

TEST(ShmLayout, AFreshSegmentChecksOut) {
  auto layout = plan_layout(1000, 4);
  ASSERT_TRUE(layout);
  Buffer b(layout->segment_bytes);
  init_segment(b.span(), *layout, this_process());
  auto checked = check_segment(b.span());
  ASSERT_TRUE(checked) << checked.error().reason;
  EXPECT_EQ(checked->capacity, 4u);
  EXPECT_GE(checked->max_payload(), 1000u);
  EXPECT_EQ(checked->slot_bytes % kCacheLine, 0u);
  EXPECT_EQ(checked->ring_offset[0], layout->ring_offset[0]);
  EXPECT_EQ(checked->ring_offset[1], layout->ring_offset[1]);
}

TEST(ShmLayout, EveryCorruptHeaderFieldIsCorrupted) {
  auto layout = plan_layout(200, 8);
  ASSERT_TRUE(layout);
  const std::uint64_t size = layout->segment_bytes;
  const std::vector<std::pair<std::string, std::function<void(SegmentHeader&)>>> corruptions = {
      {"magic", [](SegmentHeader& h) { h.magic.store(42); }},
      {"version", [](SegmentHeader& h) { h.version = kSegmentVersion + 1; }},
      {"header size", [](SegmentHeader& h) { h.header_bytes = 8; }},
      {"segment larger than the mapping", [&](SegmentHeader& h) { h.segment_bytes = size + 1; }},
      {"no slots", [](SegmentHeader& h) { h.capacity = 0; }},
      {"too many slots", [](SegmentHeader& h) { h.capacity = kMaxCapacity + 1; }},
      {"huge capacity", [](SegmentHeader& h) { h.capacity = ~std::uint64_t{0}; }},
      {"slot smaller than a line", [](SegmentHeader& h) { h.slot_bytes = 8; }},
      {"slot not a multiple of a line", [](SegmentHeader& h) { h.slot_bytes += 1; }},
      {"huge slot", [](SegmentHeader& h) { h.slot_bytes = std::uint64_t{1} << 40; }},
      {"huge slot, wrapping", [](SegmentHeader& h) { h.slot_bytes = ~std::uint64_t{63}; }},
      {"ring misaligned", [](SegmentHeader& h) { h.ring_offset[0] += 8; }},
      {"ring inside the header", [](SegmentHeader& h) { h.ring_offset[0] = 0; }},
      {"ring past the end", [&](SegmentHeader& h) { h.ring_offset[1] = size; }},
      {"ring far past the end", [](SegmentHeader& h) { h.ring_offset[1] = ~std::uint64_t{63}; }},
      {"rings overlap", [](SegmentHeader& h) { h.ring_offset[1] = h.ring_offset[0] + 64; }},
      {"checksum", [](SegmentHeader& h) { h.checksum ^= 1; }},
  };
  for (const auto& [what, corrupt] : corruptions) {
    Buffer b(size);
    init_segment(b.span(), *layout, this_process());
    corrupt(b.header());
    auto checked = check_segment(b.span());
    ASSERT_FALSE(checked) << what << " went unnoticed";
    EXPECT_EQ(checked.error().code, Errc::corrupted) << what;
  }
  // A mapping shorter than the header, or than what the header says.
  Buffer b(size);
  init_segment(b.span(), *layout, this_process());
  EXPECT_FALSE(check_segment(b.span().first(sizeof(SegmentHeader) - 1)));
  EXPECT_FALSE(check_segment(b.span().first(size - 4096)));
}

// ---- the ring, in one process ------------------------------------------------------------

struct LocalRing {
  explicit LocalRing(std::size_t max_message, std::size_t capacity)
      : layout(*plan_layout(max_message, capacity)), buffer(layout.segment_bytes) {
    init_segment(buffer.span(), layout, this_process());
    writer = RingWriter(buffer.data(), layout, kToConsumer);
    reader = RingReader(buffer.data(), layout, kToConsumer);
  }
  RingControl& control() const {
    return *reinterpret_cast<RingControl*>(buffer.data() + layout.ring_offset[kToConsumer]);
  }
  std::byte* slot(std::uint64_t index) const {
    return buffer.data() + layout.ring_offset[kToConsumer] + sizeof(RingControl) +
           (index % layout.capacity) * layout.slot_bytes;
  }
  void push(std::uint64_t seq, std::size_t bytes) {
    for (std::size_t i = 0; i < bytes; ++i)
      writer.payload()[i] = pattern(seq, i);
    writer.commit(bytes, stats);
  }
  Layout layout;
  Buffer buffer;
  RingWriter writer;
  RingReader reader;
  WaitStats stats;
};

TEST(ShmRing, FifoAcrossWrapAround) {
  LocalRing ring(300, 4);
  std::uint64_t sent = 0, received = 0;
  for (int round = 0; round < 40; ++round) {
    // Fill to a different level each round, then drain, so the indices wrap unevenly.
    const int burst = 1 + round % 4;
    for (int k = 0; k < burst; ++k, ++sent) {
      auto space = ring.writer.has_space();
      ASSERT_TRUE(space && *space);
      ring.push(sent, sent * 37 % 301);
    }
    if (burst == 4) {
      auto full = ring.writer.has_space();
      ASSERT_TRUE(full);
      EXPECT_FALSE(*full);
    }
    for (; received < sent; ++received) {
      ASSERT_TRUE(ring.reader.has_data());
      auto message = ring.reader.front();
      ASSERT_TRUE(message);
      ASSERT_EQ(check_payload(*message, received, received * 37 % 301), "");
      ring.reader.pop(ring.stats);
    }
    EXPECT_FALSE(ring.reader.has_data());
  }
}

TEST(ShmRing, CorruptTailIsAnError) {
  for (std::uint64_t bad : {std::uint64_t{5}, std::uint64_t{1000}, ~std::uint64_t{0}}) {
    LocalRing ring(64, 4);
    for (std::uint64_t seq = 0; seq < 4; ++seq)
      ring.push(seq, 8);  // full: the next has_space() reads the tail
    ring.control().tail.store(bad);
    auto space = ring.writer.has_space();
    ASSERT_FALSE(space) << "tail " << bad;
    EXPECT_EQ(space.error().code, Errc::corrupted);
  }
}

TEST(ShmRing, CorruptLengthIsAnError) {
  const std::uint64_t slot_payload = plan_layout(64, 4)->max_payload();
  for (std::uint64_t bad : {slot_payload + 1, std::uint64_t{1} << 31, std::uint64_t{0xffffffff}}) {
    LocalRing ring(64, 4);
    ring.push(0, 16);
    // Right sequence, wrong length: the reader sees "a message" and must not trust its size.
    slot_word(ring.slot(0)).store(slot_word_value(0, bad));
    ASSERT_TRUE(ring.reader.has_data());
    auto message = ring.reader.front();
    ASSERT_FALSE(message) << "length " << bad;
    EXPECT_EQ(message.error().code, Errc::corrupted);
  }
}

TEST(ShmRing, AWrongSequenceIsNotAMessage) {
  LocalRing ring(64, 4);
  ring.push(0, 16);
  for (std::uint64_t seq : {std::uint64_t{0}, std::uint64_t{2}, std::uint64_t{5}}) {
    slot_word(ring.slot(0)).store(seq << 32 | 16);
    EXPECT_FALSE(ring.reader.has_data()) << "sequence " << seq;
  }
}

// Two threads stream messages of varying sizes through a small ring, in each wait mode: every
// message arrives whole, intact, in order. In block mode both sides sleep and wake each other.
class ShmRingStress : public ::testing::TestWithParam<WaitMode> {};

TEST_P(ShmRingStress, TwoThreadsKeepFifoAndIntegrity) {
  constexpr std::uint64_t kMessages = 50'000;
  LocalRing ring(512, 4);
  const WaitPolicy policy{GetParam(), 20'000'000'000, 2'000};
  const PeerLink self(nullptr, this_process());
  std::string writer_error;
  WaitStats writer_stats;
  std::thread writer([&] {
    std::mt19937 random(7);
    for (std::uint64_t seq = 0; seq < kMessages; ++seq) {
      auto ok = ring_wait([&] { return ring.writer.has_space(); }, no_check,
                          ring.writer.space_spot(), policy, self, writer_stats, "room");
      if (!ok) {
        writer_error = ok.error().reason;
        return;
      }
      const std::size_t bytes = random() % 513;
      for (std::size_t i = 0; i < bytes; ++i)
        ring.writer.payload()[i] = pattern(seq, i);
      ring.writer.commit(bytes, writer_stats);
    }
  });
  std::mt19937 random(7);
  std::string reader_error;
  WaitStats reader_stats;
  for (std::uint64_t seq = 0; seq < kMessages && reader_error.empty(); ++seq) {
    auto ok = ring_wait([&]() -> Result<bool> { return ring.reader.has_data(); },
                        [&] { return ring.reader.check_slot(); }, ring.reader.data_spot(), policy,
                        self, reader_stats, "message");
    if (!ok) {
      reader_error = ok.error().reason;
      break;
    }
    auto message = ring.reader.front();
    if (!message) {
      reader_error = message.error().reason;
      break;
    }
    reader_error = check_payload(*message, seq, random() % 513);
    ring.reader.pop(reader_stats);
  }
  writer.join();
  EXPECT_EQ(writer_error, "");
  EXPECT_EQ(reader_error, "");
  RecordProperty("futex_waits",
                 std::to_string(writer_stats.futex_waits + reader_stats.futex_waits));
}

INSTANTIATE_TEST_SUITE_P(Modes, ShmRingStress,
                         ::testing::Values(WaitMode::spin, WaitMode::block, WaitMode::adaptive),
                         [](const auto& info) { return std::string(to_string(info.param)); });

// ---- two processes ---------------------------------------------------------------------------

RingTransport* ring_of(Transport& t) {
  return dynamic_cast<RingTransport*>(&t);
}

// Polls `condition` every millisecond for up to 20 s.
bool eventually(const std::function<bool()>& condition) {
  for (int i = 0; i < 20'000; ++i) {
    if (condition()) return true;
    ::usleep(1000);
  }
  return false;
}

std::string send_one(Transport& t, std::uint64_t seq, std::size_t bytes) {
  auto buffer = t.loan(bytes);
  if (!buffer) return "loan: " + buffer.error().reason;
  for (std::size_t i = 0; i < bytes; ++i)
    (*buffer)[i] = pattern(seq, i);
  if (auto ok = t.send(bytes); !ok) return "send: " + ok.error().reason;
  return "";
}

std::string receive_one(Transport& t, std::uint64_t seq, std::size_t bytes) {
  auto message = t.receive();
  if (!message) return "receive: " + message.error().reason;
  std::string wrong = check_payload(*message, seq, bytes);
  t.release();
  return wrong;
}

std::string expect_peer_gone(const Result<void>& r, const char* what) {
  if (r) return std::string(what) + " succeeded with the peer dead";
  if (r.error().code != Errc::peer_gone) {
    return std::string(what) + ": " + std::string(to_string(r.error().code)) + ": " +
           r.error().reason;
  }
  return "";
}

struct PairCase {
  std::string transport;
  WaitMode wait;
};

std::string pair_case_name(const ::testing::TestParamInfo<PairCase>& info) {
  std::string name = info.param.transport + "_" + std::string(to_string(info.param.wait));
  for (auto& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name;
}

std::vector<PairCase> pair_cases(std::vector<WaitMode> modes) {
  std::vector<PairCase> cases;
  for (const char* transport : {"shm", "mmap-file"}) {
    for (WaitMode mode : modes)
      cases.push_back({transport, mode});
  }
  return cases;
}

class ShmPair : public ::testing::TestWithParam<PairCase> {
 protected:
  void SetUp() override {
    options.transport = GetParam().transport;
    options.wait = GetParam().wait;
    options.max_message_bytes = 4096;
    options.queue_depth = 4;
    // Long enough that a timeout never stands in for the peer_gone these tests expect.
    options.timeout = std::chrono::milliseconds(30'000);
    options.deadline = std::chrono::milliseconds(60'000);
  }
  void expect_clean(const PairOutcome& r) {
    EXPECT_EQ(r.setup_error, "");
    EXPECT_TRUE(r.leftovers.empty()) << "left behind: " << r.leftovers.front();
    EXPECT_FALSE(fs::exists(r.dir));
  }
  PairOptions options;
};

using ShmBlockPair = ShmPair;

// The consumer goes to sleep on the futex; the producer sends only once it sees the consumer's
// announcement, and the consumer is woken by it.
TEST_P(ShmBlockPair, ASleepingConsumerIsWokenByTheProducer) {
  auto producer = [](Transport& t) -> std::string {
    RingTransport* ring = ring_of(t);
    if (!ring) return "not a ring transport";
    if (!eventually([&] { return ring->peer_sleeps_for_data(); })) {
      return "the consumer never announced that it sleeps";
    }
    if (auto e = send_one(t, 0, 100); !e.empty()) return e;
    if (ring->wait_stats().futex_wakes == 0) return "the producer never woke the consumer";
    return receive_one(t, 1, 10);  // the consumer's answer: it was woken and got the message
  };
  auto consumer = [](Transport& t) -> std::string {
    if (auto e = receive_one(t, 0, 100); !e.empty()) return e;
    if (ring_of(t)->wait_stats().futex_waits == 0) return "the consumer never slept";
    return send_one(t, 1, 10);
  };
  PairOutcome r = run_pair(options, producer, consumer);
  EXPECT_EQ(r.producer.verdict, "") << r.producer.exit;
  EXPECT_EQ(r.consumer.verdict, "") << r.consumer.exit;
  expect_clean(r);
}

// The producer fills the ring and sleeps waiting for space; the consumer frees a slot and wakes it.
TEST_P(ShmBlockPair, AWriterSleepingOnAFullRingIsWokenByTheReader) {
  constexpr std::uint64_t kCount = 4 + 2;  // two past the four slots
  auto producer = [](Transport& t) -> std::string {
    for (std::uint64_t seq = 0; seq < kCount; ++seq) {
      if (auto e = send_one(t, seq, 300); !e.empty()) return e;
    }
    if (ring_of(t)->wait_stats().futex_waits == 0) return "the producer never slept";
    return receive_one(t, 99, 8);
  };
  auto consumer = [](Transport& t) -> std::string {
    RingTransport* ring = ring_of(t);
    if (!eventually([&] { return ring->peer_sleeps_for_space(); })) {
      return "the producer never announced that it sleeps on a full ring";
    }
    for (std::uint64_t seq = 0; seq < kCount; ++seq) {
      if (auto e = receive_one(t, seq, 300); !e.empty()) return e;
    }
    if (ring->wait_stats().futex_wakes == 0) return "the consumer never woke the producer";
    return send_one(t, 99, 8);
  };
  PairOutcome r = run_pair(options, producer, consumer);
  EXPECT_EQ(r.producer.verdict, "") << r.producer.exit;
  EXPECT_EQ(r.consumer.verdict, "") << r.consumer.exit;
  expect_clean(r);
}

INSTANTIATE_TEST_SUITE_P(Transports, ShmBlockPair,
                         ::testing::ValuesIn(pair_cases({WaitMode::block})), pair_case_name);

// SIGKILL on the producer while the consumer waits: peer_gone (not a timeout), and nothing left.
TEST_P(ShmPair, AKilledProducerIsPeerGoneForTheConsumer) {
  auto producer = [](Transport& t) -> std::string {
    if (auto e = send_one(t, 0, 64); !e.empty()) return e;
    ::pause();  // killed here
    return "not killed";
  };
  auto consumer = [](Transport& t) -> std::string {
    if (auto e = receive_one(t, 0, 64); !e.empty()) return e;
    auto more = t.receive();
    return expect_peer_gone(more ? Result<void>{} : std::unexpected(more.error()), "receive");
  };
  PairOutcome r = run_pair(options, producer, consumer, 300, -1);
  EXPECT_EQ(r.consumer.verdict, "");
  EXPECT_EQ(r.producer.exit, "killed by SIGKILL");
  expect_clean(r);
}

// SIGKILL on the consumer while the producer waits for space in a full ring: peer_gone.
TEST_P(ShmPair, AKilledConsumerIsPeerGoneForABlockedWriter) {
  auto producer = [](Transport& t) -> std::string {
    for (std::uint64_t seq = 0; seq < 4; ++seq) {
      if (auto e = send_one(t, seq, 64); !e.empty()) return e;
    }
    auto buffer = t.loan(64);
    if (!buffer) return "loan: " + buffer.error().reason;
    return expect_peer_gone(t.send(64), "send into a full ring");
  };
  auto consumer = [](Transport&) -> std::string {
    ::pause();  // killed here, having read nothing
    return "not killed";
  };
  PairOutcome r = run_pair(options, producer, consumer, -1, 300);
  EXPECT_EQ(r.producer.verdict, "");
  EXPECT_EQ(r.consumer.exit, "killed by SIGKILL");
  expect_clean(r);
}

INSTANTIATE_TEST_SUITE_P(Transports, ShmPair,
                         ::testing::ValuesIn(pair_cases({WaitMode::spin, WaitMode::block,
                                                         WaitMode::adaptive})),
                         pair_case_name);

// ---- set-up and names, in this process ---------------------------------------------------------

class ShmEndpoints : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    static int cells = 0;
    base.token = run_prefix() + "-s" + std::to_string(cells++);
    base.dir = "/tmp/" + base.token;
    ASSERT_EQ(::mkdir(base.dir.c_str(), 0700), 0);
    base.wait = WaitMode::block;
    base.max_message_bytes = 256;
    base.queue_depth = 4;
    base.timeout = std::chrono::milliseconds(2000);
    info = find_transport(GetParam());
    ASSERT_NE(info, nullptr);
  }
  void TearDown() override {
    // Nothing may be left: not in the directory, not in /dev/shm.
    std::error_code ec;
    EXPECT_TRUE(fs::is_empty(base.dir, ec)) << base.dir << " is not empty";
    fs::remove_all(base.dir, ec);
    auto left = names_with_prefix(base.token);
    EXPECT_TRUE(left.empty()) << "left behind: " << left.front();
    for (const auto& name : left)
      fs::remove_all(name, ec);
  }
  std::unique_ptr<Transport> make(Role role) {
    Endpoint e = base;
    e.role = role;
    auto made = info->make(e);
    EXPECT_TRUE(made);
    return made ? std::move(*made) : nullptr;
  }
  // Maps the segment at a consumer's address read-write, as a misbehaving third party would;
  // nullptr on failure. `bytes` gets its size.
  void* map_as_third_party(const std::string& address, std::size_t& bytes) {
    int fd = ::open(path_of(address).c_str(), O_RDWR);
    if (fd < 0) return nullptr;
    struct stat st;
    void* mem = MAP_FAILED;
    if (::fstat(fd, &st) == 0) {
      bytes = static_cast<std::size_t>(st.st_size);
      mem = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    }
    ::close(fd);
    return mem == MAP_FAILED ? nullptr : mem;
  }
  // Where the segment named `address` is in the file system.
  std::string path_of(const std::string& address) const {
    return address.starts_with('/') ? address : "/dev/shm/" + address;
  }
  Endpoint base;
  const TransportInfo* info = nullptr;
};

TEST_P(ShmEndpoints, TheSegmentIsOwnerOnlyWhateverTheUmask) {
  const mode_t old_mask = ::umask(0);
  auto consumer = make(Role::consumer);
  auto address = consumer->listen();
  ::umask(old_mask);
  ASSERT_TRUE(address) << address.error().reason;
  struct stat st;
  ASSERT_EQ(::stat(path_of(*address).c_str(), &st), 0) << path_of(*address);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_TRUE(path_of(*address).find(base.token) != std::string::npos);
  consumer.reset();
  EXPECT_FALSE(fs::exists(path_of(*address)));
}

// A corrupt header stops the producer at connect; a corrupt length or index in flight is an
// error for the side that reads it. Never a crash.
TEST_P(ShmEndpoints, ACorruptSegmentIsAnErrorNotACrash) {
  auto consumer = make(Role::consumer);
  auto address = consumer->listen();
  ASSERT_TRUE(address) << address.error().reason;
  // Map the segment ourselves, as a misbehaving third party would.
  std::size_t bytes = 0;
  void* mem = map_as_third_party(*address, bytes);
  ASSERT_NE(mem, nullptr);
  auto* base_ptr = static_cast<std::byte*>(mem);
  auto& header = *reinterpret_cast<SegmentHeader*>(mem);

  // (A producer removes the name when destroyed, also after a failed connect: these stay alive
  // until the end so that the next one still finds it.)
  header.magic.store(0);
  auto refused_1 = make(Role::producer);
  auto connected = refused_1->connect(*address);
  ASSERT_FALSE(connected);
  EXPECT_EQ(connected.error().code, Errc::corrupted);
  header.magic.store(kSegmentMagic);
  const std::uint64_t capacity = header.capacity;
  header.capacity = 1u << 30;
  auto refused_2 = make(Role::producer);
  connected = refused_2->connect(*address);
  ASSERT_FALSE(connected);
  EXPECT_EQ(connected.error().code, Errc::corrupted);
  header.capacity = capacity;

  // Both ends connect (the producer first: this is one thread).
  auto producer = make(Role::producer);
  ASSERT_TRUE(producer->connect(*address));
  ASSERT_TRUE(consumer->connect(""));
  ASSERT_EQ(send_one(*producer, 0, 16), "");
  std::byte* slots = base_ptr + header.ring_offset[kToConsumer] + sizeof(RingControl);
  slot_word(slots).store(slot_word_value(0, std::uint64_t{1} << 31));
  auto message = consumer->receive();
  ASSERT_FALSE(message);
  EXPECT_EQ(message.error().code, Errc::corrupted);

  // The producer fills the ring (the consumer took nothing), then finds a wild reader index.
  for (std::uint64_t seq = 1; seq < capacity; ++seq)
    ASSERT_EQ(send_one(*producer, seq, 16), "");
  reinterpret_cast<RingControl*>(base_ptr + header.ring_offset[kToConsumer])->tail.store(1000);
  ASSERT_TRUE(producer->loan(16));
  auto sent = producer->send(16);
  ASSERT_FALSE(sent);
  EXPECT_EQ(sent.error().code, Errc::corrupted);
  ::munmap(mem, bytes);
}

// Corruption found while waiting is reported as corruption, not as the timeout or the dead peer it
// would otherwise look like: a changed header, a peer record out of range, a wild slot word.
TEST_P(ShmEndpoints, CorruptionFoundWhileWaitingIsReportedAsSuch) {
  const std::vector<std::pair<std::string, std::function<void(std::byte*)>>> corruptions = {
      {"header checksum",
       [](std::byte* base) { reinterpret_cast<SegmentHeader*>(base)->checksum ^= 1; }},
      {"header capacity",
       [](std::byte* base) { reinterpret_cast<SegmentHeader*>(base)->capacity += 1; }},
      {"peer state",
       [](std::byte* base) {
         reinterpret_cast<SegmentHeader*>(base)->peer[kProducerSide].state.store(7);
       }},
      {"peer pid",
       [](std::byte* base) {
         reinterpret_cast<SegmentHeader*>(base)->peer[kProducerSide].pid.fetch_add(1);
       }},
      {"slot word",
       [](std::byte* base) {
         auto* header = reinterpret_cast<SegmentHeader*>(base);
         std::byte* slots = base + header->ring_offset[kToConsumer] + sizeof(RingControl);
         slot_word(slots).store(slot_word_value(12345, 16));
       }},
  };
  for (const auto& [what, corrupt] : corruptions) {
    auto consumer = make(Role::consumer);
    auto address = consumer->listen();
    ASSERT_TRUE(address) << address.error().reason;
    std::size_t bytes = 0;
    void* mem = map_as_third_party(*address, bytes);
    ASSERT_NE(mem, nullptr);
    auto producer = make(Role::producer);
    ASSERT_TRUE(producer->connect(*address));
    ASSERT_TRUE(consumer->connect(""));
    corrupt(static_cast<std::byte*>(mem));
    auto message = consumer->receive();  // nothing was sent: it waits, and checks meanwhile
    ASSERT_FALSE(message) << what;
    EXPECT_EQ(message.error().code, Errc::corrupted) << what << ": " << message.error().reason;
    ::munmap(mem, bytes);
  }
}

// The consumer is killed after making the segment, before the producer attaches: the producer
// finds it dead (a zombie, here: not reaped yet) and, as the survivor, removes the segment.
TEST_P(ShmEndpoints, TheSurvivorRemovesTheSegmentOfAConsumerKilledBeforeConnect) {
  int report[2];
  ASSERT_EQ(::pipe(report), 0);
  pid_t child = ::fork();
  if (child == 0) {
    ::close(report[0]);
    auto consumer = make(Role::consumer);
    auto address = consumer->listen();
    std::string line = (address ? *address : std::string("!")) + "\n";
    (void)!::write(report[1], line.data(), line.size());
    ::pause();  // killed here
    _exit(0);
  }
  ::close(report[1]);
  std::string address;
  char c;
  while (::read(report[0], &c, 1) == 1 && c != '\n')
    address += c;
  ::close(report[0]);
  ::kill(child, SIGKILL);
  ASSERT_NE(address, "!");
  ASSERT_TRUE(fs::exists(path_of(address))) << "the killed consumer's segment";
  ASSERT_TRUE(eventually([&] {
    auto state = read_process_state(child);
    return state && state->state == 'Z';
  }));
  auto producer = make(Role::producer);
  auto connected = producer->connect(address);
  ASSERT_FALSE(connected);
  EXPECT_EQ(connected.error().code, Errc::peer_gone) << connected.error().reason;
  producer.reset();
  EXPECT_FALSE(fs::exists(path_of(address))) << "the survivor did not remove the segment";
  int status = 0;
  ::waitpid(child, &status, 0);
}

INSTANTIATE_TEST_SUITE_P(Transports, ShmEndpoints, ::testing::Values("shm", "mmap-file"),
                         [](const auto& info) {
                           return info.param == "shm" ? std::string("shm")
                                                      : std::string("mmap_file");
                         });

}  // namespace
}  // namespace ipcbench::testing

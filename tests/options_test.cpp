#include "harness/cli/options.hpp"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <map>
#include <set>

#include <fmt/format.h>

#include "harness/run/process.hpp"

namespace ipcbench {
namespace {

TEST(ParseSize, UnitsAndPlainNumbers) {
  EXPECT_EQ(parse_size("64").value(), 64u);
  EXPECT_EQ(parse_size("100B").value(), 100u);
  EXPECT_EQ(parse_size("4KiB").value(), 4096u);
  EXPECT_EQ(parse_size("1MiB").value(), 1u << 20);
  EXPECT_EQ(parse_size("1mib").value(), 1u << 20);
  EXPECT_EQ(parse_size("2GiB").value(), 2ull << 30);
  EXPECT_EQ(parse_size("1KB").value(), 1000u);
  EXPECT_EQ(parse_size("1MB").value(), 1000000u);
}

TEST(ParseSize, BadValuesNameThemselvesAndWhatIsAllowed) {
  for (const char* bad : {"12XB", "", "MiB", "-5", "1.5MiB", "1 MiB", "99999999999999999999"}) {
    auto r = parse_size(bad);
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_NE(r.error().find(std::string("'") + bad + "'"), std::string::npos) << r.error();
    EXPECT_NE(r.error().find("KiB"), std::string::npos) << r.error();
  }
}

TEST(ParseSizes, ListsAndRanges) {
  EXPECT_EQ(parse_sizes("64,1MiB").value(), (std::vector<std::size_t>{64, 1 << 20}));
  EXPECT_EQ(parse_sizes("8..64").value(), (std::vector<std::size_t>{8, 16, 32, 64}));
  EXPECT_EQ(parse_sizes("8..4MiB:8").value(),
            (std::vector<std::size_t>{8, 64, 512, 4096, 32768, 262144, 2097152}));
  EXPECT_EQ(parse_sizes("8..100").value(), (std::vector<std::size_t>{8, 16, 32, 64}));
  EXPECT_FALSE(parse_sizes("4").has_value());  // below the 8-byte sequence number
  EXPECT_FALSE(parse_sizes("1GiB").has_value());
  EXPECT_FALSE(parse_sizes("64..8").has_value());
  EXPECT_FALSE(parse_sizes("8..64:1").has_value());
  EXPECT_FALSE(parse_sizes("8..64:x").has_value());
}

TEST(ParseTransports, KnownUnknownAndAll) {
  auto all = parse_transports("all").value();
  EXPECT_GE(all.size(), 6u);
  EXPECT_EQ(parse_transports("pipe,tcp,pipe").value(), (std::vector<std::string>{"pipe", "tcp"}));
  auto bad = parse_transports("pipe,carrier-pigeon");
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().find("'carrier-pigeon'"), std::string::npos);
  EXPECT_NE(bad.error().find("unix-stream"), std::string::npos);  // the list of known ones
}

TEST(ParseOthers, ScenariosTouchWaitCpus) {
  EXPECT_EQ(parse_scenarios("throughput").value(),
            std::vector<Scenario>{find_scenario("throughput")});
  EXPECT_FALSE(parse_scenarios("latency").has_value());
  EXPECT_EQ(parse_touches("all").value(), (std::vector<Touch>{Touch::edges, Touch::full}));
  EXPECT_FALSE(parse_touches("some").has_value());
  EXPECT_TRUE(parse_waits("spin,block").has_value());
  // Parsed once, into typed choices: each kind, and a repeat kept once.
  EXPECT_EQ(parse_waits("native,all,adaptive,native").value(),
            (std::vector<WaitChoice>{WaitChoice::native(), WaitChoice::all(),
                                     WaitChoice::only(WaitMode::adaptive)}));
  EXPECT_FALSE(parse_waits("sleepy").has_value());
  EXPECT_FALSE(parse_cpus("0").has_value());
  EXPECT_FALSE(parse_cpus("").has_value());
  EXPECT_FALSE(parse_cpus("0,1;").has_value());
  EXPECT_EQ(parse_cpus("0,0").value(), (std::vector<std::pair<int, int>>{{0, 0}}));
  if (allowed_cpus().size() >= 2) {
    const int a = allowed_cpus()[0], b = allowed_cpus()[1];
    const std::string pairs = fmt::format("{},{};{},{};{},{}", a, b, b, a, a, b);
    EXPECT_EQ(parse_cpus(pairs).value(),
              (std::vector<std::pair<int, int>>{{a, b}, {b, a}}));  // once each
  }
  auto missing = parse_cpus("0,4096");
  ASSERT_FALSE(missing.has_value());
  EXPECT_NE(missing.error().find("4096"), std::string::npos);
}

TEST(ExpandCells, DefaultsPerScenario) {
  RunOptions o;
  o.transports = {"unix-stream", "tcp"};
  std::vector<std::string> skipped;
  auto cells = expand_cells(o, skipped);
  // pingpong: 64 B, full; throughput: 1 MiB, edges and full. One native wait mode each.
  ASSERT_EQ(cells.size(), 2u + 4u);
  EXPECT_EQ(cells[0].name(), "pingpong/unix-stream/64/block/full");
  EXPECT_EQ(cells[0].count, kDefaultIterations);
  EXPECT_EQ(cells[2].name(), "throughput/unix-stream/1048576/block/edges");
  EXPECT_EQ(cells[2].count, kDefaultMessages);
  o.waits = {WaitChoice::all()};
  o.quick = true;
  o.scenarios = {find_scenario("pingpong")};
  cells = expand_cells(o, skipped);
  EXPECT_EQ(cells.size(), 6u);  // three modes each
  EXPECT_EQ(cells[0].count, kQuickIterations);
}

// A thousand warm-up round trips of 4 MiB over a slow middleware took longer than the cell's 60 s
// limit (the budget counts only measured round trips): large messages warm up fewer times.
TEST(ExpandCells, PingpongWarmupShrinksForLargeMessagesUnlessGiven) {
  RunOptions o;
  o.transports = {"unix-stream"};
  o.scenarios = {find_scenario("pingpong")};
  o.sizes = {8, 64 * 1024, 256 * 1024, 4u << 20, 64u << 20};
  std::vector<std::string> skipped;
  std::map<std::size_t, std::uint64_t> got;
  for (const auto& c : expand_cells(o, skipped))
    got[c.bytes] = c.warmup;
  EXPECT_EQ(got[8], kDefaultPingpongWarmup);
  EXPECT_EQ(got[64 * 1024], kDefaultPingpongWarmup);
  EXPECT_EQ(got[256 * 1024], 250u);
  EXPECT_EQ(got[4u << 20], 16u);
  EXPECT_EQ(got[64u << 20], kMinPingpongWarmup);
  o.quick = true;
  got.clear();
  for (const auto& c : expand_cells(o, skipped))
    got[c.bytes] = c.warmup;
  EXPECT_EQ(got[8], kQuickPingpongWarmup);
  EXPECT_EQ(got[4u << 20], kMinPingpongWarmup);
  o.warmup = 5;  // given: the same for every size
  for (const auto& c : expand_cells(o, skipped))
    EXPECT_EQ(c.warmup, 5u);
}

TEST(ExpandCells, ThroughputMessagesScaleWithSizeUnlessGiven) {
  RunOptions o;
  o.transports = {"unix-stream"};
  o.scenarios = {find_scenario("throughput")};
  o.touches = {Touch::full};
  o.sizes = {64, 4096, 256 * 1024, 1 << 20, 64u << 20};
  std::vector<std::string> skipped;
  auto cells = expand_cells(o, skipped);
  ASSERT_EQ(cells.size(), 5u);
  using Pair = std::pair<std::uint64_t, std::uint64_t>;  // count, warm-up
  std::map<std::size_t, Pair> got;
  for (const auto& c : cells)
    got[c.bytes] = {c.count, c.warmup};
  // About the same bytes a cell: 1000 x 1 MiB as before, bounded at both ends. The warm-up goes
  // twice through the queue (2 x queue_depth_for: 32 messages of 1 MiB), at most 256 MiB (once
  // through the 4 of 64 MiB): with the hundredth it was before (10 at 1 MiB), a 1 MiB shm stream
  // measured half its speed here.
  EXPECT_EQ(got[1 << 20], Pair(1000, 64));
  EXPECT_EQ(got[256 * 1024], Pair(4000, 128));
  EXPECT_EQ(got[64u << 20], Pair(kMinDefaultMessages, 4));
  EXPECT_EQ(got[4096].first, kMaxDefaultMessages);
  EXPECT_EQ(got[64], Pair(kMaxDefaultMessages, 1000));
  o.quick = true;
  cells = expand_cells(o, skipped);
  for (const auto& c : cells) {
    if (c.bytes == (1u << 20)) {
      EXPECT_EQ(c.count, kQuickMessages);
    }
  }
  // Given, the same for every size.
  o.messages = 50;
  o.warmup = 3;
  cells = expand_cells(o, skipped);
  for (const auto& c : cells) {
    EXPECT_EQ(c.count, 50u) << c.name();
    EXPECT_EQ(c.warmup, 3u) << c.name();
  }
}

// Zerocopy's producer CPU per 1 MiB message to four consumers was 139 us after 40 warm-up
// messages and 54 us after 140: its pool holds about 4 x 32 chunks and the first pass over them is
// cold. Large fanout messages warm up through every consumer's queue twice over.
TEST(ExpandCells, FanoutWarmupGoesThroughEveryConsumersQueue) {
  RunOptions o;
  o.transports = {"zerocopy"};
  o.scenarios = {find_scenario("fanout")};
  o.waits = {WaitChoice::only(WaitMode::block)};
  o.sizes = {64, 1u << 20, 64u << 20};
  o.subscribers = {1, 4};
  std::vector<std::string> skipped;
  std::map<std::pair<std::size_t, unsigned>, std::uint64_t> got;
  for (const auto& c : expand_cells(o, skipped))
    got[{c.bytes, c.subscribers}] = c.warmup;
  auto at = [&](std::size_t bytes, unsigned n) { return got[{bytes, n}]; };
  EXPECT_EQ(at(64, 1), kDefaultPingpongWarmup);
  EXPECT_EQ(at(64, 4), kDefaultPingpongWarmup);
  EXPECT_EQ(at(1u << 20, 1), 2 * queue_depth_for(1u << 20));
  EXPECT_EQ(at(1u << 20, 4), 5 * queue_depth_for(1u << 20));
  EXPECT_GE(at(1u << 20, 4), 4 * 32u + 1);
  EXPECT_EQ(at(64u << 20, 4), kMaxStreamWarmupBytes / (64u << 20));
  o.warmup = 7;  // given: as given
  for (const auto& c : expand_cells(o, skipped))
    EXPECT_EQ(c.warmup, 7u) << c.name();
}

// zerocopy's service holds 63 processes: 64 consumers failed every such cell with "max_nodes = 67
// is outside [1, 63]"; now they are skipped with the reason, and 62 (the most) are a cell.
TEST(ExpandCells, FanoutBeyondATransportsMostConsumersIsSkippedWithTheReason) {
  RunOptions o;
  o.transports = {"zerocopy", "unix-stream"};
  o.scenarios = {find_scenario("fanout")};
  o.waits = {WaitChoice::only(WaitMode::block)};
  o.sizes = {64};
  o.subscribers = {62, 64};
  std::vector<std::string> skipped;
  std::set<std::string> names;
  for (const auto& c : expand_cells(o, skipped))
    names.insert(c.name());
  EXPECT_EQ(names, (std::set<std::string>{"fanout/zerocopy/64/block/full/n62",
                                          "fanout/unix-stream/64/block/full/n62",
                                          "fanout/unix-stream/64/block/full/n64"}));
  EXPECT_EQ(skipped,
            std::vector<std::string>{
                "fanout/zerocopy/64/block/full/n64: zerocopy serves at most 62 consumers"});
}

// README promised "a fifth of a second of the schedule" as rate's warm-up, but it was at least 10
// messages: at 1 message/s a 2 s cell took 11 s.
TEST(ExpandCells, RateWarmsUpForAFifthOfASecondOfItsScheduleAtLeastOneMessage) {
  RunOptions o;
  o.transports = {"unix-stream"};
  o.scenarios = {find_scenario("rate")};
  o.rates = {1, 20, 1000, 0};
  std::vector<std::string> skipped;
  std::map<double, std::uint64_t> got;
  for (const auto& c : expand_cells(o, skipped))
    got[c.rate] = c.warmup;
  EXPECT_EQ(got[1], 1u);
  EXPECT_EQ(got[20], 4u);
  EXPECT_EQ(got[1000], 200u);
  EXPECT_EQ(got[0], 1000u);
}

// `--budget 20 --timeout 20` timed out every cell: a cell's timeout must hold its budget (or
// rate's duration) and a margin for set-up, warm-up and exit.
TEST(FitTimeout, AGivenTimeoutThatCannotHoldTheMeasuredPhaseIsAUsageError) {
  RunOptions o;
  o.scenarios = {find_scenario("pingpong")};
  o.budget = std::chrono::seconds(20);
  o.timeout = std::chrono::seconds(20);
  auto fitted = fit_timeout(o, true);
  ASSERT_FALSE(fitted);
  EXPECT_NE(fitted.error().find("--timeout 25 or more"), std::string::npos) << fitted.error();
  o.timeout = std::chrono::seconds(25);
  fitted = fit_timeout(o, true);
  ASSERT_TRUE(fitted);
  EXPECT_FALSE(*fitted);
  // rate: its duration and its warm-up (a second at 1 message/s), not the budget.
  o.scenarios = {find_scenario("rate")};
  o.duration = std::chrono::seconds(25);
  o.rates = {1};
  fitted = fit_timeout(o, true);
  ASSERT_FALSE(fitted);
  EXPECT_NE(fitted.error().find("--timeout 31 or more"), std::string::npos) << fitted.error();
}

TEST(FitTimeout, TheDefaultTimeoutGrowsKeepingItsMarginAndSaysSo) {
  RunOptions o;
  o.scenarios = {find_scenario("pingpong"), find_scenario("throughput")};
  auto fitted = fit_timeout(o, false);  // the defaults fit
  ASSERT_TRUE(fitted);
  EXPECT_FALSE(*fitted);
  EXPECT_EQ(o.timeout, std::chrono::seconds(60));
  o.budget = std::chrono::seconds(100);
  fitted = fit_timeout(o, false);
  ASSERT_TRUE(fitted && *fitted);
  EXPECT_EQ(o.timeout, std::chrono::seconds(150));
  EXPECT_NE((*fitted)->find("--budget 100 s"), std::string::npos) << **fitted;
}

TEST(Labels, NamesKeysAndValuesArePrintableWithoutPipesAndOfASaneLength) {
  RunOptions o;
  EXPECT_TRUE(parse_label("box", o));
  EXPECT_EQ(o.label, "box");
  EXPECT_TRUE(parse_label("kernel=6.1", o));
  EXPECT_TRUE(parse_label("note=größer", o));  // UTF-8 is printable
  ASSERT_EQ(o.labels.size(), 2u);
  for (const std::string& bad :
       {std::string("x\ny"), std::string("a|b"), std::string("k=v|w"), std::string("k=\t"),
        std::string("k="), std::string(101, 'a'), std::string("k=\xc2\x85"), std::string("\x7f")}) {
    RunOptions fresh;
    EXPECT_FALSE(parse_label(bad, fresh)) << bad;
  }
  EXPECT_FALSE(parse_label("second", o));  // one NAME
}

// What a worker reports as its channels' shared memory: a shared mapping counts by its size while
// mapped; a private one does not.
TEST(Process, SharedMappedBytesCountsSharedMappingsOnly) {
  const std::uint64_t before = shared_mapped_bytes();
  const int fd = ::memfd_create("ipcbench-test", 0);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::ftruncate(fd, 3 << 20), 0);
  void* shared = ::mmap(nullptr, 3 << 20, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  void* priv = ::mmap(nullptr, 5 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(shared, MAP_FAILED);
  ASSERT_NE(priv, MAP_FAILED);
  EXPECT_EQ(shared_mapped_bytes() - before, std::uint64_t{3} << 20);
  ::munmap(shared, 3 << 20);
  ::munmap(priv, 5 << 20);
  ::close(fd);
  EXPECT_EQ(shared_mapped_bytes(), before);
  // This process's resident memory is some megabytes; a process that is not there has none.
  EXPECT_GT(resident_bytes(::getpid()).value_or(0), std::uint64_t{1} << 20);
  EXPECT_FALSE(resident_bytes(-1));
}

}  // namespace
}  // namespace ipcbench

// Every transport from one producer to one and to three consumers (the fanout scenario), through
// the real harness: each consumer checks every message (sequence and pattern), so a cell that
// succeeds delivered every message whole, in order, once, to every consumer. A multicast
// transport must say it published once ("native"); a point-to-point one that it sent N copies.
// And the other way (the reqresp scenario): one and three clients of one server, every request
// and response checked; a transport without a descriptor to wait on is refused three clients
// with its reason, never run half-way.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>

#include <nlohmann/json.hpp>

#include "tests/cli_run.hpp"
#include "transports/dds_names.hpp"
#include "transports/transport.hpp"

namespace ipcbench::testing {
namespace {

std::vector<std::string> available() {
  std::vector<std::string> out;
  for (const auto& info : transports()) {
    if (info.unavailable.empty()) out.emplace_back(info.name);
  }
  return out;
}

// The mode a transport's fanout and reqresp cells run in: block where it offers it (four processes
// share two CPUs; a block case runs beside the spinning tests, tests/locks.cmake), else the first
// it offers. Test names end with it. The conformance suite runs every mode 1 -> 1.
std::string fanout_wait(const std::string& transport) {
  const Capabilities caps = find_transport(transport)->capabilities();
  return std::ranges::find(caps.waits, WaitMode::block) != caps.waits.end()
             ? "block"
             : std::string(to_string(caps.waits.front()));
}

// `ipcbench run ARGS --out <a temporary file>`: what it printed and its cells, and the names its
// run left behind.
struct Outcome {
  Ran ran;
  bool read = false;  // the results file was there
  nlohmann::json cells;
  std::vector<std::string> left;
};
Outcome run_cells(const std::string& tag, const std::string& args) {
  const testing::TempFile out_file(tag);
  const std::string& out = out_file.path;
  Background run("run " + args + " --out " + out, out + ".log");
  const int code = run.wait();
  Outcome o;
  o.ran = Ran{code, read_file(out + ".log")};
  std::filesystem::remove(out + ".log");
  o.left = names_of_run(run.pid());
  std::ifstream in(out);
  if (!in) return o;
  o.read = true;
  o.cells = iteration_entries(nlohmann::json::parse(in));
  return o;
}

class Fanout : public ::testing::TestWithParam<std::string> {};

TEST_P(Fanout, OneProducerReachesOneAndThreeConsumersWithEveryMessage) {
  const TransportInfo* info = find_transport(GetParam());
  ASSERT_NE(info, nullptr);
  const Capabilities caps = info->capabilities();
  const std::string wait = fanout_wait(GetParam());
  const std::string subscribers = wait == "spin" ? "1" : "1,3";
  const Outcome o = run_cells("fanout-" + GetParam(),
                              "--transports " + GetParam() + " --scenarios fanout --subscribers " +
                                  subscribers + " --sizes 64,64KiB --wait " + wait +
                                  " --messages 200 --warmup 5 --repetitions 1");
  const Ran& r = o.ran;
  ASSERT_TRUE(o.read) << r.out;
  const auto& cells = o.cells;
  ASSERT_EQ(cells.size(), subscribers == "1" ? 2u : 4u) << r.out;
  for (const auto& e : cells) {
    const std::string name = e.at("name");
    ASSERT_FALSE(e.value("error_occurred", false)) << name << ": " << e.value("error_message", "");
    EXPECT_EQ(e.at("delivered").get<double>(), 200) << name;
    EXPECT_EQ(e.at("delivery"), caps.multicast ? "native" : "N copies") << name;
    EXPECT_EQ(e.at("lost").get<double>(), 0) << name;
    // Every consumer got every message, so the slowest consumer's rate is the rate to all: both
    // run from the producer's first send. (A consumer's own first-to-last receive would be far
    // faster for a consumer that drained a full buffer in one burst.)
    const double to_all = e.at("msgs_per_s").get<double>() * e.at("payload_bytes").get<double>();
    EXPECT_NEAR(e.at("consumer_bytes_per_second_min").get<double>(), to_all, to_all * 1e-9) << name;
    EXPECT_LE(e.at("consumer_bytes_per_second_min").get<double>(),
              e.at("consumer_bytes_per_second_median").get<double>())
        << name;
  }
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(o.left, std::vector<std::string>{});
}

class Reqresp : public ::testing::TestWithParam<std::string> {};

TEST_P(Reqresp, OneServerAnswersOneAndThreeClientsEveryRequest) {
  const Capabilities caps = find_transport(GetParam())->capabilities();
  const std::string wait = fanout_wait(GetParam());
  const Outcome o =
      run_cells("reqresp-" + GetParam(), "--transports " + GetParam() +
                                             " --scenarios reqresp --clients 1,3 --wait " + wait +
                                             " --iterations 300 --warmup 5 --repetitions 1");
  const Ran& r = o.ran;
  ASSERT_TRUE(o.read) << r.out;
  const auto& cells = o.cells;
  const bool three = (caps.pollable || caps.fan_in) && wait == "block";
  ASSERT_EQ(cells.size(), three ? 2u : 1u) << r.out;
  for (const auto& e : cells) {
    const std::string name = e.at("name");
    ASSERT_FALSE(e.value("error_occurred", false)) << name << ": " << e.value("error_message", "");
    const double n = e.at("clients").get<double>();
    // Each client measured 300 round trips; the server answered, while all of them measured, at
    // most all of those, and at least one.
    EXPECT_GE(e.at("iterations").get<double>(), 1) << name;
    EXPECT_LE(e.at("iterations").get<double>(), 300 * n) << name;
    EXPECT_GT(e.at("requests_per_s").get<double>(), 0) << name;
    EXPECT_GE(e.at("slowest_p99_ns").get<double>(), e.at("p50_ns").get<double>()) << name;
    EXPECT_GT(e.at("server_cpu_per_request_ns").get<double>(), 0) << name;
  }
  if (!three) {
    EXPECT_NE(r.out.find("reqresp/" + GetParam() + "/64/" + wait + "/full/c3: "), std::string::npos)
        << r.out;
  }
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(o.left, std::vector<std::string>{});
}

// The loaded scenario: two channels between the same two workers, the round trips timed idle and
// beside a stream whose every message is checked; a transport with one channel only is refused
// with its reason.
TEST(Loaded, RoundTripsAreTimedIdleAndBesideAStreamOverASecondChannel) {
  // Each phase ends on its budget (half of 0.1 s), as a default run's do, not on a count.
  const Outcome o = run_cells("loaded",
                              "--transports unix-stream,shm,zerocopy,pipe,grpc-uds,cyclonedds "
                              "--scenarios loaded --wait block --budget 0.1 --warmup 5 "
                              "--repetitions 1");
  const Ran& r = o.ran;
  ASSERT_TRUE(o.read) << r.out;
  // gRPC's and Cyclone's two channels share a connection (a domain) between the two workers.
  ASSERT_EQ(o.cells.size(), 5u) << r.out;
  for (const auto& e : o.cells) {
    const std::string name = e.at("name");
    ASSERT_FALSE(e.value("error_occurred", false)) << name << ": " << e.value("error_message", "");
    EXPECT_GT(e.at("idle_p50_ns").get<double>(), 0) << name;
    EXPECT_GT(e.at("p50_ns").get<double>(), 0) << name;
    EXPECT_GE(e.at("delivered").get<double>(), 1) << name;  // stream messages, each checked
    EXPECT_GT(e.at("load_bytes_per_second").get<double>(), 0) << name;
  }
  EXPECT_NE(r.out.find("loaded/pipe/64/block/full: "), std::string::npos) << r.out;
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(o.left, std::vector<std::string>{});
}

// A transport that serves many clients itself (Capabilities::fan_in: zerocopy's request-response)
// runs one client in every wait mode it offers, through the same single endpoint as for many.
// (The name ends in _spin: it spins, and takes the cpu_spin lock.)
TEST(ReqrespNative, OneClientInEveryWaitModeOfTheServersOwnEndpoint_spin) {
  for (const TransportInfo& info : transports()) {
    const Capabilities caps = info.capabilities();
    if (!caps.fan_in) continue;
    std::string waits;
    for (WaitMode w : caps.waits)
      waits += (waits.empty() ? "" : ",") + std::string(to_string(w));
    const std::string name(info.name);
    const Outcome o =
        run_cells("reqresp-native-" + name, "--transports " + name +
                                                " --scenarios reqresp --clients 1 --wait " + waits +
                                                " --iterations 300 --warmup 5 --repetitions 1");
    ASSERT_TRUE(o.read) << o.ran.out;
    ASSERT_EQ(o.cells.size(), caps.waits.size()) << o.ran.out;
    for (const auto& e : o.cells) {
      EXPECT_FALSE(e.value("error_occurred", false))
          << e.at("name").get<std::string>() << ": " << e.value("error_message", "");
      EXPECT_GE(e.at("iterations").get<double>(), 1);
    }
    EXPECT_EQ(o.ran.code, 0) << o.ran.out;
    EXPECT_EQ(o.left, std::vector<std::string>{});
  }
}

// Clients stop at their own pace and leave: the server of a transport that serves many itself
// goes on answering the others. (zerocopy's and dbus's servers took the first client to leave for
// a client gone and failed the cell: zerocopy's in every run made at 8 clients and more, each
// client measuring for a budget, as a default run's do.)
TEST(ReqrespNative, EightClientsLeaveOneByOneAndTheServerAnswersTheRest) {
  std::string names;
  unsigned count = 0;
  for (const TransportInfo& info : transports()) {
    const Capabilities caps = info.capabilities();
    if (!caps.fan_in || caps.max_clients < 8 || !info.unavailable.empty()) continue;
    names += (names.empty() ? "" : ",") + std::string(info.name);
    ++count;
  }
  const Outcome o = run_cells("reqresp-leave", "--transports " + names +
                                                   " --scenarios reqresp --clients 8 --wait block "
                                                   "--budget 0.1 --warmup 5 --repetitions 1");
  ASSERT_TRUE(o.read) << o.ran.out;
  ASSERT_EQ(o.cells.size(), count) << o.ran.out;
  for (const auto& e : o.cells) {
    EXPECT_FALSE(e.value("error_occurred", false))
        << e.at("name").get<std::string>() << ": " << e.value("error_message", "");
  }
  EXPECT_EQ(o.ran.code, 0) << o.ran.out;
  EXPECT_EQ(o.left, std::vector<std::string>{});
}

// overload: zerocopy dropping (safe overflow) and blocking (backpressure), a kernel stream, udp
// and the DDS libraries dropping.
// What is lost is accounted for: sent = delivered + lost, the consumer's sequence check saw at
// most that many gaps (the rest after its last message), and a transport that blocks loses
// nothing. (The consumer and the paced producer spin: the name ends in _spin for the lock.)
TEST(Overload, EveryMessageIsDeliveredOrCountedLost_spin) {
  const Outcome o = run_cells("overload",
                              "--transports zerocopy,unix-stream,udp,cyclonedds,fastdds-shm,nng "
                              "--scenarios overload --wait block --set zerocopy.drop=0,1 "
                              "--set udp.credit=0 --set udp.rcvbuf=64KiB --set cyclonedds.drop=1 "
                              "--set fastdds-shm.drop=1 --set nng.drop=1 --duration 0.2 "
                              "--repetitions 1");
  ASSERT_TRUE(o.read) << o.ran.out;
  // udp's small buffer fills at once: its newest messages are dropped, the first stop message
  // among them, which the producer sends again (scenarios/overload.cpp); so does nng's queue.
  ASSERT_EQ(o.cells.size(), 7u) << o.ran.out;
  for (const auto& e : o.cells) {
    const std::string name = e.at("name");
    ASSERT_FALSE(e.value("error_occurred", false)) << name << ": " << e.value("error_message", "");
    const double sent = e.at("sent"), delivered = e.at("delivered"), lost = e.at("lost");
    EXPECT_GT(delivered, 0) << name;
    EXPECT_EQ(sent, delivered + lost) << name;
    EXPECT_LE(e.at("lost_in_sequence").get<double>(), lost) << name;
    EXPECT_GE(e.at("late").get<double>(), 0) << name;
    if (name.find("drop=1") == std::string::npos && name.find("credit=0") == std::string::npos) {
      EXPECT_EQ(lost, 0) << name << ": backpressure loses nothing";
    }
  }
  EXPECT_EQ(o.ran.code, 0) << o.ran.out;
  EXPECT_EQ(o.left, std::vector<std::string>{});
}

// A fanout producer over cyclonedds holds a channel per consumer, each in the domain its token
// hashes to (1 to 200): at 40 consumers two of them shared an id nearly always, and a process may
// create a domain once, so the second channel failed (and the 32 made before it closed so slowly
// that the consumers' timeout told the story instead). Channels of one process whose ids collide
// share the domain.
TEST(CycloneDomains, TwoChannelsOfOneProcessWhoseDomainsCollideBothOpen) {
  const TransportInfo* info = find_transport("cyclonedds");
  if (!info->unavailable.empty()) GTEST_SKIP() << info->unavailable;
  // Two channel tokens of one cell whose domains are the same.
  const std::string base = "ipcbench-domains" + std::to_string(::getpid());
  std::map<std::uint32_t, std::string> first_with;
  std::string a, b;
  for (unsigned k = 0; b.empty(); ++k) {
    const std::string token = base + "-c" + std::to_string(k);
    auto [at, fresh] = first_with.emplace(dds_domain_for(token), token);
    if (!fresh) a = at->second, b = token;
  }
  std::vector<std::unique_ptr<Transport>> channels;
  for (const std::string& token : {a, b}) {
    Endpoint e;
    e.role = Role::producer;
    e.token = token;
    e.dir = "/tmp/" + token;
    e.max_message_bytes = 64;
    e.queue_depth = 4;
    auto made = info->make(e);
    ASSERT_TRUE(made.has_value()) << made.error().reason;
    auto listened = (*made)->listen();
    EXPECT_TRUE(listened.has_value()) << token << ": " << listened.error().reason;
    channels.push_back(std::move(*made));
  }
}

// gRPC carries the channels between the same two workers (a load beside: Endpoint::pair_token) on
// one connection, as an application's streams to one server go: the consumer's channels of a pair
// are served by one server (one address), another pair's by its own.
TEST(GrpcPair, TheChannelsOfOnePairShareOneServerAndOthersDoNot) {
  const TransportInfo* info = find_transport("grpc-uds");
  if (!info->unavailable.empty()) GTEST_SKIP() << info->unavailable;
  const std::string base = "/tmp/ipcbench-grpcpair" + std::to_string(::getpid());
  std::vector<std::unique_ptr<Transport>> channels;
  std::vector<std::string> addresses;
  for (const char* name : {"a-c0", "a-c1", "b"}) {
    Endpoint e;
    e.role = Role::consumer;
    e.token = std::string("grpcpair-") + name;
    e.pair_token = name[0] == 'a' ? "grpcpair-a" : e.token;
    e.dir = base + "-" + name;
    ASSERT_TRUE(std::filesystem::create_directories(e.dir));
    auto made = info->make(e);
    ASSERT_TRUE(made.has_value()) << made.error().reason;
    auto address = (*made)->listen();
    ASSERT_TRUE(address.has_value()) << address.error().reason;
    addresses.push_back(*address);
    channels.push_back(std::move(*made));
  }
  EXPECT_EQ(addresses[0], addresses[1]);
  EXPECT_NE(addresses[0], addresses[2]);
  channels.clear();
  for (const char* name : {"a-c0", "a-c1", "b"}) {
    std::filesystem::remove_all(base + "-" + name);
  }
}

INSTANTIATE_TEST_SUITE_P(Registry, Reqresp, ::testing::ValuesIn(available()),
                         [](const ::testing::TestParamInfo<std::string>& p) {
                           std::string name = p.param + "_" + fanout_wait(p.param);
                           for (auto& c : name) {
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return name;
                         });

INSTANTIATE_TEST_SUITE_P(Registry, Fanout, ::testing::ValuesIn(available()),
                         [](const ::testing::TestParamInfo<std::string>& p) {
                           std::string name = p.param + "_" + fanout_wait(p.param);
                           for (auto& c : name) {
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return name;
                         });

}  // namespace
}  // namespace ipcbench::testing

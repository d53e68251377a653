// Driver settings (`ipcbench run --set <transport>.<setting>=<value>[,<value>...]`) without
// running anything: what is accepted and what is refused (with the value and what is allowed),
// the cells they make and their names, and how a cell's settings go into the results and come
// back out as the labels the tables show.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "harness/cli/options.hpp"
#include "harness/report/reporter.hpp"
#include "harness/results/results.hpp"
#include "harness/run/cell_run.hpp"

namespace ipcbench {
namespace {

std::vector<Setting> settings(const std::vector<std::string>& texts,
                              const std::vector<std::string>& transports) {
  auto parsed = parse_settings(texts, transports);
  EXPECT_TRUE(parsed.has_value()) << parsed.error();
  return parsed.value_or(std::vector<Setting>{});
}

TEST(ParseSettings, ValuesWithUnitsEachOnceInTheDriversOrder) {
  EXPECT_TRUE(settings({}, {"pipe"}).empty());
  auto pipe = settings({"pipe.buffer=64KiB,1MiB"}, {"pipe"});
  ASSERT_EQ(pipe.size(), 1u);
  EXPECT_EQ(pipe[0].transport, "pipe");
  EXPECT_EQ(pipe[0].spec.name, "buffer");
  EXPECT_EQ(pipe[0].values, (std::vector<std::uint64_t>{64 << 10, 1 << 20}));
  // Given twice, the values add up; a value given twice (in any spelling) counts once.
  pipe = settings({"pipe.buffer=64KiB", "pipe.buffer=65536,128KiB"}, {"pipe"});
  ASSERT_EQ(pipe.size(), 1u);
  EXPECT_EQ(pipe[0].values, (std::vector<std::uint64_t>{64 << 10, 128 << 10}));
  // The driver's order (sndbuf, then rcvbuf), whatever the command line's.
  auto tcp = settings({"tcp.rcvbuf=1MiB", "tcp.sndbuf=64KiB"}, {"pipe", "tcp"});
  ASSERT_EQ(tcp.size(), 2u);
  EXPECT_EQ(tcp[0].spec.name, "sndbuf");
  EXPECT_EQ(tcp[1].spec.name, "rcvbuf");
  // A count takes a plain number.
  auto mq = settings({"posix-mq.maxmsg=1"}, {"posix-mq"});
  ASSERT_EQ(mq.size(), 1u);
  EXPECT_EQ(mq[0].spec.unit, OptionUnit::count);
  EXPECT_EQ(mq[0].values, std::vector<std::uint64_t>{1});
}

TEST(ParseSettings, BadInputNamesTheValueAndWhatIsAllowed) {
  const OptionSpec buffer = options_of(*find_transport("pipe")).at(0);
  const std::string above = format_size(buffer.max + 4096);
  struct Bad {
    std::string text;
    std::vector<std::string> transports;
    std::string names;    // the bad part, as given
    std::string allowed;  // part of what is allowed
  };
  for (const Bad& b : {
           Bad{"foo.buffer=1MiB", {"pipe"}, "'foo'", "transports with settings: pipe"},
           Bad{"pipe.bufsize=1MiB", {"pipe"}, "'bufsize'", "its settings: buffer"},
           Bad{"shm.buffer=1MiB", {"shm"}, "shm takes no settings", "pipe"},
           Bad{"pipe.buffer=1MiB", {"tcp"}, "pipe is not in --transports", "tcp"},
           Bad{"pipe.buffer=" + above,
               {"pipe"},
               above + " is out of range",
               "from 4KiB to " + format_size(buffer.max)},
           Bad{"pipe.buffer=1KiB", {"pipe"}, "1KiB is out of range", "from 4KiB"},
           Bad{"pipe.buffer=lots", {"pipe"}, "'lots' is not a size", "from 4KiB"},
           Bad{"pipe.buffer=-4KiB", {"pipe"}, "'-4KiB' is not a size", "from 4KiB"},
           Bad{"pipe.buffer=", {"pipe"}, "no value", "from 4KiB"},
           Bad{"pipe.buffer=64KiB,,1MiB", {"pipe"}, "an empty value", "from 4KiB"},
           Bad{"posix-mq.maxmsg=5k", {"posix-mq"}, "'5k' is not a whole number", "from 1"},
           Bad{"posix-mq.maxmsg=0", {"posix-mq"}, "0 is out of range", "from 1"},
           Bad{"pipe", {"pipe"}, "--set pipe:", "<transport>.<setting>=<value>"},
           Bad{".buffer=1MiB", {"pipe"}, "--set .buffer=1MiB", "<transport>.<setting>=<value>"},
           Bad{"pipe.=1MiB", {"pipe"}, "--set pipe.=1MiB", "<transport>.<setting>=<value>"},
       }) {
    auto r = parse_settings({b.text}, b.transports);
    ASSERT_FALSE(r.has_value()) << b.text;
    EXPECT_NE(r.error().find("--set " + b.text), std::string::npos) << r.error();
    EXPECT_NE(r.error().find(b.names), std::string::npos) << r.error();
    EXPECT_NE(r.error().find(b.allowed), std::string::npos) << r.error();
    EXPECT_EQ(r.error().find('\n'), std::string::npos) << r.error();
  }
}

TEST(ExpandCells, EachValueAndEachCombinationIsACellOfItsOwn) {
  RunOptions o;
  o.transports = {"pipe", "tcp", "unix-stream"};
  o.scenarios = {find_scenario("throughput")};
  o.touches = {Touch::full};
  o.settings = settings({"pipe.buffer=64KiB,1MiB", "tcp.sndbuf=64KiB,128KiB", "tcp.rcvbuf=1MiB"},
                        o.transports);
  std::vector<std::string> skipped;
  std::vector<std::string> names;
  for (const Cell& cell : expand_cells(o, skipped))
    names.push_back(cell.name());
  EXPECT_EQ(names, (std::vector<std::string>{
                       "throughput/pipe[buffer=64KiB]/1048576/block/full",
                       "throughput/pipe[buffer=1MiB]/1048576/block/full",
                       "throughput/tcp[sndbuf=64KiB;rcvbuf=1MiB]/1048576/block/full",
                       "throughput/tcp[sndbuf=128KiB;rcvbuf=1MiB]/1048576/block/full",
                       // Without settings, the name it always had.
                       "throughput/unix-stream/1048576/block/full",
                   }));
  const Cell cell = expand_cells(o, skipped).at(1);
  EXPECT_EQ(cell.transport, "pipe");
  ASSERT_EQ(cell.options.size(), 1u);
  EXPECT_EQ(cell.options[0].value, 1u << 20);
  // The filter sees the settings in the name.
  EXPECT_EQ(filter_cells(expand_cells(o, skipped), "pipe\\[buffer=1MiB\\]").size(), 1u);
}

// A cell's settings in the results: asked and granted, kept through a file, and shown.
TEST(Results, SettingsAreRecordedAskedAndGrantedAndLabelTheRow) {
  Cell cell;
  cell.transport = "tcp";
  cell.scenario = find_scenario("throughput");
  cell.bytes = 1 << 20;
  cell.options = {{"sndbuf", OptionUnit::bytes, 64 << 10}, {"rcvbuf", OptionUnit::bytes, 1 << 20}};
  CellRun run;
  run.ok = true;
  run.granted = {{"sndbuf", 128 << 10}, {"rcvbuf", 2 << 20}};
  const CellResult result = make_result(cell, run, 0, 0, 1);
  const nlohmann::json j = result;
  EXPECT_EQ(j.at("name"), "throughput/tcp[sndbuf=64KiB;rcvbuf=1MiB]/1048576/block/full");
  EXPECT_EQ(j.at("transport"), "tcp");
  EXPECT_EQ(j.at("options").at("sndbuf"),
            (nlohmann::json{{"asked", 65536}, {"effective", 131072}, {"unit", "bytes"}}));
  EXPECT_EQ(j.at("options").at("rcvbuf").at("effective"), 2 << 20);
  EXPECT_EQ(j.at("transport_label"), "tcp[sndbuf=64KiB→128KiB;rcvbuf=1MiB→2MiB]");

  const CellResult back = j.get<CellResult>();
  EXPECT_EQ(transport_key(back), "tcp[sndbuf=64KiB;rcvbuf=1MiB]");
  EXPECT_EQ(transport_label(back), "tcp[sndbuf=64KiB→128KiB;rcvbuf=1MiB→2MiB]");
  EXPECT_EQ(nlohmann::json(back), j);

  // What the kernel granted as asked is not repeated; a cell that failed before its workers read
  // it back has no granted value (null), and its row shows what was asked.
  cell.transport = "pipe";
  cell.options = {{"buffer", OptionUnit::bytes, 1 << 20}};
  run.granted = {{"buffer", 1 << 20}};
  EXPECT_EQ(transport_label(make_result(cell, run, 0, 0, 1)), "pipe[buffer=1MiB]");
  run = CellRun{};
  run.error = "set-up failed";
  const nlohmann::json failed = make_result(cell, run, 0, 0, 1);
  EXPECT_TRUE(failed.at("options").at("buffer").at("effective").is_null());
  EXPECT_EQ(transport_label(failed.get<CellResult>()), "pipe[buffer=1MiB]");

  // No settings: no options field, and the label is the transport.
  cell.options.clear();
  const CellResult plain = make_result(cell, CellRun{}, 0, 0, 1);
  EXPECT_FALSE(nlohmann::json(plain).contains("options"));
  EXPECT_EQ(transport_key(plain), "pipe");
  EXPECT_EQ(transport_label(plain), "pipe");
}

// A cell's variant (rate's offered rate, fanout's consumers) is a typed field of its entry, failed
// or not, read back as written: the tables' offered and N columns come from it, not from the
// name. (They read the name's last part before, and showed "-" for every rate row of a run of
// several CPU pairs, whose names end in "/cpus<a>-<b>".)
TEST(Results, TheVariantIsAFieldOfEveryEntryFailedOrNot) {
  Cell cell;
  cell.transport = "shm";
  cell.scenario = find_scenario("rate");
  cell.bytes = 64;
  cell.rate = 1000;
  cell.cpu_producer = 0;
  cell.cpu_consumer = 1;
  cell.pair_in_name = true;
  CellRun failed;
  failed.error = "set-up failed";
  const nlohmann::json j = make_result(cell, failed, 0, 0, 1);
  EXPECT_EQ(j.at("name"), "rate/shm/64/block/full/1000/cpus0-1");
  EXPECT_EQ(j.at("offered_rate"), 1000.0);
  EXPECT_FALSE(j.contains("subscribers"));
  const CellResult back = j.get<CellResult>();
  EXPECT_EQ(back.offered_rate, 1000.0);
  EXPECT_EQ(nlohmann::json(back), j);
  // Two CPU pairs: each row says which it was measured on (they looked the same before).
  cell.cpu_producer = 1;
  cell.cpu_consumer = 0;
  ResultsDocument doc;
  doc.benchmarks = {back, make_result(cell, failed, 1, 0, 1)};
  const std::string csv = make_reporter("csv", kDefaultBaseline)->render(doc);
  EXPECT_NE(csv.find("\"shm (cpus 0,1)\",block,64,1000.0,FAILED"), std::string::npos) << csv;
  EXPECT_NE(csv.find("\"shm (cpus 1,0)\",block,64,1000.0,FAILED"), std::string::npos) << csv;
  doc.benchmarks.pop_back();
  EXPECT_EQ(make_reporter("csv", kDefaultBaseline)->render(doc).find("cpus"), std::string::npos);

  cell.scenario = find_scenario("fanout");
  cell.subscribers = 4;
  cell.pair_in_name = false;
  const CellResult fanout = nlohmann::json(make_result(cell, failed, 0, 0, 1)).get<CellResult>();
  EXPECT_EQ(fanout.consumers, 4u);
  EXPECT_FALSE(fanout.offered_rate);

  // A failed entry of a file from before these fields: its variant from its name.
  nlohmann::json old = j;
  old.erase("offered_rate");
  old["name"] = "rate/shm/64/block/full/max/cpus0-1";
  EXPECT_EQ(old.get<CellResult>().offered_rate, 0.0);
  old["name"] = "rate/shm/64/block/full/100000";
  EXPECT_EQ(old.get<CellResult>().offered_rate, 100000.0);

  // An entry of an unknown scenario is refused, never taken for another scenario's.
  old["scenario"] = "latency";
  EXPECT_THROW(old.get<CellResult>(), std::invalid_argument);
}

}  // namespace
}  // namespace ipcbench

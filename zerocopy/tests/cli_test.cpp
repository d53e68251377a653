// The `zerocopy` command-line tool, run as a separate process against services of this one:
// discovery (service list/show, node list), echo, hz and cleanup. Every wait is bounded.
#include <cstdint>
#include <cstdio>
#include <string>

#include "test_util.hpp"

namespace zerocopy::testing {
namespace {

using namespace std::chrono_literals;

// A running command; its standard output is read line by line or to the end.
class Command {
 public:
  explicit Command(const std::string& arguments)
      : m_pipe(::popen((std::string(ZEROCOPY_CLI) + " " + arguments + " 2>&1").c_str(), "r")) {}
  ~Command() {
    if (m_pipe) ::pclose(m_pipe);
  }
  // Reads to the end and returns the exit status.
  int finish() {
    char buffer[512];
    while (std::fgets(buffer, sizeof buffer, m_pipe))
      m_output += buffer;
    int status = ::pclose(std::exchange(m_pipe, nullptr));
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  const std::string& output() const { return m_output; }

 private:
  FILE* m_pipe;
  std::string m_output;
};

class Cli : public ShmTest {
 protected:
  std::string run(const std::string& arguments, int expected_status = 0) {
    Command command("--prefix " + prefix() + " " + arguments);
    EXPECT_EQ(command.finish(), expected_status) << arguments << ":\n" << command.output();
    return command.output();
  }
  static bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
  }
};

TEST_F(Cli, ListsServicesPortsAndNodes) {
  auto values = node()
                    .service_builder("cli/values")
                    .publish_subscribe<std::uint64_t>()
                    .history_size(1)
                    .open_or_create()
                    .value();
  auto publisher = values.publisher_builder().create().value();
  auto subscriber = values.subscriber_builder().create().value();
  auto events = node().service_builder("cli/events").event().open_or_create().value();
  auto notifier = events.notifier_builder().create().value();
  const std::string pid = std::to_string(::getpid());

  std::string list = run("service list");
  EXPECT_TRUE(contains(list, "cli/values")) << list;
  EXPECT_TRUE(contains(list, "u64 (8 B)")) << list;
  EXPECT_TRUE(contains(list, "cli/events")) << list;
  EXPECT_TRUE(contains(list, "event")) << list;
  EXPECT_TRUE(contains(list, pid)) << list;

  std::string show = run("service show cli/values");
  EXPECT_TRUE(contains(show, "kind: publish-subscribe")) << show;
  EXPECT_TRUE(contains(show, "history_size 1")) << show;
  EXPECT_TRUE(contains(show, "publishers: 1\n  slot 0 generation 1 pid " + pid)) << show;
  EXPECT_TRUE(contains(show, "subscribers: 1")) << show;
  EXPECT_TRUE(contains(run("service show cli/events"), "notifiers: 1"));
  EXPECT_TRUE(contains(run("service show cli/nothing", 1), "does not exist"));

  std::string nodes = run("node list");
  EXPECT_TRUE(contains(nodes, pid)) << nodes;
  EXPECT_TRUE(contains(nodes, "alive")) << nodes;
  EXPECT_TRUE(contains(nodes, "cli/events,cli/values") || contains(nodes, "cli/values,cli/events"))
      << nodes;

  // The same through the API.
  auto services = list_services(prefix()).value();
  ASSERT_EQ(services.size(), 2u);
  EXPECT_EQ(services[1].name, "cli/values");
  EXPECT_EQ(services[1].options.history_size, 1u);
  ASSERT_EQ(services[1].publishers.size(), 1u);
  EXPECT_EQ(services[1].publishers[0].pid, static_cast<std::uint32_t>(::getpid()));
  EXPECT_TRUE(services[0].is_event);
  auto all_nodes = list_nodes(prefix()).value();
  ASSERT_EQ(all_nodes.size(), 1u);
  EXPECT_EQ(all_nodes[0].services.size(), 2u);
  EXPECT_EQ(service_info("cli/nothing", prefix()).error().code, ServiceError::does_not_exist);
  EXPECT_EQ(run("bogus", 2).find("usage"), 0u);
}

TEST_F(Cli, ShowsARequestResponseServiceAsOne) {
  auto service = node()
                     .service_builder("cli/square")
                     .request_response<std::uint64_t, std::uint32_t>()
                     .open_or_create()
                     .value();
  auto server = service.server_builder().create().value();
  auto client = service.client_builder().create().value();
  const std::string pid = std::to_string(::getpid());
  std::string list = run("service list");
  EXPECT_TRUE(contains(list, "cli/square")) << list;
  EXPECT_TRUE(contains(list, "u64 -> u32")) << list;
  EXPECT_FALSE(contains(list, "?request")) << list;
  std::string show = run("service show cli/square");
  EXPECT_TRUE(contains(show, "kind: request-response")) << show;
  EXPECT_TRUE(contains(show, "response type: u32, size 4")) << show;
  EXPECT_TRUE(contains(show, "clients: 1\n  slot 0 generation 1 pid " + pid)) << show;
  EXPECT_TRUE(contains(show, "servers: 1")) << show;
  std::string nodes = run("node list");
  EXPECT_TRUE(contains(nodes, "cli/square")) << nodes;
  EXPECT_FALSE(contains(nodes, "?")) << nodes;
  EXPECT_TRUE(contains(run("echo cli/square --count 1", 1), "is a request-response service"));
}

TEST_F(Cli, EchoAndHzSubscribeToAnyType) {
  auto values = node()
                    .service_builder("cli/echo")
                    .publish_subscribe<std::uint64_t>()
                    .subscriber_max_buffer_size(8)
                    .open_or_create()
                    .value();
  auto publisher = values.publisher_builder().create().value();
  {
    Command echo("--prefix " + prefix() + " echo cli/echo --count 2 --seconds 30");
    ASSERT_TRUE(publisher.wait_for_subscribers(1, 20s));
    ASSERT_EQ(publisher.send_copy(0x0102030405060708).value(), 1u);
    ASSERT_EQ(publisher.send_copy(0x41).value(), 1u);
    EXPECT_EQ(echo.finish(), 0);
    EXPECT_TRUE(contains(
        echo.output(),
        "sample 0: 8 bytes, publisher 0.1 sequence 1\n  00000000  08 07 06 05 04 03 02 01"))
        << echo.output();
    EXPECT_TRUE(contains(echo.output(), "|A.......|")) << echo.output();
  }
  ASSERT_EQ(publisher.update_connections(), 0u);  // the tool left
  Command hz("--prefix " + prefix() + " hz cli/echo --count 3 --seconds 30");
  ASSERT_TRUE(publisher.wait_for_subscribers(1, 20s));
  for (std::uint64_t i = 0; i < 3; ++i)
    ASSERT_EQ(publisher.send_copy(i).value(), 1u);
  EXPECT_EQ(hz.finish(), 0);
  EXPECT_TRUE(contains(hz.output(), "3 samples in")) << hz.output();
}

TEST_F(Cli, CleanupRemovesADeadProcesssNodeAndSegments) {
  Child child({"ws-fd-and-die", prefix(), "ws"});
  ASSERT_EQ(child.read_line(), "ready");
  child.kill_and_reap();
  std::string nodes = run("node list");
  EXPECT_TRUE(contains(nodes, "dead")) << nodes;
  std::string report = run("cleanup");
  EXPECT_TRUE(contains(report, "removed 1 dead nodes and 2 segments")) << report;
  EXPECT_TRUE(shm_names(prefix()).empty());
}

}  // namespace
}  // namespace zerocopy::testing

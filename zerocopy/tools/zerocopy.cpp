// zerocopy: look at and tidy up the services under a shared-memory prefix.
//
//   zerocopy [--prefix P] service list        every service: name, type, ports
//   zerocopy [--prefix P] service show NAME   one service: options, ports with pids, nodes
//   zerocopy [--prefix P] node list           every node registered anywhere, alive or dead
//   zerocopy [--prefix P] hz NAME [--count N] [--seconds S]     sample rate, once a second
//   zerocopy [--prefix P] echo NAME [--count N] [--seconds S]   samples as hex dumps
//   zerocopy [--prefix P] cleanup             removes dead nodes and what they left
//
// The prefix defaults to $ZEROCOPY_PREFIX, else "zc_". hz and echo subscribe to the service
// with the payload type it records (any type), and stop on SIGINT/SIGTERM, after N samples or
// after S seconds. Exit status: 0, 1 for an error (said on stderr), 2 for a usage error.
#include <cctype>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "internal.hpp"
#include "zerocopy/zerocopy.hpp"

namespace {

namespace zc = zerocopy;

constexpr const char* kUsage =
    "usage: zerocopy [--prefix P] COMMAND\n"
    "  service list                          every service: name, type, ports\n"
    "  service show NAME                     one service: options, ports with pids, nodes\n"
    "  node list                             every node registered anywhere, alive or dead\n"
    "  hz NAME [--count N] [--seconds S]     sample rate, once a second\n"
    "  echo NAME [--count N] [--seconds S]   samples as hex dumps\n"
    "  cleanup                               removes dead nodes and what they left\n"
    "The prefix defaults to $ZEROCOPY_PREFIX, else zc_.\n";

// --help: the same, laid out as help2man reads it (the manual page is made from it).
constexpr const char* kHelp =
    "Usage: zerocopy [--prefix P] COMMAND [--count N] [--seconds S]\n"
    "Look at and tidy up the zerocopy services under a shared-memory prefix.\n"
    "\n"
    "Commands:\n"
    "  service list          every service: name, type, ports\n"
    "  service show NAME     one service: options, ports with pids, nodes\n"
    "  node list             every node registered anywhere, alive or dead\n"
    "  hz NAME               sample rate, once a second\n"
    "  echo NAME             samples as hex dumps\n"
    "  cleanup               removes dead nodes and what they left\n"
    "\n"
    "Options:\n"
    "  --prefix P            the prefix of the shared-memory names (default $ZEROCOPY_PREFIX,\n"
    "                        else zc_)\n"
    "  --count N             hz, echo: stop after N samples\n"
    "  --seconds S           hz, echo: stop after S seconds\n"
    "  -h, --help            print this help and exit\n"
    "  --version             print the version and exit\n"
    "\n"
    "hz and echo subscribe with the payload type the service records, and stop on SIGINT or\n"
    "SIGTERM too. Exit status: 0; 1 for an error (said on stderr); 2 for a usage error.\n";

int usage() {
  std::fputs(kUsage, stderr);
  return 2;
}

int fail(const std::string& message) {
  std::fprintf(stderr, "zerocopy: %s\n", message.c_str());
  return 1;
}

std::string type_of(const zc::ServiceInfo& info) {
  if (info.is_event) return "event";
  if (info.is_request_response) return info.type_name + " -> " + info.response_type_name;
  return info.type_name + " (" + std::to_string(info.type_size) + " B)";
}

std::string pids(const std::vector<zc::PortInfo>& ports) {
  std::string text;
  for (const auto& port : ports) {
    if (!text.empty()) text += ",";
    text += std::to_string(port.pid);
    if (!port.alive) text += "(dead)";
  }
  return text.empty() ? "-" : text;
}

int service_list(const std::string& prefix) {
  auto services = zc::list_services(prefix);
  if (!services) return fail(services.error().message);
  std::printf("%-32s %-24s %-5s %-20s %-20s\n", "NAME", "TYPE", "NODES", "PUBLISHERS (pids)",
              "SUBSCRIBERS (pids)");
  for (const auto& service : *services) {
    if (!service.problem.empty()) {
      std::printf("%-32s unreadable: %s\n", service.segment.c_str(), service.problem.c_str());
      continue;
    }
    std::printf("%-32s %-24s %-5zu %-20s %-20s\n", service.name.c_str(), type_of(service).c_str(),
                service.nodes.size(), pids(service.publishers).c_str(),
                pids(service.subscribers).c_str());
  }
  return 0;
}

void print_ports(const char* what, const std::vector<zc::PortInfo>& ports) {
  std::printf("%s: %zu\n", what, ports.size());
  for (const auto& port : ports) {
    std::printf("  slot %u generation %" PRIu64 " pid %u%s\n", port.slot, port.generation, port.pid,
                port.alive ? "" : " (dead)");
  }
}

int service_show(const std::string& prefix, const std::string& name) {
  auto info = zc::service_info(name, prefix);
  if (!info) return fail(info.error().message);
  const zc::ServiceOptions& o = info->options;
  std::printf("name: %s\nsegment: /dev/shm/%s\n", info->name.c_str(), info->segment.c_str());
  std::printf("kind: %s\n", info->is_event              ? "event"
                            : info->is_request_response ? "request-response"
                                                        : "publish-subscribe");
  if (info->is_request_response) {
    std::printf("response segment: /dev/shm/%s\n", info->response_segment.c_str());
    std::printf("response type: %s, size %" PRIu64 "\n", info->response_type_name.c_str(),
                info->response_type_size);
  }
  std::printf("%s: %s%s, size %" PRIu64 ", alignment %" PRIu64 "\n",
              info->is_request_response ? "request type" : "type", info->type_name.c_str(),
              info->is_slice ? " (slice)" : "", info->type_size, info->type_alignment);
  if (!info->user_header_type.empty()) {
    std::printf("user header: %s, size %" PRIu64 ", alignment %" PRIu64 "\n",
                info->user_header_type.c_str(), info->user_header_size,
                info->user_header_alignment);
  }
  std::printf(
      "options: history_size %u, subscriber_max_buffer_size %u, "
      "subscriber_max_borrowed_samples %u, max_publishers %u, max_subscribers %u, "
      "max_nodes %u, overflow %s\n",
      o.history_size, o.subscriber_max_buffer_size, o.subscriber_max_borrowed_samples,
      o.max_publishers, o.max_subscribers, o.max_nodes,
      o.overflow == zc::Overflow::backpressure ? "backpressure" : "safe_overflow");
  print_ports(info->is_event              ? "notifiers"
              : info->is_request_response ? "clients"
                                          : "publishers",
              info->publishers);
  print_ports(info->is_event              ? "listeners"
              : info->is_request_response ? "servers"
                                          : "subscribers",
              info->subscribers);
  std::printf("nodes: %zu\n", info->nodes.size());
  for (const auto& node : info->nodes) {
    std::printf("  pid %u id %016" PRIx64 "%s\n", node.pid, node.node_id,
                node.alive ? "" : " (dead)");
  }
  return 0;
}

int node_list(const std::string& prefix) {
  auto nodes = zc::list_nodes(prefix);
  if (!nodes) return fail(nodes.error().message);
  std::printf("%-8s %-16s %-6s %s\n", "PID", "ID", "STATE", "SERVICES");
  for (const auto& node : *nodes) {
    std::string services;
    for (const auto& name : node.services)
      services += (services.empty() ? "" : ",") + name;
    std::printf("%-8u %016" PRIx64 " %-6s %s\n", node.pid, node.node_id,
                node.alive ? "alive" : "dead", services.c_str());
  }
  return 0;
}

int cleanup(const std::string& prefix) {
  zc::NodeConfig config;
  config.prefix = prefix;
  auto node = zc::Node::create(config);
  if (!node) return fail(node.error().message);
  zc::CleanupReport report = node->cleanup_dead_nodes();
  std::printf("removed %zu dead nodes and %zu segments\n", report.dead_nodes,
              report.removed_segments);
  return 0;
}

void hex_dump(const unsigned char* bytes, std::size_t size) {
  for (std::size_t line = 0; line < size; line += 16) {
    std::printf("  %08zx ", line);
    for (std::size_t i = line; i < line + 16; ++i) {
      if (i < size) {
        std::printf(" %02x", bytes[i]);
      } else {
        std::printf("   ");
      }
    }
    std::printf("  |");
    for (std::size_t i = line; i < line + 16 && i < size; ++i)
      std::putchar(std::isprint(bytes[i]) ? bytes[i] : '.');
    std::printf("|\n");
  }
}

struct Limits {
  std::optional<std::uint64_t> count;
  std::optional<double> seconds;
};

// hz and echo: a subscriber of whatever type the service carries, through the type-erased layer.
int watch(const std::string& prefix, const std::string& name, const Limits& limits, bool echo) {
  auto info = zc::service_info(name, prefix);
  if (!info) return fail(info.error().message);
  if (info->is_request_response) {
    return fail("'" + name + "' is a request-response service; " + (echo ? "echo" : "hz") +
                " watches publish-subscribe services");
  }
  auto state = std::make_shared<zc::detail::NodeState>();
  state->config.prefix = prefix;
  state->config.name = "zerocopy-cli";
  state->pid = ::getpid();
  state->start_time = zc::detail::self_start_time();
  state->node_id = static_cast<std::uint64_t>(state->pid) << 32 | 0x2c11;
  zc::detail::ServiceRequest request;
  request.name = name;
  request.payload = {
      info->type_name,        info->type_size,        info->type_alignment,       info->is_slice,
      info->user_header_type, info->user_header_size, info->user_header_alignment};
  // The creator's spelling includes "[]" for slices already.
  auto service = zc::detail::open_service(state, request, zc::detail::OpenMode::open);
  if (!service) return fail(service.error().message);
  auto port = zc::detail::create_subscriber(*service);
  if (!port) return fail(port.error().message);
  zc::install_termination_handler();
  const auto start = std::chrono::steady_clock::now();
  auto window_start = start;
  std::uint64_t total = 0;
  std::uint64_t in_window = 0;
  int status = 0;
  while (!zc::termination_requested()) {
    auto now = std::chrono::steady_clock::now();
    double elapsed = std::chrono::duration<double>(now - start).count();
    if (limits.seconds && elapsed >= *limits.seconds) break;
    if (limits.count && total >= *limits.count) break;
    if (!echo && now - window_start >= std::chrono::seconds(1)) {
      double window = std::chrono::duration<double>(now - window_start).count();
      std::printf("%.1f Hz\n", static_cast<double>(in_window) / window);
      std::fflush(stdout);
      window_start = now;
      in_window = 0;
    }
    zc::detail::Received sample{};
    const zc::detail::Receipt receipt = zc::detail::subscriber_receive(*port, &sample);
    if (receipt == zc::detail::Receipt::nothing) {
      zc::detail::subscriber_wait(*port, std::chrono::milliseconds(100));
      continue;
    }
    if (receipt != zc::detail::Receipt::sample) {
      const auto error = receipt == zc::detail::Receipt::corrupted
                             ? zc::ReceiveError::corrupted
                             : zc::ReceiveError::exceeds_max_borrows;
      status = fail(std::string("receive: ") + std::string(zc::to_string(error)) + " " +
                    zc::detail::subscriber_corruption(*port));
      break;
    }
    if (echo) {
      zc::SampleHeader header = zc::detail::subscriber_sample_header(*port, sample.connection,
                                                                     sample.index, sample.position);
      std::printf("sample %" PRIu64 ": %zu bytes, publisher %u.%" PRIu64 " sequence %" PRIu64,
                  total, sample.bytes, header.origin.slot, header.origin.generation,
                  header.sequence);
      if (header.publish_time_ns != 0) {
        std::printf(", published %.1f us ago",
                    static_cast<double>(zc::detail::monotonic_ns() - header.publish_time_ns) / 1e3);
      }
      std::printf("\n");
      hex_dump(static_cast<const unsigned char*>(sample.payload), sample.bytes);
      std::fflush(stdout);
    }
    // Gives the chunk back and drops the reference the sample held on the port.
    zc::detail::subscriber_release(*port, sample.connection, sample.index);
    ++total;
    ++in_window;
  }
  if (!echo) {
    double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("%" PRIu64 " samples in %.2f s: %.1f Hz\n", total, elapsed,
                elapsed > 0 ? static_cast<double>(total) / elapsed : 0.0);
  }
  zc::detail::subscriber_drop(*port);
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  std::string prefix = std::getenv("ZEROCOPY_PREFIX") ? std::getenv("ZEROCOPY_PREFIX") : "zc_";
  Limits limits;
  std::vector<std::string> words;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    bool has_value = i + 1 < args.size();
    if (arg == "-h" || arg == "--help") {
      std::fputs(kHelp, stdout);
      return 0;
    } else if (arg == "--version") {
      std::printf("zerocopy %s\n", zc::kVersionString);
      return 0;
    } else if (arg == "--prefix" && has_value) {
      prefix = args[++i];
    } else if (arg == "--count" && has_value) {
      limits.count = std::strtoull(args[++i].c_str(), nullptr, 10);
    } else if (arg == "--seconds" && has_value) {
      limits.seconds = std::strtod(args[++i].c_str(), nullptr);
    } else if (arg.starts_with("-")) {
      return usage();
    } else {
      words.push_back(arg);
    }
  }
  if (!zc::is_valid_prefix(prefix)) return fail(prefix + " is not a valid prefix");
  auto is = [&](std::initializer_list<const char*> expected) {
    if (words.size() != expected.size()) return false;
    std::size_t i = 0;
    for (const char* word : expected) {
      if (word != nullptr && words[i] != word) return false;
      ++i;
    }
    return true;
  };
  if (is({"service", "list"})) return service_list(prefix);
  if (is({"service", "show", nullptr})) return service_show(prefix, words[2]);
  if (is({"node", "list"})) return node_list(prefix);
  if (is({"hz", nullptr})) return watch(prefix, words[1], limits, false);
  if (is({"echo", nullptr})) return watch(prefix, words[1], limits, true);
  if (is({"cleanup"})) return cleanup(prefix);
  return usage();
}

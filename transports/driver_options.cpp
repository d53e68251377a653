#include "transports/driver_options.hpp"

#include <fcntl.h>
#include <sys/socket.h>

#include <string>
#include <utility>

#include "transports/kernel_setting.hpp"

namespace ipcbench {

namespace {

constexpr std::uint64_t kMinBuffer = 4096;
constexpr std::uint64_t kMaxSocketBuffer = 64u << 20;
constexpr const char* kPipeMaxSize = "/proc/sys/fs/pipe-max-size";
constexpr const char* kBeyond = "; CAP_SYS_RESOURCE could go beyond, ipcbench does not";

std::string kernel_text(const char* path) {
  auto value = kernel_setting(path);
  return value ? std::to_string(*value) : std::string("unknown");
}

}  // namespace

OptionSpec pipe_buffer_option() {
  return {.name = "buffer",
          .description =
              "each pipe's capacity (F_SETPIPE_SZ on the pipe each side writes into; the kernel "
              "rounds up to a power of two pages)",
          .unit = OptionUnit::bytes,
          .min = kMinBuffer,
          .max = kernel_setting(kPipeMaxSize).value_or(1u << 20),
          .max_source = std::string(kPipeMaxSize) + kBeyond,
          .default_text = "64KiB, the kernel's"};
}

OptionSpec poll_first_option() {
  OptionSpec spec = switch_option(kPollFirst,
                                  "1: a blocking wait sleeps in poll() for readiness, then makes a "
                                  "non-blocking call, as an event loop does; 0: it sleeps in the "
                                  "call itself (recvmsg/sendmsg with SO_RCVTIMEO), as a blocking "
                                  "read loop does",
                                  false);
  spec.default_text = "0, the blocking call";
  return spec;
}

std::vector<OptionValue> granted_poll_first(const Endpoint& endpoint) {
  return granted_as_given(endpoint, {kPollFirst});
}

Result<void> apply_pipe_buffer(int write_fd, const Endpoint& endpoint) {
  auto bytes = endpoint.option("buffer");
  if (!bytes) return {};
  if (::fcntl(write_fd, F_SETPIPE_SZ, static_cast<int>(*bytes)) < 0) {
    return fail_errno(Errc::resource, "fcntl(F_SETPIPE_SZ, " + std::to_string(*bytes) + ")");
  }
  return {};
}

std::vector<OptionValue> granted_pipe_buffer(int write_fd, const Endpoint& endpoint) {
  if (endpoint.role != Role::producer || !endpoint.option("buffer")) return {};
  const int bytes = ::fcntl(write_fd, F_GETPIPE_SZ);
  if (bytes <= 0) return {};
  return {{"buffer", static_cast<std::uint64_t>(bytes)}};
}

std::vector<OptionSpec> socket_buffer_options(std::string sndbuf_default, bool with_rcvbuf,
                                              std::string rcvbuf_default) {
  // One of a socket's two buffers: `call` sets it, the kernel caps it at net.core.<cap>.
  auto buffer = [](const char* name, const char* what, const char* call, const char* cap,
                   std::string default_text) {
    return OptionSpec{
        .name = name,
        .description = std::string("each side's socket ") + what + " buffer (" + call +
                       "; the kernel caps what is asked at net.core." + cap + ", " +
                       kernel_text(("/proc/sys/net/core/" + std::string(cap)).c_str()) +
                       " here, and doubles it)",
        .unit = OptionUnit::bytes,
        .min = kMinBuffer,
        .max = kMaxSocketBuffer,
        .max_source = {},
        .default_text = std::move(default_text)};
  };
  std::vector<OptionSpec> out = {
      buffer("sndbuf", "send", "SO_SNDBUF", "wmem_max", std::move(sndbuf_default))};
  if (with_rcvbuf) {
    out.push_back(buffer("rcvbuf", "receive", "SO_RCVBUF", "rmem_max", std::move(rcvbuf_default)));
  }
  return out;
}

Result<void> apply_socket_buffers(int fd, const Endpoint& endpoint) {
  for (auto [name, option] : {std::pair{"sndbuf", SO_SNDBUF}, std::pair{"rcvbuf", SO_RCVBUF}}) {
    auto bytes = endpoint.option(name);
    if (!bytes) continue;
    const int value = static_cast<int>(*bytes);
    if (::setsockopt(fd, SOL_SOCKET, option, &value, sizeof value) != 0) {
      return fail_errno(Errc::resource, std::string("setsockopt(") +
                                            (option == SO_SNDBUF ? "SO_SNDBUF" : "SO_RCVBUF") +
                                            ", " + std::to_string(value) + ")");
    }
  }
  return {};
}

std::vector<OptionValue> granted_socket_buffers(int fd, const Endpoint& endpoint) {
  const bool producer = endpoint.role == Role::producer;
  const char* name = producer ? "sndbuf" : "rcvbuf";
  if (!endpoint.option(name)) return {};
  int value = 0;
  socklen_t len = sizeof value;
  if (::getsockopt(fd, SOL_SOCKET, producer ? SO_SNDBUF : SO_RCVBUF, &value, &len) != 0) return {};
  return {{name, static_cast<std::uint64_t>(value)}};
}

OptionSpec switch_option(std::string name, std::string description, bool on_by_default) {
  return {.name = std::move(name),
          .description = std::move(description),
          .unit = OptionUnit::count,
          .min = 0,
          .max = 1,
          .max_source = {},
          .default_text = on_by_default ? "1" : "0"};
}

std::vector<OptionValue> granted_as_given(const Endpoint& endpoint,
                                          std::initializer_list<const char*> names) {
  std::vector<OptionValue> granted;
  if (endpoint.role != Role::producer) return granted;
  for (const char* name : names) {
    if (auto given = endpoint.option(name)) granted.push_back({name, *given});
  }
  return granted;
}

}  // namespace ipcbench

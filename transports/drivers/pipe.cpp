// pipe: two anonymous pipes that are the consumer's stdin and stdout, as the seeds' stdin_stdout
// ran it. The harness makes the pipes before it starts the two processes and hands each its ends
// in Endpoint::in_fd/out_fd; the messages are length-prefixed on the byte stream.
#include "transports/driver_options.hpp"
#include "transports/stream_channel.hpp"

namespace ipcbench {
namespace {

class PipeTransport final : public StreamTransport {
 public:
  using StreamTransport::StreamTransport;

  Result<void> connect(std::string_view) override { return attach_stdio_pipes(FdIo::Kind::pipe); }
};

}  // namespace

extern const TransportInfo pipe_driver{
    .name = "pipe",
    .description =
        "anonymous pipes as the consumer's stdin/stdout; length-prefixed stream; "
        "64 KiB pipe buffer",
    .capabilities =
        [] {
          return Capabilities{
              .native_wait = WaitMode::block, .stdio_pipes = true, .pollable = true};
        },
    .make = make_transport<PipeTransport>,
    .options = [] { return std::vector{pipe_buffer_option()}; }};

}  // namespace ipcbench

// pipe: two anonymous pipes that are the consumer's stdin and stdout, as the seeds' stdin_stdout
// ran it. The harness makes the pipes before it starts the two processes and hands each its ends
// in Endpoint::in_fd/out_fd; the messages are length-prefixed on the byte stream.
#include <csignal>

#include "transports/stream_channel.hpp"

namespace ipcbench {
namespace {

class PipeTransport final : public StreamTransport {
 public:
  using StreamTransport::StreamTransport;

  Result<void> connect(std::string_view) override {
    if (endpoint().in_fd < 0 || endpoint().out_fd < 0) {
      return fail(Errc::resource, "pipe needs the channel's descriptors (Endpoint::in_fd/out_fd)");
    }
    // A write to a pipe whose reader is gone must be an error value, not a fatal signal.
    std::signal(SIGPIPE, SIG_IGN);
    m_in = UniqueFd(endpoint().in_fd);
    m_out = UniqueFd(endpoint().out_fd);
    return attach(m_in.get(), m_out.get(), FdIo::Kind::pipe);
  }

 private:
  UniqueFd m_in;  // the endpoint hands the descriptors over: closing them tells the peer
  UniqueFd m_out;
};

}  // namespace

extern const TransportInfo pipe_driver{
    .name = "pipe",
    .description =
        "anonymous pipes as the consumer's stdin/stdout; length-prefixed stream; "
        "64 KiB pipe buffer",
    .capabilities =
        [] { return Capabilities{.native_wait = WaitMode::block, .stdio_pipes = true}; },
    .make = make_transport<PipeTransport>};

}  // namespace ipcbench

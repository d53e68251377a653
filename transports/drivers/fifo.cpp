// fifo: two named pipes (mkfifo, 0600) in the cell's private directory, `fifo-a` (producer to
// consumer) and `fifo-b` (back), opened by path; the same length-prefixed framing as `pipe`
// (transports/stream_channel.hpp), the same 64 KiB pipe buffer.
//
// Opening a FIFO blocks until the other end is opened, with no timeout, so every open is
// O_NONBLOCK and the two sides meet in a fixed order, never sleeping on a guess:
// - listen() (consumer): makes both FIFOs, opens a for reading, and b for writing, which needs a
//   reader: it holds b open read-write meanwhile (Linux allows it).
// - connect() (producer): opens a for writing (the consumer reads it already), then b for
//   reading, then writes a hello byte on a and waits (poll, Endpoint::timeout) for the
//   consumer's on b.
// - connect() (consumer): waits for the producer's hello on a, lets go of its hold on b (the
//   producer reads b now), removes both names, and answers with its hello on b.
// From then on it is a pipe: a peer that leaves is end of file or EPIPE (Errc::peer_gone).
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>

#include "base/poll.hpp"
#include "transports/driver_options.hpp"
#include "transports/socket_util.hpp"
#include "transports/stream_channel.hpp"

namespace ipcbench {
namespace {

constexpr char kHello = 'H';

class FifoTransport final : public StreamTransport {
 public:
  using StreamTransport::StreamTransport;

  Result<std::string> listen() override {
    const std::string& dir = endpoint().dir;
    for (auto [path, name] : {std::pair{&m_a, "/fifo-a"}, std::pair{&m_b, "/fifo-b"}}) {
      const std::string full = dir + name;
      if (::mkfifo(full.c_str(), 0600) != 0) return fail_errno(Errc::resource, "mkfifo " + full);
      path->own(full);
    }
    auto in = open_fifo(m_a.path(), O_RDONLY);
    if (!in) return std::unexpected(in.error());
    m_in = std::move(*in);
    auto hold = open_fifo(m_b.path(), O_RDWR);
    if (!hold) return std::unexpected(hold.error());
    m_hold = std::move(*hold);
    auto out = open_fifo(m_b.path(), O_WRONLY);
    if (!out) return std::unexpected(out.error());
    m_out = std::move(*out);
    return dir;
  }

  Result<void> connect(std::string_view peer_address) override {
    // A write to a FIFO whose reader is gone must be an error value, not a fatal signal.
    std::signal(SIGPIPE, SIG_IGN);
    if (endpoint().role == Role::consumer) {
      if (auto ok = take_hello(m_in.get()); !ok) return ok;
      m_hold = UniqueFd();
      m_a.remove();  // both ends are open on both sides: the names are no longer needed
      m_b.remove();
      if (auto ok = give_hello(m_out.get()); !ok) return ok;
      return attach(m_in.get(), m_out.get(), FdIo::Kind::pipe);
    }
    const std::string dir(peer_address);
    auto out = open_fifo(dir + "/fifo-a", O_WRONLY);
    if (!out) return std::unexpected(out.error());
    m_out = std::move(*out);
    auto in = open_fifo(dir + "/fifo-b", O_RDONLY);
    if (!in) return std::unexpected(in.error());
    m_in = std::move(*in);
    if (auto ok = give_hello(m_out.get()); !ok) return ok;
    if (auto ok = take_hello(m_in.get()); !ok) return ok;
    return attach(m_in.get(), m_out.get(), FdIo::Kind::pipe);
  }

 private:
  static Result<UniqueFd> open_fifo(const std::string& path, int mode) {
    UniqueFd fd(::open(path.c_str(), mode | O_NONBLOCK | O_CLOEXEC));
    if (!fd) {
      // ENXIO: opened for writing with nobody reading, the consumer is not (or no longer) there.
      return fail_errno(errno == ENXIO ? Errc::peer_gone : Errc::resource, "open " + path);
    }
    struct stat st;
    if (::fstat(fd.get(), &st) != 0 || !S_ISFIFO(st.st_mode)) {
      return fail(Errc::resource, path + " is not a FIFO");
    }
    return fd;
  }

  static Result<void> give_hello(int fd) {
    if (::write(fd, &kHello, 1) != 1) return fail_errno(Errc::peer_gone, "FIFO hello");
    return {};
  }

  Result<void> take_hello(int fd) {
    if (auto ready = poll_one(fd, POLLIN, endpoint().timeout, "no hello from the peer on the FIFO");
        !ready) {
      return ready;
    }
    char c = 0;
    const ssize_t got = ::read(fd, &c, 1);
    if (got == 0) return fail(Errc::peer_gone, "the peer closed the FIFO before its hello");
    if (got != 1 || c != kHello) return fail(Errc::protocol, "bad FIFO hello");
    return {};
  }

  OwnedPath m_a;  // made by the consumer, removed once both sides have both ends open
  OwnedPath m_b;
  UniqueFd m_in;
  UniqueFd m_out;
  UniqueFd m_hold;  // the consumer's read-write hold on b until the producer reads it
};

}  // namespace

extern const TransportInfo fifo_driver{
    .name = "fifo",
    .description =
        "two named pipes (mkfifo) in a private temp dir, opened by path; length-prefixed "
        "stream; 64 KiB pipe buffer",
    .capabilities = [] { return Capabilities{.native_wait = WaitMode::block, .pollable = true}; },
    .make = make_transport<FifoTransport>,
    .options = [] { return std::vector{pipe_buffer_option()}; }};

}  // namespace ipcbench

// vmsplice: the `pipe` transport (the consumer's stdin/stdout, the same length-prefixed frames,
// the same 64 KiB pipe), but each side puts its frames in the pipe with vmsplice(2) instead of
// write(2): the pipe then holds references to the writer's own pages rather than a copy of
// them. The reader still read()s, copying from those pages into its buffer.
//
// Against `pipe`, this saves the writer's copy (user memory into pipe pages) and keeps the
// reader's (pipe into user memory): one copy per message instead of two, paid for by pinning
// each page (get_user_pages) and a pipe slot per page touched, however few bytes are in it.
//
// A spliced page belongs to the pipe until the reader has read it, so the writer must not write
// it meanwhile. The frames go into a ring of pages of the writer's own (page-aligned, each frame
// starting on a page of its own), and the ring is large enough that this cannot happen: a pipe
// holds at most `pipe size / page size` buffers, each of at most one page, and they are the most
// recently spliced ones; the ring has that many pages plus twice a frame's, so a frame's pages
// were last spliced at least a full pipe's worth of pages ago, and have been read since.
//
// SPLICE_F_GIFT is not used: a gift only matters when the reader splices the pages on into a file
// with SPLICE_F_MOVE (this one read()s), and a gifted page may never be written again, which a
// ring that is reused forbids.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "transports/driver_options.hpp"
#include "transports/stream_channel.hpp"

namespace ipcbench {
namespace {

class VmspliceTransport final : public StreamTransport {
 public:
  using StreamTransport::StreamTransport;

  ~VmspliceTransport() override {
    if (m_ring) ::munmap(m_ring, m_pages * m_page);
  }

  Result<void> connect(std::string_view) override {
    if (auto ok = attach_stdio_pipes(FdIo::Kind::vmsplice_pipe); !ok) return ok;
    const int pipe_bytes = ::fcntl(endpoint().out_fd, F_GETPIPE_SZ);
    if (pipe_bytes <= 0) return fail_errno(Errc::system, "fcntl(F_GETPIPE_SZ)");
    m_page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    const std::size_t pipe_buffers = static_cast<std::size_t>(pipe_bytes) / m_page;
    m_pages = pipe_buffers + 2 * pages_for(endpoint().max_message_bytes) + 1;
    // Populated now: the first lap would otherwise fault the pages in mid-run.
    void* ring = ::mmap(nullptr, m_pages * m_page, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (ring == MAP_FAILED) return fail_errno(Errc::resource, "mmap the frame ring");
    m_ring = static_cast<std::byte*>(ring);
    return {};
  }

 private:
  std::size_t pages_for(std::size_t payload) const {
    return (kHeaderBytes + payload + m_page - 1) / m_page;
  }

  // The next frame starts on the page after the last one; at the ring's start again when it
  // would not fit before the end.
  Result<std::byte*> frame_for(std::size_t bytes) override {
    if (!m_ring) return fail(Errc::resource, "loan before connect");
    const std::size_t pages = pages_for(bytes);
    if (m_next + pages > m_pages) m_next = 0;
    std::byte* frame = m_ring + m_next * m_page;
    m_next += pages;
    return frame;
  }

  std::byte* m_ring = nullptr;
  std::size_t m_page = 4096;
  std::size_t m_pages = 0;
  std::size_t m_next = 0;  // the page the next frame starts on
};

}  // namespace

extern const TransportInfo vmsplice_driver{
    .name = "vmsplice",
    .description =
        "as pipe, but frames go in with vmsplice(2) from a ring of the writer's pages: the "
        "writer's copy is saved, the reader's read() copy remains; 64 KiB pipe buffer",
    .capabilities =
        [] {
          return Capabilities{
              .native_wait = WaitMode::block, .stdio_pipes = true, .pollable = true};
        },
    .make = make_transport<VmspliceTransport>,
    .options = [] { return std::vector{pipe_buffer_option()}; }};

}  // namespace ipcbench

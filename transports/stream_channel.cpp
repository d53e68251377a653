#include "transports/stream_channel.hpp"

#include <csignal>
#include <cstring>
#include <string>

#include "transports/driver_options.hpp"

namespace ipcbench {

namespace {
constexpr std::size_t kHeader = sizeof(StreamFrameHeader);
// Room to read ahead past the largest message, so small messages need one read each.
constexpr std::size_t kReadAhead = 64 * 1024;
}  // namespace

Result<std::size_t> frame_payload(std::span<const std::byte> bytes, std::size_t max_message_bytes) {
  StreamFrameHeader header;
  std::memcpy(&header, bytes.data(), kHeader);
  if (header.magic != kStreamFrameMagic) {
    return fail(Errc::protocol, "stream out of step: bad frame magic");
  }
  if (header.length > max_message_bytes) {
    return fail(Errc::message_too_large,
                "incoming message of " + std::to_string(header.length) + " bytes");
  }
  return header.length;
}

StreamTransport::StreamTransport(const Endpoint& endpoint)
    : m_endpoint(endpoint),
      m_tx(kHeader + endpoint.max_message_bytes),
      m_frame(m_tx.data()),
      m_rx(kHeader + endpoint.max_message_bytes + kReadAhead) {}

Result<void> StreamTransport::listen_at(const SocketAddress& address) {
  auto fd = bind_socket(SOCK_STREAM, address, &m_endpoint);
  if (!fd) return std::unexpected(fd.error());
  m_listener = std::move(*fd);
  return {};
}

Result<void> StreamTransport::accept_peer() {
  auto fd = accept_within(m_listener.get(), m_endpoint.timeout);
  if (!fd) return std::unexpected(fd.error());
  m_socket = std::move(*fd);
  m_listener = UniqueFd();
  return attach(m_socket.get(), m_socket.get(), FdIo::Kind::stream_socket);
}

Result<void> StreamTransport::connect_to(const SocketAddress& address) {
  auto fd = connected_socket(SOCK_STREAM, address, &m_endpoint);
  if (!fd) return std::unexpected(fd.error());
  m_socket = std::move(*fd);
  return attach(m_socket.get(), m_socket.get(), FdIo::Kind::stream_socket);
}

Result<void> StreamTransport::attach(int rfd, int wfd, FdIo::Kind kind) {
  m_wfd = wfd;
  m_kind = kind;
  if (kind == FdIo::Kind::pipe || kind == FdIo::Kind::vmsplice_pipe) {
    if (auto ok = apply_pipe_buffer(wfd, m_endpoint); !ok) return ok;
  }
  return m_io.configure(rfd, wfd, kind, m_endpoint);
}

std::vector<OptionValue> StreamTransport::granted_options() const {
  if (m_wfd < 0) return {};
  if (m_kind == FdIo::Kind::pipe || m_kind == FdIo::Kind::vmsplice_pipe) {
    return granted_pipe_buffer(m_wfd, m_endpoint);
  }
  auto granted = granted_socket_buffers(m_wfd, m_endpoint);
  for (OptionValue& o : granted_poll_first(m_endpoint))
    granted.push_back(std::move(o));
  return granted;
}

Result<void> StreamTransport::attach_stdio_pipes(FdIo::Kind kind) {
  if (m_endpoint.in_fd < 0 || m_endpoint.out_fd < 0) {
    return fail(Errc::resource,
                "the channel's pipes were not handed over (Endpoint::in_fd/out_fd)");
  }
  // A write to a pipe whose reader is gone must be an error value, not a fatal signal.
  std::signal(SIGPIPE, SIG_IGN);
  m_stdio_in = UniqueFd(m_endpoint.in_fd);
  m_stdio_out = UniqueFd(m_endpoint.out_fd);
  return attach(m_stdio_in.get(), m_stdio_out.get(), kind);
}

Result<std::byte*> StreamTransport::frame_for(std::size_t) {
  return m_tx.data();
}

Result<std::span<std::byte>> StreamTransport::loan(std::size_t bytes) {
  if (auto ok = check_size(m_endpoint, bytes, "loan"); !ok) return std::unexpected(ok.error());
  auto frame = frame_for(bytes);
  if (!frame) return std::unexpected(frame.error());
  m_frame = *frame;
  return std::span<std::byte>(m_frame + kHeader, bytes);
}

Result<void> StreamTransport::send(std::size_t bytes) {
  if (auto ok = check_size(m_endpoint, bytes, "send"); !ok) return ok;
  StreamFrameHeader header{static_cast<std::uint32_t>(bytes), kStreamFrameMagic};
  std::memcpy(m_frame, &header, kHeader);
  return m_io.write_all(std::span<const std::byte>(m_frame, kHeader + bytes));
}

Result<std::span<const std::byte>> StreamTransport::receive() {
  if (m_held != 0) release();
  for (;;) {
    std::size_t avail = m_end - m_begin;
    if (avail >= kHeader) {
      auto length = frame_payload(std::span<const std::byte>(m_rx).subspan(m_begin, avail),
                                  m_endpoint.max_message_bytes);
      if (!length) return std::unexpected(length.error());
      std::size_t frame = kHeader + *length;
      if (avail >= frame) {
        m_held = frame;
        return std::span<const std::byte>(m_rx).subspan(m_begin + kHeader, *length);
      }
      if (m_begin + frame > m_rx.size()) {  // the rest would not fit behind it: move it down
        std::memmove(m_rx.data(), m_rx.data() + m_begin, avail);
        m_begin = 0;
        m_end = avail;
      }
    } else if (m_begin + kHeader > m_rx.size()) {
      std::memmove(m_rx.data(), m_rx.data() + m_begin, avail);
      m_begin = 0;
      m_end = avail;
    }
    auto got = m_io.read_some(std::span<std::byte>(m_rx).subspan(m_end));
    if (!got) return std::unexpected(got.error());
    m_end += *got;
  }
}

void StreamTransport::release() {
  m_begin += m_held;
  m_held = 0;
  if (m_begin == m_end) m_begin = m_end = 0;
}

}  // namespace ipcbench

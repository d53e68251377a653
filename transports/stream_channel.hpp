// Messages over a byte stream (pipes, TCP, Unix stream sockets): each message is an 8-byte
// header (payload length, a magic word) then the payload, written with one write. The reader
// keeps a buffer of what the kernel handed over and returns each message as one contiguous view.
#pragma once

#include <cstdint>
#include <vector>

#include "transports/fd_io.hpp"
#include "transports/socket_util.hpp"
#include "transports/transport.hpp"

namespace ipcbench {

struct StreamFrameHeader {
  std::uint32_t length;
  std::uint32_t magic;
};
inline constexpr std::uint32_t kStreamFrameMagic = 0x42435049;  // "IPCB"
static_assert(sizeof(StreamFrameHeader) == 8);

// The payload length the frame header at the front of `bytes` (at least its size) announces:
// Errc::protocol when it is no header (the stream is out of step), Errc::message_too_large when it
// announces more than `max_message_bytes`.
Result<std::size_t> frame_payload(std::span<const std::byte> bytes, std::size_t max_message_bytes);

// What a socket stream transport offers: any size up to 64 MiB, reliable, every wait mode
// (FdIo), blocking natively, a descriptor to wait on.
inline Capabilities stream_capabilities() {
  return {.native_wait = WaitMode::block, .pollable = true};
}

// The parts of a stream transport that do not depend on how the descriptors were made.
class StreamTransport : public Transport {
 public:
  explicit StreamTransport(const Endpoint& endpoint);

  Result<std::span<std::byte>> loan(std::size_t bytes) override;
  Result<void> send(std::size_t bytes) override;
  Result<std::span<const std::byte>> receive() override;
  void release() override;
  // The pipe's `buffer` (pipe, fifo, vmsplice) or the socket's `sndbuf`/`rcvbuf`, those given.
  std::vector<OptionValue> granted_options() const override;
  int readable_fd() override { return m_io.read_fd(); }

 protected:
  // Called by the concrete transport once its descriptors carry bytes both ways. A pipe's
  // `buffer` setting (transports/driver_options.hpp), if given, is applied to the pipe `wfd`
  // writes into.
  Result<void> attach(int rfd, int wfd, FdIo::Kind kind);
  // The channel is the two pipes the harness made (Capabilities::stdio_pipes), handed over in
  // Endpoint::in_fd/out_fd: takes them and attaches them as `kind`.
  Result<void> attach_stdio_pipes(FdIo::Kind kind);
  // Where the frame (header and payload) of a loan of `bytes` is composed: a buffer of this
  // transport's own by default; a driver that hands the frame's memory itself to the kernel
  // (vmsplice) gives memory it will not reuse too soon.
  virtual Result<std::byte*> frame_for(std::size_t bytes);
  static constexpr std::size_t kHeaderBytes = sizeof(StreamFrameHeader);
  const Endpoint& endpoint() const { return m_endpoint; }

  // A stream socket, set up the usual way: the consumer listens at an address and accepts its one
  // peer; the producer connects to it. Each attaches the connected socket, whose `sndbuf` and
  // `rcvbuf` settings, if given, were applied before it listened or connected.
  Result<void> listen_at(const SocketAddress& address);
  Result<void> accept_peer();
  Result<void> connect_to(const SocketAddress& address);
  int socket_fd() const { return m_socket.get(); }
  int listener_fd() const { return m_listener.get(); }

 private:
  Endpoint m_endpoint;
  FdIo m_io;
  int m_wfd = -1;  // as attached
  FdIo::Kind m_kind = FdIo::Kind::stream_socket;
  std::vector<std::byte> m_tx;  // header + largest payload
  std::byte* m_frame;           // where the loaned frame is (frame_for())
  UniqueFd m_stdio_in;          // stdio pipes: the handed-over ends; closing them tells the peer
  UniqueFd m_stdio_out;
  std::vector<std::byte> m_rx;  // what the kernel has handed over, from m_begin to m_end
  std::size_t m_begin = 0;
  std::size_t m_end = 0;
  std::size_t m_held = 0;  // bytes of the message receive() returned, until release()
  UniqueFd m_listener;     // a socket stream's consumer, until its peer connects
  UniqueFd m_socket;       // a socket stream's connection
};

}  // namespace ipcbench

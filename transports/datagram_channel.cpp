#include "transports/datagram_channel.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "base/poll.hpp"
#include "base/wait.hpp"
#include "transports/driver_options.hpp"

namespace ipcbench {

namespace {

constexpr std::size_t kHeader = sizeof(FragmentHeader);
constexpr std::size_t kMaxUnixFragmentPayload = std::size_t{4} << 20;
// What a fragment costs the receiver's socket buffer beyond its bytes (the kernel's
// bookkeeping), charged so that many small datagrams cannot overrun it either.
constexpr std::uint64_t kBookkeeping = 1024;
// The socket buffers we ask for; the kernel may give less (net.core.rmem_max without root).
constexpr int kSocketBuffer = 4 << 20;

std::uint64_t charge(std::size_t payload) {
  return payload + kHeader + kBookkeeping;
}

std::string describe(const FragmentHeader& h) {
  return "fragment " + std::to_string(h.seq) + " (message " + std::to_string(h.message) +
         ", part " + std::to_string(h.fragment_index + 1) + " of " +
         std::to_string(h.fragment_count) + ")";
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Reassembler

void Reassembler::drop_partial() {
  if (m_in_message) {
    ++m_lost;
    m_next_message = m_message + 1;
  }
  m_in_message = false;
  m_assembled = 0;
}

Result<std::optional<std::size_t>> Reassembler::add(const FragmentHeader& h, std::size_t received) {
  if (h.payload_bytes != received) {
    drop_partial();
    m_resync = true;
    return fail(Errc::protocol, describe(h) + " says " + std::to_string(h.payload_bytes) +
                                    " payload bytes, " + std::to_string(received) + " arrived");
  }
  if (h.seq < m_next_fragment) {
    // Already seen: a duplicate, or one that overtook its predecessors. Its payload landed where
    // the next fragment's belongs, which that fragment will overwrite: nothing is corrupted.
    return fail(Errc::protocol, describe(h) + " duplicated or reordered: expected fragment " +
                                    std::to_string(m_next_fragment));
  }
  if (h.seq > m_next_fragment) {
    std::uint64_t missing = h.seq - m_next_fragment;
    std::uint64_t expected = m_next_fragment;
    const bool placed_at_start = m_assembled == 0;  // where the caller put this one's payload
    m_next_fragment = h.seq + 1;
    drop_partial();
    m_resync = true;  // this fragment's payload is at the wrong offset: skip to the next message
    if (m_lossy) {
      // Counted (the partial message above, whole ones by their numbers), not an error. A
      // message's first fragment placed at offset 0 begins its message; placed behind the part
      // of a dropped one, it is lost as well.
      if (h.fragment_index != 0) return std::optional<std::size_t>{};
      if (!placed_at_start) {
        if (h.message >= m_next_message) {
          m_lost += h.message - m_next_message + 1;
          m_next_message = h.message + 1;
        }
        return std::optional<std::size_t>{};
      }
      m_next_fragment = h.seq;
    } else {
      return fail(Errc::protocol, std::to_string(missing) + " fragment(s) lost before " +
                                      describe(h) + ": expected fragment " +
                                      std::to_string(expected));
    }
  }
  ++m_next_fragment;

  if (!m_in_message) {
    if (h.fragment_index != 0) {
      if (m_resync) return std::optional<std::size_t>{};  // rest of a message already dropped
      return fail(Errc::protocol, describe(h) + " without its first fragment");
    }
    m_resync = false;
    if (h.message_bytes > m_max) {
      m_resync = true;
      return fail(Errc::message_too_large,
                  describe(h) + ": message of " + std::to_string(h.message_bytes) +
                      " bytes, the endpoint's maximum is " + std::to_string(m_max));
    }
    if (h.fragment_count == 0 || h.fragment_count > h.message_bytes + 1u) {
      m_resync = true;
      return fail(Errc::protocol, describe(h) + ": impossible fragment count");
    }
    if (h.message < m_next_message) {
      m_resync = true;
      return fail(Errc::protocol, describe(h) + ": message number went back from " +
                                      std::to_string(m_next_message));
    }
    m_lost += h.message - m_next_message;
    m_in_message = true;
    m_message = h.message;
    m_bytes = h.message_bytes;
    m_count = h.fragment_count;
    m_next_index = 0;
    m_assembled = 0;
  } else if (h.message != m_message || h.fragment_index != m_next_index ||
             h.fragment_count != m_count || h.message_bytes != m_bytes) {
    drop_partial();
    m_resync = true;
    return fail(Errc::protocol, describe(h) + " does not continue message " +
                                    std::to_string(m_message) + " at part " +
                                    std::to_string(m_next_index + 1));
  }
  if (received > m_bytes - m_assembled) {
    drop_partial();
    m_resync = true;
    return fail(Errc::protocol, describe(h) + " runs past the message's end");
  }
  m_assembled += received;
  ++m_next_index;
  if (m_next_index < m_count) return std::optional<std::size_t>{};
  if (m_assembled != m_bytes) {
    drop_partial();
    m_resync = true;
    return fail(Errc::protocol, describe(h) + ": message short of its length");
  }
  std::size_t bytes = m_assembled;
  m_in_message = false;
  m_assembled = 0;
  m_next_message = m_message + 1;
  ++m_done;
  return std::optional<std::size_t>{bytes};
}

// ---------------------------------------------------------------------------------------------
// DatagramTransport

DatagramTransport::DatagramTransport(const Endpoint& endpoint, std::size_t max_datagram,
                                     bool credit_window, bool lossy)
    : m_endpoint(endpoint),
      m_credit_window(credit_window),
      m_tx(endpoint.max_message_bytes),
      m_fragmenter(max_datagram == 0 ? 0 : max_datagram - kHeader),
      m_reassembler(endpoint.max_message_bytes, lossy),
      m_assembly(endpoint.max_message_bytes),
      m_current(endpoint.max_message_bytes) {}

Result<void> DatagramTransport::prepare(int fd, FdIo::Kind kind) {
  m_fd = fd;
  for (int option : {SO_RCVBUF, SO_SNDBUF}) {
    // A buffer given as a setting (--set) is asked for as an application would
    // (transports/driver_options.hpp); the other is kSocketBuffer.
    if (m_endpoint.option(option == SO_RCVBUF ? "rcvbuf" : "sndbuf")) continue;
    int force = option == SO_RCVBUF ? SO_RCVBUFFORCE : SO_SNDBUFFORCE;
    // The FORCE variants work with CAP_NET_ADMIN; otherwise the kernel caps at rmem_max/wmem_max.
    if (::setsockopt(fd, SOL_SOCKET, force, &kSocketBuffer, sizeof kSocketBuffer) != 0) {
      ::setsockopt(fd, SOL_SOCKET, option, &kSocketBuffer, sizeof kSocketBuffer);
    }
  }
  if (auto ok = apply_socket_buffers(fd, m_endpoint); !ok) return ok;
  int got = 0;
  socklen_t len = sizeof got;
  if (::getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &got, &len) != 0) {
    return fail_errno(Errc::system, "getsockopt(SO_RCVBUF)");
  }
  // The kernel reports twice what it charges datagram bytes against; use a quarter of that, so
  // that even the kernel's overhead on large fragments cannot overrun it.
  m_own_window = static_cast<std::uint64_t>(got) / 4;
  int domain = 0;
  if (::getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) != 0) {
    return fail_errno(Errc::system, "getsockopt(SO_DOMAIN)");
  }
  if (domain == AF_UNIX) {
    // A Unix datagram or seqpacket socket refuses (EMSGSIZE) a message longer than its send
    // buffer less 32 bytes (net/unix/af_unix.c); getsockopt reports the buffer the kernel uses.
    // Fragments are no larger (a small `sndbuf` setting makes them smaller).
    if (::getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &got, &len) != 0) {
      return fail_errno(Errc::system, "getsockopt(SO_SNDBUF)");
    }
    if (got <= static_cast<int>(kHeader) + 32) return fail(Errc::resource, "send buffer too small");
    // And no larger than 4 MiB: the kernel puts all but 68 KiB (MAX_SKB_FRAGS pages) of a Unix
    // datagram in one contiguous allocation, and beyond 4 MiB (KMALLOC_MAX_SIZE) it cannot make
    // it: sendmsg fails with ENOBUFS however long the sender waits (an 8 MiB send buffer, as
    // `unix-seqpacket` asks for, let 8 MiB fragments through to that refusal).
    const std::size_t limit =
        std::min(static_cast<std::size_t>(got) - 32 - kHeader, kMaxUnixFragmentPayload);
    if (m_fragmenter.fragment_payload() == 0 || m_fragmenter.fragment_payload() > limit) {
      m_fragmenter.set_fragment_payload(limit);
    }
  }
  return m_io.configure(fd, fd, kind, m_endpoint);
}

Result<void> DatagramTransport::send_control(FragmentType type, std::uint64_t value) {
  FragmentHeader h{};
  h.magic = kFragmentMagic;
  h.type = type;
  h.seq = value;
  iovec iov{&h, sizeof h};
  return m_io.write_datagram({&iov, 1});
}

// HELLO and HELLO_ACK carry the window and who sends them (transports/peer_hello.hpp): a datagram
// socket says nothing when its peer dies, so every wait watches the peer's process.
Result<void> DatagramTransport::send_hello(FragmentType type) {
  FragmentHeader h{};
  h.magic = kFragmentMagic;
  h.type = type;
  h.seq = m_own_window;
  h.payload_bytes = sizeof(PeerHello);
  PeerHello me = hello_from_this_process(kFragmentMagic);
  iovec iov[2] = {{&h, sizeof h}, {&me, sizeof me}};
  return m_io.write_datagram({iov, 2});
}

Result<void> DatagramTransport::watch(const PeerHello& hello) {
  auto peer = read_hello(std::as_bytes(std::span(&hello, 1)), kFragmentMagic);
  if (!peer) return std::unexpected(peer.error());
  m_peer.watch(*peer);
  return m_io.watch_peer(&m_peer);
}

Result<void> DatagramTransport::handshake_producer() {
  const auto deadline = monotonic_ns() + std::chrono::nanoseconds(m_endpoint.timeout).count();
  for (;;) {
    if (auto ok = send_hello(FragmentType::hello); !ok) return ok;
    // Resends the HELLO every 50 ms until the consumer answers.
    if (poll_one(m_fd, POLLIN, std::chrono::milliseconds(50), {})) {
      FragmentHeader h{};
      PeerHello hello{};
      iovec iov[2] = {{&h, sizeof h}, {&hello, sizeof hello}};
      msghdr msg{};
      msg.msg_iov = iov;
      msg.msg_iovlen = 2;
      ssize_t n = ::recvmsg(m_fd, &msg, MSG_DONTWAIT);
      if (n == static_cast<ssize_t>(kHeader + sizeof hello) && h.magic == kFragmentMagic &&
          h.type == FragmentType::hello_ack) {
        m_window = h.seq;
        return watch(hello);
      }
      if (n < 0 && errno == ECONNREFUSED) return fail(Errc::peer_gone, "consumer not there");
    }
    if (monotonic_ns() > deadline) return fail(Errc::timeout, "no answer to HELLO");
  }
}

Result<void> DatagramTransport::handshake_consumer() {
  const auto deadline = monotonic_ns() + std::chrono::nanoseconds(m_endpoint.timeout).count();
  for (;;) {
    const std::chrono::milliseconds left(
        std::max<std::int64_t>(0, (deadline - monotonic_ns()) / 1000000));
    if (auto ready = poll_one(m_fd, POLLIN, left, "no HELLO from a producer"); !ready) {
      return ready;
    }
    FragmentHeader h{};
    PeerHello hello{};
    sockaddr_storage from{};
    iovec iov[2] = {{&h, sizeof h}, {&hello, sizeof hello}};
    msghdr msg{};
    msg.msg_name = &from;
    msg.msg_namelen = sizeof from;
    msg.msg_iov = iov;
    msg.msg_iovlen = 2;
    ssize_t n = ::recvmsg(m_fd, &msg, MSG_DONTWAIT);
    if (n != static_cast<ssize_t>(kHeader + sizeof hello) || h.magic != kFragmentMagic ||
        h.type != FragmentType::hello) {
      continue;  // not ours: the only way in is a HELLO
    }
    if (::connect(m_fd, reinterpret_cast<sockaddr*>(&from), msg.msg_namelen) != 0) {
      return fail_errno(Errc::resource, "connect to the producer");
    }
    m_window = h.seq;
    if (auto ok = watch(hello); !ok) return ok;
    return send_hello(FragmentType::hello_ack);
  }
}

Result<void> DatagramTransport::grant() {
  m_granted = m_drained;
  auto ok = send_control(FragmentType::credit, m_granted);
  // A credit is advice: a peer that has finished and gone needs none, and what it sent before
  // going is still ours to deliver. Its absence shows at the next receive or send.
  if (!ok && ok.error().code == Errc::peer_gone) return {};
  return ok;
}

Result<std::span<std::byte>> DatagramTransport::loan(std::size_t bytes) {
  if (auto ok = check_size(m_endpoint, bytes, "loan"); !ok) return std::unexpected(ok.error());
  return std::span<std::byte>(m_tx).first(bytes);
}

Result<void> DatagramTransport::wait_for_credit(std::size_t cost) {
  if (!m_credit_window) return {};
  // Always allowed when nothing is outstanding, so a tiny window still makes progress.
  while (m_charged != m_peer_drained && m_charged - m_peer_drained + cost > m_window) {
    // Ask, then wait for the answer: the peer answers a PROBE with a CREDIT at its next drain.
    if (auto ok = send_control(FragmentType::probe, 0); !ok) return ok;
    const std::uint64_t before = m_peer_drained;
    while (m_peer_drained == before) {
      auto pumped = pump(true);
      if (!pumped) return std::unexpected(pumped.error());
    }
  }
  return {};
}

Result<void> DatagramTransport::send(std::size_t bytes) {
  if (auto ok = check_size(m_endpoint, bytes, "send"); !ok) return ok;
  m_in_send = true;
  struct Reset {
    bool& flag;
    ~Reset() { flag = false; }
  } reset{m_in_send};
  return m_fragmenter.send(bytes, [&](FragmentHeader& h, std::size_t offset) -> Result<void> {
    const std::size_t payload = h.payload_bytes;
    if (auto ok = wait_for_credit(charge(payload)); !ok) return ok;
    iovec iov[2] = {{&h, sizeof h}, {m_tx.data() + offset, payload}};
    if (auto ok = m_io.write_datagram({iov, payload == 0 ? 1u : 2u}); !ok) return ok;
    m_charged += charge(payload);
    return {};
  });
}

Result<bool> DatagramTransport::pump(bool wait) {
  FragmentHeader h{};
  std::size_t at = m_reassembler.assembled();
  iovec iov[2] = {{&h, sizeof h}, {m_assembly.data() + at, m_assembly.size() - at}};
  FdIo::Datagram d{};
  if (wait) {
    auto got = m_io.read_datagram(iov);
    if (!got) return std::unexpected(got.error());
    d = *got;
  } else {
    auto got = m_io.try_read_datagram(iov);
    if (!got) return std::unexpected(got.error());
    if (!*got) return false;
    d = **got;
  }
  if (d.bytes < kHeader || h.magic != kFragmentMagic) {
    return fail(Errc::protocol,
                "a datagram that is not ours (" + std::to_string(d.bytes) + " bytes)");
  }
  switch (h.type) {
    case FragmentType::credit:
      m_peer_drained = std::max(m_peer_drained, h.seq);
      return false;
    case FragmentType::probe:
      if (m_drained != m_granted) {
        if (auto ok = grant(); !ok) return std::unexpected(ok.error());
      } else {
        m_peer_waiting = true;
      }
      return false;
    case FragmentType::hello:  // the producer repeats HELLO until it hears HELLO_ACK
      if (m_endpoint.role == Role::consumer) {
        if (auto ok = send_hello(FragmentType::hello_ack); !ok) return std::unexpected(ok.error());
      }
      return false;
    case FragmentType::hello_ack:
      return false;
    case FragmentType::data:
      break;
    default:
      return fail(Errc::protocol,
                  "unknown datagram type " + std::to_string(static_cast<unsigned>(h.type)));
  }
  if (d.truncated) {
    return fail(Errc::protocol, describe(h) + " does not fit the message buffer");
  }
  std::size_t payload = d.bytes - kHeader;
  m_drained += charge(payload);
  if (m_credit_window && (m_peer_waiting || m_drained - m_granted >= m_own_window / 4)) {
    m_peer_waiting = false;
    if (auto ok = grant(); !ok) return std::unexpected(ok.error());
  }
  auto whole = m_reassembler.add(h, payload);
  m_stats.messages_lost = m_reassembler.messages_lost();
  if (!whole) return std::unexpected(whole.error());
  if (!*whole) return false;
  if (m_in_send) {
    // A message arrived while we wait for credit: keep it for receive(), assemble in a new buffer.
    m_ready.emplace_back(std::move(m_assembly), **whole);
    m_assembly.assign(m_endpoint.max_message_bytes, std::byte{});
    return false;
  }
  m_assembly_bytes = **whole;
  return true;
}

Result<std::span<const std::byte>> DatagramTransport::receive() {
  if (!m_ready.empty()) {
    auto [buffer, bytes] = std::move(m_ready.front());
    m_ready.pop_front();
    m_current = std::move(buffer);
    return std::span<const std::byte>(m_current).first(bytes);
  }
  for (;;) {
    auto whole = pump(true);
    if (!whole) return std::unexpected(whole.error());
    if (*whole) break;
  }
  std::swap(m_assembly, m_current);
  return std::span<const std::byte>(m_current).first(m_assembly_bytes);
}

std::vector<OptionValue> DatagramTransport::granted_options() const {
  if (m_fd < 0) return {};
  auto granted = granted_socket_buffers(m_fd, m_endpoint);
  for (auto& given : granted_as_given(m_endpoint, {"credit"}))  // udp's
    granted.push_back(std::move(given));
  return granted;
}

TransportStats DatagramTransport::stats() const {
  return m_stats;
}

}  // namespace ipcbench

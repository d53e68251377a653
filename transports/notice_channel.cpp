#include "transports/notice_channel.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "base/poll.hpp"

namespace ipcbench {

namespace {

constexpr std::uint32_t kNoticeMagic = 0x4e435049;         // "IPCN"
constexpr std::uint64_t kSetupMagic = 0x5055544553435049;  // "IPCSETUP"
constexpr std::uint32_t kCredit = 0xffffffff;
constexpr std::uint32_t kProbe = 0xfffffffe;

std::size_t round_up(std::size_t n, std::size_t to) {
  return (n + to - 1) / to * to;
}

Result<void> send_setup(int socket, const SlotsSetup& setup, int pass_fd) {
  iovec iov{const_cast<SlotsSetup*>(&setup), sizeof setup};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  if (pass_fd >= 0) {
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &pass_fd, sizeof(int));
  }
  if (::sendmsg(socket, &msg, MSG_NOSIGNAL) != static_cast<ssize_t>(sizeof setup)) {
    return fail_errno(Errc::peer_gone, "send the set-up message");
  }
  return {};
}

// The peer's set-up message and the descriptor that came with it, if any.
Result<UniqueFd> receive_setup(int socket, SlotsSetup& setup, std::chrono::milliseconds timeout) {
  if (auto ready = poll_one(socket, POLLIN, timeout, "no set-up message from the peer"); !ready) {
    return std::unexpected(ready.error());
  }
  iovec iov{&setup, sizeof setup};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  const ssize_t n = ::recvmsg(socket, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
  UniqueFd fd;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      int passed;
      std::memcpy(&passed, CMSG_DATA(c), sizeof passed);
      fd = UniqueFd(passed);
    }
  }
  if (n == 0) return fail(Errc::peer_gone, "the peer left during set-up");
  if (n < 0) return fail_errno(Errc::system, "receive the set-up message");
  if (n != static_cast<ssize_t>(sizeof setup) || setup.magic != kSetupMagic ||
      (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0 || setup.slots == 0 ||
      setup.slot_bytes == 0) {
    return fail(Errc::protocol, "a bad set-up message from the peer");
  }
  return fd;
}

}  // namespace

NoticeTransport::NoticeTransport(const Endpoint& endpoint, std::string socket_name)
    : m_endpoint(endpoint),
      m_socket_name(std::move(socket_name)),
      m_slots(static_cast<std::uint32_t>(std::max<std::size_t>(endpoint.queue_depth, 1))),
      m_slot_bytes(round_up(std::max<std::size_t>(endpoint.max_message_bytes, 1), 64)) {}

// Closing a Unix socket with data unread resets the connection, and the peer then loses the
// notices still queued for it (a producer that only sends leaves the consumer's credits unread,
// and its last messages were gone: ECONNRESET before them). So read what is there first.
NoticeTransport::~NoticeTransport() {
  const int fd = socket();
  if (fd < 0) return;
  char discard[sizeof(Notice)];
  while (::recv(fd, discard, sizeof discard, MSG_DONTWAIT) > 0) {
  }
}

Result<std::string> NoticeTransport::listen() {
  return m_connection.listen(m_endpoint.dir + "/" + m_socket_name);
}

Result<void> NoticeTransport::connect(std::string_view peer_address) {
  auto ok = m_connection.connect(m_endpoint.role, peer_address, m_endpoint.timeout);
  if (!ok) return ok;
  if (auto ok = exchange_setups(); !ok) return ok;
  return m_io.configure(socket(), socket(), FdIo::Kind::seqpacket_socket, m_endpoint);
}

Result<void> NoticeTransport::exchange_setups() {
  SlotsSetup mine{kSetupMagic, 0, m_slot_bytes, m_slots, 0};
  auto pass = make_slots(mine);
  if (!pass) return std::unexpected(pass.error());
  if (auto ok = send_setup(socket(), mine, *pass); !ok) return ok;
  SlotsSetup theirs{};
  auto fd = receive_setup(socket(), theirs, m_endpoint.timeout);
  if (!fd) return std::unexpected(fd.error());
  ucred cred{};
  socklen_t len = sizeof cred;
  if (::getsockopt(socket(), SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
    return fail_errno(Errc::system, "getsockopt(SO_PEERCRED)");
  }
  m_peer_slots = theirs.slots;
  return reach_peer(theirs, std::move(*fd), cred.pid);
}

Result<void> NoticeTransport::write_notice(std::uint32_t slot, std::uint64_t bytes) {
  Notice notice{kNoticeMagic, slot, bytes, m_done};
  iovec iov{&notice, sizeof notice};
  if (auto ok = m_io.write_datagram({&iov, 1}); !ok) return ok;
  m_credited = m_done;
  m_peer_waiting = false;
  return {};
}

Result<void> NoticeTransport::credit() {
  auto ok = write_notice(kCredit, 0);
  // A credit is advice: a peer that has gone needs none; its absence shows at the next call.
  if (!ok && ok.error().code == Errc::peer_gone) return {};
  return ok;
}

Result<std::optional<Notice>> NoticeTransport::read_notice(bool wait) {
  Notice notice{};
  iovec iov{&notice, sizeof notice};
  FdIo::Datagram d{};
  if (wait) {
    auto got = m_io.read_datagram({&iov, 1});
    if (!got) return std::unexpected(got.error());
    d = *got;
  } else {
    auto got = m_io.try_read_datagram({&iov, 1});
    if (!got) return std::unexpected(got.error());
    if (!*got) return std::nullopt;
    d = **got;
  }
  if (d.bytes != sizeof notice || d.truncated || notice.magic != kNoticeMagic ||
      notice.done > m_sent || notice.done < m_peer_done) {
    return fail(Errc::protocol, "a bad notice from the peer");
  }
  m_peer_done = notice.done;
  if (notice.slot == kProbe) {
    if (m_done != m_credited) {
      if (auto ok = credit(); !ok) return std::unexpected(ok.error());
    } else {
      m_peer_waiting = true;
    }
  }
  return notice;
}

Result<std::span<std::byte>> NoticeTransport::loan(std::size_t bytes) {
  if (auto ok = check_size(m_endpoint, bytes, "loan"); !ok) return std::unexpected(ok.error());
  bool probed = false;
  while (m_sent - m_peer_done >= m_slots) {  // every slot is out: wait for a credit
    if (!probed) {
      if (auto ok = write_notice(kProbe, 0); !ok) return std::unexpected(ok.error());
      probed = true;
    }
    auto notice = read_notice(true);
    if (!notice) return std::unexpected(notice.error());
    if ((*notice)->slot < kProbe) m_pending.push_back(**notice);  // a message: for receive()
  }
  m_loaned = true;
  return slot(static_cast<std::uint32_t>(m_sent % m_slots)).first(bytes);
}

Result<void> NoticeTransport::send(std::size_t bytes) {
  if (auto ok = check_size(m_endpoint, bytes, "send"); !ok) return ok;
  if (!m_loaned) return fail(Errc::protocol, "send without a loan");
  m_loaned = false;
  if (auto ok = write_notice(static_cast<std::uint32_t>(m_sent % m_slots), bytes); !ok) return ok;
  ++m_sent;
  return {};
}

Result<std::span<const std::byte>> NoticeTransport::receive() {
  release();
  Notice notice{};
  if (!m_pending.empty()) {
    notice = m_pending.front();
    m_pending.pop_front();
  } else {
    for (;;) {
      auto got = read_notice(true);
      if (!got) return std::unexpected(got.error());
      notice = **got;
      if (notice.slot < kProbe) break;
    }
  }
  if (notice.slot != m_received % m_peer_slots || notice.bytes > m_endpoint.max_message_bytes) {
    return fail(Errc::protocol, "notice of " + std::to_string(notice.bytes) + " bytes in slot " +
                                    std::to_string(notice.slot) + ", expected slot " +
                                    std::to_string(m_received % m_peer_slots));
  }
  ++m_received;
  bool done_at_once = false;
  auto view = message(notice, done_at_once);
  if (!view) return view;
  if (done_at_once) {
    done_with_one();
  } else {
    m_holding = true;
  }
  return view;
}

void NoticeTransport::release() {
  if (!m_holding) return;
  m_holding = false;
  done_with_one();
}

void NoticeTransport::linger() {
  if (socket() < 0 || m_sent == m_peer_done) return;
  // Our own credit first, so that a peer lingering too is not kept waiting; then ask for its.
  if (m_done != m_credited && !credit()) return;
  if (!write_notice(kProbe, 0)) return;
  while (m_sent != m_peer_done) {
    if (!read_notice(true)) return;  // gone (end of file), or the timeout
  }
}

void NoticeTransport::done_with_one() {
  ++m_done;
  if (m_peer_waiting || m_done - m_credited >= std::max<std::uint32_t>(m_peer_slots / 2, 1)) {
    (void)credit();  // a failure other than the peer's absence shows at the next call
  }
}

}  // namespace ipcbench

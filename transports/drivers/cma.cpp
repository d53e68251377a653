// cma: cross-memory attach. Each side keeps `queue depth` slots in its own private memory; loan()
// is the next one, written in place; send() announces it with a notice (slot, length) over a
// SOCK_SEQPACKET Unix socket; the receiver pulls the message straight from the sender's memory
// into its own buffer with process_vm_readv(2), one copy that the kernel makes between the two
// address spaces, and returns the slot at once by a credit (transports/notice_channel.hpp). The
// sender's pid is the socket's (SO_PEERCRED), its slots' address comes in the set-up message.
//
// A message lives in the sender's memory until the receiver has pulled it, so a sender that is
// done waits (at most Endpoint::timeout) until the receiver has credited all it announced, or
// has gone, before that memory goes (NoticeTransport::linger).
//
// process_vm_readv needs the right to ptrace the peer (PTRACE_MODE_ATTACH_REALCREDS: the same
// user, and Yama's /proc/sys/kernel/yama/ptrace_scope). Scope 0: any process of the user. Scope
// 1: only a descendant, so each side names its peer its ptracer (prctl PR_SET_PTRACER) before it
// announces anything. Scope 2: only with CAP_SYS_PTRACE. Scope 3: never. `list` says, checked
// when the registry is first read, whether it can run here and why not (the scope, a seccomp
// filter or a kernel without CONFIG_CROSS_MEMORY_ATTACH, found by a read of our own memory).
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/uio.h>

#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "transports/kernel_setting.hpp"
#include "transports/notice_channel.hpp"

namespace ipcbench {
namespace {

constexpr int kCapSysPtrace = 19;  // <linux/capability.h> CAP_SYS_PTRACE

// Does this process hold `capability` (its effective set, /proc/self/status CapEff)?
bool has_capability(int capability) {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("CapEff:", 0) == 0) {
      return (std::stoull(line.substr(7), nullptr, 16) >> capability & 1) != 0;
    }
  }
  return false;
}

class CmaTransport final : public NoticeTransport {
 public:
  explicit CmaTransport(const Endpoint& endpoint)
      : NoticeTransport(endpoint, "cma.sock"), m_rx(endpoint.max_message_bytes) {}

  ~CmaTransport() override {
    linger();  // the peer pulls what we announced from this memory: not before it has
    if (m_slots) ::munmap(m_slots, m_bytes);
  }

 private:
  Result<int> make_slots(SlotsSetup& setup) override {
    m_bytes = std::size_t{slots()} * slot_bytes();
    // Private memory, populated now (the first lap would otherwise fault mid-run).
    void* base = ::mmap(nullptr, m_bytes, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (base == MAP_FAILED) return fail_errno(Errc::resource, "mmap the slots");
    m_slots = static_cast<std::byte*>(base);
    setup.address = reinterpret_cast<std::uintptr_t>(m_slots);
    return -1;
  }

  Result<void> reach_peer(const SlotsSetup& setup, UniqueFd, pid_t pid) override {
    if (setup.slot_bytes < endpoint().max_message_bytes) {
      return fail(Errc::protocol, "the peer's slots are smaller than a message");
    }
    m_peer = pid;
    m_peer_address = setup.address;
    m_peer_slot_bytes = setup.slot_bytes;
    // Yama scope 1: the peer may read us only once we name it (EINVAL without Yama: fine).
    ::prctl(PR_SET_PTRACER, static_cast<unsigned long>(pid), 0, 0, 0);
    return {};
  }

  std::span<std::byte> slot(std::uint32_t index) override {
    return {m_slots + std::size_t{index} * slot_bytes(), slot_bytes()};
  }

  Result<std::span<const std::byte>> message(const Notice& notice, bool& done_at_once) override {
    done_at_once = true;  // copied out: the slot goes back now
    iovec local{m_rx.data(), notice.bytes};
    iovec remote{reinterpret_cast<void*>(m_peer_address + notice.slot * m_peer_slot_bytes),
                 notice.bytes};
    std::size_t got = 0;
    while (got < notice.bytes) {
      const ssize_t n = ::process_vm_readv(m_peer, &local, 1, &remote, 1, 0);
      if (n <= 0) {
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == ESRCH) return fail_errno(Errc::peer_gone, "process_vm_readv");
        return fail_errno(Errc::system, "process_vm_readv from pid " + std::to_string(m_peer));
      }
      got += static_cast<std::size_t>(n);  // a partial read: the rest
      local = {m_rx.data() + got, notice.bytes - got};
      remote.iov_base = static_cast<std::byte*>(remote.iov_base) + n;
      remote.iov_len = notice.bytes - got;
    }
    return std::span<const std::byte>(m_rx.data(), notice.bytes);
  }

  std::byte* m_slots = nullptr;
  std::size_t m_bytes = 0;
  std::vector<std::byte> m_rx;
  pid_t m_peer = 0;
  std::uintptr_t m_peer_address = 0;
  std::size_t m_peer_slot_bytes = 0;
};

// Can this process read a peer's memory here? Why not, if not.
MachineFacts facts() {
  MachineFacts out;
  const auto scope = kernel_setting("/proc/sys/kernel/yama/ptrace_scope");
  const std::string where = "(/proc/sys/kernel/yama/ptrace_scope is " +
                            (scope ? std::to_string(*scope) : std::string("absent")) + ")";
  if (scope && *scope >= 3) {
    out.unavailable = "Yama forbids every ptrace attach " + where;
  } else if (scope && *scope == 2 && !has_capability(kCapSysPtrace)) {
    out.unavailable =
        "Yama allows ptrace only with CAP_SYS_PTRACE, which this process lacks " + where;
  } else {
    char probe = 1, copy = 0;
    iovec local{&copy, 1};
    iovec remote{&probe, 1};
    if (::process_vm_readv(::getpid(), &local, 1, &remote, 1, 0) != 1) {
      out.unavailable = std::string("process_vm_readv fails even on this process: ") +
                        std::strerror(errno) +
                        " (a seccomp filter, or no CONFIG_CROSS_MEMORY_ATTACH)";
    }
  }
  out.description =
      "cross-memory attach: the receiver pulls each message from the sender's memory with "
      "process_vm_readv (one copy), announced by a notice on a Unix seqpacket socket; needs "
      "ptrace rights over the peer " +
      where;
  return out;
}

}  // namespace

extern const TransportInfo cma_driver{
    .name = "cma",
    .description =
        "cross-memory attach: process_vm_readv from the sender's memory, announced by "
        "a notice on a Unix seqpacket socket; needs ptrace rights over the peer",
    .capabilities = [] { return Capabilities{.native_wait = WaitMode::block, .pollable = true}; },
    .make = make_transport<CmaTransport>,
    .here = facts};

}  // namespace ipcbench

// memfd-uds: each side makes a pool of `queue depth` slots (memfd_create, sized once, sealed
// against shrinking and growing: F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) and hands its
// descriptor to the peer once, over a SOCK_SEQPACKET Unix socket (SCM_RIGHTS); the peer maps it
// read-only. loan() is the next slot of this side's pool, written in place; send() announces it
// with a 24-byte notice (slot, length) on the socket; receive() is a view of the slot in the peer's
// pool, in place, until release(), which returns the slot by a credit (transports/
// notice_channel.hpp). No byte of a message is copied by the transport; each message still costs
// a notice and a wake-up of the receiver (in block mode), as any socket message does.
//
// The seals let the receiver trust the mapping's size: a pool that cannot shrink cannot turn a
// read into SIGBUS; the receiver checks them before it maps. Writes cannot be sealed (the sender
// writes in place): a sender that rewrote a slot it had announced would change what the peer
// reads, as with any shared memory. A memfd has no name in any file system: nothing to remove.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "transports/notice_channel.hpp"

namespace ipcbench {
namespace {

constexpr int kSeals = F_SEAL_SHRINK | F_SEAL_GROW;

// A mapping, unmapped when destroyed.
class Mapping {
 public:
  Mapping() = default;
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  ~Mapping() {
    if (m_base) ::munmap(m_base, m_bytes);
  }
  Result<void> map(int fd, std::size_t bytes, int prot) {
    // Populated now: the first lap round the pool would otherwise fault its pages in mid-run.
    void* base = ::mmap(nullptr, bytes, prot, MAP_SHARED | MAP_POPULATE, fd, 0);
    if (base == MAP_FAILED) return fail_errno(Errc::resource, "mmap the pool");
    m_base = static_cast<std::byte*>(base);
    m_bytes = bytes;
    return {};
  }
  std::byte* base() const { return m_base; }

 private:
  std::byte* m_base = nullptr;
  std::size_t m_bytes = 0;
};

class MemfdUdsTransport final : public NoticeTransport {
 public:
  explicit MemfdUdsTransport(const Endpoint& endpoint)
      : NoticeTransport(endpoint, "memfd-uds.sock") {}

 private:
  Result<int> make_slots(SlotsSetup&) override {
    const std::size_t bytes = std::size_t{slots()} * slot_bytes();
    m_pool = UniqueFd(::memfd_create("ipcbench-pool", MFD_CLOEXEC | MFD_ALLOW_SEALING));
    if (!m_pool) return fail_errno(Errc::resource, "memfd_create");
    if (::ftruncate(m_pool.get(), static_cast<off_t>(bytes)) != 0) {
      return fail_errno(Errc::resource, "size the pool to " + std::to_string(bytes) + " bytes");
    }
    if (::fcntl(m_pool.get(), F_ADD_SEALS, kSeals | F_SEAL_SEAL) != 0) {
      return fail_errno(Errc::system, "seal the pool");
    }
    if (auto ok = m_mine.map(m_pool.get(), bytes, PROT_READ | PROT_WRITE); !ok) {
      return std::unexpected(ok.error());
    }
    return m_pool.get();
  }

  Result<void> reach_peer(const SlotsSetup& setup, UniqueFd fd, pid_t) override {
    if (!fd) return fail(Errc::protocol, "the peer's set-up came without its pool");
    if (setup.slot_bytes < endpoint().max_message_bytes) {
      return fail(Errc::protocol, "the peer's slots are smaller than a message");
    }
    const std::size_t bytes = setup.slots * setup.slot_bytes;
    struct stat st {};
    const int seals = ::fcntl(fd.get(), F_GET_SEALS);
    if (::fstat(fd.get(), &st) != 0 || static_cast<std::size_t>(st.st_size) < bytes || seals < 0 ||
        (seals & kSeals) != kSeals) {
      return fail(Errc::protocol,
                  "the peer's pool is not a sealed memfd of " + std::to_string(bytes) + " bytes");
    }
    m_peer_slot_bytes = setup.slot_bytes;
    return m_theirs.map(fd.get(), bytes, PROT_READ);  // the mapping outlives the descriptor
  }

  std::span<std::byte> slot(std::uint32_t index) override {
    return {m_mine.base() + std::size_t{index} * slot_bytes(), slot_bytes()};
  }

  Result<std::span<const std::byte>> message(const Notice& notice, bool& done_at_once) override {
    done_at_once = false;  // read in place: the slot is the peer's until release()
    return std::span<const std::byte>(m_theirs.base() + notice.slot * m_peer_slot_bytes,
                                      notice.bytes);
  }

  UniqueFd m_pool;
  Mapping m_mine;
  Mapping m_theirs;
  std::size_t m_peer_slot_bytes = 0;
};

}  // namespace

extern const TransportInfo memfd_uds_driver{
    .name = "memfd-uds",
    .description =
        "a sealed memfd pool per side, passed once over a Unix seqpacket socket (SCM_RIGHTS); "
        "messages written and read in place, each announced by a 24-byte notice; slots "
        "returned by credits; queue-depth slots of the message size",
    .capabilities =
        [] {
          return Capabilities{.zero_copy = true, .native_wait = WaitMode::block, .pollable = true};
        },
    .make = make_transport<MemfdUdsTransport>};

}  // namespace ipcbench

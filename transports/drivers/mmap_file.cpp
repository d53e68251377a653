// mmap-file: a regular file in the cell's private directory, mapped MAP_SHARED by both sides,
// holding a ring of slots each way (transports/shm_ring.hpp). Copies in and out, like `shm`. The
// consumer makes the file (0600) in listen(); the producer maps it in connect(); the consumer
// unlinks it once both have it mapped, and either side unlinks it when destroyed (idempotent).
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "transports/fd_io.hpp"
#include "transports/shm_ring.hpp"

namespace ipcbench {
namespace {

class FileSegment final : public shm::Segment {
 public:
  FileSegment(std::string path, void* base, std::size_t bytes)
      : m_path(std::move(path)), m_base(base), m_bytes(bytes) {}
  ~FileSegment() override { ::munmap(m_base, m_bytes); }
  std::span<std::byte> bytes() const override { return {static_cast<std::byte*>(m_base), m_bytes}; }
  void remove() override {
    if (m_removed) return;
    m_removed = true;
    ::unlink(m_path.c_str());  // ENOENT when the peer already did: fine
  }

 private:
  std::string m_path;
  void* m_base;
  std::size_t m_bytes;
  bool m_removed = false;
};

Result<std::unique_ptr<shm::Segment>> map(const std::string& path, int fd, std::size_t bytes) {
  void* base = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (base == MAP_FAILED) return fail_errno(Errc::resource, "mmap " + path);
  return std::make_unique<FileSegment>(path, base, bytes);
}

Result<std::unique_ptr<shm::Segment>> create(const Endpoint& endpoint, std::size_t bytes,
                                             std::string& address) {
  const std::string path = endpoint.dir + "/mmap-file.ring";
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd) return fail_errno(Errc::resource, "create " + path);
  auto undo = [&](Errc code, std::string what, int err) {
    ::unlink(path.c_str());
    return fail_errno(code, what, err);
  };
  if (::fchmod(fd.get(), 0600) != 0) return undo(Errc::resource, "fchmod " + path, errno);
  // Blocks reserved now: a full disk is an error here, not a SIGBUS mid-cell.
  if (int err = ::posix_fallocate(fd.get(), 0, static_cast<off_t>(bytes)); err != 0) {
    return undo(Errc::resource, "allocate " + std::to_string(bytes) + " bytes for " + path, err);
  }
  auto segment = map(path, fd.get(), bytes);
  if (!segment)
    ::unlink(path.c_str());
  else
    address = path;
  return segment;
}

Result<std::unique_ptr<shm::Segment>> open(const Endpoint& endpoint, std::string_view address) {
  const std::string path(address);
  if (path.rfind(endpoint.dir + "/", 0) != 0) {
    return fail(Errc::resource, "'" + path + "' is not in this cell's directory");
  }
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) return fail_errno(Errc::resource, "open " + path);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return fail_errno(Errc::resource, "stat " + path);
  if (!S_ISREG(st.st_mode) || st.st_uid != ::geteuid() || st.st_size <= 0) {
    return fail(Errc::resource, path + " is not a regular file of this user");
  }
  return map(path, fd.get(), static_cast<std::size_t>(st.st_size));
}

}  // namespace

extern const TransportInfo mmap_file_driver{
    .name = "mmap-file",
    .description =
        "a file in a private temp dir mapped MAP_SHARED, an SPSC ring of slots each "
        "way; copies in and out; futex wake-ups in block mode",
    .capabilities = shm::ring_capabilities,
    .make = shm::make_ring_transport<create, open>};

}  // namespace ipcbench

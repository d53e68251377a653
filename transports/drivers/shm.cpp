// shm: POSIX shared memory (Boost.Interprocess shared_memory_object + mapped_region) holding a
// ring of slots each way (transports/shm_ring.hpp). The copying baseline the seeds measured: the
// producer copies each message into the segment, the consumer copies it out. The consumer makes
// `<token>-shm` (0600) in listen(); the producer opens it in connect(); the consumer removes the
// name once both have it mapped, and either side removes it when destroyed (idempotent), so a
// side killed with SIGKILL leaves nothing behind.
#include <fcntl.h>
#include <sys/stat.h>

#include <boost/interprocess/exceptions.hpp>
#include <boost/interprocess/mapped_region.hpp>
#include <boost/interprocess/permissions.hpp>
#include <boost/interprocess/shared_memory_object.hpp>

#include "transports/shm_ring.hpp"

namespace ipcbench {
namespace {

namespace bip = boost::interprocess;

class ShmSegment final : public shm::Segment {
 public:
  ShmSegment(std::string name, bip::mapped_region region)
      : m_name(std::move(name)), m_region(std::move(region)) {}
  ~ShmSegment() override = default;
  std::span<std::byte> bytes() const override {
    return {static_cast<std::byte*>(m_region.get_address()), m_region.get_size()};
  }
  void remove() override {
    if (m_removed) return;
    m_removed = true;
    bip::shared_memory_object::remove(m_name.c_str());  // false when already gone: fine
  }

 private:
  std::string m_name;
  bip::mapped_region m_region;
  bool m_removed = false;
};

Result<std::unique_ptr<shm::Segment>> create(const Endpoint& endpoint, std::size_t bytes,
                                             std::string& address) {
  const std::string name = endpoint.token + "-shm";
  bool made = false;
  try {
    bip::permissions owner_only(0600);
    bip::shared_memory_object object(bip::create_only, name.c_str(), bip::read_write, owner_only);
    made = true;
    const int fd = object.get_mapping_handle().handle;
    // Boost sets the mode with fchmod already; say it here too, so a umask never widens it.
    if (::fchmod(fd, 0600) != 0) return fail_errno(Errc::resource, "fchmod " + name);
    // Reserve the memory now: a full /dev/shm is an error here, not a SIGBUS mid-cell.
    if (int err = ::posix_fallocate(fd, 0, static_cast<off_t>(bytes)); err != 0) {
      bip::shared_memory_object::remove(name.c_str());
      return fail_errno(Errc::resource, "allocate " + std::to_string(bytes) + " bytes for " + name,
                        err);
    }
    bip::mapped_region region(object, bip::read_write);
    address = name;
    return std::make_unique<ShmSegment>(name, std::move(region));
  } catch (const bip::interprocess_exception& e) {
    if (made) bip::shared_memory_object::remove(name.c_str());
    return fail(Errc::resource, "shared memory " + name + ": " + e.what());
  }
}

Result<std::unique_ptr<shm::Segment>> open(const Endpoint& endpoint, std::string_view address) {
  const std::string name(address);
  if (name.rfind(endpoint.token, 0) != 0 || name.find('/') != std::string::npos) {
    return fail(Errc::resource, "shared memory name '" + name + "' is not this cell's");
  }
  try {
    bip::shared_memory_object object(bip::open_only, name.c_str(), bip::read_write);
    bip::mapped_region region(object, bip::read_write);
    return std::make_unique<ShmSegment>(name, std::move(region));
  } catch (const bip::interprocess_exception& e) {
    return fail(Errc::resource, "shared memory " + name + ": " + e.what());
  }
}

}  // namespace

extern const TransportInfo shm_driver{
    .name = "shm",
    .description =
        "POSIX shared memory (Boost.Interprocess), an SPSC ring of slots each way; "
        "copies in and out; futex wake-ups in block mode",
    .capabilities = shm::ring_capabilities,
    .make = shm::make_ring_transport<create, open>};

}  // namespace ipcbench

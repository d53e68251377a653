// Issue #9, defect 6: a publisher's segment costs memory as it is used, not up front, and one
// that cannot fit is refused with its size and the room there is, leaving nothing behind.
// (Pre-faulting is asked for with PublisherBuilder::prefault.)
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <cstdint>
#include <string>

#include "platform.hpp"
#include "test_util.hpp"

namespace zerocopy::testing {
namespace {

class SegmentMemory : public ShmTest {
 protected:
  Expected<Service<std::byte[]>, Error<ServiceError>> bytes_service() {
    return node().service_builder("memory").publish_subscribe<std::byte[]>().create();
  }
  // The publisher segment's file: its size and the bytes tmpfs has allocated to it.
  struct FileUse {
    std::uint64_t size = 0;
    std::uint64_t allocated = 0;
  };
  std::optional<FileUse> publisher_file() {
    for (const auto& name : shm_names(prefix())) {
      if (!name.starts_with(prefix() + "p_")) continue;
      struct stat info {};
      if (::stat(("/dev/shm/" + name).c_str(), &info) != 0) return std::nullopt;
      return FileUse{static_cast<std::uint64_t>(info.st_size),
                     static_cast<std::uint64_t>(info.st_blocks) * 512};
    }
    return std::nullopt;
  }
  bool only_the_service_segment_left() {
    auto names = shm_names(prefix());
    return names.size() == 1 && names.front().starts_with(prefix() + "s_");
  }
};

constexpr std::size_t kMiB = std::size_t{1} << 20;

TEST_F(SegmentMemory, ChunksAreAllocatedAsTheyAreFirstUsed) {
  auto service = bytes_service();
  ASSERT_TRUE(service) << service.error().message;
  auto publisher = service->publisher_builder().max_slice_len(kMiB).create();
  ASSERT_TRUE(publisher) << publisher.error().message;
  ASSERT_EQ(publisher->chunks_total(), 34u);  // 2 loans + 8 subscribers x (2 queued + 2 held)
  auto created = publisher_file();
  ASSERT_TRUE(created);
  EXPECT_GE(created->size, 34 * kMiB);
  // The header and the queues only: well under one chunk.
  EXPECT_LT(created->allocated, kMiB) << "allocated at creation: " << created->allocated;

  auto subscriber = service->subscriber_builder().create();
  ASSERT_TRUE(subscriber);
  auto sample = publisher->loan_slice_uninit(kMiB);
  ASSERT_TRUE(sample);
  for (auto& byte : sample->payload_mut())
    byte = std::byte{1};
  ASSERT_TRUE(std::move(*sample).assume_init().send());
  auto used = publisher_file();
  ASSERT_TRUE(used);
  EXPECT_GE(used->allocated, created->allocated + kMiB);  // the chunk written, now
  EXPECT_LT(used->allocated, created->allocated + 2 * kMiB);
  auto received = subscriber->receive();
  ASSERT_TRUE(received && received->has_value());
  EXPECT_EQ(received->payload()[kMiB - 1], std::byte{1});
}

TEST_F(SegmentMemory, PrefaultAllocatesTheWholeSegmentAtCreation) {
  auto service = bytes_service();
  ASSERT_TRUE(service) << service.error().message;
  auto publisher = service->publisher_builder().max_slice_len(kMiB).prefault(true).create();
  ASSERT_TRUE(publisher) << publisher.error().message;
  auto created = publisher_file();
  ASSERT_TRUE(created);
  EXPECT_GE(created->allocated, created->size);
}

TEST_F(SegmentMemory, SegmentLargerThanFreeShmIsRefusedAndLeavesNothing) {
  struct statvfs fs {};
  ASSERT_EQ(::statvfs("/dev/shm", &fs), 0);
  const std::uint64_t free_bytes = std::uint64_t{fs.f_bavail} * fs.f_frsize;
  // Default options: 34 chunks; a chunk a 34th of the free space and a bit is too much. Where
  // /dev/shm is so large that this passes the 4 GiB payload limit, 256 subscribers make 1026.
  std::uint32_t subscribers = 8;
  std::uint64_t slice = free_bytes / 34 + 64 * kMiB;  // 2 GiB more than there is
  if (slice >= 0xffffffffULL) {
    subscribers = 256;
    slice = std::min<std::uint64_t>(free_bytes / 1026 + kMiB, 0xfffff000ULL);
  }
  auto service = node()
                     .service_builder("memory")
                     .publish_subscribe<std::byte[]>()
                     .max_subscribers(subscribers)
                     .create();
  ASSERT_TRUE(service) << service.error().message;
  for (bool prefault : {false, true}) {
    auto publisher = service->publisher_builder().max_slice_len(slice).prefault(prefault).create();
    ASSERT_FALSE(publisher);
    EXPECT_EQ(publisher.error().code, PublisherCreateError::insufficient_memory)
        << publisher.error().message;
    // The size asked for and the room there is.
    const std::string& message = publisher.error().message;
    EXPECT_NE(message.find("needs "), std::string::npos) << message;
    EXPECT_TRUE(message.find("free in /dev/shm") != std::string::npos ||
                message.find("a segment may have") != std::string::npos)
        << message;
    EXPECT_TRUE(only_the_service_segment_left());
  }
  // And the slot was given back: a publisher that fits still can be made.
  EXPECT_EQ(service->publisher_count(), 0u);
  auto small = service->publisher_builder().max_slice_len(64).create();
  EXPECT_TRUE(small) << small.error().message;
}

TEST_F(SegmentMemory, SliceBeyondFourGibIsInvalidAndLeavesNothing) {
  auto service = bytes_service();
  ASSERT_TRUE(service) << service.error().message;
  auto publisher = service->publisher_builder().max_slice_len(std::size_t{1} << 40).create();
  ASSERT_FALSE(publisher);
  EXPECT_EQ(publisher.error().code, PublisherCreateError::invalid_options)
      << publisher.error().message;
  EXPECT_TRUE(only_the_service_segment_left());
}

TEST_F(SegmentMemory, SegmentBeyondTheFileSizeLimitIsRefusedWithoutSigxfsz) {
  auto service = bytes_service();
  ASSERT_TRUE(service) << service.error().message;
  rlimit old_limit{};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old_limit), 0);
  rlimit limit = old_limit;
  limit.rlim_cur = 16 * kMiB;
  if (old_limit.rlim_max != RLIM_INFINITY && old_limit.rlim_max < limit.rlim_cur) {
    GTEST_SKIP() << "the hard RLIMIT_FSIZE is below 16 MiB already";
  }
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &limit), 0);
  auto publisher = service->publisher_builder().max_slice_len(kMiB).create();  // 34 MiB
  ::setrlimit(RLIMIT_FSIZE, &old_limit);
  ASSERT_FALSE(publisher);
  EXPECT_EQ(publisher.error().code, PublisherCreateError::insufficient_memory);
  EXPECT_NE(publisher.error().message.find("RLIMIT_FSIZE"), std::string::npos)
      << publisher.error().message;
  EXPECT_TRUE(only_the_service_segment_left());
}

TEST(SegmentRoom, ShortfallNamesTheSizeAndTheRoom) {
  EXPECT_EQ(detail::describe_shortfall(100, 100, "free in /dev/shm"), "");
  EXPECT_EQ(detail::describe_shortfall(std::uint64_t{34} << 30, std::uint64_t{24} << 30,
                                       "free in /dev/shm"),
            "needs 34.0 GiB (36507222016 bytes), more than the 24.0 GiB (25769803776 bytes) "
            "free in /dev/shm");
  EXPECT_EQ(detail::describe_bytes(512), "512 bytes");
  EXPECT_EQ(detail::shm_room_shortfall(4096, false), "");
  EXPECT_NE(detail::shm_room_shortfall(std::uint64_t{1} << 62, false), "");
}

}  // namespace
}  // namespace zerocopy::testing

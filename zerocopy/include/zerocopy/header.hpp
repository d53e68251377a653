// Per-sample metadata: who sent a sample, its sequence number and (if recorded) when.
#pragma once

#include <compare>
#include <cstdint>

namespace zerocopy {

// A publisher of a service: its slot and generation (never reused while the service exists).
struct PublisherId {
  std::uint32_t slot = 0;
  std::uint64_t generation = 0;
  friend auto operator<=>(const PublisherId&, const PublisherId&) = default;
};

// A subscriber of a service: its slot and generation (never reused while the service exists).
struct SubscriberId {
  std::uint32_t slot = 0;
  std::uint64_t generation = 0;
  friend auto operator<=>(const SubscriberId&, const SubscriberId&) = default;
};

struct SampleHeader {
  PublisherId origin;
  std::uint64_t sequence = 0;  // 1, 2, ... per publisher in the order sent (gaps: samples lost)
  // steady_clock (CLOCK_MONOTONIC) nanoseconds at send, the same clock in every process of the
  // machine; 0 unless the publisher was built with timestamps(true).
  std::int64_t publish_time_ns = 0;
};

}  // namespace zerocopy

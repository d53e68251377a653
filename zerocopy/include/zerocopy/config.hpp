// Options of a node, a service and its ports, with iceoryx2's names and defaults.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

namespace zerocopy {

struct NodeConfig {
  // Every shared-memory name this node creates starts with this prefix (/dev/shm/<prefix>...),
  // so a caller can give a group of processes its own namespace and remove whatever a crash left
  // with one glob. Characters [A-Za-z0-9._-], at most 128 of them.
  std::string prefix = "zc_";
  // Shown in diagnostics only; at most 64 characters.
  std::string name;
  // How long open() waits for a service another process is creating or removing right now.
  std::chrono::milliseconds open_timeout{2000};
};

// What a publisher does when a subscriber's queue is full.
enum class Overflow : std::uint8_t {
  safe_overflow,  // the oldest undelivered sample in that queue is replaced: send never waits
  backpressure,   // send waits (up to the publisher's backpressure_timeout) for space
};

// How a publisher waits for space under backpressure.
enum class BackpressureWait : std::uint8_t {
  spin,   // busy-poll the queue (pause, then sched_yield after ~50 us); no system call
  block,  // spin briefly, then sleep on a futex the subscriber wakes when it takes a sample
};

// The static configuration of a publish-subscribe service, fixed by its creator.
struct ServiceOptions {
  std::uint32_t history_size = 0;                     // samples a late subscriber receives
  std::uint32_t subscriber_max_buffer_size = 2;       // queue capacity per subscriber
  std::uint32_t subscriber_max_borrowed_samples = 2;  // samples a subscriber may hold at once
  std::uint32_t max_publishers = 2;
  std::uint32_t max_subscribers = 8;
  std::uint32_t max_nodes = 20;  // processes (nodes) that may have the service open at once
  Overflow overflow = Overflow::safe_overflow;
};

// Hard limits of the shared-memory layout.
inline constexpr std::uint32_t kMaxNodes = 63;
inline constexpr std::uint32_t kMaxPublishers = 64;
inline constexpr std::uint32_t kMaxSubscribers = 256;
inline constexpr std::uint32_t kMaxBufferSize = 16384;
inline constexpr std::uint32_t kMaxChunks = 65535;
inline constexpr std::size_t kMaxServiceNameLength = 255;
inline constexpr std::size_t kMaxTypeNameLength = 127;
inline constexpr std::size_t kMaxPayloadAlignment = 4096;

}  // namespace zerocopy

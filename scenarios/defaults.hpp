// The scenarios' defaults: the sizes, counts and warm-ups a cell gets when the run does not say
// (README, "Defaults", documents them). The scenario files read them; the harness's --help and
// tests name them.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ipcbench {

inline constexpr std::size_t kDefaultPingpongBytes = 64;
inline constexpr std::size_t kDefaultThroughputBytes = 1 << 20;
inline constexpr std::uint64_t kDefaultIterations = 100000;
inline constexpr std::uint64_t kDefaultMessages = 1000;  // throughput at 1 MiB; scaled by size
inline constexpr std::uint64_t kDefaultPingpongWarmup = 1000;
inline constexpr std::uint64_t kQuickIterations = 2000;
inline constexpr std::uint64_t kQuickMessages = 100;
inline constexpr std::uint64_t kQuickPingpongWarmup = 100;
inline constexpr std::size_t kPingpongWarmupFullUpTo = 64 * 1024;  // bytes
inline constexpr std::uint64_t kMinPingpongWarmup = 10;
inline constexpr double kDefaultRateSeconds = 3, kQuickRateSeconds = 0.5;
inline constexpr double kRateWarmupSeconds = 0.2;  // rate: unmeasured sending first
// fanout's messages: the throughput's 1000 for large ones, more for small ones (a 64-byte
// message is over in microseconds).
inline constexpr std::uint64_t kDefaultFanoutSmallMessages = 20000;
inline constexpr std::size_t kFanoutSmallBelow = 64 * 1024;
// throughput's messages when --messages is not given: about the same bytes a cell whatever the
// size (1000 at 1 MiB: 16 at 64 MiB, 100000 at 4 KiB and below), so that a size sweep measures
// small messages for long enough and large ones in seconds, not minutes; --quick a tenth.
inline constexpr std::uint64_t kMinDefaultMessages = 16, kMaxDefaultMessages = 100000;
std::uint64_t default_throughput_messages(std::size_t bytes, bool quick);
// A stream's warm-up (throughput, and fanout's large messages to N consumers): a hundredth of its
// default messages, and at least enough to go twice through every buffer its queues hold,
// (consumers + 1) x queue_depth_for(bytes) (64 at 1 MiB to one consumer, 160 to four); at most
// 1000. The first pass over a queue's memory is cold: with 10 warm-up messages a 1 MiB shm stream
// measured 5.6 GB/s here and with 70 10.9 GB/s, and zerocopy's producer CPU per message to four
// consumers was 139 us after 40 and 54 us after 140 (its pool holds about 4 x 32 chunks).
// At most 256 MiB (4 messages of 64 MiB, once through their queue): the slowest middleware
// carries 64 MiB in over a second.
inline constexpr std::uint64_t kMaxStreamWarmupBytes = 256u << 20;
std::uint64_t default_throughput_warmup(std::size_t bytes, unsigned consumers = 1);
// pingpong's warm-up: 1000 round trips (100 with --quick) up to 64 KiB, then fewer as messages
// grow (about the same bytes), at least 10: a thousand 4 MiB round trips over a slow middleware
// take minutes, and the time budget counts only the measured ones.
std::uint64_t default_pingpong_warmup(std::size_t bytes, bool quick);
// Messages a producer may have in flight for messages of `bytes` (Endpoint::queue_depth): enough
// to keep a stream moving, within about 32 MiB per direction; 4 to 64.
std::size_t queue_depth_for(std::size_t bytes);

}  // namespace ipcbench

// What every message carries, so that the receiver can check it: the first 8 bytes are the
// sequence number (little-endian), the rest a pattern derived from the sequence number and the
// direction. A wrong, lost, duplicated, reordered or stale message fails the check.
//
// Touch modes (README, "What is measured"): `full` writes and checks every byte; `edges` writes and
// checks the sequence number and the last byte only, as the seeds did.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace ipcbench {

enum class Touch : std::uint8_t { edges, full };
// Every touch, in the enum's order.
inline constexpr Touch kTouches[] = {Touch::edges, Touch::full};
std::string_view to_string(Touch touch);
std::optional<Touch> parse_touch(std::string_view text);

enum class Direction : std::uint8_t { request = 0, reply = 1 };

inline constexpr std::size_t kMinMessageBytes = 8;                 // room for the sequence number
inline constexpr std::uint64_t kStopSequence = ~std::uint64_t{0};  // ends a scenario
// Ends the warm-up: the next message is the first measured one (it keeps the sequence going). The
// producer warms up for a count or a time, whichever ends first, so only it knows when.
inline constexpr std::uint64_t kWarmupEndSequence = ~std::uint64_t{0} - 1;
// The stop message is small whatever the cell's size: the last thing a side sends should be
// one datagram, so nothing of it is still in flight when the sender closes.
inline constexpr std::size_t kStopBytes = kMinMessageBytes;

// A stamped message (rate, fanout) carries two clock readings after its sequence number, in
// bytes 8 to 23: when it was meant to be sent and when it was sent (Clock ticks, the clock both
// workers share). The pattern check leaves those bytes out.
struct Stamps {
  std::uint64_t intended = 0;
  std::uint64_t sent = 0;
};
inline constexpr std::size_t kStampedMinBytes = 32;  // sequence, stamps, and pattern after them
void stamp_message(std::span<std::byte> payload, Stamps stamps);
Stamps read_stamps(std::span<const std::byte> payload);

// Writes message `seq` into `payload` (at least kMinMessageBytes).
void fill_message(std::span<std::byte> payload, std::uint64_t seq, Direction dir, Touch touch);
// The sequence number a message carries (payload of at least kMinMessageBytes).
std::uint64_t message_sequence(std::span<const std::byte> payload);
// Checks that `payload` is message `seq` of `expected_bytes` bytes; says what is wrong if not.
// `stamped`: bytes 8 to 23 hold Stamps and are not checked.
std::optional<std::string> check_message(std::span<const std::byte> payload, std::uint64_t seq,
                                         std::size_t expected_bytes, Direction dir, Touch touch,
                                         bool stamped = false);

}  // namespace ipcbench

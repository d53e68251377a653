// A small header in front of every message of a transport whose library carries opaque bytes
// (nng, a DDS byte sequence, Fast DDS's raw payload): what the message is (the scenario's data,
// or one of the transport's own: a hello when connecting, a credit grant, a goodbye) and a number
// that goes with it. The payload follows at kFrameBytes, so a loan is the library's buffer past
// the header: no extra copy. 16 bytes keep the payload 8-byte aligned where the buffer is.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string>

#include "base/result.hpp"

namespace ipcbench {

enum class FrameKind : std::uint32_t {
  data = 1,    // the scenario's message; value: unused
  hello = 2,   // the first message each way; value: the sender's own (a window, a pid)
  credit = 3,  // value: how many messages the sender of the credit has consumed in all
  bye = 4,     // the sender is closing: nothing more will come from it
};

struct FrameHeader {
  std::uint32_t magic;
  FrameKind kind;
  std::uint64_t value;
};
inline constexpr std::size_t kFrameBytes = sizeof(FrameHeader);
inline constexpr std::uint32_t kFrameMagic = 0x4d434249;  // "IBCM"
static_assert(kFrameBytes == 16);

inline void write_frame(std::span<std::byte> message, FrameKind kind, std::uint64_t value = 0) {
  const FrameHeader header{kFrameMagic, kind, value};
  std::memcpy(message.data(), &header, sizeof header);
}

// The header of a received message; Errc::protocol when it has none.
inline Result<FrameHeader> read_frame(std::span<const std::byte> message) {
  FrameHeader header{};
  if (message.size() < kFrameBytes) {
    return fail(Errc::protocol, "a message of " + std::to_string(message.size()) +
                                    " bytes, shorter than the transport's header");
  }
  std::memcpy(&header, message.data(), sizeof header);
  if (header.magic != kFrameMagic || header.kind < FrameKind::data ||
      header.kind > FrameKind::bye) {
    return fail(Errc::protocol, "a message without the transport's header");
  }
  return header;
}

}  // namespace ipcbench

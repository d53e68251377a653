// The library's version (CHANGELOG.md says what each changed). CMake reads the three numbers
// below (one source of truth), and every
// shared-memory segment records kLayoutVersion, so processes built from incompatible versions
// refuse each other's segments with ServiceError::version_mismatch instead of misreading them.
#pragma once

#define ZEROCOPY_VERSION_MAJOR 0
#define ZEROCOPY_VERSION_MINOR 3
#define ZEROCOPY_VERSION_PATCH 0
#define ZEROCOPY_VERSION_STRING "0.3.0"

namespace zerocopy {

inline constexpr int kVersionMajor = ZEROCOPY_VERSION_MAJOR;
inline constexpr int kVersionMinor = ZEROCOPY_VERSION_MINOR;
inline constexpr int kVersionPatch = ZEROCOPY_VERSION_PATCH;
inline constexpr const char* kVersionString = ZEROCOPY_VERSION_STRING;

// The shared-memory layout version. It changes whenever a segment's layout or protocol changes,
// independently of the API version above.
// 2: checksums of the static configurations.
// 3: bit 31 of a subscriber's sleeper count arms its notification FIFO.
// 4: small payloads inline in the submission slots (PublisherConfig::inline_bytes).
inline constexpr unsigned kLayoutVersion = 4;

}  // namespace zerocopy

#include "layout.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstring>

namespace zerocopy::detail {

std::uint64_t config_checksum(const void* bytes, std::size_t size) noexcept {
  const auto* data = static_cast<const unsigned char*>(bytes);
  std::uint64_t hash = 0xcbf29ce484222325ULL ^ size;
  std::size_t at = 0;
  for (; at + 8 <= size; at += 8) {
    std::uint64_t word = 0;
    std::memcpy(&word, data + at, 8);
    hash = (hash ^ word) * 0x100000001b3ULL;
    hash ^= hash >> 29;
  }
  for (; at < size; ++at)
    hash = (hash ^ data[at]) * 0x100000001b3ULL;
  // Final mix (splitmix64's), so that every input bit reaches every output bit.
  hash ^= hash >> 30;
  hash *= 0xbf58476d1ce4e5b9ULL;
  hash ^= hash >> 27;
  hash *= 0x94d049bb133111ebULL;
  return hash ^ (hash >> 31);
}

namespace {
std::string checksum_mismatch(std::uint64_t stored, std::uint64_t computed) {
  char text[128];
  std::snprintf(text, sizeof text,
                "the checksum of its static configuration is 0x%016llx, its bytes give 0x%016llx",
                static_cast<unsigned long long>(stored), static_cast<unsigned long long>(computed));
  return text;
}
}  // namespace

std::string validate_service_config(const ServiceConfig& config, std::size_t mapped_size) {
  if (config.magic != kServiceMagic) return "not a zerocopy service segment (bad magic)";
  if (config.layout_version != kLayoutVersion) {
    return "layout version " + std::to_string(config.layout_version) + ", this library reads " +
           std::to_string(kLayoutVersion);
  }
  if (std::uint64_t sum = checksum_of(config); sum != config.checksum) {
    return checksum_mismatch(config.checksum, sum);
  }
  if (config.header_size != sizeof(ServiceHeader)) return "header size differs";
  if (config.name_length == 0 || config.name_length > kMaxServiceNameLength) return "bad name";
  if (config.type_name_length == 0 || config.type_name_length > kMaxTypeNameLength) {
    return "bad type name";
  }
  if (config.max_nodes == 0 || config.max_nodes > kMaxNodes) return "max_nodes out of range";
  if (config.max_publishers == 0 || config.max_publishers > kMaxPublishers) {
    return "max_publishers out of range";
  }
  if (config.max_subscribers == 0 || config.max_subscribers > kMaxSubscribers) {
    return "max_subscribers out of range";
  }
  if (config.subscriber_max_buffer_size == 0 ||
      config.subscriber_max_buffer_size > kMaxBufferSize) {
    return "subscriber_max_buffer_size out of range";
  }
  if (config.subscriber_max_borrowed_samples == 0 ||
      config.subscriber_max_borrowed_samples > kMaxBufferSize) {
    return "subscriber_max_borrowed_samples out of range";
  }
  if (config.history_size > config.subscriber_max_buffer_size) return "history_size too large";
  if (config.overflow > 1) return "unknown overflow policy";
  if (config.type_size == 0 || config.type_size > (std::uint64_t{1} << 32)) return "bad type size";
  if (config.type_alignment == 0 || config.type_alignment > kMaxPayloadAlignment ||
      (config.type_alignment & (config.type_alignment - 1)) != 0) {
    return "bad type alignment";
  }
  if (config.user_header_size > kMaxUserHeaderSize || config.user_header_alignment == 0 ||
      config.user_header_alignment > kMaxUserHeaderAlignment ||
      (config.user_header_alignment & (config.user_header_alignment - 1)) != 0 ||
      config.user_header_type_length > kMaxTypeNameLength ||
      (config.user_header_size == 0) != (config.user_header_type_length == 0) ||
      config.reserved != 0) {
    return "bad user header";
  }
  ServiceLayout layout =
      service_layout(config.max_nodes, config.max_publishers, config.max_subscribers);
  if (config.total_size != layout.total_size) return "size does not match the configuration";
  if (mapped_size < layout.total_size) return "segment is truncated";
  return {};
}

std::optional<PublisherConfig> publisher_layout(const PublisherParams& params) {
  if (params.num_channels == 0 || params.num_channels > kMaxSubscribers) return std::nullopt;
  if (params.num_chunks == 0 || params.num_chunks > kMaxChunks) return std::nullopt;
  if (params.buffer_size == 0 || params.buffer_size > kMaxBufferSize) return std::nullopt;
  if (params.max_payload_bytes == 0 || params.max_payload_bytes > 0xffffffffULL) {
    return std::nullopt;
  }
  if (params.payload_alignment == 0 || params.payload_alignment > kMaxPayloadAlignment ||
      (params.payload_alignment & (params.payload_alignment - 1)) != 0) {
    return std::nullopt;
  }
  if (params.user_header_size > kMaxUserHeaderSize || params.user_header_alignment == 0 ||
      params.user_header_alignment > kMaxUserHeaderAlignment ||
      (params.user_header_alignment & (params.user_header_alignment - 1)) != 0) {
    return std::nullopt;
  }
  PublisherConfig config{};
  config.magic = kPublisherMagic;
  config.layout_version = kLayoutVersion;
  config.safe_overflow = params.safe_overflow ? 1 : 0;
  config.service_hash = params.service_hash;
  config.generation = params.generation;
  config.slot = params.slot;
  config.num_channels = params.num_channels;
  config.num_chunks = params.num_chunks;
  config.submission_capacity = next_pow2(params.buffer_size);
  config.completion_capacity = next_pow2(params.num_chunks);
  config.publisher_may_block = params.publisher_may_block ? 1 : 0;
  if (params.inline_bytes != 0 && params.inline_bytes != kInlineBytes) return std::nullopt;
  config.inline_bytes = params.inline_bytes;
  config.max_payload_bytes = params.max_payload_bytes;
  config.payload_alignment = params.payload_alignment;
  std::uint64_t chunk_alignment =
      params.payload_alignment > kCacheLine ? params.payload_alignment : kCacheLine;
  config.chunk_stride = round_up(params.max_payload_bytes, chunk_alignment);
  config.channel_stride = completion_slots_offset(config.submission_capacity, config.inline_bytes) +
                          round_up(std::uint64_t{config.completion_capacity} * 8, kCacheLine);
  config.channels_offset = sizeof(PublisherHeader);
  config.user_header_size = params.user_header_size;
  config.user_header_alignment = params.user_header_alignment;
  config.headers_offset =
      round_up(config.channels_offset + std::uint64_t{config.num_channels} * config.channel_stride,
               kPageSize);
  config.header_stride =
      round_up(user_header_offset(params.user_header_alignment) + params.user_header_size,
               std::max<std::uint64_t>(alignof(ChunkHeader), params.user_header_alignment));
  config.chunks_offset = round_up(
      config.headers_offset + std::uint64_t{config.num_chunks} * config.header_stride, kPageSize);
  // num_chunks < 2^16 and chunk_stride < 2^33: the product cannot overflow 64 bits. The size is
  // not limited here (the publisher reports a segment over kMaxSegmentBytes with its size).
  std::uint64_t chunk_bytes = std::uint64_t{config.num_chunks} * config.chunk_stride;
  config.total_size = round_up(config.chunks_offset + chunk_bytes, kPageSize);
  config.checksum = checksum_of(config);
  return config;
}

std::string validate_publisher_config(const PublisherConfig& config, std::size_t mapped_size) {
  if (config.magic != kPublisherMagic) return "not a zerocopy publisher segment (bad magic)";
  if (config.layout_version != kLayoutVersion) return "layout version differs";
  if (std::uint64_t sum = checksum_of(config); sum != config.checksum) {
    return checksum_mismatch(config.checksum, sum);
  }
  if (config.safe_overflow > 1 || config.publisher_may_block > 1 || config.reserved != 0) {
    return "bad flags";
  }
  // The buffer size is not stored; the submission capacity is its power-of-two rounding, and
  // any buffer size that rounds to it yields the same layout.
  PublisherParams params{config.service_hash,
                         config.generation,
                         config.slot,
                         config.num_channels,
                         config.num_chunks,
                         config.submission_capacity,
                         config.max_payload_bytes,
                         config.payload_alignment,
                         config.safe_overflow == 1,
                         config.publisher_may_block == 1,
                         config.user_header_size,
                         config.user_header_alignment,
                         config.inline_bytes};
  auto expected = publisher_layout(params);
  if (!expected) return "parameters out of range";
  const PublisherConfig& e = *expected;
  if (e.submission_capacity != config.submission_capacity ||
      e.completion_capacity != config.completion_capacity ||
      e.chunk_stride != config.chunk_stride || e.channel_stride != config.channel_stride ||
      e.channels_offset != config.channels_offset || e.headers_offset != config.headers_offset ||
      e.header_stride != config.header_stride || e.chunks_offset != config.chunks_offset ||
      e.total_size != config.total_size) {
    return "layout fields do not match its parameters";
  }
  if (config.total_size > kMaxSegmentBytes) return "segment larger than the 1 TiB limit";
  if (mapped_size < config.total_size) return "segment is truncated";
  return {};
}

std::uint64_t hash_name(std::string_view name) noexcept {
  std::uint64_t hash = 0xcbf29ce484222325ULL;  // FNV-1a
  for (char c : name) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

namespace {
std::string hex(std::uint64_t value, int digits) {
  char buffer[17];
  std::snprintf(buffer, sizeof buffer, "%0*llx", digits, static_cast<unsigned long long>(value));
  return buffer;
}
template <class T>
bool parse_hex(std::string_view text, T& value) {
  if (text.empty()) return false;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value, 16);
  return error == std::errc{} && end == text.data() + text.size();
}
}  // namespace

std::string service_segment_name(std::string_view prefix, std::uint64_t hash) {
  return std::string(prefix) + "s_" + hex(hash, 16);
}

std::string publisher_segment_name(std::string_view prefix, std::uint64_t hash, std::uint32_t slot,
                                   std::uint64_t generation) {
  return std::string(prefix) + "p_" + hex(hash, 16) + "_" + hex(slot, 2) + "_" + hex(generation, 1);
}

std::string subscriber_fifo_name(std::string_view prefix, std::uint64_t hash, std::uint32_t slot,
                                 std::uint64_t generation) {
  return std::string(prefix) + "w_" + hex(hash, 16) + "_" + hex(slot, 2) + "_" + hex(generation, 1);
}

std::optional<std::uint64_t> parse_service_segment_name(std::string_view prefix,
                                                        std::string_view name) {
  if (!name.starts_with(prefix)) return std::nullopt;
  name.remove_prefix(prefix.size());
  if (!name.starts_with("s_") || name.size() != 18) return std::nullopt;
  std::uint64_t hash = 0;
  if (!parse_hex(name.substr(2), hash)) return std::nullopt;
  return hash;
}

namespace {
std::optional<PublisherName> parse_port_name(std::string_view prefix, std::string_view kind,
                                             std::string_view name) {
  if (!name.starts_with(prefix)) return std::nullopt;
  name.remove_prefix(prefix.size());
  if (!name.starts_with(kind) || name.size() < 2 + 16 + 1 + 2 + 1 + 1) return std::nullopt;
  name.remove_prefix(2);
  PublisherName result{};
  if (name[16] != '_' || !parse_hex(name.substr(0, 16), result.hash)) return std::nullopt;
  name.remove_prefix(17);
  auto separator = name.find('_');
  if (separator == std::string_view::npos) return std::nullopt;
  if (!parse_hex(name.substr(0, separator), result.slot)) return std::nullopt;
  if (!parse_hex(name.substr(separator + 1), result.generation)) return std::nullopt;
  return result;
}

}  // namespace

std::optional<PublisherName> parse_publisher_segment_name(std::string_view prefix,
                                                          std::string_view name) {
  return parse_port_name(prefix, "p_", name);
}
std::optional<PublisherName> parse_subscriber_fifo_name(std::string_view prefix,
                                                        std::string_view name) {
  return parse_port_name(prefix, "w_", name);
}

}  // namespace zerocopy::detail

// libFuzzer target: arbitrary bytes as a publisher's segment, read by the subscriber side.
//
// The reader (SubscriberConnection) must refuse an inconsistent segment, and from an accepted one
// it must never read or write outside the segment, whatever the queues and headers hold. The
// segment is a heap block of exactly the segment's size, so AddressSanitizer catches any access
// past it. Half the inputs are raw (the whole input is the segment); the other half build a
// consistent header from a few input bytes and take the queues and chunks from the rest, so the
// fuzzer spends its time past validation, optionally patching header bytes afterwards.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "internal.hpp"
#include "layout.hpp"

namespace {

using namespace zerocopy::detail;

struct Input {
  const std::uint8_t* data;
  std::size_t size;
  std::uint8_t take() {
    if (size == 0) return 0;
    --size;
    return *data++;
  }
};

struct Block {
  explicit Block(std::size_t bytes) : size(bytes) {
    memory = static_cast<std::byte*>(std::aligned_alloc(kPageSize, round_up(bytes, kPageSize)));
    std::memset(memory, 0, size);
  }
  ~Block() { std::free(memory); }
  std::byte* memory;
  std::size_t size;
};

void read_everything(std::byte* base, std::size_t size, std::uint32_t channel) {
  auto link = SubscriberConnection::attach(base, size, channel, nullptr);
  if (!link) return;
  volatile std::uint8_t sink = 0;
  const std::uint32_t rounds = link->config().submission_capacity * 2 + 8;
  for (std::uint32_t i = 0; i < rounds; ++i) {
    (void)link->ready(1);
    (void)link->verify(1, i % 2 == 0);  // the slow-path check reads the same words
    auto received = link->receive();
    if (!received) (void)link->bad_entry();
    if (!received || !received->has_value()) break;
    const auto* bytes = static_cast<const std::uint8_t*>((*received)->payload);
    for (std::size_t b = 0; b < (*received)->bytes; ++b)
      sink = sink + bytes[b];
    link->release((*received)->index);
  }
  (void)link->empty();
}

void fuzz_raw(Input input) {
  std::uint32_t channel = input.take() % 4;
  bool mark_ready = (input.take() & 1) != 0;
  std::size_t size = input.size < sizeof(PublisherHeader) ? sizeof(PublisherHeader) : input.size;
  if (size > (1u << 20)) size = 1u << 20;
  Block block(size);
  std::memcpy(block.memory, input.data, input.size < size ? input.size : size);
  if (mark_ready) reinterpret_cast<PublisherHeader*>(block.memory)->state.store(kStateReady);
  read_everything(block.memory, block.size, channel);
}

void fuzz_structured(Input input) {
  PublisherParams params{};
  params.service_hash = 1;
  params.generation = 1;
  params.num_channels = 1 + input.take() % 4;
  params.num_chunks = 1 + input.take() % 32;
  params.buffer_size = 1 + input.take() % 16;
  params.max_payload_bytes = 1 + (std::uint64_t{input.take()} << 1);
  params.payload_alignment = std::uint64_t{1} << (input.take() % 7);
  std::uint8_t flags = input.take();
  params.safe_overflow = (flags & 1) != 0;
  params.publisher_may_block = (flags & 2) != 0;
  std::uint32_t channel = input.take() % (params.num_channels + 1);  // sometimes out of range
  std::uint8_t patches = input.take() % 4;
  auto config = publisher_layout(params);
  if (!config) return;
  Block block(config->total_size);
  auto* header = reinterpret_cast<PublisherHeader*>(block.memory);
  header->config = *config;
  header->state.store(kStateReady);
  // Header patches: (offset, value) pairs inside the configuration; with flag 4 the checksum is
  // recomputed afterwards, as a hostile writer would, so that the structural checks are reached.
  for (std::uint8_t p = 0; p < patches; ++p) {
    std::size_t offset = offsetof(PublisherHeader, config) + input.take() % sizeof(PublisherConfig);
    reinterpret_cast<std::uint8_t*>(block.memory)[offset] = input.take();
  }
  if ((flags & 4) != 0) header->config.checksum = checksum_of(header->config);
  // Everything after the header (channels, queues, chunks) from the input, repeated.
  std::size_t start = config->channels_offset;
  if (input.size != 0) {
    for (std::size_t at = start; at < block.size; at += input.size) {
      std::size_t n = block.size - at < input.size ? block.size - at : input.size;
      std::memcpy(block.memory + at, input.data, n);
    }
  }
  read_everything(block.memory, block.size, channel);
}

void fuzz_service_config(Input input) {
  ServiceConfig config{};
  std::size_t n = input.size < sizeof config ? input.size : sizeof config;
  std::memcpy(&config, input.data, n);
  (void)validate_service_config(config, input.size * 64);
  config.checksum = checksum_of(config);  // past the checksum, to the range checks
  (void)validate_service_config(config, input.size * 64);
  std::string_view text(reinterpret_cast<const char*>(input.data), input.size);
  (void)parse_publisher_segment_name("zc_", text);
  (void)parse_service_segment_name("zc_", text);
  (void)valid_service_name(text);
  (void)valid_prefix(text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Input input{data, size};
  switch (input.take() % 4) {
    case 0:
      fuzz_raw(input);
      break;
    case 3:
      fuzz_service_config(input);
      break;
    default:
      fuzz_structured(input);
      break;
  }
  return 0;
}

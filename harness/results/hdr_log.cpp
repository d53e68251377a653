#include "harness/results/hdr_log.hpp"

#include <zlib.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>

#include <fmt/format.h>

#include "base/histogram.hpp"

namespace ipcbench {

namespace {

// HdrHistogram's layout for values 1 ns to an hour with 2 significant digits: 256 sub-buckets,
// the lower half of each bucket after the first overlapping the one before (HdrHistogram's own
// scheme).
constexpr std::int32_t kSignificantFigures = 2;
constexpr std::int64_t kLowest = 1;
constexpr std::int64_t kHighest = 3'600'000'000'000;  // an hour, in ns
constexpr int kSubBucketHalfCountMagnitude = 7;
constexpr std::int64_t kSubBucketHalfCount = 1 << kSubBucketHalfCountMagnitude;
constexpr std::uint64_t kSubBucketMask = (kSubBucketHalfCount * 2) - 1;
constexpr std::uint32_t kEncodingCookie = 0x1c849303 | 0x10;
constexpr std::uint32_t kCompressionCookie = 0x1c849304 | 0x10;
constexpr std::size_t kHeaderBytes = 40;  // cookie .. conversion ratio, V2

std::size_t counts_index_for(std::uint64_t value) {
  const int pow2ceiling = 64 - std::countl_zero(value | kSubBucketMask);
  const int bucket = pow2ceiling - (kSubBucketHalfCountMagnitude + 1);
  const auto sub = static_cast<std::int64_t>(value >> bucket);
  return static_cast<std::size_t>(((bucket + 1) << kSubBucketHalfCountMagnitude) +
                                  (sub - kSubBucketHalfCount));
}

std::size_t counts_length() {
  std::int64_t smallest_untrackable = kSubBucketHalfCount * 2;
  std::size_t buckets = 1;
  while (smallest_untrackable <= kHighest) {
    smallest_untrackable <<= 1;
    ++buckets;
  }
  return (buckets + 1) * static_cast<std::size_t>(kSubBucketHalfCount);
}

void put_be32(std::string& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8)
    out += static_cast<char>((v >> shift) & 0xff);
}
void put_be64(std::string& out, std::uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8)
    out += static_cast<char>((v >> shift) & 0xff);
}
std::uint64_t get_be(std::string_view in, std::size_t at, int bytes) {
  std::uint64_t v = 0;
  for (int i = 0; i < bytes; ++i)
    v = (v << 8) | static_cast<unsigned char>(in[at + static_cast<std::size_t>(i)]);
  return v;
}

// ZigZag then LEB128, as HdrHistogram's encoding (its ninth byte, if any, takes 8 bits).
void put_zigzag(std::string& out, std::int64_t signed_value) {
  std::uint64_t v = (static_cast<std::uint64_t>(signed_value) << 1) ^
                    static_cast<std::uint64_t>(signed_value >> 63);
  for (int i = 0; i < 8 && v >= 0x80; ++i) {
    out += static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
}
std::optional<std::int64_t> get_zigzag(std::string_view in, std::size_t& at) {
  std::uint64_t v = 0;
  for (int i = 0; i < 9; ++i) {
    if (at >= in.size()) return std::nullopt;
    const auto byte = static_cast<unsigned char>(in[at++]);
    if (i == 8) {
      v |= static_cast<std::uint64_t>(byte) << 56;
      break;
    }
    v |= static_cast<std::uint64_t>(byte & 0x7f) << (7 * i);
    if ((byte & 0x80) == 0) break;
  }
  return static_cast<std::int64_t>((v >> 1) ^ (~(v & 1) + 1));
}

constexpr char kBase64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string base64(std::string_view in) {
  std::string out;
  for (std::size_t i = 0; i < in.size(); i += 3) {
    std::uint32_t chunk = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) chunk |= static_cast<unsigned char>(in[i + 1]) << 8;
    if (i + 2 < in.size()) chunk |= static_cast<unsigned char>(in[i + 2]);
    out += kBase64[(chunk >> 18) & 63];
    out += kBase64[(chunk >> 12) & 63];
    out += i + 1 < in.size() ? kBase64[(chunk >> 6) & 63] : '=';
    out += i + 2 < in.size() ? kBase64[chunk & 63] : '=';
  }
  return out;
}

std::optional<std::string> unbase64(std::string_view in) {
  std::string out;
  std::uint32_t chunk = 0;
  int bits = 0;
  for (char c : in) {
    if (c == '=') break;
    const char* p = std::strchr(kBase64, c);
    if (!p || c == '\0') return std::nullopt;
    chunk = (chunk << 6) | static_cast<std::uint32_t>(p - kBase64);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((chunk >> bits) & 0xff);
    }
  }
  return out;
}

}  // namespace

std::int64_t HdrCounts::value_at_index(std::size_t index) const {
  int bucket = static_cast<int>(index >> kSubBucketHalfCountMagnitude) - 1;
  auto sub = static_cast<std::int64_t>(index & (kSubBucketHalfCount - 1)) + kSubBucketHalfCount;
  if (bucket < 0) {
    sub -= kSubBucketHalfCount;
    bucket = 0;
  }
  return sub << bucket;
}

std::int64_t HdrCounts::total() const {
  std::int64_t sum = 0;
  for (auto c : counts)
    sum += c;
  return sum;
}

std::int64_t HdrCounts::value_at_percentile(double p) const {
  const std::int64_t n = total();
  const auto wanted = std::max<std::int64_t>(
      1, static_cast<std::int64_t>(std::llround(p / 100 * static_cast<double>(n))));
  std::int64_t seen = 0;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    seen += counts[i];
    if (seen >= wanted) return value_at_index(i);
  }
  return 0;
}

std::string encode_hdr_histogram(const LatencyHistogram& latency) {
  const Histogram h = histogram_of(latency);
  std::vector<std::int64_t> counts(counts_length(), 0);
  std::size_t used = 0;
  for (const auto& [index, count] : latency.buckets) {
    if (index >= Histogram::kBuckets) continue;
    const std::uint64_t width = Histogram::bucket_width(index);
    std::uint64_t value = Histogram::bucket_low(index) + (width == 1 ? 0 : width / 2);
    value =
        std::clamp<std::uint64_t>(value, std::max<std::uint64_t>(h.min(), 1),
                                  std::min<std::uint64_t>(std::max<std::uint64_t>(h.max(), 1),
                                                          static_cast<std::uint64_t>(kHighest)));
    const std::size_t at = counts_index_for(value);
    counts[at] += static_cast<std::int64_t>(count);
    used = std::max(used, at + 1);
  }
  std::string payload;
  for (std::size_t i = 0; i < used;) {
    if (counts[i] != 0) {
      put_zigzag(payload, counts[i++]);
      continue;
    }
    std::int64_t zeros = 0;
    while (i < used && counts[i] == 0) {
      ++zeros;
      ++i;
    }
    put_zigzag(payload, -zeros);
  }
  std::string encoded;
  put_be32(encoded, kEncodingCookie);
  put_be32(encoded, static_cast<std::uint32_t>(payload.size()));
  put_be32(encoded, 0);  // normalizing index offset
  put_be32(encoded, kSignificantFigures);
  put_be64(encoded, kLowest);
  put_be64(encoded, kHighest);
  put_be64(encoded, std::bit_cast<std::uint64_t>(1.0));  // integer to double conversion ratio
  encoded += payload;

  uLongf compressed_size = compressBound(encoded.size());
  std::string compressed(compressed_size, '\0');
  ::compress(reinterpret_cast<Bytef*>(compressed.data()), &compressed_size,
             reinterpret_cast<const Bytef*>(encoded.data()), encoded.size());
  compressed.resize(compressed_size);
  std::string framed;
  put_be32(framed, kCompressionCookie);
  put_be32(framed, static_cast<std::uint32_t>(compressed.size()));
  framed += compressed;
  return base64(framed);
}

std::optional<HdrCounts> decode_hdr_histogram(std::string_view text) {
  auto framed = unbase64(text);
  if (!framed || framed->size() < 8 || get_be(*framed, 0, 4) != kCompressionCookie) {
    return std::nullopt;
  }
  const std::size_t length = get_be(*framed, 4, 4);
  if (framed->size() < 8 + length) return std::nullopt;
  std::string encoded(kHeaderBytes + 9 * counts_length(), '\0');
  uLongf size = encoded.size();
  if (::uncompress(reinterpret_cast<Bytef*>(encoded.data()), &size,
                   reinterpret_cast<const Bytef*>(framed->data() + 8), length) != Z_OK) {
    return std::nullopt;
  }
  encoded.resize(size);
  if (encoded.size() < kHeaderBytes || get_be(encoded, 0, 4) != kEncodingCookie) {
    return std::nullopt;
  }
  HdrCounts out;
  const std::size_t payload = get_be(encoded, 4, 4);
  out.significant_figures = static_cast<std::int32_t>(get_be(encoded, 12, 4));
  out.lowest_discernible_value = static_cast<std::int64_t>(get_be(encoded, 16, 8));
  out.highest_trackable_value = static_cast<std::int64_t>(get_be(encoded, 24, 8));
  if (kHeaderBytes + payload > encoded.size()) return std::nullopt;
  const std::string_view data(encoded.data() + kHeaderBytes, payload);
  for (std::size_t at = 0; at < data.size();) {
    auto v = get_zigzag(data, at);
    if (!v) return std::nullopt;
    if (*v < 0) {
      out.counts.insert(out.counts.end(), static_cast<std::size_t>(-*v), 0);
    } else {
      out.counts.push_back(*v);
    }
    if (out.counts.size() > counts_length()) return std::nullopt;
  }
  return out;
}

std::expected<std::vector<std::string>, std::string> export_hdr(const ResultsDocument& document,
                                                                const std::string& dir,
                                                                const std::string& prefix) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return std::unexpected(fmt::format("--export-hdr {}: {}", dir, ec.message()));
  // Each cell's repetitions, in the order they ran.
  std::vector<std::string> order;
  std::map<std::string, std::vector<const CellResult*>> cells;
  for (const CellResult& e : document.benchmarks) {
    if (!e.latency_histogram) continue;  // pingpong: round trips; rate: one-way from intended
    auto [it, inserted] = cells.try_emplace(e.name);
    if (inserted) order.push_back(e.name);
    it->second.push_back(&e);
  }
  const std::string date =
      document.context.is_object() ? document.context.value("date", std::string()) : "";
  std::vector<std::string> written;
  for (const auto& name : order) {
    std::string file = prefix + name;
    std::replace(file.begin(), file.end(), '/', '_');
    const fs::path path = fs::path(dir) / (file + ".hlog");
    std::ofstream out(path);
    out << "#[Histogram log format version 1.3]\n"
        << "#[Written by ipcbench: "
        << (name.starts_with("rate/") ? "one-way times from the intended send time"
                                      : "round-trip times (RTT)")
        << " of " << name << " in ns, one interval per repetition"
        << (date.empty() ? "" : ", run of " + date) << "]\n"
        << "#[StartTime: 0.000 (seconds since the run's start)]\n"
        << "\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\","
           "\"Interval_Compressed_Histogram\"\n";
    double start = 0;
    for (const CellResult* e : cells[name]) {
      const LatencyHistogram& h = *e->latency_histogram;
      out << fmt::format("Tag={},{:.3f},{:.3f},{:.3f},{}\n", name, start, e->cell_seconds,
                         static_cast<double>(h.max) / 1e6, encode_hdr_histogram(h));
      start += e->cell_seconds;
    }
    if (!out) return std::unexpected(fmt::format("cannot write {}", path.string()));
    written.push_back(path.string());
  }
  return written;
}

}  // namespace ipcbench

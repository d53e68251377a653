// Round-trip times in HdrHistogram's interval log format (`--export-hdr DIR`), so that the
// HdrHistogram tools (HistogramLogProcessor, the plotters at hdrhistogram.github.io) read them.
//
// Each pingpong cell becomes one file, `<cell name, '/' as '_'>.hlog`, with one interval line per
// repetition: "Tag=<cell>,<start s>,<length s>,<max ms>,<histogram>", where <histogram> is the
// V2 compressed encoding (deflate, base64) of an HdrHistogram of nanoseconds with 2 significant
// digits. This project's histogram (base/histogram.hpp) has 64 buckets an octave; each bucket's
// count goes to the HdrHistogram bucket of its midpoint (128 an octave), so percentiles agree to
// within this histogram's own resolution.
#pragma once

#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "harness/results/results.hpp"

namespace ipcbench {

// The histogram as HdrHistogram's V2 compressed encoding, base64.
std::string encode_hdr_histogram(const LatencyHistogram& histogram);

// What decode_hdr_histogram() gives back: HdrHistogram's counts array and its parameters.
struct HdrCounts {
  std::int32_t significant_figures = 0;
  std::int64_t lowest_discernible_value = 0;
  std::int64_t highest_trackable_value = 0;
  std::vector<std::int64_t> counts;
  // The value a counts index stands for (the lowest value of its bucket).
  std::int64_t value_at_index(std::size_t index) const;
  // The value at percentile p (0..100) of the counts, HdrHistogram's way.
  std::int64_t value_at_percentile(double p) const;
  std::int64_t total() const;
};
// Decodes what encode_hdr_histogram() wrote (for tests and tools); nothing if it is not that.
std::optional<HdrCounts> decode_hdr_histogram(std::string_view base64);

// Writes one .hlog file per pingpong cell of `document` into `dir` (made if need be), the file
// names prefixed by `prefix`. Returns the files written, or an error text.
std::expected<std::vector<std::string>, std::string> export_hdr(const ResultsDocument& document,
                                                                const std::string& dir,
                                                                const std::string& prefix = "");

}  // namespace ipcbench

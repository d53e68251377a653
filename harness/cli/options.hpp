// The command line's values: the parsing and checking of each (so that a bad one is named with
// what is allowed), into the typed fields of a run's options (run/plan.hpp).
#pragma once

#include <chrono>
#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <vector>

#include "harness/run/plan.hpp"

namespace ipcbench {

// The ranges of the numeric options (README and --help say the same).
inline constexpr double kMinDurationS = 0.1, kMaxDurationS = 3600;
inline constexpr double kMaxRate = 10'000'000;  // messages/s
inline constexpr unsigned kMaxSubscribers = 64;
inline constexpr std::size_t kMaxMessageBytes = 64u << 20;

inline constexpr std::uint64_t kMaxCount = 1'000'000'000;  // --iterations, --messages, --warmup
inline constexpr unsigned kMaxRepetitions = 1000;
inline constexpr unsigned kDefaultRepetitions = 5;                 // --quick: 1
inline constexpr unsigned kDefaultMaxRepetitions = 10;             // with --precision
inline constexpr double kMinPrecision = 0.001, kMaxPrecision = 1;  // 0.1% to 100%
inline constexpr double kMinTimeoutS = 1, kMaxTimeoutS = 86400;
inline constexpr double kMinBudgetS = 0.01, kMaxBudgetS = 86400;
inline constexpr std::uint64_t kMaxSpinUs = 1'000'000;

// A whole number for option `flag`, from `lo` to `hi`: decimal digits only (no sign, no unit).
std::expected<std::uint64_t, Usage> parse_count(std::string_view flag, std::string_view text,
                                                std::uint64_t lo, std::uint64_t hi);
// A fraction given as a percentage ("5%") or a plain fraction ("0.05"), from `lo` to `hi`.
std::expected<double, Usage> parse_fraction(std::string_view flag, std::string_view text, double lo,
                                            double hi);
// A number of seconds for option `flag`, from `lo` to `hi` (decimal, fractions allowed).
std::expected<double, Usage> parse_seconds(std::string_view flag, std::string_view text, double lo,
                                           double hi);

// "64", "4KiB", "1MiB", "1GiB" (binary), "1KB", "1MB" (decimal), "100B".
std::expected<std::size_t, Usage> parse_size(std::string_view text);
// A comma-separated list of sizes or ranges: "A..B" doubles from A to B, "A..B:F" multiplies
// by F. Each size is at least kMinMessageBytes and at most kMaxMessageBytes.
std::expected<std::vector<std::size_t>, Usage> parse_sizes(std::string_view text);
// Comma-separated registry names, or "all" (every transport available here).
std::expected<std::vector<std::string>, Usage> parse_transports(std::string_view text);
std::expected<std::vector<Scenario>, Usage> parse_scenarios(std::string_view text);
std::expected<std::vector<Touch>, Usage> parse_touches(std::string_view text);
// "1,2,4": fanout's consumer counts, 1 to kMaxSubscribers (or reqresp's: `flag` "--clients",
// `what` "client").
std::expected<std::vector<unsigned>, Usage> parse_subscribers(
    std::string_view text, std::string_view flag = "--subscribers",
    std::string_view what = "consumer");
// "1k,10k,100k,max": messages per second (k = 1000, M = 1000000), 1 to kMaxRate, or max (0).
std::expected<std::vector<double>, Usage> parse_rates(std::string_view text);
std::expected<std::vector<WaitChoice>, Usage> parse_waits(std::string_view text);
// "A,B;C,D": pairs of CPUs this process may run on (producer, consumer), each a dimension of the
// cells; "A,A" puts both workers on one CPU.
std::expected<std::vector<std::pair<int, int>>, Usage> parse_cpus(std::string_view text);

// Each `--set <transport>.<name>=<value>[,<value>...]` (repeatable; values of one setting given
// twice add up), checked against what the transport's driver declares (TransportInfo::options):
// an unknown transport or setting, a transport the run does not measure (`transports`), and a
// value that is not a number or out of its range are usage errors naming it and what is allowed.
// Sizes take the units of --sizes. The result is in the order each driver declares its settings.
std::expected<std::vector<Setting>, Usage> parse_settings(
    const std::vector<std::string>& texts, const std::vector<std::string>& transports);

std::vector<std::string> split(std::string_view text, char sep);

// --label NAME or KEY=VALUE into `options`: NAME, KEY and VALUE are each 1 to kMaxLabelBytes
// printable characters without '|' (they end up in tables, which a newline or a '|' would break).
inline constexpr std::size_t kMaxLabelBytes = 100;
std::expected<void, Usage> parse_label(std::string_view text, RunOptions& options);

// Checks a --filter: a regular expression (ECMAScript), "-" in front to exclude.
std::optional<Usage> check_filter(std::string_view filter);

}  // namespace ipcbench

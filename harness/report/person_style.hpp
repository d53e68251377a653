// The units a person reads, as the Markdown and HTML tables write them: "310 ns ±4.1%", "1.25 M",
// "7.55 GB/s", "64 KiB", ratios "1.3x (1.2-1.4)".
#pragma once

#include "harness/report/tables.hpp"

namespace ipcbench {

inline std::string format_ns(double ns) {
  if (ns <= 0) return "-";
  if (ns < 1000) return fmt::format("{:.0f} ns", ns);
  if (ns < 10'000) return fmt::format("{:.2f} us", ns / 1e3);
  if (ns < 1'000'000) return fmt::format("{:.1f} us", ns / 1e3);
  if (ns < 1e9) return fmt::format("{:.2f} ms", ns / 1e6);
  return fmt::format("{:.2f} s", ns / 1e9);
}

inline std::string format_rate(double per_s) {
  if (per_s <= 0) return "-";
  if (per_s >= 1e6) return fmt::format("{:.2f} M", per_s / 1e6);
  if (per_s >= 1e3) return fmt::format("{:.1f} k", per_s / 1e3);
  if (per_s >= 10) return fmt::format("{:.0f}", per_s);
  return fmt::format("{:.2g}", per_s);  // a 64 MiB stream over a slow middleware: 0.76, not 1
}

inline std::string format_bytes(std::size_t bytes) {
  if (bytes >= (1u << 20) && bytes % (1u << 20) == 0) return fmt::format("{} MiB", bytes >> 20);
  if (bytes >= (1u << 10) && bytes % (1u << 10) == 0) return fmt::format("{} KiB", bytes >> 10);
  return fmt::format("{} B", bytes);
}

class PersonStyle : public Style {
 public:
  std::string ns(double ns) const override { return format_ns(ns); }
  std::string rate(double per_s) const override { return format_rate(per_s); }
  std::string gb(double bytes_per_second) const override {
    return fmt::format("{:.2f}", bytes_per_second / 1e9);
  }
  std::string count(double per_iteration) const override {
    return fmt::format("{:.2f}", per_iteration);
  }
  std::string bytes_rate(double b) const override {
    if (b >= 1e9) return fmt::format("{:.2f} GB/s", b / 1e9);
    if (b >= 1e6) return fmt::format("{:.1f} MB/s", b / 1e6);
    return fmt::format("{:.0f} kB/s", b / 1e3);
  }
  std::string size(std::size_t bytes) const override { return format_bytes(bytes); }
  std::string memory(double bytes) const override {
    if (bytes >= 1024.0 * 1024 * 1024)
      return fmt::format("{:.2f} GiB", bytes / (1024.0 * 1024 * 1024));
    if (bytes >= 1024.0 * 1024) return fmt::format("{:.1f} MiB", bytes / (1024.0 * 1024));
    if (bytes >= 1024) return fmt::format("{:.0f} KiB", bytes / 1024);
    return fmt::format("{:.0f} B", bytes);
  }
  std::string header(std::string_view name, std::string_view) const override {
    return std::string(name);
  }
  std::vector<std::string> with_interval(const Estimate& e, bool wide,
                                         std::string (Style::*write)(double) const) const override {
    std::string cell = (this->*write)(e.median);
    if (e.has_interval()) {
      const double pct = e.relative_half_width() * 100;
      cell += pct < 10    ? fmt::format(" ±{:.1f}%", pct)
              : pct < 100 ? fmt::format(" ±{:.0f}%", pct)
                          : std::string(" ±>100%");
    }
    if (wide) cell += " (!)";
    return {cell};
  }
  std::vector<std::string> interval_header(std::string_view name, std::string_view) const override {
    return {std::string(name)};
  }
  std::vector<std::string> ratio(const Estimate& r) const override {
    if (r.median <= 0) return {"-"};
    if (!r.has_interval()) return {fmt::format("{:.1f}x", r.median)};
    if (r.contains(1.0)) return {"≈1.0x"};
    auto num = [](double v) {
      return v < 0.1  ? fmt::format("{:.2g}", v)
             : v < 10 ? fmt::format("{:.1f}", v)
                      : fmt::format("{:.0f}", v);
    };
    return {fmt::format("{}x ({}-{})", num(r.median), num(*r.low), num(*r.high))};
  }
  std::vector<std::string> ratio_header(std::string_view name) const override {
    return {std::string(name)};
  }
  std::string missing() const override { return "-"; }
};

}  // namespace ipcbench

#include "harness/run/worker_report.hpp"

namespace ipcbench {

using nlohmann::json;

std::string_view WorkerError::describe() const {
  return code ? to_string(*code) : kTerminated;
}

void to_json(json& j, const WorkerError& error) {
  j = {{"code", error.code ? name_of(*error.code) : kTerminated}, {"reason", error.reason}};
}

void from_json(const json& j, WorkerError& error) {
  const std::string name = j.at("code").get<std::string>();
  Errc code;
  if (parse_errc(name, code)) {
    error.code = code;
  } else if (name == kTerminated) {
    error.code.reset();
  } else {
    throw json::other_error::create(501, "unknown error code '" + name + "'", &j);
  }
  error.reason = j.at("reason").get<std::string>();
}

void to_json(json& j, const WorkerReport& report) {
  j = {{"count", report.count},
       {"start_ns", report.start_ns},
       {"end_ns", report.end_ns},
       {"cpu_ns", report.cpu_ns},
       {"voluntary_switches", report.voluntary_switches},
       {"involuntary_switches", report.involuntary_switches},
       {"messages_lost", report.messages_lost}};
  if (report.error) j["error"] = *report.error;
  if (report.latency) j["latency"] = *report.latency;
  if (report.latency_sent) j["latency_sent"] = *report.latency_sent;
  if (report.behind) j["behind"] = report.behind;
  if (report.early) j["early"] = report.early;
  if (report.lost) j["lost"] = report.lost;
  if (report.late) j["late"] = report.late;
  if (report.blocked_ns) j["blocked_ns"] = report.blocked_ns;
  if (report.floor_rtt_ns) j["floor_rtt_ns"] = *report.floor_rtt_ns;
  if (report.floor_copy_bytes_per_second) {
    j["floor_copy_bytes_per_second"] = *report.floor_copy_bytes_per_second;
  }
  if (report.shared_bytes) j["shared_bytes"] = *report.shared_bytes;
  if (report.timeline) j["timeline"] = *report.timeline;
}

void from_json(const json& j, WorkerReport& report) {
  report.count = j.at("count").get<std::uint64_t>();
  report.start_ns = j.at("start_ns").get<std::int64_t>();
  report.end_ns = j.at("end_ns").get<std::int64_t>();
  report.cpu_ns = j.at("cpu_ns").get<std::uint64_t>();
  report.voluntary_switches = j.at("voluntary_switches").get<std::uint64_t>();
  report.involuntary_switches = j.at("involuntary_switches").get<std::uint64_t>();
  report.messages_lost = j.at("messages_lost").get<std::uint64_t>();
  report.error.reset();
  if (auto it = j.find("error"); it != j.end()) report.error = it->get<WorkerError>();
  report.latency.reset();
  if (auto it = j.find("latency"); it != j.end()) report.latency = it->get<LatencyHistogram>();
  report.latency_sent.reset();
  if (auto it = j.find("latency_sent"); it != j.end()) {
    report.latency_sent = it->get<LatencyHistogram>();
  }
  report.behind = j.value("behind", std::uint64_t{0});
  report.early = j.value("early", std::uint64_t{0});
  report.lost = j.value("lost", std::uint64_t{0});
  report.late = j.value("late", std::uint64_t{0});
  report.blocked_ns = j.value("blocked_ns", std::uint64_t{0});
  report.floor_rtt_ns.reset();
  if (auto it = j.find("floor_rtt_ns"); it != j.end()) report.floor_rtt_ns = it->get<double>();
  report.floor_copy_bytes_per_second.reset();
  if (auto it = j.find("floor_copy_bytes_per_second"); it != j.end()) {
    report.floor_copy_bytes_per_second = it->get<double>();
  }
  report.timeline.reset();
  if (auto it = j.find("timeline"); it != j.end()) report.timeline = it->get<LatencyOverTime>();
  report.shared_bytes.reset();
  if (auto it = j.find("shared_bytes"); it != j.end()) {
    report.shared_bytes = it->get<std::uint64_t>();
  }
}

}  // namespace ipcbench

#include "harness/run/cell_run.hpp"

#include <algorithm>

namespace ipcbench {

CellResult make_result(const Cell& cell, const CellRun& run, int family_index, unsigned repetition,
                       unsigned repetitions) {
  CellResult r;
  r.name = cell.name();
  r.scenario = cell.scenario;
  r.transport = cell.transport;
  r.payload_bytes = cell.bytes;
  r.wait = to_string(cell.wait);
  r.wait_is_native = cell.native;
  r.touch = to_string(cell.touch);
  r.warmup = cell.warmup;
  r.requested = cell.count;
  if (cell.transport != kFloorTransport) {  // the floor has no variants
    if (cell.scenario->on_schedule) r.offered_rate = cell.rate;
    if (cell.scenario->fan_out) r.consumers = cell.consumers();
  }
  for (const CellOption& o : cell.options) {
    OptionRecord& record = r.options.emplace_back(OptionRecord{o.name, o.unit, o.value, {}});
    auto granted = std::ranges::find(run.granted, o.name, &OptionValue::name);
    if (granted != run.granted.end()) record.effective = granted->value;
  }
  r.family_index = family_index;
  r.repetitions = repetitions;
  r.repetition_index = repetition;
  r.cell_seconds = run.wall_s;
  r.cpu_producer = cell.cpu_producer;
  r.cpu_consumer = cell.cpu_consumer;
  // A worker that did not report counts as one that measured nothing.
  const WorkerReport none;
  const WorkerReport& p = run.producer ? *run.producer : none;
  const WorkerReport& c = run.consumer ? *run.consumer : none;
  const auto p_cpu = static_cast<double>(p.cpu_ns);
  const auto c_cpu = static_cast<double>(c.cpu_ns);
  r.producer_cpu_ns = p_cpu;
  r.consumer_cpu_ns = c_cpu;
  r.producer_process_cpu_ns = run.producer_process_cpu_ns;
  r.consumer_process_cpu_ns = run.consumer_process_cpu_ns;
  r.delivered = static_cast<double>(c.count);
  r.lost = static_cast<double>(p.messages_lost) + static_cast<double>(c.messages_lost);
  r.switches = CellResult::Switches{
      static_cast<double>(p.voluntary_switches), static_cast<double>(p.involuntary_switches),
      static_cast<double>(c.voluntary_switches), static_cast<double>(c.involuntary_switches)};

  r.floor_rtt_ns = p.floor_rtt_ns;
  r.floor_copy_bytes_per_second = p.floor_copy_bytes_per_second;
  r.memory = run.memory;
  if (p.shared_bytes) r.memory.producer_shared = static_cast<double>(*p.shared_bytes);
  for (const auto& report : run.consumers) {
    if (report && report->shared_bytes) {
      r.memory.consumer_shared = std::max(r.memory.consumer_shared.value_or(0),
                                          static_cast<double>(*report->shared_bytes));
    }
  }
  if (!run.ok) {
    r.error = run.error.empty() ? "failed" : run.error;
    r.iterations = static_cast<double>(p.count);
    return r;
  }

  // The scenario makes its figures of what every consumer reported (a missing report: nothing).
  std::vector<SideReport> consumers;
  for (const auto& report : run.consumers)
    consumers.push_back(report ? *report : none);
  if (consumers.empty()) consumers.push_back(c);
  const ScenarioConfig config = cell.config();
  const TransportInfo* info = find_transport(cell.transport);
  const CellInputs inputs{config, cell.consumers(),
                          info && cell.scenario->one_endpoint_for_all(info->capabilities()), p,
                          consumers};
  CellOutcome o = cell.scenario->outcome(inputs);
  r.iterations = o.iterations;
  r.real_time = o.real_time;
  r.cpu_time = o.cpu_time;
  if (o.delivered) r.delivered = *o.delivered;
  if (o.consumer_cpu_ns) r.consumer_cpu_ns = *o.consumer_cpu_ns;
  r.latency_histogram = std::move(o.latency_histogram);
  r.latency_histogram_sent = std::move(o.latency_histogram_sent);
  r.latency_over_time = p.timeline ? p.timeline : c.timeline;  // whichever side recorded it
  r.latency_percentiles = std::move(o.latency_percentiles);
  r.figures = std::move(o.figures);
  return r;
}

}  // namespace ipcbench

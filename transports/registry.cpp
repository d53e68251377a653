// The registry: an explicit name -> factory table (no static self-registration), in the order
// `ipcbench list` and `--transports all` use. A new transport is one file in transports/drivers/
// that defines `extern const TransportInfo <file name>_driver{...}`, plus one line here (README,
// "Adding a transport"; tests/registry_test.cpp fails for a driver file without its line).
#include <algorithm>
#include <deque>
#include <string>
#include <vector>

#include "transports/transport.hpp"

namespace ipcbench {

// Declares the driver's TransportInfo at block scope and copies it, so a driver costs one line
// below. (It is read when transports() is first called, after every driver is initialised.)
#define IPCBENCH_DRIVER(name)        \
  [] {                               \
    extern const TransportInfo name; \
    return name;                     \
  }()

namespace {

// Fills in what depends on this machine (TransportInfo::here), keeping the text.
std::vector<TransportInfo> with_machine_facts(std::vector<TransportInfo> table) {
  static std::deque<std::string> texts;
  for (auto& info : table) {
    if (!info.here) continue;
    MachineFacts facts = info.here();
    if (!facts.description.empty()) {
      info.description = texts.emplace_back(std::move(facts.description));
    }
    if (info.unavailable.empty() && !facts.unavailable.empty()) {
      info.unavailable = texts.emplace_back(std::move(facts.unavailable));
    }
  }
  return table;
}

}  // namespace

std::span<const TransportInfo> transports() {
  static const std::vector<TransportInfo> table = with_machine_facts({
      IPCBENCH_DRIVER(pipe_driver),
      IPCBENCH_DRIVER(tcp_nodelay_driver),
      IPCBENCH_DRIVER(tcp_driver),
      IPCBENCH_DRIVER(udp_driver),
      IPCBENCH_DRIVER(unix_stream_driver),
      IPCBENCH_DRIVER(unix_dgram_driver),
      IPCBENCH_DRIVER(mmap_file_driver),
      IPCBENCH_DRIVER(shm_driver),
      IPCBENCH_DRIVER(zerocopy_driver),
      IPCBENCH_DRIVER(iceoryx_driver),
      IPCBENCH_DRIVER(boost_mq_driver),
      IPCBENCH_DRIVER(zmq_ipc_driver),
      IPCBENCH_DRIVER(unix_seqpacket_driver),
      IPCBENCH_DRIVER(fifo_driver),
      IPCBENCH_DRIVER(posix_mq_driver),
      IPCBENCH_DRIVER(sysv_mq_driver),
      IPCBENCH_DRIVER(memfd_uds_driver),
      IPCBENCH_DRIVER(cma_driver),
      IPCBENCH_DRIVER(vmsplice_driver),
      IPCBENCH_DRIVER(io_uring_driver),
      IPCBENCH_DRIVER(nng_driver),
      IPCBENCH_DRIVER(dbus_driver),
      IPCBENCH_DRIVER(cyclonedds_driver),
      IPCBENCH_DRIVER(cyclonedds_shm_driver),
      IPCBENCH_DRIVER(grpc_uds_driver),
      IPCBENCH_DRIVER(fastdds_driver),
      IPCBENCH_DRIVER(fastdds_shm_driver),
      IPCBENCH_DRIVER(fastdds_datasharing_driver),
  });
  return table;
}

const TransportInfo* find_transport(std::string_view name) {
  auto all = transports();
  auto it = std::ranges::find(all, name, &TransportInfo::name);
  return it == all.end() ? nullptr : &*it;
}

}  // namespace ipcbench

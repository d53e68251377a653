// The registry: an explicit name -> factory table (no static self-registration), in the order
// `ipcbench list` and `--transports all` use. A new transport is one file in transports/drivers/
// that defines `extern const TransportInfo <file name>_driver{...}`, plus one line here (README,
// "Adding a transport"; tests/registry_test.cpp fails for a driver file without its line).
#include <algorithm>
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

std::span<const TransportInfo> transports() {
  static const std::vector<TransportInfo> table = {
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
  };
  return table;
}

const TransportInfo* find_transport(std::string_view name) {
  auto all = transports();
  auto it = std::ranges::find(all, name, &TransportInfo::name);
  return it == all.end() ? nullptr : &*it;
}

}  // namespace ipcbench

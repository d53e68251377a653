// Discovery: what services and nodes exist under a shared-memory prefix, read from the service
// segments without registering in them (a look changes nothing). What `zerocopy service list`,
// `service show` and `node list` print.
//
//   for (const auto& service : zerocopy::list_services("zc_").value())
//     std::printf("%s %s %zu publishers\n", service.name.c_str(), service.type_name.c_str(),
//                 service.publishers.size());
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "zerocopy/config.hpp"
#include "zerocopy/error.hpp"
#include "zerocopy/expected.hpp"

namespace zerocopy {

// A publisher or subscriber (a notifier or listener for an event service).
struct PortInfo {
  std::uint32_t slot = 0;
  std::uint64_t generation = 0;
  std::uint32_t pid = 0;  // of the node that owns it
  bool alive = false;     // that process is running (same start time)
};

// A node registered in a service.
struct NodeInfo {
  std::uint32_t pid = 0;
  std::uint64_t start_time = 0;  // clock ticks since boot (/proc/<pid>/stat), tells reused pids
  std::uint64_t node_id = 0;     // random, per Node object
  bool alive = false;
  std::vector<std::string> services;  // names of the services it has open (list_nodes)
};

struct ServiceInfo {
  std::string name;
  std::string segment;    // the service segment's name in /dev/shm
  std::string type_name;  // "u64", "zerocopy::EventId", "Pose[]", ...
  std::uint64_t type_size = 0;
  std::uint64_t type_alignment = 0;
  bool is_slice = false;
  bool is_event = false;  // an event service (type zerocopy::EventId)
  // A request-response service (its two segments shown as one): type_name and the user header
  // describe the requests, response_type_name and response_type_size the responses; publishers
  // are its clients and subscribers its servers.
  bool is_request_response = false;
  std::string response_type_name;
  std::uint64_t response_type_size = 0;
  std::string response_segment;
  std::string user_header_type;  // "" when the service has no user header
  std::uint64_t user_header_size = 0;
  std::uint64_t user_header_alignment = 1;
  ServiceOptions options;
  std::vector<PortInfo> publishers;
  std::vector<PortInfo> subscribers;
  std::vector<NodeInfo> nodes;
  // Why the segment could not be read ("" when it could): corrupted, another layout version, being
  // created or removed. The other fields are then empty.
  std::string problem;
};

// Every service segment under `prefix`, sorted by name. NodeError::invalid_prefix for a bad
// prefix.
Expected<std::vector<ServiceInfo>, Error<NodeError>> list_services(std::string_view prefix = "zc_");
// The service `name` under `prefix`: ServiceError::does_not_exist, invalid_name, or the error
// opening it met (corrupted, version_mismatch, ...).
Expected<ServiceInfo, Error<ServiceError>> service_info(std::string_view name,
                                                        std::string_view prefix = "zc_");
// Every node registered in any service under `prefix` (alive or dead: a dead one stays until
// some process cleans it up), by pid.
Expected<std::vector<NodeInfo>, Error<NodeError>> list_nodes(std::string_view prefix = "zc_");

}  // namespace zerocopy

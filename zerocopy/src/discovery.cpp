// Discovery: service segments mapped and validated as by open(), but never registered in, and
// read slot by slot.
#include "zerocopy/discovery.hpp"

#include <unistd.h>

#include <algorithm>
#include <map>
#include <tuple>

#include "internal.hpp"

namespace zerocopy {
namespace {

// 'text', appended piece by piece ("literal" + std::string&& trips a false -Wrestrict in g++ 12).
std::string quoted(std::string_view text) {
  std::string result = "'";
  result.append(text);
  result += "'";
  return result;
}

std::shared_ptr<detail::NodeState> observer(std::string_view prefix) {
  auto state = std::make_shared<detail::NodeState>();
  state->config.prefix = std::string(prefix);
  state->pid = ::getpid();
  return state;
}

NodeInfo node_at(const detail::ServiceImpl& service, std::uint32_t index) {
  const detail::NodeSlot& slot = service.node_slots()[index];
  NodeInfo node;
  node.pid = detail::node_word_pid(slot.word.load(std::memory_order_acquire));
  node.start_time = slot.start_time.load(std::memory_order_acquire);
  node.node_id = slot.node_id.load(std::memory_order_acquire);
  node.alive =
      node.pid != 0 && detail::process_alive(static_cast<pid_t>(node.pid), node.start_time);
  return node;
}

template <class Slot>
std::vector<PortInfo> ports(const detail::ServiceImpl& service, const Slot* slots,
                            std::uint32_t count) {
  std::vector<PortInfo> result;
  for (std::uint32_t s = 0; s < count; ++s) {
    std::uint64_t word = slots[s].word.load(std::memory_order_acquire);
    if (detail::slot_state(word) != detail::kActive) continue;
    NodeInfo owner = node_at(service, detail::port_word_node(word));
    result.push_back({s, detail::port_word_generation(word), owner.pid, owner.alive});
  }
  return result;
}

ServiceInfo describe(detail::ServiceImpl& service) {
  ServiceInfo info;
  info.name = service.name();
  info.segment = service.segment_name();
  if (std::string why = service.verify(); !why.empty()) {
    info.problem = why;
    return info;
  }
  const detail::ServiceConfig& config = service.config();
  info.type_name.assign(config.type_name, config.type_name_length);
  info.type_size = config.type_size;
  info.type_alignment = config.type_alignment;
  info.is_slice = config.is_slice == 1;
  info.is_event = info.type_name == "zerocopy::EventId";
  info.user_header_type.assign(config.user_header_type, config.user_header_type_length);
  info.user_header_size = config.user_header_size;
  info.user_header_alignment = config.user_header_alignment;
  info.options = service.options();
  info.publishers = ports(service, service.publisher_slots(), config.max_publishers);
  info.subscribers = ports(service, service.subscriber_slots(), config.max_subscribers);
  for (std::uint32_t i = 0; i < config.max_nodes; ++i) {
    std::uint64_t word = service.node_slots()[i].word.load(std::memory_order_acquire);
    if (detail::slot_state(word) == detail::kFree) continue;
    info.nodes.push_back(node_at(service, i));
  }
  return info;
}

// Maps and validates one service segment: the service, or why not.
Expected<std::shared_ptr<detail::ServiceImpl>, Error<ServiceError>> look_at(
    const std::shared_ptr<detail::NodeState>& state, const std::string& segment) {
  auto opened = detail::shm_open_existing(segment);
  if (!opened) {
    int err = opened.error().err;
    return unexpected(Error<ServiceError>{err == ENOENT    ? ServiceError::does_not_exist
                                          : err == ENODATA ? ServiceError::timeout
                                          : err == EACCES  ? ServiceError::permission_denied
                                                           : ServiceError::system,
                                          opened.error().what});
  }
  return detail::ServiceImpl::attach(state, segment, std::move(opened->mapping));
}

bool ends_with(std::string_view text, std::string_view suffix) {
  return text.size() > suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

// A request-response service's two segments ("<name>?request", "<name>?response") become one
// entry under <name>; a half whose other half is missing stays as it is, under its own name.
void merge_request_response(std::vector<ServiceInfo>& services) {
  const std::string_view request_suffix = detail::kRequestSuffix;
  const std::string_view response_suffix = detail::kResponseSuffix;
  std::map<std::string, std::size_t> requests;
  for (std::size_t i = 0; i < services.size(); ++i) {
    if (services[i].problem.empty() && ends_with(services[i].name, request_suffix)) {
      requests[services[i].name.substr(0, services[i].name.size() - request_suffix.size())] = i;
    }
  }
  std::vector<bool> merged(services.size(), false);
  for (std::size_t i = 0; i < services.size(); ++i) {
    const ServiceInfo& half = services[i];
    if (!half.problem.empty() || !ends_with(half.name, response_suffix)) continue;
    auto partner = requests.find(half.name.substr(0, half.name.size() - response_suffix.size()));
    if (partner == requests.end()) continue;
    ServiceInfo& service = services[partner->second];
    service.name = partner->first;
    service.is_request_response = true;
    service.response_type_name = half.type_name;
    service.response_type_size = half.type_size;
    service.response_segment = half.segment;
    for (const NodeInfo& node : half.nodes) {
      bool known = std::any_of(service.nodes.begin(), service.nodes.end(), [&](const NodeInfo& n) {
        return n.pid == node.pid && n.node_id == node.node_id;
      });
      if (!known) service.nodes.push_back(node);
    }
    merged[i] = true;
  }
  std::vector<ServiceInfo> kept;
  for (std::size_t i = 0; i < services.size(); ++i) {
    if (!merged[i]) kept.push_back(std::move(services[i]));
  }
  services = std::move(kept);
}

}  // namespace

Expected<std::vector<ServiceInfo>, Error<NodeError>> list_services(std::string_view prefix) {
  if (!detail::valid_prefix(prefix)) {
    return unexpected(
        Error<NodeError>{NodeError::invalid_prefix, quoted(prefix) + " is not a valid prefix"});
  }
  auto state = observer(prefix);
  std::vector<ServiceInfo> result;
  for (const std::string& segment : detail::shm_list(prefix)) {
    if (!detail::parse_service_segment_name(prefix, segment)) continue;
    auto service = look_at(state, segment);
    if (!service) {
      if (service.error().code == ServiceError::does_not_exist) continue;  // gone meanwhile
      ServiceInfo info;
      info.segment = segment;
      info.problem = service.error().message;
      result.push_back(std::move(info));
      continue;
    }
    result.push_back(describe(**service));
  }
  merge_request_response(result);
  std::sort(result.begin(), result.end(), [](const ServiceInfo& a, const ServiceInfo& b) {
    return std::tie(a.name, a.segment) < std::tie(b.name, b.segment);
  });
  return result;
}

Expected<ServiceInfo, Error<ServiceError>> service_info(std::string_view name,
                                                        std::string_view prefix) {
  if (!detail::valid_service_name(name) || !detail::valid_prefix(prefix)) {
    return unexpected(Error<ServiceError>{
        ServiceError::invalid_name,
        quoted(name) + " under prefix " + quoted(prefix) + " is not a valid service name"});
  }
  auto state = observer(prefix);
  auto find = [&](const std::string& full) -> Expected<ServiceInfo, Error<ServiceError>> {
    std::string segment = detail::service_segment_name(prefix, detail::hash_name(full));
    auto service = look_at(state, segment);
    if (!service && service.error().code != ServiceError::does_not_exist) {
      return unexpected(std::move(service).error());
    }
    if (!service || (*service)->name() != full) {
      return unexpected(Error<ServiceError>{ServiceError::does_not_exist,
                                            "service " + quoted(name) + " does not exist"});
    }
    return describe(**service);
  };
  auto found = find(std::string(name));
  if (!found && found.error().code == ServiceError::does_not_exist) {
    // A request-response service: its two halves, shown as one.
    auto requests = find(std::string(name) + detail::kRequestSuffix);
    if (!requests) return requests;
    auto responses = find(std::string(name) + detail::kResponseSuffix);
    if (!responses && responses.error().code != ServiceError::does_not_exist) return responses;
    std::vector<ServiceInfo> halves{std::move(*requests)};
    if (responses) halves.push_back(std::move(*responses));
    merge_request_response(halves);
    found = std::move(halves.front());
  }
  if (!found) return found;
  ServiceInfo info = std::move(*found);
  if (!info.problem.empty()) {
    return unexpected(Error<ServiceError>{ServiceError::corrupted, info.problem});
  }
  return info;
}

Expected<std::vector<NodeInfo>, Error<NodeError>> list_nodes(std::string_view prefix) {
  auto services = list_services(prefix);
  if (!services) return unexpected(std::move(services).error());
  std::map<std::tuple<std::uint32_t, std::uint64_t, std::uint64_t>, NodeInfo> nodes;
  for (const ServiceInfo& service : *services) {
    for (const NodeInfo& node : service.nodes) {
      auto [at, fresh] = nodes.try_emplace({node.pid, node.start_time, node.node_id}, node);
      at->second.services.push_back(service.name);
    }
  }
  std::vector<NodeInfo> result;
  for (auto& [key, node] : nodes)
    result.push_back(std::move(node));
  return result;
}

}  // namespace zerocopy

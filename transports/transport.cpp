#include "transports/transport.hpp"

namespace ipcbench {

std::string_view to_string(Role role) {
  return role == Role::producer ? "producer" : "consumer";
}

}  // namespace ipcbench

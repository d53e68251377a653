#include "zerocopy/error.hpp"

namespace zerocopy {

std::string_view to_string(NodeError error) {
  switch (error) {
    case NodeError::invalid_prefix:
      return "invalid_prefix";
    case NodeError::invalid_name:
      return "invalid_name";
    case NodeError::system:
      return "system";
  }
  return "unknown";
}

std::string_view to_string(ServiceError error) {
  switch (error) {
    case ServiceError::invalid_name:
      return "invalid_name";
    case ServiceError::does_not_exist:
      return "does_not_exist";
    case ServiceError::already_exists:
      return "already_exists";
    case ServiceError::incompatible_type:
      return "incompatible_type";
    case ServiceError::incompatible_options:
      return "incompatible_options";
    case ServiceError::invalid_options:
      return "invalid_options";
    case ServiceError::exceeds_max_nodes:
      return "exceeds_max_nodes";
    case ServiceError::corrupted:
      return "corrupted";
    case ServiceError::version_mismatch:
      return "version_mismatch";
    case ServiceError::timeout:
      return "timeout";
    case ServiceError::permission_denied:
      return "permission_denied";
    case ServiceError::insufficient_memory:
      return "insufficient_memory";
    case ServiceError::system:
      return "system";
  }
  return "unknown";
}

std::string_view to_string(PublisherCreateError error) {
  switch (error) {
    case PublisherCreateError::exceeds_max_publishers:
      return "exceeds_max_publishers";
    case PublisherCreateError::invalid_options:
      return "invalid_options";
    case PublisherCreateError::corrupted:
      return "corrupted";
    case PublisherCreateError::insufficient_memory:
      return "insufficient_memory";
    case PublisherCreateError::system:
      return "system";
  }
  return "unknown";
}

std::string_view to_string(SubscriberCreateError error) {
  switch (error) {
    case SubscriberCreateError::exceeds_max_subscribers:
      return "exceeds_max_subscribers";
    case SubscriberCreateError::corrupted:
      return "corrupted";
    case SubscriberCreateError::system:
      return "system";
  }
  return "unknown";
}

std::string_view to_string(LoanError error) {
  switch (error) {
    case LoanError::exceeds_max_loans:
      return "exceeds_max_loans";
    case LoanError::out_of_chunks:
      return "out_of_chunks";
    case LoanError::exceeds_max_slice_len:
      return "exceeds_max_slice_len";
  }
  return "unknown";
}

std::string_view to_string(SendError error) {
  switch (error) {
    case SendError::timeout:
      return "timeout";
    case SendError::loan_failed:
      return "loan_failed";
    case SendError::corrupted:
      return "corrupted";
  }
  return "unknown";
}

std::string_view to_string(ReceiveError error) {
  switch (error) {
    case ReceiveError::exceeds_max_borrows:
      return "exceeds_max_borrows";
    case ReceiveError::corrupted:
      return "corrupted";
  }
  return "unknown";
}

std::string_view to_string(WaitResult result) {
  switch (result) {
    case WaitResult::data_available:
      return "data_available";
    case WaitResult::timeout:
      return "timeout";
    case WaitResult::interrupted:
      return "interrupted";
  }
  return "unknown";
}

std::string_view to_string(WaitSetError error) {
  switch (error) {
    case WaitSetError::invalid_argument:
      return "invalid_argument";
    case WaitSetError::system:
      return "system";
  }
  return "unknown";
}

std::string_view to_string(ClientCreateError error) {
  switch (error) {
    case ClientCreateError::exceeds_max_clients:
      return "exceeds_max_clients";
    case ClientCreateError::invalid_options:
      return "invalid_options";
    case ClientCreateError::corrupted:
      return "corrupted";
    case ClientCreateError::insufficient_memory:
      return "insufficient_memory";
    case ClientCreateError::system:
      return "system";
  }
  return "unknown";
}

std::string_view to_string(ServerCreateError error) {
  switch (error) {
    case ServerCreateError::exceeds_max_servers:
      return "exceeds_max_servers";
    case ServerCreateError::invalid_options:
      return "invalid_options";
    case ServerCreateError::corrupted:
      return "corrupted";
    case ServerCreateError::insufficient_memory:
      return "insufficient_memory";
    case ServerCreateError::system:
      return "system";
  }
  return "unknown";
}

std::string_view to_string(RequestSendError error) {
  switch (error) {
    case RequestSendError::no_server:
      return "no_server";
    case RequestSendError::exceeds_max_pending:
      return "exceeds_max_pending";
    case RequestSendError::timeout:
      return "timeout";
    case RequestSendError::corrupted:
      return "corrupted";
  }
  return "unknown";
}

std::string_view to_string(ResponseReceiveError error) {
  switch (error) {
    case ResponseReceiveError::server_gone:
      return "server_gone";
    case ResponseReceiveError::exceeds_max_borrows:
      return "exceeds_max_borrows";
    case ResponseReceiveError::corrupted:
      return "corrupted";
  }
  return "unknown";
}

std::string_view to_string(RespondError error) {
  switch (error) {
    case RespondError::client_gone:
      return "client_gone";
    case RespondError::corrupted:
      return "corrupted";
  }
  return "unknown";
}

}  // namespace zerocopy

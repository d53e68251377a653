// Errors: one enum per operation, values never exceptions. Set-up operations (creating a node, a
// service, a port) return Error<Code>, the code plus a sentence naming what was found (for a type
// mismatch: both types). Hot-path operations (loan, send, receive) return the bare enum.
#pragma once

#include <string>
#include <string_view>

namespace zerocopy {

enum class NodeError {
  invalid_prefix,  // the shared-memory prefix has a character outside [A-Za-z0-9._-] or is too long
  invalid_name,    // the node name is too long
  system,          // an operating-system call failed
};

enum class ServiceError {
  invalid_name,          // not a valid service name (see README, "Service names")
  does_not_exist,        // open(): no service of that name
  already_exists,        // create(): the service exists
  incompatible_type,     // payload type name, size, alignment or slice-ness differ
  incompatible_options,  // open(): a requested option is not satisfied by the existing service
  invalid_options,    // an option out of its range (e.g. history_size > subscriber_max_buffer_size)
  exceeds_max_nodes,  // the service's node table is full
  corrupted,          // the segment fails validation: not ours, truncated, or tampered with
  version_mismatch,   // made by an incompatible layout version of this library
  timeout,            // another process is creating or removing it and did not finish in time
  permission_denied,  // the segment belongs to another user
  insufficient_memory,  // the service segment does not fit in /dev/shm (message: size and room)
  system,               // an operating-system call failed
};

enum class PublisherCreateError {
  exceeds_max_publishers,  // all max_publishers slots are taken
  invalid_options,         // pool too large (more than 65535 chunks) or a zero size
  corrupted,               // the service's segment fails its checks (message: what is wrong)
  insufficient_memory,     // the segment (max_slice_len x chunks) is over 1 TiB or does not fit
                           // in /dev/shm or RLIMIT_FSIZE, or (prefault) in the memory available;
                           // the message names the size asked for and the room there is
  system,                  // creating the publisher's segment failed
};

enum class SubscriberCreateError {
  exceeds_max_subscribers,  // all max_subscribers slots are taken
  corrupted,                // the service's segment fails its checks (message: what is wrong)
  system,
};

enum class LoanError {
  exceeds_max_loans,      // max_loaned_samples samples are already loaned
  out_of_chunks,          // every chunk is in use (cannot happen unless the pool was undersized)
  exceeds_max_slice_len,  // loan_slice(n) with n > the publisher's max_slice_len
};

enum class SendError {
  timeout,      // backpressure: a subscriber's queue stayed full for backpressure_timeout; no
                // subscriber received the sample
  loan_failed,  // send_copy() could not loan a sample (see LoanError)
  corrupted,    // the service's segment or this publisher's own fails its checks (a header
                // overwritten, a slot or queue word with an impossible value, a chunk returned
                // that was not given out): the sample reached nobody, or (a queue found broken
                // while sending) only some; every later send says so too. See corruption().
};

enum class ReceiveError {
  exceeds_max_borrows,  // subscriber_max_borrowed_samples samples are held already
  corrupted,  // a publisher's segment handed out an invalid entry or failed its checks: that
              // connection is dropped, the others keep working; or the service's segment failed
              // its checks: every later receive says so too. See Subscriber::corruption().
};

// Request-response (request_response.hpp).
enum class ClientCreateError {
  exceeds_max_clients,  // all max_clients slots are taken
  invalid_options,      // a pool too large, a zero size
  corrupted,            // one of the service's segments fails its checks (message: what is wrong)
  insufficient_memory,  // the client's request segment does not fit (message: size and room)
  system,
};

enum class ServerCreateError {
  exceeds_max_servers,  // all max_servers slots are taken
  invalid_options,
  corrupted,
  insufficient_memory,  // the server's response segment does not fit
  system,
};

enum class RequestSendError {
  no_server,            // no server is connected: nobody received the request
  exceeds_max_pending,  // max_pending_requests PendingResponses of this client are alive
  timeout,              // the server's queue for this client stayed full (requests given up and
                        // not read yet) for the client's send_timeout: nobody received it
  corrupted,            // a segment fails its checks (see Client::corruption())
};

enum class ResponseReceiveError {
  server_gone,          // no server is connected any more (it left or its process died), and no
                        // response to this request is waiting
  exceeds_max_borrows,  // the client holds max_pending_requests responses already
  corrupted,            // the response segment fails its checks (see Client::corruption())
};

enum class RespondError {
  client_gone,  // the client that asked is not connected any more: nobody received the response
  corrupted,    // a segment fails its checks (see Server::corruption())
};

enum class WaitSetError {
  invalid_argument,  // a zero period, a negative descriptor, an attachment of another WaitSet
  system,            // an operating-system call failed (message: which and why)
};

enum class WaitResult {
  data_available,  // receive() will return a sample (or a publisher connected or left)
  timeout,         // nothing happened before the timeout
  interrupted,     // a signal interrupted the wait
};

template <class Code>
struct Error {
  Code code;
  std::string message;
};

std::string_view to_string(NodeError error);
std::string_view to_string(ServiceError error);
std::string_view to_string(PublisherCreateError error);
std::string_view to_string(SubscriberCreateError error);
std::string_view to_string(LoanError error);
std::string_view to_string(SendError error);
std::string_view to_string(ReceiveError error);
std::string_view to_string(WaitResult result);
std::string_view to_string(WaitSetError error);
std::string_view to_string(ClientCreateError error);
std::string_view to_string(ServerCreateError error);
std::string_view to_string(RequestSendError error);
std::string_view to_string(ResponseReceiveError error);
std::string_view to_string(RespondError error);

}  // namespace zerocopy

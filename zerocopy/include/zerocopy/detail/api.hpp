// The type-erased layer under the public templates. Everything here is an implementation detail
// of the library (its definitions live in src/); applications use node.hpp, service.hpp,
// publisher.hpp and subscriber.hpp.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "zerocopy/config.hpp"
#include "zerocopy/error.hpp"
#include "zerocopy/expected.hpp"
#include "zerocopy/header.hpp"

namespace zerocopy::detail {

struct NodeState;
class ServiceImpl;
class PublisherPort;
class SubscriberPort;

struct PayloadLayout {
  std::string type_name;
  std::size_t size = 0;       // bytes of one element
  std::size_t alignment = 1;  // of one element
  bool is_slice = false;      // Publisher<T[]>: a run of elements of dynamic length
  // The optional user header of every sample (service builder's user_header<H>()).
  std::string user_header_type;
  std::size_t user_header_size = 0;
  std::size_t user_header_alignment = 1;
};

enum class OpenMode : std::uint8_t { open, create, open_or_create };

// What a service segment carries: publish-subscribe samples (events too), or one half of a
// request-response service, whose two segments are the services "<name>?request" (clients publish,
// servers subscribe) and "<name>?response" (servers publish, clients subscribe). No user's
// service name holds a '?', so they never meet a publish-subscribe service's.
enum class ServiceRole : std::uint8_t { publish_subscribe, requests, responses };
inline constexpr const char* kRequestSuffix = "?request";
inline constexpr const char* kResponseSuffix = "?response";

struct ServiceRequest {
  std::string name;  // as the user gave it (the role adds its suffix)
  ServiceRole role = ServiceRole::publish_subscribe;
  PayloadLayout payload;
  // Set by the builder. On create, unset ones take their defaults; on open, the set ones are
  // requirements the existing service must meet.
  std::optional<std::uint32_t> history_size;
  std::optional<std::uint32_t> subscriber_max_buffer_size;
  std::optional<std::uint32_t> subscriber_max_borrowed_samples;
  std::optional<std::uint32_t> max_publishers;
  std::optional<std::uint32_t> max_subscribers;
  std::optional<std::uint32_t> max_nodes;
  std::optional<Overflow> overflow;
};

Expected<std::shared_ptr<ServiceImpl>, Error<ServiceError>> open_service(
    const std::shared_ptr<NodeState>& node, const ServiceRequest& request, OpenMode mode);
const ServiceOptions& service_options(const ServiceImpl& service);
const std::string& service_name(const ServiceImpl& service);
std::size_t service_cleanup_dead_nodes(ServiceImpl& service);
std::uint32_t service_publisher_count(const ServiceImpl& service);
std::uint32_t service_subscriber_count(const ServiceImpl& service);

// ---- publisher ----
struct PublisherRequest {
  std::size_t max_elements = 1;  // elements per sample: 1, or max_slice_len for slices
  std::uint32_t max_loaned_samples = 2;
  BackpressureWait backpressure_wait = BackpressureWait::block;
  std::chrono::nanoseconds backpressure_timeout = std::chrono::seconds(1);
  bool prefault = false;        // allocate and map the whole segment at creation
  bool timestamps = false;      // record each sample's publish time
  bool wake_on_send = true;     // send() wakes the subscribers that sleep (else notify() does)
  bool inline_payloads = true;  // small payloads travel in the queue slots (layout 4)
};

struct Loan {
  void* payload;
  std::uint32_t index;
};

Expected<PublisherPort*, Error<PublisherCreateError>> create_publisher(
    const std::shared_ptr<ServiceImpl>& service, const PublisherRequest& request);
void publisher_retain(PublisherPort* port) noexcept;  // one more handle or loan
void publisher_drop(PublisherPort* port) noexcept;    // one fewer; the last one frees it
Expected<Loan, LoanError> publisher_loan(PublisherPort* port, std::size_t bytes) noexcept;
Expected<std::size_t, SendError> publisher_send(PublisherPort* port, std::uint32_t index,
                                                std::size_t bytes) noexcept;
std::size_t publisher_notify(PublisherPort* port) noexcept;
std::uint64_t publisher_wakeups(const PublisherPort* port) noexcept;
using SubscriberId = ::zerocopy::SubscriberId;
// Sends to `target` alone; 0 delivered if it is not connected.
Expected<std::size_t, SendError> publisher_send_to(PublisherPort* port, std::uint32_t index,
                                                   std::size_t bytes, SubscriberId target) noexcept;
void publisher_return_loan(PublisherPort* port, std::uint32_t index) noexcept;
std::size_t publisher_update_connections(PublisherPort* port) noexcept;
bool publisher_wait_for_subscribers(PublisherPort* port, std::size_t count,
                                    std::chrono::nanoseconds timeout) noexcept;
std::size_t publisher_max_elements(const PublisherPort* port) noexcept;
std::uint32_t publisher_chunks_total(const PublisherPort* port) noexcept;
std::uint32_t publisher_chunks_in_use(PublisherPort* port) noexcept;
bool publisher_check(PublisherPort* port) noexcept;
PublisherId publisher_id(const PublisherPort* port) noexcept;
// The user header of loaned chunk `index`, nullptr unless the service's is `size` bytes aligned
// to `alignment`.
void* publisher_user_header(PublisherPort* port, std::uint32_t index, std::size_t size,
                            std::size_t alignment) noexcept;
std::string publisher_corruption(const PublisherPort* port);

// ---- subscriber ----
struct Received {
  const void* payload;
  std::size_t bytes;
  void* connection;
  std::uint32_t index;
  std::uint32_t position;  // low 32 bits of its position in the queue (for the sequence number)
};

Expected<SubscriberPort*, Error<SubscriberCreateError>> create_subscriber(
    const std::shared_ptr<ServiceImpl>& service);
void subscriber_retain(SubscriberPort* port) noexcept;
void subscriber_drop(SubscriberPort* port) noexcept;
// What subscriber_receive() found: a sample (written to *out), nothing, or an error.
enum class Receipt : std::uint8_t { sample, nothing, exceeds_max_borrows, corrupted };
// Writes the Received with whole 16-byte stores where the target has them, so that a copy of it
// made right after (a Sample moved) loads what it stores (a copy that loads two field stores at
// once waits for them to reach the cache: a store-forwarding stall on every receive).
Receipt subscriber_receive(SubscriberPort* port, Received* out) noexcept;
void subscriber_release(SubscriberPort* port, void* connection, std::uint32_t index) noexcept;
bool subscriber_has_samples(SubscriberPort* port) noexcept;
WaitResult subscriber_wait(SubscriberPort* port, std::chrono::nanoseconds timeout) noexcept;
std::size_t subscriber_update_connections(SubscriberPort* port) noexcept;
bool subscriber_check(SubscriberPort* port) noexcept;
SampleHeader subscriber_sample_header(const SubscriberPort* port, const void* connection,
                                      std::uint32_t index, std::uint32_t position) noexcept;
const void* subscriber_user_header(const SubscriberPort* port, const void* connection,
                                   std::uint32_t index, std::size_t size,
                                   std::size_t alignment) noexcept;
std::uint64_t subscriber_lost_samples(SubscriberPort* port) noexcept;
std::string subscriber_corruption(const SubscriberPort* port);
SubscriberId subscriber_id(const SubscriberPort* port) noexcept;
Expected<int, Error<WaitSetError>> subscriber_notification_fd(SubscriberPort* port);

}  // namespace zerocopy::detail

// Micro-benchmarks of the zerocopy core's hot path in one process, one thread: loan, write,
// send, receive, read, release. This is the cost of the protocol itself (queues, pool, reference
// counts, change checks, wake-up check) with every cache line already local; the cost of moving
// cache lines between cores is what the two-process pingpong and throughput scenarios measure.
//
//   zerocopy_bench --benchmark_filter=zerocopy/
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "zerocopy/zerocopy.hpp"

namespace {

struct Message64 {
  std::array<std::uint64_t, 8> words;
};

zerocopy::Node make_node() {
  zerocopy::NodeConfig config;
  config.prefix = "zcbench-" + std::to_string(::getpid()) + "-";
  auto node = zerocopy::Node::create(config);
  if (!node) std::abort();
  return std::move(*node);
}

// A service of T named `name`, one publisher and one subscriber of it, handed to
// `body(publisher, subscriber)`; false (the benchmark skipped) if any cannot be made.
template <class T, class Body>
bool with_ports(benchmark::State& state, const char* name, zerocopy::Overflow overflow, Body body) {
  auto node = make_node();
  auto service = node.service_builder(name)
                     .template publish_subscribe<T>()
                     .overflow(overflow)
                     .open_or_create();
  if (!service) {
    state.SkipWithError(service.error().message.c_str());
    return false;
  }
  auto publisher = service->publisher_builder().create();
  auto subscriber = service->subscriber_builder().create();
  if (!publisher || !subscriber) {
    state.SkipWithError("port creation failed");
    return false;
  }
  body(*publisher, *subscriber);
  return true;
}

template <class T>
void bench_roundtrip(benchmark::State& state, zerocopy::Overflow overflow) {
  const bool ran =
      with_ports<T>(state, "bench/roundtrip", overflow, [&](auto& publisher, auto& subscriber) {
        std::uint64_t sequence = 0;
        for (auto _ : state) {
          auto sample = publisher.loan_uninit();
          auto* payload = &sample->payload_mut();
          if constexpr (std::is_same_v<T, std::uint64_t>) {
            *payload = sequence;
          } else {
            payload->words[0] = sequence;
          }
          (void)std::move(*sample).assume_init().send();
          auto received = subscriber.receive();
          const T& value = **received;
          benchmark::DoNotOptimize(&value);
          ++sequence;
        }
      });
  if (!ran) return;
  state.SetItemsProcessed(state.iterations());
  state.counters["ns_per_msg"] =
      benchmark::Counter(static_cast<double>(state.iterations()),
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void zerocopy_u64_safe_overflow(benchmark::State& state) {
  bench_roundtrip<std::uint64_t>(state, zerocopy::Overflow::safe_overflow);
}
void zerocopy_64B_safe_overflow(benchmark::State& state) {
  bench_roundtrip<Message64>(state, zerocopy::Overflow::safe_overflow);
}
void zerocopy_64B_backpressure(benchmark::State& state) {
  bench_roundtrip<Message64>(state, zerocopy::Overflow::backpressure);
}

// 1 MiB slices, first and last byte touched on both sides (the seeds' throughput check).
void zerocopy_1MiB_slice_edges(benchmark::State& state) {
  constexpr std::size_t kSize = 1 << 20;
  auto node = make_node();
  auto service = node.service_builder("bench/slice")
                     .publish_subscribe<std::byte[]>()
                     .overflow(zerocopy::Overflow::backpressure)
                     .open_or_create();
  if (!service) {
    state.SkipWithError(service.error().message.c_str());
    return;
  }
  auto publisher = service->publisher_builder().max_slice_len(kSize).create();
  auto subscriber = service->subscriber_builder().create();
  if (!publisher || !subscriber) {
    state.SkipWithError("port creation failed");
    return;
  }
  std::uint8_t sequence = 0;
  for (auto _ : state) {
    auto sample = publisher->loan_slice_uninit(kSize);
    auto payload = sample->payload_mut();
    payload.front() = std::byte{sequence};
    payload.back() = std::byte{sequence};
    (void)std::move(*sample).assume_init().send();
    auto received = subscriber->receive();
    auto view = received->payload();
    if (view.front() != view.back()) state.SkipWithError("payload mismatch");
    ++sequence;
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["ns_per_msg"] =
      benchmark::Counter(static_cast<double>(state.iterations()),
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

// Send a batch, then receive the batch: queue traffic without the lockstep.
void zerocopy_64B_batch8(benchmark::State& state) {
  auto node = make_node();
  auto service = node.service_builder("bench/batch")
                     .publish_subscribe<Message64>()
                     .subscriber_max_buffer_size(8)
                     .subscriber_max_borrowed_samples(8)
                     .overflow(zerocopy::Overflow::backpressure)
                     .open_or_create();
  if (!service) {
    state.SkipWithError(service.error().message.c_str());
    return;
  }
  auto publisher = service->publisher_builder().max_loaned_samples(8).create();
  auto subscriber = service->subscriber_builder().create();
  if (!publisher || !subscriber) {
    state.SkipWithError("port creation failed");
    return;
  }
  for (auto _ : state) {
    for (int i = 0; i < 8; ++i) {
      auto sample = publisher->loan_uninit();
      sample->payload_mut().words[0] = static_cast<std::uint64_t>(i);
      (void)std::move(*sample).assume_init().send();
    }
    for (int i = 0; i < 8; ++i) {
      auto received = subscriber->receive();
      benchmark::DoNotOptimize((*received)->words[0]);
    }
  }
  state.SetItemsProcessed(state.iterations() * 8);
  state.counters["ns_per_msg"] =
      benchmark::Counter(static_cast<double>(state.iterations() * 8),
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

// Request-response in one thread: the client's request, the server's receive and answer, the
// client's receive; against two publish-subscribe round trips (u64 each way), it is what the
// correlation (headers, pending requests, targeted send) costs.
void zerocopy_request_response_u64(benchmark::State& state) {
  auto node = make_node();
  auto service = node.service_builder("bench/rr")
                     .request_response<std::uint64_t, std::uint64_t>()
                     .open_or_create();
  if (!service) {
    state.SkipWithError(service.error().message.c_str());
    return;
  }
  auto server = service->server_builder().create();
  auto client = service->client_builder().create();
  if (!server || !client || !client->wait_for_server(std::chrono::seconds(1))) {
    state.SkipWithError("port creation failed");
    return;
  }
  std::uint64_t sequence = 0;
  for (auto _ : state) {
    auto pending = client->send_copy(sequence);
    auto request = server->receive();
    (void)request->respond_copy(**request + 1);
    request->reset();
    auto response = pending->receive();
    if (**response != sequence + 1) std::abort();
    ++sequence;
  }
  state.SetItemsProcessed(state.iterations());
}

// A receive() that finds nothing: what a spinning subscriber pays per poll (a message that
// arrives mid-poll waits, on average, half of it).
void zerocopy_empty_poll(benchmark::State& state) {
  with_ports<std::uint64_t>(state, "bench/empty", zerocopy::Overflow::backpressure,
                            [&](auto& publisher, auto& subscriber) {
                              // One message first: the connection is then set up, as a polling
                              // subscriber's is.
                              (void)std::move(*publisher.loan_uninit()).write_payload(1).send();
                              if (auto first = subscriber.receive(); !first || !*first)
                                std::abort();
                              for (auto _ : state) {
                                auto received = subscriber.receive();
                                if (!received || *received) std::abort();
                              }
                            });
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK(zerocopy_empty_poll)->Name("zerocopy/receive/empty");
BENCHMARK(zerocopy_u64_safe_overflow)->Name("zerocopy/roundtrip/u64/safe_overflow");
BENCHMARK(zerocopy_request_response_u64)->Name("zerocopy/request_response/u64");
BENCHMARK(zerocopy_64B_safe_overflow)->Name("zerocopy/roundtrip/64/safe_overflow");
BENCHMARK(zerocopy_64B_backpressure)->Name("zerocopy/roundtrip/64/backpressure");
BENCHMARK(zerocopy_64B_batch8)->Name("zerocopy/batch8/64/backpressure");
BENCHMARK(zerocopy_1MiB_slice_edges)->Name("zerocopy/roundtrip/1048576/edges");

}  // namespace

BENCHMARK_MAIN();

// reqresp: N clients, one server (fan-in). Each client runs a closed loop over a channel of its
// own: it sends a request of S bytes, waits for the server's response to it, checks it, and
// times the round trip, as pingpong's producer does. The server answers every client from one
// thread, the way servers are written: with one client, it waits in receive() on its channel
// (per the cell's wait mode); with more, it sleeps in one epoll over every channel's descriptor
// (Transport::readable_fd(): block mode, on a pollable transport only) and answers each channel
// epoll reports, with one try (base/wait.hpp's OneTry: a readiness may have nothing behind it).
// Every request and response is checked.
//
// Each client warms up, says so (the warm-up's end, which the server echoes to every client once
// the last has said so), measures for its count or its budget, and ends with the stop message,
// which the server echoes. The server
// measures while every client is measuring: from the last client's end of warm-up to the first
// client's stop. Its requests per second and CPU per request come from that window, when N
// clients really were waiting on it.
#include <sys/epoll.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <vector>

#include <fmt/format.h>

#include "base/unique_fd.hpp"
#include "base/wait.hpp"
#include "scenarios/defaults.hpp"
#include "scenarios/registry.hpp"

namespace ipcbench {

namespace {

// The server gives up when no client has sent anything for this long.
constexpr int kServerIdleMs = 10'000;

// The server's state of one client.
struct Client {
  Transport* channel = nullptr;  // its own, or (native fan-in) the one all clients share
  int fd = -1;                   // its readable_fd(), epoll beyond one client
  bool warmed = false;
  bool stopped = false;
};

class Server {
 public:
  // One channel per client; or one channel for all of them, a transport that serves many
  // natively (Endpoint::fan_in): then `clients` says how many.
  Server(std::span<Transport* const> channels, unsigned clients, const ScenarioConfig& c,
         Measurement& out)
      : m_c(c), m_out(out), m_native(channels.size() == 1 && clients > 1) {
    const std::size_t n = m_native ? clients : channels.size();
    for (std::size_t i = 0; i < n; ++i)
      m_clients.push_back({channels[m_native ? 0 : i]});
    m_next.assign(n, 0);
  }

  Result<void> run() {
    if (m_native) return run_native();
    if (m_clients.size() == 1) {
      while (!m_clients.front().stopped) {
        if (auto ok = serve(0); !ok) return ok;
      }
      return {};
    }
    return run_epoll();
  }

 private:
  // Receives what client `i` sent next and answers it. `woken`: epoll said the channel is
  // readable, which may be a readiness with nothing behind it (a descriptor that says "may have":
  // zerocopy's), so the receive makes one try and a channel that has nothing is left for the next
  // wake-up.
  Result<void> serve(std::uint32_t i, bool woken = false) {
    Result<Received> got = Received::message;
    {
      std::optional<OneTry> one_try;
      if (woken) one_try.emplace();
      got = receive_next(*m_clients[i].channel, m_c.payload_bytes, m_next[i], Direction::request,
                         m_c.touch);
      if (!got && one_try && one_try->found_nothing()) return {};
    }
    if (!got) return std::unexpected(got.error());
    return answer(i, *got);
  }

  // Answers client `i`'s message: a request, the end of its warm-up, or its stop.
  Result<void> answer(std::uint32_t i, Received got) {
    Client& k = m_clients[i];
    switch (got) {
      case Received::message:
        if (auto ok =
                send_message(*k.channel, m_c.payload_bytes, m_next[i], Direction::reply, m_c.touch);
            !ok)
          return ok;
        ++m_next[i];
        if (m_open) ++m_out.count;
        return {};
      case Received::warmup_end:
        // Echoed to every client at once when the last has warmed up: all of them measure from
        // then on, so that no client can stop before the window opens.
        if (k.warmed) return fail(Errc::protocol, "a client ended its warm-up twice");
        k.warmed = true;
        if (++m_warmed < m_clients.size()) return {};
        m_open = true;
        m_out.usage = process_usage();
        m_out.start_ns = monotonic_ns();
        for (std::uint32_t each = 0; each < m_clients.size(); ++each) {
          Transport& channel = *m_clients[each].channel;
          if (m_native) {
            if (auto ok = channel.select_peer(each); !ok) return ok;
          }
          if (auto ok = send_warmup_end(channel, Direction::reply); !ok) return ok;
        }
        return {};
      case Received::stop:
        k.stopped = true;
        ++m_stopped;
        if (!m_closed) {  // the first stop ends the window (it may never have opened)
          m_closed = true;
          if (m_open) {
            m_out.end_ns = monotonic_ns();
            m_out.usage = process_usage() - m_out.usage;
          }
          m_open = false;
        }
        return stop_consumer(*k.channel);
    }
    return {};
  }

  // Native fan-in: the transport's receive() waits for any client (per the cell's wait mode) and
  // says whose the message is; its send() answers that client.
  Result<void> run_native() {
    Transport& channel = *m_clients.front().channel;
    while (m_stopped < m_clients.size()) {
      std::uint32_t peer = 0;
      auto got =
          receive_from_any(channel, m_c.payload_bytes, m_next, Direction::request, m_c.touch, peer);
      if (!got) return std::unexpected(got.error());
      if (m_clients[peer].stopped) return fail(Errc::protocol, "a client sent after its stop");
      if (auto ok = answer(peer, *got); !ok) return ok;
    }
    return {};
  }

  Result<void> run_epoll() {
    UniqueFd epoll(::epoll_create1(EPOLL_CLOEXEC));
    if (!epoll) return fail_errno(Errc::system, "epoll_create1");
    for (std::uint32_t i = 0; i < m_clients.size(); ++i) {
      const int fd = m_clients[i].fd = m_clients[i].channel->readable_fd();
      if (fd < 0) {
        return fail(Errc::unsupported,
                    "the transport has no descriptor to wait on several channels at once");
      }
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.u32 = i;
      if (::epoll_ctl(epoll.get(), EPOLL_CTL_ADD, fd, &ev) != 0)
        return fail_errno(Errc::system, "epoll_ctl(ADD)");
    }
    std::vector<epoll_event> ready(m_clients.size());
    while (m_stopped < m_clients.size()) {
      const int n =
          ::epoll_wait(epoll.get(), ready.data(), static_cast<int>(ready.size()), kServerIdleMs);
      if (n < 0) {
        if (errno == EINTR) continue;
        return fail_errno(Errc::system, "epoll_wait");
      }
      if (n == 0) {
        return fail(Errc::timeout, fmt::format("no client sent anything for {} ms", kServerIdleMs));
      }
      for (int e = 0; e < n; ++e) {
        const std::uint32_t i = ready[e].data.u32;
        Client& k = m_clients[i];
        if (k.stopped) continue;
        if (auto ok = serve(i, true); !ok) return ok;
        // A client that stopped closes its end: its descriptor would stay readable.
        if (k.stopped && ::epoll_ctl(epoll.get(), EPOLL_CTL_DEL, k.fd, nullptr) != 0) {
          return fail_errno(Errc::system, "epoll_ctl(DEL)");
        }
      }
    }
    return {};
  }

  const ScenarioConfig& m_c;
  Measurement& m_out;
  const bool m_native;
  std::vector<Client> m_clients;
  std::vector<std::uint64_t> m_next;  // the sequence number each client's next request carries
  std::size_t m_warmed = 0, m_stopped = 0;
  bool m_open = false, m_closed = false;
};

Result<void> run_side(Role role, std::span<Transport* const> channels, unsigned clients,
                      const ScenarioConfig& config, const Clock& clock, Measurement& out) {
  if (role == Role::producer) return Server(channels, clients, config, out).run();
  // A client is pingpong's producer, over its own channel to the shared server.
  return closed_loop(*channels.front(), config, clock, out, "server");
}

constexpr std::size_t kDefaultSizeList[] = {kDefaultPingpongBytes};
constexpr Touch kDefaultTouchModes[] = {Touch::full};

void defaults(const ScenarioOptions& o, std::size_t bytes, ScenarioConfig& c) {
  c.count = o.iterations.value_or(o.quick ? kQuickIterations : kDefaultIterations);
  c.warmup = o.warmup.value_or(default_pingpong_warmup(bytes, o.quick));
}

// A cell for each client count. Beyond one client the server sleeps until any client is ready
// (in epoll, or in the transport's own wait for many): block only, and N + 1 spinning workers on
// fewer CPUs would measure the scheduler.
std::vector<Variant> variants(const ScenarioOptions& o, const Variant& base, WaitMode wait,
                              std::size_t) {
  std::vector<Variant> out;
  for (unsigned n : o.clients) {
    Variant v = base;
    v.subscribers = n;
    if (n > 1 && wait != WaitMode::block) {
      v.refused = fmt::format(
          "beyond one client the server sleeps until any of the {} is ready: block only", n);
    }
    out.push_back(std::move(v));
  }
  return out;
}

std::string refuse(const Capabilities& caps, unsigned clients, WaitMode) {
  if (clients > 1 && !caps.pollable && !caps.fan_in) {
    return "no descriptor to wait on several channels at once (Transport::readable_fd()): one "
           "client only";
  }
  return "";
}

std::string name_suffix(const Variant& v) {
  return fmt::format("/c{}", v.subscribers);
}

constexpr FigureSpec kFigures[] = {
    {"clients", "N", "", Better::higher},
    {"requests_per_s", "requests the server answered per second, every client measuring", "1/s",
     Better::higher},
    {"p50_ns", "RTT p50, every client's round trips", "ns", Better::lower, FigureForm::whole},
    {"p99_ns", "RTT p99, every client's round trips", "ns", Better::lower, FigureForm::whole},
    {"p999_ns", "RTT p99.9, every client's round trips", "ns", Better::lower, FigureForm::whole},
    {"max_ns", "RTT max", "ns", Better::lower, FigureForm::whole},
    {"slowest_p99_ns", "the slowest client's RTT p99", "ns", Better::lower, FigureForm::whole},
    {"fairness", "(fastest - slowest) / median of the clients' round trips per second", "",
     Better::lower},
    {"server_cpu_per_request_ns", "the server's CPU per request", "ns", Better::lower},
    {"cpu_cores", "each worker's CPU time / its measured time, summed", "", Better::lower},
};

double median_of(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

CellOutcome outcome(const CellInputs& in) {
  const SideReport& server = in.producer;
  Histogram all;
  std::vector<double> rates;
  double clients_cpu = 0, clients_cores = 0, slowest_p99 = 0, round_trips = 0;
  for (const SideReport& w : in.consumers) {
    const Histogram h = histogram_of(w.latency);
    all.merge(h);
    const double ns = static_cast<double>(w.end_ns - w.start_ns);
    rates.push_back(ns > 0 ? static_cast<double>(w.count) * 1e9 / ns : 0);
    clients_cpu += static_cast<double>(w.cpu_ns);
    clients_cores += ns > 0 ? static_cast<double>(w.cpu_ns) / ns : 0;
    round_trips += static_cast<double>(w.count);
    slowest_p99 = std::max(slowest_p99, static_cast<double>(h.percentile(99)));
  }
  const double median = median_of(rates);
  const auto [slowest, fastest] = std::minmax_element(rates.begin(), rates.end());
  const double window_ns = static_cast<double>(server.end_ns - server.start_ns);
  const auto served = static_cast<double>(server.count);
  const auto server_cpu = static_cast<double>(server.cpu_ns);
  CellOutcome o;
  o.iterations = served;
  o.real_time = served > 0 ? window_ns / served : 0;
  // A request's CPU: the server's per request in its window, and a client's per round trip over
  // the clients' measured phases (longer than the window, with more round trips).
  o.cpu_time =
      (served > 0 ? server_cpu / served : 0) + (round_trips > 0 ? clients_cpu / round_trips : 0);
  o.consumer_cpu_ns = clients_cpu;
  o.delivered = round_trips;
  o.latency_histogram = sparse_of(all);
  Figures& f = o.figures;
  f.set("clients", static_cast<double>(in.subscribers));
  f.set("requests_per_s", window_ns > 0 ? served * 1e9 / window_ns : 0);
  f.set("p50_ns", static_cast<double>(all.percentile(50)));
  f.set("p99_ns", static_cast<double>(all.percentile(99)));
  f.set("p999_ns", static_cast<double>(all.percentile(99.9)));
  f.set("max_ns", static_cast<double>(all.max()));
  f.set("slowest_p99_ns", slowest_p99);
  f.set("fairness", median > 0 ? (*fastest - *slowest) / median : 0);
  f.set("server_cpu_per_request_ns", served > 0 ? server_cpu / served : 0);
  f.set("cpu_cores", (window_ns > 0 ? server_cpu / window_ns : 0) + clients_cores);
  return o;
}

constexpr Key kKeys[] = {Key::transport, Key::wait, Key::size, Key::consumers};
constexpr Column kColumns[] = {
    {"requests/s", "1/s", Show::interval, Format::rate, Source::figure, "requests_per_s",
     Mark::wide},
    {"RTT p50", "ns", Show::interval, Format::ns, Source::figure, "p50_ns"},
    {"RTT p99", "ns", Show::median, Format::ns, Source::figure, "p99_ns"},
    {"p99.9", "ns", Show::median, Format::ns, Source::figure, "p999_ns", Mark::thin},
    {"slowest p99", "ns", Show::median, Format::ns, Source::figure, "slowest_p99_ns"},
    {"fairness", "", Show::median, Format::percent, Source::figure, "fairness"},
    {"server CPU per request", "ns", Show::median, Format::ns, Source::figure,
     "server_cpu_per_request_ns"},
    {"CPU per request", "ns", Show::median, Format::ns, Source::cpu_time},
    {"switches per request", "", Show::median, Format::count, Source::switches},
    {"peak RSS", "bytes", Show::median, Format::bytes, Source::peak_rss},
    {"shared memory", "bytes", Show::median, Format::bytes, Source::shared},
    {"daemon RSS", "bytes", Show::median, Format::bytes, Source::daemon_rss},
};

constexpr SummaryField kSummary[] = {
    {"requests_per_s", Summarize::interval}, {"clients", Summarize::median},
    {"p50_ns", Summarize::interval},         {"p99_ns", Summarize::median},
    {"slowest_p99_ns", Summarize::median},   {"server_cpu_per_request_ns", Summarize::median},
};

}  // namespace

// reqresp: N clients, each in a closed loop, one server answering them all from one thread.
extern const ScenarioInfo kReqresp{
    .name = "reqresp",
    .description = "N clients, one server answering them all from one thread",
    .default_sizes = kDefaultSizeList,
    .default_touches = kDefaultTouchModes,
    .defaults = defaults,
    .variants = variants,
    .name_suffix = name_suffix,
    .fan_out = true,
    .fan_in = true,
    .refuse = refuse,
    .run = run_side,
    .records = {.consumer_latency = true},
    .figures = kFigures,
    .outcome = outcome,
    .key_figure = "requests_per_s",
    .table =
        {
            .heading = "N clients, one server",
            .keys = kKeys,
            .text_keys = 3,
            .columns = kColumns,
            .order_by = "requests_per_s",
            .first_by = Key::consumers,
            .note =
                "N clients, each a process in a closed loop (request, wait for its response, "
                "check it) over a channel of its own, one server process answering them all from "
                "one thread: with one client it waits in receive(), with more in one epoll over "
                "the N channels (block only), or in the transport's own wait where it serves many "
                "clients itself (the library's request-response: zerocopy's, iceoryx's, D-Bus "
                "method calls, gRPC unary calls; one endpoint, any wait mode it offers at N = 1). "
                "requests/s = requests the server answered while "
                "every client was measuring (the last client's end of warm-up to the first "
                "client's stop); RTT = each client's round trips, all clients together; slowest "
                "p99 = the client with the worst; fairness = (fastest - slowest) / median of the "
                "clients' round trips per second; server CPU per request = the server's CPU time "
                "in that window / its requests; CPU per request = that, plus a client's CPU time "
                "per round trip. N + 1 processes share the CPUs.\n",
        },
    .summary = kSummary,
    .compare_heading = "reqresp: requests/s one server answers (higher is better)",
    .compare_format = CompareFormat::per_s,
    .compare_rank = 3,
    .compare_floor_figure = "p50_ns",
    .compare_floor = OverFloor::round_trip,
};

}  // namespace ipcbench

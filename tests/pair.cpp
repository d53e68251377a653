#include "tests/pair.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <thread>

#include "harness/run/daemons.hpp"
#include "harness/run/resources.hpp"
#include "harness/run/worker.hpp"

namespace ipcbench::testing {

namespace fs = std::filesystem;

namespace {

std::atomic<int> g_cells{0};

// The daemons of the transports that need one: started by the first pair that needs it, kept for
// the rest of this test process, stopped when it exits.
Daemons& daemons() {
  static Daemons instance;
  return instance;
}

void write_all(int fd, const std::string& s) {
  std::size_t done = 0;
  while (done < s.size()) {
    ssize_t n = ::write(fd, s.data() + done, s.size() - done);
    if (n <= 0) return;
    done += static_cast<std::size_t>(n);
  }
}

// Reads until EOF or the deadline.
std::string read_all(int fd, std::chrono::steady_clock::time_point deadline, bool& eof) {
  std::string out;
  eof = false;
  char buf[4096];
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd pfd{fd, POLLIN, 0};
    int n = ::poll(&pfd, 1, 20);
    if (n <= 0) continue;
    ssize_t got = ::read(fd, buf, sizeof buf);
    if (got <= 0) {
      eof = true;
      break;
    }
    out.append(buf, static_cast<std::size_t>(got));
  }
  return out;
}

std::string describe(int status) {
  if (WIFEXITED(status)) return "exited with " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("killed by SIG") + sigabbrev_np(WTERMSIG(status));
  return "status " + std::to_string(status);
}

struct Child {
  pid_t pid = -1;
  int report = -1;  // the child's verdict pipe (read end)
};

// In the child: make the endpoint, do `setup`, report "R<address>\n" on `report`, then run the
// body and report "V<verdict>" and exit.
[[noreturn]] void child_main(const Endpoint& endpoint, const TransportInfo& info, int report,
                             const std::string& peer_address, const Body& body) {
  ::signal(SIGPIPE, SIG_IGN);
  int code = 0;
  {
    auto made = info.make(endpoint);
    if (!made) {
      write_all(report, "E" + made.error().reason);
      _exit(3);
    }
    auto& t = **made;
    std::string address;
    if (endpoint.role == Role::consumer) {
      auto listened = t.listen();
      if (!listened) {
        write_all(report, "Elisten: " + listened.error().reason);
        _exit(3);
      }
      address = *listened;
      write_all(report, "A" + address + "\n");
    }
    if (auto ok = t.connect(peer_address); !ok) {
      write_all(report, "Econnect: " + ok.error().reason);
      _exit(3);
    }
    write_all(report, "C\n");
    std::string verdict = body(t);
    write_all(report, "V" + verdict);
    code = verdict.empty() ? 0 : 1;
  }  // the endpoint is destroyed here: it must remove what it made
  ::close(report);
  _exit(code);
}

}  // namespace

std::vector<std::string> names_with_prefix(const std::string& prefix) {
  std::vector<std::string> out;
  for (const char* dir : {"/dev/shm", "/tmp"}) {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
      std::string name = e.path().filename().string();
      if (name.rfind(prefix, 0) == 0) out.push_back(std::string(dir) + "/" + name);
    }
  }
  return out;
}

PairOutcome run_pair(const PairOptions& o, const Body& producer_body, const Body& consumer_body,
                     int kill_producer_after_ms, int kill_consumer_after_ms) {
  PairOutcome out;
  const TransportInfo* info = find_transport(o.transport);
  if (!info) {
    out.setup_error = "no transport " + o.transport;
    return out;
  }
  if (info->start_daemon) {
    // At least as large as the suite's default, so that one daemon serves every test.
    if (auto why = daemons().ensure(o.transport,
                                    std::max(o.max_message_bytes, PairOptions{}.max_message_bytes),
                                    DaemonConfig{}.timeout)) {
      out.setup_error = *why;
      return out;
    }
  }
  Capabilities caps = info->capabilities();
  out.token = run_prefix() + "-t" + std::to_string(g_cells++);
  out.dir = "/tmp/" + out.token;
  fs::remove_all(out.dir);
  ::mkdir(out.dir.c_str(), 0700);
  const auto deadline = std::chrono::steady_clock::now() + o.deadline;

  // Each side's endpoint as a worker of the harness sets it up (endpoint_for,
  // harness/run/worker.hpp).
  WorkerSpec base;
  base.transport = o.transport;
  base.wait = o.wait;
  base.token = out.token;
  base.dir = out.dir;
  base.bytes = o.max_message_bytes;
  base.queue_depth = o.queue_depth;
  base.timeout_ms = o.timeout.count();
  base.spin_us = Endpoint{}.spin.count();
  base.options = o.options;

  int a[2] = {-1, -1}, b[2] = {-1, -1};  // stdio pipes: a producer->consumer, b back
  if (caps.stdio_pipes && (::pipe2(a, O_CLOEXEC) != 0 || ::pipe2(b, O_CLOEXEC) != 0)) {
    out.setup_error = "pipe2 failed";
    return out;
  }

  auto start = [&](Role role, const std::string& address, const Body& body, int in_fd, int out_fd,
                   std::vector<int> close_in_child) -> Child {
    int report[2];
    if (::pipe2(report, O_CLOEXEC) != 0) return {};
    pid_t pid = ::fork();
    if (pid == 0) {
      ::close(report[0]);
      for (int fd : close_in_child) {
        if (fd >= 0) ::close(fd);
      }
      WorkerSpec side = base;
      side.role = role;
      side.in_fd = in_fd;
      side.out_fd = out_fd;
      const Endpoint e = endpoint_for(side);
      child_main(e, *info, report[1], address, body);
    }
    ::close(report[1]);
    return Child{pid, report[0]};
  };

  // The consumer; the parent then keeps no copy of its pipe ends.
  Child consumer = start(Role::consumer, "", consumer_body, a[0], b[1], {a[1], b[0]});
  if (caps.stdio_pipes) {
    ::close(a[0]);
    ::close(b[1]);
  }
  // Its address: "A<address>\n".
  std::string head;
  while (head.find('\n') == std::string::npos && std::chrono::steady_clock::now() < deadline) {
    pollfd pfd{consumer.report, POLLIN, 0};
    if (::poll(&pfd, 1, 20) <= 0) continue;
    char c;
    if (::read(consumer.report, &c, 1) != 1) break;
    head += c;
  }
  Child producer;
  if (head.size() >= 2 && head[0] == 'A') {
    std::string address = head.substr(1, head.size() - 2);
    producer = start(Role::producer, address, producer_body, caps.stdio_pipes ? b[0] : -1,
                     caps.stdio_pipes ? a[1] : -1, {});
  } else {
    out.setup_error = "consumer did not listen: " + head;
  }
  if (caps.stdio_pipes) {
    ::close(b[0]);
    ::close(a[1]);
  }

  // Killing on request, that long after both have said they are connected (their "C" line; a
  // side that fails to connect says "E" instead, and is not waited for further), so that the
  // victim is mid-stream however long the set-up took.
  std::string producer_head;
  if (kill_producer_after_ms >= 0 || kill_consumer_after_ms >= 0) {
    auto wait_connected = [&](const Child& c, std::string& text) {
      while (c.pid > 0 && std::chrono::steady_clock::now() < deadline &&
             text.find("C\n") == std::string::npos && !text.starts_with('E') &&
             text.find("\nE") == std::string::npos) {
        pollfd pfd{c.report, POLLIN, 0};
        if (::poll(&pfd, 1, 20) <= 0) continue;
        char ch;
        if (::read(c.report, &ch, 1) != 1) break;
        text += ch;
      }
    };
    wait_connected(consumer, head);
    wait_connected(producer, producer_head);
    int ms = std::max(kill_producer_after_ms, kill_consumer_after_ms);
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    if (kill_producer_after_ms >= 0 && producer.pid > 0) ::kill(producer.pid, SIGKILL);
    if (kill_consumer_after_ms >= 0 && consumer.pid > 0) ::kill(consumer.pid, SIGKILL);
  }

  auto finish = [&](Child& c, SideOutcome& side, const std::string& prefix) {
    if (c.pid <= 0) return;
    bool eof = false;
    std::string text = prefix + read_all(c.report, deadline, eof);
    if (!eof) ::kill(c.pid, SIGKILL);
    int status = 0;
    ::waitpid(c.pid, &status, 0);
    ::close(c.report);
    side.exit = describe(status);
    // Lines "A<address>" and "C" come first; then "V<verdict>" or "E<error>" to the end.
    while (!text.empty() && (text[0] == 'A' || text[0] == 'C')) {
      auto nl = text.find('\n');
      text = nl == std::string::npos ? "" : text.substr(nl + 1);
    }
    if (!text.empty() && text[0] == 'V') {
      side.ran = true;
      side.verdict = text.substr(1);
    } else if (!text.empty() && text[0] == 'E') {
      side.ran = true;
      side.verdict = "set-up failed: " + text.substr(1);
    } else if (!eof) {
      side.verdict = "hung (killed at the deadline)";
    } else {
      side.verdict = "no verdict (" + side.exit + ")";
    }
  };
  finish(producer, out.producer, producer_head);
  finish(consumer, out.consumer, head);

  // What the endpoints left: their files in the directory, their /dev/shm names.
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(out.dir, ec))
    out.leftovers.push_back(e.path());
  for (const auto& name : names_with_prefix(out.token)) {
    if (name != out.dir) out.leftovers.push_back(name);
  }
  remove_private_dir(out.dir);
  for (const auto& name : names_with_prefix(out.token))
    fs::remove_all(name, ec);
  // What has no file here: message queues (System V ones, and POSIX ones where /dev/mqueue is
  // mounted), which the harness's sweep finds.
  if (int queues = sweep_token(out.token); queues > 0) {
    out.leftovers.push_back(std::to_string(queues) + " message queue(s) named " + out.token);
  }
  return out;
}

}  // namespace ipcbench::testing

// Shared by the zerocopy tests: unique shared-memory prefixes, checks that nothing is left in
// /dev/shm, and a small child-process helper (the helper executable, spawned with pipes).
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <dirent.h>
#include <atomic>
#include <chrono>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "zerocopy/zerocopy.hpp"

extern char** environ;

namespace zerocopy::testing {

// A prefix no other test (or test run) uses: zct-<pid>-<n>-
inline std::string unique_prefix() {
  static std::atomic<int> counter{0};
  return "zct-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + "-";
}

inline std::vector<std::string> shm_names(std::string_view prefix) {
  std::vector<std::string> names;
  if (DIR* dir = ::opendir("/dev/shm")) {
    while (dirent* entry = ::readdir(dir)) {
      if (std::string_view(entry->d_name).starts_with(prefix)) names.emplace_back(entry->d_name);
    }
    ::closedir(dir);
  }
  return names;
}

inline void remove_all(std::string_view prefix) {
  for (const auto& name : shm_names(prefix))
    ::shm_unlink(("/" + name).c_str());
}

// Base fixture: a node with a unique prefix; at the end, nothing may be left under the prefix.
class ShmTest : public ::testing::Test {
 protected:
  void SetUp() override {
    m_prefix = unique_prefix();
    NodeConfig config;
    config.prefix = m_prefix;
    auto node = Node::create(config);
    ASSERT_TRUE(node.has_value());
    m_node.emplace(std::move(*node));
  }
  void TearDown() override {
    m_node.reset();
    auto left = shm_names(m_prefix);
    EXPECT_TRUE(left.empty()) << "left in /dev/shm: " << (left.empty() ? "" : left.front());
    remove_all(m_prefix);
  }
  Node& node() { return *m_node; }
  const std::string& prefix() const { return m_prefix; }

  std::string m_prefix;
  std::optional<Node> m_node;
};

// A child process running the test helper, with its stdin and stdout as pipes.
class Child {
 public:
  explicit Child(const std::vector<std::string>& args) {
    int to_child[2];
    int from_child[2];
    if (::pipe2(to_child, O_CLOEXEC) != 0 || ::pipe2(from_child, O_CLOEXEC) != 0) return;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, to_child[0], 0);
    posix_spawn_file_actions_adddup2(&actions, from_child[1], 1);
    std::vector<std::string> full{ZEROCOPY_TEST_HELPER};
    full.insert(full.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& arg : full)
      argv.push_back(arg.data());
    argv.push_back(nullptr);
    if (::posix_spawn(&m_pid, argv[0], &actions, nullptr, argv.data(), environ) != 0) m_pid = -1;
    posix_spawn_file_actions_destroy(&actions);
    ::close(to_child[0]);
    ::close(from_child[1]);
    m_in = to_child[1];
    m_out = from_child[0];
  }
  ~Child() {
    if (m_pid > 0) {
      ::kill(m_pid, SIGKILL);
      ::waitpid(m_pid, nullptr, 0);
    }
    if (m_in >= 0) ::close(m_in);
    if (m_out >= 0) ::close(m_out);
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  bool started() const { return m_pid > 0; }
  pid_t pid() const { return m_pid; }
  void send(std::string_view line) {
    std::string text(line);
    text += '\n';
    [[maybe_unused]] auto written = ::write(m_in, text.data(), text.size());
  }
  // The next line the child prints, or nullopt after `timeout`.
  std::optional<std::string> read_line(
      std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      if (auto end = m_buffer.find('\n'); end != std::string::npos) {
        std::string line = m_buffer.substr(0, end);
        m_buffer.erase(0, end + 1);
        return line;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      pollfd fd{m_out, POLLIN, 0};
      if (::poll(&fd, 1, static_cast<int>(left.count())) <= 0) continue;
      char chunk[256];
      ssize_t n = ::read(m_out, chunk, sizeof chunk);
      if (n <= 0) return std::nullopt;
      m_buffer.append(chunk, static_cast<std::size_t>(n));
    }
  }
  // Waits (bounded) for the child to exit; returns its exit code, or -1 on timeout / signal.
  int wait_exit(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      pid_t done = ::waitpid(m_pid, &status, WNOHANG);
      if (done == m_pid) {
        m_pid = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      }
      ::usleep(1000);
    }
    return -1;
  }
  void kill_and_reap() {
    if (m_pid > 0) {
      ::kill(m_pid, SIGKILL);
      ::waitpid(m_pid, nullptr, 0);
      m_pid = -1;
    }
  }

 private:
  pid_t m_pid = -1;
  int m_in = -1;
  int m_out = -1;
  std::string m_buffer;
};

}  // namespace zerocopy::testing

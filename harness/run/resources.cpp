#include "harness/run/resources.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cctype>
#include <charconv>
#include <filesystem>
#include <functional>
#include <string_view>
#include <vector>

#include "base/peer_watch.hpp"
#include "base/unique_fd.hpp"
#include "transports/transport.hpp"

namespace ipcbench {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kRunPrefix = "ipcbench-run";

const RunTag& this_run() {
  static const RunTag tag = [] {
    ProcessId self = this_process();
    return RunTag{self.pid, self.start_ticks};
  }();
  return tag;
}

// Reads a whole number at the front of `text`; advances past it.
std::optional<std::uint64_t> take_number(std::string_view& text) {
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end == text.data()) return std::nullopt;
  text.remove_prefix(static_cast<std::size_t>(end - text.data()));
  return value;
}

// Is the directory's marker there, naming it?
bool has_marker(const fs::path& dir) {
  UniqueFd fd(::open((dir / kPrivateMarker).c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) return false;
  char buf[256];
  ssize_t n = ::read(fd.get(), buf, sizeof buf);
  return n > 0 && std::string_view(buf, static_cast<std::size_t>(n)) == dir.filename().string();
}

// Removes `path` (whose name has already been matched) if this user owns it and it is what
// ipcbench makes: a directory with its marker, a regular file (a POSIX queue in /dev/mqueue is
// one), or a socket (iceoryx's clients make theirs in /tmp). Links, devices, FIFOs and unmarked
// directories are left alone.
bool remove_if_ours(const fs::path& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0 || st.st_uid != ::geteuid()) return false;
  std::error_code ec;
  if (S_ISDIR(st.st_mode)) {
    if (!has_marker(path)) return false;
    remove_private_dir(path);
    return !fs::exists(path, ec);
  }
  if (S_ISREG(st.st_mode) || S_ISSOCK(st.st_mode)) return ::unlink(path.c_str()) == 0;
  return false;
}

// Does `name` belong to `token`: the token itself, or the token followed by a separator (so that
// cell 1 does not claim cell 10's names)?
bool named_after(std::string_view name, std::string_view token) {
  return name.starts_with(token) && (name.size() == token.size() ||
                                     !std::isdigit(static_cast<unsigned char>(name[token.size()])));
}

// The directories whose entries may be named after a run: /dev/mqueue only when the mqueue file
// system is mounted there.
std::vector<const char*> swept_dirs() {
  constexpr long kMqueueMagic = 0x19800202;  // <linux/magic.h> MQUEUE_MAGIC
  std::vector<const char*> dirs = {"/dev/shm", "/tmp"};
  struct statfs fs {};
  if (::statfs("/dev/mqueue", &fs) == 0 && fs.f_type == kMqueueMagic) dirs.push_back("/dev/mqueue");
  return dirs;
}

// Removes, through each driver's sweep_named hook, the objects without a name in a directory
// (System V queues) whose name `doomed` accepts. Returns how many.
int sweep_named(const std::function<bool(const std::string&)>& doomed) {
  int removed = 0;
  for (const auto& info : transports()) {
    if (info.sweep_named) removed += info.sweep_named(doomed);
  }
  return removed;
}

}  // namespace

std::string run_prefix() {
  const RunTag& tag = this_run();
  return std::string(kRunPrefix) + std::to_string(tag.pid) + "." + std::to_string(tag.start_ticks);
}

std::string cell_token(std::size_t cell) {
  return run_prefix() + "-cell" + std::to_string(cell);
}

std::string daemon_token(std::string_view transport) {
  return run_prefix() + "-daemon-" + std::string(transport);
}

std::optional<RunTag> parse_run_name(std::string_view name) {
  if (!name.starts_with(kRunPrefix)) return std::nullopt;
  name.remove_prefix(kRunPrefix.size());
  auto pid = take_number(name);
  if (!pid || *pid == 0 || !name.starts_with('.')) return std::nullopt;
  name.remove_prefix(1);
  auto start = take_number(name);
  if (!start || !name.starts_with('-')) return std::nullopt;
  return RunTag{static_cast<std::int64_t>(*pid), *start};
}

bool run_alive(const RunTag& tag) {
  return process_alive(ProcessId{tag.pid, tag.start_ticks});
}

Result<std::string> make_private_dir(const std::string& token) {
  const std::string dir = "/tmp/" + token;
  if (::mkdir(dir.c_str(), 0700) != 0) return fail_errno(Errc::resource, "cannot make " + dir);
  const std::string marker = dir + "/" + std::string(kPrivateMarker);
  UniqueFd fd(::open(marker.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd || ::write(fd.get(), token.data(), token.size()) != static_cast<ssize_t>(token.size())) {
    auto error = fail_errno(Errc::resource, "cannot write " + marker);
    std::error_code ec;
    fs::remove_all(dir, ec);
    return error;
  }
  return dir;
}

void remove_private_dir(const std::string& dir) {
  for (const auto& info : transports()) {
    if (info.sweep_recorded) info.sweep_recorded(dir);
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
}

int sweep_token(const std::string& token) {
  int removed = 0;
  for (const char* dir : swept_dirs()) {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      if (!named_after(entry.path().filename().string(), token)) continue;
      if (remove_if_ours(entry.path())) ++removed;
    }
  }
  return removed + sweep_named([&](const std::string& name) { return named_after(name, token); });
}

int sweep_stale_resources() {
  auto dead = [](std::string_view name) {
    auto tag = parse_run_name(name);
    return tag && !run_alive(*tag);
  };
  int removed = 0;
  for (const char* dir : swept_dirs()) {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      if (!dead(entry.path().filename().string())) continue;
      if (remove_if_ours(entry.path())) ++removed;
    }
  }
  return removed + sweep_named([&](const std::string& name) { return dead(name); });
}

}  // namespace ipcbench

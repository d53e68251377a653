#include "harness/output.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

namespace ipcbench {

namespace fs = std::filesystem;

namespace {

std::string errno_text(int err = errno) {
  return std::strerror(err);
}

// `path` with every symbolic link in its last component followed (the directories above are the
// kernel's business). ENOENT at the end is fine: the file is new.
std::expected<std::string, std::string> follow_links(std::string path) {
  for (int hops = 0; hops < 40; ++hops) {
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) {
      if (errno == ENOENT) return path;
      return std::unexpected(errno_text());
    }
    if (!S_ISLNK(st.st_mode)) return path;
    std::error_code ec;
    fs::path link = fs::read_symlink(path, ec);
    if (ec) return std::unexpected(ec.message());
    path = link.is_absolute() ? link.string() : (fs::path(path).parent_path() / link).string();
  }
  return std::unexpected(errno_text(ELOOP));
}

bool write_all(int fd, const std::string& text) {
  std::size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

// Takes the write lock on the whole file; on failure says who holds it.
std::optional<std::string> lock(int fd) {
  struct flock fl {};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  if (::fcntl(fd, F_SETLK, &fl) == 0) return std::nullopt;
  const int err = errno;
  if (err != EAGAIN && err != EACCES) return errno_text(err);
  struct flock who {};
  who.l_type = F_WRLCK;
  who.l_whence = SEEK_SET;
  std::string holder;
  if (::fcntl(fd, F_GETLK, &who) == 0 && who.l_type != F_UNLCK && who.l_pid > 0) {
    holder = fmt::format(" (pid {})", who.l_pid);
  }
  return fmt::format("another ipcbench run{} is writing its results there; give another --out",
                     holder);
}

}  // namespace

ResultsOutput::ResultsOutput(ResultsOutput&& other) noexcept
    : m_kind(other.m_kind),
      m_given(std::move(other.m_given)),
      m_target(std::move(other.m_target)),
      m_fd(std::move(other.m_fd)),
      m_mode(other.m_mode),
      m_created(std::exchange(other.m_created, false)),
      m_written(other.m_written) {}

ResultsOutput::~ResultsOutput() {
  if (m_created && !m_written) ::unlink(m_target.c_str());
}

std::expected<ResultsOutput, std::string> ResultsOutput::open(const std::string& path) {
  auto bad = [&](const std::string& why) {
    return std::unexpected(fmt::format("--out {}: {}", path, why));
  };
  if (path.empty()) return bad("expected a file path, or - for standard output");
  if (path == "-") return ResultsOutput(Kind::standard_output, path);

  auto target = follow_links(path);
  if (!target) return bad(target.error());
  struct stat st;
  const bool exists = ::stat(target->c_str(), &st) == 0;
  if (!exists && errno != ENOENT) return bad(errno_text());

  if (exists && !S_ISREG(st.st_mode)) {
    if (S_ISDIR(st.st_mode)) return bad(errno_text(EISDIR));
    if (!S_ISCHR(st.st_mode) && !S_ISFIFO(st.st_mode)) {
      return bad("not a regular file, a character device or a FIFO");
    }
    // Opened now, so a problem shows before the first cell; never replaced.
    UniqueFd fd(::open(target->c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
    if (!fd) {
      if (errno == ENXIO) return bad("a FIFO that no process has open for reading");
      return bad(errno_text());
    }
    ::fcntl(fd.get(), F_SETFL, ::fcntl(fd.get(), F_GETFL) & ~O_NONBLOCK);
    ResultsOutput out(Kind::stream, path);
    out.m_target = *target;
    out.m_fd = std::move(fd);
    return out;
  }

  // A regular file, new or not: lock the inode the path names now. A run that renames a new
  // version in between is caught by comparing the inode locked with the one the path names.
  if (!exists) {
    const fs::path parent = fs::path(*target).parent_path();
    std::error_code ec;
    if (!parent.empty()) fs::create_directories(parent, ec);
    if (ec) return bad("cannot make its directory: " + ec.message());
  }
  ResultsOutput out(Kind::file, path);
  out.m_target = *target;
  for (int attempt = 0;; ++attempt) {
    UniqueFd fd(::open(target->c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666));
    if (!fd) return bad(errno_text());
    struct stat mine, named;
    if (::fstat(fd.get(), &mine) != 0) return bad(errno_text());
    if (!exists && attempt == 0 && mine.st_size == 0) out.m_created = true;
    if (auto held = lock(fd.get())) return bad(*held);
    if (::stat(target->c_str(), &named) == 0 && named.st_dev == mine.st_dev &&
        named.st_ino == mine.st_ino) {
      out.m_fd = std::move(fd);
      out.m_mode = mine.st_mode & 07777;
      return out;
    }
    if (attempt == 10) return bad("it keeps being replaced by another program");
  }
}

std::optional<std::string> ResultsOutput::write(const std::string& text, bool final) {
  if (m_kind != Kind::file && !final) return std::nullopt;
  m_written = true;
  if (m_kind == Kind::file) return replace_file(text);
  const int fd = m_kind == Kind::stream ? m_fd.get() : STDOUT_FILENO;
  if (m_kind == Kind::standard_output) std::fflush(stdout);
  if (!write_all(fd, text)) return fmt::format("cannot write {}: {}", m_given, errno_text());
  return std::nullopt;
}

std::optional<std::string> ResultsOutput::replace_file(const std::string& text) {
  const fs::path target(m_target);
  const fs::path tmp =
      target.parent_path() / fmt::format(".{}.{}.tmp", target.filename().string(), ::getpid());
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!fd) {
    return fmt::format("cannot write results beside {}: {}", m_target, errno_text());
  }
  auto failed = [&](std::string what) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return fmt::format("cannot {} {}: {}", what, m_target, errno_text(err));
  };
  if (::fchmod(fd.get(), m_mode) != 0) return failed("set the permissions of the new");
  if (!write_all(fd.get(), text) || ::fsync(fd.get()) != 0) return failed("write");
  // The new inode is locked before its name appears, so the lock never lapses.
  if (auto held = lock(fd.get())) {
    ::unlink(tmp.c_str());
    return fmt::format("cannot lock {}: {}", tmp.string(), *held);
  }
  if (::rename(tmp.c_str(), target.c_str()) != 0) return failed("replace");
  m_fd = std::move(fd);  // closing the old inode's descriptor releases its lock
  return std::nullopt;
}

}  // namespace ipcbench

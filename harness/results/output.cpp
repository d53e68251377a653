#include "harness/results/output.hpp"

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string_view>

#include <fmt/format.h>

namespace ipcbench {

namespace fs = std::filesystem;

namespace {

std::string errno_text(int err = errno) {
  return std::strerror(err);
}

std::string user_text(uid_t uid) {
  struct passwd pw {
  }, *found = nullptr;
  char buffer[1024];
  const bool named = ::getpwuid_r(uid, &pw, buffer, sizeof buffer, &found) == 0 && found;
  return named ? fmt::format("uid {} ({})", uid, found->pw_name) : fmt::format("uid {}", uid);
}

// Would the kernel's fs.protected_symlinks let this user follow the link `path` (lstat `st`)?
// Not when its owner is another user than this one and root (whoever could plant it could point
// it at this user's files), nor when it sits in a world-writable sticky directory (/tmp) and its
// owner is neither this user nor the directory's. Checked here whatever the sysctl says, because
// a run as root writes where the link points.
std::optional<std::string> planted_link(const std::string& path, const struct stat& st) {
  const uid_t me = ::geteuid();
  if (st.st_uid == me) return std::nullopt;
  auto refused = [&](std::string_view where) {
    return fmt::format(
        "a symbolic link owned by {}{}: refused (as the kernel's protected_symlinks refuses it), "
        "since whoever owns it chooses what this run overwrites; give the target's path",
        user_text(st.st_uid), where);
  };
  if (st.st_uid != 0) return refused("");
  struct stat dir;
  const std::string parent = fs::path(path).parent_path().empty()
                                 ? std::string(".")
                                 : fs::path(path).parent_path().string();
  if (::stat(parent.c_str(), &dir) == 0 && (dir.st_mode & S_ISVTX) && (dir.st_mode & S_IWOTH) &&
      dir.st_uid != st.st_uid) {
    return refused(fmt::format(" in the world-writable sticky directory {} (owned by {})", parent,
                               user_text(dir.st_uid)));
  }
  return std::nullopt;
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
    if (auto planted = planted_link(path, st)) {
      return std::unexpected(hops == 0 ? *planted : fmt::format("{}: {}", path, *planted));
    }
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
      m_owner(other.m_owner),
      m_group(other.m_group),
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
    // O_NOFOLLOW: a link planted at the target after the check above is not followed.
    UniqueFd fd(::open(target->c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0666));
    if (!fd) {
      if (errno == ELOOP) return bad("it became a symbolic link while being opened");
      return bad(errno_text());
    }
    struct stat mine, named;
    if (::fstat(fd.get(), &mine) != 0) return bad(errno_text());
    if (!exists && attempt == 0 && mine.st_size == 0) out.m_created = true;
    if (auto held = lock(fd.get())) return bad(*held);
    if (::stat(target->c_str(), &named) == 0 && named.st_dev == mine.st_dev &&
        named.st_ino == mine.st_ino) {
      out.m_fd = std::move(fd);
      out.m_mode = mine.st_mode & 07777;
      out.m_owner = mine.st_uid;
      out.m_group = mine.st_gid;
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
  // The owner too, where this user may give it (root may; anyone may keep their own): a file of
  // another user that this user may write becomes this user's (README says so).
  if (::fchown(fd.get(), m_owner, m_group) != 0 && errno != EPERM) {
    return failed("set the owner of the new");
  }
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

// Where a run's JSON goes (`--out`), chosen and checked before the first cell.
//
// - A regular file, or a path that does not exist yet: rewritten after every cell through a
//   temporary file beside it and a rename, so a reader (or a crash) never sees half a file. A
//   symbolic link is followed: its target is updated and the link stays; but not a link the
//   kernel's protected_symlinks would refuse (owned by another user than this one and root, or
//   in a world-writable sticky directory and owned by neither this user nor the directory's
//   owner): that is refused, whatever the sysctl says. The file keeps its permissions, and its
//   owner where this user may give it (root; anyone keeps their own). While the run lasts it holds
//   an advisory lock (fcntl F_SETLK) on the file, so a second run given the same file refuses at
//   start instead of overwriting the first's results.
// - A character device or a FIFO (/dev/null, a pipe to another program): opened, never replaced,
//   and written once, when the run ends.
// - "-": the JSON goes to standard output when the run ends (the tables to standard error).
// Anything else (a directory, a block device, a socket) is refused with the reason.
#pragma once

#include <sys/types.h>

#include <cstdio>
#include <expected>
#include <optional>
#include <string>

#include "base/unique_fd.hpp"

namespace ipcbench {

class ResultsOutput {
 public:
  // Checks `path` and takes the lock; an error is one line naming the path and the reason.
  static std::expected<ResultsOutput, std::string> open(const std::string& path);
  ResultsOutput(ResultsOutput&& other) noexcept;
  ResultsOutput& operator=(ResultsOutput&&) = delete;
  ~ResultsOutput();  // a file open() made and nothing was written to is removed again

  // Writes the document (JsonReporter's text). A file is rewritten every time; a stream only
  // when `final`.
  std::optional<std::string> write(const std::string& text, bool final);

  const std::string& path() const { return m_given; }
  // Where the tables and messages go: standard error when the JSON takes standard output.
  std::FILE* console() const { return m_kind == Kind::standard_output ? stderr : stdout; }

 private:
  enum class Kind { file, stream, standard_output };
  ResultsOutput(Kind kind, std::string given) : m_kind(kind), m_given(std::move(given)) {}
  std::optional<std::string> replace_file(const std::string& text);

  Kind m_kind;
  std::string m_given;   // as the user wrote it
  std::string m_target;  // a file: its real path, links followed
  UniqueFd m_fd;         // a file: the current inode, locked; a stream: open for writing
  mode_t m_mode = 0;     // a file: the permissions to keep
  uid_t m_owner = 0;     // a file: the owner to keep, where this user may
  gid_t m_group = 0;
  bool m_created = false;  // a file: made by open(), removed again if the run writes nothing
  bool m_written = false;
};

}  // namespace ipcbench

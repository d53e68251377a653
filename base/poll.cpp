#include "base/poll.hpp"

#include <cerrno>

namespace ipcbench {

Result<void> poll_one(int fd, short events, std::chrono::milliseconds timeout,
                      std::string timeout_reason) {
  pollfd pfd{fd, events, 0};
  const int ms = static_cast<int>(std::max<std::chrono::milliseconds::rep>(0, timeout.count()));
  for (;;) {
    const int n = ::poll(&pfd, 1, ms);
    if (n > 0) return {};
    if (n == 0) return fail(Errc::timeout, std::move(timeout_reason));
    if (errno != EINTR) return fail_errno(Errc::system, "poll");
  }
}

}  // namespace ipcbench

// Waiting for one descriptor, once: the set-up steps of a driver (a hello, a set-up message, a
// connection to accept) wait for their peer with a timeout. Not for the hot path: a message's
// wait goes through wait_until() (base/wait.hpp) and its wait mode.
#pragma once

#include <poll.h>

#include <chrono>
#include <string>

#include "base/result.hpp"

namespace ipcbench {

// Waits up to `timeout` until `fd` has one of `events` (or an error or hang-up, which the next
// read or write reports), polling again when a signal interrupts. Errc::timeout with
// `timeout_reason` when nothing came; Errc::system when poll() fails.
Result<void> poll_one(int fd, short events, std::chrono::milliseconds timeout,
                      std::string timeout_reason);

}  // namespace ipcbench

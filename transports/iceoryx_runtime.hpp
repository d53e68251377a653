// The iceoryx runtime of a process that uses iceoryx through ipcbench's drivers (the `iceoryx`
// driver, and Cyclone DDS's shared memory, which calls iox_runtime_init() itself): the error
// handler and this process's registration with RouDi, owned by the transports that use it. Header
// only: it is compiled in the drivers that are built with iceoryx, and nowhere else.
#pragma once

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "iceoryx_hoofs/error_handling/error_handling.hpp"
#include "iceoryx_hoofs/log/logmanager.hpp"
#include "iceoryx_posh/internal/runtime/posh_runtime_impl.hpp"

namespace ipcbench {

inline std::atomic<const char*> g_last_iceoryx_error{nullptr};

// Replaces iceoryx's default error handler, which asserts on SEVERE errors in Debian's build:
// those are reported to the caller by the call's own return value as well, and recorded here.
inline void on_iceoryx_error(const iox::Error error, const std::function<void()> callback,
                             const iox::ErrorLevel level) {
  if (callback) callback();
  const char* name = iox::ErrorHandler::toString(error);
  g_last_iceoryx_error.store(name, std::memory_order_relaxed);
  if (level == iox::ErrorLevel::FATAL) {
    std::fprintf(stderr, "iceoryx: fatal error %s\n", name);
    std::abort();
  }
}

inline std::string last_iceoryx_error() {
  const char* name = g_last_iceoryx_error.exchange(nullptr, std::memory_order_relaxed);
  return name ? std::string(" (") + name + ")" : std::string();
}

inline void prepare_iceoryx() {
  static std::once_flag once;
  std::call_once(once, [] {
    // Before anything logs: client logs default to verbose.
    iox::log::LogManager::GetLogManager().SetDefaultLogLevel(
        iox::log::LogLevel::kWarn, iox::log::LogLevelOutput::kHideLogLevel);
    static auto guard = iox::ErrorHandler::setTemporaryErrorHandler(on_iceoryx_error);
  });
}

// This process's registration with RouDi, owned (not a function-local static as
// PoshRuntime::initRuntime makes it), so that it ends when the last transport does. While it
// exists, PoshRuntime's factory returns it: a library that calls iox_runtime_init() (Cyclone DDS)
// gets this one, named after the cell's token, instead of making one of its own.
class IceoryxRuntime final : public iox::runtime::PoshRuntimeImpl {
 public:
  explicit IceoryxRuntime(const iox::RuntimeName_t& name)
      : PoshRuntimeImpl(iox::cxx::make_optional<const iox::RuntimeName_t*>(&name)) {
    s_instance = this;
    setRuntimeFactory(&factory);
  }
  ~IceoryxRuntime() override {
    setRuntimeFactory(&PoshRuntime::defaultRuntimeFactory);
    s_instance = nullptr;
  }

  // The one runtime of this process, made with `name` if there is none yet.
  static std::shared_ptr<IceoryxRuntime> acquire(const std::string& name) {
    static std::mutex mutex;
    static std::weak_ptr<IceoryxRuntime> current;
    std::lock_guard lock(mutex);
    if (auto runtime = current.lock()) return runtime;
    auto runtime = std::make_shared<IceoryxRuntime>(
        iox::RuntimeName_t(iox::cxx::TruncateToCapacity, name.c_str()));
    current = runtime;
    return runtime;
  }

 private:
  static iox::runtime::PoshRuntime& factory(
      iox::cxx::optional<const iox::RuntimeName_t*>) noexcept {
    return *s_instance;
  }
  static inline IceoryxRuntime* s_instance = nullptr;
};

}  // namespace ipcbench

// A small Expected<T, E>: a value or an error, never an exception. The public headers are C++20,
// where std::expected does not exist yet; this covers the part of its interface the library uses
// (has_value, operator bool, value, error, *, ->, and Expected<void, E>). Accessing the wrong
// alternative is a precondition violation: it aborts in every build type rather than reading
// garbage, and value() on an error first prints the error's name and message.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <new>
#include <type_traits>
#include <utility>

namespace zerocopy {

template <class E>
class Unexpected {
 public:
  explicit Unexpected(E error) : m_error(std::move(error)) {}
  E& error() & { return m_error; }
  E&& error() && { return std::move(m_error); }

 private:
  E m_error;
};

template <class E>
Unexpected<std::decay_t<E>> unexpected(E&& error) {
  return Unexpected<std::decay_t<E>>(std::forward<E>(error));
}

namespace detail {
[[noreturn]] inline void bad_expected_access(const char* what) {
  std::fprintf(stderr, "zerocopy: %s\n", what);
  std::abort();
}
// value() on an error: says which error (to_string of the code, found by argument-dependent
// lookup) and its message, then aborts.
template <class E>
[[noreturn]] void bad_value_access(const E& error) {
  if constexpr (requires {
                  to_string(error.code);
                  error.message.c_str();
                }) {
    auto name = to_string(error.code);
    std::fprintf(stderr, "zerocopy: Expected::value() called on an error: %.*s: %s\n",
                 static_cast<int>(name.size()), name.data(), error.message.c_str());
  } else if constexpr (requires { to_string(error); }) {
    auto name = to_string(error);
    std::fprintf(stderr, "zerocopy: Expected::value() called on an error: %.*s\n",
                 static_cast<int>(name.size()), name.data());
  } else {
    std::fprintf(stderr, "zerocopy: Expected::value() called on an error\n");
  }
  std::abort();
}
}  // namespace detail

template <class T, class E>
class [[nodiscard]] Expected {
 public:
  using value_type = T;
  using error_type = E;

  Expected(const T& value) : m_has_value(true) { new (&m_value) T(value); }
  Expected(T&& value) : m_has_value(true) { new (&m_value) T(std::move(value)); }
  template <class G>
  Expected(Unexpected<G> error) : m_has_value(false) {
    new (&m_error) E(std::move(error).error());
  }
  Expected(const Expected& other) : m_has_value(other.m_has_value) {
    if (m_has_value) {
      new (&m_value) T(other.m_value);
    } else {
      new (&m_error) E(other.m_error);
    }
  }
  Expected(Expected&& other) noexcept : m_has_value(other.m_has_value) {
    if (m_has_value) {
      new (&m_value) T(std::move(other.m_value));
    } else {
      new (&m_error) E(std::move(other.m_error));
    }
  }
  Expected& operator=(Expected other) noexcept {
    destroy();
    m_has_value = other.m_has_value;
    if (m_has_value) {
      new (&m_value) T(std::move(other.m_value));
    } else {
      new (&m_error) E(std::move(other.m_error));
    }
    return *this;
  }
  ~Expected() { destroy(); }

  bool has_value() const noexcept { return m_has_value; }
  explicit operator bool() const noexcept { return m_has_value; }

  T& value() & {
    check_value();
    return m_value;
  }
  const T& value() const& {
    check_value();
    return m_value;
  }
  T&& value() && {
    check_value();
    return std::move(m_value);
  }
  E& error() & {
    check_error();
    return m_error;
  }
  const E& error() const& {
    check_error();
    return m_error;
  }
  E&& error() && {
    check_error();
    return std::move(m_error);
  }

  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  void check_value() const {
    if (!m_has_value) [[unlikely]]
      detail::bad_value_access(m_error);
  }
  void check_error() const {
    if (m_has_value) detail::bad_expected_access("Expected::error() called on a value");
  }
  void destroy() noexcept {
    if (m_has_value) {
      m_value.~T();
    } else {
      m_error.~E();
    }
  }

  union {
    T m_value;
    E m_error;
  };
  bool m_has_value;
};

template <class E>
class [[nodiscard]] Expected<void, E> {
 public:
  using value_type = void;
  using error_type = E;

  Expected() : m_has_value(true) {}
  template <class G>
  Expected(Unexpected<G> error) : m_error(std::move(error).error()), m_has_value(false) {}

  bool has_value() const noexcept { return m_has_value; }
  explicit operator bool() const noexcept { return m_has_value; }
  void value() const {
    if (!m_has_value) [[unlikely]]
      detail::bad_value_access(m_error);
  }
  const E& error() const& {
    if (m_has_value) detail::bad_expected_access("Expected::error() called on a value");
    return m_error;
  }

 private:
  E m_error{};
  bool m_has_value;
};

}  // namespace zerocopy

// The name a payload type is registered under. A service records its payload's name, size and
// alignment; open() compares all three, so two programs that disagree on the type get
// ServiceError::incompatible_type naming both instead of reading each other's bytes wrongly.
//
// Fixed-width integers, floating-point types, bool, char and std::byte have names that do not
// depend on the compiler ("u64", "f64", ...). For other types the default is the compiler's
// spelling, which g++ and clang++ can write differently: specialise TypeName<T> (or pass
// .type_name("...") to the service builder) when publishers and subscribers are built by
// different compilers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <type_traits>

namespace zerocopy {

namespace detail {
template <class T>
constexpr std::string_view compiler_type_name() {
#if defined(__clang__) || defined(__GNUC__)
  std::string_view name = __PRETTY_FUNCTION__;
  auto start = name.find("T = ");
  if (start == std::string_view::npos) return name;
  start += 4;
  auto end = name.find_first_of(";]", start);
  return name.substr(start, end - start);
#else
  return "unknown";
#endif
}

template <class T>
constexpr std::string_view fundamental_type_name() {
  if constexpr (std::is_same_v<T, bool>) {
    return "bool";
  } else if constexpr (std::is_same_v<T, char>) {
    return "char";
  } else if constexpr (std::is_same_v<T, std::byte>) {
    return "byte";
  } else if constexpr (std::is_integral_v<T>) {
    constexpr bool is_signed = std::is_signed_v<T>;
    if constexpr (sizeof(T) == 1) return is_signed ? "i8" : "u8";
    if constexpr (sizeof(T) == 2) return is_signed ? "i16" : "u16";
    if constexpr (sizeof(T) == 4) return is_signed ? "i32" : "u32";
    if constexpr (sizeof(T) == 8) return is_signed ? "i64" : "u64";
    return compiler_type_name<T>();
  } else if constexpr (std::is_floating_point_v<T>) {
    if constexpr (sizeof(T) == 4) return "f32";
    if constexpr (sizeof(T) == 8) return "f64";
    return compiler_type_name<T>();
  } else {
    return compiler_type_name<T>();
  }
}
}  // namespace detail

template <class T>
struct TypeName {
  static constexpr std::string_view value = detail::fundamental_type_name<std::remove_cv_t<T>>();
};

}  // namespace zerocopy

// Payload traits: T is one value, T[] a slice of a length chosen per sample.
#pragma once

#include <cstddef>
#include <type_traits>

namespace zerocopy::detail {

template <class T>
struct PayloadTraits {
  using Element = T;
  static constexpr bool kIsSlice = false;
};

template <class T>
struct PayloadTraits<T[]> {
  using Element = T;
  static constexpr bool kIsSlice = true;
};

// Shared memory is mapped at different addresses in each process and outlives the writer's
// objects, so a payload must be a self-contained run of bytes: no pointers, no destructor.
template <class T>
inline constexpr bool kIsShmPayload =
    std::is_trivially_copyable_v<typename PayloadTraits<T>::Element>&&
        std::is_standard_layout_v<typename PayloadTraits<T>::Element> &&
    !std::is_pointer_v<typename PayloadTraits<T>::Element>;

}  // namespace zerocopy::detail

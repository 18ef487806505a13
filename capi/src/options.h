// struct_size handling for the ABI's versioned structs, in one place.
//
// Every option and result struct starts with `uint32_t struct_size`. For an
// input struct the library reads only the bytes the caller's size covers,
// over the defaults; a size below the struct's first release is refused, a
// larger one is accepted only when the bytes this library does not know are
// zero (so an old library never silently ignores a newer caller's request).
// An output struct is written only within its size.
//
// Pure functions, no state, no allocation: usable from any thread, and
// header-only so that capi_test checks them directly.
#ifndef ESTORIA_CAPI_SRC_OPTIONS_H_
#define ESTORIA_CAPI_SRC_OPTIONS_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

namespace estoria::capi {

// A struct_size above this is surely an uninitialised field, not a struct
// from a newer release: refused before any byte past the known part is read.
inline constexpr uint32_t kMaxStructSize = 4096;

enum class StructSizeCheck {
  kOk,
  kBelowFirstRelease,  // EST_ERR_INVALID_ARGUMENT
  kImplausible,        // EST_ERR_INVALID_ARGUMENT (above kMaxStructSize)
  kUnknownFieldsSet,   // EST_ERR_UNSUPPORTED
};

// Checks the struct at `p` whose first field is its size. `first_release` is
// the size of the struct's first release, `known` the size this library
// compiles with. `check_tail` is false for output structs, whose unknown
// bytes are the caller's business.
inline StructSizeCheck CheckStructSize(const void* p, size_t first_release, size_t known, bool check_tail) {
  uint32_t size;
  std::memcpy(&size, p, sizeof(size));
  if (size < first_release) return StructSizeCheck::kBelowFirstRelease;
  if (size > kMaxStructSize) return StructSizeCheck::kImplausible;
  if (check_tail && size > known) {
    const unsigned char* tail = static_cast<const unsigned char*>(p) + known;
    for (size_t i = 0; i < size - known; ++i) {
      if (tail[i] != 0) return StructSizeCheck::kUnknownFieldsSet;
    }
  }
  return StructSizeCheck::kOk;
}

// Reads the caller's struct `in` over the defaults already in *out.
// REQUIRES: CheckStructSize(in, ...) returned kOk.
template <typename T>
inline void ReadStruct(const T* in, T* out) {
  static_assert(std::is_trivially_copyable_v<T>);
  uint32_t size;
  std::memcpy(&size, in, sizeof(size));
  const size_t n = std::min<size_t>(size, sizeof(T));
  // Skip struct_size itself: *out keeps the library's own.
  std::memcpy(reinterpret_cast<unsigned char*>(out) + sizeof(uint32_t),
              reinterpret_cast<const unsigned char*>(in) + sizeof(uint32_t), n - sizeof(uint32_t));
}

// Writes `value` into the caller's struct *out, only within out's size and
// leaving its struct_size as it is. REQUIRES: CheckStructSize(out, ...) kOk.
template <typename T>
inline void WriteStruct(const T& value, T* out) {
  static_assert(std::is_trivially_copyable_v<T>);
  uint32_t size;
  std::memcpy(&size, out, sizeof(size));
  const size_t n = std::min<size_t>(size, sizeof(T));
  std::memcpy(reinterpret_cast<unsigned char*>(out) + sizeof(uint32_t),
              reinterpret_cast<const unsigned char*>(&value) + sizeof(uint32_t), n - sizeof(uint32_t));
}

}  // namespace estoria::capi

#endif  // ESTORIA_CAPI_SRC_OPTIONS_H_

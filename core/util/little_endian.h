// Fixed-width integers in the file formats' byte order (little-endian), read
// and written at a byte offset of a buffer with no alignment required: the
// helpers of the file store's formats (core/filelog: the log's segment and
// frame headers, the index checkpoint).
//
// The formats are little-endian and so is every host we build for (asserted
// below), so a value is copied as the host lays it out; a big-endian port
// would swap bytes here and nowhere else. Header-only pure functions:
// thread-safe. Bounds are the caller's: [at, at + sizeof(T)) must lie in the
// buffer.
#ifndef ESTORIA_CORE_UTIL_LITTLE_ENDIAN_H_
#define ESTORIA_CORE_UTIL_LITTLE_ENDIAN_H_

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

namespace estoria::core::little_endian {

static_assert(std::endian::native == std::endian::little, "the file formats are little-endian; port Put and Get");

// Writes `v` to out[at, at + sizeof(T)).
template <typename T>
inline void Put(uint8_t* out, size_t at, T v) {
  static_assert(std::is_integral_v<T>);
  std::memcpy(out + at, &v, sizeof(v));
}

// Reads a T from in[at, at + sizeof(T)).
template <typename T>
inline T Get(const uint8_t* in, size_t at) {
  static_assert(std::is_integral_v<T>);
  T v;
  std::memcpy(&v, in + at, sizeof(v));
  return v;
}

}  // namespace estoria::core::little_endian

#endif  // ESTORIA_CORE_UTIL_LITTLE_ENDIAN_H_

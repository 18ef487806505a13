// CRC32C (Castagnoli, the iSCSI polynomial), the checksum of the file store's
// records. The hardware path (SSE4.2 crc32 instruction) is chosen at run time,
// so the library still runs on CPUs without it; otherwise a slicing-by-8
// table is used. Pure functions: thread-safe.
#ifndef ESTORIA_CORE_UTIL_CRC32C_H_
#define ESTORIA_CORE_UTIL_CRC32C_H_

#include <cstddef>
#include <cstdint>

namespace estoria::core {

// The CRC32C of `crc`'s data followed by data[0, n): Crc32cExtend(Crc32c(a), b)
// == Crc32c(a + b). `crc` is a finished CRC (as returned), not a raw register.
uint32_t Crc32cExtend(uint32_t crc, const void* data, size_t n);

// The CRC32C of data[0, n).
inline uint32_t Crc32c(const void* data, size_t n) { return Crc32cExtend(0, data, n); }

// Stored CRCs are masked (LevelDB's scheme): the CRC of a string that
// contains its own CRC, or of a CRC, is otherwise prone to degenerate
// values. Crc32cUnmask(Crc32cMask(c)) == c.
inline constexpr uint32_t kCrc32cMaskDelta = 0xa282ead8u;
inline constexpr uint32_t Crc32cMask(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + kCrc32cMaskDelta; }
inline constexpr uint32_t Crc32cUnmask(uint32_t masked) {
  uint32_t rot = masked - kCrc32cMaskDelta;
  return (rot >> 17) | (rot << 15);
}

namespace internal {
// The two implementations, exposed so that tests can check they agree.
// Crc32cExtendHardware REQUIRES Crc32cHardwareAvailable().
bool Crc32cHardwareAvailable();
uint32_t Crc32cExtendHardware(uint32_t crc, const void* data, size_t n);
uint32_t Crc32cExtendPortable(uint32_t crc, const void* data, size_t n);
}  // namespace internal

}  // namespace estoria::core

#endif  // ESTORIA_CORE_UTIL_CRC32C_H_

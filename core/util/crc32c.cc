// CRC32C: an SSE4.2 path (x86-64, chosen at run time) and a portable
// slicing-by-8 path whose tables are computed at compile time.
#include "core/util/crc32c.h"

#include <array>
#include <bit>
#include <cstring>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define ESTORIA_CRC32C_X86 1
#include <nmmintrin.h>
#else
#define ESTORIA_CRC32C_X86 0
#endif

namespace estoria::core {
namespace {

constexpr uint32_t kPolyReflected = 0x82f63b78u;

using Tables = std::array<std::array<uint32_t, 256>, 8>;

// tables[0] is the classic byte table; tables[k][b] advances tables[k-1][b]
// by one more zero byte, which lets eight bytes be folded per step.
constexpr Tables MakeTables() {
  Tables t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int bit = 0; bit < 8; ++bit) c = (c & 1) ? (c >> 1) ^ kPolyReflected : c >> 1;
    t[0][i] = c;
  }
  for (size_t k = 1; k < 8; ++k) {
    for (uint32_t i = 0; i < 256; ++i) t[k][i] = (t[k - 1][i] >> 8) ^ t[0][t[k - 1][i] & 0xff];
  }
  return t;
}

constexpr Tables kTables = MakeTables();

inline uint32_t StepByte(uint32_t reg, uint8_t byte) { return (reg >> 8) ^ kTables[0][(reg ^ byte) & 0xff]; }

#if ESTORIA_CRC32C_X86
__attribute__((target("sse4.2"))) uint32_t ExtendSse42(uint32_t crc, const uint8_t* p, size_t n) {
  uint64_t reg = ~crc;
  // Byte steps up to an 8-byte boundary keep the wide loads aligned.
  while (n > 0 && (reinterpret_cast<uintptr_t>(p) & 7) != 0) {
    reg = _mm_crc32_u8(static_cast<uint32_t>(reg), *p++);
    --n;
  }
  while (n >= 8) {
    uint64_t word;
    std::memcpy(&word, p, 8);
    reg = _mm_crc32_u64(reg, word);
    p += 8;
    n -= 8;
  }
  while (n > 0) {
    reg = _mm_crc32_u8(static_cast<uint32_t>(reg), *p++);
    --n;
  }
  return ~static_cast<uint32_t>(reg);
}

bool DetectSse42() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("sse4.2");
}
#endif

}  // namespace

namespace internal {

uint32_t Crc32cExtendPortable(uint32_t crc, const void* data, size_t n) {
  const auto* p = static_cast<const uint8_t*>(data);
  uint32_t reg = ~crc;
  if constexpr (std::endian::native == std::endian::little) {
    while (n > 0 && (reinterpret_cast<uintptr_t>(p) & 7) != 0) {
      reg = StepByte(reg, *p++);
      --n;
    }
    while (n >= 8) {
      uint64_t word;
      std::memcpy(&word, p, 8);
      word ^= reg;
      reg = kTables[7][word & 0xff] ^ kTables[6][(word >> 8) & 0xff] ^ kTables[5][(word >> 16) & 0xff] ^
            kTables[4][(word >> 24) & 0xff] ^ kTables[3][(word >> 32) & 0xff] ^ kTables[2][(word >> 40) & 0xff] ^
            kTables[1][(word >> 48) & 0xff] ^ kTables[0][word >> 56];
      p += 8;
      n -= 8;
    }
  }
  while (n > 0) {
    reg = StepByte(reg, *p++);
    --n;
  }
  return ~reg;
}

bool Crc32cHardwareAvailable() {
#if ESTORIA_CRC32C_X86
  static const bool available = DetectSse42();
  return available;
#else
  return false;
#endif
}

uint32_t Crc32cExtendHardware(uint32_t crc, const void* data, size_t n) {
#if ESTORIA_CRC32C_X86
  return ExtendSse42(crc, static_cast<const uint8_t*>(data), n);
#else
  return Crc32cExtendPortable(crc, data, n);
#endif
}

}  // namespace internal

uint32_t Crc32cExtend(uint32_t crc, const void* data, size_t n) {
  if (n == 0) return crc;
  return internal::Crc32cHardwareAvailable() ? internal::Crc32cExtendHardware(crc, data, n)
                                             : internal::Crc32cExtendPortable(crc, data, n);
}

}  // namespace estoria::core

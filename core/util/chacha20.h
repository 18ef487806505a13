// The ChaCha20 block function (RFC 8439): the keystream behind the UUID
// generators' per-thread random pool (core/id/uuid.cc), which stretches each
// 32-byte getrandom(2) seed instead of asking the kernel for every byte.
// Pure functions: thread-safe.
#ifndef ESTORIA_CORE_UTIL_CHACHA20_H_
#define ESTORIA_CORE_UTIL_CHACHA20_H_

#include <cstddef>
#include <cstdint>

namespace estoria::core {

inline constexpr size_t kChaCha20KeySize = 32;
inline constexpr size_t kChaCha20NonceSize = 12;
inline constexpr size_t kChaCha20BlockSize = 64;

// Writes `blocks` keystream blocks for (key, nonce), starting at block
// `counter`, to out[0, 64 * blocks): RFC 8439's serialized blocks, four
// computed at once. The 32-bit counter must not wrap within the call.
void ChaCha20Blocks(const uint8_t key[kChaCha20KeySize], const uint8_t nonce[kChaCha20NonceSize], uint32_t counter,
                    uint8_t* out, size_t blocks);

}  // namespace estoria::core

#endif  // ESTORIA_CORE_UTIL_CHACHA20_H_

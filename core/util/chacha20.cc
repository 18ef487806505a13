#include "core/util/chacha20.h"

#include <algorithm>
#include <cstring>

namespace estoria::core {
namespace {

// Four blocks side by side: lane k of every word belongs to block counter+k.
// GCC and Clang map the vector type to SSE2 (or NEON) registers, and to
// scalar code where there are none.
typedef uint32_t Lanes __attribute__((vector_size(16)));

inline Lanes Rotl(Lanes v, int c) { return (v << c) | (v >> (32 - c)); }

inline void QuarterRound(Lanes* x, int a, int b, int c, int d) {
  x[a] += x[b];
  x[d] = Rotl(x[d] ^ x[a], 16);
  x[c] += x[d];
  x[b] = Rotl(x[b] ^ x[c], 12);
  x[a] += x[b];
  x[d] = Rotl(x[d] ^ x[a], 8);
  x[c] += x[d];
  x[b] = Rotl(x[b] ^ x[c], 7);
}

uint32_t Load32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);  // little-endian hosts (x86-64, arm64), as the record format
  return v;
}

}  // namespace

void ChaCha20Blocks(const uint8_t key[kChaCha20KeySize], const uint8_t nonce[kChaCha20NonceSize], uint32_t counter,
                    uint8_t* out, size_t blocks) {
  Lanes input[16];
  const uint32_t constants[4] = {0x61707865, 0x3320646e, 0x79622d32, 0x6b206574};  // "expand 32-byte k"
  for (int i = 0; i < 4; ++i) input[i] = Lanes{} + constants[i];
  for (int i = 0; i < 8; ++i) input[4 + i] = Lanes{} + Load32(key + 4 * i);
  for (int i = 0; i < 3; ++i) input[13 + i] = Lanes{} + Load32(nonce + 4 * i);
  const Lanes step = {0, 1, 2, 3};
  for (size_t done = 0; done < blocks; done += 4, counter += 4) {
    input[12] = step + counter;
    Lanes x[16];
    std::copy(input, input + 16, x);
    for (int round = 0; round < 10; ++round) {
      QuarterRound(x, 0, 4, 8, 12);
      QuarterRound(x, 1, 5, 9, 13);
      QuarterRound(x, 2, 6, 10, 14);
      QuarterRound(x, 3, 7, 11, 15);
      QuarterRound(x, 0, 5, 10, 15);
      QuarterRound(x, 1, 6, 11, 12);
      QuarterRound(x, 2, 7, 8, 13);
      QuarterRound(x, 3, 4, 9, 14);
    }
    for (int i = 0; i < 16; ++i) x[i] += input[i];
    const size_t lanes = std::min<size_t>(4, blocks - done);
    for (size_t k = 0; k < lanes; ++k) {
      uint32_t words[16];
      for (int i = 0; i < 16; ++i) words[i] = x[i][k];
      std::memcpy(out + kChaCha20BlockSize * (done + k), words, sizeof(words));
    }
  }
}

}  // namespace estoria::core

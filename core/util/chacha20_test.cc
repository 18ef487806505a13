#include "core/util/chacha20.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace estoria::core {
namespace {

std::string Hex(const uint8_t* p, size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    out += kDigits[p[i] >> 4];
    out += kDigits[p[i] & 15];
  }
  return out;
}

std::vector<uint8_t> Blocks(uint32_t counter, size_t blocks, const uint8_t nonce[kChaCha20NonceSize]) {
  uint8_t key[kChaCha20KeySize];
  for (size_t i = 0; i < sizeof(key); ++i) key[i] = static_cast<uint8_t>(i);
  std::vector<uint8_t> out(kChaCha20BlockSize * blocks);
  ChaCha20Blocks(key, nonce, counter, out.data(), blocks);
  return out;
}

// RFC 8439, 2.3.2: the block function's test vector.
TEST(ChaCha20, MatchesTheRfcTestVector) {
  const uint8_t nonce[kChaCha20NonceSize] = {0, 0, 0, 0x09, 0, 0, 0, 0x4a, 0, 0, 0, 0};
  const std::vector<uint8_t> block = Blocks(1, 1, nonce);
  EXPECT_EQ(Hex(block.data(), block.size()),
            "10f1e7e4d13b5915500fdd1fa32071c4c7d1f4c733c068030422aa9ac3d46c4e"
            "d2826446079faa0914c2d705d98b02a2b5129cd1de164eb9cbd083e8a2503c4e");
}

// Any count of blocks gives the blocks one at a time would: the lanes of a
// group of four are blocks counter..counter+3, and a short group is cut.
TEST(ChaCha20, ManyBlocksAreTheBlocksOneByOne) {
  const uint8_t nonce[kChaCha20NonceSize] = {};
  for (size_t blocks : {1u, 3u, 4u, 6u, 9u}) {
    const std::vector<uint8_t> together = Blocks(7, blocks, nonce);
    for (size_t b = 0; b < blocks; ++b) {
      const std::vector<uint8_t> alone = Blocks(static_cast<uint32_t>(7 + b), 1, nonce);
      EXPECT_EQ(Hex(together.data() + kChaCha20BlockSize * b, kChaCha20BlockSize), Hex(alone.data(), alone.size()))
          << blocks << " blocks, block " << b;
    }
  }
  // A second reference point: blocks 0..5 under a zero nonce, from an
  // independent implementation of RFC 8439, first and last 16 bytes.
  const std::vector<uint8_t> six = Blocks(0, 6, nonce);
  EXPECT_EQ(Hex(six.data(), 16), "39fd2b7dd9c5196a8dbd0377b8dc4a49");
  EXPECT_EQ(Hex(six.data() + six.size() - 16, 16), "7a067f5c5178b1a42a1bb03748b79504");
}

}  // namespace
}  // namespace estoria::core

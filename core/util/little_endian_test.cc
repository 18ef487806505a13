// Tests of core/util/little_endian.h: the byte order on disk and reads at
// offsets with no alignment.
#include "core/util/little_endian.h"

#include <cstdint>

#include "gtest/gtest.h"

namespace estoria::core::little_endian {
namespace {

TEST(LittleEndian, PutWritesTheLeastSignificantByteFirst) {
  uint8_t buf[16] = {};
  Put<uint32_t>(buf, 1, 0x04030201u);
  Put<uint64_t>(buf, 5, 0x0c0b0a0908070605ull);
  for (int i = 1; i <= 12; ++i) EXPECT_EQ(buf[i], i) << "byte " << i;
  EXPECT_EQ(buf[0], 0);
  EXPECT_EQ(buf[13], 0);
}

TEST(LittleEndian, GetReadsBackWhatPutWroteAtAnyOffset) {
  uint8_t buf[24] = {};
  for (size_t at = 0; at < 8; ++at) {
    Put<int64_t>(buf, at, -1234567890123);
    EXPECT_EQ(Get<int64_t>(buf, at), -1234567890123) << "at " << at;
    Put<uint32_t>(buf, at + 9, 0xfedcba98u);
    EXPECT_EQ(Get<uint32_t>(buf, at + 9), 0xfedcba98u) << "at " << at + 9;
  }
}

TEST(LittleEndian, GetReadsTheFormatsByteOrder) {
  const uint8_t bytes[8] = {0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x81};
  EXPECT_EQ(Get<uint64_t>(bytes, 0), 0x8102030405060708ull);
  EXPECT_EQ(Get<uint32_t>(bytes, 4), 0x81020304u);
  EXPECT_EQ(Get<int64_t>(bytes, 0), static_cast<int64_t>(0x8102030405060708ull));
}

}  // namespace
}  // namespace estoria::core::little_endian

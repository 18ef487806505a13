// Tests for CRC32C: the RFC 3720 vectors, Extend against one-shot, unaligned
// starts, and the hardware and portable paths against each other.
#include "core/util/crc32c.h"

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace estoria::core {
namespace {

using ExtendFn = uint32_t (*)(uint32_t, const void*, size_t);

// Every path the library may take; the hardware one only where the CPU has it.
std::vector<std::pair<const char*, ExtendFn>> Paths() {
  std::vector<std::pair<const char*, ExtendFn>> paths = {{"dispatch", &Crc32cExtend},
                                                         {"portable", &internal::Crc32cExtendPortable}};
  if (internal::Crc32cHardwareAvailable()) paths.emplace_back("hardware", &internal::Crc32cExtendHardware);
  return paths;
}

TEST(Crc32c, MatchesTheRfc3720Vectors) {
  uint8_t buf[48];
  for (auto [name, extend] : Paths()) {
    SCOPED_TRACE(name);
    std::memset(buf, 0, 32);
    EXPECT_EQ(extend(0, buf, 32), 0x8a9136aau);
    std::memset(buf, 0xff, 32);
    EXPECT_EQ(extend(0, buf, 32), 0x62a8ab43u);
    for (int i = 0; i < 32; ++i) buf[i] = static_cast<uint8_t>(i);
    EXPECT_EQ(extend(0, buf, 32), 0x46dd794eu);
    for (int i = 0; i < 32; ++i) buf[i] = static_cast<uint8_t>(31 - i);
    EXPECT_EQ(extend(0, buf, 32), 0x113fdb5cu);
    const uint8_t iscsi_read[48] = {0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                                    0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00,
                                    0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18, 0x28, 0x00, 0x00, 0x00,
                                    0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
    EXPECT_EQ(extend(0, iscsi_read, sizeof(iscsi_read)), 0xd9963a56u);
  }
}

TEST(Crc32c, MatchesTheCheckValue) {
  EXPECT_EQ(Crc32c("123456789", 9), 0xe3069283u);
  EXPECT_EQ(internal::Crc32cExtendPortable(0, "123456789", 9), 0xe3069283u);
}

TEST(Crc32c, EmptyInputLeavesTheCrcUnchanged) {
  EXPECT_EQ(Crc32c(nullptr, 0), 0u);
  EXPECT_EQ(Crc32cExtend(0xe3069283u, nullptr, 0), 0xe3069283u);
  EXPECT_EQ(internal::Crc32cExtendPortable(0x12345678u, "", 0), 0x12345678u);
}

TEST(Crc32c, DifferentInputsGiveDifferentCrcs) {
  EXPECT_NE(Crc32c("a", 1), Crc32c("foo", 3));
  EXPECT_NE(Crc32c("hello world", 11), Crc32c("hello worle", 11));
}

TEST(Crc32c, ExtendEqualsOneShotAtEverySplitPoint) {
  std::mt19937 rng(7);
  std::string data(300, '\0');
  for (char& c : data) c = static_cast<char>(rng());
  for (auto [name, extend] : Paths()) {
    SCOPED_TRACE(name);
    const uint32_t whole = extend(0, data.data(), data.size());
    for (size_t split = 0; split <= data.size(); ++split) {
      uint32_t first = extend(0, data.data(), split);
      ASSERT_EQ(extend(first, data.data() + split, data.size() - split), whole) << "split " << split;
    }
  }
}

TEST(Crc32c, UnalignedStartsGiveTheSameCrc) {
  std::mt19937 rng(11);
  std::string payload(203, '\0');
  for (char& c : payload) c = static_cast<char>(rng());
  const uint32_t expected = internal::Crc32cExtendPortable(0, payload.data(), payload.size());
  alignas(16) char buf[256 + 16];
  for (auto [name, extend] : Paths()) {
    SCOPED_TRACE(name);
    for (size_t shift = 0; shift < 16; ++shift) {
      std::memcpy(buf + shift, payload.data(), payload.size());
      EXPECT_EQ(extend(0, buf + shift, payload.size()), expected) << "shift " << shift;
    }
  }
}

TEST(Crc32c, HardwareAndPortablePathsAgreeOnRandomBuffers) {
  if (!internal::Crc32cHardwareAvailable()) GTEST_SKIP() << "this CPU has no SSE4.2";
  std::mt19937_64 rng(42);
  std::vector<uint8_t> buf(70000);
  for (auto& b : buf) b = static_cast<uint8_t>(rng());
  std::vector<size_t> lengths;
  for (size_t n = 0; n <= 130; ++n) lengths.push_back(n);
  for (size_t n : {255, 256, 257, 1000, 4095, 4096, 4097, 65536, 69999}) lengths.push_back(n);
  for (size_t n : lengths) {
    for (size_t start : {0, 1, 3, 7}) {
      if (start + n > buf.size()) continue;
      uint32_t seed = static_cast<uint32_t>(rng());
      ASSERT_EQ(internal::Crc32cExtendHardware(seed, buf.data() + start, n),
                internal::Crc32cExtendPortable(seed, buf.data() + start, n))
          << "length " << n << " start " << start;
    }
  }
}

TEST(Crc32c, MaskChangesTheValueAndUnmaskRestoresIt) {
  const uint32_t crc = Crc32c("foo", 3);
  EXPECT_NE(Crc32cMask(crc), crc);
  EXPECT_NE(Crc32cMask(Crc32cMask(crc)), crc);
  EXPECT_EQ(Crc32cUnmask(Crc32cMask(crc)), crc);
  EXPECT_EQ(Crc32cUnmask(Crc32cUnmask(Crc32cMask(Crc32cMask(crc)))), crc);
  std::mt19937 rng(3);
  for (int i = 0; i < 1000; ++i) {
    uint32_t v = static_cast<uint32_t>(rng());
    ASSERT_EQ(Crc32cUnmask(Crc32cMask(v)), v);
  }
}

}  // namespace
}  // namespace estoria::core

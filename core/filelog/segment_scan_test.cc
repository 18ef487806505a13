// Segment scanning: whole frames are found in order; the first bad one ends
// the scan as a torn tail in the last segment unless a later frame proves it
// was durable, and is corruption anywhere else.
#include "core/filelog/segment_scan.h"

#include <cstring>
#include <string>
#include <vector>

#include "core/env/env.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace estoria::core::filelog {
namespace {

using ::testing::HasSubstr;

// A segment image built frame by frame, 8-byte aligned.
class SegmentImage {
 public:
  SegmentImage() : bytes_(kSegmentHeaderSize, 0) {
    EncodeSegmentHeader(SegmentHeader{kFormatVersion, 1}, bytes_.data());
  }
  // Appends a kReservation-like frame with `payload`; returns its offset.
  uint64_t Add(const std::string& payload, uint64_t synced_upto) {
    const uint64_t offset = bytes_.size();
    bytes_.resize(offset + FrameSize(payload.size()), 0);
    std::memcpy(bytes_.data() + offset + kFrameHeaderSize, payload.data(), payload.size());
    FrameHeader h;
    h.kind = FrameKind::kSnapshot;
    h.payload_size = static_cast<uint32_t>(payload.size());
    h.offset = offset;
    h.synced_upto = synced_upto;
    h.payload_crc = PayloadCrc(AsBytes(payload));
    EncodeFrameHeader(h, bytes_.data() + offset);
    return offset;
  }
  void Zeros(size_t n) { bytes_.resize(bytes_.size() + n, 0); }
  std::vector<uint8_t>& bytes() { return bytes_; }

 private:
  std::vector<uint8_t> bytes_;
};

struct Scanned {
  absl::Status status;
  ScanResult result;
  std::vector<uint64_t> offsets;
};

Scanned Scan(const std::vector<uint8_t>& bytes, bool is_last) {
  // Copied into 8-byte aligned storage, as the store reads segments.
  std::vector<uint64_t> aligned(bytes.size() / 8 + 1);
  std::memcpy(aligned.data(), bytes.data(), bytes.size());
  Scanned out;
  out.status = ScanSegment(
      absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(aligned.data()), bytes.size()), "0000000001.log",
      is_last,
      [&](const Frame& f) {
        out.offsets.push_back(f.header.offset);
        return absl::OkStatus();
      },
      &out.result);
  return out;
}

TEST(SegmentScan, FindsEveryFrameAndStopsCleanlyAtPreallocatedZeros) {
  SegmentImage image;
  uint64_t a = image.Add("first", 0);
  uint64_t b = image.Add("second payload", 0);
  image.Zeros(4096);
  Scanned s = Scan(image.bytes(), true);
  ASSERT_TRUE(s.status.ok()) << s.status;
  EXPECT_EQ(s.offsets, (std::vector<uint64_t>{a, b}));
  EXPECT_FALSE(s.result.torn);
  EXPECT_EQ(s.result.end, b + FrameSize(14));
}

TEST(SegmentScan, ATornLastFrameIsCutAtEveryLength) {
  SegmentImage image;
  image.Add("kept", 0);
  const uint64_t torn_at = image.Add(std::string(100, 'x'), 0);
  const std::vector<uint8_t> whole = image.bytes();
  // Up to the last payload byte (the padding after it is zeros anyway).
  for (size_t keep = torn_at + 1; keep < torn_at + kFrameHeaderSize + 100; ++keep) {
    std::vector<uint8_t> cut(whole.begin(), whole.begin() + static_cast<std::ptrdiff_t>(keep));
    cut.resize(whole.size() + 64, 0);  // then preallocated zeros
    Scanned s = Scan(cut, true);
    ASSERT_TRUE(s.status.ok()) << "kept " << keep << ": " << s.status;
    EXPECT_EQ(s.result.end, torn_at) << "kept " << keep;
    EXPECT_EQ(s.offsets.size(), 1u);
    EXPECT_TRUE(s.result.torn);
    EXPECT_GT(s.result.dirty_end, torn_at);
  }
}

TEST(SegmentScan, DamageThatALaterFrameSaysWasDurableIsCorruption) {
  SegmentImage image;
  const uint64_t damaged = image.Add("acknowledged", 0);
  const uint64_t later = image.Add("written after a sync", damaged + FrameSize(12));
  image.bytes()[damaged + kFrameHeaderSize + 2] ^= 0x04;
  Scanned s = Scan(image.bytes(), true);
  EXPECT_EQ(s.status.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(s.status.message()),
              HasSubstr("segment 0000000001.log offset " + std::to_string(damaged)));
  EXPECT_THAT(std::string(s.status.message()), HasSubstr(std::to_string(later)));
}

TEST(SegmentScan, DamageFollowedOnlyByUnsyncedFramesIsATornTail) {
  // Written in one group, never synced: pages may land in any order.
  SegmentImage image;
  const uint64_t damaged = image.Add("one", 0);
  image.Add("two", 0);
  image.bytes()[damaged + kFrameHeaderSize] ^= 0x01;
  Scanned s = Scan(image.bytes(), true);
  ASSERT_TRUE(s.status.ok()) << s.status;
  EXPECT_TRUE(s.result.torn);
  EXPECT_EQ(s.result.end, damaged);
}

TEST(SegmentScan, AnyDamageInAnOlderSegmentIsCorruption) {
  SegmentImage image;
  image.Add("one", 0);
  const uint64_t torn_at = image.Add("two", 0);
  image.bytes()[torn_at + 5] ^= 0x01;
  Scanned s = Scan(image.bytes(), false);
  EXPECT_EQ(s.status.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(s.status.message()), HasSubstr("offset " + std::to_string(torn_at)));
}

TEST(SegmentScan, GarbageAfterZerosIsATornTailOnlyInTheLastSegment) {
  SegmentImage image;
  image.Add("one", 0);
  const uint64_t end = image.bytes().size();
  image.Zeros(64);
  image.bytes().push_back(0x7f);
  Scanned last = Scan(image.bytes(), true);
  ASSERT_TRUE(last.status.ok()) << last.status;
  EXPECT_TRUE(last.result.torn);
  EXPECT_EQ(last.result.end, end);
  EXPECT_EQ(last.result.dirty_end, image.bytes().size());
  EXPECT_EQ(Scan(image.bytes(), false).status.code(), absl::StatusCode::kDataLoss);
}

TEST(SegmentScan, ARefusedFrameIsCorruptionNamingItsOffset) {
  SegmentImage image;
  const uint64_t at = image.Add("x", 0);
  std::vector<uint64_t> aligned(image.bytes().size() / 8 + 1);
  std::memcpy(aligned.data(), image.bytes().data(), image.bytes().size());
  ScanResult result;
  absl::Status status = ScanSegment(
      absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(aligned.data()), image.bytes().size()), "seg", true,
      [](const Frame&) { return absl::DataLossError("not a valid record"); }, &result);
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(status.message()), HasSubstr("segment seg offset " + std::to_string(at)));
  EXPECT_THAT(std::string(status.message()), HasSubstr("not a valid record"));
}

}  // namespace
}  // namespace estoria::core::filelog

// The file log's format: headers round-trip, damage is recognised, a newer
// format is reported as such, payload layouts are checked.
#include "core/filelog/log_format.h"

#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/env/env.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace estoria::core::filelog {
namespace {

using ::testing::HasSubstr;

TEST(LogFormat, SegmentFileNamesRoundTripAndRejectOthers) {
  EXPECT_EQ(SegmentFileName(1), "0000000001.log");
  uint64_t sequence = 0;
  ASSERT_TRUE(ParseSegmentFileName("0000000042.log", &sequence));
  EXPECT_EQ(sequence, 42u);
  for (const char* name : {"LOCK", "ESTORIA", "0000000000.log", "000000001.log", "00000000x1.log", "0000000001.lo"}) {
    EXPECT_FALSE(ParseSegmentFileName(name, &sequence)) << name;
  }
}

TEST(LogFormat, SegmentHeaderRoundTripsAndDetectsDamage) {
  uint8_t bytes[kSegmentHeaderSize];
  EncodeSegmentHeader(SegmentHeader{kFormatVersion, 7}, bytes);
  absl::StatusOr<SegmentHeader> header = DecodeSegmentHeader(bytes);
  ASSERT_TRUE(header.ok()) << header.status();
  EXPECT_EQ(header->sequence, 7u);
  EXPECT_EQ(header->format_version, kFormatVersion);

  for (size_t i : {size_t{0}, size_t{12}, size_t{16}, size_t{40}}) {
    uint8_t damaged[kSegmentHeaderSize];
    std::memcpy(damaged, bytes, sizeof(bytes));
    damaged[i] ^= 0x10;
    EXPECT_EQ(DecodeSegmentHeader(damaged).status().code(), absl::StatusCode::kDataLoss) << "byte " << i;
  }
  EXPECT_EQ(DecodeSegmentHeader(absl::MakeConstSpan(bytes, 10)).status().code(), absl::StatusCode::kDataLoss);
}

TEST(LogFormat, ANewerFormatVersionIsUnsupportedAndNamed) {
  uint8_t bytes[kSegmentHeaderSize];
  EncodeSegmentHeader(SegmentHeader{kFormatVersion + 1, 1}, bytes);
  absl::Status status = DecodeSegmentHeader(bytes).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(std::string(status.message()), HasSubstr(absl::StrCat("format version ", kFormatVersion + 1)));
}

TEST(LogFormat, FrameHeaderRoundTripsAndChecksItsOffset) {
  FrameHeader in;
  in.kind = FrameKind::kSnapshot;
  in.payload_size = 123;
  in.offset = 4096;
  in.synced_upto = 1024;
  in.reserved_upto = int64_t{1} << 40;
  in.payload_crc = 0xdeadbeef;
  in.event_count = 0;
  uint8_t bytes[kFrameHeaderSize];
  EncodeFrameHeader(in, bytes);
  FrameHeader out;
  ASSERT_EQ(DecodeFrameHeader(bytes, 4096, &out), HeaderCheck::kOk);
  EXPECT_EQ(out.kind, in.kind);
  EXPECT_EQ(out.payload_size, in.payload_size);
  EXPECT_EQ(out.synced_upto, in.synced_upto);
  EXPECT_EQ(out.reserved_upto, in.reserved_upto);
  EXPECT_EQ(out.payload_crc, in.payload_crc);
  // The same bytes found elsewhere (a copy inside a payload) are not a frame.
  EXPECT_EQ(DecodeFrameHeader(bytes, 4104, &out), HeaderCheck::kBad);
  for (size_t i = 0; i < kFrameHeaderSize; ++i) {
    uint8_t damaged[kFrameHeaderSize];
    std::memcpy(damaged, bytes, sizeof(bytes));
    damaged[i] ^= 0x01;
    EXPECT_EQ(DecodeFrameHeader(damaged, 4096, &out), HeaderCheck::kBad) << "byte " << i;
  }
  uint8_t zeros[kFrameHeaderSize] = {};
  EXPECT_EQ(DecodeFrameHeader(zeros, 4096, &out), HeaderCheck::kZero);
}

TEST(LogFormat, FrameSizesArePaddedToEightBytes) {
  EXPECT_EQ(FrameSize(0), kFrameHeaderSize);
  EXPECT_EQ(FrameSize(1), kFrameHeaderSize + 8);
  EXPECT_EQ(FrameSize(16), kFrameHeaderSize + 16);
}

TEST(LogFormat, DeletionsAndPrunesRoundTripAndRefuseBadPayloads) {
  Id stream{"account", Uuid::FromHiLo(1, 2)};
  absl::StatusOr<DeletePayload> d = DecodeDelete(AsBytes(EncodeDelete(DeletePayload{stream, 17})));
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->stream, stream);
  EXPECT_EQ(d->to_version, 17);
  absl::StatusOr<PrunePayload> p = DecodePrune(AsBytes(EncodePrune(PrunePayload{stream, 3, 9})));
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->keep_last, 3);
  EXPECT_EQ(p->min_version, 9);

  std::string cut = EncodeDelete(DeletePayload{stream, 1});
  cut.pop_back();
  EXPECT_EQ(DecodeDelete(AsBytes(cut)).status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(DecodeDelete(AsBytes(std::string(10, 'x'))).status().code(), absl::StatusCode::kDataLoss);
  std::string negative = EncodeDelete(DeletePayload{stream, -1});
  EXPECT_EQ(DecodeDelete(AsBytes(negative)).status().code(), absl::StatusCode::kDataLoss);
  std::string bad_type = EncodeDelete(DeletePayload{Id{"_bad", Uuid::FromHiLo(1, 2)}, 1});
  EXPECT_EQ(DecodeDelete(AsBytes(bad_type)).status().code(), absl::StatusCode::kDataLoss);
}

TEST(LogFormat, RecordLayoutsAreCheckedBeforeUse) {
  // Two records of 8 and 12 bytes, each behind its prefix, padded to 8.
  std::vector<uint8_t> payload(8 + 8 + 8 + 16, 0);
  const uint32_t a[2] = {8, 0}, b[2] = {12, 0};
  std::memcpy(payload.data(), a, 8);
  std::memcpy(payload.data() + 16, b, 8);
  std::vector<std::pair<size_t, size_t>> seen;
  ASSERT_TRUE(ForEachRecord(payload, 2, [&](size_t at, size_t size) { seen.emplace_back(at, size); }).ok());
  EXPECT_EQ(seen, (std::vector<std::pair<size_t, size_t>>{{8, 8}, {24, 12}}));

  auto count_fails = [&](std::vector<uint8_t> bytes, uint32_t count) {
    return !ForEachRecord(bytes, count, [](size_t, size_t) {}).ok();
  };
  EXPECT_TRUE(count_fails(payload, 3)) << "more records claimed than present";
  EXPECT_TRUE(count_fails(payload, 1)) << "bytes left after the records";
  std::vector<uint8_t> huge = payload;
  const uint32_t big[2] = {1000, 0};
  std::memcpy(huge.data(), big, 8);
  EXPECT_TRUE(count_fails(huge, 2)) << "a size past the payload";
  std::vector<uint8_t> nonzero = payload;
  nonzero[4] = 1;
  EXPECT_TRUE(count_fails(nonzero, 2)) << "a non-zero reserved word";
}

}  // namespace
}  // namespace estoria::core::filelog

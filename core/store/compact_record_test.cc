// CheckRun refuses damaged or crafted runs with kDataLoss, naming what is
// wrong, and accepts what EventBlock builds. The string searches find every
// string wherever it lies in its words.
#include "core/store/compact_record.h"

#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "core/id/id.h"
#include "core/store/event_record.h"
#include "core/store/event_view.h"
#include "core/store/writable_batch.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace estoria::core {
namespace {

using ::testing::HasSubstr;

// One run of two records, as the memory store keeps them, copied out.
std::vector<uint8_t> BuiltRun() {
  BatchBuilder builder;
  EXPECT_TRUE(builder.Add("opened", absl::MakeConstSpan(reinterpret_cast<const uint8_t*>("12345"), 5), "text/plain").ok());
  EXPECT_TRUE(builder.AddMetadata("alpha", "a").ok());
  EXPECT_TRUE(builder.AddMetadata("zeta", "z").ok());
  EXPECT_TRUE(builder.Add("noted", {}, "").ok());
  const WritableBatch batch = *builder.Build();
  const Id stream = *Id::Parse("order_0190f3c4-8d1e-7c3a-9b2f-5e6d7c8b9a01");
  EventBlock::BuildOptions options;
  options.format = RecordFormat::kCompact;
  options.now_ns = 7;
  absl::StatusOr<std::shared_ptr<EventBlock>> block = EventBlock::Build(stream, batch, options);
  EXPECT_TRUE(block.ok()) << block.status();
  return std::vector<uint8_t>((*block)->data(), (*block)->data() + (*block)->used_bytes());
}

std::string Problem(const std::vector<uint8_t>& run) {
  std::vector<uint64_t> aligned((run.size() + 7) / 8);
  std::memcpy(aligned.data(), run.data(), run.size());
  size_t size = 1;
  uint32_t count = 1;
  const absl::Status st =
      compact::CheckRun(absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(aligned.data()), run.size()), &size, &count);
  if (st.ok()) return "ok";
  EXPECT_EQ(st.code(), absl::StatusCode::kDataLoss) << st;
  EXPECT_EQ(size, 0u);
  EXPECT_EQ(count, 0u);
  return std::string(st.message());
}

using Pairs = std::vector<std::pair<std::string, std::string>>;

// A compact block of one event, built as the memory store builds it.
std::shared_ptr<EventBlock> OneEvent(const std::string& type, absl::Span<const uint8_t> data,
                                     const std::string& content_type, const Pairs& pairs) {
  BatchBuilder builder;
  EXPECT_TRUE(builder.Add(type, data, content_type).ok());
  for (const auto& [key, value] : pairs) EXPECT_TRUE(builder.AddMetadata(key, value).ok());
  const WritableBatch batch = *builder.Build();
  EventBlock::BuildOptions options;
  options.format = RecordFormat::kCompact;
  absl::StatusOr<std::shared_ptr<EventBlock>> block =
      EventBlock::Build(*Id::Parse("order_0190f3c4-8d1e-7c3a-9b2f-5e6d7c8b9a01"), batch, options);
  EXPECT_TRUE(block.ok()) << block.status();
  return block.ok() ? *block : nullptr;
}

Pairs MetadataOf(const EventView& view) {
  Pairs got;
  view.ForEachMetadata([&](const char* key, const char* value) { got.emplace_back(key, value); });
  return got;
}

// Type, content type, keys and values of every length from 0 (1 for a type
// or key) to 20, so that each string starts and ends at every byte of a word
// and of the 16 bytes the metadata search takes at a time, empty values
// (two NULs in a row) included: content_type() (EndOfString) and
// ForEachMetadata give back each string whole.
TEST(CompactRecord, StringsAreFoundWhereverTheyLie) {
  for (size_t n = 0; n <= 20; ++n) {
    const std::string type(n + 1, 't');
    const std::string content_type(n, 'c');
    const Pairs pairs = {{"a" + std::string(n, 'k'), std::string(n, 'v')}, {"b", ""}, {"c" + std::string(20 - n, 'k'), "w"}};
    const std::shared_ptr<EventBlock> block = OneEvent(type, {}, content_type, pairs);
    ASSERT_NE(block, nullptr);
    const EventView view = block->view(0);
    EXPECT_EQ(view.type(), type);
    EXPECT_EQ(view.content_type(), content_type) << "length " << n;
    EXPECT_EQ(MetadataOf(view), pairs) << "length " << n;
  }
}

// The metadata search takes the record's last 64 bytes at once when the
// content type's NUL lies in them, and searches from the content type on
// otherwise. Zeros of the data before the content type, a content type
// that begins before those 64 bytes, records shorter than 64 bytes and
// metadata of every total length around the boundary: every string whole,
// on both paths (each taken, as the record's own offsets say).
TEST(CompactRecord, MetadataIsFoundInTheLastWordsAndBeyondThem) {
  int in_last_words = 0;
  int searched = 0;
  for (size_t data : {0, 1, 9, 40, 64, 100}) {
    const std::vector<uint8_t> zeros(data, 0);
    for (size_t ct = 0; ct <= 30; ct += 3) {
      for (size_t n = 0; n <= 60; ++n) {
        // One pair of n bytes in all, then up to 15 one-byte keys with empty
        // values, about as many as fit in what is left of 64.
        Pairs pairs = {{"k" + std::string(n / 2, 'k'), std::string(n - n / 2, 'v')}};
        for (char key = 'l'; key < 'l' + static_cast<char>((64 - n) / 3 % 16); ++key) pairs.emplace_back(std::string(1, key), "");
        const std::shared_ptr<EventBlock> block = OneEvent("t", zeros, std::string(ct, 'c'), pairs);
        ASSERT_NE(block, nullptr);
        const EventView view = block->view(0);
        EXPECT_EQ(MetadataOf(view), pairs) << "data " << data << ", content type " << ct << ", first pair " << n;

        const uint8_t* r = view.bytes;
        const uint8_t* tail_end = compact::Tail(r) + compact::TailSize(r);
        const char* content_type_nul = compact::ContentType(r) + compact::ContentTypeSize(r);
        const bool last_words = tail_end - r >= 64 && content_type_nul >= reinterpret_cast<const char*>(tail_end) - 64;
        ++(last_words ? in_last_words : searched);
      }
    }
  }
  EXPECT_GT(in_last_words, 100);
  EXPECT_GT(searched, 100);
}

TEST(CompactRecord, CheckRunAcceptsWhatEventBlockBuilds) {
  EXPECT_EQ(Problem(BuiltRun()), "ok");
}

TEST(CompactRecord, CheckRunRefusesDamageNamingIt) {
  const std::vector<uint8_t> good = BuiltRun();
  const size_t first = compact::FirstRecordOffset(good.data());
  const uint8_t* r = good.data() + first;
  const size_t tail = first + compact::kHeaderSize + compact::DataSize(r);

  std::vector<uint8_t> run = good;
  run.resize(good.size() - 8);
  EXPECT_THAT(Problem(run), HasSubstr("past the bytes"));

  run = good;
  run[tail] ^= 8;  // the run offset
  EXPECT_THAT(Problem(run), HasSubstr("does not point back to its run header"));

  run = good;
  run[16] = 0;  // no records
  EXPECT_THAT(Problem(run), HasSubstr("a run of no records"));

  run = good;
  run[tail + compact::kTailFixed + 6] = 'x';  // the type's NUL
  EXPECT_THAT(Problem(run), HasSubstr("record 0"));

  run = good;
  const size_t alpha = tail + compact::kTailFixed + 7 + 11;  // "opened\0" "text/plain\0"
  ASSERT_EQ(std::memcmp(run.data() + alpha, "alpha", 5), 0);
  run[alpha] = 'z';
  run[alpha + 1] = 'z';  // "zzpha" now sorts after "zeta", the next key
  EXPECT_THAT(Problem(run), HasSubstr("sorted"));

  run = good;
  run[21] = '_';  // the stream type "order" now starts with '_'
  EXPECT_THAT(Problem(run), HasSubstr("stream type"));

  run = good;
  run.back() = 1;  // the last record's zero padding
  EXPECT_THAT(Problem(run), HasSubstr("padding"));
}

}  // namespace
}  // namespace estoria::core

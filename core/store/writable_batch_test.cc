// Tests of WritableBatch::FromBytes (a caller's untrusted bytes) and of
// BatchBuilder (checked input, cached output).
#include "core/store/writable_batch.h"

#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "flatbuffers/flatbuffers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "schema/estoria_generated.h"

namespace estoria::core {
namespace {

using ::testing::HasSubstr;

// An event as raw FlatBuffers sees it, so that tests can build what
// BatchBuilder would refuse to.
struct RawEvent {
  std::string type = "created";
  std::string data = "payload";
  std::string content_type = "text/plain";
  std::vector<std::pair<std::string, std::string>> metadata;  // written in this order
  int64_t timestamp_ns = 0;
};

std::vector<uint8_t> RawBatch(const std::vector<RawEvent>& events, bool with_identifier = true) {
  flatbuffers::FlatBufferBuilder fbb;
  std::vector<flatbuffers::Offset<fb::WritableEvent>> offsets;
  for (const RawEvent& e : events) {
    auto type = fbb.CreateString(e.type);
    auto data = fbb.CreateVector(reinterpret_cast<const uint8_t*>(e.data.data()), e.data.size());
    auto content_type = fbb.CreateString(e.content_type);
    std::vector<flatbuffers::Offset<fb::KeyValue>> kvs;
    for (const auto& [k, v] : e.metadata) {
      auto key = fbb.CreateString(k);
      auto value = fbb.CreateString(v);
      kvs.push_back(fb::CreateKeyValue(fbb, key, value));
    }
    auto metadata = e.metadata.empty() ? 0 : fbb.CreateVector(kvs);
    offsets.push_back(fb::CreateWritableEvent(fbb, type, data, content_type, metadata, nullptr, e.timestamp_ns));
  }
  auto root = fb::CreateWritableEventBatch(fbb, fbb.CreateVector(offsets));
  if (with_identifier) {
    fb::FinishWritableEventBatchBuffer(fbb, root);
  } else {
    fbb.Finish(root);
  }
  return {fbb.GetBufferPointer(), fbb.GetBufferPointer() + fbb.GetSize()};
}

absl::Status FromRaw(const std::vector<RawEvent>& events) {
  std::vector<uint8_t> bytes = RawBatch(events);
  return WritableBatch::FromBytes(bytes).status();
}

std::string WithNul(std::string_view a, std::string_view b) {
  std::string s(a);
  s.push_back('\0');
  s.append(b);
  return s;
}

// ---------------------------------------------------------------------------
// FromBytes

TEST(WritableBatchFromBytes, AcceptsAValidBatchAndKeepsItsContent) {
  RawEvent a;
  a.metadata = {{"a", "1"}, {"b", "2"}};
  RawEvent b;
  b.type = "order_shipped";
  b.data = "";
  b.content_type = "";
  std::vector<uint8_t> bytes = RawBatch({a, b});
  absl::StatusOr<WritableBatch> batch = WritableBatch::FromBytes(bytes);
  ASSERT_TRUE(batch.ok()) << batch.status();
  EXPECT_EQ(batch->event_count(), 2u);
  EXPECT_EQ(std::vector<uint8_t>(batch->bytes().begin(), batch->bytes().end()), bytes);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(batch->bytes().data()) % 8, 0u);
  const auto* events = batch->root().events();
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ(events->Get(0)->type()->str(), "created");
  EXPECT_EQ(events->Get(0)->metadata()->size(), 2u);
  EXPECT_EQ(events->Get(1)->type()->str(), "order_shipped");
}

TEST(WritableBatchFromBytes, CopiesUnalignedInputToAlignedMemory) {
  std::vector<uint8_t> bytes = RawBatch({RawEvent{}});
  std::vector<uint8_t> shifted(bytes.size() + 1);
  std::memcpy(shifted.data() + 1, bytes.data(), bytes.size());
  absl::StatusOr<WritableBatch> batch =
      WritableBatch::FromBytes(absl::MakeConstSpan(shifted.data() + 1, bytes.size()));
  ASSERT_TRUE(batch.ok()) << batch.status();
  EXPECT_EQ(reinterpret_cast<uintptr_t>(batch->bytes().data()) % 8, 0u);
  EXPECT_EQ(batch->root().events()->Get(0)->type()->str(), "created");
}

TEST(WritableBatchFromBytes, RejectsZeroBytes) {
  absl::Status status = WritableBatch::FromBytes({}).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
}

TEST(WritableBatchFromBytes, RejectsOversizeBeforeReadingTheBytes) {
  // The size check comes first, so the (unreadable) bytes are never touched.
  uint8_t one = 0;
  absl::Status status = WritableBatch::FromBytes(absl::Span<const uint8_t>(&one, kMaxBatchBytes + 1)).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("limit"));
}

TEST(WritableBatchFromBytes, RejectsTooFewBytesForAHeader) {
  const uint8_t bytes[] = {1, 2, 3};
  EXPECT_EQ(WritableBatch::FromBytes(bytes).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(WritableBatchFromBytes, RejectsAMissingIdentifier) {
  std::vector<uint8_t> bytes = RawBatch({RawEvent{}}, /*with_identifier=*/false);
  absl::Status status = WritableBatch::FromBytes(bytes).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("ESTB"));
}

TEST(WritableBatchFromBytes, RejectsGarbageThatCarriesTheIdentifier) {
  std::vector<uint8_t> bytes(64, 0xAB);
  std::memcpy(bytes.data() + 4, "ESTB", 4);
  absl::Status status = WritableBatch::FromBytes(bytes).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("verification"));
}

TEST(WritableBatchFromBytes, RejectsEveryTruncation) {
  RawEvent e;
  e.metadata = {{"k", "v"}};
  std::vector<uint8_t> bytes = RawBatch({e, e});
  for (size_t len = 1; len < bytes.size(); ++len) {
    absl::Status status = WritableBatch::FromBytes(absl::MakeConstSpan(bytes.data(), len)).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << "length " << len;
  }
}

TEST(WritableBatchFromBytes, RejectsABatchWithoutEvents) {
  absl::Status status = FromRaw({});
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("no events"));
}

TEST(WritableBatchFromBytes, RejectsTooManyEvents) {
  std::vector<RawEvent> events(kMaxBatchEvents + 1);
  for (RawEvent& e : events) {
    e.type = "e";
    e.data.clear();
    e.content_type.clear();
  }
  absl::Status status = FromRaw(events);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("events"));
}

TEST(WritableBatchFromBytes, RejectsAnInvalidEventTypeNamingTheEvent) {
  RawEvent bad;
  bad.type = "_created";
  absl::Status status = FromRaw({RawEvent{}, bad});
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("event 1"));
}

TEST(WritableBatchFromBytes, RejectsAnEmptyEventType) {
  RawEvent bad;
  bad.type = "";
  EXPECT_EQ(FromRaw({bad}).code(), absl::StatusCode::kInvalidArgument);
}

TEST(WritableBatchFromBytes, RejectsNulInsideStrings) {
  RawEvent type;
  type.type = WithNul("crea", "ted");
  RawEvent content_type;
  content_type.content_type = WithNul("text", "plain");
  RawEvent key;
  key.metadata = {{WithNul("k", "ey"), "v"}};
  RawEvent value;
  value.metadata = {{"key", WithNul("v", "alue")}};
  for (const RawEvent& e : {type, content_type, key, value}) {
    absl::Status status = FromRaw({RawEvent{}, RawEvent{}, e});
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(status.message(), HasSubstr("event 2"));
  }
}

TEST(WritableBatchFromBytes, AcceptsNulInsideData) {
  RawEvent e;
  e.data = WithNul("bin", "ary");
  EXPECT_TRUE(FromRaw({e}).ok());
}

TEST(WritableBatchFromBytes, RejectsUnsortedMetadata) {
  RawEvent e;
  e.metadata = {{"b", "1"}, {"a", "2"}};
  absl::Status status = FromRaw({e});
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("sorted"));
}

TEST(WritableBatchFromBytes, SortsMetadataKeysAsUnsignedBytes) {
  RawEvent sorted;
  sorted.metadata = {{"z", "1"}, {"\xc3\xa9", "2"}};  // 'z' (0x7a) < 0xc3
  EXPECT_TRUE(FromRaw({sorted}).ok());
  RawEvent unsorted;
  unsorted.metadata = {{"\xc3\xa9", "2"}, {"z", "1"}};
  EXPECT_EQ(FromRaw({unsorted}).code(), absl::StatusCode::kInvalidArgument);
}

TEST(WritableBatchFromBytes, RejectsDuplicateMetadataKeys) {
  RawEvent e;
  e.metadata = {{"a", "1"}, {"a", "2"}};
  absl::Status status = FromRaw({e});
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("duplicate"));
}

TEST(WritableBatchFromBytes, RejectsAnEmptyMetadataKey) {
  RawEvent e;
  e.metadata = {{"", "1"}};
  EXPECT_EQ(FromRaw({e}).code(), absl::StatusCode::kInvalidArgument);
}

// The toolkit's own components write "estoria." keys through the store; only
// the aggregate layer refuses them.
TEST(WritableBatchFromBytes, AcceptsToolkitMetadataKeys) {
  RawEvent e;
  e.metadata = {{"estoria.snapshot_version", "1"}};
  EXPECT_TRUE(FromRaw({e}).ok());
  RawEvent near;
  near.metadata = {{"estoria", "1"}, {"estoriax", "2"}};
  EXPECT_TRUE(FromRaw({near}).ok());
}

TEST(WritableBatchFromBytes, RejectsTooMuchMetadataOnOneEvent) {
  RawEvent e;
  for (size_t i = 0; i <= kMaxMetadataPerEvent; ++i) {
    char key[16];
    std::snprintf(key, sizeof key, "k%06zu", i);
    e.metadata.emplace_back(key, "");
  }
  EXPECT_EQ(FromRaw({e}).code(), absl::StatusCode::kInvalidArgument);
  e.metadata.pop_back();
  EXPECT_TRUE(FromRaw({e}).ok());
}

TEST(WritableBatchFromBytes, RejectsANegativeTimestamp) {
  RawEvent e;
  e.timestamp_ns = -1;
  EXPECT_EQ(FromRaw({e}).code(), absl::StatusCode::kInvalidArgument);
}

// ---------------------------------------------------------------------------
// BatchBuilder

absl::Span<const uint8_t> Bytes(std::string_view s) {
  return absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

std::vector<uint8_t> Copy(absl::Span<const uint8_t> s) { return {s.begin(), s.end()}; }

TEST(BatchBuilder, BuildsABatchThatFromBytesAccepts) {
  BatchBuilder builder;
  ASSERT_TRUE(builder.Add("created", Bytes("one"), "text/plain").ok());
  ASSERT_TRUE(builder.AddMetadata("zeta", "z").ok());
  ASSERT_TRUE(builder.AddMetadata("alpha", "a").ok());
  ASSERT_TRUE(builder.Add("renamed", {}, "").ok());
  EXPECT_EQ(builder.event_count(), 2u);
  absl::StatusOr<absl::Span<const uint8_t>> bytes = builder.Bytes();
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  absl::StatusOr<WritableBatch> batch = WritableBatch::FromBytes(*bytes);
  ASSERT_TRUE(batch.ok()) << batch.status();
  const auto* events = batch->root().events();
  ASSERT_EQ(events->size(), 2u);
  const fb::WritableEvent* first = events->Get(0);
  EXPECT_EQ(first->type()->str(), "created");
  EXPECT_EQ(std::string(first->data()->begin(), first->data()->end()), "one");
  EXPECT_EQ(first->content_type()->str(), "text/plain");
  ASSERT_EQ(first->metadata()->size(), 2u);  // sorted whatever the order added
  EXPECT_EQ(first->metadata()->Get(0)->key()->str(), "alpha");
  EXPECT_EQ(first->metadata()->Get(1)->key()->str(), "zeta");
  EXPECT_EQ(first->metadata()->Get(1)->value()->str(), "z");
  EXPECT_EQ(first->id(), nullptr);
  EXPECT_EQ(first->timestamp_ns(), 0);
  EXPECT_EQ(events->Get(1)->type()->str(), "renamed");
  EXPECT_EQ(events->Get(1)->data()->size(), 0u);
}

TEST(BatchBuilder, BuildMatchesBytes) {
  BatchBuilder builder;
  ASSERT_TRUE(builder.Add("created", Bytes("x"), "").ok());
  std::vector<uint8_t> bytes = Copy(*builder.Bytes());
  absl::StatusOr<WritableBatch> batch = builder.Build();
  ASSERT_TRUE(batch.ok()) << batch.status();
  EXPECT_EQ(Copy(batch->bytes()), bytes);
  EXPECT_EQ(batch->event_count(), 1u);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(batch->bytes().data()) % 8, 0u);
}

TEST(BatchBuilder, EventDataIsEightByteAligned) {
  BatchBuilder builder;
  ASSERT_TRUE(builder.Add("a", Bytes("12345"), "").ok());
  ASSERT_TRUE(builder.Add("b", Bytes("123"), "x").ok());
  absl::StatusOr<WritableBatch> batch = builder.Build();
  ASSERT_TRUE(batch.ok());
  for (const fb::WritableEvent* e : *batch->root().events()) {
    EXPECT_EQ(reinterpret_cast<uintptr_t>(e->data()->data()) % 8, 0u);
  }
}

TEST(BatchBuilder, WritesIdAndTimestampOfTheLastEvent) {
  BatchBuilder builder;
  ASSERT_TRUE(builder.Add("a", {}, "").ok());
  ASSERT_TRUE(builder.Add("b", {}, "").ok());
  Uuid id = Uuid::FromHiLo(0x0123456789abcdefULL, 0xfedcba9876543210ULL);
  ASSERT_TRUE(builder.SetId(id).ok());
  ASSERT_TRUE(builder.SetTimestamp(1234).ok());
  absl::StatusOr<WritableBatch> batch = builder.Build();
  ASSERT_TRUE(batch.ok());
  const auto* events = batch->root().events();
  EXPECT_EQ(events->Get(0)->id(), nullptr);
  EXPECT_EQ(events->Get(0)->timestamp_ns(), 0);
  ASSERT_NE(events->Get(1)->id(), nullptr);
  EXPECT_EQ(events->Get(1)->id()->hi(), 0x0123456789abcdefULL);
  EXPECT_EQ(events->Get(1)->id()->lo(), 0xfedcba9876543210ULL);
  EXPECT_EQ(events->Get(1)->timestamp_ns(), 1234);
}

TEST(BatchBuilder, EmptyBuilderHasNoBytes) {
  BatchBuilder builder;
  EXPECT_EQ(builder.Bytes().status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(builder.Build().status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(BatchBuilder, BytesAreCachedUntilTheNextMutation) {
  BatchBuilder builder;
  ASSERT_TRUE(builder.Add("a", Bytes("1"), "").ok());
  absl::Span<const uint8_t> first = *builder.Bytes();
  absl::Span<const uint8_t> again = *builder.Bytes();
  EXPECT_EQ(first.data(), again.data());
  EXPECT_EQ(first.size(), again.size());
  ASSERT_TRUE(builder.AddMetadata("k", "v").ok());
  absl::StatusOr<WritableBatch> batch = WritableBatch::FromBytes(*builder.Bytes());
  ASSERT_TRUE(batch.ok());
  ASSERT_NE(batch->root().events()->Get(0)->metadata(), nullptr);
  EXPECT_EQ(batch->root().events()->Get(0)->metadata()->size(), 1u);
}

TEST(BatchBuilder, ClearEmptiesTheBuilder) {
  BatchBuilder builder;
  ASSERT_TRUE(builder.Add("a", {}, "").ok());
  builder.Clear();
  EXPECT_EQ(builder.event_count(), 0u);
  EXPECT_FALSE(builder.Bytes().ok());
  EXPECT_EQ(builder.AddMetadata("k", "v").code(), absl::StatusCode::kInvalidArgument);
}

TEST(BatchBuilder, MovedFromBuilderIsEmptyAndUsable) {
  BatchBuilder builder;
  ASSERT_TRUE(builder.Add("a", {}, "").ok());
  BatchBuilder other(std::move(builder));
  EXPECT_EQ(other.event_count(), 1u);
  EXPECT_EQ(builder.event_count(), 0u);  // NOLINT(bugprone-use-after-move): documented state
  EXPECT_TRUE(builder.Add("b", {}, "").ok());
  EXPECT_EQ(builder.event_count(), 1u);
}

TEST(BatchBuilder, RejectsMetadataIdAndTimestampBeforeAnyEvent) {
  BatchBuilder builder;
  EXPECT_EQ(builder.AddMetadata("k", "v").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(builder.SetId(Uuid::FromHiLo(1, 2)).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(builder.SetTimestamp(5).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(builder.event_count(), 0u);
}

// Each refused input leaves the builder as it was: same bytes after.
class BatchBuilderRefusal : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(builder_.Add("created", Bytes("data"), "ct").ok());
    ASSERT_TRUE(builder_.AddMetadata("key", "value").ok());
    before_ = Copy(*builder_.Bytes());
  }
  void ExpectUnchanged() {
    EXPECT_EQ(builder_.event_count(), 1u);
    EXPECT_EQ(Copy(*builder_.Bytes()), before_);
  }
  BatchBuilder builder_;
  std::vector<uint8_t> before_;
};

TEST_F(BatchBuilderRefusal, InvalidTypeNames) {
  for (std::string_view type : {std::string_view(""), std::string_view("_a"), std::string_view("a_"),
                                std::string_view("a\nb"), std::string_view("a\0b", 3)}) {
    EXPECT_EQ(builder_.Add(type, {}, "").code(), absl::StatusCode::kInvalidArgument) << type;
  }
  ExpectUnchanged();
}

TEST_F(BatchBuilderRefusal, NulInContentType) {
  EXPECT_EQ(builder_.Add("a", {}, std::string_view("a\0b", 3)).code(), absl::StatusCode::kInvalidArgument);
  ExpectUnchanged();
}

TEST_F(BatchBuilderRefusal, NulInMetadata) {
  EXPECT_EQ(builder_.AddMetadata(std::string_view("k\0", 2), "v").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(builder_.AddMetadata("k2", std::string_view("\0v", 2)).code(), absl::StatusCode::kInvalidArgument);
  ExpectUnchanged();
}

TEST_F(BatchBuilderRefusal, EmptyAndDuplicateKeys) {
  EXPECT_EQ(builder_.AddMetadata("", "v").code(), absl::StatusCode::kInvalidArgument);
  absl::Status duplicate = builder_.AddMetadata("key", "other");
  EXPECT_EQ(duplicate.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(duplicate.message(), HasSubstr("duplicate"));
  ExpectUnchanged();
}

TEST_F(BatchBuilderRefusal, NonPositiveTimestamps) {
  EXPECT_EQ(builder_.SetTimestamp(0).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(builder_.SetTimestamp(-7).code(), absl::StatusCode::kInvalidArgument);
  ExpectUnchanged();
}

TEST(BatchBuilder, KeysInOrderGoLastAndOthersFindTheirPlace) {
  BatchBuilder builder;
  ASSERT_TRUE(builder.Add("created", {}, "").ok());
  ASSERT_TRUE(builder.AddMetadata("b", "1").ok());
  ASSERT_TRUE(builder.AddMetadata("d", "2").ok());
  ASSERT_TRUE(builder.AddMetadata("c", "3").ok());
  EXPECT_THAT(builder.AddMetadata("d", "4").message(), HasSubstr("duplicate"));  // the last key
  EXPECT_THAT(builder.AddMetadata("b", "5").message(), HasSubstr("duplicate"));  // the first
  ASSERT_TRUE(builder.AddMetadata("e", "6").ok());
  absl::StatusOr<WritableBatch> batch = builder.View();
  ASSERT_TRUE(batch.ok()) << batch.status();
  std::vector<std::pair<std::string, std::string>> got;
  for (size_t j = 0; j < batch->event(0).metadata_count; ++j) {
    const auto [key, value] = batch->metadata(0, j);
    got.emplace_back(key, value);
  }
  EXPECT_EQ(got, (std::vector<std::pair<std::string, std::string>>{{"b", "1"}, {"c", "3"}, {"d", "2"}, {"e", "6"}}));
}

// CopyMetadata hands out what metadata(i, j) does, for each event alone, in
// a view and in the FlatBuffers form alike.
TEST(BatchBuilder, CopyMetadataGivesEachEventsPairsInKeyOrder) {
  BatchBuilder builder;
  ASSERT_TRUE(builder.Add("first", {}, "").ok());
  ASSERT_TRUE(builder.AddMetadata("z", "26").ok());
  ASSERT_TRUE(builder.AddMetadata("a", "1").ok());
  ASSERT_TRUE(builder.Add("bare", {}, "").ok());
  ASSERT_TRUE(builder.Add("third", {}, "").ok());
  ASSERT_TRUE(builder.AddMetadata("m", "13").ok());
  using Pairs = std::vector<std::pair<std::string_view, std::string_view>>;
  const std::vector<Pairs> want = {{{"a", "1"}, {"z", "26"}}, {}, {{"m", "13"}}};
  absl::StatusOr<WritableBatch> view = builder.View();
  ASSERT_TRUE(view.ok()) << view.status();
  absl::StatusOr<WritableBatch> built = builder.Build();
  ASSERT_TRUE(built.ok()) << built.status();
  for (const WritableBatch* batch : {&*view, &*built}) {
    for (size_t i = 0; i < want.size(); ++i) {
      Pairs got(batch->event(i).metadata_count + 1, {"untouched", ""});
      batch->CopyMetadata(i, got.data());
      EXPECT_EQ(got.back().first, "untouched") << "event " << i << ": written past its pairs";
      got.pop_back();
      EXPECT_EQ(got, want[i]) << "event " << i << (batch->is_view() ? " of the view" : " of the bytes");
    }
  }
}

TEST(BatchBuilder, SameKeyOnDifferentEventsIsFine) {
  BatchBuilder builder;
  ASSERT_TRUE(builder.Add("a", {}, "").ok());
  ASSERT_TRUE(builder.AddMetadata("k", "1").ok());
  ASSERT_TRUE(builder.Add("b", {}, "").ok());
  EXPECT_TRUE(builder.AddMetadata("k", "2").ok());
}

TEST(BatchBuilder, RefusesMoreThanTheMetadataLimit) {
  BatchBuilder builder;
  ASSERT_TRUE(builder.Add("a", {}, "").ok());
  for (size_t i = 0; i < kMaxMetadataPerEvent; ++i) {
    ASSERT_TRUE(builder.AddMetadata("k" + std::to_string(i), "").ok());
  }
  EXPECT_EQ(builder.AddMetadata("one-more", "").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(builder.Build().ok());
}

}  // namespace
}  // namespace estoria::core

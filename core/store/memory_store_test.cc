// Tests of the memory store against the contract of doc/data-model.md,
// directly on the core API; and of OpenStore's URIs (doc/abi.md "Store URIs").
#include "core/store/memory_store.h"

#include <cstring>
#include <map>
#include <optional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "core/env/env.h"
#include "core/id/id.h"
#include "core/id/uuid.h"
#include "core/store/compact_record.h"
#include "core/store/event_record.h"
#include "core/store/event_store.h"
#include "core/store/writable_batch.h"
#include "core/util/status.h"
#include "flatbuffers/flatbuffers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "schema/estoria_generated.h"

namespace estoria::core {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

Id NewId(std::string type = "account") {
  Id id;
  id.type = std::move(type);
  id.uuid = *NewUuidV4();
  return id;
}

absl::Span<const uint8_t> Bytes(std::string_view s) {
  return absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

// A batch of events typed "e", with data "<prefix>1", "<prefix>2", ...
WritableBatch Events(int n, std::string_view prefix = "d") {
  BatchBuilder builder;
  for (int i = 1; i <= n; ++i) {
    std::string data = std::string(prefix) + std::to_string(i);
    EXPECT_TRUE(builder.Add("e", Bytes(data), "").ok());
  }
  return *builder.Build();
}

// One event as read, copied out of its view.
struct Read {
  Uuid id;
  std::string type;
  std::string stream_type;
  Uuid stream_uuid;
  int64_t version = 0;
  int64_t position = 0;
  int64_t timestamp_ns = 0;
  std::string data;
  std::string content_type;
  std::map<std::string, std::string> metadata;
};

Read Copy(const EventView& view) {
  Read r;
  r.id = view.id();
  r.type = std::string(view.type());
  r.stream_type = std::string(view.stream_type());
  r.stream_uuid = view.stream_uuid();
  r.version = view.version();
  r.position = view.position();
  r.timestamp_ns = view.timestamp_ns();
  r.data.assign(view.data().begin(), view.data().end());
  r.content_type = std::string(view.content_type());
  view.ForEachMetadata([&](const char* key, const char* value) { r.metadata[key] = value; });
  return r;
}

// Drains an iterator three views at a time (so that batching is exercised).
std::vector<Read> Drain(EventIterator& it) {
  std::vector<Read> out;
  EventView views[3];
  for (;;) {
    absl::StatusOr<size_t> n = it.Next(absl::MakeSpan(views));
    EXPECT_TRUE(n.ok()) << n.status();
    if (!n.ok() || *n == 0) return out;
    for (size_t i = 0; i < *n; ++i) out.push_back(Copy(views[i]));
  }
}

std::vector<int64_t> Versions(const std::vector<Read>& events) {
  std::vector<int64_t> v;
  for (const Read& r : events) v.push_back(r.version);
  return v;
}
std::vector<int64_t> Positions(const std::vector<Read>& events) {
  std::vector<int64_t> v;
  for (const Read& r : events) v.push_back(r.position);
  return v;
}
std::vector<std::string> Data(const std::vector<Read>& events) {
  std::vector<std::string> v;
  for (const Read& r : events) v.push_back(r.data);
  return v;
}

class MemoryStoreTest : public ::testing::Test {
 protected:
  AppendResult Append(const Id& stream, int n, AppendOptions options = {}, std::string_view prefix = "d") {
    absl::StatusOr<AppendResult> result = store_.Append(stream, Events(n, prefix), options, nullptr);
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? *result : AppendResult{};
  }
  std::vector<Read> ReadStream(const Id& stream, ReadOptions options = {}) {
    absl::StatusOr<std::unique_ptr<EventIterator>> it = store_.ReadStream(stream, options);
    EXPECT_TRUE(it.ok()) << it.status();
    return it.ok() ? Drain(**it) : std::vector<Read>{};
  }
  std::vector<Read> ReadAll(ReadAllOptions options = {}) {
    absl::StatusOr<std::unique_ptr<EventIterator>> it = store_.ReadAll(options);
    EXPECT_TRUE(it.ok()) << it.status();
    return it.ok() ? Drain(**it) : std::vector<Read>{};
  }
  absl::StatusCode ReadCode(const Id& stream, ReadOptions options = {}) {
    return store_.ReadStream(stream, options).status().code();
  }
  static ReadOptions Forward(int64_t after, int64_t count = 0) { return {Direction::kForward, after, count}; }
  static ReadOptions Reverse(int64_t after, int64_t count = 0) { return {Direction::kReverse, after, count}; }
  static AppendOptions ExpectVersion(int64_t v) { return {Expect::kVersion, v, false, 0}; }
  static AppendOptions ExpectNoStream() { return {Expect::kNoStream, 0, false, 0}; }

  MemoryStore store_;
};

// ---------------------------------------------------------------------------
// Appends

TEST_F(MemoryStoreTest, AppendNumbersVersionsPerStreamAndPositionsGlobally) {
  Id a = NewId(), b = NewId();
  AppendResult r1 = Append(a, 2);
  AppendResult r2 = Append(b, 1);
  AppendResult r3 = Append(a, 3);
  EXPECT_EQ(r1.first_version, 1);
  EXPECT_EQ(r1.last_version, 2);
  EXPECT_EQ(r1.first_position, 1);
  EXPECT_EQ(r1.last_position, 2);
  EXPECT_EQ(r1.actual_version, 2);
  EXPECT_EQ(r2.first_version, 1);
  EXPECT_EQ(r2.first_position, 3);
  EXPECT_EQ(r3.first_version, 3);
  EXPECT_EQ(r3.last_version, 5);
  EXPECT_EQ(r3.first_position, 4);
  EXPECT_EQ(r3.last_position, 6);
  EXPECT_EQ(r3.actual_version, 5);
  EXPECT_THAT(Versions(ReadStream(a)), ElementsAre(1, 2, 3, 4, 5));
  EXPECT_THAT(Positions(ReadStream(a)), ElementsAre(1, 2, 4, 5, 6));
  EXPECT_THAT(Data(ReadStream(a)), ElementsAre("d1", "d2", "d1", "d2", "d3"));
}

TEST_F(MemoryStoreTest, StoredEventsCarryEverythingTheBatchSaid) {
  Id stream = NewId("order");
  BatchBuilder builder;
  ASSERT_TRUE(builder.Add("order_placed", Bytes("{\"n\":1}"), "application/json").ok());
  ASSERT_TRUE(builder.AddMetadata("trace", "t-1").ok());
  ASSERT_TRUE(builder.AddMetadata("actor", "ann").ok());
  const int64_t before = Env::Default()->NowNanos();
  std::unique_ptr<EventIterator> written;
  ASSERT_TRUE(store_.Append(stream, *builder.Build(), {}, &written).ok());
  const int64_t after = Env::Default()->NowNanos();
  ASSERT_NE(written, nullptr);
  std::vector<Read> from_append = Drain(*written);
  std::vector<Read> from_read = ReadStream(stream);
  ASSERT_EQ(from_append.size(), 1u);
  ASSERT_EQ(from_read.size(), 1u);
  const Read& e = from_read[0];
  EXPECT_EQ(e.type, "order_placed");
  EXPECT_EQ(e.stream_type, "order");
  EXPECT_EQ(e.stream_uuid, stream.uuid);
  EXPECT_EQ(e.version, 1);
  EXPECT_EQ(e.position, 1);
  EXPECT_GE(e.timestamp_ns, before);
  EXPECT_LE(e.timestamp_ns, after);
  EXPECT_EQ(e.data, "{\"n\":1}");
  EXPECT_EQ(e.content_type, "application/json");
  EXPECT_EQ(e.metadata, (std::map<std::string, std::string>{{"actor", "ann"}, {"trace", "t-1"}}));
  EXPECT_FALSE(e.id.IsNil());
  EXPECT_EQ(e.id.bytes[6] >> 4, 7);  // a UUIDv7
  // The append's own iterator returns the event exactly as a read does.
  EXPECT_EQ(from_append[0].id, e.id);
  EXPECT_EQ(from_append[0].timestamp_ns, e.timestamp_ns);
  EXPECT_EQ(from_append[0].position, e.position);
  EXPECT_EQ(from_append[0].metadata, e.metadata);
}

TEST_F(MemoryStoreTest, StoredRecordsAreAlignedCompactRecordsOfOneRun) {
  Id stream = NewId();
  Append(stream, 3);
  absl::StatusOr<std::unique_ptr<EventIterator>> it = store_.ReadStream(stream, {});
  ASSERT_TRUE(it.ok());
  EventView views[3];
  ASSERT_EQ(*(*it)->Next(absl::MakeSpan(views)), 3u);
  const uint8_t* run = compact::RunHeader(views[0].bytes);
  const size_t run_bytes = static_cast<size_t>(views[2].bytes + compact::Align8(views[2].size) - run);
  size_t checked_size = 0;
  uint32_t checked_count = 0;
  EXPECT_TRUE(compact::CheckRun(absl::MakeConstSpan(run, run_bytes), &checked_size, &checked_count).ok());
  EXPECT_EQ(checked_size, run_bytes);
  EXPECT_EQ(checked_count, 3u);
  for (const EventView& view : views) {
    EXPECT_TRUE(view.compact());
    EXPECT_EQ(reinterpret_cast<uintptr_t>(view.bytes) % 8, 0u);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(view.data().data()) % 8, 0u);
    EXPECT_EQ(compact::RunHeader(view.bytes), run) << "one run header per append";
    EXPECT_EQ(view.size, compact::Size(view.bytes));
  }
}

TEST_F(MemoryStoreTest, AbsentOptionalFieldsAreStoredAsEmpty) {
  // A caller's batch with nothing but the event type.
  flatbuffers::FlatBufferBuilder fbb;
  auto type = fbb.CreateString("bare");
  fb::WritableEventBuilder event(fbb);
  event.add_type(type);
  auto offset = event.Finish();
  fb::FinishWritableEventBatchBuffer(fbb, fb::CreateWritableEventBatch(fbb, fbb.CreateVector(&offset, 1)));
  absl::StatusOr<WritableBatch> batch =
      WritableBatch::FromBytes(absl::MakeConstSpan(fbb.GetBufferPointer(), fbb.GetSize()));
  ASSERT_TRUE(batch.ok()) << batch.status();
  Id stream = NewId();
  ASSERT_TRUE(store_.Append(stream, *batch, {}, nullptr).ok());
  absl::StatusOr<std::unique_ptr<EventIterator>> it = store_.ReadStream(stream, {});
  ASSERT_TRUE(it.ok());
  EventView view;
  ASSERT_EQ(*(*it)->Next(absl::MakeSpan(&view, 1)), 1u);
  EXPECT_EQ(view.type(), "bare");
  EXPECT_EQ(view.data().size(), 0u);
  EXPECT_NE(view.data().data(), nullptr);
  EXPECT_EQ(view.content_type(), "");
  EXPECT_EQ(view.metadata_count(), 0u);
  EXPECT_GT(view.timestamp_ns(), 0);
}

TEST_F(MemoryStoreTest, EventsOfOneAppendShareOneBlock) {
  Id stream = NewId();
  Append(stream, 4);
  absl::StatusOr<std::unique_ptr<EventIterator>> it = store_.ReadStream(stream, {});
  ASSERT_TRUE(it.ok());
  EventView views[4];
  ASSERT_EQ(*(*it)->Next(absl::MakeSpan(views)), 4u);
  // Packed back to back at 8-byte aligned offsets of one allocation.
  for (int i = 0; i + 1 < 4; ++i) {
    EXPECT_EQ(views[i].bytes + ((views[i].size + 7) & ~size_t{7}), views[i + 1].bytes) << i;
  }
}

TEST_F(MemoryStoreTest, EventIdsAreUniqueAndTimeOrdered) {
  Id stream = NewId();
  Append(stream, 5);
  Append(stream, 5);
  std::vector<Read> events = ReadStream(stream);
  for (size_t i = 1; i < events.size(); ++i) EXPECT_LT(events[i - 1].id, events[i].id);
}

TEST_F(MemoryStoreTest, ExpectNoStreamAcceptsANewStreamOnly) {
  Id stream = NewId();
  EXPECT_EQ(Append(stream, 2, ExpectNoStream()).last_version, 2);
  absl::Status status = store_.Append(stream, Events(1), ExpectNoStream(), nullptr).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kAborted);
  std::optional<VersionMismatch> mismatch = GetVersionMismatch(status);
  ASSERT_TRUE(mismatch.has_value());
  EXPECT_EQ(mismatch->expected, 0);  // kNoStream reports expected 0
  EXPECT_EQ(mismatch->actual, 2);
  EXPECT_THAT(Versions(ReadStream(stream)), ElementsAre(1, 2));
}

TEST_F(MemoryStoreTest, ExpectVersionZeroMeansTheStreamMustBeEmpty) {
  Id stream = NewId();
  EXPECT_EQ(Append(stream, 1, ExpectVersion(0)).last_version, 1);
  absl::Status status = store_.Append(stream, Events(1), ExpectVersion(0), nullptr).status();
  ASSERT_TRUE(GetVersionMismatch(status).has_value());
  EXPECT_EQ(GetVersionMismatch(status)->expected, 0);
  EXPECT_EQ(GetVersionMismatch(status)->actual, 1);
}

TEST_F(MemoryStoreTest, VersionMismatchReportsBothVersionsAndChangesNothing) {
  Id stream = NewId(), other = NewId();
  Append(stream, 3);
  std::unique_ptr<EventIterator> written;
  absl::Status status = store_.Append(stream, Events(2), ExpectVersion(2), &written).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kAborted);
  EXPECT_EQ(written, nullptr);
  std::optional<VersionMismatch> mismatch = GetVersionMismatch(status);
  ASSERT_TRUE(mismatch.has_value());
  EXPECT_EQ(mismatch->expected, 2);
  EXPECT_EQ(mismatch->actual, 3);
  EXPECT_THAT(Versions(ReadStream(stream)), ElementsAre(1, 2, 3));
  EXPECT_EQ(ReadAll().size(), 3u);
  // A mismatch on a never-written stream does not create it.
  EXPECT_TRUE(GetVersionMismatch(store_.Append(other, Events(1), ExpectVersion(4), nullptr).status()));
  EXPECT_EQ(ReadCode(other), absl::StatusCode::kNotFound);
  EXPECT_EQ(Append(stream, 1, ExpectVersion(3)).last_version, 4);
}

TEST_F(MemoryStoreTest, ExpectAnyIgnoresExpectedVersion) {
  Id stream = NewId();
  AppendOptions options;
  options.expect = Expect::kAny;
  options.expected_version = -5;
  EXPECT_EQ(Append(stream, 1, options).last_version, 1);
  options.expected_version = 42;
  EXPECT_EQ(Append(stream, 1, options).last_version, 2);
}

TEST_F(MemoryStoreTest, RejectsBadAppendOptions) {
  Id stream = NewId();
  AppendOptions negative = ExpectVersion(-1);
  EXPECT_EQ(store_.Append(stream, Events(1), negative, nullptr).status().code(),
            absl::StatusCode::kInvalidArgument);
  AppendOptions unknown;
  unknown.expect = static_cast<Expect>(9);
  EXPECT_EQ(store_.Append(stream, Events(1), unknown, nullptr).status().code(),
            absl::StatusCode::kInvalidArgument);
  AppendOptions first_without_restore;
  first_without_restore.first_version = 3;
  EXPECT_EQ(store_.Append(stream, Events(1), first_without_restore, nullptr).status().code(),
            absl::StatusCode::kInvalidArgument);
  AppendOptions negative_first;
  negative_first.restore = true;
  negative_first.first_version = -1;
  EXPECT_EQ(store_.Append(stream, Events(1), negative_first, nullptr).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ReadCode(stream), absl::StatusCode::kNotFound);
}

TEST_F(MemoryStoreTest, RejectsAnInvalidStreamType) {
  Id bad = NewId("_account");
  EXPECT_EQ(store_.Append(bad, Events(1), {}, nullptr).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ReadCode(bad), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_.DeleteStream(bad, 0).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_.WriteSnapshot(bad, 1, {}, "", 0).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_.ReadSnapshot(bad, 0).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(MemoryStoreTest, SameUuidWithAnotherTypeIsAnotherStream) {
  Id order = NewId("order");
  Id account{"account", order.uuid};
  Append(order, 2);
  EXPECT_EQ(ReadCode(account), absl::StatusCode::kNotFound);
  EXPECT_EQ(Append(account, 1, ExpectNoStream()).last_version, 1);
  EXPECT_THAT(Versions(ReadStream(order)), ElementsAre(1, 2));
  ASSERT_TRUE(store_.DeleteStream(account, 0).ok());
  EXPECT_EQ(ReadStream(order).size(), 2u);
}

// ---------------------------------------------------------------------------
// Restore (import)

WritableBatch BatchWithIdsAndTimestamps(const std::vector<std::pair<Uuid, int64_t>>& events) {
  BatchBuilder builder;
  for (const auto& [id, ts] : events) {
    EXPECT_TRUE(builder.Add("e", Bytes("x"), "").ok());
    if (!id.IsNil()) {
      EXPECT_TRUE(builder.SetId(id).ok());
    }
    if (ts != 0) {
      EXPECT_TRUE(builder.SetTimestamp(ts).ok());
    }
  }
  return *builder.Build();
}

TEST_F(MemoryStoreTest, RestoreKeepsGivenIdsAndTimestampsAndAssignsTheRest) {
  Id stream = NewId();
  Uuid given = *NewUuidV4();
  AppendOptions restore;
  restore.restore = true;
  const int64_t before = Env::Default()->NowNanos();
  ASSERT_TRUE(store_.Append(stream, BatchWithIdsAndTimestamps({{given, 1000}, {Uuid{}, 0}}), restore, nullptr).ok());
  std::vector<Read> events = ReadStream(stream);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].id, given);
  EXPECT_EQ(events[0].timestamp_ns, 1000);
  EXPECT_FALSE(events[1].id.IsNil());
  EXPECT_NE(events[1].id, given);
  EXPECT_GE(events[1].timestamp_ns, before);
}

TEST_F(MemoryStoreTest, WithoutRestoreGivenIdsAreKeptAndTimestampsReplaced) {
  Id stream = NewId();
  Uuid given = *NewUuidV4();
  ASSERT_TRUE(store_.Append(stream, BatchWithIdsAndTimestamps({{given, 1000}}), {}, nullptr).ok());
  std::vector<Read> events = ReadStream(stream);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].id, given) << "every append keeps caller-set IDs (idempotent appends)";
  EXPECT_NE(events[0].timestamp_ns, 1000);
}

TEST_F(MemoryStoreTest, RestoreStartsANewStreamAtFirstVersion) {
  Id stream = NewId();
  AppendOptions restore;
  restore.restore = true;
  restore.first_version = 5;
  restore.expect = Expect::kNoStream;
  absl::StatusOr<AppendResult> result = store_.Append(stream, Events(3), restore, nullptr);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->first_version, 5);
  EXPECT_EQ(result->last_version, 7);
  // Versions below 5 behave as truncated.
  EXPECT_THAT(Versions(ReadStream(stream)), ElementsAre(5, 6, 7));
  EXPECT_THAT(Versions(ReadStream(stream, Forward(2))), ElementsAre(5, 6, 7));
  EXPECT_THAT(Versions(ReadStream(stream, Forward(5))), ElementsAre(6, 7));
  EXPECT_THAT(ReadStream(stream, Reverse(4)), IsEmpty());
  EXPECT_THAT(Versions(ReadStream(stream, Reverse(6))), ElementsAre(6, 5));
  ASSERT_TRUE(store_.DeleteStream(stream, 3).ok());
  EXPECT_THAT(Versions(ReadStream(stream)), ElementsAre(5, 6, 7));
  EXPECT_EQ(Append(stream, 1, ExpectVersion(7)).last_version, 8);
}

TEST_F(MemoryStoreTest, RestoreFirstVersionZeroStartsAtOne) {
  Id stream = NewId();
  AppendOptions restore;
  restore.restore = true;
  EXPECT_EQ(Append(stream, 2, restore).first_version, 1);
}

TEST_F(MemoryStoreTest, RestoreIntoAnExistingStreamMustContinueIt) {
  Id stream = NewId();
  Append(stream, 5);
  AppendOptions restore;
  restore.restore = true;
  restore.first_version = 3;
  EXPECT_EQ(store_.Append(stream, Events(1), restore, nullptr).status().code(), absl::StatusCode::kInvalidArgument);
  restore.first_version = 7;
  EXPECT_EQ(store_.Append(stream, Events(1), restore, nullptr).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Versions(ReadStream(stream)), ElementsAre(1, 2, 3, 4, 5));
  restore.first_version = 6;
  EXPECT_EQ(Append(stream, 1, restore).first_version, 6);
  restore.first_version = 0;
  EXPECT_EQ(Append(stream, 1, restore).first_version, 7);
}

// ---------------------------------------------------------------------------
// Stream reads

TEST_F(MemoryStoreTest, ForwardReadStartsAfterTheBoundAndHonoursCount) {
  Id stream = NewId();
  Append(stream, 5);
  EXPECT_THAT(Versions(ReadStream(stream, Forward(0))), ElementsAre(1, 2, 3, 4, 5));
  EXPECT_THAT(Versions(ReadStream(stream, Forward(2))), ElementsAre(3, 4, 5));
  EXPECT_THAT(Versions(ReadStream(stream, Forward(2, 2))), ElementsAre(3, 4));
  EXPECT_THAT(Versions(ReadStream(stream, Forward(0, 100))), ElementsAre(1, 2, 3, 4, 5));
  EXPECT_THAT(ReadStream(stream, Forward(5)), IsEmpty());
  EXPECT_THAT(ReadStream(stream, Forward(50)), IsEmpty());
}

TEST_F(MemoryStoreTest, ReverseReadStartsAtTheInclusiveBoundOrTheTip) {
  Id stream = NewId();
  Append(stream, 5);
  EXPECT_THAT(Versions(ReadStream(stream, Reverse(0))), ElementsAre(5, 4, 3, 2, 1));
  EXPECT_THAT(Versions(ReadStream(stream, Reverse(3))), ElementsAre(3, 2, 1));
  EXPECT_THAT(Versions(ReadStream(stream, Reverse(99))), ElementsAre(5, 4, 3, 2, 1));
  EXPECT_THAT(Versions(ReadStream(stream, Reverse(0, 2))), ElementsAre(5, 4));
  EXPECT_THAT(Versions(ReadStream(stream, Reverse(4, 2))), ElementsAre(4, 3));
  EXPECT_THAT(Versions(ReadStream(stream, Reverse(1, 5))), ElementsAre(1));
}

TEST_F(MemoryStoreTest, ReadingANeverWrittenStreamIsNotFound) {
  EXPECT_EQ(ReadCode(NewId()), absl::StatusCode::kNotFound);
  EXPECT_EQ(ReadCode(NewId(), Reverse(0)), absl::StatusCode::kNotFound);
}

TEST_F(MemoryStoreTest, RejectsNegativeBoundsCountsAndUnknownDirections) {
  Id stream = NewId();
  Append(stream, 1);
  EXPECT_EQ(ReadCode(stream, Forward(-1)), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ReadCode(stream, Reverse(-1)), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ReadCode(stream, Forward(0, -1)), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ReadCode(stream, {static_cast<Direction>(2), 0, 0}), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_.ReadAll({-1, 0}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_.ReadAll({0, -1}).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(MemoryStoreTest, AfterTheEndNextKeepsReturningZero) {
  Id stream = NewId();
  Append(stream, 2);
  absl::StatusOr<std::unique_ptr<EventIterator>> it = store_.ReadStream(stream, {});
  ASSERT_TRUE(it.ok());
  EventView views[8];
  EXPECT_EQ(*(*it)->Next(absl::MakeSpan(views)), 2u);
  Append(stream, 2);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(*(*it)->Next(absl::MakeSpan(views)), 0u);
}

TEST_F(MemoryStoreTest, NextNeedsRoomForOneView) {
  Id stream = NewId();
  Append(stream, 1);
  absl::StatusOr<std::unique_ptr<EventIterator>> it = store_.ReadStream(stream, {});
  ASSERT_TRUE(it.ok());
  EXPECT_EQ((*it)->Next({}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Drain(**it).size(), 1u);
}

TEST_F(MemoryStoreTest, StreamIteratorIsASnapshotThroughAppendsAndGrowth) {
  Id stream = NewId();
  Append(stream, 3);
  absl::StatusOr<std::unique_ptr<EventIterator>> it = store_.ReadStream(stream, {});
  ASSERT_TRUE(it.ok());
  // Enough appends to move the stream to bigger arrays several times.
  for (int i = 0; i < 40; ++i) Append(stream, 3, {}, "later");
  EXPECT_THAT(Data(Drain(**it)), ElementsAre("d1", "d2", "d3"));
  EXPECT_EQ(ReadStream(stream).size(), 123u);
}

// ---------------------------------------------------------------------------
// Global reads

TEST_F(MemoryStoreTest, ReadAllIsAscendingAfterAnExclusivePositionWithCount) {
  Id a = NewId(), b = NewId();
  Append(a, 2);
  Append(b, 2);
  Append(a, 1);
  EXPECT_THAT(Positions(ReadAll()), ElementsAre(1, 2, 3, 4, 5));
  EXPECT_THAT(Positions(ReadAll({2, 0})), ElementsAre(3, 4, 5));
  EXPECT_THAT(Positions(ReadAll({2, 2})), ElementsAre(3, 4));
  EXPECT_THAT(ReadAll({5, 0}), IsEmpty());
  EXPECT_THAT(ReadAll({500, 0}), IsEmpty());
  std::vector<Read> all = ReadAll();
  EXPECT_EQ(all[2].stream_uuid, b.uuid);
  EXPECT_EQ(all[4].stream_uuid, a.uuid);
  EXPECT_EQ(all[4].version, 3);
}

TEST_F(MemoryStoreTest, ReadAllOfAnEmptyStoreIsEmpty) { EXPECT_THAT(ReadAll(), IsEmpty()); }

TEST_F(MemoryStoreTest, ReadAllPositionsMatchStreamReads) {
  Id a = NewId(), b = NewId();
  for (int i = 0; i < 5; ++i) {
    Append(a, 2);
    Append(b, 1);
  }
  std::map<int64_t, int64_t> version_at;  // position -> version, from stream reads
  for (const Id& id : {a, b}) {
    for (const Read& r : ReadStream(id)) version_at[r.position] = r.version;
  }
  std::vector<Read> all = ReadAll();
  ASSERT_EQ(all.size(), version_at.size());
  for (const Read& r : all) EXPECT_EQ(version_at[r.position], r.version);
}

TEST_F(MemoryStoreTest, ReadAllFrontierIsFixedWhenTheCallReturns) {
  Id a = NewId();
  Append(a, 2);
  absl::StatusOr<std::unique_ptr<EventIterator>> it = store_.ReadAll({});
  ASSERT_TRUE(it.ok());
  for (int i = 0; i < 20; ++i) Append(NewId(), 2);
  EXPECT_THAT(Positions(Drain(**it)), ElementsAre(1, 2));
}

TEST_F(MemoryStoreTest, ReadAllStartingAfterADeletedPositionFindsTheNext) {
  Id a = NewId(), b = NewId();
  Append(a, 2);  // 1, 2
  Append(b, 2);  // 3, 4
  Append(a, 1);  // 5
  ASSERT_TRUE(store_.DeleteStream(b, 0).ok());
  EXPECT_THAT(Positions(ReadAll()), ElementsAre(1, 2, 5));
  EXPECT_THAT(Positions(ReadAll({3, 0})), ElementsAre(5));
}

// ---------------------------------------------------------------------------
// Deletion

TEST_F(MemoryStoreTest, WholeDeletionForgetsTheStreamAndPositionsAreNotReused) {
  Id stream = NewId();
  Append(stream, 3);
  ASSERT_TRUE(store_.WriteSnapshot(stream, 2, Bytes("s"), "", 0).ok());
  ASSERT_TRUE(store_.DeleteStream(stream, 0).ok());
  EXPECT_EQ(ReadCode(stream), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_.DeleteStream(stream, 0).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_.ReadSnapshot(stream, 0).status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(ReadAll(), IsEmpty());
  // The ID starts again from version 1, with fresh positions.
  AppendResult again = Append(stream, 1, ExpectNoStream());
  EXPECT_EQ(again.first_version, 1);
  EXPECT_EQ(again.first_position, 4);
  EXPECT_THAT(Positions(ReadAll()), ElementsAre(4));
}

TEST_F(MemoryStoreTest, TruncationRemovesEventsUpToNAndKeepsVersions) {
  Id stream = NewId(), other = NewId();
  Append(stream, 3);
  Append(other, 1);
  Append(stream, 2);
  ASSERT_TRUE(store_.DeleteStream(stream, 2).ok());
  EXPECT_THAT(Versions(ReadStream(stream)), ElementsAre(3, 4, 5));
  EXPECT_THAT(Versions(ReadStream(stream, Reverse(0))), ElementsAre(5, 4, 3));
  EXPECT_THAT(ReadStream(stream, Reverse(2)), IsEmpty());
  EXPECT_THAT(Positions(ReadAll()), ElementsAre(3, 4, 5, 6));
  ASSERT_TRUE(store_.DeleteStream(stream, 4).ok());
  EXPECT_THAT(Versions(ReadStream(stream)), ElementsAre(5));
  EXPECT_THAT(Positions(ReadAll()), ElementsAre(4, 6));
}

TEST_F(MemoryStoreTest, TruncationAtOrPastTheTipEmptiesTheStreamButKeepsTheTip) {
  Id stream = NewId();
  Append(stream, 3);
  ASSERT_TRUE(store_.DeleteStream(stream, 10).ok());
  // Still a stream: an empty iterator, not kNotFound.
  EXPECT_THAT(ReadStream(stream), IsEmpty());
  EXPECT_THAT(ReadStream(stream, Reverse(0)), IsEmpty());
  EXPECT_THAT(ReadAll(), IsEmpty());
  absl::Status no_stream = store_.Append(stream, Events(1), ExpectNoStream(), nullptr).status();
  ASSERT_TRUE(GetVersionMismatch(no_stream).has_value());
  EXPECT_EQ(GetVersionMismatch(no_stream)->expected, 0);
  EXPECT_EQ(GetVersionMismatch(no_stream)->actual, 3);
  AppendResult next = Append(stream, 1, ExpectVersion(3));
  EXPECT_EQ(next.first_version, 4);
  EXPECT_THAT(Versions(ReadStream(stream)), ElementsAre(4));
}

TEST_F(MemoryStoreTest, TruncationAtTheTipExactlyKeepsTheTip) {
  Id stream = NewId();
  Append(stream, 3);
  ASSERT_TRUE(store_.DeleteStream(stream, 3).ok());
  EXPECT_THAT(ReadStream(stream), IsEmpty());
  EXPECT_EQ(Append(stream, 1).first_version, 4);
}

TEST_F(MemoryStoreTest, TruncationBelowWhatIsGoneDoesNothing) {
  Id stream = NewId();
  Append(stream, 5);
  ASSERT_TRUE(store_.DeleteStream(stream, 3).ok());
  ASSERT_TRUE(store_.DeleteStream(stream, 2).ok());
  ASSERT_TRUE(store_.DeleteStream(stream, 3).ok());
  EXPECT_THAT(Versions(ReadStream(stream)), ElementsAre(4, 5));
}

TEST_F(MemoryStoreTest, TruncationRemovesSnapshotsBelowN) {
  Id stream = NewId();
  Append(stream, 6);
  for (int64_t v : {2, 4, 5}) ASSERT_TRUE(store_.WriteSnapshot(stream, v, Bytes("s"), "", 0).ok());
  ASSERT_TRUE(store_.DeleteStream(stream, 4).ok());
  EXPECT_EQ(store_.ReadSnapshot(stream, 3).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ((*store_.ReadSnapshot(stream, 4))->version, 4);
  EXPECT_EQ((*store_.ReadSnapshot(stream, 0))->version, 5);
  ASSERT_TRUE(store_.DeleteStream(stream, 6).ok());
  EXPECT_EQ(store_.ReadSnapshot(stream, 0).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(MemoryStoreTest, DeletionRejectsNegativeVersionsAndUnknownStreams) {
  Id stream = NewId();
  EXPECT_EQ(store_.DeleteStream(stream, 0).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_.DeleteStream(stream, 3).code(), absl::StatusCode::kNotFound);
  Append(stream, 1);
  EXPECT_EQ(store_.DeleteStream(stream, -1).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ReadStream(stream).size(), 1u);
}

TEST_F(MemoryStoreTest, IteratorsStillYieldEventsDeletedAfterTheirCreation) {
  Id stream = NewId();
  std::unique_ptr<EventIterator> written;
  ASSERT_TRUE(store_.Append(stream, Events(3), {}, &written).ok());
  absl::StatusOr<std::unique_ptr<EventIterator>> forward = store_.ReadStream(stream, {});
  absl::StatusOr<std::unique_ptr<EventIterator>> reverse = store_.ReadStream(stream, Reverse(0));
  absl::StatusOr<std::unique_ptr<EventIterator>> all = store_.ReadAll({});
  ASSERT_TRUE(forward.ok() && reverse.ok() && all.ok());
  ASSERT_TRUE(store_.DeleteStream(stream, 2).ok());
  absl::StatusOr<std::unique_ptr<EventIterator>> truncated = store_.ReadStream(stream, {});
  ASSERT_TRUE(truncated.ok());
  ASSERT_TRUE(store_.DeleteStream(stream, 0).ok());
  EXPECT_THAT(Data(Drain(*written)), ElementsAre("d1", "d2", "d3"));
  EXPECT_THAT(Versions(Drain(**forward)), ElementsAre(1, 2, 3));
  EXPECT_THAT(Versions(Drain(**reverse)), ElementsAre(3, 2, 1));
  EXPECT_THAT(Positions(Drain(**all)), ElementsAre(1, 2, 3));
  EXPECT_THAT(Versions(Drain(**truncated)), ElementsAre(3));
}

// ---------------------------------------------------------------------------
// Snapshots

TEST_F(MemoryStoreTest, NewestSnapshotIsTheHighestVersionThenTheLatestWritten) {
  Id id = NewId();
  ASSERT_TRUE(store_.WriteSnapshot(id, 3, Bytes("a"), "", 0).ok());
  ASSERT_TRUE(store_.WriteSnapshot(id, 7, Bytes("b"), "", 0).ok());
  ASSERT_TRUE(store_.WriteSnapshot(id, 7, Bytes("c"), "", 0).ok());
  ASSERT_TRUE(store_.WriteSnapshot(id, 5, Bytes("d"), "", 0).ok());
  absl::StatusOr<std::shared_ptr<const Snapshot>> newest = store_.ReadSnapshot(id, 0);
  ASSERT_TRUE(newest.ok());
  EXPECT_EQ((*newest)->version, 7);
  EXPECT_EQ((*newest)->data, "c");
  EXPECT_EQ((*store_.ReadSnapshot(id, 6))->data, "d");
  EXPECT_EQ((*store_.ReadSnapshot(id, 4))->data, "a");
  EXPECT_EQ((*store_.ReadSnapshot(id, 100))->data, "c");
  EXPECT_EQ(store_.ReadSnapshot(id, 2).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(MemoryStoreTest, SnapshotKeepsItsFieldsAndStampsMissingTimestamps) {
  Id id = NewId("order");
  const int64_t before = Env::Default()->NowNanos();
  ASSERT_TRUE(store_.WriteSnapshot(id, 1, Bytes("state"), "application/x", 0).ok());
  ASSERT_TRUE(store_.WriteSnapshot(id, 2, Bytes("later"), "", 12345).ok());
  std::shared_ptr<const Snapshot> first = *store_.ReadSnapshot(id, 1);
  EXPECT_EQ(first->aggregate_id, id);
  EXPECT_EQ(first->data, "state");
  EXPECT_EQ(first->content_type, "application/x");
  EXPECT_GE(first->timestamp_ns, before);
  EXPECT_EQ((*store_.ReadSnapshot(id, 0))->timestamp_ns, 12345);
}

TEST_F(MemoryStoreTest, SnapshotsNeedNoStreamAndAreKeyedByTypeAndUuid) {
  Id order = NewId("order");
  Id account{"account", order.uuid};
  ASSERT_TRUE(store_.WriteSnapshot(order, 1, Bytes("o"), "", 0).ok());
  EXPECT_EQ(ReadCode(order), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_.ReadSnapshot(account, 0).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ((*store_.ReadSnapshot(order, 0))->data, "o");
}

TEST_F(MemoryStoreTest, RejectsBadSnapshotArguments) {
  Id id = NewId();
  EXPECT_EQ(store_.WriteSnapshot(id, 0, {}, "", 0).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_.WriteSnapshot(id, -1, {}, "", 0).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_.WriteSnapshot(id, 1, {}, "", -1).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_.WriteSnapshot(id, 1, {}, std::string_view("a\0b", 3), 0).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_.ReadSnapshot(id, -1).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_.ReadSnapshot(id, 0).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(MemoryStoreTest, ASnapshotReadStaysValidAfterDeletion) {
  Id id = NewId();
  Append(id, 2);
  ASSERT_TRUE(store_.WriteSnapshot(id, 2, Bytes("kept"), "", 0).ok());
  std::shared_ptr<const Snapshot> snapshot = *store_.ReadSnapshot(id, 0);
  ASSERT_TRUE(store_.DeleteStream(id, 0).ok());
  EXPECT_EQ(snapshot->data, "kept");
}

// ---------------------------------------------------------------------------
// Close

TEST(MemoryStore, CloseMakesEveryLaterCallClosed) {
  MemoryStore store;
  Id id = NewId();
  ASSERT_TRUE(store.Append(id, Events(1), {}, nullptr).ok());
  EXPECT_TRUE(store.Sync().ok());
  store.Close();
  store.Close();  // idempotent
  auto closed = [](const absl::Status& s) { return s.code() == absl::StatusCode::kFailedPrecondition; };
  EXPECT_TRUE(closed(store.Append(id, Events(1), {}, nullptr).status()));
  EXPECT_TRUE(closed(store.ReadStream(id, {}).status()));
  EXPECT_TRUE(closed(store.ReadAll({}).status()));
  EXPECT_TRUE(closed(store.DeleteStream(id, 0)));
  EXPECT_TRUE(closed(store.WriteSnapshot(id, 1, {}, "", 0)));
  EXPECT_TRUE(closed(store.ReadSnapshot(id, 0).status()));
  EXPECT_TRUE(closed(store.Sync()));
  // Closed wins over invalid arguments: nothing is looked at.
  EXPECT_TRUE(closed(store.ReadStream(id, {Direction::kForward, -1, 0}).status()));
}

TEST(MemoryStore, IteratorsAndTheirViewsOutliveCloseAndTheStore) {
  auto store = std::make_unique<MemoryStore>();
  Id id = NewId();
  ASSERT_TRUE(store->Append(id, Events(3), {}, nullptr).ok());
  std::unique_ptr<EventIterator> it = *store->ReadStream(id, {});
  std::unique_ptr<EventIterator> all = *store->ReadAll({});
  EventView views[2];
  ASSERT_EQ(*it->Next(absl::MakeSpan(views)), 2u);
  store->Close();
  EXPECT_EQ(it->Next(absl::MakeSpan(views)).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(all->Next(absl::MakeSpan(views)).status().code(), absl::StatusCode::kFailedPrecondition);
  store.reset();
  // The views handed out before Close still point at live memory.
  EXPECT_EQ(Copy(views[0]).data, "d1");
  EXPECT_EQ(Copy(views[1]).version, 2);
  EXPECT_EQ(it->Next(absl::MakeSpan(views)).status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(MemoryStore, DestroyingTheStoreClosesItsIterators) {
  std::unique_ptr<EventIterator> it;
  {
    MemoryStore store;
    Id id = NewId();
    ASSERT_TRUE(store.Append(id, Events(1), {}, nullptr).ok());
    it = *store.ReadStream(id, {});
  }
  EventView view;
  EXPECT_EQ(it->Next(absl::MakeSpan(&view, 1)).status().code(), absl::StatusCode::kFailedPrecondition);
}

// ---------------------------------------------------------------------------
// EventBlock

TEST(EventBlock, BuildsRecordsWithPatchablePlaceholders) {
  Id stream = NewId("order");
  absl::StatusOr<std::shared_ptr<EventBlock>> block = EventBlock::Build(stream, Events(2), {false, 77});
  ASSERT_TRUE(block.ok()) << block.status();
  ASSERT_EQ((*block)->size(), 2u);
  EXPECT_EQ((*block)->view(0).version(), 0);
  (*block)->Patch(1, 12, 34);
  const fb::Event* e = (*block)->view(1).event();
  EXPECT_EQ(e->stream_version(), 12);
  EXPECT_EQ(e->global_position(), 34);
  EXPECT_EQ(e->timestamp_ns(), 77);
  EXPECT_EQ(e->stream_type()->str(), "order");
  EXPECT_GE((*block)->allocated_bytes(), (*block)->view(0).size + (*block)->view(1).size);
}

TEST(EventBlock, BuildsCompactRecordsOneRunPerPart) {
  const Id order = NewId("order");
  const Id account = NewId("account");
  BatchBuilder builder;
  ASSERT_TRUE(builder.Add("opened", Bytes("12345"), "text/plain").ok());
  ASSERT_TRUE(builder.AddMetadata("zeta", "z").ok());
  ASSERT_TRUE(builder.AddMetadata("alpha", "").ok());
  ASSERT_TRUE(builder.Add("noted", {}, "").ok());
  const WritableBatch two = *builder.Build();
  const WritableBatch one = Events(1);
  const EventBlock::Part parts[] = {{&order, &two, false}, {&account, &one, false}};
  EventBlock::BuildOptions options;
  options.format = RecordFormat::kCompact;
  options.now_ns = 77;
  options.header_room = 16;
  absl::StatusOr<std::shared_ptr<EventBlock>> block = EventBlock::Build(parts, options);
  ASSERT_TRUE(block.ok()) << block.status();
  const EventBlock& b = **block;
  ASSERT_EQ(b.size(), 3u);
  EXPECT_EQ(b.used_bytes() % 8, 0u);
  (*block)->Patch(1, 12, 34);
  const EventView first = b.view(0);
  const EventView second = b.view(1);
  const EventView third = b.view(2);
  EXPECT_TRUE(first.compact());
  EXPECT_EQ(first.type(), "opened");
  EXPECT_EQ(std::string_view(reinterpret_cast<const char*>(first.data().data()), first.data().size()), "12345");
  EXPECT_EQ(first.content_type(), "text/plain");
  std::vector<std::pair<std::string, std::string>> pairs;
  first.ForEachMetadata([&](const char* k, const char* v) { pairs.emplace_back(k, v); });
  EXPECT_EQ(pairs, (std::vector<std::pair<std::string, std::string>>{{"alpha", ""}, {"zeta", "z"}}));
  EXPECT_EQ(first.metadata_count(), 2u);
  EXPECT_EQ(first.timestamp_ns(), 77);
  EXPECT_EQ(first.id(), b.id(0));
  EXPECT_EQ(second.version(), 12);
  EXPECT_EQ(second.position(), 34);
  EXPECT_EQ(second.type(), "noted");
  EXPECT_EQ(second.content_type(), "");
  EXPECT_EQ(second.metadata_count(), 0u);
  EXPECT_EQ(first.stream_type(), "order");
  EXPECT_EQ(second.stream_type(), "order");
  EXPECT_EQ(second.stream_uuid(), order.uuid);
  EXPECT_EQ(third.stream_type(), "account");
  EXPECT_EQ(third.stream_uuid(), account.uuid);
  EXPECT_EQ(compact::RunHeader(first.bytes), compact::RunHeader(second.bytes));
  EXPECT_NE(compact::RunHeader(second.bytes), compact::RunHeader(third.bytes));
  // The block is its runs back to back after the header room, each checked whole.
  size_t at = 16;
  uint32_t records = 0;
  while (at < b.used_bytes()) {
    size_t size = 0;
    uint32_t count = 0;
    const absl::Status st = compact::CheckRun(absl::MakeConstSpan(b.data() + at, b.used_bytes() - at), &size, &count);
    ASSERT_TRUE(st.ok()) << st;
    at += size;
    records += count;
  }
  EXPECT_EQ(at, b.used_bytes());
  EXPECT_EQ(records, 3u);
}

TEST(EventBlock, LargeEventsFitTheirBound) {
  std::string big(3 << 20, 'x');
  BatchBuilder builder;
  ASSERT_TRUE(builder.Add("big", Bytes(big), std::string(300, 'c')).ok());
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(builder.AddMetadata("key" + std::to_string(i), "v").ok());
  absl::StatusOr<std::shared_ptr<EventBlock>> block = EventBlock::Build(NewId(), *builder.Build(), {false, 1});
  ASSERT_TRUE(block.ok()) << block.status();
  EXPECT_EQ((*block)->view(0).event()->data()->size(), big.size());
  EXPECT_EQ((*block)->view(0).event()->metadata()->size(), 50u);
}

// A builder's view and the batch it builds hold the same events, and build
// the same records byte for byte (ids and timestamps kept, so they agree).
TEST(EventBlock, ABuildersViewAndItsBytesBuildTheSameRecords) {
  BatchBuilder builder;
  ASSERT_TRUE(builder.Add("opened", Bytes("one"), "text/plain").ok());
  ASSERT_TRUE(builder.AddMetadata("zeta", "z").ok());
  ASSERT_TRUE(builder.AddMetadata("alpha", "a").ok());
  ASSERT_TRUE(builder.AddMetadata("mid", "").ok());
  ASSERT_TRUE(builder.SetId(Uuid::FromHiLo(0x0190f3c48d1e7000, 0x8000000000000001)).ok());
  ASSERT_TRUE(builder.SetTimestamp(1234).ok());
  ASSERT_TRUE(builder.Add("empty", {}, "").ok());
  ASSERT_TRUE(builder.SetTimestamp(99).ok());
  absl::StatusOr<WritableBatch> view = builder.View();
  absl::StatusOr<WritableBatch> built = builder.Build();
  ASSERT_TRUE(view.ok() && built.ok());
  EXPECT_TRUE(view->is_view());
  EXPECT_FALSE(built->is_view());
  ASSERT_EQ(view->event_count(), 2u);
  ASSERT_EQ(built->event_count(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    const BatchEvent a = view->event(i);
    const BatchEvent b = built->event(i);
    EXPECT_EQ(a.type, b.type);
    EXPECT_EQ(std::string_view(reinterpret_cast<const char*>(a.data.data()), a.data.size()),
              std::string_view(reinterpret_cast<const char*>(b.data.data()), b.data.size()));
    EXPECT_EQ(a.content_type, b.content_type);
    EXPECT_EQ(a.id, b.id);
    EXPECT_EQ(a.timestamp_ns, b.timestamp_ns);
    ASSERT_EQ(a.metadata_count, b.metadata_count);
    for (size_t j = 0; j < a.metadata_count; ++j) EXPECT_EQ(view->metadata(i, j), built->metadata(i, j));
  }
  EXPECT_EQ(view->metadata(0, 0).first, "alpha") << "pairs in key order whatever the order added";
  EXPECT_EQ(view->metadata(0, 2).first, "zeta");
  EXPECT_FALSE(view->event(1).id.has_value());

  const Id stream = NewId("order");
  absl::StatusOr<std::shared_ptr<EventBlock>> from_view = EventBlock::Build(stream, *view, {true, 7});
  absl::StatusOr<std::shared_ptr<EventBlock>> from_bytes = EventBlock::Build(stream, *built, {true, 7});
  ASSERT_TRUE(from_view.ok() && from_bytes.ok());
  // Only the second event's fresh ID differs: compare the first records whole.
  ASSERT_EQ((*from_view)->view(0).size, (*from_bytes)->view(0).size);
  EXPECT_EQ(std::memcmp((*from_view)->view(0).bytes, (*from_bytes)->view(0).bytes, (*from_view)->view(0).size), 0);
  EXPECT_EQ((*from_view)->view(1).timestamp_ns(), 99);
  EXPECT_EQ(BatchBuilder().View().status().code(), absl::StatusCode::kInvalidArgument) << "an empty builder";
}

// ---------------------------------------------------------------------------
// OpenStore

TEST(OpenStore, MemoryOpensAFreshPrivateStoreEachTime) {
  absl::StatusOr<std::shared_ptr<EventStore>> a = OpenStore("memory:", {});
  absl::StatusOr<std::shared_ptr<EventStore>> b = OpenStore("memory:", {});
  ASSERT_TRUE(a.ok() && b.ok());
  Id id = NewId();
  ASSERT_TRUE((*a)->Append(id, Events(1), {}, nullptr).ok());
  EXPECT_EQ((*b)->ReadStream(id, {}).status().code(), absl::StatusCode::kNotFound);
}

#if ESTORIA_WITH_POSTGRES
TEST(OpenStore, PostgresSchemesReachThePostgresStore) {
  // No server listens on a socket in a directory that does not exist: both
  // schemes get as far as connecting, and say so as an I/O failure.
  for (std::string_view uri : {"postgresql:///db?host=/nonexistent-estoria-dir&connect_timeout=2",
                               "postgres:///db?host=/nonexistent-estoria-dir&schema=s1&pool_size=2"}) {
    EXPECT_EQ(OpenStore(uri, {}).status().code(), absl::StatusCode::kUnavailable) << uri;
  }
  // Our own settings are checked before any connection is tried.
  for (std::string_view uri : {"postgresql:///db?pool_size=0", "postgresql:///db?pool_size=x",
                               "postgresql:///db?schema=a;drop", "postgresql:///db?schema=1abc",
                               "postgresql:///db?schema="}) {
    EXPECT_EQ(OpenStore(uri, {}).status().code(), absl::StatusCode::kInvalidArgument) << uri;
  }
}
#else
TEST(OpenStore, PostgresSchemesAreUnimplementedWithoutThePostgresStore) {
  for (std::string_view uri : {"postgresql:///db?host=/nonexistent-estoria-dir", "postgres://h/db?pool_size=0"}) {
    absl::Status status = OpenStore(uri, {}).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kUnimplemented) << uri;
    EXPECT_THAT(std::string(status.message()), ::testing::HasSubstr("-DESTORIA_WITH_POSTGRES=OFF")) << uri;
  }
}
#endif

TEST(OpenStore, RejectsEmptyUnknownAndMalformedUris) {
  for (std::string_view uri : {"", "redis://h", "memory:x", "memory:?a=b", "mem:"}) {
    EXPECT_EQ(OpenStore(uri, {}).status().code(), absl::StatusCode::kInvalidArgument) << uri;
  }
  StoreOptions read_only;
  read_only.read_only = true;
  EXPECT_EQ(OpenStore("memory:", read_only).status().code(), absl::StatusCode::kInvalidArgument);
  StoreOptions bad_mode;
  bad_mode.sync_mode = static_cast<SyncMode>(7);
  EXPECT_EQ(OpenStore("memory:", bad_mode).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace estoria::core

// Tests of the SDK's Store, Batch, StreamIterator, EventView and Snapshot
// against the real library (libestoria) on a "memory:" store.
#include "estoria/store.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "estoria/estoria.hpp"
#include "gtest/gtest.h"

namespace estoria {
namespace {

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<Store> s = Store::Open("memory:");
    ASSERT_TRUE(s.ok()) << s.error().ToString();
    store_ = std::move(s).value();
    account_ = NewId("account");
    order_ = NewId("order");
  }

  static Id NewId(std::string_view type) {
    Result<Id> id = Id::NewV7(type);
    EXPECT_TRUE(id.ok());
    return id.ok() ? *id : Id();
  }

  // Appends `n` events "e1".."en" of type "noted" to `stream`.
  void AppendNumbered(const Id& stream, int n, int first = 1) {
    Batch batch;
    for (int i = first; i < first + n; ++i) {
      ASSERT_TRUE(batch.Add("noted", "e" + std::to_string(i)).ok());
    }
    Result<AppendResult> r = store_.Append(stream, batch);
    ASSERT_TRUE(r.ok()) << r.error().ToString();
  }

  // The data of every event the iterator yields, checking it ended cleanly.
  static std::vector<std::string> Drain(StreamIterator& it) {
    std::vector<std::string> out;
    for (const EventView& e : it) out.emplace_back(e.data_string());
    EXPECT_TRUE(it.status().ok()) << it.status().error().ToString();
    return out;
  }

  Store store_;
  Id account_;
  Id order_;
};

TEST_F(StoreTest, AppendThenReadStreamReturnsEventsAsWritten) {
  Batch batch;
  const std::vector<uint8_t> payload = {0, 1, 2, 255};
  ASSERT_TRUE(batch.Add("opened", payload, "application/octet-stream")
                  .Metadata("user", "ana")
                  .Metadata("correlation", "c-17")
                  .ok());
  ASSERT_TRUE(batch.Add("deposited", std::string_view(R"({"amount":10})"), "application/json").ok());
  EXPECT_EQ(batch.size(), 2u);

  Result<AppendResult> ar = store_.Append(account_, batch, AppendOptions::ExpectNoStream());
  ASSERT_TRUE(ar.ok()) << ar.error().ToString();
  EXPECT_EQ(ar->first_version, 1);
  EXPECT_EQ(ar->last_version, 2);
  EXPECT_EQ(ar->actual_version, 2);
  EXPECT_GT(ar->first_position, 0);
  EXPECT_GT(ar->last_position, ar->first_position);

  Result<StreamIterator> it = store_.ReadStream(account_);
  ASSERT_TRUE(it.ok()) << it.error().ToString();
  const EventView* e = it->Next();
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->type(), "opened");
  EXPECT_EQ(std::vector<uint8_t>(e->data().begin(), e->data().end()), payload);
  EXPECT_EQ(e->content_type(), "application/octet-stream");
  EXPECT_EQ(e->stream_version(), 1);
  EXPECT_EQ(e->global_position(), ar->first_position);
  EXPECT_GT(e->timestamp_ns(), 0);
  EXPECT_EQ(e->stream_type(), "account");
  EXPECT_EQ(e->stream_uuid(), account_.uuid());
  EXPECT_EQ(e->stream_id(), account_);
  EXPECT_EQ(e->id().type(), "opened");
  EXPECT_EQ(e->id().uuid(), e->uuid());
  Result<std::vector<uint8_t>> fb = e->flatbuffer();
  ASSERT_TRUE(fb.ok());
  EXPECT_GT(fb->size(), e->data().size());
  // Metadata comes back sorted by key.
  ASSERT_EQ(e->metadata_count(), 2u);
  EXPECT_EQ(e->metadata(0), std::make_pair(std::string_view("correlation"), std::string_view("c-17")));
  EXPECT_EQ(e->metadata(1), std::make_pair(std::string_view("user"), std::string_view("ana")));
  EXPECT_EQ(e->metadata("user"), std::string_view("ana"));
  EXPECT_EQ(e->metadata("absent"), std::nullopt);

  e = it->Next();
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->type(), "deposited");
  EXPECT_EQ(e->data_string(), R"({"amount":10})");
  EXPECT_EQ(e->stream_version(), 2);
  EXPECT_EQ(e->metadata_count(), 0u);
  EXPECT_EQ(it->Next(), nullptr);
  EXPECT_EQ(it->Next(), nullptr);
  EXPECT_TRUE(it->status().ok());
}

TEST_F(StoreTest, RangeForVisitsEveryEventAcrossFetchBatches) {
  AppendNumbered(account_, 10);
  for (size_t batch_size : {size_t{1}, size_t{3}, size_t{10}, size_t{64}}) {
    ReadOptions options;
    options.batch_size = batch_size;
    Result<StreamIterator> it = store_.ReadStream(account_, options);
    ASSERT_TRUE(it.ok()) << it.error().ToString();
    std::vector<int64_t> versions;
    for (const EventView& e : *it) versions.push_back(e.stream_version());
    EXPECT_TRUE(it->status().ok());
    EXPECT_EQ(versions, (std::vector<int64_t>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10})) << "batch size " << batch_size;
  }
}

TEST_F(StoreTest, RangeForAfterABreakResumesAtTheEventItStoppedOn) {
  AppendNumbered(account_, 4);
  Result<StreamIterator> it = store_.ReadStream(account_);
  ASSERT_TRUE(it.ok());
  for (const EventView& e : *it) {
    if (e.stream_version() == 2) break;
  }
  const EventView* e = it->Next();
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->stream_version(), 2);
  EXPECT_EQ(Drain(*it), (std::vector<std::string>{"e3", "e4"}));
}

TEST_F(StoreTest, ReadOptionsBoundForwardAndReverseReads) {
  AppendNumbered(account_, 5);
  Result<StreamIterator> fwd = store_.ReadStream(account_, ReadOptions::Forward(2, 2));
  ASSERT_TRUE(fwd.ok());
  EXPECT_EQ(Drain(*fwd), (std::vector<std::string>{"e3", "e4"}));

  Result<StreamIterator> rev = store_.ReadStream(account_, ReadOptions::Reverse());
  ASSERT_TRUE(rev.ok());
  EXPECT_EQ(Drain(*rev), (std::vector<std::string>{"e5", "e4", "e3", "e2", "e1"}));

  Result<StreamIterator> rev_from = store_.ReadStream(account_, ReadOptions::Reverse(3, 2));
  ASSERT_TRUE(rev_from.ok());
  EXPECT_EQ(Drain(*rev_from), (std::vector<std::string>{"e3", "e2"}));

  // Past the tip: an empty iterator, not NOT_FOUND.
  Result<StreamIterator> past = store_.ReadStream(account_, ReadOptions::Forward(5));
  ASSERT_TRUE(past.ok());
  EXPECT_TRUE(Drain(*past).empty());
}

TEST_F(StoreTest, ReadsAsOfATimeStopAtTheFirstEventStampedLater) {
  // Stamps 1, 3, 2 (ns after t0): as of t0 + 2 the stream is version 1 only
  // (doc/data-model.md, "Reads as of a time").
  constexpr int64_t kT0 = 1'700'000'000'000'000'000;
  Batch batch;
  for (int64_t k : {1, 3, 2}) {
    ASSERT_TRUE(batch.Add("noted", "e" + std::to_string(k)).Timestamp(kT0 + k).ok());
  }
  ASSERT_TRUE(store_.Append(account_, batch, AppendOptions::Any().Restoring()).ok());
  ReadOptions as_of;
  as_of.until_timestamp_ns = kT0 + 2;
  Result<StreamIterator> it = store_.ReadStream(account_, as_of);
  ASSERT_TRUE(it.ok()) << it.error().ToString();
  EXPECT_EQ(Drain(*it), (std::vector<std::string>{"e1"}));
  as_of.until_timestamp_ns = kT0 + 3;
  it = store_.ReadStream(account_, as_of);
  ASSERT_TRUE(it.ok());
  EXPECT_EQ(Drain(*it), (std::vector<std::string>{"e1", "e3", "e2"}));
  ReadAllOptions all;
  all.until_timestamp_ns = kT0 + 2;
  it = store_.ReadAll(all);
  ASSERT_TRUE(it.ok());
  EXPECT_EQ(Drain(*it), (std::vector<std::string>{"e1"}));
  as_of.until_timestamp_ns = -1;
  EXPECT_EQ(store_.ReadStream(account_, as_of).error().code(), ErrorCode::kInvalidArgument);
}

TEST_F(StoreTest, ReadAllFollowsGlobalOrderAcrossStreams) {
  AppendNumbered(account_, 2, 1);
  AppendNumbered(order_, 2, 3);
  AppendNumbered(account_, 1, 5);
  Result<StreamIterator> all = store_.ReadAll();
  ASSERT_TRUE(all.ok()) << all.error().ToString();
  std::vector<std::string> data;
  int64_t last_position = 0;
  for (const EventView& e : *all) {
    EXPECT_GT(e.global_position(), last_position);
    last_position = e.global_position();
    data.emplace_back(e.data_string());
  }
  EXPECT_TRUE(all->status().ok());
  EXPECT_EQ(data, (std::vector<std::string>{"e1", "e2", "e3", "e4", "e5"}));

  ReadAllOptions after;
  after.after_position = last_position - 1;
  Result<StreamIterator> tail = store_.ReadAll(after);
  ASSERT_TRUE(tail.ok());
  EXPECT_EQ(Drain(*tail), (std::vector<std::string>{"e5"}));
}

TEST_F(StoreTest, ReadingAnUnknownStreamIsNotFoundWithAMessage) {
  Result<StreamIterator> it = store_.ReadStream(account_);
  ASSERT_FALSE(it.ok());
  EXPECT_TRUE(it.error().is_not_found());
  EXPECT_EQ(it.error().code(), ErrorCode::kNotFound);
  EXPECT_FALSE(it.error().message().empty());
}

TEST_F(StoreTest, BadStreamIdIsInvalidArgumentWithAMessage) {
  Batch batch;
  ASSERT_TRUE(batch.Add("noted", "x").ok());
  Result<AppendResult> r = store_.Append("not an id", batch);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_FALSE(r.error().message().empty());
  // A NUL inside a string_view is refused, not cut short.
  std::string with_nul = account_.str() + std::string(1, '\0') + "x";
  Result<AppendResult> nul = store_.Append(std::string_view(with_nul), batch);
  ASSERT_FALSE(nul.ok());
  EXPECT_EQ(nul.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_FALSE(store_.ReadStream(account_).ok());  // nothing was written
}

TEST_F(StoreTest, VersionMismatchCarriesExpectedAndActual) {
  AppendNumbered(account_, 2);
  Batch batch;
  ASSERT_TRUE(batch.Add("noted", "late").ok());

  Result<AppendResult> stale = store_.Append(account_, batch, AppendOptions::ExpectVersion(5));
  ASSERT_FALSE(stale.ok());
  EXPECT_TRUE(stale.error().is_version_mismatch());
  EXPECT_EQ(stale.error().expected_version(), 5);
  EXPECT_EQ(stale.error().actual_version(), 2);
  EXPECT_FALSE(stale.error().message().empty());

  Result<AppendResult> exists = store_.Append(account_, batch, AppendOptions::ExpectNoStream());
  ASSERT_FALSE(exists.ok());
  EXPECT_TRUE(exists.error().is_version_mismatch());
  EXPECT_EQ(exists.error().expected_version(), 0);
  EXPECT_EQ(exists.error().actual_version(), 2);

  // The stream is unchanged, and the right expectation succeeds.
  Result<AppendResult> fresh = store_.Append(account_, batch, AppendOptions::ExpectVersion(2));
  ASSERT_TRUE(fresh.ok()) << fresh.error().ToString();
  EXPECT_EQ(fresh->first_version, 3);
  EXPECT_EQ(fresh->actual_version, 3);
}

TEST_F(StoreTest, AppendCanReturnTheWrittenEvents) {
  Batch batch;
  ASSERT_TRUE(batch.Add("noted", "a").ok());
  ASSERT_TRUE(batch.Add("noted", "b").ok());
  StreamIterator written;
  Result<AppendResult> r = store_.Append(account_, batch, AppendOptions(), &written);
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  std::vector<int64_t> positions;
  for (const EventView& e : written) positions.push_back(e.global_position());
  EXPECT_TRUE(written.status().ok());
  EXPECT_EQ(positions, (std::vector<int64_t>{r->first_position, r->last_position}));
}

TEST_F(StoreTest, RestoreKeepsIdsTimestampsAndFirstVersion) {
  Result<Uuid> event_id = Uuid::NewV4();
  ASSERT_TRUE(event_id.ok());
  Batch batch;
  ASSERT_TRUE(batch.Add("imported", "x").Id(*event_id).Timestamp(1'700'000'000'000'000'000).ok());
  Result<AppendResult> r = store_.Append(account_, batch, AppendOptions::ExpectNoStream().Restoring(10));
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->first_version, 10);

  Result<StreamIterator> it = store_.ReadStream(account_);
  ASSERT_TRUE(it.ok());
  const EventView* e = it->Next();
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->uuid(), *event_id);
  EXPECT_EQ(e->timestamp_ns(), 1'700'000'000'000'000'000);
  EXPECT_EQ(e->stream_version(), 10);
}

TEST_F(StoreTest, DeleteWholeStreamMakesItNotFoundAndTruncationKeepsTheTip) {
  AppendNumbered(account_, 4);
  ASSERT_TRUE(store_.DeleteStream(account_, 2).ok());
  Result<StreamIterator> rest = store_.ReadStream(account_);
  ASSERT_TRUE(rest.ok());
  EXPECT_EQ(Drain(*rest), (std::vector<std::string>{"e3", "e4"}));

  // Truncated past the tip: empty but still at version 4.
  ASSERT_TRUE(store_.DeleteStream(account_, 10).ok());
  Batch batch;
  ASSERT_TRUE(batch.Add("noted", "e5").ok());
  Result<AppendResult> next = store_.Append(account_, batch, AppendOptions::ExpectVersion(4));
  ASSERT_TRUE(next.ok()) << next.error().ToString();
  EXPECT_EQ(next->first_version, 5);

  ASSERT_TRUE(store_.DeleteStream(account_).ok());
  Result<StreamIterator> gone = store_.ReadStream(account_);
  ASSERT_FALSE(gone.ok());
  EXPECT_TRUE(gone.error().is_not_found());

  Result<void> again = store_.DeleteStream(order_);
  ASSERT_FALSE(again.ok());
  EXPECT_TRUE(again.error().is_not_found());
}

TEST_F(StoreTest, SnapshotsRoundTripAndPickTheNewestAtOrBelowAVersion) {
  ASSERT_TRUE(store_.WriteSnapshot(account_, 3, std::string_view("three"), "text/plain", 123).ok());
  ASSERT_TRUE(store_.WriteSnapshot(account_, 7, std::string_view("seven")).ok());

  Result<Snapshot> newest = store_.ReadSnapshot(account_);
  ASSERT_TRUE(newest.ok()) << newest.error().ToString();
  EXPECT_EQ(newest->version(), 7);
  EXPECT_EQ(newest->data_string(), "seven");
  EXPECT_EQ(newest->content_type(), "");
  EXPECT_GT(newest->timestamp_ns(), 0);

  Result<Snapshot> older = store_.ReadSnapshot(account_, 6);
  ASSERT_TRUE(older.ok()) << older.error().ToString();
  EXPECT_EQ(older->version(), 3);
  EXPECT_EQ(older->data_string(), "three");
  EXPECT_EQ(older->content_type(), "text/plain");
  EXPECT_EQ(older->timestamp_ns(), 123);

  Result<Snapshot> none = store_.ReadSnapshot(order_);
  ASSERT_FALSE(none.ok());
  EXPECT_TRUE(none.error().is_not_found());

  Result<void> bad = store_.WriteSnapshot(account_, 0, std::string_view("zero"));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code(), ErrorCode::kInvalidArgument);
}

TEST_F(StoreTest, ClosingTheStoreEndsOpenIteratorsWithClosed) {
  AppendNumbered(account_, 3);
  ReadOptions one_at_a_time;
  one_at_a_time.batch_size = 1;
  Result<StreamIterator> it = store_.ReadStream(account_, one_at_a_time);
  ASSERT_TRUE(it.ok());
  ASSERT_NE(it->Next(), nullptr);
  store_.Close();
  EXPECT_FALSE(store_.is_open());
  EXPECT_EQ(it->Next(), nullptr);
  ASSERT_FALSE(it->status().ok());
  EXPECT_TRUE(it->status().error().is_closed());

  Result<StreamIterator> after = store_.ReadStream(account_);
  ASSERT_FALSE(after.ok());
  EXPECT_TRUE(after.error().is_closed());
}

TEST(Batch, SettersBeforeAnyEventAreInvalid) {
  Batch batch;
  Result<void> r = batch.AddMetadata("k", "v");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_FALSE(batch.SetTimestamp(1).ok());
  EXPECT_FALSE(batch.SetId(Uuid()).ok());
  EXPECT_TRUE(batch.empty());
}

TEST(Batch, ChainStopsAtTheFirstError) {
  Batch batch;
  BatchEvent r = batch.Add("noted", "x").Metadata("", "v").Metadata("k", "v");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(r.error().message().find("empty"), std::string::npos) << r.error().message();
  // The event itself was added; "k" was not, since the chain stopped.
  EXPECT_EQ(batch.size(), 1u);
  EXPECT_TRUE(batch.AddMetadata("k", "v").ok());
}

TEST(Batch, DuplicateKeysAndBadTypesAreInvalid) {
  Batch batch;
  EXPECT_FALSE(batch.Add("noted", "x").Metadata("k", "1").Metadata("k", "2").ok());
  Result<void> bad_type = batch.Add("_noted", "x");
  ASSERT_FALSE(bad_type.ok());
  EXPECT_EQ(bad_type.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_FALSE(batch.Add(std::string_view("no\0ted", 6), "x").ok());
  EXPECT_FALSE(batch.Add("noted", "x", std::string_view("text\0plain", 10)).ok());
  EXPECT_EQ(batch.size(), 1u);
}

TEST(Batch, EmptyBatchHasNoBytesAndCannotBeAppended) {
  Batch batch;
  EXPECT_FALSE(batch.Bytes().ok());
  Result<Store> store = Store::Open("memory:");
  ASSERT_TRUE(store.ok());
  Result<AppendResult> r = store->Append("account_0190f3c4-8d1e-7c3a-9b2f-5e6d7c8b9a01", batch);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
}

TEST(Batch, BytesAreAWritableEventBatch) {
  Batch batch;
  ASSERT_TRUE(batch.Add("noted", "x").ok());
  Result<std::span<const uint8_t>> bytes = batch.Bytes();
  ASSERT_TRUE(bytes.ok());
  ASSERT_GE(bytes->size(), 8u);
  EXPECT_EQ(std::string_view(reinterpret_cast<const char*>(bytes->data()) + 4, 4), "ESTB");
}

TEST(MovedFrom, StoreAnswersClosed) {
  Result<Store> opened = Store::Open("memory:");
  ASSERT_TRUE(opened.ok());
  Store a = std::move(opened).value();
  Store b = std::move(a);
  EXPECT_TRUE(b.is_open());
  EXPECT_FALSE(a.is_open());  // NOLINT(bugprone-use-after-move): the behaviour under test
  Batch batch;
  ASSERT_TRUE(batch.Add("noted", "x").ok());
  Result<AppendResult> r = a.Append("account_0190f3c4-8d1e-7c3a-9b2f-5e6d7c8b9a01", batch);  // NOLINT
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.error().is_closed());
  EXPECT_TRUE(a.ReadAll().error().is_closed());  // NOLINT
  EXPECT_TRUE(b.Append("account_0190f3c4-8d1e-7c3a-9b2f-5e6d7c8b9a01", batch).ok());
}

TEST(MovedFrom, BatchIsEmptyAndReusable) {
  Batch a;
  ASSERT_TRUE(a.Add("noted", "x").ok());
  Batch b = std::move(a);
  EXPECT_EQ(b.size(), 1u);
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move)
  EXPECT_FALSE(a.Bytes().ok());
  ASSERT_TRUE(a.Add("noted", "y").ok());
  EXPECT_EQ(a.size(), 1u);
  EXPECT_TRUE(b.Bytes().ok());
}

TEST(MovedFrom, IteratorYieldsNothingAndTheNewOwnerContinues) {
  Result<Store> store = Store::Open("memory:");
  ASSERT_TRUE(store.ok());
  Batch batch;
  ASSERT_TRUE(batch.Add("noted", "a").ok());
  ASSERT_TRUE(batch.Add("noted", "b").ok());
  ASSERT_TRUE(batch.Add("noted", "c").ok());
  ASSERT_TRUE(store->Append("account_0190f3c4-8d1e-7c3a-9b2f-5e6d7c8b9a01", batch).ok());
  Result<StreamIterator> it = store->ReadStream("account_0190f3c4-8d1e-7c3a-9b2f-5e6d7c8b9a01");
  ASSERT_TRUE(it.ok());
  const EventView* first = it->Next();
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(first->data_string(), "a");

  StreamIterator moved = std::move(*it);
  EXPECT_EQ(it->Next(), nullptr);  // NOLINT(bugprone-use-after-move)
  EXPECT_TRUE(it->status().ok());
  int n = 0;
  for (const EventView& e : *it) (void)e, ++n;
  EXPECT_EQ(n, 0);

  std::vector<std::string> rest;
  for (const EventView& e : moved) rest.emplace_back(e.data_string());
  EXPECT_EQ(rest, (std::vector<std::string>{"b", "c"}));  // "a" was taken by Next()
  EXPECT_TRUE(moved.status().ok());
}

TEST(MovedFrom, SnapshotReadsAsEmpty) {
  Result<Store> store = Store::Open("memory:");
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE(store->WriteSnapshot("account_0190f3c4-8d1e-7c3a-9b2f-5e6d7c8b9a01", 1, std::string_view("s")).ok());
  Result<Snapshot> snap = store->ReadSnapshot("account_0190f3c4-8d1e-7c3a-9b2f-5e6d7c8b9a01");
  ASSERT_TRUE(snap.ok());
  Snapshot owner = std::move(snap).value();
  EXPECT_EQ(owner.data_string(), "s");
  EXPECT_EQ(snap->version(), 0);  // NOLINT(bugprone-use-after-move)
  EXPECT_TRUE(snap->data().empty());
  EXPECT_EQ(snap->content_type(), "");
}

TEST(Store, UnknownSchemeIsInvalidArgumentWithAMessage) {
  Result<Store> s = Store::Open("nosuch://x");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_FALSE(s.error().message().empty());
}

}  // namespace
}  // namespace estoria

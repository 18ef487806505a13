// tests/acceptance/delete_test.cc: DeleteStream (doc/data-model.md
// "Deletion" and "Versions"): whole deletion,
// truncation with its kept tip, no-ops, NOT_FOUND and snapshot removal.
#include <map>
#include <string>
#include <vector>

#include "tests/acceptance/acceptance.h"

namespace estoria::acceptance {
namespace {

class DeleteTest : public Acceptance {
 protected:
  void SetUp() override {
    Acceptance::SetUp();
    if (HasFatalFailure()) return;
    stream_ = NewStreamId();
    events_ = AppendN(store_, stream_, 10);
  }

  void WriteSnapshot(const std::string& id, int64_t version, const std::string& data = "s") {
    ASSERT_EST_OK(est_snapshot_write(store_, id.c_str(), version, data.data(), data.size(), nullptr, nullptr));
  }

  // The version of the snapshot read with max_version, or the status when none.
  int64_t SnapshotAt(const std::string& id, int64_t max_version) {
    const SnapshotRead read = ReadSnapshot(store_, id, max_version);
    return read.status != EST_OK ? read.status : read.version;
  }

  std::string stream_;
  std::vector<Event> events_;
};
ESTORIA_ACCEPTANCE_SUITE(DeleteTest);

TEST_P(DeleteTest, WholeDeletionMakesTheStreamNotFoundEverywhere) {
  WriteSnapshot(stream_, 5);
  ASSERT_EST_OK(est_delete_stream(store_, stream_.c_str(), 0));
  EXPECT_EST(EST_ERR_NOT_FOUND, ReadStream(store_, stream_, EST_FORWARD).status);
  EXPECT_EST(EST_ERR_NOT_FOUND, ReadStream(store_, stream_, EST_REVERSE).status);
  EXPECT_TRUE(Everything().empty());
  EXPECT_REJECTED(EST_ERR_NOT_FOUND, est_delete_stream(store_, stream_.c_str(), 0));
  EXPECT_REJECTED(EST_ERR_NOT_FOUND, est_delete_stream(store_, stream_.c_str(), 3));
  EXPECT_EQ(SnapshotAt(stream_, 0), EST_ERR_NOT_FOUND) << "snapshots go with the stream";
  // Version 0 again: both expectations of "no stream" hold.
  est_append_options zero = ExpectVersion(0);
  AppendOutcome again = Append(store_, stream_, SimpleBatch(1), nullptr);
  ASSERT_EST_OK(again.status);
  EXPECT_EQ(again.result.first_version, 1);
  ASSERT_EST_OK(est_delete_stream(store_, stream_.c_str(), 0));
  ASSERT_EST_OK(Append(store_, stream_, SimpleBatch(1), &zero).status);
}

TEST_P(DeleteTest, WhollyDeletedStreamIsReusableFromVersionOne) {
  ASSERT_EST_OK(est_delete_stream(store_, stream_.c_str(), 0));
  est_append_options no_stream = ExpectNoStream();
  AppendOutcome out = Append(store_, stream_, SimpleBatch(2, "new"), &no_stream);
  ASSERT_EST_OK(out.status);
  EXPECT_EQ(out.result.first_version, 1);
  EXPECT_EQ(out.result.actual_version, 2);
  std::vector<Event> read = ReadStream(store_, stream_).events;
  ASSERT_EQ(Versions(read), Range(1, 2));
  EXPECT_EQ(read[0].data, "new1");
  EXPECT_NE(read[0].id, events_[0].id);
}

TEST_P(DeleteTest, TruncationRemovesUpToNAndLaterEventsKeepTheirVersions) {
  ASSERT_EST_OK(est_delete_stream(store_, stream_.c_str(), 4));
  std::vector<Event> read = ReadStream(store_, stream_).events;
  EXPECT_EQ(read, std::vector<Event>(events_.begin() + 4, events_.end()))
      << "later events keep their versions, ids and positions";
  EXPECT_EQ(Everything(), read);
}

TEST_P(DeleteTest, TruncationAtTheTipEmptiesTheStreamAndKeepsTheTip) {
  ASSERT_EST_OK(est_delete_stream(store_, stream_.c_str(), 10));
  ReadResult forward = ReadStream(store_, stream_);
  EXPECT_EST_OK(forward.status) << "a truncated-empty stream exists: empty iterator, not NOT_FOUND";
  EXPECT_TRUE(forward.events.empty());
  ReadResult reverse = ReadStream(store_, stream_, EST_REVERSE);
  EXPECT_EST_OK(reverse.status);
  EXPECT_TRUE(reverse.events.empty());
  EXPECT_TRUE(Everything().empty());

  est_append_options at_tip = ExpectVersion(10);
  AppendOutcome out = Append(store_, stream_, SimpleBatch(1), &at_tip);
  ASSERT_EST_OK(out.status);
  EXPECT_EQ(out.result.first_version, 11);
}

TEST_P(DeleteTest, TruncationPastTheTipEmptiesTheStreamAndKeepsTheTip) {
  ASSERT_EST_OK(est_delete_stream(store_, stream_.c_str(), 1000));
  ReadResult forward = ReadStream(store_, stream_);
  EXPECT_EST_OK(forward.status);
  EXPECT_TRUE(forward.events.empty());
  AppendOutcome out = Append(store_, stream_, SimpleBatch(1));
  ASSERT_EST_OK(out.status);
  EXPECT_EQ(out.result.first_version, 11) << "the tip stays 10, not 1000";
}

TEST_P(DeleteTest, ExpectNoStreamFailsOnATruncatedEmptyStream) {
  ASSERT_EST_OK(est_delete_stream(store_, stream_.c_str(), 10));
  est_append_options no_stream = ExpectNoStream();
  AppendOutcome out = Append(store_, stream_, SimpleBatch(1), &no_stream);
  EXPECT_EST(EST_ERR_VERSION_MISMATCH, out.status);
  EXPECT_EQ(out.result.actual_version, 10);
  est_append_options zero = ExpectVersion(0);
  AppendOutcome out0 = Append(store_, stream_, SimpleBatch(1), &zero);
  EXPECT_EST(EST_ERR_VERSION_MISMATCH, out0.status);
  EXPECT_EQ(out0.result.actual_version, 10);
  EXPECT_TRUE(ReadStream(store_, stream_).events.empty()) << "the failed appends changed nothing";

  AppendOutcome next = Append(store_, stream_, SimpleBatch(2));
  ASSERT_EST_OK(next.status);
  EXPECT_EQ(next.result.first_version, 11);
  EXPECT_EQ(next.result.last_version, 12);
  EXPECT_EQ(Versions(ReadStream(store_, stream_).events), Range(11, 12));
}

TEST_P(DeleteTest, TruncationAtOrBelowWhatIsGoneDoesNothing) {
  ASSERT_EST_OK(est_delete_stream(store_, stream_.c_str(), 6));
  const std::vector<Event> after_first = Everything();
  EXPECT_EST_OK(est_delete_stream(store_, stream_.c_str(), 6));
  EXPECT_EST_OK(est_delete_stream(store_, stream_.c_str(), 3));
  EXPECT_EST_OK(est_delete_stream(store_, stream_.c_str(), 1));
  EXPECT_EQ(Everything(), after_first);
  EXPECT_EQ(Versions(ReadStream(store_, stream_).events), Range(7, 10));
}

TEST_P(DeleteTest, TruncationOfAnEmptiedStreamDoesNothing) {
  ASSERT_EST_OK(est_delete_stream(store_, stream_.c_str(), 10));
  EXPECT_EST_OK(est_delete_stream(store_, stream_.c_str(), 5));
  EXPECT_EST_OK(est_delete_stream(store_, stream_.c_str(), 20));
  AppendOutcome out = Append(store_, stream_, SimpleBatch(1));
  ASSERT_EST_OK(out.status);
  EXPECT_EQ(out.result.first_version, 11);
}

TEST_P(DeleteTest, NegativeToVersionIsInvalidAndChangesNothing) {
  const std::vector<Event> before = Everything();
  EXPECT_INVALID(est_delete_stream(store_, stream_.c_str(), -1));
  EXPECT_INVALID(est_delete_stream(store_, stream_.c_str(), INT64_MIN));
  EXPECT_EQ(Everything(), before);
}

TEST_P(DeleteTest, NeverWrittenStreamIsNotFound) {
  const std::string missing = NewStreamId();
  EXPECT_REJECTED(EST_ERR_NOT_FOUND, est_delete_stream(store_, missing.c_str(), 0));
  EXPECT_REJECTED(EST_ERR_NOT_FOUND, est_delete_stream(store_, missing.c_str(), 5));
  EXPECT_EST(EST_ERR_NOT_FOUND, ReadStream(store_, missing).status) << "a failed delete creates nothing";
}

TEST_P(DeleteTest, WholeDeletionOfATruncatedEmptyStreamForgetsItsTip) {
  ASSERT_EST_OK(est_delete_stream(store_, stream_.c_str(), 10));
  ASSERT_EST_OK(est_delete_stream(store_, stream_.c_str(), 0));
  EXPECT_EST(EST_ERR_NOT_FOUND, ReadStream(store_, stream_).status);
  est_append_options no_stream = ExpectNoStream();
  AppendOutcome out = Append(store_, stream_, SimpleBatch(1), &no_stream);
  ASSERT_EST_OK(out.status);
  EXPECT_EQ(out.result.first_version, 1);
}

TEST_P(DeleteTest, DeletionIsByTypeAndUuid) {
  const std::string order = FormatId("order", UuidOf(stream_));
  AppendN(store_, order, 2);
  WriteSnapshot(order, 1);
  WriteSnapshot(stream_, 1);
  ASSERT_EST_OK(est_delete_stream(store_, order.c_str(), 0));
  EXPECT_EST(EST_ERR_NOT_FOUND, ReadStream(store_, order).status);
  EXPECT_EQ(ReadStream(store_, stream_).events, events_) << "account_X is untouched by deleting order_X";
  EXPECT_EQ(SnapshotAt(stream_, 0), 1);
  EXPECT_EQ(SnapshotAt(order, 0), EST_ERR_NOT_FOUND);
}

TEST_P(DeleteTest, TruncationToNRemovesSnapshotsBelowN) {
  for (int64_t v : {2, 4, 6, 9}) WriteSnapshot(stream_, v);
  ASSERT_EST_OK(est_delete_stream(store_, stream_.c_str(), 4));
  EXPECT_EQ(SnapshotAt(stream_, 3), EST_ERR_NOT_FOUND) << "the snapshot at 2 is gone";
  EXPECT_EQ(SnapshotAt(stream_, 4), 4) << "a snapshot at N itself stays";
  EXPECT_EQ(SnapshotAt(stream_, 5), 4);
  EXPECT_EQ(SnapshotAt(stream_, 0), 9);
}

TEST_P(DeleteTest, TruncationPastTheTipKeepsNoSnapshotBelowN) {
  for (int64_t v : {3, 10}) WriteSnapshot(stream_, v);
  ASSERT_EST_OK(est_delete_stream(store_, stream_.c_str(), 10));
  EXPECT_EQ(SnapshotAt(stream_, 0), 10);
  EXPECT_EQ(SnapshotAt(stream_, 9), EST_ERR_NOT_FOUND);
}

// Many deletions and truncations with global reads between some of them and
// not others: every read, and the store after a reopen, holds exactly the
// live events in global order, while an iterator opened before keeps its
// snapshot. More events go than the point at which the stores filter their
// global order at once (4096), and fewer between some reads.
TEST_P(DeleteTest, ManyDeletionsBetweenGlobalReadsLeaveExactlyTheLiveEvents) {
  if (!HasGlobalOrder()) GTEST_SKIP() << GetParam().name << " has no global order";
  constexpr int kStreams = 60;
  constexpr int kRounds = 10;  // of 10 events per stream, interleaved
  std::vector<std::string> ids;
  for (int i = 0; i < kStreams; ++i) ids.push_back(NewStreamId());
  for (int round = 0; round < kRounds; ++round) {
    for (const std::string& id : ids) ASSERT_EST_OK(Append(store_, id, SimpleBatch(10), nullptr).status);
  }
  const std::vector<Event> all = Everything();
  ASSERT_EQ(all.size(), static_cast<size_t>(10 + kStreams * 10 * kRounds));

  // first_live[stream] is the first version still there; absent: untouched;
  // past the tip: deleted or truncated empty.
  std::map<std::string, int64_t> first_live;
  auto expected = [&] {
    std::vector<Event> live;
    for (const Event& e : all) {
      auto it = first_live.find(FormatId(e.stream_type, e.stream_uuid));
      if (it == first_live.end() || e.stream_version >= it->second) live.push_back(e);
    }
    return live;
  };
  auto check = [&](const char* when) {
    const std::vector<Event> want = expected();
    EXPECT_EQ(Everything(), want) << when;
    est_stats stats = EST_STATS_INIT;
    ASSERT_EST_OK(est_store_stats(store_, &stats));
    EXPECT_EQ(stats.events, static_cast<int64_t>(want.size())) << when;
    EXPECT_EQ(stats.first_position, want.empty() ? 0 : want.front().global_position) << when;
  };

  est_iter* before = nullptr;
  ASSERT_EST_OK(est_read_all(store_, nullptr, &before));
  // 1. Truncate every stream a little, reading between some of them.
  for (int i = 0; i < kStreams; ++i) {
    ASSERT_EST_OK(est_delete_stream(store_, ids[i].c_str(), 5));
    first_live[ids[i]] = 6;
    if (i % 20 == 19) check("after a few truncations");
  }
  // 2. Then more than 4096 events in all without a read between.
  for (int i = 0; i < kStreams; ++i) {
    ASSERT_EST_OK(est_delete_stream(store_, ids[i].c_str(), 80));
    first_live[ids[i]] = 81;
  }
  check("after many truncations without a read");
  // 3. Whole deletions, a truncation past the tip, and appends among them.
  for (int i = 0; i < kStreams; i += 3) {
    ASSERT_EST_OK(est_delete_stream(store_, ids[i].c_str(), i % 2 == 0 ? 0 : 1000));
    first_live[ids[i]] = 1 << 30;
  }
  ASSERT_EST_OK(est_delete_stream(store_, stream_.c_str(), 4));
  first_live[stream_] = 5;
  check("after whole deletions");

  EXPECT_EQ(Drain(before), all) << "an iterator opened before the deletions reads what it began with";
  if (GetParam().persistent) {
    ReopenStore();
    check("after a reopen");
  }
}

}  // namespace
}  // namespace estoria::acceptance

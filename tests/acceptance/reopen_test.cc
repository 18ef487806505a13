// Persistence: a store closed and opened again reads back exactly what it
// held, deletions, truncations and snapshots included, and carries on (no
// version or position reused). Runs on the backends that persist.
#include <string>
#include <vector>

#include "tests/acceptance/acceptance.h"

namespace estoria::acceptance {
namespace {

class ReopenTest : public Acceptance {
 protected:
  void SetUp() override {
    if (!GetParam().persistent) GTEST_SKIP() << GetParam().name << " does not persist";
    Acceptance::SetUp();
  }

  SnapshotRead ReadSnapshot(const std::string& id, int64_t max_version) {
    return acceptance::ReadSnapshot(store_, id, max_version);
  }
};

TEST_P(ReopenTest, EverythingReadsBackIdenticallyAfterReopen) {
  const std::string kept = NewStreamId("account");
  const std::string truncated = NewStreamId("account");
  const std::string deleted = NewStreamId("order");
  const std::string restored = NewStreamId("import");

  Batch rich;
  NewEvent binary;
  binary.type = "opened";
  binary.data = std::string("\0\x01\xff binary \0 payload", 20);
  binary.content_type = "application/octet-stream";
  binary.metadata = {{"causation", "c-1"}, {"correlation", "x\ny"}};
  rich.Add(binary).Add("deposited", "{\"amount\":5}", "application/json").Add("noted", "", "");
  ASSERT_EST_OK(Append(store_, kept, rich.Bytes()).status);
  AppendN(store_, truncated, 6, "t");
  AppendN(store_, deleted, 3, "d");
  const est_append_options restore = Restore(100);
  ASSERT_EST_OK(Append(store_, restored, SimpleBatch(2, "r"), &restore).status);
  ASSERT_EST_OK(est_delete_stream(store_, truncated.c_str(), 4));
  ASSERT_EST_OK(est_delete_stream(store_, deleted.c_str(), 0));
  ASSERT_EST_OK(est_snapshot_write(store_, kept.c_str(), 2, "s2", 2, "text/plain", nullptr));
  ASSERT_EST_OK(est_snapshot_write(store_, kept.c_str(), 3, "s3", 2, nullptr, nullptr));
  ASSERT_EST_OK(est_snapshot_write(store_, truncated.c_str(), 5, "t5", 2, nullptr, nullptr));

  const std::vector<Event> all = Everything();
  const ReadResult kept_events = ReadStream(store_, kept);
  const ReadResult truncated_events = ReadStream(store_, truncated);
  const ReadResult restored_events = ReadStream(store_, restored, EST_REVERSE);
  const SnapshotRead snap_newest = ReadSnapshot(kept, 0);
  const SnapshotRead snap_at_2 = ReadSnapshot(kept, 2);
  const SnapshotRead snap_t = ReadSnapshot(truncated, 0);
  est_stats before = EST_STATS_INIT;
  ASSERT_EST_OK(est_store_stats(store_, &before));

  ReopenStore();

  EXPECT_EQ(Everything(), all);
  EXPECT_EQ(ReadStream(store_, kept).events, kept_events.events);
  EXPECT_EQ(ReadStream(store_, truncated).events, truncated_events.events);
  EXPECT_EQ(Versions(ReadStream(store_, truncated).events), Range(5, 6));
  EXPECT_EQ(ReadStream(store_, restored, EST_REVERSE).events, restored_events.events);
  EXPECT_EST(EST_ERR_NOT_FOUND, ReadStream(store_, deleted).status);
  EXPECT_EQ(ReadSnapshot(kept, 0), snap_newest);
  EXPECT_EQ(ReadSnapshot(kept, 2), snap_at_2);
  EXPECT_EQ(ReadSnapshot(truncated, 0), snap_t);
  EXPECT_EQ(ReadSnapshot(deleted, 0).status, EST_ERR_NOT_FOUND);
  est_stats after = EST_STATS_INIT;
  ASSERT_EST_OK(est_store_stats(store_, &after));
  EXPECT_EQ(after.events, before.events);
  EXPECT_EQ(after.streams, before.streams);
  EXPECT_EQ(after.snapshots, before.snapshots);
  EXPECT_EQ(after.first_position, before.first_position);
  EXPECT_EQ(after.last_position, before.last_position) << "a clean close gives back unused reservations";
}

TEST_P(ReopenTest, AppendsAfterReopenContinueVersionsAndPositions) {
  const std::string stream = NewStreamId();
  const std::string gone = NewStreamId();
  AppendN(store_, stream, 3);
  std::vector<Event> last = AppendN(store_, gone, 2);
  ASSERT_EST_OK(est_delete_stream(store_, gone.c_str(), 0));
  const int64_t last_position = last.back().global_position;

  ReopenStore();

  const est_append_options at_3 = ExpectVersion(3);
  AppendOutcome more = Append(store_, stream, SimpleBatch(2), &at_3);
  ASSERT_EST_OK(more.status);
  EXPECT_EQ(more.result.first_version, 4);
  EXPECT_GT(more.result.first_position, last_position) << "positions of deleted events are not reused";
  // The deleted stream's ID starts again at version 1.
  const est_append_options no_stream = ExpectNoStream();
  AppendOutcome again = Append(store_, gone, SimpleBatch(1), &no_stream);
  ASSERT_EST_OK(again.status);
  EXPECT_EQ(again.result.first_version, 1);

  ReopenStore();
  EXPECT_EQ(Versions(ReadStream(store_, stream).events), Range(1, 5));
  EXPECT_EQ(Versions(ReadStream(store_, gone).events), Range(1, 1));
}

TEST_P(ReopenTest, EveryDurabilityModeKeepsWhatWasWrittenAcrossACleanClose) {
  for (int32_t mode : {EST_SYNC_ALWAYS, EST_SYNC_INTERVAL, EST_SYNC_NONE}) {
    est_store_options options = EST_STORE_OPTIONS_INIT;
    options.sync_mode = mode;
    options.sync_interval_ms = 5;
    ReopenStore(&options);
    const std::string stream = NewStreamId();
    AppendN(store_, stream, 4);
    ASSERT_EST_OK(est_store_sync(store_));
    ReopenStore();
    EXPECT_EQ(Versions(ReadStream(store_, stream).events), Range(1, 4)) << "sync mode " << mode;
  }
}

TEST_P(ReopenTest, VerifyChecksTheWholeStoreAndReportsProgress) {
  AppendN(store_, NewStreamId(), 10);
  ASSERT_EST_OK(est_snapshot_write(store_, NewStreamId().c_str(), 1, "x", 1, nullptr, nullptr));
  struct Progress {
    int calls = 0;
    uint64_t done = 0, total = 0;
  } progress;
  est_verify_report report = EST_VERIFY_REPORT_INIT;
  ASSERT_EST_OK(est_store_verify(
      store_,
      [](void* user, uint64_t done, uint64_t total) {
        auto* p = static_cast<Progress*>(user);
        ++p->calls;
        p->done = done;
        p->total = total;
      },
      &progress, &report));
  EXPECT_EQ(report.events, 10);
  EXPECT_EQ(report.records, 2);
  EXPECT_GE(report.segments, 1);
  EXPECT_GT(progress.calls, 0);
  EXPECT_EQ(progress.done, progress.total);
  EXPECT_EQ(static_cast<int64_t>(progress.total), report.bytes);
}

ESTORIA_ACCEPTANCE_SUITE(ReopenTest);

}  // namespace
}  // namespace estoria::acceptance

// tests/acceptance/checkpoint_test.cc: projection checkpoints
// (est_checkpoint_*, est_txn_checkpoint; doc/data-model.md "Checkpoints"),
// Estoria's checkpoint store semantics on every backend: NOT_FOUND when
// none, last write wins, updated_at advances on every save (also at an
// unchanged position), delete and delete of none, projection ID rules, bad
// input that changes nothing, saves inside a transaction (all or nothing
// with its appends), across a reopen, and through a compaction.
#define EST_EXPERIMENTAL 1
#include <string>
#include <utility>
#include <vector>

#include "tests/acceptance/acceptance.h"

namespace estoria::acceptance {
namespace {

class CheckpointTest : public Acceptance {
 protected:
  struct Loaded {
    est_status status = EST_OK;
    int64_t position = -1;
    int64_t updated_at_ns = -1;
  };
  Loaded Load(const std::string& id) {
    Loaded out;
    out.status = est_checkpoint_load(store_, id.c_str(), &out.position, &out.updated_at_ns);
    return out;
  }
  // Every checkpoint as est_checkpoint_list gives them.
  std::vector<std::pair<std::string, int64_t>> List() {
    std::vector<std::pair<std::string, int64_t>> all;
    EXPECT_EST_OK(est_checkpoint_list(
        store_,
        [](void* user, const char* id, int64_t position, int64_t updated_at_ns) -> est_status {
          EXPECT_GT(updated_at_ns, 0);
          static_cast<std::vector<std::pair<std::string, int64_t>>*>(user)->emplace_back(id, position);
          return EST_OK;
        },
        &all));
    return all;
  }
};
ESTORIA_ACCEPTANCE_SUITE(CheckpointTest);

// A projection ID no other test (or earlier run on a shared server) used.
std::string NewProjectionId(const std::string& name = "p") {
  std::string uuid = UuidText(NewUuidV4());
  std::string suffix;
  for (char c : uuid) {
    if (c != '-') suffix.push_back(c);
  }
  return name + "_" + suffix.substr(0, 12) + "_v1";
}

TEST_P(CheckpointTest, ANeverSavedProjectionIsNotFound) {
  const std::string id = NewProjectionId();
  const Loaded got = Load(id);
  EXPECT_REJECTED(EST_ERR_NOT_FOUND, got.status);
  EXPECT_EQ(got.position, -1);  // outputs untouched
  EXPECT_EQ(got.updated_at_ns, -1);
}

TEST_P(CheckpointTest, RoundTripsAndTheStoreStampsUpdatedAt) {
  const std::string id = NewProjectionId();
  const int64_t before = NowNs();
  ASSERT_EST_OK(est_checkpoint_save(store_, id.c_str(), 42));
  const Loaded got = Load(id);
  ASSERT_EST_OK(got.status);
  EXPECT_EQ(got.position, 42);
  // The store's clock: near ours (a PostgreSQL server on this host shares it).
  EXPECT_GT(got.updated_at_ns, before - 5'000'000'000);
  EXPECT_LT(got.updated_at_ns, NowNs() + 5'000'000'000);
  int64_t position = -1;
  EXPECT_EST_OK(est_checkpoint_load(store_, id.c_str(), &position, nullptr));  // updated_at NULL ok
  EXPECT_EQ(position, 42);
}

TEST_P(CheckpointTest, LastWriteWinsAlsoToALowerPosition) {
  const std::string id = NewProjectionId();
  ASSERT_EST_OK(est_checkpoint_save(store_, id.c_str(), 10));
  ASSERT_EST_OK(est_checkpoint_save(store_, id.c_str(), 5));
  EXPECT_EQ(Load(id).position, 5);
  ASSERT_EST_OK(est_checkpoint_save(store_, id.c_str(), 0));
  EXPECT_EQ(Load(id).position, 0);
}

TEST_P(CheckpointTest, EverySaveAdvancesUpdatedAtAlsoAtAnUnchangedPosition) {
  const std::string id = NewProjectionId();
  int64_t last = 0;
  for (int i = 0; i < 20; ++i) {  // back to back: faster than some clocks tick
    ASSERT_EST_OK(est_checkpoint_save(store_, id.c_str(), 7));
    const Loaded got = Load(id);
    ASSERT_EST_OK(got.status);
    EXPECT_EQ(got.position, 7);
    EXPECT_GT(got.updated_at_ns, last) << "save " << i;
    last = got.updated_at_ns;
  }
}

TEST_P(CheckpointTest, IdsAreSeparateVersionsIncluded) {
  const std::string base = "sep_" + NewProjectionId().substr(2, 12);
  const std::string v1 = base + "_v1", v2 = base + "_v2", other = NewProjectionId();
  ASSERT_EST_OK(est_checkpoint_save(store_, v1.c_str(), 10));
  ASSERT_EST_OK(est_checkpoint_save(store_, v2.c_str(), 3));
  ASSERT_EST_OK(est_checkpoint_save(store_, other.c_str(), 99));
  EXPECT_EQ(Load(v1).position, 10);
  EXPECT_EQ(Load(v2).position, 3);
  EXPECT_EQ(Load(other).position, 99);
}

TEST_P(CheckpointTest, DeleteRemovesAndDeleteOfNoneIsNotFound) {
  const std::string id = NewProjectionId();
  EXPECT_REJECTED(EST_ERR_NOT_FOUND, est_checkpoint_delete(store_, id.c_str()));
  ASSERT_EST_OK(est_checkpoint_save(store_, id.c_str(), 12));
  ASSERT_EST_OK(est_checkpoint_delete(store_, id.c_str()));
  EXPECT_REJECTED(EST_ERR_NOT_FOUND, Load(id).status);
  EXPECT_REJECTED(EST_ERR_NOT_FOUND, est_checkpoint_delete(store_, id.c_str()));
  ASSERT_EST_OK(est_checkpoint_save(store_, id.c_str(), 1));  // saved again after a delete
  EXPECT_EQ(Load(id).position, 1);
}

TEST_P(CheckpointTest, ListGivesEveryCheckpointInIdOrderAndStopsWhenTheCallbackSaysSo) {
  const std::string a = "list_a_" + NewProjectionId().substr(2, 12) + "_v1";
  const std::string b = "list_b_" + NewProjectionId().substr(2, 12) + "_v1";
  ASSERT_EST_OK(est_checkpoint_save(store_, b.c_str(), 2));
  ASSERT_EST_OK(est_checkpoint_save(store_, a.c_str(), 1));
  std::vector<std::pair<std::string, int64_t>> mine;
  for (const auto& entry : List()) {
    if (entry.first == a || entry.first == b) mine.push_back(entry);
  }
  EXPECT_EQ(mine, (std::vector<std::pair<std::string, int64_t>>{{a, 1}, {b, 2}}));
  int calls = 0;
  EXPECT_REJECTED(EST_ERR_INTERNAL, est_checkpoint_list(
                                        store_,
                                        [](void* user, const char*, int64_t, int64_t) -> est_status {
                                          ++*static_cast<int*>(user);
                                          return EST_ERR_INTERNAL;
                                        },
                                        &calls));
  EXPECT_EQ(calls, 1);
  EXPECT_INVALID(est_checkpoint_list(store_, nullptr, nullptr));
}

TEST_P(CheckpointTest, ProjectionIdsFollowEstoriasRules) {
  const std::string name40(40, 'a');
  EXPECT_EST_OK(est_checkpoint_save(store_, (name40 + "_v1").c_str(), 1));
  EXPECT_EST_OK(est_checkpoint_save(store_, "a1_b2_v12", 1));
  for (const std::string& bad : {std::string(41, 'a') + "_v1", std::string("Orders_v1"), std::string("1orders_v1"),
                                std::string("orders__v1"), std::string("ord-ers_v1"), std::string("orders"),
                                std::string("orders_v0"), std::string("orders_v01"), std::string("orders_v-1"),
                                std::string("orders_vx"), std::string(""), std::string("_v1")}) {
    EXPECT_INVALID(est_checkpoint_save(store_, bad.c_str(), 1)) << bad;
    EXPECT_INVALID(Load(bad).status) << bad;
    EXPECT_INVALID(est_checkpoint_delete(store_, bad.c_str())) << bad;
  }
}

TEST_P(CheckpointTest, BadInputIsRefusedAndChangesNothing) {
  const std::string id = NewProjectionId();
  ASSERT_EST_OK(est_checkpoint_save(store_, id.c_str(), 5));
  const Loaded before = Load(id);
  EXPECT_INVALID(est_checkpoint_save(store_, id.c_str(), -1));
  EXPECT_INVALID(est_checkpoint_save(store_, nullptr, 1));
  EXPECT_INVALID(est_checkpoint_save(nullptr, id.c_str(), 1));
  EXPECT_INVALID(est_checkpoint_load(store_, id.c_str(), nullptr, nullptr));
  EXPECT_INVALID(est_checkpoint_load(store_, nullptr, nullptr, nullptr));
  EXPECT_INVALID(est_checkpoint_delete(store_, nullptr));
  EXPECT_INVALID(est_checkpoint_delete(nullptr, id.c_str()));
  const Loaded after = Load(id);
  EXPECT_EQ(after.position, before.position);
  EXPECT_EQ(after.updated_at_ns, before.updated_at_ns);
}

TEST_P(CheckpointTest, AClosedStoreIsClosed) {
  const std::string id = NewProjectionId();
  est_txn* txn = nullptr;
  ASSERT_EST_OK(est_txn_new(store_, &txn));
  CloseStore();
  // The handle itself is gone after est_store_close; only its children remain.
  EXPECT_REJECTED(EST_ERR_CLOSED, est_txn_checkpoint(txn, id.c_str(), 1));
  est_txn_free(txn);
}

TEST_P(CheckpointTest, ATransactionSavesWithItsAppends) {
  const std::string stream = NewStreamId();
  const std::string id = NewProjectionId();
  est_txn* txn = nullptr;
  ASSERT_EST_OK(est_txn_new(store_, &txn));
  Batch batch;
  batch.Add("opened", "x");
  ASSERT_EST_OK(est_txn_append(txn, stream.c_str(), batch.get(), nullptr));
  ASSERT_EST_OK(est_txn_checkpoint(txn, id.c_str(), 1));
  ASSERT_EST_OK(est_txn_checkpoint(txn, id.c_str(), 2));  // the last save of an ID wins
  est_append_result result = EST_APPEND_RESULT_INIT;
  ASSERT_EST_OK(est_txn_commit(txn, &result, 1));
  EXPECT_EQ(ReadStream(store_, stream).events.size(), 1u);
  EXPECT_EQ(Load(id).position, 2);
  est_txn_free(txn);
}

TEST_P(CheckpointTest, AFailedExpectationSavesNoCheckpointEither) {
  const std::string stream = NewStreamId();
  const std::string id = NewProjectionId();
  const std::string fresh = NewProjectionId();
  AppendN(store_, stream, 2);
  ASSERT_EST_OK(est_checkpoint_save(store_, id.c_str(), 1));
  const Loaded before = Load(id);
  const std::vector<Event> everything = Everything();

  est_txn* txn = nullptr;
  ASSERT_EST_OK(est_txn_new(store_, &txn));
  Batch batch;
  batch.Add("deposited", "y");
  est_append_options stale = EST_APPEND_OPTIONS_INIT;
  stale.expect = EST_EXPECT_VERSION;
  stale.expected_version = 1;  // the stream is at 2
  ASSERT_EST_OK(est_txn_append(txn, stream.c_str(), batch.get(), &stale));
  ASSERT_EST_OK(est_txn_checkpoint(txn, id.c_str(), 9));
  ASSERT_EST_OK(est_txn_checkpoint(txn, fresh.c_str(), 9));
  EXPECT_REJECTED(EST_ERR_VERSION_MISMATCH, est_txn_commit(txn, nullptr, 0));
  est_txn_free(txn);

  EXPECT_EQ(Everything(), everything);
  const Loaded after = Load(id);
  EXPECT_EQ(after.position, 1);
  EXPECT_EQ(after.updated_at_ns, before.updated_at_ns);
  EXPECT_REJECTED(EST_ERR_NOT_FOUND, Load(fresh).status);
}

TEST_P(CheckpointTest, ATransactionOfOnlyCheckpointsCommits) {
  const std::string a = NewProjectionId(), b = NewProjectionId();
  est_txn* txn = nullptr;
  ASSERT_EST_OK(est_txn_new(store_, &txn));
  ASSERT_EST_OK(est_txn_checkpoint(txn, a.c_str(), 3));
  ASSERT_EST_OK(est_txn_checkpoint(txn, b.c_str(), 4));
  EXPECT_INVALID(est_txn_checkpoint(txn, "Bad_v1", 4));
  EXPECT_INVALID(est_txn_checkpoint(txn, a.c_str(), -4));
  EXPECT_INVALID(est_txn_checkpoint(nullptr, a.c_str(), 4));
  ASSERT_EST_OK(est_txn_commit(txn, nullptr, 0));
  EXPECT_EQ(Load(a).position, 3);
  EXPECT_EQ(Load(b).position, 4);
  est_txn_free(txn);
}

TEST_P(CheckpointTest, ARetriedTransactionStillSavesItsCheckpoint) {
  // The appends are duplicates (idempotent retry): nothing is appended
  // again, but the checkpoint save is a save, stamped anew.
  const std::string stream = NewStreamId();
  const std::string id = NewProjectionId();
  const est_uuid event_id = NewUuidV7();
  for (int round = 0; round < 2; ++round) {
    est_txn* txn = nullptr;
    ASSERT_EST_OK(est_txn_new(store_, &txn));
    Batch batch;
    NewEvent e;
    e.data = "once";
    e.has_id = true;
    e.id = event_id;
    batch.Add(e);
    ASSERT_EST_OK(est_txn_append(txn, stream.c_str(), batch.get(), nullptr));
    ASSERT_EST_OK(est_txn_checkpoint(txn, id.c_str(), 10 + round));
    est_append_result result = EST_APPEND_RESULT_INIT;
    ASSERT_EST_OK(est_txn_commit(txn, &result, 1));
    EXPECT_EQ((result.flags & EST_APPEND_DUPLICATE) != 0, round == 1);
    est_txn_free(txn);
  }
  EXPECT_EQ(ReadStream(store_, stream).events.size(), 1u);
  EXPECT_EQ(Load(id).position, 11);
}

TEST_P(CheckpointTest, CheckpointsSurviveReopen) {
  if (!GetParam().persistent) GTEST_SKIP() << GetParam().name << " does not persist";
  const std::string kept = NewProjectionId(), deleted = NewProjectionId(), in_txn = NewProjectionId();
  const std::string stream = NewStreamId();
  ASSERT_EST_OK(est_checkpoint_save(store_, kept.c_str(), 1));
  ASSERT_EST_OK(est_checkpoint_save(store_, kept.c_str(), 17));
  ASSERT_EST_OK(est_checkpoint_save(store_, deleted.c_str(), 5));
  ASSERT_EST_OK(est_checkpoint_delete(store_, deleted.c_str()));
  est_txn* txn = nullptr;
  ASSERT_EST_OK(est_txn_new(store_, &txn));
  Batch batch;
  batch.Add("opened");
  ASSERT_EST_OK(est_txn_append(txn, stream.c_str(), batch.get(), nullptr));
  ASSERT_EST_OK(est_txn_checkpoint(txn, in_txn.c_str(), 33));
  ASSERT_EST_OK(est_txn_commit(txn, nullptr, 0));
  est_txn_free(txn);
  const Loaded kept_before = Load(kept);

  ReopenStore();
  const Loaded kept_after = Load(kept);
  ASSERT_EST_OK(kept_after.status);
  EXPECT_EQ(kept_after.position, 17);
  EXPECT_EQ(kept_after.updated_at_ns, kept_before.updated_at_ns);
  EXPECT_REJECTED(EST_ERR_NOT_FOUND, Load(deleted).status);
  EXPECT_EQ(Load(in_txn).position, 33);
  EXPECT_EQ(ReadStream(store_, stream).events.size(), 1u);
  // Stamps keep advancing past what was stored.
  ASSERT_EST_OK(est_checkpoint_save(store_, kept.c_str(), 17));
  EXPECT_GT(Load(kept).updated_at_ns, kept_before.updated_at_ns);

  // A read-only handle sees them too.
  est_store* reader = nullptr;
  est_store_options ro = EST_STORE_OPTIONS_INIT;
  ro.read_only = 1;
  ASSERT_EST_OK(est_store_open(uri_.c_str(), &ro, &reader));
  int64_t position = -1;
  EXPECT_EST_OK(est_checkpoint_load(reader, in_txn.c_str(), &position, nullptr));
  EXPECT_EQ(position, 33);
  // It follows the writer: saves and deletes made after it opened.
  ASSERT_EST_OK(est_checkpoint_save(store_, in_txn.c_str(), 34));
  ASSERT_EST_OK(est_checkpoint_delete(store_, kept.c_str()));
  EXPECT_EST_OK(est_checkpoint_load(reader, in_txn.c_str(), &position, nullptr));
  EXPECT_EQ(position, 34);
  EXPECT_REJECTED(EST_ERR_NOT_FOUND, est_checkpoint_load(reader, kept.c_str(), &position, nullptr));
  // and writes nothing itself.
  EXPECT_NE(est_checkpoint_save(reader, in_txn.c_str(), 1), EST_OK);
  EXPECT_NE(est_checkpoint_delete(reader, in_txn.c_str()), EST_OK);
  est_store_close(reader);
  EXPECT_EQ(Load(in_txn).position, 34);
}

TEST_P(CheckpointTest, CompactionKeepsTheLatestOfEachAndDropsDeletedOnes) {
  if (GetParam().name == "postgres") GTEST_SKIP() << "PostgreSQL has no compaction";
  const std::string kept = NewProjectionId(), deleted = NewProjectionId();
  const std::string stream = NewStreamId();
  for (int i = 1; i <= 50; ++i) ASSERT_EST_OK(est_checkpoint_save(store_, kept.c_str(), i));
  ASSERT_EST_OK(est_checkpoint_save(store_, deleted.c_str(), 5));
  ASSERT_EST_OK(est_checkpoint_delete(store_, deleted.c_str()));
  AppendN(store_, stream, 3);
  ASSERT_EST_OK(est_delete_stream(store_, stream.c_str(), 2));
  const Loaded before = Load(kept);
  est_compact_report report = EST_COMPACT_REPORT_INIT;
  ASSERT_EST_OK(est_store_compact(store_, nullptr, nullptr, &report));
  EXPECT_EQ(Load(kept).position, 50);
  EXPECT_EQ(Load(kept).updated_at_ns, before.updated_at_ns);
  EXPECT_REJECTED(EST_ERR_NOT_FOUND, Load(deleted).status);
  if (GetParam().persistent) {
    EXPECT_LT(report.bytes_after, report.bytes_before);  // the superseded saves are gone
    ReopenStore();
    const Loaded reopened = Load(kept);
    EXPECT_EQ(reopened.position, 50);
    EXPECT_EQ(reopened.updated_at_ns, before.updated_at_ns);
    EXPECT_REJECTED(EST_ERR_NOT_FOUND, Load(deleted).status);
    ASSERT_EST_OK(est_checkpoint_save(store_, deleted.c_str(), 6));
    EXPECT_EQ(Load(deleted).position, 6);
  }
}

}  // namespace
}  // namespace estoria::acceptance

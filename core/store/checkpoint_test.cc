// Projection checkpoints on the core API: Estoria's projection ID rules
// (store_checks.h) and the memory store's checkpoints, alone and inside a
// Transaction (doc/data-model.md "Checkpoints"). Every backend is tested
// through the C ABI in tests/acceptance/checkpoint_test.cc.
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "core/id/id.h"
#include "core/id/uuid.h"
#include "core/store/event_store.h"
#include "core/store/memory_store.h"
#include "core/store/store_checks.h"
#include "core/store/transaction.h"
#include "core/store/writable_batch.h"
#include "gtest/gtest.h"

namespace estoria::core {
namespace {

TEST(ProjectionId, AcceptsEstoriasCanonicalForm) {
  for (const char* id : {"orders_v1", "o_v7", "a1_b2_v12", "my_view_v2_v3", "x_v999999999999999999"}) {
    EXPECT_TRUE(CheckProjectionId(id).ok()) << id;
  }
  EXPECT_TRUE(CheckProjectionId(std::string(40, 'a') + "_v1").ok());
}

TEST(ProjectionId, RefusesWhatEstoriasValidateRefuses) {
  for (const char* id : {"", "orders", "orders_v", "orders_v0", "orders_v01", "orders_v-1", "orders_v1x",
                         "Orders_v1", "1orders_v1", "_orders_v1", "orders__v1", "ord-ers_v1", "ord ers_v1",
                         "_v1", "orders_v+1", "x_v9999999999999999999"}) {
    EXPECT_EQ(CheckProjectionId(id).code(), absl::StatusCode::kInvalidArgument) << id;
  }
  EXPECT_EQ(CheckProjectionId(std::string(41, 'a') + "_v1").code(), absl::StatusCode::kInvalidArgument);
}

TEST(ProjectionId, MakeFormatsNameAndVersion) {
  EXPECT_EQ(*MakeProjectionId("orders", 7), "orders_v7");
  EXPECT_EQ(MakeProjectionId("orders", 0).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(MakeProjectionId("Orders", 1).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(MakeProjectionId("orders_", 1).status().code(), absl::StatusCode::kInvalidArgument);
}

WritableBatch OneEvent() {
  BatchBuilder builder;
  const uint8_t data[] = {1};
  EXPECT_TRUE(builder.Add("e", absl::MakeConstSpan(data), "").ok());
  return *builder.Build();
}

Id NewStream() { return Id{"account", *NewUuidV4()}; }

TEST(MemoryStoreCheckpoints, LastWriteWinsAndEverySaveAdvancesUpdatedAt) {
  MemoryStore store;
  EXPECT_EQ(store.LoadCheckpoint("orders_v1").status().code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE(store.SaveCheckpoint("orders_v1", 10).ok());
  Checkpoint first = *store.LoadCheckpoint("orders_v1");
  EXPECT_EQ(first.projection_id, "orders_v1");
  EXPECT_EQ(first.position, 10);
  EXPECT_GT(first.updated_at_ns, 0);
  ASSERT_TRUE(store.SaveCheckpoint("orders_v1", 10).ok());  // unchanged position
  Checkpoint second = *store.LoadCheckpoint("orders_v1");
  EXPECT_GT(second.updated_at_ns, first.updated_at_ns);
  ASSERT_TRUE(store.SaveCheckpoint("orders_v1", 3).ok());  // lower: still wins
  EXPECT_EQ(store.LoadCheckpoint("orders_v1")->position, 3);
  ASSERT_TRUE(store.SaveCheckpoint("orders_v2", 0).ok());
  std::vector<Checkpoint> all = *store.ListCheckpoints();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].projection_id, "orders_v1");
  EXPECT_EQ(all[1].projection_id, "orders_v2");
  ASSERT_TRUE(store.DeleteCheckpoint("orders_v1").ok());
  EXPECT_EQ(store.LoadCheckpoint("orders_v1").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store.DeleteCheckpoint("orders_v1").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store.LoadCheckpoint("orders_v2")->position, 0);
}

TEST(MemoryStoreCheckpoints, BadInputChangesNothing) {
  MemoryStore store;
  EXPECT_EQ(store.SaveCheckpoint("orders_v1", -1).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store.SaveCheckpoint("Orders_v1", 1).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store.DeleteCheckpoint("orders").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(store.ListCheckpoints()->empty());
  store.Close();
  EXPECT_EQ(store.SaveCheckpoint("orders_v1", 1).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(store.LoadCheckpoint("orders_v1").status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(MemoryStoreCheckpoints, TransactionSavesWithItsAppendsOrNotAtAll) {
  MemoryStore store;
  const Id stream = NewStream();
  Transaction txn;
  ASSERT_TRUE(txn.Add(stream, OneEvent(), AppendOptions{}).ok());
  ASSERT_TRUE(txn.AddCheckpoint("orders_v1", 1).ok());
  std::vector<AppendResult> results;
  ASSERT_TRUE(txn.Commit(store, &results).ok());
  EXPECT_EQ(store.LoadCheckpoint("orders_v1")->position, 1);

  AppendOptions stale;
  stale.expect = Expect::kVersion;
  stale.expected_version = 0;  // the stream is at 1: the whole transaction fails
  ASSERT_TRUE(txn.Add(stream, OneEvent(), stale).ok());
  ASSERT_TRUE(txn.AddCheckpoint("orders_v1", 2).ok());
  ASSERT_TRUE(txn.AddCheckpoint("other_v1", 2).ok());
  EXPECT_EQ(txn.Commit(store, &results).code(), absl::StatusCode::kAborted);
  EXPECT_EQ(store.LoadCheckpoint("orders_v1")->position, 1);
  EXPECT_EQ(store.LoadCheckpoint("other_v1").status().code(), absl::StatusCode::kNotFound);

  Transaction only_checkpoints;
  EXPECT_EQ(only_checkpoints.AddCheckpoint("orders_v1", -5).code(), absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(only_checkpoints.AddCheckpoint("orders_v1", 5).ok());
  ASSERT_TRUE(only_checkpoints.AddCheckpoint("orders_v1", 6).ok());  // the last save of an ID wins
  ASSERT_TRUE(only_checkpoints.Commit(store, &results).ok());
  EXPECT_TRUE(results.empty());
  EXPECT_EQ(store.LoadCheckpoint("orders_v1")->position, 6);
}

}  // namespace
}  // namespace estoria::core

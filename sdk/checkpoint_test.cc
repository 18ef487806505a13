// estoria::Store's checkpoint calls and Transaction::Checkpoint over the C
// ABI (doc/data-model.md "Checkpoints"); the semantics on every backend are
// the acceptance suite's (tests/acceptance/checkpoint_test.cc).
#define EST_EXPERIMENTAL 1
#include <string>
#include <vector>

#include "estoria/estoria.hpp"
#include "estoria/transaction.hpp"
#include "gtest/gtest.h"

namespace estoria {
namespace {

TEST(StoreCheckpoints, SaveLoadListDelete) {
  Result<Store> store = Store::Open("memory:");
  ASSERT_TRUE(store.ok());
  Result<Checkpoint> none = store->LoadCheckpoint("orders_v1");
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().status(), EST_ERR_NOT_FOUND);
  ASSERT_TRUE(store->SaveCheckpoint("orders_v1", 5).ok());
  Result<Checkpoint> got = store->LoadCheckpoint("orders_v1");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->position, 5);
  EXPECT_GT(got->updated_at_ns, 0);
  ASSERT_TRUE(store->SaveCheckpoint("orders_v1", 5).ok());
  EXPECT_GT(store->LoadCheckpoint("orders_v1")->updated_at_ns, got->updated_at_ns);
  Result<std::vector<NamedCheckpoint>> all = store->ListCheckpoints();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].projection_id, "orders_v1");
  EXPECT_EQ((*all)[0].checkpoint.position, 5);
  EXPECT_EQ(store->SaveCheckpoint("Orders_v1", 1).error().status(), EST_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(store->SaveCheckpoint("orders_v1", -1).error().status(), EST_ERR_INVALID_ARGUMENT);
  ASSERT_TRUE(store->DeleteCheckpoint("orders_v1").ok());
  EXPECT_EQ(store->DeleteCheckpoint("orders_v1").error().status(), EST_ERR_NOT_FOUND);
}

TEST(StoreCheckpoints, TransactionCommitsTheCheckpointWithItsAppends) {
  Result<Store> store = Store::Open("memory:");
  ASSERT_TRUE(store.ok());
  const std::string stream = Id::NewV7("account").value().str();
  Batch batch;
  ASSERT_TRUE(batch.Add("opened", std::string_view("x")).ok());
  Result<Transaction> txn = Transaction::Begin(*store);
  ASSERT_TRUE(txn.ok());
  ASSERT_TRUE(txn->Append(stream, batch).ok());
  ASSERT_TRUE(txn->Checkpoint("orders_v1", 1).ok());
  EXPECT_EQ(txn->Checkpoint("orders", 1).error().status(), EST_ERR_INVALID_ARGUMENT);
  ASSERT_TRUE(txn->Commit().ok());
  EXPECT_EQ(store->LoadCheckpoint("orders_v1")->position, 1);

  AppendOptions stale;
  stale.expect = Expect::kVersion;
  stale.expected_version = 0;  // the stream is at 1
  ASSERT_TRUE(txn->Append(stream, batch, stale).ok());
  ASSERT_TRUE(txn->Checkpoint("orders_v1", 2).ok());
  EXPECT_EQ(txn->Commit().error().status(), EST_ERR_VERSION_MISMATCH);
  EXPECT_EQ(store->LoadCheckpoint("orders_v1")->position, 1);
}

}  // namespace
}  // namespace estoria

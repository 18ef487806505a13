// AggregateStore::LoadAt: a typed aggregate as of a time (the experimental
// est_aggregate_load_at; doc/data-model.md, "Reads as of a time").
#define EST_EXPERIMENTAL 1
#include <chrono>
#include <cstdint>
#include <thread>
#include <utility>
#include <vector>

#include "estoria/aggregates/aggregate_store.hpp"
#include "estoria/aggregates/json.hpp"
#include "estoria/estoria.hpp"
#include "gtest/gtest.h"
#include "test_domain.h"

namespace estoria {
namespace {

using testdomain::Account;
using testdomain::Deposited;

TEST(TypedLoadAt, FoldsTheEventsStampedUpToTheTime) {
  Result<Store> store = Store::Open("memory:");
  ASSERT_TRUE(store.ok()) << store.error().ToString();
  Result<AggregateStore<Account>> accounts = AggregateStore<Account>::Open(*store, "account");
  ASSERT_TRUE(accounts.ok()) << accounts.error().ToString();
  Result<Aggregate<Account>> a = accounts->New();
  ASSERT_TRUE(a.ok());
  // Three saves, each stamped by the store; apart, so that no two share a stamp.
  for (int64_t amount : {1, 2, 4}) {
    ASSERT_TRUE(a->Append(Deposited{amount}).ok());
    ASSERT_TRUE(a->Save().ok());
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  std::vector<int64_t> stamps;
  Result<StreamIterator> events = store->ReadStream(a->id());
  ASSERT_TRUE(events.ok());
  for (const EventView& e : *events) stamps.push_back(e.timestamp_ns());
  ASSERT_EQ(stamps.size(), 3u);

  Result<Aggregate<Account>> at2 = accounts->LoadAt(a->id().uuid(), stamps[1]);
  ASSERT_TRUE(at2.ok()) << at2.error().ToString();
  EXPECT_EQ(at2->version(), 2);
  EXPECT_EQ(at2->state().balance, 3);
  Result<Aggregate<Account>> before = accounts->LoadAt(a->id().uuid(), stamps[0] - 1);
  ASSERT_FALSE(before.ok());
  EXPECT_EQ(before.error().status(), EST_ERR_NOT_FOUND);
  Result<Aggregate<Account>> zero = accounts->LoadAt(a->id().uuid(), 0);
  ASSERT_FALSE(zero.ok());
  EXPECT_EQ(zero.error().status(), EST_ERR_INVALID_ARGUMENT);
}

}  // namespace
}  // namespace estoria

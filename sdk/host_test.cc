// Tests of the SDK's host options and calls (doc/abi.md "Hosts") against the
// real library: Threads::kNone with Maintain, the host's clock stamping
// events, Cancel with nothing running, a stepped compaction on a file store,
// SetAllocator refused once a store was opened (the allocator is set once
// per process; tests/acceptance/allocator_test.cc sets one in a process of
// its own).
#define EST_EXPERIMENTAL
#include <unistd.h>

#include <filesystem>
#include <string>

#include "estoria/estoria.hpp"
#include "gtest/gtest.h"

namespace estoria {
namespace {

int64_t FixedClock(void* user) { return *static_cast<int64_t*>(user); }

TEST(StoreHost, TheHostsClockStampsEventsAndMaintainDrains) {
  int64_t now = 1'700'000'000'123'456'789;
  StoreOptions options;
  options.threads = Threads::kNone;
  options.clock_ns = FixedClock;
  options.host_user = &now;
  Result<Store> store = Store::Open("memory:", options);
  ASSERT_TRUE(store.ok()) << store.error().ToString();
  Result<Id> id = Id::NewV7("account");
  ASSERT_TRUE(id.ok());
  Batch batch;
  ASSERT_TRUE(batch.Add("opened", std::string_view("x")).ok());
  ASSERT_TRUE(store->Append(*id, batch).ok());
  Result<StreamIterator> it = store->ReadStream(*id);
  ASSERT_TRUE(it.ok());
  for (const EventView& e : *it) EXPECT_EQ(e.timestamp_ns(), now);
  Result<MaintainReport> report = store->Maintain(1000);
  ASSERT_TRUE(report.ok()) << report.error().ToString();
  EXPECT_FALSE(report->pending);
  EXPECT_TRUE(store->Cancel().ok());
  EXPECT_EQ(store->Maintain(-1).error().status(), EST_ERR_INVALID_ARGUMENT);
}

TEST(StoreHost, AScheduledCompactionFinishesThroughMaintain) {
  const std::string dir = (std::filesystem::temp_directory_path() / ("estoria-sdk-host-" + std::to_string(::getpid()))).string();
  std::filesystem::remove_all(dir);
  StoreOptions options;
  options.threads = Threads::kNone;
  Result<Store> store = Store::Open("file:" + dir + "?segment_bytes=8192", options);
  ASSERT_TRUE(store.ok()) << store.error().ToString();
  Result<Id> gone = Id::NewV7("account");
  ASSERT_TRUE(gone.ok());
  for (int i = 0; i < 40; ++i) {
    Batch batch;
    ASSERT_TRUE(batch.Add("noted", std::string(300, 'x')).ok());
    ASSERT_TRUE(store->Append(*gone, batch).ok());
  }
  ASSERT_TRUE(store->DeleteStream(*gone).ok());
  ASSERT_TRUE(store->ScheduleCompaction().ok());
  int calls = 0;
  Result<MaintainReport> report = store->Maintain(500);
  while (report.ok() && report->compacting && ++calls < 10000) report = store->Maintain(500);
  ASSERT_TRUE(report.ok()) << report.error().ToString();
  EXPECT_FALSE(report->compacting);
  Result<StoreStats> stats = store->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->events, 0);
  store->Close();
  std::filesystem::remove_all(dir);
}

void* NoAllocate(void*, size_t, size_t) { return nullptr; }
void NoDeallocate(void*, void*, size_t) {}

TEST(StoreHost, SetAllocatorAfterAStoreWasOpenedIsRefused) {
  Result<Store> store = Store::Open("memory:");
  ASSERT_TRUE(store.ok());
  est_allocator allocator = EST_ALLOCATOR_INIT;
  allocator.allocate = NoAllocate;
  allocator.deallocate = NoDeallocate;
  Result<void> set = SetAllocator(allocator);
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(set.error().status(), EST_ERR_INVALID_ARGUMENT);
}

}  // namespace
}  // namespace estoria

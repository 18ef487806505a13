// Concurrent saves and loads on one aggregate store (cache and snapshots on):
// every increment lands exactly once through reload-and-retry, and no load
// ever returns a state that disagrees with its version. Runs under TSan.
#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "core/aggregate/aggregate_store.h"
#include "core/aggregate/test_type_for_test.h"
#include "core/util/status.h"
#include "gtest/gtest.h"
#include "tests/common/soak.h"

namespace estoria::core {
namespace {

using testing::Counter;
using testing::CounterStats;
using testing::CounterType;

TEST(AggregateStoreConcurrency, ConcurrentSavesWithRetryLandEveryEventOnce) {
  for (test::Soak soak; soak.NextRound();) {
    constexpr int kWriters = 4;
    constexpr int kIncrements = 40;
    auto store = *OpenStore("memory:", StoreOptions{});
    auto stats = std::make_shared<CounterStats>();
    AggregateStoreOptions options;
    options.snapshots.every = 7;
    options.snapshots.keep_last = 2;
    options.cache_capacity = 4;
    auto astore = *AggregateStore::Create(store, std::make_unique<CounterType>(stats, true), options);
    const Uuid id = *NewUuidV7();
    {
      auto agg = *astore->New(id);
      ASSERT_TRUE(agg->Append("added", {}, "").ok());  // an empty amount adds 0
      ASSERT_TRUE(agg->Save(nullptr).ok());
    }

    std::atomic<bool> done{false};
    std::atomic<int> bad_reads{0};
    std::atomic<int64_t> conflicts{0};
    std::vector<std::thread> threads;
    for (int w = 0; w < kWriters; ++w) {
      threads.emplace_back([&] {
        for (int i = 0; i < kIncrements; ++i) {
          for (;;) {
            auto agg = astore->Load(id, 0);
            ASSERT_TRUE(agg.ok()) << agg.status();
            ASSERT_TRUE((*agg)->Append("added", absl::Span<const uint8_t>(reinterpret_cast<const uint8_t*>("1"), 1), "")
                            .ok());
            absl::Status saved = (*agg)->Save(nullptr);
            if (saved.ok()) break;
            ASSERT_TRUE(GetVersionMismatch(saved).has_value()) << saved;
            conflicts.fetch_add(1);
          }
        }
      });
    }
    threads.emplace_back([&] {
      while (!done.load()) {
        auto agg = astore->Load(id, 0);
        if (!agg.ok()) {
          bad_reads.fetch_add(1);
          continue;
        }
        const auto& counter = *static_cast<const Counter*>((*agg)->state());
        // Every event but the first adds 1.
        if (counter.total != (*agg)->version() - 1 || counter.gap) bad_reads.fetch_add(1);
      }
    });
    for (int w = 0; w < kWriters; ++w) threads[w].join();
    done.store(true);
    threads.back().join();

    EXPECT_EQ(bad_reads.load(), 0);
    auto final_state = astore->Load(id, 0);
    ASSERT_TRUE(final_state.ok());
    EXPECT_EQ((*final_state)->version(), 1 + kWriters * kIncrements);
    EXPECT_EQ(static_cast<const Counter*>((*final_state)->state())->total, kWriters * kIncrements);
    final_state->reset();
    EXPECT_EQ(stats->live.load(), 0);
  }
}

}  // namespace
}  // namespace estoria::core

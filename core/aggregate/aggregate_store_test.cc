// The aggregate engine below the ABI: options, round trips, the
// applied-partially status with its versions, hook metadata rules and
// snapshot selection. The ABI-level contract is tests/acceptance/aggregate_test.cc.
#include "core/aggregate/aggregate_store.h"

#include <memory>
#include <string>
#include <utility>

#include "core/aggregate/test_type_for_test.h"
#include "core/util/status.h"
#include "gtest/gtest.h"

namespace estoria::core {
namespace {

using testing::Counter;
using testing::CounterStats;
using testing::CounterType;

class AggregateStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::shared_ptr<EventStore>> opened = OpenStore("memory:", StoreOptions{});
    ASSERT_TRUE(opened.ok()) << opened.status();
    store_ = *std::move(opened);
  }
  void TearDown() override { EXPECT_EQ(stats_->live.load(), 0) << "every state is freed"; }

  std::shared_ptr<AggregateStore> Make(AggregateStoreOptions options = {}, bool codec = true) {
    auto made = AggregateStore::Create(store_, std::make_unique<CounterType>(stats_, codec), options);
    EXPECT_TRUE(made.ok()) << made.status();
    return made.ok() ? *made : nullptr;
  }

  static Uuid NewId() { return *NewUuidV7(); }

  static void Add(Aggregate* agg, int n, const std::string& type = "added") {
    for (int i = 0; i < n; ++i) {
      ASSERT_TRUE(agg->Append(type, absl::Span<const uint8_t>(reinterpret_cast<const uint8_t*>("1"), 1), "").ok());
    }
  }

  static const Counter& StateOf(const Aggregate& agg) { return *static_cast<const Counter*>(agg.state()); }

  std::shared_ptr<CounterStats> stats_ = std::make_shared<CounterStats>();
  std::shared_ptr<EventStore> store_;
};

TEST_F(AggregateStoreTest, SnapshotsOrACacheWithoutACodecAreRefused) {
  AggregateStoreOptions snapshots;
  snapshots.snapshots.every = 5;
  EXPECT_EQ(AggregateStore::Create(store_, std::make_unique<CounterType>(stats_, false), snapshots).status().code(),
            absl::StatusCode::kInvalidArgument);
  AggregateStoreOptions cache;
  cache.cache_capacity = 5;
  EXPECT_EQ(AggregateStore::Create(store_, std::make_unique<CounterType>(stats_, false), cache).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(AggregateStore::Create(store_, nullptr, {}).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(AggregateStoreTest, SavedEventsFoldBackOnLoad) {
  auto astore = Make();
  const Uuid id = NewId();
  auto agg = *astore->New(id);
  Add(agg.get(), 3);
  AppendResult result;
  ASSERT_TRUE(agg->Save(&result).ok());
  EXPECT_EQ(result.first_version, 1);
  EXPECT_EQ(result.last_version, 3);
  EXPECT_EQ(agg->version(), 3);
  EXPECT_EQ(StateOf(*agg).total, 3);

  auto loaded = astore->Load(id, 0);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ((*loaded)->version(), 3);
  EXPECT_EQ(StateOf(**loaded).total, 3);
  EXPECT_FALSE(StateOf(**loaded).gap);
  EXPECT_EQ(astore->Stats().events_applied, 3);
}

TEST_F(AggregateStoreTest, AnApplyFailureAfterTheAppendCarriesTheWrittenVersions) {
  auto astore = Make();
  auto agg = *astore->New(NewId());
  Add(agg.get(), 2);
  Add(agg.get(), 1, "poisoned");
  absl::Status status = agg->Save(nullptr);
  std::optional<AppliedPartially> partial = GetAppliedPartially(status);
  ASSERT_TRUE(partial.has_value()) << status;
  EXPECT_EQ(partial->first_version, 1);
  EXPECT_EQ(partial->last_version, 3);
  EXPECT_NE(status.message().find("poisoned event"), absl::string_view::npos) << status;
  EXPECT_TRUE(agg->stale());
  EXPECT_EQ(agg->state(), nullptr);
  EXPECT_EQ(agg->Save(nullptr).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(GetAppliedPartially(absl::InternalError("plain")).has_value());
  EXPECT_FALSE(GetVersionMismatch(status).has_value());
}

TEST_F(AggregateStoreTest, HookMetadataIsForBeforeSaveOnly) {
  HookContext load(HookStage::kBeforeLoad);
  EXPECT_EQ(load.AddMetadata("k", "v").code(), absl::StatusCode::kInvalidArgument);
  HookContext save(HookStage::kBeforeSave);
  EXPECT_TRUE(save.AddMetadata("k", "v").ok());
  EXPECT_TRUE(save.AddMetadata("k", "w").ok());
  EXPECT_EQ(save.metadata().at("k"), "w") << "the later value wins";
  EXPECT_EQ(save.AddMetadata("estoria.x", "v").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(save.AddMetadata("", "v").code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(AggregateStoreTest, AStreamDeletedUpToItsTipNeedsASnapshot) {
  auto astore = Make();
  const Uuid id = NewId();
  auto agg = *astore->New(id);
  Add(agg.get(), 3);
  ASSERT_TRUE(agg->Save(nullptr).ok());
  ASSERT_TRUE(store_->DeleteStream(Id{"counter", id}, 3).ok());
  absl::Status status = astore->Load(id, 0).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("no live events"), absl::string_view::npos) << status;
}

TEST_F(AggregateStoreTest, ASnapshotOfAnotherContentTypeIsNotUsed) {
  AggregateStoreOptions options;
  options.snapshots.every = 100;
  auto astore = Make(options);
  const Uuid id = NewId();
  auto agg = *astore->New(id);
  Add(agg.get(), 4);
  ASSERT_TRUE(agg->Save(nullptr).ok());
  const std::string bogus = "999 4";
  ASSERT_TRUE(store_->WriteSnapshot(Id{"counter", id}, 4,
                                    absl::Span<const uint8_t>(reinterpret_cast<const uint8_t*>(bogus.data()),
                                                              bogus.size()),
                                    "application/other", 0)
                  .ok());
  auto loaded = astore->Load(id, 0);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(StateOf(**loaded).total, 4);
  EXPECT_EQ(astore->Stats().snapshots_used, 0);

  ASSERT_TRUE(store_->WriteSnapshot(Id{"counter", id}, 4,
                                    absl::Span<const uint8_t>(reinterpret_cast<const uint8_t*>(bogus.data()),
                                                              bogus.size()),
                                    "text/counter", 0)
                  .ok());
  auto from_snapshot = astore->Load(id, 0);
  ASSERT_TRUE(from_snapshot.ok()) << from_snapshot.status();
  EXPECT_EQ(StateOf(**from_snapshot).total, 999) << "a matching snapshot is trusted";
  EXPECT_EQ(astore->Stats().snapshots_used, 1);
}

TEST_F(AggregateStoreTest, AnAggregateOutlivesItsStore) {
  const Uuid id = NewId();
  std::unique_ptr<Aggregate> agg;
  {
    auto astore = Make();
    agg = *astore->New(id);
  }
  Add(agg.get(), 1);
  EXPECT_TRUE(agg->Save(nullptr).ok());
  EXPECT_EQ(agg->version(), 1);
}

}  // namespace
}  // namespace estoria::core

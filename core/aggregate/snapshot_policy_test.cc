// SnapshotPolicy: when a save takes a snapshot, and option checks.
#include "core/aggregate/snapshot_policy.h"

#include "gtest/gtest.h"

namespace estoria::core {
namespace {

TEST(SnapshotPolicy, ASaveCrossingAMultipleTakesASnapshot) {
  SnapshotPolicy policy{10, 0, 0};
  EXPECT_FALSE(policy.ShouldSnapshot(0, 9));
  EXPECT_TRUE(policy.ShouldSnapshot(0, 10));
  EXPECT_TRUE(policy.ShouldSnapshot(9, 10));
  EXPECT_FALSE(policy.ShouldSnapshot(10, 19));
  EXPECT_TRUE(policy.ShouldSnapshot(7, 13));
  EXPECT_TRUE(policy.ShouldSnapshot(19, 44)) << "many multiples crossed: one snapshot";
}

TEST(SnapshotPolicy, EveryZeroNeverSnapshots) {
  SnapshotPolicy policy;
  EXPECT_FALSE(policy.enabled());
  EXPECT_FALSE(policy.ShouldSnapshot(0, 1000000));
}

TEST(SnapshotPolicy, NegativeValuesAreRefused) {
  EXPECT_EQ(SnapshotPolicy({-1, 0, 0}).Validate().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(SnapshotPolicy({0, -1, 0}).Validate().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(SnapshotPolicy({0, 0, -1}).Validate().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(SnapshotPolicy({5, 2, 1}).Validate().ok());
  EXPECT_TRUE(SnapshotPolicy({5, 2, 0}).has_retention());
  EXPECT_FALSE(SnapshotPolicy({5, 0, 0}).has_retention());
}

}  // namespace
}  // namespace estoria::core

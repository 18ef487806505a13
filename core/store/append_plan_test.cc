// Unit tests of the append plan (append_plan.h) against a fake lookup: the
// decisions every backend shares, without a backend.
#include "core/store/append_plan.h"

#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "core/util/status.h"
#include "gtest/gtest.h"

namespace estoria::core {
namespace {

// Streams as (tip, first live version, the IDs of versions 1..tip).
class FakeLookup final : public StreamLookup {
 public:
  void Put(const Id& id, std::vector<Uuid> ids, int64_t first_live = 1) {
    streams_[id] = {static_cast<int64_t>(ids.size()), first_live, std::move(ids)};
  }
  State StateOf(const Id& stream) override {
    auto it = streams_.find(stream);
    if (it == streams_.end()) return State{};
    return State{it->second.tip, it->second.first_live};
  }
  absl::StatusOr<Stored> EventAt(const Id& stream, int64_t version) override {
    ++reads;
    const S& s = streams_.at(stream);
    return Stored{s.ids[static_cast<size_t>(version - 1)], 1000 + version};
  }
  int reads = 0;

 private:
  struct S {
    int64_t tip;
    int64_t first_live;
    std::vector<Uuid> ids;
  };
  absl::flat_hash_map<Id, S> streams_;
};

Id Stream(uint64_t n) { return Id{"acct", Uuid::FromHiLo(0x4000, 0x8000000000000000ull | n)}; }
Uuid U(uint64_t n) { return Uuid::FromHiLo(7, n); }

AppendOptions ExpectVersion(int64_t v) {
  AppendOptions o;
  o.expect = Expect::kVersion;
  o.expected_version = v;
  return o;
}

constexpr PlanLimits kLimits{int64_t{1} << 40, int64_t{1} << 40};

TEST(AppendPlan, AnAppendExpectingTheTipReadsNothingOfTheStream) {
  FakeLookup lookup;
  const Id s = Stream(1);
  lookup.Put(s, {U(1), U(2)});
  const std::vector<Uuid> ids = {U(10), U(11)};
  const AppendOptions o = ExpectVersion(2);
  std::vector<AppendResult> results;
  ASSERT_TRUE(PlanAppends({PlanInput{&s, &o, ids, true}}, lookup, 50, kLimits, &results).ok());
  EXPECT_EQ(lookup.reads, 0) << "no window: the check costs nothing";
  EXPECT_EQ(results[0].first_version, 3);
  EXPECT_EQ(results[0].first_position, 50);
  EXPECT_FALSE(results[0].duplicate);
}

TEST(AppendPlan, TheSameIdsAtTheExpectedPlaceAreADuplicateWithTheOriginalPositions) {
  FakeLookup lookup;
  const Id s = Stream(1);
  lookup.Put(s, {U(1), U(2), U(3)});
  const std::vector<Uuid> ids = {U(2), U(3)};
  const AppendOptions o = ExpectVersion(1);
  std::vector<AppendResult> results;
  ASSERT_TRUE(PlanAppends({PlanInput{&s, &o, ids, true}}, lookup, 50, kLimits, &results).ok());
  EXPECT_TRUE(results[0].duplicate);
  EXPECT_EQ(results[0].first_version, 2);
  EXPECT_EQ(results[0].last_version, 3);
  EXPECT_EQ(results[0].first_position, 1002);
  EXPECT_EQ(results[0].actual_version, 3);
  // Without caller IDs the same expectation is a plain mismatch.
  absl::Status plain = PlanAppends({PlanInput{&s, &o, ids, false}}, lookup, 50, kLimits, &results);
  EXPECT_EQ(plain.code(), absl::StatusCode::kAborted);
}

TEST(AppendPlan, ALaterAppendOfATransactionSeesTheEarlierOnesAndAMismatchNamesItsIndex) {
  FakeLookup lookup;
  const Id a = Stream(1), b = Stream(2);
  lookup.Put(a, {U(1)});
  const std::vector<Uuid> first = {U(5), U(6)}, second = {U(7)}, third = {U(8)};
  const AppendOptions at1 = ExpectVersion(1), at3 = ExpectVersion(3), any;
  std::vector<AppendResult> results;
  ASSERT_TRUE(PlanAppends({PlanInput{&a, &at1, first, false}, PlanInput{&b, &any, third, false},
                           PlanInput{&a, &at3, second, false}},
                          lookup, 10, kLimits, &results)
                  .ok());
  EXPECT_EQ(results[2].first_version, 4);
  EXPECT_EQ(results[1].first_position, 12);
  EXPECT_EQ(results[2].first_position, 13) << "positions contiguous in input order";
  EXPECT_EQ(results[0].actual_version, 4) << "the stream's version after the transaction";
  // The second append of `a` expecting the version the first started from:
  // a mismatch naming append 1, nothing planned.
  absl::Status s = PlanAppends({PlanInput{&a, &at1, first, false}, PlanInput{&a, &at1, second, false}}, lookup, 10,
                               kLimits, &results);
  EXPECT_EQ(s.code(), absl::StatusCode::kAborted);
  EXPECT_TRUE(absl::StrContains(s.message(), "append 1 to stream")) << s;
  EXPECT_EQ(results[0].actual_version, 1);
  EXPECT_EQ(results[1].actual_version, 1);
  EXPECT_EQ(results[0].first_version, 0) << "only actual_version on a mismatch";
}

TEST(AppendPlan, SomeIdsThereIsAMismatchAndStreamExistsNeedsAStream) {
  FakeLookup lookup;
  const Id s = Stream(1), missing = Stream(9);
  lookup.Put(s, {U(1), U(2)});
  const std::vector<Uuid> partial = {U(1), U(3)};
  const AppendOptions at0 = ExpectVersion(0);
  std::vector<AppendResult> results;
  absl::Status st = PlanAppends({PlanInput{&s, &at0, partial, true}}, lookup, 1, kLimits, &results);
  EXPECT_EQ(st.code(), absl::StatusCode::kAborted);
  EXPECT_TRUE(absl::StrContains(st.message(), "some but not all")) << st;
  AppendOptions exists;
  exists.expect = Expect::kStreamExists;
  const std::vector<Uuid> one = {U(4)};
  st = PlanAppends({PlanInput{&missing, &exists, one, true}}, lookup, 1, kLimits, &results);
  EXPECT_EQ(st.code(), absl::StatusCode::kAborted);
  ASSERT_TRUE(GetVersionMismatch(st).has_value());
  EXPECT_EQ(GetVersionMismatch(st)->actual, 0);
  EXPECT_TRUE(PlanAppends({PlanInput{&s, &exists, one, true}}, lookup, 1, kLimits, &results).ok());
}

TEST(AppendPlan, OverflowIsRefused) {
  FakeLookup lookup;
  const Id s = Stream(1);
  const std::vector<Uuid> ids = {U(1), U(2)};
  AppendOptions any;
  std::vector<AppendResult> results;
  EXPECT_EQ(PlanAppends({PlanInput{&s, &any, ids, false}}, lookup, kLimits.max_position - 1, kLimits, &results).code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace estoria::core

// EntryList's snapshots and PendingRemovals: removals gathered in any order
// and applied in one pass, leaving arrays already handed out untouched.
#include "core/store/entry_list.h"

#include <cstdint>
#include <memory>
#include <vector>

#include "gtest/gtest.h"

namespace estoria::core {
namespace {

EntryList<int64_t> Numbers(int64_t n) {
  EntryList<int64_t> list;
  std::vector<int64_t> all;
  for (int64_t i = 1; i <= n; ++i) all.push_back(i);
  list.Append(all);
  return list;
}

std::vector<int64_t> Contents(const EntryList<int64_t>& list) {
  return std::vector<int64_t>(list.array->data(), list.array->data() + list.count);
}

int64_t Key(const int64_t& e) { return e; }

TEST(PendingRemovals, RemovesWhatWasAddedInAnyOrderInOnePass) {
  EntryList<int64_t> list = Numbers(10);
  const std::shared_ptr<EntryArray<int64_t>> before = list.array;
  PendingRemovals<int64_t> removed;
  for (int64_t k : {7, 1, 10, 4}) removed.Add(k);
  EXPECT_EQ(removed.size(), 4u);
  removed.ApplyTo(list, Key);
  EXPECT_EQ(Contents(list), (std::vector<int64_t>{2, 3, 5, 6, 8, 9}));
  EXPECT_TRUE(removed.empty());
  EXPECT_NE(list.array, before) << "a new array: iterators of the old one keep their snapshot";
  EXPECT_EQ((*before)[0], 1);
  EXPECT_EQ((*before)[9], 10);
}

TEST(PendingRemovals, NothingPendingLeavesTheArrayAsItIs) {
  EntryList<int64_t> list = Numbers(5);
  const std::shared_ptr<EntryArray<int64_t>> before = list.array;
  PendingRemovals<int64_t> removed;
  removed.ApplyTo(list, Key);
  EXPECT_EQ(list.array, before);
  EXPECT_EQ(list.count, 5u);
}

// Removals are only ever of entries in the list; should one not be, the pass
// still removes every other one instead of stalling on it.
TEST(PendingRemovals, AKeyNotInTheListDoesNotStopTheOthers) {
  EntryList<int64_t> list = Numbers(10);
  PendingRemovals<int64_t> removed;
  for (int64_t k : {3, 42, 0, 8}) removed.Add(k);
  removed.ApplyTo(list, Key);
  EXPECT_EQ(Contents(list), (std::vector<int64_t>{1, 2, 4, 5, 6, 7, 9, 10}));
}

TEST(PendingRemovals, DueAtAQuarterOfTheListAndNoSooner) {
  PendingRemovals<int64_t> removed;
  const size_t count = 100000;
  for (size_t i = 0; i + 1 < count / 4; ++i) removed.Add(static_cast<int64_t>(i));
  EXPECT_FALSE(removed.Due(count));
  removed.Add(-1);
  EXPECT_TRUE(removed.Due(count));
  PendingRemovals<int64_t> few;
  for (int64_t i = 0; i < 100; ++i) few.Add(i);
  EXPECT_FALSE(few.Due(200)) << "small lists wait for a few thousand removals, not a quarter";
}

}  // namespace
}  // namespace estoria::core

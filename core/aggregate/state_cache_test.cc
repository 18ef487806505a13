// StateCache: LRU order, capacity, version preference and guarded erase.
#include "core/aggregate/state_cache.h"

#include <memory>
#include <string>

#include "gtest/gtest.h"

namespace estoria::core {
namespace {

Id MakeId(uint8_t n) {
  Id id{"counter", {}};
  id.uuid.bytes[15] = n;
  return id;
}

std::shared_ptr<const StateCache::Entry> MakeEntry(int64_t version, std::string state = "s") {
  auto entry = std::make_shared<StateCache::Entry>();
  entry->version = version;
  entry->state = std::move(state);
  return entry;
}

TEST(StateCache, MissIsNull) {
  StateCache cache(2);
  EXPECT_EQ(cache.Get(MakeId(1)), nullptr);
}

TEST(StateCache, PutThenGetReturnsTheEntry) {
  StateCache cache(2);
  cache.Put(MakeId(1), MakeEntry(3, "three"));
  auto got = cache.Get(MakeId(1));
  ASSERT_NE(got, nullptr);
  EXPECT_EQ(got->version, 3);
  EXPECT_EQ(got->state, "three");
  EXPECT_EQ(cache.Get(MakeId(2)), nullptr) << "another type or UUID is another key";
}

TEST(StateCache, EvictsTheLeastRecentlyUsed) {
  StateCache cache(2);
  cache.Put(MakeId(1), MakeEntry(1));
  cache.Put(MakeId(2), MakeEntry(1));
  ASSERT_NE(cache.Get(MakeId(1)), nullptr);  // 1 is now the most recent
  cache.Put(MakeId(3), MakeEntry(1));
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_NE(cache.Get(MakeId(1)), nullptr);
  EXPECT_EQ(cache.Get(MakeId(2)), nullptr);
  EXPECT_NE(cache.Get(MakeId(3)), nullptr);
}

TEST(StateCache, AnOlderVersionNeverReplacesANewerOne) {
  StateCache cache(2);
  cache.Put(MakeId(1), MakeEntry(5, "five"));
  cache.Put(MakeId(1), MakeEntry(4, "four"));
  EXPECT_EQ(cache.Get(MakeId(1))->state, "five");
  cache.Put(MakeId(1), MakeEntry(6, "six"));
  EXPECT_EQ(cache.Get(MakeId(1))->state, "six");
  EXPECT_EQ(cache.size(), 1u);
}

TEST(StateCache, EraseRemovesOnlyTheEntryExpected) {
  StateCache cache(2);
  cache.Put(MakeId(1), MakeEntry(1));
  auto old = cache.Get(MakeId(1));
  cache.Put(MakeId(1), MakeEntry(2));
  cache.Erase(MakeId(1), old.get());
  EXPECT_NE(cache.Get(MakeId(1)), nullptr) << "a newer entry put meanwhile survives";
  cache.Erase(MakeId(1), cache.Get(MakeId(1)).get());
  EXPECT_EQ(cache.Get(MakeId(1)), nullptr);
  EXPECT_EQ(cache.size(), 0u);
}

}  // namespace
}  // namespace estoria::core

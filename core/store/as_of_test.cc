// Unit tests of core/store/as_of.h: the range of a stream read as of a time
// over an index whose entries carry chosen stamps (the acceptance suite
// checks the same rule through the C ABI on every backend).
#include "core/store/as_of.h"

#include <algorithm>
#include <cstdint>
#include <vector>

#include "gtest/gtest.h"

namespace estoria::core {
namespace {

// The versions a read yields, from the range over live versions
// tip - stamps.size() + 1 .. tip.
std::vector<int64_t> Versions(const std::vector<int64_t>& stamps, int64_t tip, ReadOptions options,
                              size_t* looked_at = nullptr) {
  size_t looked = 0;
  const StreamRange r = StreamReadRangeAsOf(tip, stamps.size(), options, [&](size_t i) {
    looked = std::max(looked, i + 1);
    return stamps[i];
  });
  if (looked_at != nullptr) *looked_at = looked;
  std::vector<int64_t> out;
  const int64_t lo = tip - static_cast<int64_t>(stamps.size()) + 1;
  if (options.direction == Direction::kForward) {
    for (size_t i = r.begin; i < r.end; ++i) out.push_back(lo + static_cast<int64_t>(i));
  } else {
    for (size_t i = r.end; i > r.begin; --i) out.push_back(lo + static_cast<int64_t>(i) - 1);
  }
  return out;
}

ReadOptions Until(int64_t t, Direction d = Direction::kForward, int64_t after = 0, int64_t count = 0) {
  ReadOptions o;
  o.direction = d;
  o.after_version = after;
  o.count = count;
  o.until_timestamp_ns = t;
  return o;
}

using V = std::vector<int64_t>;

TEST(StreamReadRangeAsOf, CutsAtTheFirstEntryStampedLater) {
  const std::vector<int64_t> stamps = {10, 30, 20, 40};
  EXPECT_EQ(Versions(stamps, 4, Until(20)), V({1}));
  EXPECT_EQ(Versions(stamps, 4, Until(30)), V({1, 2, 3}));
  EXPECT_EQ(Versions(stamps, 4, Until(9)), V({}));
  EXPECT_EQ(Versions(stamps, 4, Until(0)), V({1, 2, 3, 4})) << "0 is no bound";
  EXPECT_EQ(Versions(stamps, 4, Until(30, Direction::kReverse)), V({3, 2, 1}));
  EXPECT_EQ(Versions(stamps, 4, Until(30, Direction::kReverse, 0, 1)), V({3}));
  EXPECT_EQ(Versions(stamps, 4, Until(30, Direction::kReverse, 2)), V({2, 1}));
  EXPECT_EQ(Versions(stamps, 4, Until(30, Direction::kForward, 1, 1)), V({2}));
  EXPECT_EQ(Versions(stamps, 4, Until(20, Direction::kForward, 2)), V({})) << "a later page meets the same cut";
}

TEST(StreamReadRangeAsOf, ATruncatedStreamIsCutAmongItsLiveEntries) {
  // Live versions 5..7 (tip 7): the cut is among them.
  EXPECT_EQ(Versions({10, 30, 20}, 7, Until(25)), V({5}));
  EXPECT_EQ(Versions({10, 30, 20}, 7, Until(25, Direction::kReverse)), V({5}));
  EXPECT_EQ(Versions({10, 30, 20}, 7, Until(30, Direction::kForward, 5)), V({6, 7}));
}

TEST(StreamReadRangeAsOf, AForwardReadLooksOnlyUpToTheEndOfItsRange) {
  const std::vector<int64_t> stamps = {1, 2, 3, 4, 5, 6, 7, 8};
  size_t looked = 0;
  EXPECT_EQ(Versions(stamps, 8, Until(100, Direction::kForward, 0, 2), &looked), V({1, 2}));
  EXPECT_EQ(looked, 2u);
  EXPECT_EQ(Versions(stamps, 8, Until(100, Direction::kReverse, 3, 1), &looked), V({3}));
  EXPECT_EQ(looked, 3u) << "a reverse read looks up to its upper bound";
}

}  // namespace
}  // namespace estoria::core

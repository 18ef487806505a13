// tests/acceptance/read_all_test.cc: the global reader (doc/data-model.md
// "Global reads" and "Positions"): ascending positions, the exclusive
// after_position, counts, agreement with stream reads, deletion, and
// positions that are never reused.
#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "tests/acceptance/acceptance.h"

namespace estoria::acceptance {
namespace {

class ReadAllTest : public Acceptance {
 protected:
  void SetUp() override {
    Acceptance::SetUp();
    if (HasFatalFailure()) return;
    if (!HasGlobalOrder()) GTEST_SKIP() << GetParam().name << " has no global order";
  }

  // Appends to three streams, interleaved, and returns the written events in
  // append order.
  std::vector<Event> Interleave() {
    streams_ = {NewStreamId("a"), NewStreamId("b"), NewStreamId("c")};
    std::vector<Event> all;
    for (int round = 0; round < 4; ++round) {
      for (size_t s = 0; s < streams_.size(); ++s) {
        std::vector<Event> written =
            AppendN(store_, streams_[s], static_cast<int>(s) + 1, "r" + std::to_string(round) + "-");
        all.insert(all.end(), written.begin(), written.end());
      }
    }
    return all;
  }

  std::vector<int64_t> Positions(const std::vector<Event>& events) {
    std::vector<int64_t> out;
    for (const Event& e : events) out.push_back(e.global_position);
    return out;
  }

  std::vector<std::string> streams_;
};
ESTORIA_ACCEPTANCE_SUITE(ReadAllTest);

TEST_P(ReadAllTest, EmptyStoreYieldsAnEmptyIterator) {
  ReadResult r = ReadAll(store_);
  EXPECT_EST_OK(r.status);
  EXPECT_TRUE(r.events.empty());
}

TEST_P(ReadAllTest, NullOptionsReadEverything) {
  std::vector<Event> appended = Interleave();
  est_iter* iter = nullptr;
  ASSERT_EST_OK(est_read_all(store_, nullptr, &iter));
  EXPECT_EQ(Drain(iter), appended);
}

TEST_P(ReadAllTest, YieldsEveryEventInAscendingPositionInAppendOrder) {
  std::vector<Event> appended = Interleave();
  std::vector<Event> all = ReadAll(store_).events;
  EXPECT_EQ(all, appended) << "positions follow the order in which appends returned";
  for (size_t i = 1; i < all.size(); ++i) {
    EXPECT_GT(all[i].global_position, all[i - 1].global_position) << "at " << i;
  }
  EXPECT_GT(all.front().global_position, 0);
}

TEST_P(ReadAllTest, PositionsMatchThoseOfStreamReads) {
  Interleave();
  std::map<int64_t, Event> by_position;
  for (const Event& e : ReadAll(store_).events) by_position.emplace(e.global_position, e);
  size_t seen = 0;
  for (const std::string& stream : streams_) {
    for (const Event& e : ReadStream(store_, stream).events) {
      auto it = by_position.find(e.global_position);
      ASSERT_NE(it, by_position.end()) << "position " << e.global_position << " missing from read_all";
      EXPECT_EQ(it->second, e);
      ++seen;
    }
  }
  EXPECT_EQ(seen, by_position.size());
}

TEST_P(ReadAllTest, AfterPositionIsExclusive) {
  std::vector<Event> all = Interleave();
  for (size_t k : {size_t{0}, size_t{3}, all.size() - 2}) {
    std::vector<Event> rest = ReadAll(store_, all[k].global_position).events;
    EXPECT_EQ(rest, std::vector<Event>(all.begin() + static_cast<std::ptrdiff_t>(k) + 1, all.end()))
        << "after position " << all[k].global_position;
  }
  // Just below a position includes it.
  EXPECT_EQ(ReadAll(store_, all[5].global_position - 1).events.front(), all[5]);
}

TEST_P(ReadAllTest, CountLimits) {
  std::vector<Event> all = Interleave();
  EXPECT_EQ(ReadAll(store_, 0, 4).events, std::vector<Event>(all.begin(), all.begin() + 4));
  EXPECT_EQ(ReadAll(store_, all[2].global_position, 3).events, std::vector<Event>(all.begin() + 3, all.begin() + 6));
  EXPECT_EQ(ReadAll(store_, 0, 100000).events, all);
  EXPECT_EQ(Positions(ReadAll(store_, all.back().global_position - 1, 5).events),
            std::vector<int64_t>{all.back().global_position});
}

TEST_P(ReadAllTest, AtOrPastTheLastPositionIsEmpty) {
  std::vector<Event> all = Interleave();
  EXPECT_TRUE(ReadAll(store_, all.back().global_position).events.empty());
  EXPECT_TRUE(ReadAll(store_, all.back().global_position + 1000).events.empty());
}

TEST_P(ReadAllTest, IteratorIsASnapshotTakenAtCreation) {
  std::vector<Event> all = Interleave();
  est_iter* iter = nullptr;
  ASSERT_EST_OK(est_read_all(store_, nullptr, &iter));
  AppendN(store_, streams_[0], 3, "late");
  ASSERT_EST_OK(est_delete_stream(store_, streams_[1].c_str(), 0));
  ASSERT_EST_OK(est_delete_stream(store_, streams_[2].c_str(), 2));
  EXPECT_EQ(Drain(iter), all) << "the frontier and content are fixed when read_all returns";
}

TEST_P(ReadAllTest, DeletedAndTruncatedEventsDisappearFromLaterReads) {
  std::vector<Event> all = Interleave();
  ASSERT_EST_OK(est_delete_stream(store_, streams_[1].c_str(), 0));
  ASSERT_EST_OK(est_delete_stream(store_, streams_[2].c_str(), 5));
  std::vector<Event> expected;
  for (const Event& e : all) {
    if (e.stream_type == "b") continue;
    if (e.stream_type == "c" && e.stream_version <= 5) continue;
    expected.push_back(e);
  }
  EXPECT_EQ(ReadAll(store_).events, expected);
}

TEST_P(ReadAllTest, PositionsAreNeverReusedAfterDeletion) {
  std::vector<Event> all = Interleave();
  const int64_t high = all.back().global_position;
  for (const std::string& stream : streams_) ASSERT_EST_OK(est_delete_stream(store_, stream.c_str(), 0));
  EXPECT_TRUE(ReadAll(store_).events.empty());

  // The same stream ID again, from version 1, and a new stream.
  std::vector<Event> again = AppendN(store_, streams_[0], 2, "again");
  std::vector<Event> fresh = AppendN(store_, NewStreamId(), 1, "fresh");
  ASSERT_EQ(again.size(), 2u);
  ASSERT_EQ(fresh.size(), 1u);
  EXPECT_EQ(again[0].stream_version, 1);
  EXPECT_GT(again[0].global_position, high);
  EXPECT_GT(fresh[0].global_position, again[1].global_position);
  // Nothing appears at or below a position once it has been visible.
  EXPECT_TRUE(ReadAll(store_, 0, 0).events.front().global_position > high);
}

TEST_P(ReadAllTest, PositionsAreNeverReusedAfterTruncatingTheTail) {
  const std::string stream = NewStreamId();
  std::vector<Event> first = AppendN(store_, stream, 3);
  ASSERT_EST_OK(est_delete_stream(store_, stream.c_str(), 3));
  std::vector<Event> next = AppendN(store_, stream, 1);
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(next[0].stream_version, 4);
  EXPECT_GT(next[0].global_position, first.back().global_position);
}

}  // namespace
}  // namespace estoria::acceptance

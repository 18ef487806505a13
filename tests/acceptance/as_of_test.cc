// tests/acceptance/as_of_test.cc: reads as of a time (doc/data-model.md
// "Reads as of a time"): est_read_options.until_timestamp_ns and
// est_read_all_options.until_timestamp_ns cut a read at the first event
// stamped later than the bound, in version (stream) or position (global)
// order, on every backend. Restored appends choose each event's stamp, so
// the cases are exact; stamps deliberately go backwards in places, as
// concurrent appends and imports may make them.
#include <cstddef>
#include <string>
#include <vector>

#include "tests/acceptance/acceptance.h"

namespace estoria::acceptance {
namespace {

// Stamps near today's clock, so the cases look like real data.
constexpr int64_t kT0 = 1'700'000'000'000'000'000;
int64_t T(int64_t k) { return kT0 + k * 1'000; }

class AsOfTest : public Acceptance {
 protected:
  // Restores one event per stamp onto `stream` (events "e<version>").
  void RestoreStamped(const std::string& stream, const std::vector<int64_t>& stamps) {
    Batch batch;
    for (size_t i = 0; i < stamps.size(); ++i) {
      NewEvent e;
      e.data = "e" + std::to_string(i + 1);
      e.timestamp_ns = stamps[i];
      batch.Add(e);
    }
    const est_append_options restore = Restore(0);
    AppendOutcome out = Append(store_, stream, batch.Bytes(), &restore);
    ASSERT_EST_OK(out.status);
    ASSERT_EQ(out.written.size(), stamps.size());
    for (size_t i = 0; i < stamps.size(); ++i) ASSERT_EQ(out.written[i].timestamp_ns, stamps[i]);
  }

  ReadResult ReadUntil(const std::string& stream, int64_t until, int32_t direction = EST_FORWARD,
                       int64_t after_version = 0, int64_t count = 0) {
    est_read_options options = EST_READ_OPTIONS_INIT;
    options.direction = direction;
    options.after_version = after_version;
    options.count = count;
    options.until_timestamp_ns = until;
    est_iter* iter = nullptr;
    ReadResult r;
    r.status = est_read_stream(store_, stream.c_str(), &options, &iter);
    if (r.status == EST_OK) r.events = Drain(iter);
    return r;
  }

  std::vector<int64_t> VersionsUntil(const std::string& stream, int64_t until, int32_t direction = EST_FORWARD,
                                     int64_t after_version = 0, int64_t count = 0) {
    ReadResult r = ReadUntil(stream, until, direction, after_version, count);
    EXPECT_EST_OK(r.status);
    return Versions(r.events);
  }

  std::vector<std::string> DataAllUntil(int64_t until, int64_t after_position = 0, int64_t count = 0) {
    est_read_all_options options = EST_READ_ALL_OPTIONS_INIT;
    options.after_position = after_position;
    options.count = count;
    options.until_timestamp_ns = until;
    est_iter* iter = nullptr;
    std::vector<std::string> data;
    EXPECT_EST_OK(est_read_all(store_, &options, &iter));
    if (iter == nullptr) return data;
    for (const Event& e : Drain(iter)) data.push_back(e.stream_type + ":" + e.data);
    return data;
  }

  std::vector<int64_t> Nothing() { return {}; }
};
ESTORIA_ACCEPTANCE_SUITE(AsOfTest);

TEST_P(AsOfTest, AStreamAsOfATimeIsItsEventsStampedUpToIt) {
  const std::string stream = NewStreamId();
  RestoreStamped(stream, {T(1), T(2), T(3), T(4), T(5)});
  EXPECT_EQ(VersionsUntil(stream, T(3)), Range(1, 3));
  EXPECT_EQ(VersionsUntil(stream, T(3) + 999), Range(1, 3)) << "the bound is inclusive, not rounded";
  EXPECT_EQ(VersionsUntil(stream, T(5)), Range(1, 5));
  EXPECT_EQ(VersionsUntil(stream, T(9)), Range(1, 5));
  EXPECT_EQ(VersionsUntil(stream, 0), Range(1, 5)) << "0 is no bound";
}

TEST_P(AsOfTest, BeforeItsFirstEventAStreamIsAnEmptyIteratorNotNotFound) {
  const std::string stream = NewStreamId();
  RestoreStamped(stream, {T(1), T(2)});
  ReadResult r = ReadUntil(stream, T(1) - 1);
  EXPECT_EST_OK(r.status);
  EXPECT_TRUE(r.events.empty());
  EXPECT_EST(EST_ERR_NOT_FOUND, ReadUntil(NewStreamId(), T(1)).status) << "never written stays NOT_FOUND";
}

TEST_P(AsOfTest, TheBoundCutsBeforeBoundsAndCountsApplyInBothDirections) {
  const std::string stream = NewStreamId();
  RestoreStamped(stream, {T(1), T(2), T(3), T(4), T(5), T(6)});
  // As of T(4) the stream is versions 1..4; every read reads that stream.
  EXPECT_EQ(VersionsUntil(stream, T(4), EST_FORWARD, 2), Range(3, 4));
  EXPECT_EQ(VersionsUntil(stream, T(4), EST_FORWARD, 1, 2), Range(2, 3));
  EXPECT_EQ(VersionsUntil(stream, T(4), EST_FORWARD, 3, 5), Range(4, 4));
  EXPECT_EQ(VersionsUntil(stream, T(4), EST_FORWARD, 4), Nothing());
  EXPECT_EQ(VersionsUntil(stream, T(4), EST_REVERSE), Range(4, 1)) << "reverse starts at the tip as of the time";
  EXPECT_EQ(VersionsUntil(stream, T(4), EST_REVERSE, 0, 1), Range(4, 4));
  EXPECT_EQ(VersionsUntil(stream, T(4), EST_REVERSE, 6, 2), Range(4, 3));
  EXPECT_EQ(VersionsUntil(stream, T(4), EST_REVERSE, 2), Range(2, 1));
}

TEST_P(AsOfTest, AnEventStampedEarlierAfterOneStampedLaterIsNotRead) {
  // Stamps out of version order, as concurrent appends leave them: as of
  // T(2) the stream is version 1 only, for version 2 was stamped later.
  const std::string stream = NewStreamId();
  RestoreStamped(stream, {T(1), T(3), T(2), T(4)});
  EXPECT_EQ(VersionsUntil(stream, T(2)), Range(1, 1));
  EXPECT_EQ(VersionsUntil(stream, T(2), EST_REVERSE), Range(1, 1));
  EXPECT_EQ(VersionsUntil(stream, T(2), EST_FORWARD, 2), Nothing()) << "a later page sees the same cut";
  EXPECT_EQ(VersionsUntil(stream, T(2), EST_REVERSE, 3), Range(1, 1));
  EXPECT_EQ(VersionsUntil(stream, T(3)), Range(1, 3));
  EXPECT_EQ(VersionsUntil(stream, T(3), EST_REVERSE, 0, 1), Range(3, 3));
}

TEST_P(AsOfTest, ATruncatedStreamIsCutAmongItsLiveEvents) {
  const std::string stream = NewStreamId();
  RestoreStamped(stream, {T(1), T(5), T(2), T(3), T(4)});
  ASSERT_EST_OK(est_delete_stream(store_, stream.c_str(), 2));  // the one stamped T(5) goes
  EXPECT_EQ(VersionsUntil(stream, T(3)), Range(3, 4));
  EXPECT_EQ(VersionsUntil(stream, T(3), EST_REVERSE), Range(4, 3));
  EXPECT_EQ(VersionsUntil(stream, T(1)), Nothing());
}

TEST_P(AsOfTest, LiveAppendsAreStampedByTheStoreAndReadAsOfNow) {
  const std::string stream = NewStreamId();
  const int64_t before = NowNs();
  std::vector<Event> written = AppendN(store_, stream, 3);
  ASSERT_EQ(written.size(), 3u);
  const int64_t after = written.back().timestamp_ns;
  EXPECT_EQ(VersionsUntil(stream, after), Range(1, 3));
  EXPECT_EQ(VersionsUntil(stream, written.front().timestamp_ns - 1), Nothing());
  EXPECT_GE(written.front().timestamp_ns, before - 1'000'000'000) << "stamped with the realtime clock";
}

TEST_P(AsOfTest, AGlobalReadEndsBeforeTheFirstEventStampedLater) {
  const std::string a = NewStreamId("a");
  const std::string b = NewStreamId("b");
  RestoreStamped(a, {T(1)});
  RestoreStamped(b, {T(2)});
  RestoreStamped(a, {T(4)});
  RestoreStamped(b, {T(3)});  // stamped earlier than the event before it
  RestoreStamped(a, {T(5)});
  EXPECT_EQ(DataAllUntil(0).size(), 5u);
  EXPECT_EQ(DataAllUntil(T(2)), (std::vector<std::string>{"a:e1", "b:e1"}));
  EXPECT_EQ(DataAllUntil(T(3)), (std::vector<std::string>{"a:e1", "b:e1"}))
      << "b's second event follows one stamped T(4): not read as of T(3)";
  EXPECT_EQ(DataAllUntil(T(4)).size(), 4u);
  EXPECT_EQ(DataAllUntil(T(1) - 1), (std::vector<std::string>{}));
  EXPECT_EQ(DataAllUntil(T(4), 0, 3).size(), 3u) << "count still limits";
}

TEST_P(AsOfTest, AGlobalReadAsOfATimeResumesFromItsLastPosition) {
  const std::string a = NewStreamId("a");
  RestoreStamped(a, {T(1), T(2), T(3), T(6), T(4)});
  ReadResult all = ReadAll(store_);
  ASSERT_EQ(all.events.size(), 5u);
  // Pages of two as of T(4): the same events as one read, then the end.
  EXPECT_EQ(DataAllUntil(T(4), 0, 2), (std::vector<std::string>{"a:e1", "a:e2"}));
  EXPECT_EQ(DataAllUntil(T(4), all.events[1].global_position, 2), (std::vector<std::string>{"a:e3"}));
  EXPECT_EQ(DataAllUntil(T(4), all.events[2].global_position), (std::vector<std::string>{}));
  // After a position past the cut, the read goes on to the next event
  // stamped later (the bound is relative to after_position).
  EXPECT_EQ(DataAllUntil(T(4), all.events[3].global_position), (std::vector<std::string>{"a:e5"}));
}

TEST_P(AsOfTest, ANegativeBoundIsRefusedAndAnOldStructSizeReadsNoBound) {
  const std::string stream = NewStreamId();
  RestoreStamped(stream, {T(1), T(2)});
  est_read_options options = EST_READ_OPTIONS_INIT;
  options.until_timestamp_ns = -1;
  est_iter* iter = nullptr;
  EXPECT_INVALID(est_read_stream(store_, stream.c_str(), &options, &iter));
  EXPECT_EQ(iter, nullptr);
  est_read_all_options all = EST_READ_ALL_OPTIONS_INIT;
  all.until_timestamp_ns = -1;
  EXPECT_INVALID(est_read_all(store_, &all, &iter));
  EXPECT_EQ(iter, nullptr);

  // A caller built against ABI 1.1 passes the smaller struct: no bound, and
  // the bytes past its size are not read.
  options.struct_size = offsetof(est_read_options, until_timestamp_ns);
  options.until_timestamp_ns = T(1);
  ASSERT_EST_OK(est_read_stream(store_, stream.c_str(), &options, &iter));
  EXPECT_EQ(Versions(Drain(iter)), Range(1, 2));
  all.struct_size = offsetof(est_read_all_options, until_timestamp_ns);
  all.until_timestamp_ns = T(1);
  ASSERT_EST_OK(est_read_all(store_, &all, &iter));
  EXPECT_EQ(Drain(iter).size(), 2u);
}

}  // namespace
}  // namespace estoria::acceptance

// tests/acceptance/read_test.cc: ReadStream (doc/data-model.md "Reads"
// and "Identity"): bounds in both
// directions, counts, NOT_FOUND against empty iterators, iterator snapshots,
// EST_END, est_iter_next_batch and est_event_metadata.
#include <cstring>
#include <string>
#include <vector>

#include "tests/acceptance/acceptance.h"

namespace estoria::acceptance {
namespace {

class ReadTest : public Acceptance {
 protected:
  void SetUp() override {
    Acceptance::SetUp();
    if (HasFatalFailure()) return;
    stream_ = NewStreamId();
    AppendN(store_, stream_, 10);
  }

  std::vector<int64_t> Read(int32_t direction, int64_t after, int64_t count = 0) {
    ReadResult r = ReadStream(store_, stream_, direction, after, count);
    EXPECT_EST_OK(r.status);
    return Versions(r.events);
  }

  std::string stream_;
};
ESTORIA_ACCEPTANCE_SUITE(ReadTest);

TEST_P(ReadTest, ForwardFromTheStartYieldsEveryEventInOrder) {
  ReadResult r = ReadStream(store_, stream_);
  ASSERT_EST_OK(r.status);
  ASSERT_EQ(Versions(r.events), Range(1, 10));
  for (size_t i = 0; i < r.events.size(); ++i) EXPECT_EQ(r.events[i].data, "e" + std::to_string(i + 1));
}

TEST_P(ReadTest, NullOptionsReadForwardFromTheStart) {
  est_iter* iter = nullptr;
  ASSERT_EST_OK(est_read_stream(store_, stream_.c_str(), nullptr, &iter));
  EXPECT_EQ(Versions(Drain(iter)), Range(1, 10));
}

TEST_P(ReadTest, ForwardAfterVersionIsAnExclusiveLowerBound) {
  EXPECT_EQ(Read(EST_FORWARD, 3), Range(4, 10));
  EXPECT_EQ(Read(EST_FORWARD, 1), Range(2, 10));
  EXPECT_EQ(Read(EST_FORWARD, 9), Range(10, 10));
}

TEST_P(ReadTest, ForwardCountLimits) {
  EXPECT_EQ(Read(EST_FORWARD, 0, 3), Range(1, 3));
  EXPECT_EQ(Read(EST_FORWARD, 2, 3), Range(3, 5));
  EXPECT_EQ(Read(EST_FORWARD, 8, 5), Range(9, 10));
  EXPECT_EQ(Read(EST_FORWARD, 0, 1), Range(1, 1));
  EXPECT_EQ(Read(EST_FORWARD, 0, 100), Range(1, 10));
}

TEST_P(ReadTest, ForwardAtOrPastTheTipIsAnEmptyIteratorNotNotFound) {
  EXPECT_TRUE(Read(EST_FORWARD, 10).empty());
  EXPECT_TRUE(Read(EST_FORWARD, 11).empty());
  EXPECT_TRUE(Read(EST_FORWARD, 1000000).empty());
}

TEST_P(ReadTest, ReverseFromZeroStartsAtTheTip) {
  EXPECT_EQ(Read(EST_REVERSE, 0), Range(10, 1));
}

TEST_P(ReadTest, ReverseAfterVersionIsAnInclusiveUpperBound) {
  EXPECT_EQ(Read(EST_REVERSE, 4), Range(4, 1));
  EXPECT_EQ(Read(EST_REVERSE, 1), Range(1, 1));
  EXPECT_EQ(Read(EST_REVERSE, 10), Range(10, 1));
}

TEST_P(ReadTest, ReverseAboveTheTipStartsAtTheTip) {
  EXPECT_EQ(Read(EST_REVERSE, 11), Range(10, 1));
  EXPECT_EQ(Read(EST_REVERSE, 1000000), Range(10, 1));
}

TEST_P(ReadTest, ReverseCountLimits) {
  EXPECT_EQ(Read(EST_REVERSE, 0, 3), Range(10, 8));
  EXPECT_EQ(Read(EST_REVERSE, 5, 2), Range(5, 4));
  EXPECT_EQ(Read(EST_REVERSE, 2, 5), Range(2, 1));
}

TEST_P(ReadTest, ReverseReadsReturnTheSameEventsAsForwardReads) {
  std::vector<Event> forward = ReadStream(store_, stream_).events;
  std::vector<Event> reverse = ReadStream(store_, stream_, EST_REVERSE).events;
  ASSERT_EQ(forward.size(), reverse.size());
  for (size_t i = 0; i < forward.size(); ++i) EXPECT_EQ(forward[i], reverse[reverse.size() - 1 - i]);
}

TEST_P(ReadTest, NeverWrittenStreamIsNotFoundInBothDirections) {
  const std::string missing = NewStreamId();
  for (int32_t direction : {EST_FORWARD, EST_REVERSE}) {
    est_read_options options = EST_READ_OPTIONS_INIT;
    options.direction = direction;
    est_iter* iter = reinterpret_cast<est_iter*>(&options);
    EXPECT_REJECTED(EST_ERR_NOT_FOUND, est_read_stream(store_, missing.c_str(), &options, &iter));
    EXPECT_EQ(iter, nullptr);
  }
}

TEST_P(ReadTest, StreamIdentityIsTypeAndUuid) {
  const est_uuid uuid = UuidOf(stream_);
  EXPECT_EST(EST_ERR_NOT_FOUND, ReadStream(store_, FormatId("order", uuid)).status);
  EXPECT_EST(EST_ERR_NOT_FOUND, ReadStream(store_, FormatId("Account", uuid)).status);

  AppendN(store_, FormatId("order", uuid), 2, "o");
  std::vector<Event> orders = ReadStream(store_, FormatId("order", uuid)).events;
  ASSERT_EQ(Versions(orders), Range(1, 2));
  EXPECT_EQ(orders[0].stream_type, "order");
  EXPECT_EQ(orders[0].data, "o1");
  EXPECT_EQ(Read(EST_FORWARD, 0), Range(1, 10)) << "account_X is untouched by order_X";
}

TEST_P(ReadTest, IteratorIsASnapshotTakenAtCreation) {
  est_iter* before_delete = nullptr;
  ASSERT_EST_OK(est_read_stream(store_, stream_.c_str(), nullptr, &before_delete));
  est_read_options reverse = EST_READ_OPTIONS_INIT;
  reverse.direction = EST_REVERSE;
  est_iter* reverse_before_delete = nullptr;
  ASSERT_EST_OK(est_read_stream(store_, stream_.c_str(), &reverse, &reverse_before_delete));

  // Read one event, then change the stream under the iterator.
  est_event view = EST_EVENT_INIT;
  ASSERT_EST_OK(est_iter_next(before_delete, &view));
  EXPECT_EQ(view.stream_version, 1);
  AppendN(store_, stream_, 5, "late");
  ASSERT_EST_OK(est_delete_stream(store_, stream_.c_str(), 0));
  EXPECT_EST(EST_ERR_NOT_FOUND, ReadStream(store_, stream_).status);

  EXPECT_EQ(Versions(Drain(before_delete)), Range(2, 10)) << "deleted events are still yielded, new ones are not";
  EXPECT_EQ(Versions(Drain(reverse_before_delete)), Range(10, 1));
}

TEST_P(ReadTest, IteratorOutlivesATruncation) {
  est_iter* iter = nullptr;
  ASSERT_EST_OK(est_read_stream(store_, stream_.c_str(), nullptr, &iter));
  ASSERT_EST_OK(est_delete_stream(store_, stream_.c_str(), 7));
  EXPECT_EQ(Versions(Drain(iter)), Range(1, 10));
  EXPECT_EQ(Read(EST_FORWARD, 0), Range(8, 10));
}

TEST_P(ReadTest, EndRepeatsForNextAndNextBatch) {
  est_iter* iter = nullptr;
  est_read_options options = EST_READ_OPTIONS_INIT;
  options.count = 1;
  ASSERT_EST_OK(est_read_stream(store_, stream_.c_str(), &options, &iter));
  est_event view = EST_EVENT_INIT;
  ASSERT_EST_OK(est_iter_next(iter, &view));
  for (int i = 0; i < 3; ++i) EXPECT_EST(EST_END, est_iter_next(iter, &view));
  est_event views[4] = {EST_EVENT_INIT, EST_EVENT_INIT, EST_EVENT_INIT, EST_EVENT_INIT};
  size_t count = 99;
  EXPECT_EST(EST_END, est_iter_next_batch(iter, views, 4, &count));
  EXPECT_EQ(count, 0u);
  EXPECT_EST(EST_END, est_iter_next(iter, &view));
  est_iter_close(iter);
}

TEST_P(ReadTest, EmptyIteratorEndsAtOnce) {
  est_read_options options = EST_READ_OPTIONS_INIT;
  options.after_version = 10;
  est_iter* iter = nullptr;
  ASSERT_EST_OK(est_read_stream(store_, stream_.c_str(), &options, &iter));
  est_event view = EST_EVENT_INIT;
  EXPECT_EST(EST_END, est_iter_next(iter, &view));
  EXPECT_EST(EST_END, est_iter_next(iter, &view));
  est_iter_close(iter);
}

TEST_P(ReadTest, NextBatchYieldsTheSameEventsAsNextAtAnyCapacity) {
  const std::vector<Event> expected = ReadStream(store_, stream_).events;
  for (size_t capacity : {size_t{1}, size_t{7}, size_t{1000}}) {
    SCOPED_TRACE("capacity " + std::to_string(capacity));
    est_iter* iter = nullptr;
    ASSERT_EST_OK(est_read_stream(store_, stream_.c_str(), nullptr, &iter));
    std::vector<est_event> views(capacity);
    for (est_event& v : views) est_event_init(&v);
    std::vector<Event> got;
    std::vector<size_t> sizes;
    for (;;) {
      size_t count = 12345;
      est_status status = est_iter_next_batch(iter, views.data(), capacity, &count);
      if (status == EST_END) {
        EXPECT_EQ(count, 0u);
        break;
      }
      ASSERT_EST_OK(status);
      ASSERT_GE(count, 1u);
      ASSERT_LE(count, capacity);
      sizes.push_back(count);
      // Every view of the batch is valid until the next call: copy them all now.
      for (size_t i = 0; i < count; ++i) got.push_back(CopyEvent(views[i]));
      ASSERT_LE(got.size(), expected.size());
    }
    EXPECT_EQ(got, expected);
    size_t count = 1;
    EXPECT_EST(EST_END, est_iter_next_batch(iter, views.data(), capacity, &count));
    EXPECT_EQ(count, 0u);
    est_iter_close(iter);
    if (capacity == 7) {
      EXPECT_EQ(sizes, (std::vector<size_t>{7, 3})) << "a batch is filled while events remain";
    }
  }
}

TEST_P(ReadTest, NextAndNextBatchMayBeMixed) {
  est_iter* iter = nullptr;
  ASSERT_EST_OK(est_read_stream(store_, stream_.c_str(), nullptr, &iter));
  est_event view = EST_EVENT_INIT;
  ASSERT_EST_OK(est_iter_next(iter, &view));
  EXPECT_EQ(view.stream_version, 1);
  est_event views[3] = {EST_EVENT_INIT, EST_EVENT_INIT, EST_EVENT_INIT};
  size_t count = 0;
  ASSERT_EST_OK(est_iter_next_batch(iter, views, 3, &count));
  ASSERT_EQ(count, 3u);
  EXPECT_EQ(views[0].stream_version, 2);
  EXPECT_EQ(views[2].stream_version, 4);
  EXPECT_EQ(Versions(Drain(iter)), Range(5, 10));
}

TEST_P(ReadTest, EventMetadataOutOfRangeIsInvalid) {
  const std::string stream = NewStreamId();
  Batch batch;
  batch.Add("tagged").Meta("k1", "v1").Meta("k2", "v2");
  ASSERT_EST_OK(Append(store_, stream, batch.Bytes()).status);
  est_iter* iter = nullptr;
  ASSERT_EST_OK(est_read_stream(store_, stream.c_str(), nullptr, &iter));
  est_event view = EST_EVENT_INIT;
  ASSERT_EST_OK(est_iter_next(iter, &view));
  ASSERT_EQ(view.metadata_count, 2u);
  const char* key = "unchanged";
  const char* value = "unchanged";
  EXPECT_INVALID(est_event_metadata(&view, 2, &key, &value));
  EXPECT_INVALID(est_event_metadata(&view, 1000000, &key, &value));
  EXPECT_INVALID(est_event_metadata(&view, static_cast<size_t>(-1), &key, &value));
  EXPECT_INVALID(est_event_metadata(&view, 0, nullptr, &value));
  EXPECT_INVALID(est_event_metadata(&view, 0, &key, nullptr));
  EXPECT_INVALID(est_event_metadata(nullptr, 0, &key, &value));
  ASSERT_EST_OK(est_event_metadata(&view, 1, &key, &value));
  EXPECT_STREQ(key, "k2");
  EXPECT_STREQ(value, "v2");
  est_iter_close(iter);
}

TEST_P(ReadTest, EveryViewOfABatchCanBePassedOnWhenOnlyTheFirstWasInitialised) {
  const std::string stream = NewStreamId();
  Batch batch;
  batch.Add("a").Meta("k", "first").Add("b").Meta("k", "second");
  ASSERT_EST_OK(Append(store_, stream, batch.Bytes()).status);
  est_iter* iter = nullptr;
  ASSERT_EST_OK(est_read_stream(store_, stream.c_str(), nullptr, &iter));
  est_event views[2];
  std::memset(views, 0, sizeof(views));
  views[0] = EST_EVENT_INIT;  // as the header asks: element 0 only
  size_t count = 0;
  ASSERT_EST_OK(est_iter_next_batch(iter, views, 2, &count));
  ASSERT_EQ(count, 2u);
  const char* key = nullptr;
  const char* value = nullptr;
  ASSERT_EST_OK(est_event_metadata(&views[1], 0, &key, &value));
  EXPECT_STREQ(value, "second");
  est_iter_close(iter);
}

TEST_P(ReadTest, ReadsOfATruncatedStreamStartAfterWhatIsGone) {
  ASSERT_EST_OK(est_delete_stream(store_, stream_.c_str(), 4));
  EXPECT_EQ(Read(EST_FORWARD, 0), Range(5, 10));
  EXPECT_EQ(Read(EST_FORWARD, 2), Range(5, 10));
  EXPECT_EQ(Read(EST_FORWARD, 6), Range(7, 10));
  EXPECT_EQ(Read(EST_REVERSE, 0), Range(10, 5));
  EXPECT_TRUE(Read(EST_REVERSE, 3).empty()) << "nothing at or below 3 remains";
  EXPECT_EQ(Read(EST_FORWARD, 0, 2), Range(5, 6));
}

}  // namespace
}  // namespace estoria::acceptance

// tests/acceptance/append_batch_test.cc: est_append_batch, the append that
// takes a batch handle instead of its bytes. It must behave exactly as
// est_append of the same batch's bytes: same events, same expectations,
// same rejections; the batch stays usable.
#include <string>
#include <vector>

#include "tests/acceptance/acceptance.h"

namespace estoria::acceptance {
namespace {

class AppendBatchTest : public Acceptance {};
ESTORIA_ACCEPTANCE_SUITE(AppendBatchTest);

// Everything a read gives but what the store assigns (ids, positions, times).
void ExpectSameContent(const std::vector<Event>& a, const std::vector<Event>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].type, b[i].type);
    EXPECT_EQ(a[i].stream_version, b[i].stream_version);
    EXPECT_EQ(a[i].data, b[i].data);
    EXPECT_EQ(a[i].content_type, b[i].content_type);
    EXPECT_EQ(a[i].metadata, b[i].metadata);
  }
}

void FillBatch(Batch& batch) {
  batch.Add("opened", std::string("a\0b", 3), "application/octet-stream").Meta("user", "ana").Meta("cid", "1");
  batch.Add("deposited", "{\"amount\":5}", "application/json");
}

TEST_P(AppendBatchTest, WritesWhatTheBytesPathWrites) {
  Batch batch;
  FillBatch(batch);
  const std::string by_handle = NewStreamId();
  const std::string by_bytes = NewStreamId();
  est_append_result result = EST_APPEND_RESULT_INIT;
  est_iter* written = nullptr;
  ASSERT_EST_OK(est_append_batch(store_, by_handle.c_str(), batch.get(), nullptr, &result, &written));
  std::vector<Event> written_events = Drain(written);
  EXPECT_EQ(result.first_version, 1);
  EXPECT_EQ(result.last_version, 2);
  EXPECT_EQ(result.actual_version, 2);
  ASSERT_EST_OK(Append(store_, by_bytes, batch.Bytes()).status);

  std::vector<Event> handle_events = ReadStream(store_, by_handle).events;
  EXPECT_EQ(written_events, handle_events);
  ExpectSameContent(handle_events, ReadStream(store_, by_bytes).events);
  if (HasGlobalOrder()) {
    EXPECT_EQ(result.first_position, handle_events.front().global_position);
    EXPECT_EQ(result.last_position, handle_events.back().global_position);
  }
}

TEST_P(AppendBatchTest, TheBatchStaysUsableAndCanBeAppendedAgain) {
  Batch batch;
  FillBatch(batch);
  const std::string stream = NewStreamId();
  ASSERT_EST_OK(est_append_batch(store_, stream.c_str(), batch.get(), nullptr, nullptr, nullptr));
  ASSERT_EST_OK(est_append_batch(store_, stream.c_str(), batch.get(), nullptr, nullptr, nullptr));
  EXPECT_EQ(Versions(ReadStream(store_, stream).events), Range(1, 4));
}

TEST_P(AppendBatchTest, AMismatchReportsTheActualVersionAndChangesNothing) {
  Batch batch;
  FillBatch(batch);
  const std::string stream = NewStreamId();
  AppendN(store_, stream, 3);
  const std::vector<Event> before = Everything();
  est_append_options expect = ExpectVersion(1);
  est_append_result result = EST_APPEND_RESULT_INIT;
  EXPECT_REJECTED(EST_ERR_VERSION_MISMATCH,
                  est_append_batch(store_, stream.c_str(), batch.get(), &expect, &result, nullptr));
  EXPECT_EQ(result.actual_version, 3);
  EXPECT_TRUE(MentionsNumber(est_last_error(), 1));
  EXPECT_TRUE(MentionsNumber(est_last_error(), 3));
  EXPECT_EQ(Everything(), before);
}

TEST_P(AppendBatchTest, BadInputIsRefusedAndTheStoreUnchanged) {
  Batch batch;
  FillBatch(batch);
  Batch empty;
  const std::string stream = NewStreamId();
  const std::vector<Event> before = Everything();
  est_iter* written = reinterpret_cast<est_iter*>(&batch);  // must be set to NULL
  EXPECT_INVALID(est_append_batch(store_, stream.c_str(), empty.get(), nullptr, nullptr, &written));
  EXPECT_EQ(written, nullptr);
  EXPECT_INVALID(est_append_batch(store_, stream.c_str(), nullptr, nullptr, nullptr, nullptr));
  EXPECT_INVALID(est_append_batch(store_, "not an id", batch.get(), nullptr, nullptr, nullptr));
  EXPECT_INVALID(est_append_batch(store_, nullptr, batch.get(), nullptr, nullptr, nullptr));
  EXPECT_INVALID(est_append_batch(nullptr, stream.c_str(), batch.get(), nullptr, nullptr, nullptr));
  est_append_options unknown = EST_APPEND_OPTIONS_INIT;
  unknown.expect = 7;
  EXPECT_INVALID(est_append_batch(store_, stream.c_str(), batch.get(), &unknown, nullptr, nullptr));
  unknown = EST_APPEND_OPTIONS_INIT;
  unknown.flags = 0x80;
  EXPECT_INVALID(est_append_batch(store_, stream.c_str(), batch.get(), &unknown, nullptr, nullptr));
  EXPECT_EQ(Everything(), before);
  EXPECT_EQ(ReadStream(store_, stream).status, EST_ERR_NOT_FOUND);
}

TEST_P(AppendBatchTest, RestoreKeepsIdsAndTimestampsFromTheBatch) {
  const est_uuid id = NewUuidV4();
  const int64_t timestamp = 1700000000123456789;
  NewEvent event;
  event.type = "imported";
  event.data = "x";
  event.has_id = true;
  event.id = id;
  event.timestamp_ns = timestamp;
  Batch batch;
  batch.Add(event);
  const std::string stream = NewStreamId();
  est_append_options restore = Restore(10);
  ASSERT_EST_OK(est_append_batch(store_, stream.c_str(), batch.get(), &restore, nullptr, nullptr));
  std::vector<Event> events = ReadStream(store_, stream).events;
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].id, id);
  EXPECT_EQ(events[0].timestamp_ns, timestamp);
  EXPECT_EQ(events[0].stream_version, 10);
}

}  // namespace
}  // namespace estoria::acceptance

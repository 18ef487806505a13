// tests/acceptance/idempotent_test.cc: idempotent appends
// (doc/data-model.md "Idempotent appends"). Every append keeps caller-set event IDs; a batch whose
// events all carry IDs already in the stream in order at the expected place
// writes nothing and returns the original result flagged
// EST_APPEND_DUPLICATE (with `written` yielding the original events); some
// but not all there is EST_ERR_VERSION_MISMATCH; IDs are compared, not
// payloads. Also EST_EXPECT_STREAM_EXISTS.
#include <string>
#include <vector>

#include "tests/acceptance/acceptance.h"

namespace estoria::acceptance {
namespace {

class IdempotentTest : public Acceptance {};
ESTORIA_ACCEPTANCE_SUITE(IdempotentTest);

std::vector<est_uuid> NewIds(int n) {
  std::vector<est_uuid> ids;
  for (int i = 0; i < n; ++i) ids.push_back(NewUuidV7());
  return ids;
}

std::vector<uint8_t> BatchWithIds(const std::vector<est_uuid>& ids, const std::string& prefix = "d") {
  Batch batch;
  for (size_t i = 0; i < ids.size(); ++i) {
    NewEvent e;
    e.data = prefix + std::to_string(i);
    e.has_id = true;
    e.id = ids[i];
    batch.Add(e);
  }
  return batch.Bytes();
}

est_append_options Expect(int32_t expect, int64_t version = 0) {
  est_append_options o = EST_APPEND_OPTIONS_INIT;
  o.expect = expect;
  o.expected_version = version;
  return o;
}

void ExpectSameResult(const est_append_result& a, const est_append_result& b) {
  EXPECT_EQ(a.first_version, b.first_version);
  EXPECT_EQ(a.last_version, b.last_version);
  EXPECT_EQ(a.first_position, b.first_position);
  EXPECT_EQ(a.last_position, b.last_position);
}

TEST_P(IdempotentTest, EveryAppendKeepsCallerSetIds) {
  const std::string s = NewStreamId();
  const std::vector<est_uuid> ids = NewIds(2);
  AppendOutcome out = Append(store_, s, BatchWithIds(ids));
  ASSERT_EST_OK(out.status);
  std::vector<Event> events = ReadStream(store_, s).events;
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].id, ids[0]);
  EXPECT_EQ(events[1].id, ids[1]);
  EXPECT_EQ(out.written, events);
}

// The whole batch again, with each expectation: a duplicate.
TEST_P(IdempotentTest, AWholeRetryIsADuplicateWithEveryExpectation) {
  struct Case {
    const char* name;
    int32_t expect;
    int prior;  // events in the stream before the batch
  };
  for (const Case& c : {Case{"any", EST_EXPECT_ANY, 0}, Case{"any after others", EST_EXPECT_ANY, 3},
                        Case{"version 0", EST_EXPECT_VERSION, 0}, Case{"version 2", EST_EXPECT_VERSION, 2},
                        Case{"no stream", EST_EXPECT_NO_STREAM, 0}, Case{"exists", EST_EXPECT_STREAM_EXISTS, 1}}) {
    SCOPED_TRACE(c.name);
    const std::string s = NewStreamId();
    if (c.prior > 0) AppendN(store_, s, c.prior);
    const std::vector<est_uuid> ids = NewIds(3);
    const est_append_options o = Expect(c.expect, c.prior);
    AppendOutcome first = Append(store_, s, BatchWithIds(ids), &o);
    ASSERT_EST_OK(first.status);
    EXPECT_EQ(first.result.flags, 0u);
    const std::vector<Event> after_first = Everything();
    // Different payloads, same IDs: IDs are compared, not payloads.
    AppendOutcome again = Append(store_, s, BatchWithIds(ids, "other"), &o);
    ASSERT_EST_OK(again.status);
    EXPECT_EQ(again.result.flags, EST_APPEND_DUPLICATE);
    ExpectSameResult(again.result, first.result);
    EXPECT_EQ(again.result.actual_version, c.prior + 3);
    EXPECT_EQ(again.written, first.written) << "written yields the original events";
    EXPECT_EQ(Everything(), after_first) << "a duplicate writes nothing";
  }
}

TEST_P(IdempotentTest, ARetryAfterLaterAppendsIsADuplicateOnlyWhereExpected) {
  const std::string s = NewStreamId();
  const std::vector<est_uuid> ids = NewIds(2);
  const est_append_options at0 = ExpectVersion(0);
  AppendOutcome first = Append(store_, s, BatchWithIds(ids), &at0);
  ASSERT_EST_OK(first.status);
  AppendN(store_, s, 1);  // someone else appends after it
  // Expecting the version it was written after: still found there.
  AppendOutcome again = Append(store_, s, BatchWithIds(ids), &at0);
  ASSERT_EST_OK(again.status);
  EXPECT_EQ(again.result.flags, EST_APPEND_DUPLICATE);
  ExpectSameResult(again.result, first.result);
  EXPECT_EQ(again.result.actual_version, 3);
  const est_append_options none = ExpectNoStream();
  AppendOutcome no_stream = Append(store_, s, BatchWithIds(ids), &none);
  ASSERT_EST_OK(no_stream.status);
  EXPECT_EQ(no_stream.result.flags, EST_APPEND_DUPLICATE);
  // "Any" looks at the last events: the batch is no longer the stream's
  // tail, but part of it is in that window: some but not all, a mismatch.
  AppendOutcome any = Append(store_, s, BatchWithIds(ids));
  EXPECT_EST(EST_ERR_VERSION_MISMATCH, any.status);
}

TEST_P(IdempotentTest, SomeButNotAllIdsThereIsAMismatch) {
  const std::string s = NewStreamId();
  const std::vector<est_uuid> ids = NewIds(2);
  ASSERT_EST_OK(Append(store_, s, BatchWithIds(ids)).status);
  const std::vector<Event> before = Everything();
  std::vector<est_uuid> more = ids;
  more.push_back(NewUuidV7());
  for (const est_append_options& o : {ExpectVersion(0), ExpectNoStream(), Expect(EST_EXPECT_ANY),
                                      Expect(EST_EXPECT_STREAM_EXISTS)}) {
    SCOPED_TRACE(o.expect);
    AppendOutcome out = Append(store_, s, BatchWithIds(more), &o);
    EXPECT_EST(EST_ERR_VERSION_MISMATCH, out.status);
    EXPECT_EQ(out.result.actual_version, 2);
  }
  // The first ID alone, expecting version 0: one of one there at version 1 — a duplicate.
  const est_append_options at0 = ExpectVersion(0);
  AppendOutcome one = Append(store_, s, BatchWithIds({ids[0]}), &at0);
  ASSERT_EST_OK(one.status);
  EXPECT_EQ(one.result.flags, EST_APPEND_DUPLICATE);
  // The second one first, then a new one: shifted, so some are there.
  AppendOutcome shifted = Append(store_, s, BatchWithIds({ids[1], NewUuidV7()}), &at0);
  EXPECT_EST(EST_ERR_VERSION_MISMATCH, shifted.status);
  EXPECT_EQ(Everything(), before);
}

TEST_P(IdempotentTest, EventsWithoutIdsOrAMixAreNeverDuplicates) {
  const std::string s = NewStreamId();
  const std::vector<uint8_t> plain = SimpleBatch(2);
  ASSERT_EST_OK(Append(store_, s, plain).status);
  AppendOutcome again = Append(store_, s, plain);
  ASSERT_EST_OK(again.status);
  EXPECT_EQ(again.result.flags, 0u);
  EXPECT_EQ(again.result.first_version, 3);

  const std::string t = NewStreamId();
  NewEvent with_id;
  with_id.has_id = true;
  with_id.id = NewUuidV7();
  Batch mixed;
  mixed.Add(with_id).Add("deposited", "no id");
  const std::vector<uint8_t> bytes = mixed.Bytes();
  ASSERT_EST_OK(Append(store_, t, bytes).status);
  AppendOutcome mixed_again = Append(store_, t, bytes);
  ASSERT_EST_OK(mixed_again.status) << "not every event carries an ID: an ordinary append";
  EXPECT_EQ(mixed_again.result.flags, 0u);
  EXPECT_EQ(ReadStream(store_, t).events.size(), 4u);
}

TEST_P(IdempotentTest, ADuplicateIsFoundAcrossAReopen) {
  if (!GetParam().persistent) GTEST_SKIP() << "not persistent";
  const std::string s = NewStreamId();
  const std::vector<est_uuid> ids = NewIds(4);
  const est_append_options none = ExpectNoStream();
  AppendOutcome first = Append(store_, s, BatchWithIds(ids), &none);
  ASSERT_EST_OK(first.status);
  ReopenStore();
  AppendOutcome again = Append(store_, s, BatchWithIds(ids), &none);
  ASSERT_EST_OK(again.status);
  EXPECT_EQ(again.result.flags, EST_APPEND_DUPLICATE);
  ExpectSameResult(again.result, first.result);
  EXPECT_EQ(ReadStream(store_, s).events.size(), 4u);
}

TEST_P(IdempotentTest, AfterDeletionTheIdsAreGone) {
  const std::string s = NewStreamId();
  const std::vector<est_uuid> ids = NewIds(2);
  const est_append_options none = ExpectNoStream();
  ASSERT_EST_OK(Append(store_, s, BatchWithIds(ids), &none).status);
  ASSERT_EST_OK(est_delete_stream(store_, s.c_str(), 0));
  // The stream no longer exists: the retry writes it afresh.
  AppendOutcome again = Append(store_, s, BatchWithIds(ids), &none);
  ASSERT_EST_OK(again.status);
  EXPECT_EQ(again.result.flags, 0u);
  EXPECT_EQ(again.result.first_version, 1);
}

TEST_P(IdempotentTest, AfterTruncationTheTruncatedIdsAreNotCompared) {
  const std::string s = NewStreamId();
  const std::vector<est_uuid> ids = NewIds(2);
  const est_append_options at0 = ExpectVersion(0);
  ASSERT_EST_OK(Append(store_, s, BatchWithIds(ids), &at0).status);
  AppendN(store_, s, 1);
  ASSERT_EST_OK(est_delete_stream(store_, s.c_str(), 2));  // versions 1-2 gone, 3 live
  const std::vector<Event> before = Everything();
  AppendOutcome again = Append(store_, s, BatchWithIds(ids), &at0);
  EXPECT_EST(EST_ERR_VERSION_MISMATCH, again.status) << "the originals are gone: an ordinary mismatch";
  EXPECT_EQ(again.result.actual_version, 3);
  EXPECT_EQ(Everything(), before);
  // Truncated empty: the stream exists, nothing live to compare.
  ASSERT_EST_OK(est_delete_stream(store_, s.c_str(), 3));
  const est_append_options exists = Expect(EST_EXPECT_STREAM_EXISTS);
  AppendOutcome onto_empty = Append(store_, s, BatchWithIds(ids), &exists);
  ASSERT_EST_OK(onto_empty.status);
  EXPECT_EQ(onto_empty.result.flags, 0u);
  EXPECT_EQ(onto_empty.result.first_version, 4);
}

TEST_P(IdempotentTest, StreamExistsRefusesAMissingOrDeletedStream) {
  const std::string s = NewStreamId();
  const est_append_options exists = Expect(EST_EXPECT_STREAM_EXISTS);
  AppendOutcome missing = Append(store_, s, SimpleBatch(1), &exists);
  EXPECT_EST(EST_ERR_VERSION_MISMATCH, missing.status);
  EXPECT_EQ(missing.result.actual_version, 0);
  EXPECT_EQ(ReadStream(store_, s).status, EST_ERR_NOT_FOUND);
  AppendN(store_, s, 2);
  AppendOutcome ok = Append(store_, s, SimpleBatch(1), &exists);
  ASSERT_EST_OK(ok.status);
  EXPECT_EQ(ok.result.first_version, 3);
  ASSERT_EST_OK(est_delete_stream(store_, s.c_str(), 0));
  EXPECT_EST(EST_ERR_VERSION_MISMATCH, Append(store_, s, SimpleBatch(1), &exists).status);
}

TEST_P(IdempotentTest, AnOldCallersResultStructIsNotWrittenPastItsSize) {
  const std::string s = NewStreamId();
  const std::vector<est_uuid> ids = NewIds(1);
  const std::vector<uint8_t> bytes = BatchWithIds(ids);
  ASSERT_EST_OK(est_append(store_, s.c_str(), bytes.data(), bytes.size(), nullptr, nullptr, nullptr));
  est_append_result old = EST_APPEND_RESULT_INIT;
  old.struct_size = offsetof(est_append_result, flags);
  old.flags = 77;  // beyond the caller's size: must stay
  ASSERT_EST_OK(est_append(store_, s.c_str(), bytes.data(), bytes.size(), nullptr, &old, nullptr));
  EXPECT_EQ(old.flags, 77u);
  EXPECT_EQ(old.first_version, 1);
}

}  // namespace
}  // namespace estoria::acceptance

// tests/acceptance/append_test.cc: AppendStream (doc/data-model.md
// "Appends" and "Versions"): numbering, the returned result and
// `written` events against later reads, expectations, RESTORE, and payloads
// (binary data, content types, metadata) kept verbatim.
#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "tests/acceptance/acceptance.h"

namespace estoria::acceptance {
namespace {

class AppendTest : public Acceptance {};
ESTORIA_ACCEPTANCE_SUITE(AppendTest);

TEST_P(AppendTest, FirstAppendNumbersVersionsFromOne) {
  const std::string stream = NewStreamId();
  AppendOutcome out = Append(store_, stream, SimpleBatch(3));
  ASSERT_EST_OK(out.status);
  EXPECT_EQ(out.result.first_version, 1);
  EXPECT_EQ(out.result.last_version, 3);
  EXPECT_EQ(out.result.actual_version, 3);
  EXPECT_EQ(Versions(out.written), Range(1, 3));
}

TEST_P(AppendTest, LaterAppendsContinueAtTipPlusOne) {
  const std::string stream = NewStreamId();
  AppendN(store_, stream, 2);
  AppendOutcome out = Append(store_, stream, SimpleBatch(4));
  ASSERT_EST_OK(out.status);
  EXPECT_EQ(out.result.first_version, 3);
  EXPECT_EQ(out.result.last_version, 6);
  EXPECT_EQ(out.result.actual_version, 6);
  EXPECT_EQ(Versions(ReadStream(store_, stream).events), Range(1, 6));
}

TEST_P(AppendTest, ResultAndWrittenEqualALaterRead) {
  const std::string stream = NewStreamId("order");
  Batch batch;
  NewEvent placed;
  placed.type = "order_placed";
  placed.data = "{\"sku\":\"x\"}";
  placed.content_type = "application/json";
  placed.metadata = {{"trace", "abc"}, {"actor", "me"}};
  batch.Add(placed);
  NewEvent paid;
  paid.type = "OrderPaid";
  paid.data = std::string("\x00\x01\x02", 3);
  batch.Add(paid);
  batch.Add("shipped", "", "text/plain");

  const int64_t before = NowNs();
  AppendOutcome out = Append(store_, stream, batch.Bytes());
  const int64_t after = NowNs();
  ASSERT_EST_OK(out.status);
  ASSERT_EQ(out.written.size(), 3u);

  ReadResult read = ReadStream(store_, stream);
  ASSERT_EST_OK(read.status);
  EXPECT_EQ(out.written, read.events) << "written must be exactly what a later read returns";

  EXPECT_EQ(out.result.first_version, out.written.front().stream_version);
  EXPECT_EQ(out.result.last_version, out.written.back().stream_version);
  EXPECT_EQ(out.result.first_position, out.written.front().global_position);
  EXPECT_EQ(out.result.last_position, out.written.back().global_position);

  const est_uuid stream_uuid = UuidOf(stream);
  std::set<std::string> ids;
  for (size_t i = 0; i < out.written.size(); ++i) {
    const Event& e = out.written[i];
    EXPECT_EQ(e.stream_type, "order");
    EXPECT_EQ(e.stream_uuid, stream_uuid);
    EXPECT_EQ(e.stream_version, static_cast<int64_t>(i) + 1);
    EXPECT_GE(e.timestamp_ns, before);
    EXPECT_LE(e.timestamp_ns, after);
    EXPECT_TRUE(ids.insert(UuidText(e.id)).second) << "event ids must be distinct";
    if (HasGlobalOrder()) {
      EXPECT_GT(e.global_position, 0);
      if (i > 0) {
        EXPECT_GT(e.global_position, out.written[i - 1].global_position);
      }
    } else {
      EXPECT_EQ(e.global_position, 0);
    }
  }
  EXPECT_EQ(out.written[0].type, "order_placed");
  EXPECT_EQ(out.written[0].data, placed.data);
  EXPECT_EQ(out.written[0].content_type, "application/json");
  EXPECT_EQ(out.written[0].metadata,
            (std::vector<std::pair<std::string, std::string>>{{"actor", "me"}, {"trace", "abc"}}));
  EXPECT_EQ(out.written[1].type, "OrderPaid");
  EXPECT_EQ(out.written[1].data, paid.data);
  EXPECT_EQ(out.written[1].content_type, "");
  EXPECT_TRUE(out.written[1].metadata.empty());
  EXPECT_EQ(out.written[2].type, "shipped");
  EXPECT_EQ(out.written[2].content_type, "text/plain");

  if (HasGlobalOrder()) {
    ReadResult all = ReadAll(store_);
    EXPECT_EQ(all.events, read.events) << "global reads report the same events and positions";
  }
}

TEST_P(AppendTest, ResultAndWrittenAreOptional) {
  const std::string stream = NewStreamId();
  std::vector<uint8_t> bytes = SimpleBatch(2);
  ASSERT_EST_OK(est_append(store_, stream.c_str(), bytes.data(), bytes.size(), nullptr, nullptr, nullptr));
  EXPECT_EQ(Versions(ReadStream(store_, stream).events), Range(1, 2));
}

TEST_P(AppendTest, IdsFromTheBatchAreKeptAndTimestampsIgnoredWithoutRestore) {
  const std::string stream = NewStreamId();
  NewEvent e;
  e.has_id = true;
  e.id = NewUuidV4();
  e.timestamp_ns = 12345;
  Batch batch;
  batch.Add(e);
  AppendOutcome out = Append(store_, stream, batch.Bytes());
  ASSERT_EST_OK(out.status);
  ASSERT_EQ(out.written.size(), 1u);
  EXPECT_EQ(out.written[0].id, e.id) << "every append keeps caller-set ids (idempotent appends)";
  EXPECT_NE(out.written[0].timestamp_ns, 12345) << "the store stamps the time unless restoring";
}

TEST_P(AppendTest, OneBatchMayMixEventTypes) {
  const std::string stream = NewStreamId();
  Batch batch;
  batch.Add("opened").Add("deposited").Add("withdrawn").Add("closed");
  AppendOutcome out = Append(store_, stream, batch.Bytes());
  ASSERT_EST_OK(out.status);
  std::vector<std::string> types;
  for (const Event& e : ReadStream(store_, stream).events) types.push_back(e.type);
  EXPECT_EQ(types, (std::vector<std::string>{"opened", "deposited", "withdrawn", "closed"}));
}

TEST_P(AppendTest, LargeBatchIsOneAtomicRun) {
  const std::string stream = NewStreamId();
  AppendOutcome out = Append(store_, stream, SimpleBatch(1000));
  ASSERT_EST_OK(out.status);
  EXPECT_EQ(out.result.last_version, 1000);
  std::vector<Event> read = ReadStream(store_, stream).events;
  ASSERT_EQ(read.size(), 1000u);
  for (size_t i = 0; i < read.size(); ++i) {
    EXPECT_EQ(read[i].data, "e" + std::to_string(i + 1));
    if (HasGlobalOrder() && i > 0) {
      EXPECT_GT(read[i].global_position, read[i - 1].global_position);
    }
  }
}

// ------------------------------------------------------------- expectations

TEST_P(AppendTest, ExpectAnyIgnoresExpectedVersion) {
  const std::string stream = NewStreamId();
  est_append_options any = EST_APPEND_OPTIONS_INIT;
  any.expect = EST_EXPECT_ANY;
  any.expected_version = 42;
  ASSERT_EST_OK(Append(store_, stream, SimpleBatch(1), &any).status);
  any.expected_version = -7;
  AppendOutcome out = Append(store_, stream, SimpleBatch(1), &any);
  ASSERT_EST_OK(out.status);
  EXPECT_EQ(out.result.last_version, 2);
}

TEST_P(AppendTest, ExpectVersionSucceedsAtTheTip) {
  const std::string stream = NewStreamId();
  AppendN(store_, stream, 2);
  est_append_options o = ExpectVersion(2);
  AppendOutcome out = Append(store_, stream, SimpleBatch(2), &o);
  ASSERT_EST_OK(out.status);
  EXPECT_EQ(out.result.first_version, 3);
  EXPECT_EQ(out.result.last_version, 4);
  EXPECT_EQ(out.result.actual_version, 4);
}

TEST_P(AppendTest, ExpectVersionMismatchReportsBothVersionsAndChangesNothing) {
  const std::string stream = NewStreamId();
  AppendN(store_, stream, 3);
  const std::vector<Event> before = Everything();
  for (int64_t expected : {int64_t{2}, int64_t{4}, int64_t{17}}) {
    SCOPED_TRACE("expecting " + std::to_string(expected));
    est_append_options o = ExpectVersion(expected);
    est_append_result result = EST_APPEND_RESULT_INIT;
    est_iter* written = nullptr;
    std::vector<uint8_t> bytes = SimpleBatch(2, "x");
    EXPECT_REJECTED(EST_ERR_VERSION_MISMATCH,
                    est_append(store_, stream.c_str(), bytes.data(), bytes.size(), &o, &result, &written));
    const std::string message = est_last_error();
    EXPECT_EQ(result.actual_version, 3);
    EXPECT_EQ(written, nullptr);
    EXPECT_TRUE(MentionsNumber(message, expected)) << message;
    EXPECT_TRUE(MentionsNumber(message, 3)) << message;
    EXPECT_EQ(Everything(), before);
    EXPECT_EQ(Versions(ReadStream(store_, stream).events), Range(1, 3));
  }
}

TEST_P(AppendTest, ExpectVersionZeroMeansTheStreamMustBeEmpty) {
  const std::string stream = NewStreamId();
  est_append_options zero = ExpectVersion(0);
  AppendOutcome first = Append(store_, stream, SimpleBatch(1), &zero);
  ASSERT_EST_OK(first.status);
  EXPECT_EQ(first.result.first_version, 1);
  AppendOutcome second = Append(store_, stream, SimpleBatch(1), &zero);
  EXPECT_EST(EST_ERR_VERSION_MISMATCH, second.status);
  EXPECT_EQ(second.result.actual_version, 1);
}

TEST_P(AppendTest, ExpectNoStreamSucceedsOnlyForANewStream) {
  const std::string stream = NewStreamId();
  est_append_options no_stream = ExpectNoStream();
  AppendOutcome first = Append(store_, stream, SimpleBatch(2), &no_stream);
  ASSERT_EST_OK(first.status);
  EXPECT_EQ(first.result.last_version, 2);

  const std::vector<Event> before = Everything();
  AppendOutcome second = Append(store_, stream, SimpleBatch(1), &no_stream);
  EXPECT_EST(EST_ERR_VERSION_MISMATCH, second.status);
  EXPECT_EQ(second.result.actual_version, 2);
  EXPECT_TRUE(second.written_was_null);
  EXPECT_EQ(Everything(), before);
}

TEST_P(AppendTest, ExpectNoStreamMismatchReportsExpectedZero) {
  const std::string stream = NewStreamId();
  AppendN(store_, stream, 5);
  est_append_options no_stream = ExpectNoStream();
  std::vector<uint8_t> bytes = SimpleBatch(1);
  est_append_result result = EST_APPEND_RESULT_INIT;
  EXPECT_REJECTED(EST_ERR_VERSION_MISMATCH,
                  est_append(store_, stream.c_str(), bytes.data(), bytes.size(), &no_stream, &result, nullptr));
  const std::string message = est_last_error();
  EXPECT_TRUE(MentionsNumber(message, 0)) << "the expected version of NO_STREAM is 0: " << message;
  EXPECT_TRUE(MentionsNumber(message, 5)) << message;
  EXPECT_EQ(result.actual_version, 5);
}

TEST_P(AppendTest, ExpectingAVersionOfAMissingStreamCreatesNothing) {
  const std::string stream = NewStreamId();
  est_append_options o = ExpectVersion(3);
  AppendOutcome out = Append(store_, stream, SimpleBatch(2), &o);
  EXPECT_EST(EST_ERR_VERSION_MISMATCH, out.status);
  EXPECT_EQ(out.result.actual_version, 0);
  EXPECT_EST(EST_ERR_NOT_FOUND, ReadStream(store_, stream).status);
  EXPECT_TRUE(Everything().empty());
}

TEST_P(AppendTest, ExpectedVersionsAreIgnoredWhereTheStreamTypeDiffers) {
  // Identity: account_X at version 3 says nothing about order_X.
  const est_uuid uuid = NewUuidV4();
  AppendN(store_, FormatId("account", uuid), 3);
  est_append_options no_stream = ExpectNoStream();
  AppendOutcome out = Append(store_, FormatId("order", uuid), SimpleBatch(1), &no_stream);
  ASSERT_EST_OK(out.status);
  EXPECT_EQ(out.result.first_version, 1);
}

// ------------------------------------------------------------------ restore

TEST_P(AppendTest, RestoreKeepsIdsAndTimestampsAndStartsAtFirstVersion) {
  const std::string stream = NewStreamId();
  std::vector<NewEvent> events(3);
  Batch batch;
  for (size_t i = 0; i < events.size(); ++i) {
    events[i].type = "imported";
    events[i].data = "old" + std::to_string(i);
    events[i].has_id = true;
    events[i].id = NewUuidV7();
    events[i].timestamp_ns = 1500000000000000000 + static_cast<int64_t>(i) * 1000;
    batch.Add(events[i]);
  }
  est_append_options o = Restore(10);
  AppendOutcome out = Append(store_, stream, batch.Bytes(), &o);
  ASSERT_EST_OK(out.status);
  EXPECT_EQ(out.result.first_version, 10);
  EXPECT_EQ(out.result.last_version, 12);
  EXPECT_EQ(out.result.actual_version, 12);
  ASSERT_EQ(out.written.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(out.written[i].id, events[i].id);
    EXPECT_EQ(out.written[i].timestamp_ns, events[i].timestamp_ns);
    EXPECT_EQ(out.written[i].stream_version, 10 + static_cast<int64_t>(i));
  }

  ReadResult forward = ReadStream(store_, stream);
  EXPECT_EQ(forward.events, out.written);
  EXPECT_EQ(Versions(ReadStream(store_, stream, EST_REVERSE).events), Range(12, 10));
  EXPECT_EQ(Versions(ReadStream(store_, stream, EST_FORWARD, 10).events), Range(11, 12));

  // The stream is at 12: an ordinary append continues at 13, and expecting 12 holds.
  est_append_options expect = ExpectVersion(12);
  AppendOutcome next = Append(store_, stream, SimpleBatch(1), &expect);
  ASSERT_EST_OK(next.status);
  EXPECT_EQ(next.result.first_version, 13);
}

TEST_P(AppendTest, RestoreWithFirstVersionZeroStartsAtOne) {
  const std::string stream = NewStreamId();
  NewEvent e;
  e.has_id = true;
  e.id = NewUuidV4();
  e.timestamp_ns = 42;
  Batch batch;
  batch.Add(e);
  est_append_options o = Restore(0);
  AppendOutcome out = Append(store_, stream, batch.Bytes(), &o);
  ASSERT_EST_OK(out.status);
  ASSERT_EQ(out.written.size(), 1u);
  EXPECT_EQ(out.written[0].stream_version, 1);
  EXPECT_EQ(out.written[0].id, e.id);
  EXPECT_EQ(out.written[0].timestamp_ns, 42);
}

TEST_P(AppendTest, RestoreOntoAnExistingStreamContinuesAtItsTip) {
  const std::string stream = NewStreamId();
  AppendN(store_, stream, 2);
  NewEvent e;
  e.has_id = true;
  e.id = NewUuidV4();
  e.timestamp_ns = 7;
  Batch batch;
  batch.Add(e);
  est_append_options o = Restore(0);
  AppendOutcome out = Append(store_, stream, batch.Bytes(), &o);
  ASSERT_EST_OK(out.status);
  EXPECT_EQ(out.result.first_version, 3);
  ASSERT_EQ(out.written.size(), 1u);
  EXPECT_EQ(out.written[0].id, e.id);
}

TEST_P(AppendTest, RestoreHonoursExpectations) {
  const std::string stream = NewStreamId();
  Batch batch;
  batch.Add("imported");
  est_append_options o = Restore(5);
  o.expect = EST_EXPECT_NO_STREAM;
  std::vector<uint8_t> bytes = batch.Bytes();
  AppendOutcome first = Append(store_, stream, bytes, &o);
  ASSERT_EST_OK(first.status);
  EXPECT_EQ(first.result.first_version, 5);
  AppendOutcome second = Append(store_, stream, bytes, &o);
  EXPECT_EST(EST_ERR_VERSION_MISMATCH, second.status);
  EXPECT_EQ(second.result.actual_version, 5);
}

// ----------------------------------------------------------------- payloads

TEST_P(AppendTest, BinaryDataWithNulsRoundTrips) {
  const std::string stream = NewStreamId();
  std::string data;
  for (int i = 0; i < 512; ++i) data += static_cast<char>(i % 256);
  Batch batch;
  batch.Add("blob", data, "application/octet-stream");
  batch.Add("blob", std::string(5, '\0'));
  ASSERT_EST_OK(Append(store_, stream, batch.Bytes()).status);
  std::vector<Event> read = ReadStream(store_, stream).events;
  ASSERT_EQ(read.size(), 2u);
  EXPECT_EQ(read[0].data, data);
  EXPECT_EQ(read[1].data, std::string(5, '\0'));
}

TEST_P(AppendTest, EmptyDataRoundTrips) {
  const std::string stream = NewStreamId();
  est_batch* batch = nullptr;
  ASSERT_EST_OK(est_batch_new(&batch));
  EXPECT_EST_OK(est_batch_add(batch, "empty", nullptr, 0, nullptr));  // (NULL, 0) is an empty range
  EXPECT_EST_OK(est_batch_add(batch, "empty", "", 0, nullptr));
  const uint8_t* bytes = nullptr;
  size_t len = 0;
  ASSERT_EST_OK(est_batch_bytes(batch, &bytes, &len));
  std::vector<uint8_t> copy(bytes, bytes + len);
  est_batch_free(batch);
  ASSERT_EST_OK(Append(store_, stream, copy).status);
  std::vector<Event> read = ReadStream(store_, stream).events;
  ASSERT_EQ(read.size(), 2u);
  EXPECT_EQ(read[0].data, "");
  EXPECT_EQ(read[1].data, "");
}

TEST_P(AppendTest, ContentTypeIsKeptVerbatimAndEmptyWhenUndeclared) {
  const std::string stream = NewStreamId();
  const std::string odd = " Application/JSON ; charset=\"utf-8\"\t";
  Batch batch;
  batch.Add("a", "1", odd.c_str());
  batch.Add("a", "2", nullptr);
  batch.Add("a", "3", "");
  batch.Add("a", "4", "caf\xc3\xa9/\xe6\x97\xa5");
  ASSERT_EST_OK(Append(store_, stream, batch.Bytes()).status);
  std::vector<Event> read = ReadStream(store_, stream).events;
  ASSERT_EQ(read.size(), 4u);
  EXPECT_EQ(read[0].content_type, odd);
  EXPECT_EQ(read[1].content_type, "");
  EXPECT_EQ(read[2].content_type, "");
  EXPECT_EQ(read[3].content_type, "caf\xc3\xa9/\xe6\x97\xa5");
}

TEST_P(AppendTest, MetadataIsSortedByKeyAndPreserved) {
  const std::string stream = NewStreamId();
  Batch batch;
  batch.Add("tagged");
  batch.Meta("zeta", "last").Meta("alpha", "").Meta("Mid", "caf\xc3\xa9").Meta("estoria", "no dot: allowed");
  batch.Meta("estoriaX", "prefix without the dot").Meta("a.b", "x\ty");
  batch.Add("untagged");
  batch.Add("other").Meta("alpha", "per event keys are independent");
  ASSERT_EST_OK(Append(store_, stream, batch.Bytes()).status);
  std::vector<Event> read = ReadStream(store_, stream).events;
  ASSERT_EQ(read.size(), 3u);
  EXPECT_EQ(read[0].metadata, (std::vector<std::pair<std::string, std::string>>{
                                  {"Mid", "caf\xc3\xa9"},
                                  {"a.b", "x\ty"},
                                  {"alpha", ""},
                                  {"estoria", "no dot: allowed"},
                                  {"estoriaX", "prefix without the dot"},
                                  {"zeta", "last"},
                              }));
  EXPECT_TRUE(read[1].metadata.empty());
  EXPECT_EQ(read[2].metadata,
            (std::vector<std::pair<std::string, std::string>>{{"alpha", "per event keys are independent"}}));
}

}  // namespace
}  // namespace estoria::acceptance

// tests/acceptance/bad_input_test.cc: "no input from the caller can crash the
// library" (doc/abi.md), for every call's values, strings, byte
// ranges and options: each bad input is a clear status with a message in
// est_last_error(), and the store is unchanged (read_all before and after).
// Raw FlatBuffers batches crafted by hand are in raw_batch_test.cc.
#include <cstddef>
#include <cstring>
#include <string>
#include <vector>

#include "tests/acceptance/acceptance.h"

namespace estoria::acceptance {
namespace {

class BadInputTest : public Acceptance {
 protected:
  void SetUp() override {
    Acceptance::SetUp();
    if (HasFatalFailure()) return;
    stream_ = NewStreamId();
    AppendN(store_, stream_, 3);
    ASSERT_EST_OK(est_snapshot_write(store_, stream_.c_str(), 2, "s", 1, nullptr, nullptr));
    before_ = Everything();
    batch_ = SimpleBatch(2, "bad");
  }

  void TearDown() override {
    if (store_ != nullptr) {
      EXPECT_EQ(Everything(), before_) << "a rejected call changed the store";
      est_snapshot* snapshot = nullptr;
      EXPECT_EST_OK(est_snapshot_read(store_, stream_.c_str(), 0, &snapshot));
      EXPECT_EQ(est_snapshot_version(snapshot), 2);
      est_snapshot_free(snapshot);
    }
    Acceptance::TearDown();
  }

  // Appends batch_ to `stream` (NULL: stream_).
  est_status AppendWith(const est_append_options* options, const std::string* stream = nullptr) {
    const std::string& id = stream == nullptr ? stream_ : *stream;
    est_append_result result = EST_APPEND_RESULT_INIT;
    est_iter* written = reinterpret_cast<est_iter*>(&result);
    est_status status = est_append(store_, id.c_str(), batch_.data(), batch_.size(), options, &result, &written);
    EXPECT_EQ(written, nullptr);
    return status;
  }

  est_status ReadWith(const est_read_options* options) {
    est_iter* iter = reinterpret_cast<est_iter*>(&iter);
    est_status status = est_read_stream(store_, stream_.c_str(), options, &iter);
    if (status == EST_OK) est_iter_close(iter);
    else EXPECT_EQ(iter, nullptr);
    return status;
  }

  est_status ReadAllWith(const est_read_all_options* options) {
    est_iter* iter = reinterpret_cast<est_iter*>(&iter);
    est_status status = est_read_all(store_, options, &iter);
    if (status == EST_OK) est_iter_close(iter);
    else EXPECT_EQ(iter, nullptr);
    return status;
  }

  std::string stream_;
  std::vector<Event> before_;
  std::vector<uint8_t> batch_;
};
ESTORIA_ACCEPTANCE_SUITE(BadInputTest);

std::vector<std::string> MalformedIds() {
  const std::string uuid = "0190f3c4-8d1e-7c3a-9b2f-5e6d7c8b9a01";
  return {
      "",
      "account",
      "account_",
      "_" + uuid,
      "_account_" + uuid,
      "account__" + uuid.substr(1),
      "account_0190F3C4-8D1E-7C3A-9B2F-5E6D7C8B9A01",
      "account_0190f3c48d1e7c3a9b2f5e6d7c8b9a01",
      "account_" + uuid + "x",
      "acc\x01ount_" + uuid,
      "acc\xff" "ount_" + uuid,
      std::string(256, 'a') + "_" + uuid,
      uuid,
  };
}

// ------------------------------------------------------------- stream ids

TEST_P(BadInputTest, MalformedStreamIdsAreInvalidForEveryCall) {
  for (const std::string& id : MalformedIds()) {
    SCOPED_TRACE("id \"" + id + "\"");
    EXPECT_INVALID(AppendWith(nullptr, &id));
    est_iter* iter = nullptr;
    EXPECT_INVALID(est_read_stream(store_, id.c_str(), nullptr, &iter));
    EXPECT_EQ(iter, nullptr);
    EXPECT_INVALID(est_delete_stream(store_, id.c_str(), 0));
    EXPECT_INVALID(est_delete_stream(store_, id.c_str(), 1));
    EXPECT_INVALID(est_snapshot_write(store_, id.c_str(), 1, "x", 1, nullptr, nullptr));
    est_snapshot* snapshot = nullptr;
    EXPECT_INVALID(est_snapshot_read(store_, id.c_str(), 0, &snapshot));
    EXPECT_EQ(snapshot, nullptr);
  }
}

// -------------------------------------------------------------- byte ranges

TEST_P(BadInputTest, GarbageBytesAreRejected) {
  std::vector<std::vector<uint8_t>> garbage = {
      {'h', 'e', 'l', 'l', 'o'},
      std::vector<uint8_t>(64, 0),
      std::vector<uint8_t>(64, 0xff),
      {0x04, 0, 0, 0, 'E', 'S', 'T', 'B'},  // a root offset and the identifier, nothing else
      {0xff, 0xff, 0xff, 0x7f, 'E', 'S', 'T', 'B', 0, 0, 0, 0},
  };
  std::vector<uint8_t> noise(256);
  uint32_t x = 12345;
  for (uint8_t& b : noise) {
    x = x * 1103515245 + 12345;
    b = static_cast<uint8_t>(x >> 16);
  }
  garbage.push_back(noise);
  const std::string fresh = NewStreamId();
  for (const auto& bytes : garbage) {
    for (const std::string& id : {stream_, fresh}) {
      EXPECT_INVALID(est_append(store_, id.c_str(), bytes.data(), bytes.size(), nullptr, nullptr, nullptr));
    }
  }
  EXPECT_EST(EST_ERR_NOT_FOUND, ReadStream(store_, fresh).status) << "not even an empty stream is left";
}

TEST_P(BadInputTest, EmptyByteRangesAreRejected) {
  EXPECT_INVALID(est_append(store_, stream_.c_str(), nullptr, 0, nullptr, nullptr, nullptr));
  EXPECT_INVALID(est_append(store_, stream_.c_str(), batch_.data(), 0, nullptr, nullptr, nullptr));
  EXPECT_INVALID(est_append(store_, stream_.c_str(), nullptr, 16, nullptr, nullptr, nullptr))
      << "NULL with a length is not a byte range";
}

TEST_P(BadInputTest, BatchWithNoEventHasNoBytes) {
  est_batch* batch = nullptr;
  ASSERT_EST_OK(est_batch_new(&batch));
  const uint8_t* bytes = nullptr;
  size_t len = 0;
  EXPECT_INVALID(est_batch_bytes(batch, &bytes, &len));
  est_batch_free(batch);
}

// ------------------------------------------------------------------ batches

TEST_P(BadInputTest, BatchCallsRefuseBadArguments) {
  est_batch* batch = nullptr;
  EXPECT_INVALID(est_batch_new(nullptr));
  ASSERT_EST_OK(est_batch_new(&batch));
  const est_uuid uuid = NewUuidV4();

  // Before any event: nothing to attach metadata, an id or a timestamp to.
  EXPECT_INVALID(est_batch_add_metadata(batch, "k", "v"));
  EXPECT_INVALID(est_batch_set_id(batch, &uuid));
  EXPECT_INVALID(est_batch_set_timestamp(batch, 5));

  // Event types follow the type-name rules.
  for (const std::string& type : {std::string(""), std::string("_x"), std::string("x_"), std::string("a\x01"),
                                  std::string("\xff"), std::string(256, 't')}) {
    EXPECT_INVALID(est_batch_add(batch, type.c_str(), "d", 1, nullptr)) << "type \"" << type << "\"";
  }
  EXPECT_INVALID(est_batch_add(batch, nullptr, "d", 1, nullptr));
  EXPECT_INVALID(est_batch_add(batch, "ok", nullptr, 3, nullptr));
  EXPECT_INVALID(est_batch_add(nullptr, "ok", "d", 1, nullptr));
  const uint8_t* bytes = nullptr;
  size_t len = 0;
  EXPECT_INVALID(est_batch_bytes(batch, &bytes, &len)) << "the rejected adds left no event";

  ASSERT_EST_OK(est_batch_add(batch, "ok", "d", 1, nullptr));
  EXPECT_EST_OK(est_batch_add_metadata(batch, "k", "v"));
  EXPECT_INVALID(est_batch_add_metadata(batch, "k", "other")) << "duplicate key on one event";
  EXPECT_INVALID(est_batch_add_metadata(batch, "", "v"));
  EXPECT_INVALID(est_batch_add_metadata(batch, nullptr, "v"));
  EXPECT_INVALID(est_batch_add_metadata(batch, "k2", nullptr));
  EXPECT_INVALID(est_batch_add_metadata(nullptr, "k2", "v"));
  EXPECT_INVALID(est_batch_set_id(batch, nullptr));
  EXPECT_INVALID(est_batch_set_id(nullptr, &uuid));
  EXPECT_INVALID(est_batch_set_timestamp(batch, 0));
  EXPECT_INVALID(est_batch_set_timestamp(batch, -5));
  EXPECT_INVALID(est_batch_set_timestamp(nullptr, 5));
  EXPECT_INVALID(est_batch_bytes(batch, nullptr, &len));
  EXPECT_INVALID(est_batch_bytes(batch, &bytes, nullptr));
  EXPECT_INVALID(est_batch_bytes(nullptr, &bytes, &len));

  // The batch is still usable, and the rejected calls left no trace in it.
  ASSERT_EST_OK(est_batch_bytes(batch, &bytes, &len));
  std::vector<uint8_t> copy(bytes, bytes + len);
  est_batch_free(batch);
  const std::string other = NewStreamId();
  ASSERT_EST_OK(Append(store_, other, copy).status);
  std::vector<Event> read = ReadStream(store_, other).events;
  ASSERT_EQ(read.size(), 1u);
  EXPECT_EQ(read[0].type, "ok");
  EXPECT_EQ(read[0].metadata, (std::vector<std::pair<std::string, std::string>>{{"k", "v"}}));
  ASSERT_EST_OK(est_delete_stream(store_, other.c_str(), 0));  // keep the store as it was
}

// ------------------------------------------------------------- option values

TEST_P(BadInputTest, UnknownExpectValuesAreInvalid) {
  for (int32_t expect : {4, -1, 100, INT32_MIN}) {  // 3 is EST_EXPECT_STREAM_EXISTS
    est_append_options o = EST_APPEND_OPTIONS_INIT;
    o.expect = expect;
    EXPECT_INVALID(AppendWith(&o)) << "expect " << expect;
  }
}

TEST_P(BadInputTest, UnknownAppendFlagsAreInvalid) {
  for (uint32_t flags : {2u, 3u, 0x80000000u, 0xffffffffu}) {
    est_append_options o = EST_APPEND_OPTIONS_INIT;
    o.flags = flags;
    EXPECT_INVALID(AppendWith(&o)) << "flags " << flags;
  }
}

TEST_P(BadInputTest, NegativeVersionsInAppendOptionsAreInvalid) {
  est_append_options expect = ExpectVersion(-1);
  EXPECT_INVALID(AppendWith(&expect));
  est_append_options restore = Restore(-1);
  const std::string fresh = NewStreamId();
  EXPECT_INVALID(AppendWith(&restore, &fresh));
}

TEST_P(BadInputTest, UnknownDirectionIsInvalid) {
  for (int32_t direction : {2, -1, 1000}) {
    est_read_options o = EST_READ_OPTIONS_INIT;
    o.direction = direction;
    EXPECT_INVALID(ReadWith(&o)) << "direction " << direction;
  }
}

TEST_P(BadInputTest, NegativeReadBoundsAndCountsAreInvalid) {
  for (int32_t direction : {EST_FORWARD, EST_REVERSE}) {
    est_read_options o = EST_READ_OPTIONS_INIT;
    o.direction = direction;
    o.after_version = -1;
    EXPECT_INVALID(ReadWith(&o));
    o.after_version = 0;
    o.count = -1;
    EXPECT_INVALID(ReadWith(&o));
    o.count = INT64_MIN;
    EXPECT_INVALID(ReadWith(&o));
  }
  est_read_all_options all = EST_READ_ALL_OPTIONS_INIT;
  all.after_position = -1;
  EXPECT_INVALID(ReadAllWith(&all));
  all.after_position = 0;
  all.count = -1;
  EXPECT_INVALID(ReadAllWith(&all));
}

TEST_P(BadInputTest, UnknownSyncModesAndUrisAreInvalid) {
  for (int32_t mode : {3, -1, 99}) {
    est_store_options o = EST_STORE_OPTIONS_INIT;
    o.sync_mode = mode;
    est_store* store = reinterpret_cast<est_store*>(&o);
    EXPECT_INVALID(est_store_open(ExtraUri().c_str(), &o, &store)) << "sync_mode " << mode;
    EXPECT_EQ(store, nullptr);
  }
  est_store_options negative_interval = EST_STORE_OPTIONS_INIT;
  negative_interval.sync_interval_ms = -1;
  est_store* store = nullptr;
  EXPECT_INVALID(est_store_open(ExtraUri().c_str(), &negative_interval, &store));
  EXPECT_EQ(store, nullptr);
  // (A string without a "scheme:" prefix is a bare path: the file store.)
  for (const char* uri : {"bogus:", "memory2:", "http://example.com", "Memory-x:"}) {
    EXPECT_INVALID(est_store_open(uri, nullptr, &store)) << uri;
    EXPECT_EQ(store, nullptr);
  }
  EXPECT_INVALID(est_store_open("", nullptr, &store));
  EXPECT_INVALID(est_store_open(nullptr, nullptr, &store));
  EXPECT_INVALID(est_store_open("memory:", nullptr, nullptr));
}

// ----------------------------------------------------------- NULL pointers

TEST_P(BadInputTest, NullRequiredPointersAreInvalid) {
  est_iter* iter = nullptr;
  EXPECT_INVALID(est_append(nullptr, stream_.c_str(), batch_.data(), batch_.size(), nullptr, nullptr, nullptr));
  EXPECT_INVALID(est_append(store_, nullptr, batch_.data(), batch_.size(), nullptr, nullptr, nullptr));
  EXPECT_INVALID(est_read_stream(nullptr, stream_.c_str(), nullptr, &iter));
  EXPECT_INVALID(est_read_stream(store_, nullptr, nullptr, &iter));
  EXPECT_INVALID(est_read_stream(store_, stream_.c_str(), nullptr, nullptr));
  EXPECT_INVALID(est_read_all(nullptr, nullptr, &iter));
  EXPECT_INVALID(est_read_all(store_, nullptr, nullptr));
  EXPECT_INVALID(est_delete_stream(nullptr, stream_.c_str(), 0));
  EXPECT_INVALID(est_delete_stream(store_, nullptr, 0));
  EXPECT_INVALID(est_snapshot_write(nullptr, stream_.c_str(), 1, "x", 1, nullptr, nullptr));
  EXPECT_INVALID(est_snapshot_write(store_, nullptr, 1, "x", 1, nullptr, nullptr));
  EXPECT_INVALID(est_snapshot_write(store_, stream_.c_str(), 1, nullptr, 4, nullptr, nullptr));
  est_snapshot* snapshot = nullptr;
  EXPECT_INVALID(est_snapshot_read(nullptr, stream_.c_str(), 0, &snapshot));
  EXPECT_INVALID(est_snapshot_read(store_, nullptr, 0, &snapshot));
  EXPECT_INVALID(est_snapshot_read(store_, stream_.c_str(), 0, nullptr));

  est_event view = EST_EVENT_INIT;
  size_t count = 0;
  EXPECT_INVALID(est_iter_next(nullptr, &view));
  EXPECT_INVALID(est_iter_next_batch(nullptr, &view, 1, &count));
  ASSERT_EST_OK(est_read_stream(store_, stream_.c_str(), nullptr, &iter));
  EXPECT_INVALID(est_iter_next(iter, nullptr));
  EXPECT_INVALID(est_iter_next_batch(iter, nullptr, 1, &count));
  EXPECT_INVALID(est_iter_next_batch(iter, &view, 1, nullptr));
  EXPECT_INVALID(est_iter_next_batch(iter, &view, 0, &count)) << "capacity 0 cannot yield an event";
  // The iterator is intact after the rejected calls.
  EXPECT_EQ(Versions(Drain(iter)), Range(1, 3));
}

TEST_P(BadInputTest, OperatorCallsRefuseBadArgumentsAndChangeNothing) {
  EXPECT_INVALID(est_snapshot_prune(store_, stream_.c_str(), -1, 0));
  EXPECT_INVALID(est_snapshot_prune(store_, stream_.c_str(), 0, -1));
  EXPECT_INVALID(est_snapshot_prune(store_, "not an id", 1, 0));
  EXPECT_INVALID(est_snapshot_prune(store_, nullptr, 1, 0));
  EXPECT_INVALID(est_snapshot_prune(nullptr, stream_.c_str(), 1, 0));
  EXPECT_INVALID(est_store_sync(nullptr));
  est_stats stats = EST_STATS_INIT;
  EXPECT_INVALID(est_store_stats(nullptr, &stats));
  EXPECT_INVALID(est_store_stats(store_, nullptr));
  stats.struct_size = 4;
  EXPECT_INVALID(est_store_stats(store_, &stats));
  est_verify_report report = EST_VERIFY_REPORT_INIT;
  EXPECT_INVALID(est_store_verify(nullptr, nullptr, nullptr, &report));
  report.struct_size = 4;
  EXPECT_INVALID(est_store_verify(store_, nullptr, nullptr, &report));
  est_compact_report compacted = EST_COMPACT_REPORT_INIT;
  EXPECT_INVALID(est_store_compact(nullptr, nullptr, nullptr, &compacted));
  compacted.struct_size = 4;
  EXPECT_INVALID(est_store_compact(store_, nullptr, nullptr, &compacted));
  // TearDown checks that the events and the snapshot at version 2 are as they were.
}

TEST_P(BadInputTest, DestroyersAcceptNull) {
  est_store_close(nullptr);
  est_iter_close(nullptr);
  est_batch_free(nullptr);
  est_snapshot_free(nullptr);
  SUCCEED();
}

// ---------------------------------------------------------------- struct_size

// An options struct followed by bytes this library does not know.
template <typename T>
struct Extended {
  T known;
  uint64_t unknown[2];
};

template <typename T>
Extended<T> MakeExtended(const T& known, uint64_t tail) {
  Extended<T> e;
  std::memset(&e, 0, sizeof e);
  e.known = known;
  e.known.struct_size = sizeof e;
  e.unknown[1] = tail;
  return e;
}

TEST_P(BadInputTest, StructSizeBelowTheFirstReleaseIsInvalid) {
  for (uint32_t size : {0u, 4u}) {
    SCOPED_TRACE("struct_size " + std::to_string(size));
    est_append_options append = EST_APPEND_OPTIONS_INIT;
    append.struct_size = size;
    EXPECT_INVALID(AppendWith(&append));
    est_read_options read = EST_READ_OPTIONS_INIT;
    read.struct_size = size;
    EXPECT_INVALID(ReadWith(&read));
    est_read_all_options all = EST_READ_ALL_OPTIONS_INIT;
    all.struct_size = size;
    EXPECT_INVALID(ReadAllWith(&all));
    est_snapshot_write_options snap = EST_SNAPSHOT_WRITE_OPTIONS_INIT;
    snap.struct_size = size;
    EXPECT_INVALID(est_snapshot_write(store_, stream_.c_str(), 9, "x", 1, nullptr, &snap));
    est_store_options open = EST_STORE_OPTIONS_INIT;
    open.struct_size = size;
    est_store* store = nullptr;
    EXPECT_INVALID(est_store_open(ExtraUri().c_str(), &open, &store));
    EXPECT_EQ(store, nullptr);
  }
  // One byte short of the released struct is also below the first release.
  est_append_options append = EST_APPEND_OPTIONS_INIT;
  append.struct_size = sizeof append - 1;
  EXPECT_INVALID(AppendWith(&append));
  est_read_options read = EST_READ_OPTIONS_INIT;
  read.struct_size = offsetof(est_read_options, until_timestamp_ns) - 1;  // the 1.1 release, short
  EXPECT_INVALID(ReadWith(&read));
}

TEST_P(BadInputTest, OutputStructSizeBelowTheFirstReleaseIsInvalid) {
  est_append_result result = EST_APPEND_RESULT_INIT;
  result.struct_size = 4;
  EXPECT_INVALID(
      est_append(store_, stream_.c_str(), batch_.data(), batch_.size(), nullptr, &result, nullptr));

  est_iter* iter = nullptr;
  ASSERT_EST_OK(est_read_stream(store_, stream_.c_str(), nullptr, &iter));
  est_event view = EST_EVENT_INIT;
  view.struct_size = 4;
  EXPECT_INVALID(est_iter_next(iter, &view));
  size_t count = 0;
  EXPECT_INVALID(est_iter_next_batch(iter, &view, 1, &count));
  view.struct_size = sizeof view;
  ASSERT_EST_OK(est_iter_next(iter, &view));
  EXPECT_EQ(view.stream_version, 1) << "the rejected calls consumed nothing";
  est_iter_close(iter);
}

TEST_P(BadInputTest, LargerStructsWithZeroTailsAreAccepted) {
  auto append = MakeExtended<est_append_options>(EST_APPEND_OPTIONS_INIT, 0);
  auto result = MakeExtended<est_append_result>(EST_APPEND_RESULT_INIT, 0);
  const std::string other = NewStreamId();
  ASSERT_EST_OK(est_append(store_, other.c_str(), batch_.data(), batch_.size(), &append.known, &result.known,
                           nullptr));
  EXPECT_EQ(result.known.last_version, 2);
  auto read = MakeExtended<est_read_options>(EST_READ_OPTIONS_INIT, 0);
  EXPECT_EST_OK(ReadWith(&read.known));
  auto all = MakeExtended<est_read_all_options>(EST_READ_ALL_OPTIONS_INIT, 0);
  EXPECT_EST_OK(ReadAllWith(&all.known));
  auto snap = MakeExtended<est_snapshot_write_options>(EST_SNAPSHOT_WRITE_OPTIONS_INIT, 0);
  EXPECT_EST_OK(est_snapshot_write(store_, other.c_str(), 1, "x", 1, nullptr, &snap.known));
  auto open = MakeExtended<est_store_options>(EST_STORE_OPTIONS_INIT, 0);
  est_store* store = nullptr;
  EXPECT_EST_OK(est_store_open(ExtraUri().c_str(), &open.known, &store));
  est_store_close(store);

  est_iter* iter = nullptr;
  ASSERT_EST_OK(est_read_stream(store_, stream_.c_str(), nullptr, &iter));
  auto view = MakeExtended<est_event>(EST_EVENT_INIT, 0);
  ASSERT_EST_OK(est_iter_next(iter, &view.known));
  EXPECT_EQ(view.known.stream_version, 1);
  est_iter_close(iter);

  ASSERT_EST_OK(est_delete_stream(store_, other.c_str(), 0));  // keep the store as it was
}

TEST_P(BadInputTest, LargerStructsWithNonZeroTailsAreUnsupported) {
  auto append = MakeExtended<est_append_options>(EST_APPEND_OPTIONS_INIT, 1);
  EXPECT_REJECTED(EST_ERR_UNSUPPORTED, AppendWith(&append.known));
  auto read = MakeExtended<est_read_options>(EST_READ_OPTIONS_INIT, 0x100);
  EXPECT_REJECTED(EST_ERR_UNSUPPORTED, ReadWith(&read.known));
  auto all = MakeExtended<est_read_all_options>(EST_READ_ALL_OPTIONS_INIT, 1ull << 63);
  EXPECT_REJECTED(EST_ERR_UNSUPPORTED, ReadAllWith(&all.known));
  auto snap = MakeExtended<est_snapshot_write_options>(EST_SNAPSHOT_WRITE_OPTIONS_INIT, 1);
  EXPECT_REJECTED(EST_ERR_UNSUPPORTED, est_snapshot_write(store_, stream_.c_str(), 9, "x", 1, nullptr, &snap.known));
  auto open = MakeExtended<est_store_options>(EST_STORE_OPTIONS_INIT, 1);
  est_store* store = reinterpret_cast<est_store*>(&open);
  EXPECT_REJECTED(EST_ERR_UNSUPPORTED, est_store_open(ExtraUri().c_str(), &open.known, &store));
  EXPECT_EQ(store, nullptr);
}

}  // namespace
}  // namespace estoria::acceptance

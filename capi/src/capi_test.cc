// capi_test: the ABI details that the acceptance suite does not reach,
// through the public header against libestoria.so: struct_size rules for
// every versioned struct, status names, the per-thread last error, NULL
// handles to every destroyer, misuse after close, handles across fork(),
// and the _INIT macros as C99 sees them (a whole C99 program is
// tests/abi/c99_header_test.c). options.h (header-only) is also tested directly.
#include <sys/wait.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "capi/src/options.h"
#define EST_EXPERIMENTAL  // subscriptions deliver views filled the same way
#include "estoria/estoria.h"
#include "gtest/gtest.h"

extern "C" {
void capi_c99_store_options(est_store_options* out);
void capi_c99_append_options(est_append_options* out);
void capi_c99_append_result(est_append_result* out);
void capi_c99_read_options(est_read_options* out);
void capi_c99_read_all_options(est_read_all_options* out);
void capi_c99_event(est_event* out);
void capi_c99_snapshot_write_options(est_snapshot_write_options* out);
size_t capi_c99_sizeof_event(void);
size_t capi_c99_sizeof_append_options(void);
}

namespace {

// A struct as a newer caller would pass it: ours plus fields we do not know.
template <typename T>
struct Newer {
  T base;
  uint64_t unknown[2];
};

template <typename T>
Newer<T> MakeNewer(const T& base) {
  Newer<T> n;
  std::memset(&n, 0, sizeof(n));
  n.base = base;
  n.base.struct_size = sizeof(Newer<T>);
  return n;
}

std::string LastError() { return est_last_error(); }

// A fresh memory store per test, with a stream of `n` events.
class Capi : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(EST_OK, est_store_open("memory:", nullptr, &store_)) << LastError();
    stream_ = NewStreamId();
  }
  void TearDown() override { est_store_close(store_); }

  static std::string NewStreamId() {
    est_uuid uuid;
    EXPECT_EQ(EST_OK, est_uuid_v4(&uuid));
    char buf[EST_ID_MAX_LEN];
    EXPECT_EQ(EST_OK, est_id_format("account", &uuid, buf, sizeof buf));
    return buf;
  }

  // The bytes of a batch of `n` events "e1".."en" with one metadata pair each.
  static std::vector<uint8_t> Batch(int n) {
    est_batch* batch = nullptr;
    EXPECT_EQ(EST_OK, est_batch_new(&batch));
    for (int i = 1; i <= n; ++i) {
      std::string data = "e" + std::to_string(i);
      EXPECT_EQ(EST_OK, est_batch_add(batch, "deposited", data.data(), data.size(), "text/plain"));
      EXPECT_EQ(EST_OK, est_batch_add_metadata(batch, "k", "v"));
    }
    const uint8_t* bytes = nullptr;
    size_t len = 0;
    EXPECT_EQ(EST_OK, est_batch_bytes(batch, &bytes, &len)) << LastError();
    std::vector<uint8_t> out(bytes, bytes + len);
    est_batch_free(batch);
    return out;
  }

  void AppendN(int n) {
    std::vector<uint8_t> bytes = Batch(n);
    ASSERT_EQ(EST_OK, est_append(store_, stream_.c_str(), bytes.data(), bytes.size(), nullptr, nullptr, nullptr))
        << LastError();
  }

  est_iter* Read() {
    est_iter* iter = nullptr;
    EXPECT_EQ(EST_OK, est_read_stream(store_, stream_.c_str(), nullptr, &iter)) << LastError();
    return iter;
  }

  est_store* store_ = nullptr;
  std::string stream_;
};

// ------------------------------------------------------------------ statuses

TEST(StatusName, NamesEveryCode) {
  EXPECT_STREQ("EST_OK", est_status_name(EST_OK));
  EXPECT_STREQ("EST_END", est_status_name(EST_END));
  EXPECT_STREQ("EST_ERR_INVALID_ARGUMENT", est_status_name(EST_ERR_INVALID_ARGUMENT));
  EXPECT_STREQ("EST_ERR_NOT_FOUND", est_status_name(EST_ERR_NOT_FOUND));
  EXPECT_STREQ("EST_ERR_VERSION_MISMATCH", est_status_name(EST_ERR_VERSION_MISMATCH));
  EXPECT_STREQ("EST_ERR_CLOSED", est_status_name(EST_ERR_CLOSED));
  EXPECT_STREQ("EST_ERR_IO", est_status_name(EST_ERR_IO));
  EXPECT_STREQ("EST_ERR_CORRUPTION", est_status_name(EST_ERR_CORRUPTION));
  EXPECT_STREQ("EST_ERR_BUSY", est_status_name(EST_ERR_BUSY));
  EXPECT_STREQ("EST_ERR_UNSUPPORTED", est_status_name(EST_ERR_UNSUPPORTED));
  EXPECT_STREQ("EST_ERR_NO_MEMORY", est_status_name(EST_ERR_NO_MEMORY));
  EXPECT_STREQ("EST_ERR_INTERNAL", est_status_name(EST_ERR_INTERNAL));
  EXPECT_STREQ("EST_ERR_CANCELLED", est_status_name(EST_ERR_CANCELLED));
  EXPECT_STREQ("EST_ERR_APPLIED_PARTIALLY", est_status_name(EST_ERR_APPLIED_PARTIALLY));
}

TEST(StatusName, ValuesArePinned) {
  EXPECT_EQ(EST_OK, 0);
  EXPECT_EQ(EST_END, 1);
  EXPECT_EQ(EST_ERR_INVALID_ARGUMENT, -1);
  EXPECT_EQ(EST_ERR_NOT_FOUND, -2);
  EXPECT_EQ(EST_ERR_VERSION_MISMATCH, -3);
  EXPECT_EQ(EST_ERR_CLOSED, -4);
  EXPECT_EQ(EST_ERR_IO, -5);
  EXPECT_EQ(EST_ERR_CORRUPTION, -6);
  EXPECT_EQ(EST_ERR_BUSY, -7);
  EXPECT_EQ(EST_ERR_UNSUPPORTED, -8);
  EXPECT_EQ(EST_ERR_NO_MEMORY, -9);
  EXPECT_EQ(EST_ERR_INTERNAL, -10);
  EXPECT_EQ(EST_ERR_APPLIED_PARTIALLY, -11);
  EXPECT_EQ(EST_ERR_CANCELLED, -12);
}

TEST(StatusName, UnknownCodesAreEstUnknown) {
  for (est_status code : {2, 3, -13, -100, INT32_MIN, INT32_MAX}) {
    ASSERT_NE(nullptr, est_status_name(code));
    EXPECT_STREQ("EST_UNKNOWN", est_status_name(code)) << code;
  }
}

TEST(AbiVersion, IsTheHeadersVersion) {
  EXPECT_EQ(static_cast<uint32_t>(EST_ABI_VERSION), est_abi_version());
  EXPECT_EQ(1u, est_abi_version() >> 16);
}

// --------------------------------------------------------------- last error

TEST(LastError, IsEmptyOnAThreadThatNeverFailed) {
  std::string seen = "unset";
  std::thread([&] { seen = est_last_error(); }).join();
  EXPECT_EQ("", seen);
}

TEST(LastError, NamesTheCallAndTheArgument) {
  est_store* store = reinterpret_cast<est_store*>(1);
  ASSERT_EQ(EST_ERR_INVALID_ARGUMENT, est_store_open(nullptr, nullptr, &store));
  EXPECT_EQ(nullptr, store);
  EXPECT_EQ("est_store_open: uri: is NULL", LastError());
}

TEST(LastError, IsPerThread) {
  ASSERT_EQ(EST_ERR_INVALID_ARGUMENT, est_uuid_v4(nullptr));
  const std::string mine = LastError();
  ASSERT_NE("", mine);
  std::string before, after;
  std::thread([&] {
    before = est_last_error();
    EXPECT_EQ(EST_ERR_INVALID_ARGUMENT, est_batch_new(nullptr));
    after = est_last_error();
  }).join();
  EXPECT_EQ("", before);
  EXPECT_NE(std::string::npos, after.find("est_batch_new")) << after;
  EXPECT_EQ(mine, LastError());  // the other thread's failure did not touch ours
}

TEST(LastError, ASuccessfulCallLeavesThePreviousMessage) {
  ASSERT_EQ(EST_ERR_INVALID_ARGUMENT, est_uuid_v7(nullptr));
  const std::string failed = LastError();
  est_uuid uuid;
  ASSERT_EQ(EST_OK, est_uuid_v7(&uuid));
  EXPECT_EQ(failed, LastError());
}

// ------------------------------------------------------------- _init and C99

template <typename T>
bool SameBytes(const T& a, const T& b) {
  return std::memcmp(&a, &b, sizeof(T)) == 0;
}

// Fills a struct with a pattern, so that _init must write every byte we look at.
template <typename T>
T Garbage() {
  T t;
  std::memset(&t, 0xA5, sizeof(t));
  return t;
}

TEST(Init, FunctionsFillWhatTheMacrosFill) {
  {
    // The host fields' pointers leave padding after `threads`: compare fields.
    est_store_options a = Garbage<est_store_options>(), b = EST_STORE_OPTIONS_INIT, c;
    est_store_options_init(&a);
    capi_c99_store_options(&c);
    for (const est_store_options* o : {&a, &b, &c}) {
      EXPECT_EQ(sizeof(est_store_options), o->struct_size);
      EXPECT_EQ(EST_SYNC_ALWAYS, o->sync_mode);
      EXPECT_EQ(0, o->sync_interval_ms);
      EXPECT_EQ(0, o->read_only);
      EXPECT_EQ(EST_THREADS_LIBRARY, o->threads);
      EXPECT_EQ(nullptr, o->clock_ns);
      EXPECT_EQ(nullptr, o->random_bytes);
      EXPECT_EQ(nullptr, o->host_user);
      EXPECT_EQ(nullptr, o->log);
      EXPECT_EQ(nullptr, o->log_user);
    }
  }
  {
    // Padding makes whole-struct comparison meaningless: compare fields.
    est_append_options a = Garbage<est_append_options>(), c;
    est_append_options_init(&a);
    capi_c99_append_options(&c);
    for (const est_append_options* o : {&a, &c}) {
      EXPECT_EQ(sizeof(est_append_options), o->struct_size);
      EXPECT_EQ(EST_EXPECT_ANY, o->expect);
      EXPECT_EQ(0, o->expected_version);
      EXPECT_EQ(0u, o->flags);
      EXPECT_EQ(0, o->first_version);
    }
  }
  {
    est_append_result a = Garbage<est_append_result>(), c;
    est_append_result_init(&a);
    capi_c99_append_result(&c);
    for (const est_append_result* r : {&a, &c}) {
      EXPECT_EQ(sizeof(est_append_result), r->struct_size);
      EXPECT_EQ(0, r->first_version);
      EXPECT_EQ(0, r->last_version);
      EXPECT_EQ(0, r->first_position);
      EXPECT_EQ(0, r->last_position);
      EXPECT_EQ(0, r->actual_version);
    }
  }
  {
    est_read_options a = Garbage<est_read_options>(), b = EST_READ_OPTIONS_INIT, c;
    est_read_options_init(&a);
    capi_c99_read_options(&c);
    EXPECT_TRUE(SameBytes(a, b));
    EXPECT_TRUE(SameBytes(a, c));
  }
  {
    est_read_all_options a = Garbage<est_read_all_options>(), c;
    est_read_all_options_init(&a);
    capi_c99_read_all_options(&c);
    for (const est_read_all_options* o : {&a, &c}) {
      EXPECT_EQ(sizeof(est_read_all_options), o->struct_size);
      EXPECT_EQ(0, o->after_position);
      EXPECT_EQ(0, o->count);
    }
  }
  {
    est_event a = Garbage<est_event>(), c;
    est_event_init(&a);
    capi_c99_event(&c);
    const est_uuid nil{};
    for (const est_event* e : {&a, &c}) {
      EXPECT_EQ(sizeof(est_event), e->struct_size);
      EXPECT_EQ(nullptr, e->type);
      EXPECT_EQ(0, std::memcmp(&nil, &e->id, sizeof(nil)));
      EXPECT_EQ(nullptr, e->stream_type);
      EXPECT_EQ(0, std::memcmp(&nil, &e->stream_uuid, sizeof(nil)));
      EXPECT_EQ(0, e->stream_version);
      EXPECT_EQ(0, e->global_position);
      EXPECT_EQ(0, e->timestamp_ns);
      EXPECT_EQ(nullptr, e->data);
      EXPECT_EQ(0u, e->data_len);
      EXPECT_EQ(nullptr, e->content_type);
      EXPECT_EQ(0u, e->metadata_count);
      EXPECT_EQ(nullptr, e->fb);
      EXPECT_EQ(0u, e->fb_len);
      EXPECT_EQ(nullptr, e->metadata);
      EXPECT_EQ(nullptr, e->record);
      EXPECT_EQ(0u, e->record_len);
    }
  }
  {
    est_snapshot_write_options a = Garbage<est_snapshot_write_options>(), c;
    est_snapshot_write_options_init(&a);
    capi_c99_snapshot_write_options(&c);
    for (const est_snapshot_write_options* o : {&a, &c}) {
      EXPECT_EQ(sizeof(est_snapshot_write_options), o->struct_size);
      EXPECT_EQ(0, o->timestamp_ns);
    }
  }
}

TEST(Init, NullIsANoOp) {
  est_store_options_init(nullptr);
  est_append_options_init(nullptr);
  est_append_result_init(nullptr);
  est_read_options_init(nullptr);
  est_read_all_options_init(nullptr);
  est_event_init(nullptr);
  est_snapshot_write_options_init(nullptr);
}

TEST(C99, HeaderStructsHaveTheSameSizesInC) {
  EXPECT_EQ(sizeof(est_event), capi_c99_sizeof_event());
  EXPECT_EQ(sizeof(est_append_options), capi_c99_sizeof_append_options());
}


// ------------------------------------------------------- options.h directly

// Release 2 of an imaginary struct whose release 1 ended before `c`.
struct V2 {
  uint32_t struct_size;
  int32_t a;
  int64_t b;
  int64_t c;
};
constexpr size_t kV1Size = offsetof(V2, c);

TEST(StructSize, OlderCallerIsReadOnlyWithinItsSizeOverTheDefaults) {
  V2 caller{static_cast<uint32_t>(kV1Size), 7, 8, 0};
  // Bytes past the old caller's struct: must not be read.
  std::memset(&caller.c, 0xFF, sizeof(caller.c));
  ASSERT_EQ(estoria::capi::StructSizeCheck::kOk,
            estoria::capi::CheckStructSize(&caller, kV1Size, sizeof(V2), /*check_tail=*/true));
  V2 out{sizeof(V2), 0, 0, 42};
  estoria::capi::ReadStruct(&caller, &out);
  EXPECT_EQ(sizeof(V2), out.struct_size);
  EXPECT_EQ(7, out.a);
  EXPECT_EQ(8, out.b);
  EXPECT_EQ(42, out.c);  // the default stays
}

TEST(StructSize, OlderCallerIsWrittenOnlyWithinItsSize) {
  V2 caller;
  std::memset(&caller, 0xEE, sizeof(caller));
  caller.struct_size = kV1Size;
  estoria::capi::WriteStruct(V2{sizeof(V2), 1, 2, 3}, &caller);
  EXPECT_EQ(kV1Size, caller.struct_size);
  EXPECT_EQ(1, caller.a);
  EXPECT_EQ(2, caller.b);
  int64_t untouched;
  std::memset(&untouched, 0xEE, sizeof(untouched));
  EXPECT_EQ(untouched, caller.c);
}

TEST(StructSize, ClassifiesSizes) {
  using estoria::capi::CheckStructSize;
  using estoria::capi::StructSizeCheck;
  Newer<V2> big = MakeNewer(V2{0, 0, 0, 0});
  EXPECT_EQ(StructSizeCheck::kOk, CheckStructSize(&big, kV1Size, sizeof(V2), true));
  big.unknown[1] = 1;
  EXPECT_EQ(StructSizeCheck::kUnknownFieldsSet, CheckStructSize(&big, kV1Size, sizeof(V2), true));
  EXPECT_EQ(StructSizeCheck::kOk, CheckStructSize(&big, kV1Size, sizeof(V2), /*check_tail=*/false));
  big.base.struct_size = kV1Size - 1;
  EXPECT_EQ(StructSizeCheck::kBelowFirstRelease, CheckStructSize(&big, kV1Size, sizeof(V2), true));
  big.base.struct_size = 0;
  EXPECT_EQ(StructSizeCheck::kBelowFirstRelease, CheckStructSize(&big, kV1Size, sizeof(V2), true));
  big.base.struct_size = estoria::capi::kMaxStructSize + 1;
  EXPECT_EQ(StructSizeCheck::kImplausible, CheckStructSize(&big, kV1Size, sizeof(V2), true));
}

// ------------------------------------------- struct_size through the ABI

// Runs `call` with `options` at three sizes: one byte short of the struct's
// first release (INVALID_ARGUMENT), a newer caller's larger struct whose
// unknown fields are zero (accepted), and the same with an unknown field set
// (UNSUPPORTED); and, for a struct that has grown, at its first release's
// size (accepted: the later fields read as their defaults).
template <typename T, typename Call>
void CheckInputStruct(const T& defaults, Call call, est_status accepted = EST_OK, size_t first_release = sizeof(T)) {
  T small = defaults;
  small.struct_size = static_cast<uint32_t>(first_release - 1);
  EXPECT_EQ(EST_ERR_INVALID_ARGUMENT, call(&small));
  EXPECT_NE(std::string::npos, LastError().find("struct_size")) << LastError();
  if (first_release < sizeof(T)) {
    T released = defaults;
    released.struct_size = static_cast<uint32_t>(first_release);
    EXPECT_EQ(EST_OK, call(&released)) << LastError();
  }
  small.struct_size = 0;
  EXPECT_EQ(EST_ERR_INVALID_ARGUMENT, call(&small));

  Newer<T> newer = MakeNewer(defaults);
  EXPECT_EQ(accepted, call(&newer.base)) << LastError();
  newer.unknown[0] = 1;
  EXPECT_EQ(EST_ERR_UNSUPPORTED, call(&newer.base));
  EXPECT_NE(std::string::npos, LastError().find("options")) << LastError();

  T garbage = defaults;
  garbage.struct_size = 0xFFFFFFFFu;  // an uninitialised size
  EXPECT_EQ(EST_ERR_INVALID_ARGUMENT, call(&garbage));
}

TEST(StructSize, StoreOptions) {
  est_store_options defaults = EST_STORE_OPTIONS_INIT;
  auto open = [](const est_store_options* o) {
    est_store* store = nullptr;
    est_status s = est_store_open("memory:", o, &store);
    EXPECT_EQ(s == EST_OK, store != nullptr);
    est_store_close(store);
    return s;
  };
  // ABI 1.2 appended the host fields: a caller of 1.1 (struct_size up to
  // read_only) gets their defaults, whatever its memory holds past its size.
  const size_t first_release = offsetof(est_store_options, threads);
  CheckInputStruct(defaults, open, EST_OK, first_release);
  est_store_options old = defaults;
  old.struct_size = static_cast<uint32_t>(first_release);
  old.threads = 77;  // beyond the caller's size: not read
  EXPECT_EQ(EST_OK, open(&old)) << LastError();
  est_store_options bad = defaults;
  bad.threads = 77;
  EXPECT_EQ(EST_ERR_INVALID_ARGUMENT, open(&bad));
}

TEST_F(Capi, StructSizeOfAppendOptions) {
  std::vector<uint8_t> bytes = Batch(1);
  est_append_options defaults = EST_APPEND_OPTIONS_INIT;
  CheckInputStruct(defaults, [&](const est_append_options* o) {
    return est_append(store_, stream_.c_str(), bytes.data(), bytes.size(), o, nullptr, nullptr);
  });
  // Only the accepted call wrote: the stream holds exactly one event.
  est_iter* iter = Read();
  est_event event = EST_EVENT_INIT;
  EXPECT_EQ(EST_OK, est_iter_next(iter, &event));
  EXPECT_EQ(EST_END, est_iter_next(iter, &event));
  est_iter_close(iter);
}

TEST_F(Capi, StructSizeOfReadOptions) {
  AppendN(1);
  est_read_options defaults = EST_READ_OPTIONS_INIT;
  CheckInputStruct(defaults, [&](const est_read_options* o) {
    est_iter* iter = reinterpret_cast<est_iter*>(1);
    est_status s = est_read_stream(store_, stream_.c_str(), o, &iter);
    EXPECT_EQ(s == EST_OK, iter != nullptr);
    est_iter_close(iter);
    return s;
  }, EST_OK, offsetof(est_read_options, until_timestamp_ns));  // ABI 1.2 added the bound
}

TEST_F(Capi, StructSizeOfReadAllOptions) {
  est_read_all_options defaults = EST_READ_ALL_OPTIONS_INIT;
  CheckInputStruct(defaults, [&](const est_read_all_options* o) {
    est_iter* iter = reinterpret_cast<est_iter*>(1);
    est_status s = est_read_all(store_, o, &iter);
    EXPECT_EQ(s == EST_OK, iter != nullptr);
    est_iter_close(iter);
    return s;
  }, EST_OK, offsetof(est_read_all_options, until_timestamp_ns));  // ABI 1.2 added the bound
}

TEST_F(Capi, StructSizeOfSnapshotWriteOptions) {
  est_snapshot_write_options defaults = EST_SNAPSHOT_WRITE_OPTIONS_INIT;
  CheckInputStruct(defaults, [&](const est_snapshot_write_options* o) {
    return est_snapshot_write(store_, stream_.c_str(), 1, "s", 1, nullptr, o);
  });
}

TEST_F(Capi, AppendResultBelowItsSizeIsRefusedBeforeAnythingChanges) {
  std::vector<uint8_t> bytes = Batch(1);
  est_append_result result = EST_APPEND_RESULT_INIT;
  result.struct_size = offsetof(est_append_result, flags) - 8;  // below the first release
  EXPECT_EQ(EST_ERR_INVALID_ARGUMENT,
            est_append(store_, stream_.c_str(), bytes.data(), bytes.size(), nullptr, &result, nullptr));
  est_iter* iter = reinterpret_cast<est_iter*>(1);
  EXPECT_EQ(EST_ERR_NOT_FOUND, est_read_stream(store_, stream_.c_str(), nullptr, &iter));
  EXPECT_EQ(nullptr, iter);
}

TEST_F(Capi, LargerAppendResultIsWrittenOnlyWhereTheLibraryKnows) {
  std::vector<uint8_t> bytes = Batch(2);
  Newer<est_append_result> result = MakeNewer(est_append_result EST_APPEND_RESULT_INIT);
  result.unknown[0] = 0x1122334455667788u;
  result.unknown[1] = 0x99;
  ASSERT_EQ(EST_OK,
            est_append(store_, stream_.c_str(), bytes.data(), bytes.size(), nullptr, &result.base, nullptr));
  EXPECT_EQ(sizeof(result), result.base.struct_size);
  EXPECT_EQ(1, result.base.first_version);
  EXPECT_EQ(2, result.base.last_version);
  EXPECT_EQ(2, result.base.actual_version);
  EXPECT_EQ(0x1122334455667788u, result.unknown[0]);
  EXPECT_EQ(0x99u, result.unknown[1]);

  // On a version mismatch too.
  est_append_options expect = EST_APPEND_OPTIONS_INIT;
  expect.expect = EST_EXPECT_NO_STREAM;
  ASSERT_EQ(EST_ERR_VERSION_MISMATCH,
            est_append(store_, stream_.c_str(), bytes.data(), bytes.size(), &expect, &result.base, nullptr));
  EXPECT_EQ(2, result.base.actual_version);
  EXPECT_EQ(0x1122334455667788u, result.unknown[0]);
}

TEST_F(Capi, EventBelowItsSizeIsRefused) {
  AppendN(1);
  est_iter* iter = Read();
  est_event event = EST_EVENT_INIT;
  event.struct_size = offsetof(est_event, metadata) - 8;  // below ABI 1.0's size
  EXPECT_EQ(EST_ERR_INVALID_ARGUMENT, est_iter_next(iter, &event));
  EXPECT_EQ(nullptr, event.type);
  size_t count = 7;
  EXPECT_EQ(EST_ERR_INVALID_ARGUMENT, est_iter_next_batch(iter, &event, 1, &count));
  EXPECT_EQ(0u, count);
  // The refused calls consumed nothing.
  event.struct_size = sizeof(event);
  EXPECT_EQ(EST_OK, est_iter_next(iter, &event));
  EXPECT_EQ(1, event.stream_version);
  est_iter_close(iter);
}

TEST_F(Capi, LargerEventIsWrittenOnlyWhereTheLibraryKnows) {
  AppendN(1);
  est_iter* iter = Read();
  Newer<est_event> event = MakeNewer(est_event EST_EVENT_INIT);
  event.unknown[0] = 5;
  event.unknown[1] = 6;
  ASSERT_EQ(EST_OK, est_iter_next(iter, &event.base)) << LastError();
  EXPECT_STREQ("deposited", event.base.type);
  EXPECT_EQ(sizeof(event), event.base.struct_size);
  EXPECT_EQ(5u, event.unknown[0]);
  EXPECT_EQ(6u, event.unknown[1]);
  est_iter_close(iter);
}

TEST_F(Capi, NextBatchStridesByTheCallersStructSize) {
  AppendN(3);
  est_iter* iter = Read();
  Newer<est_event> events[4];
  for (auto& e : events) {
    e = MakeNewer(est_event EST_EVENT_INIT);
    e.unknown[0] = 0xAB;
  }
  // Only events[0].struct_size is read: the others' do not matter.
  events[1].base.struct_size = 0;
  size_t count = 0;
  ASSERT_EQ(EST_OK, est_iter_next_batch(iter, &events[0].base, 4, &count)) << LastError();
  ASSERT_EQ(3u, count);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(static_cast<int64_t>(i + 1), events[i].base.stream_version);
    EXPECT_EQ(2u, events[i].base.data_len);
    EXPECT_EQ(0xABu, events[i].unknown[0]);
  }
  EXPECT_EQ(nullptr, events[3].base.type);
  EXPECT_EQ(EST_END, est_iter_next_batch(iter, &events[0].base, 4, &count));
  EXPECT_EQ(0u, count);
  est_iter_close(iter);
}

TEST_F(Capi, NextBatchRefusesAStrideThatIsNotAMultipleOfTheAlignment) {
  AppendN(1);
  est_iter* iter = Read();
  Newer<est_event> events[2];
  events[0] = MakeNewer(est_event EST_EVENT_INIT);
  events[0].base.struct_size = sizeof(est_event) + 4;
  size_t count = 0;
  EXPECT_EQ(EST_ERR_INVALID_ARGUMENT, est_iter_next_batch(iter, &events[0].base, 2, &count));
  EXPECT_EQ(0u, count);
  est_iter_close(iter);
}

// ----------------------------------------------------------- NULL handles

TEST(NullHandles, EveryDestroyerAcceptsNull) {
  est_store_close(nullptr);
  est_iter_close(nullptr);
  est_batch_free(nullptr);
  est_snapshot_free(nullptr);
}

TEST(NullHandles, SnapshotAccessorsGiveZeroNullAndEmpty) {
  EXPECT_EQ(0, est_snapshot_version(nullptr));
  EXPECT_EQ(0, est_snapshot_timestamp_ns(nullptr));
  size_t len = 99;
  EXPECT_EQ(nullptr, est_snapshot_data(nullptr, &len));
  EXPECT_EQ(0u, len);
  EXPECT_EQ(nullptr, est_snapshot_data(nullptr, nullptr));
  ASSERT_NE(nullptr, est_snapshot_content_type(nullptr));
  EXPECT_STREQ("", est_snapshot_content_type(nullptr));
}

TEST(NullHandles, EveryCallRefusesANullHandleAndNullsItsOutputs) {
  const char* id = "account_0190f3c4-8d1e-7c3a-9b2f-5e6d7c8b9a01";
  est_iter* iter = reinterpret_cast<est_iter*>(1);
  est_snapshot* snapshot = reinterpret_cast<est_snapshot*>(1);
  uint8_t byte = 0;
  EXPECT_EQ(EST_ERR_INVALID_ARGUMENT, est_append(nullptr, id, &byte, 1, nullptr, nullptr, &iter));
  EXPECT_EQ(nullptr, iter);
  iter = reinterpret_cast<est_iter*>(1);
  EXPECT_EQ(EST_ERR_INVALID_ARGUMENT, est_read_stream(nullptr, id, nullptr, &iter));
  EXPECT_EQ(nullptr, iter);
  iter = reinterpret_cast<est_iter*>(1);
  EXPECT_EQ(EST_ERR_INVALID_ARGUMENT, est_read_all(nullptr, nullptr, &iter));
  EXPECT_EQ(nullptr, iter);
  EXPECT_EQ(EST_ERR_INVALID_ARGUMENT, est_delete_stream(nullptr, id, 0));
  EXPECT_EQ(EST_ERR_INVALID_ARGUMENT, est_snapshot_write(nullptr, id, 1, nullptr, 0, nullptr, nullptr));
  EXPECT_EQ(EST_ERR_INVALID_ARGUMENT, est_snapshot_read(nullptr, id, 0, &snapshot));
  EXPECT_EQ(nullptr, snapshot);

  est_event event = EST_EVENT_INIT;
  size_t count = 3;
  EXPECT_EQ(EST_ERR_INVALID_ARGUMENT, est_iter_next(nullptr, &event));
  EXPECT_EQ(EST_ERR_INVALID_ARGUMENT, est_iter_next_batch(nullptr, &event, 1, &count));
  EXPECT_EQ(0u, count);
  const char* key = "k";
  const char* value = "v";
  EXPECT_EQ(EST_ERR_INVALID_ARGUMENT, est_event_metadata(nullptr, 0, &key, &value));
  EXPECT_EQ(nullptr, key);
  EXPECT_EQ(nullptr, value);
  EXPECT_EQ(EST_ERR_INVALID_ARGUMENT, est_event_metadata(&event, 0, &key, &value));  // not a filled view

  est_uuid uuid{};
  const uint8_t* bytes = &byte;
  size_t len = 5;
  EXPECT_EQ(EST_ERR_INVALID_ARGUMENT, est_batch_add(nullptr, "t", nullptr, 0, nullptr));
  EXPECT_EQ(EST_ERR_INVALID_ARGUMENT, est_batch_add_metadata(nullptr, "k", "v"));
  EXPECT_EQ(EST_ERR_INVALID_ARGUMENT, est_batch_set_id(nullptr, &uuid));
  EXPECT_EQ(EST_ERR_INVALID_ARGUMENT, est_batch_set_timestamp(nullptr, 1));
  EXPECT_EQ(EST_ERR_INVALID_ARGUMENT, est_batch_bytes(nullptr, &bytes, &len));
  EXPECT_EQ(EST_ERR_INVALID_ARGUMENT, est_batch_new(nullptr));
  EXPECT_EQ(EST_ERR_INVALID_ARGUMENT, est_store_open("memory:", nullptr, nullptr));
}

// ---------------------------------------------------------- batch misuse

TEST(BatchMisuse, IsRefusedWithAMessage) {
  est_batch* batch = nullptr;
  ASSERT_EQ(EST_OK, est_batch_new(&batch));
  const uint8_t* bytes = reinterpret_cast<const uint8_t*>(1);
  size_t len = 9;
  EXPECT_EQ(EST_ERR_INVALID_ARGUMENT, est_batch_bytes(batch, &bytes, &len));  // no event yet
  EXPECT_EQ(nullptr, bytes);
  EXPECT_EQ(0u, len);
  EXPECT_EQ(EST_ERR_INVALID_ARGUMENT, est_batch_add_metadata(batch, "k", "v"));  // before any event
  est_uuid uuid{};
  EXPECT_EQ(EST_ERR_INVALID_ARGUMENT, est_batch_set_id(batch, &uuid));
  EXPECT_EQ(EST_ERR_INVALID_ARGUMENT, est_batch_set_timestamp(batch, 5));

  EXPECT_EQ(EST_ERR_INVALID_ARGUMENT, est_batch_add(batch, nullptr, nullptr, 0, nullptr));
  EXPECT_EQ(EST_ERR_INVALID_ARGUMENT, est_batch_add(batch, "t", nullptr, 3, nullptr));  // NULL with a length
  EXPECT_EQ(EST_ERR_INVALID_ARGUMENT, est_batch_add(batch, "_t", nullptr, 0, nullptr));
  EXPECT_EQ(EST_ERR_INVALID_ARGUMENT, est_batch_add(batch, std::string(256, 't').c_str(), nullptr, 0, nullptr));
  ASSERT_EQ(EST_OK, est_batch_add(batch, "t", nullptr, 0, nullptr));  // (NULL, 0) is empty data
  EXPECT_EQ(EST_ERR_INVALID_ARGUMENT, est_batch_add_metadata(batch, nullptr, "v"));
  EXPECT_EQ(EST_ERR_INVALID_ARGUMENT, est_batch_add_metadata(batch, "k", nullptr));
  ASSERT_EQ(EST_OK, est_batch_add_metadata(batch, "estoria.x", "v"));  // the toolkit's keys pass
  ASSERT_EQ(EST_OK, est_batch_add_metadata(batch, "k", "v"));
  EXPECT_EQ(EST_ERR_INVALID_ARGUMENT, est_batch_add_metadata(batch, "k", "w"));  // duplicate
  EXPECT_NE(std::string::npos, LastError().find("est_batch_add_metadata")) << LastError();
  EXPECT_EQ(EST_ERR_INVALID_ARGUMENT, est_batch_set_timestamp(batch, 0));
  EXPECT_EQ(EST_ERR_INVALID_ARGUMENT, est_batch_set_timestamp(batch, -1));
  EXPECT_EQ(EST_ERR_INVALID_ARGUMENT, est_batch_set_id(batch, nullptr));
  EXPECT_EQ(EST_ERR_INVALID_ARGUMENT, est_batch_bytes(batch, nullptr, &len));
  EXPECT_EQ(EST_ERR_INVALID_ARGUMENT, est_batch_bytes(batch, &bytes, nullptr));
  EXPECT_EQ(EST_OK, est_batch_bytes(batch, &bytes, &len));
  EXPECT_NE(nullptr, bytes);
  est_batch_free(batch);
}

// ------------------------------------------------------- option values

TEST(StoreOptions, UnknownValuesAreRefused) {
  est_store* store = reinterpret_cast<est_store*>(1);
  est_store_options o = EST_STORE_OPTIONS_INIT;
  o.sync_mode = 3;
  EXPECT_EQ(EST_ERR_INVALID_ARGUMENT, est_store_open("memory:", &o, &store));
  EXPECT_EQ(nullptr, store);
  EXPECT_NE(std::string::npos, LastError().find("sync_mode")) << LastError();
  o = est_store_options EST_STORE_OPTIONS_INIT;
  o.sync_interval_ms = -1;
  EXPECT_EQ(EST_ERR_INVALID_ARGUMENT, est_store_open("memory:", &o, &store));
  o = est_store_options EST_STORE_OPTIONS_INIT;
  o.read_only = 2;
  EXPECT_EQ(EST_ERR_INVALID_ARGUMENT, est_store_open("memory:", &o, &store));
  EXPECT_EQ(EST_ERR_INVALID_ARGUMENT, est_store_open("nosuchscheme:x", nullptr, &store));
  EXPECT_EQ(nullptr, store);
  o = est_store_options EST_STORE_OPTIONS_INIT;
  o.sync_mode = EST_SYNC_NONE;
  o.sync_interval_ms = 5;
  ASSERT_EQ(EST_OK, est_store_open("memory:", &o, &store)) << LastError();
  est_store_close(store);
}

TEST_F(Capi, AppendRefusesUnknownExpectationsAndFlags) {
  std::vector<uint8_t> bytes = Batch(1);
  est_append_options o = EST_APPEND_OPTIONS_INIT;
  o.expect = 4;  // past EST_EXPECT_STREAM_EXISTS
  EXPECT_EQ(EST_ERR_INVALID_ARGUMENT, est_append(store_, stream_.c_str(), bytes.data(), bytes.size(), &o, nullptr,
                                                 nullptr));
  o = est_append_options EST_APPEND_OPTIONS_INIT;
  o.flags = 2;
  EXPECT_EQ(EST_ERR_INVALID_ARGUMENT, est_append(store_, stream_.c_str(), bytes.data(), bytes.size(), &o, nullptr,
                                                 nullptr));
  EXPECT_NE(std::string::npos, LastError().find("flags")) << LastError();
  o = est_append_options EST_APPEND_OPTIONS_INIT;
  o.expect = EST_EXPECT_VERSION;
  o.expected_version = -1;
  EXPECT_EQ(EST_ERR_INVALID_ARGUMENT, est_append(store_, stream_.c_str(), bytes.data(), bytes.size(), &o, nullptr,
                                                 nullptr));
  o = est_append_options EST_APPEND_OPTIONS_INIT;
  o.flags = EST_APPEND_RESTORE;
  o.first_version = -1;
  EXPECT_EQ(EST_ERR_INVALID_ARGUMENT, est_append(store_, stream_.c_str(), bytes.data(), bytes.size(), &o, nullptr,
                                                 nullptr));
  // With EST_EXPECT_ANY, expected_version is ignored.
  o = est_append_options EST_APPEND_OPTIONS_INIT;
  o.expected_version = -5;
  EXPECT_EQ(EST_OK, est_append(store_, stream_.c_str(), bytes.data(), bytes.size(), &o, nullptr, nullptr))
      << LastError();
}

// ------------------------------------------------------ misuse after close

TEST_F(Capi, BufferedIteratorReturnsClosedOnceTheStoreIsClosed) {
  AppendN(3);
  est_iter* iter = Read();
  est_event event = EST_EVENT_INIT;
  ASSERT_EQ(EST_OK, est_iter_next(iter, &event));  // the rest is now buffered
  est_store_close(store_);
  store_ = nullptr;
  EXPECT_EQ(EST_ERR_CLOSED, est_iter_next(iter, &event));
  EXPECT_EQ(EST_ERR_CLOSED, est_iter_next(iter, &event));
  size_t count = 1;
  EXPECT_EQ(EST_ERR_CLOSED, est_iter_next_batch(iter, &event, 1, &count));
  EXPECT_EQ(0u, count);
  est_iter_close(iter);  // freed after its store
}

TEST_F(Capi, WrittenIteratorReturnsClosedOnceTheStoreIsClosed) {
  std::vector<uint8_t> bytes = Batch(2);
  est_iter* written = nullptr;
  ASSERT_EQ(EST_OK, est_append(store_, stream_.c_str(), bytes.data(), bytes.size(), nullptr, nullptr, &written));
  ASSERT_NE(nullptr, written);
  est_store_close(store_);
  store_ = nullptr;
  est_event event = EST_EVENT_INIT;
  EXPECT_EQ(EST_ERR_CLOSED, est_iter_next(written, &event));
  est_iter_close(written);
}

TEST_F(Capi, EndedIteratorStaysEndedAfterTheClose) {
  AppendN(1);
  est_iter* iter = Read();
  est_event event = EST_EVENT_INIT;
  ASSERT_EQ(EST_OK, est_iter_next(iter, &event));
  ASSERT_EQ(EST_END, est_iter_next(iter, &event));
  EXPECT_EQ(EST_END, est_iter_next(iter, &event));
  est_store_close(store_);
  store_ = nullptr;
  EXPECT_EQ(EST_END, est_iter_next(iter, &event));
  est_iter_close(iter);
}

TEST_F(Capi, IteratorMayBeFreedBeforeOrAfterItsStore) {
  AppendN(2);
  est_iter* before = Read();
  est_iter* after = Read();
  est_iter_close(before);
  est_store_close(store_);
  store_ = nullptr;
  est_iter_close(after);
}

TEST_F(Capi, SnapshotOutlivesItsStore) {
  ASSERT_EQ(EST_OK, est_snapshot_write(store_, stream_.c_str(), 3, "abc", 3, "text/plain", nullptr));
  est_snapshot* snapshot = nullptr;
  ASSERT_EQ(EST_OK, est_snapshot_read(store_, stream_.c_str(), 0, &snapshot)) << LastError();
  est_store_close(store_);
  store_ = nullptr;
  EXPECT_EQ(3, est_snapshot_version(snapshot));
  size_t len = 0;
  const uint8_t* data = est_snapshot_data(snapshot, &len);
  ASSERT_EQ(3u, len);
  EXPECT_EQ(0, std::memcmp(data, "abc", 3));
  EXPECT_STREQ("text/plain", est_snapshot_content_type(snapshot));
  EXPECT_GT(est_snapshot_timestamp_ns(snapshot), 0);
  est_snapshot_free(snapshot);
}

// -------------------------------------------------------------- views

TEST_F(Capi, MetadataIsReadFromTheView) {
  AppendN(1);
  est_iter* iter = Read();
  est_event event = EST_EVENT_INIT;
  ASSERT_EQ(EST_OK, est_iter_next(iter, &event));
  ASSERT_EQ(1u, event.metadata_count);
  const char* key = nullptr;
  const char* value = nullptr;
  ASSERT_EQ(EST_OK, est_event_metadata(&event, 0, &key, &value)) << LastError();
  EXPECT_STREQ("k", key);
  EXPECT_STREQ("v", value);
  EXPECT_EQ(EST_ERR_INVALID_ARGUMENT, est_event_metadata(&event, 1, &key, &value));
  EXPECT_EQ(nullptr, key);
  EXPECT_EQ(EST_ERR_INVALID_ARGUMENT, est_event_metadata(&event, 0, nullptr, &value));
  EXPECT_EQ(EST_ERR_INVALID_ARGUMENT, est_event_metadata(&event, 0, &key, nullptr));
  est_iter_close(iter);
}

// An event with `pairs` metadata pairs "k0".."k{pairs-1}" = "v0"...
void AppendWithPairs(est_store* store, const std::string& stream, int pairs) {
  est_batch* batch = nullptr;
  ASSERT_EQ(EST_OK, est_batch_new(&batch));
  ASSERT_EQ(EST_OK, est_batch_add(batch, "noted", "x", 1, nullptr));
  for (int i = pairs - 1; i >= 0; --i) {  // added out of order: views are sorted by key
    const std::string key = "k" + std::to_string(i), value = "v" + std::to_string(i);
    ASSERT_EQ(EST_OK, est_batch_add_metadata(batch, key.c_str(), value.c_str()));
  }
  ASSERT_EQ(EST_OK, est_append_batch(store, stream.c_str(), batch, nullptr, nullptr, nullptr)) << LastError();
  est_batch_free(batch);
}

void ExpectPairs(const est_event& e, int pairs) {
  ASSERT_EQ(static_cast<size_t>(pairs), e.metadata_count);
  if (pairs == 0) {
    EXPECT_EQ(nullptr, e.metadata);
    return;
  }
  ASSERT_NE(nullptr, e.metadata);
  for (int i = 0; i < pairs; ++i) {
    EXPECT_EQ("k" + std::to_string(i), e.metadata[i].key);
    EXPECT_EQ("v" + std::to_string(i), e.metadata[i].value);
    const char* key = nullptr;
    const char* value = nullptr;
    ASSERT_EQ(EST_OK, est_event_metadata(&e, static_cast<size_t>(i), &key, &value));
    EXPECT_EQ(key, e.metadata[i].key) << "the pointer and the call see the same pair";
    EXPECT_EQ(value, e.metadata[i].value);
  }
}

TEST_F(Capi, MetadataArrayHoldsTheSortedPairsOfEachView) {
  for (int pairs : {2, 0, 3}) AppendWithPairs(store_, stream_, pairs);
  est_iter* iter = Read();
  est_event event = EST_EVENT_INIT;
  for (int pairs : {2, 0, 3}) {
    ASSERT_EQ(EST_OK, est_iter_next(iter, &event)) << LastError();
    ExpectPairs(event, pairs);
  }
  est_iter_close(iter);
}

TEST_F(Capi, MetadataArraysOfABatchAreAllValidUntilTheNextCall) {
  const int shape[] = {1, 0, 4, 2, 0};
  for (int pairs : shape) AppendWithPairs(store_, stream_, pairs);
  est_iter* iter = Read();
  est_event events[5];
  for (est_event& e : events) e = est_event EST_EVENT_INIT;
  size_t count = 0;
  ASSERT_EQ(EST_OK, est_iter_next_batch(iter, events, 5, &count)) << LastError();
  ASSERT_EQ(5u, count);
  for (int i = 0; i < 5; ++i) ExpectPairs(events[i], shape[i]);
  est_iter_close(iter);
}

TEST_F(Capi, SubscriptionViewsCarryTheirMetadataArrays) {
  const int shape[] = {3, 0, 1};
  for (int pairs : shape) AppendWithPairs(store_, stream_, pairs);
  est_subscription* sub = nullptr;
  ASSERT_EQ(EST_OK, est_subscribe(store_, nullptr, &sub)) << LastError();
  est_event events[3];
  for (est_event& e : events) e = est_event EST_EVENT_INIT;
  size_t count = 0;
  ASSERT_EQ(EST_OK, est_subscription_poll(sub, events, 3, &count, 0)) << LastError();
  ASSERT_EQ(3u, count);
  for (int i = 0; i < 3; ++i) ExpectPairs(events[i], shape[i]);
  est_subscription_close(sub);
}

TEST_F(Capi, AnAbi10EventIsNotWrittenPastItsEnd) {
  AppendWithPairs(store_, stream_, 2);
  est_iter* iter = Read();
  est_event event = EST_EVENT_INIT;
  event.struct_size = offsetof(est_event, metadata);  // a caller built against ABI 1.0
  const est_metadata_pair sentinel{"untouched", "untouched"};
  event.metadata = &sentinel;
  ASSERT_EQ(EST_OK, est_iter_next(iter, &event)) << LastError();
  EXPECT_EQ(2u, event.metadata_count);
  EXPECT_EQ(&sentinel, event.metadata);
  est_iter_close(iter);
}

TEST_F(Capi, ViewFieldsAreTheStoredEvent) {
  AppendN(2);
  char type[EST_TYPE_MAX_LEN + 1];
  est_uuid stream_uuid;
  ASSERT_EQ(EST_OK, est_id_parse(stream_.c_str(), type, sizeof type, &stream_uuid));
  est_iter* iter = Read();
  est_event events[2] = {EST_EVENT_INIT, EST_EVENT_INIT};
  size_t count = 0;
  ASSERT_EQ(EST_OK, est_iter_next_batch(iter, events, 2, &count));
  ASSERT_EQ(2u, count);
  const est_uuid nil{};
  for (int i = 0; i < 2; ++i) {
    const est_event& e = events[i];
    EXPECT_STREQ("deposited", e.type);
    EXPECT_STREQ("account", e.stream_type);
    EXPECT_EQ(0, std::memcmp(&stream_uuid, &e.stream_uuid, sizeof(est_uuid)));
    EXPECT_NE(0, std::memcmp(&nil, &e.id, sizeof(est_uuid)));
    EXPECT_EQ(i + 1, e.stream_version);
    EXPECT_GT(e.global_position, 0);
    EXPECT_GT(e.timestamp_ns, 0);
    EXPECT_EQ("e" + std::to_string(i + 1), std::string(reinterpret_cast<const char*>(e.data), e.data_len));
    EXPECT_STREQ("text/plain", e.content_type);
    EXPECT_EQ(1u, e.metadata_count);
    // The memory store keeps compact records: no FlatBuffers form unless asked.
    EXPECT_EQ(nullptr, e.fb);
    EXPECT_EQ(0u, e.fb_len);
    EXPECT_NE(nullptr, e.record);
    EXPECT_GT(e.record_len, e.data_len);
  }
  EXPECT_NE(0, std::memcmp(&events[0].id, &events[1].id, sizeof(est_uuid)));
  EXPECT_LT(events[0].global_position, events[1].global_position);
  // The id a read reports is the one est_id_format would print for the event.
  char text[EST_ID_MAX_LEN];
  EXPECT_EQ(EST_OK, est_id_format(events[0].type, &events[0].id, text, sizeof text));
  est_iter_close(iter);
}

// A caller built before ABI 1.3 always had est_event.fb: it still gets it,
// built for it, and nothing past its struct is written.
TEST_F(Capi, ACallerOlderThanRecordGetsTheFlatbuffer) {
  AppendN(2);
  est_iter* iter = Read();
  est_event event = EST_EVENT_INIT;
  event.struct_size = offsetof(est_event, record);
  const uint8_t sentinel = 0;
  event.record = &sentinel;
  ASSERT_EQ(EST_OK, est_iter_next(iter, &event)) << LastError();
  EXPECT_EQ(&sentinel, event.record);
  ASSERT_NE(nullptr, event.fb);
  EXPECT_EQ(0u, reinterpret_cast<uintptr_t>(event.fb) % 8);
  // What est_event_flatbuffer builds for the same view, byte for byte.
  size_t len = 0;
  ASSERT_EQ(EST_OK, est_event_flatbuffer(&event, nullptr, 0, &len)) << LastError();
  ASSERT_EQ(event.fb_len, len);
  est_event current = EST_EVENT_INIT;
  est_iter* again = Read();  // the first one's views stay valid while it is open
  ASSERT_EQ(EST_OK, est_iter_next(again, &current)) << LastError();
  ASSERT_EQ(nullptr, current.fb);
  std::vector<uint64_t> built((len + 7) / 8);
  ASSERT_EQ(EST_OK, est_event_flatbuffer(&current, reinterpret_cast<uint8_t*>(built.data()), built.size() * 8, &len));
  EXPECT_EQ(0, std::memcmp(built.data(), event.fb, len));
  est_iter_close(again);
  est_iter_close(iter);
}

TEST_F(Capi, EventFlatbufferChecksItsArguments) {
  AppendN(1);
  est_iter* iter = Read();
  est_event event = EST_EVENT_INIT;
  ASSERT_EQ(EST_OK, est_iter_next(iter, &event)) << LastError();
  size_t len = 0;
  ASSERT_EQ(EST_OK, est_event_flatbuffer(&event, nullptr, 0, &len)) << LastError();
  ASSERT_GT(len, 0u);
  std::vector<uint64_t> buf(len / 8 + 2);
  uint8_t* aligned = reinterpret_cast<uint8_t*>(buf.data());
  size_t got = 1;
  EXPECT_EQ(EST_ERR_INVALID_ARGUMENT, est_event_flatbuffer(&event, aligned + 1, len, &got));
  EXPECT_EQ(0u, got);
  std::memset(aligned, 0x5a, len);
  EXPECT_EQ(EST_ERR_INVALID_ARGUMENT, est_event_flatbuffer(&event, aligned, len - 1, &got));
  EXPECT_EQ(len, got) << "a short buffer learns the size";
  EXPECT_EQ(0x5a, aligned[0]) << "and nothing is written";
  EXPECT_EQ(EST_ERR_INVALID_ARGUMENT, est_event_flatbuffer(&event, nullptr, 8, &got));
  EXPECT_EQ(EST_ERR_INVALID_ARGUMENT, est_event_flatbuffer(&event, aligned, len, nullptr));
  EXPECT_EQ(EST_ERR_INVALID_ARGUMENT, est_event_flatbuffer(nullptr, aligned, len, &got));
  const est_event blank = EST_EVENT_INIT;
  EXPECT_EQ(EST_ERR_INVALID_ARGUMENT, est_event_flatbuffer(&blank, aligned, len, &got));
  EXPECT_NE(std::string(est_last_error()).find("not a view the library filled"), std::string::npos);
  est_iter_close(iter);
}

TEST_F(Capi, EmptyDataIsANonNullEmptyRange) {
  est_batch* batch = nullptr;
  ASSERT_EQ(EST_OK, est_batch_new(&batch));
  ASSERT_EQ(EST_OK, est_batch_add(batch, "nothing", nullptr, 0, nullptr));
  const uint8_t* bytes = nullptr;
  size_t len = 0;
  ASSERT_EQ(EST_OK, est_batch_bytes(batch, &bytes, &len));
  ASSERT_EQ(EST_OK, est_append(store_, stream_.c_str(), bytes, len, nullptr, nullptr, nullptr)) << LastError();
  est_batch_free(batch);
  est_iter* iter = Read();
  est_event event = EST_EVENT_INIT;
  ASSERT_EQ(EST_OK, est_iter_next(iter, &event));
  EXPECT_NE(nullptr, event.data);
  EXPECT_EQ(0u, event.data_len);
  EXPECT_STREQ("", event.content_type);
  est_iter_close(iter);
}

TEST_F(Capi, ManyEventsCrossChunkBoundariesInOrder) {
  // More than one internal chunk, read one by one and in batches of 100.
  for (int i = 0; i < 3; ++i) AppendN(100);
  est_iter* iter = Read();
  est_event event = EST_EVENT_INIT;
  int64_t expected = 1;
  for (int i = 0; i < 70; ++i, ++expected) {
    ASSERT_EQ(EST_OK, est_iter_next(iter, &event));
    ASSERT_EQ(expected, event.stream_version);
  }
  std::vector<est_event> events(100, est_event EST_EVENT_INIT);
  size_t count = 0;
  est_status s;
  while ((s = est_iter_next_batch(iter, events.data(), events.size(), &count)) == EST_OK) {
    ASSERT_GE(count, 1u);
    for (size_t i = 0; i < count; ++i, ++expected) ASSERT_EQ(expected, events[i].stream_version);
  }
  EXPECT_EQ(EST_END, s);
  EXPECT_EQ(301, expected);
  est_iter_close(iter);
}

// ------------------------------------------------------------------ fork

TEST_F(Capi, ForkedChildRefusesTheParentsHandles) {
  AppendN(1);
  est_iter* iter = Read();
  est_batch* batch = nullptr;
  ASSERT_EQ(EST_OK, est_batch_new(&batch));
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // The child reports through its exit code only: bit i = check i failed.
    int failed = 0;
    est_iter* out = reinterpret_cast<est_iter*>(1);
    if (est_read_all(store_, nullptr, &out) != EST_ERR_INVALID_ARGUMENT || out != nullptr) failed |= 1;
    if (std::string(est_last_error()).find("fork") == std::string::npos) failed |= 2;
    est_event event = EST_EVENT_INIT;
    if (est_iter_next(iter, &event) != EST_ERR_INVALID_ARGUMENT) failed |= 4;
    if (est_batch_add(batch, "t", nullptr, 0, nullptr) != EST_ERR_INVALID_ARGUMENT) failed |= 8;
    // The child's own handles work.
    est_store* own = nullptr;
    if (est_store_open("memory:", nullptr, &own) != EST_OK) failed |= 16;
    est_store_close(own);
    // Freeing the parent's handles in the child must not crash.
    est_iter_close(iter);
    est_batch_free(batch);
    est_store_close(store_);
    _exit(failed);
  }
  int wstatus = 0;
  ASSERT_EQ(pid, waitpid(pid, &wstatus, 0));
  ASSERT_TRUE(WIFEXITED(wstatus));
  EXPECT_EQ(0, WEXITSTATUS(wstatus));
  // The parent's handles are untouched.
  est_event event = EST_EVENT_INIT;
  EXPECT_EQ(EST_OK, est_iter_next(iter, &event)) << LastError();
  EXPECT_EQ(EST_OK, est_batch_add(batch, "t", nullptr, 0, nullptr));
  est_batch_free(batch);
  est_iter_close(iter);
}

}  // namespace

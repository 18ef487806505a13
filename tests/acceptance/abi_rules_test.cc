// tests/acceptance/abi_rules_test.cc: the C ABI's general rules (doc/abi.md):
// status names, the per-thread last error, the ABI version, the
// option defaults (_INIT macros and est_<struct>_init agree; NULL options are
// the defaults), fresh private memory stores, and closing a store under live
// iterators (EST_ERR_CLOSED, handles freed in any order).
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "tests/acceptance/acceptance.h"

namespace estoria::acceptance {
namespace {

class AbiRulesTest : public Acceptance {};
ESTORIA_ACCEPTANCE_SUITE(AbiRulesTest);

TEST(AcceptanceAbi, StatusNamesArePinned) {
  EXPECT_STREQ(est_status_name(EST_OK), "EST_OK");
  EXPECT_STREQ(est_status_name(EST_END), "EST_END");
  EXPECT_STREQ(est_status_name(EST_ERR_INVALID_ARGUMENT), "EST_ERR_INVALID_ARGUMENT");
  EXPECT_STREQ(est_status_name(EST_ERR_NOT_FOUND), "EST_ERR_NOT_FOUND");
  EXPECT_STREQ(est_status_name(EST_ERR_VERSION_MISMATCH), "EST_ERR_VERSION_MISMATCH");
  EXPECT_STREQ(est_status_name(EST_ERR_CLOSED), "EST_ERR_CLOSED");
  EXPECT_STREQ(est_status_name(EST_ERR_IO), "EST_ERR_IO");
  EXPECT_STREQ(est_status_name(EST_ERR_CORRUPTION), "EST_ERR_CORRUPTION");
  EXPECT_STREQ(est_status_name(EST_ERR_BUSY), "EST_ERR_BUSY");
  EXPECT_STREQ(est_status_name(EST_ERR_UNSUPPORTED), "EST_ERR_UNSUPPORTED");
  EXPECT_STREQ(est_status_name(EST_ERR_NO_MEMORY), "EST_ERR_NO_MEMORY");
  EXPECT_STREQ(est_status_name(EST_ERR_INTERNAL), "EST_ERR_INTERNAL");
  for (est_status unknown : {2, 99, -99, INT32_MIN, INT32_MAX}) {
    ASSERT_NE(est_status_name(unknown), nullptr);
    EXPECT_STREQ(est_status_name(unknown), "EST_UNKNOWN") << unknown;
  }
}

TEST(AcceptanceAbi, StatusValuesArePinned) {
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
}

TEST(AcceptanceAbi, AbiVersionIsMajorShiftedSixteenOrMinor) {
  EXPECT_EQ(est_abi_version(), static_cast<uint32_t>(EST_ABI_VERSION));
  EXPECT_EQ(est_abi_version() >> 16, 1u);
  EXPECT_EQ(static_cast<uint32_t>(EST_ABI_VERSION),
            (static_cast<uint32_t>(EST_ABI_VERSION_MAJOR) << 16) | EST_ABI_VERSION_MINOR);
}

TEST(AcceptanceAbi, LastErrorIsPerThreadAndNeverNull) {
  std::string fresh_thread_message = "unset";
  std::thread fresh([&] {
    const char* m = est_last_error();
    fresh_thread_message = m ? m : "NULL";
  });
  fresh.join();
  EXPECT_EQ(fresh_thread_message, "") << "a thread with no failure has an empty message";

  EXPECT_INVALID(est_uuid_v4(nullptr));
  const std::string mine = est_last_error();
  std::string other_message = "unset";
  std::thread other([&] {
    char buf[4];
    est_uuid u{};
    est_status s = est_id_format("account", &u, buf, sizeof buf);  // too small
    EXPECT_EQ(s, EST_ERR_INVALID_ARGUMENT);
    other_message = est_last_error();
  });
  other.join();
  EXPECT_FALSE(other_message.empty());
  EXPECT_EQ(std::string(est_last_error()), mine) << "another thread's failure does not touch this thread's message";
}

TEST(AcceptanceAbi, InitFunctionsMatchTheInitMacros) {
  est_store_options so;
  std::memset(&so, 0xAB, sizeof so);
  est_store_options_init(&so);
  est_store_options so_macro = EST_STORE_OPTIONS_INIT;
  EXPECT_EQ(so.struct_size, sizeof so);
  EXPECT_EQ(so.struct_size, so_macro.struct_size);
  EXPECT_EQ(so.sync_mode, so_macro.sync_mode);
  EXPECT_EQ(so.sync_interval_ms, so_macro.sync_interval_ms);
  EXPECT_EQ(so.read_only, so_macro.read_only);

  est_append_options ao;
  std::memset(&ao, 0xAB, sizeof ao);
  est_append_options_init(&ao);
  EXPECT_EQ(ao.struct_size, sizeof ao);
  EXPECT_EQ(ao.expect, EST_EXPECT_ANY);
  EXPECT_EQ(ao.expected_version, 0);
  EXPECT_EQ(ao.flags, 0u);
  EXPECT_EQ(ao.first_version, 0);

  est_append_result ar;
  std::memset(&ar, 0xAB, sizeof ar);
  est_append_result_init(&ar);
  EXPECT_EQ(ar.struct_size, sizeof ar);
  EXPECT_EQ(ar.first_version, 0);
  EXPECT_EQ(ar.actual_version, 0);

  est_read_options ro;
  std::memset(&ro, 0xAB, sizeof ro);
  est_read_options_init(&ro);
  EXPECT_EQ(ro.struct_size, sizeof ro);
  EXPECT_EQ(ro.direction, EST_FORWARD);
  EXPECT_EQ(ro.after_version, 0);
  EXPECT_EQ(ro.count, 0);

  est_read_all_options rao;
  std::memset(&rao, 0xAB, sizeof rao);
  est_read_all_options_init(&rao);
  EXPECT_EQ(rao.struct_size, sizeof rao);
  EXPECT_EQ(rao.after_position, 0);
  EXPECT_EQ(rao.count, 0);

  est_event ev;
  std::memset(&ev, 0xAB, sizeof ev);
  est_event_init(&ev);
  EXPECT_EQ(ev.struct_size, sizeof ev);
  EXPECT_EQ(ev.type, nullptr);
  EXPECT_EQ(ev.data_len, 0u);
  EXPECT_EQ(ev.fb, nullptr);

  est_snapshot_write_options sw;
  std::memset(&sw, 0xAB, sizeof sw);
  est_snapshot_write_options_init(&sw);
  EXPECT_EQ(sw.struct_size, sizeof sw);
  EXPECT_EQ(sw.timestamp_ns, 0);

  // NULL is refused rather than written through.
  est_store_options_init(nullptr);
  est_append_options_init(nullptr);
  est_read_options_init(nullptr);
}

TEST_P(AbiRulesTest, MemoryStoresArePrivateAndFresh) {
  if (GetParam().name != "memory") GTEST_SKIP() << "memory: only";
  AppendN(store_, NewStreamId(), 2);
  est_store* other = nullptr;
  ASSERT_EST_OK(est_store_open("memory:", nullptr, &other));
  ReadResult all = ReadAll(other);
  EXPECT_EST_OK(all.status);
  EXPECT_TRUE(all.events.empty()) << "each memory: open is a fresh private store";
  est_store_close(other);
  EXPECT_EQ(Everything().size(), 2u);
}

TEST_P(AbiRulesTest, IteratorsOfAClosedStoreReturnClosed) {
  const std::string stream = NewStreamId();
  AppendN(store_, stream, 5);
  est_iter* fresh = nullptr;
  est_iter* started = nullptr;
  est_iter* global = nullptr;
  est_iter* written = nullptr;
  est_iter* ended = nullptr;
  ASSERT_EST_OK(est_read_stream(store_, stream.c_str(), nullptr, &fresh));
  ASSERT_EST_OK(est_read_stream(store_, stream.c_str(), nullptr, &started));
  ASSERT_EST_OK(est_read_all(store_, nullptr, &global));
  std::vector<uint8_t> bytes = SimpleBatch(2);
  ASSERT_EST_OK(est_append(store_, stream.c_str(), bytes.data(), bytes.size(), nullptr, nullptr, &written));
  est_read_options past = EST_READ_OPTIONS_INIT;
  past.after_version = 100;
  ASSERT_EST_OK(est_read_stream(store_, stream.c_str(), &past, &ended));
  est_event view = EST_EVENT_INIT;
  ASSERT_EST_OK(est_iter_next(started, &view));
  ASSERT_EST(EST_END, est_iter_next(ended, &view));

  CloseStore();

  for (est_iter* iter : {fresh, started, global, written}) {
    EXPECT_REJECTED(EST_ERR_CLOSED, est_iter_next(iter, &view));
    EXPECT_REJECTED(EST_ERR_CLOSED, est_iter_next(iter, &view)) << "and stays closed";
    size_t count = 7;
    EXPECT_REJECTED(EST_ERR_CLOSED, est_iter_next_batch(iter, &view, 1, &count));
  }
  // Exhausted before the close: EST_END repeats or EST_ERR_CLOSED; the contract
  // has both rules and does not rank them, so either is accepted here.
  est_status ended_status = est_iter_next(ended, &view);
  EXPECT_TRUE(ended_status == EST_END || ended_status == EST_ERR_CLOSED) << est_status_name(ended_status);
  // Freed after the store, in an arbitrary order.
  est_iter_close(global);
  est_iter_close(fresh);
  est_iter_close(ended);
  est_iter_close(written);
  est_iter_close(started);
}

TEST_P(AbiRulesTest, ChildrenMayBeFreedBeforeOrAfterTheStore) {
  const std::string stream = NewStreamId();
  AppendN(store_, stream, 3);
  ASSERT_EST_OK(est_snapshot_write(store_, stream.c_str(), 3, "state", 5, "text/plain", nullptr));
  est_iter* before = nullptr;
  est_iter* after = nullptr;
  est_snapshot* snapshot = nullptr;
  est_batch* batch = nullptr;
  ASSERT_EST_OK(est_read_stream(store_, stream.c_str(), nullptr, &before));
  ASSERT_EST_OK(est_read_all(store_, nullptr, &after));
  ASSERT_EST_OK(est_snapshot_read(store_, stream.c_str(), 0, &snapshot));
  ASSERT_EST_OK(est_batch_new(&batch));
  ASSERT_EST_OK(est_batch_add(batch, "late", "x", 1, nullptr));
  est_iter_close(before);
  CloseStore();
  // A snapshot and a batch belong to the caller, not the store.
  size_t len = 0;
  const uint8_t* data = est_snapshot_data(snapshot, &len);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(data), len), "state");
  EXPECT_STREQ(est_snapshot_content_type(snapshot), "text/plain");
  const uint8_t* bytes = nullptr;
  EXPECT_EST_OK(est_batch_bytes(batch, &bytes, &len));
  est_snapshot_free(snapshot);
  est_iter_close(after);
  est_batch_free(batch);
}

TEST_P(AbiRulesTest, ViewsStayValidUntilTheNextCallOnTheIterator) {
  const std::string stream = NewStreamId();
  AppendN(store_, stream, 2);
  est_iter* iter = nullptr;
  ASSERT_EST_OK(est_read_stream(store_, stream.c_str(), nullptr, &iter));
  est_event first = EST_EVENT_INIT;
  ASSERT_EST_OK(est_iter_next(iter, &first));
  // Other calls on the store do not touch this iterator's views.
  AppendN(store_, NewStreamId(), 3);
  ASSERT_EST_OK(est_delete_stream(store_, stream.c_str(), 0));
  Event copy = CopyEvent(first);
  EXPECT_EQ(copy.stream_version, 1);
  EXPECT_EQ(copy.data, "e1");
  est_iter_close(iter);
}

}  // namespace
}  // namespace estoria::acceptance

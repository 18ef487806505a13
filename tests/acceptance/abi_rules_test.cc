// tests/acceptance/abi_rules_test.cc: the C ABI's general rules that depend
// on the backend (doc/abi.md): fresh private memory stores, closing a store
// under live iterators (EST_ERR_CLOSED, handles freed in any order), and the
// lifetime of views. The rules that do not (status names and values, the
// per-thread last error, the ABI version, the _INIT macros) are tested once,
// in capi/src/capi_test.cc.
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "tests/acceptance/acceptance.h"

namespace estoria::acceptance {
namespace {

class AbiRulesTest : public Acceptance {};
ESTORIA_ACCEPTANCE_SUITE(AbiRulesTest);

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

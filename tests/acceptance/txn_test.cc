// tests/acceptance/txn_test.cc: transactions (est_txn_*,
// doc/data-model.md "Transactions"): all or nothing across streams, every expectation checked at commit,
// a mismatch naming its append and stream, the same stream twice, empty and
// oversized transactions, bad input, a store closed under a transaction,
// and retried transactions (each append's duplicate check).
#define EST_EXPERIMENTAL 1
#include <string>
#include <vector>

#include "tests/acceptance/acceptance.h"

namespace estoria::acceptance {
namespace {

class TxnTest : public Acceptance {};
ESTORIA_ACCEPTANCE_SUITE(TxnTest);

// RAII over est_txn.
class Txn {
 public:
  explicit Txn(est_store* store) { EXPECT_EST_OK(est_txn_new(store, &txn_)); }
  ~Txn() { est_txn_free(txn_); }
  Txn(const Txn&) = delete;
  Txn& operator=(const Txn&) = delete;
  est_status Append(const std::string& stream, Batch& batch, const est_append_options* options = nullptr) {
    return est_txn_append(txn_, stream.c_str(), batch.get(), options);
  }
  est_txn* get() { return txn_; }

 private:
  est_txn* txn_ = nullptr;
};

// A batch of `n` events whose data is "<prefix>1"...
void Fill(Batch& batch, int n, const std::string& prefix) {
  for (int i = 1; i <= n; ++i) batch.Add("deposited", prefix + std::to_string(i), "text/plain");
}

// A batch of `ids.size()` events carrying those IDs.
void FillWithIds(Batch& batch, const std::vector<est_uuid>& ids, const std::string& prefix = "d") {
  for (size_t i = 0; i < ids.size(); ++i) {
    NewEvent e;
    e.data = prefix + std::to_string(i);
    e.has_id = true;
    e.id = ids[i];
    batch.Add(e);
  }
}

std::vector<est_uuid> NewIds(int n) {
  std::vector<est_uuid> ids;
  for (int i = 0; i < n; ++i) ids.push_back(NewUuidV7());
  return ids;
}

std::vector<est_append_result> Results(size_t n) {
  std::vector<est_append_result> r(n);
  for (auto& x : r) est_append_result_init(&x);
  return r;
}

TEST_P(TxnTest, CommitsEveryAppendWithContiguousPositionsInOrder) {
  const std::string a = NewStreamId(), b = NewStreamId("order"), c = NewStreamId();
  AppendN(store_, a, 2);
  Txn txn(store_);
  Batch ba, bb, bc;
  Fill(ba, 1, "a");
  Fill(bb, 3, "b");
  Fill(bc, 2, "c");
  est_append_options expect_a = ExpectVersion(2), expect_b = ExpectNoStream();
  ASSERT_EST_OK(txn.Append(a, ba, &expect_a));
  ASSERT_EST_OK(txn.Append(b, bb, &expect_b));
  ASSERT_EST_OK(txn.Append(c, bc));
  EXPECT_EQ(est_txn_size(txn.get()), 3u);
  std::vector<est_append_result> r = Results(3);
  ASSERT_EST_OK(est_txn_commit(txn.get(), r.data(), r.size()));
  EXPECT_EQ(est_txn_size(txn.get()), 0u) << "a committed transaction is empty again";

  EXPECT_EQ(r[0].first_version, 3);
  EXPECT_EQ(r[0].last_version, 3);
  EXPECT_EQ(r[0].actual_version, 3);
  EXPECT_EQ(r[1].first_version, 1);
  EXPECT_EQ(r[1].last_version, 3);
  EXPECT_EQ(r[2].first_version, 1);
  EXPECT_EQ(r[2].last_version, 2);
  for (const auto& x : r) EXPECT_EQ(x.flags, 0u);
  EXPECT_EQ(Versions(ReadStream(store_, a).events), Range(1, 3));
  std::vector<Event> eb = ReadStream(store_, b).events;
  ASSERT_EQ(eb.size(), 3u);
  EXPECT_EQ(eb[2].data, "b3");
  EXPECT_EQ(ReadStream(store_, c).events.size(), 2u);
  if (HasGlobalOrder()) {
    EXPECT_EQ(r[1].first_position, r[0].last_position + 1);
    EXPECT_EQ(r[2].first_position, r[1].last_position + 1);
    std::vector<Event> all = ReadAll(store_, r[0].first_position - 1).events;
    ASSERT_EQ(all.size(), 6u);
    for (size_t i = 0; i < all.size(); ++i) {
      EXPECT_EQ(all[i].global_position, r[0].first_position + static_cast<int64_t>(i)) << "no gap, no other commit";
    }
    EXPECT_EQ(all[0].data, "a1");
    EXPECT_EQ(all[1].data, "b1");
    EXPECT_EQ(all[5].data, "c2");
  }
}

TEST_P(TxnTest, OneFailingExpectationWritesNothingAndNamesItsStream) {
  const std::string a = NewStreamId(), b = NewStreamId(), c = NewStreamId(), d = NewStreamId();
  AppendN(store_, a, 2);
  AppendN(store_, c, 4);
  const std::vector<Event> before = Everything();
  Txn txn(store_);
  Batch ba, bb, bc, bd;
  Fill(ba, 1, "a");
  Fill(bb, 2, "b");
  Fill(bc, 1, "c");
  Fill(bd, 1, "d");
  est_append_options ok_a = ExpectVersion(2), ok_b = ExpectNoStream(), bad_c = ExpectVersion(3);
  ASSERT_EST_OK(txn.Append(a, ba, &ok_a));
  ASSERT_EST_OK(txn.Append(b, bb, &ok_b));
  ASSERT_EST_OK(txn.Append(c, bc, &bad_c));
  ASSERT_EST_OK(txn.Append(d, bd));
  std::vector<est_append_result> r = Results(4);
  EXPECT_EST(EST_ERR_VERSION_MISMATCH, est_txn_commit(txn.get(), r.data(), r.size()));
  const std::string message = est_last_error();
  EXPECT_NE(message.find(c), std::string::npos) << message;
  EXPECT_NE(message.find("append 2"), std::string::npos) << message;
  EXPECT_TRUE(MentionsNumber(message, 3)) << message;
  EXPECT_TRUE(MentionsNumber(message, 4)) << message;
  EXPECT_EQ(r[0].actual_version, 2);
  EXPECT_EQ(r[1].actual_version, 0);
  EXPECT_EQ(r[2].actual_version, 4);
  EXPECT_EQ(r[3].actual_version, 0);
  EXPECT_EQ(r[0].first_version, 0) << "on a mismatch only actual_version is filled";
  EXPECT_EQ(Everything(), before);
  EXPECT_EQ(ReadStream(store_, b).status, EST_ERR_NOT_FOUND);
  EXPECT_EQ(ReadStream(store_, d).status, EST_ERR_NOT_FOUND);
  EXPECT_EQ(est_txn_size(txn.get()), 4u) << "a failed transaction keeps its appends";
}

TEST_P(TxnTest, StreamExistsIsCheckedAtCommit) {
  const std::string a = NewStreamId(), missing = NewStreamId();
  AppendN(store_, a, 1);
  est_append_options exists = EST_APPEND_OPTIONS_INIT;
  exists.expect = EST_EXPECT_STREAM_EXISTS;
  {
    Txn txn(store_);
    Batch ba, bm;
    Fill(ba, 1, "a");
    Fill(bm, 1, "m");
    ASSERT_EST_OK(txn.Append(a, ba, &exists));
    ASSERT_EST_OK(txn.Append(missing, bm, &exists));
    EXPECT_EST(EST_ERR_VERSION_MISMATCH, est_txn_commit(txn.get(), nullptr, 0));
    EXPECT_NE(std::string(est_last_error()).find(missing), std::string::npos);
  }
  EXPECT_EQ(Versions(ReadStream(store_, a).events), Range(1, 1));
  Txn txn(store_);
  Batch ba;
  Fill(ba, 1, "a");
  ASSERT_EST_OK(txn.Append(a, ba, &exists));
  ASSERT_EST_OK(est_txn_commit(txn.get(), nullptr, 0));
  EXPECT_EQ(Versions(ReadStream(store_, a).events), Range(1, 2));
}

TEST_P(TxnTest, TheSameStreamTwiceSeesItsEarlierAppend) {
  const std::string s = NewStreamId(), t = NewStreamId();
  {
    Txn txn(store_);
    Batch first, other, second;
    Fill(first, 2, "x");
    Fill(other, 1, "o");
    Fill(second, 1, "y");
    est_append_options none = ExpectNoStream(), after = ExpectVersion(2);
    ASSERT_EST_OK(txn.Append(s, first, &none));
    ASSERT_EST_OK(txn.Append(t, other));
    ASSERT_EST_OK(txn.Append(s, second, &after));
    std::vector<est_append_result> r = Results(3);
    ASSERT_EST_OK(est_txn_commit(txn.get(), r.data(), r.size()));
    EXPECT_EQ(r[0].first_version, 1);
    EXPECT_EQ(r[0].last_version, 2);
    EXPECT_EQ(r[2].first_version, 3);
    EXPECT_EQ(r[2].last_version, 3);
    EXPECT_EQ(r[0].actual_version, 3) << "each result reports its stream's version after the commit";
  }
  std::vector<Event> events = ReadStream(store_, s).events;
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[2].data, "y1");
  // The second append expecting what the stream had before the first: a mismatch.
  Txn txn(store_);
  Batch one, two;
  Fill(one, 1, "p");
  Fill(two, 1, "q");
  est_append_options at3 = ExpectVersion(3);
  ASSERT_EST_OK(txn.Append(s, one, &at3));
  ASSERT_EST_OK(txn.Append(s, two, &at3));
  EXPECT_EST(EST_ERR_VERSION_MISMATCH, est_txn_commit(txn.get(), nullptr, 0));
  EXPECT_EQ(ReadStream(store_, s).events.size(), 3u);
}

TEST_P(TxnTest, AnEmptyTransactionCommitsNothing) {
  const std::vector<Event> before = Everything();
  Txn txn(store_);
  EXPECT_EST_OK(est_txn_commit(txn.get(), nullptr, 0));
  EXPECT_EQ(Everything(), before);
}

TEST_P(TxnTest, AnOversizedTransactionIsRefusedAtAppendAndStaysUsable) {
  Txn txn(store_);
  Batch big;
  Fill(big, EST_TXN_MAX_EVENTS / 2 + 1, "e");
  const std::string s = NewStreamId();
  ASSERT_EST_OK(txn.Append(s, big));
  EXPECT_INVALID(txn.Append(s, big));
  EXPECT_NE(std::string(est_last_error()).find("at most"), std::string::npos) << est_last_error();
  EXPECT_EQ(est_txn_size(txn.get()), 1u) << "the refused append is not kept";
  Batch small;
  Fill(small, 1, "s");
  const std::string t = NewStreamId();
  ASSERT_EST_OK(txn.Append(t, small));
  std::vector<est_append_result> r = Results(2);
  ASSERT_EST_OK(est_txn_commit(txn.get(), r.data(), r.size()));
  EXPECT_EQ(r[0].last_version, EST_TXN_MAX_EVENTS / 2 + 1);
  EXPECT_EQ(ReadStream(store_, t).events.size(), 1u);
}

TEST_P(TxnTest, TheBatchMayBeFreedOrReusedRightAfterTheAppend) {
  const std::string s = NewStreamId(), t = NewStreamId();
  Txn txn(store_);
  {
    Batch batch;
    Fill(batch, 2, "first");
    ASSERT_EST_OK(txn.Append(s, batch));
    batch.Add("withdrawn", "later");  // changes the batch after the append
    ASSERT_EST_OK(txn.Append(t, batch));
  }  // freed before the commit
  ASSERT_EST_OK(est_txn_commit(txn.get(), nullptr, 0));
  EXPECT_EQ(ReadStream(store_, s).events.size(), 2u);
  std::vector<Event> te = ReadStream(store_, t).events;
  ASSERT_EQ(te.size(), 3u);
  EXPECT_EQ(te[2].data, "later");
}

TEST_P(TxnTest, BadInputIsRefusedAndChangesNothing) {
  const std::string s = NewStreamId();
  const std::vector<Event> before = Everything();
  est_txn* out = reinterpret_cast<est_txn*>(&out);
  EXPECT_INVALID(est_txn_new(nullptr, &out));
  EXPECT_EQ(out, nullptr);
  EXPECT_INVALID(est_txn_new(store_, nullptr));
  Txn txn(store_);
  Batch batch, empty;
  Fill(batch, 1, "x");
  EXPECT_INVALID(est_txn_append(nullptr, s.c_str(), batch.get(), nullptr));
  EXPECT_INVALID(txn.Append("not an id", batch));
  EXPECT_INVALID(est_txn_append(txn.get(), nullptr, batch.get(), nullptr));
  EXPECT_INVALID(est_txn_append(txn.get(), s.c_str(), nullptr, nullptr));
  EXPECT_INVALID(txn.Append(s, empty));
  est_append_options bad = EST_APPEND_OPTIONS_INIT;
  bad.expect = 9;
  EXPECT_INVALID(txn.Append(s, batch, &bad));
  bad = ExpectVersion(-1);
  EXPECT_INVALID(txn.Append(s, batch, &bad));
  bad = EST_APPEND_OPTIONS_INIT;
  bad.flags = 0x80;
  EXPECT_INVALID(txn.Append(s, batch, &bad));
  EXPECT_EQ(est_txn_size(txn.get()), 0u);
  ASSERT_EST_OK(txn.Append(s, batch));
  ASSERT_EST_OK(txn.Append(s, batch));
  std::vector<est_append_result> r = Results(2);
  EXPECT_INVALID(est_txn_commit(txn.get(), r.data(), 1));
  EXPECT_INVALID(est_txn_commit(txn.get(), nullptr, 2));
  r[1].struct_size = 8;
  EXPECT_INVALID(est_txn_commit(txn.get(), r.data(), 2));
  EXPECT_INVALID(est_txn_commit(nullptr, nullptr, 0));
  EXPECT_EQ(Everything(), before);
  est_txn_free(nullptr);
  EXPECT_EQ(est_txn_size(nullptr), 0u);
}

TEST_P(TxnTest, ATransactionUsedAfterItsStoreClosedIsClosed) {
  const std::string s = NewStreamId();
  est_txn* txn = nullptr;
  ASSERT_EST_OK(est_txn_new(store_, &txn));
  Batch batch;
  Fill(batch, 1, "x");
  ASSERT_EST_OK(est_txn_append(txn, s.c_str(), batch.get(), nullptr));
  CloseStore();
  EXPECT_REJECTED(EST_ERR_CLOSED, est_txn_commit(txn, nullptr, 0));
  EXPECT_REJECTED(EST_ERR_CLOSED, est_txn_append(txn, s.c_str(), batch.get(), nullptr));
  est_txn_free(txn);
}

TEST_P(TxnTest, ARetriedTransactionIsADuplicateAndWritesNothing) {
  const std::string a = NewStreamId(), b = NewStreamId();
  AppendN(store_, a, 1);
  const std::vector<est_uuid> ids_a = NewIds(2), ids_b = NewIds(3);
  est_append_options at1 = ExpectVersion(1), none = ExpectNoStream();
  auto run = [&](std::vector<est_append_result>& r) {
    Txn txn(store_);
    Batch ba, bb;
    FillWithIds(ba, ids_a);
    FillWithIds(bb, ids_b);
    EXPECT_EST_OK(txn.Append(a, ba, &at1));
    EXPECT_EST_OK(txn.Append(b, bb, &none));
    return est_txn_commit(txn.get(), r.data(), r.size());
  };
  std::vector<est_append_result> first = Results(2), again = Results(2);
  ASSERT_EST_OK(run(first));
  const std::vector<Event> after_first = Everything();
  ASSERT_EST_OK(run(again));
  EXPECT_EQ(Everything(), after_first);
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(first[i].flags, 0u);
    EXPECT_EQ(again[i].flags, EST_APPEND_DUPLICATE);
    EXPECT_EQ(again[i].first_version, first[i].first_version);
    EXPECT_EQ(again[i].last_version, first[i].last_version);
    EXPECT_EQ(again[i].first_position, first[i].first_position);
    EXPECT_EQ(again[i].last_position, first[i].last_position);
    EXPECT_EQ(again[i].actual_version, first[i].actual_version);
  }
  std::vector<Event> eb = ReadStream(store_, b).events;
  ASSERT_EQ(eb.size(), 3u);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(eb[i].id, ids_b[i]);
}

TEST_P(TxnTest, APartlyDuplicateTransactionWritesOnlyTheNewAppends) {
  const std::string a = NewStreamId(), b = NewStreamId();
  const std::vector<est_uuid> ids_a = NewIds(2);
  {
    Batch ba;
    FillWithIds(ba, ids_a);
    ASSERT_EST_OK(est_append_batch(store_, a.c_str(), ba.get(), nullptr, nullptr, nullptr));
  }
  Txn txn(store_);
  Batch ba, bb;
  FillWithIds(ba, ids_a);
  Fill(bb, 2, "b");
  est_append_options none = ExpectNoStream();
  ASSERT_EST_OK(txn.Append(a, ba, &none));
  ASSERT_EST_OK(txn.Append(b, bb, &none));
  std::vector<est_append_result> r = Results(2);
  ASSERT_EST_OK(est_txn_commit(txn.get(), r.data(), r.size()));
  EXPECT_EQ(r[0].flags, EST_APPEND_DUPLICATE);
  EXPECT_EQ(r[1].flags, 0u);
  EXPECT_EQ(ReadStream(store_, a).events.size(), 2u);
  std::vector<Event> eb = ReadStream(store_, b).events;
  ASSERT_EQ(eb.size(), 2u);
  if (HasGlobalOrder()) {
    EXPECT_EQ(eb[0].global_position, r[1].first_position);
  }
}

TEST_P(TxnTest, CommittedTransactionsSurviveAReopenWhole) {
  if (!GetParam().persistent) GTEST_SKIP() << "not persistent";
  const std::string a = NewStreamId(), b = NewStreamId();
  Txn txn(store_);
  Batch ba, bb, ba2;
  Fill(ba, 2, "a");
  Fill(bb, 1, "b");
  Fill(ba2, 1, "z");
  ASSERT_EST_OK(txn.Append(a, ba));
  ASSERT_EST_OK(txn.Append(b, bb));
  ASSERT_EST_OK(txn.Append(a, ba2));
  ASSERT_EST_OK(est_txn_commit(txn.get(), nullptr, 0));
  const std::vector<Event> before = Everything();
  ReopenStore();
  EXPECT_EQ(Everything(), before);
  EXPECT_EQ(Versions(ReadStream(store_, a).events), Range(1, 3));
  // Appending continues after it.
  AppendOutcome next = Append(store_, a, SimpleBatch(1));
  ASSERT_EST_OK(next.status);
  EXPECT_EQ(next.result.first_version, 4);
}

// A read-only handle on the same file store (what another process opens)
// catches up with a committed transaction whole, and a compaction keeps
// what is live of it.
TEST_P(TxnTest, AReadOnlyReaderSeesAWholeTransactionAndCompactionKeepsItsLiveParts) {
  if (GetParam().name != "file") GTEST_SKIP() << "read-only opens and compaction are the file store's";
  const std::string a = NewStreamId(), b = NewStreamId(), c = NewStreamId();
  est_store_options ro = EST_STORE_OPTIONS_INIT;
  ro.read_only = 1;
  est_store* reader = nullptr;
  AppendN(store_, c, 1);  // the store exists before the reader opens
  ASSERT_EST_OK(est_store_open(uri_.c_str(), &ro, &reader));
  {
    Txn txn(store_);
    Batch ba, bb, bc;
    Fill(ba, 3, "a");
    Fill(bb, 2, "b");
    Fill(bc, 1, "c");
    ASSERT_EST_OK(txn.Append(a, ba));
    ASSERT_EST_OK(txn.Append(b, bb));
    ASSERT_EST_OK(txn.Append(c, bc));
    ASSERT_EST_OK(est_txn_commit(txn.get(), nullptr, 0));
  }
  EXPECT_EQ(ReadAll(reader).events, Everything()) << "the reader sees the whole transaction";
  EXPECT_EQ(ReadStream(reader, b).events.size(), 2u);
  est_store_close(reader);

  // Truncate part of the transaction, compact, reopen: the rest is there.
  ASSERT_EST_OK(est_delete_stream(store_, a.c_str(), 2));
  ASSERT_EST_OK(est_delete_stream(store_, b.c_str(), 0));
  const std::vector<Event> live = Everything();
  ASSERT_EST_OK(est_store_compact(store_, nullptr, nullptr, nullptr));
  EXPECT_EQ(Everything(), live);
  ReopenStore();
  EXPECT_EQ(Everything(), live);
  EXPECT_EQ(Versions(ReadStream(store_, a).events), Range(3, 3));
  EXPECT_EQ(ReadStream(store_, b).status, EST_ERR_NOT_FOUND);
  EXPECT_EQ(Versions(ReadStream(store_, c).events), Range(1, 2));
  EXPECT_EST_OK(est_store_verify(store_, nullptr, nullptr, nullptr));
}

}  // namespace
}  // namespace estoria::acceptance

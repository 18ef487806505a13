// Tests of the PostgreSQL store's following and paged reads against the
// throwaway server of run_pg_tests.sh (ESTORIA_TEST_PG; skipped without it):
// commit notifications across connections, a listener whose backend is
// terminated mid-stream, close while listening; reads of many pages against
// a model, as snapshots, after close, and within one page of client memory.
#include <libpq-fe.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/id/uuid.h"
#include "core/pgstore/pg_cursor.h"
#include "core/pgstore/pg_listener.h"
#include "core/pgstore/pg_store.h"
#include "core/store/event_store.h"
#include "core/store/writable_batch.h"
#include "gtest/gtest.h"
#include "schema/estoria_generated.h"

namespace estoria::core {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

std::string Base() {
  const char* base = std::getenv("ESTORIA_TEST_PG");
  return base == nullptr ? std::string() : std::string(base);
}

std::string FreshSchema() { return "follow_" + FormatUuid(*NewUuidV4()).substr(0, 8); }

std::string UriFor(const std::string& schema, const std::string& extra = "") {
  return Base() + "&schema=" + schema + "&pool_size=4" + extra;
}

Id NewId() { return Id{"account", *NewUuidV4()}; }

WritableBatch Events(int n, const std::string& prefix = "e") {
  BatchBuilder b;
  for (int i = 1; i <= n; ++i) {
    const std::string data = prefix + std::to_string(i);
    EXPECT_TRUE(b.Add("deposited", {reinterpret_cast<const uint8_t*>(data.data()), data.size()}, "text/plain").ok());
  }
  return *b.Build();
}

struct Read {
  std::string stream;
  int64_t version, position;
  std::string data;
  bool operator==(const Read& o) const {
    return stream == o.stream && version == o.version && position == o.position && data == o.data;
  }
};

std::ostream& operator<<(std::ostream& os, const Read& r) {
  return os << r.stream << "@" << r.version << "#" << r.position << ":" << r.data;
}

Read FromView(const EventView& v) {
  const fb::Event* e = v.event();
  return {e->stream_type()->str(), e->stream_version(), e->global_position(),
          std::string(reinterpret_cast<const char*>(e->data()->data()), e->data()->size())};
}

// Reads everything, `chunk` views per Next.
std::vector<Read> Drain(EventIterator& it, size_t chunk = 3) {
  std::vector<Read> out;
  std::vector<EventView> views(chunk);
  for (;;) {
    absl::StatusOr<size_t> n = it.Next(absl::MakeSpan(views));
    EXPECT_TRUE(n.ok()) << n.status();
    if (!n.ok() || *n == 0) break;
    for (size_t i = 0; i < *n; ++i) out.push_back(FromView(views[i]));
  }
  return out;
}

std::vector<Read> Drain(absl::StatusOr<std::unique_ptr<EventIterator>> it) {
  EXPECT_TRUE(it.ok()) << it.status();
  if (!it.ok()) return {};
  return Drain(**it);
}

// An admin connection for what the store does not expose.
class Admin {
 public:
  Admin() : conn_(PQconnectdb(Base().c_str())) {}
  ~Admin() { PQfinish(conn_); }
  // The number of rows of `sql`'s result, -1 on error.
  int Rows(const std::string& sql) {
    PGresult* r = PQexec(conn_, sql.c_str());
    const int rows = PQresultStatus(r) == PGRES_TUPLES_OK ? PQntuples(r) : -1;
    PQclear(r);
    return rows;
  }
  int ListenerBackends(const std::string& schema) {
    return Rows("SELECT pid FROM pg_stat_activity WHERE application_name = '" +
                pgstore::PgListener::ApplicationName(schema) + "'");
  }
  // Waits (at most 10 s) until exactly one listening backend is there (a
  // terminated one may linger a moment; a reconnect takes its backoff),
  // then terminates it; the number terminated.
  int TerminateListener(const std::string& schema) {
    for (int i = 0; i < 500 && ListenerBackends(schema) != 1; ++i) std::this_thread::sleep_for(milliseconds(20));
    return Rows("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '" +
                pgstore::PgListener::ApplicationName(schema) + "'");
  }

 private:
  PGconn* conn_;
};

// Counts notifications; waits for them.
class Bell {
 public:
  CommitNotifier::Listener listener() {
    return [this] {
      std::lock_guard<std::mutex> lock(mu_);
      ++rings_;
      cv_.notify_all();
    };
  }
  int rings() {
    std::lock_guard<std::mutex> lock(mu_);
    return rings_;
  }
  // Waits until more than `seen` rings (at most `limit`); the count then.
  int WaitPast(int seen, milliseconds limit = milliseconds(10000)) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, limit, [&] { return rings_ > seen; });
    return rings_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int rings_ = 0;
};

class PgFollowTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (Base().empty()) GTEST_SKIP() << "ESTORIA_TEST_PG is not set (run through run_pg_tests.sh)";
  }
};

TEST_F(PgFollowTest, ListenerOnOneHandleHearsAppendsMadeThroughAnother) {
  const std::string schema = FreshSchema();
  auto follower = OpenStore(UriFor(schema), {});
  auto writer = OpenStore(UriFor(schema), {});
  ASSERT_TRUE(follower.ok() && writer.ok()) << follower.status() << writer.status();
  Bell bell;
  absl::StatusOr<uint64_t> token = (*follower)->commit_notifier().Add(bell.listener());
  ASSERT_TRUE(token.ok()) << token.status();
  Admin admin;
  EXPECT_EQ(admin.ListenerBackends(schema), 1) << "one dedicated listening connection";
  const int before = bell.rings();
  ASSERT_TRUE((*writer)->Append(NewId(), Events(2), {}, nullptr).ok());
  EXPECT_GT(bell.WaitPast(before), before) << "no notification of another connection's append";
  auto all = Drain((*follower)->ReadAll({}));
  EXPECT_EQ(all.size(), 2u) << "what woke the follower is readable";
  // After the last listener leaves, the listening connection goes.
  (*follower)->commit_notifier().Remove(*token);
  for (int i = 0; i < 100 && admin.ListenerBackends(schema) != 0; ++i) std::this_thread::sleep_for(milliseconds(20));
  EXPECT_EQ(admin.ListenerBackends(schema), 0);
}

TEST_F(PgFollowTest, TerminatedListenerReconnectsNotifiesAndAFollowerMissesNothing) {
  const std::string schema = FreshSchema();
  auto follower_store = OpenStore(UriFor(schema), {});
  auto writer = OpenStore(UriFor(schema), {});
  ASSERT_TRUE(follower_store.ok() && writer.ok());
  Bell bell;
  ASSERT_TRUE((*follower_store)->commit_notifier().Add(bell.listener()).ok());

  // The follower: woken only by notifications, re-reads from its own position.
  std::atomic<bool> stop{false};
  std::mutex seen_mu;
  std::vector<int64_t> seen;
  std::thread follower([&] {
    int rung = 0;
    int64_t position = 0;
    while (!stop.load()) {
      const int now = bell.WaitPast(rung, milliseconds(50));
      if (now == rung) continue;  // no notification: no read
      rung = now;
      auto it = (*follower_store)->ReadAll({position, 0});
      ASSERT_TRUE(it.ok()) << it.status();
      for (const Read& r : Drain(**it)) {
        std::lock_guard<std::mutex> lock(seen_mu);
        seen.push_back(r.position);
        position = r.position;
      }
    }
  });

  std::vector<int64_t> written;
  auto append = [&](int i) {
    auto r = (*writer)->Append(NewId(), Events(1 + i % 3), {}, nullptr);
    ASSERT_TRUE(r.ok()) << r.status();
    for (int64_t p = r->first_position; p <= r->last_position; ++p) written.push_back(p);
  };
  for (int i = 0; i < 30; ++i) append(i);

  // Terminated while quiet: once listening again it rings by itself.
  Admin admin;
  const int rung_before = bell.rings();
  ASSERT_EQ(admin.TerminateListener(schema), 1);
  EXPECT_GT(bell.WaitPast(rung_before), rung_before) << "no notification after the listener reconnected";
  for (int i = 0; i < 100 && admin.ListenerBackends(schema) != 1; ++i) std::this_thread::sleep_for(milliseconds(20));
  EXPECT_EQ(admin.ListenerBackends(schema), 1) << "the listener did not reconnect";

  // Terminated mid-stream, twice, while appends go on.
  for (int i = 30; i < 90; ++i) {
    append(i);
    if (i == 45 || i == 70) {
      EXPECT_EQ(admin.TerminateListener(schema), 1);
    }
  }
  // Everything arrives, in order, none twice, through notifications alone.
  const auto deadline = Clock::now() + std::chrono::seconds(20);
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(seen_mu);
      if (seen.size() >= written.size() || Clock::now() > deadline) break;
    }
    std::this_thread::sleep_for(milliseconds(10));
  }
  stop = true;
  follower.join();
  std::sort(written.begin(), written.end());
  EXPECT_EQ(seen, written);
}

TEST_F(PgFollowTest, CloseWhileListeningEndsTheListenerPromptly) {
  const std::string schema = FreshSchema();
  auto store = OpenStore(UriFor(schema), {});
  ASSERT_TRUE(store.ok());
  Bell bell;
  absl::StatusOr<uint64_t> token = (*store)->commit_notifier().Add(bell.listener());
  ASSERT_TRUE(token.ok());
  Admin admin;
  ASSERT_EQ(admin.ListenerBackends(schema), 1);
  const auto start = Clock::now();
  (*store)->Close();
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(2)) << "Close waited for the listener";
  for (int i = 0; i < 100 && admin.ListenerBackends(schema) != 0; ++i) std::this_thread::sleep_for(milliseconds(20));
  EXPECT_EQ(admin.ListenerBackends(schema), 0) << "the listening connection outlived Close";
  // Leaving after close is fine; a new listener cannot start.
  (*store)->commit_notifier().Remove(*token);
  EXPECT_EQ((*store)->commit_notifier().Add(bell.listener()).status().code(), absl::StatusCode::kFailedPrecondition);
}

// ------------------------------------------------------------ paged reads

class PgPagedReadTest : public PgFollowTest {};

TEST(PgPageSizeSetting, IsTakenFromTheUriAndBadValuesAreClearErrors) {
  absl::StatusOr<PgStoreOptions> options = ParsePgUri("postgresql:///db?host=/tmp&page_size=7&user=u");
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->page_size, 7);
  EXPECT_EQ(options->conninfo, "postgresql:///db?host=/tmp&user=u") << "page_size is ours, not libpq's";
  EXPECT_EQ(ParsePgUri("postgresql:///db").value().page_size, 1000);
  for (const char* bad : {"postgresql:///db?page_size=0", "postgresql:///db?page_size=x",
                          "postgresql:///db?page_size=1000001", "postgresql:///db?page_size="}) {
    absl::Status s = ParsePgUri(bad).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(s.message().find("page_size"), std::string::npos) << s;
  }
}

TEST_F(PgPagedReadTest, ReadsOfManyPagesReturnExactlyWhatTheModelSays) {
  auto store = OpenStore(UriFor(FreshSchema(), "&page_size=7"), {});
  ASSERT_TRUE(store.ok()) << store.status();
  const Id streams[3] = {NewId(), NewId(), NewId()};
  std::map<std::string, std::vector<Read>> by_stream;
  std::vector<Read> all;
  for (int i = 0; i < 40; ++i) {
    const Id& id = streams[i % 3];
    const int n = 1 + i % 4;
    const std::string tag = "b" + std::to_string(i) + "-";
    auto r = (*store)->Append(id, Events(n, tag), {}, nullptr);
    ASSERT_TRUE(r.ok()) << r.status();
    for (int k = 0; k < n; ++k) {
      Read e{"account", r->first_version + k, r->first_position + k, tag + std::to_string(k + 1)};
      by_stream[id.ToString()].push_back(e);
      all.push_back(e);
    }
  }
  std::sort(all.begin(), all.end(), [](const Read& a, const Read& b) { return a.position < b.position; });
  ASSERT_GT(all.size(), 70u);
  EXPECT_EQ(Drain((*store)->ReadAll({})), all);
  // A bound and a count inside, across pages.
  ReadAllOptions mid{all[10].position, 23};
  EXPECT_EQ(Drain((*store)->ReadAll(mid)), std::vector<Read>(all.begin() + 11, all.begin() + 34));
  EXPECT_TRUE(Drain((*store)->ReadAll({all.back().position, 0})).empty());
  for (const Id& id : streams) {
    const std::vector<Read>& model = by_stream[id.ToString()];
    ASSERT_GT(model.size(), 14u);
    EXPECT_EQ(Drain((*store)->ReadStream(id, {})), model);
    ReadOptions after;
    after.after_version = 3;
    after.count = 9;
    EXPECT_EQ(Drain((*store)->ReadStream(id, after)), std::vector<Read>(model.begin() + 3, model.begin() + 12));
    ReadOptions reverse;
    reverse.direction = Direction::kReverse;
    EXPECT_EQ(Drain((*store)->ReadStream(id, reverse)), std::vector<Read>(model.rbegin(), model.rend()));
    ReadOptions past;
    past.after_version = static_cast<int64_t>(model.size());
    EXPECT_TRUE(Drain((*store)->ReadStream(id, past)).empty()) << "past the tip: empty, not NOT_FOUND";
  }
  // A stream read that is exactly one page of events with the marker row.
  const Id six = NewId();
  ASSERT_TRUE((*store)->Append(six, Events(6), {}, nullptr).ok());
  EXPECT_EQ(Drain((*store)->ReadStream(six, {})).size(), 6u);
  EXPECT_EQ((*store)->ReadStream(NewId(), {}).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(PgPagedReadTest, IteratorsAreSnapshotsAcrossPages) {
  auto store = OpenStore(UriFor(FreshSchema(), "&page_size=5"), {});
  ASSERT_TRUE(store.ok());
  const Id stream = NewId();
  ASSERT_TRUE((*store)->Append(stream, Events(40), {}, nullptr).ok());
  auto by_stream = (*store)->ReadStream(stream, {});
  auto global = (*store)->ReadAll({});
  ASSERT_TRUE(by_stream.ok() && global.ok());
  // Deleted (and a newer append) after the iterators were made: they still
  // yield exactly the 40 events, page after page.
  ASSERT_TRUE((*store)->DeleteStream(stream, 0).ok());
  ASSERT_TRUE((*store)->Append(NewId(), Events(3), {}, nullptr).ok());
  std::vector<Read> a = Drain(**by_stream, 2);
  std::vector<Read> b = Drain(**global, 4);
  ASSERT_EQ(a.size(), 40u);
  EXPECT_EQ(a, b);
  for (int i = 0; i < 40; ++i) EXPECT_EQ(a[i].version, i + 1);
  EXPECT_EQ((*store)->ReadStream(stream, {}).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(Drain((*store)->ReadAll({})).size(), 3u);
}

TEST_F(PgPagedReadTest, IteratorsOutliveCloseAsClosedAndAreFreedInAnyOrder) {
  const std::string schema = FreshSchema();
  auto store = OpenStore(UriFor(schema, "&page_size=4"), {});
  ASSERT_TRUE(store.ok());
  const Id stream = NewId();
  ASSERT_TRUE((*store)->Append(stream, Events(30), {}, nullptr).ok());
  auto mid_stream = (*store)->ReadStream(stream, {});
  auto mid_global = (*store)->ReadAll({});
  auto unread = (*store)->ReadAll({});
  ASSERT_TRUE(mid_stream.ok() && mid_global.ok() && unread.ok());
  EventView views[3];
  ASSERT_EQ(*(*mid_stream)->Next(absl::MakeSpan(views)), 3u);
  ASSERT_EQ(*(*mid_global)->Next(absl::MakeSpan(views)), 3u);
  ASSERT_EQ(*(*mid_global)->Next(absl::MakeSpan(views)), 1u);  // the end of the first page
  (*store)->Close();
  EXPECT_EQ((*mid_stream)->Next(absl::MakeSpan(views)).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ((*mid_global)->Next(absl::MakeSpan(views)).status().code(), absl::StatusCode::kFailedPrecondition);
  store->reset();  // the store object goes first
  EXPECT_EQ((*unread)->Next(absl::MakeSpan(views)).status().code(), absl::StatusCode::kFailedPrecondition);
  mid_global->reset();
  unread->reset();
  mid_stream->reset();
  // Nothing the reads held is left on the server.
  Admin admin;
  for (int i = 0; i < 100 && admin.Rows("SELECT 1 FROM pg_stat_activity WHERE state LIKE 'idle in transaction%'") > 0;
       ++i) {
    std::this_thread::sleep_for(milliseconds(20));
  }
  EXPECT_EQ(admin.Rows("SELECT 1 FROM pg_stat_activity WHERE state LIKE 'idle in transaction%'"), 0);
}

TEST_F(PgPagedReadTest, AHundredThousandEventReadNeverHoldsMoreThanAPage) {
  auto store = OpenStore(UriFor(FreshSchema(), "&page_size=1000"), {});
  ASSERT_TRUE(store.ok());
  const Id stream = NewId();
  constexpr int kEvents = 100000;
  const WritableBatch batch = Events(5000);
  for (int i = 0; i < kEvents / 5000; ++i) ASSERT_TRUE((*store)->Append(stream, batch, {}, nullptr).ok());
  for (bool global : {true, false}) {
    SCOPED_TRACE(global ? "ReadAll" : "ReadStream");
    auto it = global ? (*store)->ReadAll({}) : (*store)->ReadStream(stream, {});
    ASSERT_TRUE(it.ok()) << it.status();
    auto* paged = dynamic_cast<pgstore::PagedIterator*>(it->get());
    ASSERT_NE(paged, nullptr) << "reads are paged";
    EXPECT_TRUE(paged->holds_connection());
    EventView views[256];
    int64_t events = 0, last = 0;
    size_t most = 0;
    for (;;) {
      absl::StatusOr<size_t> n = (*it)->Next(absl::MakeSpan(views));
      ASSERT_TRUE(n.ok()) << n.status();
      most = std::max(most, paged->events_held());
      if (*n == 0) break;
      for (size_t i = 0; i < *n; ++i) {
        const int64_t key = global ? views[i].position() : views[i].version();
        ASSERT_GT(key, last);
        last = key;
      }
      events += static_cast<int64_t>(*n);
    }
    EXPECT_EQ(events, kEvents);
    EXPECT_LE(most, 1000u);
    EXPECT_LE(paged->max_events_held(), 1000u) << "more than a page was held at once";
    EXPECT_EQ(paged->max_events_held(), 1000u);
    EXPECT_FALSE(paged->holds_connection()) << "the connection goes back once the last page came";
  }
}

}  // namespace
}  // namespace estoria::core

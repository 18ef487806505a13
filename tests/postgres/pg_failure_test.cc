// Tests of the PostgreSQL store that the backend-neutral acceptance suite
// cannot express: the server going away and coming back, SQL-breaking input
// stored verbatim, racing writers on several connections against the
// stable-prefix rule, and concurrent first opens. They drive the core
// directly and need the throwaway server of run_pg_tests.sh (ESTORIA_TEST_PG,
// ESTORIA_TEST_PG_STOP/START); without it they are skipped.
#include <libpq-fe.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "core/id/uuid.h"
#include "core/store/event_store.h"
#include "core/store/writable_batch.h"
#include "gtest/gtest.h"
#include "schema/estoria_generated.h"

namespace estoria::core {
namespace {

std::string Base() {
  const char* base = std::getenv("ESTORIA_TEST_PG");
  return base == nullptr ? std::string() : std::string(base);
}

std::string FreshUri(int pool = 4) {
  std::string suffix = FormatUuid(*NewUuidV4()).substr(0, 8);
  return Base() + "&schema=fail_" + suffix + "&pool_size=" + std::to_string(pool);
}

Id NewId(std::string type = "account") { return Id{std::move(type), *NewUuidV4()}; }

WritableBatch Events(int n, const std::string& prefix = "e") {
  BatchBuilder b;
  for (int i = 1; i <= n; ++i) {
    const std::string data = prefix + std::to_string(i);
    EXPECT_TRUE(b.Add("deposited", {reinterpret_cast<const uint8_t*>(data.data()), data.size()}, "text/plain").ok());
  }
  return *b.Build();
}

struct Read {
  int64_t version, position;
  std::string stream, data;
};

std::vector<Read> Drain(absl::StatusOr<std::unique_ptr<EventIterator>> it) {
  std::vector<Read> out;
  EXPECT_TRUE(it.ok()) << it.status();
  if (!it.ok()) return out;
  EventView views[64];
  for (;;) {
    absl::StatusOr<size_t> n = (*it)->Next(absl::MakeSpan(views));
    EXPECT_TRUE(n.ok()) << n.status();
    if (!n.ok() || *n == 0) break;
    for (size_t i = 0; i < *n; ++i) {
      const fb::Event* e = views[i].event();
      out.push_back({e->stream_version(), e->global_position(),
                     e->stream_type()->str(),
                     std::string(reinterpret_cast<const char*>(e->data()->data()), e->data()->size())});
    }
  }
  return out;
}

class PgStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (Base().empty()) GTEST_SKIP() << "ESTORIA_TEST_PG is not set (run through run_pg_tests.sh)";
  }
  static void Server(const char* what) {
    const char* cmd = std::getenv(what);
    ASSERT_NE(cmd, nullptr) << what << " is not set";
    ASSERT_EQ(std::system(cmd), 0) << what;
  }
};

TEST_F(PgStoreTest, ServerStoppedMidRunIsIoThenReconnectsAndKeepsAcknowledgedEvents) {
  auto store = OpenStore(FreshUri(), {});
  ASSERT_TRUE(store.ok()) << store.status();
  const Id stream = NewId();
  // Writers keep appending while the server stops and starts again.
  std::atomic<bool> stop{false};
  std::atomic<int> io_errors{0};
  std::vector<std::vector<std::string>> acked(3);
  std::vector<std::thread> writers;
  for (int w = 0; w < 3; ++w) {
    writers.emplace_back([&, w] {
      for (int i = 0; !stop.load(); ++i) {
        const std::string tag = "w" + std::to_string(w) + "-" + std::to_string(i) + "-";
        absl::StatusOr<AppendResult> r = (*store)->Append(stream, Events(2, tag), {}, nullptr);
        if (r.ok()) {
          acked[w].push_back(tag);
        } else {
          EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable) << r.status();
          ++io_errors;
          std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  Server("ESTORIA_TEST_PG_STOP");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  // While the server is down every call is a clear I/O failure.
  absl::StatusOr<std::unique_ptr<EventIterator>> down = (*store)->ReadStream(stream, {});
  EXPECT_EQ(down.status().code(), absl::StatusCode::kUnavailable) << down.status();
  EXPECT_EQ((*store)->Append(NewId(), Events(1), {}, nullptr).status().code(), absl::StatusCode::kUnavailable);
  Server("ESTORIA_TEST_PG_START");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  stop = true;
  for (auto& t : writers) t.join();
  EXPECT_GT(io_errors.load(), 0) << "the writers never saw the server go";

  // Calls work again on the same store handle, and every acknowledged
  // append is there, whole (an unacknowledged one may or may not be).
  std::vector<Read> events = Drain((*store)->ReadStream(stream, {}));
  std::map<std::string, int> seen;
  for (size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i].version, static_cast<int64_t>(i) + 1);
    ++seen[events[i].data.substr(0, events[i].data.size() - 1)];
  }
  size_t total = 0;
  for (const auto& tags : acked) {
    total += tags.size();
    for (const std::string& tag : tags) EXPECT_EQ(seen[tag], 2) << tag << " was acknowledged";
  }
  EXPECT_GT(total, 0u);
  for (const auto& [tag, count] : seen) EXPECT_EQ(count, 2) << tag << " is not whole";
  EXPECT_TRUE((*store)->Append(stream, Events(1), {}, nullptr).ok());
}

// A batch whose every event carries an ID ("retry-safe").
WritableBatch EventsWithIds(int n, const std::string& prefix, std::vector<Uuid>* ids) {
  BatchBuilder b;
  for (int i = 1; i <= n; ++i) {
    const std::string data = prefix + std::to_string(i);
    EXPECT_TRUE(b.Add("deposited", {reinterpret_cast<const uint8_t*>(data.data()), data.size()}, "text/plain").ok());
    ids->push_back(*NewUuidV7());
    EXPECT_TRUE(b.SetId(ids->back()).ok());
  }
  return *b.Build();
}

// The connection is cut while appends and transactions are in flight (the
// server stops: some COMMITs are sent and their reply lost, "may have
// committed"). Every writer retries each failed call with the same batch
// (same event IDs) and expectation until it succeeds: afterwards every
// append is there exactly once, and retries of a commit that had landed come
// back as duplicates with the original result.
TEST_F(PgStoreTest, RetryingAfterALostCommitReplyWritesEachAppendExactlyOnce) {
  auto store = OpenStore(FreshUri(), {});
  ASSERT_TRUE(store.ok()) << store.status();
  // Each writer its own streams: with EXPECT_ANY a retry is recognised only
  // while its events are still the stream's last ones (doc/data-model.md "Idempotent appends").
  std::vector<Id> singles, lefts, rights;
  for (int w = 0; w < 4; ++w) {
    singles.push_back(NewId());
    lefts.push_back(NewId());
    rights.push_back(NewId("order"));
  }
  std::atomic<bool> stop{false};
  std::atomic<int> io_errors{0}, duplicates{0};
  std::vector<std::vector<std::string>> acked(4);
  std::vector<std::thread> writers;
  for (int w = 0; w < 4; ++w) {
    writers.emplace_back([&, w] {
      for (int i = 0; !stop.load(); ++i) {
        const std::string tag = "w" + std::to_string(w) + "-" + std::to_string(i) + "-";
        std::vector<Uuid> ids;
        WritableBatch a = EventsWithIds(2, tag, &ids);
        WritableBatch b = EventsWithIds(1, tag, &ids);
        for (int attempt = 0;; ++attempt) {
          ASSERT_LT(attempt, 2000) << "never succeeded";
          bool duplicate = false;
          absl::Status status;
          if (w % 2 == 0) {  // a plain append
            absl::StatusOr<AppendResult> r = (*store)->Append(singles[w], a, {}, nullptr);
            status = r.status();
            duplicate = r.ok() && r->duplicate;
          } else {  // a transaction over two streams
            std::vector<StreamAppend> appends = {{lefts[w], &a, {}}, {rights[w], &b, {}}};
            std::vector<AppendResult> results;
            status = (*store)->AppendMany(appends, &results);
            duplicate = status.ok() && results[0].duplicate;
            if (status.ok()) {
              EXPECT_EQ(results[0].duplicate, results[1].duplicate);
            }
          }
          if (status.ok()) {
            if (duplicate) ++duplicates;
            break;
          }
          EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
          ++io_errors;
          std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        acked[w].push_back(tag);
      }
    });
  }
  for (int cut = 0; cut < 2; ++cut) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    Server("ESTORIA_TEST_PG_STOP");
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    Server("ESTORIA_TEST_PG_START");
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  stop = true;
  for (auto& t : writers) t.join();
  EXPECT_GT(io_errors.load(), 0) << "the writers never saw the connection cut";
  std::printf("lost-commit retries: %d I/O failures retried, %d retries found their append already committed\n",
              io_errors.load(), duplicates.load());


  std::map<std::string, int> seen;
  std::vector<Id> all;
  for (int w = 0; w < 4; ++w) {
    if (w % 2 == 0) {
      all.push_back(singles[w]);
    } else {
      all.push_back(lefts[w]);
      all.push_back(rights[w]);
    }
  }
  for (const Id& stream : all) {
    std::vector<Read> events = Drain((*store)->ReadStream(stream, {}));
    for (size_t i = 0; i < events.size(); ++i) {
      EXPECT_EQ(events[i].version, static_cast<int64_t>(i) + 1);
      ++seen[events[i].data.substr(0, events[i].data.size() - 1)];
    }
  }
  for (int w = 0; w < 4; ++w) {
    for (const std::string& tag : acked[w]) EXPECT_EQ(seen[tag], 3 - (w % 2 == 0 ? 1 : 0)) << tag << ": exactly once";
  }
  for (const auto& [tag, count] : seen) EXPECT_LE(count, 3) << tag << " was written twice";
}

// Runs one SQL statement on a connection of its own; fails the test if it fails.
void Admin(const std::string& sql) {
  PGconn* c = PQconnectdb(Base().c_str());
  ASSERT_EQ(PQstatus(c), CONNECTION_OK) << PQerrorMessage(c);
  PGresult* r = PQexec(c, sql.c_str());
  const ExecStatusType st = PQresultStatus(r);
  EXPECT_TRUE(st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) << sql << ": " << PQerrorMessage(c);
  PQclear(r);
  PQfinish(c);
}

// A store created before the events table had its stamp column (ABI 1.1):
// the next open adds the column and stamps the old rows from their records,
// so that reads as of a time cut them as they cut new ones
// (doc/data-model.md, "Reads as of a time").
TEST_F(PgStoreTest, AnOpenStampsRowsWrittenBeforeTheStampColumn) {
  const std::string uri = FreshUri();
  const std::string schema = uri.substr(uri.find("&schema=") + 8, 13);  // "fail_" and 8 hex digits
  const Id stream = NewId();
  constexpr int64_t kT0 = 1'700'000'000'000'000'000;
  {
    auto store = OpenStore(uri, {});
    ASSERT_TRUE(store.ok()) << store.status();
    BatchBuilder b;
    for (int64_t stamp : {kT0 + 1, kT0 + 3, kT0 + 2}) {
      ASSERT_TRUE(b.Add("deposited", {}, "").ok());
      ASSERT_TRUE(b.SetTimestamp(stamp).ok());
    }
    AppendOptions restore;
    restore.restore = true;
    ASSERT_TRUE((*store)->Append(stream, *b.Build(), restore, nullptr).ok());
    (*store)->Close();
  }
  Admin("ALTER TABLE \"" + schema + "\".events DROP COLUMN timestamp_ns");
  auto store = OpenStore(uri, {});
  ASSERT_TRUE(store.ok()) << store.status();
  ReadOptions as_of;
  as_of.until_timestamp_ns = kT0 + 2;
  std::vector<Read> events = Drain((*store)->ReadStream(stream, as_of));
  ASSERT_EQ(events.size(), 1u) << "version 2 is stamped later than the bound";
  as_of.until_timestamp_ns = kT0 + 3;
  EXPECT_EQ(Drain((*store)->ReadStream(stream, as_of)).size(), 3u);
  ReadAllOptions all;
  all.until_timestamp_ns = kT0 + 2;
  EXPECT_EQ(Drain((*store)->ReadAll(all)).size(), 1u);
}

// The reply of a COMMIT that did commit is lost, deterministically: with a
// synchronous standby that never comes, COMMIT writes its record and then
// waits for the standby; the backend is terminated in that wait (the
// transaction has committed locally, the client hears only that the
// connection is gone: "may have committed"). The same call retried with
// the same event IDs then writes nothing and returns the original result,
// for a plain append and for a transaction.
TEST_F(PgStoreTest, ACommitWhoseReplyWasLostIsADuplicateWhenRetried) {
  auto store = OpenStore(FreshUri(), {});
  ASSERT_TRUE(store.ok()) << store.status();
  const Id single = NewId(), left = NewId(), right = NewId("order");
  std::vector<Uuid> ids;
  WritableBatch a = EventsWithIds(2, "a", &ids);
  WritableBatch b = EventsWithIds(1, "b", &ids);
  AppendOptions none;
  none.expect = Expect::kNoStream;
  std::vector<StreamAppend> txn = {{left, &a, none}, {right, &b, none}};

  Admin("ALTER SYSTEM SET synchronous_standby_names = 'never_there'");
  Admin("ALTER SYSTEM SET synchronous_commit = 'on'");  // the test server runs with it off
  Admin("SELECT pg_reload_conf()");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  std::atomic<bool> stop{false};
  std::atomic<int> cut{0};
  std::thread killer([&] {
    PGconn* c = PQconnectdb(Base().c_str());
    while (!stop.load()) {
      PGresult* r = PQexec(c,
                           "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                           "WHERE wait_event = 'SyncRep' AND pid <> pg_backend_pid()");
      if (PQresultStatus(r) == PGRES_TUPLES_OK) cut += PQntuples(r);
      PQclear(r);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    PQfinish(c);
  });
  absl::StatusOr<AppendResult> lost = (*store)->Append(single, a, none, nullptr);
  std::vector<AppendResult> lost_txn;
  absl::Status lost_txn_status = (*store)->AppendMany(txn, &lost_txn);
  stop = true;
  killer.join();
  Admin("ALTER SYSTEM RESET synchronous_standby_names");
  Admin("ALTER SYSTEM RESET synchronous_commit");
  Admin("SELECT pg_reload_conf()");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ASSERT_GE(cut.load(), 2) << "no COMMIT was cut in its wait";
  EXPECT_EQ(lost.status().code(), absl::StatusCode::kUnavailable) << lost.status();
  EXPECT_TRUE(absl::StrContains(lost.status().message(), "may have committed")) << lost.status();
  EXPECT_EQ(lost_txn_status.code(), absl::StatusCode::kUnavailable) << lost_txn_status;

  // The retries: duplicates, nothing written twice.
  absl::StatusOr<AppendResult> again = (*store)->Append(single, a, none, nullptr);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(again->duplicate);
  EXPECT_EQ(again->first_version, 1);
  EXPECT_EQ(again->last_version, 2);
  std::vector<AppendResult> again_txn;
  ASSERT_TRUE((*store)->AppendMany(txn, &again_txn).ok());
  EXPECT_TRUE(again_txn[0].duplicate);
  EXPECT_TRUE(again_txn[1].duplicate);
  EXPECT_EQ(again_txn[1].first_position, again_txn[0].last_position + 1) << "the original transaction's positions";
  EXPECT_EQ(Drain((*store)->ReadStream(single, {})).size(), 2u);
  EXPECT_EQ(Drain((*store)->ReadStream(left, {})).size(), 2u);
  EXPECT_EQ(Drain((*store)->ReadStream(right, {})).size(), 1u);
}

TEST_F(PgStoreTest, SqlBreakingIdsMetadataAndContentTypesAreStoredVerbatim) {
  const std::string uri = FreshUri();
  auto store = OpenStore(uri, {});
  ASSERT_TRUE(store.ok()) << store.status();
  const Id stream = NewId("x'); DROP TABLE events; --\\\"$1 ");
  const std::string meta = "{\"b\": 1, \"a\": \"\\u0000\"}'; DELETE FROM streams; --";
  const std::string content_type = "text/x'\";--$2::bytea";
  BatchBuilder b;
  const std::string data = std::string("\0'\\x00\"", 7);
  ASSERT_TRUE(b.Add("ev'ent\\", {reinterpret_cast<const uint8_t*>(data.data()), data.size()}, content_type).ok());
  ASSERT_TRUE(b.AddMetadata("k'; --", meta).ok());
  ASSERT_TRUE(b.AddMetadata("z\\", "%s%n\"").ok());
  auto batch = b.Build();
  ASSERT_TRUE(batch.ok());
  ASSERT_TRUE((*store)->Append(stream, *batch, {}, nullptr).ok());
  ASSERT_TRUE((*store)->WriteSnapshot(stream, 1, {reinterpret_cast<const uint8_t*>(data.data()), data.size()},
                                      content_type, 0).ok());

  (*store)->Close();
  store = OpenStore(uri, {});
  ASSERT_TRUE(store.ok()) << store.status();
  auto it = (*store)->ReadStream(stream, {});
  ASSERT_TRUE(it.ok()) << it.status();
  EventView view;
  ASSERT_EQ(*(*it)->Next({&view, 1}), 1u);
  const fb::Event* e = view.event();
  EXPECT_EQ(e->stream_type()->str(), stream.type);
  EXPECT_EQ(e->type()->str(), "ev'ent\\");
  EXPECT_EQ(e->content_type()->str(), content_type);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(e->data()->data()), e->data()->size()), data);
  ASSERT_EQ(e->metadata()->size(), 2u);
  EXPECT_EQ(e->metadata()->Get(0)->key()->str(), "k'; --");
  EXPECT_EQ(e->metadata()->Get(0)->value()->str(), meta);
  EXPECT_EQ(e->metadata()->Get(1)->value()->str(), "%s%n\"");
  auto snap = (*store)->ReadSnapshot(stream, 0);
  ASSERT_TRUE(snap.ok()) << snap.status();
  EXPECT_EQ(std::string_view((*snap)->data), data);
  EXPECT_EQ((*snap)->content_type, content_type);
  auto listed = (*store)->ListStreams("", 10);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].id, stream);
  EXPECT_EQ((*store)->Stats()->events, 1) << "nothing was dropped or deleted";
}

TEST_F(PgStoreTest, RacingWritersOnManyConnectionsKeepTheStablePrefix) {
  auto store = OpenStore(FreshUri(8), {});
  ASSERT_TRUE(store.ok()) << store.status();
  const Id shared = NewId();
  std::atomic<bool> done{false};
  std::vector<std::thread> writers;
  std::vector<std::vector<int64_t>> positions(6);
  std::atomic<int64_t> shared_events{0};
  for (int w = 0; w < 6; ++w) {
    writers.emplace_back([&, w] {
      const Id own = NewId();
      for (int i = 0; i < 40; ++i) {
        auto r = (*store)->Append(i % 2 == 0 ? own : shared, Events(1 + i % 3), {}, nullptr);
        ASSERT_TRUE(r.ok()) << r.status();
        if (i % 2 != 0) shared_events += 1 + i % 3;
        for (int64_t p = r->first_position; p <= r->last_position; ++p) positions[w].push_back(p);
      }
    });
  }
  // A reader checks that each global read extends the previous one: once a
  // position is visible, nothing new appears at or below it.
  std::thread reader([&] {
    std::vector<Read> previous;
    while (!done.load()) {
      std::vector<Read> now = Drain((*store)->ReadAll({}));
      for (size_t i = 1; i < now.size(); ++i) ASSERT_LT(now[i - 1].position, now[i].position);
      ASSERT_GE(now.size(), previous.size());
      for (size_t i = 0; i < previous.size(); ++i) {
        ASSERT_EQ(now[i].position, previous[i].position) << "an event appeared below a visible position";
      }
      previous = std::move(now);
    }
  });
  for (auto& t : writers) t.join();
  done = true;
  reader.join();
  // Once every writer is done, everything is visible, at the positions the
  // appends reported.
  std::vector<Read> all = Drain((*store)->ReadAll({}));
  std::vector<int64_t> expected;
  for (const auto& p : positions) expected.insert(expected.end(), p.begin(), p.end());
  std::sort(expected.begin(), expected.end());
  std::vector<int64_t> got;
  for (const Read& r : all) got.push_back(r.position);
  EXPECT_EQ(got, expected);
  EXPECT_EQ(static_cast<int64_t>(Drain((*store)->ReadStream(shared, {})).size()), shared_events.load());
}

TEST_F(PgStoreTest, ConcurrentFirstOpensOfOneSchemaAllSucceed) {
  const std::string uri = FreshUri(1);
  std::vector<std::thread> openers;
  std::atomic<int> ok{0};
  for (int i = 0; i < 8; ++i) {
    openers.emplace_back([&] {
      auto store = OpenStore(uri, {});
      EXPECT_TRUE(store.ok()) << store.status();
      if (store.ok() && (*store)->Append(NewId(), Events(1), {}, nullptr).ok()) ++ok;
    });
  }
  for (auto& t : openers) t.join();
  EXPECT_EQ(ok.load(), 8);
}

TEST_F(PgStoreTest, ConflictingWritersOnOneNewStreamGetOneWinnerAndMismatches) {
  auto store = OpenStore(FreshUri(8), {});
  ASSERT_TRUE(store.ok()) << store.status();
  const Id stream = NewId();
  std::atomic<int> won{0}, mismatched{0};
  std::vector<std::thread> writers;
  for (int i = 0; i < 8; ++i) {
    writers.emplace_back([&] {
      AppendOptions no_stream;
      no_stream.expect = Expect::kNoStream;
      auto r = (*store)->Append(stream, Events(2), no_stream, nullptr);
      if (r.ok()) {
        ++won;
      } else {
        EXPECT_EQ(r.status().code(), absl::StatusCode::kAborted) << r.status();
        ++mismatched;
      }
    });
  }
  for (auto& t : writers) t.join();
  EXPECT_EQ(won.load(), 1);
  EXPECT_EQ(mismatched.load(), 7);
  EXPECT_EQ(Drain((*store)->ReadStream(stream, {})).size(), 2u);
}

}  // namespace
}  // namespace estoria::core

// pg_store_bench: the PostgreSQL store against the schema and statements of
// Estoria's own PostgreSQL event store (go-estoria/estoria-contrib,
// postgres/eventstore, default strategy), the same workloads in one run
// against the same server. Run it through the throwaway durable server:
//
//   tests/postgres/run_pg_tests.sh --durable build/release/bench/pg_store_bench
//
// (fsync and synchronous_commit on). It prints one line per workload:
//   WORKLOAD  estoria N/s  estoria_schema M/s  ratio N/M
// Workloads (each runs for a fixed wall time, default 3 s; argv[1] overrides):
//   durable_append/threads:{1,4,16}  one event per append, every thread its own
//       stream and its own connection, durable on return (events/s)
//   bulk_append_100                  100-event appends from one thread (events/s)
//   read_stream_1000                 whole reads of a 1,000-event stream (events/s)
//   read_all_10000                   global reads of 10,000 events (events/s)
// Reads are paged (1,000 events a page, the default): the store's reads
// never hold a whole result in client memory, the peer's do.
// Then one line of our own (the peer has no notifications):
//   commit_notify                    a one-event append on one store handle
//       while a CommitNotifier listener waits on another (its own LISTEN
//       connection): p50 and p99 of the append alone and of the append's
//       start to the listener's wake, in microseconds; their difference is
//       what the notification adds after the commit
// The peer, as Estoria's Go store does it: per append, BEGIN; upsert the
// stream row; bump its last_offset; take positions from a one-row global
// allocator (UPDATE ... RETURNING, which serializes every append); one INSERT
// per event (uuid, text, timestamptz, bytea); COMMIT. Reads select the
// columns and scan them. Both sides get prepared statements and binary
// results. Every event: a 100-byte payload, type "deposited", content type
// "application/octet-stream", two metadata pairs (the peer's schema has no
// metadata or content type column; it stores less).
#include <libpq-fe.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/id/uuid.h"
#include "core/store/event_store.h"
#include "core/store/writable_batch.h"

namespace {

using estoria::core::Id;
using Clock = std::chrono::steady_clock;

double g_seconds = 3.0;

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "pg_store_bench: %s\n", what.c_str());
  std::exit(1);
}

estoria::core::WritableBatch Batch(int n) {
  estoria::core::BatchBuilder b;
  const std::string payload(100, 'x');
  for (int i = 0; i < n; ++i) {
    if (!b.Add("deposited", {reinterpret_cast<const uint8_t*>(payload.data()), payload.size()},
               "application/octet-stream").ok() ||
        !b.AddMetadata("correlation_id", "c-0123456789").ok() || !b.AddMetadata("user", "alice").ok()) {
      Die("building a batch");
    }
  }
  return *b.Build();
}

Id NewId() { return Id{"account", *estoria::core::NewUuidV4()}; }

// Runs `body(thread)` in `threads` threads for g_seconds; each call returns
// the events it did. Returns events/s.
template <typename Fn>
double Run(int threads, Fn body) {
  std::atomic<bool> stop{false};
  std::atomic<int64_t> total{0};
  std::vector<std::thread> pool;
  const auto start = Clock::now();
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      int64_t mine = 0;
      auto state = body.Setup(t);
      while (!stop.load(std::memory_order_relaxed)) mine += body.Step(state);
      total += mine;
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(g_seconds));
  stop = true;
  for (auto& t : pool) t.join();
  const double secs = std::chrono::duration<double>(Clock::now() - start).count();
  return static_cast<double>(total.load()) / secs;
}

// ------------------------------------------------------------- the peer

PGconn* Connect(const std::string& conninfo) {
  PGconn* c = PQconnectdb(conninfo.c_str());
  if (PQstatus(c) != CONNECTION_OK) Die(PQerrorMessage(c));
  return c;
}

void Exec(PGconn* c, const char* sql) {
  PGresult* r = PQexec(c, sql);
  const ExecStatusType st = PQresultStatus(r);
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) Die(std::string(sql) + ": " + PQerrorMessage(c));
  PQclear(r);
}

// Prepared statement execution with text parameters (as database/sql sends
// them) and binary results.
void Run(PGconn* c, const char* name, std::vector<std::string> params) {
  std::vector<const char*> values;
  for (auto& p : params) values.push_back(p.c_str());
  PGresult* r = PQexecPrepared(c, name, static_cast<int>(values.size()), values.data(), nullptr, nullptr, 1);
  const ExecStatusType st = PQresultStatus(r);
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) Die(std::string(name) + ": " + PQerrorMessage(c));
  PQclear(r);
}

const char* const kPeerSchema =
    "DROP SCHEMA IF EXISTS peer CASCADE; CREATE SCHEMA peer;"
    "CREATE TABLE peer.event (id bigserial PRIMARY KEY, global_position bigint NOT NULL, "
    "stream_id uuid NOT NULL, stream_type varchar(255) NOT NULL, event_id uuid NOT NULL, "
    "event_type varchar(255) NOT NULL, timestamp timestamptz NOT NULL, stream_offset bigint NOT NULL, "
    "data bytea, UNIQUE (stream_id, stream_type, stream_offset), CHECK (stream_offset > 0));"
    "CREATE INDEX ON peer.event (global_position);"
    "CREATE TABLE peer.stream (stream_type varchar(255) NOT NULL, stream_id uuid NOT NULL, "
    "last_offset bigint NOT NULL DEFAULT 0, PRIMARY KEY (stream_type, stream_id));"
    "CREATE TABLE peer.global_position (id int PRIMARY KEY, last bigint NOT NULL);"
    "INSERT INTO peer.global_position VALUES (1, 0);";

void PreparePeer(PGconn* c) {
  struct {
    const char* name;
    const char* sql;
  } const stmts[] = {
      {"upsert", "INSERT INTO peer.stream (stream_type, stream_id, last_offset) VALUES ($1, $2, 0) "
                 "ON CONFLICT (stream_type, stream_id) DO NOTHING"},
      {"bump", "UPDATE peer.stream SET last_offset = last_offset + $3 WHERE stream_type = $1 AND stream_id = $2 "
               "RETURNING last_offset"},
      {"alloc", "UPDATE peer.global_position SET last = last + $1 WHERE id = 1 RETURNING last"},
      {"insert", "INSERT INTO peer.event (global_position, event_id, stream_type, stream_id, event_type, "
                 "timestamp, stream_offset, data) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"},
      {"read", "SELECT stream_id, stream_type, event_id, event_type, timestamp, stream_offset, global_position, "
               "data FROM peer.event WHERE stream_type = $1 AND stream_id = $2 ORDER BY stream_offset"},
      {"read_all", "SELECT stream_id, stream_type, event_id, event_type, timestamp, stream_offset, "
                   "global_position, data FROM peer.event WHERE global_position > $1 ORDER BY global_position "
                   "LIMIT $2"},
  };
  for (const auto& s : stmts) {
    PGresult* r = PQprepare(c, s.name, s.sql, 0, nullptr);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) Die(std::string(s.name) + ": " + PQerrorMessage(c));
    PQclear(r);
  }
}

std::string Uuid() { return estoria::core::FormatUuid(*estoria::core::NewUuidV4()); }

// One append of n events, as the peer does it; returns n.
int64_t PeerAppend(PGconn* c, const std::string& stream, int n) {
  static const std::string payload = "\\x" + std::string(200, '7');  // 100 bytes, bytea hex text
  Exec(c, "BEGIN");
  Run(c, "upsert", {"account", stream});
  PGresult* r = PQexecPrepared(c, "bump", 3,
                               std::vector<const char*>{"account", stream.c_str(), std::to_string(n).c_str()}.data(),
                               nullptr, nullptr, 0);
  const long last_offset = std::atol(PQgetvalue(r, 0, 0));
  PQclear(r);
  const std::string count = std::to_string(n);
  const char* alloc_params[] = {count.c_str()};
  r = PQexecPrepared(c, "alloc", 1, alloc_params, nullptr, nullptr, 0);
  if (PQresultStatus(r) != PGRES_TUPLES_OK) Die(PQerrorMessage(c));
  const long last_position = std::atol(PQgetvalue(r, 0, 0));
  PQclear(r);
  for (int i = 0; i < n; ++i) {
    Run(c, "insert",
        {std::to_string(last_position - n + 1 + i), Uuid(), "account", stream, "deposited",
         "2026-01-01 00:00:00.123456+00", std::to_string(last_offset - n + 1 + i), payload});
  }
  Exec(c, "COMMIT");
  return n;
}

int64_t PeerRead(PGconn* c, const char* stmt, std::vector<std::string> params) {
  std::vector<const char*> values;
  for (auto& p : params) values.push_back(p.c_str());
  PGresult* r = PQexecPrepared(c, stmt, static_cast<int>(values.size()), values.data(), nullptr, nullptr, 1);
  if (PQresultStatus(r) != PGRES_TUPLES_OK) Die(PQerrorMessage(c));
  const int rows = PQntuples(r);
  int64_t sum = 0;  // scan every column, as a row scan would
  for (int i = 0; i < rows; ++i) {
    for (int col = 0; col < 8; ++col) sum += PQgetlength(r, i, col);
  }
  PQclear(r);
  if (sum < 0) Die("impossible");
  return rows;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1) g_seconds = std::atof(argv[1]);
  const char* base_env = std::getenv("ESTORIA_TEST_PG");
  if (base_env == nullptr) Die("ESTORIA_TEST_PG is not set: run through tests/postgres/run_pg_tests.sh --durable");
  const std::string base = base_env;
  // libpq's own conninfo: the base URI as it is (it holds no estoria settings).
  auto opened = estoria::core::OpenStore(base + "&schema=bench&pool_size=16", {});
  if (!opened.ok()) Die(std::string(opened.status().message()));
  std::shared_ptr<estoria::core::EventStore> store = *opened;
  PGconn* admin = Connect(base);
  Exec(admin, "SET client_min_messages = warning");
  Exec(admin, kPeerSchema);
  {
    PGresult* r = PQexec(admin, "SHOW synchronous_commit");
    std::printf("# synchronous_commit=%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    r = PQexec(admin, "SHOW fsync");
    std::printf(" fsync=%s seconds_per_row=%.1f\n", PQgetvalue(r, 0, 0), g_seconds);
    PQclear(r);
  }
  const estoria::core::WritableBatch one = Batch(1);
  const estoria::core::WritableBatch hundred = Batch(100);

  auto line = [](const std::string& name, double ours, double peer) {
    std::printf("%-28s estoria %10.0f/s  estoria_schema %10.0f/s  ratio %5.2f\n", name.c_str(), ours, peer,
                ours / peer);
    std::fflush(stdout);
  };

  struct EstAppend {
    estoria::core::EventStore* store;
    const estoria::core::WritableBatch* batch;
    Id Setup(int) { return NewId(); }
    int64_t Step(const Id& id) {
      auto r = store->Append(id, *batch, {}, nullptr);
      if (!r.ok()) Die(std::string(r.status().message()));
      return static_cast<int64_t>(batch->event_count());
    }
  };
  struct PeerAppendBody {
    std::string conninfo;
    int n;
    struct State {
      std::unique_ptr<PGconn, void (*)(PGconn*)> c;
      std::string stream;
    };
    State Setup(int) {
      State s{{Connect(conninfo), PQfinish}, Uuid()};
      PreparePeer(s.c.get());
      return s;
    }
    int64_t Step(State& s) { return PeerAppend(s.c.get(), s.stream, n); }
  };

  for (int threads : {1, 4, 16}) {
    const double ours = Run(threads, EstAppend{store.get(), &one});
    const double peer = Run(threads, PeerAppendBody{base, 1});
    line("durable_append/threads:" + std::to_string(threads), ours, peer);
  }
  line("bulk_append_100", Run(1, EstAppend{store.get(), &hundred}), Run(1, PeerAppendBody{base, 100}));

  // Reads: one 1,000-event stream each, then global reads of 10,000 events.
  const Id stream = NewId();
  for (int i = 0; i < 10; ++i) {
    if (!store->Append(stream, hundred, {}, nullptr).ok()) Die("filling the stream");
  }
  PGconn* reader = Connect(base);
  PreparePeer(reader);
  const std::string peer_stream = Uuid();
  for (int i = 0; i < 10; ++i) PeerAppend(reader, peer_stream, 100);

  struct EstRead {
    estoria::core::EventStore* store;
    Id stream;
    bool all;
    int Setup(int) { return 0; }
    int64_t Step(int) {
      estoria::core::ReadAllOptions all_options;
      all_options.count = 10000;
      auto it = all ? store->ReadAll(all_options) : store->ReadStream(stream, {});
      if (!it.ok()) Die(std::string(it.status().message()));
      estoria::core::EventView views[256];
      int64_t n = 0;
      for (;;) {
        auto got = (*it)->Next(absl::MakeSpan(views));
        if (!got.ok()) Die("next");
        if (*got == 0) break;
        for (size_t i = 0; i < *got; ++i) n += views[i].size > 0;
      }
      return n;
    }
  };
  struct PeerReadBody {
    PGconn* c;
    std::string stream;
    bool all;
    int Setup(int) { return 0; }
    int64_t Step(int) {
      return all ? PeerRead(c, "read_all", {"0", "10000"}) : PeerRead(c, "read", {"account", stream});
    }
  };
  line("read_stream_1000", Run(1, EstRead{store.get(), stream, false}), Run(1, PeerReadBody{reader, peer_stream, false}));
  line("read_all_10000", Run(1, EstRead{store.get(), stream, true}), Run(1, PeerReadBody{reader, peer_stream, true}));
  PQfinish(reader);

  // Commit to notification, one append at a time, for g_seconds.
  {
    auto follower = estoria::core::OpenStore(base + "&schema=bench&pool_size=2", {});
    if (!follower.ok()) Die(std::string(follower.status().message()));
    std::mutex mu;
    std::condition_variable cv;
    Clock::time_point woken{};
    auto token = (*follower)->commit_notifier().Add([&] {
      std::lock_guard<std::mutex> lock(mu);
      if (woken == Clock::time_point{}) woken = Clock::now();
      cv.notify_all();
    });
    if (!token.ok()) Die(std::string(token.status().message()));
    std::vector<double> append_us, wake_us;
    const Id id = NewId();
    const auto end = Clock::now() + std::chrono::duration<double>(g_seconds);
    while (Clock::now() < end) {
      {
        std::lock_guard<std::mutex> lock(mu);
        woken = Clock::time_point{};
      }
      const auto start = Clock::now();
      if (!store->Append(id, one, {}, nullptr).ok()) Die("append");
      const auto appended = Clock::now();
      std::unique_lock<std::mutex> lock(mu);
      if (!cv.wait_for(lock, std::chrono::seconds(5), [&] { return woken != Clock::time_point{}; })) {
        Die("no notification within 5 s");
      }
      append_us.push_back(std::chrono::duration<double, std::micro>(appended - start).count());
      wake_us.push_back(std::chrono::duration<double, std::micro>(woken - start).count());
    }
    (*follower)->commit_notifier().Remove(*token);
    auto pct = [](std::vector<double> v, double p) {
      std::sort(v.begin(), v.end());
      return v[static_cast<size_t>(p * static_cast<double>(v.size() - 1))];
    };
    std::printf("%-28s append p50 %7.0f us p99 %7.0f us  append_to_wake p50 %7.0f us p99 %7.0f us  (n=%zu)\n",
                "commit_notify", pct(append_us, 0.5), pct(append_us, 0.99), pct(wake_us, 0.5), pct(wake_us, 0.99),
                wake_us.size());
    (*follower)->Close();
  }
  PQfinish(admin);
  store->Close();
  return 0;
}

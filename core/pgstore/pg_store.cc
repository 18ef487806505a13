// PgStore: see pg_store.h for the layout, the position scheme and their
// reasons. Every statement is prepared once per connection and takes its
// values as binary parameters; the schema name, checked to be an identifier,
// is the only text ever spliced into SQL.
#include "core/pgstore/pg_store.h"

#include <libpq-fe.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <deque>
#include <limits>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "flatbuffers/flatbuffers.h"
#include "core/env/env.h"
#include "core/pgstore/pg_cursor.h"
#include "core/pgstore/pg_glue.h"
#include "core/pgstore/pg_listener.h"
#include "core/pgstore/pg_position.h"
#include "core/store/append_plan.h"
#include "core/store/as_of.h"
#include "core/store/event_record.h"
#include "core/store/snapshot_list.h"
#include "core/store/store_checks.h"
#include "core/util/mutex.h"
#include "core/util/status.h"
#include "schema/estoria_generated.h"

namespace estoria::core {
namespace {

using pgstore::GetBytes;
using pgstore::GetInt64;
using pgstore::IgnoreNotice;
using pgstore::IsUniqueViolation;
using pgstore::kPositionBits;
using pgstore::OneLine;
using pgstore::Params;
using pgstore::PgError;
using pgstore::PutBe32;
using pgstore::Result;

constexpr int kSchemaVersion = 1;
constexpr int kAppendAttempts = 8;  // retries of an append that lost a first-write race
constexpr int64_t kMaxInt64 = std::numeric_limits<int64_t>::max();

// ------------------------------------------------------------ statements

enum Stmt {
  kSerializeAppends,
  kLockStream,
  kInsertEvents,
  kReadForward,
  kReadReverse,
  kReadAll,
  kLockForDelete,
  kDeleteWhole,
  kTruncate,
  kWriteSnapshot,
  kReadSnapshot,
  kPruneSnapshots,
  kListStreams,
  kStats,
  kVerify,
  kVerifySnapshots,
  kSaveCheckpoint,
  kLoadCheckpoint,
  kDeleteCheckpoint,
  kListCheckpoints,
  kStmtCount
};

const char* StmtName(Stmt s) {
  static const char* const kNames[] = {"est_serialize", "est_lock", "est_insert", "est_read_fwd", "est_read_rev",
                                       "est_read_all", "est_lock_delete", "est_delete", "est_truncate", "est_snap_write",
                                       "est_snap_read", "est_snap_prune", "est_list", "est_stats",
                                       "est_verify", "est_verify_snaps", "est_ckpt_save", "est_ckpt_load",
                                       "est_ckpt_delete", "est_ckpt_list"};
  return kNames[s];
}

// The reads: each one query, one snapshot, run as one statement when the
// result fits in a page, else as a paged cursor (pg_cursor.h).
struct ReadSql {
  std::string forward, reverse, all;
};

ReadSql ReadSqlFor(const std::string& s) {
  ReadSql sql;
  // Reads as of a time (core/store/as_of.h): a stream read ends before the
  // stream's first event stamped later than $4 (0 = no bound), a global
  // read before the first one after $1 stamped later than $3. The CASE
  // keeps the sub-select (an init plan, run only when reached) out of reads
  // without a bound.
  const std::string stream_cut = absl::StrCat(
      "(CASE WHEN $4::int8 = 0 THEN 9223372036854775807 ELSE COALESCE((SELECT min(version) FROM ", s,
      ".events WHERE stream = $1::text AND timestamp_ns > $4::int8), 9223372036854775807) END)");
  const std::string all_cut = absl::StrCat(
      "(CASE WHEN $3::int8 = 0 THEN 9223372036854775807 ELSE COALESCE((SELECT min(position) FROM ", s,
      ".events WHERE position > $1::int8 AND timestamp_ns > $3::int8), 9223372036854775807) END)");
  // A marker row when the stream exists, then its records in order (Append
  // runs its branches in order): the existence check and the events in one
  // snapshot. Cheaper than a lateral join sorted again on the outside. The
  // marker counts the events to come (live versions are low+1 .. tip, no
  // gaps), so the reader knows its last page without asking for another.
  sql.forward = absl::StrCat(
      "SELECT NULL::bytea, GREATEST(LEAST(tip, ", stream_cut, " - 1) - GREATEST($2::int8, low), 0) FROM ", s,
      ".streams WHERE stream = $1::text UNION ALL "
      "(SELECT record, NULL::int8 FROM ", s, ".events WHERE stream = $1::text AND version > $2::int8 ",
      "AND version < ", stream_cut, " ORDER BY version LIMIT $3::int8)");
  sql.reverse = absl::StrCat(
      "SELECT NULL::bytea, GREATEST(LEAST($2::int8, tip, ", stream_cut, " - 1) - low, 0) FROM ", s,
      ".streams WHERE stream = $1::text UNION ALL "
      "(SELECT record, NULL::int8 FROM ", s, ".events WHERE stream = $1::text AND version <= $2::int8 ",
      "AND version < ", stream_cut, " ORDER BY version DESC LIMIT $3::int8)");
  // Only transactions below the snapshot's xmin: all of them have ended.
  sql.all = absl::StrCat("SELECT record FROM ", s, ".events WHERE position > $1::int8 AND position < ",
                         pgstore::kReadableFrontierSql, " AND position < ", all_cut,
                         " ORDER BY position LIMIT $2::int8");
  return sql;
}

// The SQL of every statement, with `S` (the quoted schema) spliced in.
std::vector<std::string> StatementsFor(const std::string& s) {
  std::vector<std::string> sql(kStmtCount);
  // Appends to one stream take turns on an advisory lock before anything
  // gives their transaction an id. Locking the stream's row (FOR UPDATE)
  // alone is not enough: a transaction gets its id before it waits for a
  // row lock, so a waiter could hold a lower id, and its events lower
  // positions, than the append it waited for: a stream's positions must
  // ascend with its versions.
  sql[kSerializeAppends] = "SELECT pg_advisory_xact_lock(hashtextextended($1::text, 0))";
  // The transaction id (assigned here, so positions are known before the
  // insert) and the stream's row, locked against deletions.
  sql[kLockStream] = absl::StrCat(
      "SELECT pg_current_xact_id()::text::int8, s.tip, s.low FROM (SELECT 1) AS one LEFT JOIN "
      "(SELECT tip, low FROM ", s, ".streams WHERE stream = $1::text FOR UPDATE) AS s ON true");
  // $4: the records as a bytea[]; versions and positions follow the array
  // ($3: the position before the first, (xid << kPositionBits) | offset).
  sql[kInsertEvents] = absl::StrCat(
      "WITH ins AS (INSERT INTO ", s, ".events (stream, version, position, record, timestamp_ns) "
      "SELECT $1::text, $2::int8 + t.i - 1, $3::int8 + t.i, t.r, t.ts "
      "FROM unnest($4::bytea[], $7::int8[]) WITH ORDINALITY AS t(r, ts, i) RETURNING 1) "
      "INSERT INTO ", s, ".streams (stream, tip, low) VALUES ($1::text, $5::int8, $6::int8) "
      "ON CONFLICT (stream) DO UPDATE SET tip = EXCLUDED.tip");
  const ReadSql reads = ReadSqlFor(s);
  sql[kReadForward] = reads.forward;
  sql[kReadReverse] = reads.reverse;
  sql[kReadAll] = reads.all;
  // Deletions run in a transaction that first locks the stream's row, so
  // that appends in flight have committed (or wait) and the deleting
  // statement's snapshot, taken after the lock, sees every event they wrote.
  sql[kLockForDelete] = absl::StrCat("SELECT tip FROM ", s, ".streams WHERE stream = $1::text FOR UPDATE");
  sql[kDeleteWhole] = absl::StrCat(
      "WITH ev AS (DELETE FROM ", s, ".events WHERE stream = $1::text), "
      "sn AS (DELETE FROM ", s, ".snapshots WHERE stream = $1::text) "
      "DELETE FROM ", s, ".streams WHERE stream = $1::text");
  sql[kTruncate] = absl::StrCat(
      "WITH ev AS (DELETE FROM ", s, ".events WHERE stream = $1::text AND version <= $2::int8), "
      "sn AS (DELETE FROM ", s, ".snapshots WHERE stream = $1::text AND version < $2::int8) "
      "UPDATE ", s, ".streams SET low = GREATEST(low, LEAST($2::int8, tip)) WHERE stream = $1::text");
  sql[kWriteSnapshot] = absl::StrCat("INSERT INTO ", s,
                                     ".snapshots (stream, version, timestamp_ns, data, content_type) "
                                     "VALUES ($1::text, $2::int8, $3::int8, $4::bytea, $5::text)");
  sql[kReadSnapshot] = absl::StrCat("SELECT version, timestamp_ns, data, content_type FROM ", s,
                                    ".snapshots WHERE stream = $1::text AND version <= $2::int8 "
                                    "ORDER BY version DESC, seq DESC LIMIT 1");
  sql[kPruneSnapshots] = absl::StrCat(
      "DELETE FROM ", s, ".snapshots WHERE stream = $1::text AND (version < $3::int8 OR seq NOT IN "
      "(SELECT seq FROM ", s, ".snapshots WHERE stream = $1::text ORDER BY version DESC, seq DESC "
      "LIMIT $2::int8))");
  sql[kListStreams] = absl::StrCat("SELECT stream, tip, tip - low FROM ", s,
                                   ".streams WHERE stream > ($1::text COLLATE \"C\") "
                                   "ORDER BY stream COLLATE \"C\" LIMIT $2::int8");
  sql[kStats] = absl::StrCat(
      "SELECT (SELECT count(*) FROM ", s, ".events), (SELECT count(*) FROM ", s, ".streams), ",
      "COALESCE((SELECT min(position) FROM ", s, ".events), 0), ",
      "COALESCE((SELECT max(position) FROM ", s, ".events), 0), ",
      "(SELECT count(*) FROM ", s, ".snapshots), ",
      "(SELECT COALESCE(sum(pg_total_relation_size(c.oid)), 0)::int8 FROM pg_class AS c "
      "JOIN pg_namespace AS n ON n.oid = c.relnamespace WHERE n.nspname = $1::text AND c.relkind = 'r')");
  sql[kVerify] = absl::StrCat("SELECT position, record FROM ", s, ".events ORDER BY position");
  sql[kVerifySnapshots] = absl::StrCat("SELECT count(*), COALESCE(sum(length(data) + length(content_type)), 0)::int8 FROM ",
                                       s, ".snapshots");
  // Projection checkpoints: updated_at from the server's clock at the
  // statement (clock_timestamp, microseconds), and always past the
  // projection's previous stamp, so that every save advances it even
  // within one clock tick (doc/data-model.md "Checkpoints").
  sql[kSaveCheckpoint] = absl::StrCat(
      "INSERT INTO ", s, ".checkpoints AS c (projection_id, position, updated_at_ns) "
      "VALUES ($1::text, $2::int8, (extract(epoch FROM clock_timestamp()) * 1000000000)::int8) "
      "ON CONFLICT (projection_id) DO UPDATE SET position = EXCLUDED.position, "
      "updated_at_ns = GREATEST(EXCLUDED.updated_at_ns, c.updated_at_ns + 1)");
  sql[kLoadCheckpoint] = absl::StrCat("SELECT position, updated_at_ns FROM ", s,
                                      ".checkpoints WHERE projection_id = $1::text");
  sql[kDeleteCheckpoint] = absl::StrCat("DELETE FROM ", s, ".checkpoints WHERE projection_id = $1::text RETURNING 1");
  sql[kListCheckpoints] = absl::StrCat("SELECT projection_id, position, updated_at_ns FROM ", s,
                                       ".checkpoints ORDER BY projection_id COLLATE \"C\"");
  return sql;
}

std::string SchemaSql(const std::string& s, const std::string& name) {
  return absl::StrCat(
      "BEGIN; SELECT pg_advisory_xact_lock(hashtext('estoria schema ' || '", name, "'));",
      "CREATE SCHEMA IF NOT EXISTS ", s, ";",
      "CREATE TABLE IF NOT EXISTS ", s, ".schema_version (version int PRIMARY KEY);",
      "CREATE TABLE IF NOT EXISTS ", s, ".streams (stream text COLLATE \"C\" PRIMARY KEY, ",
      "tip bigint NOT NULL, low bigint NOT NULL);",
      "CREATE TABLE IF NOT EXISTS ", s, ".events (stream text COLLATE \"C\" NOT NULL, ",
      "version bigint NOT NULL, position bigint NOT NULL, record bytea NOT NULL, ",
      "PRIMARY KEY (stream, version));",
      // Each event's stamp, as in its record, for reads as of a time. Added
      // to stores created before it; Open stamps their rows (BackfillStamps).
      "ALTER TABLE ", s, ".events ADD COLUMN IF NOT EXISTS timestamp_ns bigint;",
      "CREATE INDEX IF NOT EXISTS events_position ON ", s, ".events (position);",
      "CREATE TABLE IF NOT EXISTS ", s, ".snapshots (stream text COLLATE \"C\" NOT NULL, ",
      "version bigint NOT NULL, seq bigserial NOT NULL, timestamp_ns bigint NOT NULL, ",
      "data bytea NOT NULL, content_type text NOT NULL, PRIMARY KEY (stream, version, seq));",
      // Added after version 1 was released; created by every open, so a
      // schema from before gains it without a version change.
      "CREATE TABLE IF NOT EXISTS ", s, ".checkpoints (projection_id text COLLATE \"C\" PRIMARY KEY, ",
      "position bigint NOT NULL, updated_at_ns bigint NOT NULL);",
      "INSERT INTO ", s, ".schema_version VALUES (", kSchemaVersion, ") ON CONFLICT DO NOTHING;",
      "COMMIT;");
}

// Connections: at most `max` open, idle ones reused. A connection that broke
// or is left inside a transaction is closed rather than reused, and an idle
// one is checked before reuse, so calls after a server restart reconnect.
class Pool {
 public:
  Pool(std::string conninfo, std::vector<std::string> sql, int max)
      : conninfo_(std::move(conninfo)), sql_(std::move(sql)), max_(max) {}
  ~Pool() { CloseIdle(); }

  absl::StatusOr<PGconn*> Acquire() {
    for (;;) {
      PGconn* c = nullptr;
      {
        MutexLock lock(&mu_);
        while (idle_.empty() && open_ >= max_) cv_.Wait(&mu_);
        if (idle_.empty()) {
          ++open_;
          break;
        }
        c = idle_.back();
        idle_.pop_back();
      }
      // A server that went away (a restart, a terminated backend) closed the
      // socket and said why: reading without blocking finds out, so the call
      // gets a fresh connection instead of an error.
      if (PQconsumeInput(c) != 0 && PQstatus(c) == CONNECTION_OK) return c;
      PQfinish(c);
      Forget();
    }
    absl::StatusOr<PGconn*> c = Connect();
    if (!c.ok()) Forget();
    return c;
  }

  void Release(PGconn* c) {
    if (PQstatus(c) == CONNECTION_OK && PQpipelineStatus(c) == PQ_PIPELINE_OFF &&
        PQtransactionStatus(c) != PQTRANS_IDLE) {
      Result r(PQexec(c, "ROLLBACK"));
    }
    if (PQstatus(c) != CONNECTION_OK || PQtransactionStatus(c) != PQTRANS_IDLE ||
        PQpipelineStatus(c) != PQ_PIPELINE_OFF) {
      PQfinish(c);
      Forget();
      return;
    }
    MutexLock lock(&mu_);
    idle_.push_back(c);
    cv_.Signal();
  }

  void CloseIdle() {
    std::vector<PGconn*> idle;
    {
      MutexLock lock(&mu_);
      idle.swap(idle_);
      open_ -= static_cast<int>(idle.size());
      cv_.SignalAll();
    }
    for (PGconn* c : idle) PQfinish(c);
  }

  const std::string& conninfo() const { return conninfo_; }

 private:
  void Forget() {
    MutexLock lock(&mu_);
    --open_;
    cv_.Signal();
  }

  absl::StatusOr<PGconn*> Connect() {
    PGconn* c = PQconnectdb(conninfo_.c_str());
    if (c == nullptr) return absl::ResourceExhaustedError("libpq could not allocate a connection");
    if (PQstatus(c) != CONNECTION_OK) {
      absl::Status s = absl::UnavailableError(
          absl::StrCat("cannot connect to PostgreSQL: ", OneLine(PQerrorMessage(c))));
      PQfinish(c);
      return s;
    }
    PQsetNoticeProcessor(c, IgnoreNotice, nullptr);
    // Every read is an ordered range of a key. With stale statistics (a
    // table that grew since its last ANALYZE) the planner picks a bitmap scan
    // and then sorts, which spills to disk for long streams: measured 40 ms
    // against about 3 for the index scan on 13,000 events.
    Result setting(PQexec(c, "SET enable_bitmapscan = off"));
    for (int i = 0; i < kStmtCount; ++i) {
      Result r(PQprepare(c, StmtName(static_cast<Stmt>(i)), sql_[i].c_str(), 0, nullptr));
      if (r == nullptr || PQresultStatus(r.get()) != PGRES_COMMAND_OK) {
        absl::Status s = PgError(c, r.get(), absl::StrCat("preparing ", StmtName(static_cast<Stmt>(i))));
        PQfinish(c);
        return s;
      }
    }
    return c;
  }

  const std::string conninfo_;
  const std::vector<std::string> sql_;
  const int max_;
  Mutex mu_;
  CondVar cv_;
  std::vector<PGconn*> idle_ ABSL_GUARDED_BY(mu_);
  int open_ ABSL_GUARDED_BY(mu_) = 0;
};

// One borrowed connection, given back on destruction.
class Lease {
 public:
  explicit Lease(Pool* pool) : pool_(pool) {}
  ~Lease() {
    if (conn_ != nullptr) pool_->Release(conn_);
  }
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;

  absl::Status Open() {
    ASSIGN_OR_RETURN(conn_, pool_->Acquire());
    return absl::OkStatus();
  }
  PGconn* get() const { return conn_; }

  // Runs a prepared statement with binary parameters and results.
  absl::StatusOr<Result> Run(Stmt stmt, const Params& params) {
    Result r(PQexecPrepared(conn_, StmtName(stmt), params.size(), params.values(), params.lengths(),
                            params.formats(), 1));
    const ExecStatusType st = r == nullptr ? PGRES_FATAL_ERROR : PQresultStatus(r.get());
    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
      if (IsUniqueViolation(r.get())) return absl::AlreadyExistsError("unique violation");
      return PgError(conn_, r.get(), StmtName(stmt));
    }
    return r;
  }

  // Sends `before` (may be null), the prepared statement and `after` (may
  // be null) in one pipeline: one round trip instead of three. Returns the
  // statement's result, or the first failure (kAlreadyExists for a unique
  // violation). A connection lost before the reply to `after` (whichever
  // reply it breaks at, once `after` was sent) is reported with `lost_after`
  // in the message (for COMMIT: "may have committed").
  // `then` (may be null) runs after `after` in the same pipeline, only when
  // everything before it succeeded; its outcome never changes the result.
  absl::StatusOr<Result> Pipelined(const char* before, Stmt stmt, const Params& params, const char* after,
                                   std::string_view lost_after, const char* then = nullptr) {
    if (PQenterPipelineMode(conn_) != 1) return PgError(conn_, nullptr, "entering pipeline mode");
    bool sent = true;
    if (before != nullptr) sent = PQsendQueryParams(conn_, before, 0, nullptr, nullptr, nullptr, nullptr, 1) == 1;
    sent = sent && PQsendQueryPrepared(conn_, StmtName(stmt), params.size(), params.values(), params.lengths(),
                                       params.formats(), 1) == 1;
    if (after != nullptr) {
      sent = sent && PQsendQueryParams(conn_, after, 0, nullptr, nullptr, nullptr, nullptr, 1) == 1;
    }
    if (then != nullptr) sent = sent && PQsendQueryParams(conn_, then, 0, nullptr, nullptr, nullptr, nullptr, 1) == 1;
    sent = sent && PQpipelineSync(conn_) == 1;
    absl::Status status = sent ? absl::OkStatus() : PgError(conn_, nullptr, StmtName(stmt));
    Result out;
    const int queries = (before != nullptr) + 1 + (after != nullptr);
    for (int q = 0; q < queries && sent; ++q) {
      Result r(PQgetResult(conn_));
      if (r == nullptr) {  // the connection broke
        if (status.ok()) {
          // Once `after` (COMMIT) was sent, a break at any reply leaves
          // the outcome unknown: the server may have run it.
          status = after != nullptr
                       ? absl::UnavailableError(absl::StrCat("PostgreSQL connection lost: ", ToAbsl(lost_after), ": ",
                                                             OneLine(PQerrorMessage(conn_))))
                       : PgError(conn_, nullptr, StmtName(stmt));
        }
        sent = false;
        break;
      }
      const ExecStatusType st = PQresultStatus(r.get());
      if (status.ok() && st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
        if (IsUniqueViolation(r.get())) {
          status = absl::AlreadyExistsError("unique violation");
        } else if (after != nullptr && PQstatus(conn_) == CONNECTION_BAD) {
          // The connection broke after `after` was sent: unknown outcome.
          status = absl::UnavailableError(absl::StrCat("PostgreSQL connection lost: ", ToAbsl(lost_after), ": ",
                                                       OneLine(PQerrorMessage(conn_))));
        } else {
          status = PgError(conn_, r.get(), StmtName(stmt));
        }
      }
      if (q == (before != nullptr)) out = std::move(r);
      Result end(PQgetResult(conn_));  // NULL after each query's result
    }
    // A connection lost during `then` is left in pipeline mode (Release
    // drops it); the call's outcome is already known.
    bool then_answered = true;
    if (sent && then != nullptr) {
      Result r(PQgetResult(conn_));
      then_answered = r != nullptr;
      if (then_answered) Result end(PQgetResult(conn_));
    }
    if (sent && then_answered) {
      Result sync(PQgetResult(conn_));
      if (sync == nullptr || PQresultStatus(sync.get()) != PGRES_PIPELINE_SYNC) sent = false;
    }
    // A connection left in pipeline mode is dropped by Release.
    if (sent && then_answered) PQexitPipelineMode(conn_);
    if (!status.ok()) return status;
    if (!sent) return PgError(conn_, nullptr, StmtName(stmt));
    return out;
  }

  absl::Status Simple(const char* sql) {
    Result r(PQexec(conn_, sql));
    if (r == nullptr || PQresultStatus(r.get()) != PGRES_COMMAND_OK) return PgError(conn_, r.get(), sql);
    return absl::OkStatus();
  }

 private:
  Pool* const pool_;
  PGconn* conn_ = nullptr;
};

// ------------------------------------------------------------ iterators

// Hands out views of records copied into its own 8-aligned memory (or of an
// append's block), fixed when it was made.
class PgIterator final : public EventIterator {
 public:
  PgIterator(std::shared_ptr<const void> owner, std::vector<EventView> views,
             std::shared_ptr<const std::atomic<bool>> closed)
      : owner_(std::move(owner)), views_(std::move(views)), closed_(std::move(closed)) {}

  absl::StatusOr<size_t> Next(absl::Span<EventView> out) override {
    if (closed_->load(std::memory_order_acquire)) return ClosedError();
    if (out.empty()) return absl::InvalidArgumentError("Next needs room for at least one event");
    const size_t n = std::min(out.size(), views_.size() - next_);
    for (size_t i = 0; i < n; ++i) out[i] = views_[next_++];
    return n;
  }

 private:
  std::shared_ptr<const void> owner_;
  std::vector<EventView> views_;
  size_t next_ = 0;
  std::shared_ptr<const std::atomic<bool>> closed_;
};

bool VerifiesAsEvent(std::string_view bytes, std::vector<uint64_t>& scratch) {
  scratch.assign((bytes.size() + 7) / 8, 0);
  std::memcpy(scratch.data(), bytes.data(), bytes.size());
  flatbuffers::Verifier verifier(reinterpret_cast<const uint8_t*>(scratch.data()), bytes.size());
  return verifier.VerifyBuffer<fb::Event>(nullptr);
}

// ------------------------------------------------------------ the store

class PgStore final : public EventStore {
 public:
  explicit PgStore(const PgStoreOptions& options)
      : options_(options),
        quoted_schema_(absl::StrCat("\"", options.schema, "\"")),
        pool_(options.conninfo, StatementsFor(quoted_schema_), options.pool_size),
        read_sql_(ReadSqlFor(quoted_schema_)),
        notify_sql_(absl::StrCat("SELECT pg_notify('", pgstore::ChannelFor(options.schema), "', '')")),
        cursors_(std::make_shared<pgstore::CursorConnections>(options.conninfo, options.pool_size)),
        listener_(options.conninfo, options.schema, &commit_notifier()) {
    SetHost(options.store.host);
    // Followers on this handle hear of commits made through any connection.
    commit_notifier().SetWatchHooks({[this] { return listener_.Start(); }, [this] { listener_.Stop(); }});
  }
  ~PgStore() override { Close(); }

  absl::Status Open() {
    // The schema, created once whatever the number of concurrent first opens.
    PGconn* c = PQconnectdb(options_.conninfo.c_str());
    if (c == nullptr) return absl::ResourceExhaustedError("libpq could not allocate a connection");
    std::unique_ptr<PGconn, void (*)(PGconn*)> conn(c, PQfinish);
    if (PQstatus(c) != CONNECTION_OK) {
      return absl::UnavailableError(absl::StrCat("cannot connect to PostgreSQL: ", OneLine(PQerrorMessage(c))));
    }
    PQsetNoticeProcessor(c, IgnoreNotice, nullptr);
    Result r(PQexec(c, SchemaSql(quoted_schema_, options_.schema).c_str()));
    if (r == nullptr || PQresultStatus(r.get()) != PGRES_COMMAND_OK) {
      return PgError(c, r.get(), "creating the schema");
    }
    r.reset(PQexec(c, absl::StrCat("SELECT max(version) FROM ", quoted_schema_, ".schema_version").c_str()));
    if (r == nullptr || PQresultStatus(r.get()) != PGRES_TUPLES_OK || PQntuples(r.get()) != 1) {
      return PgError(c, r.get(), "reading the schema version");
    }
    int version = 0;
    if (!absl::SimpleAtoi(PQgetvalue(r.get(), 0, 0), &version) || version != kSchemaVersion) {
      return absl::FailedPreconditionError(absl::StrCat("the PostgreSQL schema \"", options_.schema,
                                                        "\" has version ", PQgetvalue(r.get(), 0, 0),
                                                        "; this build knows version ", kSchemaVersion));
    }
    RETURN_IF_ERROR(BackfillStamps(c));
    // Fail now rather than on the first call if statements do not prepare.
    Lease lease(&pool_);
    return lease.Open();
  }

  // Rows written before the events table had its timestamp_ns column (by a
  // build of ABI 1.1) get their stamps from their records, in pages, once.
  // A record that does not verify is stamped 0: it never ends a read as of
  // a time (Verify reports it). Concurrent opens write the same values.
  absl::Status BackfillStamps(PGconn* c) {
    const std::string select = absl::StrCat("SELECT stream, version, record FROM ", quoted_schema_,
                                            ".events WHERE timestamp_ns IS NULL LIMIT 1000");
    const std::string update = absl::StrCat("UPDATE ", quoted_schema_,
                                            ".events SET timestamp_ns = $3::int8 WHERE stream = $1::text AND "
                                            "version = $2::int8");
    std::vector<uint64_t> scratch;
    for (;;) {
      Result r(PQexecParams(c, select.c_str(), 0, nullptr, nullptr, nullptr, nullptr, /*resultFormat=*/1));
      if (r == nullptr || PQresultStatus(r.get()) != PGRES_TUPLES_OK) {
        return PgError(c, r.get(), "stamping events written before the stamp column");
      }
      const int rows = PQntuples(r.get());
      if (rows == 0) return absl::OkStatus();
      for (int row = 0; row < rows; ++row) {
        const std::string_view record = GetBytes(r.get(), row, 2);
        int64_t stamp = 0;
        if (VerifiesAsEvent(record, scratch)) {
          stamp = EventView{reinterpret_cast<const uint8_t*>(scratch.data()), record.size()}.timestamp_ns();
        }
        Params p;
        p.Text(GetBytes(r.get(), row, 0));
        p.Int(GetInt64(r.get(), row, 1));
        p.Int(stamp);
        Result u(PQexecParams(c, update.c_str(), p.size(), nullptr, p.values(), p.lengths(), p.formats(), 1));
        if (u == nullptr || PQresultStatus(u.get()) != PGRES_COMMAND_OK) {
          return PgError(c, u.get(), "stamping events written before the stamp column");
        }
      }
    }
  }

  absl::Status CommitWrites(const CommitRequest& request, std::vector<AppendResult>* results) override {
    if (request.written != nullptr) request.written->reset();
    results->clear();
    if (is_closed()) return ClosedError();
    RETURN_IF_ERROR(CheckCommitRequest(request));
    RETURN_IF_ERROR(CheckWritable());
    if (request.appends.empty()) return SaveCheckpointsOnly(request.checkpoints);
    return CommitAppends(request.appends, request.checkpoints, results, request.written);
  }

  absl::StatusOr<Checkpoint> LoadCheckpoint(std::string_view projection_id) override {
    if (is_closed()) return ClosedError();
    RETURN_IF_ERROR(CheckProjectionId(projection_id));
    Params p;
    p.Text(projection_id);
    Lease lease(&pool_);
    RETURN_IF_ERROR(lease.Open());
    Result r;
    ASSIGN_OR_RETURN(r, lease.Run(kLoadCheckpoint, p));
    if (PQntuples(r.get()) == 0) return CheckpointNotFound(projection_id);
    return Checkpoint{std::string(projection_id), GetInt64(r.get(), 0, 0), GetInt64(r.get(), 0, 1)};
  }

  absl::Status DeleteCheckpoint(std::string_view projection_id) override {
    if (is_closed()) return ClosedError();
    RETURN_IF_ERROR(CheckProjectionId(projection_id));
    RETURN_IF_ERROR(CheckWritable());
    Params p;
    p.Text(projection_id);
    Lease lease(&pool_);
    RETURN_IF_ERROR(lease.Open());
    Result r;
    ASSIGN_OR_RETURN(r, lease.Run(kDeleteCheckpoint, p));
    if (PQntuples(r.get()) == 0) return CheckpointNotFound(projection_id);
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<Checkpoint>> ListCheckpoints() override {
    if (is_closed()) return ClosedError();
    Lease lease(&pool_);
    RETURN_IF_ERROR(lease.Open());
    Result r;
    ASSIGN_OR_RETURN(r, lease.Run(kListCheckpoints, Params()));
    std::vector<Checkpoint> all;
    all.reserve(static_cast<size_t>(PQntuples(r.get())));
    for (int i = 0; i < PQntuples(r.get()); ++i) {
      all.push_back(Checkpoint{PQgetvalue(r.get(), i, 0), GetInt64(r.get(), i, 1), GetInt64(r.get(), i, 2)});
    }
    return all;
  }

  absl::StatusOr<std::unique_ptr<EventIterator>> ReadStream(const Id& stream, const ReadOptions& options) override {
    if (is_closed()) return ClosedError();
    RETURN_IF_ERROR(CheckStreamId(stream));
    RETURN_IF_ERROR(CheckReadOptions(options));
    const bool reverse = options.direction == Direction::kReverse;
    const int64_t after = reverse && options.after_version == 0 ? kMaxInt64 : options.after_version;
    const int64_t page = options_.page_size;
    {
      // One statement first: the marker row says how many events the read
      // yields, so a read that fits in a page is complete in one round trip.
      Params p;
      p.Text(stream.ToString());
      p.Int(after);
      p.Int(options.count > 0 ? std::min(options.count, page) : page);
      p.Int(options.until_timestamp_ns);
      Lease lease(&pool_);
      RETURN_IF_ERROR(lease.Open());
      Result r;
      ASSIGN_OR_RETURN(r, lease.Run(reverse ? kReadReverse : kReadForward, p));
      if (PQntuples(r.get()) == 0 || !PQgetisnull(r.get(), 0, 0)) return StreamNotFound(stream);
      const int64_t events = GetInt64(r.get(), 0, 1);
      if ((options.count > 0 ? std::min(options.count, events) : events) <= page) {
        return std::unique_ptr<EventIterator>(pgstore::PagedIterator::OfOnePage(std::move(r), closed_));
      }
    }
    pgstore::PageQuery query;
    query.select = reverse ? read_sql_.reverse : read_sql_.forward;
    query.params.Text(stream.ToString());
    query.params.Int(after);
    query.params.IntOrNull(options.count);
    query.params.Int(options.until_timestamp_ns);
    query.marker = true;
    query.count = options.count;
    bool found = false;
    std::unique_ptr<pgstore::PagedIterator> it;
    ASSIGN_OR_RETURN(it, pgstore::PagedIterator::Open(cursors_, closed_, query, options_.page_size, &found));
    if (!found) return StreamNotFound(stream);  // deleted since the first statement
    return std::unique_ptr<EventIterator>(std::move(it));
  }

  absl::StatusOr<std::unique_ptr<EventIterator>> ReadAll(const ReadAllOptions& options) override {
    if (is_closed()) return ClosedError();
    RETURN_IF_ERROR(CheckReadAllOptions(options));
    const int64_t page = options_.page_size;
    if (options.count == 0 || options.count <= page) {
      // One statement first: complete when it returns less than a page (or
      // the whole count); else the paged cursor reads it again.
      Params p;
      p.Int(options.after_position);
      p.Int(options.count > 0 ? options.count : page);
      p.Int(options.until_timestamp_ns);
      Lease lease(&pool_);
      RETURN_IF_ERROR(lease.Open());
      Result r;
      ASSIGN_OR_RETURN(r, lease.Run(kReadAll, p));
      if (options.count > 0 || PQntuples(r.get()) < page) {
        return std::unique_ptr<EventIterator>(pgstore::PagedIterator::OfOnePage(std::move(r), closed_));
      }
    }
    pgstore::PageQuery query;
    query.select = read_sql_.all;
    query.params.Int(options.after_position);
    query.params.IntOrNull(options.count);
    query.params.Int(options.until_timestamp_ns);
    query.count = options.count;
    std::unique_ptr<pgstore::PagedIterator> it;
    ASSIGN_OR_RETURN(it, pgstore::PagedIterator::Open(cursors_, closed_, query, options_.page_size, nullptr));
    return std::unique_ptr<EventIterator>(std::move(it));
  }

  absl::Status DeleteStream(const Id& stream, int64_t to_version) override {
    if (is_closed()) return ClosedError();
    RETURN_IF_ERROR(CheckStreamId(stream));
    RETURN_IF_ERROR(CheckDeleteVersion(to_version));
    RETURN_IF_ERROR(CheckWritable());
    Params lock;
    lock.Text(stream.ToString());
    Params p;
    p.Text(stream.ToString());
    if (to_version != 0) p.Int(to_version);
    Lease lease(&pool_);
    RETURN_IF_ERROR(lease.Open());
    RETURN_IF_ERROR(lease.Simple("BEGIN"));
    Result r;
    ASSIGN_OR_RETURN(r, lease.Run(kLockForDelete, lock));
    if (PQntuples(r.get()) == 0) return StreamNotFound(stream);  // the lease rolls back
    ASSIGN_OR_RETURN(r, lease.Run(to_version == 0 ? kDeleteWhole : kTruncate, p));
    return lease.Simple("COMMIT");
  }

  absl::Status WriteSnapshot(const Id& aggregate, int64_t version, absl::Span<const uint8_t> data,
                             std::string_view content_type, int64_t timestamp_ns) override {
    if (is_closed()) return ClosedError();
    RETURN_IF_ERROR(CheckStreamId(aggregate, "aggregate type"));
    RETURN_IF_ERROR(CheckSnapshotWrite(version, timestamp_ns, content_type));
    RETURN_IF_ERROR(CheckWritable());
    if (content_type.find('\0') != std::string_view::npos) {
      return absl::InvalidArgumentError("a snapshot content type must not contain NUL");
    }
    Params p;
    p.Text(aggregate.ToString());
    p.Int(version);
    p.Int(timestamp_ns == 0 ? host().NowNanos() : timestamp_ns);
    p.Bytes(std::string(reinterpret_cast<const char*>(data.data()), data.size()));
    p.Text(content_type);
    Lease lease(&pool_);
    RETURN_IF_ERROR(lease.Open());
    return lease.Run(kWriteSnapshot, p).status();
  }

  absl::StatusOr<std::shared_ptr<const Snapshot>> ReadSnapshot(const Id& aggregate, int64_t max_version) override {
    if (is_closed()) return ClosedError();
    RETURN_IF_ERROR(CheckStreamId(aggregate, "aggregate type"));
    RETURN_IF_ERROR(CheckSnapshotMaxVersion(max_version));
    Params p;
    p.Text(aggregate.ToString());
    p.Int(max_version == 0 ? kMaxInt64 : max_version);
    Lease lease(&pool_);
    RETURN_IF_ERROR(lease.Open());
    Result r;
    ASSIGN_OR_RETURN(r, lease.Run(kReadSnapshot, p));
    if (PQntuples(r.get()) == 0) return SnapshotNotFound(aggregate, max_version);
    auto snapshot = std::make_shared<Snapshot>();
    snapshot->aggregate_id = aggregate;
    snapshot->version = GetInt64(r.get(), 0, 0);
    snapshot->timestamp_ns = GetInt64(r.get(), 0, 1);
    const std::string_view data = GetBytes(r.get(), 0, 2);
    snapshot->data.assign(data.data(), data.size());
    snapshot->content_type = std::string(GetBytes(r.get(), 0, 3));
    return std::shared_ptr<const Snapshot>(std::move(snapshot));
  }

  absl::Status PruneSnapshots(const Id& aggregate, int64_t keep_last, int64_t min_version) override {
    if (is_closed()) return ClosedError();
    RETURN_IF_ERROR(CheckStreamId(aggregate, "aggregate type"));
    RETURN_IF_ERROR(CheckPruneBounds(keep_last, min_version));
    RETURN_IF_ERROR(CheckWritable());
    Params p;
    p.Text(aggregate.ToString());
    p.IntOrNull(keep_last);
    p.Int(min_version);
    Lease lease(&pool_);
    RETURN_IF_ERROR(lease.Open());
    return lease.Run(kPruneSnapshots, p).status();
  }

  absl::StatusOr<StoreStats> Stats() override {
    if (is_closed()) return ClosedError();
    Params p;
    p.Text(options_.schema);
    Lease lease(&pool_);
    RETURN_IF_ERROR(lease.Open());
    Result r;
    ASSIGN_OR_RETURN(r, lease.Run(kStats, p));
    StoreStats stats;
    stats.events = GetInt64(r.get(), 0, 0);
    stats.streams = GetInt64(r.get(), 0, 1);
    stats.first_position = GetInt64(r.get(), 0, 2);
    stats.last_position = GetInt64(r.get(), 0, 3);
    stats.snapshots = GetInt64(r.get(), 0, 4);
    stats.bytes = GetInt64(r.get(), 0, 5);
    return stats;
  }

  absl::StatusOr<std::vector<StreamInfo>> ListStreams(std::string_view after_id, size_t limit) override {
    if (limit == 0) return absl::InvalidArgumentError("limit must be > 0");
    if (is_closed()) return ClosedError();
    if (after_id.find('\0') != std::string_view::npos) {
      return absl::InvalidArgumentError("after_id must not contain NUL");
    }
    Params p;
    p.Text(after_id);
    p.Int(static_cast<int64_t>(std::min<size_t>(limit, static_cast<size_t>(kMaxInt64))));
    Lease lease(&pool_);
    RETURN_IF_ERROR(lease.Open());
    Result r;
    ASSIGN_OR_RETURN(r, lease.Run(kListStreams, p));
    std::vector<StreamInfo> out;
    for (int i = 0; i < PQntuples(r.get()); ++i) {
      absl::StatusOr<Id> id = Id::Parse(GetBytes(r.get(), i, 0));
      if (!id.ok()) return absl::DataLossError(absl::StrCat("a stored stream ID does not parse: ", id.status().message()));
      out.push_back(StreamInfo{*std::move(id), GetInt64(r.get(), i, 1), GetInt64(r.get(), i, 2)});
    }
    return out;
  }

  // Reads every event record and checks it as an Event. The report counts
  // in the file log's terms: records are appends (transactions) and
  // snapshots, segments the tables read, progress and bytes in bytes.
  // PostgreSQL reclaims deleted rows itself (VACUUM), in place.
  absl::Status Compact(const ProgressFn&, CompactReport*) override {
    return absl::UnimplementedError("the PostgreSQL store does not compact: the server reclaims space (VACUUM)");
  }

  absl::Status Verify(const ProgressFn& progress, VerifyReport* report) override {
    if (is_closed()) return ClosedError();
    Lease lease(&pool_);
    RETURN_IF_ERROR(lease.Open());
    Result events;
    ASSIGN_OR_RETURN(events, lease.Run(kVerify, Params()));
    Result snaps;
    ASSIGN_OR_RETURN(snaps, lease.Run(kVerifySnapshots, Params()));
    const int rows = PQntuples(events.get());
    const int64_t snapshot_count = GetInt64(snaps.get(), 0, 0);
    const int64_t snapshot_bytes = GetInt64(snaps.get(), 0, 1);
    uint64_t total = static_cast<uint64_t>(snapshot_bytes);
    for (int i = 0; i < rows; ++i) total += static_cast<uint64_t>(PQgetlength(events.get(), i, 1));
    VerifyReport local;
    local.segments = 2;
    std::vector<uint64_t> scratch;
    absl::Status status = absl::OkStatus();
    int64_t last_xid = -1;
    for (int i = 0; i < rows; ++i) {
      std::string_view bytes = GetBytes(events.get(), i, 1);
      const int64_t position = GetInt64(events.get(), i, 0);
      if (!VerifiesAsEvent(bytes, scratch) ||
          flatbuffers::GetRoot<fb::Event>(scratch.data())->global_position() != position) {
        status = absl::DataLossError(absl::StrCat("the event record at position ", position, " does not verify"));
        break;
      }
      if ((position >> kPositionBits) != last_xid) ++local.records;
      last_xid = position >> kPositionBits;
      ++local.events;
      local.bytes += static_cast<int64_t>(bytes.size());
      if (progress && (i + 1) % 4096 == 0) progress(static_cast<uint64_t>(local.bytes), total);
    }
    if (status.ok()) {
      local.records += snapshot_count;
      local.bytes += snapshot_bytes;
      if (progress) progress(total, total);
    }
    if (report != nullptr) *report = local;
    return status;
  }

  void Close() override {
    closed_->store(true, std::memory_order_release);
    pool_.CloseIdle();
    cursors_->Close();
    listener_.Shutdown();
  }

  // Every commit waits for the server's WAL flush (synchronous_commit as the
  // server sets it), so there is nothing more to do.
  absl::Status Sync() override {
    if (is_closed()) return ClosedError();
    return absl::OkStatus();
  }

 private:
  bool is_closed() const { return closed_->load(std::memory_order_acquire); }

  absl::Status CheckWritable() const {
    if (options_.store.read_only) return absl::InvalidArgumentError("the store was opened read-only");
    return absl::OkStatus();
  }

  // Append and AppendMany: records built once, then one SQL transaction
  // (pg_store_txn.inc) retried while it loses a first-write race.
  // Saves with no append: one statement (autocommitted), or several in
  // one SQL transaction.
  absl::Status SaveCheckpointsOnly(absl::Span<const CheckpointSave> saves) {
    if (saves.empty()) return absl::OkStatus();
    Lease lease(&pool_);
    RETURN_IF_ERROR(lease.Open());
    if (saves.size() > 1) RETURN_IF_ERROR(lease.Simple("BEGIN"));
    for (const CheckpointSave& save : saves) {
      Params p;
      p.Text(save.projection_id);
      p.Int(save.position);
      RETURN_IF_ERROR(lease.Run(kSaveCheckpoint, p).status());  // a failure: the lease rolls back
    }
    if (saves.size() > 1) return lease.Simple("COMMIT");
    return absl::OkStatus();
  }

  absl::Status CommitAppends(absl::Span<const StreamAppend> appends, absl::Span<const CheckpointSave> checkpoints,
                             std::vector<AppendResult>* results, std::unique_ptr<EventIterator>* written) {
    const std::vector<EventBlock::Part> parts = BlockParts(appends);
    EventBlock::BuildOptions build;
    build.now_ns = host().NowNanos();
    build.host = &host();
    std::shared_ptr<EventBlock> block;
    ASSIGN_OR_RETURN(block, EventBlock::Build(parts, build));
    if (block->size() >= (size_t{1} << kPositionBits)) {
      return absl::InvalidArgumentError(
          absl::StrCat("a transaction holds fewer than ", size_t{1} << kPositionBits, " events"));
    }
    for (int attempt = 1;; ++attempt) {
      absl::Status s = AppendOnce(appends, checkpoints, *block, results);
      if (s.ok()) break;
      // Another writer created a stream (or took its versions) first: run
      // again, now against what it wrote.
      if (!absl::IsAlreadyExists(s)) return s;
      if (attempt == kAppendAttempts) {
        return absl::UnavailableError("PostgreSQL append: lost the race for the stream's versions too often");
      }
    }
    if (written != nullptr) {
      const AppendResult& r = results->front();
      if (r.duplicate) {
        // The original events, as a read returns them.
        ReadOptions read;
        read.after_version = r.first_version - 1;
        read.count = r.last_version - r.first_version + 1;
        ASSIGN_OR_RETURN(*written, ReadStream(appends.front().stream, read));
      } else {
        std::vector<EventView> views;
        for (size_t i = 0; i < block->size(); ++i) views.push_back(block->view(i));
        *written = std::make_unique<PgIterator>(block, std::move(views), closed_);
      }
    }
    return absl::OkStatus();
  }

  // The append plan's view of the streams inside one SQL transaction that
  // holds their locks: tips from the locked rows, events read on demand (a
  // window at a time) through the same connection.
  class PgLookup final : public StreamLookup {
   public:
    PgLookup(Lease* lease, const absl::flat_hash_map<Id, State>* states) : lease_(lease), states_(states) {}
    State StateOf(const Id& stream) override {
      auto it = states_->find(stream);
      return it == states_->end() ? State{} : it->second;
    }
    absl::StatusOr<Stored> EventAt(const Id& stream, int64_t version) override {
      auto& cached = cache_[stream];
      if (auto hit = cached.find(version); hit != cached.end()) return hit->second;
      constexpr int64_t kWindow = 256;
      Params p;
      p.Text(stream.ToString());
      p.Int(version - 1);
      p.Int(kWindow);
      p.Int(0);  // no time bound
      Result r;
      ASSIGN_OR_RETURN(r, lease_->Run(kReadForward, p));
      std::vector<uint64_t> aligned;
      for (int i = 0; i < PQntuples(r.get()); ++i) {
        if (PQgetisnull(r.get(), i, 0)) continue;
        if (!VerifiesAsEvent(GetBytes(r.get(), i, 0), aligned)) {
          return absl::DataLossError(absl::StrCat("an event record of ", stream.ToString(), " does not verify"));
        }
        const EventView view{reinterpret_cast<const uint8_t*>(aligned.data()), GetBytes(r.get(), i, 0).size()};
        cached[view.version()] = Stored{view.id(), view.position()};
      }
      if (auto hit = cached.find(version); hit != cached.end()) return hit->second;
      return absl::InternalError(absl::StrCat("append plan: version ", version, " of ", stream.ToString(),
                                              " is not in the stream"));
    }

   private:
    Lease* lease_;
    const absl::flat_hash_map<Id, State>* states_;
    absl::flat_hash_map<Id, absl::flat_hash_map<int64_t, Stored>> cache_;
  };

  // One SQL transaction: lock every stream (advisory locks in ID order, so
  // that racing transactions never deadlock; then the rows), plan against
  // what is locked, insert what the plan writes, commit. kAlreadyExists when
  // a concurrent writer won the race for a version.
  absl::Status AppendOnce(absl::Span<const StreamAppend> appends, absl::Span<const CheckpointSave> checkpoints,
                          EventBlock& block, std::vector<AppendResult>* results) {
    std::vector<std::string> keys;
    for (const StreamAppend& a : appends) keys.push_back(a.stream.ToString());
    std::vector<size_t> order;  // one per stream, in key order
    for (size_t i = 0; i < keys.size(); ++i) order.push_back(i);
    std::sort(order.begin(), order.end(), [&](size_t x, size_t y) { return keys[x] < keys[y]; });
    order.erase(std::unique(order.begin(), order.end(), [&](size_t x, size_t y) { return keys[x] == keys[y]; }),
                order.end());

    Lease lease(&pool_);
    RETURN_IF_ERROR(lease.Open());
    Result r;
    for (size_t k = 0; k < order.size(); ++k) {
      Params lock;
      lock.Text(keys[order[k]]);
      ASSIGN_OR_RETURN(r, k == 0 ? lease.Pipelined("BEGIN", kSerializeAppends, lock, nullptr, "")
                                 : lease.Run(kSerializeAppends, lock));
    }
    absl::flat_hash_map<Id, StreamLookup::State> states;
    absl::flat_hash_map<Id, int64_t> lows;  // streams that exist: their "low"
    int64_t xid = 0;
    for (size_t k : order) {
      Params lock;
      lock.Text(keys[k]);
      ASSIGN_OR_RETURN(r, lease.Run(kLockStream, lock));
      xid = GetInt64(r.get(), 0, 0);
      if (!PQgetisnull(r.get(), 0, 1)) {
        const int64_t tip = GetInt64(r.get(), 0, 1);
        const int64_t low = GetInt64(r.get(), 0, 2);
        states[appends[k].stream] = StreamLookup::State{tip, low + 1};
        lows[appends[k].stream] = low;
      }
    }
    r.reset();
    if (xid > (kMaxInt64 >> kPositionBits)) return absl::InvalidArgumentError("the append would overflow positions");

    const std::vector<PlanInput> inputs = PlanInputsFor(appends, block.ids());
    PgLookup lookup(&lease, &states);
    // Positions of one transaction: (xid << kPositionBits) | 1, 2, ...
    RETURN_IF_ERROR(PlanAppends(inputs, lookup, (xid << kPositionBits) | 1, PlanLimits{kMaxInt64, kMaxInt64},
                                results));  // a mismatch: the lease rolls back

    // The checkpoint saves, in this transaction: committed with the appends.
    for (const CheckpointSave& save : checkpoints) {
      Params p;
      p.Text(save.projection_id);
      p.Int(save.position);
      ASSIGN_OR_RETURN(r, lease.Run(kSaveCheckpoint, p));
    }
    size_t last_writer = appends.size();
    for (size_t i = 0; i < appends.size(); ++i) {
      if (!(*results)[i].duplicate) last_writer = i;
    }
    if (last_writer == appends.size()) {  // all duplicates: nothing (else) to write
      return checkpoints.empty() ? absl::OkStatus() : lease.Simple("COMMIT");
    }
    size_t first_record = 0;
    for (size_t i = 0; i < appends.size(); ++i) {
      const AppendResult& planned = (*results)[i];
      const size_t n = inputs[i].ids.size();
      const size_t record = first_record;
      first_record += n;
      if (planned.duplicate) continue;
      std::string records;
      std::string stamps;  // an int8[] beside the records
      PutBe32(stamps, 1);
      PutBe32(stamps, 0);
      PutBe32(stamps, 20);  // int8
      PutBe32(stamps, static_cast<uint32_t>(n));
      PutBe32(stamps, 1);
      PutBe32(records, 1);   // dimensions
      PutBe32(records, 0);   // no nulls
      PutBe32(records, 17);  // bytea
      PutBe32(records, static_cast<uint32_t>(n));
      PutBe32(records, 1);  // lower bound
      for (size_t k = 0; k < n; ++k) {
        block.Patch(record + k, planned.first_version + static_cast<int64_t>(k),
                    planned.first_position + static_cast<int64_t>(k));
        const EventView v = block.view(record + k);
        PutBe32(records, static_cast<uint32_t>(v.size));
        records.append(reinterpret_cast<const char*>(v.bytes), v.size);
        const auto stamp = static_cast<uint64_t>(StampOf(v));
        PutBe32(stamps, 8);
        PutBe32(stamps, static_cast<uint32_t>(stamp >> 32));
        PutBe32(stamps, static_cast<uint32_t>(stamp));
      }
      const Id& stream = appends[i].stream;
      auto low = lows.find(stream);
      Params insert;
      insert.Text(keys[i]);
      insert.Int(planned.first_version);
      insert.Int(planned.first_position - 1);
      insert.Bytes(std::move(records));
      insert.Int(planned.last_version);
      insert.Int(low != lows.end() ? low->second : planned.first_version - 1);
      if (low == lows.end()) lows[stream] = planned.first_version - 1;
      insert.Bytes(std::move(stamps));
      if (i == last_writer) {
        ASSIGN_OR_RETURN(r, lease.Pipelined(nullptr, kInsertEvents, insert, "COMMIT",
                                            "the append may have committed (retry it with the same event IDs "
                                            "and expectation: the duplicate check makes that safe)",
                                            notify_sql_.c_str()));
      } else {
        ASSIGN_OR_RETURN(r, lease.Run(kInsertEvents, insert));
      }
    }
    return absl::OkStatus();
  }

  const PgStoreOptions options_;
  const std::string quoted_schema_;
  Pool pool_;
  const ReadSql read_sql_;
  // Sent after each append's COMMIT, in the same pipeline (so even a client
  // that dies right after sending it notifies), not inside the transaction:
  // PostgreSQL serializes the commits of notifying transactions on one
  // cluster-wide lock held through the WAL flush, which measured here took
  // 16 concurrent committers from about 2,100 to 270-420 commits/s, where
  // the notification after COMMIT costs about a fifth (4,600 to 3,550).
  // pg_listener.h says why followers still miss nothing.
  const std::string notify_sql_;
  const std::shared_ptr<pgstore::CursorConnections> cursors_;
  pgstore::PgListener listener_;
  const std::shared_ptr<std::atomic<bool>> closed_ = std::make_shared<std::atomic<bool>>(false);
};

bool IsIdentifier(std::string_view s) {
  if (s.empty() || s.size() > 63) return false;
  if (!absl::ascii_isalpha(static_cast<unsigned char>(s[0])) && s[0] != '_') return false;
  for (char c : s) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<PgStoreOptions> ParsePgUri(std::string_view uri) {
  PgStoreOptions out;
  const size_t q = uri.find('?');
  std::vector<std::string> kept;
  if (q != std::string_view::npos) {
    for (absl::string_view setting : absl::StrSplit(ToAbsl(uri.substr(q + 1)), '&', absl::SkipEmpty())) {
      const size_t eq = setting.find('=');
      const absl::string_view key = setting.substr(0, eq);
      const absl::string_view value = eq == absl::string_view::npos ? absl::string_view() : setting.substr(eq + 1);
      if (key == "pool_size") {
        int n = 0;
        if (!absl::SimpleAtoi(value, &n) || n < 1 || n > 256) {
          return absl::InvalidArgumentError(
              absl::StrCat("pool_size must be a number from 1 to 256, got \"", value, "\""));
        }
        out.pool_size = n;
      } else if (key == "page_size") {
        int n = 0;
        if (!absl::SimpleAtoi(value, &n) || n < 1 || n > 1000000) {
          return absl::InvalidArgumentError(
              absl::StrCat("page_size must be a number from 1 to 1000000, got \"", value, "\""));
        }
        out.page_size = n;
      } else if (key == "schema") {
        if (!IsIdentifier(ToStd(value))) {
          return absl::InvalidArgumentError(absl::StrCat(
              "schema must be 1 to 63 letters, digits or '_' not starting with a digit, got \"", value, "\""));
        }
        out.schema = std::string(value);
      } else {
        kept.emplace_back(setting);
      }
    }
  }
  out.conninfo = std::string(uri.substr(0, q));
  if (!kept.empty()) absl::StrAppend(&out.conninfo, "?", absl::StrJoin(kept, "&"));
  return out;
}

absl::StatusOr<std::shared_ptr<EventStore>> OpenPgStore(const PgStoreOptions& options) {
  auto store = std::make_shared<PgStore>(options);
  RETURN_IF_ERROR(store->Open());
  return std::shared_ptr<EventStore>(std::move(store));
}

}  // namespace estoria::core

// SqliteEvents: see sqlite_events.h. Each statement below is the one the Go
// store runs (default_strategy.go), with the default table names "event" and
// "stream"; only the Go plumbing differs (database/sql prepares the insert
// once per transaction; here each connection prepares its statements once,
// which can only flatter SQLite).
#include "bench/peers/sqlite_events.h"

#include <sqlite3.h>
#include <time.h>

#include <cstdio>
#include <string>

namespace estoria::bench {
namespace {

// default_strategy.go, Schema().
constexpr char kSchema[] = R"sql(
CREATE TABLE IF NOT EXISTS "event" (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  stream_id     TEXT    NOT NULL,
  stream_type   TEXT    NOT NULL,
  event_id      TEXT    NOT NULL,
  event_type    TEXT    NOT NULL,
  stream_offset INTEGER NOT NULL,
  timestamp     TEXT    NOT NULL,
  data          BLOB,
  metadata      BLOB,

  CONSTRAINT event_stream_offset_unique UNIQUE (stream_id, stream_type, stream_offset),

  CHECK (stream_offset > 0)
);

CREATE TABLE IF NOT EXISTS "stream" (
  stream_type TEXT    NOT NULL,
  stream_id   TEXT    NOT NULL,
  last_offset INTEGER NOT NULL DEFAULT 0,

  PRIMARY KEY (stream_type, stream_id)
);
)sql";

// default_strategy.go, NextHighwaterMark(): reserves numEvents offsets.
constexpr char kReserve[] = R"sql(
INSERT INTO "stream" (stream_type, stream_id, last_offset)
VALUES (?, ?, ?)
ON CONFLICT (stream_type, stream_id)
DO UPDATE SET last_offset = "stream".last_offset + ?
RETURNING last_offset)sql";

// default_strategy.go, AppendStreamStatement().
constexpr char kInsert[] = R"sql(
INSERT INTO "event" (
  event_id,
  stream_type,
  stream_id,
  event_type,
  timestamp,
  stream_offset,
  data,
  metadata
)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
RETURNING id)sql";

// default_strategy.go, ReadStreamQuery(), forward: the Go store adds the
// version bound only when it is > 0 and formats the limit into the text; one
// prepared statement with "> ?" and "LIMIT ?" (-1: none) has the same plan.
constexpr char kReadStream[] = R"sql(
SELECT
  id,
  stream_id,
  stream_type,
  event_id,
  event_type,
  timestamp,
  stream_offset,
  data,
  metadata
FROM "event"
WHERE
  stream_type = ?
  AND stream_id = ?
  AND stream_offset > ?
ORDER BY
  stream_offset ASC
LIMIT ?)sql";

// default_strategy.go, ReadAll(), forward, with the same two liberties.
constexpr char kReadAll[] = R"sql(
SELECT
  id,
  stream_id,
  stream_type,
  event_id,
  event_type,
  timestamp,
  stream_offset,
  data,
  metadata
FROM "event"
WHERE id > ?
ORDER BY
  id ASC
LIMIT ?)sql";

// Go's time.RFC3339Nano of the current UTC time: fractional seconds with
// trailing zeros trimmed, as AppendStreamExecArgs formats the timestamp.
std::string NowRfc3339Nano() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  tm utc;
  gmtime_r(&ts.tv_sec, &utc);
  char buf[64];
  int n = std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d", utc.tm_year + 1900, utc.tm_mon + 1,
                        utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec);
  std::string out(buf, static_cast<size_t>(n));
  if (ts.tv_nsec != 0) {
    char frac[16];
    std::snprintf(frac, sizeof frac, ".%09ld", ts.tv_nsec);
    std::string f = frac;
    while (f.back() == '0') f.pop_back();
    out += f;
  }
  out += 'Z';
  return out;
}

// Appends `s` as a JSON string the way Go's encoding/json does (including
// its HTML-safe escapes of <, > and &).
void AppendJsonString(std::string_view s, std::string& out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (char c : s) {
    unsigned char u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || c == '<' || c == '>' || c == '&') {
      out += "\\u00";
      out += kHex[u >> 4];
      out += kHex[u & 0xf];
    } else {
      out += c;
    }
  }
  out += '"';
}

// json.Marshal of a map[string]string: keys in sorted order (PeerEvent's
// metadata already is).
void MetadataJson(std::span<const MetadataPair> metadata, std::string& out) {
  out.clear();
  out += '{';
  bool first = true;
  for (const MetadataPair& kv : metadata) {
    if (!first) out += ',';
    first = false;
    AppendJsonString(kv.first, out);
    out += ':';
    AppendJsonString(kv.second, out);
  }
  out += '}';
}

bool IsBusy(int rc) {
  int primary = rc & 0xff;
  return primary == SQLITE_BUSY || primary == SQLITE_LOCKED;
}

}  // namespace

std::unique_ptr<SqliteEvents> SqliteEvents::Open(const std::string& path, int busy_timeout_ms, std::string* error) {
  sqlite3* db = nullptr;
  // NOMUTEX: a connection is used by one thread at a time (see the header).
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                           nullptr);
  std::unique_ptr<SqliteEvents> self(new SqliteEvents(db));
  if (rc != SQLITE_OK) {
    self->Fail("sqlite3_open_v2", error);
    return nullptr;
  }
  sqlite3_busy_timeout(db, busy_timeout_ms);
  // journal_mode=WAL is persistent in the file; setting it again is a no-op.
  // synchronous is per connection.
  if (!self->Exec("PRAGMA journal_mode=WAL", error) || !self->Exec("PRAGMA synchronous=FULL", error) ||
      !self->Exec(kSchema, error) || !self->Prepare(error)) {
    return nullptr;
  }
  return self;
}

SqliteEvents::~SqliteEvents() {
  for (sqlite3_stmt* s : {begin_, reserve_, insert_, commit_, rollback_, read_stream_, read_all_}) {
    sqlite3_finalize(s);
  }
  sqlite3_close_v2(db_);
}

bool SqliteEvents::Fail(const char* what, std::string* error) {
  *error = std::string("sqlite: ") + what + ": " + (db_ != nullptr ? sqlite3_errmsg(db_) : "out of memory");
  return false;
}

bool SqliteEvents::Exec(const char* sql, std::string* error) {
  // Schema creation by several connections at once can meet a lock that
  // outlasts busy_timeout; setup then simply retries.
  for (int attempt = 0;; ++attempt) {
    int rc = sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
    if (rc == SQLITE_OK) return true;
    if (!IsBusy(rc) || attempt == 100) return Fail(sql, error);
  }
}

bool SqliteEvents::Prepare(std::string* error) {
  struct {
    const char* sql;
    sqlite3_stmt** stmt;
  } const statements[] = {{"BEGIN", &begin_},  // database/sql's BeginTx: a deferred transaction
                          {kReserve, &reserve_},
                          {kInsert, &insert_},
                          {"COMMIT", &commit_},
                          {"ROLLBACK", &rollback_}};
  for (const auto& s : statements) {
    if (sqlite3_prepare_v3(db_, s.sql, -1, SQLITE_PREPARE_PERSISTENT, s.stmt, nullptr) != SQLITE_OK) {
      return Fail(s.sql, error);
    }
  }
  return true;
}

bool SqliteEvents::Append(const PeerStream& stream, std::span<const PeerEvent> events, std::string* error) {
  for (;;) {
    bool busy = false;
    if (AppendOnce(stream, events, &busy, error)) return true;
    if (!sqlite3_get_autocommit(db_)) {
      sqlite3_step(rollback_);
      sqlite3_reset(rollback_);
    }
    if (!busy) return false;
    ++busy_retries_;
  }
}

bool SqliteEvents::AppendOnce(const PeerStream& stream, std::span<const PeerEvent> events, bool* busy,
                              std::string* error) {
  // Steps a statement expected to finish (BEGIN, COMMIT); resets it always.
  auto run = [&](sqlite3_stmt* stmt, const char* what) {
    int rc = sqlite3_step(stmt);
    sqlite3_reset(stmt);
    if (rc == SQLITE_DONE) return true;
    *busy = IsBusy(rc);
    return Fail(what, error);
  };
  if (!run(begin_, "BEGIN")) return false;

  // NextHighwaterMark: the stream's new last offset after reserving n.
  const int64_t n = static_cast<int64_t>(events.size());
  sqlite3_bind_text(reserve_, 1, stream.type.data(), static_cast<int>(stream.type.size()), SQLITE_STATIC);
  sqlite3_bind_text(reserve_, 2, stream.uuid.data(), static_cast<int>(stream.uuid.size()), SQLITE_STATIC);
  sqlite3_bind_int64(reserve_, 3, n);
  sqlite3_bind_int64(reserve_, 4, n);
  int rc = sqlite3_step(reserve_);
  if (rc != SQLITE_ROW) {
    sqlite3_reset(reserve_);
    *busy = IsBusy(rc);
    return Fail("reserving stream offsets", error);
  }
  const int64_t current = sqlite3_column_int64(reserve_, 0) - n;
  rc = sqlite3_step(reserve_);  // runs the statement to completion
  sqlite3_reset(reserve_);
  if (rc != SQLITE_DONE) {
    *busy = IsBusy(rc);
    return Fail("reserving stream offsets", error);
  }

  // One insert per event, all sharing the transaction's timestamp.
  const std::string timestamp = NowRfc3339Nano();
  for (int64_t i = 0; i < n; ++i) {
    const PeerEvent& e = events[static_cast<size_t>(i)];
    const std::string event_id = UuidText(NewUuidV4());
    MetadataJson(e.metadata, metadata_json_);
    sqlite3_bind_text(insert_, 1, event_id.data(), static_cast<int>(event_id.size()), SQLITE_STATIC);
    sqlite3_bind_text(insert_, 2, stream.type.data(), static_cast<int>(stream.type.size()), SQLITE_STATIC);
    sqlite3_bind_text(insert_, 3, stream.uuid.data(), static_cast<int>(stream.uuid.size()), SQLITE_STATIC);
    sqlite3_bind_text(insert_, 4, e.type.data(), static_cast<int>(e.type.size()), SQLITE_STATIC);
    sqlite3_bind_text(insert_, 5, timestamp.data(), static_cast<int>(timestamp.size()), SQLITE_STATIC);
    sqlite3_bind_int64(insert_, 6, current + i + 1);
    sqlite3_bind_blob(insert_, 7, e.data.data(), static_cast<int>(e.data.size()), SQLITE_STATIC);
    sqlite3_bind_blob(insert_, 8, metadata_json_.data(), static_cast<int>(metadata_json_.size()), SQLITE_STATIC);
    rc = sqlite3_step(insert_);
    if (rc == SQLITE_ROW) {
      sqlite3_int64 global_position = sqlite3_column_int64(insert_, 0);
      (void)global_position;  // the Go store hands it back to the caller
      rc = sqlite3_step(insert_);
    }
    sqlite3_reset(insert_);
    if (rc != SQLITE_DONE) {
      *busy = IsBusy(rc);
      return Fail("inserting an event", error);
    }
  }
  return run(commit_, "COMMIT");
}

bool SqliteEvents::Checkpoint(std::string* error) {
  int rc = sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr);
  return rc == SQLITE_OK || Fail("wal_checkpoint(TRUNCATE)", error);
}

bool SqliteEvents::VisitRows(sqlite3_stmt* stmt, PeerReadTally* tally, std::string* error) {
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    // Every column ScanEventRow scans, each where SQLite holds it: the
    // pointers stay valid until the next step, and no type conversion runs
    // (the columns hold the types asked for).
    const sqlite3_int64 position = sqlite3_column_int64(stmt, 0);
    const unsigned char* stream_id = sqlite3_column_text(stmt, 1);
    const unsigned char* stream_type = sqlite3_column_text(stmt, 2);
    const unsigned char* event_id = sqlite3_column_text(stmt, 3);
    const unsigned char* event_type = sqlite3_column_text(stmt, 4);
    const unsigned char* timestamp = sqlite3_column_text(stmt, 5);
    const sqlite3_int64 version = sqlite3_column_int64(stmt, 6);
    const void* data = sqlite3_column_blob(stmt, 7);
    const int data_len = sqlite3_column_bytes(stmt, 7);
    const void* metadata = sqlite3_column_blob(stmt, 8);
    if (position <= 0 || version <= 0 || stream_id == nullptr || stream_type == nullptr || event_id == nullptr ||
        event_type == nullptr || timestamp == nullptr || metadata == nullptr || data_len < 0) {
      sqlite3_reset(stmt);
      *error = "sqlite: a row without its columns";
      return false;
    }
    tally->Add(data, static_cast<size_t>(data_len));
  }
  sqlite3_reset(stmt);
  return rc == SQLITE_DONE || Fail("reading events", error);
}

bool SqliteEvents::ReadStream(const PeerStream& stream, int64_t after_version, int64_t limit, PeerReadTally* tally,
                              std::string* error) {
  if (read_stream_ == nullptr &&
      sqlite3_prepare_v3(db_, kReadStream, -1, SQLITE_PREPARE_PERSISTENT, &read_stream_, nullptr) != SQLITE_OK) {
    return Fail("preparing ReadStreamQuery", error);
  }
  sqlite3_bind_text(read_stream_, 1, stream.type.data(), static_cast<int>(stream.type.size()), SQLITE_STATIC);
  sqlite3_bind_text(read_stream_, 2, stream.uuid.data(), static_cast<int>(stream.uuid.size()), SQLITE_STATIC);
  sqlite3_bind_int64(read_stream_, 3, after_version);
  sqlite3_bind_int64(read_stream_, 4, limit > 0 ? limit : -1);
  return VisitRows(read_stream_, tally, error);
}

bool SqliteEvents::ReadAll(int64_t after_position, int64_t limit, PeerReadTally* tally, std::string* error) {
  if (read_all_ == nullptr &&
      sqlite3_prepare_v3(db_, kReadAll, -1, SQLITE_PREPARE_PERSISTENT, &read_all_, nullptr) != SQLITE_OK) {
    return Fail("preparing ReadAll", error);
  }
  sqlite3_bind_int64(read_all_, 1, after_position);
  sqlite3_bind_int64(read_all_, 2, limit > 0 ? limit : -1);
  return VisitRows(read_all_, tally, error);
}

}  // namespace estoria::bench

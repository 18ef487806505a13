// SqliteEvents: the benchmark's SQLite peer, an event store used exactly the
// way Estoria's Go SQLite event store uses SQLite (same tables, index,
// statements and transaction shape), so that the file store is compared with
// what an Estoria user gets from SQLite today.
//
// Followed: go-estoria/estoria-contrib, sqlite/eventstore/event_store.go
// (AppendStream) and sqlite/eventstore/strategy/default_strategy.go (Schema,
// NextHighwaterMark, AppendStreamStatement, AppendStreamExecArgs).
//
// Reads (ReadStream, ReadAll) run the Go store's SELECTs (ReadStreamQuery,
// ReadAll) and visit each row's columns where SQLite holds them
// (sqlite3_column_blob/_text, no copy); the Go store would copy and parse
// them too, so the peer's read figures can only flatter SQLite.
//
// One SqliteEvents is one connection: not thread-safe. A multi-threaded
// writer opens one per thread on the same file, as a real application's
// connection pool does; they contend through SQLite's locks and busy_timeout.
#ifndef ESTORIA_BENCH_PEERS_SQLITE_EVENTS_H_
#define ESTORIA_BENCH_PEERS_SQLITE_EVENTS_H_

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "bench/peers/peer_event.h"
#include "bench/peers/peer_read.h"

struct sqlite3;
struct sqlite3_stmt;

namespace estoria::bench {

class SqliteEvents {
 public:
  // Opens (creating if needed) the database at `path` with journal_mode=WAL,
  // synchronous=FULL and busy_timeout=`busy_timeout_ms`, and creates the
  // schema if absent. Returns nullptr with *error set on failure.
  static std::unique_ptr<SqliteEvents> Open(const std::string& path, int busy_timeout_ms, std::string* error);

  SqliteEvents(const SqliteEvents&) = delete;
  SqliteEvents& operator=(const SqliteEvents&) = delete;
  ~SqliteEvents();

  // Appends `events` to `stream` in one transaction that is durable when
  // this returns (WAL + synchronous=FULL: the WAL is fsynced at commit).
  // A SQLITE_BUSY that outlasts the busy timeout rolls back and retries.
  bool Append(const PeerStream& stream, std::span<const PeerEvent> events, std::string* error);

  // Checkpoints the WAL into the database and truncates it, so that the
  // database file's size is what the events occupy.
  bool Checkpoint(std::string* error);

  // Reads `stream` forward: the events after version `after_version`, at
  // most `limit` of them (0: all), in stream_offset order, each added to
  // *tally. Rows are stepped through one prepared statement (ReadStreamQuery's
  // SELECT, using the (stream_id, stream_type, stream_offset) index).
  bool ReadStream(const PeerStream& stream, int64_t after_version, int64_t limit, PeerReadTally* tally,
                  std::string* error);

  // Reads every stream's events in global order (the id column): those after
  // `after_position`, at most `limit` (0: all), each added to *tally.
  bool ReadAll(int64_t after_position, int64_t limit, PeerReadTally* tally, std::string* error);

  // Transactions retried after SQLITE_BUSY so far.
  int64_t busy_retries() const { return busy_retries_; }

 private:
  explicit SqliteEvents(sqlite3* db) : db_(db) {}
  bool Prepare(std::string* error);
  bool Exec(const char* sql, std::string* error);
  // One attempt; *busy tells a lock conflict (retry) from another failure.
  bool AppendOnce(const PeerStream& stream, std::span<const PeerEvent> events, bool* busy, std::string* error);
  bool Fail(const char* what, std::string* error);
  // Steps `stmt` (bound, prepared) to its end, visiting every row; resets it.
  bool VisitRows(sqlite3_stmt* stmt, PeerReadTally* tally, std::string* error);

  sqlite3* db_;
  sqlite3_stmt* begin_ = nullptr;
  sqlite3_stmt* reserve_ = nullptr;  // NextHighwaterMark's upsert
  sqlite3_stmt* insert_ = nullptr;   // AppendStreamStatement
  sqlite3_stmt* commit_ = nullptr;
  sqlite3_stmt* rollback_ = nullptr;
  sqlite3_stmt* read_stream_ = nullptr;  // prepared by the first ReadStream
  sqlite3_stmt* read_all_ = nullptr;     // prepared by the first ReadAll
  int64_t busy_retries_ = 0;
  std::string metadata_json_;  // reused between events
};

}  // namespace estoria::bench

#endif  // ESTORIA_BENCH_PEERS_SQLITE_EVENTS_H_

// PgStore: the EventStore over a PostgreSQL server ("postgresql://",
// "postgres://"), for stores shared by several processes or hosts. It talks
// to the server through libpq with prepared, fully parameterized statements
// over a small pool of connections.
//
// Layout (one schema per store, default "estoria", created on first open
// under an advisory lock so that concurrent first opens do not race):
//   schema_version(version)                       for later migrations
//   streams(stream, tip, low)                     one row per live stream;
//       `low` is the highest version removed by truncation (live events are
//       versions low+1 .. tip), so the tip survives truncation
//   events(stream, version, position, xid, record)  unique (stream, version);
//       `record` is the estoria.fb.Event as reads hand it out, bytea (never
//       jsonb: metadata and content types are kept byte for byte)
//   snapshots(stream, version, seq, timestamp_ns, data, content_type)
// Timestamps are unix nanoseconds in bigint columns (timestamptz keeps
// microseconds only).
//
// Global positions and the stable prefix: an append's transaction takes its
// 64-bit transaction id (pg_current_xact_id) and numbers its events
// (xid << 20) | i, i = 1..n. Transaction ids are handed out in start order,
// not commit order, so a global read returns only rows whose transaction id
// is below the xmin of its own snapshot: every transaction below xmin has
// ended, so nothing can later appear at or below a position once visible.
// Writers never serialize on a shared row (concurrent commits group in the
// WAL flush); the price is that a row becomes globally visible only once
// every older transaction of the cluster has ended.
//
// An append is two round trips: BEGIN with the locking read, then the
// insert with COMMIT and a NOTIFY on the store's channel, pipelined (libpq
// pipeline mode).
//
// Reads come in pages (page_size events, default 1000) from a cursor in a
// read-only snapshot: no read holds a whole result in client memory
// (pg_cursor.h: why the read rules still hold, and what an unfinished
// iterator holds on the server).
//
// Followers: the first CommitNotifier listener starts a connection that
// LISTENs on the store's channel and wakes followers on commits made through
// any connection, process or host (pg_listener.h: why none is missed).
//
// Failures: a lost connection is kUnavailable (EST_ERR_IO). An append whose
// COMMIT reply was lost has an unknown outcome: its error says "may have
// committed". Broken connections are dropped from the pool and replaced on
// the next call, so the store carries on once the server is back.
//
// Thread safety: every method may be called from many threads at once (each
// call borrows one pooled connection). Iterators own what they hold (a page,
// and while pages remain a connection of their own), so they outlive Close()
// and the store (then ClosedError) and may be freed in any order.
#ifndef ESTORIA_CORE_PGSTORE_PG_STORE_H_
#define ESTORIA_CORE_PGSTORE_PG_STORE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "core/store/event_store.h"

namespace estoria::core {

struct PgStoreOptions {
  std::string conninfo;     // a libpq connection URI, without our own settings
  std::string schema = "estoria";
  int pool_size = 8;        // connections kept at most
  int page_size = 1000;     // events a read holds in client memory at most
  StoreOptions store;
};

// Parses "postgresql://...?pool_size=N&schema=NAME&page_size=N&<libpq
// settings>": pool_size (1..256), schema ([A-Za-z_][A-Za-z0-9_]*, at most 63
// bytes) and page_size (events per read page, 1..1000000, default 1000) are
// taken out, everything else goes to libpq as it is.
absl::StatusOr<PgStoreOptions> ParsePgUri(std::string_view uri);

// Connects, creates the schema when absent (idempotent), and checks its
// version. kUnavailable when the server cannot be reached.
absl::StatusOr<std::shared_ptr<EventStore>> OpenPgStore(const PgStoreOptions& options);

}  // namespace estoria::core

#endif  // ESTORIA_CORE_PGSTORE_PG_STORE_H_

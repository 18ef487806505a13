// Paged reads of the PostgreSQL store: ReadAll and ReadStream iterators that
// hold one page of events in client memory, never a whole result.
//
// Mechanism: a read opens a REPEATABLE READ READ ONLY transaction on a
// connection of its own, declares a cursor over the read's query and
// fetches it a page at a time (one pipelined round trip for BEGIN, DECLARE
// and the first page). Why this keeps every read rule of the store:
//  - the cursor's query runs in the snapshot taken at DECLARE, before the
//    call returns: the frontier (rows of transactions below the snapshot's
//    xmin, see pg_store.h) is fixed then, and rows deleted afterwards are
//    still yielded by later pages (the snapshot still sees them);
//  - the stable prefix holds as before: the frontier is the same xmin bound
//    a one-statement read used, only its rows arrive in pages.
// A read that fits in one page needs none of this: the store runs it as
// one statement (its own snapshot) and hands the result to OfOnePage.
// Round trips: the next page is asked for as soon as one arrives, so the
// server reads it while the caller consumes this one (it waits in the
// socket's buffers, not in the iterator), and the transaction is ended
// without waiting for the reply (the next user of the connection takes it).
// What it costs: an iterator with pages still unread holds one server
// connection (outside the pool's limit, so that open iterators can never
// starve appends) and an open read-only transaction, whose snapshot keeps
// VACUUM from reclaiming rows deleted since (it takes no transaction id, so
// it never holds back other readers' frontier). The server keeps only the
// cursor's scan position (no materialized result). The connection and the
// transaction end as soon as the last page has arrived, so a read shorter
// than a page holds nothing after the call; a read left unfinished holds
// them until its iterator is freed.
//
// Thread safety: CursorConnections may be used from many threads; a
// PagedIterator from one thread at a time. Iterators share the connections'
// owner, so they may outlive the store (then ClosedError) and be freed in
// any order.
#ifndef ESTORIA_CORE_PGSTORE_PG_CURSOR_H_
#define ESTORIA_CORE_PGSTORE_PG_CURSOR_H_

#include <libpq-fe.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/pgstore/pg_glue.h"
#include "core/store/event_store.h"
#include "core/util/mutex.h"

namespace estoria::core::pgstore {

// Connections for paged reads: an idle one is reused, else a new one is
// opened at once (never waiting for another read to finish); at most
// `keep_idle` are kept idle. After Close, idle ones are closed and released
// ones are closed rather than kept.
class CursorConnections {
 public:
  CursorConnections(std::string conninfo, int keep_idle);
  ~CursorConnections();
  CursorConnections(const CursorConnections&) = delete;
  CursorConnections& operator=(const CursorConnections&) = delete;

  absl::StatusOr<PGconn*> Acquire();
  // Takes `c` back (REQUIRES: no query in flight): sends ROLLBACK for a
  // transaction left open without waiting (Acquire collects the reply),
  // keeps it idle when healthy, else closes it.
  void Release(PGconn* c);
  void Close();

 private:
  const std::string conninfo_;
  const int keep_idle_;
  Mutex mu_;
  std::vector<PGconn*> idle_ ABSL_GUARDED_BY(mu_);  // possibly with a ROLLBACK's reply to collect
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

// One read's cursor query: `select` is the SELECT (its first column the
// record bytes, NULL for a marker row), taking `params`.
struct PageQuery {
  std::string select;
  Params params;
  // Stream reads: the first row is a marker when the stream exists (the
  // existence check in the same snapshot as the events): NULL, then the
  // number of events the read will yield (before `count`), as int8.
  bool marker = false;
  int64_t count = 0;  // the read's limit, 0 = none: the last page is known
};

class PagedIterator final : public EventIterator {
 public:
  // Declares the cursor and fetches the first page before returning. With
  // query.marker, *found tells whether the marker row came (the iterator
  // then yields only the events).
  static absl::StatusOr<std::unique_ptr<PagedIterator>> Open(std::shared_ptr<CursorConnections> connections,
                                                             std::shared_ptr<const std::atomic<bool>> closed,
                                                             const PageQuery& query, int page_size, bool* found);
  // The iterator over a complete result of at most a page, read by one
  // statement (no cursor, no connection held); a marker row is skipped.
  static std::unique_ptr<PagedIterator> OfOnePage(Result page, std::shared_ptr<const std::atomic<bool>> closed);
  ~PagedIterator() override;

  absl::StatusOr<size_t> Next(absl::Span<EventView> out) override;

  // The events the iterator holds in client memory now (one page), and the
  // most it ever held at once.
  size_t events_held() const { return views_.size(); }
  size_t max_events_held() const { return max_events_held_; }
  // Whether the iterator still holds a connection (pages left to fetch).
  bool holds_connection() const { return conn_ != nullptr; }

 private:
  PagedIterator(std::shared_ptr<CursorConnections> connections, std::shared_ptr<const std::atomic<bool>> closed,
                int page_size);
  // Takes a fetched page of `asked` rows: its views, then either the end of
  // the cursor (a short page, or the last event the read will yield: the
  // connection goes back) or the request for the next page.
  void TakePage(Result page, int asked);
  absl::Status FetchNext();
  void Finish();

  const std::shared_ptr<CursorConnections> connections_;
  const std::shared_ptr<const std::atomic<bool>> closed_;
  const int page_size_;
  const std::string fetch_sql_;
  PGconn* conn_ = nullptr;  // while pages remain
  bool in_flight_ = false;  // a FETCH was sent on conn_, its reply not yet taken
  int64_t remaining_ = -1;  // events still to come, when known
  Result page_;
  std::vector<EventView> views_;
  std::vector<uint64_t> aligned_;  // copies of records libpq did not 8-align
  size_t next_ = 0;
  size_t max_events_held_ = 0;
  absl::Status failed_;
};

}  // namespace estoria::core::pgstore

#endif  // ESTORIA_CORE_PGSTORE_PG_CURSOR_H_

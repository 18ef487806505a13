// Paged reads: see pg_cursor.h for the mechanism and why it keeps the read
// rules.
#include "core/pgstore/pg_cursor.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/util/status.h"

namespace estoria::core::pgstore {
namespace {

constexpr char kCursor[] = "est_page";

bool Healthy(PGconn* c) { return PQstatus(c) == CONNECTION_OK && PQpipelineStatus(c) == PQ_PIPELINE_OFF; }

// Sends BEGIN, DECLARE and the first FETCH in one pipeline and returns the
// FETCH's rows.
absl::StatusOr<Result> DeclareAndFetch(PGconn* c, const PageQuery& query, const std::string& fetch_sql) {
  const std::string declare = absl::StrCat("DECLARE ", kCursor, " BINARY NO SCROLL CURSOR FOR ", query.select);
  if (PQenterPipelineMode(c) != 1) return PgError(c, nullptr, "entering pipeline mode");
  bool sent = PQsendQueryParams(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", 0, nullptr, nullptr, nullptr,
                                nullptr, 1) == 1;
  sent = sent && PQsendQueryParams(c, declare.c_str(), query.params.size(), nullptr, query.params.values(),
                                   query.params.lengths(), query.params.formats(), 1) == 1;
  sent = sent && PQsendQueryParams(c, fetch_sql.c_str(), 0, nullptr, nullptr, nullptr, nullptr, 1) == 1;
  sent = sent && PQpipelineSync(c) == 1;
  if (!sent) return PgError(c, nullptr, "declaring a read cursor");
  absl::Status status = absl::OkStatus();
  Result rows;
  for (int q = 0; q < 3; ++q) {
    Result r(PQgetResult(c));
    if (r == nullptr) return PgError(c, nullptr, "declaring a read cursor");  // the connection broke
    const ExecStatusType st = PQresultStatus(r.get());
    if (status.ok() && st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
      status = PgError(c, r.get(), q == 2 ? "fetching a page" : "declaring a read cursor");
    }
    if (q == 2) rows = std::move(r);
    Result end(PQgetResult(c));  // NULL after each query's result
  }
  Result sync(PQgetResult(c));
  if (sync == nullptr || PQresultStatus(sync.get()) != PGRES_PIPELINE_SYNC) {
    return status.ok() ? PgError(c, nullptr, "declaring a read cursor") : status;
  }
  PQexitPipelineMode(c);
  if (!status.ok()) return status;
  return rows;
}

}  // namespace

// ------------------------------------------------------------ connections

CursorConnections::CursorConnections(std::string conninfo, int keep_idle)
    : conninfo_(std::move(conninfo)), keep_idle_(keep_idle) {}

CursorConnections::~CursorConnections() { Close(); }

absl::StatusOr<PGconn*> CursorConnections::Acquire() {
  for (;;) {
    PGconn* c = nullptr;
    {
      MutexLock lock(&mu_);
      if (closed_) return ClosedError();
      if (idle_.empty()) break;
      c = idle_.back();
      idle_.pop_back();
    }
    // The reply of the ROLLBACK that Release sent, if any, then as the pool
    // does: an idle connection the server dropped is replaced.
    for (Result r(PQgetResult(c)); r != nullptr; r.reset(PQgetResult(c))) {
    }
    if (PQconsumeInput(c) != 0 && PQstatus(c) == CONNECTION_OK && PQtransactionStatus(c) == PQTRANS_IDLE) return c;
    PQfinish(c);
  }
  PGconn* c = nullptr;
  ASSIGN_OR_RETURN(c, ConnectTo(conninfo_, ""));
  // The pool's reason (pg_store.cc): ordered ranges of a key want the index
  // scan, not a bitmap scan and a sort, whatever the statistics say.
  if (absl::Status s = Exec(c, "SET enable_bitmapscan = off"); !s.ok()) {
    PQfinish(c);
    return s;
  }
  return c;
}

void CursorConnections::Release(PGconn* c) {
  if (c == nullptr) return;
  const PGTransactionStatusType tx = PQtransactionStatus(c);
  if (Healthy(c) && (tx == PQTRANS_IDLE || ((tx == PQTRANS_INTRANS || tx == PQTRANS_INERROR) &&
                                            PQsendQuery(c, "ROLLBACK") == 1))) {
    MutexLock lock(&mu_);
    if (!closed_ && static_cast<int>(idle_.size()) < keep_idle_) {
      idle_.push_back(c);
      return;
    }
  }
  PQfinish(c);
}

void CursorConnections::Close() {
  std::vector<PGconn*> idle;
  {
    MutexLock lock(&mu_);
    closed_ = true;
    idle.swap(idle_);
  }
  for (PGconn* c : idle) PQfinish(c);
}

// ------------------------------------------------------------ iterator

PagedIterator::PagedIterator(std::shared_ptr<CursorConnections> connections,
                             std::shared_ptr<const std::atomic<bool>> closed, int page_size)
    : connections_(std::move(connections)),
      closed_(std::move(closed)),
      page_size_(page_size),
      fetch_sql_(absl::StrCat("FETCH FORWARD ", page_size, " FROM ", kCursor)) {}

PagedIterator::~PagedIterator() { Finish(); }

absl::StatusOr<std::unique_ptr<PagedIterator>> PagedIterator::Open(
    std::shared_ptr<CursorConnections> connections, std::shared_ptr<const std::atomic<bool>> closed,
    const PageQuery& query, int page_size, bool* found) {
  std::unique_ptr<PagedIterator> it(new PagedIterator(std::move(connections), std::move(closed), page_size));
  ASSIGN_OR_RETURN(it->conn_, it->connections_->Acquire());
  // A stream read's first page is one row longer: the marker, which holds
  // no event.
  const int first = page_size + (query.marker ? 1 : 0);
  absl::StatusOr<Result> page =
      DeclareAndFetch(it->conn_, query, query.marker ? absl::StrCat("FETCH FORWARD ", first, " FROM ", kCursor)
                                                     : it->fetch_sql_);
  if (!page.ok()) return page.status();  // the destructor gives the connection back
  if (query.count > 0) it->remaining_ = query.count;
  if (query.marker) {
    const PGresult* r = page->get();
    *found = PQntuples(r) > 0 && PQgetisnull(r, 0, 0);
    if (!*found) return it;
    const int64_t events = GetInt64(r, 0, 1);
    it->remaining_ = it->remaining_ < 0 ? events : std::min(it->remaining_, events);
  }
  it->TakePage(*std::move(page), first);
  return it;
}

std::unique_ptr<PagedIterator> PagedIterator::OfOnePage(Result page, std::shared_ptr<const std::atomic<bool>> closed) {
  std::unique_ptr<PagedIterator> it(new PagedIterator(nullptr, std::move(closed), 0));
  it->TakePage(std::move(page), 0);
  return it;
}

void PagedIterator::TakePage(Result page, int asked) {
  const int rows = PQntuples(page.get());
  views_.clear();
  next_ = 0;
  // Binary values are 8-aligned in libpq's result blocks as built today, so
  // views point into the page itself; a value that is not gets an aligned
  // copy (FlatBuffers reads assume alignment).
  size_t words = 0;
  for (int i = 0; i < rows; ++i) {
    if (PQgetisnull(page.get(), i, 0)) continue;
    if (reinterpret_cast<uintptr_t>(PQgetvalue(page.get(), i, 0)) % 8 != 0) {
      words += (static_cast<size_t>(PQgetlength(page.get(), i, 0)) + 7) / 8;
    }
  }
  aligned_.assign(words, 0);
  uint8_t* at = reinterpret_cast<uint8_t*>(aligned_.data());
  for (int i = 0; i < rows; ++i) {
    if (PQgetisnull(page.get(), i, 0)) continue;
    const std::string_view bytes = GetBytes(page.get(), i, 0);
    if (reinterpret_cast<uintptr_t>(bytes.data()) % 8 == 0) {
      views_.push_back(EventView{reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()});
    } else {
      std::memcpy(at, bytes.data(), bytes.size());
      views_.push_back(EventView{at, bytes.size()});
      at += (bytes.size() + 7) / 8 * 8;
    }
  }
  page_ = std::move(page);
  max_events_held_ = std::max(max_events_held_, views_.size());
  if (remaining_ >= 0) remaining_ -= static_cast<int64_t>(views_.size());
  if (conn_ == nullptr) return;  // one page, read whole
  if (rows < asked || remaining_ == 0) {
    Finish();
    return;
  }
  // Ask for the next page now: the server reads it while this one is used.
  in_flight_ = PQsendQueryParams(conn_, fetch_sql_.c_str(), 0, nullptr, nullptr, nullptr, nullptr, 1) == 1;
}

absl::Status PagedIterator::FetchNext() {
  // The previous page goes first: never two pages in memory.
  page_.reset();
  views_.clear();
  aligned_.clear();
  next_ = 0;
  Result r;
  if (in_flight_) {
    in_flight_ = false;
    r.reset(PQgetResult(conn_));
    for (Result end(PQgetResult(conn_)); end != nullptr; end.reset(PQgetResult(conn_))) {
    }
  }
  if (r == nullptr || PQresultStatus(r.get()) != PGRES_TUPLES_OK) {
    absl::Status s = PgError(conn_, r.get(), "fetching a page");
    Finish();
    return s;
  }
  TakePage(std::move(r), page_size_);
  return absl::OkStatus();
}

void PagedIterator::Finish() {
  if (conn_ == nullptr) return;
  if (in_flight_) {  // given up early: the page asked for is read and dropped
    for (Result r(PQgetResult(conn_)); r != nullptr; r.reset(PQgetResult(conn_))) {
    }
    in_flight_ = false;
  }
  connections_->Release(conn_);  // ends the read-only transaction
  conn_ = nullptr;
}

absl::StatusOr<size_t> PagedIterator::Next(absl::Span<EventView> out) {
  if (closed_->load(std::memory_order_acquire)) {
    Finish();
    page_.reset();
    views_.clear();
    return ClosedError();
  }
  if (out.empty()) return absl::InvalidArgumentError("Next needs room for at least one event");
  if (!failed_.ok()) return failed_;
  while (next_ == views_.size()) {
    if (conn_ == nullptr) return 0;
    if (absl::Status s = FetchNext(); !s.ok()) {
      failed_ = s;
      return s;
    }
  }
  const size_t n = std::min(out.size(), views_.size() - next_);
  for (size_t i = 0; i < n; ++i) out[i] = views_[next_++];
  return n;
}

}  // namespace estoria::core::pgstore

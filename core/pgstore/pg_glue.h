// libpq glue shared by the PostgreSQL store's parts (pg_store.cc, pg_cursor.cc,
// pg_listener.cc): owning results, binary parameters and values, and how a
// server failure becomes an absl::Status.
//
// Holds no state; every type here is used by one thread at a time.
#ifndef ESTORIA_CORE_PGSTORE_PG_GLUE_H_
#define ESTORIA_CORE_PGSTORE_PG_GLUE_H_

#include <libpq-fe.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace estoria::core::pgstore {

struct ResultFree {
  void operator()(PGresult* r) const { PQclear(r); }
};
using Result = std::unique_ptr<PGresult, ResultFree>;

// Binary parameters; the buffers live as long as the object.
class Params {
 public:
  void Text(std::string_view s) { Add(std::string(s)); }
  void Int(int64_t v);
  void Bytes(std::string b) { Add(std::move(b)); }
  void Null();
  // A count or bound where 0 means "no limit": SQL NULL.
  void IntOrNull(int64_t v);
  int size() const { return static_cast<int>(values_.size()); }
  const char* const* values() const { return values_.data(); }
  const int* lengths() const { return lengths_.data(); }
  const int* formats() const { return formats_.data(); }

 private:
  void Add(std::string b);
  std::deque<std::string> buffers_;
  std::vector<const char*> values_;
  std::vector<int> lengths_;
  std::vector<int> formats_;
};

void PutBe32(std::string& out, uint32_t v);
int64_t GetInt64(const PGresult* r, int row, int col);
std::string_view GetBytes(const PGresult* r, int row, int col);
bool IsUniqueViolation(const PGresult* r);
// The server's message on one line (libpq's end in newlines).
std::string OneLine(std::string_view message);

// The status of a failed statement: kUnavailable (EST_ERR_IO) whatever the
// server said, for the store cannot tell a transient failure from a lasting
// one; a statement the server rejects as malformed is a bug (kInternal).
absl::Status PgError(PGconn* conn, const PGresult* r, std::string_view what);

void IgnoreNotice(void*, const char*);

// Opens a connection from a libpq URI, with `application_name` (may be
// empty: libpq's default) so that operators (and tests) can tell the
// store's connections apart in pg_stat_activity. Notices are ignored.
// kUnavailable when the server cannot be reached.
absl::StatusOr<PGconn*> ConnectTo(const std::string& conninfo, const std::string& application_name);

// Runs `sql` (no parameters, text) and checks it returned no error.
absl::Status Exec(PGconn* conn, const char* sql);

}  // namespace estoria::core::pgstore

#endif  // ESTORIA_CORE_PGSTORE_PG_GLUE_H_

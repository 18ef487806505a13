// libpq glue: see pg_glue.h.
#include "core/pgstore/pg_glue.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "core/util/status.h"

namespace estoria::core::pgstore {

void Params::Int(int64_t v) {
  std::string b(8, '\0');
  for (int i = 0; i < 8; ++i) b[i] = static_cast<char>(static_cast<uint64_t>(v) >> (56 - 8 * i));
  Add(std::move(b));
}

void Params::Null() {
  values_.push_back(nullptr);
  lengths_.push_back(0);
  formats_.push_back(1);
}

void Params::IntOrNull(int64_t v) {
  if (v == 0) {
    Null();
  } else {
    Int(v);
  }
}

void Params::Add(std::string b) {
  buffers_.push_back(std::move(b));
  values_.push_back(buffers_.back().data());
  lengths_.push_back(static_cast<int>(buffers_.back().size()));
  formats_.push_back(1);
}

void PutBe32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>(v >> (24 - 8 * i)));
}

int64_t GetInt64(const PGresult* r, int row, int col) {
  const auto* p = reinterpret_cast<const uint8_t*>(PQgetvalue(r, row, col));
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | p[i];
  return static_cast<int64_t>(v);
}

std::string_view GetBytes(const PGresult* r, int row, int col) {
  return std::string_view(PQgetvalue(r, row, col), static_cast<size_t>(PQgetlength(r, row, col)));
}

bool IsUniqueViolation(const PGresult* r) {
  const char* state = r == nullptr ? nullptr : PQresultErrorField(r, PG_DIAG_SQLSTATE);
  return state != nullptr && std::strcmp(state, "23505") == 0;
}

std::string OneLine(std::string_view message) {
  std::string out(absl::StripTrailingAsciiWhitespace(ToAbsl(message)));
  std::replace(out.begin(), out.end(), '\n', ' ');
  return out;
}

absl::Status PgError(PGconn* conn, const PGresult* r, std::string_view what) {
  std::string message = r != nullptr ? PQresultErrorMessage(r) : "";
  if (message.empty()) message = PQerrorMessage(conn);
  const char* state = r == nullptr ? nullptr : PQresultErrorField(r, PG_DIAG_SQLSTATE);
  std::string text = absl::StrCat("PostgreSQL ", ToAbsl(what), ": ", OneLine(message));
  if (state != nullptr && state[0] == '4' && state[1] == '2') return absl::InternalError(text);
  return absl::UnavailableError(text);
}

void IgnoreNotice(void*, const char*) {}

absl::StatusOr<PGconn*> ConnectTo(const std::string& conninfo, const std::string& application_name) {
  // expand_dbname: the URI fills in every setting, then application_name
  // (later in the list) overrides the URI's own.
  const char* const keys[] = {"dbname", application_name.empty() ? nullptr : "application_name", nullptr};
  const char* const values[] = {conninfo.c_str(), application_name.c_str(), nullptr};
  PGconn* c = PQconnectdbParams(keys, values, 1);
  if (c == nullptr) return absl::ResourceExhaustedError("libpq could not allocate a connection");
  if (PQstatus(c) != CONNECTION_OK) {
    absl::Status s = absl::UnavailableError(absl::StrCat("cannot connect to PostgreSQL: ", OneLine(PQerrorMessage(c))));
    PQfinish(c);
    return s;
  }
  PQsetNoticeProcessor(c, IgnoreNotice, nullptr);
  return c;
}

absl::Status Exec(PGconn* conn, const char* sql) {
  Result r(PQexec(conn, sql));
  const ExecStatusType st = r == nullptr ? PGRES_FATAL_ERROR : PQresultStatus(r.get());
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) return PgError(conn, r.get(), sql);
  return absl::OkStatus();
}

}  // namespace estoria::core::pgstore

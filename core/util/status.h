// Status helpers shared by the whole core: the two propagation macros that
// Debian's Abseil lacks, the string_view bridge, and the error constructors
// whose codes capi/ maps onto est_status (see capi/src/status_map.cc).
#ifndef ESTORIA_CORE_UTIL_STATUS_H_
#define ESTORIA_CORE_UTIL_STATUS_H_

#include <cstdint>
#include <optional>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace estoria::core {

// Debian's Abseil keeps its own string_view; the core speaks std::string_view.
inline absl::string_view ToAbsl(std::string_view s) { return absl::string_view(s.data(), s.size()); }
inline std::string_view ToStd(absl::string_view s) { return std::string_view(s.data(), s.size()); }

// Canonical codes used by the core, one meaning each:
//   kInvalidArgument  bad input (nothing changed)
//   kNotFound         stream or snapshot absent
//   kAborted          optimistic concurrency failure; see VersionMismatchError
//   kFailedPrecondition  the store (or a handle's store) is closed
//   kUnavailable      an I/O failure (the store may be poisoned)
//   kDataLoss         corruption
//   kAlreadyExists    the store is locked by another writer (BUSY)
//   kUnimplemented    the backend lacks the capability
//   kResourceExhausted out of memory
//   kCancelled        est_store_cancel stopped it; nothing changed (CancelledError)
//   kInternal         a bug; with the AppliedPartially payload: an aggregate
//                     save appended its events but could not apply them
absl::Status ClosedError(std::string_view what = "the store is closed");

// A version mismatch carries the expected and the actual version as a payload
// so that the ABI can report them.
absl::Status VersionMismatchError(int64_t expected, int64_t actual);
struct VersionMismatch {
  int64_t expected;
  int64_t actual;
};
std::optional<VersionMismatch> GetVersionMismatch(const absl::Status& status);
// The mismatch of Expect::kStreamExists on a stream that does not exist
// (expected 0 reported, actual 0).
absl::Status StreamMustExistError();

// `status` with `prefix` before its message, its code and payloads kept.
absl::Status Annotate(const absl::Status& status, std::string_view prefix);

// An aggregate save whose events were appended (versions first..last) but
// whose apply failed: the host must reload. Code kInternal (a host's state
// the engine could not bring up to date), told apart by its payload;
// capi maps it to EST_ERR_APPLIED_PARTIALLY.
absl::Status AppliedPartiallyError(std::string_view message, int64_t first_version, int64_t last_version);
struct AppliedPartially {
  int64_t first_version;
  int64_t last_version;
};
std::optional<AppliedPartially> GetAppliedPartially(const absl::Status& status);

}  // namespace estoria::core

#define ESTORIA_CONCAT_INNER_(a, b) a##b
#define ESTORIA_CONCAT_(a, b) ESTORIA_CONCAT_INNER_(a, b)

// Returns from the enclosing function when `expr` (an absl::Status) is not OK.
#define RETURN_IF_ERROR(expr)                                   \
  do {                                                          \
    ::absl::Status estoria_status_ = (expr);                    \
    if (!estoria_status_.ok()) return estoria_status_;          \
  } while (0)

// `lhs = value of expr` (an absl::StatusOr<T>), or returns its status.
#define ASSIGN_OR_RETURN(lhs, expr) \
  ESTORIA_ASSIGN_OR_RETURN_IMPL_(ESTORIA_CONCAT_(estoria_statusor_, __LINE__), lhs, expr)
#define ESTORIA_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                   \
  if (!tmp.ok()) return std::move(tmp).status();       \
  lhs = std::move(tmp).value()

#endif  // ESTORIA_CORE_UTIL_STATUS_H_

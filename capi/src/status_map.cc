// Status plumbing of the C ABI: absl::StatusCode -> est_status, the names of
// the codes, and the per-thread last-error message behind est_last_error().
// Thread safety: the message is thread_local; everything else is stateless.
#include <cstdio>
#include <string>

#include "capi/src/guard.h"
#include "core/util/redact.h"
#include "core/util/status.h"
#include "estoria/estoria.h"

namespace estoria::capi {
namespace {

// This thread's last failure. `fixed` overrides `text` when even building
// the message ran out of memory.
struct LastError {
  std::string text;
  const char* fixed = nullptr;
};

LastError& ThreadLastError() {
  thread_local LastError last;
  return last;
}

// Sets the message "fn: a: b" (a, b optional); never throws.
void SetMessage(const char* fn, std::string_view a, std::string_view b) noexcept {
  LastError& last = ThreadLastError();
  try {
    last.text.assign(fn);
    if (!a.empty()) last.text.append(": ").append(a);
    if (!b.empty()) last.text.append(": ").append(b);
    // A message may quote a connection URI (the store's, or libpq's echo of it).
    last.text = core::RedactSecrets(last.text);
    last.fixed = nullptr;
  } catch (...) {
    last.fixed = "out of memory while recording an error";
  }
}

}  // namespace

namespace {

// The one table of which core code stands for which est_status (the code
// table of core/util/status.h); read both ways.
struct CodePair {
  absl::StatusCode code;
  est_status status;
};
constexpr CodePair kCodePairs[] = {
    {absl::StatusCode::kOk, EST_OK},
    {absl::StatusCode::kInvalidArgument, EST_ERR_INVALID_ARGUMENT},
    {absl::StatusCode::kNotFound, EST_ERR_NOT_FOUND},
    {absl::StatusCode::kAborted, EST_ERR_VERSION_MISMATCH},
    {absl::StatusCode::kFailedPrecondition, EST_ERR_CLOSED},
    {absl::StatusCode::kUnavailable, EST_ERR_IO},
    {absl::StatusCode::kDataLoss, EST_ERR_CORRUPTION},
    {absl::StatusCode::kAlreadyExists, EST_ERR_BUSY},
    {absl::StatusCode::kUnimplemented, EST_ERR_UNSUPPORTED},
    {absl::StatusCode::kResourceExhausted, EST_ERR_NO_MEMORY},
    {absl::StatusCode::kInternal, EST_ERR_INTERNAL},
    {absl::StatusCode::kCancelled, EST_ERR_CANCELLED},
};

}  // namespace

est_status StatusFromCode(absl::StatusCode code) {
  if (code == absl::StatusCode::kOutOfRange) return EST_ERR_INVALID_ARGUMENT;
  for (const CodePair& p : kCodePairs) {
    if (p.code == code) return p.status;
  }
  return EST_ERR_INTERNAL;
}

absl::StatusCode CodeFromStatus(est_status status) {
  for (const CodePair& p : kCodePairs) {
    if (p.status == status) return p.code;
  }
  return absl::StatusCode::kInternal;
}

est_status Fail(est_status code, const char* fn, std::string_view what) {
  SetMessage(fn, what, {});
  return code;
}

est_status FailArg(const char* fn, std::string_view field, std::string_view what) {
  SetMessage(fn, field, what);
  return EST_ERR_INVALID_ARGUMENT;
}

est_status FailStatus(const char* fn, const absl::Status& status, std::string_view field) {
  est_status code = StatusFromCode(status.code());
  // An OK status here is a bug of the caller; never report success for it.
  if (code == EST_OK) code = EST_ERR_INTERNAL;
  // Told apart from a plain internal error by its payload.
  if (code == EST_ERR_INTERNAL && core::GetAppliedPartially(status)) code = EST_ERR_APPLIED_PARTIALLY;
  SetMessage(fn, field, core::ToStd(status.message()));
  return code;
}

est_status FailFork(const char* fn) {
  return Fail(EST_ERR_INVALID_ARGUMENT, fn, "handle used across fork()");
}

est_status FailStructSize(const char* fn, const char* what, StructSizeCheck check, size_t first_release) {
  char text[160];
  switch (check) {
    case StructSizeCheck::kBelowFirstRelease:
      std::snprintf(text, sizeof(text), "struct_size is below %zu, the size of its first release (set it with the _INIT macro)",
                    first_release);
      return FailArg(fn, what, text);
    case StructSizeCheck::kImplausible:
      std::snprintf(text, sizeof(text), "struct_size is above %u: not initialised?", kMaxStructSize);
      return FailArg(fn, what, text);
    case StructSizeCheck::kUnknownFieldsSet:
      SetMessage(fn, what, "sets fields this library version does not know (a newer header?)");
      return EST_ERR_UNSUPPORTED;
    case StructSizeCheck::kOk:
      break;
  }
  return EST_OK;
}

namespace internal {

est_status OnBadAlloc(const char* fn) noexcept {
  SetMessage(fn, "out of memory", {});
  return EST_ERR_NO_MEMORY;
}

est_status OnException(const char* fn, const char* what) noexcept {
  SetMessage(fn, "internal error: exception", what != nullptr ? what : "");
  return EST_ERR_INTERNAL;
}

void OnVoidException(const char* fn) noexcept { SetMessage(fn, "internal error: exception while freeing", {}); }

}  // namespace internal
}  // namespace estoria::capi

extern "C" {

EST_API const char* est_status_name(est_status status) {
  switch (status) {
    case EST_OK:
      return "EST_OK";
    case EST_END:
      return "EST_END";
    case EST_ERR_INVALID_ARGUMENT:
      return "EST_ERR_INVALID_ARGUMENT";
    case EST_ERR_NOT_FOUND:
      return "EST_ERR_NOT_FOUND";
    case EST_ERR_VERSION_MISMATCH:
      return "EST_ERR_VERSION_MISMATCH";
    case EST_ERR_CLOSED:
      return "EST_ERR_CLOSED";
    case EST_ERR_IO:
      return "EST_ERR_IO";
    case EST_ERR_CORRUPTION:
      return "EST_ERR_CORRUPTION";
    case EST_ERR_BUSY:
      return "EST_ERR_BUSY";
    case EST_ERR_UNSUPPORTED:
      return "EST_ERR_UNSUPPORTED";
    case EST_ERR_NO_MEMORY:
      return "EST_ERR_NO_MEMORY";
    case EST_ERR_INTERNAL:
      return "EST_ERR_INTERNAL";
    case EST_ERR_APPLIED_PARTIALLY:
      return "EST_ERR_APPLIED_PARTIALLY";
    case EST_ERR_CANCELLED:
      return "EST_ERR_CANCELLED";
    default:
      return "EST_UNKNOWN";
  }
}

EST_API const char* est_last_error(void) {
  // Cannot throw: the thread_local's constructor does not allocate.
  const estoria::capi::LastError& last = estoria::capi::ThreadLastError();
  return last.fixed != nullptr ? last.fixed : last.text.c_str();
}

EST_API uint32_t est_abi_version(void) { return EST_ABI_VERSION; }

}  // extern "C"

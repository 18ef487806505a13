// The one guard of the C ABI: every exported est_* function runs its body
// through Guarded() (or GuardedVoid() for the destroyers), which catches
// every exception, maps absl::Status onto est_status and records the
// calling thread's last-error message.
//
// The message lives in a thread_local string, so nothing here needs a lock.
// A successful call leaves the previous message in place (like errno), so
// the hot paths (est_iter_next, est_append) never touch thread-local storage
// unless they fail.
#ifndef ESTORIA_CAPI_SRC_GUARD_H_
#define ESTORIA_CAPI_SRC_GUARD_H_

#include <cstddef>
#include <cstdint>
#include <exception>
#include <new>
#include <string_view>

#include "absl/status/status.h"
#include "capi/src/options.h"
#include "core/util/fork.h"
#include "estoria/estoria.h"

namespace estoria::capi {

// The est_status that a core status code stands for (see the code table in
// core/util/status.h).
est_status StatusFromCode(absl::StatusCode code);
// The core code that an error est_status stands for (kInternal for EST_OK,
// EST_END, EST_ERR_APPLIED_PARTIALLY and unknown codes: not a status a
// callback hands the library).
absl::StatusCode CodeFromStatus(est_status status);

// Records "fn: what" as this thread's last error and returns `code`.
est_status Fail(est_status code, const char* fn, std::string_view what);
// The same with "fn: field: what", for a bad input.
est_status FailArg(const char* fn, std::string_view field, std::string_view what);
// Maps a failed core status; its message becomes "fn: [field: ]message".
est_status FailStatus(const char* fn, const absl::Status& status, std::string_view field = {});

namespace internal {
// The guard's catch clauses, out of line so that each call site stays small.
est_status OnBadAlloc(const char* fn) noexcept;
est_status OnException(const char* fn, const char* what) noexcept;
void OnVoidException(const char* fn) noexcept;
}  // namespace internal

// Runs `body` (returning est_status) with every exception turned into
// EST_ERR_NO_MEMORY (std::bad_alloc) or EST_ERR_INTERNAL.
template <typename Body>
inline est_status Guarded(const char* fn, Body&& body) noexcept {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    return internal::OnBadAlloc(fn);
  } catch (const std::exception& e) {
    return internal::OnException(fn, e.what());
  } catch (...) {
    return internal::OnException(fn, "unknown exception");
  }
}

// For the destroyers, which return nothing: an exception is swallowed (and
// recorded as the thread's last error).
template <typename Body>
inline void GuardedVoid(const char* fn, Body&& body) noexcept {
  try {
    body();
  } catch (...) {
    internal::OnVoidException(fn);
  }
}

// True when a handle made in fork generation `generation` is used from a
// forked child. Cheap: one relaxed atomic load.
inline bool UsedAcrossFork(uint64_t generation) { return generation != core::ForkGeneration(); }

// The failure for a handle used across fork().
est_status FailFork(const char* fn);

// The size of each versioned struct's first release. When a field is added
// to one of them, specialise this with the size it had before.
template <typename T>
inline constexpr size_t kFirstReleaseSize = sizeof(T);
// ABI 1.1 added est_event.metadata.
template <>
inline constexpr size_t kFirstReleaseSize<est_event> = offsetof(est_event, metadata);

// est_append_result gained `flags` (EST_APPEND_DUPLICATE) after its first release.
template <>
inline constexpr size_t kFirstReleaseSize<est_append_result> = offsetof(est_append_result, flags);

// ABI 1.2 added the read options' until_timestamp_ns.
template <>
inline constexpr size_t kFirstReleaseSize<est_read_options> = offsetof(est_read_options, until_timestamp_ns);
template <>
inline constexpr size_t kFirstReleaseSize<est_read_all_options> =
    offsetof(est_read_all_options, until_timestamp_ns);
// ABI 1.2 appended the host fields to est_store_options.
template <>
inline constexpr size_t kFirstReleaseSize<est_store_options> = offsetof(est_store_options, threads);

// The failure for a struct_size that CheckStructSize refused.
est_status FailStructSize(const char* fn, const char* what, StructSizeCheck check, size_t first_release);

// Reads the caller's input struct `in` (NULL: the defaults already in *out).
template <typename T>
inline est_status ReadOptions(const char* fn, const char* what, const T* in, T* out) {
  if (in == nullptr) return EST_OK;
  StructSizeCheck check = CheckStructSize(in, kFirstReleaseSize<T>, sizeof(T), /*check_tail=*/true);
  if (check != StructSizeCheck::kOk) return FailStructSize(fn, what, check, kFirstReleaseSize<T>);
  ReadStruct(in, out);
  return EST_OK;
}

// Checks an output struct before anything changes; it is then written with
// WriteStruct.
template <typename T>
inline est_status CheckOutput(const char* fn, const char* what, const T* out) {
  StructSizeCheck check = CheckStructSize(out, kFirstReleaseSize<T>, sizeof(T), /*check_tail=*/false);
  if (check != StructSizeCheck::kOk) return FailStructSize(fn, what, check, kFirstReleaseSize<T>);
  return EST_OK;
}

}  // namespace estoria::capi

#endif  // ESTORIA_CAPI_SRC_GUARD_H_

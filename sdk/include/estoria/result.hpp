// estoria/result.hpp: Error and Result<T>, how every SDK call reports failure
// without exceptions. An Error is a copy of what the C ABI said (status code,
// est_last_error() message, and for a version mismatch the expected and
// actual versions), so it stays valid after later calls.
//
// Header-only over estoria.h. Results are plain values: no shared state, a
// Result may be moved between threads like the value it holds.
#ifndef ESTORIA_RESULT_HPP_
#define ESTORIA_RESULT_HPP_

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

#include "estoria/estoria.h"

namespace estoria {

// The C ABI's error codes as a C++ enum. Values are the est_status values,
// so an unknown code from a newer library is still representable.
enum class ErrorCode : est_status {
  kInvalidArgument = EST_ERR_INVALID_ARGUMENT,
  kNotFound = EST_ERR_NOT_FOUND,
  kVersionMismatch = EST_ERR_VERSION_MISMATCH,
  kClosed = EST_ERR_CLOSED,
  kIo = EST_ERR_IO,
  kCorruption = EST_ERR_CORRUPTION,
  kBusy = EST_ERR_BUSY,
  kUnsupported = EST_ERR_UNSUPPORTED,
  kNoMemory = EST_ERR_NO_MEMORY,
  kInternal = EST_ERR_INTERNAL,
  kAppliedPartially = EST_ERR_APPLIED_PARTIALLY,
};

class Error {
 public:
  Error(est_status status, std::string message) : status_(status), message_(std::move(message)) {}
  Error(ErrorCode code, std::string message) : Error(static_cast<est_status>(code), std::move(message)) {}

  // The error the calling thread's last est_* call reported. Call it right
  // after the failing call: est_last_error() is overwritten by the next one.
  static Error Last(est_status status) { return Error(status, est_last_error()); }

  // A version mismatch with the versions it was about.
  static Error VersionMismatch(std::string message, int64_t expected, int64_t actual) {
    Error e(EST_ERR_VERSION_MISMATCH, std::move(message));
    e.expected_version_ = expected;
    e.actual_version_ = actual;
    return e;
  }

  est_status status() const { return status_; }
  ErrorCode code() const { return static_cast<ErrorCode>(status_); }
  // "EST_ERR_NOT_FOUND", ...; static storage.
  const char* name() const { return est_status_name(status_); }
  const std::string& message() const { return message_; }

  bool is_not_found() const { return status_ == EST_ERR_NOT_FOUND; }
  bool is_version_mismatch() const { return status_ == EST_ERR_VERSION_MISMATCH; }
  bool is_closed() const { return status_ == EST_ERR_CLOSED; }

  // Set for EST_ERR_VERSION_MISMATCH from an append: what the append expected
  // (0 for "no stream") and the stream's version when it was refused. Both
  // are 0 for other errors.
  int64_t expected_version() const { return expected_version_; }
  int64_t actual_version() const { return actual_version_; }

  // "EST_ERR_NOT_FOUND: stream account_... not found"
  std::string ToString() const {
    std::string s = name();
    if (!message_.empty()) {
      s += ": ";
      s += message_;
    }
    return s;
  }

 private:
  est_status status_;
  std::string message_;
  int64_t expected_version_ = 0;
  int64_t actual_version_ = 0;
};

namespace internal {

// Using the value of a failed Result is a bug in the caller; without
// exceptions the only safe answer is to stop, saying why.
[[noreturn]] inline void DieOnBadAccess(const Error& error) {
  std::fprintf(stderr, "estoria: value() of a failed Result: %s\n", error.ToString().c_str());
  std::abort();
}

[[noreturn]] inline void DieOnOkError() {
  std::fprintf(stderr, "estoria: error() of a successful Result\n");
  std::abort();
}

}  // namespace internal

// Holds a T or an Error. Never throws: value(), operator* and operator-> on
// an error, or error() on a success, abort the process with a message, so
// check ok() first.
template <typename T>
class [[nodiscard]] Result {
  static_assert(!std::is_reference_v<T>, "Result<T&> is not supported");
  static_assert(!std::is_same_v<std::remove_cv_t<T>, Error>, "Result<Error> is ambiguous");

 public:
  Result(const T& value) : v_(std::in_place_index<0>, value) {}  // NOLINT: implicit by design
  Result(T&& value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & {
    if (!ok()) internal::DieOnBadAccess(std::get<1>(v_));
    return std::get<0>(v_);
  }
  const T& value() const& {
    if (!ok()) internal::DieOnBadAccess(std::get<1>(v_));
    return std::get<0>(v_);
  }
  T&& value() && {
    if (!ok()) internal::DieOnBadAccess(std::get<1>(v_));
    return std::get<0>(std::move(v_));
  }

  template <typename U>
  T value_or(U&& fallback) const& {
    return ok() ? std::get<0>(v_) : static_cast<T>(std::forward<U>(fallback));
  }

  const Error& error() const {
    if (ok()) internal::DieOnOkError();
    return std::get<1>(v_);
  }

  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Error> v_;
};

// Success without a value, or an Error. Default-constructed is success.
template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT: implicit by design

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }

  // Aborts on an error, like Result<T>::value(); lets generic code treat
  // every Result alike.
  void value() const {
    if (!ok_) internal::DieOnBadAccess(error_);
  }

  const Error& error() const {
    if (ok_) internal::DieOnOkError();
    return error_;
  }

 private:
  Error error_{EST_OK, std::string()};
  bool ok_ = true;
};

namespace internal {

// Result<void> for a status from the ABI, with this thread's message.
inline Result<void> Check(est_status status) {
  if (status == EST_OK) return {};
  return Error::Last(status);
}

}  // namespace internal

}  // namespace estoria

#endif  // ESTORIA_RESULT_HPP_

// Cancellation of a store's long operations (est_store_cancel): compaction
// and Verify take a token when they start and check it between steps; a
// Cancel() after that makes them stop, undo what they wrote and return
// CancelledError. A Cancel() with nothing running cancels nothing later.
//
// Thread-safe: Cancel may be called from any thread, also from a progress
// callback of the operation it cancels.
#ifndef ESTORIA_CORE_STORE_CANCELLATION_H_
#define ESTORIA_CORE_STORE_CANCELLATION_H_

#include <atomic>
#include <cstdint>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/util/status.h"

namespace estoria::core {

class Cancellation {
 public:
  using Token = uint64_t;

  // For an operation starting now.
  Token Begin() const { return epoch_.load(std::memory_order_acquire); }
  // True once Cancel() was called after Begin() returned `token`.
  bool Cancelled(Token token) const { return epoch_.load(std::memory_order_acquire) != token; }
  void Cancel() { epoch_.fetch_add(1, std::memory_order_acq_rel); }

 private:
  std::atomic<uint64_t> epoch_{0};
};

// kCancelled (EST_ERR_CANCELLED): `what` was cancelled and changed nothing.
inline absl::Status CancelledError(std::string_view what) {
  return absl::CancelledError(absl::StrCat(ToAbsl(what), " was cancelled; the store is as it was"));
}

}  // namespace estoria::core

#endif  // ESTORIA_CORE_STORE_CANCELLATION_H_

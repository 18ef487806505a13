// The error a host callback reports: its est_status plus the message it
// left with est_set_error, turned back into an absl::Status. Shared by the
// callbacks of the aggregate engine (aggregate.cc, where est_set_error
// lives) and of projections (projection.cc). Thread-local: a callback's
// message belongs to the thread it ran on.
#ifndef ESTORIA_CAPI_SRC_CALLBACK_ERROR_H_
#define ESTORIA_CAPI_SRC_CALLBACK_ERROR_H_

#include <string_view>

#include "absl/status/status.h"
#include "estoria/estoria.h"

namespace estoria::capi {

// Before a callback: a message left by an earlier one that then returned OK
// must not be taken for this one's.
void ClearCallbackError();
// The flag ClearCallbackError clears, for a run of callbacks on this thread
// to clear it without a TLS lookup each.
bool* CallbackErrorFlag();
// The core status for a callback's error `s`: the code the ABI maps back to
// `s`, and the callback's message or, without one, which callback
// (`callback`) failed with what.
absl::Status CallbackStatus(est_status s, std::string_view callback);

}  // namespace estoria::capi

#endif  // ESTORIA_CAPI_SRC_CALLBACK_ERROR_H_

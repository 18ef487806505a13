// Conversions shared by the calls that append (append.cc, txn.cc): the
// caller's est_append_options to the core's, and a core result to the
// caller's est_append_result (written within its struct_size).
// Stateless; usable from any thread.
#ifndef ESTORIA_CAPI_SRC_APPEND_CONVERT_H_
#define ESTORIA_CAPI_SRC_APPEND_CONVERT_H_

#include "core/store/event_store.h"
#include "estoria/estoria.h"

namespace estoria::capi {

// NULL `in`: the defaults. Records the failure as `fn`'s and returns it.
est_status ToAppendOptions(const char* fn, const est_append_options* in, core::AppendOptions* out);
// REQUIRES: CheckOutput(result) passed.
void FillAppendResult(const core::AppendResult& in, est_append_result* result);

}  // namespace estoria::capi

#endif  // ESTORIA_CAPI_SRC_APPEND_CONVERT_H_

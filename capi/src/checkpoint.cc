// est_checkpoint_*: projection checkpoints (the header's experimental
// section), translated onto core::CheckpointStore; est_txn_checkpoint lives
// with the transaction calls (txn.cc). Every input is checked before the
// store sees it, so bad input changes nothing.
#define EST_EXPERIMENTAL 1
#include <string_view>
#include <vector>

#include "absl/strings/str_cat.h"
#include "capi/src/guard.h"
#include "capi/src/handles.h"
#include "core/store/event_store.h"
#include "core/store/store_checks.h"
#include "estoria/estoria.h"

using estoria::capi::Fail;
using estoria::capi::FailArg;
using estoria::capi::FailStatus;
using estoria::capi::Guarded;
namespace core = estoria::core;

namespace estoria::capi {

est_status ReadProjectionId(const char* fn, const char* text, std::string_view* out) {
  // An ID longer than this cannot be valid; the bound keeps a missing NUL
  // from being read far.
  constexpr size_t kMaxText = 256;
  if (est_status s = ReadCString(fn, "projection_id", text, kMaxText, false, out); s != EST_OK) return s;
  absl::Status valid = core::CheckProjectionId(*out);
  if (!valid.ok()) return FailStatus(fn, valid, "projection_id");
  return EST_OK;
}

}  // namespace estoria::capi

extern "C" {

EST_API est_status est_checkpoint_save(est_store* store, const char* projection_id, int64_t position) {
  static constexpr char kFn[] = "est_checkpoint_save";
  return Guarded(kFn, [&]() -> est_status {
    if (est_status s = estoria::capi::CheckStore(kFn, store); s != EST_OK) return s;
    std::string_view id;
    if (est_status s = estoria::capi::ReadProjectionId(kFn, projection_id, &id); s != EST_OK) return s;
    if (position < 0) return FailArg(kFn, "position", absl::StrCat(position, " is negative"));
    absl::Status status = store->core->SaveCheckpoint(id, position);
    if (!status.ok()) return FailStatus(kFn, status);
    return EST_OK;
  });
}

EST_API est_status est_checkpoint_load(est_store* store, const char* projection_id, int64_t* position,
                                       int64_t* updated_at_ns) {
  static constexpr char kFn[] = "est_checkpoint_load";
  return Guarded(kFn, [&]() -> est_status {
    if (position == nullptr) return FailArg(kFn, "position", "is NULL");
    if (est_status s = estoria::capi::CheckStore(kFn, store); s != EST_OK) return s;
    std::string_view id;
    if (est_status s = estoria::capi::ReadProjectionId(kFn, projection_id, &id); s != EST_OK) return s;
    absl::StatusOr<core::Checkpoint> got = store->core->LoadCheckpoint(id);
    if (!got.ok()) return FailStatus(kFn, got.status());
    *position = got->position;
    if (updated_at_ns != nullptr) *updated_at_ns = got->updated_at_ns;
    return EST_OK;
  });
}

EST_API est_status est_checkpoint_delete(est_store* store, const char* projection_id) {
  static constexpr char kFn[] = "est_checkpoint_delete";
  return Guarded(kFn, [&]() -> est_status {
    if (est_status s = estoria::capi::CheckStore(kFn, store); s != EST_OK) return s;
    std::string_view id;
    if (est_status s = estoria::capi::ReadProjectionId(kFn, projection_id, &id); s != EST_OK) return s;
    absl::Status status = store->core->DeleteCheckpoint(id);
    if (!status.ok()) return FailStatus(kFn, status);
    return EST_OK;
  });
}

EST_API est_status est_checkpoint_list(est_store* store, est_checkpoint_visit_fn visit, void* user) {
  static constexpr char kFn[] = "est_checkpoint_list";
  return Guarded(kFn, [&]() -> est_status {
    if (visit == nullptr) return FailArg(kFn, "visit", "is NULL");
    if (est_status s = estoria::capi::CheckStore(kFn, store); s != EST_OK) return s;
    absl::StatusOr<std::vector<core::Checkpoint>> all = store->core->ListCheckpoints();
    if (!all.ok()) return FailStatus(kFn, all.status());
    // No lock is held here: the callback may call the library.
    for (const core::Checkpoint& c : *all) {
      const est_status s = visit(user, c.projection_id.c_str(), c.position, c.updated_at_ns);
      if (s != EST_OK) {
        return Fail(s, kFn, absl::StrCat("the callback returned ", est_status_name(s), " at ", c.projection_id));
      }
    }
    return EST_OK;
  });
}

}  // extern "C"

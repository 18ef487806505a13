// Snapshots: est_snapshot_write / est_snapshot_read and the accessors of an
// est_snapshot, which shares an immutable core::Snapshot (so any thread may
// read it; free it once).
#include <cstring>
#include <memory>
#include <string_view>
#include <utility>

#include "absl/strings/str_cat.h"
#include "capi/src/guard.h"
#include "capi/src/handles.h"
#include "core/store/event_store.h"
#include "core/store/writable_batch.h"
#include "estoria/estoria.h"

using estoria::capi::FailArg;
using estoria::capi::FailStatus;
using estoria::capi::Guarded;
namespace core = estoria::core;

extern "C" {

EST_API est_status est_snapshot_write(est_store* store, const char* aggregate_id, int64_t version, const void* data,
                                      size_t data_len, const char* content_type,
                                      const est_snapshot_write_options* options) {
  static constexpr char kFn[] = "est_snapshot_write";
  return Guarded(kFn, [&]() -> est_status {
    if (est_status s = estoria::capi::CheckStore(kFn, store); s != EST_OK) return s;
    core::Id id;
    if (est_status s = estoria::capi::ParseId(kFn, "aggregate_id", aggregate_id, &id); s != EST_OK) return s;
    if (version <= 0) return FailArg(kFn, "version", absl::StrCat(version, " is not > 0"));
    // Snapshots share the batch limit: what one append may carry.
    if (est_status s = estoria::capi::CheckBytes(kFn, "data", data, data_len, core::kMaxBatchBytes); s != EST_OK) {
      return s;
    }
    std::string_view content;
    if (est_status s = estoria::capi::ReadCString(kFn, "content_type", content_type, core::kMaxBatchBytes, true,
                                                  &content);
        s != EST_OK) {
      return s;
    }
    est_snapshot_write_options o = EST_SNAPSHOT_WRITE_OPTIONS_INIT;
    if (est_status s = estoria::capi::ReadOptions(kFn, "options", options, &o); s != EST_OK) return s;
    if (o.timestamp_ns < 0) {
      return FailArg(kFn, "options.timestamp_ns", absl::StrCat(o.timestamp_ns, " is negative"));
    }
    absl::Status status = store->core->WriteSnapshot(
        id, version, absl::Span<const uint8_t>(static_cast<const uint8_t*>(data), data_len), content,
        o.timestamp_ns);
    if (!status.ok()) return FailStatus(kFn, status);
    return EST_OK;
  });
}

EST_API est_status est_snapshot_read(est_store* store, const char* aggregate_id, int64_t max_version,
                                     est_snapshot** out) {
  static constexpr char kFn[] = "est_snapshot_read";
  return Guarded(kFn, [&]() -> est_status {
    if (out == nullptr) return FailArg(kFn, "out", "is NULL");
    *out = nullptr;
    if (est_status s = estoria::capi::CheckStore(kFn, store); s != EST_OK) return s;
    core::Id id;
    if (est_status s = estoria::capi::ParseId(kFn, "aggregate_id", aggregate_id, &id); s != EST_OK) return s;
    if (max_version < 0) return FailArg(kFn, "max_version", absl::StrCat(max_version, " is negative"));
    auto handle = std::make_unique<est_snapshot>();
    absl::StatusOr<std::shared_ptr<const core::Snapshot>> snapshot = store->core->ReadSnapshot(id, max_version);
    if (!snapshot.ok()) return FailStatus(kFn, snapshot.status());
    if (*snapshot == nullptr) return estoria::capi::Fail(EST_ERR_INTERNAL, kFn, "the store returned no snapshot");
    handle->snapshot = *std::move(snapshot);
    *out = handle.release();
    return EST_OK;
  });
}

EST_API int64_t est_snapshot_version(const est_snapshot* snapshot) {
  return snapshot != nullptr ? snapshot->snapshot->version : 0;
}

EST_API int64_t est_snapshot_timestamp_ns(const est_snapshot* snapshot) {
  return snapshot != nullptr ? snapshot->snapshot->timestamp_ns : 0;
}

EST_API const uint8_t* est_snapshot_data(const est_snapshot* snapshot, size_t* len) {
  if (snapshot == nullptr) {
    if (len != nullptr) *len = 0;
    return nullptr;
  }
  const core::HostString& data = snapshot->snapshot->data;
  if (len != nullptr) *len = data.size();
  return reinterpret_cast<const uint8_t*>(data.data());
}

EST_API const char* est_snapshot_content_type(const est_snapshot* snapshot) {
  return snapshot != nullptr ? snapshot->snapshot->content_type.c_str() : "";
}

EST_API void est_snapshot_free(est_snapshot* snapshot) {
  estoria::capi::GuardedVoid("est_snapshot_free", [&] { delete snapshot; });
}

}  // extern "C"

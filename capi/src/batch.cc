// est_batch_*: the C face of core::BatchBuilder. A batch is used from one
// thread at a time; the bytes it hands out are its own and valid until the
// next est_batch_add* or est_batch_free.
#include <cstring>
#include <string_view>

#include "capi/src/guard.h"
#include "capi/src/handles.h"
#include "core/store/writable_batch.h"
#include "core/util/host_allocator.h"
#include "estoria/estoria.h"

namespace estoria::capi {

est_status CheckBatch(const char* fn, const est_batch* batch) {
  if (batch == nullptr) return FailArg(fn, "batch", "is NULL");
  if (UsedAcrossFork(batch->fork_generation)) return FailFork(fn);
  return EST_OK;
}

}  // namespace estoria::capi

using estoria::capi::CheckBatch;
using estoria::capi::FailArg;
using estoria::capi::FailStatus;
using estoria::capi::Guarded;
using estoria::capi::ReadCString;
namespace core = estoria::core;

extern "C" {

EST_API est_status est_batch_new(est_batch** out) {
  static constexpr char kFn[] = "est_batch_new";
  // From here on est_set_allocator is refused (whatever this call returns).
  core::FreezeHostAllocator();
  return Guarded(kFn, [&]() -> est_status {
    if (out == nullptr) return FailArg(kFn, "out", "is NULL");
    *out = nullptr;
    *out = new est_batch();
    return EST_OK;
  });
}

EST_API est_status est_batch_add(est_batch* batch, const char* type, const void* data, size_t data_len,
                                 const char* content_type) {
  static constexpr char kFn[] = "est_batch_add";
  return Guarded(kFn, [&]() -> est_status {
    if (est_status s = CheckBatch(kFn, batch); s != EST_OK) return s;
    std::string_view type_view;
    if (est_status s = ReadCString(kFn, "type", type, core::kMaxTypeNameLen, false, &type_view); s != EST_OK) {
      return s;
    }
    if (est_status s = estoria::capi::CheckBytes(kFn, "data", data, data_len, core::kMaxBatchBytes); s != EST_OK) {
      return s;
    }
    std::string_view content_view;
    if (est_status s = ReadCString(kFn, "content_type", content_type, core::kMaxBatchBytes, true, &content_view);
        s != EST_OK) {
      return s;
    }
    absl::Status status = batch->builder.Add(
        type_view, absl::Span<const uint8_t>(static_cast<const uint8_t*>(data), data_len), content_view);
    if (!status.ok()) return FailStatus(kFn, status);
    return EST_OK;
  });
}

EST_API est_status est_batch_add_metadata(est_batch* batch, const char* key, const char* value) {
  static constexpr char kFn[] = "est_batch_add_metadata";
  return Guarded(kFn, [&]() -> est_status {
    if (est_status s = CheckBatch(kFn, batch); s != EST_OK) return s;
    std::string_view key_view, value_view;
    if (est_status s = estoria::capi::ReadMetadataPair(kFn, key, value, &key_view, &value_view); s != EST_OK) {
      return s;
    }
    absl::Status status = batch->builder.AddMetadata(key_view, value_view);
    if (!status.ok()) return FailStatus(kFn, status);
    return EST_OK;
  });
}

EST_API est_status est_batch_set_id(est_batch* batch, const est_uuid* id) {
  static constexpr char kFn[] = "est_batch_set_id";
  return Guarded(kFn, [&]() -> est_status {
    if (est_status s = CheckBatch(kFn, batch); s != EST_OK) return s;
    if (id == nullptr) return FailArg(kFn, "id", "is NULL");
    core::Uuid uuid;
    std::memcpy(uuid.bytes.data(), id->bytes, sizeof(id->bytes));
    absl::Status status = batch->builder.SetId(uuid);
    if (!status.ok()) return FailStatus(kFn, status);
    return EST_OK;
  });
}

EST_API est_status est_batch_set_timestamp(est_batch* batch, int64_t timestamp_ns) {
  static constexpr char kFn[] = "est_batch_set_timestamp";
  return Guarded(kFn, [&]() -> est_status {
    if (est_status s = CheckBatch(kFn, batch); s != EST_OK) return s;
    if (timestamp_ns <= 0) return FailArg(kFn, "timestamp_ns", "must be > 0");
    absl::Status status = batch->builder.SetTimestamp(timestamp_ns);
    if (!status.ok()) return FailStatus(kFn, status);
    return EST_OK;
  });
}

EST_API est_status est_batch_bytes(est_batch* batch, const uint8_t** bytes, size_t* len) {
  static constexpr char kFn[] = "est_batch_bytes";
  return Guarded(kFn, [&]() -> est_status {
    if (est_status s = CheckBatch(kFn, batch); s != EST_OK) return s;
    if (bytes == nullptr) return FailArg(kFn, "bytes", "is NULL");
    if (len == nullptr) return FailArg(kFn, "len", "is NULL");
    *bytes = nullptr;
    *len = 0;
    absl::StatusOr<absl::Span<const uint8_t>> out = batch->builder.Bytes();
    if (!out.ok()) return FailStatus(kFn, out.status());
    *bytes = out->data();
    *len = out->size();
    return EST_OK;
  });
}

EST_API void est_batch_free(est_batch* batch) {
  estoria::capi::GuardedVoid("est_batch_free", [&] { delete batch; });
}

}  // extern "C"

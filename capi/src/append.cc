// est_append and est_append_batch: check every input (est_append copies and
// verifies the caller's bytes with core::WritableBatch::FromBytes; a batch
// handle was checked as it was built), append through the core and report
// the result. Thread-safe as the store is; nothing of the caller's is kept.
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "capi/src/guard.h"
#include "capi/src/append_convert.h"
#include "capi/src/handles.h"
#include "core/store/event_store.h"
#include "core/store/writable_batch.h"
#include "core/util/status.h"
#include "estoria/estoria.h"

namespace core = estoria::core;

namespace estoria::capi {

est_status ToAppendOptions(const char* fn, const est_append_options* in, core::AppendOptions* out) {
  est_append_options o;
  est_append_options_init(&o);
  if (est_status s = ReadOptions(fn, "options", in, &o); s != EST_OK) return s;
  switch (o.expect) {
    case EST_EXPECT_ANY:
      out->expect = core::Expect::kAny;
      break;
    case EST_EXPECT_VERSION:
      if (o.expected_version < 0) {
        return FailArg(fn, "options.expected_version", absl::StrCat(o.expected_version, " is negative"));
      }
      out->expect = core::Expect::kVersion;
      out->expected_version = o.expected_version;
      break;
    case EST_EXPECT_NO_STREAM:
      out->expect = core::Expect::kNoStream;
      break;
    case EST_EXPECT_STREAM_EXISTS:
      out->expect = core::Expect::kStreamExists;
      break;
    default:
      return FailArg(fn, "options.expect", absl::StrCat(o.expect, " is not an EST_EXPECT_* value"));
  }
  if ((o.flags & ~EST_APPEND_RESTORE) != 0) {
    return FailArg(fn, "options.flags", absl::StrFormat("unknown flag bits 0x%x", o.flags & ~EST_APPEND_RESTORE));
  }
  out->restore = (o.flags & EST_APPEND_RESTORE) != 0;
  if (out->restore) {
    if (o.first_version < 0) {
      return FailArg(fn, "options.first_version", absl::StrCat(o.first_version, " is negative"));
    }
    out->first_version = o.first_version;
  }
  return EST_OK;
}

void FillAppendResult(const core::AppendResult& in, est_append_result* result) {
  est_append_result out = EST_APPEND_RESULT_INIT;
  out.first_version = in.first_version;
  out.last_version = in.last_version;
  out.first_position = in.first_position;
  out.last_position = in.last_position;
  out.actual_version = in.actual_version;
  out.flags = in.duplicate ? EST_APPEND_DUPLICATE : 0u;
  WriteStruct(out, result);
}

namespace {

// The part of est_append and est_append_batch after their own checks:
// appends `batch` through the core and reports the result.
est_status AppendChecked(const char* fn, est_store* store, const core::Id& id, const core::WritableBatch& batch,
                         const core::AppendOptions& options, est_append_result* result, est_iter** written) {
  // Allocated before the append, so that running out of memory afterwards
  // cannot report a failure for an append that happened.
  std::unique_ptr<est_iter> iter;
  if (written != nullptr) iter.reset(NewIter(nullptr, store->life));
  std::unique_ptr<core::EventIterator> written_core;
  absl::StatusOr<core::AppendResult> appended =
      store->core->Append(id, batch, options, written != nullptr ? &written_core : nullptr);
  if (!appended.ok()) {
    if (result != nullptr && appended.status().code() == absl::StatusCode::kAborted) {
      if (std::optional<core::VersionMismatch> mismatch = core::GetVersionMismatch(appended.status())) {
        est_append_result out = EST_APPEND_RESULT_INIT;
        out.actual_version = mismatch->actual;
        WriteStruct(out, result);
      }
    }
    return FailStatus(fn, appended.status());
  }
  if (result != nullptr) FillAppendResult(*appended, result);
  if (written != nullptr) {
    iter->core = std::move(written_core);
    iter->ended = iter->core == nullptr;  // a backend that gave none: an empty iterator
    *written = iter.release();
  }
  return EST_OK;
}

// The checks both appends share: store, result, stream ID and options.
est_status CheckAppend(const char* fn, est_store* store, const char* stream_id, const est_append_options* options,
                       est_append_result* result, est_iter** written, core::Id* id,
                       core::AppendOptions* append_options) {
  if (written != nullptr) *written = nullptr;
  if (est_status s = CheckStore(fn, store); s != EST_OK) return s;
  if (result != nullptr) {
    if (est_status s = CheckOutput(fn, "result", result); s != EST_OK) return s;
  }
  if (est_status s = ParseId(fn, "stream_id", stream_id, id); s != EST_OK) return s;
  return ToAppendOptions(fn, options, append_options);
}

}  // namespace
}  // namespace estoria::capi

extern "C" {

EST_API est_status est_append(est_store* store, const char* stream_id, const uint8_t* batch, size_t batch_len,
                              const est_append_options* options, est_append_result* result, est_iter** written) {
  static constexpr char kFn[] = "est_append";
  return estoria::capi::Guarded(kFn, [&]() -> est_status {
    core::Id id;
    core::AppendOptions append_options;
    if (est_status s =
            estoria::capi::CheckAppend(kFn, store, stream_id, options, result, written, &id, &append_options);
        s != EST_OK) {
      return s;
    }
    if (est_status s = estoria::capi::CheckBytes(kFn, "batch", batch, batch_len, core::kMaxBatchBytes);
        s != EST_OK) {
      return s;
    }
    absl::StatusOr<core::WritableBatch> checked =
        core::WritableBatch::FromBytes(absl::Span<const uint8_t>(batch, batch_len));
    if (!checked.ok()) return estoria::capi::FailStatus(kFn, checked.status(), "batch");
    return estoria::capi::AppendChecked(kFn, store, id, *checked, append_options, result, written);
  });
}

EST_API est_status est_append_batch(est_store* store, const char* stream_id, est_batch* batch,
                                    const est_append_options* options, est_append_result* result,
                                    est_iter** written) {
  static constexpr char kFn[] = "est_append_batch";
  return estoria::capi::Guarded(kFn, [&]() -> est_status {
    core::Id id;
    core::AppendOptions append_options;
    if (est_status s =
            estoria::capi::CheckAppend(kFn, store, stream_id, options, result, written, &id, &append_options);
        s != EST_OK) {
      return s;
    }
    if (est_status s = estoria::capi::CheckBatch(kFn, batch); s != EST_OK) return s;
    // A view: the batch handle is the caller's, unchanged until this returns.
    absl::StatusOr<core::WritableBatch> view = batch->builder.View();
    if (!view.ok()) return estoria::capi::FailStatus(kFn, view.status(), "batch");
    return estoria::capi::AppendChecked(kFn, store, id, *view, append_options, result, written);
  });
}

}  // extern "C"

// The operator's calls: est_store_sync, est_store_stats, est_store_verify, est_store_compact,
// est_snapshot_prune, and the process-wide est_set_log_handler.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/str_cat.h"
#include "capi/src/guard.h"
#include "capi/src/handles.h"
#include "core/store/event_store.h"
#include "core/util/log.h"
#include "estoria/estoria.h"

using estoria::capi::FailArg;
using estoria::capi::FailStatus;
using estoria::capi::Guarded;
namespace core = estoria::core;

namespace {

// The checks and the progress adapter est_store_verify and est_store_compact
// share: an output report (NULL ok) and a store, then the caller's callback
// as the core's ProgressFn (empty when NULL).
template <typename Report>
est_status CheckLongOperation(const char* fn, est_store* store, Report* report) {
  if (report != nullptr) {
    if (est_status s = estoria::capi::CheckOutput(fn, "report", report); s != EST_OK) return s;
  }
  return estoria::capi::CheckStore(fn, store);
}

core::ProgressFn ProgressOf(est_progress_fn progress, void* user) {
  if (progress == nullptr) return {};
  return [progress, user](uint64_t done, uint64_t total) { progress(user, done, total); };
}

}  // namespace

extern "C" {

EST_API void est_stats_init(est_stats* stats) {
  if (stats != nullptr) *stats = est_stats EST_STATS_INIT;
}

EST_API void est_stream_info_init(est_stream_info* info) {
  if (info != nullptr) *info = est_stream_info EST_STREAM_INFO_INIT;
}

EST_API void est_verify_report_init(est_verify_report* report) {
  if (report != nullptr) *report = est_verify_report EST_VERIFY_REPORT_INIT;
}

EST_API est_status est_store_sync(est_store* store) {
  static constexpr char kFn[] = "est_store_sync";
  return Guarded(kFn, [&]() -> est_status {
    if (est_status s = estoria::capi::CheckStore(kFn, store); s != EST_OK) return s;
    if (absl::Status status = store->core->Sync(); !status.ok()) return FailStatus(kFn, status);
    return EST_OK;
  });
}

EST_API void est_set_log_handler(est_log_fn handler, void* user) {
  estoria::capi::GuardedVoid("est_set_log_handler", [&] { core::SetLogHandler(handler, user); });
}

EST_API est_status est_store_stats(est_store* store, est_stats* stats) {
  static constexpr char kFn[] = "est_store_stats";
  return Guarded(kFn, [&]() -> est_status {
    if (stats == nullptr) return FailArg(kFn, "stats", "is NULL");
    if (est_status s = estoria::capi::CheckOutput(kFn, "stats", stats); s != EST_OK) return s;
    if (est_status s = estoria::capi::CheckStore(kFn, store); s != EST_OK) return s;
    absl::StatusOr<core::StoreStats> got = store->core->Stats();
    if (!got.ok()) return FailStatus(kFn, got.status());
    est_stats out = EST_STATS_INIT;
    out.events = got->events;
    out.streams = got->streams;
    out.bytes = got->bytes;
    out.segments = got->segments;
    out.first_position = got->first_position;
    out.last_position = got->last_position;
    out.snapshots = got->snapshots;
    estoria::capi::WriteStruct(out, stats);
    return EST_OK;
  });
}

EST_API est_status est_store_verify(est_store* store, est_progress_fn progress, void* progress_user,
                                    est_verify_report* report) {
  static constexpr char kFn[] = "est_store_verify";
  return Guarded(kFn, [&]() -> est_status {
    if (est_status s = CheckLongOperation(kFn, store, report); s != EST_OK) return s;
    const core::ProgressFn on_progress = ProgressOf(progress, progress_user);
    core::VerifyReport got;
    absl::Status status = store->core->Verify(on_progress, &got);
    if ((status.ok() || status.code() == absl::StatusCode::kDataLoss) && report != nullptr) {
      est_verify_report out = EST_VERIFY_REPORT_INIT;
      out.segments = got.segments;
      out.records = got.records;
      out.events = got.events;
      out.bytes = got.bytes;
      estoria::capi::WriteStruct(out, report);
    }
    if (!status.ok()) return FailStatus(kFn, status);
    return EST_OK;
  });
}

EST_API void est_compact_report_init(est_compact_report* report) {
  if (report != nullptr) *report = est_compact_report EST_COMPACT_REPORT_INIT;
}

EST_API est_status est_store_compact(est_store* store, est_progress_fn progress, void* progress_user,
                                     est_compact_report* report) {
  static constexpr char kFn[] = "est_store_compact";
  return Guarded(kFn, [&]() -> est_status {
    if (est_status s = CheckLongOperation(kFn, store, report); s != EST_OK) return s;
    const core::ProgressFn on_progress = ProgressOf(progress, progress_user);
    core::CompactReport got;
    if (absl::Status status = store->core->Compact(on_progress, &got); !status.ok()) {
      return FailStatus(kFn, status);
    }
    if (report != nullptr) {
      est_compact_report out = EST_COMPACT_REPORT_INIT;
      out.segments_before = got.segments_before;
      out.segments_after = got.segments_after;
      out.bytes_before = got.bytes_before;
      out.bytes_after = got.bytes_after;
      out.events_kept = got.events_kept;
      out.events_dropped = got.events_dropped;
      estoria::capi::WriteStruct(out, report);
    }
    return EST_OK;
  });
}

EST_API est_status est_snapshot_prune(est_store* store, const char* aggregate_id, int64_t keep_last,
                                      int64_t min_version) {
  static constexpr char kFn[] = "est_snapshot_prune";
  return Guarded(kFn, [&]() -> est_status {
    if (est_status s = estoria::capi::CheckStore(kFn, store); s != EST_OK) return s;
    core::Id id;
    if (est_status s = estoria::capi::ParseId(kFn, "aggregate_id", aggregate_id, &id); s != EST_OK) return s;
    if (keep_last < 0) return FailArg(kFn, "keep_last", absl::StrCat(keep_last, " is negative"));
    if (min_version < 0) return FailArg(kFn, "min_version", absl::StrCat(min_version, " is negative"));
    if (absl::Status status = store->core->PruneSnapshots(id, keep_last, min_version); !status.ok()) {
      return FailStatus(kFn, status);
    }
    return EST_OK;
  });
}

EST_API est_status est_list_streams(est_store* store, const char* after_id, est_stream_info* streams,
                                    size_t capacity, size_t* count) {
  static constexpr char kFn[] = "est_list_streams";
  return Guarded(kFn, [&]() -> est_status {
    if (count == nullptr) return FailArg(kFn, "count", "is NULL");
    *count = 0;
    if (streams == nullptr) return FailArg(kFn, "streams", "is NULL");
    if (capacity == 0) return FailArg(kFn, "capacity", "is 0");
    if (est_status s = estoria::capi::CheckOutput(kFn, "streams[0]", streams); s != EST_OK) return s;
    const size_t stride = streams->struct_size;
    if (stride % alignof(est_stream_info) != 0) {
      return FailArg(kFn, "streams[0].struct_size",
                     absl::StrCat(stride, " is not a multiple of ", alignof(est_stream_info), " (the array's stride)"));
    }
    if (est_status s = estoria::capi::CheckStore(kFn, store); s != EST_OK) return s;
    std::string_view after;  // EST_ID_MAX_LEN counts the NUL
    if (est_status s = estoria::capi::ReadCString(kFn, "after_id", after_id, EST_ID_MAX_LEN - 1, true, &after);
        s != EST_OK) {
      return s;
    }
    absl::StatusOr<std::vector<core::StreamInfo>> page = store->core->ListStreams(after, capacity);
    if (!page.ok()) return FailStatus(kFn, page.status());
    unsigned char* slot = reinterpret_cast<unsigned char*>(streams);
    for (const core::StreamInfo& info : *page) {
      est_stream_info out = EST_STREAM_INFO_INIT;
      out.version = info.version;
      out.events = info.events;
      const std::string id = info.id.ToString();
      std::memcpy(out.id, id.data(), std::min(id.size(), sizeof(out.id) - 1));
      std::memcpy(slot, &stride, sizeof(uint32_t));
      estoria::capi::WriteStruct(out, reinterpret_cast<est_stream_info*>(slot));
      slot += stride;
    }
    *count = page->size();
    return EST_OK;
  });
}

}  // extern "C"

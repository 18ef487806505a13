// est_store_open / est_store_close / est_delete_stream, and the est_*_init
// functions of the option structs. A store handle may be used from many
// threads; close must be the last call on it (its children live on).
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "absl/strings/str_cat.h"
#include "capi/src/guard.h"
#include "capi/src/handles.h"
#include "core/store/event_store.h"
#include "core/util/host_allocator.h"
#include "core/util/redact.h"
#include "core/util/status.h"
#include "estoria/estoria.h"

namespace estoria::capi {
namespace {

// Longest URI accepted (paths and connection strings fit easily).
constexpr size_t kMaxUriLen = 64 * 1024;
constexpr int32_t kDefaultSyncIntervalMs = 100;

// The host's callbacks as the core's StoreHost. The caller's pointers are
// kept for the store's life: the registration of the host fields.
std::shared_ptr<const core::StoreHost> MakeStoreHost(const est_store_options& o) {
  core::StoreHost::ClockFn clock;
  if (o.clock_ns != nullptr) clock = [fn = o.clock_ns, user = o.host_user] { return fn(user); };
  core::StoreHost::RandomFn random;
  if (o.random_bytes != nullptr) {
    random = [fn = o.random_bytes, user = o.host_user](uint8_t* buf, size_t len) { fn(user, buf, len); };
  }
  core::StoreHost::LogFn log;
  if (o.log != nullptr) {
    log = [fn = o.log, user = o.log_user](core::LogLevel level, std::string_view message) {
      const std::string text(message);  // NUL-terminated
      fn(user, static_cast<int32_t>(level), text.c_str());
    };
  }
  return std::make_shared<core::StoreHost>(std::move(clock), std::move(random), std::move(log));
}

est_status ToStoreOptions(const char* fn, const est_store_options* in, core::StoreOptions* out) {
  est_store_options o;
  est_store_options_init(&o);
  if (est_status s = ReadOptions(fn, "options", in, &o); s != EST_OK) return s;
  switch (o.sync_mode) {
    case EST_SYNC_ALWAYS:
      out->sync_mode = core::SyncMode::kAlways;
      break;
    case EST_SYNC_INTERVAL:
      out->sync_mode = core::SyncMode::kInterval;
      break;
    case EST_SYNC_NONE:
      out->sync_mode = core::SyncMode::kNone;
      break;
    default:
      return FailArg(fn, "options.sync_mode", absl::StrCat(o.sync_mode, " is not an EST_SYNC_* value"));
  }
  if (o.sync_interval_ms < 0) {
    return FailArg(fn, "options.sync_interval_ms", absl::StrCat(o.sync_interval_ms, " is negative"));
  }
  out->sync_interval_ms = o.sync_interval_ms == 0 ? kDefaultSyncIntervalMs : o.sync_interval_ms;
  // A boolean, but only 0 and 1: other values are kept for future meanings.
  if (o.read_only != 0 && o.read_only != 1) {
    return FailArg(fn, "options.read_only", absl::StrCat(o.read_only, " is neither 0 nor 1"));
  }
  out->read_only = o.read_only == 1;
  switch (o.threads) {
    case EST_THREADS_LIBRARY:
      out->threads = core::Threads::kLibrary;
      break;
    case EST_THREADS_NONE:
      out->threads = core::Threads::kNone;
      break;
    default:
      return FailArg(fn, "options.threads", absl::StrCat(o.threads, " is not an EST_THREADS_* value"));
  }
  if (o.clock_ns != nullptr || o.random_bytes != nullptr || o.log != nullptr) {
    out->host = MakeStoreHost(o);
  }
  return EST_OK;
}

}  // namespace

est_status CheckStore(const char* fn, const est_store* store) {
  if (store == nullptr) return FailArg(fn, "store", "is NULL");
  if (UsedAcrossFork(store->fork_generation)) return FailFork(fn);
  return EST_OK;
}

est_status CheckOpenStore(const char* fn, const est_store* store) {
  if (est_status s = CheckStore(fn, store); s != EST_OK) return s;
  if (store->life->closed.load(std::memory_order_acquire)) return Fail(EST_ERR_CLOSED, fn, "the store is closed");
  return EST_OK;
}

}  // namespace estoria::capi

using estoria::capi::FailArg;
using estoria::capi::FailStatus;
using estoria::capi::Guarded;
namespace core = estoria::core;

extern "C" {

EST_API void est_store_options_init(est_store_options* options) {
  if (options != nullptr) *options = est_store_options EST_STORE_OPTIONS_INIT;
}
EST_API void est_append_options_init(est_append_options* options) {
  if (options != nullptr) *options = est_append_options EST_APPEND_OPTIONS_INIT;
}
EST_API void est_append_result_init(est_append_result* result) {
  if (result != nullptr) *result = est_append_result EST_APPEND_RESULT_INIT;
}
EST_API void est_read_options_init(est_read_options* options) {
  if (options != nullptr) *options = est_read_options EST_READ_OPTIONS_INIT;
}
EST_API void est_read_all_options_init(est_read_all_options* options) {
  if (options != nullptr) *options = est_read_all_options EST_READ_ALL_OPTIONS_INIT;
}
EST_API void est_event_init(est_event* event) {
  if (event != nullptr) *event = est_event EST_EVENT_INIT;
}
EST_API void est_snapshot_write_options_init(est_snapshot_write_options* options) {
  if (options != nullptr) *options = est_snapshot_write_options EST_SNAPSHOT_WRITE_OPTIONS_INIT;
}

EST_API est_status est_store_open(const char* uri, const est_store_options* options, est_store** out) {
  static constexpr char kFn[] = "est_store_open";
  // From here on est_set_allocator is refused (whatever this call returns).
  core::FreezeHostAllocator();
  return Guarded(kFn, [&]() -> est_status {
    if (out == nullptr) return FailArg(kFn, "out", "is NULL");
    *out = nullptr;
    std::string_view uri_view;
    if (est_status s = estoria::capi::ReadCString(kFn, "uri", uri, estoria::capi::kMaxUriLen, false, &uri_view);
        s != EST_OK) {
      return s;
    }
    core::StoreOptions store_options;
    if (est_status s = estoria::capi::ToStoreOptions(kFn, options, &store_options); s != EST_OK) return s;
    absl::StatusOr<std::shared_ptr<core::EventStore>> opened =
        core::OpenStore(uri_view, store_options);
    if (!opened.ok()) {
      // libpq may quote a fragment of the URI that RedactSecrets (applied to
      // every message) cannot recognize as a password: hide the known one too.
      const absl::Status& failed = opened.status();
      return FailStatus(kFn, absl::Status(failed.code(), core::ToAbsl(core::RedactSecrets(
                                                             core::ToStd(failed.message()), core::UriPassword(uri_view)))));
    }
    auto handle = std::make_unique<est_store>();
    handle->core = *std::move(opened);
    handle->life = std::make_shared<estoria::capi::StoreLife>();
    *out = handle.release();
    return EST_OK;
  });
}

EST_API void est_store_close(est_store* store) {
  estoria::capi::GuardedVoid("est_store_close", [&] {
    if (store == nullptr) return;
    std::unique_ptr<est_store> handle(store);
    if (estoria::capi::UsedAcrossFork(handle->fork_generation)) {
      // A forked child must not close what belongs to its parent (locks,
      // background threads that do not exist here): the core store is
      // deliberately leaked; only the handle is freed.
      new std::shared_ptr<core::EventStore>(std::move(handle->core));
      return;
    }
    handle->life->closed.store(true, std::memory_order_release);
    handle->core->Close();
    // Subscriptions waiting on this store read again and see the close
    // (also for backends whose Close does not notify).
    handle->core->commit_notifier().Notify();
  });
}

EST_API est_status est_delete_stream(est_store* store, const char* stream_id, int64_t to_version) {
  static constexpr char kFn[] = "est_delete_stream";
  return Guarded(kFn, [&]() -> est_status {
    if (est_status s = estoria::capi::CheckStore(kFn, store); s != EST_OK) return s;
    core::Id id;
    if (est_status s = estoria::capi::ParseId(kFn, "stream_id", stream_id, &id); s != EST_OK) return s;
    if (to_version < 0) return FailArg(kFn, "to_version", absl::StrCat(to_version, " is negative"));
    absl::Status status = store->core->DeleteStream(id, to_version);
    if (!status.ok()) return FailStatus(kFn, status);
    return EST_OK;
  });
}

}  // extern "C"

// The aggregate calls of the C ABI (est_aggregate_*, est_set_error,
// est_buffer_append, est_hook_add_metadata): translation onto the engine in
// core/aggregate/ and nothing more. The host's vtable becomes a
// core::AggregateType whose callbacks turn stored records into est_event
// views (capi/src/event_fill.h) and their est_status (with the message a
// callback left with est_set_error) back into absl::Status.
//
// Ownership: est_aggregate_store shares the engine (which keeps the core
// store alive) and the est_store's "closed" flag; est_aggregate owns its
// core::Aggregate, which shares the engine: handles may be freed in any
// order. Thread safety: an aggregate store from many threads, an aggregate
// from one at a time; the callback message is thread_local.
#define EST_EXPERIMENTAL 1  // est_aggregate_save_many
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "capi/src/append_convert.h"
#include "capi/src/event_fill.h"
#include "capi/src/callback_error.h"
#include "capi/src/guard.h"
#include "capi/src/handles.h"
#include "core/aggregate/aggregate_store.h"
#include "core/aggregate/aggregate_type.h"
#include "core/aggregate/hooks.h"
#include "core/id/uuid.h"
#include "core/store/transaction.h"
#include "core/store/writable_batch.h"
#include "core/util/status.h"
#include "estoria/estoria.h"

namespace core = estoria::core;

struct est_aggregate_store {
  std::shared_ptr<core::AggregateStore> core;
  std::shared_ptr<const estoria::capi::StoreLife> life;
  uint64_t fork_generation = core::ForkGeneration();
};

struct est_aggregate {
  std::unique_ptr<core::Aggregate> core;
  std::shared_ptr<const estoria::capi::StoreLife> life;
  uint64_t fork_generation = core::ForkGeneration();
};

struct est_hook_context {
  core::HookContext* core;
};

struct est_buffer {
  std::string* bytes;
};

namespace estoria::capi {

// The message est_set_error left on this thread for the callback that is
// about to return an error. The flag is a plain thread_local (no
// initialisation guard): clearing it before every apply is one store.
thread_local bool callback_error_set = false;

std::string& ThreadCallbackMessage() {
  thread_local std::string text;
  return text;
}

void ClearCallbackError() { callback_error_set = false; }

// In a shared library every naming of a thread_local is a __tls_get_addr
// call, and GCC would repeat it in a loop: hence the flag's address.
__attribute__((noinline)) bool* CallbackErrorFlag() { return &callback_error_set; }

// The host's own status comes back from a load: see callback_error.h.
absl::Status CallbackStatus(est_status s, std::string_view callback) {
  std::string message = callback_error_set
                            ? std::move(ThreadCallbackMessage())
                            : absl::StrCat(core::ToAbsl(callback), " returned ", est_status_name(s));
  callback_error_set = false;
  absl::StatusCode code = s < 0 ? CodeFromStatus(s) : absl::StatusCode::kInternal;
  // EST_END, EST_ERR_APPLIED_PARTIALLY (not a callback's to return) and
  // unknown codes become internal errors that say what came back.
  if (code == absl::StatusCode::kInternal && s != EST_ERR_INTERNAL) absl::StrAppend(&message, " (status ", s, ")");
  return absl::Status(code, message);
}

namespace {

// Longest message a callback may leave.
constexpr size_t kMaxCallbackMessage = 64 * 1024;
// Largest encoded state (a snapshot or cache entry).
constexpr size_t kMaxEncodedState = core::kMaxBatchBytes;

// The host's vtable as a core::AggregateType. Immutable: shared by every
// thread that uses the aggregate store.
class CapiType final : public core::AggregateType {
 public:
  CapiType(const est_aggregate_type& t, std::string name, std::string content_type)
      : t_(t), name_(std::move(name)), content_type_(std::move(content_type)) {}

  const std::string& name() const override { return name_; }

  absl::StatusOr<void*> NewState(const core::Uuid& id) override {
    est_uuid uuid;
    std::memcpy(uuid.bytes, id.bytes.data(), sizeof(uuid.bytes));
    void* state = nullptr;
    ClearCallbackError();
    est_status s = t_.new_state(t_.user, &uuid, &state);
    if (s != EST_OK) return CallbackStatus(s, "new_state");
    if (state == nullptr) return absl::InternalError("new_state returned EST_OK without a state");
    return state;
  }

  absl::Status Apply(void* state, const core::EventView& view) override {
    size_t applied = 0;
    return ApplyEach(state, absl::MakeConstSpan(&view, 1), &applied);
  }

  // One est_event, filled in place for each view in turn: the fill of the
  // next view then overlaps the callback's own work on the state.
  absl::Status ApplyEach(void* state, absl::Span<const core::EventView> events, size_t* applied) override {
    *applied = 0;
    if (events.empty()) return absl::OkStatus();
    bool* const error_set = CallbackErrorFlag();
    const auto apply = t_.apply;  // not reloaded after every opaque call
    void* const user = t_.user;
    est_event event;
    event.struct_size = sizeof(est_event);
    // The run is of one stream, the aggregate's: its fields are set once.
    FillEvent(events[0], &event);
    // The type is shared by every thread that folds: the pairs are this run's.
    std::vector<est_metadata_pair> pairs;
    for (size_t i = 0; i < events.size(); ++i) {
      FillEventOfStream(events[i], &event);
      if (event.metadata_count > pairs.size()) pairs.resize(event.metadata_count);
      FillMetadata(events[i], &event, pairs.data());
      *error_set = false;
      const est_status s = apply(user, state, &event);
      if (s != EST_OK) {
        *applied = i;
        return CallbackStatus(s, "apply");
      }
    }
    *applied = events.size();
    return absl::OkStatus();
  }

  void FreeState(void* state) override { t_.free_state(t_.user, state); }

  bool HasCodec() const override { return t_.encode != nullptr; }

  absl::Status Encode(const void* state, std::string* out) override {
    est_buffer buffer{out};
    ClearCallbackError();
    est_status s = t_.encode(t_.user, state, &buffer);
    if (s == EST_OK) return absl::OkStatus();
    return CallbackStatus(s, "encode");
  }

  absl::StatusOr<void*> Decode(absl::Span<const uint8_t> data) override {
    void* state = nullptr;
    ClearCallbackError();
    est_status s = t_.decode(t_.user, data.data(), data.size(), &state);
    if (s != EST_OK) return CallbackStatus(s, "decode");
    if (state == nullptr) return absl::InternalError("decode returned EST_OK without a state");
    return state;
  }

  const std::string& snapshot_content_type() const override { return content_type_; }

 private:
  const est_aggregate_type t_;  // function pointers and user; strings below
  const std::string name_;
  const std::string content_type_;
};

core::Hook MakeHook(est_aggregate_hook_fn fn, void* user) {
  return [fn, user](core::HookStage stage, core::HookContext* ctx, std::string_view aggregate_id,
                    int64_t version) -> absl::Status {
    est_hook_context context{ctx};
    const std::string id(aggregate_id);  // NUL-terminated for the host
    ClearCallbackError();
    est_status s = fn(user, static_cast<int32_t>(stage), &context, id.c_str(), version);
    if (s == EST_OK) return absl::OkStatus();
    return CallbackStatus(s, "the hook");
  };
}

est_status CheckAggregateStore(const char* fn, const est_aggregate_store* astore) {
  if (astore == nullptr) return FailArg(fn, "astore", "is NULL");
  if (UsedAcrossFork(astore->fork_generation)) return FailFork(fn);
  if (astore->life->closed.load(std::memory_order_acquire)) return Fail(EST_ERR_CLOSED, fn, "the store is closed");
  return EST_OK;
}

est_status CheckAggregate(const char* fn, const est_aggregate* agg) {
  if (agg == nullptr) return FailArg(fn, "agg", "is NULL");
  if (UsedAcrossFork(agg->fork_generation)) return FailFork(fn);
  return EST_OK;
}

est_aggregate* NewHandle(std::unique_ptr<core::Aggregate> agg, const est_aggregate_store* astore) {
  auto handle = std::make_unique<est_aggregate>();
  handle->core = std::move(agg);
  handle->life = astore->life;
  return handle.release();
}

}  // namespace
}  // namespace estoria::capi

using estoria::capi::Fail;
using estoria::capi::FailArg;
using estoria::capi::FailStatus;
using estoria::capi::Guarded;

extern "C" {

EST_API void est_set_error(const char* message) {
  estoria::capi::GuardedVoid("est_set_error", [&] {
    std::string& text = estoria::capi::ThreadCallbackMessage();
    if (message == nullptr) {
      text.clear();
    } else {
      text.assign(message, strnlen(message, estoria::capi::kMaxCallbackMessage));
    }
    estoria::capi::callback_error_set = true;
  });
}

EST_API est_status est_buffer_append(est_buffer* buffer, const void* data, size_t len) {
  static constexpr char kFn[] = "est_buffer_append";
  return Guarded(kFn, [&]() -> est_status {
    if (buffer == nullptr || buffer->bytes == nullptr) return FailArg(kFn, "buffer", "is NULL");
    if (est_status s = estoria::capi::CheckBytes(kFn, "data", data, len, estoria::capi::kMaxEncodedState);
        s != EST_OK) {
      return s;
    }
    if (len > estoria::capi::kMaxEncodedState - buffer->bytes->size()) {
      return FailArg(kFn, "len", absl::StrCat("an encoded state is at most ", estoria::capi::kMaxEncodedState, " bytes"));
    }
    buffer->bytes->append(static_cast<const char*>(data), len);
    return EST_OK;
  });
}

EST_API void est_aggregate_type_init(est_aggregate_type* type) {
  if (type != nullptr) *type = est_aggregate_type EST_AGGREGATE_TYPE_INIT;
}
EST_API void est_aggregate_store_options_init(est_aggregate_store_options* options) {
  if (options != nullptr) *options = est_aggregate_store_options EST_AGGREGATE_STORE_OPTIONS_INIT;
}
EST_API void est_aggregate_stats_init(est_aggregate_stats* stats) {
  if (stats != nullptr) *stats = est_aggregate_stats EST_AGGREGATE_STATS_INIT;
}

EST_API est_status est_hook_add_metadata(est_hook_context* ctx, const char* key, const char* value) {
  static constexpr char kFn[] = "est_hook_add_metadata";
  return Guarded(kFn, [&]() -> est_status {
    if (ctx == nullptr || ctx->core == nullptr) return FailArg(kFn, "ctx", "is NULL");
    std::string_view k, v;
    if (est_status s = estoria::capi::ReadMetadataPair(kFn, key, value, &k, &v); s != EST_OK) return s;
    if (absl::Status status = ctx->core->AddMetadata(k, v); !status.ok()) return FailStatus(kFn, status);
    return EST_OK;
  });
}

EST_API est_status est_aggregate_store_new(est_store* store, const est_aggregate_type* type,
                                           const est_aggregate_store_options* options, est_aggregate_store** out) {
  static constexpr char kFn[] = "est_aggregate_store_new";
  return Guarded(kFn, [&]() -> est_status {
    if (out == nullptr) return FailArg(kFn, "out", "is NULL");
    *out = nullptr;
    if (est_status s = estoria::capi::CheckOpenStore(kFn, store); s != EST_OK) return s;
    if (type == nullptr) return FailArg(kFn, "type", "is NULL");
    est_aggregate_type t = EST_AGGREGATE_TYPE_INIT;
    if (est_status s = estoria::capi::ReadOptions(kFn, "type", type, &t); s != EST_OK) return s;
    std::string_view name, content_type;
    if (est_status s =
            estoria::capi::ReadCString(kFn, "type.type_name", t.type_name, core::kMaxTypeNameLen, false, &name);
        s != EST_OK) {
      return s;
    }
    if (est_status s = estoria::capi::ReadCString(kFn, "type.snapshot_content_type", t.snapshot_content_type,
                                                  estoria::capi::kMaxMetadataString, true, &content_type);
        s != EST_OK) {
      return s;
    }
    if (t.new_state == nullptr) return FailArg(kFn, "type.new_state", "is NULL");
    if (t.apply == nullptr) return FailArg(kFn, "type.apply", "is NULL");
    if (t.free_state == nullptr) return FailArg(kFn, "type.free_state", "is NULL");
    if ((t.encode == nullptr) != (t.decode == nullptr)) {
      return FailArg(kFn, "type", "encode and decode are both set or both NULL");
    }
    est_aggregate_store_options o = EST_AGGREGATE_STORE_OPTIONS_INIT;
    if (est_status s = estoria::capi::ReadOptions(kFn, "options", options, &o); s != EST_OK) return s;
    core::AggregateStoreOptions core_options;
    core_options.snapshots.every = o.snapshot_every;
    core_options.snapshots.keep_last = o.snapshot_keep_last;
    core_options.snapshots.keep_min_version = o.snapshot_keep_min_version;
    core_options.cache_capacity = o.cache_capacity;
    t.type_name = nullptr;  // copied below; the caller's strings are not kept
    t.snapshot_content_type = nullptr;
    auto capi_type =
        std::make_unique<estoria::capi::CapiType>(t, std::string(name), std::string(content_type));
    absl::StatusOr<std::shared_ptr<core::AggregateStore>> created =
        core::AggregateStore::Create(store->core, std::move(capi_type), core_options);
    if (!created.ok()) return FailStatus(kFn, created.status());
    auto handle = std::make_unique<est_aggregate_store>();
    handle->core = *std::move(created);
    handle->life = store->life;
    *out = handle.release();
    return EST_OK;
  });
}

EST_API void est_aggregate_store_free(est_aggregate_store* astore) {
  estoria::capi::GuardedVoid("est_aggregate_store_free", [&] {
    if (astore == nullptr) return;
    std::unique_ptr<est_aggregate_store> handle(astore);
    if (estoria::capi::UsedAcrossFork(handle->fork_generation)) {
      // As est_store_close: a forked child must not release what its parent
      // owns (the engine may hold the last reference to the store).
      new std::shared_ptr<core::AggregateStore>(std::move(handle->core));
    }
  });
}

EST_API est_status est_aggregate_store_add_hook(est_aggregate_store* astore, int32_t stage,
                                                est_aggregate_hook_fn hook, void* user) {
  static constexpr char kFn[] = "est_aggregate_store_add_hook";
  return Guarded(kFn, [&]() -> est_status {
    if (est_status s = estoria::capi::CheckAggregateStore(kFn, astore); s != EST_OK) return s;
    if (stage < EST_HOOK_BEFORE_LOAD || stage > EST_HOOK_AFTER_SAVE) {
      return FailArg(kFn, "stage", absl::StrCat(stage, " is not an EST_HOOK_* value"));
    }
    if (hook == nullptr) return FailArg(kFn, "hook", "is NULL");
    astore->core->AddHook(static_cast<core::HookStage>(stage), estoria::capi::MakeHook(hook, user));
    return EST_OK;
  });
}

EST_API est_status est_aggregate_new(est_aggregate_store* astore, const est_uuid* uuid, est_aggregate** out) {
  static constexpr char kFn[] = "est_aggregate_new";
  return Guarded(kFn, [&]() -> est_status {
    if (out == nullptr) return FailArg(kFn, "out", "is NULL");
    *out = nullptr;
    if (est_status s = estoria::capi::CheckAggregateStore(kFn, astore); s != EST_OK) return s;
    core::Uuid id;
    if (uuid != nullptr) {
      std::memcpy(id.bytes.data(), uuid->bytes, sizeof(uuid->bytes));
    } else {
      absl::StatusOr<core::Uuid> fresh = astore->core->NewId();
      if (!fresh.ok()) return FailStatus(kFn, fresh.status());
      id = *fresh;
    }
    absl::StatusOr<std::unique_ptr<core::Aggregate>> agg = astore->core->New(id);
    if (!agg.ok()) return FailStatus(kFn, agg.status());
    *out = estoria::capi::NewHandle(*std::move(agg), astore);
    return EST_OK;
  });
}

EST_API est_status est_aggregate_load(est_aggregate_store* astore, const est_uuid* uuid, int64_t to_version,
                                      est_aggregate** out) {
  static constexpr char kFn[] = "est_aggregate_load";
  return Guarded(kFn, [&]() -> est_status {
    if (out == nullptr) return FailArg(kFn, "out", "is NULL");
    *out = nullptr;
    if (est_status s = estoria::capi::CheckAggregateStore(kFn, astore); s != EST_OK) return s;
    if (uuid == nullptr) return FailArg(kFn, "uuid", "is NULL");
    if (to_version < 0) return FailArg(kFn, "to_version", absl::StrCat(to_version, " is negative"));
    core::Uuid id;
    std::memcpy(id.bytes.data(), uuid->bytes, sizeof(uuid->bytes));
    absl::StatusOr<std::unique_ptr<core::Aggregate>> agg = astore->core->Load(id, to_version);
    if (!agg.ok()) return FailStatus(kFn, agg.status());
    *out = estoria::capi::NewHandle(*std::move(agg), astore);
    return EST_OK;
  });
}

EST_API est_status est_aggregate_load_at(est_aggregate_store* astore, const est_uuid* uuid, int64_t timestamp_ns,
                                         est_aggregate** out) {
  static constexpr char kFn[] = "est_aggregate_load_at";
  return Guarded(kFn, [&]() -> est_status {
    if (out == nullptr) return FailArg(kFn, "out", "is NULL");
    *out = nullptr;
    if (est_status s = estoria::capi::CheckAggregateStore(kFn, astore); s != EST_OK) return s;
    if (uuid == nullptr) return FailArg(kFn, "uuid", "is NULL");
    if (timestamp_ns <= 0) {
      return FailArg(kFn, "timestamp_ns", absl::StrCat(timestamp_ns, " is not a time (unix ns, > 0)"));
    }
    core::Uuid id;
    std::memcpy(id.bytes.data(), uuid->bytes, sizeof(uuid->bytes));
    absl::StatusOr<std::unique_ptr<core::Aggregate>> agg = astore->core->LoadAt(id, timestamp_ns);
    if (!agg.ok()) return FailStatus(kFn, agg.status());
    *out = estoria::capi::NewHandle(*std::move(agg), astore);
    return EST_OK;
  });
}

EST_API est_status est_aggregate_append(est_aggregate* agg, const char* type, const void* data, size_t data_len,
                                        const char* content_type) {
  static constexpr char kFn[] = "est_aggregate_append";
  return Guarded(kFn, [&]() -> est_status {
    if (est_status s = estoria::capi::CheckAggregate(kFn, agg); s != EST_OK) return s;
    std::string_view type_view, content_view;
    if (est_status s =
            estoria::capi::ReadCString(kFn, "type", type, core::kMaxTypeNameLen, false, &type_view);
        s != EST_OK) {
      return s;
    }
    if (est_status s = estoria::capi::CheckBytes(kFn, "data", data, data_len, core::kMaxBatchBytes); s != EST_OK) {
      return s;
    }
    if (est_status s =
            estoria::capi::ReadCString(kFn, "content_type", content_type, estoria::capi::kMaxMetadataString, true,
                                       &content_view);
        s != EST_OK) {
      return s;
    }
    absl::Status status =
        agg->core->Append(type_view, absl::Span<const uint8_t>(static_cast<const uint8_t*>(data), data_len),
                          content_view);
    if (!status.ok()) return FailStatus(kFn, status);
    return EST_OK;
  });
}

EST_API est_status est_aggregate_append_metadata(est_aggregate* agg, const char* key, const char* value) {
  static constexpr char kFn[] = "est_aggregate_append_metadata";
  return Guarded(kFn, [&]() -> est_status {
    if (est_status s = estoria::capi::CheckAggregate(kFn, agg); s != EST_OK) return s;
    std::string_view k, v;
    if (est_status s = estoria::capi::ReadMetadataPair(kFn, key, value, &k, &v); s != EST_OK) return s;
    if (absl::Status status = agg->core->AppendMetadata(k, v); !status.ok()) return FailStatus(kFn, status);
    return EST_OK;
  });
}

EST_API est_status est_aggregate_set_event_id(est_aggregate* agg, const est_uuid* id) {
  static constexpr char kFn[] = "est_aggregate_set_event_id";
  return Guarded(kFn, [&]() -> est_status {
    if (est_status s = estoria::capi::CheckAggregate(kFn, agg); s != EST_OK) return s;
    if (id == nullptr) return FailArg(kFn, "id", "is NULL");
    core::Uuid uuid;
    std::memcpy(uuid.bytes.data(), id->bytes, sizeof(id->bytes));
    if (absl::Status status = agg->core->SetEventId(uuid); !status.ok()) return FailStatus(kFn, status);
    return EST_OK;
  });
}

EST_API est_status est_aggregate_save(est_aggregate* agg, est_append_result* result) {
  static constexpr char kFn[] = "est_aggregate_save";
  return Guarded(kFn, [&]() -> est_status {
    if (est_status s = estoria::capi::CheckAggregate(kFn, agg); s != EST_OK) return s;
    if (result != nullptr) {
      if (est_status s = estoria::capi::CheckOutput(kFn, "result", result); s != EST_OK) return s;
    }
    if (agg->life->closed.load(std::memory_order_acquire)) return Fail(EST_ERR_CLOSED, kFn, "the store is closed");
    core::AppendResult got;
    absl::Status status = agg->core->Save(&got);
    // Filled on OK, on a mismatch (actual_version) and when the events were
    // appended but not applied (their versions).
    const bool fill = status.ok() || core::GetVersionMismatch(status).has_value() ||
                      core::GetAppliedPartially(status).has_value();
    if (fill && result != nullptr) estoria::capi::FillAppendResult(got, result);
    if (!status.ok()) return FailStatus(kFn, status);
    return EST_OK;
  });
}

EST_API est_status est_aggregate_save_many(est_aggregate* const* aggs, size_t count, est_append_result* results) {
  static constexpr char kFn[] = "est_aggregate_save_many";
  return Guarded(kFn, [&]() -> est_status {
    if (count > 0 && aggs == nullptr) return FailArg(kFn, "aggs", "is NULL with a count");
    if (count > core::kMaxTxnAppends) {
      return FailArg(kFn, "count", absl::StrCat(count, " is more than a transaction's ", core::kMaxTxnAppends));
    }
    std::vector<core::Aggregate*> cores(count);
    for (size_t i = 0; i < count; ++i) {
      if (est_status s = estoria::capi::CheckAggregate(kFn, aggs[i]); s != EST_OK) return s;
      if (aggs[i]->life->closed.load(std::memory_order_acquire)) {
        return Fail(EST_ERR_CLOSED, kFn, "the store is closed");
      }
      if (results != nullptr) {
        if (est_status s = estoria::capi::CheckOutput(kFn, "results", &results[i]); s != EST_OK) return s;
      }
      cores[i] = aggs[i]->core.get();
    }
    std::vector<core::AppendResult> got;
    absl::Status status = core::AggregateStore::SaveMany(cores, &got);
    const bool fill = status.ok() || core::GetVersionMismatch(status).has_value() ||
                      core::GetAppliedPartially(status).has_value();
    if (fill && results != nullptr && got.size() == count) {
      for (size_t i = 0; i < count; ++i) estoria::capi::FillAppendResult(got[i], &results[i]);
    }
    if (!status.ok()) return FailStatus(kFn, status);
    return EST_OK;
  });
}

EST_API void* est_aggregate_state(est_aggregate* agg) {
  if (agg == nullptr || estoria::capi::UsedAcrossFork(agg->fork_generation)) return nullptr;
  return agg->core->state();
}

EST_API int64_t est_aggregate_version(const est_aggregate* agg) {
  if (agg == nullptr || estoria::capi::UsedAcrossFork(agg->fork_generation)) return 0;
  return agg->core->version();
}

EST_API const char* est_aggregate_id(const est_aggregate* agg) {
  if (agg == nullptr || estoria::capi::UsedAcrossFork(agg->fork_generation)) return "";
  return agg->core->id_text().c_str();
}

EST_API size_t est_aggregate_pending(const est_aggregate* agg) {
  if (agg == nullptr || estoria::capi::UsedAcrossFork(agg->fork_generation)) return 0;
  return agg->core->pending();
}

EST_API void est_aggregate_free(est_aggregate* agg) {
  estoria::capi::GuardedVoid("est_aggregate_free", [&] {
    if (agg == nullptr) return;
    std::unique_ptr<est_aggregate> handle(agg);
    if (estoria::capi::UsedAcrossFork(handle->fork_generation)) (void)handle->core.release();
  });
}

EST_API est_status est_aggregate_store_stats(est_aggregate_store* astore, est_aggregate_stats* stats) {
  static constexpr char kFn[] = "est_aggregate_store_stats";
  return Guarded(kFn, [&]() -> est_status {
    if (stats == nullptr) return FailArg(kFn, "stats", "is NULL");
    if (est_status s = estoria::capi::CheckOutput(kFn, "stats", stats); s != EST_OK) return s;
    if (astore == nullptr) return FailArg(kFn, "astore", "is NULL");
    if (estoria::capi::UsedAcrossFork(astore->fork_generation)) return estoria::capi::FailFork(kFn);
    core::AggregateStats got = astore->core->Stats();
    est_aggregate_stats out = EST_AGGREGATE_STATS_INIT;
    out.loads = got.loads;
    out.events_applied = got.events_applied;
    out.snapshots_used = got.snapshots_used;
    out.snapshots_written = got.snapshots_written;
    out.cache_hits = got.cache_hits;
    out.cache_misses = got.cache_misses;
    estoria::capi::WriteStruct(out, stats);
    return EST_OK;
  });
}

}  // extern "C"

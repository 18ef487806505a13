// est_projection_*: the projection engine's calls (the header's experimental
// section). Translation only: the engine is core::Projection
// (core/projection/). The host's C handler becomes a core::ProjectionHandler
// that fills a reused array of est_event views (capi/src/event_fill.h: no
// copy of any event) and maps its status back with the message it left by
// est_set_error. An exactly-once projection owns an est_txn (txn_handle.h)
// whose core transaction the engine commits with the checkpoint.
//
// Ownership: est_projection shares its store's core and "closed" flag, so
// either may be freed first. Thread safety: one thread at a time, except
// est_projection_wake.
#define EST_EXPERIMENTAL 1
#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "capi/src/callback_error.h"
#include "capi/src/event_fill.h"
#include "capi/src/filters.h"
#include "capi/src/guard.h"
#include "capi/src/handles.h"
#include "capi/src/txn_handle.h"
#include "core/projection/projection.h"
#include "core/projection/rebuild.h"
#include "core/store/store_checks.h"
#include "estoria/estoria.h"

namespace core = estoria::core;

namespace estoria::capi {
namespace {

// The host's handler as the engine sees it.
class CHandler final : public core::ProjectionHandler {
 public:
  CHandler(const est_projection_handler& c, est_txn* txn, size_t batch_max)
      : c_(c), txn_(txn), events_(batch_max) {}

  absl::Status Handle(absl::Span<const core::EventView> views, core::Transaction* txn) override {
    if (views.size() > events_.size()) events_.resize(views.size());
    events_[0].struct_size = sizeof(est_event);
    FillEvents(views.data(), views.size(), events_.data(), &scratch_);
    *CallbackErrorFlag() = false;
    const est_status s = c_.handle(c_.user, events_.data(), views.size(), txn != nullptr ? txn_ : nullptr);
    if (s == EST_OK) return absl::OkStatus();
    return CallbackStatus(s, "the projection's handle callback");
  }

 private:
  const est_projection_handler c_;
  est_txn* const txn_;
  core::HostVector<est_event> events_;  // the host's allocator (est_set_allocator)
  EventScratch scratch_;
};

}  // namespace
}  // namespace estoria::capi

struct est_projection {
  std::shared_ptr<const estoria::capi::StoreLife> life;
  uint64_t fork_generation = core::ForkGeneration();
  std::string name;                 // the handler's, copied
  std::unique_ptr<est_txn> txn;     // exactly once only
  std::unique_ptr<estoria::capi::CHandler> handler;
  std::unique_ptr<core::Projection> core;  // declared last: destroyed first
};

namespace estoria::capi {
namespace {

constexpr uint32_t kKnownFlags =
    EST_PROJECTION_EXACTLY_ONCE | EST_PROJECTION_CONTINUE_ON_ERROR | EST_PROJECTION_CUTOVER_WHEN_CAUGHT_UP;

est_status CheckProjection(const char* fn, const est_projection* p) {
  if (p == nullptr) return FailArg(fn, "p", "is NULL");
  if (UsedAcrossFork(p->fork_generation)) return FailFork(fn);
  return EST_OK;
}

est_status CheckOpen(const char* fn, const est_projection* p) {
  if (p->life->closed.load(std::memory_order_acquire)) return Fail(EST_ERR_CLOSED, fn, "the store is closed");
  return EST_OK;
}

est_status ToOptions(const char* fn, const est_projection_options* in, core::ProjectionOptions* out) {
  est_projection_options o = EST_PROJECTION_OPTIONS_INIT;
  if (est_status s = ReadOptions(fn, "options", in, &o); s != EST_OK) return s;
  if ((o.flags & ~kKnownFlags) != 0) {
    return FailArg(fn, "options.flags", absl::StrCat("holds unknown flags 0x", absl::Hex(o.flags & ~kKnownFlags)));
  }
  out->batch_max = o.batch_max;
  out->checkpoint_every = o.checkpoint_every;
  out->exactly_once = (o.flags & EST_PROJECTION_EXACTLY_ONCE) != 0;
  out->continue_on_error = (o.flags & EST_PROJECTION_CONTINUE_ON_ERROR) != 0;
  out->cutover_when_caught_up = (o.flags & EST_PROJECTION_CUTOVER_WHEN_CAUGHT_UP) != 0;
  return ReadFilters(fn, o.stream_prefix, o.event_types, o.event_types_len, &out->stream_prefix, &out->event_types);
}

// Reads a required projection name.
est_status ReadName(const char* fn, const char* name, std::string_view* out) {
  if (est_status s = ReadCString(fn, "name", name, core::kMaxProjectionNameLen + 1, false, out); s != EST_OK) return s;
  if (absl::Status valid = core::CheckProjectionName(*out); !valid.ok()) return FailStatus(fn, valid, "name");
  return EST_OK;
}

}  // namespace
}  // namespace estoria::capi

using estoria::capi::Fail;
using estoria::capi::FailArg;
using estoria::capi::FailStatus;
using estoria::capi::Guarded;

extern "C" {

EST_API void est_projection_handler_init(est_projection_handler* handler) {
  if (handler != nullptr) *handler = est_projection_handler EST_PROJECTION_HANDLER_INIT;
}

EST_API void est_projection_options_init(est_projection_options* options) {
  if (options != nullptr) *options = est_projection_options EST_PROJECTION_OPTIONS_INIT;
}

EST_API void est_projection_report_init(est_projection_report* report) {
  if (report != nullptr) *report = est_projection_report EST_PROJECTION_REPORT_INIT;
}

EST_API est_status est_projection_new(est_store* store, const est_projection_handler* handler,
                                      const est_projection_options* options, est_projection** out) {
  static constexpr char kFn[] = "est_projection_new";
  return Guarded(kFn, [&]() -> est_status {
    if (out == nullptr) return FailArg(kFn, "out", "is NULL");
    *out = nullptr;
    if (est_status s = estoria::capi::CheckStore(kFn, store); s != EST_OK) return s;
    if (handler == nullptr) return FailArg(kFn, "handler", "is NULL");
    est_projection_handler h = EST_PROJECTION_HANDLER_INIT;
    if (est_status s = estoria::capi::ReadOptions(kFn, "handler", handler, &h); s != EST_OK) return s;
    if (h.handle == nullptr) return FailArg(kFn, "handler->handle", "is NULL");
    std::string_view name;
    if (est_status s = estoria::capi::ReadCString(kFn, "handler->name", h.name, core::kMaxProjectionNameLen + 1,
                                                  false, &name);
        s != EST_OK) {
      return s;
    }
    core::ProjectionId id{std::string(name), h.version};
    if (absl::Status valid = id.Validate(); !valid.ok()) return FailStatus(kFn, valid, "handler");
    core::ProjectionOptions o;
    if (est_status s = estoria::capi::ToOptions(kFn, options, &o); s != EST_OK) return s;
    if (store->life->closed.load(std::memory_order_acquire)) return Fail(EST_ERR_CLOSED, kFn, "the store is closed");

    auto p = std::make_unique<est_projection>();
    p->life = store->life;
    p->name = id.name;
    h.name = p->name.c_str();
    if (o.exactly_once) {
      p->txn = std::make_unique<est_txn>();
      p->txn->store = store->core;
      p->txn->life = store->life;
      p->txn->projection_owned = true;
    }
    const size_t batch = o.batch_max == 0 ? core::kDefaultProjectionBatch
                                          : std::min<size_t>(o.batch_max, core::kMaxProjectionBatch);
    p->handler = std::make_unique<estoria::capi::CHandler>(h, p->txn.get(), batch);
    absl::StatusOr<std::unique_ptr<core::Projection>> made = core::Projection::Create(
        store->core, std::move(id), p->handler.get(), std::move(o), p->txn != nullptr ? &p->txn->txn : nullptr);
    if (!made.ok()) return FailStatus(kFn, made.status());
    p->core = *std::move(made);
    *out = p.release();
    return EST_OK;
  });
}

EST_API est_status est_projection_run(est_projection* p, int64_t budget_us, est_projection_report* report) {
  static constexpr char kFn[] = "est_projection_run";
  return Guarded(kFn, [&]() -> est_status {
    if (est_status s = estoria::capi::CheckProjection(kFn, p); s != EST_OK) return s;
    if (report != nullptr) {
      if (est_status s = estoria::capi::CheckOutput(kFn, "report", report); s != EST_OK) return s;
    }
    if (est_status s = estoria::capi::CheckOpen(kFn, p); s != EST_OK) return s;
    const int64_t skipped_before = p->core->skipped();
    core::ProjectionReport r;
    absl::Status status = p->core->Run(budget_us, &r);
    if (report != nullptr) {
      est_projection_report c = EST_PROJECTION_REPORT_INIT;
      c.position = r.position;
      c.head = r.head;
      c.handled = r.handled;
      c.caught_up = r.caught_up ? 1 : 0;
      c.skipped = p->core->skipped() - skipped_before;
      estoria::capi::WriteStruct(c, report);
    }
    // A close while the run waited wins over whatever the run found.
    if (est_status s = estoria::capi::CheckOpen(kFn, p); s != EST_OK) return s;
    if (!status.ok()) return FailStatus(kFn, status);
    return EST_OK;
  });
}

EST_API est_status est_projection_wake(est_projection* p) {
  static constexpr char kFn[] = "est_projection_wake";
  return Guarded(kFn, [&]() -> est_status {
    if (est_status s = estoria::capi::CheckProjection(kFn, p); s != EST_OK) return s;
    absl::Status woken = p->core->Wake();
    if (!woken.ok()) return FailStatus(kFn, woken);
    return EST_OK;
  });
}

EST_API void est_projection_free(est_projection* p) {
  estoria::capi::GuardedVoid("est_projection_free", [&] {
    if (p == nullptr) return;
    std::unique_ptr<est_projection> handle(p);
    if (estoria::capi::UsedAcrossFork(handle->fork_generation)) {
      // See est_store_close: a forked child leaks what its parent owns.
      (void)handle->core.release();
      (void)handle->txn.release();
    }
  });
}

EST_API est_status est_projection_rebuild(est_store* store, const char* name, int32_t next_version,
                                          const char* reason) {
  static constexpr char kFn[] = "est_projection_rebuild";
  return Guarded(kFn, [&]() -> est_status {
    if (est_status s = estoria::capi::CheckOpenStore(kFn, store); s != EST_OK) return s;
    std::string_view n, why;
    if (est_status s = estoria::capi::ReadName(kFn, name, &n); s != EST_OK) return s;
    if (est_status s = estoria::capi::ReadCString(kFn, "reason", reason, estoria::capi::kMaxMetadataString, true, &why);
        s != EST_OK) {
      return s;
    }
    absl::Status status = core::RequestRebuild(*store->core, n, next_version, why);
    if (!status.ok()) return FailStatus(kFn, status);
    return EST_OK;
  });
}

EST_API est_status est_projection_cutover(est_store* store, const char* name, int32_t version) {
  static constexpr char kFn[] = "est_projection_cutover";
  return Guarded(kFn, [&]() -> est_status {
    if (est_status s = estoria::capi::CheckOpenStore(kFn, store); s != EST_OK) return s;
    std::string_view n;
    if (est_status s = estoria::capi::ReadName(kFn, name, &n); s != EST_OK) return s;
    absl::Status status = core::Cutover(*store->core, n, version);
    if (!status.ok()) return FailStatus(kFn, status);
    return EST_OK;
  });
}

EST_API est_status est_projection_active_version(est_store* store, const char* name, int32_t* version) {
  static constexpr char kFn[] = "est_projection_active_version";
  return Guarded(kFn, [&]() -> est_status {
    if (version == nullptr) return FailArg(kFn, "version", "is NULL");
    *version = 0;
    if (est_status s = estoria::capi::CheckOpenStore(kFn, store); s != EST_OK) return s;
    std::string_view n;
    if (est_status s = estoria::capi::ReadName(kFn, name, &n); s != EST_OK) return s;
    absl::StatusOr<int32_t> active = core::ActiveVersion(*store->core, n);
    if (!active.ok()) return FailStatus(kFn, active.status());
    *version = *active;
    return EST_OK;
  });
}

}  // extern "C"

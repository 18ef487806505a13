// Live subscriptions: est_subscribe and the est_subscription calls of the
// header's experimental section. Translation only: the engine is
// core::Subscription (core/subscription/). A subscription shares its store's
// "closed" flag, so that every call after est_store_close is EST_ERR_CLOSED
// even before the core notices, and either may be freed first.
// Thread safety: one thread at a time per subscription, except
// est_subscription_wake (the core's Wake is safe from any thread).
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "capi/src/event_fill.h"
#include "capi/src/filters.h"
#include "capi/src/guard.h"
#include "capi/src/handles.h"
#include "core/id/id.h"
#include "core/subscription/subscription.h"
#include "estoria/estoria.h"

struct est_subscription {
  std::unique_ptr<estoria::core::Subscription> core;
  std::shared_ptr<const estoria::capi::StoreLife> life;
  uint64_t fork_generation = estoria::core::ForkGeneration();
  // From the host's allocator (est_set_allocator).
  estoria::core::HostVector<estoria::core::EventView> views;  // the last poll's
  estoria::capi::EventScratch scratch;                        // what they keep beside the records
};

namespace estoria::capi {
namespace {

// Most views one poll hands out (a larger capacity is filled up to this).
constexpr size_t kMaxPollViews = 4096;

est_status CheckSubscription(const char* fn, const est_subscription* sub) {
  if (sub == nullptr) return FailArg(fn, "sub", "is NULL");
  if (UsedAcrossFork(sub->fork_generation)) return FailFork(fn);
  return EST_OK;
}

est_status CheckOpen(const char* fn, const est_subscription* sub) {
  if (sub->life != nullptr && sub->life->closed.load(std::memory_order_acquire)) {
    return Fail(EST_ERR_CLOSED, fn, "the store is closed");
  }
  return EST_OK;
}

est_status ToSubscriptionOptions(const char* fn, const est_subscribe_options* in, core::SubscriptionOptions* out) {
  est_subscribe_options o = EST_SUBSCRIBE_OPTIONS_INIT;
  if (est_status s = ReadOptions(fn, "options", in, &o); s != EST_OK) return s;
  if (o.after_position < EST_POSITION_END) {
    return FailArg(fn, "options.after_position",
                   absl::StrCat(o.after_position, " is negative (and not EST_POSITION_END)"));
  }
  out->after_position = o.after_position;
  return ReadFilters(fn, o.stream_prefix, o.event_types, o.event_types_len, &out->stream_prefix,
                     &out->event_types);
}

}  // namespace
}  // namespace estoria::capi

using estoria::capi::FailArg;
using estoria::capi::FailStatus;
using estoria::capi::Guarded;
namespace core = estoria::core;

extern "C" {

EST_API void est_subscribe_options_init(est_subscribe_options* options) {
  if (options != nullptr) *options = est_subscribe_options EST_SUBSCRIBE_OPTIONS_INIT;
}

EST_API est_status est_subscribe(est_store* store, const est_subscribe_options* options, est_subscription** out) {
  static constexpr char kFn[] = "est_subscribe";
  return Guarded(kFn, [&]() -> est_status {
    if (out == nullptr) return FailArg(kFn, "out", "is NULL");
    *out = nullptr;
    if (est_status s = estoria::capi::CheckStore(kFn, store); s != EST_OK) return s;
    core::SubscriptionOptions o;
    if (est_status s = estoria::capi::ToSubscriptionOptions(kFn, options, &o); s != EST_OK) return s;
    if (store->life->closed.load(std::memory_order_acquire)) {
      return estoria::capi::Fail(EST_ERR_CLOSED, kFn, "the store is closed");
    }
    absl::StatusOr<std::unique_ptr<core::Subscription>> sub = core::Subscription::Create(store->core, std::move(o));
    if (!sub.ok()) return FailStatus(kFn, sub.status());
    auto handle = std::make_unique<est_subscription>();
    handle->core = *std::move(sub);
    handle->life = store->life;
    *out = handle.release();
    return EST_OK;
  });
}

EST_API est_status est_subscription_poll(est_subscription* sub, est_event* events, size_t capacity, size_t* count,
                                         int64_t timeout_us) {
  static constexpr char kFn[] = "est_subscription_poll";
  return Guarded(kFn, [&]() -> est_status {
    if (count == nullptr) return FailArg(kFn, "count", "is NULL");
    *count = 0;
    if (est_status s = estoria::capi::CheckSubscription(kFn, sub); s != EST_OK) return s;
    if (events == nullptr) return FailArg(kFn, "events", "is NULL");
    if (capacity == 0) return FailArg(kFn, "capacity", "is 0");
    // events[0].struct_size is the caller's sizeof(est_event): the stride.
    if (est_status s = estoria::capi::CheckOutput(kFn, "events[0]", events); s != EST_OK) return s;
    const size_t stride = events->struct_size;
    if (stride % alignof(est_event) != 0) {
      return FailArg(kFn, "events[0].struct_size",
                     absl::StrCat(stride, " is not a multiple of ", alignof(est_event), " (the array's stride)"));
    }
    if (est_status s = estoria::capi::CheckOpen(kFn, sub); s != EST_OK) return s;
    const size_t want = std::min(capacity, estoria::capi::kMaxPollViews);
    if (sub->views.size() < want) sub->views.resize(want);
    absl::StatusOr<size_t> n = sub->core->Poll(absl::MakeSpan(sub->views.data(), want), timeout_us);
    // A close while the poll waited wins over whatever the read found.
    if (est_status s = estoria::capi::CheckOpen(kFn, sub); s != EST_OK) return s;
    if (!n.ok()) return FailStatus(kFn, n.status());
    estoria::capi::FillEvents(sub->views.data(), *n, events, &sub->scratch);
    *count = *n;
    return EST_OK;
  });
}

EST_API int64_t est_subscription_position(const est_subscription* sub) {
  if (sub == nullptr || estoria::capi::UsedAcrossFork(sub->fork_generation)) return -1;
  return sub->core->position();
}

EST_API est_status est_subscription_fd(est_subscription* sub, int* fd) {
  static constexpr char kFn[] = "est_subscription_fd";
  return Guarded(kFn, [&]() -> est_status {
    if (fd == nullptr) return FailArg(kFn, "fd", "is NULL");
    *fd = -1;
    if (est_status s = estoria::capi::CheckSubscription(kFn, sub); s != EST_OK) return s;
    *fd = sub->core->fd();
    return EST_OK;
  });
}

EST_API est_status est_subscription_wake(est_subscription* sub) {
  static constexpr char kFn[] = "est_subscription_wake";
  return Guarded(kFn, [&]() -> est_status {
    if (est_status s = estoria::capi::CheckSubscription(kFn, sub); s != EST_OK) return s;
    absl::Status woken = sub->core->Wake();
    if (!woken.ok()) return FailStatus(kFn, woken);
    return EST_OK;
  });
}

EST_API void est_subscription_close(est_subscription* sub) {
  estoria::capi::GuardedVoid("est_subscription_close", [&] {
    if (sub == nullptr) return;
    std::unique_ptr<est_subscription> handle(sub);
    if (estoria::capi::UsedAcrossFork(handle->fork_generation)) {
      // See est_store_close: a forked child leaks what its parent owns.
      (void)handle->core.release();
    }
  });
}

}  // extern "C"

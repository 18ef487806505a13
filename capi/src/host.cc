// The hosts section of the header (experimental): est_store_maintain,
// est_store_compact_schedule, est_store_cancel, est_set_allocator (over
// core/util/host_allocator.h; est_store_open and est_batch_new close its
// window). The host fields of est_store_options are read in store.cc.
// doc/abi.md "Hosts".
#define EST_EXPERIMENTAL 1
#include <cstdint>
#include <limits>

#include "absl/strings/str_cat.h"
#include "capi/src/guard.h"
#include "capi/src/handles.h"
#include "core/store/event_store.h"
#include "core/util/host_allocator.h"
#include "estoria/estoria.h"

using estoria::capi::Fail;
using estoria::capi::FailArg;
using estoria::capi::FailStatus;
using estoria::capi::Guarded;
namespace core = estoria::core;

extern "C" {

EST_API void est_maintain_report_init(est_maintain_report* report) {
  if (report != nullptr) *report = est_maintain_report EST_MAINTAIN_REPORT_INIT;
}

EST_API est_status est_store_maintain(est_store* store, int64_t budget_us, est_maintain_report* report) {
  static constexpr char kFn[] = "est_store_maintain";
  return Guarded(kFn, [&]() -> est_status {
    if (est_status s = estoria::capi::CheckStore(kFn, store); s != EST_OK) return s;
    if (report != nullptr) {
      if (est_status s = estoria::capi::CheckOutput(kFn, "report", report); s != EST_OK) return s;
    }
    if (budget_us < 0) return FailArg(kFn, "budget_us", absl::StrCat(budget_us, " is negative"));
    const int64_t budget_ns =
        budget_us > std::numeric_limits<int64_t>::max() / 1000 ? std::numeric_limits<int64_t>::max() : budget_us * 1000;
    core::MaintainReport got;
    if (absl::Status status = store->core->Maintain(budget_ns, &got); !status.ok()) return FailStatus(kFn, status);
    if (report != nullptr) {
      est_maintain_report out = EST_MAINTAIN_REPORT_INIT;
      out.pending = got.pending ? 1 : 0;
      out.compacting = got.compacting ? 1 : 0;
      estoria::capi::WriteStruct(out, report);
    }
    return EST_OK;
  });
}

EST_API est_status est_store_compact_schedule(est_store* store) {
  static constexpr char kFn[] = "est_store_compact_schedule";
  return Guarded(kFn, [&]() -> est_status {
    if (est_status s = estoria::capi::CheckStore(kFn, store); s != EST_OK) return s;
    if (absl::Status status = store->core->ScheduleCompaction(); !status.ok()) return FailStatus(kFn, status);
    return EST_OK;
  });
}

EST_API est_status est_store_cancel(est_store* store) {
  static constexpr char kFn[] = "est_store_cancel";
  return Guarded(kFn, [&]() -> est_status {
    if (est_status s = estoria::capi::CheckStore(kFn, store); s != EST_OK) return s;
    store->core->Cancel();
    return EST_OK;
  });
}

EST_API void est_allocator_init(est_allocator* allocator) {
  if (allocator != nullptr) *allocator = est_allocator EST_ALLOCATOR_INIT;
}

EST_API est_status est_set_allocator(const est_allocator* allocator) {
  static constexpr char kFn[] = "est_set_allocator";
  return Guarded(kFn, [&]() -> est_status {
    if (allocator == nullptr) return FailArg(kFn, "allocator", "is NULL");
    est_allocator in = EST_ALLOCATOR_INIT;
    if (est_status s = estoria::capi::ReadOptions(kFn, "allocator", allocator, &in); s != EST_OK) return s;
    if (in.allocate == nullptr) return FailArg(kFn, "allocator->allocate", "is NULL");
    if (in.deallocate == nullptr) return FailArg(kFn, "allocator->deallocate", "is NULL");
    core::HostAllocatorHooks hooks;
    hooks.allocate = in.allocate;
    hooks.deallocate = in.deallocate;
    hooks.user = in.user;
    switch (core::SetHostAllocator(hooks)) {
      case core::SetHostAllocatorResult::kSet:
        return EST_OK;
      case core::SetHostAllocatorResult::kAlreadySet:
        return Fail(EST_ERR_INVALID_ARGUMENT, kFn, "an allocator was set already (it is set once per process)");
      case core::SetHostAllocatorResult::kTooLate:
        break;
    }
    return Fail(EST_ERR_INVALID_ARGUMENT, kFn,
                "too late: est_store_open or est_batch_new was called first (set the allocator before them)");
  });
}

}  // extern "C"

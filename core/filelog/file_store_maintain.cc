// FileStore::Maintain: the background work of a store opened without
// library threads (EST_THREADS_NONE), done in steps on the host's thread
// (est_store_maintain), in this order: the interval flush when it is due by
// the store's clock, an index checkpoint once the log has grown enough, the
// steps of a scheduled compaction (file_store_compact.cc), and zeros written
// ahead of the writer; in a read-only store, a look at the writer's frontier
// that wakes the subscriptions (file_store_follow.cc). A step starts only while the budget lasts, and one
// at least runs when any is pending, so a call overruns its budget by at
// most one step (doc/abi.md "Hosts" gives their sizes).
//
// With library threads, the threads do all of it but a scheduled
// compaction, which Maintain steps in either mode.
#include <algorithm>

#include "core/filelog/file_store_internal.h"
#include "core/util/status.h"

namespace estoria::core::filelog {

bool FileStore::FlushDueLocked() {
  if (library_threads() || options_.store.sync_mode != SyncMode::kInterval) return false;
  const int64_t interval_ns = int64_t{std::max(1, options_.store.sync_interval_ms)} * 1'000'000;
  return host().NowNanos(env_) - last_flush_ns_ >= interval_ns;
}

absl::Status FileStore::FlushStep() {
  MutexLock lock(&mu_);
  RETURN_IF_ERROR(UsableLocked());
  const absl::Status status = SyncWrittenLocked();
  last_flush_ns_ = host().NowNanos(env_);
  return status.ok() ? absl::OkStatus() : poisoned_;
}

absl::Status FileStore::Maintain(int64_t budget_ns, MaintainReport* report) {
  *report = MaintainReport{};
  if (read_only()) {
    // A reader's only background work is waking its followers.
    if (!library_threads()) WatchStep();
    MutexLock lock(&mu_);
    return UsableLocked();
  }
  const int64_t deadline_us = env_->NowMicrosMonotonic() + std::max<int64_t>(budget_ns, 0) / 1000;
  bool ran = false;  // a step ran in this call
  auto may_start = [&] { return !ran || env_->NowMicrosMonotonic() < deadline_us; };

  bool flush = false;
  bool checkpoint = false;
  {
    MutexLock lock(&mu_);
    RETURN_IF_ERROR(UsableLocked());
    flush = FlushDueLocked();
    checkpoint = !library_threads() && checkpoint_wanted_;
  }
  if (flush) {
    RETURN_IF_ERROR(FlushStep());
    ran = true;
  }
  if (checkpoint && may_start()) {
    WriteCheckpoint().IgnoreError();  // logged; the next growth tries again
    MutexLock lock(&mu_);
    checkpoint_wanted_ = false;
    ran = true;
  }
  RETURN_IF_ERROR(CompactStep(deadline_us, &ran, report));
  bool preallocate = false;
  if (!library_threads()) {
    // One chunk per turn of the writer: appends queued meanwhile go between.
    while (may_start()) {
      MutexLock lock(&mu_);
      RETURN_IF_ERROR(UsableLocked());
      AcquireWriterLocked();
      mu_.Unlock();
      preallocate = writer_->PreallocationPending();
      if (preallocate) preallocate = writer_->PreallocateStep([] { return false; });
      mu_.Lock();
      ReleaseWriterLocked();
      if (!preallocate) break;
      ran = true;
    }
  }

  MutexLock lock(&mu_);
  RETURN_IF_ERROR(UsableLocked());
  report->pending = preallocate || report->compacting || FlushDueLocked() ||
                    (!library_threads() && checkpoint_wanted_);
  return absl::OkStatus();
}

}  // namespace estoria::core::filelog

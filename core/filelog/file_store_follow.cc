// FileStore, opened read-only: a reader beside the writer, in this process
// or another. It takes no lock and writes nothing. It builds its index from
// the segment files as recovery does, but reads no further than the
// writer's published frontier (frontier.h), and at each read call replays
// what the writer has published since. A compaction by the writer (a new
// manifest generation) makes it rebuild its index from the new files;
// iterators it handed out before keep the old mappings and read on.
// Followers (subscriptions) are woken by a watch thread that sleeps on the
// frontier's futex (FrontierWatch) while anyone follows; without library
// threads (EST_THREADS_NONE), by a look at the frontier in each of the
// host's est_store_maintain calls (WatchStep).
#include <algorithm>
#include <chrono>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/filelog/file_store_internal.h"
#include "core/filelog/manifest.h"
#include "core/util/log.h"
#include "core/util/status.h"

namespace estoria::core::filelog {
namespace {

// A reload that meets a compaction halfway (a file gone, the manifest and
// the frontier of different generations) tries again, this many times.
constexpr int kReloadAttempts = 50;

}  // namespace

absl::Status FileStore::OpenReadOnly() {
  if (!env_->FileExists(absl::StrCat(dir_, "/ESTORIA"))) {
    return absl::NotFoundError(absl::StrCat(dir_, " is not an estoria store (it has no ESTORIA file)"));
  }
  RETURN_IF_ERROR(CheckIdentity());
  absl::StatusOr<std::unique_ptr<Frontier>> frontier = Frontier::OpenForReader(env_, dir_);
  if (frontier.ok()) {
    frontier_ = std::move(*frontier);
  } else if (!absl::IsNotFound(frontier.status()) && !absl::IsUnimplemented(frontier.status())) {
    return frontier.status();
  }
  {
    MutexLock lock(&mu_);
    RETURN_IF_ERROR(ReloadLocked());
    opened_ = true;
  }
  commit_notifier().SetWatchHooks({[this] { return StartWatching(); }, [this] { StopWatching(); }});
  return absl::OkStatus();
}

absl::Status FileStore::StartWatching() {
  MutexLock lock(&watch_mu_);
  if (watch_shutdown_) return ClosedError();
  watch_active_ = true;
  if (!library_threads()) return absl::OkStatus();  // WatchStep looks instead
  watch_cv_.SignalAll();
  if (!watch_thread_.joinable()) watch_thread_ = std::thread([this] { WatchLoop(); });
  return absl::OkStatus();
}

void FileStore::StopWatching() {
  MutexLock lock(&watch_mu_);
  watch_active_ = false;
  if (watch_ != nullptr) watch_->WakeAll();
}

void FileStore::ShutDownWatching() {
  {
    MutexLock lock(&watch_mu_);
    watch_shutdown_ = true;
    watch_cv_.SignalAll();
    if (watch_ != nullptr) watch_->WakeAll();
  }
  if (watch_thread_.joinable()) watch_thread_.join();
}

void FileStore::WatchStep() {
  bool notify = false;
  {
    MutexLock lock(&watch_mu_);
    if (!watch_active_ || watch_shutdown_) {
      watch_have_seen_ = false;
      return;
    }
    if (watch_ == nullptr) {
      absl::StatusOr<std::unique_ptr<FrontierWatch>> opened = FrontierWatch::Open(env_, dir_);
      if (opened.ok()) watch_ = *std::move(opened);
    }
    if (watch_ == nullptr) {
      notify = true;  // no frontier yet: followers read whatever whole frames exist
    } else if (const uint64_t now = watch_->Sequence(); !watch_have_seen_ || now != watch_seen_) {
      watch_seen_ = now;
      watch_have_seen_ = true;
      notify = true;
    }
  }
  if (notify) commit_notifier().Notify();
}

void FileStore::WatchLoop() {
  // The safety net of each wait: a writer of an older library never wakes
  // the futex, and a wake can race the thread's going to sleep at Close.
  constexpr int64_t kWaitMs = 500;
  // Where the frontier does not exist yet, how often to look for it.
  constexpr auto kNoFrontierRetry = std::chrono::milliseconds(20);
  FrontierWatch* watch = nullptr;
  uint64_t seen = 0;
  bool have_seen = false;
  for (;;) {
    {
      MutexLock lock(&watch_mu_);
      while (!watch_active_ && !watch_shutdown_) {
        have_seen = false;
        watch_cv_.Wait(&watch_mu_);
      }
      if (watch_shutdown_) return;
      if (watch_ == nullptr) {
        absl::StatusOr<std::unique_ptr<FrontierWatch>> opened = FrontierWatch::Open(env_, dir_);
        if (opened.ok()) watch_ = *std::move(opened);
      }
      watch = watch_.get();
      if (watch == nullptr) {
        // No writer has published a frontier yet: followers read whatever
        // whole frames exist, and this looks again shortly.
        watch_cv_.WaitFor(&watch_mu_, kNoFrontierRetry);
      }
    }
    if (watch == nullptr) {
      commit_notifier().Notify();
      continue;
    }
    if (!have_seen) {
      // Read the word, then notify: a publication before the read is
      // covered by this notification, one after it ends the next wait.
      seen = watch->Sequence();
      have_seen = true;
      commit_notifier().Notify();
      continue;
    }
    watch->Wait(seen, kWaitMs);
    const uint64_t now = watch->Sequence();
    if (now != seen) {
      seen = now;
      commit_notifier().Notify();
    }
  }
}

void FileStore::ResetIndexLocked() {
  streams_.clear();
  live_streams_ = 0;
  global_ = EntryList<Location>();
  global_removed_ = PendingRemovals<Location>();
  snapshots_.clear();
  snapshot_count_ = 0;
  checkpoints_.Clear();
  pending_checkpoints_.Clear();
  reclaimable_ = 0;
  segments_ = std::make_shared<SegmentTable>();
  segment_names_.clear();
  segment_ends_.clear();
  segment_last_frames_.clear();
  follow_sequences_.clear();
  log_last_position_ = 0;
  log_reserved_upto_ = 0;
}

absl::Status FileStore::ReloadLocked() {
  absl::Status status;
  for (int attempt = 0; attempt < kReloadAttempts; ++attempt) {
    if (attempt > 0) {
      mu_.Unlock();
      env_->SleepForMicros(2000);
      mu_.Lock();
    }
    ResetIndexLocked();
    FrontierState frontier;
    const bool published = frontier_ != nullptr && frontier_->Read(&frontier);
    absl::StatusOr<Manifest> manifest = ReadManifest(env_, dir_);
    if (!manifest.ok()) return manifest.status();
    if (published && frontier.generation != manifest->generation) {
      status = absl::UnavailableError("the writer is publishing a compaction");
      continue;
    }
    manifest_ = *manifest;
    absl::StatusOr<std::vector<std::string>> names = env_->ListDir(dir_);
    if (!names.ok()) return names.status();
    absl::StatusOr<SegmentPlan> plan = PlanSegments(*names, manifest_, dir_);
    if (!plan.ok()) {
      status = plan.status();  // a compaction removing files: try again
      continue;
    }
    // The index checkpoint, where it fits, spares reading what it covers.
    // Compacted segments are whole; plain ones past the checkpoint are
    // added and followed up to the frontier by CatchUpLocked.
    const std::vector<SegmentCover> covers = LoadCheckpointLocked(plan->names);
    status = absl::OkStatus();
    for (size_t i = 0; i < plan->names.size() && status.ok(); ++i) {
      const bool covered = i < covers.size();
      if (!covered && plan->sequences[i] != 0) break;
      absl::StatusOr<uint64_t> size = env_->GetFileSize(absl::StrCat(dir_, "/", plan->names[i]));
      if (!size.ok()) {
        status = size.status();
        break;
      }
      absl::StatusOr<SegmentView> view = ViewSegment(env_, absl::StrCat(dir_, "/", plan->names[i]), *size);
      if (!view.ok()) {
        status = view.status();
        break;
      }
      PushSegmentLocked(plan->names[i], std::move(*view));
      follow_sequences_.push_back(plan->sequences[i]);
      if (covered) {
        segment_ends_[i] = covers[i].end;
        segment_last_frames_[i] = covers[i].last_frame;
      }
      if (plan->sequences[i] == 0) status = FollowSegmentLocked(static_cast<uint32_t>(i), *size);
    }
    if (status.ok()) status = CatchUpLocked();
    if (status.ok() || absl::IsDataLoss(status) || absl::IsUnimplemented(status)) return status;
  }
  return absl::UnavailableError(
      absl::StrCat("the store in ", dir_, " kept changing while a reader opened it: ", status.message()));
}

absl::Status FileStore::FollowSegmentLocked(uint32_t index, uint64_t limit) {
  if (limit <= segment_ends_[index]) return absl::OkStatus();
  RETURN_IF_ERROR(CoverLocked(index, limit));
  ReadBuffer buffer;
  ASSIGN_OR_RETURN(const absl::Span<const uint8_t> bytes, SegmentBytes((*segments_)[index], limit, &buffer));
  if (segment_ends_[index] == kSegmentHeaderSize) {
    absl::StatusOr<SegmentHeader> header = DecodeSegmentHeader(bytes);
    if (!header.ok()) {
      // A plain segment being created: nothing to read in it yet.
      if (follow_sequences_[index] != 0 && !absl::IsUnimplemented(header.status())) return absl::OkStatus();
      return CorruptionAt(segment_names_[index], 0, ToStd(header.status().message()));
    }
  }
  ASSIGN_OR_RETURN(uint64_t end,
                   ScanFramesFrom(bytes, segment_names_[index], segment_ends_[index],
                                  [&](const Frame& frame) ABSL_NO_THREAD_SAFETY_ANALYSIS {
                                    return ReplayFrame(index, frame);
                                  }));
  segment_ends_[index] = end;
  return absl::OkStatus();
}

absl::Status FileStore::CatchUpLocked() {
  if (frontier_ == nullptr) {
    // A writer may have published a frontier since this reader opened.
    absl::StatusOr<std::unique_ptr<Frontier>> frontier = Frontier::OpenForReader(env_, dir_);
    if (frontier.ok()) frontier_ = std::move(*frontier);
  }
  FrontierState frontier;
  const bool published = frontier_ != nullptr && frontier_->Read(&frontier);
  if (published && frontier.generation != manifest_.generation) return ReloadLocked();
  while (true) {
    if (segments_->empty() || follow_sequences_.back() == 0) {
      // Past the compacted segments: the first plain one, once it exists.
      const uint64_t first = manifest_.next_sequence;
      const std::string name = SegmentFileName(first);
      if (!env_->FileExists(absl::StrCat(dir_, "/", name))) return absl::OkStatus();
      RETURN_IF_ERROR(AddSegmentLocked(first, 0));
      follow_sequences_.push_back(first);
    }
    const auto index = static_cast<uint32_t>(segments_->size() - 1);
    const uint64_t sequence = follow_sequences_[index];
    if (published && frontier.sequence < sequence) return absl::OkStatus();  // nothing published here yet
    const bool writing_here = published && frontier.sequence == sequence;
    uint64_t limit = frontier.end;
    if (!writing_here) {
      ASSIGN_OR_RETURN(limit, env_->GetFileSize(absl::StrCat(dir_, "/", segment_names_[index])));
    }
    RETURN_IF_ERROR(FollowSegmentLocked(index, limit));
    if (writing_here) return absl::OkStatus();
    // Sealed (or no frontier to say otherwise): on to the next, if any.
    const std::string next = SegmentFileName(sequence + 1);
    if (!env_->FileExists(absl::StrCat(dir_, "/", next))) return absl::OkStatus();
    RETURN_IF_ERROR(AddSegmentLocked(sequence + 1, 0));
    follow_sequences_.push_back(sequence + 1);
  }
}

}  // namespace estoria::core::filelog

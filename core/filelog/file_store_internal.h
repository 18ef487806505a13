// FileStore's class, shared by its implementation files: file_store.cc
// (appends, group commit, reads, deletions, snapshots) and
// file_store_open.cc (open, recovery, Verify, Close). Not for other users:
// they go through OpenFileStore (file_store.h).
//
// Concurrency. One mutex (mu_) guards the index and the queue of operations
// waiting to be written. An operation (append, deletion, snapshot, prune) is
// checked and given its versions and positions under mu_ against the
// *pending* state (what is queued included), then queued. The first waiter
// that finds no leader becomes the leader: it takes the whole queue, writes
// it as one group (one pwritev) without holding mu_, syncs it when the mode
// asks, then publishes the group to the index under mu_ in queue order and
// wakes everyone. Others queue meanwhile and go out in the next group: that
// is group commit, and it is also why readers see only durable whole
// batches, in position order (doc/durability.md "Group commit").
#ifndef ESTORIA_CORE_FILELOG_FILE_STORE_INTERNAL_H_
#define ESTORIA_CORE_FILELOG_FILE_STORE_INTERNAL_H_

#include <atomic>
#include <cstdint>
#include <cstring>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "core/env/env.h"
#include "core/filelog/file_iterator.h"
#include "core/filelog/frontier.h"
#include "core/filelog/index_image.h"
#include "core/filelog/file_store.h"
#include "core/filelog/log_format.h"
#include "core/filelog/manifest.h"
#include "core/filelog/segment_scan.h"
#include "core/filelog/segment_writer.h"
#include "core/store/checkpoint_table.h"
#include "core/store/entry_list.h"
#include "core/store/id_map.h"
#include "core/store/event_record.h"
#include "core/store/snapshot_list.h"
#include "core/util/mutex.h"

namespace estoria::core::filelog {

// Positions are reserved durably this many at a time (doc/durability.md
// "Positions": never reused, even after a crash; gaps allowed).
inline constexpr int64_t kReservationBlock = int64_t{1} << 20;

// A compaction under way (file_store_compact.cc): whole in Compact, or in
// steps of Maintain once scheduled.
struct CompactJob;

struct FileStream {
  EntryList<Location> events;  // published live events, versions tip - count + 1 .. tip
  int64_t tip = 0;             // published; 0 = never written or wholly deleted
  int64_t pending_tip = 0;     // with queued appends and deletions

  int64_t first_live_version() const { return tip - static_cast<int64_t>(events.count) + 1; }
};

// One queued operation, owned by the thread that queued it.
struct PendingOp {
  CondVar wake;  // its committer waits here (FileStore::Commit)
  FrameKind kind = FrameKind::kEvents;
  Id id;  // stream or aggregate
  // The frame: header room then payload. kEvents: the EventBlock's bytes.
  std::shared_ptr<EventBlock> block;
  std::string frame;  // other kinds
  uint32_t payload_size = 0;
  uint32_t event_count = 0;
  int64_t reserved_upto = 0;
  // kEvents, kTransaction: one run per append written (one for kEvents),
  // and where each written record sits in the frame (past its prefix).
  struct Run {
    Id stream;
    int64_t first_version = 0;
    size_t first_record = 0;
    size_t count = 0;
  };
  std::vector<Run> runs;
  std::vector<size_t> record_offsets;
  int64_t last_position = 0;
  // kDelete: to_version; kPruneSnapshots: keep_last, min_version
  int64_t a = 0, b = 0;
  std::shared_ptr<const Snapshot> snapshot;  // kSnapshot
  std::vector<CheckpointOp> checkpoint_ops;  // kCheckpoints, stamped

  // Set by the leader.
  uint32_t segment = 0;       // index in the segment table
  uint64_t frame_offset = 0;  // in the segment
  bool done = false;
  absl::Status status;
  // A single append, after publication: the written events for `written`.
  std::shared_ptr<const EntryArray<Location>> written_array;
  size_t written_begin = 0, written_end = 0;

  // A non-event operation's frame: header room, then `payload`, padded to 8.
  void SetPayload(FrameKind frame_kind, std::string_view payload) {
    kind = frame_kind;
    payload_size = static_cast<uint32_t>(payload.size());
    frame.assign(FrameSize(payload.size()), '\0');
    std::memcpy(frame.data() + kFrameHeaderSize, payload.data(), payload.size());
  }

  uint8_t* frame_data() { return block != nullptr ? block->data() : reinterpret_cast<uint8_t*>(frame.data()); }
  size_t frame_bytes() const { return FrameSize(payload_size); }
};

class FileStore final : public EventStore {
 public:
  FileStore(Env* env, std::string dir, const FileStoreOptions& options);
  ~FileStore() override;

  // Open: lock, identity, recovery, writer. Called once, before sharing.
  absl::Status Open();

  absl::StatusOr<std::unique_ptr<EventIterator>> ReadStream(const Id& stream, const ReadOptions& options) override;
  absl::Status CommitWrites(const CommitRequest& request, std::vector<AppendResult>* results) override;
  absl::StatusOr<std::unique_ptr<EventIterator>> ReadAll(const ReadAllOptions& options) override;
  absl::Status DeleteStream(const Id& stream, int64_t to_version) override;
  absl::Status WriteSnapshot(const Id& aggregate, int64_t version, absl::Span<const uint8_t> data,
                             std::string_view content_type, int64_t timestamp_ns) override;
  absl::StatusOr<std::shared_ptr<const Snapshot>> ReadSnapshot(const Id& aggregate, int64_t max_version) override;
  absl::Status PruneSnapshots(const Id& aggregate, int64_t keep_last, int64_t min_version) override;
  absl::StatusOr<Checkpoint> LoadCheckpoint(std::string_view projection_id) override;
  absl::Status DeleteCheckpoint(std::string_view projection_id) override;
  absl::StatusOr<std::vector<Checkpoint>> ListCheckpoints() override;
  void Close() override;
  absl::Status Sync() override;
  absl::StatusOr<StoreStats> Stats() override;
  absl::StatusOr<int64_t> LastVisiblePosition() override;
  absl::StatusOr<std::vector<StreamInfo>> ListStreams(std::string_view after_id, size_t limit) override;
  absl::Status Verify(const ProgressFn& progress, VerifyReport* report) override;
  // file_store_compact.cc
  absl::Status Compact(const ProgressFn& progress, CompactReport* report) override;
  // file_store_maintain.cc
  absl::Status ScheduleCompaction() override;
  absl::Status Maintain(int64_t budget_ns, MaintainReport* report) override;

 private:
  // --- file_store_append.cc: commits with appends, through the append plan,
  // and with them `checkpoint_ops` (saves, unstamped) in one frame.
  absl::Status CommitAppends(absl::Span<const StreamAppend> appends, std::vector<CheckpointOp> checkpoint_ops,
                             std::vector<AppendResult>* results, std::unique_ptr<EventIterator>* written)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Queues a frame of projection checkpoint ops and no events (standalone
  // saves, a delete); stamps the saves.
  absl::Status CommitCheckpointOpsLocked(std::vector<CheckpointOp> ops) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Stamps the saves of `ops` (in the pending table, with the clock now),
  // writing each stamp into the frame's section at `section`.
  void StampCheckpointOpsLocked(std::vector<CheckpointOp>& ops, uint8_t* section)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Waits until no queued operation changes a stream the duplicate check of
  // `appends` reads (it reads published events only).
  absl::Status SettleStreamsLocked(absl::Span<const StreamAppend> appends, absl::Span<const bool> caller_ids)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // --- file_store_compact.cc: the phases of a compaction. Begin seals the
  // writer's segment and snapshots what is live (job.nothing: nothing to
  // do); NoteLive notes the live events of the sealed segments; Copy copies
  // their frames into new files; RemapIndex remaps the index's arrays onto
  // them; Publish swaps files and arrays in; RemoveOldFiles unlinks the
  // old files and returns true when done. The phases that take `stop` work
  // until it says so (asked between pieces, after one at least) and are
  // called again until their job flag is set. A cancelled job
  // (est_store_cancel) returns CancelledError at its next piece before the
  // publish. REQUIRES: compact_mu_ held by the caller across each call.
  absl::Status BeginCompaction(CompactJob& job) ABSL_EXCLUSIVE_LOCKS_REQUIRED(compact_mu_);
  absl::Status NoteLiveEvents(CompactJob& job, const std::function<bool()>& stop)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(compact_mu_);
  absl::Status CopyCompaction(CompactJob& job, const std::function<bool()>& stop, const ProgressFn& progress)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(compact_mu_);
  absl::Status RemapIndex(CompactJob& job, const std::function<bool()>& stop) ABSL_EXCLUSIVE_LOCKS_REQUIRED(compact_mu_);
  absl::Status PublishCompaction(CompactJob& job) ABSL_EXCLUSIVE_LOCKS_REQUIRED(compact_mu_);
  bool RemoveOldFiles(CompactJob& job, const std::function<bool()>& stop) ABSL_EXCLUSIVE_LOCKS_REQUIRED(compact_mu_);
  // Removes what a job wrote and forgets it.
  void AbandonCompaction(CompactJob& job) ABSL_EXCLUSIVE_LOCKS_REQUIRED(compact_mu_);

  // --- file_store_maintain.cc: the host's steps (EST_THREADS_NONE)
  bool library_threads() const { return options_.store.threads == Threads::kLibrary; }
  // The interval flush, when due by the store's clock.
  bool FlushDueLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status FlushStep() ABSL_LOCKS_EXCLUDED(mu_);
  // The steps of the scheduled compaction that fit until `deadline_us`
  // (Env::NowMicrosMonotonic), one at least unless *ran; sets *ran when one ran.
  absl::Status CompactStep(int64_t deadline_us, bool* ran, MaintainReport* report) ABSL_LOCKS_EXCLUDED(mu_);

  // --- file_store.cc
  // The error every call returns once the store is closed or poisoned.
  absl::Status UsableLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // UsableLocked, and for a read-only open, caught up with the writer.
  absl::Status ReadableLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool read_only() const { return options_.store.read_only; }
  absl::Status ReadOnlyError() const;
  // Tells readers in other processes what is published (writer only).
  void PublishFrontierLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Reserves positions through `last` (durably, with the next group).
  void ReserveLocked(int64_t last) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Queues `op` and returns once it is published or failed (its status).
  absl::Status Commit(PendingOp* op) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // As the leader, without mu_: writes `group` (and syncs it when needed).
  absl::Status WriteGroup(std::vector<PendingOp*>& group) ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status RollOver() ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status PublishLocked(PendingOp& op) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void PoisonLocked(const absl::Status& cause) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Syncs what the writer wrote past what is synced, in the writer's turn
  // (mu_ released around the sync): the interval flush, from the library's
  // thread or a host's step. A failure poisons the store and is returned.
  absl::Status SyncWrittenLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Waits to become the leader with an empty queue, for Sync and Close.
  void AcquireWriterLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ReleaseWriterLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Ends a leader's turn: wakes the queue's head to lead next, and whoever waits
  // on cv_.
  void PassTheTurnLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void IntervalSyncLoop();
  // Applying operations to the published index (at publication and at recovery).
  void ApplyEventsLocked(FileStream& stream, absl::Span<const Location> entries, int64_t first_version)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ApplyDeleteLocked(const Id& id, int64_t to_version) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ApplyStreamTipLocked(const Id& id, int64_t tip) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ApplySnapshotLocked(std::shared_ptr<const Snapshot> snapshot) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ApplyPruneLocked(const Id& id, int64_t keep_last, int64_t min_version) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // To the published projection checkpoints; replay (`replay`) also to the
  // pending ones.
  void ApplyCheckpointOpsLocked(absl::Span<const CheckpointOp> ops, bool replay) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::shared_ptr<const SegmentTable> segments() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return segments_; }

  // --- file_store_checkpoint.cc
  std::string CheckpointPath() const;
  IndexImage TakeImageLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Applies global_removed_ to global_; called before anything reads global_.
  void SettleGlobalLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Syncs the log where the mode has not, then writes an image of the index.
  absl::Status WriteCheckpoint() ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status WriteImage(const IndexImage& image) ABSL_LOCKS_EXCLUDED(mu_);
  // Wakes the checkpoint thread once the log has grown enough.
  void MaybeWantCheckpointLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void CheckpointLoop();
  // True when `image` describes the beginning of the log made of `names`.
  bool ImageFits(const IndexImage& image, const std::vector<std::string>& names) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ApplyImageLocked(IndexImage image) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Loads the checkpoint when it fits the log; returns what it covers of
  // each segment, where scanning resumes (empty: scan everything).
  std::vector<SegmentCover> LoadCheckpointLocked(const std::vector<std::string>& names)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Gives the index's arrays their exact size (after a scan grew them).
  void TrimIndexLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // --- file_store_follow.cc: read-only opens
  absl::Status OpenReadOnly();
  // Rebuilds the index from the files (at open, and after a compaction).
  absl::Status ReloadLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Replays what the writer published since the last call.
  absl::Status CatchUpLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Replays segment `index`'s frames from its known end up to `limit`.
  absl::Status FollowSegmentLocked(uint32_t index, uint64_t limit) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ResetIndexLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The commit notifier's watch hooks of a read-only open: the first
  // follower starts the watch thread (once; later ones reactivate it), the
  // last one idles it. Neither joins: they run under the notifier's lock,
  // which the thread takes to notify. Close stops and joins it.
  absl::Status StartWatching();
  void StopWatching();
  void WatchLoop();
  // Without library threads: the watch loop's work, once (est_store_maintain).
  void WatchStep() ABSL_LOCKS_EXCLUDED(watch_mu_);
  void ShutDownWatching();

  // --- file_store_open.cc
  absl::Status CheckIdentity();
  absl::Status Recover();
  // Adds segment `sequence` to the table, mapped `map_bytes` long where the
  // Env can map.
  absl::Status AddSegmentLocked(uint64_t sequence, uint64_t map_bytes) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void PushSegmentLocked(std::string name, SegmentView view) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Makes segment `index`'s mapping cover `end` bytes (a new, longer mapping).
  absl::Status CoverLocked(uint32_t index, uint64_t end) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The global position of the record at `at` (read from the record).
  int64_t PositionAtLocked(Location at) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Applies one recovered frame to the index; kDataLoss when it does not fit.
  absl::Status ReplayFrame(uint32_t segment, const Frame& frame) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::string SegmentPath(uint64_t sequence) const;

  Env* const env_;
  const std::string dir_;
  const FileStoreOptions options_;
  std::unique_ptr<FileLock> lock_;

  const std::shared_ptr<std::atomic<bool>> closed_ = std::make_shared<std::atomic<bool>>(false);

  mutable Mutex mu_;
  CondVar cv_;
  IdMap<FileStream> streams_ ABSL_GUARDED_BY(mu_);
  int64_t live_streams_ ABSL_GUARDED_BY(mu_) = 0;
  EntryList<Location> global_ ABSL_GUARDED_BY(mu_);  // every live event, ascending position
  // Events deleted from the index but still in global_ until it is next
  // read (SettleGlobalLocked applies them): see PendingRemovals.
  PendingRemovals<Location> global_removed_ ABSL_GUARDED_BY(mu_);
  IdMap<SnapshotList> snapshots_ ABSL_GUARDED_BY(mu_);
  int64_t snapshot_count_ ABSL_GUARDED_BY(mu_) = 0;
  // Projection checkpoints (not to be confused with the index checkpoint,
  // INDEX): as published, and with queued saves and deletes (which decide
  // a delete's NOT_FOUND and give saves their stamps).
  CheckpointTable checkpoints_ ABSL_GUARDED_BY(mu_);
  CheckpointTable pending_checkpoints_ ABSL_GUARDED_BY(mu_);
  // Events and snapshots removed from the index whose records compaction
  // has not reclaimed yet (0: nothing to compact).
  int64_t reclaimable_ ABSL_GUARDED_BY(mu_) = 0;
  Mutex compact_mu_ ABSL_ACQUIRED_BEFORE(mu_);  // one compaction at a time
  // A compaction scheduled for Maintain's steps (est_store_compact_schedule).
  std::shared_ptr<CompactJob> scheduled_ ABSL_GUARDED_BY(compact_mu_);
  int64_t next_position_ ABSL_GUARDED_BY(mu_) = 1;
  int64_t reserved_upto_ ABSL_GUARDED_BY(mu_) = 0;  // handed to frames
  std::shared_ptr<const SegmentTable> segments_ ABSL_GUARDED_BY(mu_) = std::make_shared<SegmentTable>();
  std::vector<std::string> segment_names_ ABSL_GUARDED_BY(mu_);  // file names, as the table
  std::vector<uint64_t> segment_ends_ ABSL_GUARDED_BY(mu_);  // published bytes of each segment
  std::vector<uint64_t> segment_last_frames_ ABSL_GUARDED_BY(mu_);  // offset of each one's last frame (0: none)
  ReadBuffer position_scratch_ ABSL_GUARDED_BY(mu_);  // PositionAtLocked without a mapping
  std::deque<PendingOp*> queue_ ABSL_GUARDED_BY(mu_);
  bool leader_active_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status poisoned_ ABSL_GUARDED_BY(mu_);
  bool closing_ ABSL_GUARDED_BY(mu_) = false;
  bool opened_ = false;

  // Owned by whoever is the leader (leader_active_), or by Open and Close.
  std::unique_ptr<SegmentWriter> writer_;
  uint32_t writer_index_ = 0;  // the writer's segment in the table
  uint64_t next_sequence_ = 1;  // of the next plain segment
  Manifest manifest_;           // as published (changed by compaction only)
  std::unique_ptr<Frontier> frontier_;  // null where the Env cannot map
  // Read-only opens: the plain sequence of each segment in the table (0 for
  // compacted ones).
  std::vector<uint64_t> follow_sequences_ ABSL_GUARDED_BY(mu_);
  int64_t durable_reserved_ = 0;  // reserved_upto known durable

  std::thread checkpoint_thread_;
  CondVar checkpoint_cv_;
  bool checkpoint_wanted_ ABSL_GUARDED_BY(mu_) = false;
  bool stop_checkpoints_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t checkpoint_log_bytes_ ABSL_GUARDED_BY(mu_) = 0;   // log bytes the last checkpoint covered
  uint64_t checkpoint_file_bytes_ ABSL_GUARDED_BY(mu_) = 0;  // and its own size

  // Read-only opens: the thread that waits for the writer's publications
  // (FrontierWatch) and notifies followers (file_store_follow.cc).
  Mutex watch_mu_;
  CondVar watch_cv_;
  bool watch_active_ ABSL_GUARDED_BY(watch_mu_) = false;
  bool watch_shutdown_ ABSL_GUARDED_BY(watch_mu_) = false;
  // Made by the watch thread once the frontier exists; lives until Close.
  std::unique_ptr<FrontierWatch> watch_ ABSL_GUARDED_BY(watch_mu_);
  uint64_t watch_seen_ ABSL_GUARDED_BY(watch_mu_) = 0;  // WatchStep's last look
  bool watch_have_seen_ ABSL_GUARDED_BY(watch_mu_) = false;
  std::thread watch_thread_;  // started under watch_mu_, joined by Close

  std::thread interval_thread_;
  CondVar interval_cv_;
  bool stop_interval_ ABSL_GUARDED_BY(mu_) = false;
  // Without threads: when the interval flush last ran, by the store's clock.
  int64_t last_flush_ns_ ABSL_GUARDED_BY(mu_) = 0;

  // What the published log holds: its highest event position and the
  // highest reservation its frames carry. Set by replay (recovery, readers)
  // and by publication; index images record them.
  int64_t log_last_position_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t log_reserved_upto_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace estoria::core::filelog

#endif  // ESTORIA_CORE_FILELOG_FILE_STORE_INTERNAL_H_

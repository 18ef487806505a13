// FileStore: appends with group commit, reads, deletions and snapshots. The
// concurrency scheme is described in file_store_internal.h; opening,
// recovery, Verify and Close are in file_store_open.cc.
#include <algorithm>
#include <chrono>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/filelog/file_store_internal.h"
#include "core/filelog/frame_content.h"
#include "schema/estoria_generated.h"
#include "core/store/as_of.h"
#include "core/store/snapshot_list.h"
#include "core/store/store_checks.h"
#include "core/util/log.h"
#include "core/util/status.h"

namespace estoria::core::filelog {
namespace {

// A group is cut at this many operations or bytes; the rest goes in the next.
constexpr size_t kMaxGroupOps = 4096;
constexpr uint64_t kMaxGroupBytes = uint64_t{64} << 20;

}  // namespace

FileStore::FileStore(Env* env, std::string dir, const FileStoreOptions& options)
    : env_(env), dir_(std::move(dir)), options_(options) {
  SetHost(options.store.host);
}

FileStore::~FileStore() { Close(); }

absl::Status FileStore::UsableLocked() const {
  if (closing_) return ClosedError();
  return poisoned_;
}

absl::Status FileStore::ReadableLocked() {
  RETURN_IF_ERROR(UsableLocked());
  return read_only() ? CatchUpLocked() : absl::OkStatus();
}

absl::Status FileStore::ReadOnlyError() const {
  return absl::UnimplementedError(absl::StrCat("the store in ", dir_, " is open read-only"));
}

void FileStore::PublishFrontierLocked() {
  if (frontier_ != nullptr) {
    frontier_->Publish(FrontierState{manifest_.generation, writer_->sequence(), segment_ends_[writer_index_]});
  }
}

void FileStore::ReserveLocked(int64_t last) {
  if (last <= reserved_upto_) return;
  reserved_upto_ = last > std::numeric_limits<int64_t>::max() - kReservationBlock ? last : last + kReservationBlock;
}

void FileStore::PoisonLocked(const absl::Status& cause) {
  if (!poisoned_.ok()) return;
  poisoned_ = absl::UnavailableError(
      absl::StrCat("the store in ", dir_, " failed to write and must be reopened: ", cause.message()));
  host().Log(LogLevel::kError, absl::StrCat("estoria: ", poisoned_.message()));
}

absl::Status FileStore::Commit(PendingOp* op) {
  queue_.push_back(op);
  while (!op->done) {
    if (leader_active_) {
      // Woken alone: when its group is done, or as the queue's head to lead
      // the next one (a broadcast woke every waiting appender per group, and
      // with many threads on few cores the wakeups were the tail latency).
      op->wake.Wait(&mu_);
      continue;
    }
    // Lead: take what is queued (bounded), write it without the lock.
    leader_active_ = true;
    std::vector<PendingOp*> group;
    uint64_t bytes = 0;
    while (!queue_.empty() && group.size() < kMaxGroupOps && (group.empty() || bytes < kMaxGroupBytes)) {
      bytes += queue_.front()->frame_bytes();
      group.push_back(queue_.front());
      queue_.pop_front();
    }
    mu_.Unlock();
    absl::Status status = WriteGroup(group);
    mu_.Lock();
    if (status.ok()) {
      for (PendingOp* done : group) {
        done->status = PublishLocked(*done);
        done->done = true;
      }
      PublishFrontierLocked();
      commit_notifier().Notify();  // the group is visible to ReadAll
    } else {
      PoisonLocked(status);
      for (PendingOp* failed : group) {
        failed->status = poisoned_;
        failed->done = true;
      }
      for (PendingOp* failed : queue_) {
        failed->status = poisoned_;
        failed->done = true;
        failed->wake.Signal();
      }
      queue_.clear();
    }
    for (PendingOp* done : group) {
      if (done != op) done->wake.Signal();
    }
    PassTheTurnLocked();
  }
  return op->status;
}

void FileStore::PassTheTurnLocked() {
  leader_active_ = false;
  if (!queue_.empty()) queue_.front()->wake.Signal();  // the next leader
  cv_.SignalAll();  // AcquireWriterLocked and SettleStreamsLocked
}

absl::Status FileStore::WriteGroup(std::vector<PendingOp*>& group) {
  uint64_t total = 0;
  for (const PendingOp* op : group) total += op->frame_bytes();
  if (writer_->end() > kSegmentHeaderSize && writer_->end() + total > options_.segment_bytes) {
    RETURN_IF_ERROR(RollOver());
  }
  const uint64_t synced = writer_->synced_upto();
  const uint32_t segment = writer_index_;
  uint64_t offset = writer_->end();
  int64_t reserved = durable_reserved_;
  std::vector<absl::Span<const uint8_t>> pieces;
  pieces.reserve(group.size());
  for (PendingOp* op : group) {
    uint8_t* frame = op->frame_data();
    FrameHeader header;
    header.kind = op->kind;
    header.payload_size = op->payload_size;
    header.offset = offset;
    header.synced_upto = synced;
    header.reserved_upto = op->reserved_upto;
    header.payload_crc = PayloadCrc(absl::MakeConstSpan(frame + kFrameHeaderSize, op->payload_size));
    header.event_count = op->event_count;
    EncodeFrameHeader(header, frame);
    op->segment = segment;
    op->frame_offset = offset;
    pieces.emplace_back(frame, op->frame_bytes());
    offset += op->frame_bytes();
    reserved = std::max(reserved, op->reserved_upto);
  }
  RETURN_IF_ERROR(writer_->Write(pieces));
  // Positions above the durable reservation may be published only once the
  // frame that reserves them is durable, whatever the mode.
  if (options_.store.sync_mode == SyncMode::kAlways || reserved > durable_reserved_) {
    RETURN_IF_ERROR(writer_->Sync());
    durable_reserved_ = reserved;
  }
  return absl::OkStatus();
}

absl::Status FileStore::RollOver() {
  // The old segment is made durable whole in every mode, so that damage in
  // any segment but the last is always corruption, never a torn tail.
  RETURN_IF_ERROR(writer_->Sync());
  RETURN_IF_ERROR(writer_->Close());
  std::unique_ptr<SegmentWriter> next;
  ASSIGN_OR_RETURN(next, SegmentWriter::Create(env_, dir_, next_sequence_, options_.preallocate_bytes,
                                               library_threads(), &host()));
  ++next_sequence_;
  {
    MutexLock lock(&mu_);
    RETURN_IF_ERROR(AddSegmentLocked(next->sequence(), options_.segment_bytes));
    writer_index_ = static_cast<uint32_t>(segments_->size() - 1);
    MaybeWantCheckpointLocked();
  }
  writer_ = std::move(next);
  return absl::OkStatus();
}

absl::Status FileStore::PublishLocked(PendingOp& op) {
  if (absl::Status covered = CoverLocked(op.segment, op.frame_offset + op.frame_bytes()); !covered.ok()) {
    // Written, perhaps durable, but unreadable through the mapping: the
    // store stops here (a reopen maps it afresh).
    PoisonLocked(covered);
    return poisoned_;
  }
  uint64_t& end = segment_ends_[op.segment];
  end = std::max(end, op.frame_offset + op.frame_bytes());
  segment_last_frames_[op.segment] = std::max(segment_last_frames_[op.segment], op.frame_offset);
  log_reserved_upto_ = std::max(log_reserved_upto_, op.reserved_upto);  // for index images
  switch (op.kind) {
    case FrameKind::kEvents:
    case FrameKind::kTransaction:
    case FrameKind::kCheckpoints: {
      // Every run at once under mu_, and the checkpoint saves with them:
      // readers see the whole transaction or none of it.
      ApplyCheckpointOpsLocked(op.checkpoint_ops, /*replay=*/false);
      if (op.runs.empty()) break;
      std::vector<Location> entries;
      for (const PendingOp::Run& run : op.runs) {
        entries.resize(run.count);
        for (size_t i = 0; i < run.count; ++i) {
          entries[i] = Location{op.segment,
                                static_cast<uint32_t>(op.frame_offset + op.record_offsets[run.first_record + i])};
        }
        FileStream& stream = streams_[run.stream];
        ApplyEventsLocked(stream, entries, run.first_version);
        op.written_array = stream.events.array;
        op.written_end = stream.events.count;
        op.written_begin = op.written_end - run.count;
      }
      log_last_position_ = op.last_position;
      break;
    }
    case FrameKind::kDelete:
      ApplyDeleteLocked(op.id, op.a);
      break;
    case FrameKind::kSnapshot:
      ApplySnapshotLocked(op.snapshot);
      break;
    case FrameKind::kPruneSnapshots:
      ApplyPruneLocked(op.id, op.a, op.b);
      break;
    case FrameKind::kReservation:
    case FrameKind::kStreamTip:  // never appended: compaction writes them
      break;
  }
  return absl::OkStatus();
}

void FileStore::ApplyEventsLocked(FileStream& stream, absl::Span<const Location> entries, int64_t first_version) {
  if (stream.tip == 0) ++live_streams_;
  stream.events.Append(entries);
  stream.tip = first_version + static_cast<int64_t>(entries.size()) - 1;
  global_.Append(entries);
}

void FileStore::ApplyDeleteLocked(const Id& id, int64_t to_version) {
  auto it = streams_.find(id);
  if (it == streams_.end() || it->second.tip == 0) return;
  FileStream& stream = it->second;
  auto drop_oldest = [&](size_t k) {
    if (k == 0) return;
    reclaimable_ += static_cast<int64_t>(k);
    for (size_t i = 0; i < k; ++i) global_removed_.Add((*stream.events.array)[i]);
    if (global_removed_.Due(global_.count)) SettleGlobalLocked();
    stream.events.DropFront(k);
  };
  auto snaps = snapshots_.find(id);
  if (to_version == 0) {
    drop_oldest(stream.events.count);
    stream.tip = 0;
    --live_streams_;
    if (snaps != snapshots_.end()) {
      snapshot_count_ -= static_cast<int64_t>(snaps->second.size());
      reclaimable_ += static_cast<int64_t>(snaps->second.size());
      snapshots_.erase(snaps);
    }
    if (stream.pending_tip == 0) streams_.erase(it);
    return;
  }
  if (snaps != snapshots_.end()) {
    const auto dropped = static_cast<int64_t>(DropSnapshotsBelow(snaps->second, to_version));
    snapshot_count_ -= dropped;
    reclaimable_ += dropped;
    if (snaps->second.empty()) snapshots_.erase(snaps);
  }
  const int64_t lo = stream.first_live_version();
  if (to_version < lo) return;
  drop_oldest(static_cast<size_t>(std::min<int64_t>(to_version - lo + 1, stream.events.count)));
}

void FileStore::SettleGlobalLocked() {
  global_removed_.ApplyTo(global_, [](const Location& e) { return e; });
}

void FileStore::ApplyStreamTipLocked(const Id& id, int64_t tip) {
  FileStream& stream = streams_[id];
  if (stream.tip == 0) ++live_streams_;
  if (stream.events.count > 0) {
    // Not written so (compaction writes one only for a stream with nothing
    // live), but if met, the stream's events are all below the tip: gone.
    stream.tip = std::max(stream.tip, tip);
    ApplyDeleteLocked(id, stream.tip);
  }
  stream.tip = tip;
}

void FileStore::ApplySnapshotLocked(std::shared_ptr<const Snapshot> snapshot) {
  SnapshotList& list = snapshots_[snapshot->aggregate_id];
  InsertSnapshot(list, std::move(snapshot));
  ++snapshot_count_;
}

void FileStore::ApplyCheckpointOpsLocked(absl::Span<const CheckpointOp> ops, bool replay) {
  for (const CheckpointOp& op : ops) {
    if (op.remove) {
      // The delete's record and the save it removes are compaction's to reclaim.
      if (checkpoints_.Erase(op.projection_id)) reclaimable_ += 2;
      if (replay) pending_checkpoints_.Erase(op.projection_id);
      continue;
    }
    if (checkpoints_.Find(op.projection_id) != nullptr) ++reclaimable_;  // the save it overwrites
    checkpoints_.Put(op.projection_id, op.position, op.updated_at_ns);
    if (replay) pending_checkpoints_.Put(op.projection_id, op.position, op.updated_at_ns);
  }
}

void FileStore::ApplyPruneLocked(const Id& id, int64_t keep_last, int64_t min_version) {
  auto it = snapshots_.find(id);
  if (it == snapshots_.end()) return;
  const auto pruned = static_cast<int64_t>(PruneSnapshotList(it->second, keep_last, min_version));
  snapshot_count_ -= pruned;
  reclaimable_ += pruned;
  if (it->second.empty()) snapshots_.erase(it);
}

int64_t FileStore::PositionAtLocked(Location at) {
  absl::StatusOr<EventView> record = ReadRecord(*segments_, at, &position_scratch_);
  // A read failure here (only possible without a mapping) sorts the record
  // last; the iterator reading it reports the error.
  return record.ok() ? record->position() : std::numeric_limits<int64_t>::max();
}

absl::StatusOr<std::unique_ptr<EventIterator>> FileStore::ReadStream(const Id& stream, const ReadOptions& options) {
  RETURN_IF_ERROR(CheckStreamId(stream));
  RETURN_IF_ERROR(CheckReadOptions(options));

  std::shared_ptr<EntryArray<Location>> array;
  size_t count = 0;
  int64_t tip = 0;
  std::shared_ptr<const SegmentTable> segments;
  {
    MutexLock lock(&mu_);
    RETURN_IF_ERROR(ReadableLocked());
    auto it = streams_.find(stream);
    if (it == streams_.end() || it->second.tip == 0) return StreamNotFound(stream);
    array = it->second.events.array;
    count = it->second.events.count;
    tip = it->second.tip;
    segments = segments_;
  }
  // The array's entries [0, count) and the segment table are immutable: the
  // stamps of a read as of a time are read without the lock. A record that
  // cannot be read fails the read, as the iterator would.
  ReadBuffer scratch;
  absl::Status unreadable;
  const StreamRange range = StreamReadRangeAsOf(tip, count, options, [&](size_t i) {
    absl::StatusOr<EventView> record = ReadRecord(*segments, (*array)[i], &scratch);
    if (record.ok()) return StampOf(*record);
    unreadable.Update(record.status());
    return std::numeric_limits<int64_t>::max();
  });
  RETURN_IF_ERROR(unreadable);
  return MakeFileIterator(array, range.begin, range.end, options.direction == Direction::kReverse, segments,
                          closed_);
}

absl::StatusOr<std::unique_ptr<EventIterator>> FileStore::ReadAll(const ReadAllOptions& options) {
  RETURN_IF_ERROR(CheckReadAllOptions(options));
  const size_t limit = CountLimit(options.count);

  MutexLock lock(&mu_);
  RETURN_IF_ERROR(ReadableLocked());
  SettleGlobalLocked();
  const size_t count = global_.count;
  if (count == 0) return MakeFileIterator(nullptr, 0, 0, false, segments_, closed_);
  // The index keeps no positions: the records have them, and the global
  // order is the log's order, so a binary search reads ~log2(n) records.
  const Location* first = global_.array->data();
  const Location* found = std::upper_bound(
      first, first + count, options.after_position,
      [this](int64_t position, const Location& e) ABSL_NO_THREAD_SAFETY_ANALYSIS {
        return position < PositionAtLocked(e);
      });
  const size_t begin = static_cast<size_t>(found - first);
  const size_t end = begin + std::min(limit, count - begin);
  return EndBeforeStampedAfter(
      MakeFileIterator(global_.array, begin, end, false, segments_, closed_, RecordOrder::kLog),
      options.until_timestamp_ns);
}

absl::Status FileStore::DeleteStream(const Id& stream, int64_t to_version) {
  if (read_only()) return ReadOnlyError();
  RETURN_IF_ERROR(CheckStreamId(stream));
  RETURN_IF_ERROR(CheckDeleteVersion(to_version));
  PendingOp op;
  op.id = stream;
  op.a = to_version;
  op.SetPayload(FrameKind::kDelete, EncodeDelete(DeletePayload{stream, to_version}));

  MutexLock lock(&mu_);
  RETURN_IF_ERROR(UsableLocked());
  auto it = streams_.find(stream);
  if (it == streams_.end() || it->second.pending_tip == 0) return StreamNotFound(stream);
  if (to_version == 0) it->second.pending_tip = 0;  // the ID is reusable from version 1 at once
  op.reserved_upto = reserved_upto_;
  return Commit(&op);
}

absl::Status FileStore::WriteSnapshot(const Id& aggregate, int64_t version, absl::Span<const uint8_t> data,
                                      std::string_view content_type, int64_t timestamp_ns) {
  if (read_only()) return ReadOnlyError();
  RETURN_IF_ERROR(CheckStreamId(aggregate, "aggregate type"));
  RETURN_IF_ERROR(CheckSnapshotWrite(version, timestamp_ns, content_type));
  auto snapshot = std::make_shared<Snapshot>();
  snapshot->aggregate_id = aggregate;
  snapshot->version = version;
  snapshot->timestamp_ns = timestamp_ns == 0 ? host().NowNanos(env_) : timestamp_ns;
  snapshot->data.assign(reinterpret_cast<const char*>(data.data()), data.size());
  snapshot->content_type.assign(content_type);
  PendingOp op;
  op.id = aggregate;
  op.SetPayload(FrameKind::kSnapshot, EncodeSnapshot(*snapshot));
  op.snapshot = std::move(snapshot);

  MutexLock lock(&mu_);
  RETURN_IF_ERROR(UsableLocked());
  op.reserved_upto = reserved_upto_;
  return Commit(&op);
}

absl::StatusOr<std::shared_ptr<const Snapshot>> FileStore::ReadSnapshot(const Id& aggregate, int64_t max_version) {
  RETURN_IF_ERROR(CheckStreamId(aggregate, "aggregate type"));
  RETURN_IF_ERROR(CheckSnapshotMaxVersion(max_version));
  MutexLock lock(&mu_);
  RETURN_IF_ERROR(ReadableLocked());
  auto it = snapshots_.find(aggregate);
  if (it != snapshots_.end()) {
    if (auto found = FindSnapshot(it->second, max_version); found != nullptr) return found;
  }
  return SnapshotNotFound(aggregate, max_version);
}

absl::Status FileStore::PruneSnapshots(const Id& aggregate, int64_t keep_last, int64_t min_version) {
  if (read_only()) return ReadOnlyError();
  RETURN_IF_ERROR(CheckStreamId(aggregate, "aggregate type"));
  RETURN_IF_ERROR(CheckPruneBounds(keep_last, min_version));
  PendingOp op;
  op.id = aggregate;
  op.a = keep_last;
  op.b = min_version;
  op.SetPayload(FrameKind::kPruneSnapshots, EncodePrune(PrunePayload{aggregate, keep_last, min_version}));

  MutexLock lock(&mu_);
  RETURN_IF_ERROR(UsableLocked());
  // Nothing to remove and nothing queued that could add some: no record.
  if (queue_.empty() && !leader_active_) {
    auto it = snapshots_.find(aggregate);
    if (it == snapshots_.end() || SnapshotsToPrune(it->second, keep_last, min_version) == 0) {
      return absl::OkStatus();
    }
  }
  op.reserved_upto = reserved_upto_;
  return Commit(&op);
}

void FileStore::AcquireWriterLocked() {
  while (leader_active_ || !queue_.empty()) cv_.Wait(&mu_);
  leader_active_ = true;
}

void FileStore::ReleaseWriterLocked() { PassTheTurnLocked(); }

absl::Status FileStore::Sync() {
  MutexLock lock(&mu_);
  RETURN_IF_ERROR(UsableLocked());
  if (read_only()) return absl::OkStatus();  // nothing of its own to sync
  // Under kAlways every acknowledged write is durable already.
  if (options_.store.sync_mode == SyncMode::kAlways) return absl::OkStatus();
  AcquireWriterLocked();
  mu_.Unlock();
  absl::Status status = writer_->Sync();
  mu_.Lock();
  if (!status.ok()) PoisonLocked(status);
  ReleaseWriterLocked();
  return status.ok() ? absl::OkStatus() : poisoned_;
}

void FileStore::IntervalSyncLoop() {
  const auto interval = std::chrono::milliseconds(std::max(1, options_.store.sync_interval_ms));
  MutexLock lock(&mu_);
  while (!stop_interval_) {
    auto deadline = std::chrono::steady_clock::now() + interval;
    while (!stop_interval_ && std::chrono::steady_clock::now() < deadline) {
      interval_cv_.WaitFor(&mu_, deadline - std::chrono::steady_clock::now());
    }
    if (stop_interval_ || !poisoned_.ok()) continue;
    SyncWrittenLocked().IgnoreError();  // poisons the store on failure
  }
}

absl::Status FileStore::SyncWrittenLocked() {
  AcquireWriterLocked();
  absl::Status status;
  if (writer_->synced_upto() < writer_->end()) {
    mu_.Unlock();
    status = writer_->Sync();
    mu_.Lock();
  }
  if (!status.ok()) PoisonLocked(status);
  ReleaseWriterLocked();
  return status;
}

absl::StatusOr<std::vector<StreamInfo>> FileStore::ListStreams(std::string_view after_id, size_t limit) {
  if (limit == 0) return absl::InvalidArgumentError("limit must be > 0");
  std::vector<StreamInfo> streams;
  {
    MutexLock lock(&mu_);
    RETURN_IF_ERROR(ReadableLocked());
    streams.reserve(static_cast<size_t>(live_streams_));
    for (const auto& [id, stream] : streams_) {
      if (stream.tip > 0) streams.push_back(StreamInfo{id, stream.tip, static_cast<int64_t>(stream.events.count)});
    }
  }
  PageStreams(streams, after_id, limit);
  return streams;
}

absl::StatusOr<StoreStats> FileStore::Stats() {
  MutexLock lock(&mu_);
  RETURN_IF_ERROR(ReadableLocked());
  SettleGlobalLocked();
  StoreStats stats;
  stats.events = static_cast<int64_t>(global_.count);
  stats.streams = live_streams_;
  for (uint64_t end : segment_ends_) stats.bytes += static_cast<int64_t>(end);
  stats.segments = static_cast<int64_t>(segments_->size());
  stats.first_position = global_.count == 0 ? 0 : PositionAtLocked((*global_.array)[0]);
  // A reader knows what the writer published; the writer, what it handed out.
  stats.last_position = read_only() ? log_last_position_ : next_position_ - 1;
  stats.snapshots = snapshot_count_;
  return stats;
}

absl::StatusOr<int64_t> FileStore::LastVisiblePosition() {
  MutexLock lock(&mu_);
  RETURN_IF_ERROR(ReadableLocked());
  // Published only: a group being written holds higher positions already.
  return log_last_position_;
}

}  // namespace estoria::core::filelog

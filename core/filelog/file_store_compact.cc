// FileStore::Compact: rewrites the sealed segments without the events that
// deletions and truncations removed, online. FORMAT.md ("Compaction") gives
// the rules; in short:
//  1. the writer rolls over, so every segment but a fresh, empty one is
//     sealed; the live events of the sealed ones (what the index holds) and
//     the live snapshots are noted;
//  2. without the lock, the sealed segments are copied frame by frame into
//     new files c-GGGGGG-KKKKKK.log: event frames keep only live records
//     (byte for byte: versions, positions, ids unchanged), deletions become
//     what replay needs to end each stream at its old tip (a kept whole
//     deletion, or a stream-tip frame), live snapshots stay, prunes and
//     reservations go (one reservation frame at the end keeps the highest);
//     projection checkpoint ops go, and one checkpoint frame before that
//     reservation holds the latest save of each projection the sealed
//     segments leave (deleted ones are gone);
//     the new files are fsynced, then the directory;
//  3. without the lock, the index's arrays are remapped onto the new files,
//     from snapshots of them (an array's entries below its count never
//     change);
//  4. with appends paused (the writer's turn held), the MANIFEST naming the
//     new files is published and the remapped arrays replace the index's,
//     each with what was appended since its snapshot (an array a deletion
//     changed meanwhile is matched to its snapshot in one pass);
//  5. the old files are unlinked. Iterators that began before hold the old
//     mappings and arrays, and read on undisturbed.
// Every phase but the publish works in pieces, so that est_store_maintain
// can run a compaction in steps of about its budget.
#include <algorithm>
#include <functional>
#include <map>
#include <set>
#include <tuple>
#include <type_traits>
#include <utility>

#include "absl/container/node_hash_map.h"
#include "absl/strings/str_cat.h"
#include "core/filelog/file_store_internal.h"
#include "core/filelog/frame_content.h"
#include "core/store/record_copy.h"
#include "core/util/log.h"
#include "core/util/status.h"

namespace estoria::core::filelog {
namespace {

using SnapshotKey = std::tuple<std::string, int64_t, int64_t>;  // aggregate, version, timestamp

SnapshotKey KeyOf(const Snapshot& s) { return {s.aggregate_id.ToString(), s.version, s.timestamp_ns}; }

// Writes the compacted segments: frames appended in order, a new file once
// one holds segment_bytes.
class CompactedWriter {
 public:
  CompactedWriter(Env* env, std::string dir, uint64_t generation, uint64_t segment_bytes)
      : env_(env), dir_(std::move(dir)), generation_(generation), segment_bytes_(segment_bytes) {}

  // Appends a frame of `kind` with `payload`; returns where it landed.
  absl::StatusOr<std::pair<uint32_t, uint64_t>> Add(FrameKind kind, absl::Span<const uint8_t> payload,
                                                   uint32_t event_count, int64_t reserved_upto) {
    const uint64_t size = FrameSize(payload.size());
    if (file_ == nullptr || (end_ > kSegmentHeaderSize && end_ + size > segment_bytes_)) RETURN_IF_ERROR(Next());
    frame_.assign(size, 0);
    std::copy(payload.begin(), payload.end(), frame_.begin() + kFrameHeaderSize);
    FrameHeader header;
    header.kind = kind;
    header.payload_size = static_cast<uint32_t>(payload.size());
    header.offset = end_;
    header.synced_upto = end_;  // the file is synced whole before anyone reads it
    header.reserved_upto = reserved_upto;
    header.payload_crc = PayloadCrc(payload);
    header.event_count = event_count;
    EncodeFrameHeader(header, frame_.data());
    RETURN_IF_ERROR(file_->Append(frame_));
    written_ += size;
    const uint64_t at = end_;
    end_ += size;
    ends_.back() = end_;
    last_frames_.back() = at;
    return std::make_pair(static_cast<uint32_t>(names_.size() - 1), at);
  }

  absl::Status Finish() {
    RETURN_IF_ERROR(SealCurrent());
    return names_.empty() ? absl::OkStatus() : env_->SyncDir(dir_);
  }

  // Makes what the current file holds so far durable (a step of a
  // stepped compaction, so that sealing it later is quick).
  absl::Status SyncCurrent() { return file_ == nullptr ? absl::OkStatus() : file_->Sync(); }
  uint64_t written() const { return written_; }  // bytes of frames added so far

  // Removes every file written (the compaction is abandoned).
  void Abandon() {
    file_.reset();
    for (const std::string& name : names_) env_->DeleteFile(absl::StrCat(dir_, "/", name)).IgnoreError();
  }

  const std::vector<std::string>& names() const { return names_; }
  const std::vector<uint64_t>& ends() const { return ends_; }
  const std::vector<uint64_t>& last_frames() const { return last_frames_; }

 private:
  absl::Status SealCurrent() {
    if (file_ == nullptr) return absl::OkStatus();
    RETURN_IF_ERROR(file_->Sync());
    RETURN_IF_ERROR(file_->Close());
    file_.reset();
    return absl::OkStatus();
  }

  absl::Status Next() {
    RETURN_IF_ERROR(SealCurrent());
    names_.push_back(CompactedSegmentFileName(generation_, names_.size()));
    ends_.push_back(kSegmentHeaderSize);
    last_frames_.push_back(0);
    ASSIGN_OR_RETURN(file_, env_->NewWritableFile(absl::StrCat(dir_, "/", names_.back())));
    uint8_t header[kSegmentHeaderSize];
    EncodeSegmentHeader(SegmentHeader{kFormatVersion, generation_}, header);
    RETURN_IF_ERROR(file_->Append(absl::MakeConstSpan(header, kSegmentHeaderSize)));
    end_ = kSegmentHeaderSize;
    return absl::OkStatus();
  }

  Env* const env_;
  const std::string dir_;
  const uint64_t generation_;
  const uint64_t segment_bytes_;
  std::unique_ptr<WritableFile> file_;
  uint64_t end_ = 0;
  std::vector<std::string> names_;
  std::vector<uint64_t> ends_;
  std::vector<uint64_t> last_frames_;
  std::vector<uint8_t> frame_;
  uint64_t written_ = 0;
};

// Where each live event of one old segment went, in the segment's order.
struct SegmentRemap {
  std::vector<uint32_t> old_offsets;  // ascending
  std::vector<Location> moved_to;     // parallel; set as the copy goes
};

// The new location of `at` (a live event of an old segment).
Location Remapped(const std::vector<SegmentRemap>& remaps, Location at, uint32_t first_kept) {
  if (at.segment >= remaps.size()) {
    return Location{at.segment - static_cast<uint32_t>(remaps.size()) + first_kept, at.offset};
  }
  const SegmentRemap& r = remaps[at.segment];
  auto it = std::lower_bound(r.old_offsets.begin(), r.old_offsets.end(), at.offset);
  return r.moved_to[static_cast<size_t>(it - r.old_offsets.begin())];
}

}  // namespace

// One index array's remap onto the compacted files, computed outside the
// lock from a snapshot of the array, and checked against it at publish.
struct ListRemap {
  std::shared_ptr<const EntryArray<Location>> source;
  size_t count = 0;
  std::shared_ptr<EntryArray<Location>> moved;  // null until the remap starts
  size_t done = 0;                              // of source's first `count`

  ListRemap() = default;
  ListRemap(std::shared_ptr<const EntryArray<Location>> array, size_t n) : source(std::move(array)), count(n) {}

  bool finished() const { return moved != nullptr && done == count; }
};

struct CompactJob {
  explicit CompactJob(Cancellation::Token t) : token(t) {}

  const Cancellation::Token token;
  bool begun = false;
  bool nothing = false;  // nothing to reclaim: done at Begin
  bool copied = false;
  bool remapped = false;
  bool published = false;
  // Begin's notes.
  size_t sealed = 0;
  std::vector<SegmentRemap> remaps;
  std::set<SnapshotKey> live_snapshots;
  std::vector<Checkpoint> live_checkpoints;  // as the sealed segments leave them
  std::shared_ptr<const SegmentTable> table;
  std::vector<std::string> old_names;
  std::vector<uint64_t> old_ends;
  uint64_t generation = 0;
  int64_t reclaimable_at_start = 0;
  // The global order when Begin ran, whose live events in the sealed
  // segments are noted into `remaps` up to `noted`.
  std::shared_ptr<const EntryArray<Location>> live;
  size_t live_count = 0;
  size_t noted = 0;
  bool noted_all = false;
  // The copy, as far as it got.
  CompactReport got;
  uint64_t total = 0;
  uint64_t done = 0;
  std::unique_ptr<CompactedWriter> out;
  // Each stream's tip in the old log, and as replay of the copy will see it.
  absl::flat_hash_map<Id, std::pair<int64_t, int64_t>> tips;
  int64_t reserved = 0;
  ReadBuffer buffer;
  std::string payload;
  size_t segment = 0;        // the old segment being copied
  uint64_t resume = 0;       // the offset of its next frame (0: from its start)
  size_t next_live = 0;      // its next live event, in remaps[segment]
  absl::Span<const uint8_t> bytes;  // its bytes, while resume != 0
  // Stepped: what syncing a copied byte costs (measured as it goes).
  double sync_us_per_byte = 0.001;
  // The index's remap (node map: the remaps stay where they are).
  bool snapshotted = false;
  absl::node_hash_map<Id, ListRemap> stream_remaps;
  ListRemap global_remap;
  std::vector<ListRemap*> pending;  // what the remap phase has left, in order
  size_t next_pending = 0;
  std::vector<SegmentView> views;  // the new files, mapped
  size_t unlinked = 0;  // old files removed after the publish
};

namespace {

// Entries handled between two looks at the clock in the index phases.
constexpr size_t kIndexChunk = 256;

// Remaps source entries of `remap` until done or `stop` (asked every chunk,
// after one at least).
void RemapSome(ListRemap& remap, const std::vector<SegmentRemap>& remaps, uint32_t first_kept,
               const std::function<bool()>& stop) {
  if (remap.moved == nullptr) {
    remap.moved = std::make_shared<EntryArray<Location>>(remap.count + remap.count / 8 + 1);
  }
  while (remap.done < remap.count) {
    const size_t end = std::min(remap.count, remap.done + kIndexChunk);
    for (size_t i = remap.done; i < end; ++i) (*remap.moved)[i] = Remapped(remaps, (*remap.source)[i], first_kept);
    remap.done = end;
    if (remap.done < remap.count && stop()) return;
  }
}

// Puts the remapped array in `list`'s place. Since the snapshot the list
// can only have gained entries at its end (appends, all in segments past
// the sealed ones) and lost some anywhere (deletions, truncations; a new
// array then, or an equal one grown or trimmed): when its array is the
// snapshot's, only the appended ones are remapped; otherwise one pass
// matches its entries to the snapshot's, in order.
void Install(EntryList<Location>& list, ListRemap* remap, const std::vector<SegmentRemap>& remaps,
             uint32_t first_kept) {
  if (list.count == 0) return;
  const size_t capacity = list.count + list.count / 8 + 1;
  if (remap == nullptr || !remap->finished()) {  // a stream new since the snapshot
    ListRemap whole{list.array, list.count};
    RemapSome(whole, remaps, first_kept, [] { return false; });
    list.array = std::move(whole.moved);
    return;
  }
  const Location* source = remap->source->data();
  const Location* moved = remap->moved->data();
  if (list.array == remap->source && list.count >= remap->count) {
    if (remap->moved->capacity() < list.count) {
      auto grown = std::make_shared<EntryArray<Location>>(capacity);
      std::copy(moved, moved + remap->count, &(*grown)[0]);
      remap->moved = std::move(grown);
    }
    for (size_t i = remap->count; i < list.count; ++i) {
      (*remap->moved)[i] = Remapped(remaps, (*list.array)[i], first_kept);
    }
    list.array = std::move(remap->moved);
    return;
  }
  auto merged = std::make_shared<EntryArray<Location>>(capacity);
  size_t i = 0;
  for (size_t j = 0; j < list.count; ++j) {
    const Location at = (*list.array)[j];
    while (i < remap->count && !(source[i] == at)) ++i;
    (*merged)[j] = i < remap->count ? moved[i++] : Remapped(remaps, at, first_kept);
  }
  list.array = std::move(merged);
}

}  // namespace

absl::Status FileStore::BeginCompaction(CompactJob& job) {
  job.begun = true;
  MutexLock lock(&mu_);
  RETURN_IF_ERROR(UsableLocked());
  if (cancellation().Cancelled(job.token)) return CancelledError("the compaction");
  if (reclaimable_ == 0) {
    job.nothing = true;
    return absl::OkStatus();
  }
  job.reclaimable_at_start = reclaimable_;
  AcquireWriterLocked();
  absl::Status rolled;
  if (segment_ends_[writer_index_] > kSegmentHeaderSize) {
    mu_.Unlock();
    rolled = RollOver();
    mu_.Lock();
    if (!rolled.ok()) PoisonLocked(rolled);
  }
  job.sealed = writer_index_;
  // Nothing is published while the writer's turn is held: the published
  // checkpoints are what the sealed segments say.
  job.live_checkpoints = checkpoints_.List();
  ReleaseWriterLocked();
  if (!rolled.ok()) return poisoned_;
  if (job.sealed == 0) {
    job.nothing = true;
    return absl::OkStatus();
  }
  job.remaps.resize(job.sealed);
  SettleGlobalLocked();
  job.live = global_.array;  // noted by NoteLiveEvents, without the lock
  job.live_count = global_.count;
  for (const auto& [id, list] : snapshots_) {
    for (const auto& snapshot : list) job.live_snapshots.insert(KeyOf(*snapshot));
  }
  job.table = segments_;
  job.old_names.assign(segment_names_.begin(), segment_names_.begin() + job.sealed);
  job.old_ends.assign(segment_ends_.begin(), segment_ends_.begin() + job.sealed);
  job.generation = manifest_.generation + 1;
  job.got.segments_before = static_cast<int64_t>(job.sealed);
  for (uint64_t end : job.old_ends) job.total += end;
  job.got.bytes_before = static_cast<int64_t>(job.total);
  job.out = std::make_unique<CompactedWriter>(env_, dir_, job.generation, options_.segment_bytes);
  return absl::OkStatus();
}

absl::Status FileStore::NoteLiveEvents(CompactJob& job, const std::function<bool()>& stop) {
  if (cancellation().Cancelled(job.token)) return CancelledError("the compaction");
  while (job.noted < job.live_count) {
    const size_t end = std::min(job.live_count, job.noted + kIndexChunk);
    for (size_t i = job.noted; i < end; ++i) {
      const Location at = (*job.live)[i];
      if (at.segment < job.sealed) job.remaps[at.segment].old_offsets.push_back(at.offset);
    }
    job.noted = end;
    if (job.noted < job.live_count && stop()) return absl::OkStatus();
  }
  for (SegmentRemap& r : job.remaps) r.moved_to.resize(r.old_offsets.size());
  job.live.reset();
  job.noted_all = true;
  return absl::OkStatus();
}

absl::Status FileStore::CopyCompaction(CompactJob& job, const std::function<bool()>& stop,
                                       const ProgressFn& progress) {
  // Sealed segments never change: no lock. References keep the lambda below
  // as it was when the copy was one loop.
  CompactedWriter& out = *job.out;
  auto& tips = job.tips;
  int64_t& reserved = job.reserved;
  std::string& payload = job.payload;
  CompactReport& got = job.got;
  const std::set<SnapshotKey>& live_snapshots = job.live_snapshots;
  // Copies one frame of segment job.segment (remap: its live events).
  auto copy_frame = [&](const Frame& frame, SegmentRemap& remap, size_t& next_live) -> absl::Status {
    reserved = std::max(reserved, frame.header.reserved_upto);
    ASSIGN_OR_RETURN(DecodedFrame decoded, DecodeFrame(frame));
    switch (frame.header.kind) {
      case FrameKind::kEvents:
      case FrameKind::kTransaction:
      case FrameKind::kCheckpoints:
        // A transaction's live parts become ordinary event records,
        // one per run: the copy is published whole (synced before the
        // manifest names it), so nothing needs the transaction's frame.
        // Its checkpoint ops go: the live checkpoints are written once at
        // the end.
        return ForEachRun(absl::MakeConstSpan(decoded.records), [&](absl::Span<const DecodedRecord> run)
                                                                    -> absl::Status {
        // The copy is one run of compact records (older segments' FlatBuffers
        // records are rewritten so), behind its run header.
        const Id& stream = run.front().info.stream;
        payload.clear();
        AppendRunHeader(stream, &payload);
        std::vector<size_t> kept;  // indexes into remap of the records kept, in order
        std::vector<uint64_t> kept_at;  // their offsets in the new payload
        int64_t first_kept_version = 0;
        for (const DecodedRecord& r : run) {
          const uint32_t offset =
              static_cast<uint32_t>(frame.header.offset + kFrameHeaderSize + r.payload_offset);
          if (next_live < remap.old_offsets.size() && remap.old_offsets[next_live] == offset) {
            if (kept.empty()) first_kept_version = r.info.version;
            kept.push_back(next_live++);
            kept_at.push_back(payload.size());
            AppendCompactRecord(EventView{frame.payload.data() + r.payload_offset, r.size, frame.format}, 0, &payload);
          } else {
            ++got.events_dropped;
          }
        }
        compact::SetRunCount(reinterpret_cast<uint8_t*>(payload.data()), static_cast<uint32_t>(kept.size()));
        // Truncations drop a prefix: what is kept is the frame's tail.
        auto& [old_tip, copy_tip] = tips[stream];
        old_tip = run.back().info.version;
        if (kept.empty()) return absl::OkStatus();
        if (copy_tip != first_kept_version - 1 && first_kept_version > 1) {
          // The events before these are gone (a truncation that came
          // after them in the log): replay must meet the stream at
          // the version these continue from.
          const std::string tip = EncodeDelete(DeletePayload{stream, first_kept_version - 1});
          RETURN_IF_ERROR(out.Add(FrameKind::kStreamTip, AsBytes(tip), 0, frame.header.reserved_upto).status());
        }
        copy_tip = old_tip;
        got.events_kept += static_cast<int64_t>(kept.size());
        std::pair<uint32_t, uint64_t> at;
        ASSIGN_OR_RETURN(at, out.Add(FrameKind::kEvents, AsBytes(payload), static_cast<uint32_t>(kept.size()),
                                     frame.header.reserved_upto));
        for (size_t k = 0; k < kept.size(); ++k) {
          remap.moved_to[kept[k]] =
              Location{at.first, static_cast<uint32_t>(at.second + kFrameHeaderSize + kept_at[k])};
        }
        return absl::OkStatus();
        });
      case FrameKind::kDelete: {
        // Replay of the copy must end each stream at the tip the old
        // log had. A whole deletion is kept where the copy holds
        // something of the stream; a truncation whose events are all
        // gone becomes a stream-tip record (a stream truncated empty
        // keeps its version); other truncations are not needed.
        auto& [old_tip, copy_tip] = tips[decoded.deletion.stream];
        if (decoded.deletion.to_version == 0) {
          if (copy_tip > 0) {
            RETURN_IF_ERROR(out.Add(FrameKind::kDelete, frame.payload, 0, frame.header.reserved_upto).status());
          }
          old_tip = copy_tip = 0;
        } else if (copy_tip < old_tip) {
          const std::string tip = EncodeDelete(DeletePayload{decoded.deletion.stream, old_tip});
          RETURN_IF_ERROR(out.Add(FrameKind::kStreamTip, AsBytes(tip), 0, frame.header.reserved_upto).status());
          copy_tip = old_tip;
        }
        return absl::OkStatus();
      }
      case FrameKind::kStreamTip: {
        auto& [old_tip, copy_tip] = tips[decoded.deletion.stream];
        old_tip = std::max(old_tip, decoded.deletion.to_version);
        if (copy_tip < old_tip) {
          RETURN_IF_ERROR(out.Add(FrameKind::kStreamTip, frame.payload, 0, frame.header.reserved_upto).status());
          copy_tip = old_tip;
        }
        return absl::OkStatus();
      }
      case FrameKind::kSnapshot:
        if (live_snapshots.count(KeyOf(*decoded.snapshot)) > 0) {
          RETURN_IF_ERROR(out.Add(FrameKind::kSnapshot, frame.payload, 0, frame.header.reserved_upto).status());
        }
        return absl::OkStatus();
      case FrameKind::kPruneSnapshots:
      case FrameKind::kReservation:
        return absl::OkStatus();
    }
    return absl::OkStatus();
  };
  bool any = false;
  absl::Status status;
  while (job.segment < job.sealed) {
    const size_t i = job.segment;
    if (job.resume == 0) {
      absl::StatusOr<absl::Span<const uint8_t>> bytes = SegmentBytes((*job.table)[i], job.old_ends[i], &job.buffer);
      if (!bytes.ok()) return bytes.status();
      job.bytes = *bytes;
      job.next_live = 0;
    }
    SegmentRemap& remap = job.remaps[i];
    size_t& next_live = job.next_live;
    ScanResult scan;
    status = ScanSegment(
        job.bytes, job.old_names[i], /*is_last=*/false,
        [&](const Frame& frame) -> absl::Status {
          if (cancellation().Cancelled(job.token)) return CancelledError("the compaction");
          if (any && stop()) {
            job.resume = frame.header.offset;
            return absl::DeadlineExceededError("the step's budget is spent");
          }
          any = true;
          return copy_frame(frame, remap, next_live);
        },
        &scan, job.resume == 0 ? kSegmentHeaderSize : job.resume);
    if (absl::IsDeadlineExceeded(status)) return absl::OkStatus();  // resumes at job.resume
    RETURN_IF_ERROR(status);
    if (next_live != remap.old_offsets.size()) {
      return absl::InternalError(absl::StrCat("compaction: segment ", job.old_names[i], " lacks ",
                                              remap.old_offsets.size() - next_live, " live events the index holds"));
    }
    job.done += job.old_ends[i];
    ++job.segment;
    job.resume = 0;
    if (progress) progress(job.done, job.total);
    if (cancellation().Cancelled(job.token)) return CancelledError("the compaction");
  }
  if (!job.live_checkpoints.empty()) {
    std::vector<CheckpointOp> ops;
    ops.reserve(job.live_checkpoints.size());
    for (const Checkpoint& c : job.live_checkpoints) {
      ops.push_back(CheckpointOp{false, c.projection_id, c.position, c.updated_at_ns});
    }
    const std::string section = EncodeCheckpointSection(ops);
    RETURN_IF_ERROR(out.Add(FrameKind::kCheckpoints, AsBytes(section), 0, reserved).status());
  }
  RETURN_IF_ERROR(out.Add(FrameKind::kReservation, {}, 0, reserved).status());
  RETURN_IF_ERROR(out.Finish());
  job.copied = true;
  return absl::OkStatus();
}

absl::Status FileStore::RemapIndex(CompactJob& job, const std::function<bool()>& stop) {
  if (cancellation().Cancelled(job.token)) return CancelledError("the compaction");
  if (!job.snapshotted) {
    MutexLock lock(&mu_);
    RETURN_IF_ERROR(UsableLocked());
    for (const auto& [id, stream] : streams_) {
      if (stream.events.count > 0) job.stream_remaps[id] = ListRemap{stream.events.array, stream.events.count};
    }
    SettleGlobalLocked();
    job.global_remap = ListRemap{global_.array, global_.count};
    for (auto& [id, remap] : job.stream_remaps) job.pending.push_back(&remap);
    job.pending.push_back(&job.global_remap);
    job.snapshotted = true;
  }
  const auto first_kept = static_cast<uint32_t>(job.out->names().size());
  while (job.next_pending < job.pending.size()) {
    ListRemap& remap = *job.pending[job.next_pending];
    RemapSome(remap, job.remaps, first_kept, stop);
    if (!remap.finished()) return absl::OkStatus();  // stopped
    if (++job.next_pending < job.pending.size() && stop()) return absl::OkStatus();
  }
  job.remapped = true;
  return absl::OkStatus();
}

absl::Status FileStore::PublishCompaction(CompactJob& job) {
  CompactedWriter& out = *job.out;
  const size_t sealed = job.sealed;
  // Map the new segments before anything is published.
  for (size_t k = job.views.size(); k < out.names().size(); ++k) {
    ASSIGN_OR_RETURN(SegmentView view, ViewSegment(env_, absl::StrCat(dir_, "/", out.names()[k]), out.ends()[k]));
    job.views.push_back(std::move(view));
  }

  // Appends pause while the manifest is written and the index swapped.
  MutexLock lock(&mu_);
  RETURN_IF_ERROR(UsableLocked());  // the caller abandons
  // The last moment a cancel is heard: past it, the compaction is done.
  if (cancellation().Cancelled(job.token)) return CancelledError("the compaction");
  AcquireWriterLocked();
  Manifest next;
  next.generation = job.generation;
  next.segments = out.names();
  uint64_t first_plain = 0;
  ParseSegmentFileName(segment_names_[sealed], &first_plain);
  next.next_sequence = first_plain;
  mu_.Unlock();
  absl::Status status = WriteManifest(env_, dir_, next);
  mu_.Lock();
  if (!status.ok()) {
    // The rename may or may not have happened: only a reopen can tell.
    PoisonLocked(status);
    ReleaseWriterLocked();
    job.out.reset();  // the new files may be published: never removed here
    return poisoned_;
  }
  manifest_ = next;
  const auto first_kept = static_cast<uint32_t>(job.views.size());
  for (auto& [id, stream] : streams_) {
    auto it = job.stream_remaps.find(id);
    Install(stream.events, it == job.stream_remaps.end() ? nullptr : &it->second, job.remaps, first_kept);
  }
  SettleGlobalLocked();  // pending removals hold locations from before the remap
  Install(global_, &job.global_remap, job.remaps, first_kept);
  auto new_table = std::make_shared<SegmentTable>(job.views.begin(), job.views.end());
  new_table->insert(new_table->end(), segments_->begin() + sealed, segments_->end());
  segments_ = std::move(new_table);
  auto replace_sealed = [sealed](const auto& compacted, auto& current) {
    std::remove_reference_t<decltype(current)> joined = compacted;
    joined.insert(joined.end(), current.begin() + sealed, current.end());
    current = std::move(joined);
  };
  replace_sealed(out.names(), segment_names_);
  replace_sealed(out.ends(), segment_ends_);
  replace_sealed(out.last_frames(), segment_last_frames_);
  writer_index_ = writer_index_ - static_cast<uint32_t>(sealed) + first_kept;
  PublishFrontierLocked();  // readers in other processes reload
  reclaimable_ -= job.reclaimable_at_start;  // what was deleted meanwhile waits for the next one
  ReleaseWriterLocked();
  for (uint64_t end : out.ends()) job.got.bytes_after += static_cast<int64_t>(end);
  job.got.segments_after = static_cast<int64_t>(out.names().size());
  job.published = true;
  job.pending.clear();
  job.stream_remaps.clear();
  job.global_remap = ListRemap{};
  return absl::OkStatus();
}

bool FileStore::RemoveOldFiles(CompactJob& job, const std::function<bool()>& stop) {
  // A failure here only leaves a file for the next open.
  while (job.unlinked < job.old_names.size()) {
    const std::string& name = job.old_names[job.unlinked++];
    if (absl::Status removed = env_->DeleteFile(absl::StrCat(dir_, "/", name)); !removed.ok()) {
      host().Log(LogLevel::kWarning,
                 absl::StrCat("estoria: compaction could not remove ", name, ": ", removed.message()));
    }
    if (job.unlinked < job.old_names.size() && stop()) return false;
  }
  env_->SyncDir(dir_).IgnoreError();
  const CompactReport& got = job.got;
  host().Log(LogLevel::kInfo, absl::StrCat("estoria: ", dir_, ": compacted ", got.segments_before, " segments (",
                                           got.bytes_before, " bytes) into ", got.segments_after, " (",
                                           got.bytes_after, " bytes); ", got.events_dropped, " events reclaimed"));
  job.out.reset();  // published: nothing to abandon
  // The old checkpoint names the old files: replace it now, not at close
  // (without threads, as the next step of est_store_maintain).
  if (library_threads()) {
    WriteCheckpoint().IgnoreError();  // logged; a failure only slows the next open
  } else {
    MutexLock lock(&mu_);
    checkpoint_wanted_ = true;
  }
  return true;
}

absl::Status FileStore::ScheduleCompaction() {
  if (read_only()) return ReadOnlyError();
  {
    MutexLock lock(&mu_);
    RETURN_IF_ERROR(UsableLocked());
  }
  MutexLock one_at_a_time(&compact_mu_);
  if (scheduled_ == nullptr) scheduled_ = std::make_shared<CompactJob>(cancellation().Begin());
  return absl::OkStatus();
}

absl::Status FileStore::CompactStep(int64_t deadline_us, bool* ran, MaintainReport* report) {
  MutexLock one_at_a_time(&compact_mu_);
  if (scheduled_ == nullptr) return absl::OkStatus();
  CompactJob& job = *scheduled_;
  const std::function<bool()> spent = [&] { return env_->NowMicrosMonotonic() >= deadline_us; };
  absl::Status status;
  bool finished = false;
  while (status.ok() && !finished && (!*ran || !spent())) {
    *ran = true;
    if (!job.begun) {
      status = BeginCompaction(job);
      finished = status.ok() && job.nothing;
    } else if (!job.noted_all) {
      status = NoteLiveEvents(job, spent);
    } else if (!job.copied) {
      // Copy until the budget, less what syncing the copied bytes will take
      // (estimated from the last steps), is spent; then sync them, so that
      // no later step has a large file to sync.
      const uint64_t written_before = job.out->written();
      status = CopyCompaction(
          job,
          [&] {
            const double sync_us = static_cast<double>(job.out->written() - written_before) * job.sync_us_per_byte;
            return static_cast<double>(env_->NowMicrosMonotonic()) + sync_us >= static_cast<double>(deadline_us);
          },
          {});
      if (status.ok() && !job.copied) {
        const uint64_t bytes = job.out->written() - written_before;
        const int64_t sync_started = env_->NowMicrosMonotonic();
        status = job.out->SyncCurrent();
        if (bytes > 0) {
          const double measured =
              static_cast<double>(env_->NowMicrosMonotonic() - sync_started) / static_cast<double>(bytes);
          job.sync_us_per_byte = 0.5 * job.sync_us_per_byte + 0.5 * measured;
        }
        break;  // the copy used the budget
      }
    } else if (!job.remapped) {
      status = RemapIndex(job, spent);
    } else if (!job.published) {
      status = PublishCompaction(job);
    } else {
      finished = RemoveOldFiles(job, spent);
    }
  }
  if (!status.ok() || finished) {
    if (!status.ok()) AbandonCompaction(job);
    scheduled_.reset();
  }
  report->compacting = scheduled_ != nullptr;
  return status;
}

void FileStore::AbandonCompaction(CompactJob& job) {
  if (job.out != nullptr) job.out->Abandon();
  job.out.reset();
}

absl::Status FileStore::Compact(const ProgressFn& progress, CompactReport* report) {
  if (report != nullptr) *report = CompactReport{};
  if (read_only()) return ReadOnlyError();
  MutexLock one_at_a_time(&compact_mu_);
  // A scheduled compaction under way is finished here, at once.
  std::shared_ptr<CompactJob> job = std::move(scheduled_);
  if (job == nullptr) job = std::make_shared<CompactJob>(cancellation().Begin());
  const std::function<bool()> never = [] { return false; };
  absl::Status status;
  if (!job->begun) status = BeginCompaction(*job);
  if (job->nothing) return status;
  if (status.ok() && !job->noted_all) status = NoteLiveEvents(*job, never);
  if (status.ok() && !job->copied) status = CopyCompaction(*job, never, progress);
  while (status.ok() && !job->published) {
    if (!job->remapped) status = RemapIndex(*job, never);
    if (status.ok()) status = PublishCompaction(*job);
  }
  if (!status.ok()) {
    AbandonCompaction(*job);
    return status;
  }
  RemoveOldFiles(*job, never);
  if (report != nullptr) *report = job->got;
  return absl::OkStatus();
}

}  // namespace estoria::core::filelog

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
//  3. with appends paused (the writer's turn held), the MANIFEST naming the
//     new files is published, and the index is remapped onto them;
//  4. the old files are unlinked. Iterators that began before hold the old
//     mappings and arrays, and read on undisturbed.
#include <algorithm>
#include <map>
#include <set>
#include <tuple>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/filelog/file_store_internal.h"
#include "core/filelog/frame_content.h"
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
};

// Where each live event of one old segment went, in the segment's order.
struct SegmentRemap {
  std::vector<uint32_t> old_offsets;  // ascending
  std::vector<Location> moved_to;     // parallel; set as the copy goes
};

// The new location of `at` (a live event of an old segment).
Location Remapped(const std::vector<SegmentRemap>& remaps, Location at, uint32_t first_kept) {
  if (at.segment >= remaps.size()) return Location{at.segment - static_cast<uint32_t>(remaps.size()) + first_kept, at.offset};
  const SegmentRemap& r = remaps[at.segment];
  auto it = std::lower_bound(r.old_offsets.begin(), r.old_offsets.end(), at.offset);
  return r.moved_to[static_cast<size_t>(it - r.old_offsets.begin())];
}

}  // namespace

absl::Status FileStore::Compact(const ProgressFn& progress, CompactReport* report) {
  if (report != nullptr) *report = CompactReport{};
  if (read_only()) return ReadOnlyError();
  MutexLock one_at_a_time(&compact_mu_);

  // 1. Seal, and note what is live in the sealed segments.
  size_t sealed = 0;
  std::vector<SegmentRemap> remaps;
  std::set<SnapshotKey> live_snapshots;
  std::vector<Checkpoint> live_checkpoints;  // as the sealed segments leave them
  std::shared_ptr<const SegmentTable> table;
  std::vector<std::string> old_names;
  std::vector<uint64_t> old_ends;
  uint64_t generation = 0;
  int64_t reclaimable_at_start = 0;
  {
    MutexLock lock(&mu_);
    RETURN_IF_ERROR(UsableLocked());
    if (reclaimable_ == 0) return absl::OkStatus();
    reclaimable_at_start = reclaimable_;
    AcquireWriterLocked();
    absl::Status rolled;
    if (segment_ends_[writer_index_] > kSegmentHeaderSize) {
      mu_.Unlock();
      rolled = RollOver();
      mu_.Lock();
      if (!rolled.ok()) PoisonLocked(rolled);
    }
    sealed = writer_index_;
    // Nothing is published while the writer's turn is held: the published
    // checkpoints are what the sealed segments say.
    live_checkpoints = checkpoints_.List();
    ReleaseWriterLocked();
    if (!rolled.ok()) return poisoned_;
    if (sealed == 0) return absl::OkStatus();
    remaps.resize(sealed);
    SettleGlobalLocked();
    for (size_t i = 0; i < global_.count; ++i) {
      const Location at = (*global_.array)[i];
      if (at.segment < sealed) remaps[at.segment].old_offsets.push_back(at.offset);
    }
    for (SegmentRemap& r : remaps) r.moved_to.resize(r.old_offsets.size());
    for (const auto& [id, list] : snapshots_) {
      for (const auto& snapshot : list) live_snapshots.insert(KeyOf(*snapshot));
    }
    table = segments_;
    old_names.assign(segment_names_.begin(), segment_names_.begin() + sealed);
    old_ends.assign(segment_ends_.begin(), segment_ends_.begin() + sealed);
    generation = manifest_.generation + 1;
  }

  // 2. Copy, without the lock: sealed segments never change.
  CompactReport got;
  got.segments_before = static_cast<int64_t>(sealed);
  uint64_t total = 0;
  for (uint64_t end : old_ends) total += end;
  got.bytes_before = static_cast<int64_t>(total);
  CompactedWriter out(env_, dir_, generation, options_.segment_bytes);
  absl::Status status;
  {
    // Each stream's tip in the old log, and as replay of the copy will see it.
    absl::flat_hash_map<Id, std::pair<int64_t, int64_t>> tips;
    int64_t reserved = 0;
    std::vector<uint64_t> buffer;
    std::string payload;
    uint64_t done = 0;
    for (size_t i = 0; i < sealed && status.ok(); ++i) {
      absl::StatusOr<absl::Span<const uint8_t>> bytes = SegmentBytes((*table)[i], old_ends[i], &buffer);
      if (!bytes.ok()) {
        status = bytes.status();
        break;
      }
      SegmentRemap& remap = remaps[i];
      size_t next_live = 0;
      ScanResult scan;
      status = ScanSegment(
          *bytes, old_names[i], /*is_last=*/false,
          [&](const Frame& frame) -> absl::Status {
            reserved = std::max(reserved, frame.header.reserved_upto);
            ASSIGN_OR_RETURN(DecodedFrame decoded, DecodeFrame(frame));
            switch (frame.header.kind) {
              case FrameKind::kEvents:
              case FrameKind::kTransaction:
              case FrameKind::kCheckpoints:
                // A transaction's live parts become ordinary event records,
                // one per run: the copy is published whole (synced before the
                // manifest names it), so nothing needs the transaction's frame.
                // Its checkpoint ops go: the live checkpoints are written once
                // at the end.
                return ForEachRun(absl::MakeConstSpan(decoded.records), [&](absl::Span<const DecodedRecord> run)
                                                                            -> absl::Status {
                payload.clear();
                std::vector<size_t> kept;  // indexes into remap of the records kept, in order
                std::vector<uint64_t> kept_at;  // their offsets in the new payload
                int64_t first_kept_version = 0;
                for (const DecodedRecord& r : run) {
                  const uint32_t offset =
                      static_cast<uint32_t>(frame.header.offset + kFrameHeaderSize + r.payload_offset);
                  if (next_live < remap.old_offsets.size() && remap.old_offsets[next_live] == offset) {
                    if (kept.empty()) first_kept_version = r.info.version;
                    kept.push_back(next_live++);
                    kept_at.push_back(payload.size() + 8);
                    const uint8_t* prefix = frame.payload.data() + r.payload_offset - 8;
                    payload.append(reinterpret_cast<const char*>(prefix), 8 + r.size);
                    payload.resize((payload.size() + 7) & ~size_t{7}, '\0');
                  } else {
                    ++got.events_dropped;
                  }
                }
                // Truncations drop a prefix: what is kept is the frame's tail.
                const Id& stream = run.front().info.stream;
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
          },
          &scan);
      if (status.ok() && next_live != remap.old_offsets.size()) {
        status = absl::InternalError(absl::StrCat("compaction: segment ", old_names[i], " lacks ",
                                                  remap.old_offsets.size() - next_live, " live events the index holds"));
      }
      done += old_ends[i];
      if (status.ok() && progress) progress(done, total);
    }
    if (status.ok() && !live_checkpoints.empty()) {
      std::vector<CheckpointOp> ops;
      ops.reserve(live_checkpoints.size());
      for (const Checkpoint& c : live_checkpoints) {
        ops.push_back(CheckpointOp{false, c.projection_id, c.position, c.updated_at_ns});
      }
      const std::string section = EncodeCheckpointSection(ops);
      status = out.Add(FrameKind::kCheckpoints, AsBytes(section), 0, reserved).status();
    }
    if (status.ok()) status = out.Add(FrameKind::kReservation, {}, 0, reserved).status();
    if (status.ok()) status = out.Finish();
  }
  if (!status.ok()) {
    out.Abandon();
    return status;
  }
  for (uint64_t end : out.ends()) got.bytes_after += static_cast<int64_t>(end);
  got.segments_after = static_cast<int64_t>(out.names().size());

  // Map the new segments before anything is published.
  std::vector<SegmentView> views;
  for (size_t k = 0; k < out.names().size() && status.ok(); ++k) {
    absl::StatusOr<SegmentView> view = ViewSegment(env_, absl::StrCat(dir_, "/", out.names()[k]), out.ends()[k]);
    if (view.ok()) views.push_back(std::move(*view));
    status = view.status();
  }
  if (!status.ok()) {
    out.Abandon();
    return status;
  }

  // 3. Publish: appends pause while the manifest is written and the index remapped.
  {
    MutexLock lock(&mu_);
    if (absl::Status usable = UsableLocked(); !usable.ok()) {
      out.Abandon();
      return usable;
    }
    AcquireWriterLocked();
    Manifest next;
    next.generation = generation;
    next.segments = out.names();
    uint64_t first_plain = 0;
    ParseSegmentFileName(segment_names_[sealed], &first_plain);
    next.next_sequence = first_plain;
    mu_.Unlock();
    status = WriteManifest(env_, dir_, next);
    mu_.Lock();
    if (!status.ok()) {
      // The rename may or may not have happened: only a reopen can tell.
      PoisonLocked(status);
      ReleaseWriterLocked();
      return poisoned_;
    }
    manifest_ = next;
    const uint32_t first_kept = static_cast<uint32_t>(views.size());
    auto remap_list = [&](EntryList<Location>& list) {
      if (list.count == 0) return;
      auto moved = std::make_shared<EntryArray<Location>>(list.count + list.count / 8 + 1);
      for (size_t i = 0; i < list.count; ++i) (*moved)[i] = Remapped(remaps, (*list.array)[i], first_kept);
      list.array = std::move(moved);
    };
    for (auto& [id, stream] : streams_) remap_list(stream.events);
    SettleGlobalLocked();  // pending removals hold locations from before the remap
    remap_list(global_);
    auto new_table = std::make_shared<SegmentTable>(views.begin(), views.end());
    new_table->insert(new_table->end(), segments_->begin() + sealed, segments_->end());
    segments_ = std::move(new_table);
    std::vector<std::string> names = out.names();
    names.insert(names.end(), segment_names_.begin() + sealed, segment_names_.end());
    segment_names_ = std::move(names);
    std::vector<uint64_t> ends = out.ends();
    ends.insert(ends.end(), segment_ends_.begin() + sealed, segment_ends_.end());
    segment_ends_ = std::move(ends);
    std::vector<uint64_t> last_frames = out.last_frames();
    last_frames.insert(last_frames.end(), segment_last_frames_.begin() + sealed, segment_last_frames_.end());
    segment_last_frames_ = std::move(last_frames);
    writer_index_ = writer_index_ - static_cast<uint32_t>(sealed) + first_kept;
    PublishFrontierLocked();  // readers in other processes reload
    reclaimable_ -= reclaimable_at_start;  // what was deleted meanwhile waits for the next one
    ReleaseWriterLocked();
  }

  // 4. The old files go; a failure here only leaves them for the next open.
  for (const std::string& name : old_names) {
    if (absl::Status removed = env_->DeleteFile(absl::StrCat(dir_, "/", name)); !removed.ok()) {
      Log(LogLevel::kWarning, absl::StrCat("estoria: compaction could not remove ", name, ": ", removed.message()));
    }
  }
  env_->SyncDir(dir_).IgnoreError();
  Log(LogLevel::kInfo, absl::StrCat("estoria: ", dir_, ": compacted ", got.segments_before, " segments (",
                                    got.bytes_before, " bytes) into ", got.segments_after, " (", got.bytes_after,
                                    " bytes); ", got.events_dropped, " events reclaimed"));
  if (report != nullptr) *report = got;
  // The old checkpoint names the old files: replace it now, not at close.
  WriteCheckpoint().IgnoreError();  // logged; a failure only slows the next open
  return absl::OkStatus();
}

}  // namespace estoria::core::filelog

// FileStore writes: CommitWrites (appends, transactions and projection
// checkpoint saves) and the checkpoint reads and deletes. A commit is one
// frame of the log through the append plan (core/store/append_plan.h):
// records built outside the lock, planned and given versions and positions
// under mu_ against the pending state, then queued for group commit
// (file_store_internal.h). A plain append is a kEvents frame; a transaction
// writing several runs is one kTransaction frame; a commit with checkpoint
// saves is one kCheckpoints frame (the saves, then the records), so
// recovery keeps or drops it whole and publication applies it at once.
#include <algorithm>
#include <cstring>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/filelog/file_store_internal.h"
#include "core/store/append_plan.h"
#include "core/store/compact_record.h"
#include "core/store/store_checks.h"
#include "core/util/status.h"

namespace estoria::core::filelog {
namespace {

// The published index as the append plan reads it: tips from the pending
// state (what is queued counts for expectations), events from the published
// lists (SettleStreamsLocked made them the same where events are read).
class FileLookup final : public StreamLookup {
 public:
  FileLookup(const IdMap<FileStream>& streams, const SegmentTable& segments,
             ReadBuffer* scratch)
      : streams_(streams), segments_(segments), scratch_(scratch) {}

  State StateOf(const Id& stream) override {
    auto it = streams_.find(stream);
    if (it == streams_.end()) return State{};
    return State{it->second.pending_tip, it->second.first_live_version()};
  }

  absl::StatusOr<Stored> EventAt(const Id& stream, int64_t version) override {
    const FileStream& s = streams_.at(stream);
    const int64_t index = version - s.first_live_version();
    if (index < 0 || index >= static_cast<int64_t>(s.events.count)) {
      return absl::InternalError(absl::StrCat("append plan: version ", version, " of ", stream.ToString(),
                                              " is not published"));
    }
    EventView view;
    ASSIGN_OR_RETURN(view, ReadRecord(segments_, (*s.events.array)[static_cast<size_t>(index)], scratch_));
    return Stored{view.id(), view.position()};
  }

 private:
  const IdMap<FileStream>& streams_;
  const SegmentTable& segments_;
  ReadBuffer* scratch_;
};

}  // namespace

absl::Status FileStore::CommitWrites(const CommitRequest& request, std::vector<AppendResult>* results) {
  if (request.written != nullptr) request.written->reset();
  results->clear();
  if (read_only()) return ReadOnlyError();
  if (closed_->load(std::memory_order_acquire)) return ClosedError();
  RETURN_IF_ERROR(CheckCommitRequest(request));
  std::vector<CheckpointOp> ops;
  ops.reserve(request.checkpoints.size());
  for (const CheckpointSave& save : request.checkpoints) {
    ops.push_back(CheckpointOp{false, std::string(save.projection_id), save.position, 0});
  }
  if (request.appends.empty()) {
    if (ops.empty()) return absl::OkStatus();
    MutexLock lock(&mu_);
    RETURN_IF_ERROR(UsableLocked());
    return CommitCheckpointOpsLocked(std::move(ops));
  }
  return CommitAppends(request.appends, std::move(ops), results, request.written);
}

void FileStore::StampCheckpointOpsLocked(std::vector<CheckpointOp>& ops, uint8_t* section) {
  const int64_t now = host().NowNanos(env_);
  for (size_t i = 0; i < ops.size(); ++i) {
    CheckpointOp& op = ops[i];
    if (op.remove) {
      pending_checkpoints_.Erase(op.projection_id);
      continue;
    }
    op.updated_at_ns = pending_checkpoints_.Stamp(now);
    pending_checkpoints_.Put(op.projection_id, op.position, op.updated_at_ns);
    const int64_t stamp = op.updated_at_ns;
    std::memcpy(section + CheckpointStampOffset(ops, i), &stamp, sizeof(stamp));  // little-endian hosts
  }
}

absl::Status FileStore::CommitCheckpointOpsLocked(std::vector<CheckpointOp> ops) {
  PendingOp op;
  op.SetPayload(FrameKind::kCheckpoints, EncodeCheckpointSection(ops));
  StampCheckpointOpsLocked(ops, op.frame_data() + kFrameHeaderSize);
  op.checkpoint_ops = std::move(ops);
  op.reserved_upto = reserved_upto_;
  return Commit(&op);
}

absl::StatusOr<Checkpoint> FileStore::LoadCheckpoint(std::string_view projection_id) {
  if (closed_->load(std::memory_order_acquire)) return ClosedError();
  RETURN_IF_ERROR(CheckProjectionId(projection_id));
  MutexLock lock(&mu_);
  RETURN_IF_ERROR(ReadableLocked());
  const Checkpoint* found = checkpoints_.Find(projection_id);
  if (found == nullptr) return CheckpointNotFound(projection_id);
  return *found;
}

absl::Status FileStore::DeleteCheckpoint(std::string_view projection_id) {
  if (read_only()) return ReadOnlyError();
  if (closed_->load(std::memory_order_acquire)) return ClosedError();
  RETURN_IF_ERROR(CheckProjectionId(projection_id));
  MutexLock lock(&mu_);
  RETURN_IF_ERROR(UsableLocked());
  if (pending_checkpoints_.Find(projection_id) == nullptr) return CheckpointNotFound(projection_id);
  std::vector<CheckpointOp> ops;
  ops.push_back(CheckpointOp{true, std::string(projection_id), 0, 0});
  return CommitCheckpointOpsLocked(std::move(ops));
}

absl::StatusOr<std::vector<Checkpoint>> FileStore::ListCheckpoints() {
  if (closed_->load(std::memory_order_acquire)) return ClosedError();
  MutexLock lock(&mu_);
  RETURN_IF_ERROR(ReadableLocked());
  return checkpoints_.List();
}

absl::Status FileStore::SettleStreamsLocked(absl::Span<const StreamAppend> appends,
                                            absl::Span<const bool> caller_ids) {
  for (;;) {
    RETURN_IF_ERROR(UsableLocked());
    bool settled = true;
    for (size_t i = 0; i < appends.size() && settled; ++i) {
      if (!caller_ids[i]) continue;
      auto it = streams_.find(appends[i].stream);
      settled = it == streams_.end() || it->second.pending_tip == it->second.tip;
    }
    if (settled) return absl::OkStatus();
    // Whoever queued the change is in Commit and leads or waits to lead.
    cv_.Wait(&mu_);
  }
}

absl::Status FileStore::CommitAppends(absl::Span<const StreamAppend> appends, std::vector<CheckpointOp> checkpoint_ops,
                                      std::vector<AppendResult>* results, std::unique_ptr<EventIterator>* written) {
  const std::vector<EventBlock::Part> parts = BlockParts(appends);
  // Checkpoint saves go first in the payload (kCheckpoints), stamped under mu_.
  const std::string section = checkpoint_ops.empty() ? std::string() : EncodeCheckpointSection(checkpoint_ops);

  // The expensive part, outside the lock: ids, timestamps and records, laid
  // out as the frame's payload behind room for its header (and the saves).
  EventBlock::BuildOptions build;
  build.now_ns = host().NowNanos(env_);
  build.host = &host();
  build.header_room = kFrameHeaderSize + section.size();
  build.format = RecordFormat::kCompact;  // new frames go to segments of this format version
  std::shared_ptr<EventBlock> block;
  ASSIGN_OR_RETURN(block, EventBlock::Build(parts, build));
  std::memcpy(block->data() + kFrameHeaderSize, section.data(), section.size());
  const size_t payload = block->used_bytes() - kFrameHeaderSize;
  // Frames start below kMaxSegmentBytes, so records' offsets fit 32 bits.
  if (payload > 2 * kMaxSegmentBytes) {
    return absl::InvalidArgumentError(absl::StrCat(appends.size() > 1 ? "the transaction" : "the batch", " (",
                                                   payload, " bytes) is too large for one log record"));
  }
  const std::vector<PlanInput> inputs = PlanInputsFor(appends, block->ids());
  std::unique_ptr<bool[]> settle_flags(new bool[appends.size()]);
  for (size_t i = 0; i < appends.size(); ++i) settle_flags[i] = inputs[i].caller_ids;

  PendingOp op;
  MutexLock lock(&mu_);
  RETURN_IF_ERROR(UsableLocked());
  RETURN_IF_ERROR(SettleStreamsLocked(appends, absl::MakeConstSpan(settle_flags.get(), appends.size())));
  FileLookup lookup(streams_, *segments_, &position_scratch_);
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max() - kReservationBlock;
  RETURN_IF_ERROR(PlanAppends(inputs, lookup, next_position_, PlanLimits{kMax, kMax}, results));

  // What is written: the runs of the appends that are not duplicates.
  size_t written_events = 0;
  size_t first_record = 0;
  for (size_t i = 0; i < appends.size(); ++i) {
    const AppendResult& planned = (*results)[i];
    const size_t n = inputs[i].ids.size();
    if (!planned.duplicate) {
      for (size_t k = 0; k < n; ++k) {
        block->Patch(first_record + k, planned.first_version + static_cast<int64_t>(k),
                     planned.first_position + static_cast<int64_t>(k));
      }
      op.runs.push_back(PendingOp::Run{appends[i].stream, planned.first_version, written_events, n});
      for (size_t k = 0; k < n; ++k) op.record_offsets.push_back(block->record_offset(first_record + k));
      written_events += n;
      op.last_position = planned.last_position;
    }
    first_record += n;
  }

  if (op.runs.empty() && !checkpoint_ops.empty()) {
    // Every append was a duplicate: only the saves are written.
    RETURN_IF_ERROR(CommitCheckpointOpsLocked(std::move(checkpoint_ops)));
  }
  if (op.runs.empty()) {
    // Every append was a duplicate: nothing (else) to write.
    if (written != nullptr) {
      const AppendResult& original = results->front();
      const FileStream& stream = streams_.at(appends.front().stream);
      const auto begin = static_cast<size_t>(original.first_version - stream.first_live_version());
      *written = MakeFileIterator(stream.events.array, begin, begin + appends.front().batch->event_count(), false,
                                  segments_, closed_);
    }
    return absl::OkStatus();
  }

  op.kind = !checkpoint_ops.empty() ? FrameKind::kCheckpoints
            : op.runs.size() == 1   ? FrameKind::kEvents
                                    : FrameKind::kTransaction;
  op.event_count = static_cast<uint32_t>(written_events);
  if (written_events == block->size()) {
    op.block = std::move(block);
    op.payload_size = static_cast<uint32_t>(payload);
  } else {
    // Some appends were duplicates: the frame holds only the others' runs
    // (a retried transaction that partly committed is rare; one copy). Each
    // append is one run, copied whole: its records point back into it.
    std::string frame(kFrameHeaderSize, '\0');
    frame.append(section);
    std::vector<size_t> offsets;
    offsets.reserve(written_events);
    for (const PendingOp::Run& run : op.runs) {
      const uint8_t* first = block->data() + op.record_offsets[run.first_record];
      const size_t last_offset = op.record_offsets[run.first_record + run.count - 1];
      const uint8_t* run_begin = compact::RunHeader(first);
      const uint8_t* run_end = block->data() + last_offset + compact::RecordSpan(block->data() + last_offset);
      const size_t moved = frame.size() - static_cast<size_t>(run_begin - block->data());
      for (size_t k = 0; k < run.count; ++k) offsets.push_back(op.record_offsets[run.first_record + k] + moved);
      frame.append(reinterpret_cast<const char*>(run_begin), static_cast<size_t>(run_end - run_begin));
    }
    op.record_offsets = std::move(offsets);
    op.payload_size = static_cast<uint32_t>(frame.size() - kFrameHeaderSize);
    op.frame = std::move(frame);
  }

  if (!checkpoint_ops.empty()) {
    StampCheckpointOpsLocked(checkpoint_ops, op.frame_data() + kFrameHeaderSize);
    op.checkpoint_ops = std::move(checkpoint_ops);
  }
  next_position_ = op.last_position + 1;
  ReserveLocked(op.last_position);
  op.reserved_upto = reserved_upto_;
  for (const PendingOp::Run& run : op.runs) {
    auto it = streams_.find(run.stream);
    if (it == streams_.end()) it = streams_.try_emplace(run.stream).first;
    it->second.pending_tip = run.first_version + static_cast<int64_t>(run.count) - 1;
  }

  RETURN_IF_ERROR(Commit(&op));

  if (written != nullptr) {
    *written = MakeFileIterator(op.written_array, op.written_begin, op.written_end, false, segments_, closed_);
  }
  return absl::OkStatus();
}

}  // namespace estoria::core::filelog

// FileStore: opening (identity, lock, recovery), Verify and Close. The rules
// recovery applies are in FORMAT.md.
#include <algorithm>
#include <cstring>
#include <utility>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/filelog/file_store_internal.h"
#include "core/filelog/frame_content.h"
#include "core/filelog/manifest.h"
#include "core/filelog/segment_scan.h"
#include "core/util/log.h"
#include "core/util/status.h"

namespace estoria::core::filelog {
namespace {

constexpr char kLockName[] = "LOCK";
constexpr char kIdentityName[] = "ESTORIA";
constexpr char kIdentityPrefix[] = "estoria file store\nformat ";

std::string IdentityText() { return absl::StrCat(kIdentityPrefix, kFormatVersion, "\n"); }

// Reads bytes [0, n) of `path` into `buffer` (8-byte aligned storage).
absl::Status ReadPrefix(Env* env, const std::string& path, uint64_t n, ReadBuffer* buffer) {
  std::unique_ptr<RandomAccessFile> file;
  ASSIGN_OR_RETURN(file, env->NewRandomAccessFile(path));
  ASSIGN_OR_RETURN(absl::Span<const uint8_t> got, ReadFileBytes(*file, n, buffer));
  if (got.size() != n) return absl::DataLossError(absl::StrCat(path, ": shorter than expected"));
  return absl::OkStatus();
}

// True when `bytes` holds anything that looks like a whole frame header.
bool ContainsFrameHeader(absl::Span<const uint8_t> bytes) {
  for (uint64_t at = kSegmentHeaderSize; at + kFrameHeaderSize <= bytes.size(); at += 8) {
    FrameHeader header;
    if (DecodeFrameHeader(bytes.subspan(at, kFrameHeaderSize), at, &header) == HeaderCheck::kOk) return true;
  }
  return false;
}

}  // namespace

std::string FileStore::SegmentPath(uint64_t sequence) const {
  return absl::StrCat(dir_, "/", SegmentFileName(sequence));
}

absl::Status FileStore::CheckIdentity() {
  std::vector<std::string> names;
  ASSIGN_OR_RETURN(names, env_->ListDir(dir_));
  const bool has_identity = std::find(names.begin(), names.end(), kIdentityName) != names.end();
  if (!has_identity) {
    for (const std::string& name : names) {
      // Only what an interrupted creation of a store leaves behind.
      if (name != kLockName && name != absl::StrCat(kIdentityName, ".tmp")) {
        return absl::InvalidArgumentError(
            absl::StrCat(dir_, " is not empty and is not an estoria store (it holds \"", name, "\")"));
      }
    }
    return absl::OkStatus();
  }
  std::string text;
  ASSIGN_OR_RETURN(text, env_->ReadFileToString(absl::StrCat(dir_, "/", kIdentityName)));
  uint32_t version = 0;
  if (!absl::StartsWith(text, kIdentityPrefix) ||
      !absl::SimpleAtoi(absl::StripSuffix(absl::string_view(text).substr(sizeof(kIdentityPrefix) - 1), "\n"),
                        &version)) {
    return absl::DataLossError(absl::StrCat(dir_, "/", kIdentityName, " is damaged"));
  }
  if (version > kFormatVersion) {
    return absl::UnimplementedError(absl::StrCat("the store in ", dir_, " has format version ", version,
                                                 "; this library reads up to version ", kFormatVersion));
  }
  return absl::OkStatus();
}

absl::Status FileStore::Open() {
  if (read_only()) return OpenReadOnly();
  RETURN_IF_ERROR(env_->CreateDir(dir_));
  // Refuse a foreign directory before leaving a lock file in it.
  RETURN_IF_ERROR(CheckIdentity());
  ASSIGN_OR_RETURN(lock_, env_->LockFile(absl::StrCat(dir_, "/", kLockName)));
  RETURN_IF_ERROR(CheckIdentity());  // again: another opener may have created it meanwhile
  if (!env_->FileExists(absl::StrCat(dir_, "/", kIdentityName))) {
    RETURN_IF_ERROR(env_->WriteFileAtomically(absl::StrCat(dir_, "/", kIdentityName), IdentityText()));
  }
  RETURN_IF_ERROR(Recover());
  absl::StatusOr<std::unique_ptr<Frontier>> frontier = Frontier::OpenForWriter(env_, dir_);
  if (frontier.ok()) {
    frontier_ = std::move(*frontier);
    MutexLock lock(&mu_);
    PublishFrontierLocked();
  } else if (!absl::IsUnimplemented(frontier.status())) {
    return frontier.status();
  }
  opened_ = true;
  if (!library_threads()) {
    // The host's est_store_maintain does it all (file_store_maintain.cc).
    MutexLock lock(&mu_);
    last_flush_ns_ = host().NowNanos(env_);
    return absl::OkStatus();
  }
  if (options_.store.sync_mode == SyncMode::kInterval) {
    interval_thread_ = std::thread([this] { IntervalSyncLoop(); });
  }
  // Only when checkpoints are wanted as the log grows (else: at close and
  // after a compaction, on the caller's thread).
  if (options_.checkpoint_bytes > 0) checkpoint_thread_ = std::thread([this] { CheckpointLoop(); });
  return absl::OkStatus();
}

absl::Status FileStore::AddSegmentLocked(uint64_t sequence, uint64_t map_bytes) {
  const std::string path = SegmentPath(sequence);
  uint64_t size;
  ASSIGN_OR_RETURN(size, env_->GetFileSize(path));
  SegmentView view;
  ASSIGN_OR_RETURN(view, ViewSegment(env_, path, std::max(size, map_bytes)));
  PushSegmentLocked(SegmentFileName(sequence), std::move(view));
  return absl::OkStatus();
}

void FileStore::PushSegmentLocked(std::string name, SegmentView view) {
  auto table = std::make_shared<SegmentTable>(*segments_);
  table->push_back(std::move(view));
  segments_ = std::move(table);
  segment_names_.push_back(std::move(name));
  segment_ends_.push_back(kSegmentHeaderSize);
  segment_last_frames_.push_back(0);
}

absl::Status FileStore::CoverLocked(uint32_t index, uint64_t end) {
  const SegmentView& current = (*segments_)[index];
  if (current.map == nullptr || end <= current.map->size()) return absl::OkStatus();
  SegmentView view;
  ASSIGN_OR_RETURN(view, ViewSegment(env_, absl::StrCat(dir_, "/", segment_names_[index]),
                                     std::max<uint64_t>(end, 2 * current.map->size())));
  auto table = std::make_shared<SegmentTable>(*segments_);
  (*table)[index] = std::move(view);
  segments_ = std::move(table);
  return absl::OkStatus();
}

absl::Status FileStore::ReplayFrame(uint32_t segment, const Frame& frame) {
  DecodedFrame decoded;
  ASSIGN_OR_RETURN(decoded, DecodeFrame(frame));
  log_reserved_upto_ = frame.header.reserved_upto;
  segment_last_frames_[segment] = frame.header.offset;
  switch (frame.header.kind) {
    case FrameKind::kEvents:
    case FrameKind::kTransaction:
    case FrameKind::kCheckpoints: {
      if (decoded.records.empty()) {  // checkpoint saves and deletes only
        ApplyCheckpointOpsLocked(decoded.checkpoints, /*replay=*/true);
        break;
      }
      if (decoded.records.front().info.position <= log_last_position_) {
        return absl::DataLossError(absl::StrCat("position ", decoded.records.front().info.position,
                                                " does not ascend past ", log_last_position_));
      }
      // Every run is checked before any is applied: a frame is kept whole
      // or refused whole. A transaction's runs may continue each other (the
      // same stream twice), so tips are followed through the frame.
      absl::InlinedVector<std::pair<const Id*, int64_t>, 2> tips;  // no allocation for a plain append
      RETURN_IF_ERROR(ForEachRun(absl::MakeConstSpan(decoded.records), [&](absl::Span<const DecodedRecord> run)
                                     ABSL_NO_THREAD_SAFETY_ANALYSIS -> absl::Status {
        const RecordInfo& first = run.front().info;
        auto at = std::find_if(tips.begin(), tips.end(), [&](const auto& t) { return *t.first == first.stream; });
        if (at == tips.end()) {
          auto known = streams_.find(first.stream);
          tips.emplace_back(&first.stream, known == streams_.end() ? 0 : known->second.tip);
          at = tips.end() - 1;
        }
        if (at->second > 0 && first.version != at->second + 1) {
          return absl::DataLossError(absl::StrCat("stream ", first.stream.ToString(), " continues at version ",
                                                  first.version, " after ", at->second));
        }
        at->second = run.back().info.version;
        return absl::OkStatus();
      }));
      RETURN_IF_ERROR(ForEachRun(absl::MakeConstSpan(decoded.records), [&](absl::Span<const DecodedRecord> run)
                                     ABSL_NO_THREAD_SAFETY_ANALYSIS -> absl::Status {
        std::vector<Location> entries;
        entries.reserve(run.size());
        for (const DecodedRecord& r : run) {
          entries.push_back(
              Location{segment, static_cast<uint32_t>(frame.header.offset + kFrameHeaderSize + r.payload_offset)});
        }
        ApplyEventsLocked(streams_[run.front().info.stream], entries, run.front().info.version);
        return absl::OkStatus();
      }));
      ApplyCheckpointOpsLocked(decoded.checkpoints, /*replay=*/true);
      log_last_position_ = decoded.records.back().info.position;
      break;
    }
    case FrameKind::kDelete: {
      const Id& id = decoded.deletion.stream;
      auto it = streams_.find(id);
      if (it == streams_.end() || it->second.tip == 0) {
        return absl::DataLossError(absl::StrCat("a deletion of stream ", id.ToString(), ", which does not exist"));
      }
      // pending_tip is 0 during replay, so a wholly deleted stream's entry goes.
      ApplyDeleteLocked(decoded.deletion.stream, decoded.deletion.to_version);
      break;
    }
    case FrameKind::kStreamTip:
      ApplyStreamTipLocked(decoded.deletion.stream, decoded.deletion.to_version);
      break;
    case FrameKind::kSnapshot:
      ApplySnapshotLocked(std::move(decoded.snapshot));
      break;
    case FrameKind::kPruneSnapshots:
      ApplyPruneLocked(decoded.prune.aggregate, decoded.prune.keep_last, decoded.prune.min_version);
      break;
    case FrameKind::kReservation:
      break;
  }
  return absl::OkStatus();
}

absl::Status FileStore::Recover() {
  std::vector<std::string> names;
  ASSIGN_OR_RETURN(names, env_->ListDir(dir_));
  ASSIGN_OR_RETURN(manifest_, ReadManifest(env_, dir_));
  SegmentPlan plan;
  ASSIGN_OR_RETURN(plan, PlanSegments(names, manifest_, dir_));
  if (!plan.orphans.empty()) {
    // Files a finished compaction replaced, or an unfinished one wrote.
    for (const std::string& orphan : plan.orphans) {
      host().Log(LogLevel::kInfo, absl::StrCat("estoria: ", dir_, ": removing ", orphan, ", left by a compaction"));
      RETURN_IF_ERROR(env_->DeleteFile(absl::StrCat(dir_, "/", orphan)));
    }
    RETURN_IF_ERROR(env_->SyncDir(dir_));
  }
  const std::vector<uint64_t>& sequences = plan.sequences;
  next_sequence_ = plan.next_sequence;

  MutexLock lock(&mu_);
  const std::vector<SegmentCover> covers = LoadCheckpointLocked(plan.names);
  uint64_t scanned = 0;
  ReadBuffer buffer;
  for (size_t i = 0; i < sequences.size(); ++i) {
    const uint64_t sequence = sequences[i];
    // Only a plain segment can have a torn tail: compacted ones were synced
    // whole before they were published.
    const bool last = i + 1 == sequences.size() && sequence != 0;
    const std::string& name = plan.names[i];
    const std::string path = absl::StrCat(dir_, "/", name);
    uint64_t size;
    ASSIGN_OR_RETURN(size, env_->GetFileSize(path));
    // The last segment is mapped long enough for the writer to fill it.
    SegmentView view;
    ASSIGN_OR_RETURN(view, ViewSegment(env_, path, std::max<uint64_t>(last ? options_.segment_bytes : 0, size)));
    absl::Span<const uint8_t> bytes;
    ASSIGN_OR_RETURN(bytes, SegmentBytes(view, size, &buffer));
    if (bytes.size() != size) return absl::DataLossError(absl::StrCat(path, ": shorter than expected"));

    absl::StatusOr<SegmentHeader> header = DecodeSegmentHeader(bytes);
    if (header.ok() && sequence != 0 && header->sequence != sequence) {
      header = absl::DataLossError(absl::StrCat("the header names segment ", header->sequence));
    }
    if (!header.ok()) {
      if (header.status().code() == absl::StatusCode::kUnimplemented) {
        return absl::UnimplementedError(absl::StrCat("segment ", name, ": ", header.status().message()));
      }
      // A segment whose creation was cut short holds no frame: drop it.
      if (last && !ContainsFrameHeader(bytes)) {
        host().Log(LogLevel::kWarning, absl::StrCat("estoria: ", dir_, ": removing segment ", name,
                                             ", whose creation was interrupted (", header.status().message(), ")"));
        RETURN_IF_ERROR(env_->DeleteFile(path));
        RETURN_IF_ERROR(env_->SyncDir(dir_));
        next_sequence_ = sequence;
        break;
      }
      return CorruptionAt(name, 0, ToStd(header.status().message()));
    }

    PushSegmentLocked(name, std::move(view));
    const uint32_t index = static_cast<uint32_t>(i);
    ScanResult scan;
    const uint64_t start = i < covers.size() ? covers[i].end : kSegmentHeaderSize;
    if (i < covers.size()) segment_last_frames_[index] = covers[i].last_frame;
    RETURN_IF_ERROR(ScanSegment(
        bytes, name, last,
        [&](const Frame& frame) ABSL_NO_THREAD_SAFETY_ANALYSIS { return ReplayFrame(index, frame); }, &scan,
        start));
    segment_ends_[index] = scan.end;
    scanned += scan.end - std::min(scan.end, start);
    if (scan.torn) {
      // Zero the torn bytes (never truncate: part 2 maps segments) so that
      // new frames are never followed by stale ones, and make it durable
      // before anything new is written.
      host().Log(LogLevel::kWarning,
          absl::StrCat("estoria: ", dir_, ": cut a torn tail of segment ", name, " at offset ", scan.end, " (",
                       scan.dirty_end - scan.end, " bytes: ", scan.torn_reason, ")"));
      std::unique_ptr<WritableFile> file;
      ASSIGN_OR_RETURN(file, env_->NewAppendableFile(path));
      const std::vector<uint8_t> zeros(static_cast<size_t>(scan.dirty_end - scan.end), 0);
      RETURN_IF_ERROR(file->WriteAt(scan.end, zeros));
      RETURN_IF_ERROR(file->Sync());
      RETURN_IF_ERROR(file->Close());
    }
  }

  TrimIndexLocked();
  if (!covers.empty()) {
    host().Log(LogLevel::kInfo, absl::StrCat("estoria: ", dir_, ": opened from the index checkpoint (", global_.count,
                                      " events); scanned ", scanned, " bytes of log after it"));
  }
  next_position_ = std::max(log_last_position_, log_reserved_upto_) + 1;
  reserved_upto_ = next_position_ - 1;
  durable_reserved_ = reserved_upto_;
  for (auto& [id, stream] : streams_) stream.pending_tip = stream.tip;

  const size_t count = segments_->size();
  // New frames go to a segment of this format version: the last segment of
  // an older store is sealed (synced whole, as a rollover does) and left as
  // it is.
  const bool last_is_current = count > 0 && (*segments_)[count - 1].format == RecordFormat::kCompact;
  if (count > 0 && !last_is_current && sequences[count - 1] != 0) {
    std::unique_ptr<WritableFile> old;
    ASSIGN_OR_RETURN(old, env_->NewAppendableFile(absl::StrCat(dir_, "/", plan.names[count - 1])));
    RETURN_IF_ERROR(old->Sync());
    RETURN_IF_ERROR(old->Close());
  }
  if (last_is_current && sequences[count - 1] != 0 && segment_ends_[count - 1] < options_.segment_bytes) {
    ASSIGN_OR_RETURN(writer_, SegmentWriter::Reopen(env_, dir_, sequences[count - 1], segment_ends_[count - 1],
                                                    options_.preallocate_bytes, library_threads(), &host()));
  } else {
    ASSIGN_OR_RETURN(writer_, SegmentWriter::Create(env_, dir_, next_sequence_, options_.preallocate_bytes,
                                                    library_threads(), &host()));
    RETURN_IF_ERROR(AddSegmentLocked(next_sequence_, options_.segment_bytes));
    ++next_sequence_;
  }
  writer_index_ = static_cast<uint32_t>(segments_->size() - 1);
  return absl::OkStatus();
}

absl::Status FileStore::Verify(const ProgressFn& progress, VerifyReport* report) {
  const Cancellation::Token token = cancellation().Begin();
  std::vector<uint64_t> ends;
  std::vector<std::string> names;
  {
    MutexLock lock(&mu_);
    RETURN_IF_ERROR(UsableLocked());
    ends = segment_ends_;
    names = segment_names_;
  }
  uint64_t total = 0;
  for (uint64_t end : ends) total += end;
  VerifyReport got;
  absl::Status status;
  ReadBuffer buffer;
  uint64_t done = 0;
  for (size_t i = 0; i < ends.size() && status.ok(); ++i) {
    const std::string& name = names[i];
    status = ReadPrefix(env_, absl::StrCat(dir_, "/", name), ends[i], &buffer);
    if (!status.ok()) break;
    const absl::Span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(buffer.data()), ends[i]);
    ++got.segments;
    got.bytes += static_cast<int64_t>(ends[i]);
    if (absl::StatusOr<SegmentHeader> header = DecodeSegmentHeader(bytes); !header.ok()) {
      status = CorruptionAt(name, 0, ToStd(header.status().message()));
      break;
    }
    // Only published bytes are read, so any damage is corruption: no tail.
    ScanResult scan;
    status = ScanSegment(
        bytes, name, /*is_last=*/false,
        [&](const Frame& frame) -> absl::Status {
          if (cancellation().Cancelled(token)) return CancelledError("verify");
          absl::StatusOr<DecodedFrame> decoded = DecodeFrame(frame);
          if (!decoded.ok()) return decoded.status();
          ++got.records;
          got.events += static_cast<int64_t>(decoded->records.size());
          return absl::OkStatus();
        },
        &scan);
    if (status.ok() && scan.end != ends[i]) {
      status = CorruptionAt(name, scan.end, "the records end before the published end");
    }
    done += ends[i];
    if (progress) progress(done, total);
    if (cancellation().Cancelled(token)) status = CancelledError("verify");
  }
  if (report != nullptr) *report = got;
  return status;
}

void FileStore::Close() {
  ShutDownWatching();
  {
    MutexLock lock(&mu_);
    if (closing_) return;
    closing_ = true;
    closed_->store(true, std::memory_order_release);
    stop_interval_ = true;
    interval_cv_.SignalAll();
    stop_checkpoints_ = true;
    checkpoint_cv_.SignalAll();
  }
  if (interval_thread_.joinable()) interval_thread_.join();
  if (checkpoint_thread_.joinable()) checkpoint_thread_.join();
  {
    MutexLock lock(&mu_);
    AcquireWriterLocked();  // waits for the groups still in flight
    const bool healthy = poisoned_.ok() && opened_ && writer_ != nullptr;
    // Give back the unused reservation, so that the next open continues
    // right after the last position instead of skipping a block.
    PendingOp release;
    release.SetPayload(FrameKind::kReservation, "");
    release.reserved_upto = next_position_ - 1;
    mu_.Unlock();
    absl::Status status;
    if (healthy) {
      std::vector<PendingOp*> group{&release};
      status = WriteGroup(group);
      if (status.ok()) status = writer_->Sync();
    }
    if (writer_ != nullptr) {
      absl::Status closed = writer_->Close();
      if (status.ok()) status = closed;
    }
    mu_.Lock();
    if (!status.ok()) {
      host().Log(LogLevel::kError, absl::StrCat("estoria: closing the store in ", dir_, ": ", status.message()));
    } else if (healthy) {
      // Everything is durable: the next open loads this instead of scanning.
      IndexImage image = TakeImageLocked();
      mu_.Unlock();
      WriteImage(image).IgnoreError();  // logged; the next open scans instead
      mu_.Lock();
    }
    streams_.clear();
    global_ = EntryList<Location>();
    global_removed_ = PendingRemovals<Location>();
    snapshots_.clear();
    ReleaseWriterLocked();
  }
  if (lock_ != nullptr) env_->UnlockFile(std::move(lock_)).IgnoreError();
  commit_notifier().Notify();  // waiting followers read again and see the close
}

}  // namespace estoria::core::filelog

namespace estoria::core {

absl::StatusOr<std::shared_ptr<EventStore>> OpenFileStore(Env* env, std::string_view dir,
                                                          const FileStoreOptions& options) {
  if (dir.empty()) return absl::InvalidArgumentError("the store directory is empty");
  auto store = std::make_shared<filelog::FileStore>(env, std::string(dir), options);
  RETURN_IF_ERROR(store->Open());
  return std::shared_ptr<EventStore>(std::move(store));
}

}  // namespace estoria::core

// FileStore and its index checkpoint (index_checkpoint.h): taking an image
// of the index, writing it (on close, after a compaction, and in the
// background as the log grows), and opening from one.
//
// An image only ever covers durable bytes: under EST_SYNC_INTERVAL and
// EST_SYNC_NONE the log is synced before the image is taken, so a power
// loss can never leave a checkpoint that points past the log.
#include <algorithm>
#include <tuple>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/filelog/file_store_internal.h"
#include "core/filelog/index_checkpoint.h"
#include "core/util/log.h"
#include "core/util/status.h"

namespace estoria::core::filelog {
namespace {

constexpr char kCheckpointName[] = "INDEX";

// True when `cover` still describes `file`: the last frame it covers is
// whole (header and payload checksums) and ends at the covered end, and
// what follows is zeros or a frame header. Cheap (one frame read), and it
// catches a log that lost its tail, or was replaced, behind the checkpoint.
bool CoverHolds(const RandomAccessFile& file, const SegmentCover& cover) {
  std::vector<uint64_t> words(kFrameHeaderSize / 8);
  auto read = [&](uint64_t at, size_t n) -> absl::StatusOr<absl::Span<const uint8_t>> {
    if (words.size() * 8 < n) words.resize(n / 8 + 1);
    return file.Read(at, n, reinterpret_cast<uint8_t*>(words.data()));
  };
  if (cover.last_frame == 0) {
    if (cover.end != kSegmentHeaderSize) return false;
  } else {
    absl::StatusOr<absl::Span<const uint8_t>> got = read(cover.last_frame, kFrameHeaderSize);
    FrameHeader header;
    if (!got.ok() || got->size() < kFrameHeaderSize ||
        DecodeFrameHeader(*got, cover.last_frame, &header) != HeaderCheck::kOk ||
        cover.last_frame + FrameSize(header.payload_size) != cover.end) {
      return false;
    }
    got = read(cover.last_frame + kFrameHeaderSize, header.payload_size);
    if (!got.ok() || got->size() < header.payload_size || PayloadCrc(*got) != header.payload_crc) return false;
  }
  absl::StatusOr<absl::Span<const uint8_t>> next = read(cover.end, kFrameHeaderSize);
  if (!next.ok()) return false;
  if (next->size() < kFrameHeaderSize) return std::all_of(next->begin(), next->end(), [](uint8_t b) { return b == 0; });
  FrameHeader header;
  return DecodeFrameHeader(*next, cover.end, &header) != HeaderCheck::kBad;
}

}  // namespace

std::string FileStore::CheckpointPath() const { return absl::StrCat(dir_, "/", kCheckpointName); }

IndexImage FileStore::TakeImageLocked() {
  SettleGlobalLocked();
  IndexImage image;
  image.generation = manifest_.generation;
  for (size_t i = 0; i < segment_names_.size(); ++i) {
    image.segments.push_back({segment_names_[i], segment_ends_[i], segment_last_frames_[i]});
  }
  image.last_position = log_last_position_;
  image.reserved_upto = log_reserved_upto_;
  image.reclaimable = reclaimable_;
  image.streams.reserve(static_cast<size_t>(live_streams_));
  for (const auto& [id, stream] : streams_) {
    if (stream.tip > 0) image.streams.push_back(StreamImage{id, stream.tip, stream.events});
  }
  image.global = global_;
  // Hash maps iterate in an order that differs between runs: the image
  // lists streams and snapshots in ID order, so that identical sessions
  // write identical checkpoints (doc/abi.md "Hosts", deterministic replay).
  auto by_id = [](const Id& a, const Id& b) { return std::tie(a.type, a.uuid) < std::tie(b.type, b.uuid); };
  std::sort(image.streams.begin(), image.streams.end(),
            [&](const StreamImage& a, const StreamImage& b) { return by_id(a.id, b.id); });
  std::vector<const Id*> aggregates;
  aggregates.reserve(snapshots_.size());
  for (const auto& [id, list] : snapshots_) aggregates.push_back(&id);
  std::sort(aggregates.begin(), aggregates.end(), [&](const Id* a, const Id* b) { return by_id(*a, *b); });
  for (const Id* id : aggregates) {
    const SnapshotList& list = snapshots_.find(*id)->second;
    image.snapshots.insert(image.snapshots.end(), list.begin(), list.end());
  }
  image.checkpoints = checkpoints_.List();
  return image;
}

absl::Status FileStore::WriteCheckpoint() {
  IndexImage image;
  {
    MutexLock lock(&mu_);
    RETURN_IF_ERROR(UsableLocked());
    AcquireWriterLocked();
    absl::Status synced;
    if (options_.store.sync_mode != SyncMode::kAlways && writer_->synced_upto() < writer_->end()) {
      mu_.Unlock();
      synced = writer_->Sync();
      mu_.Lock();
      if (!synced.ok()) PoisonLocked(synced);
    }
    if (synced.ok()) image = TakeImageLocked();
    ReleaseWriterLocked();
    if (!synced.ok()) return poisoned_;
  }
  RETURN_IF_ERROR(WriteImage(image));
  uint64_t bytes = 0;
  for (const SegmentCover& s : image.segments) bytes += s.end;
  const uint64_t file_bytes = env_->GetFileSize(CheckpointPath()).value_or(0);
  MutexLock lock(&mu_);
  checkpoint_log_bytes_ = bytes;
  checkpoint_file_bytes_ = file_bytes;
  return absl::OkStatus();
}

absl::Status FileStore::WriteImage(const IndexImage& image) {
  absl::Status status = WriteIndexCheckpoint(env_, CheckpointPath(), image);
  if (!status.ok()) {
    // Only opening gets slower: not a reason to fail the caller.
    host().Log(LogLevel::kWarning, absl::StrCat("estoria: ", dir_, ": writing the index checkpoint failed: ", status.message()));
  }
  return status;
}

void FileStore::MaybeWantCheckpointLocked() {
  if (options_.checkpoint_bytes == 0) return;
  uint64_t bytes = 0;
  for (uint64_t end : segment_ends_) bytes += end;
  // Four times the checkpoint's own size at least: rewriting checkpoints
  // costs at most a quarter of what the log writes.
  const uint64_t every = std::max(options_.checkpoint_bytes, 4 * checkpoint_file_bytes_);
  if (bytes >= checkpoint_log_bytes_ + every && !checkpoint_wanted_) {
    checkpoint_wanted_ = true;
    checkpoint_cv_.Signal();
  }
}

void FileStore::CheckpointLoop() {
  MutexLock lock(&mu_);
  while (true) {
    while (!checkpoint_wanted_ && !stop_checkpoints_) checkpoint_cv_.Wait(&mu_);
    if (stop_checkpoints_) return;
    mu_.Unlock();
    WriteCheckpoint().IgnoreError();  // logged; the next growth tries again
    mu_.Lock();
    checkpoint_wanted_ = false;
  }
}

bool FileStore::ImageFits(const IndexImage& image, const std::vector<std::string>& names) const {
  if (image.generation != manifest_.generation || image.segments.size() > names.size()) return false;
  for (size_t i = 0; i < image.segments.size(); ++i) {
    const SegmentCover& cover = image.segments[i];
    if (cover.name != names[i] || cover.end < kSegmentHeaderSize) return false;
    absl::StatusOr<std::unique_ptr<RandomAccessFile>> file =
        env_->NewRandomAccessFile(absl::StrCat(dir_, "/", cover.name));
    if (!file.ok()) return false;
    absl::StatusOr<uint64_t> size = (*file)->Size();
    if (!size.ok() || *size < cover.end || !CoverHolds(**file, cover)) return false;
  }
  return true;
}

void FileStore::ApplyImageLocked(IndexImage image) {
  for (StreamImage& s : image.streams) {
    FileStream& stream = streams_[s.id];
    stream.tip = s.tip;
    stream.events = std::move(s.events);
    ++live_streams_;
  }
  global_ = std::move(image.global);
  for (auto& snapshot : image.snapshots) ApplySnapshotLocked(std::move(snapshot));
  for (const Checkpoint& c : image.checkpoints) {
    checkpoints_.Put(c.projection_id, c.position, c.updated_at_ns);
    pending_checkpoints_.Put(c.projection_id, c.position, c.updated_at_ns);
  }
  log_last_position_ = image.last_position;
  log_reserved_upto_ = image.reserved_upto;
  reclaimable_ = image.reclaimable;
}

std::vector<SegmentCover> FileStore::LoadCheckpointLocked(const std::vector<std::string>& names) {
  absl::StatusOr<IndexImage> image = ReadIndexCheckpoint(env_, CheckpointPath());
  if (!image.ok()) {
    if (!absl::IsNotFound(image.status())) {
      host().Log(LogLevel::kWarning, absl::StrCat("estoria: ", dir_, ": ignoring the index checkpoint: ",
                                           image.status().message()));
    }
    return {};
  }
  if (!ImageFits(*image, names)) {
    host().Log(LogLevel::kInfo, absl::StrCat("estoria: ", dir_, ": the index checkpoint does not match the log; scanning it"));
    return {};
  }
  std::vector<SegmentCover> covers = image->segments;
  ApplyImageLocked(std::move(*image));
  return covers;
}

void FileStore::TrimIndexLocked() {
  // Arrays grown by doubling hold up to twice what they use; the index's
  // budget (24 bytes an event) wants them exact.
  auto trim = [](EntryList<Location>& list) {
    if (list.array == nullptr || list.array->capacity() <= list.count + list.count / 8 + 8) return;
    auto exact = std::make_shared<EntryArray<Location>>(std::max<size_t>(list.count, 1));
    for (size_t i = 0; i < list.count; ++i) (*exact)[i] = (*list.array)[i];
    list.array = std::move(exact);
  };
  for (auto& [id, stream] : streams_) trim(stream.events);
  SettleGlobalLocked();
  trim(global_);
}

}  // namespace estoria::core::filelog

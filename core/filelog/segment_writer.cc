#include "core/filelog/segment_writer.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/filelog/log_format.h"
#include "core/util/log.h"
#include "core/util/status.h"

namespace estoria::core::filelog {
namespace {

constexpr uint64_t kZeroChunk = uint64_t{1} << 20;
// A write at least this large gains nothing from preallocation (its
// fdatasync is dominated by its own data), and zeroing ahead of a writer
// that writes this much only doubles the I/O and makes it wait: while writes
// are this large, the preallocation thread stands aside.
constexpr uint64_t kBulkWrite = uint64_t{64} << 10;
// A host's step zeroes smaller chunks, so that one chunk (a write and an
// fdatasync) stays well inside a millisecond's budget.
constexpr uint64_t kStepChunk = uint64_t{128} << 10;

std::string JoinPath(std::string_view dir, std::string_view name) { return absl::StrCat(ToAbsl(dir), "/", ToAbsl(name)); }

}  // namespace

absl::StatusOr<std::unique_ptr<SegmentWriter>> SegmentWriter::Create(Env* env, std::string_view dir,
                                                                     uint64_t sequence, uint64_t preallocate_bytes,
                                                                     bool background, const StoreHost* host) {
  std::string path = JoinPath(dir, SegmentFileName(sequence));
  std::unique_ptr<WritableFile> file;
  ASSIGN_OR_RETURN(file, env->NewWritableFile(path));
  uint8_t header[kSegmentHeaderSize];
  EncodeSegmentHeader(SegmentHeader{kFormatVersion, sequence}, header);
  RETURN_IF_ERROR(file->WriteAt(0, absl::MakeConstSpan(header, sizeof(header))));
  RETURN_IF_ERROR(file->Sync());
  RETURN_IF_ERROR(env->SyncDir(dir));
  return std::unique_ptr<SegmentWriter>(
      new SegmentWriter(env, std::move(path), sequence, kSegmentHeaderSize, preallocate_bytes, std::move(file),
                        background, host));
}

absl::StatusOr<std::unique_ptr<SegmentWriter>> SegmentWriter::Reopen(Env* env, std::string_view dir,
                                                                     uint64_t sequence, uint64_t end,
                                                                     uint64_t preallocate_bytes, bool background,
                                                                     const StoreHost* host) {
  std::string path = JoinPath(dir, SegmentFileName(sequence));
  std::unique_ptr<WritableFile> file;
  ASSIGN_OR_RETURN(file, env->NewAppendableFile(path));
  return std::unique_ptr<SegmentWriter>(
      new SegmentWriter(env, std::move(path), sequence, end, preallocate_bytes, std::move(file), background, host));
}

SegmentWriter::SegmentWriter(Env* env, std::string path, uint64_t sequence, uint64_t end,
                             uint64_t preallocate_bytes, std::unique_ptr<WritableFile> file, bool background,
                             const StoreHost* host)
    : env_(env),
      path_(std::move(path)),
      sequence_(sequence),
      preallocate_bytes_(preallocate_bytes),
      host_(host),
      file_(std::move(file)),
      end_(end),
      synced_upto_(end) {
  // Bytes already in the file past `end` are zeros (recovery zeroes a torn
  // tail before the writer continues), so preallocation resumes after them.
  uint64_t size = end;
  if (absl::StatusOr<uint64_t> s = env_->GetFileSize(path_); s.ok()) size = std::max(size, *s);
  MutexLock lock(&mu_);
  writer_end_ = end;
  zeroed_ = size;
  claimed_ = size;
  if (preallocate_bytes_ > 0 && background) thread_ = std::thread([this] { PreallocateLoop(); });
}

SegmentWriter::~SegmentWriter() { Close().IgnoreError(); }

bool SegmentWriter::AheadLocked() const {
  return preallocate_bytes_ == 0 || failed_ || std::max(zeroed_, writer_end_) >= writer_end_ + preallocate_bytes_ / 2 ||
         last_write_ >= kBulkWrite;
}

SegmentWriter::Zeroing SegmentWriter::ZeroChunkLocked(const std::vector<uint8_t>& zeros) {
  zeroed_ = std::max(zeroed_, writer_end_);
  if (AheadLocked()) return Zeroing::kAhead;  // far enough ahead: until the writer moves on
  const uint64_t target = writer_end_ + preallocate_bytes_;
  const uint64_t from = zeroed_;
  claimed_ = std::min<uint64_t>(from + zeros.size(), target);
  zeroing_ = true;
  const uint64_t n = claimed_ - from;
  mu_.Unlock();
  absl::Status status = file_->WriteAt(from, absl::MakeConstSpan(zeros.data(), n));
  if (status.ok()) status = file_->Sync();
  mu_.Lock();
  zeroing_ = false;
  if (status.ok()) zeroed_ = std::max(zeroed_, claimed_);
  cv_.SignalAll();
  if (!status.ok()) {
    // Not a failure of the store: appends only lose the head start. Their
    // own writes report any real trouble.
    failed_ = true;
    const std::string message = absl::StrCat("estoria: preallocating ", path_, " stopped: ", status.message());
    if (host_ != nullptr) {
      host_->Log(LogLevel::kWarning, message);
    } else {
      Log(LogLevel::kWarning, message);
    }
    return Zeroing::kFailed;
  }
  return Zeroing::kZeroed;
}

void SegmentWriter::PreallocateLoop() {
  const std::vector<uint8_t> zeros(std::min(kZeroChunk, preallocate_bytes_), 0);
  MutexLock lock(&mu_);
  while (!stop_) {
    switch (ZeroChunkLocked(zeros)) {
      case Zeroing::kAhead:
        cv_.Wait(&mu_);
        break;
      case Zeroing::kZeroed:
        break;
      case Zeroing::kFailed:
        return;
    }
  }
}

bool SegmentWriter::PreallocationPending() {
  MutexLock lock(&mu_);
  return !stop_ && !thread_.joinable() && !AheadLocked();
}

bool SegmentWriter::PreallocateStep(const std::function<bool()>& more) {
  MutexLock lock(&mu_);
  if (thread_.joinable()) return false;  // the thread does it
  if (step_zeros_.empty()) step_zeros_.assign(std::min(kStepChunk, std::max<uint64_t>(preallocate_bytes_, 1)), 0);
  // Another step already zeroing (a second maintaining thread): leave it be.
  while (!stop_ && !zeroing_) {
    if (ZeroChunkLocked(step_zeros_) != Zeroing::kZeroed) return false;
    if (!more()) break;
  }
  return !stop_ && !AheadLocked();
}

absl::Status SegmentWriter::Write(absl::Span<const absl::Span<const uint8_t>> pieces) {
  uint64_t total = 0;
  for (const auto& piece : pieces) total += piece.size();
  const uint64_t new_end = end_ + total;
  {
    MutexLock lock(&mu_);
    // Never write into a range that is being zeroed.
    while (zeroing_ && new_end > zeroed_ && end_ < claimed_) cv_.Wait(&mu_);
    writer_end_ = new_end;
    last_write_ = total;
    cv_.SignalAll();
  }
  RETURN_IF_ERROR(file_->WriteAtV(end_, pieces));
  end_ = new_end;
  return absl::OkStatus();
}

absl::Status SegmentWriter::Sync() {
  const uint64_t end = end_;
  RETURN_IF_ERROR(file_->Sync());
  synced_upto_ = end;
  return absl::OkStatus();
}

absl::Status SegmentWriter::Close() {
  {
    MutexLock lock(&mu_);
    if (stop_ && file_ == nullptr) return absl::OkStatus();
    stop_ = true;
    cv_.SignalAll();
  }
  if (thread_.joinable()) thread_.join();
  if (file_ == nullptr) return absl::OkStatus();
  absl::Status status = file_->Close();
  file_.reset();
  return status;
}

}  // namespace estoria::core::filelog

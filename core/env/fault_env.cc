// FaultEnv: per-file undo records (the synced bytes a later change
// overwrote) and a log of directory changes not yet made durable; see
// fault_env.h for the model.
#include "core/env/fault_env.h"

#include <algorithm>
#include <cstring>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/util/status.h"

namespace estoria::core {

struct FaultEnv::FileState {
  struct Undo {
    uint64_t offset;
    std::string old_bytes;
  };
  uint64_t synced_size = 0;
  std::vector<Undo> undo;  // oldest first; applied newest first
};

struct FaultEnv::DirOp {
  enum class Kind { kCreate, kRename, kDelete };
  Kind kind;
  std::string dir;   // made durable by SyncDir(dir)
  std::string path;  // the created, renamed-to or deleted path
  std::string from;  // kRename: the old name
  bool had_old = false;
  std::string old_contents;  // the durable file that the op replaced or deleted
};

class FaultEnv::File final : public WritableFile {
 public:
  File(FaultEnv* env, std::string path, std::shared_ptr<FileState> state, std::unique_ptr<WritableFile> base,
       std::unique_ptr<RandomAccessFile> reader, uint64_t append_offset, uint64_t epoch)
      : env_(env),
        path_(std::move(path)),
        state_(std::move(state)),
        base_(std::move(base)),
        reader_(std::move(reader)),
        append_offset_(append_offset),
        epoch_(epoch) {}

  absl::Status Append(absl::Span<const uint8_t> data) override {
    MutexLock lock(&env_->mu_);
    RETURN_IF_ERROR(BeginWriteLocked(append_offset_, data.size()));
    uint64_t offset = append_offset_;
    append_offset_ += data.size();
    return base_->WriteAt(offset, data);
  }

  absl::Status WriteAt(uint64_t offset, absl::Span<const uint8_t> data) override {
    MutexLock lock(&env_->mu_);
    RETURN_IF_ERROR(BeginWriteLocked(offset, data.size()));
    return base_->WriteAt(offset, data);
  }

  absl::Status WriteAtV(uint64_t offset, absl::Span<const absl::Span<const uint8_t>> pieces) override {
    uint64_t total = 0;
    for (const auto& piece : pieces) total += piece.size();
    MutexLock lock(&env_->mu_);
    RETURN_IF_ERROR(BeginWriteLocked(offset, total));
    return base_->WriteAtV(offset, pieces);
  }

  absl::Status Sync() override {
    MutexLock lock(&env_->mu_);
    RETURN_IF_ERROR(CheckUsableLocked());
    RETURN_IF_ERROR(env_->BeginLocked(OpKind::kSync, absl::StrCat("sync ", path_)));
    RETURN_IF_ERROR(base_->Sync());
    ASSIGN_OR_RETURN(uint64_t size, reader_->Size());
    state_->synced_size = size;
    state_->undo.clear();
    return absl::OkStatus();
  }

  absl::Status Close() override {
    MutexLock lock(&env_->mu_);
    closed_ = true;
    return base_->Close();
  }

 private:
  absl::Status CheckUsableLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(env_->mu_) {
    if (closed_) return absl::FailedPreconditionError(absl::StrCat(path_, ": file is closed"));
    if (epoch_ != env_->epoch_) {
      return absl::FailedPreconditionError(absl::StrCat(path_, ": file was open across a simulated power loss"));
    }
    return absl::OkStatus();
  }

  absl::Status BeginWriteLocked(uint64_t offset, uint64_t n) ABSL_EXCLUSIVE_LOCKS_REQUIRED(env_->mu_) {
    RETURN_IF_ERROR(CheckUsableLocked());
    RETURN_IF_ERROR(env_->BeginLocked(OpKind::kWrite, absl::StrCat("write ", path_)));
    return env_->SaveOldBytesLocked(*state_, *reader_, offset, n);
  }

  FaultEnv* const env_;
  const std::string path_;
  const std::shared_ptr<FileState> state_;
  const std::unique_ptr<WritableFile> base_;
  const std::unique_ptr<RandomAccessFile> reader_;  // the same file, to save bytes before they change
  uint64_t append_offset_;                          // guarded by env_->mu_
  const uint64_t epoch_;
  bool closed_ = false;                             // guarded by env_->mu_
};

FaultEnv::FaultEnv(Env* base) : EnvWrapper(base) {}
FaultEnv::~FaultEnv() = default;

void FaultEnv::SetDropUnsyncedDirEntries(bool drop) {
  MutexLock lock(&mu_);
  drop_dir_entries_ = drop;
}
void FaultEnv::SetFailWrite(bool fail) {
  MutexLock lock(&mu_);
  fail_write_ = fail;
}
void FaultEnv::SetFailSync(bool fail) {
  MutexLock lock(&mu_);
  fail_sync_ = fail;
}
void FaultEnv::FailAfter(int64_t n) {
  MutexLock lock(&mu_);
  fail_at_ = n < 0 ? -1 : operation_count_ + n;
}
int64_t FaultEnv::operation_count() const {
  MutexLock lock(&mu_);
  return operation_count_;
}

absl::Status FaultEnv::BeginLocked(OpKind kind, std::string_view what) {
  const bool fail = (fail_at_ >= 0 && operation_count_ >= fail_at_) || (kind == OpKind::kWrite && fail_write_) ||
                    (kind == OpKind::kSync && fail_sync_);
  if (fail) return absl::UnavailableError(absl::StrCat(ToAbsl(what), ": injected I/O error"));
  ++operation_count_;
  return absl::OkStatus();
}

std::shared_ptr<FaultEnv::FileState> FaultEnv::StateLocked(const std::string& path) {
  auto it = files_.find(path);
  if (it != files_.end()) return it->second;
  // Not written through us yet: what is there counts as durable.
  auto state = std::make_shared<FileState>();
  absl::StatusOr<uint64_t> size = target()->GetFileSize(path);
  state->synced_size = size.ok() ? *size : 0;
  return state;
}

absl::Status FaultEnv::SaveOldBytesLocked(FileState& state, const RandomAccessFile& reader, uint64_t offset,
                                          uint64_t n) {
  if (n == 0 || offset >= state.synced_size) return absl::OkStatus();
  const uint64_t end = std::min(offset + n, state.synced_size);
  std::string old(static_cast<size_t>(end - offset), '\0');
  auto* scratch = reinterpret_cast<uint8_t*>(old.data());
  ASSIGN_OR_RETURN(absl::Span<const uint8_t> got, reader.Read(offset, old.size(), scratch));
  if (got.data() != scratch && !got.empty()) std::memmove(scratch, got.data(), got.size());
  // Bytes past the current end were saved by the truncation that cut them.
  old.resize(got.size());
  if (!old.empty()) state.undo.push_back({offset, std::move(old)});
  return absl::OkStatus();
}

absl::StatusOr<std::string> FaultEnv::DurableContentsLocked(const std::string& path) {
  ASSIGN_OR_RETURN(std::string contents, target()->ReadFileToString(path));
  auto it = files_.find(path);
  if (it == files_.end()) return contents;
  const FileState& state = *it->second;
  contents.resize(static_cast<size_t>(state.synced_size), '\0');
  for (auto undo = state.undo.rbegin(); undo != state.undo.rend(); ++undo) {
    std::memcpy(contents.data() + undo->offset, undo->old_bytes.data(), undo->old_bytes.size());
  }
  return contents;
}

absl::StatusOr<std::unique_ptr<WritableFile>> FaultEnv::Open(std::string_view path, bool truncate) {
  const std::string p = CleanPath(path);
  MutexLock lock(&mu_);
  RETURN_IF_ERROR(BeginLocked(OpKind::kWrite, absl::StrCat("open ", p)));
  const bool existed = target()->FileExists(p);
  std::shared_ptr<FileState> state = StateLocked(p);
  if (truncate && existed && state->synced_size > 0) {
    ASSIGN_OR_RETURN(std::unique_ptr<RandomAccessFile> old, target()->NewRandomAccessFile(p));
    RETURN_IF_ERROR(SaveOldBytesLocked(*state, *old, 0, state->synced_size));
  }
  ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> base,
                   truncate ? target()->NewWritableFile(p) : target()->NewAppendableFile(p));
  ASSIGN_OR_RETURN(std::unique_ptr<RandomAccessFile> reader, target()->NewRandomAccessFile(p));
  ASSIGN_OR_RETURN(uint64_t size, reader->Size());
  files_[p] = state;
  if (!existed) dir_ops_.push_back(DirOp{DirOp::Kind::kCreate, DirName(p), p, "", false, ""});
  return std::unique_ptr<WritableFile>(
      new File(this, p, std::move(state), std::move(base), std::move(reader), truncate ? 0 : size, epoch_));
}

absl::StatusOr<std::unique_ptr<WritableFile>> FaultEnv::NewWritableFile(std::string_view path) {
  return Open(path, /*truncate=*/true);
}

absl::StatusOr<std::unique_ptr<WritableFile>> FaultEnv::NewAppendableFile(std::string_view path) {
  return Open(path, /*truncate=*/false);
}

absl::Status FaultEnv::CreateDir(std::string_view path) {
  MutexLock lock(&mu_);
  RETURN_IF_ERROR(BeginLocked(OpKind::kWrite, absl::StrCat("mkdir ", ToAbsl(path))));
  return target()->CreateDir(path);
}

absl::Status FaultEnv::DeleteDir(std::string_view path) {
  MutexLock lock(&mu_);
  RETURN_IF_ERROR(BeginLocked(OpKind::kWrite, absl::StrCat("rmdir ", ToAbsl(path))));
  return target()->DeleteDir(path);
}

absl::Status FaultEnv::SyncDir(std::string_view path) {
  const std::string p = CleanPath(path);
  MutexLock lock(&mu_);
  RETURN_IF_ERROR(BeginLocked(OpKind::kSync, absl::StrCat("fsync ", p)));
  RETURN_IF_ERROR(target()->SyncDir(p));
  std::erase_if(dir_ops_, [&](const DirOp& op) { return op.dir == p; });
  return absl::OkStatus();
}

absl::Status FaultEnv::Rename(std::string_view from, std::string_view to) {
  const std::string f = CleanPath(from), t = CleanPath(to);
  MutexLock lock(&mu_);
  RETURN_IF_ERROR(BeginLocked(OpKind::kWrite, absl::StrCat("rename ", f, " to ", t)));
  // Directories are passed through untracked (see fault_env.h).
  const bool from_is_file = target()->FileExists(f) && !target()->ListDir(f).ok();
  if (f == t || !from_is_file) return target()->Rename(f, t);
  std::optional<std::string> replaced;
  if (target()->FileExists(t) && !target()->ListDir(t).ok()) {
    ASSIGN_OR_RETURN(replaced, DurableContentsLocked(t));
  }
  RETURN_IF_ERROR(target()->Rename(f, t));
  files_.erase(t);
  if (auto it = files_.find(f); it != files_.end()) {
    files_[t] = it->second;
    files_.erase(it);
  }
  dir_ops_.push_back(DirOp{DirOp::Kind::kRename, DirName(t), t, f, replaced.has_value(), replaced.value_or("")});
  return absl::OkStatus();
}

absl::Status FaultEnv::DeleteFile(std::string_view path) {
  const std::string p = CleanPath(path);
  MutexLock lock(&mu_);
  RETURN_IF_ERROR(BeginLocked(OpKind::kWrite, absl::StrCat("unlink ", p)));
  absl::StatusOr<std::string> old = DurableContentsLocked(p);
  if (!old.ok()) return target()->DeleteFile(p);  // missing or a directory: the base says which
  RETURN_IF_ERROR(target()->DeleteFile(p));
  files_.erase(p);
  dir_ops_.push_back(DirOp{DirOp::Kind::kDelete, DirName(p), p, "", true, std::move(*old)});
  return absl::OkStatus();
}

absl::Status FaultEnv::Truncate(std::string_view path, uint64_t size) {
  const std::string p = CleanPath(path);
  MutexLock lock(&mu_);
  RETURN_IF_ERROR(BeginLocked(OpKind::kWrite, absl::StrCat("truncate ", p)));
  if (!target()->FileExists(p)) return target()->Truncate(p, size);
  std::shared_ptr<FileState> state = StateLocked(p);
  if (size < state->synced_size) {
    ASSIGN_OR_RETURN(std::unique_ptr<RandomAccessFile> reader, target()->NewRandomAccessFile(p));
    RETURN_IF_ERROR(SaveOldBytesLocked(*state, *reader, size, state->synced_size - size));
  }
  RETURN_IF_ERROR(target()->Truncate(p, size));
  files_[p] = std::move(state);
  return absl::OkStatus();
}

absl::Status FaultEnv::RestoreFileLocked(const std::string& path, FileState& state) {
  RETURN_IF_ERROR(target()->Truncate(path, state.synced_size));
  if (!state.undo.empty()) {
    ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> file, target()->NewAppendableFile(path));
    for (auto undo = state.undo.rbegin(); undo != state.undo.rend(); ++undo) {
      RETURN_IF_ERROR(file->WriteAt(undo->offset, AsBytes(undo->old_bytes)));
    }
    RETURN_IF_ERROR(file->Close());
    state.undo.clear();
  }
  return absl::OkStatus();
}

absl::Status FaultEnv::WriteWholeFileLocked(const std::string& path, const std::string& contents) {
  ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> file, target()->NewWritableFile(path));
  RETURN_IF_ERROR(file->Append(AsBytes(contents)));
  return file->Close();
}

absl::Status FaultEnv::UndoDirOpLocked(const DirOp& op) {
  switch (op.kind) {
    case DirOp::Kind::kCreate:
      files_.erase(op.path);
      if (target()->FileExists(op.path)) return target()->DeleteFile(op.path);
      return absl::OkStatus();
    case DirOp::Kind::kRename:
      if (target()->FileExists(op.path)) {
        RETURN_IF_ERROR(target()->Rename(op.path, op.from));
        files_.erase(op.from);
        if (auto it = files_.find(op.path); it != files_.end()) {
          files_[op.from] = it->second;
          files_.erase(it);
        }
      }
      if (!op.had_old) return absl::OkStatus();
      files_.erase(op.path);
      return WriteWholeFileLocked(op.path, op.old_contents);
    case DirOp::Kind::kDelete:
      files_.erase(op.path);
      return WriteWholeFileLocked(op.path, op.old_contents);
  }
  return absl::InternalError("unknown directory operation");
}

absl::Status FaultEnv::DropUnsyncedData() {
  MutexLock lock(&mu_);
  ++epoch_;
  absl::Status status;
  for (auto& [path, state] : files_) {
    if (!target()->FileExists(path)) continue;
    status.Update(RestoreFileLocked(path, *state));
  }
  if (drop_dir_entries_) {
    for (auto op = dir_ops_.rbegin(); op != dir_ops_.rend(); ++op) status.Update(UndoDirOpLocked(*op));
  }
  dir_ops_.clear();
  return status;
}

}  // namespace estoria::core

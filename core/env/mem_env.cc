// MemEnv: a map from clean paths to shared file data (the "inodes") plus a
// set of directories, all under one mutex; each file's bytes under its own.
#include "core/env/mem_env.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/util/mutex.h"
#include "core/util/status.h"

namespace estoria::core {
namespace {

struct FileData {
  Mutex mu;
  std::string bytes ABSL_GUARDED_BY(mu);

  void WriteAt(uint64_t offset, absl::Span<const uint8_t> data) {
    MutexLock lock(&mu);
    if (bytes.size() < offset + data.size()) bytes.resize(offset + data.size(), '\0');
    if (!data.empty()) std::memcpy(bytes.data() + offset, data.data(), data.size());
  }
  uint64_t Size() {
    MutexLock lock(&mu);
    return bytes.size();
  }
};

absl::Status ClosedFile(const std::string& path) {
  return absl::FailedPreconditionError(absl::StrCat(path, ": file is closed"));
}

class MemWritableFile final : public WritableFile {
 public:
  MemWritableFile(std::string path, std::shared_ptr<FileData> data, uint64_t append_offset)
      : path_(std::move(path)), data_(std::move(data)), append_offset_(append_offset) {}

  absl::Status Append(absl::Span<const uint8_t> data) override {
    if (closed_.load()) return ClosedFile(path_);
    data_->WriteAt(append_offset_.fetch_add(data.size()), data);
    return absl::OkStatus();
  }
  absl::Status WriteAt(uint64_t offset, absl::Span<const uint8_t> data) override {
    if (closed_.load()) return ClosedFile(path_);
    if (offset + data.size() < offset) return absl::InvalidArgumentError(absl::StrCat("write ", path_, ": offset overflow"));
    data_->WriteAt(offset, data);
    return absl::OkStatus();
  }
  absl::Status Sync() override { return closed_.load() ? ClosedFile(path_) : absl::OkStatus(); }
  absl::Status Close() override {
    closed_.store(true);
    return absl::OkStatus();
  }

 private:
  const std::string path_;
  const std::shared_ptr<FileData> data_;
  std::atomic<uint64_t> append_offset_;
  std::atomic<bool> closed_{false};
};

class MemRandomAccessFile final : public RandomAccessFile {
 public:
  explicit MemRandomAccessFile(std::shared_ptr<FileData> data) : data_(std::move(data)) {}

  // Copies into scratch: later writes must not change bytes already returned.
  absl::StatusOr<absl::Span<const uint8_t>> Read(uint64_t offset, size_t n, uint8_t* scratch) const override {
    MutexLock lock(&data_->mu);
    const std::string& bytes = data_->bytes;
    if (offset >= bytes.size()) return absl::Span<const uint8_t>(scratch, 0);
    size_t got = static_cast<size_t>(std::min<uint64_t>(n, bytes.size() - offset));
    std::memcpy(scratch, bytes.data() + offset, got);
    return absl::Span<const uint8_t>(scratch, got);
  }
  absl::StatusOr<uint64_t> Size() const override { return data_->Size(); }

 private:
  const std::shared_ptr<FileData> data_;
};

class MemEnv;

class MemFileLock final : public FileLock {
 public:
  MemFileLock(MemEnv* env, std::string path, std::shared_ptr<FileData> data)
      : env_(env), path_(std::move(path)), data_(std::move(data)) {}
  ~MemFileLock() override;
  const std::string& path() const override { return path_; }
  void Release();

 private:
  MemEnv* env_;
  const std::string path_;
  const std::shared_ptr<FileData> data_;
};

bool IsRoot(const std::string& path) { return path == "/" || path == "."; }

// True when `path` is strictly inside directory `dir` (both clean).
bool IsUnder(const std::string& path, const std::string& dir) {
  if (dir == "/") return path.size() > 1 && path[0] == '/';
  if (dir == ".") return path[0] != '/' && path != ".";
  return path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 && path[dir.size()] == '/';
}

class MemEnv final : public Env {
 public:
  absl::StatusOr<std::unique_ptr<WritableFile>> NewWritableFile(std::string_view path) override {
    return OpenForWrite(path, /*truncate=*/true);
  }
  absl::StatusOr<std::unique_ptr<WritableFile>> NewAppendableFile(std::string_view path) override {
    return OpenForWrite(path, /*truncate=*/false);
  }

  absl::StatusOr<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(std::string_view path) override {
    std::string p = CleanPath(path);
    MutexLock lock(&mu_);
    if (IsDirLocked(p)) return IoError("open", p, EISDIR);
    auto it = files_.find(p);
    if (it == files_.end()) return IoError("open", p, ENOENT);
    return std::unique_ptr<RandomAccessFile>(new MemRandomAccessFile(it->second));
  }

  absl::Status CreateDir(std::string_view path) override {
    std::string p = CleanPath(path);
    MutexLock lock(&mu_);
    if (IsDirLocked(p)) return absl::OkStatus();
    if (files_.count(p) > 0) return IoError("mkdir", p, EEXIST);
    RETURN_IF_ERROR(CheckParentLocked("mkdir", p));
    dirs_.insert(p);
    return absl::OkStatus();
  }

  absl::Status DeleteDir(std::string_view path) override {
    std::string p = CleanPath(path);
    MutexLock lock(&mu_);
    if (files_.count(p) > 0) return IoError("rmdir", p, ENOTDIR);
    if (IsRoot(p)) return IoError("rmdir", p, EBUSY);
    if (dirs_.count(p) == 0) return IoError("rmdir", p, ENOENT);
    if (HasChildrenLocked(p)) return IoError("rmdir", p, ENOTEMPTY);
    dirs_.erase(p);
    return absl::OkStatus();
  }

  absl::Status SyncDir(std::string_view path) override {
    std::string p = CleanPath(path);
    MutexLock lock(&mu_);
    if (IsDirLocked(p)) return absl::OkStatus();
    return IoError("open", p, files_.count(p) > 0 ? ENOTDIR : ENOENT);
  }

  absl::StatusOr<std::vector<std::string>> ListDir(std::string_view path) override {
    std::string p = CleanPath(path);
    MutexLock lock(&mu_);
    if (!IsDirLocked(p)) return IoError("opendir", p, files_.count(p) > 0 ? ENOTDIR : ENOENT);
    std::vector<std::string> names;
    auto collect = [&](const std::string& child) {
      if (IsUnder(child, p) && DirName(child) == p) names.push_back(child.substr(child.find_last_of('/') + 1));
    };
    for (const auto& [name, data] : files_) collect(name);
    for (const std::string& dir : dirs_) collect(dir);
    std::sort(names.begin(), names.end());
    return names;
  }

  absl::Status Rename(std::string_view from, std::string_view to) override {
    std::string f = CleanPath(from), t = CleanPath(to);
    const std::string what = absl::StrCat(f, " to ", t);
    MutexLock lock(&mu_);
    auto file = files_.find(f);
    if (file != files_.end()) {
      if (f == t) return absl::OkStatus();
      if (IsDirLocked(t)) return IoError("rename", what, EISDIR);
      RETURN_IF_ERROR(CheckParentLocked("rename", t));
      std::shared_ptr<FileData> data = file->second;
      files_.erase(file);
      files_[t] = std::move(data);
      return absl::OkStatus();
    }
    if (!IsDirLocked(f) || IsRoot(f)) return IoError("rename", what, IsRoot(f) ? EBUSY : ENOENT);
    if (f == t) return absl::OkStatus();
    if (IsUnder(t, f)) return IoError("rename", what, EINVAL);
    if (files_.count(t) > 0) return IoError("rename", what, ENOTDIR);
    if (IsDirLocked(t) && HasChildrenLocked(t)) return IoError("rename", what, ENOTEMPTY);
    RETURN_IF_ERROR(CheckParentLocked("rename", t));
    // Move the directory and everything below it.
    auto moved = [&](const std::string& path) { return t + path.substr(f.size()); };
    std::map<std::string, std::shared_ptr<FileData>> files;
    for (auto& [name, data] : files_) files[IsUnder(name, f) ? moved(name) : name] = data;
    std::set<std::string> dirs;
    for (const std::string& dir : dirs_) dirs.insert(dir == f || IsUnder(dir, f) ? moved(dir) : dir);
    files_ = std::move(files);
    dirs_ = std::move(dirs);
    return absl::OkStatus();
  }

  absl::Status DeleteFile(std::string_view path) override {
    std::string p = CleanPath(path);
    MutexLock lock(&mu_);
    if (IsDirLocked(p)) return IoError("unlink", p, EISDIR);
    if (files_.erase(p) == 0) return IoError("unlink", p, ENOENT);
    return absl::OkStatus();
  }

  bool FileExists(std::string_view path) override {
    std::string p = CleanPath(path);
    MutexLock lock(&mu_);
    return IsDirLocked(p) || files_.count(p) > 0;
  }

  absl::StatusOr<uint64_t> GetFileSize(std::string_view path) override {
    std::string p = CleanPath(path);
    std::shared_ptr<FileData> data;
    {
      MutexLock lock(&mu_);
      if (IsDirLocked(p)) return 0;
      auto it = files_.find(p);
      if (it == files_.end()) return IoError("stat", p, ENOENT);
      data = it->second;
    }
    return data->Size();
  }

  absl::Status Truncate(std::string_view path, uint64_t size) override {
    std::string p = CleanPath(path);
    std::shared_ptr<FileData> data;
    {
      MutexLock lock(&mu_);
      if (IsDirLocked(p)) return IoError("truncate", p, EISDIR);
      auto it = files_.find(p);
      if (it == files_.end()) return IoError("truncate", p, ENOENT);
      data = it->second;
    }
    MutexLock lock(&data->mu);
    data->bytes.resize(size, '\0');
    return absl::OkStatus();
  }

  absl::StatusOr<std::unique_ptr<FileLock>> LockFile(std::string_view path) override {
    std::string p = CleanPath(path);
    std::shared_ptr<FileData> data;
    {
      MutexLock lock(&mu_);
      ASSIGN_OR_RETURN(data, FindOrCreateLocked("lock", p));
      if (!locked_.insert(data.get()).second) {
        return absl::AlreadyExistsError(absl::StrCat("lock ", p, ": held by process ", ::getpid(), " (this process)"));
      }
    }
    std::string pid = absl::StrCat(::getpid(), "\n");
    {
      MutexLock lock(&data->mu);
      data->bytes = pid;
    }
    return std::unique_ptr<FileLock>(new MemFileLock(this, std::move(p), std::move(data)));
  }

  absl::Status UnlockFile(std::unique_ptr<FileLock> lock) override {
    auto* mem = dynamic_cast<MemFileLock*>(lock.get());
    if (mem == nullptr) return absl::InvalidArgumentError("UnlockFile: the lock is not from this Env");
    mem->Release();
    return absl::OkStatus();
  }

  void ReleaseLock(const FileData* data) {
    MutexLock lock(&mu_);
    locked_.erase(data);
  }

  int64_t NowNanos() override { return Env::Default()->NowNanos(); }
  int64_t NowMicrosMonotonic() override { return Env::Default()->NowMicrosMonotonic(); }
  void SleepForMicros(int64_t micros) override { Env::Default()->SleepForMicros(micros); }

 private:
  absl::StatusOr<std::unique_ptr<WritableFile>> OpenForWrite(std::string_view path, bool truncate) {
    std::string p = CleanPath(path);
    std::shared_ptr<FileData> data;
    {
      MutexLock lock(&mu_);
      ASSIGN_OR_RETURN(data, FindOrCreateLocked("open", p));
    }
    MutexLock lock(&data->mu);
    if (truncate) data->bytes.clear();
    return std::unique_ptr<WritableFile>(new MemWritableFile(std::move(p), data, data->bytes.size()));
  }

  absl::StatusOr<std::shared_ptr<FileData>> FindOrCreateLocked(std::string_view op, const std::string& p)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (IsDirLocked(p)) return IoError(op, p, EISDIR);
    auto it = files_.find(p);
    if (it != files_.end()) return it->second;
    RETURN_IF_ERROR(CheckParentLocked(op, p));
    auto data = std::make_shared<FileData>();
    files_[p] = data;
    return data;
  }

  bool IsDirLocked(const std::string& p) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return IsRoot(p) || dirs_.count(p) > 0;
  }

  absl::Status CheckParentLocked(std::string_view op, const std::string& p) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    std::string parent = DirName(p);
    if (IsDirLocked(parent)) return absl::OkStatus();
    return IoError(op, p, files_.count(parent) > 0 ? ENOTDIR : ENOENT);
  }

  bool HasChildrenLocked(const std::string& dir) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    for (const auto& [name, data] : files_) {
      if (IsUnder(name, dir)) return true;
    }
    for (const std::string& d : dirs_) {
      if (IsUnder(d, dir)) return true;
    }
    return false;
  }

  mutable Mutex mu_;
  std::map<std::string, std::shared_ptr<FileData>> files_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> dirs_ ABSL_GUARDED_BY(mu_);  // besides "/" and "."
  std::set<const FileData*> locked_ ABSL_GUARDED_BY(mu_);
};

MemFileLock::~MemFileLock() { Release(); }

void MemFileLock::Release() {
  if (env_ == nullptr) return;
  env_->ReleaseLock(data_.get());
  env_ = nullptr;
}

}  // namespace

std::unique_ptr<Env> NewMemEnv() { return std::make_unique<MemEnv>(); }

}  // namespace estoria::core

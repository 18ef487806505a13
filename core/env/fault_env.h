// FaultEnv: wraps another Env (usually a MemEnv) and simulates power loss and
// I/O errors, for durability tests.
//
// Model. For every file written through it, FaultEnv remembers what the last
// WritableFile::Sync made durable: the synced length, and the old contents of
// any synced byte changed since (writes into the synced range, truncation).
// DropUnsyncedData() puts every such file back to exactly that state. Entries
// created, renamed or deleted in a directory since its last SyncDir are rolled
// back too (a rename is durable with its destination directory), unless
// SetDropUnsyncedDirEntries(false). Files never written through the FaultEnv
// count as durable; so do directories (CreateDir is not rolled back), lock
// files and everything read.
//
// Faults: while SetFailWrite(true), writes, truncations and namespace changes
// fail with kUnavailable and change nothing; while SetFailSync(true), Sync and
// SyncDir fail with kUnavailable and make nothing durable. FailAfter(n) lets
// n more of those operations succeed and fails every later one.
//
// Thread-safe: one mutex serializes every operation that goes through it.
// Handles opened before a DropUnsyncedData are dead afterwards (their calls
// return kFailedPrecondition), like the process that held them.
#ifndef ESTORIA_CORE_ENV_FAULT_ENV_H_
#define ESTORIA_CORE_ENV_FAULT_ENV_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/env/env.h"
#include "core/util/mutex.h"

namespace estoria::core {

class FaultEnv final : public EnvWrapper {
 public:
  // *base must outlive the FaultEnv, which must outlive its handles.
  explicit FaultEnv(Env* base);
  ~FaultEnv() override;

  // Power loss: every file written through this Env goes back to its last
  // synced state, and (by default) unsynced directory entries are undone.
  // kUnavailable only when the base Env fails.
  absl::Status DropUnsyncedData();
  // Whether DropUnsyncedData undoes directory entries not yet made durable
  // by SyncDir (default true). When false, every create, rename and delete
  // is durable at once and only file contents are lost.
  void SetDropUnsyncedDirEntries(bool drop);

  void SetFailWrite(bool fail);
  void SetFailSync(bool fail);
  // Lets `n` more mutating operations (writes, syncs, creations, renames,
  // deletions, truncations) succeed, then fails every later one with
  // kUnavailable; a negative n turns it off.
  void FailAfter(int64_t n);
  // The mutating operations that succeeded so far: run a workload once,
  // then FailAfter(k) for every k below this count to hit every step.
  int64_t operation_count() const;

  // Mappings would bypass the fault model: reads go through pread instead.
  absl::StatusOr<std::unique_ptr<MappedFile>> MapFile(std::string_view path, uint64_t, bool) override {
    return Env::MapFile(path, 0, false);
  }
  absl::StatusOr<std::unique_ptr<WritableFile>> NewWritableFile(std::string_view path) override;
  absl::StatusOr<std::unique_ptr<WritableFile>> NewAppendableFile(std::string_view path) override;
  absl::Status CreateDir(std::string_view path) override;
  absl::Status DeleteDir(std::string_view path) override;
  absl::Status SyncDir(std::string_view path) override;
  absl::Status Rename(std::string_view from, std::string_view to) override;
  absl::Status DeleteFile(std::string_view path) override;
  absl::Status Truncate(std::string_view path, uint64_t size) override;

 private:
  class File;
  struct FileState;
  struct DirOp;
  enum class OpKind { kWrite, kSync };

  absl::Status BeginLocked(OpKind kind, std::string_view what) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<std::unique_ptr<WritableFile>> Open(std::string_view path, bool truncate);
  std::shared_ptr<FileState> StateLocked(const std::string& path) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status SaveOldBytesLocked(FileState& state, const RandomAccessFile& reader, uint64_t offset,
                                  uint64_t n) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<std::string> DurableContentsLocked(const std::string& path) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status RestoreFileLocked(const std::string& path, FileState& state) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status WriteWholeFileLocked(const std::string& path, const std::string& contents)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status UndoDirOpLocked(const DirOp& op) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable Mutex mu_;
  // Files written through this Env, by clean current path.
  std::map<std::string, std::shared_ptr<FileState>> files_ ABSL_GUARDED_BY(mu_);
  std::vector<DirOp> dir_ops_ ABSL_GUARDED_BY(mu_);  // not yet made durable, oldest first
  uint64_t epoch_ ABSL_GUARDED_BY(mu_) = 0;          // bumped by every DropUnsyncedData
  bool drop_dir_entries_ ABSL_GUARDED_BY(mu_) = true;
  bool fail_write_ ABSL_GUARDED_BY(mu_) = false;
  bool fail_sync_ ABSL_GUARDED_BY(mu_) = false;
  int64_t fail_at_ ABSL_GUARDED_BY(mu_) = -1;  // operation_count_ at which failures start
  int64_t operation_count_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace estoria::core

#endif  // ESTORIA_CORE_ENV_FAULT_ENV_H_

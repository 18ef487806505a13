// Env: every file and clock access of the core goes through one (LevelDB's
// idea), so that tests can swap in a MemEnv (files in memory) or a FaultEnv
// (simulated power loss and injected I/O errors). Env::Default() is the
// POSIX one.
//
// Errors: a missing file or directory is kNotFound; a lock held elsewhere is
// kAlreadyExists (naming the holder's PID); misuse of a handle (after Close)
// is kFailedPrecondition; every other I/O failure is kUnavailable. Messages
// name the operation, the path and the system's reason.
//
// Thread safety: an Env may be used from many threads at once. A
// RandomAccessFile may be read from many threads at once. A WritableFile's
// Append, WriteAt, WriteAtV and Sync may be called concurrently (Append
// positions are assigned atomically); Close must not race with other calls.
// The Env that made a handle must outlive it.
#ifndef ESTORIA_CORE_ENV_ENV_H_
#define ESTORIA_CORE_ENV_ENV_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace estoria::core {

// The bytes of a string, for the Span-taking calls below.
inline absl::Span<const uint8_t> AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
inline std::string_view AsChars(absl::Span<const uint8_t> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

// A file open for writing. Writes go straight to the file (no user-space
// buffer): once a write returns OK its bytes are visible to readers of the
// file, and durable once Sync() has returned OK.
class WritableFile {
 public:
  virtual ~WritableFile() = default;  // closes the file if still open; errors are lost

  // Writes at the append position (the file's size when it was opened, 0 for
  // a new file) and advances it.
  virtual absl::Status Append(absl::Span<const uint8_t> data) = 0;
  // Writes at `offset` (pwrite), extending the file if it ends before; a gap
  // reads as zeros. Does not move the append position. For preallocated
  // segments, whose writer tracks its own tip.
  virtual absl::Status WriteAt(uint64_t offset, absl::Span<const uint8_t> data) = 0;
  // Writes `pieces` back to back from `offset` (one pwritev where possible):
  // a group of records in one call.
  virtual absl::Status WriteAtV(uint64_t offset, absl::Span<const absl::Span<const uint8_t>> pieces);
  // Makes every byte written to the file so far durable (fdatasync). The
  // file's directory entry is durable only once Env::SyncDir has run on its
  // directory after it was created or renamed.
  virtual absl::Status Sync() = 0;
  // Closes the file; later calls return kFailedPrecondition, Close again OK.
  virtual absl::Status Close() = 0;
};

// A file open for positioned reads.
class RandomAccessFile {
 public:
  virtual ~RandomAccessFile() = default;

  // Reads up to n bytes at `offset` (pread). The result points into
  // scratch[0, n) or into memory that stays valid as long as this file;
  // it is shorter than n only at the end of the file (empty at or past it).
  virtual absl::StatusOr<absl::Span<const uint8_t>> Read(uint64_t offset, size_t n, uint8_t* scratch) const = 0;
  // The file's current size (it may grow while open).
  virtual absl::StatusOr<uint64_t> Size() const = 0;
};

// A shared memory mapping of a file's bytes [0, size()), unmapped when
// destroyed. Bytes the file gains later within the mapping show through;
// touching bytes past the file's end is SIGBUS, so readers stay within what
// they know was written, and mapped files are never truncated.
class MappedFile {
 public:
  virtual ~MappedFile() = default;
  virtual const uint8_t* data() const = 0;
  virtual size_t size() const = 0;
  // Null for a read-only mapping.
  virtual uint8_t* mutable_data() = 0;
};

// An exclusive lock on a file, held until Env::UnlockFile or destruction.
class FileLock {
 public:
  virtual ~FileLock() = default;
  virtual const std::string& path() const = 0;
};

class Env {
 public:
  Env() = default;
  Env(const Env&) = delete;
  Env& operator=(const Env&) = delete;
  virtual ~Env() = default;

  // The POSIX Env. Lives for the whole process; never delete it.
  static Env* Default();

  // Creates `path`, or truncates it when it exists. The directory must exist.
  virtual absl::StatusOr<std::unique_ptr<WritableFile>> NewWritableFile(std::string_view path) = 0;
  // Opens `path`, creating it empty when missing; appends go to its end.
  virtual absl::StatusOr<std::unique_ptr<WritableFile>> NewAppendableFile(std::string_view path) = 0;
  virtual absl::StatusOr<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(std::string_view path) = 0;

  // Maps `length` bytes of the existing file `path` (length may exceed the
  // file's size: see MappedFile). `writable` maps it for writing too, and
  // then the file must already hold `length` bytes with its blocks
  // allocated (written), so that a store to the mapping never needs space.
  // Envs that keep files elsewhere than the OS's page cache return
  // kUnimplemented; callers fall back to reading with RandomAccessFile.
  virtual absl::StatusOr<std::unique_ptr<MappedFile>> MapFile(std::string_view path, uint64_t length,
                                                              bool writable);

  // Creates one directory; OK when it already exists (as a directory). The
  // parent must exist.
  virtual absl::Status CreateDir(std::string_view path) = 0;
  // Removes an empty directory.
  virtual absl::Status DeleteDir(std::string_view path) = 0;
  // Makes the directory's entries (files created, renamed or deleted in it)
  // durable: fsync of the directory.
  virtual absl::Status SyncDir(std::string_view path) = 0;
  // The names (not paths) of a directory's entries, sorted, without "." and "..".
  virtual absl::StatusOr<std::vector<std::string>> ListDir(std::string_view path) = 0;

  // Atomically replaces `to` (if it exists) with `from`; durable after SyncDir.
  virtual absl::Status Rename(std::string_view from, std::string_view to) = 0;
  virtual absl::Status DeleteFile(std::string_view path) = 0;
  // True when anything (file or directory) exists at `path`.
  virtual bool FileExists(std::string_view path) = 0;
  virtual absl::StatusOr<uint64_t> GetFileSize(std::string_view path) = 0;
  // Cuts the file to `size` bytes, or extends it with zeros.
  virtual absl::Status Truncate(std::string_view path, uint64_t size) = 0;

  // Takes an exclusive lock on `path` (created when missing) without
  // waiting, and writes this process's PID into it. Another process's lock,
  // or another LockFile of the same file in this process, is kAlreadyExists
  // with a message naming the holder's PID.
  virtual absl::StatusOr<std::unique_ptr<FileLock>> LockFile(std::string_view path) = 0;
  // Releases a lock from this Env's LockFile (destroying it does too, but
  // without reporting errors).
  virtual absl::Status UnlockFile(std::unique_ptr<FileLock> lock) = 0;

  // Wall-clock time, nanoseconds since the Unix epoch.
  virtual int64_t NowNanos() = 0;
  // A clock that never goes backwards, microseconds from an arbitrary origin.
  virtual int64_t NowMicrosMonotonic() = 0;
  virtual void SleepForMicros(int64_t micros) = 0;

  // Reads a whole (small) file.
  absl::StatusOr<std::string> ReadFileToString(std::string_view path);
  // Publishes `contents` at `path` atomically and durably: writes
  // `path`.tmp, syncs it, renames it over `path`, syncs the directory.
  // A crash leaves either the old or the new contents.
  absl::Status WriteFileAtomically(std::string_view path, std::string_view contents);
};

// An Env that forwards every call to another; subclasses override what they
// change. *target must outlive the wrapper.
class EnvWrapper : public Env {
 public:
  explicit EnvWrapper(Env* target) : target_(target) {}
  Env* target() const { return target_; }

  absl::StatusOr<std::unique_ptr<WritableFile>> NewWritableFile(std::string_view path) override {
    return target_->NewWritableFile(path);
  }
  absl::StatusOr<std::unique_ptr<WritableFile>> NewAppendableFile(std::string_view path) override {
    return target_->NewAppendableFile(path);
  }
  absl::StatusOr<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(std::string_view path) override {
    return target_->NewRandomAccessFile(path);
  }
  absl::StatusOr<std::unique_ptr<MappedFile>> MapFile(std::string_view path, uint64_t length,
                                                      bool writable) override {
    return target_->MapFile(path, length, writable);
  }
  absl::Status CreateDir(std::string_view path) override { return target_->CreateDir(path); }
  absl::Status DeleteDir(std::string_view path) override { return target_->DeleteDir(path); }
  absl::Status SyncDir(std::string_view path) override { return target_->SyncDir(path); }
  absl::StatusOr<std::vector<std::string>> ListDir(std::string_view path) override {
    return target_->ListDir(path);
  }
  absl::Status Rename(std::string_view from, std::string_view to) override { return target_->Rename(from, to); }
  absl::Status DeleteFile(std::string_view path) override { return target_->DeleteFile(path); }
  bool FileExists(std::string_view path) override { return target_->FileExists(path); }
  absl::StatusOr<uint64_t> GetFileSize(std::string_view path) override { return target_->GetFileSize(path); }
  absl::Status Truncate(std::string_view path, uint64_t size) override { return target_->Truncate(path, size); }
  absl::StatusOr<std::unique_ptr<FileLock>> LockFile(std::string_view path) override {
    return target_->LockFile(path);
  }
  absl::Status UnlockFile(std::unique_ptr<FileLock> lock) override { return target_->UnlockFile(std::move(lock)); }
  int64_t NowNanos() override { return target_->NowNanos(); }
  int64_t NowMicrosMonotonic() override { return target_->NowMicrosMonotonic(); }
  void SleepForMicros(int64_t micros) override { target_->SleepForMicros(micros); }

 private:
  Env* const target_;
};

// The status for a failed system call `op` on `path` with errno `error`:
// kNotFound for ENOENT, kUnavailable otherwise; "op path: reason". MemEnv uses it too, so both
// Envs word their errors alike.
absl::Status IoError(std::string_view op, std::string_view path, int error);

// `path` with repeated slashes, trailing slashes and "." components removed
// ("a//b/./c/" is "a/b/c"; "" is "."). ".." is kept as it is. The in-memory
// Envs key their files by it, so that one file has one name.
std::string CleanPath(std::string_view path);

// The directory part of a path ("." when it has none, "/" for "/x").
std::string DirName(std::string_view path);

}  // namespace estoria::core

#endif  // ESTORIA_CORE_ENV_ENV_H_

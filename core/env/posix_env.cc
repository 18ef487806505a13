// PosixEnv, Env::Default(): files through open/pread/pwrite/fdatasync with
// O_CLOEXEC on every descriptor, EINTR retried and short writes resumed.
// Locks are flock(2) on the lock file plus a process-wide registry keyed by
// (device, inode), so that a second LockFile in this process fails too and
// names this PID (doc/traps.md "Locks").
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <ctime>
#include <limits>
#include <set>
#include <string>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "core/env/env.h"
#include "core/util/fork.h"
#include "core/util/mutex.h"
#include "core/util/no_destructor.h"
#include "core/util/status.h"

namespace estoria::core {
namespace {

// One read or write call moves at most this much: Linux caps a transfer at
// about 2 GiB anyway, and smaller calls keep the loops simple.
constexpr size_t kMaxIo = size_t{1} << 30;

int OpenRetry(const std::string& path, int flags, mode_t mode = 0644) {
  int fd;
  do {
    fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  } while (fd < 0 && errno == EINTR);
  return fd;
}

void CloseFd(int fd) {
  // close(2) must not be retried on EINTR on Linux: the descriptor is gone.
  ::close(fd);
}

// Opens `path` and stats the open file; on failure nothing stays open.
absl::StatusOr<int> OpenAndStat(const std::string& path, int flags, struct stat* st) {
  int fd = OpenRetry(path, flags);
  if (fd < 0) return IoError("open", path, errno);
  if (::fstat(fd, st) != 0) {
    absl::Status status = IoError("fstat", path, errno);
    CloseFd(fd);
    return status;
  }
  return fd;
}

absl::Status PwriteAll(int fd, const std::string& path, uint64_t offset, const uint8_t* p, size_t n) {
  while (n > 0) {
    ssize_t done = ::pwrite(fd, p, std::min(n, kMaxIo), static_cast<off_t>(offset));
    if (done < 0) {
      if (errno == EINTR) continue;
      return IoError("write", path, errno);
    }
    p += done;
    n -= static_cast<size_t>(done);
    offset += static_cast<uint64_t>(done);
  }
  return absl::OkStatus();
}

class PosixWritableFile final : public WritableFile {
 public:
  PosixWritableFile(std::string path, int fd, uint64_t append_offset)
      : path_(std::move(path)), fd_(fd), append_offset_(append_offset) {}
  ~PosixWritableFile() override {
    if (fd_ >= 0) CloseFd(fd_);
  }

  absl::Status Append(absl::Span<const uint8_t> data) override {
    if (fd_ < 0) return Closed();
    // Reserve the range first so that concurrent appends never overlap.
    uint64_t offset = append_offset_.fetch_add(data.size(), std::memory_order_relaxed);
    return PwriteAll(fd_, path_, offset, data.data(), data.size());
  }

  absl::Status WriteAt(uint64_t offset, absl::Span<const uint8_t> data) override {
    if (fd_ < 0) return Closed();
    return PwriteAll(fd_, path_, offset, data.data(), data.size());
  }

  absl::Status WriteAtV(uint64_t offset, absl::Span<const absl::Span<const uint8_t>> pieces) override {
    if (fd_ < 0) return Closed();
    size_t next = 0;   // first piece not wholly written
    size_t skip = 0;   // bytes of pieces[next] already written
    while (next < pieces.size()) {
      iovec iov[64];
      int count = 0;
      for (size_t i = next; i < pieces.size() && count < 64; ++i) {
        size_t from = i == next ? skip : 0;
        if (pieces[i].size() == from) continue;
        iov[count].iov_base = const_cast<uint8_t*>(pieces[i].data() + from);
        iov[count].iov_len = pieces[i].size() - from;
        ++count;
      }
      if (count == 0) break;
      ssize_t done = ::pwritev(fd_, iov, count, static_cast<off_t>(offset));
      if (done < 0) {
        if (errno == EINTR) continue;
        return IoError("write", path_, errno);
      }
      offset += static_cast<uint64_t>(done);
      // Advance (next, skip) past `done` bytes; a short write resumes mid-piece.
      size_t left = static_cast<size_t>(done);
      while (next < pieces.size()) {
        size_t remaining = pieces[next].size() - skip;
        if (left < remaining) {
          skip += left;
          break;
        }
        left -= remaining;
        ++next;
        skip = 0;
      }
    }
    return absl::OkStatus();
  }

  absl::Status Sync() override {
    if (fd_ < 0) return Closed();
    int rc;
    do {
      rc = ::fdatasync(fd_);
    } while (rc != 0 && errno == EINTR);
    if (rc != 0) return IoError("fdatasync", path_, errno);
    return absl::OkStatus();
  }

  absl::Status Close() override {
    if (fd_ < 0) return absl::OkStatus();
    int rc = ::close(fd_);
    fd_ = -1;
    if (rc != 0 && errno != EINTR) return IoError("close", path_, errno);
    return absl::OkStatus();
  }

 private:
  absl::Status Closed() const { return absl::FailedPreconditionError(absl::StrCat(path_, ": file is closed")); }

  const std::string path_;
  int fd_;
  std::atomic<uint64_t> append_offset_;
};

class PosixRandomAccessFile final : public RandomAccessFile {
 public:
  PosixRandomAccessFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  ~PosixRandomAccessFile() override { CloseFd(fd_); }

  absl::StatusOr<absl::Span<const uint8_t>> Read(uint64_t offset, size_t n, uint8_t* scratch) const override {
    size_t got = 0;
    while (got < n) {
      ssize_t done = ::pread(fd_, scratch + got, std::min(n - got, kMaxIo), static_cast<off_t>(offset + got));
      if (done < 0) {
        if (errno == EINTR) continue;
        return IoError("read", path_, errno);
      }
      if (done == 0) break;  // end of file
      got += static_cast<size_t>(done);
    }
    return absl::Span<const uint8_t>(scratch, got);
  }

  absl::StatusOr<uint64_t> Size() const override {
    struct stat st;
    if (::fstat(fd_, &st) != 0) return IoError("fstat", path_, errno);
    return static_cast<uint64_t>(st.st_size);
  }

 private:
  const std::string path_;
  const int fd_;
};

class PosixMappedFile final : public MappedFile {
 public:
  PosixMappedFile(void* base, size_t size, bool writable) : base_(base), size_(size), writable_(writable) {}
  ~PosixMappedFile() override { ::munmap(base_, size_); }

  const uint8_t* data() const override { return static_cast<const uint8_t*>(base_); }
  size_t size() const override { return size_; }
  uint8_t* mutable_data() override { return writable_ ? static_cast<uint8_t*>(base_) : nullptr; }

 private:
  void* const base_;
  const size_t size_;
  const bool writable_;
};

// The (device, inode) pairs locked by this process.
struct LockRegistry {
  Mutex mu;
  std::set<std::pair<dev_t, ino_t>> held ABSL_GUARDED_BY(mu);
};

// Never destroyed (locks may outlive statics) and off the heap (an empty set
// holds no memory), so an unloaded copy of the library leaves nothing behind
// (doc/architecture.md "Plugins").
LockRegistry& Registry() {
  static NoDestructor<LockRegistry> registry;
  return *registry;
}

class PosixFileLock final : public FileLock {
 public:
  PosixFileLock(std::string path, int fd, dev_t dev, ino_t ino)
      : path_(std::move(path)), fd_(fd), key_(dev, ino), fork_generation_(ForkGeneration()) {}
  ~PosixFileLock() override { Release().IgnoreError(); }

  const std::string& path() const override { return path_; }

  absl::Status Release() {
    if (fd_ < 0) return absl::OkStatus();
    absl::Status status;
    LockRegistry& registry = Registry();
    MutexLock lock(&registry.mu);
    // A forked child shares the parent's open file description: unlocking
    // it there would drop the parent's lock. The child only closes its copy.
    if (ForkGeneration() == fork_generation_) {
      registry.held.erase(key_);
      if (::flock(fd_, LOCK_UN) != 0) status = IoError("unlock", path_, errno);
    }
    CloseFd(fd_);
    fd_ = -1;
    return status;
  }

 private:
  const std::string path_;
  int fd_;
  const std::pair<dev_t, ino_t> key_;
  const uint64_t fork_generation_;
};

// "held by process N" from a lock file's contents, or a vaguer phrase when
// the holder has not written its PID yet.
std::string HolderOf(int fd) {
  char buf[32];
  ssize_t n = ::pread(fd, buf, sizeof(buf) - 1, 0);
  int64_t pid = 0;
  if (n > 0 && absl::SimpleAtoi(absl::string_view(buf, static_cast<size_t>(n)), &pid) && pid > 0) {
    return absl::StrCat("held by process ", pid, pid == ::getpid() ? " (this process)" : "");
  }
  return "held by another process";
}

class PosixEnv final : public Env {
 public:
  absl::StatusOr<std::unique_ptr<WritableFile>> NewWritableFile(std::string_view path) override {
    std::string p(path);
    int fd = OpenRetry(p, O_WRONLY | O_CREAT | O_TRUNC);
    if (fd < 0) return IoError("open", p, errno);
    return std::unique_ptr<WritableFile>(new PosixWritableFile(std::move(p), fd, 0));
  }

  absl::StatusOr<std::unique_ptr<WritableFile>> NewAppendableFile(std::string_view path) override {
    std::string p(path);
    struct stat st;
    absl::StatusOr<int> fd = OpenAndStat(p, O_WRONLY | O_CREAT, &st);
    if (!fd.ok()) return fd.status();
    return std::unique_ptr<WritableFile>(new PosixWritableFile(std::move(p), *fd, static_cast<uint64_t>(st.st_size)));
  }

  absl::StatusOr<std::unique_ptr<MappedFile>> MapFile(std::string_view path, uint64_t length,
                                                      bool writable) override {
    const std::string p(path);
    if (length == 0 || length > std::numeric_limits<size_t>::max() / 2) {
      return absl::InvalidArgumentError(absl::StrCat("map ", p, ": bad length ", length));
    }
    const int fd = ::open(p.c_str(), (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC);
    if (fd < 0) return IoError("open", p, errno);
    if (writable) {
      struct stat st;
      if (::fstat(fd, &st) != 0) {
        const int error = errno;
        CloseFd(fd);
        return IoError("fstat", p, error);
      }
      if (static_cast<uint64_t>(st.st_size) < length) {
        CloseFd(fd);
        return absl::FailedPreconditionError(absl::StrCat("map ", p, ": shorter than ", length, " bytes"));
      }
    }
    void* base = ::mmap(nullptr, static_cast<size_t>(length), writable ? PROT_READ | PROT_WRITE : PROT_READ,
                        MAP_SHARED, fd, 0);
    const int error = errno;
    CloseFd(fd);  // the mapping keeps the file
    if (base == MAP_FAILED) return IoError("mmap", p, error);
    return std::make_unique<PosixMappedFile>(base, static_cast<size_t>(length), writable);
  }

  absl::StatusOr<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(std::string_view path) override {
    std::string p(path);
    int fd = OpenRetry(p, O_RDONLY);
    if (fd < 0) return IoError("open", p, errno);
    return std::unique_ptr<RandomAccessFile>(new PosixRandomAccessFile(std::move(p), fd));
  }

  absl::Status CreateDir(std::string_view path) override {
    std::string p(path);
    if (::mkdir(p.c_str(), 0755) == 0) return absl::OkStatus();
    int error = errno;
    struct stat st;
    if (error == EEXIST && ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return absl::OkStatus();
    return IoError("mkdir", p, error);
  }

  absl::Status DeleteDir(std::string_view path) override {
    std::string p(path);
    if (::rmdir(p.c_str()) != 0) return IoError("rmdir", p, errno);
    return absl::OkStatus();
  }

  absl::Status SyncDir(std::string_view path) override {
    std::string p(path);
    int fd = OpenRetry(p, O_RDONLY | O_DIRECTORY);
    if (fd < 0) return IoError("open", p, errno);
    int rc;
    do {
      rc = ::fsync(fd);
    } while (rc != 0 && errno == EINTR);
    absl::Status status = rc == 0 ? absl::OkStatus() : IoError("fsync", p, errno);
    CloseFd(fd);
    return status;
  }

  absl::StatusOr<std::vector<std::string>> ListDir(std::string_view path) override {
    std::string p(path);
    int fd = OpenRetry(p, O_RDONLY | O_DIRECTORY);
    if (fd < 0) return IoError("opendir", p, errno);
    DIR* dir = ::fdopendir(fd);
    if (dir == nullptr) {
      absl::Status status = IoError("opendir", p, errno);
      CloseFd(fd);
      return status;
    }
    std::vector<std::string> names;
    for (;;) {
      errno = 0;
      struct dirent* entry = ::readdir(dir);
      if (entry == nullptr) {
        if (errno != 0) {
          absl::Status status = IoError("readdir", p, errno);
          ::closedir(dir);
          return status;
        }
        break;
      }
      std::string_view name(entry->d_name);
      if (name == "." || name == "..") continue;
      names.emplace_back(name);
    }
    ::closedir(dir);
    std::sort(names.begin(), names.end());
    return names;
  }

  absl::Status Rename(std::string_view from, std::string_view to) override {
    std::string f(from), t(to);
    if (::rename(f.c_str(), t.c_str()) != 0) return IoError("rename", absl::StrCat(f, " to ", t), errno);
    return absl::OkStatus();
  }

  absl::Status DeleteFile(std::string_view path) override {
    std::string p(path);
    if (::unlink(p.c_str()) != 0) return IoError("unlink", p, errno);
    return absl::OkStatus();
  }

  bool FileExists(std::string_view path) override {
    std::string p(path);
    return ::access(p.c_str(), F_OK) == 0;
  }

  absl::StatusOr<uint64_t> GetFileSize(std::string_view path) override {
    std::string p(path);
    struct stat st;
    if (::stat(p.c_str(), &st) != 0) return IoError("stat", p, errno);
    return static_cast<uint64_t>(st.st_size);
  }

  absl::Status Truncate(std::string_view path, uint64_t size) override {
    std::string p(path);
    if (size > static_cast<uint64_t>(std::numeric_limits<off_t>::max())) {
      return absl::InvalidArgumentError(absl::StrCat("truncate ", p, ": size ", size, " is too large"));
    }
    int rc;
    do {
      rc = ::truncate(p.c_str(), static_cast<off_t>(size));
    } while (rc != 0 && errno == EINTR);
    if (rc != 0) return IoError("truncate", p, errno);
    return absl::OkStatus();
  }

  absl::StatusOr<std::unique_ptr<FileLock>> LockFile(std::string_view path) override {
    std::string p(path);
    LockRegistry& registry = Registry();
    MutexLock lock(&registry.mu);
    struct stat st;
    absl::StatusOr<int> opened = OpenAndStat(p, O_RDWR | O_CREAT, &st);
    if (!opened.ok()) return opened.status();
    const int fd = *opened;
    std::pair<dev_t, ino_t> key(st.st_dev, st.st_ino);
    if (registry.held.count(key) > 0) {
      absl::Status status = absl::AlreadyExistsError(absl::StrCat("lock ", p, ": ", HolderOf(fd)));
      CloseFd(fd);
      return status;
    }
    int rc;
    do {
      rc = ::flock(fd, LOCK_EX | LOCK_NB);
    } while (rc != 0 && errno == EINTR);
    if (rc != 0) {
      int error = errno;
      absl::Status status = error == EWOULDBLOCK
                                ? absl::AlreadyExistsError(absl::StrCat("lock ", p, ": ", HolderOf(fd)))
                                : IoError("lock", p, error);
      CloseFd(fd);
      return status;
    }
    // Ours now: record the PID for whoever finds the file locked.
    std::string pid = absl::StrCat(::getpid(), "\n");
    absl::Status status;
    if (::ftruncate(fd, 0) != 0) {
      status = IoError("truncate", p, errno);
    } else {
      status = PwriteAll(fd, p, 0, reinterpret_cast<const uint8_t*>(pid.data()), pid.size());
    }
    if (!status.ok()) {
      ::flock(fd, LOCK_UN);
      CloseFd(fd);
      return status;
    }
    registry.held.insert(key);
    return std::unique_ptr<FileLock>(new PosixFileLock(std::move(p), fd, st.st_dev, st.st_ino));
  }

  absl::Status UnlockFile(std::unique_ptr<FileLock> lock) override {
    if (lock == nullptr) return absl::InvalidArgumentError("UnlockFile: no lock");
    auto* posix = dynamic_cast<PosixFileLock*>(lock.get());
    if (posix == nullptr) return absl::InvalidArgumentError("UnlockFile: the lock is not from this Env");
    return posix->Release();
  }

  int64_t NowNanos() override { return ClockNanos(CLOCK_REALTIME); }
  int64_t NowMicrosMonotonic() override { return ClockNanos(CLOCK_MONOTONIC) / 1000; }

  void SleepForMicros(int64_t micros) override {
    if (micros <= 0) return;
    timespec left{static_cast<time_t>(micros / 1000000), static_cast<long>((micros % 1000000) * 1000)};
    while (::nanosleep(&left, &left) != 0 && errno == EINTR) {
    }
  }

 private:
  static int64_t ClockNanos(clockid_t clock) {
    timespec ts;
    ::clock_gettime(clock, &ts);
    return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
  }
};

}  // namespace

Env* Env::Default() {
  static NoDestructor<PosixEnv> env;  // never destroyed: handles may outlive statics
  return env.get();
}

}  // namespace estoria::core

#include "core/filelog/frontier.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <climits>
#include <ctime>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/util/status.h"

namespace estoria::core::filelog {
namespace {

constexpr uint64_t kFileBytes = 4096;
constexpr uint64_t kMagic = 0x31544e4f52465345;  // "ESFRONT1"

// Words of the file: magic, sequence lock, then the state, then the number
// of readers waiting for the lock word to change (FrontierWatch). Readers of
// older libraries ignore the waiter word; writers of older libraries never
// wake anyone, which FrontierWatch's timeout covers.
enum Word { kMagicWord, kLockWord, kGenerationWord, kSequenceWord, kEndWord, kWaitersWord, kWords };

// The futex is the lock word's low half (little-endian: its first 4 bytes).
// Not FUTEX_PRIVATE: the waiters are in other processes.
uint32_t* FutexWord(const MappedFile& map) {
  return reinterpret_cast<uint32_t*>(const_cast<uint8_t*>(map.data()) + 8 * kLockWord);
}

long Futex(uint32_t* word, int op, uint32_t value, const timespec* timeout) {
  return syscall(SYS_futex, word, op, value, timeout, nullptr, 0);
}

std::atomic_ref<uint64_t> At(const MappedFile& map, Word word) {
  // Mapped memory is page-aligned; the words are 8-aligned within it.
  return std::atomic_ref<uint64_t>(*reinterpret_cast<uint64_t*>(const_cast<uint8_t*>(map.data()) + 8 * word));
}

}  // namespace

absl::StatusOr<std::unique_ptr<Frontier>> Frontier::OpenForWriter(Env* env, const std::string& dir) {
  const std::string path = absl::StrCat(dir, "/", kFrontierName);
  absl::StatusOr<uint64_t> size = env->GetFileSize(path);
  if (!size.ok() || *size < kFileBytes) {
    // Written with zeros and synced before it is mapped for writing.
    ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> file, env->NewWritableFile(path));
    const std::vector<uint8_t> zeros(kFileBytes, 0);
    RETURN_IF_ERROR(file->Append(zeros));
    RETURN_IF_ERROR(file->Sync());
    RETURN_IF_ERROR(file->Close());
    RETURN_IF_ERROR(env->SyncDir(dir));
  }
  ASSIGN_OR_RETURN(std::unique_ptr<MappedFile> map, env->MapFile(path, kFileBytes, /*writable=*/true));
  std::unique_ptr<Frontier> frontier(new Frontier(std::move(map)));
  // A writer that died mid-update left the lock odd: even it out.
  std::atomic_ref<uint64_t> lock = At(*frontier->map_, kLockWord);
  if (lock.load(std::memory_order_relaxed) % 2 != 0) lock.fetch_add(1, std::memory_order_release);
  At(*frontier->map_, kMagicWord).store(kMagic, std::memory_order_release);
  return frontier;
}

absl::StatusOr<std::unique_ptr<Frontier>> Frontier::OpenForReader(Env* env, const std::string& dir) {
  const std::string path = absl::StrCat(dir, "/", kFrontierName);
  ASSIGN_OR_RETURN(uint64_t size, env->GetFileSize(path));
  if (size < kFileBytes) return absl::NotFoundError(absl::StrCat(path, " is not written yet"));
  ASSIGN_OR_RETURN(std::unique_ptr<MappedFile> map, env->MapFile(path, kFileBytes, /*writable=*/false));
  return std::unique_ptr<Frontier>(new Frontier(std::move(map)));
}

void Frontier::Publish(const FrontierState& state) {
  // A sequence lock without fences (TSan does not model them): the odd
  // increment's acquire keeps the stores below it, the even one's release
  // keeps them above it.
  std::atomic_ref<uint64_t> lock = At(*map_, kLockWord);
  lock.fetch_add(1, std::memory_order_acq_rel);
  At(*map_, kGenerationWord).store(state.generation, std::memory_order_relaxed);
  At(*map_, kSequenceWord).store(state.sequence, std::memory_order_relaxed);
  At(*map_, kEndWord).store(state.end, std::memory_order_relaxed);
  // Sequentially consistent with the waiter count's load (and FrontierWatch
  // increments the count before it reads the lock word): either the waiter
  // sees the new lock value or this sees the waiter.
  lock.fetch_add(1, std::memory_order_seq_cst);
  if (At(*map_, kWaitersWord).load(std::memory_order_seq_cst) != 0) {
    Futex(FutexWord(*map_), FUTEX_WAKE, INT_MAX, nullptr);
  }
}

bool Frontier::Read(FrontierState* state) const {
  if (At(*map_, kMagicWord).load(std::memory_order_acquire) != kMagic) return false;
  for (int attempt = 0; attempt < 10000; ++attempt) {
    const uint64_t before = At(*map_, kLockWord).load(std::memory_order_acquire);
    if (before % 2 == 0 && before != 0) {
      // Acquire loads: the lock's second load cannot move above them.
      FrontierState got;
      got.generation = At(*map_, kGenerationWord).load(std::memory_order_acquire);
      got.sequence = At(*map_, kSequenceWord).load(std::memory_order_acquire);
      got.end = At(*map_, kEndWord).load(std::memory_order_acquire);
      if (At(*map_, kLockWord).load(std::memory_order_relaxed) == before) {
        *state = got;
        return true;
      }
    }
    if (before == 0) return false;  // never published
    std::this_thread::yield();
  }
  return false;
}

absl::StatusOr<std::unique_ptr<FrontierWatch>> FrontierWatch::Open(Env* env, const std::string& dir) {
  const std::string path = absl::StrCat(dir, "/", kFrontierName);
  ASSIGN_OR_RETURN(uint64_t size, env->GetFileSize(path));
  if (size < kFileBytes) return absl::NotFoundError(absl::StrCat(path, " is not written yet"));
  // The writer wrote and synced the whole file before mapping it, so a
  // reader's stores into it (the waiter count) never need space.
  absl::StatusOr<std::unique_ptr<MappedFile>> writable = env->MapFile(path, kFileBytes, /*writable=*/true);
  if (writable.ok()) return std::unique_ptr<FrontierWatch>(new FrontierWatch(*std::move(writable), true));
  ASSIGN_OR_RETURN(std::unique_ptr<MappedFile> map, env->MapFile(path, kFileBytes, /*writable=*/false));
  return std::unique_ptr<FrontierWatch>(new FrontierWatch(std::move(map), false));
}

uint64_t FrontierWatch::Sequence() const { return At(*map_, kLockWord).load(std::memory_order_seq_cst); }

void FrontierWatch::Wait(uint64_t seen, int64_t timeout_ms) {
  if (!counted_) {
    // No waiter count: short sleeps on the mapped word (no disk reads).
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (Sequence() == seen && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return;
  }
  std::atomic_ref<uint64_t> waiters = At(*map_, kWaitersWord);
  waiters.fetch_add(1, std::memory_order_seq_cst);
  if (Sequence() == seen) {
    const timespec timeout{static_cast<time_t>(timeout_ms / 1000), static_cast<long>((timeout_ms % 1000) * 1000000)};
    // Sleeps only while the word still holds `seen`'s low half (the kernel
    // compares it atomically with going to sleep: no lost wake-up).
    Futex(FutexWord(*map_), FUTEX_WAIT, static_cast<uint32_t>(seen), &timeout);
  }
  waiters.fetch_sub(1, std::memory_order_seq_cst);
}

void FrontierWatch::WakeAll() {
  if (counted_) Futex(FutexWord(*map_), FUTEX_WAKE, INT_MAX, nullptr);
}

}  // namespace estoria::core::filelog

#include "core/filelog/frontier.h"

#include <atomic>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/util/status.h"

namespace estoria::core::filelog {
namespace {

constexpr uint64_t kFileBytes = 4096;
constexpr uint64_t kMagic = 0x31544e4f52465345;  // "ESFRONT1"

// Words of the file: magic, sequence lock, then the state.
enum Word { kMagicWord, kLockWord, kGenerationWord, kSequenceWord, kEndWord, kWords };

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
  lock.fetch_add(1, std::memory_order_release);
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

}  // namespace estoria::core::filelog

#include "core/store/record_arena.h"

#include <sys/mman.h>

#include <vector>

#include "core/util/host_allocator.h"
#include "core/util/no_destructor.h"

namespace estoria::core {
namespace {

// Mapped chunks freed lately, kept (up to 64 MiB) for the next ones: as
// malloc keeps freed memory for reuse, so that a store whose deletions free
// chunks, or a store closed and another opened, does not pay for the kernel
// to fault and zero fresh pages again (a third of an append's time).
class ChunkCache {
 public:
  static constexpr size_t kMaxChunks = 32;

  uint8_t* Take() {
    MutexLock lock(&mu_);
    if (free_.empty()) return nullptr;
    uint8_t* p = free_.back();
    free_.pop_back();
    return p;
  }
  bool Keep(uint8_t* p) {
    MutexLock lock(&mu_);
    if (free_.size() >= kMaxChunks) return false;
    free_.push_back(p);
    return true;
  }

 private:
  Mutex mu_;
  std::vector<uint8_t*> free_ ABSL_GUARDED_BY(mu_);
};

ChunkCache& Cache() {
  static NoDestructor<ChunkCache> cache;
  return *cache;
}

}  // namespace

RecordArena::Chunk::~Chunk() {
  if (!mapped_) {
    HostDeallocate(bytes_, size_, 8);
  } else if (!Cache().Keep(bytes_)) {
    ::munmap(bytes_, size_);
  }
}

std::shared_ptr<RecordArena::Chunk> RecordArena::NewChunk(size_t size) {
  if (!HostAllocatorHooked() && size == kChunkBytes) {
    if (uint8_t* kept = Cache().Take(); kept != nullptr) return std::make_shared<Chunk>(kept, size, /*mapped=*/true);
    // 2 MiB-aligned, so that the kernel can back it with one huge page:
    // map twice the size and trim the ends.
    void* raw = ::mmap(nullptr, 2 * size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw != MAP_FAILED) {
      auto* p = static_cast<uint8_t*>(raw);
      const uintptr_t address = reinterpret_cast<uintptr_t>(p);
      uint8_t* aligned = p + ((size - address % size) % size);
      if (aligned > p) ::munmap(p, static_cast<size_t>(aligned - p));
      const uint8_t* end = p + 2 * size;
      if (aligned + size < end) ::munmap(aligned + size, static_cast<size_t>(end - (aligned + size)));
      ::madvise(aligned, size, MADV_HUGEPAGE);  // a hint: without it, 4 KiB pages
      return std::make_shared<Chunk>(aligned, size, /*mapped=*/true);
    }
  }
  auto* bytes = static_cast<uint8_t*>(HostAllocate(size, 8));
  if (bytes == nullptr) return nullptr;
  return std::allocate_shared<Chunk>(HostAllocator<Chunk>(), bytes, size, /*mapped=*/false);
}

RecordArena::Allocation RecordArena::Allocate(size_t size) {
  size = (size + 7) & ~size_t{7};
  if (size > kChunkBytes / 4) {
    std::shared_ptr<Chunk> own = NewChunk(size);
    if (own == nullptr) return {};
    own->used_ = size;
    return {own->bytes_, std::move(own)};
  }
  MutexLock lock(&mu_);
  if (current_ == nullptr || current_->size_ - current_->used_ < size) {
    current_ = NewChunk(kChunkBytes);
    if (current_ == nullptr) return {};
  }
  uint8_t* at = current_->bytes_ + current_->used_;
  current_->used_ += size;
  return {at, current_};
}

}  // namespace estoria::core

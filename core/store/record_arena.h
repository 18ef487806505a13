// RecordArena: where the memory store keeps its records. Appends take their
// blocks from large chunks (2 MiB, transparent huge pages where the host has
// not hooked the allocator) rather than from malloc one by one: a store that
// grows touches fresh memory at every append, and a page fault per 4 KiB of
// records was a third of an append's time. A chunk lives while anything
// points into it (the store's entry arrays keep it: one reference per chunk,
// not per event), so deleted events' memory goes back once a chunk holds no
// live one.
//
// Thread safety: Allocate may be called from many threads (a mutex guards
// the current chunk); a chunk's bytes are written by the one thread that
// allocated them and immutable once published.
#ifndef ESTORIA_CORE_STORE_RECORD_ARENA_H_
#define ESTORIA_CORE_STORE_RECORD_ARENA_H_

#include <cstddef>
#include <cstdint>
#include <memory>

#include "core/util/mutex.h"

namespace estoria::core {

class RecordArena {
 public:
  class Chunk {
   public:
    Chunk(uint8_t* bytes, size_t size, bool mapped) : bytes_(bytes), size_(size), mapped_(mapped) {}
    ~Chunk();
    Chunk(const Chunk&) = delete;
    Chunk& operator=(const Chunk&) = delete;
    const uint8_t* begin() const { return bytes_; }
    const uint8_t* end() const { return bytes_ + size_; }
    bool Contains(const uint8_t* p) const { return p >= bytes_ && p < bytes_ + size_; }

   private:
    friend class RecordArena;
    uint8_t* const bytes_;
    const size_t size_;
    const bool mapped_;  // from mmap (else HostAllocate)
    size_t used_ = 0;    // under the arena's mutex
  };

  struct Allocation {
    uint8_t* bytes = nullptr;  // 8-byte aligned; nullptr when out of memory
    std::shared_ptr<Chunk> chunk;
  };

  static constexpr size_t kChunkBytes = size_t{2} << 20;

  // `size` bytes, 8-byte aligned, in the current chunk or a new one (a
  // request above a quarter of a chunk gets a chunk of its own).
  Allocation Allocate(size_t size);

 private:
  static std::shared_ptr<Chunk> NewChunk(size_t size);

  Mutex mu_;
  std::shared_ptr<Chunk> current_ ABSL_GUARDED_BY(mu_);
};

}  // namespace estoria::core

#endif  // ESTORIA_CORE_STORE_RECORD_ARENA_H_

// The host's allocator (est_set_allocator): where the library's own large
// buffers come from. What uses it is listed in capi/include/estoria/estoria.h
// (est_set_allocator): event blocks, batch builders, the stores' index
// arrays, iterator and snapshot buffers. Without hooks, ::operator new and
// ::operator delete.
//
// The hooks are process-wide and set at most once, before the first
// allocation through them: the first HostAllocate (or FreezeHostAllocator)
// fixes the choice for good, so every block is released by the allocator
// that made it.
//
// Thread safety: every function may be called from any thread at any time;
// SetHostAllocator racing a first HostAllocate is decided by one atomic
// (whichever comes first wins).
#ifndef ESTORIA_CORE_UTIL_HOST_ALLOCATOR_H_
#define ESTORIA_CORE_UTIL_HOST_ALLOCATOR_H_

#include <cstddef>
#include <limits>
#include <new>
#include <string>
#include <vector>

namespace flatbuffers {
class Allocator;
}

namespace estoria::core {

struct HostAllocatorHooks {
  void* (*allocate)(void* user, size_t size, size_t alignment) = nullptr;
  void (*deallocate)(void* user, void* ptr, size_t size) = nullptr;
  void* user = nullptr;
};

enum class SetHostAllocatorResult {
  kSet,
  kAlreadySet,  // hooks were set before: nothing changed
  kTooLate,     // the library allocated (or was frozen) first: nothing changed
};

// Installs `hooks` for the rest of the process. REQUIRES: both functions set.
SetHostAllocatorResult SetHostAllocator(const HostAllocatorHooks& hooks);

// Makes every later SetHostAllocator kTooLate (unless hooks are set already).
// The C ABI calls it where its documented rule says the chance has passed.
void FreezeHostAllocator();

// Whether hooks are installed (and so will be for the rest of the process).
bool HostAllocatorHooked();

// `size` bytes aligned to `alignment` (a power of two); nullptr when out of
// memory. A size of 0 asks the host for 1 byte (and releases 1 byte).
void* HostAllocate(size_t size, size_t alignment) noexcept;
// Releases what HostAllocate(size, alignment) returned; nullptr is a no-op.
void HostDeallocate(void* ptr, size_t size, size_t alignment) noexcept;

// A std allocator over HostAllocate: for containers that hold bulk data.
// Stateless, so every instance equals every other.
template <typename T>
struct HostAllocator {
  using value_type = T;

  HostAllocator() noexcept = default;
  template <typename U>
  HostAllocator(const HostAllocator<U>&) noexcept {}  // NOLINT: implicit, as the standard's

  T* allocate(size_t n) {
    if (n > std::numeric_limits<size_t>::max() / sizeof(T)) throw std::bad_alloc();
    void* p = HostAllocate(n * sizeof(T), alignof(T));
    if (p == nullptr) throw std::bad_alloc();
    return static_cast<T*>(p);
  }
  void deallocate(T* p, size_t n) noexcept { HostDeallocate(p, n * sizeof(T), alignof(T)); }

  template <typename U>
  friend bool operator==(const HostAllocator&, const HostAllocator<U>&) noexcept {
    return true;
  }
};

template <typename T>
using HostVector = std::vector<T, HostAllocator<T>>;
using HostString = std::basic_string<char, std::char_traits<char>, HostAllocator<char>>;

// FlatBuffers builders' buffers through HostAllocate (16-byte aligned, as
// the builder's default allocator's `new`). Never destroyed, so a builder
// may use it at any time, also while statics are destroyed at exit.
flatbuffers::Allocator* HostFlatbuffersAllocator();

}  // namespace estoria::core

#endif  // ESTORIA_CORE_UTIL_HOST_ALLOCATOR_H_

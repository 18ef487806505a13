// The host's allocator: one atomic state decides, once, whether the hooks or
// ::operator new serve every later allocation. The common path (hooks set,
// or the choice made without them) is one acquire load.
#include "core/util/host_allocator.h"

#include <atomic>
#include <cstdint>
#include <thread>

#include "core/util/no_destructor.h"
#include "flatbuffers/allocator.h"

namespace estoria::core {
namespace {

enum State : int {
  kOpen = 0,     // nothing decided yet
  kFrozen = 1,   // no hooks, for good
  kSetting = 2,  // SetHostAllocator is writing g_hooks
  kHooked = 3,   // g_hooks, for good
};

std::atomic<int> g_state{kOpen};
HostAllocatorHooks g_hooks;  // written once, before g_state becomes kHooked

constexpr size_t kNewAlignment = __STDCPP_DEFAULT_NEW_ALIGNMENT__;
constexpr size_t kBuilderAlignment = 16;

// The state once decided: freezes an open one; waits out a SetHostAllocator
// in progress (a host that sets its allocator while another thread already
// uses the library breaks the documented rule, but is not harmed by it).
__attribute__((noinline)) int Decide() {
  int state = kOpen;
  if (g_state.compare_exchange_strong(state, kFrozen, std::memory_order_acq_rel, std::memory_order_acquire)) {
    return kFrozen;
  }
  while (state == kSetting) {
    std::this_thread::yield();
    state = g_state.load(std::memory_order_acquire);
  }
  return state;
}

inline int DecidedState() {
  int state = g_state.load(std::memory_order_acquire);
  if (state == kHooked || state == kFrozen) [[likely]] return state;
  return Decide();
}

class HostFlatAllocator final : public flatbuffers::Allocator {
 public:
  uint8_t* allocate(size_t size) override {
    void* p = HostAllocate(size, kBuilderAlignment);
    if (p == nullptr) throw std::bad_alloc();  // as FlatBuffers' DefaultAllocator's new[]
    return static_cast<uint8_t*>(p);
  }
  void deallocate(uint8_t* p, size_t size) override { HostDeallocate(p, size, kBuilderAlignment); }
};

}  // namespace

SetHostAllocatorResult SetHostAllocator(const HostAllocatorHooks& hooks) {
  int state = kOpen;
  if (!g_state.compare_exchange_strong(state, kSetting, std::memory_order_acq_rel, std::memory_order_acquire)) {
    return state == kFrozen ? SetHostAllocatorResult::kTooLate : SetHostAllocatorResult::kAlreadySet;
  }
  g_hooks = hooks;
  g_state.store(kHooked, std::memory_order_release);
  return SetHostAllocatorResult::kSet;
}

void FreezeHostAllocator() {
  if (g_state.load(std::memory_order_relaxed) == kOpen) Decide();
}

bool HostAllocatorHooked() { return g_state.load(std::memory_order_acquire) == kHooked; }

void* HostAllocate(size_t size, size_t alignment) noexcept {
  if (size == 0) size = 1;
  if (DecidedState() == kHooked) return g_hooks.allocate(g_hooks.user, size, alignment);
  if (alignment <= kNewAlignment) return ::operator new(size, std::nothrow);
  return ::operator new(size, std::align_val_t{alignment}, std::nothrow);
}

void HostDeallocate(void* ptr, size_t size, size_t alignment) noexcept {
  if (ptr == nullptr) return;
  if (size == 0) size = 1;
  // Whatever made ptr decided the state, for good.
  if (g_state.load(std::memory_order_acquire) == kHooked) {
    g_hooks.deallocate(g_hooks.user, ptr, size);
  } else if (alignment <= kNewAlignment) {
    ::operator delete(ptr);
  } else {
    ::operator delete(ptr, std::align_val_t{alignment});
  }
}

flatbuffers::Allocator* HostFlatbuffersAllocator() {
  static NoDestructor<HostFlatAllocator> allocator;
  return allocator.get();
}

}  // namespace estoria::core

#include "core/util/fork.h"

#include <pthread.h>

#include <atomic>

namespace estoria::core {
namespace {

std::atomic<uint64_t> generation{0};

void OnForkChild() { generation.fetch_add(1, std::memory_order_relaxed); }

// Registered once when the library is loaded.
const int registered = pthread_atfork(nullptr, nullptr, &OnForkChild);

}  // namespace

uint64_t ForkGeneration() {
  (void)registered;
  return generation.load(std::memory_order_relaxed);
}

}  // namespace estoria::core

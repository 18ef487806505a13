// WakeHub: see wake_hub.h. The registry maps a store to its live hub; an
// entry whose hub has gone is replaced at the next For of that address.
#include "core/subscription/wake_hub.h"

#include <unistd.h>

#include <algorithm>
#include <utility>

#include "core/util/no_destructor.h"

namespace estoria::core {
namespace {

struct Registry {
  Mutex mu;
  std::vector<std::pair<const EventStore*, std::weak_ptr<WakeHub>>> hubs ABSL_GUARDED_BY(mu);
};

// Never destroyed (hubs may outlive main's statics) and off the heap, and
// emptied as hubs go, so an unloaded copy of the library leaves nothing
// behind (doc/architecture.md "Plugins").
Registry& Hubs() {
  static NoDestructor<Registry> registry;
  return *registry;
}

}  // namespace

void SignalEventFd(int fd) {
  const uint64_t one = 1;
  ssize_t written = write(fd, &one, sizeof one);
  (void)written;  // EAGAIN: the counter is full, the fd readable already
}

absl::StatusOr<std::shared_ptr<WakeHub>> WakeHub::For(const std::shared_ptr<EventStore>& store) {
  Registry& registry = Hubs();
  MutexLock lock(&registry.mu);
  auto& hubs = registry.hubs;
  hubs.erase(std::remove_if(hubs.begin(), hubs.end(), [](const auto& e) { return e.second.expired(); }), hubs.end());
  for (auto& [key, weak] : hubs) {
    if (key != store.get()) continue;
    if (std::shared_ptr<WakeHub> hub = weak.lock()) return hub;
  }
  std::shared_ptr<WakeHub> hub(new WakeHub(store));
  WakeHub* raw = hub.get();
  absl::StatusOr<uint64_t> token = store->commit_notifier().Add([raw] { raw->OnCommit(); });
  if (!token.ok()) {
    hub->store_.reset();  // not registered: the destructor has nothing to remove
    return token.status();
  }
  hub->token_ = *token;
  hubs.emplace_back(store.get(), hub);
  return hub;
}

WakeHub::~WakeHub() {
  if (store_ == nullptr) return;  // never registered (For failed under the registry's lock)
  // After Remove, OnCommit never runs again.
  store_->commit_notifier().Remove(token_);
  // This hub's entry has expired now; drop it (and any other expired one),
  // and the vector's memory with the last.
  Registry& registry = Hubs();
  MutexLock lock(&registry.mu);
  auto& hubs = registry.hubs;
  hubs.erase(std::remove_if(hubs.begin(), hubs.end(), [](const auto& e) { return e.second.expired(); }), hubs.end());
  if (hubs.empty()) hubs.shrink_to_fit();
}

void WakeHub::Arm(Waiter* waiter) {
  MutexLock lock(&mu_);
  if (waiter->armed) return;
  waiter->armed = true;
  armed_.push_back(waiter);
}

void WakeHub::Disarm(Waiter* waiter) {
  MutexLock lock(&mu_);
  if (!waiter->armed) return;
  waiter->armed = false;
  armed_.erase(std::find(armed_.begin(), armed_.end(), waiter));
}

void WakeHub::OnCommit() {
  // Under the lock even when nothing is armed: an Arm made before a reader
  // read is then either seen here or ordered after this commit's
  // publication, which that read sees (no lost wake-up, whatever way the
  // backend learnt of the commit).
  MutexLock lock(&mu_);
  for (Waiter* waiter : armed_) {
    waiter->armed = false;
    SignalEventFd(waiter->event_fd);
  }
  armed_.clear();
}

}  // namespace estoria::core

// WakeHub: the one CommitNotifier listener that every subscription of a
// store shares. A subscription arms itself before it reads; the next commit
// signals the armed ones (each once) and disarms them. So the writer pays
// per commit one listener call and one uncontended lock however many
// subscriptions exist, plus one eventfd write per subscription that is
// actually waiting; idle subscriptions (caught up and not polling) cost it
// nothing.
//
// Ownership: subscriptions share their store's hub (For); it holds the store
// and leaves the notifier when the last subscription lets go of it.
// Thread safety: every method from any thread.
#ifndef ESTORIA_CORE_SUBSCRIPTION_WAKE_HUB_H_
#define ESTORIA_CORE_SUBSCRIPTION_WAKE_HUB_H_

#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "core/store/event_store.h"
#include "core/util/mutex.h"

namespace estoria::core {

class WakeHub {
 public:
  // What a hub signals: an eventfd, and whether it is armed (hub's lock).
  struct Waiter {
    int event_fd = -1;
    bool armed = false;
  };

  // The hub of `store`, made (and registered with its notifier) on first
  // use. Fails when the notifier's watch hook cannot start.
  static absl::StatusOr<std::shared_ptr<WakeHub>> For(const std::shared_ptr<EventStore>& store);
  ~WakeHub();
  WakeHub(const WakeHub&) = delete;
  WakeHub& operator=(const WakeHub&) = delete;

  // Signals waiter->event_fd at the next commit (once). REQUIRES: *waiter
  // outlives its arming, or is disarmed first.
  void Arm(Waiter* waiter);
  void Disarm(Waiter* waiter);

 private:
  explicit WakeHub(std::shared_ptr<EventStore> store) : store_(std::move(store)) {}
  void OnCommit();

  std::shared_ptr<EventStore> store_;  // null when never registered
  uint64_t token_ = 0;
  Mutex mu_;
  std::vector<Waiter*> armed_ ABSL_GUARDED_BY(mu_);
};

// Writes 1 to an eventfd (it then polls readable); a full counter is fine.
void SignalEventFd(int fd);

}  // namespace estoria::core

#endif  // ESTORIA_CORE_SUBSCRIPTION_WAKE_HUB_H_

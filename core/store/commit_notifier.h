// CommitNotifier: how a store tells whoever follows it (subscriptions,
// projections) that something new may be readable through ReadAll.
//
// A backend calls Notify() after each commit becomes visible to ReadAll: the
// memory store after an append, the file store's leader after publishing a
// group. Backends whose commits are made elsewhere (a read-only file store
// following a writer process, PostgreSQL with other clients) install watch
// hooks: the watcher starts when the first listener arrives, calls Notify()
// when it learns of a commit, and stops after the last listener leaves.
//
// A notification means "read again", nothing more: listeners re-read from
// their own position, so a spurious or coalesced notification is harmless.
//
// Thread safety: every method may be called from any thread. Listeners run on
// the notifying thread, possibly with the store's locks held: a listener must
// only signal (an eventfd, a condition variable, an atomic flag) and never
// call the store or block.
#ifndef ESTORIA_CORE_STORE_COMMIT_NOTIFIER_H_
#define ESTORIA_CORE_STORE_COMMIT_NOTIFIER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/util/mutex.h"

namespace estoria::core {

class CommitNotifier {
 public:
  using Listener = std::function<void()>;
  // start: begins watching (called with no listener yet registered, before
  // the first one is); stop: ends it (after the last one left). Both run
  // under the notifier's own lock, never under a store lock of the caller's.
  struct WatchHooks {
    std::function<absl::Status()> start;
    std::function<void()> stop;
  };

  CommitNotifier() = default;
  CommitNotifier(const CommitNotifier&) = delete;
  CommitNotifier& operator=(const CommitNotifier&) = delete;

  // Set once by the backend, before any listener is added.
  void SetWatchHooks(WatchHooks hooks) {
    MutexLock lock(&mu_);
    hooks_ = std::move(hooks);
  }

  // Registers `listener` for every later Notify(); returns the token that
  // removes it. Fails only when the watch hook cannot start.
  absl::StatusOr<uint64_t> Add(Listener listener) {
    MutexLock lock(&mu_);
    if (listeners_.empty() && hooks_.start) {
      absl::Status started = hooks_.start();
      if (!started.ok()) return started;
    }
    const uint64_t token = next_token_++;
    listeners_.emplace_back(token, std::move(listener));
    count_.store(listeners_.size(), std::memory_order_release);
    return token;
  }

  // After Remove returns, the listener is not running and never runs again.
  // An unknown token is ignored.
  void Remove(uint64_t token) {
    MutexLock lock(&mu_);
    for (auto it = listeners_.begin(); it != listeners_.end(); ++it) {
      if (it->first == token) {
        listeners_.erase(it);
        break;
      }
    }
    count_.store(listeners_.size(), std::memory_order_release);
    if (listeners_.empty() && hooks_.stop) hooks_.stop();
  }

  // Calls every listener. With none registered it costs one atomic load, so
  // a store nobody follows pays nothing for it.
  void Notify() {
    if (count_.load(std::memory_order_acquire) == 0) return;
    MutexLock lock(&mu_);
    for (auto& [token, listener] : listeners_) listener();
  }

  size_t listener_count() const { return count_.load(std::memory_order_acquire); }

 private:
  Mutex mu_;
  WatchHooks hooks_ ABSL_GUARDED_BY(mu_);
  std::vector<std::pair<uint64_t, Listener>> listeners_ ABSL_GUARDED_BY(mu_);
  uint64_t next_token_ ABSL_GUARDED_BY(mu_) = 1;
  std::atomic<size_t> count_{0};
};

}  // namespace estoria::core

#endif  // ESTORIA_CORE_STORE_COMMIT_NOTIFIER_H_

// Subscription: a live follower of one EventStore. It delivers exactly what
// ReadAll(after_position) returns, in order, then every later commit, by
// reading the log in pages from its own position: a slow subscriber never
// slows a writer and holds no memory that grows with its lag.
//
// Waiting: each Poll arms the subscription in its store's WakeHub (the one
// CommitNotifier listener all subscriptions of a store share) before it
// reads; the next commit writes its eventfd once and disarms it, so idle
// subscriptions cost a writer nothing. The eventfd is also what fd()
// returns: it polls readable when events may be ready.
//
// Ownership: holds a shared reference to the store (so it may outlive the
// caller's handle; reads then fail with ClosedError). Views handed out by
// Poll point into records kept alive by the subscription until the next Poll
// or its destruction.
// Thread safety: one thread at a time, except Wake() (any thread, also while
// Poll waits) and position() (any thread).
#ifndef ESTORIA_CORE_SUBSCRIPTION_SUBSCRIPTION_H_
#define ESTORIA_CORE_SUBSCRIPTION_SUBSCRIPTION_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/store/event_store.h"
#include "core/store/event_view.h"
#include "core/subscription/wake_hub.h"

namespace estoria::core {

// As after_position: start after the last event visible now.
inline constexpr int64_t kPositionEnd = -1;

struct SubscriptionOptions {
  int64_t after_position = 0;  // 0 = from the first event; kPositionEnd = only later commits
  std::string stream_prefix;   // on the stream ID's text "type_uuid"; "" = every stream
  std::vector<std::string> event_types;  // exact names; empty = every type
};

class Subscription {
 public:
  // kInvalidArgument for a position below kPositionEnd or a bad filter;
  // whatever the store says when it cannot be read (ClosedError, ...).
  static absl::StatusOr<std::unique_ptr<Subscription>> Create(std::shared_ptr<EventStore> store,
                                                              SubscriptionOptions options);
  ~Subscription();
  Subscription(const Subscription&) = delete;
  Subscription& operator=(const Subscription&) = delete;

  // Fills up to out.size() (> 0) views of the next matching events and
  // returns how many. Waits up to timeout_us for the first (0 = never wait,
  // < 0 = until events, Wake or the store's close); 0 on timeout or wake.
  // Views are valid until the next Poll or the subscription's destruction.
  // ClosedError once the store is closed.
  absl::StatusOr<size_t> Poll(absl::Span<EventView> out, int64_t timeout_us);

  // Every event at or below it was delivered or filtered out.
  int64_t position() const { return position_.load(std::memory_order_acquire); }
  // Readable when events may be ready (owned by the subscription).
  int fd() const { return event_fd_; }
  // Makes a waiting Poll (or the next one) return 0 at once.
  absl::Status Wake();

 private:
  Subscription(std::shared_ptr<EventStore> store, SubscriptionOptions options, int event_fd);

  void Signal();
  // Drains the eventfd's counter.
  void Drain();
  // Reads matching events from position_ into out; advances position_ past
  // everything it consumed. Sets *more when events may remain unread.
  absl::StatusOr<size_t> ReadMatching(absl::Span<EventView> out, size_t scan_budget, bool* more);
  bool Matches(const EventView& view) const;

  const std::shared_ptr<EventStore> store_;
  const SubscriptionOptions options_;
  const int event_fd_;
  std::shared_ptr<WakeHub> hub_;
  WakeHub::Waiter waiter_;  // armed by Poll before it reads (hub's lock)
  std::atomic<int64_t> position_{0};
  std::atomic<bool> wake_requested_{false};
  // The iterators whose views the last Poll handed out.
  std::vector<std::unique_ptr<EventIterator>> held_;
};

}  // namespace estoria::core

#endif  // ESTORIA_CORE_SUBSCRIPTION_SUBSCRIPTION_H_

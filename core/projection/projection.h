// Projection: the projection engine. It resumes a projection from its
// checkpoint, catches up through the store's global order, then follows new
// commits, handing the handler runs of events (zero-copy views) and saving
// the checkpoint on a cadence. doc/data-model.md "Projections" is its
// contract:
// - at least once (the default): the handler runs before the checkpoint is
//   saved, so a crash redelivers at most what followed the last save; the
//   checkpoint never passes what the handler finished;
// - exactly once: the handler appends through the Transaction the engine
//   gives it, and the engine commits those appends with the checkpoint in
//   one transaction, so a crash neither loses nor repeats an output;
// - a handler error stops the run (the checkpoint stays at the last handler
//   call that succeeded) or, with continue_on_error, its events are handed
//   again one at a time, and those that fail are logged and skipped.
//
// Versions: a projection whose version is a requested rebuild (rebuild.h)
// records "caught up" in the history the first time a run ends at the head;
// a retired version's runs fail with kNotFound.
//
// Following goes through a Subscription (core/subscription/), so catching
// up and following have no gap and no duplicate between them.
//
// Ownership: shares the store (it may outlive the caller's handle; calls
// then fail with ClosedError). The handler must outlive the projection.
// Thread safety: one thread at a time, except Wake() (any thread).
#ifndef ESTORIA_CORE_PROJECTION_PROJECTION_H_
#define ESTORIA_CORE_PROJECTION_PROJECTION_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/projection/projection_id.h"
#include "core/store/event_store.h"
#include "core/store/event_view.h"
#include "core/store/transaction.h"
#include "core/subscription/subscription.h"
#include "core/util/mutex.h"

namespace estoria::core {

// What the engine drives. Handle gets a run of events in position order;
// `txn` is non-null in exactly-once mode (what the handler adds to it
// commits with the checkpoint), else null. A non-OK status is the handler's
// failure (the views are valid during the call only).
class ProjectionHandler {
 public:
  virtual ~ProjectionHandler() = default;
  virtual absl::Status Handle(absl::Span<const EventView> events, Transaction* txn) = 0;
};

inline constexpr uint32_t kDefaultProjectionBatch = 256;
// A larger batch_max is clamped to it (views are held per call).
inline constexpr uint32_t kMaxProjectionBatch = 4096;

struct ProjectionOptions {
  std::string stream_prefix;             // as SubscriptionOptions
  std::vector<std::string> event_types;  // as SubscriptionOptions
  uint32_t batch_max = 0;                // events per handler call; 0 = kDefaultProjectionBatch
  uint32_t checkpoint_every = 0;         // events between checkpoints; 0 = every call
  bool exactly_once = false;
  bool continue_on_error = false;
  // A pending rebuild's version (rebuild.h) cuts over on its own once it
  // has caught up (else a host calls Cutover).
  bool cutover_when_caught_up = false;
};

struct ProjectionReport {
  int64_t position = 0;  // checkpointed
  int64_t head = 0;      // the store's last visible position when the run ended
  int64_t handled = 0;   // events handed to the handler in this run
  bool caught_up = false;
};

class Projection {
 public:
  // kInvalidArgument for a bad ID or filter; whatever the store says when
  // the checkpoint cannot be read (ClosedError, ...). `handler` must
  // outlive the projection; in exactly-once mode `txn` (owned by the
  // caller, outliving the projection) is where the handler's appends
  // gather: the engine hands it to the handler and commits it.
  static absl::StatusOr<std::unique_ptr<Projection>> Create(std::shared_ptr<EventStore> store, ProjectionId id,
                                                            ProjectionHandler* handler, ProjectionOptions options,
                                                            Transaction* txn = nullptr);
  ~Projection();
  Projection(const Projection&) = delete;
  Projection& operator=(const Projection&) = delete;

  // Catches up and follows for at most budget_us (< 0: until Wake or the
  // store's close; 0: everything ready now, never waiting for a commit). Returns with the
  // checkpoint saved up to the last event handled. The handler's failure
  // (without continue_on_error) is returned as it came, with the checkpoint
  // at the last call that succeeded; the next run starts there again.
  absl::Status Run(int64_t budget_us, ProjectionReport* report);
  // Makes a waiting Run (or the next one) return. Any thread.
  absl::Status Wake();

  const ProjectionId& id() const { return id_; }
  // Events skipped after a handler failure (continue_on_error), since Create.
  int64_t skipped() const { return skipped_; }

 private:
  Projection(std::shared_ptr<EventStore> store, ProjectionId id, ProjectionHandler* handler,
             ProjectionOptions options, Transaction* txn);

  // (Re)subscribes after position_ (the checkpoint).
  absl::Status Subscribe();
  // Hands `events` to the handler (one call), then to the cadence. On a
  // failure without continue_on_error returns it; with it, replays one at
  // a time (DeliverOneByOne).
  absl::Status Deliver(absl::Span<const EventView> events, int64_t through);
  absl::Status DeliverOneByOne(absl::Span<const EventView> events, const absl::Status& first_failure);
  // One handler call; in exactly-once mode the transaction's appends are
  // dropped when it fails.
  absl::Status CallHandler(absl::Span<const EventView> events);
  // Exactly once: drops the outputs not yet committed and rewinds to the
  // checkpoint, so that the next run hands their inputs again.
  void DropUncommitted();
  // Saves (or commits, exactly once) the checkpoint at handled_ when due.
  absl::Status MaybeSaveProgress();
  absl::Status SaveProgress();
  // Reads the history (rebuild.h): NotFound when this version was retired
  // (its checkpoint is deleted again, in case a save raced the cutover).
  absl::Status CheckHistory();

  const std::shared_ptr<EventStore> store_;
  const ProjectionId id_;
  const std::string checkpoint_id_;  // id_.ToString()
  ProjectionHandler* const handler_;
  const ProjectionOptions options_;
  Transaction* const txn_;  // exactly once only

  // Replaced only by the running thread, under sub_mu_; Wake reads it
  // under sub_mu_ from any thread, the running thread without it.
  Mutex sub_mu_;
  std::unique_ptr<Subscription> sub_;
  std::vector<EventView> views_;
  int64_t saved_ = 0;      // the checkpoint in the store
  int64_t handled_ = 0;    // every event at or below it was handled (or filtered out, or skipped)
  int64_t since_save_ = 0;  // events handled since the last save
  std::chrono::steady_clock::time_point last_save_{};
  std::chrono::steady_clock::time_point last_history_check_{};
  bool pending_rebuild_ = false;  // this version is a requested rebuild, not yet caught up
  int64_t skipped_ = 0;     // events skipped after a handler failure (continue_on_error)
  std::atomic<bool> wake_requested_{false};
};

}  // namespace estoria::core

#endif  // ESTORIA_CORE_PROJECTION_PROJECTION_H_

// Projection: see projection.h. The run loop polls the projection's
// subscription (catch-up and following are the same loop: a poll returns
// what is ready, or waits for the next commit), hands each poll's views to
// the handler as one call, and checkpoints on the cadence and whenever the
// projection reaches the head (Estoria's processor does the same, so that a
// caught-up projection's checkpoint is durable before anyone acts on it).
#include "core/projection/projection.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/projection/rebuild.h"
#include "core/util/log.h"
#include "core/util/status.h"
#include "schema/estoria_generated.h"

namespace estoria::core {
namespace {

using Clock = std::chrono::steady_clock;

// An idle projection re-saves its unchanged checkpoint at most this often:
// the checkpoint's updated_at then says the projection is alive (Estoria's
// "idle touch"), without a durable write per frame of a pumping host.
constexpr auto kIdleTouch = std::chrono::seconds(1);

std::string Describe(const EventView& view) {
  return absl::StrCat("position ", view.position(), " (", ToAbsl(view.type()), ", version ", view.version(), ")");
}

}  // namespace

absl::StatusOr<std::unique_ptr<Projection>> Projection::Create(std::shared_ptr<EventStore> store, ProjectionId id,
                                                               ProjectionHandler* handler, ProjectionOptions options,
                                                               Transaction* txn) {
  if (store == nullptr) return absl::InvalidArgumentError("the projection has no store");
  if (handler == nullptr) return absl::InvalidArgumentError("the projection has no handler");
  RETURN_IF_ERROR(id.Validate());
  if (options.exactly_once && txn == nullptr) {
    return absl::InternalError("an exactly-once projection needs a transaction");
  }
  if (options.batch_max == 0) options.batch_max = kDefaultProjectionBatch;
  options.batch_max = std::min(options.batch_max, kMaxProjectionBatch);
  std::unique_ptr<Projection> p(
      new Projection(std::move(store), std::move(id), handler, std::move(options), options.exactly_once ? txn : nullptr));
  absl::StatusOr<Checkpoint> checkpoint = p->store_->LoadCheckpoint(p->checkpoint_id_);
  if (checkpoint.ok()) {
    p->saved_ = checkpoint->position;
  } else if (!absl::IsNotFound(checkpoint.status())) {
    return checkpoint.status();
  }
  p->handled_ = p->saved_;
  RETURN_IF_ERROR(p->CheckHistory());
  RETURN_IF_ERROR(p->Subscribe());
  return p;
}

Projection::Projection(std::shared_ptr<EventStore> store, ProjectionId id, ProjectionHandler* handler,
                       ProjectionOptions options, Transaction* txn)
    : store_(std::move(store)),
      id_(std::move(id)),
      checkpoint_id_(id_.ToString()),
      handler_(handler),
      options_(std::move(options)),
      txn_(txn),
      views_(options_.batch_max) {}

Projection::~Projection() = default;

absl::Status Projection::Subscribe() {
  SubscriptionOptions o;
  o.after_position = saved_;
  o.stream_prefix = options_.stream_prefix;
  o.event_types = options_.event_types;
  ASSIGN_OR_RETURN(std::unique_ptr<Subscription> sub, Subscription::Create(store_, std::move(o)));
  MutexLock lock(&sub_mu_);
  sub_ = std::move(sub);
  return absl::OkStatus();
}

absl::Status Projection::Wake() {
  wake_requested_.store(true, std::memory_order_release);
  MutexLock lock(&sub_mu_);
  if (sub_ != nullptr) return sub_->Wake();
  return absl::OkStatus();
}

absl::Status Projection::CallHandler(absl::Span<const EventView> events) {
  const Transaction::Mark before = txn_ != nullptr ? txn_->mark() : Transaction::Mark{};
  absl::Status status = handler_->Handle(events, txn_);
  if (!status.ok() && txn_ != nullptr) txn_->RollBackTo(before);  // the failed call's outputs go
  return status;
}

void Projection::DropUncommitted() {
  // The next run hands the events since the checkpoint again.
  *txn_ = Transaction();
  handled_ = saved_;
  since_save_ = 0;
  MutexLock lock(&sub_mu_);
  sub_.reset();
}

absl::Status Projection::CheckHistory() {
  last_history_check_ = Clock::now();
  ASSIGN_OR_RETURN(ProjectionHistory history, LoadHistory(*store_, id_.name));
  if (history.IsRetired(id_.version)) {
    absl::Status deleted = store_->DeleteCheckpoint(checkpoint_id_);
    if (!deleted.ok() && !absl::IsNotFound(deleted)) return deleted;
    return absl::NotFoundError(absl::StrCat("projection ", checkpoint_id_, " was retired by a cutover (active: ",
                                            id_.name, "_v", history.promoted, ")"));
  }
  pending_rebuild_ = history.requested == id_.version && !history.requested_caught_up;
  return absl::OkStatus();
}

absl::Status Projection::SaveProgress() {
  if (Clock::now() - last_history_check_ >= kIdleTouch) RETURN_IF_ERROR(CheckHistory());
  if (txn_ != nullptr && txn_->size() > 0) {
    // Exactly once: the outputs and the checkpoint, one transaction.
    absl::Status status = txn_->AddCheckpoint(checkpoint_id_, handled_);
    std::vector<AppendResult> results;
    if (status.ok()) status = txn_->Commit(*store_, &results);
    if (!status.ok()) {
      DropUncommitted();  // neither is written
      return Annotate(status, absl::StrCat("projection ", checkpoint_id_, ": committing its outputs: "));
    }
  } else {
    absl::Status status = store_->SaveCheckpoint(checkpoint_id_, handled_);
    if (!status.ok()) return Annotate(status, absl::StrCat("projection ", checkpoint_id_, ": saving its checkpoint: "));
  }
  saved_ = handled_;
  since_save_ = 0;
  last_save_ = Clock::now();
  return absl::OkStatus();
}

absl::Status Projection::MaybeSaveProgress() {
  // Exactly once: outputs wait in the transaction for the checkpoint's
  // cadence, or until they have used half of a transaction's limits (so
  // that the next call's appends fit).
  if (txn_ != nullptr && txn_->HalfFull()) return SaveProgress();
  if (options_.checkpoint_every == 0 || since_save_ >= options_.checkpoint_every) return SaveProgress();
  return absl::OkStatus();
}

absl::Status Projection::Deliver(absl::Span<const EventView> events, int64_t through) {
  absl::Status status = CallHandler(events);
  if (status.ok()) {
    handled_ = through;
    since_save_ += static_cast<int64_t>(events.size());
    return MaybeSaveProgress();
  }
  if (!options_.continue_on_error) {
    // Stop: the checkpoint at the last call that succeeded; these events
    // come again on the next run.
    if (handled_ != saved_) RETURN_IF_ERROR(SaveProgress());
    // Said before the subscription goes: the views point into what it holds.
    absl::Status failed = Annotate(status, absl::StrCat("projection ", checkpoint_id_,
                                                        ": the handler failed on positions ",
                                                        events.front().position(), " to ",
                                                        events.back().position(), ": "));
    {
      // The subscription has passed them: the next run starts over from
      // the checkpoint.
      MutexLock lock(&sub_mu_);
      sub_.reset();
    }
    return failed;
  }
  RETURN_IF_ERROR(DeliverOneByOne(events, status));
  handled_ = through;
  return MaybeSaveProgress();
}

absl::Status Projection::DeliverOneByOne(absl::Span<const EventView> events, const absl::Status& first_failure) {
  for (size_t i = 0; i < events.size(); ++i) {
    // A run of one that failed needs no second try.
    absl::Status status = events.size() == 1 ? first_failure : CallHandler(events.subspan(i, 1));
    if (!status.ok()) {
      store_->host().Log(LogLevel::kError,
                         absl::StrCat("projection ", checkpoint_id_, ": the handler failed on the event at ",
                                      Describe(events[i]), ", skipped: ", status.message()));
      ++skipped_;
    }
    handled_ = events[i].position();
    ++since_save_;
  }
  return absl::OkStatus();
}

absl::Status Projection::Run(int64_t budget_us, ProjectionReport* report) {
  *report = ProjectionReport{};
  const Clock::time_point start = Clock::now();
  const Clock::time_point deadline =
      budget_us >= 0 ? start + std::chrono::microseconds(budget_us) : Clock::time_point::max();
  absl::Status result;
  if (Clock::now() - last_history_check_ >= kIdleTouch) result = CheckHistory();
  if (result.ok() && sub_ == nullptr) result = Subscribe();
  int64_t handed = 0;
  while (result.ok()) {
    if (wake_requested_.exchange(false, std::memory_order_acq_rel)) break;
    int64_t timeout_us = -1;
    if (budget_us >= 0) {
      timeout_us = std::max<int64_t>(
          0, std::chrono::duration_cast<std::chrono::microseconds>(deadline - Clock::now()).count());
    }
    absl::StatusOr<size_t> n = sub_->Poll(absl::MakeSpan(views_), timeout_us);
    if (!n.ok()) {
      result = n.status();
      break;
    }
    if (*n == 0) {
      // At the head (or woken, or out of time): what the subscription
      // passed over was filtered out; the head's checkpoint is saved.
      handled_ = std::max(handled_, sub_->position());
      if (handled_ != saved_ || Clock::now() - last_save_ >= kIdleTouch) result = SaveProgress();
      if (budget_us >= 0 && Clock::now() >= deadline) break;
      continue;
    }
    const int64_t through = sub_->position();
    handed += static_cast<int64_t>(*n);
    result = Deliver(absl::MakeConstSpan(views_.data(), *n), through);
    // Budget 0 handles everything ready; it only never waits.
    if (budget_us > 0 && Clock::now() >= deadline) break;
  }
  if (result.ok() && handled_ != saved_) result = SaveProgress();
  // Outputs not committed by a run that failed go, with their inputs' handling.
  if (!result.ok() && txn_ != nullptr && txn_->size() > 0) DropUncommitted();
  report->position = saved_;
  report->handled = handed;
  absl::StatusOr<int64_t> head = store_->LastVisiblePosition();
  report->head = head.ok() ? *head : 0;
  report->caught_up = head.ok() && saved_ >= *head;
  if (result.ok() && report->caught_up && pending_rebuild_) {
    // The rebuild's version reached the head with its checkpoint durable.
    result = RecordCaughtUp(*store_, id_.name, id_.version, saved_);
    if (result.ok()) pending_rebuild_ = false;
    if (result.ok() && options_.cutover_when_caught_up) result = Cutover(*store_, id_.name, id_.version);
  }
  return result;
}

}  // namespace estoria::core

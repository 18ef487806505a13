// Transaction: see transaction.h.
#include "core/store/transaction.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "core/store/store_checks.h"
#include "core/util/status.h"

namespace estoria::core {

absl::Status Transaction::Add(const Id& stream, WritableBatch batch, const AppendOptions& options) {
  RETURN_IF_ERROR(CheckStreamId(stream));
  RETURN_IF_ERROR(CheckAppendOptions(options));
  if (batch.is_view()) return absl::InternalError("a transaction needs a batch that owns its bytes");
  if (batch.event_count() == 0) return absl::InvalidArgumentError("an append needs at least one event");
  if (appends_.size() >= kMaxTxnAppends) {
    return absl::InvalidArgumentError(absl::StrCat("a transaction holds at most ", kMaxTxnAppends, " appends"));
  }
  if (events_ + batch.event_count() > kMaxTxnEvents) {
    return absl::InvalidArgumentError(absl::StrCat("a transaction holds at most ", kMaxTxnEvents, " events (it has ",
                                                   events_, ", the batch ", batch.event_count(), ")"));
  }
  if (bytes_ + batch.bytes().size() > kMaxTxnBytes) {
    return absl::InvalidArgumentError(absl::StrCat("a transaction holds at most ", kMaxTxnBytes, " bytes of batches"));
  }
  events_ += batch.event_count();
  bytes_ += batch.bytes().size();
  appends_.push_back(Owned{stream, std::move(batch), options});
  return absl::OkStatus();
}

absl::Status Transaction::AddCheckpoint(std::string_view projection_id, int64_t position) {
  RETURN_IF_ERROR(CheckProjectionId(projection_id));
  RETURN_IF_ERROR(CheckCheckpointPosition(position));
  if (checkpoints_.size() >= kMaxTxnCheckpoints) {
    return absl::InvalidArgumentError(
        absl::StrCat("a transaction holds at most ", kMaxTxnCheckpoints, " checkpoint saves"));
  }
  checkpoints_.push_back(OwnedCheckpoint{std::string(projection_id), position});
  return absl::OkStatus();
}

absl::Status Transaction::Commit(EventStore& store, std::vector<AppendResult>* results) {
  std::vector<StreamAppend> appends;
  appends.reserve(appends_.size());
  for (const Owned& a : appends_) appends.push_back(StreamAppend{a.stream, &a.batch, a.options});
  std::vector<CheckpointSave> saves;
  saves.reserve(checkpoints_.size());
  for (const OwnedCheckpoint& c : checkpoints_) saves.push_back(CheckpointSave{c.projection_id, c.position});
  CommitRequest request;
  request.appends = appends;
  request.checkpoints = saves;
  RETURN_IF_ERROR(store.CommitWrites(request, results));
  appends_.clear();
  checkpoints_.clear();
  events_ = 0;
  bytes_ = 0;
  return absl::OkStatus();
}

}  // namespace estoria::core

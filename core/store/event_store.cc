// The EventStore members every backend shares: Append, AppendMany and
// SaveCheckpoint are each one CommitWrites, the backend's one write path.
#include "core/store/event_store.h"

#include "core/util/status.h"

namespace estoria::core {

absl::StatusOr<AppendResult> StreamWriter::Append(const Id& stream, const WritableBatch& batch,
                                                  const AppendOptions& options,
                                                  std::unique_ptr<EventIterator>* written) {
  const StreamAppend append{stream, &batch, options};
  CommitRequest request;
  request.appends = absl::MakeConstSpan(&append, 1);
  request.written = written;
  std::vector<AppendResult> results;
  RETURN_IF_ERROR(CommitWrites(request, &results));
  return results.front();
}

absl::Status StreamWriter::AppendMany(absl::Span<const StreamAppend> appends, std::vector<AppendResult>* results) {
  CommitRequest request;
  request.appends = appends;
  return CommitWrites(request, results);
}

absl::Status EventStore::SaveCheckpoint(std::string_view projection_id, int64_t position) {
  const CheckpointSave save{projection_id, position};
  CommitRequest request;
  request.checkpoints = absl::MakeConstSpan(&save, 1);
  std::vector<AppendResult> results;
  return CommitWrites(request, &results);
}

}  // namespace estoria::core

// MemoryStore: the in-memory EventStore ("memory:"), for tests and
// prototypes, with the full contract of doc/data-model.md.
//
// Events are stored as compact records (compact_record.h), one block per
// append (event_record.h), so reads hand out views of the stored bytes
// without a copy; the arrays keep the blocks alive, one reference per block.
// Each stream, and the global order, keeps an append-only array of entries
// that grows by doubling into a new array; an iterator holds a reference to
// the array it was created on and its range in it, which later appends never
// touch and deletions never modify (they build new arrays). So creating an
// iterator is O(1) for stream reads and O(log n) for global reads, and every
// iterator is a snapshot. A deletion drops its events from the stream's array
// at once and from the global order lazily: the removals gather until the
// next global read or stats call (or until a quarter of the order is
// pending), which filters the order once for all of them (PendingRemovals).
//
// Thread safety: every method may be called from many threads at once (one
// mutex guards the state; records are built outside it). Iterators are
// used from one thread at a time, keep what they read alive on their own, and
// may outlive Close() and the store (they then return ClosedError).
#ifndef ESTORIA_CORE_STORE_MEMORY_STORE_H_
#define ESTORIA_CORE_STORE_MEMORY_STORE_H_

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/id/id.h"
#include "core/store/event_store.h"

namespace estoria::core {

class MemoryStore final : public EventStore {
 public:
  MemoryStore();
  // Honours options.host (clock, randomness, log); the rest has no effect.
  explicit MemoryStore(const StoreOptions& options);
  // Closes the store: iterators still open then return ClosedError.
  ~MemoryStore() override;
  MemoryStore(const MemoryStore&) = delete;
  MemoryStore& operator=(const MemoryStore&) = delete;

  absl::StatusOr<std::unique_ptr<EventIterator>> ReadStream(const Id& stream, const ReadOptions& options) override;
  // One block of records built outside the lock, one append plan
  // (append_plan.h) under it, then the checkpoint saves.
  absl::Status CommitWrites(const CommitRequest& request, std::vector<AppendResult>* results) override;
  absl::StatusOr<std::unique_ptr<EventIterator>> ReadAll(const ReadAllOptions& options) override;
  absl::Status DeleteStream(const Id& stream, int64_t to_version) override;
  absl::Status WriteSnapshot(const Id& aggregate, int64_t version, absl::Span<const uint8_t> data,
                             std::string_view content_type, int64_t timestamp_ns) override;
  absl::StatusOr<std::shared_ptr<const Snapshot>> ReadSnapshot(const Id& aggregate, int64_t max_version) override;
  absl::Status PruneSnapshots(const Id& aggregate, int64_t keep_last, int64_t min_version) override;
  absl::StatusOr<Checkpoint> LoadCheckpoint(std::string_view projection_id) override;
  absl::Status DeleteCheckpoint(std::string_view projection_id) override;
  absl::StatusOr<std::vector<Checkpoint>> ListCheckpoints() override;
  absl::StatusOr<StoreStats> Stats() override;
  absl::StatusOr<std::vector<StreamInfo>> ListStreams(std::string_view after_id, size_t limit) override;
  // Records were verified when stored: counts them.
  absl::Status Verify(const ProgressFn& progress, VerifyReport* report) override;
  // Drops the store's own references to its events and snapshots (iterators
  // keep theirs).
  void Close() override;
  // Nothing to make durable: OK unless closed.
  absl::Status Sync() override;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace estoria::core

#endif  // ESTORIA_CORE_STORE_MEMORY_STORE_H_

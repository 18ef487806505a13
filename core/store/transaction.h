// Transaction: appends to several streams and projection checkpoint saves,
// gathered one by one, then committed all or nothing through
// EventStore::CommitWrites (a checkpoint is saved only if every append's
// expectation holds). Each append's
// batch is owned by the transaction (the caller's may go away at once).
// Limits are checked as appends are added, so an oversized transaction is
// refused before anything reaches the store.
//
// Thread safety: one thread at a time (the C ABI's rule for a transaction).
#ifndef ESTORIA_CORE_STORE_TRANSACTION_H_
#define ESTORIA_CORE_STORE_TRANSACTION_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "core/id/id.h"
#include "core/store/event_store.h"
#include "core/store/writable_batch.h"

namespace estoria::core {

inline constexpr size_t kMaxTxnAppends = 10000;
inline constexpr size_t kMaxTxnEvents = kMaxBatchEvents;
inline constexpr size_t kMaxTxnBytes = kMaxBatchBytes;
inline constexpr size_t kMaxTxnCheckpoints = 1000;

class Transaction {
 public:
  // Adds an append; kInvalidArgument (the transaction unchanged) for a bad
  // stream ID or options, or when it would pass a limit. `batch` must own
  // its bytes (not a view).
  absl::Status Add(const Id& stream, WritableBatch batch, const AppendOptions& options);
  // Adds a checkpoint save, committed with the appends (the last save of an
  // ID wins); kInvalidArgument (the transaction unchanged) for a bad ID or
  // position, or past kMaxTxnCheckpoints.
  absl::Status AddCheckpoint(std::string_view projection_id, int64_t position);
  // Commits through `store`: see EventStore::CommitWrites. On OK the
  // transaction is empty again; otherwise it keeps its appends and saves.
  absl::Status Commit(EventStore& store, std::vector<AppendResult>* results);

  size_t size() const { return appends_.size(); }
  size_t checkpoint_count() const { return checkpoints_.size(); }
  size_t event_count() const { return events_; }
  size_t byte_count() const { return bytes_; }
  // Whether the appends have used half of any limit.
  bool HalfFull() const {
    return appends_.size() >= kMaxTxnAppends / 2 || events_ >= kMaxTxnEvents / 2 || bytes_ >= kMaxTxnBytes / 2;
  }

  // What was added so far, to drop what is added after (RollBackTo).
  struct Mark {
    size_t appends = 0, events = 0, bytes = 0;
  };
  Mark mark() const { return Mark{appends_.size(), events_, bytes_}; }
  void RollBackTo(const Mark& m) {
    if (m.appends < appends_.size()) appends_.erase(appends_.begin() + static_cast<ptrdiff_t>(m.appends), appends_.end());
    events_ = m.events;
    bytes_ = m.bytes;
  }

 private:
  struct Owned {
    Id stream;
    WritableBatch batch;
    AppendOptions options;
  };
  struct OwnedCheckpoint {
    std::string projection_id;
    int64_t position = 0;
  };
  std::vector<Owned> appends_;
  std::vector<OwnedCheckpoint> checkpoints_;
  size_t events_ = 0;
  size_t bytes_ = 0;
};

}  // namespace estoria::core

#endif  // ESTORIA_CORE_STORE_TRANSACTION_H_

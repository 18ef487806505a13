// Transaction: appends to several streams gathered one by one, then
// committed all or nothing through EventStore::AppendMany. Each append's
// batch is owned by the transaction (the caller's may go away at once).
// Limits are checked as appends are added, so an oversized transaction is
// refused before anything reaches the store.
//
// Thread safety: one thread at a time (the C ABI's rule for a transaction).
#ifndef ESTORIA_CORE_STORE_TRANSACTION_H_
#define ESTORIA_CORE_STORE_TRANSACTION_H_

#include <cstddef>
#include <vector>

#include "absl/status/status.h"
#include "core/id/id.h"
#include "core/store/event_store.h"
#include "core/store/writable_batch.h"

namespace estoria::core {

inline constexpr size_t kMaxTxnAppends = 10000;
inline constexpr size_t kMaxTxnEvents = kMaxBatchEvents;
inline constexpr size_t kMaxTxnBytes = kMaxBatchBytes;

class Transaction {
 public:
  // Adds an append; kInvalidArgument (the transaction unchanged) for a bad
  // stream ID or options, or when it would pass a limit. `batch` must own
  // its bytes (not a view).
  absl::Status Add(const Id& stream, WritableBatch batch, const AppendOptions& options);
  // Commits through `store`: see EventStore::AppendMany. On OK the
  // transaction is empty again; otherwise it keeps its appends.
  absl::Status Commit(EventStore& store, std::vector<AppendResult>* results);

  size_t size() const { return appends_.size(); }
  size_t event_count() const { return events_; }

 private:
  struct Owned {
    Id stream;
    WritableBatch batch;
    AppendOptions options;
  };
  std::vector<Owned> appends_;
  size_t events_ = 0;
  size_t bytes_ = 0;
};

}  // namespace estoria::core

#endif  // ESTORIA_CORE_STORE_TRANSACTION_H_

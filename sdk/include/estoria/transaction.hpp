// estoria/transaction.hpp: Transaction (RAII over est_txn, experimental):
// appends to several streams gathered with Append, written all or nothing
// by Commit. Each Append copies its batch (it may change or go right away);
// expectations are checked at Commit, which returns one result per append.
//
// Needs EST_EXPERIMENTAL defined before the first include of estoria.h.
// Thread safety: one thread at a time. Movable, not copyable. A
// Transaction may outlive its Store (calls then fail with EST_ERR_CLOSED).
#ifndef ESTORIA_TRANSACTION_HPP_
#define ESTORIA_TRANSACTION_HPP_

#ifndef EST_EXPERIMENTAL
#error "estoria/transaction.hpp needs EST_EXPERIMENTAL defined before estoria.h is included"
#endif

#include <memory>
#include <vector>

#include "estoria/batch.hpp"
#include "estoria/estoria.h"
#include "estoria/result.hpp"
#include "estoria/store.hpp"
#include "estoria/string_arg.hpp"

namespace estoria {

class Transaction {
 public:
  static Result<Transaction> Begin(const Store& store) {
    est_txn* t = nullptr;
    est_status st = est_txn_new(store.get(), &t);
    if (st != EST_OK) return Error::Last(st);
    return Transaction(t);
  }

  // Adds an append; checks its inputs now, its expectation at Commit.
  Result<void> Append(const StringArg& stream_id, const Batch& batch, const AppendOptions& options = {}) {
    if (!txn_) return Error(EST_ERR_CLOSED, "the Transaction was moved from");
    if (!stream_id.valid()) return Error(EST_ERR_INVALID_ARGUMENT, "an ID holds no NUL");
    if (batch.get() == nullptr) return Error(EST_ERR_INVALID_ARGUMENT, "the batch holds no event");
    const est_append_options o = internal::ToC(options);
    return internal::Check(est_txn_append(txn_.get(), stream_id.c_str(), batch.get(), &o));
  }

  // Adds a projection checkpoint save, committed with the appends (only if
  // every expectation holds; the last save of an ID wins).
  Result<void> Checkpoint(const StringArg& projection_id, int64_t position) {
    if (!txn_) return Error(EST_ERR_CLOSED, "the Transaction was moved from");
    if (!projection_id.valid()) return Error(EST_ERR_INVALID_ARGUMENT, "an ID holds no NUL");
    return internal::Check(est_txn_checkpoint(txn_.get(), projection_id.c_str(), position));
  }

  // Writes every append or none. On a mismatch the Error names the append
  // and its stream, and nothing is written; the appends are kept (retry or
  // drop the Transaction). After a success the Transaction is empty.
  Result<std::vector<AppendResult>> Commit() {
    if (!txn_) return Error(EST_ERR_CLOSED, "the Transaction was moved from");
    std::vector<est_append_result> raw(est_txn_size(txn_.get()));
    for (auto& r : raw) est_append_result_init(&r);
    est_status st = est_txn_commit(txn_.get(), raw.data(), raw.size());
    if (st == EST_ERR_VERSION_MISMATCH) return Error::VersionMismatch(est_last_error(), 0, 0);
    if (st != EST_OK) return Error::Last(st);
    std::vector<AppendResult> out;
    out.reserve(raw.size());
    for (const auto& r : raw) out.push_back(internal::FromC(r));
    return out;
  }

  size_t size() const { return est_txn_size(txn_.get()); }
  est_txn* get() const { return txn_.get(); }

 private:
  explicit Transaction(est_txn* t) : txn_(t) {}
  struct Freer {
    void operator()(est_txn* t) const { est_txn_free(t); }
  };
  std::unique_ptr<est_txn, Freer> txn_;
};

}  // namespace estoria

#endif  // ESTORIA_TRANSACTION_HPP_

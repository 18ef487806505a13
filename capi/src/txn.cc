// est_txn_*: transactions (the header's experimental section), with
// est_txn_checkpoint (projection checkpoints committed with the appends). An est_txn
// shares its store's core and "closed" flag, and owns a core::Transaction
// holding copies of the appended batches; it may outlive the store handle
// (calls then return EST_ERR_CLOSED). One thread at a time per transaction.
#define EST_EXPERIMENTAL 1
#include <memory>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "capi/src/append_convert.h"
#include "capi/src/guard.h"
#include "capi/src/handles.h"
#include "capi/src/txn_handle.h"
#include "core/store/transaction.h"
#include "core/util/fork.h"
#include "estoria/estoria.h"

namespace core = estoria::core;


namespace estoria::capi {
namespace {

est_status CheckTxn(const char* fn, const est_txn* txn) {
  if (txn == nullptr) return FailArg(fn, "txn", "is NULL");
  if (UsedAcrossFork(txn->fork_generation)) return FailFork(fn);
  if (txn->life->closed.load(std::memory_order_acquire)) return Fail(EST_ERR_CLOSED, fn, "the store is closed");
  return EST_OK;
}

}  // namespace
}  // namespace estoria::capi

using estoria::capi::Fail;
using estoria::capi::FailArg;
using estoria::capi::FailStatus;
using estoria::capi::Guarded;

extern "C" {

EST_API est_status est_txn_new(est_store* store, est_txn** out) {
  static constexpr char kFn[] = "est_txn_new";
  return Guarded(kFn, [&]() -> est_status {
    if (out == nullptr) return FailArg(kFn, "out", "is NULL");
    *out = nullptr;
    if (est_status s = estoria::capi::CheckOpenStore(kFn, store); s != EST_OK) return s;
    auto txn = std::make_unique<est_txn>();
    txn->store = store->core;
    txn->life = store->life;
    *out = txn.release();
    return EST_OK;
  });
}

EST_API est_status est_txn_append(est_txn* txn, const char* stream_id, est_batch* batch,
                                  const est_append_options* options) {
  static constexpr char kFn[] = "est_txn_append";
  return Guarded(kFn, [&]() -> est_status {
    if (est_status s = estoria::capi::CheckTxn(kFn, txn); s != EST_OK) return s;
    core::Id id;
    if (est_status s = estoria::capi::ParseId(kFn, "stream_id", stream_id, &id); s != EST_OK) return s;
    core::AppendOptions append_options;
    if (est_status s = estoria::capi::ToAppendOptions(kFn, options, &append_options); s != EST_OK) return s;
    if (est_status s = estoria::capi::CheckBatch(kFn, batch); s != EST_OK) return s;
    // A copy that owns its bytes: the caller may free or reuse the batch.
    absl::StatusOr<core::WritableBatch> copy = batch->builder.Build();
    if (!copy.ok()) return FailStatus(kFn, copy.status(), "batch");
    absl::Status added = txn->txn.Add(id, *std::move(copy), append_options);
    if (!added.ok()) return FailStatus(kFn, added);
    return EST_OK;
  });
}

EST_API est_status est_txn_commit(est_txn* txn, est_append_result* results, size_t results_len) {
  static constexpr char kFn[] = "est_txn_commit";
  return Guarded(kFn, [&]() -> est_status {
    if (est_status s = estoria::capi::CheckTxn(kFn, txn); s != EST_OK) return s;
    if (txn->projection_owned) {
      return FailArg(kFn, "txn", "belongs to a projection: the engine commits it with the checkpoint");
    }
    if (results_len > 0) {
      if (results == nullptr) return FailArg(kFn, "results", "is NULL with a results_len");
      if (results_len < txn->txn.size()) {
        return FailArg(kFn, "results_len",
                       absl::StrCat(results_len, " is less than the transaction's ", txn->txn.size(), " appends"));
      }
      for (size_t i = 0; i < txn->txn.size(); ++i) {
        if (est_status s = estoria::capi::CheckOutput(kFn, "results", &results[i]); s != EST_OK) return s;
      }
    }
    std::vector<core::AppendResult> out;
    const size_t count = txn->txn.size();
    absl::Status status = txn->txn.Commit(*txn->store, &out);
    const bool mismatch = status.code() == absl::StatusCode::kAborted && out.size() == count;
    if ((status.ok() || mismatch) && results_len > 0) {
      for (size_t i = 0; i < out.size(); ++i) estoria::capi::FillAppendResult(out[i], &results[i]);
    }
    if (!status.ok()) return FailStatus(kFn, status);
    return EST_OK;
  });
}

EST_API est_status est_txn_checkpoint(est_txn* txn, const char* projection_id, int64_t position) {
  static constexpr char kFn[] = "est_txn_checkpoint";
  return Guarded(kFn, [&]() -> est_status {
    if (est_status s = estoria::capi::CheckTxn(kFn, txn); s != EST_OK) return s;
    std::string_view id;
    if (est_status s = estoria::capi::ReadProjectionId(kFn, projection_id, &id); s != EST_OK) return s;
    if (position < 0) return FailArg(kFn, "position", absl::StrCat(position, " is negative"));
    absl::Status added = txn->txn.AddCheckpoint(id, position);
    if (!added.ok()) return FailStatus(kFn, added);
    return EST_OK;
  });
}

EST_API size_t est_txn_size(const est_txn* txn) { return txn == nullptr ? 0 : txn->txn.size(); }

EST_API void est_txn_free(est_txn* txn) {
  estoria::capi::GuardedVoid("est_txn_free", [&] {
    // A projection's transaction is freed with the projection.
    if (txn != nullptr && txn->projection_owned) return;
    delete txn;
  });
}

}  // extern "C"

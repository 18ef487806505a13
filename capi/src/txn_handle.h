// est_txn, the transaction handle (txn.cc), shared with projection.cc: an
// exactly-once projection owns one and hands it to its handler, which
// appends through it; the engine commits it with the checkpoint.
//
// Ownership: shares its store's core and "closed" flag; owns a
// core::Transaction holding copies of the appended batches. A projection's
// transaction (projection_owned) is committed and freed only by its
// projection: est_txn_commit refuses it and est_txn_free ignores it.
#ifndef ESTORIA_CAPI_SRC_TXN_HANDLE_H_
#define ESTORIA_CAPI_SRC_TXN_HANDLE_H_

#include <cstdint>
#include <memory>

#include "capi/src/handles.h"
#include "core/store/transaction.h"
#include "core/util/fork.h"

struct est_txn {
  std::shared_ptr<estoria::core::EventStore> store;
  std::shared_ptr<const estoria::capi::StoreLife> life;
  uint64_t fork_generation = estoria::core::ForkGeneration();
  estoria::core::Transaction txn;
  bool projection_owned = false;
};

#endif  // ESTORIA_CAPI_SRC_TXN_HANDLE_H_

// The opaque handles of the C ABI and the input checks they share.
//
// Ownership: est_store holds the core store (shared); est_iter owns its core
// iterator and shares with its store only a "closed" flag, so either may be
// freed first. est_batch owns a core::BatchBuilder; est_snapshot shares an
// immutable core::Snapshot.
// Thread safety: as the header says: a store from many threads, the other
// handles from one thread at a time. Every handle remembers the fork
// generation it was made in and refuses calls from a forked child.
#ifndef ESTORIA_CAPI_SRC_HANDLES_H_
#define ESTORIA_CAPI_SRC_HANDLES_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <utility>
#include <vector>

#include "capi/src/event_fill.h"
#include "core/id/id.h"
#include "core/store/event_store.h"
#include "core/store/event_view.h"
#include "core/store/writable_batch.h"
#include "core/util/fork.h"
#include "core/util/host_allocator.h"
#include "estoria/estoria.h"

namespace estoria::capi {

// Set by est_store_close; read by the store's iterators before they hand
// out views they fetched earlier, so that every call after the close is
// EST_ERR_CLOSED even when the views are already buffered.
struct StoreLife {
  std::atomic<bool> closed{false};
};

// Checks a required store handle (not NULL, not from before a fork).
est_status CheckStore(const char* fn, const est_store* store);
// CheckStore, and the store not closed (EST_ERR_CLOSED): for calls that
// make a handle on it or act on it at once.
est_status CheckOpenStore(const char* fn, const est_store* store);

// Checks a required batch handle (not NULL, not from before a fork).
est_status CheckBatch(const char* fn, const est_batch* batch);

// Parses a required "type_uuid" C string into *id; on failure records
// "fn: field: ..." and returns EST_ERR_INVALID_ARGUMENT.
est_status ParseId(const char* fn, std::string_view field, const char* text, core::Id* id);

// Checks a (pointer, length) byte range: (NULL, 0) is empty, NULL with a
// length is refused, and so is a length above `max_len`.
est_status CheckBytes(const char* fn, std::string_view field, const void* data, size_t len, size_t max_len);

// Reads a C string of at most `max_len` bytes into *out (a view of it);
// NULL is refused unless `null_ok`, when it reads as "".
est_status ReadCString(const char* fn, std::string_view field, const char* s, size_t max_len, bool null_ok,
                       std::string_view* out);

// Reads a required projection ID (Estoria's "name_vN", core::CheckProjectionId).
est_status ReadProjectionId(const char* fn, const char* text, std::string_view* out);

// Longest metadata key or value, or content type, taken from a C string.
inline constexpr size_t kMaxMetadataString = size_t{1} << 20;

// Reads a required metadata key and value (est_batch_add_metadata and the
// aggregate calls that add metadata).
est_status ReadMetadataPair(const char* fn, const char* key, const char* value, std::string_view* key_out,
                            std::string_view* value_out);

// Makes an est_iter over `it` for a store whose close sets `life`.
est_iter* NewIter(std::unique_ptr<core::EventIterator> it, std::shared_ptr<const StoreLife> life);

}  // namespace estoria::capi

struct est_store {
  std::shared_ptr<estoria::core::EventStore> core;
  std::shared_ptr<estoria::capi::StoreLife> life;
  uint64_t fork_generation = estoria::core::ForkGeneration();
};

struct est_iter {
  // Views fetched from the core at a time by est_iter_next.
  static constexpr size_t kChunk = 64;

  std::unique_ptr<estoria::core::EventIterator> core;
  std::shared_ptr<const estoria::capi::StoreLife> life;
  uint64_t fork_generation = estoria::core::ForkGeneration();
  // views[pos, count) are fetched and not yet handed out.
  estoria::core::HostVector<estoria::core::EventView> views;  // the host's allocator, as every buffer below
  size_t pos = 0;
  size_t count = 0;
  bool ended = false;  // the core said end: every later call is EST_END
  // What the views last handed out keep beside the records.
  estoria::capi::EventScratch scratch;
};

struct est_batch {
  estoria::core::BatchBuilder builder;
  uint64_t fork_generation = estoria::core::ForkGeneration();
};

struct est_snapshot {
  std::shared_ptr<const estoria::core::Snapshot> snapshot;
};

#endif  // ESTORIA_CAPI_SRC_HANDLES_H_

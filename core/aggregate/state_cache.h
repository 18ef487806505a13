// StateCache: a bounded LRU of aggregate states, keyed by aggregate ID and
// stored ENCODED (by the type's encode callback), so that the engine never
// aliases a host's state: a hit is decoded into a fresh state.
//
// An entry remembers the version it is at and the ID of the event at that
// version, so that a load can check that the stream still holds that event
// before folding what came after (a stream deleted and written again, or
// truncated past the entry, is never served from the cache).
//
// Thread-safe: one mutex, held only to find, link or unlink entries; entries
// are immutable and shared, so decoding happens outside the lock.
#ifndef ESTORIA_CORE_AGGREGATE_STATE_CACHE_H_
#define ESTORIA_CORE_AGGREGATE_STATE_CACHE_H_

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "core/id/id.h"
#include "core/id/uuid.h"
#include "core/util/mutex.h"

namespace estoria::core {

class StateCache {
 public:
  struct Entry {
    int64_t version = 0;  // > 0
    Uuid last_event_id;   // the ID of the event at `version`
    std::string state;    // encoded
  };

  // REQUIRES: capacity > 0 (aggregates held).
  explicit StateCache(size_t capacity);
  StateCache(const StateCache&) = delete;
  StateCache& operator=(const StateCache&) = delete;

  // The entry for `id` (now the most recently used), or null.
  std::shared_ptr<const Entry> Get(const Id& id);
  // Stores `entry` for `id` unless one at a higher version is there already
  // (a slower concurrent save must not replace a newer state); evicts the
  // least recently used entry beyond capacity.
  void Put(const Id& id, std::shared_ptr<const Entry> entry);
  // Removes the entry for `id` if it is still `expected` (so that a fresh
  // entry put meanwhile by another thread survives).
  void Erase(const Id& id, const Entry* expected);

  size_t size() const;
  size_t capacity() const { return capacity_; }

 private:
  using Lru = std::list<std::pair<Id, std::shared_ptr<const Entry>>>;  // most recent first

  const size_t capacity_;
  mutable Mutex mu_;
  Lru lru_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<Id, Lru::iterator> index_ ABSL_GUARDED_BY(mu_);
};

}  // namespace estoria::core

#endif  // ESTORIA_CORE_AGGREGATE_STATE_CACHE_H_

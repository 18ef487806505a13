// CheckpointTable: a store's projection checkpoints in memory, by ID, and
// the stamps it gives saves. The memory store keeps its checkpoints in one;
// the file store its published ones (recovery replays the log into it).
//
// Stamps are strictly increasing across the table: a save is stamped with
// the clock, or one nanosecond past the last stamp when the clock has not
// moved past it (two saves within a clock tick, or a clock stepped back),
// so that each save's updated_at is later than the one before
// (doc/data-model.md "Checkpoints").
//
// Thread safety: none; the owner's lock guards it.
#ifndef ESTORIA_CORE_STORE_CHECKPOINT_TABLE_H_
#define ESTORIA_CORE_STORE_CHECKPOINT_TABLE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/store/event_store.h"

namespace estoria::core {

class CheckpointTable {
 public:
  // The stamp of a save made now (`now_ns` from the store's clock), which
  // later stamps will exceed.
  int64_t Stamp(int64_t now_ns);
  // Sets a checkpoint as stored (a save stamped by Stamp, or replayed from
  // the log); later stamps exceed its updated_at.
  void Put(std::string_view projection_id, int64_t position, int64_t updated_at_ns);
  // False when there was none.
  bool Erase(std::string_view projection_id);
  // Null when there is none; valid until the next change.
  const Checkpoint* Find(std::string_view projection_id) const;
  // Every checkpoint, ascending ID.
  std::vector<Checkpoint> List() const;
  size_t size() const { return by_id_.size(); }
  void Clear() { by_id_.clear(); }

 private:
  std::map<std::string, Checkpoint, std::less<>> by_id_;
  int64_t last_stamp_ = 0;
};

}  // namespace estoria::core

#endif  // ESTORIA_CORE_STORE_CHECKPOINT_TABLE_H_

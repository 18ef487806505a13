// When the aggregate engine takes snapshots and which ones it keeps: "every N
// events" (a save that crosses a multiple of N), and retention "keep the
// newest N" and "keep versions >= V". A value type: immutable once the
// aggregate store is made, read from any thread.
#ifndef ESTORIA_CORE_AGGREGATE_SNAPSHOT_POLICY_H_
#define ESTORIA_CORE_AGGREGATE_SNAPSHOT_POLICY_H_

#include <cstdint>

#include "absl/status/status.h"

namespace estoria::core {

struct SnapshotPolicy {
  int64_t every = 0;             // 0 = never
  int64_t keep_last = 0;         // 0 = no count limit
  int64_t keep_min_version = 0;  // 0 = no bound

  // kInvalidArgument for negative values.
  absl::Status Validate() const;
  bool enabled() const { return every > 0; }
  // True when a save that moved an aggregate from version `from` to `to`
  // crossed a multiple of `every` (a save of many events takes one snapshot,
  // at `to`).
  bool ShouldSnapshot(int64_t from, int64_t to) const { return every > 0 && to / every > from / every; }
  bool has_retention() const { return keep_last > 0 || keep_min_version > 0; }
};

}  // namespace estoria::core

#endif  // ESTORIA_CORE_AGGREGATE_SNAPSHOT_POLICY_H_

// SnapshotList: one aggregate's snapshots as the stores keep them, ascending
// by version with equal versions in write order (so the newest of a version
// is the last of its run), and the operations the contract defines on it.
// Shared by the memory and the file store so that both answer alike.
//
// Thread safety: none; the owning store guards it.
#ifndef ESTORIA_CORE_STORE_SNAPSHOT_LIST_H_
#define ESTORIA_CORE_STORE_SNAPSHOT_LIST_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "core/store/event_store.h"

namespace estoria::core {

using SnapshotList = std::vector<std::shared_ptr<const Snapshot>>;

// Adds `snapshot` after every snapshot of the same or a lower version.
void InsertSnapshot(SnapshotList& list, std::shared_ptr<const Snapshot> snapshot);
// The newest at or below max_version (0 = any); null when there is none.
std::shared_ptr<const Snapshot> FindSnapshot(const SnapshotList& list, int64_t max_version);
// Removes the snapshots below `version`; returns how many.
size_t DropSnapshotsBelow(SnapshotList& list, int64_t version);
// How many of the oldest a prune removes: those not among the `keep_last`
// newest (0 = no limit) or below `min_version`.
size_t SnapshotsToPrune(const SnapshotList& list, int64_t keep_last, int64_t min_version);
// Removes them; returns how many.
size_t PruneSnapshotList(SnapshotList& list, int64_t keep_last, int64_t min_version);

// The range of a stream read over a stream whose live events sit at indexes
// [0, count) with versions tip - count + 1 .. tip.
struct StreamRange {
  size_t begin = 0, end = 0;
};
StreamRange StreamReadRange(int64_t tip, size_t count, const ReadOptions& options);

// Sorts `streams` by ID text and keeps the first `limit` after `after_id`.
void PageStreams(std::vector<StreamInfo>& streams, std::string_view after_id, size_t limit);

}  // namespace estoria::core

#endif  // ESTORIA_CORE_STORE_SNAPSHOT_LIST_H_

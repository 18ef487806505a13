#include "core/store/snapshot_list.h"

#include <algorithm>
#include <iterator>
#include <string>
#include <utility>

#include "core/store/store_checks.h"

namespace estoria::core {
namespace {

bool VersionBelow(const std::shared_ptr<const Snapshot>& a, int64_t v) { return a->version < v; }
bool VersionAbove(int64_t v, const std::shared_ptr<const Snapshot>& a) { return v < a->version; }

}  // namespace

void InsertSnapshot(SnapshotList& list, std::shared_ptr<const Snapshot> snapshot) {
  auto at = std::upper_bound(list.begin(), list.end(), snapshot->version, VersionAbove);
  list.insert(at, std::move(snapshot));
}

std::shared_ptr<const Snapshot> FindSnapshot(const SnapshotList& list, int64_t max_version) {
  if (list.empty()) return nullptr;
  if (max_version == 0) return list.back();
  auto after = std::upper_bound(list.begin(), list.end(), max_version, VersionAbove);
  return after == list.begin() ? nullptr : *std::prev(after);
}

size_t DropSnapshotsBelow(SnapshotList& list, int64_t version) {
  auto keep = std::lower_bound(list.begin(), list.end(), version, VersionBelow);
  const size_t n = static_cast<size_t>(keep - list.begin());
  list.erase(list.begin(), keep);
  return n;
}

size_t SnapshotsToPrune(const SnapshotList& list, int64_t keep_last, int64_t min_version) {
  size_t drop = static_cast<size_t>(std::lower_bound(list.begin(), list.end(), min_version, VersionBelow) -
                                    list.begin());
  if (keep_last > 0 && list.size() > static_cast<size_t>(keep_last)) {
    drop = std::max(drop, list.size() - static_cast<size_t>(keep_last));
  }
  return drop;
}

size_t PruneSnapshotList(SnapshotList& list, int64_t keep_last, int64_t min_version) {
  const size_t drop = SnapshotsToPrune(list, keep_last, min_version);
  list.erase(list.begin(), list.begin() + static_cast<std::ptrdiff_t>(drop));
  return drop;
}

StreamRange StreamReadRange(int64_t tip, size_t count, const ReadOptions& options) {
  const size_t limit = CountLimit(options.count);
  const int64_t lo = tip - static_cast<int64_t>(count) + 1;  // index 0 holds version lo
  if (options.direction == Direction::kForward) {
    // Versions after `after_version`: from index after_version + 1 - lo.
    const size_t begin = options.after_version < lo
                             ? 0
                             : static_cast<size_t>(std::min<int64_t>(options.after_version - lo + 1,
                                                                     static_cast<int64_t>(count)));
    return {begin, begin + std::min(limit, count - begin)};
  }
  // Reverse: from `after_version` (inclusive; 0 or above the tip = the tip) down.
  const int64_t upper = options.after_version == 0 || options.after_version > tip ? tip : options.after_version;
  if (upper < lo) return {0, 0};
  const size_t end = static_cast<size_t>(upper - lo + 1);
  return {end - std::min(limit, end), end};
}

void PageStreams(std::vector<StreamInfo>& streams, std::string_view after_id, size_t limit) {
  std::vector<std::pair<std::string, size_t>> keyed;
  keyed.reserve(streams.size());
  for (size_t i = 0; i < streams.size(); ++i) {
    std::string text = streams[i].id.ToString();
    if (text > after_id) keyed.emplace_back(std::move(text), i);
  }
  const size_t n = std::min(limit, keyed.size());
  std::partial_sort(keyed.begin(), keyed.begin() + static_cast<std::ptrdiff_t>(n), keyed.end());
  std::vector<StreamInfo> page;
  page.reserve(n);
  for (size_t i = 0; i < n; ++i) page.push_back(std::move(streams[keyed[i].second]));
  streams = std::move(page);
}

}  // namespace estoria::core

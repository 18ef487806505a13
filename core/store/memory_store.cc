// MemoryStore: see memory_store.h for the layout and its reasons.
//
// Invariants (all under State::mu):
//  - a stream's live events sit in entries [0, count) of its array, with
//    consecutive versions ending at its tip (tip - count + 1 .. tip), so a
//    version bound maps to an index by arithmetic;
//  - the global array holds every live event in ascending position, and
//    deleted events whose removal is pending (global_removed) until it is
//    next read;
//  - an array's entries below the count of any iterator's range are never
//    written again: appends write past the count (or into a new, bigger
//    array), deletions build new arrays.
#include "core/store/memory_store.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <limits>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "core/env/env.h"
#include "core/store/append_plan.h"
#include "core/store/as_of.h"
#include "core/store/checkpoint_table.h"
#include "core/store/entry_list.h"
#include "core/store/id_map.h"
#include "core/store/record_arena.h"
#include "core/store/event_record.h"
#include "core/store/snapshot_list.h"
#include "core/store/store_checks.h"
#include "core/util/mutex.h"
#include "core/util/status.h"

namespace estoria::core {
namespace {

// One stored event as the arrays hold it: a compact record in a block that
// the array's owners keep alive.
struct Entry {
  const uint8_t* record = nullptr;
  int64_t position = 0;  // the record's, kept here for the global order's searches
};

using BlockRef = std::shared_ptr<const RecordArena::Chunk>;
using Entries = EntryArray<Entry, BlockRef>;
using EntryListOf = EntryList<Entry, BlockRef>;

EventView ViewOf(const Entry& e) {
  return EventView{e.record, compact::Size(e.record), RecordFormat::kCompact};
}

// Keeps `chunk` alive for as long as `list`'s array (which has just had
// entries in it appended): once per run of appends into one chunk.
void AddOwner(EntryListOf& list, const BlockRef& chunk) {
  std::vector<BlockRef>& owners = list.array->owners();
  if (owners.empty() || owners.back() != chunk) owners.push_back(chunk);
}

// Drops the owners of `list`'s array that none of its entries [0, count)
// points into (after a deletion removed entries).
void PruneOwners(EntryListOf& list) {
  if (list.array == nullptr) return;
  std::vector<BlockRef>& owners = list.array->owners();
  std::sort(owners.begin(), owners.end(), [](const BlockRef& a, const BlockRef& b) { return a->begin() < b->begin(); });
  owners.erase(std::unique(owners.begin(), owners.end()), owners.end());
  std::vector<bool> used(owners.size(), false);
  for (size_t i = 0; i < list.count; ++i) {
    const uint8_t* r = (*list.array)[i].record;
    auto at = std::upper_bound(owners.begin(), owners.end(), r,
                               [](const uint8_t* p, const BlockRef& b) { return p < b->begin(); });
    used[static_cast<size_t>(at - owners.begin()) - 1] = true;  // the chunk that begins at or before r
  }
  size_t n = 0;
  for (size_t i = 0; i < owners.size(); ++i) {
    if (used[i]) owners[n++] = std::move(owners[i]);
  }
  owners.resize(n);
}

struct Stream {
  EntryListOf events;  // the live events, versions tip - count + 1 .. tip
  int64_t tip = 0;   // kept by truncation

  int64_t first_live_version() const { return tip - static_cast<int64_t>(events.count) + 1; }
};

// Iterates entries [begin, end) of an array, forward or backward.
class MemoryIterator final : public EventIterator {
 public:
  MemoryIterator(std::shared_ptr<const Entries> array, size_t begin, size_t end, bool reverse,
                 std::shared_ptr<const std::atomic<bool>> closed)
      : array_(std::move(array)),
        begin_(begin),
        end_(end),
        reverse_(reverse),
        closed_(std::move(closed)) {}

  absl::StatusOr<size_t> Next(absl::Span<EventView> out) override {
    if (closed_->load(std::memory_order_acquire)) return ClosedError();
    if (out.empty()) return absl::InvalidArgumentError("Next needs room for at least one event");
    size_t n = std::min(out.size(), end_ - begin_);
    for (size_t i = 0; i < n; ++i) {
      const Entry& e = reverse_ ? (*array_)[--end_] : (*array_)[begin_++];
      out[i] = ViewOf(e);
    }
    return n;
  }

 private:
  std::shared_ptr<const Entries> array_;  // null when empty
  size_t begin_;
  size_t end_;
  const bool reverse_;
  std::shared_ptr<const std::atomic<bool>> closed_;
};

std::unique_ptr<EventIterator> MakeIterator(const std::shared_ptr<Entries>& array, size_t begin, size_t end,
                                            bool reverse, const std::shared_ptr<std::atomic<bool>>& closed) {
  if (begin >= end) return std::make_unique<MemoryIterator>(nullptr, 0, 0, false, closed);
  return std::make_unique<MemoryIterator>(array, begin, end, reverse, closed);
}


}  // namespace

struct MemoryStore::State {
  // Shared with every iterator; set once by Close.
  const std::shared_ptr<std::atomic<bool>> closed = std::make_shared<std::atomic<bool>>(false);

  RecordArena arena;  // the records' memory (its own lock)
  Mutex mu;
  IdMap<Stream> streams ABSL_GUARDED_BY(mu);
  EntryListOf global ABSL_GUARDED_BY(mu);  // every live event, ascending position
  // Positions of deleted events still in `global` until it is next read.
  PendingRemovals<int64_t> global_removed ABSL_GUARDED_BY(mu);
  int64_t next_position ABSL_GUARDED_BY(mu) = 1;
  // Per aggregate, ascending version; equal versions in write order, so the
  // newest of a version is the last of its run.
  IdMap<SnapshotList> snapshots ABSL_GUARDED_BY(mu);
  CheckpointTable checkpoints ABSL_GUARDED_BY(mu);

  bool is_closed() const { return closed->load(std::memory_order_acquire); }

  // Drops entries [0, k) of `stream` from the stream and the global order.
  void DropOldest(Stream& stream, size_t k) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    if (k == 0) return;
    for (size_t i = 0; i < k; ++i) global_removed.Add((*stream.events.array)[i].position);
    if (global_removed.Due(global.count)) SettleGlobal();
    stream.events.DropFront(k);
    PruneOwners(stream.events);
  }

  // Applies global_removed to global; called before anything reads global.
  void SettleGlobal() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    if (global_removed.empty()) return;
    global_removed.ApplyTo(global, [](const Entry& e) { return e.position; });
    PruneOwners(global);
  }
};

MemoryStore::MemoryStore() : state_(std::make_unique<State>()) {}

MemoryStore::MemoryStore(const StoreOptions& options) : MemoryStore() { SetHost(options.host); }

MemoryStore::~MemoryStore() { Close(); }

void MemoryStore::Close() {
  State& s = *state_;
  s.closed->store(true, std::memory_order_release);
  MutexLock lock(&s.mu);
  s.streams.clear();
  s.global = EntryListOf();
  s.global_removed = PendingRemovals<int64_t>();
  s.snapshots.clear();
  s.checkpoints.Clear();
  commit_notifier().Notify();  // waiting followers read again and see the close
}

absl::Status MemoryStore::Sync() {
  if (state_->is_closed()) return ClosedError();
  return absl::OkStatus();
}

namespace {

// The memory store's streams as the append plan reads them.
class MemoryLookup final : public StreamLookup {
 public:
  explicit MemoryLookup(const IdMap<Stream>& streams) : streams_(streams) {}
  State StateOf(const Id& stream) override {
    auto it = streams_.find(stream);
    if (it == streams_.end()) return State{};
    return State{it->second.tip, it->second.first_live_version()};
  }
  absl::StatusOr<Stored> EventAt(const Id& stream, int64_t version) override {
    const Stream& s = streams_.at(stream);
    const Entry& e = (*s.events.array)[static_cast<size_t>(version - s.first_live_version())];
    return Stored{ViewOf(e).id(), e.position};
  }

 private:
  const IdMap<Stream>& streams_;
};

}  // namespace

absl::Status MemoryStore::CommitWrites(const CommitRequest& request, std::vector<AppendResult>* results) {
  const absl::Span<const StreamAppend> appends = request.appends;
  std::unique_ptr<EventIterator>* const written = request.written;
  if (written != nullptr) written->reset();
  results->clear();
  State& s = *state_;
  if (s.is_closed()) return ClosedError();
  RETURN_IF_ERROR(CheckCommitRequest(request));
  if (appends.empty() && request.checkpoints.empty()) return absl::OkStatus();
  const std::vector<EventBlock::Part> parts = BlockParts(appends);

  // The expensive part, outside the lock: ids, timestamps and records.
  std::shared_ptr<EventBlock> block;
  EventBlock::BuildOptions build;
  build.format = RecordFormat::kCompact;
  build.arena = &s.arena;
  build.now_ns = host().NowNanos();
  build.host = &host();
  if (!appends.empty()) {
    ASSIGN_OR_RETURN(block, EventBlock::Build(parts, build));
  }
  const std::vector<PlanInput> inputs =
      PlanInputsFor(appends, block != nullptr ? block->ids() : absl::Span<const Uuid>());

  MutexLock lock(&s.mu);
  if (s.is_closed()) return ClosedError();
  MemoryLookup lookup(s.streams);
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  RETURN_IF_ERROR(PlanAppends(inputs, lookup, s.next_position, PlanLimits{kMax, kMax}, results));

  size_t first_record = 0;
  std::vector<Entry> entries;  // one append's, reused
  for (size_t i = 0; i < appends.size(); ++i) {
    const AppendResult& planned = (*results)[i];
    const size_t n = inputs[i].ids.size();
    const size_t record = first_record;
    first_record += n;
    auto it = s.streams.find(appends[i].stream);
    if (planned.duplicate) {
      if (written != nullptr) {
        const Stream& target = it->second;
        const auto begin = static_cast<size_t>(planned.first_version - target.first_live_version());
        *written = MakeIterator(target.events.array, begin, begin + n, false, s.closed);
      }
      continue;
    }
    entries.resize(n);
    for (size_t k = 0; k < n; ++k) {
      const int64_t version = planned.first_version + static_cast<int64_t>(k);
      const int64_t position = planned.first_position + static_cast<int64_t>(k);
      block->Patch(record + k, version, position);
      entries[k] = Entry{block->view(record + k).bytes, position};
    }
    s.next_position = planned.last_position + 1;
    if (it == s.streams.end()) it = s.streams.try_emplace(appends[i].stream).first;
    Stream& target = it->second;
    const size_t begin = target.events.count;
    target.events.Append(entries);
    AddOwner(target.events, block->chunk());
    target.tip = planned.last_version;
    s.global.Append(entries);
    AddOwner(s.global, block->chunk());
    if (written != nullptr) {
      *written = MakeIterator(target.events.array, begin, target.events.count, false, s.closed);
    }
  }
  if (!request.checkpoints.empty()) {
    const int64_t now = host().NowNanos();
    for (const CheckpointSave& save : request.checkpoints) {
      s.checkpoints.Put(save.projection_id, save.position, s.checkpoints.Stamp(now));
    }
  }
  if (!appends.empty()) commit_notifier().Notify();  // visible to ReadAll from here
  return absl::OkStatus();
}

absl::StatusOr<Checkpoint> MemoryStore::LoadCheckpoint(std::string_view projection_id) {
  State& s = *state_;
  if (s.is_closed()) return ClosedError();
  RETURN_IF_ERROR(CheckProjectionId(projection_id));
  MutexLock lock(&s.mu);
  if (s.is_closed()) return ClosedError();
  const Checkpoint* found = s.checkpoints.Find(projection_id);
  if (found == nullptr) return CheckpointNotFound(projection_id);
  return *found;
}

absl::Status MemoryStore::DeleteCheckpoint(std::string_view projection_id) {
  State& s = *state_;
  if (s.is_closed()) return ClosedError();
  RETURN_IF_ERROR(CheckProjectionId(projection_id));
  MutexLock lock(&s.mu);
  if (s.is_closed()) return ClosedError();
  if (!s.checkpoints.Erase(projection_id)) return CheckpointNotFound(projection_id);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Checkpoint>> MemoryStore::ListCheckpoints() {
  State& s = *state_;
  MutexLock lock(&s.mu);
  if (s.is_closed()) return ClosedError();
  return s.checkpoints.List();
}

absl::StatusOr<std::unique_ptr<EventIterator>> MemoryStore::ReadStream(const Id& stream,
                                                                       const ReadOptions& options) {
  State& s = *state_;
  if (s.is_closed()) return ClosedError();
  RETURN_IF_ERROR(CheckStreamId(stream));
  RETURN_IF_ERROR(CheckReadOptions(options));

  std::shared_ptr<Entries> array;
  size_t count = 0;
  int64_t tip = 0;
  {
    MutexLock lock(&s.mu);
    if (s.is_closed()) return ClosedError();
    auto it = s.streams.find(stream);
    if (it == s.streams.end()) {
      return StreamNotFound(stream);
    }
    array = it->second.events.array;
    count = it->second.events.count;
    tip = it->second.tip;
  }
  // Entries [0, count) of the array are immutable: the stamps of a read as
  // of a time are looked at without the lock.
  const StreamRange range = StreamReadRangeAsOf(tip, count, options, [&](size_t i) {
    const Entry& e = (*array)[i];
    return StampOf(ViewOf(e));
  });
  return MakeIterator(array, range.begin, range.end, options.direction == Direction::kReverse, s.closed);
}

absl::StatusOr<std::unique_ptr<EventIterator>> MemoryStore::ReadAll(const ReadAllOptions& options) {
  State& s = *state_;
  if (s.is_closed()) return ClosedError();
  RETURN_IF_ERROR(CheckReadAllOptions(options));
  const size_t limit = CountLimit(options.count);

  MutexLock lock(&s.mu);
  if (s.is_closed()) return ClosedError();
  s.SettleGlobal();
  const size_t count = s.global.count;
  if (count == 0) return MakeIterator(nullptr, 0, 0, false, s.closed);
  const Entry* first = s.global.array->data();
  const Entry* found = std::upper_bound(first, first + count, options.after_position,
                                        [](int64_t position, const Entry& e) { return position < e.position; });
  const size_t begin = static_cast<size_t>(found - first);
  const size_t end = begin + std::min(limit, count - begin);
  return EndBeforeStampedAfter(MakeIterator(s.global.array, begin, end, false, s.closed), options.until_timestamp_ns);
}

absl::Status MemoryStore::DeleteStream(const Id& stream, int64_t to_version) {
  State& s = *state_;
  if (s.is_closed()) return ClosedError();
  RETURN_IF_ERROR(CheckStreamId(stream));
  RETURN_IF_ERROR(CheckDeleteVersion(to_version));

  MutexLock lock(&s.mu);
  if (s.is_closed()) return ClosedError();
  auto it = s.streams.find(stream);
  if (it == s.streams.end()) {
    return StreamNotFound(stream);
  }
  Stream& target = it->second;
  if (to_version == 0) {
    // The whole stream: it then behaves as never written, snapshots included.
    s.DropOldest(target, target.events.count);
    s.streams.erase(it);
    s.snapshots.erase(stream);
    return absl::OkStatus();
  }
  // Truncation: snapshots below to_version go whatever the events do.
  if (auto snap = s.snapshots.find(stream); snap != s.snapshots.end()) {
    DropSnapshotsBelow(snap->second, to_version);
    if (snap->second.empty()) s.snapshots.erase(snap);
  }
  const int64_t lo = target.first_live_version();
  if (to_version < lo) return absl::OkStatus();  // already gone
  const size_t k = static_cast<size_t>(std::min<int64_t>(to_version - lo + 1, target.events.count));
  s.DropOldest(target, k);  // the tip stays
  return absl::OkStatus();
}

absl::Status MemoryStore::WriteSnapshot(const Id& aggregate, int64_t version, absl::Span<const uint8_t> data,
                                        std::string_view content_type, int64_t timestamp_ns) {
  State& s = *state_;
  if (s.is_closed()) return ClosedError();
  RETURN_IF_ERROR(CheckStreamId(aggregate, "aggregate type"));
  RETURN_IF_ERROR(CheckSnapshotWrite(version, timestamp_ns, content_type));

  auto snapshot = std::make_shared<Snapshot>();
  snapshot->aggregate_id = aggregate;
  snapshot->version = version;
  snapshot->timestamp_ns = timestamp_ns == 0 ? host().NowNanos() : timestamp_ns;
  snapshot->data.assign(reinterpret_cast<const char*>(data.data()), data.size());
  snapshot->content_type.assign(content_type);

  MutexLock lock(&s.mu);
  if (s.is_closed()) return ClosedError();
  InsertSnapshot(s.snapshots[aggregate], std::move(snapshot));
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<const Snapshot>> MemoryStore::ReadSnapshot(const Id& aggregate,
                                                                          int64_t max_version) {
  State& s = *state_;
  if (s.is_closed()) return ClosedError();
  RETURN_IF_ERROR(CheckStreamId(aggregate, "aggregate type"));
  RETURN_IF_ERROR(CheckSnapshotMaxVersion(max_version));

  MutexLock lock(&s.mu);
  if (s.is_closed()) return ClosedError();
  auto it = s.snapshots.find(aggregate);
  if (it != s.snapshots.end()) {
    if (auto found = FindSnapshot(it->second, max_version); found != nullptr) return found;
  }
  return SnapshotNotFound(aggregate, max_version);
}

absl::Status MemoryStore::PruneSnapshots(const Id& aggregate, int64_t keep_last, int64_t min_version) {
  State& s = *state_;
  if (s.is_closed()) return ClosedError();
  RETURN_IF_ERROR(CheckStreamId(aggregate, "aggregate type"));
  RETURN_IF_ERROR(CheckPruneBounds(keep_last, min_version));
  MutexLock lock(&s.mu);
  if (s.is_closed()) return ClosedError();
  auto it = s.snapshots.find(aggregate);
  if (it == s.snapshots.end()) return absl::OkStatus();
  PruneSnapshotList(it->second, keep_last, min_version);
  if (it->second.empty()) s.snapshots.erase(it);
  return absl::OkStatus();
}

absl::StatusOr<StoreStats> MemoryStore::Stats() {
  State& s = *state_;
  MutexLock lock(&s.mu);
  if (s.is_closed()) return ClosedError();
  s.SettleGlobal();
  StoreStats stats;
  stats.events = static_cast<int64_t>(s.global.count);
  stats.streams = static_cast<int64_t>(s.streams.size());
  stats.first_position = s.global.count == 0 ? 0 : (*s.global.array)[0].position;
  stats.last_position = s.next_position - 1;
  for (const auto& [id, list] : s.snapshots) stats.snapshots += static_cast<int64_t>(list.size());
  return stats;
}

absl::StatusOr<std::vector<StreamInfo>> MemoryStore::ListStreams(std::string_view after_id, size_t limit) {
  if (limit == 0) return absl::InvalidArgumentError("limit must be > 0");
  State& s = *state_;
  std::vector<StreamInfo> streams;
  {
    MutexLock lock(&s.mu);
    if (s.is_closed()) return ClosedError();
    streams.reserve(s.streams.size());
    for (const auto& [id, stream] : s.streams) {
      streams.push_back(StreamInfo{id, stream.tip, static_cast<int64_t>(stream.events.count)});
    }
  }
  PageStreams(streams, after_id, limit);
  return streams;
}

absl::Status MemoryStore::Verify(const ProgressFn& progress, VerifyReport* report) {
  State& s = *state_;
  uint64_t total = 0;
  {
    MutexLock lock(&s.mu);
    if (s.is_closed()) return ClosedError();
    s.SettleGlobal();
    total = s.global.count;
  }
  if (progress) progress(total, total);  // outside the lock: it is the caller's code
  if (report != nullptr) {
    *report = VerifyReport{};
    report->events = static_cast<int64_t>(total);
  }
  return absl::OkStatus();
}

}  // namespace estoria::core

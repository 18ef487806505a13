// The event store interfaces of the core, in Estoria's shape: a stream
// reader and writer, a global reader, a stream deleter, a snapshot store and
// a projection checkpoint store, gathered in EventStore, which every backend
// implements. doc/data-model.md
// is their contract; tests/acceptance checks it through the C ABI.
//
// Thread safety: an EventStore may be used from many threads at once; an
// EventIterator from one thread at a time. Iterators keep what they read
// alive on their own, so they may outlive Close() and the store object
// (they then return ClosedError).
#ifndef ESTORIA_CORE_STORE_EVENT_STORE_H_
#define ESTORIA_CORE_STORE_EVENT_STORE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/id/id.h"
#include "core/store/cancellation.h"
#include "core/store/commit_notifier.h"
#include "core/store/event_view.h"
#include "core/store/store_host.h"
#include "core/store/writable_batch.h"
#include "core/util/host_allocator.h"

namespace estoria::core {

// kStreamExists: the stream has been written and not wholly deleted (a
// stream truncated empty exists).
enum class Expect { kAny = 0, kVersion = 1, kNoStream = 2, kStreamExists = 3 };

struct AppendOptions {
  Expect expect = Expect::kAny;
  int64_t expected_version = 0;  // with kVersion; 0 = the stream must be empty
  // Import: keep each event's id and timestamp_ns (when set), and start a
  // stream that does not exist at first_version (0 = 1).
  bool restore = false;
  int64_t first_version = 0;
};

struct AppendResult {
  int64_t first_version = 0;
  int64_t last_version = 0;
  int64_t first_position = 0;  // 0 where the backend has no global order
  int64_t last_position = 0;
  int64_t actual_version = 0;  // the stream's version after the call
  // The batch's events (every one with a caller-set ID) were already in the
  // stream at the expected place: nothing was written, and the versions and
  // positions above are the original append's (append_plan.h).
  bool duplicate = false;
};

// One append of a transaction (EventStore::AppendMany). `batch` is borrowed
// for the call.
struct StreamAppend {
  Id stream;
  const WritableBatch* batch = nullptr;
  AppendOptions options;
};

enum class Direction { kForward = 0, kReverse = 1 };

struct ReadOptions {
  Direction direction = Direction::kForward;
  int64_t after_version = 0;  // forward: exclusive lower bound; reverse: inclusive upper bound, 0 = tip
  int64_t count = 0;          // 0 = all
  // The stream as of this time (unix ns; 0 = no bound): its live events up
  // to, not including, the first one stamped later (core/store/as_of.h).
  int64_t until_timestamp_ns = 0;
};

struct ReadAllOptions {
  int64_t after_position = 0;  // exclusive
  int64_t count = 0;           // 0 = all
  // 0 = no bound; else the read ends before the first event after
  // after_position stamped later than this (core/store/as_of.h).
  int64_t until_timestamp_ns = 0;
};

// A finite sequence of events fixed when the iterator was created.
class EventIterator {
 public:
  virtual ~EventIterator() = default;
  // Fills up to out.size() views and returns how many; 0 means the end (and
  // stays so). Views are valid until the next call or the iterator's
  // destruction. ClosedError once the store is closed.
  virtual absl::StatusOr<size_t> Next(absl::Span<EventView> out) = 0;
};

class StreamReader {
 public:
  virtual ~StreamReader() = default;
  // kNotFound for a stream never written or wholly deleted; an existing
  // stream with nothing past the bound gives an empty iterator.
  virtual absl::StatusOr<std::unique_ptr<EventIterator>> ReadStream(const Id& stream,
                                                                    const ReadOptions& options) = 0;
};

// A projection checkpoint save inside a commit (Transaction::AddCheckpoint).
// The ID is borrowed for the call.
struct CheckpointSave {
  std::string_view projection_id;
  int64_t position = 0;
};

// What one commit writes, all or nothing: appends, then checkpoint saves.
// `written` (may be null; only with exactly one append) receives that
// append's events as a read returns them.
struct CommitRequest {
  absl::Span<const StreamAppend> appends;
  absl::Span<const CheckpointSave> checkpoints;
  std::unique_ptr<EventIterator>* written = nullptr;
};

class StreamWriter {
 public:
  virtual ~StreamWriter() = default;
  // Appends the whole batch atomically or nothing. On a failed expectation
  // returns VersionMismatchError(expected, actual) and changes nothing.
  // `written` (may be null) receives the written events as a read returns them.
  absl::StatusOr<AppendResult> Append(const Id& stream, const WritableBatch& batch, const AppendOptions& options,
                                      std::unique_ptr<EventIterator>* written);
  // A transaction: every append of `appends`, in order, all or nothing, as
  // if one after the other with no other commit between them (an append
  // sees the earlier ones of the same stream; positions are contiguous).
  // Every expectation is checked and every duplicate found (append_plan.h)
  // before anything is written. On OK `results` holds one result per
  // append. On a failed expectation returns VersionMismatchError naming
  // the append's index and stream, fills each result's actual_version (the
  // stream's version; nothing else) and writes nothing. An empty `appends`
  // is OK with no results.
  absl::Status AppendMany(absl::Span<const StreamAppend> appends, std::vector<AppendResult>* results);
  // The one write path of Append, AppendMany and checkpoint saves: the
  // appends as AppendMany says, and with them (only if they all hold) the
  // checkpoint saves, in order (the last save of an ID wins), each stamped
  // with the store's clock at the commit (CheckpointStore). Every ID and
  // position is checked before anything is written. A request with neither
  // is OK and writes nothing.
  virtual absl::Status CommitWrites(const CommitRequest& request, std::vector<AppendResult>* results) = 0;
};

class GlobalReader {
 public:
  virtual ~GlobalReader() = default;
  // Ascending global position; the frontier is fixed when this returns and
  // nothing ever appears at or below a position once it has been visible.
  virtual absl::StatusOr<std::unique_ptr<EventIterator>> ReadAll(const ReadAllOptions& options) = 0;
};

class StreamDeleter {
 public:
  virtual ~StreamDeleter() = default;
  // to_version 0: the whole stream and its snapshots; N > 0: events <= N
  // and snapshots below N, the tip kept. kNotFound for a stream never written.
  virtual absl::Status DeleteStream(const Id& stream, int64_t to_version) = 0;
};

struct Snapshot {
  Id aggregate_id;
  int64_t version = 0;
  int64_t timestamp_ns = 0;
  HostString data;  // from the host's allocator: stores keep snapshots in memory
  std::string content_type;
};

class SnapshotStore {
 public:
  virtual ~SnapshotStore() = default;
  // version > 0; timestamp_ns 0 = now. The stream need not exist.
  virtual absl::Status WriteSnapshot(const Id& aggregate, int64_t version, absl::Span<const uint8_t> data,
                                     std::string_view content_type, int64_t timestamp_ns) = 0;
  // Highest version at or below max_version (0 = any), then latest written.
  // kNotFound when there is none.
  virtual absl::StatusOr<std::shared_ptr<const Snapshot>> ReadSnapshot(const Id& aggregate,
                                                                       int64_t max_version) = 0;
  // Removes the aggregate's snapshots that are not among the `keep_last`
  // newest (0 = no count limit) or are below `min_version` (0 = no bound).
  // OK when nothing matched. Durable like an append.
  virtual absl::Status PruneSnapshots(const Id& aggregate, int64_t keep_last, int64_t min_version) = 0;
};

// A projection's progress (Estoria's checkpointstore.Checkpoint): the
// global position it has handled through, and when it was last saved.
struct Checkpoint {
  std::string projection_id;  // "name_vN" (CheckProjectionId)
  int64_t position = 0;
  int64_t updated_at_ns = 0;  // unix ns, the store's clock at the save
};

// Projection checkpoints, kept in the store itself (doc/data-model.md
// "Checkpoints"): last write wins (a lower position overwrites too), and
// every save stamps updated_at with the store's clock, also at an unchanged
// position, strictly later than the projection's previous updated_at (so a
// save is always visible as one). Saves and deletes are durable like an
// append.
class CheckpointStore {
 public:
  virtual ~CheckpointStore() = default;
  // kInvalidArgument for a bad ID or a negative position.
  virtual absl::Status SaveCheckpoint(std::string_view projection_id, int64_t position) = 0;
  // kNotFound when the projection has none.
  virtual absl::StatusOr<Checkpoint> LoadCheckpoint(std::string_view projection_id) = 0;
  // kNotFound when the projection has none.
  virtual absl::Status DeleteCheckpoint(std::string_view projection_id) = 0;
  // Every checkpoint, in ascending ID order (for tools).
  virtual absl::StatusOr<std::vector<Checkpoint>> ListCheckpoints() = 0;
};

struct StoreStats {
  int64_t events = 0;          // live
  int64_t streams = 0;         // live
  int64_t bytes = 0;           // of the store's files on disk
  int64_t segments = 0;        // log segment files
  int64_t first_position = 0;  // lowest live position, 0 when empty
  int64_t last_position = 0;   // highest handed out, 0 when none
  int64_t snapshots = 0;
};

struct VerifyReport {
  int64_t segments = 0;
  int64_t records = 0;  // log records: batches, deletions, snapshots
  int64_t events = 0;
  int64_t bytes = 0;    // read
};

struct CompactReport {
  int64_t segments_before = 0;  // segment files rewritten
  int64_t segments_after = 0;   // files that replaced them
  int64_t bytes_before = 0;
  int64_t bytes_after = 0;
  int64_t events_kept = 0;      // live events copied
  int64_t events_dropped = 0;   // deleted and truncated events reclaimed
};

struct StreamInfo {
  Id id;
  int64_t version = 0;  // the tip
  int64_t events = 0;   // live events (fewer than the tip after truncation)
};

// Progress of a long operation: `done` of `total` units. May be empty.
using ProgressFn = std::function<void(uint64_t done, uint64_t total)>;

// What one Maintain call did and left.
struct MaintainReport {
  bool pending = false;     // background work remains that a call now would do
  bool compacting = false;  // a scheduled compaction is still unfinished
};

class EventStore : public StreamReader,
                   public StreamWriter,
                   public GlobalReader,
                   public StreamDeleter,
                   public SnapshotStore,
                   public CheckpointStore {
 public:
  // A save is a commit of one checkpoint and no append (CommitWrites).
  absl::Status SaveCheckpoint(std::string_view projection_id, int64_t position) final;

  // Idempotent. Every later call, on the store and on its iterators, is
  // ClosedError.
  virtual void Close() = 0;
  // Makes everything appended so far durable.
  virtual absl::Status Sync() = 0;
  virtual absl::StatusOr<StoreStats> Stats() = 0;
  // Checks every stored record (checksums, structure); kDataLoss names the
  // first damage. `report` (may be null) is filled on OK and on kDataLoss.
  virtual absl::Status Verify(const ProgressFn& progress, VerifyReport* report) = 0;
  // Live streams (written and not wholly deleted) whose ID text
  // (Id::ToString) sorts after `after_id` ("" = from the first), in that
  // order, at most `limit` of them (> 0): pages for est_list_streams.
  virtual absl::StatusOr<std::vector<StreamInfo>> ListStreams(std::string_view after_id, size_t limit) = 0;
  // Reclaims the space of deleted and truncated events (see
  // est_store_compact). Stores that reclaim at deletion have nothing to do:
  // OK with an empty report, the default. Cancel() makes a running one
  // return CancelledError with the store unchanged.
  virtual absl::Status Compact(const ProgressFn& progress, CompactReport* report) {
    (void)progress;
    if (report != nullptr) *report = CompactReport{};
    return absl::OkStatus();
  }
  // Schedules a compaction that Maintain runs in steps (est_store_compact_schedule).
  // The default: a store with nothing to step compacts at once.
  virtual absl::Status ScheduleCompaction() { return Compact({}, nullptr); }
  // Does the pending background work (preallocation, interval flush, index
  // checkpoints, a scheduled compaction's steps) for about `budget_ns`:
  // each step starts only while the budget lasts, and at least one runs
  // when any is pending. The default: nothing is ever pending.
  virtual absl::Status Maintain(int64_t budget_ns, MaintainReport* report) {
    (void)budget_ns;
    *report = MaintainReport{};
    return absl::OkStatus();
  }
  // Stops a running (or scheduled) compaction or Verify: any thread.
  void Cancel() { cancellation_.Cancel(); }
  // The host's clock, randomness and log (StoreOptions::host).
  const StoreHost& host() const { return *host_; }
  // The highest position ReadAll could return now (0 when nothing was ever
  // visible): where a follower that starts "from the end" starts, so that an
  // append still in flight (a position handed out, not yet visible) is not
  // skipped. The default reads Stats().last_position, exact for stores whose
  // positions become visible as they are handed out.
  virtual absl::StatusOr<int64_t> LastVisiblePosition() {
    absl::StatusOr<StoreStats> stats = Stats();
    if (!stats.ok()) return stats.status();
    return stats->last_position;
  }
  // Where followers (subscriptions, projections) register. Every backend
  // calls Notify() on it after each commit becomes visible to ReadAll, or
  // installs watch hooks that do (commit_notifier.h).
  CommitNotifier& commit_notifier() { return commit_notifier_; }

 protected:
  // Backends set their options' host in their constructor (null = the default).
  void SetHost(std::shared_ptr<const StoreHost> host) {
    if (host != nullptr) host_ = std::move(host);
  }
  Cancellation& cancellation() { return cancellation_; }

 private:
  CommitNotifier commit_notifier_;
  std::shared_ptr<const StoreHost> host_ = StoreHost::Default();
  Cancellation cancellation_;
};

enum class SyncMode { kAlways = 0, kInterval = 1, kNone = 2 };

struct StoreOptions {
  SyncMode sync_mode = SyncMode::kAlways;
  int32_t sync_interval_ms = 100;
  bool read_only = false;
  Threads threads = Threads::kLibrary;
  std::shared_ptr<const StoreHost> host;  // null: StoreHost::Default()
};

// Opens a store by URI: "memory:", "file:PATH" or a bare path (the file
// store), "postgresql://" or "postgres://" (the PostgreSQL store); anything
// else is kInvalidArgument.
absl::StatusOr<std::shared_ptr<EventStore>> OpenStore(std::string_view uri, const StoreOptions& options);

}  // namespace estoria::core

#endif  // ESTORIA_CORE_STORE_EVENT_STORE_H_

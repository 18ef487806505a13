// The aggregate engine: an AggregateStore folds one aggregate type's streams
// into host states (through an AggregateType), saves queued events with an
// optimistic version check, takes snapshots by policy, caches encoded states
// and runs hooks. capi/src/aggregate.cc exports it as est_aggregate_*.
//
//   Load(uuid, to_version): before-load hooks; the cached state (latest loads
//     only) or the newest snapshot at or below to_version (when snapshots
//     are enabled) or a new state; then the events after it, applied in
//     version order and checked gapless; after-load hooks.
//   LoadAt(uuid, timestamp_ns): Load at the last version of the stream as of
//     that time, from a snapshot no newer than it (doc/data-model.md).
//   Save: before-save hooks (which may add metadata to every event); one
//     append expecting the aggregate's version; apply of the written events;
//     cache update, snapshot and retention (failures logged, never returned);
//     after-save hooks.
//
// Ownership: an AggregateStore shares the EventStore (keeping it alive) and
// owns the type; each Aggregate shares its AggregateStore, so either may be
// freed first. Thread safety: an AggregateStore may be used from many threads
// at once (add hooks before sharing it); an Aggregate from one thread at a
// time. No engine lock is held while a callback or hook runs.
#ifndef ESTORIA_CORE_AGGREGATE_AGGREGATE_STORE_H_
#define ESTORIA_CORE_AGGREGATE_AGGREGATE_STORE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/aggregate/aggregate_type.h"
#include "core/aggregate/hooks.h"
#include "core/aggregate/snapshot_policy.h"
#include "core/aggregate/state_cache.h"
#include "core/id/id.h"
#include "core/store/event_store.h"

namespace estoria::core {

struct AggregateStoreOptions {
  SnapshotPolicy snapshots;
  int64_t cache_capacity = 0;  // aggregates; 0 = no cache
};

struct AggregateStats {
  int64_t loads = 0;           // successful loads
  int64_t events_applied = 0;  // events folded by loads (not by saves)
  int64_t snapshots_used = 0;  // loads that started from a snapshot
  int64_t snapshots_written = 0;
  int64_t cache_hits = 0;
  int64_t cache_misses = 0;
};

class AggregateStore;

// One aggregate: its ID, the host state (owned), its version and the events
// queued for the next save. Used from one thread at a time.
class Aggregate {
 public:
  ~Aggregate();
  Aggregate(const Aggregate&) = delete;
  Aggregate& operator=(const Aggregate&) = delete;

  // Queues an event (copied). kInvalidArgument for a bad type name, or on a
  // stale aggregate.
  absl::Status Append(std::string_view type, absl::Span<const uint8_t> data, std::string_view content_type);
  // Adds metadata to the last queued event; empty and duplicate keys are
  // refused now, reserved ("estoria.") ones at save, before anything is
  // written.
  absl::Status AppendMetadata(std::string_view key, std::string_view value);
  // Gives the last queued event a caller-chosen ID, which makes its save
  // retry-safe: a save whose events all carry IDs already written at the
  // aggregate's version writes nothing and returns the original result
  // flagged duplicate (append_plan.h), then applies them as a save does.
  absl::Status SetEventId(const Uuid& id);
  // See AggregateStore::Save.
  absl::Status Save(AppendResult* result);

  // The host state, or null once the aggregate is stale.
  void* state() const { return state_; }
  int64_t version() const { return version_; }
  const Id& id() const { return id_; }
  const std::string& id_text() const { return id_text_; }
  size_t pending() const { return pending_.size(); }
  // True after a save that appended but could not apply: only free it and
  // load again.
  bool stale() const { return stale_; }

 private:
  friend class AggregateStore;
  struct PendingEvent {
    std::string type;
    std::string data;
    std::string content_type;
    std::vector<std::pair<std::string, std::string>> metadata;  // in the order added
    std::optional<Uuid> id;  // caller-set (SetEventId)
  };

  Aggregate(std::shared_ptr<AggregateStore> store, Id id, std::string id_text, void* state, int64_t version);
  absl::Status CheckUsable() const;

  std::shared_ptr<AggregateStore> store_;
  Id id_;
  std::string id_text_;
  void* state_;
  int64_t version_;
  bool stale_ = false;
  std::vector<PendingEvent> pending_;
};

class AggregateStore : public std::enable_shared_from_this<AggregateStore> {
 public:
  // kInvalidArgument for a bad type name or options, and for snapshots or a
  // cache without a codec.
  static absl::StatusOr<std::shared_ptr<AggregateStore>> Create(std::shared_ptr<EventStore> store,
                                                                std::unique_ptr<AggregateType> type,
                                                                const AggregateStoreOptions& options);
  AggregateStore(const AggregateStore&) = delete;
  AggregateStore& operator=(const AggregateStore&) = delete;

  // REQUIRES: called before the store is shared between threads.
  void AddHook(HookStage stage, Hook hook) { hooks_.Add(stage, std::move(hook)); }

  // A new aggregate at version 0 with a new state.
  absl::StatusOr<std::unique_ptr<Aggregate>> New(const Uuid& uuid);
  // A new aggregate ID: a v7 UUID from the store's host (its clock and randomness).
  absl::StatusOr<Uuid> NewId() const { return store_->host().NewUuidV7(); }

  // Loads the aggregate at `to_version` (0 = the latest).
  // kNotFound for an aggregate never written; kInvalidArgument when
  // to_version is past the tip, or when the events it needs were deleted
  // (truncated) and no snapshot covers them; a callback's or before-load
  // hook's error as it came. Nothing half-applied is ever returned.
  absl::StatusOr<std::unique_ptr<Aggregate>> Load(const Uuid& uuid, int64_t to_version);
  // Loads the aggregate as of `timestamp_ns` (> 0, unix ns): the fold of its
  // stream as of that time (core/store/as_of.h: the live events up to the
  // first one stamped later), at its version. A snapshot is used only at or
  // below that version and stamped at or before timestamp_ns; the cache is
  // not used. kNotFound for an aggregate never written or with no live event
  // stamped at or before timestamp_ns; otherwise as Load.
  absl::StatusOr<std::unique_ptr<Aggregate>> LoadAt(const Uuid& uuid, int64_t timestamp_ns);

  // Saves `agg`'s queued events (nothing queued: OK, nothing happens).
  // kAborted (VersionMismatchError) when another writer got there first:
  // nothing written, the queue and state kept for a reload and retry;
  // kInvalidArgument (reserved key, bad input, stale aggregate), nothing
  // written; AppliedPartiallyError when the events were appended but an
  // apply failed: the aggregate is then stale. `result` (may be null) is
  // filled on OK, on a mismatch (actual_version) and on AppliedPartially.
  absl::Status Save(Aggregate* agg, AppendResult* result);
  // Saves the queued events of several aggregates (of any types, over one
  // event store) in one transaction: all written or none. Each append
  // expects its aggregate's version; a mismatch names the aggregate's
  // stream, writes nothing and keeps every queue. Aggregates with nothing
  // queued are skipped. Then each is applied as Save applies (the first
  // AppliedPartiallyError is returned; the others are applied still).
  // `results` gets one entry per aggregate (actual_version on a mismatch).
  static absl::Status SaveMany(absl::Span<Aggregate* const> aggs, std::vector<AppendResult>* results);

  AggregateStats Stats() const;
  const AggregateType& type() const { return *type_; }

 private:
  friend class Aggregate;
  // Save's parts: the checks and before-save hooks, building the batch; and
  // applying what was appended (written: the events, or null to read them).
  absl::Status PrepareSave(Aggregate* agg, BatchBuilder* builder);
  absl::Status FinishSave(Aggregate* agg, const AppendResult& appended, std::unique_ptr<EventIterator> written);
  struct Folded;
  struct Counters {
    std::atomic<int64_t> loads{0};
    std::atomic<int64_t> events_applied{0};
    std::atomic<int64_t> snapshots_used{0};
    std::atomic<int64_t> snapshots_written{0};
    std::atomic<int64_t> cache_hits{0};
    std::atomic<int64_t> cache_misses{0};
  };

  AggregateStore(std::shared_ptr<EventStore> store, std::unique_ptr<AggregateType> type,
                 const AggregateStoreOptions& options);

  // Load and LoadAt: the aggregate at `to_version` (0 = latest) from a
  // snapshot stamped at or before snapshot_until_ns (0 = any).
  absl::StatusOr<std::unique_ptr<Aggregate>> LoadVersion(Id id, std::string id_text, int64_t to_version,
                                                          int64_t snapshot_until_ns);
  // The state at `to_version` (0 = latest) and what it took to build it.
  absl::Status Build(const Id& id, const std::string& id_text, int64_t to_version, int64_t snapshot_until_ns,
                     Folded* out);
  // From the cache entry; false (with *out reset) when the entry no longer
  // matches the stream, so that the caller falls back.
  absl::StatusOr<bool> BuildFromCache(const Id& id, const std::string& id_text, const StateCache::Entry& entry,
                                      Folded* out);
  absl::Status BuildFromStore(const Id& id, const std::string& id_text, int64_t to_version,
                              int64_t snapshot_until_ns, Folded* out);
  // The newest snapshot at or below max_version (0 = any) stamped at or
  // before until_ns (0 = any); kNotFound when there is none.
  absl::StatusOr<std::shared_ptr<const Snapshot>> ReadSnapshotUntil(const Id& id, int64_t max_version,
                                                                    int64_t until_ns);
  // Applies the events of `it` after out->version, checking each is the next
  // version; out->applied counts them. With `anchor`, the first event must be
  // the one at out->version with that ID and is not applied: false when it
  // is not (the stream changed under a cache entry).
  absl::StatusOr<bool> Fold(EventIterator* it, const std::string& id_text, Folded* out,
                            const Uuid* anchor = nullptr);
  // After a save or a latest load: the cache entry, the snapshot and its
  // retention. Failures are logged.
  void AfterStateChange(const Id& id, const std::string& id_text, const void* state, int64_t version,
                        const Uuid& last_event_id, bool snapshot);

  const std::shared_ptr<EventStore> store_;
  const std::unique_ptr<AggregateType> type_;
  const SnapshotPolicy policy_;
  const std::unique_ptr<StateCache> cache_;  // null without a cache
  Hooks hooks_;
  mutable Counters counters_;
};

}  // namespace estoria::core

#endif  // ESTORIA_CORE_AGGREGATE_AGGREGATE_STORE_H_

// estoria/store.hpp: Store (RAII over est_store): open a store by URI, append
// batches (or raw FlatBuffers batch bytes) with optimistic concurrency, read a
// stream or the whole store, delete or truncate streams, write, read and
// prune snapshots, and the operator's calls (sync, stats, verify, compact,
// listing streams); with EST_EXPERIMENTAL, projection checkpoints. Snapshot
// is RAII over est_snapshot.
//
// Thread safety: a Store may be used from many threads at once (the handle
// is; the object itself must not be moved or closed meanwhile). Movable, not
// copyable. A moved-from or closed Store answers every call with
// EST_ERR_CLOSED; iterators it made stay valid objects and then report
// EST_ERR_CLOSED themselves.
#ifndef ESTORIA_STORE_HPP_
#define ESTORIA_STORE_HPP_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "estoria/batch.hpp"
#include "estoria/estoria.h"
#include "estoria/event.hpp"
#include "estoria/id.hpp"
#include "estoria/operation.hpp"
#include "estoria/result.hpp"
#include "estoria/string_arg.hpp"

namespace estoria {

enum class SyncMode : int32_t {
  kAlways = EST_SYNC_ALWAYS,      // durable before an append returns (default)
  kInterval = EST_SYNC_INTERVAL,  // flushed in the background every sync_interval_ms
  kNone = EST_SYNC_NONE,          // written to the OS; flushed when it pleases
};

#ifdef EST_EXPERIMENTAL
// A projection's checkpoint: the global position it handled through, and
// when the store last saved it (unix ns).
struct Checkpoint {
  int64_t position = 0;
  int64_t updated_at_ns = 0;
};
struct NamedCheckpoint {
  std::string projection_id;
  Checkpoint checkpoint;
};
#endif  // EST_EXPERIMENTAL

struct StoreOptions {
  SyncMode sync_mode = SyncMode::kAlways;
  int32_t sync_interval_ms = 0;  // 0 = the library's default (100)
  bool read_only = false;
};

enum class Expect : int32_t {
  kAny = EST_EXPECT_ANY,
  kVersion = EST_EXPECT_VERSION,
  kNoStream = EST_EXPECT_NO_STREAM,
  kStreamExists = EST_EXPECT_STREAM_EXISTS,  // written and not wholly deleted
};

struct AppendOptions {
  Expect expect = Expect::kAny;
  int64_t expected_version = 0;  // with kVersion; 0 = the stream must be empty
  // Import: keep each event's id and timestamp, and start a stream that does
  // not exist at first_version (0 = 1).
  bool restore = false;
  int64_t first_version = 0;

  static AppendOptions Any() { return {}; }
  // The stream must be at `version` (0: empty, the same as ExpectNoStream).
  static AppendOptions ExpectVersion(int64_t version) { return {Expect::kVersion, version, false, 0}; }
  // The stream's version must be 0 (never written, or wholly deleted).
  static AppendOptions ExpectNoStream() { return {Expect::kNoStream, 0, false, 0}; }
  // The stream must exist (a stream truncated empty exists).
  static AppendOptions ExpectStreamExists() { return {Expect::kStreamExists, 0, false, 0}; }
  // These options with restore (import) on, e.g. ExpectNoStream().Restoring(42).
  AppendOptions Restoring(int64_t first = 0) const {
    AppendOptions o = *this;
    o.restore = true;
    o.first_version = first;
    return o;
  }
};

struct AppendResult {
  int64_t first_version = 0;
  int64_t last_version = 0;
  int64_t first_position = 0;  // 0 where the backend has no global order
  int64_t last_position = 0;
  int64_t actual_version = 0;  // the stream's version after the append
  // Every event carried an ID (Batch::SetId) and the batch was already in
  // the stream at the expected place: nothing was written, and this is the
  // original append's result (EST_APPEND_DUPLICATE). A retry is safe.
  bool duplicate = false;
};

namespace internal {

inline est_append_options ToC(const AppendOptions& options) {
  est_append_options o = EST_APPEND_OPTIONS_INIT;
  o.expect = static_cast<int32_t>(options.expect);
  o.expected_version = options.expected_version;
  o.flags = options.restore ? EST_APPEND_RESTORE : 0u;
  o.first_version = options.first_version;
  return o;
}

inline AppendResult FromC(const est_append_result& r) {
  return AppendResult{r.first_version, r.last_version,   r.first_position,
                      r.last_position, r.actual_version, (r.flags & EST_APPEND_DUPLICATE) != 0};
}

}  // namespace internal

enum class Direction : int32_t { kForward = EST_FORWARD, kReverse = EST_REVERSE };

struct ReadOptions {
  Direction direction = Direction::kForward;
  // Forward: exclusive lower bound. Reverse: inclusive upper bound, 0 = tip.
  int64_t after_version = 0;
  int64_t count = 0;  // at most this many; 0 = all
  // SDK only: event views fetched per call into the library.
  size_t batch_size = StreamIterator::kDefaultBatchSize;

  static ReadOptions Forward(int64_t after_version = 0, int64_t count = 0) {
    ReadOptions o;
    o.after_version = after_version;
    o.count = count;
    return o;
  }
  // From `from_version` (inclusive; 0 = the tip) down.
  static ReadOptions Reverse(int64_t from_version = 0, int64_t count = 0) {
    ReadOptions o;
    o.direction = Direction::kReverse;
    o.after_version = from_version;
    o.count = count;
    return o;
  }
};

struct ReadAllOptions {
  int64_t after_position = 0;  // exclusive
  int64_t count = 0;           // 0 = all
  size_t batch_size = StreamIterator::kDefaultBatchSize;  // SDK only, as in ReadOptions
};

// A snapshot read from the store; owns its bytes (views live as long as it).
// Movable; a moved-from Snapshot reads as version 0 with empty data.
class Snapshot {
 public:
  Snapshot() = default;
  explicit Snapshot(est_snapshot* s) : s_(s) {}  // takes ownership

  int64_t version() const { return est_snapshot_version(s_.get()); }
  int64_t timestamp_ns() const { return est_snapshot_timestamp_ns(s_.get()); }
  // Valid while this Snapshot lives.
  std::span<const uint8_t> data() const {
    size_t len = 0;
    const uint8_t* p = est_snapshot_data(s_.get(), &len);
    if (p == nullptr) return {};
    return {p, len};
  }
  std::string_view data_string() const {
    std::span<const uint8_t> d = data();
    return {reinterpret_cast<const char*>(d.data()), d.size()};
  }
  std::string_view content_type() const {
    const char* ct = est_snapshot_content_type(s_.get());
    return ct == nullptr ? std::string_view() : std::string_view(ct);
  }

  est_snapshot* get() const { return s_.get(); }

 private:
  struct Free {
    void operator()(est_snapshot* s) const { est_snapshot_free(s); }
  };
  std::unique_ptr<est_snapshot, Free> s_;
};

class Store {
 public:
  Store() = default;  // empty: every call is EST_ERR_CLOSED
  explicit Store(est_store* s) : store_(s) {}  // takes ownership

  // "memory:" (a fresh private store each time); see est_store_open for
  // the other URIs.
  static Result<Store> Open(const StringArg& uri, const StoreOptions& options = {}) {
    if (!uri.valid()) return Error(EST_ERR_INVALID_ARGUMENT, "a URI holds no NUL");
    est_store_options o = EST_STORE_OPTIONS_INIT;
    o.sync_mode = static_cast<int32_t>(options.sync_mode);
    o.sync_interval_ms = options.sync_interval_ms;
    o.read_only = options.read_only ? 1 : 0;
    est_store* s = nullptr;
    est_status st = est_store_open(uri.c_str(), &o, &s);
    if (st != EST_OK) return Error::Last(st);
    return Store(s);
  }

  // Closes the store now (the destructor does too). Idempotent.
  void Close() { store_.reset(); }
  bool is_open() const { return store_ != nullptr; }

  // Appends the whole batch to `stream_id` ("type_uuid", or an Id) or
  // nothing. A failed expectation is EST_ERR_VERSION_MISMATCH whose Error
  // carries expected_version() and actual_version(); the stream is unchanged.
  Result<AppendResult> Append(const StringArg& stream_id, const Batch& batch,
                              const AppendOptions& options = {}) const {
    return AppendImpl(stream_id, batch, options, nullptr);
  }
  // The same, and `*written` receives the written events as a read returns
  // them.
  Result<AppendResult> Append(const StringArg& stream_id, const Batch& batch, const AppendOptions& options,
                              StreamIterator* written) const {
    return AppendImpl(stream_id, batch, options, written);
  }

  // Reads one stream. EST_ERR_NOT_FOUND for a stream never written (or
  // wholly deleted); an existing stream with nothing past the bound is an
  // empty iterator.
  Result<StreamIterator> ReadStream(const StringArg& stream_id, const ReadOptions& options = {}) const {
    if (!store_) return Closed();
    if (!stream_id.valid()) return NulInId();
    est_read_options o = EST_READ_OPTIONS_INIT;
    o.direction = static_cast<int32_t>(options.direction);
    o.after_version = options.after_version;
    o.count = options.count;
    est_iter* it = nullptr;
    est_status st = est_read_stream(store_.get(), stream_id.c_str(), &o, &it);
    if (st != EST_OK) return Error::Last(st);
    return StreamIterator(it, options.batch_size);
  }

  // Reads every event in ascending global position, up to the frontier
  // fixed when this returns.
  Result<StreamIterator> ReadAll(const ReadAllOptions& options = {}) const {
    if (!store_) return Closed();
    est_read_all_options o = EST_READ_ALL_OPTIONS_INIT;
    o.after_position = options.after_position;
    o.count = options.count;
    est_iter* it = nullptr;
    est_status st = est_read_all(store_.get(), &o, &it);
    if (st != EST_OK) return Error::Last(st);
    return StreamIterator(it, options.batch_size);
  }

  // to_version 0 deletes the stream wholly (and its snapshots); N > 0 removes
  // events <= N and keeps the tip. EST_ERR_NOT_FOUND for a stream never
  // written.
  Result<void> DeleteStream(const StringArg& stream_id, int64_t to_version = 0) const {
    if (!store_) return Closed();
    if (!stream_id.valid()) return NulInId();
    return internal::Check(est_delete_stream(store_.get(), stream_id.c_str(), to_version));
  }

  // Writes a snapshot of `aggregate_id` at `version` (> 0); data is copied.
  // timestamp_ns 0 = the store stamps the write time.
  Result<void> WriteSnapshot(const StringArg& aggregate_id, int64_t version, std::span<const uint8_t> data,
                             const StringArg& content_type = "", int64_t timestamp_ns = 0) const {
    if (!store_) return Closed();
    if (!aggregate_id.valid()) return NulInId();
    if (!content_type.valid()) return Error(EST_ERR_INVALID_ARGUMENT, "a content type holds no NUL");
    est_snapshot_write_options o = EST_SNAPSHOT_WRITE_OPTIONS_INIT;
    o.timestamp_ns = timestamp_ns;
    return internal::Check(est_snapshot_write(store_.get(), aggregate_id.c_str(), version, data.data(),
                                              data.size(), content_type.c_str(), &o));
  }
  Result<void> WriteSnapshot(const StringArg& aggregate_id, int64_t version, std::string_view data,
                             const StringArg& content_type = "", int64_t timestamp_ns = 0) const {
    return WriteSnapshot(aggregate_id, version,
                         std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(data.data()), data.size()),
                         content_type, timestamp_ns);
  }

  // The newest snapshot (highest version, then latest written) at or below
  // max_version (0 = any). EST_ERR_NOT_FOUND when there is none.
  Result<Snapshot> ReadSnapshot(const StringArg& aggregate_id, int64_t max_version = 0) const {
    if (!store_) return Closed();
    if (!aggregate_id.valid()) return NulInId();
    est_snapshot* s = nullptr;
    est_status st = est_snapshot_read(store_.get(), aggregate_id.c_str(), max_version, &s);
    if (st != EST_OK) return Error::Last(st);
    return Snapshot(s);
  }

  // Appends a FlatBuffers WritableEventBatch (schema/estoria.fbs, from
  // Batch::Bytes or any producer): verified and copied, as est_append.
  Result<AppendResult> AppendBytes(const StringArg& stream_id, std::span<const uint8_t> batch,
                                   const AppendOptions& options = {}) const {
    if (!store_) return Closed();
    if (!stream_id.valid()) return NulInId();
    const est_append_options o = internal::ToC(options);
    est_append_result r = EST_APPEND_RESULT_INIT;
    est_status st = est_append(store_.get(), stream_id.c_str(), batch.data(), batch.size(), &o, &r, nullptr);
    return ToResult(st, options, r);
  }

  // Removes snapshots of `aggregate_id`: all but the keep_last newest (0 =
  // no count limit) and all below min_version (0 = no bound).
  Result<void> PruneSnapshots(const StringArg& aggregate_id, int64_t keep_last, int64_t min_version = 0) const {
    if (!store_) return Closed();
    if (!aggregate_id.valid()) return NulInId();
    return internal::Check(est_snapshot_prune(store_.get(), aggregate_id.c_str(), keep_last, min_version));
  }

#ifdef EST_EXPERIMENTAL
  // Projection checkpoints (doc/data-model.md "Checkpoints"): IDs are
  // Estoria's "name_vN". Save: last write wins, the store stamps
  // updated_at on every save. Load and Delete: EST_ERR_NOT_FOUND when none.
  Result<void> SaveCheckpoint(const StringArg& projection_id, int64_t position) const {
    if (!store_) return Closed();
    if (!projection_id.valid()) return NulInId();
    return internal::Check(est_checkpoint_save(store_.get(), projection_id.c_str(), position));
  }
  Result<Checkpoint> LoadCheckpoint(const StringArg& projection_id) const {
    if (!store_) return Closed();
    if (!projection_id.valid()) return NulInId();
    Checkpoint c;
    est_status st = est_checkpoint_load(store_.get(), projection_id.c_str(), &c.position, &c.updated_at_ns);
    if (st != EST_OK) return Error::Last(st);
    return c;
  }
  Result<void> DeleteCheckpoint(const StringArg& projection_id) const {
    if (!store_) return Closed();
    if (!projection_id.valid()) return NulInId();
    return internal::Check(est_checkpoint_delete(store_.get(), projection_id.c_str()));
  }
  // Every checkpoint, ascending ID (for tools).
  Result<std::vector<NamedCheckpoint>> ListCheckpoints() const {
    if (!store_) return Closed();
    std::vector<NamedCheckpoint> all;
    est_status st = est_checkpoint_list(
        store_.get(),
        [](void* user, const char* id, int64_t position, int64_t updated_at_ns) -> est_status {
          static_cast<std::vector<NamedCheckpoint>*>(user)->push_back({id, {position, updated_at_ns}});
          return EST_OK;
        },
        &all);
    if (st != EST_OK) return Error::Last(st);
    return all;
  }
#endif  // EST_EXPERIMENTAL

  // Makes everything so far durable; reports a failed background flush.
  Result<void> Sync() const {
    if (!store_) return Closed();
    return internal::Check(est_store_sync(store_.get()));
  }

  Result<StoreStats> Stats() const {
    if (!store_) return Closed();
    est_stats s = EST_STATS_INIT;
    if (est_status st = est_store_stats(store_.get(), &s); st != EST_OK) return Error::Last(st);
    return StoreStats{s.events, s.streams, s.bytes, s.segments, s.first_position, s.last_position, s.snapshots};
  }

  // Checks every stored record; EST_ERR_CORRUPTION names the first damage.
  Result<VerifyReport> Verify(const Progress& progress = {}) const { return Verify(progress, nullptr); }
  // The same, and `*checked` (NULL ok) receives what was checked, also when
  // the check fails: on EST_ERR_CORRUPTION, the sound part before the damage.
  Result<VerifyReport> Verify(const Progress& progress, VerifyReport* checked) const {
    if (!store_) return Closed();
    est_verify_report r = EST_VERIFY_REPORT_INIT;
    est_status st = est_store_verify(store_.get(), progress ? &internal::ProgressTrampoline : nullptr,
                                     const_cast<Progress*>(&progress), &r);
    const VerifyReport report{r.segments, r.records, r.events, r.bytes};
    if (checked != nullptr) *checked = report;
    if (st != EST_OK) return Error::Last(st);
    return report;
  }

  // Reclaims deleted and truncated events online (see est_store_compact).
  Result<CompactReport> Compact(const Progress& progress = {}) const {
    if (!store_) return Closed();
    est_compact_report r = EST_COMPACT_REPORT_INIT;
    est_status st = est_store_compact(store_.get(), progress ? &internal::ProgressTrampoline : nullptr,
                                      const_cast<Progress*>(&progress), &r);
    if (st != EST_OK) return Error::Last(st);
    return CompactReport{r.segments_before, r.segments_after, r.bytes_before, r.bytes_after, r.events_kept,
                         r.events_dropped};
  }

  // One page of live streams in the byte order of their IDs, after
  // `after_id` ("" = from the first), at most `limit` (> 0); fewer than
  // `limit` means the end. Pass the page's last id as the next after_id.
  Result<std::vector<StreamInfo>> ListStreams(const StringArg& after_id = "", size_t limit = 256) const {
    if (!store_) return Closed();
    if (!after_id.valid()) return NulInId();
    if (limit == 0) return Error(EST_ERR_INVALID_ARGUMENT, "limit must be > 0");
    std::vector<est_stream_info> page(limit);
    for (est_stream_info& info : page) est_stream_info_init(&info);
    size_t count = 0;
    est_status st = est_list_streams(store_.get(), after_id.c_str(), page.data(), page.size(), &count);
    if (st != EST_OK) return Error::Last(st);
    std::vector<StreamInfo> out;
    out.reserve(count);
    for (size_t i = 0; i < count; ++i) out.push_back(StreamInfo{page[i].id, page[i].version, page[i].events});
    return out;
  }

  // The underlying handle, owned by this object (NULL when empty).
  est_store* get() const { return store_.get(); }

 private:
  struct Closer {
    void operator()(est_store* s) const { est_store_close(s); }
  };

  static Error Closed() { return Error(EST_ERR_CLOSED, "the Store is closed or was moved from"); }
  static Error NulInId() { return Error(EST_ERR_INVALID_ARGUMENT, "an ID holds no NUL"); }

  static Result<AppendResult> ToResult(est_status st, const AppendOptions& options, const est_append_result& r) {
    if (st == EST_ERR_VERSION_MISMATCH) {
      int64_t expected = options.expect == Expect::kVersion ? options.expected_version : 0;
      return Error::VersionMismatch(est_last_error(), expected, r.actual_version);
    }
    if (st != EST_OK) return Error::Last(st);
    return internal::FromC(r);
  }

  Result<AppendResult> AppendImpl(const StringArg& stream_id, const Batch& batch, const AppendOptions& options,
                                  StreamIterator* written) const {
    if (!store_) return Closed();
    if (!stream_id.valid()) return NulInId();
    if (batch.get() == nullptr) return Error(EST_ERR_INVALID_ARGUMENT, "the batch holds no event");
    const est_append_options o = internal::ToC(options);
    est_append_result r = EST_APPEND_RESULT_INIT;
    est_iter* it = nullptr;
    // The batch handle itself crosses: its inputs were checked as they were
    // added, so the library neither copies nor re-verifies its bytes.
    est_status st = est_append_batch(store_.get(), stream_id.c_str(), batch.get(), &o, &r,
                                     written != nullptr ? &it : nullptr);
    Result<AppendResult> result = ToResult(st, options, r);
    if (result.ok() && written != nullptr) *written = StreamIterator(it);
    return result;
  }

  std::unique_ptr<est_store, Closer> store_;
};

}  // namespace estoria

#endif  // ESTORIA_STORE_HPP_
